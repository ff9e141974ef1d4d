#include "apiserver/auth/rbac.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/auth/authn.h"
#include "apiserver/http/status.h"
#include "apiserver/registry/resource.h"
#include "apiserver/server.h"
#include "common/buf.h"
#include "storage/store.h"

static bool has(const json_t *arr, const char *v)
{
    size_t i;
    json_t *x;
    json_array_foreach(arr, i,
                       x) if (json_is_string(x) && (!strcmp(json_string_value(x), "*") ||
                                                    !strcmp(json_string_value(x), v))) return true;
    return false;
}

/* nonResourceURLs: exact, "*", or a prefix ending in "*". */
static bool url_matches(const json_t *arr, const char *path)
{
    size_t i;
    json_t *x;
    json_array_foreach(arr, i, x)
    {
        const char *u = json_string_value(x);
        size_t l = u ? strlen(u) : 0;
        if (l && (u[l - 1] == '*' ? !strncmp(path, u, l - 1) : !strcmp(path, u)))
            return true;
    }
    return false;
}

static bool rule_allows(const json_t *rule, const vk_reqinfo *ri, const char *path)
{
    if (!has(json_object_get(rule, "verbs"), ri->verb))
        return false;
    if (!ri->is_resource)
        return url_matches(json_object_get(rule, "nonResourceURLs"), path);
    if (!has(json_object_get(rule, "apiGroups"), ri->group))
        return false;
    json_t *res = json_object_get(rule, "resources");
    char combined[320];
    snprintf(combined, sizeof combined, "%s%s%s", ri->resource, *ri->subresource ? "/" : "",
             ri->subresource);
    bool ok = has(res, combined);
    if (!ok && *ri->subresource) {
        char any[160];
        snprintf(any, sizeof any, "*/%s", ri->subresource);
        ok = has(res, any);
    }
    if (!ok)
        return false;
    /* resourceNames match exactly: "*" there is a name like any other (kube's
     * ResourceNameMatches). */
    json_t *names = json_object_get(rule, "resourceNames");
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n) if (*ri->name && json_is_string(n) &&
                                        !strcmp(json_string_value(n), ri->name)) return true;
    return !json_array_size(names);
}

static bool subject_matches(const json_t *subj, const vk_user *u, const char *binding_ns)
{
    const char *kind = json_string_value(json_object_get(subj, "kind"));
    const char *name = json_string_value(json_object_get(subj, "name"));
    if (!kind || !name)
        return false;
    if (!strcmp(kind, "User"))
        return u->name && !strcmp(u->name, name);
    if (!strcmp(kind, "Group"))
        return vk_user_in_group(u, name);
    if (!strcmp(kind, "ServiceAccount")) {
        const char *ns = json_string_value(json_object_get(subj, "namespace"));
        char want[600];
        snprintf(want, sizeof want, "system:serviceaccount:%s:%s", ns && *ns ? ns : binding_ns,
                 name);
        return u->name && !strcmp(u->name, want);
    }
    return false;
}

typedef struct ctx {
    const vk_rbac_source *src;
    const vk_user *u;
    const vk_reqinfo *ri;
    const char *path;
    char *why;
    size_t whylen;
    bool allowed;
    json_t *collect; /* when set, the rules bound to the user are appended here instead */
} ctx;

/* kube's description of what allowed a request: "RBAC: allowed by RoleBinding
 * \"name/ns\" of Role \"r\" to User \"alice\"". */
static void describe(ctx *c, const json_t *b, const json_t *subj, const char *bns)
{
    if (!c->why)
        return;
    const json_t *ref = json_object_get(b, "roleRef");
    const char *bname = json_string_value(json_object_get(json_object_get(b, "metadata"), "name"));
    const char *kind = json_string_value(json_object_get(subj, "kind"));
    const char *sns = json_string_value(json_object_get(subj, "namespace"));
    bool sa = !strcmp(kind, "ServiceAccount");
    snprintf(c->why, c->whylen, "RBAC: allowed by %s \"%s%s%s\" of %s \"%s\" to %s \"%s%s%s\"",
             *bns ? "RoleBinding" : "ClusterRoleBinding", bname ? bname : "", *bns ? "/" : "", bns,
             json_string_value(json_object_get(ref, "kind")),
             json_string_value(json_object_get(ref, "name")), kind,
             json_string_value(json_object_get(subj, "name")), sa ? "/" : "",
             sa ? (sns && *sns ? sns : bns) : "");
}

/* A binding visitor: follows roleRef when a subject is the user. 0 to go on. */
static int visit_binding(void *ud, const json_t *b)
{
    ctx *c = ud;
    const char *bns =
        json_string_value(json_object_get(json_object_get(b, "metadata"), "namespace"));
    bns = bns ? bns : "";
    const json_t *bound = NULL;
    size_t i;
    json_t *subj;
    json_array_foreach(json_object_get(b, "subjects"), i,
                       subj) if (!bound && subject_matches(subj, c->u, bns)) bound = subj;
    if (!bound)
        return 0;
    json_t *ref = json_object_get(b, "roleRef");
    const char *kind = json_string_value(json_object_get(ref, "kind"));
    const char *name = json_string_value(json_object_get(ref, "name"));
    json_t *role = NULL;
    if (kind && name && !strcmp(kind, "Role") && *bns)
        role = c->src->get_role(c->src->ud, "roles", bns, name);
    else if (kind && name && !strcmp(kind, "ClusterRole"))
        role = c->src->get_role(c->src->ud, "clusterroles", "", name);
    json_t *rule;
    json_array_foreach(json_object_get(role, "rules"), i, rule)
    {
        if (c->collect)
            json_array_append(c->collect, rule);
        else
            c->allowed |= rule_allows(rule, c->ri, c->path);
    }
    json_decref(role);
    if (c->allowed)
        describe(c, b, bound, bns);
    return c->allowed;
}

bool vk_rbac_decide(const vk_rbac_source *src, const vk_user *u, const vk_reqinfo *ri,
                    const char *path, char *why, size_t whylen)
{
    ctx c = {src, u, ri, path, why, whylen, false, NULL};
    if (why && whylen)
        *why = 0;
    src->each_binding(src->ud, "clusterrolebindings", "", visit_binding, &c);
    /* RoleBindings grant only inside their namespace (a namespace's own path included). */
    if (!c.allowed && ri->is_resource && *ri->namespace_)
        src->each_binding(src->ud, "rolebindings", ri->namespace_, visit_binding, &c);
    return c.allowed;
}

json_t *vk_rbac_rules(const vk_rbac_source *src, const vk_user *u, const char *ns)
{
    ctx c = {.src = src, .u = u, .collect = json_array()};
    src->each_binding(src->ud, "clusterrolebindings", "", visit_binding, &c);
    if (*ns)
        src->each_binding(src->ud, "rolebindings", ns, visit_binding, &c);
    return c.collect;
}

/* The policy in the store. */
static const vk_resource *rbac_res(const char *plural)
{
    return vk_resource_find("rbac.authorization.k8s.io", "v1", plural);
}

/* The policy as last read from the store, kept until the store's revision moves (any
 * write may have changed it): bindings by scope and roles by key, parsed once. Lives in
 * the server; loop thread only. */
struct vk_rbac_cache {
    uint64_t rev;
    json_t *bindings; /* "clusterrolebindings" or "rolebindings/<ns>" -> array */
    json_t *roles;    /* "<plural>/<ns>/<name>" -> object, or null when there is none */
};

static struct vk_rbac_cache *cache_of(vk_server *s)
{
    struct vk_rbac_cache *c = s->rbac_cache;
    if (!c && (c = calloc(1, sizeof *c))) {
        c->bindings = json_object();
        c->roles = json_object();
        s->rbac_cache = c;
    }
    uint64_t rev = s->store ? vk_store_revision(s->store) : 0;
    if (c && c->rev != rev) {
        json_object_clear(c->bindings);
        json_object_clear(c->roles);
        c->rev = rev;
    }
    return c;
}

void vk_rbac_cache_free(struct vk_rbac_cache *c)
{
    if (!c)
        return;
    json_decref(c->bindings);
    json_decref(c->roles);
    free(c);
}

static json_t *store_get_role(void *ud, const char *plural, const char *ns, const char *name)
{
    vk_server *s = ud;
    struct vk_rbac_cache *c = cache_of(s);
    char ck[VK_KEY_MAX + 32];
    snprintf(ck, sizeof ck, "%s/%s/%s", plural, ns, name);
    json_t *hit = c ? json_object_get(c->roles, ck) : NULL;
    if (hit)
        return json_is_null(hit) ? NULL : json_incref(hit);
    char key[VK_KEY_MAX];
    vk_buf val = {0};
    int klen = vk_key_build(key, sizeof key, vk_resource_id(rbac_res(plural)), ns, name);
    json_t *o = NULL;
    if (s->store && klen > 0 && !vk_store_get(s->store, key, (size_t)klen, &val, NULL))
        o = json_loadb(val.data, val.len, 0, NULL);
    vk_buf_free(&val);
    if (c)
        json_object_set(c->roles, ck, o ? o : json_null());
    return o;
}

/* Takes every binding out of the read first: a visitor must not call the store. */
static int store_collect(void *ud, const vk_kv *kv)
{
    json_t *o = json_loadb(kv->val, kv->val_len, 0, NULL);
    if (o)
        json_array_append_new(ud, o);
    return 1;
}

static void store_each_binding(void *ud, const char *plural, const char *ns,
                               int (*fn)(void *, const json_t *), void *fnud)
{
    vk_server *s = ud;
    struct vk_rbac_cache *c = cache_of(s);
    char ck[VK_KEY_MAX + 32];
    snprintf(ck, sizeof ck, "%s/%s", plural, ns);
    json_t *all = c ? json_incref(json_object_get(c->bindings, ck)) : NULL;
    if (!all) {
        char prefix[VK_KEY_MAX];
        int plen =
            vk_key_prefix(prefix, sizeof prefix, vk_resource_id(rbac_res(plural)), *ns ? ns : NULL);
        vk_list_opts o = {.prefix = prefix, .prefix_len = (size_t)plen};
        vk_list_info info;
        all = json_array();
        if (s->store && plen > 0)
            vk_store_list(s->store, &o, store_collect, all, &info);
        if (c)
            json_object_set(c->bindings, ck, all);
    }
    size_t i;
    json_t *b;
    json_array_foreach(all, i, b) if (fn(fnud, b)) break;
    json_decref(all);
}

vk_rbac_source vk_rbac_store(vk_server *s)
{
    return (vk_rbac_source){store_each_binding, store_get_role, s};
}

/* A policy held in memory: the array vk_rbac_bootstrap returns, or one like it. */
static const char *meta_of(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(json_object_get(o, "metadata"), k));
    return v ? v : "";
}

/* The object of entry e when it is a plural in namespace ns, else NULL. */
static json_t *mem_entry(const json_t *e, const char *plural, const char *ns)
{
    json_t *o = json_object_get(e, "object");
    const char *r = json_string_value(json_object_get(e, "resource"));
    return r && !strcmp(r, plural) && !strcmp(meta_of(o, "namespace"), ns) ? o : NULL;
}

static void mem_each_binding(void *ud, const char *plural, const char *ns,
                             int (*fn)(void *, const json_t *), void *fnud)
{
    size_t i;
    json_t *e, *o;
    json_array_foreach((json_t *)ud, i,
                       e) if ((o = mem_entry(e, plural, ns)) && fn(fnud, o)) return;
}

static json_t *mem_get_role(void *ud, const char *plural, const char *ns, const char *name)
{
    size_t i;
    json_t *e, *o;
    json_array_foreach((json_t *)ud, i,
                       e) if ((o = mem_entry(e, plural, ns)) &&
                              !strcmp(meta_of(o, "name"), name)) return json_incref(o);
    return NULL;
}

vk_rbac_source vk_rbac_memory(json_t *policy)
{
    return (vk_rbac_source){mem_each_binding, mem_get_role, policy};
}

bool vk_authorize(const vk_rbac_source *src, const vk_user *u, const vk_reqinfo *ri,
                  const char *path)
{
    /* kube's privileged group, allowed before any authorizer runs. */
    return vk_user_in_group(u, "system:masters") || vk_rbac_decide(src, u, ri, path, NULL, 0);
}

json_t *vk_rbac_bootstrap(void)
{
    static const char *const policy =
        "["
        "{\"resource\":\"clusterroles\",\"object\":{\"metadata\":{\"name\":\"cluster-admin\"},"
        "\"rules\":[{\"verbs\":[\"*\"],\"apiGroups\":[\"*\"],\"resources\":[\"*\"]},"
        "{\"verbs\":[\"*\"],\"nonResourceURLs\":[\"*\"]}]}},"
        "{\"resource\":\"clusterroles\",\"object\":{\"metadata\":{\"name\":\"system:discovery\"},"
        "\"rules\":[{\"verbs\":[\"get\"],\"nonResourceURLs\":[\"/api\",\"/api/*\",\"/apis\","
        "\"/apis/*\",\"/healthz\",\"/livez\",\"/openapi\",\"/openapi/*\",\"/readyz\","
        "\"/version\",\"/version/\"]}]}},"
        "{\"resource\":\"clusterroles\",\"object\":{\"metadata\":{\"name\":"
        "\"system:public-info-viewer\"},\"rules\":[{\"verbs\":[\"get\"],\"nonResourceURLs\":"
        "[\"/healthz\",\"/livez\",\"/readyz\",\"/version\",\"/version/\"]}]}},"
        "{\"resource\":\"clusterroles\",\"object\":{\"metadata\":{\"name\":"
        "\"system:service-account-issuer-discovery\"},\"rules\":[{\"verbs\":[\"get\"],"
        "\"nonResourceURLs\":[\"/.well-known/openid-configuration\","
        "\"/.well-known/openid-configuration/\",\"/openid/v1/jwks\",\"/openid/v1/jwks/\"]}]}},"
        "{\"resource\":\"clusterrolebindings\",\"object\":{\"metadata\":{\"name\":"
        "\"system:service-account-issuer-discovery\"},\"roleRef\":{\"apiGroup\":"
        "\"rbac.authorization.k8s.io\",\"kind\":\"ClusterRole\",\"name\":"
        "\"system:service-account-issuer-discovery\"},\"subjects\":[{\"kind\":\"Group\","
        "\"apiGroup\":\"rbac.authorization.k8s.io\",\"name\":\"system:serviceaccounts\"}]}},"
        "{\"resource\":\"clusterroles\",\"object\":{\"metadata\":{\"name\":\"system:basic-user\"},"
        "\"rules\":[{\"verbs\":[\"create\"],\"apiGroups\":[\"authorization.k8s.io\"],"
        "\"resources\":[\"selfsubjectaccessreviews\",\"selfsubjectrulesreviews\"]},"
        "{\"verbs\":[\"create\"],\"apiGroups\":[\"authentication.k8s.io\"],"
        "\"resources\":[\"selfsubjectreviews\"]}]}},"
        "{\"resource\":\"clusterrolebindings\",\"object\":{\"metadata\":{\"name\":"
        "\"cluster-admin\"},\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":"
        "\"ClusterRole\",\"name\":\"cluster-admin\"},\"subjects\":[{\"kind\":\"Group\","
        "\"apiGroup\":\"rbac.authorization.k8s.io\",\"name\":\"system:masters\"}]}},"
        "{\"resource\":\"clusterrolebindings\",\"object\":{\"metadata\":{\"name\":"
        "\"system:discovery\"},\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\","
        "\"kind\":\"ClusterRole\",\"name\":\"system:discovery\"},\"subjects\":[{\"kind\":"
        "\"Group\",\"apiGroup\":\"rbac.authorization.k8s.io\",\"name\":"
        "\"system:authenticated\"}]}},"
        "{\"resource\":\"clusterrolebindings\",\"object\":{\"metadata\":{\"name\":"
        "\"system:public-info-viewer\"},\"roleRef\":{\"apiGroup\":"
        "\"rbac.authorization.k8s.io\",\"kind\":\"ClusterRole\",\"name\":"
        "\"system:public-info-viewer\"},\"subjects\":[{\"kind\":\"Group\",\"apiGroup\":"
        "\"rbac.authorization.k8s.io\",\"name\":\"system:authenticated\"},{\"kind\":\"Group\","
        "\"apiGroup\":\"rbac.authorization.k8s.io\",\"name\":\"system:unauthenticated\"}]}},"
        "{\"resource\":\"clusterrolebindings\",\"object\":{\"metadata\":{\"name\":"
        "\"system:basic-user\"},\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\","
        "\"kind\":\"ClusterRole\",\"name\":\"system:basic-user\"},\"subjects\":[{\"kind\":"
        "\"Group\",\"apiGroup\":\"rbac.authorization.k8s.io\",\"name\":"
        "\"system:authenticated\"}]}}"
        "]";
    json_t *p = json_loads(policy, 0, NULL);
    /* kube marks its bootstrap policy so that it is reconciled at every start. */
    size_t i;
    json_t *e;
    json_array_foreach(p, i, e)
    {
        json_t *meta = json_object_get(json_object_get(e, "object"), "metadata");
        json_object_set_new(meta, "labels",
                            json_pack("{s:s}", "kubernetes.io/bootstrapping", "rbac-defaults"));
        json_object_set_new(
            meta, "annotations",
            json_pack("{s:s}", "rbac.authorization.kubernetes.io/autoupdate", "true"));
    }
    return p;
}

bool vk_rbac_may(const vk_rbac_source *src, const vk_user *u, const char *verb,
                 const char *resource, const char *ns, const char *name)
{
    vk_reqinfo ri = {.is_resource = true,
                     .verb = verb,
                     .api_prefix = "apis",
                     .group = "rbac.authorization.k8s.io",
                     .version = "v1",
                     .resource = resource,
                     .subresource = "",
                     .namespace_ = ns,
                     .name = name};
    return vk_authorize(src, u, &ri, "");
}

/* Appends one JSON string array in Go's %q form: ["a" "b"]. */
static void quoted_list(vk_buf *b, const char *const *v, size_t n)
{
    vk_buf_puts(b, "[");
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_string(v[i]);
        char *q = json_dumps(s, JSON_ENCODE_ANY);
        vk_buf_printf(b, "%s%s", i ? " " : "", q ? q : "\"\"");
        free(q);
        json_decref(s);
    }
    vk_buf_puts(b, "]");
}

/* One permission a rule grants, checked against what u holds; a missing one is written
 * as kube's CompactString of a rule. */
static void check_atom(const vk_rbac_source *src, const vk_user *u, const char *ns,
                       const char *verb, const char *group, const char *resource, const char *name,
                       const char *url, vk_buf *missing)
{
    char res[256] = "", sub[128] = "";
    if (resource) {
        const char *slash = strchr(resource, '/');
        snprintf(res, sizeof res, "%.*s", slash ? (int)(slash - resource) : (int)strlen(resource),
                 resource);
        snprintf(sub, sizeof sub, "%s", slash ? slash + 1 : "");
    }
    vk_reqinfo ri = {.is_resource = !url,
                     .verb = verb,
                     .api_prefix = "apis",
                     .group = group ? group : "",
                     .version = "",
                     .resource = res,
                     .subresource = sub,
                     .namespace_ = ns,
                     .name = name ? name : ""};
    if (vk_rbac_decide(src, u, &ri, url ? url : "", NULL, 0))
        return;
    vk_buf_puts(missing, "\n{");
    if (url) {
        vk_buf_puts(missing, "NonResourceURLs:");
        quoted_list(missing, &url, 1);
    } else {
        vk_buf_puts(missing, "APIGroups:");
        quoted_list(missing, &ri.group, 1);
        vk_buf_puts(missing, ", Resources:");
        quoted_list(missing, &resource, 1);
        if (name) {
            vk_buf_puts(missing, ", ResourceNames:");
            quoted_list(missing, &name, 1);
        }
    }
    vk_buf_puts(missing, ", Verbs:");
    quoted_list(missing, &verb, 1);
    vk_buf_puts(missing, "}");
}

char *vk_rbac_missing(const vk_rbac_source *src, const vk_user *u, const char *ns,
                      const json_t *rules)
{
    if (vk_user_in_group(u, "system:masters"))
        return NULL;
    vk_buf missing = {0};
    size_t i, v, g, r, n;
    json_t *rule, *verb, *grp, *res, *nm;
    json_array_foreach(rules, i, rule)
    {
        json_t *urls = json_object_get(rule, "nonResourceURLs");
        json_t *names = json_object_get(rule, "resourceNames");
        json_array_foreach(json_object_get(rule, "verbs"), v, verb)
        {
            const char *vb = json_string_value(verb);
            json_array_foreach(urls, n, nm)
                check_atom(src, u, ns, vb, NULL, NULL, NULL, json_string_value(nm), &missing);
            if (json_array_size(urls))
                continue;
            json_array_foreach(json_object_get(rule, "apiGroups"), g, grp)
            {
                json_array_foreach(json_object_get(rule, "resources"), r, res)
                {
                    if (!json_array_size(names))
                        check_atom(src, u, ns, vb, json_string_value(grp), json_string_value(res),
                                   NULL, NULL, &missing);
                    json_array_foreach(names, n, nm)
                        check_atom(src, u, ns, vb, json_string_value(grp), json_string_value(res),
                                   json_string_value(nm), NULL, &missing);
                }
            }
        }
    }
    if (!missing.len)
        return NULL;
    vk_buf msg = {0};
    vk_buf_printf(&msg, "user \"%s\" (groups=", u->name ? u->name : "");
    size_t ng = 0;
    while (u->groups && u->groups[ng])
        ng++;
    quoted_list(&msg, u->groups, ng);
    vk_buf_printf(&msg, ") is attempting to grant RBAC permissions not currently held:%.*s",
                  (int)missing.len, missing.data);
    vk_buf_free(&missing);
    return msg.data; /* NUL-terminated, owned by the caller */
}

json_t *vk_rbac_refuse(const char *plural, const char *name, char *why)
{
    if (!why)
        return NULL;
    vk_buf msg = {0};
    vk_buf_printf(&msg, "%s.rbac.authorization.k8s.io \"%s\" is forbidden: %s", plural, name, why);
    json_t *st = vk_status_new(403, "Forbidden", msg.data ? msg.data : why,
                               vk_status_details(name, "rbac.authorization.k8s.io", plural));
    vk_buf_free(&msg);
    free(why);
    return st;
}
