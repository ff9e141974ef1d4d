/* vk_reqinfo_parse against kube's RequestInfoFactory tables (request_test.go). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/http/reqinfo.h"

/* A request for method and url ("path?query"); freed by the caller. */
static vk_req *mkreq(const char *method, const char *url)
{
    vk_req *r = vk_req_new(NULL, NULL, VK_PROTO_H1, NULL);
    assert_non_null(r);
    r->method = method;
    const char *q = strchr(url, '?');
    r->path = vk_arena_strndup(&r->arena, url, q ? (size_t)(q - url) : strlen(url));
    r->query = q ? q + 1 : "";
    return r;
}

typedef struct row {
    const char *method, *url;
    const char *verb, *prefix, *group, *version, *ns, *resource, *sub, *name;
    const char *parts; /* joined with '/' */
} row;

static void check(const row *t)
{
    vk_req *r = mkreq(t->method, t->url);
    vk_reqinfo ri;
    assert_int_equal(vk_reqinfo_parse(r, &ri), 0);
    char parts[256] = "";
    for (int i = 0; i < ri.nparts; i++) {
        if (i)
            strcat(parts, "/");
        strcat(parts, ri.parts[i]);
    }
    char got[512], want[512];
    snprintf(got, sizeof got,
             "%s %s|res=%d verb=%s prefix=%s g=%s v=%s ns=%s r=%s sub=%s n=%s p=%s", t->method,
             t->url, ri.is_resource, ri.verb, ri.api_prefix, ri.group, ri.version, ri.namespace_,
             ri.resource, ri.subresource, ri.name, parts);
    snprintf(want, sizeof want,
             "%s %s|res=1 verb=%s prefix=%s g=%s v=%s ns=%s r=%s sub=%s n=%s p=%s", t->method,
             t->url, t->verb, t->prefix, t->group, t->version, t->ns, t->resource, t->sub, t->name,
             t->parts);
    assert_string_equal(got, want);
    vk_req_free(r);
}

static void test_resource_requests(void **state)
{
    static const row rows[] = {
        /* method, url, verb, prefix, group, version, ns, resource, sub, name, parts */
        {"GET", "/api/v1/namespaces", "list", "api", "", "v1", "", "namespaces", "", "",
         "namespaces"},
        {"GET", "/api/v1/namespaces/other", "get", "api", "", "v1", "other", "namespaces", "",
         "other", "namespaces/other"},
        {"GET", "/api/v1/namespaces/other/pods", "list", "api", "", "v1", "other", "pods", "", "",
         "pods"},
        {"GET", "/api/v1/namespaces/other/pods/foo", "get", "api", "", "v1", "other", "pods", "",
         "foo", "pods/foo"},
        {"HEAD", "/api/v1/namespaces/other/pods/foo", "get", "api", "", "v1", "other", "pods", "",
         "foo", "pods/foo"},
        {"GET", "/api/v1/pods", "list", "api", "", "v1", "", "pods", "", "", "pods"},
        {"HEAD", "/api/v1/pods", "list", "api", "", "v1", "", "pods", "", "", "pods"},
        /* special verbs */
        {"GET", "/api/v1/proxy/namespaces/other/pods/foo", "proxy", "api", "", "v1", "other",
         "pods", "", "foo", "pods/foo"},
        {"GET", "/api/v1/proxy/namespaces/other/pods/foo/subpath/not/a/subresource", "proxy", "api",
         "", "v1", "other", "pods", "", "foo", "pods/foo/subpath/not/a/subresource"},
        {"GET", "/api/v1/watch/pods", "watch", "api", "", "v1", "", "pods", "", "", "pods"},
        {"GET", "/api/v1/pods?watch=true", "watch", "api", "", "v1", "", "pods", "", "", "pods"},
        {"GET", "/api/v1/pods?watch=false", "list", "api", "", "v1", "", "pods", "", "", "pods"},
        {"GET", "/api/v1/watch/namespaces/other/pods", "watch", "api", "", "v1", "other", "pods",
         "", "", "pods"},
        {"GET", "/api/v1/watch/namespaces/other/pods/foo", "watch", "api", "", "v1", "other",
         "pods", "", "foo", "pods/foo"},
        {"GET", "/api/v1/namespaces/other/pods?watch=1", "watch", "api", "", "v1", "other", "pods",
         "", "", "pods"},
        {"GET", "/api/v1/namespaces/other/pods?watch=0", "list", "api", "", "v1", "other", "pods",
         "", "", "pods"},
        /* subresources */
        {"GET", "/api/v1/namespaces/other/pods/foo/status", "get", "api", "", "v1", "other", "pods",
         "status", "foo", "pods/foo/status"},
        {"GET", "/api/v1/namespaces/other/pods/foo/proxy/subpath", "get", "api", "", "v1", "other",
         "pods", "proxy", "foo", "pods/foo/proxy/subpath"},
        {"PUT", "/api/v1/namespaces/other/finalize", "update", "api", "", "v1", "other",
         "namespaces", "finalize", "other", "namespaces/other/finalize"},
        {"PUT", "/api/v1/namespaces/other/status", "update", "api", "", "v1", "other", "namespaces",
         "status", "other", "namespaces/other/status"},
        {"GET", "/api/v1/namespaces/ns/status", "get", "api", "", "v1", "ns", "namespaces",
         "status", "ns", "namespaces/ns/status"},
        /* verbs */
        {"PATCH", "/api/v1/namespaces/other/pods/foo", "patch", "api", "", "v1", "other", "pods",
         "", "foo", "pods/foo"},
        {"DELETE", "/api/v1/namespaces/other/pods/foo", "delete", "api", "", "v1", "other", "pods",
         "", "foo", "pods/foo"},
        {"POST", "/api/v1/namespaces/other/pods", "create", "api", "", "v1", "other", "pods", "",
         "", "pods"},
        {"OPTIONS", "/api/v1/pods", "", "api", "", "v1", "", "pods", "", "", "pods"},
        /* deletecollection */
        {"DELETE", "/api/v1/nodes", "deletecollection", "api", "", "v1", "", "nodes", "", "",
         "nodes"},
        {"DELETE", "/api/v1/namespaces", "deletecollection", "api", "", "v1", "", "namespaces", "",
         "", "namespaces"},
        {"DELETE", "/api/v1/namespaces/other/pods", "deletecollection", "api", "", "v1", "other",
         "pods", "", "", "pods"},
        {"DELETE", "/apis/extensions/v1/namespaces/other/pods", "deletecollection", "apis",
         "extensions", "v1", "other", "pods", "", "", "pods"},
        /* groups and versions */
        {"POST", "/apis/extensions/v1/namespaces/other/pods", "create", "apis", "extensions", "v1",
         "other", "pods", "", "", "pods"},
        {"POST", "/apis/extensions/v1beta3/namespaces/other/pods", "create", "apis", "extensions",
         "v1beta3", "other", "pods", "", "", "pods"},
        {"GET", "/apis/apps/v1/namespaces/ns/deployments/x/scale", "get", "apis", "apps", "v1",
         "ns", "deployments", "scale", "x", "deployments/x/scale"},
        {"PUT", "/apis/apps/v1/namespaces/ns/deployments/x/scale", "update", "apis", "apps", "v1",
         "ns", "deployments", "scale", "x", "deployments/x/scale"},
        {"GET", "/apis/batch/v1/job", "list", "apis", "batch", "v1", "", "job", "", "", "job"},
        {"GET", "/apis/batch/v1/job/foo/scale", "get", "apis", "batch", "v1", "", "job", "scale",
         "foo", "job/foo/scale"},
        /* trailing and doubled slashes at the ends */
        {"GET", "/api/v1/pods/", "list", "api", "", "v1", "", "pods", "", "", "pods"},
        {"GET", "//api/v1/namespaces/ns/pods/name//", "get", "api", "", "v1", "ns", "pods", "",
         "name", "pods/name"},
        {"GET", "/apis/apps/v1/deployments/", "list", "apis", "apps", "v1", "", "deployments", "",
         "", "deployments"},
        /* fieldSelector=metadata.name names the object of a list or watch */
        {"GET", "/api/v1/namespaces/other/pods?fieldSelector=metadata.name=foo", "list", "api", "",
         "v1", "other", "pods", "", "foo", "pods"},
        {"GET", "/api/v1/pods?fieldSelector=metadata.name%3D%3Dfoo", "list", "api", "", "v1", "",
         "pods", "", "foo", "pods"},
        {"GET", "/apis/g/v/r?watch=true&fieldSelector=metadata.name=name1", "watch", "apis", "g",
         "v", "", "r", "", "name1", "r"},
        {"GET", "/apis/g/v/r?fieldSelector=foo=bar", "list", "apis", "g", "v", "", "r", "", "",
         "r"},
        {"GET", "/apis/g/v/r?fieldSelector=metadata.name!=foo", "list", "apis", "g", "v", "", "r",
         "", "", "r"},
        {"GET", "/apis/g/v/r?fieldSelector=metadata.name=a/b", "list", "apis", "g", "v", "", "r",
         "", "", "r"},
        {"GET", "/apis/g/v/r?fieldSelector=metadata.name=..", "list", "apis", "g", "v", "", "r", "",
         "", "r"},
        /* a name in the path wins, and is not a list */
        {"GET", "/api/v1/namespaces/ns/pods/x?fieldSelector=metadata.name=y", "get", "api", "",
         "v1", "ns", "pods", "", "x", "pods/x"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        check(&rows[i]);
}

/* kube's TestFieldSelectorParsing: a malformed selector names nothing. */
static void test_field_selector_terms(void **state)
{
    static const row rows[] = {
        {"GET", "/apis/g/v/r?fieldSelector=metadata.name=name1,foo", "list", "apis", "g", "v", "",
         "r", "", "", "r"},
        {"GET", "/apis/g/v/r?fieldSelector=metadata.name=name1,foo&watch=true", "watch", "apis",
         "g", "v", "", "r", "", "", "r"},
        {"GET", "/apis/g/v/r?fieldSelector=metadata.name=name1,foo&watch=false", "list", "apis",
         "g", "v", "", "r", "", "", "r"},
        /* several valid terms: the metadata.name one still names the object */
        {"GET", "/api/v1/pods?fieldSelector=spec.nodeName%3Dn1%2Cmetadata.name%3Dp1", "list", "api",
         "", "v1", "", "pods", "", "p1", "pods"},
        {"GET", "/api/v1/pods?fieldSelector=metadata.name%3Dp1%2Cstatus.phase%21%3DRunning", "list",
         "api", "", "v1", "", "pods", "", "p1", "pods"},
        /* escapes in values; a dangling backslash is malformed */
        {"GET", "/api/v1/pods?fieldSelector=metadata.name%3Da%5C%2Cb", "list", "api", "", "v1", "",
         "pods", "", "a,b", "pods"},
        {"GET", "/api/v1/pods?fieldSelector=metadata.name%3Dab%5C", "list", "api", "", "v1", "",
         "pods", "", "", "pods"},
        {"GET", "/api/v1/pods?fieldSelector=,metadata.name=q,", "list", "api", "", "v1", "", "pods",
         "", "q", "pods"},
        /* an unescaped '=' in the value is malformed */
        {"GET", "/api/v1/pods?fieldSelector=metadata.name=a=b", "list", "api", "", "v1", "", "pods",
         "", "", "pods"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        check(&rows[i]);
}

/* Go's Convert_Slice_string_To_bool: only "0" and "false" (any case) are false. */
static void test_watch_param(void **state)
{
    static const struct {
        const char *q;
        const char *verb;
    } cases[] = {
        {"watch=true", "watch"},
        {"watch=1", "watch"},
        {"watch=True", "watch"},
        {"watch=t", "watch"},
        {"watch=yes", "watch"},
        {"watch", "watch"},
        {"watch=", "watch"},
        {"watch=false", "list"},
        {"watch=FALSE", "list"},
        {"watch=False", "list"},
        {"watch=0", "list"},
        {"x=1", "list"},
        {"", "list"},
        {"watch=0&watch=1", "list"},
        {"watch=1&watch=0", "watch"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char url[128];
        snprintf(url, sizeof url, "/api/v1/pods?%s", cases[i].q);
        vk_req *r = mkreq("GET", url);
        vk_reqinfo ri;
        assert_int_equal(vk_reqinfo_parse(r, &ri), 0);
        char got[160];
        snprintf(got, sizeof got, "%s -> %s", url, ri.verb);
        char want[160];
        snprintf(want, sizeof want, "%s -> %s", url, cases[i].verb);
        assert_string_equal(got, want);
        vk_req_free(r);
    }
}

static void test_non_resource(void **state)
{
    static const struct {
        const char *method, *path, *verb;
    } cases[] = {
        {"GET", "/api", "get"},
        {"GET", "/api/", "get"},
        {"GET", "/api/v1", "get"},
        {"GET", "/apis", "get"},
        {"GET", "/apis/apps", "get"},
        {"GET", "/apis/apps/v1", "get"},
        {"GET", "/apis/extensions/v1beta1/", "get"},
        {"POST", "/not-api/version/resource", "post"},
        {"HEAD", "/healthz", "head"},
        {"GET", "/", "get"},
        {"GET", "", "get"},
        {"PUT", "/version", "put"},
        {"GET", "/readyz/ping", "get"},
        {"GET", "/openapi/v2", "get"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        vk_req *r = mkreq(cases[i].method, cases[i].path);
        vk_reqinfo ri;
        assert_int_equal(vk_reqinfo_parse(r, &ri), 0);
        if (ri.is_resource)
            fail_msg("%s %s is not a resource request", cases[i].method, cases[i].path);
        assert_string_equal(ri.verb, cases[i].verb);
        assert_string_equal(ri.resource, "");
        assert_string_equal(ri.name, "");
        assert_string_equal(ri.namespace_, "");
        assert_string_equal(ri.subresource, "");
        vk_req_free(r);
    }
}

static void test_special_verb_without_resource(void **state)
{
    /* kube errors on these; they are never resource requests. */
    static const char *const paths[] = {"/api/v1/watch", "/api/v1/proxy/", "/apis/g/v/watch"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        vk_req *r = mkreq("GET", paths[i]);
        vk_reqinfo ri;
        assert_int_equal(vk_reqinfo_parse(r, &ri), 0);
        assert_false(ri.is_resource);
        assert_string_equal(ri.resource, "");
        vk_req_free(r);
    }
}

static void test_long_and_odd_paths(void **state)
{
    /* Parts past eight are not kept, and inner empty parts stay (Go's strings.Split). */
    vk_req *r = mkreq("GET", "/api/v1/namespaces/ns/pods/p/a/b/c/d/e/f/g/h/i/j");
    vk_reqinfo ri;
    assert_int_equal(vk_reqinfo_parse(r, &ri), 0);
    assert_int_equal(ri.nparts, 8);
    assert_string_equal(ri.parts[7], "f");
    assert_string_equal(ri.subresource, "a");
    vk_req_free(r);

    r = mkreq("GET", "/api/v1//pods");
    assert_int_equal(vk_reqinfo_parse(r, &ri), 0);
    assert_true(ri.is_resource);
    assert_string_equal(ri.resource, "");
    assert_string_equal(ri.name, "pods");
    assert_string_equal(ri.verb, "get");
    vk_req_free(r);

    /* Many slashes: no overflow. */
    char path[600];
    strcpy(path, "/api/v1");
    for (int i = 0; i < 100; i++)
        strcat(path, "/x");
    r = mkreq("DELETE", path);
    assert_int_equal(vk_reqinfo_parse(r, &ri), 0);
    assert_string_equal(ri.verb, "delete");
    assert_string_equal(ri.resource, "x");
    vk_req_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resource_requests),
        cmocka_unit_test(test_field_selector_terms),
        cmocka_unit_test(test_watch_param),
        cmocka_unit_test(test_non_resource),
        cmocka_unit_test(test_special_verb_without_resource),
        cmocka_unit_test(test_long_and_odd_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
