/* Authentication (client certificates, static tokens, anonymous) and the RBAC
 * authorizer, over kube's bootstrap policy plus test bindings held in memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apiserver/auth/authn.h"
#include "apiserver/auth/impersonate.h"
#include "apiserver/auth/rbac.h"
#include "common/err.h"

static vk_req *mkreq(const vk_conn_info *ci, const char *method, const char *path,
                     const char *authz)
{
    vk_req *r = vk_req_new(NULL, NULL, VK_PROTO_H2, ci);
    assert_non_null(r);
    r->method = method;
    r->path = path;
    if (authz)
        assert_int_equal(vk_req_add_header(r, "Authorization", 13, authz, strlen(authz)), 0);
    return r;
}

static vk_tokens *parse(const char *text)
{
    vk_tokens *t = NULL;
    char err[256] = "";
    int rc = vk_tokens_parse(text, strlen(text), &t, err, sizeof err);
    if (rc)
        fail_msg("parse failed (%d): %s", rc, err);
    assert_non_null(t);
    return t;
}

/* Authenticates a bearer token; returns the rc and copies the user out. */
static int auth_token(const vk_tokens *t, const char *authz, char *user, size_t n, char *groups,
                      size_t gn, char *uid, size_t un)
{
    vk_req *r = mkreq(NULL, "GET", "/api", authz);
    int rc = vk_authenticate(r, t);
    if (!rc) {
        snprintf(user, n, "%s", r->user.name);
        snprintf(uid, un, "%s", r->user.uid ? r->user.uid : "(null)");
        groups[0] = 0;
        for (const char **g = r->user.groups; g && *g; g++) {
            if (groups[0])
                strncat(groups, "|", gn - strlen(groups) - 1);
            strncat(groups, *g, gn - strlen(groups) - 1);
        }
    }
    vk_req_free(r);
    return rc;
}

static void test_tokens_csv(void **state)
{
    vk_tokens *t = parse("tok1,alice,uid-a\r\n"
                         "\n"
                         "\r\n"
                         "tok2,bob,uid-b,\"system:masters,dev\"\n"
                         "tok3,carol,uid-c,ops\n"
                         "\"tok,4\",\"dan \"\"the\"\" man\",\"\",\"g1\"\r\n"
                         "tok5,eve,uid-e,\"\",extra-column");
    char user[128], groups[256], uid[64];
    assert_int_equal(
        auth_token(t, "Bearer tok1", user, sizeof user, groups, sizeof groups, uid, sizeof uid), 0);
    assert_string_equal(user, "alice");
    assert_string_equal(uid, "uid-a");
    assert_string_equal(groups, "system:authenticated");

    assert_int_equal(
        auth_token(t, "Bearer tok2", user, sizeof user, groups, sizeof groups, uid, sizeof uid), 0);
    assert_string_equal(user, "bob");
    assert_string_equal(groups, "system:masters|dev|system:authenticated");

    assert_int_equal(
        auth_token(t, "bearer tok3", user, sizeof user, groups, sizeof groups, uid, sizeof uid), 0);
    assert_string_equal(user, "carol");
    assert_string_equal(groups, "ops|system:authenticated");

    assert_int_equal(
        auth_token(t, "Bearer tok,4", user, sizeof user, groups, sizeof groups, uid, sizeof uid),
        0);
    assert_string_equal(user, "dan \"the\" man");
    assert_string_equal(uid, "");
    assert_string_equal(groups, "g1|system:authenticated");

    assert_int_equal(
        auth_token(t, "Bearer tok5", user, sizeof user, groups, sizeof groups, uid, sizeof uid), 0);
    assert_string_equal(user, "eve");
    assert_string_equal(groups, "system:authenticated");
    vk_tokens_free(t);

    /* Empty input is an empty token set. */
    t = parse("");
    assert_int_equal(
        auth_token(t, "Bearer x", user, sizeof user, groups, sizeof groups, uid, sizeof uid),
        VK_EINVALID);
    vk_tokens_free(t);
    vk_tokens_free(NULL);
}

static void test_tokens_duplicate_last_wins(void **state)
{
    /* kube keeps tokens in a map: a later line replaces an earlier one. */
    vk_tokens *t = parse("same,first,1\nsame,second,2\n");
    char user[64], groups[128], uid[32];
    assert_int_equal(
        auth_token(t, "Bearer same", user, sizeof user, groups, sizeof groups, uid, sizeof uid), 0);
    assert_string_equal(user, "second");
    vk_tokens_free(t);
}

static void test_tokens_malformed(void **state)
{
    static const struct {
        const char *text;
        const char *line;
    } cases[] = {
        {"a,b\n", "line 1"},
        {"ok,u,1\n\nonlyone\n", "line 3"},
        {"ok,u,1\r\nbad,\"unterminated,1\r\n", "line 2"},
        {"ok,u,1\n\"q\"x,u,1\n", "line 2"},
        {",user,uid\n", "line 1"},
        {"tok,,uid\n", "line 1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        vk_tokens *t = (vk_tokens *)1;
        char err[256] = "";
        int rc = vk_tokens_parse(cases[i].text, strlen(cases[i].text), &t, err, sizeof err);
        assert_int_equal(rc, VK_EINVALID);
        assert_ptr_equal(t, (vk_tokens *)1); /* untouched on error */
        if (!strstr(err, cases[i].line))
            fail_msg("case %zu: error \"%s\" does not name %s", i, err, cases[i].line);
    }
}

static void test_tokens_load(void **state)
{
    char path[] = "/tmp/vk-tokens-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    static const char text[] = "filetok,frank,uid-f,\"system:masters\"\n";
    assert_int_equal(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fd);
    vk_tokens *t = NULL;
    char err[256] = "";
    assert_int_equal(vk_tokens_load(path, &t, err, sizeof err), 0);
    char user[64], groups[128], uid[32];
    assert_int_equal(
        auth_token(t, "Bearer filetok", user, sizeof user, groups, sizeof groups, uid, sizeof uid),
        0);
    assert_string_equal(user, "frank");
    assert_string_equal(groups, "system:masters|system:authenticated");
    vk_tokens_free(t);
    unlink(path);

    t = NULL;
    assert_int_equal(vk_tokens_load(path, &t, err, sizeof err), -ENOENT);
    assert_null(t);
    assert_non_null(strstr(err, path));
}

static void test_bearer_mismatch(void **state)
{
    vk_tokens *t = parse("secret,alice,1\n");
    char user[64], groups[128], uid[32];
    static const char *const bad[] = {"Bearer secreT", "Bearer secre", "Bearer secret2", "Bearer ",
                                      "Bearer x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(
            auth_token(t, bad[i], user, sizeof user, groups, sizeof groups, uid, sizeof uid),
            VK_EINVALID);
    /* No token file: every bearer token is refused. */
    assert_int_equal(auth_token(NULL, "Bearer secret", user, sizeof user, groups, sizeof groups,
                                uid, sizeof uid),
                     VK_EINVALID);
    /* Another scheme is no bearer token: anonymous. */
    assert_int_equal(auth_token(t, "Basic YWxpY2U6cHc=", user, sizeof user, groups, sizeof groups,
                                uid, sizeof uid),
                     0);
    assert_string_equal(user, "system:anonymous");
    assert_string_equal(groups, "system:unauthenticated");
    vk_tokens_free(t);
}

static void test_cert_identity_wins(void **state)
{
    static const char *cert_groups[] = {"system:masters", "team", NULL};
    vk_conn_info ci = {.cert_user = "kubernetes-admin", .cert_groups = cert_groups};
    vk_tokens *t = parse("tok,alice,1\n");
    vk_req *r = mkreq(&ci, "GET", "/api", "Bearer tok");
    assert_int_equal(vk_authenticate(r, t), 0);
    assert_string_equal(r->user.name, "kubernetes-admin");
    assert_string_equal(r->user.groups[0], "system:masters");
    assert_string_equal(r->user.groups[1], "team");
    assert_string_equal(r->user.groups[2], "system:authenticated");
    assert_null(r->user.groups[3]);
    assert_true(vk_user_in_group(&r->user, "system:masters"));
    vk_req_free(r);

    /* Even a bad token does not matter when a certificate is there. */
    r = mkreq(&ci, "GET", "/api", "Bearer wrong");
    assert_int_equal(vk_authenticate(r, t), 0);
    assert_string_equal(r->user.name, "kubernetes-admin");
    vk_req_free(r);

    /* A certificate without O, and one already naming system:authenticated. */
    static const char *already[] = {"system:authenticated", NULL};
    vk_conn_info c2 = {.cert_user = "node1", .cert_groups = NULL};
    r = mkreq(&c2, "GET", "/api", NULL);
    assert_int_equal(vk_authenticate(r, NULL), 0);
    assert_string_equal(r->user.name, "node1");
    assert_string_equal(r->user.groups[0], "system:authenticated");
    assert_null(r->user.groups[1]);
    vk_req_free(r);
    c2.cert_groups = already;
    r = mkreq(&c2, "GET", "/api", NULL);
    assert_int_equal(vk_authenticate(r, NULL), 0);
    assert_string_equal(r->user.groups[0], "system:authenticated");
    assert_null(r->user.groups[1]);
    vk_req_free(r);
    vk_tokens_free(t);
}

static void test_anonymous(void **state)
{
    vk_conn_info ci = {0};
    vk_req *r = mkreq(&ci, "GET", "/healthz", NULL);
    assert_int_equal(vk_authenticate(r, NULL), 0);
    assert_string_equal(r->user.name, "system:anonymous");
    assert_string_equal(r->user.groups[0], "system:unauthenticated");
    assert_null(r->user.groups[1]);
    assert_false(vk_user_in_group(&r->user, "system:authenticated"));
    assert_false(vk_user_in_group(&r->user, "system:masters"));
    vk_req_free(r);
}

/* A policy in memory: an array of {"resource": plural, "object": {...}}. */
static json_t *policy;

static void add_policy(const char *resource, const char *object_json)
{
    json_t *o = json_loads(object_json, 0, NULL);
    assert_non_null(o);
    json_array_append_new(policy, json_pack("{s:s, s:o}", "resource", resource, "object", o));
}

/* Authenticates then authorizes method path. */
static bool allowed(const vk_conn_info *ci, const char *method, const char *path, const char *authz,
                    const vk_tokens *t)
{
    vk_req *r = mkreq(ci, method, path, authz);
    assert_int_equal(vk_authenticate(r, t), 0);
    vk_reqinfo ri;
    assert_int_equal(vk_reqinfo_parse(r, &ri), 0);
    vk_rbac_source src = vk_rbac_memory(policy);
    bool ok = vk_authorize(&src, &r->user, &ri, r->path);
    vk_req_free(r);
    return ok;
}

static int setup_policy(void **state)
{
    (void)state;
    policy = vk_rbac_bootstrap();
    return policy ? 0 : -1;
}

static int teardown_policy(void **state)
{
    (void)state;
    json_decref(policy);
    policy = NULL;
    return 0;
}

static void test_authorize(void **state)
{
    static const char *masters[] = {"system:masters", NULL};
    vk_conn_info admin = {.cert_user = "admin", .cert_groups = masters};
    vk_conn_info none = {0};
    vk_tokens *t = parse("dev,dev,1,devs\nroot,root,2,system:masters\n");

    /* system:masters may do everything. */
    static const char *const any[][2] = {
        {"GET", "/api"},
        {"POST", "/api/v1/namespaces"},
        {"DELETE", "/api/v1/namespaces/x/pods"},
        {"PATCH", "/apis/apps/v1/namespaces/x/deployments/d"},
        {"GET", "/metrics"},
        {"HEAD", "/readyz/ping"},
    };
    for (size_t i = 0; i < sizeof any / sizeof any[0]; i++) {
        assert_true(allowed(&admin, any[i][0], any[i][1], NULL, NULL));
        assert_true(allowed(&none, any[i][0], any[i][1], "Bearer root", t));
    }

    /* Everyone else: only GET of the public-info paths. */
    static const char *const pub[] = {"/healthz", "/livez", "/readyz", "/version", "/version/"};
    for (size_t i = 0; i < sizeof pub / sizeof pub[0]; i++) {
        assert_true(allowed(&none, "GET", pub[i], NULL, NULL));
        assert_true(allowed(&none, "GET", pub[i], "Bearer dev", t));
        assert_false(allowed(&none, "HEAD", pub[i], NULL, NULL));
        assert_false(allowed(&none, "POST", pub[i], NULL, NULL));
    }
    static const char *const denied[] = {"/readyz/ping", "/healthz/etcd",
                                         "/livez/",      "/api/v1/pods",
                                         "/metrics",     "/",
                                         "/versionx",    "/api/v1/namespaces/default"};
    for (size_t i = 0; i < sizeof denied / sizeof denied[0]; i++) {
        if (allowed(&none, "GET", denied[i], NULL, NULL))
            fail_msg("anonymous GET %s allowed", denied[i]);
        if (allowed(&none, "GET", denied[i], "Bearer dev", t))
            fail_msg("dev GET %s allowed", denied[i]);
    }
    /* Discovery and OpenAPI: authenticated users only (system:discovery). */
    static const char *const disc[] = {"/api",          "/api/v1",     "/apis",
                                       "/apis/apps/v1", "/openapi/v2", "/openapi/v3/api/v1"};
    for (size_t i = 0; i < sizeof disc / sizeof disc[0]; i++) {
        if (allowed(&none, "GET", disc[i], NULL, NULL))
            fail_msg("anonymous GET %s allowed", disc[i]);
        if (!allowed(&none, "GET", disc[i], "Bearer dev", t))
            fail_msg("dev GET %s denied", disc[i]);
        assert_false(allowed(&none, "POST", disc[i], "Bearer dev", t));
    }
    vk_tokens_free(t);
}

/* Roles and bindings a user writes: namespace scope, resourceNames, subresources,
 * groups and service accounts, ClusterRoles bound in one namespace. */
static void test_rbac_bindings(void **state)
{
    (void)state;
    vk_conn_info none = {0};
    vk_tokens *t =
        parse("a,alice,1\nb,bob,2,\"devs,ops\"\nsa,system:serviceaccount:apps:builder,3\n");
    add_policy("roles", "{\"metadata\":{\"name\":\"cm-reader\",\"namespace\":\"team\"},"
                        "\"rules\":[{\"verbs\":[\"get\",\"list\",\"watch\"],\"apiGroups\":[\"\"],"
                        "\"resources\":[\"configmaps\"]}]}");
    add_policy("rolebindings",
               "{\"metadata\":{\"name\":\"alice-cm\",\"namespace\":\"team\"},\"roleRef\":{"
               "\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"Role\",\"name\":"
               "\"cm-reader\"},\"subjects\":[{\"kind\":\"User\",\"name\":\"alice\"}]}");
    add_policy("clusterroles",
               "{\"metadata\":{\"name\":\"one-secret\"},\"rules\":[{\"verbs\":[\"get\",\"update\"],"
               "\"apiGroups\":[\"\"],\"resources\":[\"secrets\",\"services/status\"],"
               "\"resourceNames\":[\"tls\"]},{\"verbs\":[\"get\"],\"apiGroups\":[\"\"],"
               "\"resources\":[\"configmaps\"],\"resourceNames\":[\"*\"]},{\"verbs\":[\"*\"],"
               "\"apiGroups\":[\"apps\"],"
               "\"resources\":[\"*/scale\"]}]}");
    add_policy("rolebindings",
               "{\"metadata\":{\"name\":\"devs\",\"namespace\":\"prod\"},\"roleRef\":{\"apiGroup\":"
               "\"rbac.authorization.k8s.io\",\"kind\":\"ClusterRole\",\"name\":\"one-secret\"},"
               "\"subjects\":[{\"kind\":\"Group\",\"name\":\"devs\"},{\"kind\":\"ServiceAccount\","
               "\"name\":\"builder\",\"namespace\":\"apps\"}]}");
    /* A binding whose Role does not exist grants nothing. */
    add_policy("rolebindings",
               "{\"metadata\":{\"name\":\"dangling\",\"namespace\":\"prod\"},\"roleRef\":{"
               "\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"Role\",\"name\":\"gone\"},"
               "\"subjects\":[{\"kind\":\"User\",\"name\":\"alice\"}]}");

    static const struct {
        const char *who, *method, *path;
        bool want;
    } cases[] = {
        {"a", "GET", "/api/v1/namespaces/team/configmaps", true},
        {"a", "GET", "/api/v1/namespaces/team/configmaps/x", true},
        {"a", "POST", "/api/v1/namespaces/team/configmaps", false},
        {"a", "GET", "/api/v1/namespaces/other/configmaps", false},
        {"a", "GET", "/api/v1/configmaps", false}, /* all namespaces: cluster scope */
        {"a", "GET", "/api/v1/namespaces/team/secrets", false},
        {"a", "GET", "/api/v1/namespaces/prod/configmaps", false},
        {"b", "GET", "/api/v1/namespaces/prod/secrets/tls", true},
        {"b", "PUT", "/api/v1/namespaces/prod/secrets/tls", true},
        {"b", "GET", "/api/v1/namespaces/prod/secrets/other", false},
        {"b", "GET", "/api/v1/namespaces/prod/secrets", false}, /* list has no name */
        {"b", "DELETE", "/api/v1/namespaces/prod/secrets/tls", false},
        {"b", "GET", "/api/v1/namespaces/team/secrets/tls", false},
        {"b", "PUT", "/api/v1/namespaces/prod/services/tls/status", true},
        {"b", "PUT", "/api/v1/namespaces/prod/services/tls", false},
        {"b", "PATCH", "/apis/apps/v1/namespaces/prod/deployments/d/scale", true},
        {"b", "PATCH", "/apis/apps/v1/namespaces/prod/deployments/d", false},
        {"b", "GET", "/api/v1/namespaces/prod/configmaps/any", false}, /* names: no wildcard */
        {"sa", "GET", "/api/v1/namespaces/prod/secrets/tls", true},
        {"sa", "GET", "/api/v1/namespaces/team/configmaps", false},
        {"a", "GET", "/api", true}, /* system:discovery for every authenticated user */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char authz[32];
        snprintf(authz, sizeof authz, "Bearer %s", cases[i].who);
        if (allowed(&none, cases[i].method, cases[i].path, authz, t) != cases[i].want)
            fail_msg("%s %s %s: want %s", cases[i].who, cases[i].method, cases[i].path,
                     cases[i].want ? "allowed" : "denied");
    }
    vk_tokens_free(t);
}

/* Impersonation: who may, and the user a request then acts as. */
static void test_impersonate(void **state)
{
    (void)state;
    static const char *masters[] = {"system:masters", NULL};
    static const vk_conn_info admin = {.cert_user = "admin", .cert_groups = masters};
    static const vk_conn_info none = {0};
    vk_tokens *t = parse("a,alice,1\n");
    vk_rbac_source src = vk_rbac_memory(policy);
    add_policy("clusterroles", "{\"metadata\":{\"name\":\"imp\"},\"rules\":[{\"verbs\":["
                               "\"impersonate\"],\"apiGroups\":[\"\"],\"resources\":[\"users\"],"
                               "\"resourceNames\":[\"bob\"]}]}");
    add_policy("clusterrolebindings",
               "{\"metadata\":{\"name\":\"imp\"},\"roleRef\":{\"apiGroup\":"
               "\"rbac.authorization.k8s.io\",\"kind\":\"ClusterRole\",\"name\":\"imp\"},"
               "\"subjects\":[{\"kind\":\"User\",\"name\":\"alice\"}]}");
    static const struct {
        const vk_conn_info *ci;
        const char *token;
        const char *headers[4][2];
        int rc;
        const char *user, *groups; /* groups joined by ',' */
    } cases[] = {
        {&admin, NULL, {{NULL, NULL}}, 0, "admin", "system:masters,system:authenticated"},
        {&admin, NULL, {{"Impersonate-User", "carol"}}, 0, "carol", "system:authenticated"},
        {&admin,
         NULL,
         {{"Impersonate-User", "carol"}, {"Impersonate-Group", "g1"}, {"Impersonate-Group", "g2"}},
         0,
         "carol",
         "g1,g2,system:authenticated"},
        {&admin,
         NULL,
         {{"Impersonate-User", "carol"}, {"Impersonate-Group", "system:unauthenticated"}},
         0,
         "carol",
         "system:unauthenticated"},
        {&admin,
         NULL,
         {{"Impersonate-User", "system:anonymous"}},
         0,
         "system:anonymous",
         "system:unauthenticated"},
        {&admin,
         NULL,
         {{"Impersonate-User", "system:serviceaccount:ns1:sa"}},
         0,
         "system:serviceaccount:ns1:sa",
         "system:serviceaccounts,system:serviceaccounts:ns1,system:authenticated"},
        {&admin, NULL, {{"Impersonate-Group", "g1"}}, VK_EINVALID, NULL, NULL},
        {&admin, NULL, {{"Impersonate-Uid", "u"}}, VK_EINVALID, NULL, NULL},
        {&none, "Bearer a", {{"Impersonate-User", "bob"}}, 0, "bob", "system:authenticated"},
        {&none, "Bearer a", {{"Impersonate-User", "carol"}}, -EPERM, NULL, NULL},
        {&none,
         "Bearer a",
         {{"Impersonate-User", "bob"}, {"Impersonate-Group", "g"}},
         -EPERM,
         NULL,
         NULL},
        {&none, NULL, {{"Impersonate-User", "bob"}}, -EPERM, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        vk_req *r = mkreq(cases[i].ci, "GET", "/api", cases[i].token);
        for (size_t h = 0; h < 4 && cases[i].headers[h][0]; h++)
            assert_int_equal(
                vk_req_add_header(r, cases[i].headers[h][0], strlen(cases[i].headers[h][0]),
                                  cases[i].headers[h][1], strlen(cases[i].headers[h][1])),
                0);
        assert_int_equal(vk_authenticate(r, t), 0);
        vk_reqinfo denied;
        char msg[128];
        int rc = vk_impersonate(&src, r, &denied, msg, sizeof msg);
        if (rc != cases[i].rc)
            fail_msg("case %zu: rc %d, want %d", i, rc, cases[i].rc);
        if (rc == -EPERM)
            assert_string_equal(denied.verb, "impersonate");
        if (!rc) {
            char groups[256] = "";
            for (const char **g = r->user.groups; g && *g; g++)
                snprintf(groups + strlen(groups), sizeof groups - strlen(groups), "%s%s",
                         *groups ? "," : "", *g);
            assert_string_equal(r->user.name, cases[i].user);
            if (strcmp(groups, cases[i].groups))
                fail_msg("case %zu: groups %s, want %s", i, groups, cases[i].groups);
        }
        vk_req_free(r);
    }
    vk_tokens_free(t);
}

/* kube's ConfirmNoEscalation: a rule set is granted only by one who holds all of it. */
static void test_no_escalation(void **state)
{
    (void)state;
    vk_rbac_source src = vk_rbac_memory(policy);
    add_policy("roles", "{\"metadata\":{\"name\":\"r\",\"namespace\":\"team\"},\"rules\":[{"
                        "\"verbs\":[\"get\",\"list\"],\"apiGroups\":[\"\"],\"resources\":["
                        "\"configmaps\",\"pods/log\"]},{\"verbs\":[\"update\"],\"apiGroups\":["
                        "\"\"],\"resources\":[\"secrets\"],\"resourceNames\":[\"tls\"]}]}");
    add_policy("rolebindings",
               "{\"metadata\":{\"name\":\"b\",\"namespace\":\"team\"},\"roleRef\":{\"apiGroup\":"
               "\"rbac.authorization.k8s.io\",\"kind\":\"Role\",\"name\":\"r\"},\"subjects\":[{"
               "\"kind\":\"User\",\"name\":\"alice\"}]}");
    static const char *groups[] = {"system:authenticated", NULL};
    static const char *masters[] = {"system:masters", NULL};
    vk_user alice = {"alice", "1", groups}, root = {"root", "2", masters};
    static const struct {
        const char *ns, *rules, *missing; /* missing: NULL, or a part of the message */
    } cases[] = {
        {"team", "[{\"verbs\":[\"get\"],\"apiGroups\":[\"\"],\"resources\":[\"configmaps\"]}]",
         NULL},
        {"team", "[{\"verbs\":[\"list\"],\"apiGroups\":[\"\"],\"resources\":[\"pods/log\"]}]",
         NULL},
        {"team",
         "[{\"verbs\":[\"update\"],\"apiGroups\":[\"\"],\"resources\":[\"secrets\"],"
         "\"resourceNames\":[\"tls\"]}]",
         NULL},
        {"team", "[]", NULL},
        {"team",
         "[{\"verbs\":[\"get\",\"watch\"],\"apiGroups\":[\"\"],\"resources\":[\"configmaps\"]}]",
         "user \"alice\" (groups=[\"system:authenticated\"]) is attempting to grant RBAC "
         "permissions not currently held:\n{APIGroups:[\"\"], Resources:[\"configmaps\"], "
         "Verbs:[\"watch\"]}"},
        {"team", "[{\"verbs\":[\"update\"],\"apiGroups\":[\"\"],\"resources\":[\"secrets\"]}]",
         "Resources:[\"secrets\"], Verbs:[\"update\"]}"},
        {"team", "[{\"verbs\":[\"get\"],\"apiGroups\":[\"\"],\"resources\":[\"*\"]}]",
         "Resources:[\"*\"]"},
        {"team", "[{\"verbs\":[\"*\"],\"apiGroups\":[\"\"],\"resources\":[\"configmaps\"]}]",
         "Verbs:[\"*\"]"},
        {"other", "[{\"verbs\":[\"get\"],\"apiGroups\":[\"\"],\"resources\":[\"configmaps\"]}]",
         "Resources:[\"configmaps\"]"},
        {"", "[{\"verbs\":[\"get\"],\"apiGroups\":[\"\"],\"resources\":[\"configmaps\"]}]",
         "Resources:[\"configmaps\"]"},
        {"", "[{\"verbs\":[\"get\"],\"nonResourceURLs\":[\"/metrics\"]}]",
         "{NonResourceURLs:[\"/metrics\"], Verbs:[\"get\"]}"},
        {"", "[{\"verbs\":[\"get\"],\"nonResourceURLs\":[\"/api/v1\"]}]", NULL}, /* discovery */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *rules = json_loads(cases[i].rules, 0, NULL);
        assert_non_null(rules);
        char *m = vk_rbac_missing(&src, &alice, cases[i].ns, rules);
        if (!cases[i].missing != !m || (m && !strstr(m, cases[i].missing)))
            fail_msg("case %zu: got %s, want %s", i, m ? m : "(held)",
                     cases[i].missing ? cases[i].missing : "(held)");
        free(m);
        assert_null(vk_rbac_missing(&src, &root, cases[i].ns, rules)); /* system:masters */
        json_decref(rules);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokens_csv),
        cmocka_unit_test(test_tokens_duplicate_last_wins),
        cmocka_unit_test(test_tokens_malformed),
        cmocka_unit_test(test_tokens_load),
        cmocka_unit_test(test_bearer_mismatch),
        cmocka_unit_test(test_cert_identity_wins),
        cmocka_unit_test(test_anonymous),
        cmocka_unit_test_setup_teardown(test_authorize, setup_policy, teardown_policy),
        cmocka_unit_test_setup_teardown(test_rbac_bindings, setup_policy, teardown_policy),
        cmocka_unit_test_setup_teardown(test_impersonate, setup_policy, teardown_policy),
        cmocka_unit_test_setup_teardown(test_no_escalation, setup_policy, teardown_policy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
