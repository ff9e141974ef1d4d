/* The scheduler: for each pod without a node (schedulerName default-scheduler, not being
 * deleted, not finished, no scheduling gates) the nodes that fit are found as kube's
 * default plugins find them (NodeUnschedulable, NodeName, NodeAffinity with nodeSelector
 * and required node affinity, TaintToleration for NoSchedule and NoExecute, NodeResourcesFit
 * for cpu, memory and pod count), the one with the fewest pods is taken (ties by name),
 * and the pod is bound to it as pods/binding does (spec.nodeName and the PodScheduled
 * condition) with a Scheduled event. A pod that fits nowhere gets PodScheduled False,
 * reason Unschedulable, kube's summary message and a FailedScheduling event, and waits for
 * a node or a pod to change. Not yet: pod (anti-)affinity, topology spread, host ports,
 * preferred terms, extended resources, priority preemption. */
#include "controllers/scheduler.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apiserver/registry/registry.h"
#include "apiserver/resources/quantity.h"
#include "apiserver/server.h"
#include "common/err.h"
#include "common/log.h"
#include "common/timefmt.h"
#include "controllers/controller.h"
#include "controllers/objects.h"

struct vk_scheduler {
    vk_server *s;
    vk_informer *pods, *nodes;
    vk_controller *ctl;
    json_t *assumed; /* "<ns>/<name>" -> node: bound by us, not yet seen bound (kube's
                      * scheduler cache assumes them the same way) */
    bool stopping;
};

static bool pending(const json_t *pod)
{
    json_t *spec = json_object_get(pod, "spec"), *meta = json_object_get(pod, "metadata");
    const char *phase = vk_str(json_object_get(pod, "status"), "phase");
    const char *sched = vk_str(spec, "schedulerName");
    return !*vk_str(spec, "nodeName") && (!*sched || !strcmp(sched, "default-scheduler")) &&
           !json_object_get(meta, "deletionTimestamp") && strcmp(phase, "Succeeded") &&
           strcmp(phase, "Failed") && !json_array_size(json_object_get(spec, "schedulingGates"));
}

static bool terminal(const json_t *pod)
{
    const char *phase = vk_str(json_object_get(pod, "status"), "phase");
    return !strcmp(phase, "Succeeded") || !strcmp(phase, "Failed");
}

/* ---- filters: each returns NULL when the node fits, else kube's reason ---- */

static bool label_op(const json_t *labels, const json_t *expr)
{
    const char *key = vk_str(expr, "key"), *op = vk_str(expr, "operator");
    json_t *values = json_object_get(expr, "values");
    json_t *v = json_object_get(labels, key);
    bool in = false;
    size_t i;
    json_t *x;
    json_array_foreach(values, i, x) in |= v && json_equal(v, x);
    if (!strcmp(op, "In"))
        return in;
    if (!strcmp(op, "NotIn"))
        return !in;
    if (!strcmp(op, "Exists"))
        return v != NULL;
    if (!strcmp(op, "DoesNotExist"))
        return v == NULL;
    if ((!strcmp(op, "Gt") || !strcmp(op, "Lt")) && json_is_string(v) &&
        json_array_size(values) == 1) {
        const char *bs = json_string_value(json_array_get(values, 0));
        long long a = atoll(json_string_value(v)), b = atoll(bs ? bs : "0");
        return !strcmp(op, "Gt") ? a > b : a < b;
    }
    return false;
}

static const char *node_affinity(const json_t *pod, const json_t *node)
{
    static const char *const why = "node(s) didn't match Pod's node affinity/selector";
    json_t *labels = json_object_get(json_object_get(node, "metadata"), "labels");
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(json_object_get(pod, "spec"), "nodeSelector"), k, v)
    {
        if (!json_equal(json_object_get(labels, k), v))
            return why;
    }
    json_t *terms = json_object_get(
        json_object_get(json_object_get(json_object_get(json_object_get(pod, "spec"), "affinity"),
                                        "nodeAffinity"),
                        "requiredDuringSchedulingIgnoredDuringExecution"),
        "nodeSelectorTerms");
    if (!json_array_size(terms))
        return NULL;
    json_t *fields = json_pack("{s:O}", "metadata.name",
                               json_object_get(json_object_get(node, "metadata"), "name"));
    size_t i, j;
    json_t *t, *e;
    bool any = false;
    json_array_foreach(terms, i, t)
    {
        json_t *me = json_object_get(t, "matchExpressions"),
               *mf = json_object_get(t, "matchFields");
        if (!json_array_size(me) && !json_array_size(mf))
            continue; /* an empty term matches nothing */
        bool all = true;
        json_array_foreach(me, j, e) all &= label_op(labels, e);
        json_array_foreach(mf, j, e) all &= label_op(fields, e);
        any |= all;
    }
    json_decref(fields);
    return any ? NULL : why;
}

static bool tolerates(const json_t *tolerations, const json_t *taint)
{
    size_t i;
    json_t *t;
    json_array_foreach(tolerations, i, t)
    {
        const char *effect = vk_str(t, "effect"), *op = vk_str(t, "operator"),
                   *key = vk_str(t, "key");
        if (*effect && strcmp(effect, vk_str(taint, "effect")))
            continue;
        if (!strcmp(op, "Exists")) {
            if (!*key || !strcmp(key, vk_str(taint, "key")))
                return true;
        } else if (!strcmp(key, vk_str(taint, "key")) &&
                   !strcmp(vk_str(t, "value"), vk_str(taint, "value"))) {
            return true;
        }
    }
    return false;
}

static const char *taints(const json_t *pod, const json_t *node, char *buf, size_t n)
{
    json_t *tols = json_object_get(json_object_get(pod, "spec"), "tolerations");
    json_t *spec = json_object_get(node, "spec");
    if (json_is_true(json_object_get(spec, "unschedulable"))) {
        json_t *t = json_pack("{s:s, s:s}", "key", "node.kubernetes.io/unschedulable", "effect",
                              "NoSchedule");
        bool ok = tolerates(tols, t);
        json_decref(t);
        if (!ok)
            return "node(s) were unschedulable";
    }
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(spec, "taints"), i, t)
    {
        const char *effect = vk_str(t, "effect");
        if (strcmp(effect, "NoSchedule") && strcmp(effect, "NoExecute"))
            continue;
        if (!tolerates(tols, t)) {
            snprintf(buf, n, "node(s) had untolerated taint {%s: %s}", vk_str(t, "key"),
                     vk_str(t, "value"));
            return buf;
        }
    }
    return NULL;
}

/* The pod's requests: its containers' sum, or its largest init container's when more
 * (kube's PodRequests, without overhead). */
static void requests(const json_t *pod, long long *cpu, long long *mem)
{
    json_t *spec = json_object_get(pod, "spec");
    *cpu = *mem = 0;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(spec, "containers"), i, c)
    {
        json_t *r = json_object_get(json_object_get(c, "resources"), "requests");
        long long v;
        if (vk_quantity_milli(vk_str(r, "cpu"), &v))
            *cpu += v;
        if (vk_quantity_milli(vk_str(r, "memory"), &v))
            *mem += v;
    }
    json_array_foreach(json_object_get(spec, "initContainers"), i, c)
    {
        json_t *r = json_object_get(json_object_get(c, "resources"), "requests");
        long long v;
        if (vk_quantity_milli(vk_str(r, "cpu"), &v) && v > *cpu)
            *cpu = v;
        if (vk_quantity_milli(vk_str(r, "memory"), &v) && v > *mem)
            *mem = v;
    }
}

typedef struct usage {
    long long cpu, mem, pods;
} usage;

static usage used_on(vk_scheduler *sc, const char *node)
{
    usage u = {0};
    const char *k;
    json_t *p;
    json_object_foreach((json_t *)vk_informer_items(sc->pods), k, p)
    {
        const char *on = vk_str(json_object_get(p, "spec"), "nodeName");
        if (!*on)
            on = json_string_value(json_object_get(sc->assumed, k));
        if (!on || strcmp(on, node) || terminal(p))
            continue;
        long long c, m;
        requests(p, &c, &m);
        u.cpu += c;
        u.mem += m;
        u.pods++;
    }
    return u;
}

static const char *fit(const json_t *pod, const json_t *node, const usage *u)
{
    json_t *alloc = json_object_get(json_object_get(node, "status"), "allocatable");
    long long cap, cpu, mem;
    requests(pod, &cpu, &mem);
    if (vk_quantity_milli(vk_str(alloc, "pods"), &cap) && (u->pods + 1) * 1000 > cap)
        return "Too many pods";
    if (cpu && vk_quantity_milli(vk_str(alloc, "cpu"), &cap) && u->cpu + cpu > cap)
        return "Insufficient cpu";
    if (mem && vk_quantity_milli(vk_str(alloc, "memory"), &cap) && u->mem + mem > cap)
        return "Insufficient memory";
    return NULL;
}

static bool ready(const json_t *node)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(json_object_get(node, "status"), "conditions"), i, c)
    {
        if (!strcmp(vk_str(c, "type"), "Ready"))
            return !strcmp(vk_str(c, "status"), "True");
    }
    return false;
}

/* ---- writes ---- */

static void event(vk_scheduler *sc, const json_t *pod, const char *type, const char *reason,
                  const char *message)
{
    vk_record_event(sc->s, pod, "Pod", "v1", type, reason, message, "default-scheduler");
}

typedef struct bind_data {
    char node[256];
    char uid[64];
    json_t *condition;
} bind_data;

/* Sets the PodScheduled condition (replacing an earlier one) and, when binding, the node;
 * nothing when the pod is no longer the one decided on. */
static void apply_decision(void *ud, json_t *obj)
{
    bind_data *b = ud;
    json_t *meta = json_object_get(obj, "metadata"), *spec = json_object_get(obj, "spec");
    if (strcmp(vk_str(meta, "uid"), b->uid) || *vk_str(spec, "nodeName") ||
        json_object_get(meta, "deletionTimestamp"))
        return;
    if (*b->node)
        json_object_set_new(spec, "nodeName", json_string(b->node));
    json_t *st = json_object_get(obj, "status");
    if (!json_is_object(st)) {
        st = json_object();
        json_object_set_new(obj, "status", st);
    }
    json_t *conds = json_object_get(st, "conditions");
    if (!json_is_array(conds)) {
        conds = json_array();
        json_object_set_new(st, "conditions", conds);
    }
    size_t i;
    json_t *c;
    json_array_foreach(conds, i, c)
    {
        if (!strcmp(vk_str(c, "type"), "PodScheduled")) {
            /* The transition time stays when the status does not change. */
            if (!strcmp(vk_str(c, "status"), vk_str(b->condition, "status")))
                json_object_set(b->condition, "lastTransitionTime",
                                json_object_get(c, "lastTransitionTime"));
            json_array_set(conds, i, b->condition);
            return;
        }
    }
    json_array_append(conds, b->condition);
}

static void decided(void *ud, int err, const char *json, size_t len, json_t *status)
{
    bind_data *b = ud;
    json_decref(b->condition);
    free(b);
}

static void decide(vk_scheduler *sc, const json_t *pod, const char *node, const char *reason,
                   const char *message)
{
    json_t *meta = json_object_get(pod, "metadata");
    bind_data *b = calloc(1, sizeof *b);
    if (!b)
        return;
    char ts[21];
    vk_time_format(time(NULL), ts);
    snprintf(b->node, sizeof b->node, "%s", node ? node : "");
    snprintf(b->uid, sizeof b->uid, "%s", vk_str(meta, "uid"));
    b->condition = json_pack("{s:s, s:s, s:n, s:s}", "type", "PodScheduled", "status",
                             node ? "True" : "False", "lastProbeTime", "lastTransitionTime", ts);
    if (!node) {
        json_object_set_new(b->condition, "reason", json_string(reason));
        json_object_set_new(b->condition, "message", json_string(message));
    }
    vk_registry_edit(sc->s, vk_resource_find("", "v1", "pods"), vk_str(meta, "namespace"),
                     vk_str(meta, "name"), apply_decision, b, decided, b);
}

/* ---- reconcile ---- */

typedef struct reason_count {
    char reason[320];
    int n;
} reason_count;

static int cmp_reason(const void *a, const void *b)
{
    return strcmp(((const reason_count *)a)->reason, ((const reason_count *)b)->reason);
}

static int reconcile(void *ud, const char *key)
{
    vk_scheduler *sc = ud;
    const char *slash = strchr(key, '/');
    if (!slash || sc->stopping)
        return 0;
    char ns[256];
    snprintf(ns, sizeof ns, "%.*s", (int)(slash - key), key);
    const json_t *pod = vk_informer_get(sc->pods, ns, slash + 1);
    if (!pod || !pending(pod))
        return 0;
    const char *best = NULL;
    long long best_pods = 0;
    reason_count reasons[16];
    size_t nreasons = 0;
    int total = 0;
    const char *k;
    json_t *node;
    json_object_foreach((json_t *)vk_informer_items(sc->nodes), k, node)
    {
        json_t *nm = json_object_get(node, "metadata");
        const char *name = vk_str(nm, "name");
        if (json_object_get(nm, "deletionTimestamp"))
            continue;
        total++;
        char buf[300];
        usage u = used_on(sc, name);
        const char *why = !ready(node)
                              ? "node(s) had untolerated taint {node.kubernetes.io/not-ready: }"
                              : taints(pod, node, buf, sizeof buf);
        if (!why)
            why = node_affinity(pod, node);
        if (!why)
            why = fit(pod, node, &u);
        if (why) {
            size_t i = 0;
            while (i < nreasons && strcmp(reasons[i].reason, why))
                i++;
            if (i == nreasons && nreasons < 16) {
                snprintf(reasons[i].reason, sizeof reasons[i].reason, "%s", why);
                reasons[nreasons++].n = 0;
            }
            if (i < nreasons)
                reasons[i].n++;
            continue;
        }
        if (!best || u.pods < best_pods || (u.pods == best_pods && strcmp(name, best) < 0)) {
            best = name;
            best_pods = u.pods;
        }
    }
    json_t *meta = json_object_get(pod, "metadata");
    if (best) {
        char msg[700];
        snprintf(msg, sizeof msg, "Successfully assigned %s/%s to %s", ns, vk_str(meta, "name"),
                 best);
        decide(sc, pod, best, NULL, NULL);
        json_object_set_new(sc->assumed, key, json_string(best));
        event(sc, pod, "Normal", "Scheduled", msg);
        return 0;
    }
    /* kube's summary: "0/N nodes are available: <count> <reason>, ... preemption: ...". */
    qsort(reasons, nreasons, sizeof reasons[0], cmp_reason);
    char msg[2048];
    int len = snprintf(msg, sizeof msg, "0/%d nodes are available", total);
    for (size_t i = 0; i < nreasons && len < (int)sizeof msg; i++)
        len += snprintf(msg + len, sizeof msg - (size_t)len, "%s %d %s", i ? "," : ":",
                        reasons[i].n, reasons[i].reason);
    if (len < (int)sizeof msg)
        snprintf(msg + len, sizeof msg - (size_t)len,
                 ". preemption: 0/%d nodes are available: %d Preemption is not helpful for "
                 "scheduling.",
                 total, total);
    if (!total)
        snprintf(msg, sizeof msg, "no nodes available to schedule pods");
    /* Said once per unschedulable spell, as kube records it. */
    const json_t *c = NULL;
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(json_object_get(pod, "status"), "conditions"), i, x)
    {
        if (!strcmp(vk_str(x, "type"), "PodScheduled"))
            c = x;
    }
    if (!c || strcmp(vk_str(c, "status"), "False") || strcmp(vk_str(c, "message"), msg)) {
        decide(sc, pod, NULL, "Unschedulable", msg);
        event(sc, pod, "Warning", "FailedScheduling", msg);
    }
    return 0;
}

static void enqueue_pod(vk_scheduler *sc, const json_t *pod)
{
    json_t *meta = json_object_get(pod, "metadata");
    char key[600];
    snprintf(key, sizeof key, "%s/%s", vk_str(meta, "namespace"), vk_str(meta, "name"));
    vk_controller_enqueue(sc->ctl, key);
}

/* Every pending pod: a node came, went or changed, or room was freed. */
static void enqueue_pending(vk_scheduler *sc)
{
    const char *k;
    json_t *p;
    json_object_foreach((json_t *)vk_informer_items(sc->pods), k, p) if (pending(p))
        enqueue_pod(sc, p);
}

static void pod_changed(void *ud, const json_t *old, const json_t *obj)
{
    vk_scheduler *sc = ud;
    const json_t *p = obj ? obj : old;
    char key[600];
    snprintf(key, sizeof key, "%s/%s", vk_str(vk_meta(p), "namespace"), vk_str(vk_meta(p), "name"));
    if (!obj || *vk_str(json_object_get(obj, "spec"), "nodeName"))
        json_object_del(sc->assumed, key); /* seen bound, or gone */
    if (obj && pending(obj))
        enqueue_pod(sc, obj);
    /* A pod that left a node, or finished, frees room. */
    if (old && *vk_str(json_object_get(old, "spec"), "nodeName") && (!obj || terminal(obj)))
        enqueue_pending(sc);
}

static void node_changed(void *ud, const json_t *old, const json_t *obj)
{
    enqueue_pending(ud);
}

int vk_scheduler_start(vk_server *s, vk_informer *pods, vk_informer *nodes, vk_scheduler **out)
{
    vk_scheduler *sc = calloc(1, sizeof *sc);
    if (!sc)
        return -ENOMEM;
    *sc = (vk_scheduler){.s = s, .pods = pods, .nodes = nodes, .assumed = json_object()};
    if (!sc->assumed || !(sc->ctl = vk_controller_new(s, "scheduler", reconcile, sc)) ||
        vk_informer_subscribe(pods, pod_changed, sc) ||
        vk_informer_subscribe(nodes, node_changed, sc)) {
        vk_scheduler_free(sc);
        return -ENOMEM;
    }
    enqueue_pending(sc);
    *out = sc;
    return 0;
}

void vk_scheduler_free(vk_scheduler *sc)
{
    if (!sc)
        return;
    sc->stopping = true;
    vk_controller_free(sc->ctl);
    json_decref(sc->assumed);
    free(sc);
}
