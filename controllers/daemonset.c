/* The DaemonSet controller.
 *
 * A reconcile of one DaemonSet: the nodes it should run on are those whose labels its
 * template's nodeSelector matches and whose NoSchedule/NoExecute taints its template
 * tolerates together with the tolerations kube adds to daemon pods (not-ready,
 * unreachable, disk/memory/pid pressure, unschedulable). On each such node without one
 * of its pods, a pod of the template is created with kube's node affinity pinning it
 * to that node (the scheduler binds it), the controller-revision-hash label of the
 * template and the daemon tolerations; pods on other nodes are deleted. A template
 * change rolls: up to maxUnavailable outdated pods are deleted at a time, each replaced
 * once gone (RollingUpdate), or only when deleted by hand (OnDelete). The status counts
 * are kube's. Each template is recorded as a ControllerRevision (kube's history: the
 * template as a strategic merge patch in kube's byte layout, the hash label, revision
 * numbers, collisions, revisionHistoryLimit); the current revision's hash label is the
 * one pods must carry. Not yet: maxSurge, required node affinity of the template,
 * minReadySeconds. */
#include "controllers/daemonset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/registry/registry.h"
#include "apiserver/registry/selector.h"
#include "apiserver/server.h"
#include "common/err.h"
#include "common/log.h"
#include "controllers/controller.h"
#include "controllers/history.h"
#include "controllers/objects.h"

#define HASH_LABEL "controller-revision-hash"

struct vk_daemonset_ctl {
    vk_server *s;
    const vk_resource *res, *pods_res, *revs_res;
    vk_informer *sets, *pods, *nodes, *revs;
    vk_controller *ctl;
    json_t *creating; /* "<ds uid>/<node>" -> true: a pod being made there */
    vk_history history;
    bool stopping;
};

/* The tolerations kube gives every daemon pod (daemon/util AddOrUpdateDaemonPodTolerations). */
static const struct {
    const char *key, *effect;
} daemon_tolerations[] = {
    {"node.kubernetes.io/not-ready", "NoExecute"},
    {"node.kubernetes.io/unreachable", "NoExecute"},
    {"node.kubernetes.io/disk-pressure", "NoSchedule"},
    {"node.kubernetes.io/memory-pressure", "NoSchedule"},
    {"node.kubernetes.io/pid-pressure", "NoSchedule"},
    {"node.kubernetes.io/unschedulable", "NoSchedule"},
};

static bool tolerated(const json_t *tols, const json_t *taint)
{
    size_t i;
    json_t *t;
    json_array_foreach(tols, i, t)
    {
        const char *effect = vk_str(t, "effect"), *key = vk_str(t, "key");
        if (*effect && strcmp(effect, vk_str(taint, "effect")))
            continue;
        if (!strcmp(vk_str(t, "operator"), "Exists")
                ? !*key || !strcmp(key, vk_str(taint, "key"))
                : !strcmp(key, vk_str(taint, "key")) &&
                      !strcmp(vk_str(t, "value"), vk_str(taint, "value")))
            return true;
    }
    for (size_t k = 0; k < sizeof daemon_tolerations / sizeof daemon_tolerations[0]; k++)
        if (!strcmp(daemon_tolerations[k].key, vk_str(taint, "key")))
            return true;
    return false;
}

static bool fits(const json_t *tspec, const json_t *node)
{
    json_t *labels = json_object_get(vk_meta(node), "labels");
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(tspec, "nodeSelector"), k, v)
    {
        if (!json_equal(json_object_get(labels, k), v))
            return false;
    }
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(json_object_get(node, "spec"), "taints"), i, t)
    {
        const char *effect = vk_str(t, "effect");
        if ((!strcmp(effect, "NoSchedule") || !strcmp(effect, "NoExecute")) &&
            !tolerated(json_object_get(tspec, "tolerations"), t))
            return false;
    }
    return !json_object_get(vk_meta(node), "deletionTimestamp");
}

/* The node a daemon pod is for: its nodeName, or the node its affinity pins. */
static const char *pod_node(const json_t *pod)
{
    const char *n = vk_str(json_object_get(pod, "spec"), "nodeName");
    if (*n)
        return n;
    json_t *terms = json_object_get(
        json_object_get(json_object_get(json_object_get(json_object_get(pod, "spec"), "affinity"),
                                        "nodeAffinity"),
                        "requiredDuringSchedulingIgnoredDuringExecution"),
        "nodeSelectorTerms");
    json_t *mf = json_object_get(json_array_get(terms, 0), "matchFields");
    return json_string_value(json_array_get(json_object_get(json_array_get(mf, 0), "values"), 0));
}

typedef struct create_ctx {
    vk_daemonset_ctl *c;
    char mark[400], key[600];
} create_ctx;

static void created(void *ud, int err, const char *json, size_t len, json_t *status)
{
    create_ctx *cc = ud;
    if (err && !cc->c->stopping)
        vk_log(VK_LOG_DEBUG, "daemonset", "Pod not created", "err=\"%s\"",
               json_string_value(json_object_get(status, "message")));
    json_object_del(cc->c->creating, cc->mark);
    if (!cc->c->stopping)
        vk_controller_enqueue(cc->c->ctl, cc->key);
    free(cc);
}

static void deleted(void *ud, int err, const char *json, size_t len, json_t *status) {}

static void create_pod(vk_daemonset_ctl *c, const json_t *ds, const char *key, const char *node,
                       const char *hash)
{
    json_t *tmpl = json_object_get(json_object_get(ds, "spec"), "template");
    json_t *tm = json_object_get(tmpl, "metadata");
    json_t *spec = json_deep_copy(json_object_get(tmpl, "spec"));
    if (!json_is_object(spec))
        spec = json_object();
    /* Pinned to the node by affinity, as kube's daemon controller does. */
    json_t *aff = json_object_get(spec, "affinity");
    if (!json_is_object(aff)) {
        aff = json_object();
        json_object_set_new(spec, "affinity", aff);
    }
    json_object_set_new(aff, "nodeAffinity",
                        json_pack("{s:{s:[{s:[{s:s, s:s, s:[s]}]}]}}",
                                  "requiredDuringSchedulingIgnoredDuringExecution",
                                  "nodeSelectorTerms", "matchFields", "key", "metadata.name",
                                  "operator", "In", "values", node));
    json_t *tols = json_object_get(spec, "tolerations");
    if (!json_is_array(tols)) {
        tols = json_array();
        json_object_set_new(spec, "tolerations", tols);
    }
    for (size_t k = 0; k < sizeof daemon_tolerations / sizeof daemon_tolerations[0]; k++) {
        bool have = false;
        size_t i;
        json_t *t;
        json_array_foreach(tols, i, t) have |= !strcmp(vk_str(t, "key"), daemon_tolerations[k].key);
        if (!have)
            json_array_append_new(tols, json_pack("{s:s, s:s, s:s}", "key",
                                                  daemon_tolerations[k].key, "operator", "Exists",
                                                  "effect", daemon_tolerations[k].effect));
    }
    char prefix[300];
    snprintf(prefix, sizeof prefix, "%s-", vk_str(vk_meta(ds), "name"));
    json_t *labels = json_deep_copy(json_object_get(tm, "labels"));
    if (!json_is_object(labels))
        labels = json_object();
    json_object_set_new(labels, HASH_LABEL, json_string(hash));
    json_t *pod = json_pack("{s:{s:s, s:o, s:[{s:s, s:s, s:s, s:s, s:b, s:b}]}, s:o}", "metadata",
                            "generateName", prefix, "labels", labels, "ownerReferences",
                            "apiVersion", "apps/v1", "kind", "DaemonSet", "name",
                            vk_str(vk_meta(ds), "name"), "uid", vk_str(vk_meta(ds), "uid"),
                            "controller", 1, "blockOwnerDeletion", 1, "spec", spec);
    if (json_object_get(tm, "annotations"))
        json_object_set(vk_meta(pod), "annotations", json_object_get(tm, "annotations"));
    create_ctx *cc = calloc(1, sizeof *cc);
    if (cc) {
        cc->c = c;
        snprintf(cc->mark, sizeof cc->mark, "%s/%s", vk_str(vk_meta(ds), "uid"), node);
        snprintf(cc->key, sizeof cc->key, "%s", key);
        json_object_set_new(c->creating, cc->mark, json_true());
        vk_registry_create(c->s, c->pods_res, vk_str(vk_meta(ds), "namespace"), pod, false, created,
                           cc);
    }
    json_decref(pod);
}

static void delete_pod(vk_daemonset_ctl *c, const json_t *pod)
{
    json_t *opts = json_pack("{s:{s:s}}", "preconditions", "uid", vk_str(vk_meta(pod), "uid"));
    vk_registry_delete_opts(c->s, c->pods_res, vk_str(vk_meta(pod), "namespace"),
                            vk_str(vk_meta(pod), "name"), opts, deleted, c);
    json_decref(opts);
}

static void set_status(void *ud, json_t *obj)
{
    json_object_set(obj, "status", ud);
}

static void status_done(void *ud, int err, const char *json, size_t len, json_t *status)
{
    json_decref(ud);
}

/* kube's DaemonSet constructHistory: the revision matching the template is current
 * (created when there is none, numbered after the others when it is not the newest);
 * writes hash (its label) for the pods. Old revisions no pod uses beyond
 * revisionHistoryLimit are deleted, oldest first. */
static void sync_history(vk_daemonset_ctl *c, const json_t *ds, const json_t *pods_by_node,
                         char hash[64])
{
    const char *name = vk_str(vk_meta(ds), "name");
    json_t *revs = vk_history_owned(&c->history, ds);
    json_t *patch = vk_history_patch(ds);
    const json_t *cur = NULL;
    long long max = 0;
    size_t i;
    json_t *r;
    json_array_foreach(revs, i, r)
    {
        if (vk_history_number(r) > max)
            max = vk_history_number(r);
        if (json_equal(json_object_get(r, "data"), patch))
            cur = r; /* the newest match, as kube keeps */
    }
    json_t *tmpl = json_object_get(json_object_get(ds, "spec"), "template");
    if (cur) {
        snprintf(hash, 64, "%s", vk_str(json_object_get(vk_meta(cur), "labels"), HASH_LABEL));
        if (vk_history_number(cur) < max)
            vk_history_renumber(&c->history, cur, max + 1);
    } else {
        long long collisions =
            json_integer_value(json_object_get(json_object_get(ds, "status"), "collisionCount"));
        char h[16], rname[300];
        vk_template_hash(tmpl, collisions, h);
        snprintf(hash, 64, "%s", h);
        vk_history_name(name, h, rname);
        json_t *labels =
            json_deep_copy(json_object_get(json_object_get(tmpl, "metadata"), "labels"));
        if (!json_is_object(labels))
            labels = json_object();
        json_object_set_new(labels, HASH_LABEL, json_string(h));
        vk_history_create(&c->history, ds, rname, labels, patch, max + 1);
    }
    /* History beyond the limit, among revisions no pod runs. */
    json_t *limit_v = json_object_get(json_object_get(ds, "spec"), "revisionHistoryLimit");
    long long limit = json_is_integer(limit_v) ? json_integer_value(limit_v) : 10;
    json_t *live = json_object();
    const char *k;
    json_t *list;
    json_object_foreach((json_t *)pods_by_node, k, list)
    {
        size_t j;
        json_t *p;
        json_array_foreach(list, j, p)
        {
            const char *ph = vk_str(json_object_get(vk_meta(p), "labels"), HASH_LABEL);
            if (*ph)
                json_object_set_new(live, ph, json_true());
        }
    }
    long long old = 0;
    json_array_foreach(revs, i, r)
    {
        old += r != cur &&
               !json_object_get(live, vk_str(json_object_get(vk_meta(r), "labels"), HASH_LABEL));
    }
    json_array_foreach(revs, i, r)
    {
        if (old <= limit)
            break;
        if (r == cur ||
            json_object_get(live, vk_str(json_object_get(vk_meta(r), "labels"), HASH_LABEL)))
            continue;
        vk_history_delete(&c->history, r);
        old--;
    }
    json_decref(live);
    json_decref(patch);
    json_decref(revs);
}

static int reconcile(void *ud, const char *key)
{
    vk_daemonset_ctl *c = ud;
    const char *slash = strchr(key, '/');
    if (!slash || c->stopping)
        return 0;
    char ns[256];
    snprintf(ns, sizeof ns, "%.*s", (int)(slash - key), key);
    const json_t *ds = vk_informer_get(c->sets, ns, slash + 1);
    if (!ds || json_object_get(vk_meta(ds), "deletionTimestamp"))
        return 0;
    const char *uid = vk_str(vk_meta(ds), "uid");
    json_t *dspec = json_object_get(ds, "spec");
    json_t *tspec = json_object_get(json_object_get(dspec, "template"), "spec");
    /* Its pods by node. */
    json_t *by_node = json_object(); /* node -> [pods] */
    const char *k;
    json_t *pod;
    json_object_foreach((json_t *)vk_informer_items(c->pods), k, pod)
    {
        const json_t *ref = vk_controller_ref(pod);
        if (!ref || strcmp(vk_str(ref, "uid"), uid))
            continue;
        const char *phase = vk_str(json_object_get(pod, "status"), "phase");
        if (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed")) {
            delete_pod(c, pod); /* kube replaces a finished daemon pod */
            continue;
        }
        const char *node = pod_node(pod);
        if (!node)
            continue;
        json_t *list = json_object_get(by_node, node);
        if (!list) {
            list = json_array();
            json_object_set_new(by_node, node, list);
        }
        json_array_append(list, pod);
    }
    /* kube's constructHistory claims orphan revisions first. */
    if (vk_history_adopt(&c->history, ds)) {
        json_decref(by_node);
        return 0;
    }
    char hash[64];
    sync_history(c, ds, by_node, hash);
    bool on_delete = !strcmp(vk_str(json_object_get(dspec, "updateStrategy"), "type"), "OnDelete");
    json_t *mu =
        json_object_get(json_object_get(json_object_get(dspec, "updateStrategy"), "rollingUpdate"),
                        "maxUnavailable");
    long long desired = 0, current = 0, ready = 0, updated = 0, available = 0, misscheduled = 0;
    json_object_foreach((json_t *)vk_informer_items(c->nodes), k, pod) desired += fits(tspec, pod);
    long long max_unavailable = json_is_integer(mu) ? json_integer_value(mu)
                                : json_is_string(mu)
                                    ? (atoll(json_string_value(mu)) * desired + 99) / 100
                                    : 1;
    if (max_unavailable < 1)
        max_unavailable = 1;
    long long unavailable = 0;
    json_t *node;
    json_object_foreach((json_t *)vk_informer_items(c->nodes), k, node)
    {
        const char *name = vk_str(vk_meta(node), "name");
        json_t *list = json_object_get(by_node, name);
        bool want = fits(tspec, node);
        size_t i;
        json_t *p;
        if (!want) {
            misscheduled += json_array_size(list) > 0;
            json_array_foreach(list, i, p) if (!json_object_get(vk_meta(p), "deletionTimestamp"))
                delete_pod(c, p);
            continue;
        }
        char mark[400];
        snprintf(mark, sizeof mark, "%s/%s", uid, name);
        if (!json_array_size(list)) {
            if (!json_object_get(c->creating, mark))
                create_pod(c, ds, key, name, hash);
            unavailable++;
            continue;
        }
        current++;
        p = json_array_get(list, 0);
        bool fresh = !strcmp(vk_str(json_object_get(vk_meta(p), "labels"), HASH_LABEL), hash);
        updated += fresh;
        if (vk_pod_ready(p) && !json_object_get(vk_meta(p), "deletionTimestamp")) {
            ready++;
            available++;
        } else {
            unavailable++;
        }
        for (i = 1; i < json_array_size(list); i++) /* one per node */
            delete_pod(c, json_array_get(list, i));
    }
    /* Roll: outdated ready pods go while fewer than maxUnavailable are down. */
    if (!on_delete) {
        json_object_foreach((json_t *)vk_informer_items(c->nodes), k, node)
        {
            if (unavailable >= max_unavailable)
                break;
            json_t *p = json_array_get(json_object_get(by_node, vk_str(vk_meta(node), "name")), 0);
            if (p && fits(tspec, node) &&
                strcmp(vk_str(json_object_get(vk_meta(p), "labels"), HASH_LABEL), hash) &&
                !json_object_get(vk_meta(p), "deletionTimestamp")) {
                delete_pod(c, p);
                unavailable++;
            }
        }
    }
    json_decref(by_node);
    json_t *st = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:O?}", "currentNumberScheduled",
                           (json_int_t)current, "numberMisscheduled", (json_int_t)misscheduled,
                           "desiredNumberScheduled", (json_int_t)desired, "numberReady",
                           (json_int_t)ready, "updatedNumberScheduled", (json_int_t)updated,
                           "numberAvailable", (json_int_t)available, "numberUnavailable",
                           (json_int_t)(desired - available > 0 ? desired - available : 0),
                           "observedGeneration", json_object_get(vk_meta(ds), "generation"));
    /* kube's omitempty: the zero counts that may be left out are. */
    static const char *const omit[] = {"numberReady", "updatedNumberScheduled", "numberAvailable",
                                       "numberUnavailable"};
    for (size_t i = 0; i < sizeof omit / sizeof omit[0]; i++)
        if (!json_integer_value(json_object_get(st, omit[i])))
            json_object_del(st, omit[i]);
    if (!json_equal(st, json_object_get(ds, "status")))
        vk_registry_edit(c->s, c->res, ns, slash + 1, set_status, json_incref(st), status_done, st);
    json_decref(st);
    return 0;
}

static void enqueue(vk_daemonset_ctl *c, const char *ns, const char *name)
{
    char key[600];
    snprintf(key, sizeof key, "%s/%s", ns, name);
    vk_controller_enqueue(c->ctl, key);
}

static void ds_changed(void *ud, const json_t *old, const json_t *obj)
{
    if (obj)
        enqueue(ud, vk_str(vk_meta(obj), "namespace"), vk_str(vk_meta(obj), "name"));
}

static void pod_changed(void *ud, const json_t *old, const json_t *obj)
{
    const json_t *pod = obj ? obj : old;
    const json_t *ref = vk_controller_ref(pod);
    if (ref && !strcmp(vk_str(ref, "kind"), "DaemonSet"))
        enqueue(ud, vk_str(vk_meta(pod), "namespace"), vk_str(ref, "name"));
}

/* Every DaemonSet: a node came, went or changed. */
static void node_changed(void *ud, const json_t *old, const json_t *obj)
{
    vk_daemonset_ctl *c = ud;
    const char *k;
    json_t *ds;
    json_object_foreach((json_t *)vk_informer_items(c->sets), k, ds) ds_changed(c, NULL, ds);
}

int vk_daemonset_start(vk_server *s, vk_informer *pods, vk_informer *nodes, vk_daemonset_ctl **out)
{
    vk_daemonset_ctl *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    *c = (vk_daemonset_ctl){.s = s,
                            .res = vk_resource_find("apps", "v1", "daemonsets"),
                            .pods_res = vk_resource_find("", "v1", "pods"),
                            .revs_res = vk_resource_find("apps", "v1", "controllerrevisions"),
                            .pods = pods,
                            .nodes = nodes,
                            .creating = json_object()};
    int rc = vk_informer_start(s, c->res, &c->sets);
    if (!rc)
        rc = vk_informer_start(s, c->revs_res, &c->revs);
    if (!rc && !(c->ctl = vk_controller_new(s, "daemonset", reconcile, c)))
        rc = -ENOMEM;
    c->history = (vk_history){.s = s,
                              .owner_res = c->res,
                              .revs_res = c->revs_res,
                              .owners = c->sets,
                              .revs = c->revs,
                              .ctl = c->ctl,
                              .kind = "DaemonSet",
                              .component = "daemonset",
                              .stopping = &c->stopping};
    if (!rc)
        rc = vk_informer_subscribe(c->sets, ds_changed, c);
    if (!rc)
        rc = vk_informer_subscribe(pods, pod_changed, c);
    if (!rc)
        rc = vk_informer_subscribe(nodes, node_changed, c);
    if (!rc)
        rc = vk_informer_subscribe(c->revs, pod_changed, c); /* a revision: its owner */
    if (rc) {
        vk_daemonset_free(c);
        return rc;
    }
    node_changed(c, NULL, NULL);
    *out = c;
    return 0;
}

void vk_daemonset_free(vk_daemonset_ctl *c)
{
    if (!c)
        return;
    c->stopping = true;
    vk_controller_free(c->ctl);
    vk_informer_free(c->sets);
    vk_informer_free(c->revs);
    json_decref(c->creating);
    vk_history_free(&c->history);
    free(c);
}
