/* The ReplicaSet (and ReplicationController) controller.
 *
 * A reconcile of one set, as kube's syncReplicaSet: the pods it owns (controller
 * reference with its uid) are counted, orphans its selector matches are adopted and
 * owned pods it no longer matches released (both by an edit of the pod's
 * ownerReferences), then the difference to spec.replicas is created from the template
 * or deleted (the least useful first: unscheduled, pending, not ready, newest), and the
 * status (replicas, fullyLabeledReplicas, readyReplicas, availableReplicas,
 * terminatingReplicas, observedGeneration) is written when it changed. Creates and
 * deletes in flight are remembered (kube's expectations) until the pods informer sees
 * them, so a set never acts twice on a stale view. */
#include "controllers/replicaset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apiserver/registry/registry.h"
#include "apiserver/registry/selector.h"
#include "apiserver/server.h"
#include "common/err.h"
#include "common/log.h"
#include "common/timefmt.h"
#include "controllers/controller.h"
#include "controllers/objects.h"

enum { BURST = 500, EXPECTATION_TIMEOUT_S = 300 };

typedef struct expectation {
    char uid[64];
    int adds, dels;
    time_t since;
    /* The first create or delete refused since the set last acted (kube's
     * manageReplicasErr): its ReplicaFailure condition. */
    char failure[1024];
    bool failed_create;
} expectation;

struct vk_replicaset_ctl {
    vk_server *s;
    const vk_resource *res, *pods_res;
    const char *kind, *api_version;
    vk_informer *sets, *pods;
    vk_controller *ctl;
    expectation *exp;
    size_t nexp;
    bool stopping;
};

/* ---- expectations ---- */

static expectation *expect(vk_replicaset_ctl *c, const char *uid, bool create)
{
    for (size_t i = 0; i < c->nexp; i++)
        if (!strcmp(c->exp[i].uid, uid))
            return &c->exp[i];
    if (!create)
        return NULL;
    expectation *e = realloc(c->exp, (c->nexp + 1) * sizeof *e);
    if (!e)
        return NULL;
    c->exp = e;
    e = &c->exp[c->nexp++];
    *e = (expectation){.since = time(NULL)};
    snprintf(e->uid, sizeof e->uid, "%s", uid);
    return e;
}

static bool satisfied(vk_replicaset_ctl *c, const char *uid)
{
    expectation *e = expect(c, uid, false);
    return !e || (e->adds <= 0 && e->dels <= 0) || time(NULL) - e->since > EXPECTATION_TIMEOUT_S;
}

/* ---- ownership ---- */

static vk_selector *selector_of(const json_t *set)
{
    json_t *text =
        vk_label_selector_format(json_object_get(json_object_get(set, "spec"), "selector"));
    vk_selector *s = NULL;
    char err[256];
    if (json_string_length(text))
        vk_label_selector_parse(json_string_value(text), &s, err, sizeof err);
    json_decref(text);
    return s;
}

static bool active(const json_t *pod)
{
    const char *phase = vk_str(json_object_get(pod, "status"), "phase");
    return strcmp(phase, "Succeeded") && strcmp(phase, "Failed") &&
           !json_object_get(vk_meta(pod), "deletionTimestamp");
}

/* Ready for at least minReadySeconds; *wait gets the seconds left when not yet. */
static bool pod_available(const json_t *pod, long long min_ready, long long *wait)
{
    if (!vk_pod_ready(pod))
        return false;
    if (min_ready <= 0)
        return true;
    size_t i;
    json_t *cnd;
    json_array_foreach(json_object_get(json_object_get(pod, "status"), "conditions"), i, cnd)
    {
        time_t t;
        if (!strcmp(vk_str(cnd, "type"), "Ready") &&
            !vk_time_parse(vk_str(cnd, "lastTransitionTime"), &t)) {
            long long left = (long long)t + min_ready - (long long)time(NULL);
            if (left > 0 && (!*wait || left < *wait))
                *wait = left;
            return left <= 0;
        }
    }
    return false;
}

/* ---- writes ---- */

typedef struct write_ctx {
    vk_replicaset_ctl *c;
    char uid[64];
    int kind;    /* 0: other, 1: a create, 2: a delete */
    json_t *set; /* creates and deletes: the set, for its event and its retry */
} write_ctx;

static void enqueue_set(vk_replicaset_ctl *c, const char *ns, const char *name, uint64_t ms);

static void written(void *ud, int err, const char *json, size_t len, json_t *status)
{
    write_ctx *w = ud;
    vk_replicaset_ctl *c = w->c;
    const char *msg = json_string_value(json_object_get(status, "message"));
    if (err && !c->stopping) {
        vk_log(VK_LOG_DEBUG, "replicaset", "Write refused", "kind=\"%s\" err=\"%s\"", c->kind, msg);
        /* A write that failed will never be observed. */
        expectation *e = expect(c, w->uid, false);
        if (e && w->kind == 1)
            e->adds--;
        if (e && w->kind == 2 && err != VK_ENOTFOUND)
            e->dels--;
        if (e && w->set && (w->kind == 1 || err != VK_ENOTFOUND)) {
            if (!e->failure[0]) {
                snprintf(e->failure, sizeof e->failure, "%s", msg ? msg : "");
                e->failed_create = w->kind == 1;
            }
            char event[1100];
            snprintf(event, sizeof event, "Error %s: %s", w->kind == 1 ? "creating" : "deleting",
                     msg ? msg : "");
            vk_record_event(c->s, w->set, c->kind, c->api_version, "Warning",
                            w->kind == 1 ? "FailedCreate" : "FailedDelete", event,
                            !strcmp(c->kind, "ReplicaSet") ? "replicaset-controller"
                                                           : "replication-controller");
            /* Tried again after a while (kube's rate-limited requeue). */
            enqueue_set(c, vk_str(vk_meta(w->set), "namespace"), vk_str(vk_meta(w->set), "name"),
                        1000);
        }
    }
    json_decref(w->set);
    free(w);
}

static write_ctx *wctx(vk_replicaset_ctl *c, const json_t *set, int kind)
{
    write_ctx *w = calloc(1, sizeof *w);
    if (w) {
        w->c = c;
        w->kind = kind;
        snprintf(w->uid, sizeof w->uid, "%s", vk_str(vk_meta(set), "uid"));
        if (kind)
            w->set = json_deep_copy(set);
    }
    return w;
}

static json_t *owner_ref(vk_replicaset_ctl *c, const json_t *set)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:b, s:b}", "apiVersion", c->api_version, "kind",
                     c->kind, "name", vk_str(vk_meta(set), "name"), "uid",
                     vk_str(vk_meta(set), "uid"), "controller", 1, "blockOwnerDeletion", 1);
}

static void create_pod(vk_replicaset_ctl *c, const json_t *set)
{
    json_t *tmpl = json_object_get(json_object_get(set, "spec"), "template");
    json_t *tm = json_object_get(tmpl, "metadata");
    char prefix[300];
    snprintf(prefix, sizeof prefix, "%s-", vk_str(vk_meta(set), "name"));
    json_t *pod =
        json_pack("{s:{s:s, s:[o]}, s:O?}", "metadata", "generateName", prefix, "ownerReferences",
                  owner_ref(c, set), "spec", json_object_get(tmpl, "spec"));
    static const char *const copied[] = {"labels", "annotations", "finalizers"};
    for (size_t i = 0; i < sizeof copied / sizeof copied[0]; i++)
        if (json_object_get(tm, copied[i]))
            json_object_set(vk_meta(pod), copied[i], json_object_get(tm, copied[i]));
    write_ctx *w = wctx(c, set, 1);
    if (w)
        vk_registry_create(c->s, c->pods_res, vk_str(vk_meta(set), "namespace"), pod, false,
                           written, w);
    json_decref(pod);
}

static void delete_pod(vk_replicaset_ctl *c, const json_t *set, const json_t *pod)
{
    json_t *opts = json_pack("{s:{s:s}}", "preconditions", "uid", vk_str(vk_meta(pod), "uid"));
    write_ctx *w = wctx(c, set, 2);
    if (w)
        vk_registry_delete_opts(c->s, c->pods_res, vk_str(vk_meta(pod), "namespace"),
                                vk_str(vk_meta(pod), "name"), opts, written, w);
    json_decref(opts);
}

typedef struct claim {
    char pod_uid[64];
    json_t *ref; /* the controller reference to add; NULL: remove set_uid's */
    char set_uid[64];
} claim;

static void apply_claim(void *ud, json_t *obj)
{
    claim *cl = ud;
    json_t *m = vk_meta(obj);
    if (strcmp(vk_str(m, "uid"), cl->pod_uid))
        return;
    json_t *refs = json_object_get(m, "ownerReferences");
    if (cl->ref) {
        if (vk_controller_ref(obj))
            return; /* someone else adopted it first */
        if (!json_is_array(refs)) {
            refs = json_array();
            json_object_set_new(m, "ownerReferences", refs);
        }
        json_array_append(refs, cl->ref);
        return;
    }
    json_t *keep = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(refs, i, r) if (strcmp(vk_str(r, "uid"), cl->set_uid))
        json_array_append(keep, r);
    if (json_array_size(keep))
        json_object_set(m, "ownerReferences", keep);
    else
        json_object_del(m, "ownerReferences");
    json_decref(keep);
}

typedef struct claim_ctx {
    write_ctx w;
    claim cl;
} claim_ctx;

static void claimed(void *ud, int err, const char *json, size_t len, json_t *status)
{
    claim_ctx *cc = ud;
    json_decref(cc->cl.ref);
    write_ctx *w = malloc(sizeof *w);
    if (w) {
        *w = cc->w;
        written(w, err, json, len, status);
    }
    free(cc);
}

/* Adopts (ref) or releases (NULL) pod. */
static void claim_pod(vk_replicaset_ctl *c, const json_t *set, const json_t *pod, json_t *ref)
{
    claim_ctx *cc = calloc(1, sizeof *cc);
    if (!cc) {
        json_decref(ref);
        return;
    }
    cc->w = (write_ctx){.c = c};
    snprintf(cc->cl.pod_uid, sizeof cc->cl.pod_uid, "%s", vk_str(vk_meta(pod), "uid"));
    snprintf(cc->cl.set_uid, sizeof cc->cl.set_uid, "%s", vk_str(vk_meta(set), "uid"));
    cc->cl.ref = ref;
    vk_registry_edit(c->s, c->pods_res, vk_str(vk_meta(pod), "namespace"),
                     vk_str(vk_meta(pod), "name"), apply_claim, &cc->cl, claimed, cc);
}

static void set_status(void *ud, json_t *obj)
{
    json_t *st = json_deep_copy(json_object_get(obj, "status"));
    if (!json_is_object(st))
        st = json_object();
    json_object_update(st, ud);
    json_object_del(st, "conditions");
    if (json_is_array(json_object_get(ud, "conditions")))
        json_object_set(st, "conditions", json_object_get(ud, "conditions"));
    /* Zero counts are left out, as kube's omitempty does. */
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(st, tmp, k, v) if (json_is_integer(v) && !json_integer_value(v) &&
                                                strcmp(k, "replicas")) json_object_del(st, k);
    json_object_set_new(obj, "status", st);
}

static void status_written(void *ud, int err, const char *json, size_t len, json_t *status)
{
    json_decref(((json_t **)ud)[0]);
    free(ud);
}

/* ---- reconcile ---- */

/* kube's ReplicaFailure condition in st: set (once) while creates or deletes are
 * refused, gone when they are not. */
static void replica_failure(json_t *st, const json_t *cur, const char *failure, const char *reason)
{
    json_t *conds = json_object_get(cur, "conditions");
    json_t *out = json_array();
    bool had = false;
    size_t i;
    json_t *cnd;
    json_array_foreach(conds, i, cnd)
    {
        if (strcmp(vk_str(cnd, "type"), "ReplicaFailure"))
            json_array_append(out, cnd);
        else if (failure)
            had = json_array_append(out, cnd) == 0;
    }
    if (failure && !had) {
        char now[21];
        vk_time_format(time(NULL), now);
        json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "ReplicaFailure",
                                             "status", "True", "lastTransitionTime", now, "reason",
                                             reason, "message", failure));
    }
    json_object_set_new(st, "conditions", json_array_size(out) ? out : json_null());
    if (!json_array_size(out))
        json_decref(out);
}

/* The order pods are deleted in (kube's ActivePods ranking, simplified): unscheduled,
 * then pending, then not ready, then the newest. */
static int rank(const json_t *a)
{
    if (!*vk_str(json_object_get(a, "spec"), "nodeName"))
        return 0;
    if (strcmp(vk_str(json_object_get(a, "status"), "phase"), "Running"))
        return 1;
    return vk_pod_ready(a) ? 3 : 2;
}

static int cmp_victims(const void *x, const void *y)
{
    const json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
    int ra = rank(a), rb = rank(b);
    if (ra != rb)
        return ra - rb;
    return -strcmp(vk_str(vk_meta(a), "creationTimestamp"),
                   vk_str(vk_meta(b), "creationTimestamp"));
}

static int reconcile(void *ud, const char *key)
{
    vk_replicaset_ctl *c = ud;
    const char *slash = strchr(key, '/');
    if (!slash || c->stopping)
        return 0;
    char ns[256];
    snprintf(ns, sizeof ns, "%.*s", (int)(slash - key), key);
    const json_t *set = vk_informer_get(c->sets, ns, slash + 1);
    if (!set)
        return 0;
    const char *uid = vk_str(vk_meta(set), "uid");
    json_t *spec = json_object_get(set, "spec");
    vk_selector *sel = selector_of(set);
    bool deleting = json_object_get(vk_meta(set), "deletionTimestamp") != NULL;
    json_t *mine = json_array();
    long long terminating = 0;
    const char *k;
    json_t *pod;
    json_object_foreach((json_t *)vk_informer_items(c->pods), k, pod)
    {
        if (strcmp(vk_str(vk_meta(pod), "namespace"), ns))
            continue;
        const json_t *ref = vk_controller_ref(pod);
        bool matches =
            sel && vk_selector_match_labels(sel, json_object_get(vk_meta(pod), "labels"));
        if (ref && !strcmp(vk_str(ref, "uid"), uid)) {
            if (!matches && !deleting && active(pod)) {
                claim_pod(c, set, pod, NULL); /* no longer selected: released */
                continue;
            }
            if (json_object_get(vk_meta(pod), "deletionTimestamp"))
                terminating++;
            if (active(pod))
                json_array_append(mine, pod);
        } else if (!ref && matches && !deleting && active(pod)) {
            claim_pod(c, set, pod, owner_ref(c, set));
            json_array_append(mine, pod);
        }
    }
    vk_selector_free(sel);
    long long want = json_integer_value(json_object_get(spec, "replicas"));
    if (!json_object_get(spec, "replicas"))
        want = 1;
    long long have = (long long)json_array_size(mine);
    char failure[1024] = "";
    bool failed_create = false;
    if (!deleting && satisfied(c, uid)) {
        expectation *e = expect(c, uid, true);
        if (e) {
            e->since = time(NULL);
            e->adds = e->dels = 0;
            memcpy(failure, e->failure, sizeof failure);
            failed_create = e->failed_create;
            e->failure[0] = 0;
        }
        if (have < want) {
            long long n = want - have > BURST ? BURST : want - have;
            if (e)
                e->adds = (int)n;
            for (long long i = 0; i < n; i++)
                create_pod(c, set);
        } else if (have > want) {
            size_t n = (size_t)(have - want);
            json_t **v = malloc(json_array_size(mine) * sizeof *v);
            for (size_t i = 0; v && i < json_array_size(mine); i++)
                v[i] = json_array_get(mine, i);
            if (v)
                qsort(v, json_array_size(mine), sizeof *v, cmp_victims);
            if (e)
                e->dels = (int)n;
            for (size_t i = 0; v && i < n; i++)
                delete_pod(c, set, v[i]);
            free(v);
        }
    }
    /* Status. */
    long long min_ready = json_integer_value(json_object_get(spec, "minReadySeconds"));
    long long ready = 0, available = 0, labeled = 0, wait = 0;
    json_t *tlabels =
        json_object_get(json_object_get(json_object_get(spec, "template"), "metadata"), "labels");
    size_t i;
    json_array_foreach(mine, i, pod)
    {
        ready += vk_pod_ready(pod);
        available += pod_available(pod, min_ready, &wait);
        bool all = true;
        json_t *lv;
        json_object_foreach(tlabels, k, lv)
        {
            all &= json_equal(json_object_get(json_object_get(vk_meta(pod), "labels"), k), lv);
        }
        labeled += all;
    }
    json_t *st = json_pack("{s:I, s:I, s:I, s:I, s:O?}", "replicas", (json_int_t)have,
                           "fullyLabeledReplicas", (json_int_t)labeled, "readyReplicas",
                           (json_int_t)ready, "availableReplicas", (json_int_t)available,
                           "observedGeneration", json_object_get(vk_meta(set), "generation"));
    if (!strcmp(c->kind, "ReplicaSet"))
        json_object_set_new(st, "terminatingReplicas", json_integer(terminating));
    json_t *cur = json_object_get(set, "status");
    replica_failure(st, cur, failure[0] && have != want ? failure : NULL,
                    failed_create ? "FailedCreate" : "FailedDelete");
    bool same = true;
    json_t *want_v;
    json_object_foreach(st, k, want_v)
    {
        json_t *o = json_object_get(cur, k);
        same &=
            (o && json_equal(o, want_v)) || (!o && json_is_null(want_v)) ||
            (!o && json_is_integer(want_v) && !json_integer_value(want_v) && strcmp(k, "replicas"));
    }
    if (!same) {
        json_t **hold = malloc(sizeof *hold);
        if (hold) {
            hold[0] = json_incref(st);
            vk_registry_edit(c->s, c->res, ns, slash + 1, set_status, st, status_written, hold);
        }
    }
    json_decref(st);
    json_decref(mine);
    return wait > 0 ? (int)(wait * 1000) : 0;
}

/* ---- events ---- */

static void enqueue_set(vk_replicaset_ctl *c, const char *ns, const char *name, uint64_t ms)
{
    char key[600];
    snprintf(key, sizeof key, "%s/%s", ns, name);
    if (ms)
        vk_controller_enqueue_after(c->ctl, key, ms);
    else
        vk_controller_enqueue(c->ctl, key);
}

static void set_changed(void *ud, const json_t *old, const json_t *obj)
{
    vk_replicaset_ctl *c = ud;
    const json_t *o = obj ? obj : old;
    if (!obj) {
        /* Forget its expectations. */
        const char *uid = vk_str(vk_meta(o), "uid");
        for (size_t i = 0; i < c->nexp; i++)
            if (!strcmp(c->exp[i].uid, uid)) {
                c->exp[i] = c->exp[--c->nexp];
                break;
            }
        return;
    }
    enqueue_set(c, vk_str(vk_meta(o), "namespace"), vk_str(vk_meta(o), "name"), 0);
}

/* A pod's set, by its controller reference; an orphan's, by the selectors that match. */
static void pod_changed(void *ud, const json_t *old, const json_t *obj)
{
    vk_replicaset_ctl *c = ud;
    const json_t *pod = obj ? obj : old;
    const char *ns = vk_str(vk_meta(pod), "namespace");
    const json_t *ref = vk_controller_ref(pod);
    const json_t *oref = old && obj ? vk_controller_ref(old) : NULL;
    if (ref && !strcmp(vk_str(ref, "kind"), c->kind)) {
        expectation *e = expect(c, vk_str(ref, "uid"), false);
        if (e && !old)
            e->adds--;
        if (e && !obj)
            e->dels--;
        enqueue_set(c, ns, vk_str(ref, "name"), 0);
    }
    if (oref && !strcmp(vk_str(oref, "kind"), c->kind) &&
        (!ref || strcmp(vk_str(ref, "uid"), vk_str(oref, "uid"))))
        enqueue_set(c, ns, vk_str(oref, "name"), 0);
    if (!ref && obj) {
        const char *k;
        json_t *set;
        json_object_foreach((json_t *)vk_informer_items(c->sets), k, set)
        {
            if (strcmp(vk_str(vk_meta(set), "namespace"), ns))
                continue;
            vk_selector *sel = selector_of(set);
            if (sel && vk_selector_match_labels(sel, json_object_get(vk_meta(pod), "labels")))
                enqueue_set(c, ns, vk_str(vk_meta(set), "name"), 0);
            vk_selector_free(sel);
        }
    }
}

int vk_replicaset_start(vk_server *s, const char *kind, vk_informer *sets, vk_informer *pods,
                        vk_replicaset_ctl **out)
{
    vk_replicaset_ctl *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    bool rs = !strcmp(kind, "ReplicaSet");
    *c = (vk_replicaset_ctl){
        .s = s,
        .kind = rs ? "ReplicaSet" : "ReplicationController",
        .api_version = rs ? "apps/v1" : "v1",
        .res = rs ? vk_resource_find("apps", "v1", "replicasets")
                  : vk_resource_find("", "v1", "replicationcontrollers"),
        .pods_res = vk_resource_find("", "v1", "pods"),
        .pods = pods,
        .sets = sets,
    };
    int rc = 0;
    if (!(c->ctl = vk_controller_new(s, rs ? "replicaset" : "replicationcontroller", reconcile, c)))
        rc = -ENOMEM;
    if (!rc)
        rc = vk_informer_subscribe(c->sets, set_changed, c);
    if (!rc)
        rc = vk_informer_subscribe(pods, pod_changed, c);
    if (rc) {
        vk_replicaset_free(c);
        return rc;
    }
    const char *k;
    json_t *set;
    json_object_foreach((json_t *)vk_informer_items(c->sets), k, set) set_changed(c, NULL, set);
    *out = c;
    return 0;
}

void vk_replicaset_free(vk_replicaset_ctl *c)
{
    if (!c)
        return;
    c->stopping = true;
    vk_controller_free(c->ctl);
    free(c->exp);
    free(c);
}
