/* kube's ResourceQuota (quota.h).
 *
 * An evaluator says, for one resource, which quota resource names its objects count
 * toward and how much one object uses: every resource has its object count
 * (count/<plural>[.<group>]); a few have legacy names (configmaps, secrets, ...); pods,
 * services and persistentvolumeclaims have their own usage. Only pods know scopes: a
 * quota with scopes matches no other kind (kube's MatchesNoScopeFunc).
 *
 * Admission reads the namespace's quotas from the store, checks the object's usage
 * against each matching quota's status (hard and used, as kube's admission does) and
 * returns the quota updates to commit in the object's own transaction, with
 * compare-and-swap on each quota: usage is never lost to a race and never charged for a
 * write that did not happen (kube charges first and lets the controller correct). */
#include "apiserver/registry/quota.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apiserver/http/status.h"
#include "apiserver/registry/common.h"
#include "apiserver/resources/core/pods.h"
#include "apiserver/resources/quantity.h"
#include "apiserver/server.h"
#include "common/err.h"
#include "common/timefmt.h"

/* ---- evaluators ---- */

typedef struct evaluator {
    const char *group, *plural;
    const char *alias; /* a legacy name for the object count */
    /* Names beyond the object counts (NULL: none). */
    bool (*tracks)(const char *name);
    /* Usage beyond the object counts. */
    int (*usage)(const json_t *obj, vk_rlist *u);
    /* Whether obj matches one scope selector requirement (NULL: never). */
    bool (*scope)(const json_t *req, const json_t *obj);
    /* A refusal message for a create missing what required names need, or NULL. */
    char *(*constraints)(const json_t *obj, const char *const *required, size_t n);
    /* Whether an update (not a create) can change usage. */
    bool (*handles_update)(const json_t *obj, const json_t *old);
} evaluator;

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static int add_one(vk_rlist *u, const char *name)
{
    vk_qty one = {1000, VK_Q_DECIMAL_SI, true};
    return vk_rlist_add(u, name, &one);
}

/* -- pods -- */

static bool has_prefix(const char *s, const char *p)
{
    return !strncmp(s, p, strlen(p));
}

/* kube's isExtendedResourceNameForQuota: requests.<a name outside kubernetes.io>. */
static bool extended_request(const char *name)
{
    if (!has_prefix(name, "requests."))
        return false;
    const char *r = name + 9;
    return has_prefix(r, "deviceclass.resource.kubernetes.io/") ||
           (strchr(r, '/') && !strstr(r, "kubernetes.io/"));
}

static const char *const pod_names[] = {"cpu",
                                        "memory",
                                        "ephemeral-storage",
                                        "requests.cpu",
                                        "requests.memory",
                                        "requests.ephemeral-storage",
                                        "limits.cpu",
                                        "limits.memory",
                                        "limits.ephemeral-storage",
                                        "pods",
                                        NULL};

static bool in_list(const char *const *list, const char *name)
{
    for (; *list; list++)
        if (!strcmp(*list, name))
            return true;
    return false;
}

static bool pod_tracks(const char *name)
{
    return in_list(pod_names, name) || has_prefix(name, "hugepages-") ||
           has_prefix(name, "requests.hugepages-") || extended_request(name);
}

/* kube's QuotaV1Pod: finished pods, and pods past their deletion grace, use nothing
 * beyond their object count. */
static bool pod_counted(const json_t *pod)
{
    const char *phase = str(json_object_get(pod, "status"), "phase");
    if (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))
        return false;
    json_t *meta = json_object_get(pod, "metadata");
    time_t del;
    json_t *grace = json_object_get(meta, "deletionGracePeriodSeconds");
    if (json_is_integer(grace) && !vk_time_parse(str(meta, "deletionTimestamp"), &del) &&
        time(NULL) > del + (time_t)json_integer_value(grace))
        return false;
    return true;
}

/* kube's IsExtendedResourceName (with deviceclass names, as quota counts them). */
static bool extended_resource(const char *name)
{
    return has_prefix(name, "deviceclass.resource.kubernetes.io/") ||
           (strchr(name, '/') && !strstr(name, "kubernetes.io/") && !has_prefix(name, "requests."));
}

/* kube's podComputeUsageHelper: what requests and limits charge. */
static int compute_usage(const vk_rlist *req, const vk_rlist *lim, vk_rlist *u)
{
    static const struct {
        const char *res, *plain, *req, *lim;
    } map[] = {{"cpu", "cpu", "requests.cpu", "limits.cpu"},
               {"memory", "memory", "requests.memory", "limits.memory"},
               {"ephemeral-storage", "ephemeral-storage", "requests.ephemeral-storage",
                "limits.ephemeral-storage"}};
    int rc = add_one(u, "pods");
    for (size_t i = 0; !rc && i < sizeof map / sizeof map[0]; i++) {
        vk_qty *q = vk_rlist_get(req, map[i].res);
        if (q && !(rc = vk_rlist_add(u, map[i].plain, q)))
            rc = vk_rlist_add(u, map[i].req, q);
        if (!rc && (q = vk_rlist_get(lim, map[i].res)))
            rc = vk_rlist_add(u, map[i].lim, q);
    }
    for (size_t i = 0; !rc && i < req->n; i++) {
        const char *n = req->v[i].name;
        char masked[300];
        snprintf(masked, sizeof masked, "requests.%s", n);
        if (has_prefix(n, "hugepages-"))
            rc = vk_rlist_add(u, n, &req->v[i].q);
        if (!rc && (has_prefix(n, "hugepages-") || extended_resource(n)))
            rc = vk_rlist_add(u, masked, &req->v[i].q);
    }
    return rc;
}

static int pod_usage(const json_t *pod, vk_rlist *u)
{
    if (!pod_counted(pod))
        return 0;
    vk_rlist req = {0}, lim = {0};
    int rc = vk_pod_resources(pod, false, &req);
    rc = rc ? rc : vk_pod_resources(pod, true, &lim);
    rc = rc ? rc : compute_usage(&req, &lim, u);
    vk_rlist_free(&req);
    vk_rlist_free(&lim);
    return rc;
}

static bool terminating(const json_t *pod)
{
    json_t *ads = json_object_get(json_object_get(pod, "spec"), "activeDeadlineSeconds");
    return json_is_integer(ads) && json_integer_value(ads) >= 0;
}

static bool nonzero_cpu_memory(const json_t *list)
{
    static const char *const names[] = {"cpu", "memory"};
    for (size_t i = 0; i < 2; i++) {
        vk_qty q;
        if (vk_qty_of(json_object_get(list, names[i]), &q) && q.milli)
            return true;
    }
    return false;
}

/* kube's QoS class BestEffort: no container (nor the pod) asks for or limits cpu or
 * memory. */
static bool best_effort(const json_t *pod)
{
    json_t *spec = json_object_get(pod, "spec");
    static const char *const lists[] = {"containers", "initContainers"};
    json_t *pr = json_object_get(spec, "resources");
    if (nonzero_cpu_memory(json_object_get(pr, "requests")) ||
        nonzero_cpu_memory(json_object_get(pr, "limits")))
        return false;
    for (size_t l = 0; l < 2; l++) {
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(spec, lists[l]), i, c)
        {
            json_t *r = json_object_get(c, "resources");
            if (nonzero_cpu_memory(json_object_get(r, "requests")) ||
                nonzero_cpu_memory(json_object_get(r, "limits")))
                return false;
        }
    }
    return true;
}

static bool cross_namespace_terms(const json_t *terms, bool weighted)
{
    size_t i;
    json_t *t;
    json_array_foreach(terms, i, t)
    {
        const json_t *term = weighted ? json_object_get(t, "podAffinityTerm") : t;
        if (json_array_size(json_object_get(term, "namespaces")) ||
            json_is_object(json_object_get(term, "namespaceSelector")))
            return true;
    }
    return false;
}

static bool cross_namespace_affinity(const json_t *pod)
{
    json_t *aff = json_object_get(json_object_get(pod, "spec"), "affinity");
    static const char *const kinds[] = {"podAffinity", "podAntiAffinity"};
    for (size_t k = 0; k < 2; k++) {
        json_t *a = json_object_get(aff, kinds[k]);
        if (cross_namespace_terms(
                json_object_get(a, "requiredDuringSchedulingIgnoredDuringExecution"), false) ||
            cross_namespace_terms(
                json_object_get(a, "preferredDuringSchedulingIgnoredDuringExecution"), true))
            return true;
    }
    return false;
}

static bool value_in(const json_t *values, const char *v)
{
    size_t i;
    json_t *x;
    json_array_foreach(values, i, x)
    {
        if (json_is_string(x) && !strcmp(json_string_value(x), v))
            return true;
    }
    return false;
}

/* kube's podMatchesScopeFunc. */
static bool pod_scope(const json_t *req, const json_t *pod)
{
    const char *scope = str(req, "scopeName"), *op = str(req, "operator");
    if (!strcmp(scope, "Terminating"))
        return terminating(pod);
    if (!strcmp(scope, "NotTerminating"))
        return !terminating(pod);
    if (!strcmp(scope, "BestEffort"))
        return best_effort(pod);
    if (!strcmp(scope, "NotBestEffort"))
        return !best_effort(pod);
    if (!strcmp(scope, "CrossNamespacePodAffinity"))
        return cross_namespace_affinity(pod);
    if (strcmp(scope, "PriorityClass"))
        return false;
    /* A label selector over {PriorityClass: <the pod's class>} (no key without one). */
    const char *pc = str(json_object_get(pod, "spec"), "priorityClassName");
    const json_t *values = json_object_get(req, "values");
    if (!strcmp(op, "Exists"))
        return *pc;
    if (!strcmp(op, "DoesNotExist"))
        return !*pc;
    if (!strcmp(op, "In"))
        return *pc && value_in(values, pc);
    if (!strcmp(op, "NotIn"))
        return !*pc || !value_in(values, pc);
    return false;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* kube's podEvaluator.Constraints: with a quota on cpu or memory (requests or limits),
 * every container must say it. */
static char *pod_constraints(const json_t *pod, const char *const *required, size_t n)
{
    static const char *const validation[] = {
        "cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory", NULL};
    json_t *spec = json_object_get(pod, "spec");
    json_t *pr = json_object_get(spec, "resources");
    if (json_object_size(json_object_get(pr, "requests")) ||
        json_object_size(json_object_get(pr, "limits")))
        return NULL; /* pod-level resources (kube's PodLevelResources, on by default) */
    json_t *missing = json_object(); /* resource -> [container names] */
    static const char *const lists[] = {"containers", "initContainers"};
    for (size_t l = 0; l < 2; l++) {
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(spec, lists[l]), i, c)
        {
            json_t *r = json_object_get(c, "resources");
            vk_rlist req = {0}, lim = {0}, u = {0};
            vk_rlist_add_json(&req, json_object_get(r, "requests"));
            vk_rlist_add_json(&lim, json_object_get(r, "limits"));
            compute_usage(&req, &lim, &u);
            for (size_t k = 0; k < n; k++) {
                if (!in_list(validation, required[k]) || vk_rlist_get(&u, required[k]))
                    continue;
                json_t *names = json_object_get(missing, required[k]);
                if (!names)
                    json_object_set_new(missing, required[k], names = json_array());
                if (!value_in(names, str(c, "name")))
                    json_array_append_new(names, json_string(str(c, "name")));
            }
            vk_rlist_free(&req);
            vk_rlist_free(&lim);
            vk_rlist_free(&u);
        }
    }
    size_t m = json_object_size(missing);
    if (!m) {
        json_decref(missing);
        return NULL;
    }
    const char **keys = calloc(m, sizeof *keys);
    size_t k = 0;
    const char *key;
    json_t *v;
    json_object_foreach(missing, key, v)
    {
        if (keys)
            keys[k++] = key;
    }
    vk_buf b = {0};
    vk_buf_puts(&b, "must specify ");
    if (keys)
        qsort(keys, k, sizeof *keys, cmp_str);
    for (size_t i = 0; i < k; i++) {
        json_t *names = json_object_get(missing, keys[i]);
        size_t nn = json_array_size(names);
        const char **cn = calloc(nn ? nn : 1, sizeof *cn);
        for (size_t j = 0; cn && j < nn; j++)
            cn[j] = json_string_value(json_array_get(names, j));
        if (cn)
            qsort(cn, nn, sizeof *cn, cmp_str);
        vk_buf_printf(&b, "%s%s for: ", i ? "; " : "", keys[i]);
        for (size_t j = 0; cn && j < nn; j++)
            vk_buf_printf(&b, "%s%s", j ? "," : "", cn[j]);
        free(cn);
    }
    free(keys);
    json_decref(missing);
    char *msg = b.data ? strdup(b.data) : NULL;
    vk_buf_free(&b);
    return msg;
}

static bool pod_handles_update(const json_t *obj, const json_t *old)
{
    return terminating(obj) != terminating(old);
}

/* -- services -- */

static bool service_tracks(const char *name)
{
    return !strcmp(name, "services.nodeports") || !strcmp(name, "services.loadbalancers");
}

static int service_usage(const json_t *svc, vk_rlist *u)
{
    json_t *spec = json_object_get(svc, "spec");
    const char *type = str(spec, "type");
    json_t *ports = json_object_get(spec, "ports");
    long long nodeports = 0;
    if (!strcmp(type, "NodePort")) {
        nodeports = (long long)json_array_size(ports);
    } else if (!strcmp(type, "LoadBalancer")) {
        if (json_is_false(json_object_get(spec, "allocateLoadBalancerNodePorts"))) {
            size_t i;
            json_t *p;
            json_array_foreach(ports, i, p)
            {
                nodeports += json_integer_value(json_object_get(p, "nodePort")) != 0;
            }
        } else {
            nodeports = (long long)json_array_size(ports);
        }
    }
    vk_qty np = {nodeports * 1000, VK_Q_DECIMAL_SI, true};
    vk_qty lb = {strcmp(type, "LoadBalancer") ? 0 : 1000, VK_Q_DECIMAL_SI, true};
    int rc = vk_rlist_add(u, "services.nodeports", &np);
    return rc ? rc : vk_rlist_add(u, "services.loadbalancers", &lb);
}

static bool service_handles_update(const json_t *obj, const json_t *old)
{
    return true;
}

/* -- persistentvolumeclaims -- */

static const char sc_suffix[] = ".storageclass.storage.k8s.io/";

static bool pvc_tracks(const char *name)
{
    if (!strcmp(name, "requests.storage"))
        return true;
    const char *s = strstr(name, sc_suffix);
    return s && (!strcmp(s + strlen(sc_suffix), "persistentvolumeclaims") ||
                 !strcmp(s + strlen(sc_suffix), "requests.storage"));
}

static int pvc_usage(const json_t *pvc, vk_rlist *u)
{
    json_t *spec = json_object_get(pvc, "spec");
    const char *sc = json_string_value(json_object_get(spec, "storageClassName"));
    if (!sc)
        sc = str(json_object_get(json_object_get(pvc, "metadata"), "annotations"),
                 "volume.beta.kubernetes.io/storage-class");
    char name[300];
    int rc = 0;
    if (*sc) {
        snprintf(name, sizeof name, "%s%spersistentvolumeclaims", sc, sc_suffix);
        rc = add_one(u, name);
    }
    vk_qty q;
    json_t *req = json_object_get(json_object_get(spec, "resources"), "requests");
    if (!rc && vk_qty_of(json_object_get(req, "storage"), &q)) {
        /* Whole bytes (kube rounds storage requests up). */
        q.milli = (q.milli + 999) / 1000 * 1000;
        json_t *alloc = json_object_get(json_object_get(pvc, "status"), "allocatedResources");
        vk_qty a;
        if (vk_qty_of(json_object_get(alloc, "storage"), &a) && a.milli > q.milli)
            q = a;
        rc = vk_rlist_add(u, "requests.storage", &q);
        if (!rc && *sc) {
            snprintf(name, sizeof name, "%s%srequests.storage", sc, sc_suffix);
            rc = vk_rlist_add(u, name, &q);
        }
    }
    return rc;
}

static const evaluator evaluators[] = {
    {"", "pods", NULL, pod_tracks, pod_usage, pod_scope, pod_constraints, pod_handles_update},
    {"", "services", "services", service_tracks, service_usage, NULL, NULL, service_handles_update},
    {"", "persistentvolumeclaims", "persistentvolumeclaims", pvc_tracks, pvc_usage, NULL, NULL,
     service_handles_update},
    {"", "configmaps", "configmaps"},
    {"", "secrets", "secrets"},
    {"", "replicationcontrollers", "replicationcontrollers"},
    {"", "resourcequotas", "resourcequotas"},
};

/* The evaluator of res: its own, or the object count alone. */
static const evaluator *evaluator_of(const vk_resource *res)
{
    for (size_t i = 0; i < sizeof evaluators / sizeof evaluators[0]; i++)
        if (!strcmp(evaluators[i].group, res->group) && !strcmp(evaluators[i].plural, res->plural))
            return &evaluators[i];
    static const evaluator generic = {0};
    return &generic;
}

static void count_name(const vk_resource *res, char *out, size_t n)
{
    if (*res->group)
        snprintf(out, n, "count/%s.%s", res->plural, res->group);
    else
        snprintf(out, n, "count/%s", res->plural);
}

static bool tracks(const evaluator *e, const vk_resource *res, const char *name)
{
    char count[300];
    count_name(res, count, sizeof count);
    return !strcmp(name, count) || (e->alias && !strcmp(name, e->alias)) ||
           (e->tracks && e->tracks(name));
}

static int usage(const evaluator *e, const vk_resource *res, const json_t *obj, vk_rlist *u)
{
    char count[300];
    count_name(res, count, sizeof count);
    int rc = add_one(u, count);
    if (!rc && e->alias)
        rc = add_one(u, e->alias);
    if (!rc && e->usage)
        rc = e->usage(obj, u);
    return rc;
}

/* Every scope selector of a quota matches obj (kube's generic.Matches, scopes part). */
static bool scopes_match(const evaluator *e, const json_t *quota, const json_t *obj)
{
    json_t *spec = json_object_get(quota, "spec");
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(spec, "scopes"), i, s)
    {
        json_t *req = json_pack("{s:O, s:s}", "scopeName", s, "operator", "Exists");
        bool ok = e->scope && e->scope(req, obj);
        json_decref(req);
        if (!ok)
            return false;
    }
    json_array_foreach(json_object_get(json_object_get(spec, "scopeSelector"), "matchExpressions"),
                       i, s)
    {
        if (!e->scope || !e->scope(s, obj))
            return false;
    }
    return true;
}

/* ---- the namespace's quotas ---- */

typedef struct stored_quota {
    json_t *obj;
    char key[VK_KEY_MAX];
    size_t klen;
    uint64_t rev;
} stored_quota;

typedef struct quota_list {
    stored_quota *v;
    size_t n, cap;
} quota_list;

static int collect_quota(void *ud, const vk_kv *kv)
{
    quota_list *l = ud;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4;
        stored_quota *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    json_t *obj = json_loadb(kv->val, kv->val_len, 0, NULL);
    if (!obj || kv->key_len > VK_KEY_MAX) {
        json_decref(obj);
        return 0;
    }
    stored_quota *q = &l->v[l->n++];
    q->obj = obj;
    memcpy(q->key, kv->key, kv->key_len);
    q->klen = kv->key_len;
    q->rev = kv->meta.mod_rev;
    return 1;
}

static void quota_list_free(quota_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        json_decref(l->v[i].obj);
    free(l->v);
}

static int read_quotas(vk_server *s, const char *ns, quota_list *out)
{
    const vk_resource *rq = vk_resource_find("", "v1", "resourcequotas");
    char prefix[VK_KEY_MAX];
    int plen = rq ? vk_key_prefix(prefix, sizeof prefix, vk_resource_id(rq), ns) : VK_EINVALID;
    if (plen < 0)
        return plen;
    vk_list_opts o = {.prefix = prefix, .prefix_len = (size_t)plen};
    vk_list_info info;
    return vk_store_list(s->store, &o, collect_quota, out, &info);
}

/* ---- admission ---- */

static json_t *forbidden(const vk_resource *res, const json_t *obj, const char *why)
{
    const char *name = str(json_object_get(obj, "metadata"), "name");
    char qualified[300], *msg = NULL;
    if (*res->group)
        snprintf(qualified, sizeof qualified, "%s.%s", res->plural, res->group);
    else
        snprintf(qualified, sizeof qualified, "%s", res->plural);
    if (asprintf(&msg, "%s \"%s\" is forbidden: %s", qualified, name, why) < 0)
        msg = NULL;
    json_t *st = vk_status_new(403, "Forbidden", msg ? msg : why,
                               vk_status_details(name, res->group, res->plural));
    free(msg);
    return st;
}

/* "a=1,b=2" of l's names in names, sorted (kube's prettyPrint). */
static void pretty(vk_buf *b, const vk_rlist *l, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        vk_qty *q = vk_rlist_get(l, names[i]);
        vk_qty zero = {0};
        char v[64];
        vk_qty_format(q ? q : &zero, v, sizeof v);
        vk_buf_printf(b, "%s%s=%s", i ? "," : "", names[i], v);
    }
}

static int encode_quota(stored_quota *q, const vk_rlist *used, struct vk_quota_write *w)
{
    json_t *obj = json_deep_copy(q->obj);
    json_t *status = json_object_get(obj, "status");
    if (!json_is_object(status))
        json_object_set_new(obj, "status", status = json_object());
    json_object_set_new(status, "used", vk_rlist_json(used));
    memcpy(w->key, q->key, q->klen);
    w->klen = q->klen;
    w->rev = q->rev;
    w->val = (vk_buf){0};
    int rc = vk_store_encode_json(obj, &w->val, &w->rv_off);
    json_decref(obj);
    return rc;
}

json_t *vk_quota_admit(vk_server *s, const vk_resource *res, const char *ns, const json_t *obj,
                       const json_t *old, bool dry_run, vk_quota_charge *ch)
{
    *ch = (vk_quota_charge){0};
    const evaluator *e = evaluator_of(res);
    if (!(res->flags & VK_NAMESPACED) || !ns || !*ns ||
        (old && !(e->handles_update && e->handles_update(obj, old))))
        return NULL;
    quota_list quotas = {0};
    if (read_quotas(s, ns, &quotas) < 0 || !quotas.n) {
        quota_list_free(&quotas);
        return NULL;
    }
    vk_rlist input = {0}, prev = {0};
    json_t *refusal = NULL;
    bool *charged = calloc(quotas.n, sizeof *charged);
    vk_rlist *used = calloc(quotas.n, sizeof *used);
    int rc = charged && used ? usage(e, res, obj, &input) : -ENOMEM;
    if (!rc && old)
        rc = usage(e, res, old, &prev);
    for (size_t i = 0; !rc && !refusal && i < quotas.n; i++) {
        json_t *q = quotas.v[i].obj;
        const char *qname = str(json_object_get(q, "metadata"), "name");
        json_t *status = json_object_get(q, "status");
        json_t *hard = json_object_get(status, "hard"), *qused = json_object_get(status, "used");
        size_t nh = json_object_size(hard), nr = 0;
        const char **restricted = calloc(nh ? nh : 1, sizeof *restricted);
        if (!restricted) {
            rc = -ENOMEM;
            break;
        }
        const char *k;
        json_t *v;
        json_object_foreach(hard, k, v)
        {
            if (tracks(e, res, k))
                restricted[nr++] = k;
        }
        qsort(restricted, nr, sizeof *restricted, cmp_str);
        if (!nr || !scopes_match(e, q, obj)) {
            free(restricted);
            continue;
        }
        char *why = !old && e->constraints ? e->constraints(obj, restricted, nr) : NULL;
        for (size_t r = 0; !why && r < nr; r++) {
            if (!json_object_get(qused, restricted[r])) {
                vk_buf b = {0};
                vk_buf_printf(&b, "status unknown for quota: %s, resources: ", qname);
                for (size_t j = 0; j < nr; j++)
                    vk_buf_printf(&b, "%s%s", j ? "," : "", restricted[j]);
                why = strdup(b.data);
                vk_buf_free(&b);
            }
        }
        if (why) {
            char *full = NULL;
            if (!strncmp(why, "must", 4) && asprintf(&full, "failed quota: %s: %s", qname, why) > 0)
                refusal = forbidden(res, obj, full);
            else
                refusal = forbidden(res, obj, why);
            free(full);
            free(why);
            free(restricted);
            break;
        }
        /* The delta this quota is charged: the whole usage, or for an update of an
         * object this quota counted before, what grew (kube's
         * SubtractWithNonNegativeResult). */
        bool delta_of_update = old && scopes_match(e, q, old);
        vk_rlist requested = {0};
        for (size_t r = 0; !rc && r < nr; r++) {
            vk_qty *in = vk_rlist_get(&input, restricted[r]);
            if (!in)
                continue;
            vk_qty d = *in;
            vk_qty *p = delta_of_update ? vk_rlist_get(&prev, restricted[r]) : NULL;
            if (p)
                d.milli = d.milli > p->milli ? d.milli - p->milli : 0;
            if (d.milli)
                rc = vk_rlist_set(&requested, restricted[r], &d);
        }
        if (!rc && requested.n) {
            rc = vk_rlist_add_json(&used[i], qused);
            const char **exceeded = calloc(requested.n, sizeof *exceeded);
            size_t ne = 0;
            for (size_t r = 0; !rc && exceeded && r < requested.n; r++) {
                rc = vk_rlist_add(&used[i], requested.v[r].name, &requested.v[r].q);
                vk_qty h;
                vk_qty *nu = vk_rlist_get(&used[i], requested.v[r].name);
                if (!rc && vk_qty_of(json_object_get(hard, requested.v[r].name), &h) &&
                    nu->milli > h.milli)
                    exceeded[ne++] = requested.v[r].name;
            }
            if (!exceeded)
                rc = -ENOMEM;
            if (ne) {
                qsort(exceeded, ne, sizeof *exceeded, cmp_str);
                vk_rlist was = {0}, lim = {0};
                vk_rlist_add_json(&was, qused);
                vk_rlist_add_json(&lim, hard);
                vk_buf b = {0};
                vk_buf_printf(&b, "exceeded quota: %s, requested: ", qname);
                pretty(&b, &requested, exceeded, ne);
                vk_buf_puts(&b, ", used: ");
                pretty(&b, &was, exceeded, ne);
                vk_buf_puts(&b, ", limited: ");
                pretty(&b, &lim, exceeded, ne);
                refusal = forbidden(res, obj, b.data);
                vk_buf_free(&b);
                vk_rlist_free(&was);
                vk_rlist_free(&lim);
            }
            free(exceeded);
            charged[i] = true;
        }
        vk_rlist_free(&requested);
        free(restricted);
    }
    if (!rc && !refusal && !dry_run) {
        size_t n = 0;
        for (size_t i = 0; i < quotas.n; i++)
            n += charged[i];
        ch->q = n ? calloc(n, sizeof *ch->q) : NULL;
        if (n && !ch->q)
            rc = -ENOMEM;
        for (size_t i = 0; !rc && i < quotas.n; i++)
            if (charged[i])
                rc = encode_quota(&quotas.v[i], &used[i], &ch->q[ch->n++]);
    }
    if (rc && !refusal)
        refusal = vk_status_new(500, "InternalError",
                                "Internal error occurred: resource quota evaluation failed", NULL);
    if (refusal)
        vk_quota_charge_free(ch);
    for (size_t i = 0; used && i < quotas.n; i++)
        vk_rlist_free(&used[i]);
    free(used);
    free(charged);
    vk_rlist_free(&input);
    vk_rlist_free(&prev);
    quota_list_free(&quotas);
    return refusal;
}

void vk_quota_charge_ops(const vk_quota_charge *ch, vk_op *ops)
{
    for (size_t i = 0; i < ch->n; i++)
        ops[i] = (vk_op){VK_OP_UPDATE,     ch->q[i].key,    ch->q[i].klen, ch->q[i].val.data,
                         ch->q[i].val.len, ch->q[i].rv_off, ch->q[i].rev};
}

void vk_quota_charge_free(vk_quota_charge *ch)
{
    for (size_t i = 0; i < ch->n; i++)
        vk_buf_free(&ch->q[i].val);
    free(ch->q);
    *ch = (vk_quota_charge){0};
}

/* ---- recalculation ---- */

/* The resource a name counts objects of ("count/deployments.apps", "configmaps"). */
static const vk_resource *counted_resource(const char *name)
{
    for (const vk_resource *const *r = vk_resources; *r; r++) {
        const evaluator *e = evaluator_of(*r);
        char count[300];
        count_name(*r, count, sizeof count);
        if (!strcmp(count, name) || (e->alias && !strcmp(e->alias, name)))
            return *r;
    }
    return NULL;
}

void vk_quota_resources(const json_t *hard, void (*fn)(void *ud, const vk_resource *res), void *ud)
{
    const char *k;
    json_t *v;
    bool pods = false, pvcs = false, services = false;
    json_object_foreach((json_t *)hard, k, v)
    {
        const vk_resource *r = counted_resource(k);
        if (r && !(r->group[0] == 0 &&
                   (!strcmp(r->plural, "pods") || !strcmp(r->plural, "persistentvolumeclaims") ||
                    !strcmp(r->plural, "services"))))
            fn(ud, r);
        pods = pods || pod_tracks(k) || !strcmp(k, "count/pods");
        pvcs = pvcs || pvc_tracks(k) || !strcmp(k, "persistentvolumeclaims") ||
               !strcmp(k, "count/persistentvolumeclaims");
        services =
            services || service_tracks(k) || !strcmp(k, "services") || !strcmp(k, "count/services");
    }
    if (pods)
        fn(ud, vk_resource_find("", "v1", "pods"));
    if (pvcs)
        fn(ud, vk_resource_find("", "v1", "persistentvolumeclaims"));
    if (services)
        fn(ud, vk_resource_find("", "v1", "services"));
}

typedef struct sum_ctx {
    const evaluator *e;
    const vk_resource *res;
    const json_t *quota;
    vk_rlist *sum;
    int rc;
} sum_ctx;

static int sum_object(void *ud, const vk_kv *kv)
{
    sum_ctx *c = ud;
    json_t *obj = json_loadb(kv->val, kv->val_len, 0, NULL);
    if (obj && scopes_match(c->e, c->quota, obj) && !c->rc)
        c->rc = usage(c->e, c->res, obj, c->sum);
    json_decref(obj);
    return 0;
}

typedef struct status_ctx {
    vk_server *s;
    const json_t *quota, *hard;
    const char *ns;
    vk_rlist *used;
    int rc;
} status_ctx;

/* Adds one resource's usage for the names of hard it counts, each at least zero. */
static void count_resource(void *ud, const vk_resource *res)
{
    status_ctx *c = ud;
    if (!res || c->rc)
        return;
    const evaluator *e = evaluator_of(res);
    vk_rlist sum = {0};
    char prefix[VK_KEY_MAX];
    int plen = vk_key_prefix(prefix, sizeof prefix, vk_resource_id(res), c->ns);
    sum_ctx sc = {e, res, c->quota, &sum, 0};
    vk_list_opts o = {.prefix = prefix, .prefix_len = plen > 0 ? (size_t)plen : 0};
    vk_list_info info;
    int rc = plen < 0 ? plen : vk_store_list(c->s->store, &o, sum_object, &sc, &info);
    if (!rc)
        rc = sc.rc;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)c->hard, k, v)
    {
        if (rc || !tracks(e, res, k))
            continue;
        vk_qty zero = {0, VK_Q_DECIMAL_SI, true}, *q = vk_rlist_get(&sum, k);
        rc = vk_rlist_set(c->used, k, q ? q : &zero);
    }
    vk_rlist_free(&sum);
    c->rc = rc;
}

json_t *vk_quota_status(vk_server *s, const json_t *quota)
{
    json_t *spec = json_object_get(quota, "spec");
    json_t *hard = json_object_get(spec, "hard");
    json_t *old_used = json_object_get(json_object_get(quota, "status"), "used");
    vk_rlist used = {0};
    status_ctx c = {s, quota, hard, str(json_object_get(quota, "metadata"), "namespace"), &used, 0};
    /* What no evaluator counts keeps its last value (kube's controller). */
    const char *k;
    json_t *v;
    json_object_foreach(hard, k, v)
    {
        vk_qty q;
        if (!c.rc && vk_qty_of(json_object_get(old_used, k), &q))
            c.rc = vk_rlist_set(&used, k, &q);
    }
    vk_quota_resources(hard, count_resource, &c);
    json_t *status = NULL;
    if (!c.rc) {
        json_t *h = json_is_object(hard) ? json_deep_copy(hard) : json_object();
        status = json_pack("{s:o, s:o}", "hard", h, "used", vk_rlist_json(&used));
    }
    vk_rlist_free(&used);
    return status;
}

bool vk_quota_replenishes(const vk_resource *res, const json_t *old, const json_t *obj)
{
    if (!obj)
        return true;
    if (!old || *res->group)
        return false;
    if (!strcmp(res->plural, "pods"))
        return pod_counted(old) && !pod_counted(obj);
    if (!strcmp(res->plural, "services")) {
        const char *a = str(json_object_get(old, "spec"), "type");
        const char *b = str(json_object_get(obj, "spec"), "type");
        bool qa = !strcmp(a, "NodePort") || !strcmp(a, "LoadBalancer");
        bool qb = !strcmp(b, "NodePort") || !strcmp(b, "LoadBalancer");
        return (qa || qb) && strcmp(a, b);
    }
    return false;
}
