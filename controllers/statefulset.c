/* The StatefulSet controller.
 *
 * A reconcile of one set, as kube's UpdateStatefulSet: its pods are those it controls
 * whose names are "<set>-<ordinal>" and whose labels its selector matches (matching
 * orphans adopted, others released). The set's template is its update revision, a
 * ControllerRevision (controllers/history.c; found by data, renumbered when an older
 * one matches, created when none does); the current revision is the one
 * status.currentRevision names. Each ordinal of spec.ordinals.start .. + replicas - 1
 * without a pod gets one, of the current revision below the partition and of the update
 * revision from it: its PersistentVolumeClaims "<template>-<set>-<ordinal>" first, then
 * the pod with the identity labels, hostname and subdomain and its claims as volumes.
 * Pods past the range are deleted, the highest ordinal first. OrderedReady does one
 * thing at a time, each pod Running and Ready (for minReadySeconds) before the next, and
 * halts on an unhealthy pod; Parallel does all at once. Failed pods are deleted and
 * made again. RollingUpdate deletes outdated pods from the highest ordinal down to the
 * partition, within maxUnavailable; OnDelete waits for someone else to. Claims get the
 * owner references persistentVolumeClaimRetentionPolicy asks for (the set for
 * whenDeleted: Delete, a scaled-down pod for whenScaled: Delete), so the garbage
 * collector deletes them. Status and events as kube writes them. Orphan revisions its
 * selector matches are adopted first. Not yet: the Recreate strategy, storage updates
 * of existing pods. */
#include "controllers/statefulset.h"

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
#include "controllers/history.h"
#include "controllers/objects.h"
#include "controllers/stsutil.h"

#define REVISION_LABEL  "controller-revision-hash"
#define POD_NAME_LABEL  "statefulset.kubernetes.io/pod-name"
#define POD_INDEX_LABEL "apps.kubernetes.io/pod-index"
#define HASH_LABEL      "controller.kubernetes.io/hash"
#define COMPONENT       "statefulset-controller"

enum { INFLIGHT_TIMEOUT_S = 30, RETRY_MS = 1000 };

struct vk_statefulset_ctl {
    vk_server *s;
    const vk_resource *res, *pods_res, *revs_res, *pvcs_res;
    vk_informer *sets, *pods, *revs, *pvcs;
    vk_controller *ctl;
    vk_history history;
    /* "<ns>/<pod>" -> the time a create or delete of it was asked, until the pods
     * informer shows its outcome (kube's expectations, by name). */
    json_t *inflight;
    /* "<ns>/<set>" -> creates refused in a row because the name was taken (a released
     * pod keeps it): the set is looked at again after a doubling delay, as kube's
     * rate-limited requeue after the error. */
    json_t *taken;
    bool stopping;
};

/* ---- reading ---- */

static json_t *spec_of(const json_t *set)
{
    return json_object_get(set, "spec");
}

static long long replicas_of(const json_t *set)
{
    json_t *r = json_object_get(spec_of(set), "replicas");
    return json_is_integer(r) ? json_integer_value(r) : 1;
}

static long long start_of(const json_t *set)
{
    return json_integer_value(json_object_get(json_object_get(spec_of(set), "ordinals"), "start"));
}

static vk_selector *selector_of(const json_t *set)
{
    json_t *text = vk_label_selector_format(json_object_get(spec_of(set), "selector"));
    vk_selector *s = NULL;
    char err[256];
    if (json_string_length(text))
        vk_label_selector_parse(json_string_value(text), &s, err, sizeof err);
    json_decref(text);
    return s;
}

static const char *phase_of(const json_t *pod)
{
    return vk_str(json_object_get(pod, "status"), "phase");
}

static bool terminating(const json_t *pod)
{
    return json_object_get(vk_meta(pod), "deletionTimestamp") != NULL;
}

static bool running_ready(const json_t *pod)
{
    return !strcmp(phase_of(pod), "Running") && vk_pod_ready(pod);
}

/* kube's IsPodAvailable: ready for minReadySeconds; *wait gets the seconds left. */
static bool available(const json_t *pod, long long min_ready, long long *wait)
{
    if (!pod || !vk_pod_ready(pod))
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
            if (left > 0 && wait && (!*wait || left < *wait))
                *wait = left;
            return left <= 0;
        }
    }
    return false;
}

static bool unavailable(const json_t *pod, long long min_ready)
{
    return !pod || !available(pod, min_ready, NULL) || terminating(pod);
}

static const char *revision_of(const json_t *pod)
{
    return vk_str(json_object_get(vk_meta(pod), "labels"), REVISION_LABEL);
}

static int ordinal_of(const json_t *pod)
{
    return vk_sts_ordinal(vk_str(vk_meta(pod), "name"), NULL, 0);
}

static void claim_name(const json_t *set, const json_t *tmpl, long long ord, char out[600])
{
    snprintf(out, 600, "%s-%s-%lld", vk_str(vk_meta(tmpl), "name"), vk_str(vk_meta(set), "name"),
             ord);
}

/* ---- in-flight writes ---- */

static bool inflight(vk_statefulset_ctl *c, const char *ns, const char *pod)
{
    char k[600];
    snprintf(k, sizeof k, "%s/%s", ns, pod);
    json_t *t = json_object_get(c->inflight, k);
    if (t && time(NULL) - json_integer_value(t) > INFLIGHT_TIMEOUT_S) {
        json_object_del(c->inflight, k);
        return false;
    }
    return t != NULL;
}

static void mark(vk_statefulset_ctl *c, const char *ns, const char *pod, bool on)
{
    char k[600];
    snprintf(k, sizeof k, "%s/%s", ns, pod);
    if (on)
        json_object_set_new(c->inflight, k, json_integer(time(NULL)));
    else
        json_object_del(c->inflight, k);
}

/* ---- writes ---- */

typedef struct write_ctx {
    vk_statefulset_ctl *c;
    json_t *set; /* a copy, for events */
    json_t *pod; /* creates: the pod to make once its claims are there */
    char pod_name[300], claim[600];
    int claims_left;
    char failure[1024]; /* the first claim that could not be made */
} write_ctx;

static write_ctx *wctx(vk_statefulset_ctl *c, const json_t *set, const char *pod)
{
    write_ctx *w = calloc(1, sizeof *w);
    if (w) {
        w->c = c;
        w->set = json_deep_copy(set);
        snprintf(w->pod_name, sizeof w->pod_name, "%s", pod);
    }
    return w;
}

static void wfree(write_ctx *w)
{
    json_decref(w->set);
    json_decref(w->pod);
    free(w);
}

static void enqueue_set(vk_statefulset_ctl *c, const json_t *set, uint64_t ms)
{
    char key[600];
    snprintf(key, sizeof key, "%s/%s", vk_str(vk_meta(set), "namespace"),
             vk_str(vk_meta(set), "name"));
    if (ms)
        vk_controller_enqueue_after(c->ctl, key, ms);
    else
        vk_controller_enqueue(c->ctl, key);
}

/* kube's recordPodEvent. */
static void pod_event(vk_statefulset_ctl *c, const json_t *set, const char *verb, const char *pod,
                      const char *err)
{
    char reason[32], msg[1500];
    snprintf(reason, sizeof reason, "%s%c%s", err ? "Failed" : "Successful", verb[0] - 32,
             verb + 1);
    if (err)
        snprintf(msg, sizeof msg, "%s Pod %s in StatefulSet %s failed error: %s", verb, pod,
                 vk_str(vk_meta(set), "name"), err);
    else
        snprintf(msg, sizeof msg, "%s Pod %s in StatefulSet %s successful", verb, pod,
                 vk_str(vk_meta(set), "name"));
    vk_record_event(c->s, set, "StatefulSet", "apps/v1", err ? "Warning" : "Normal", reason, msg,
                    COMPONENT);
}

static const char *message_of(json_t *status)
{
    const char *m = json_string_value(json_object_get(status, "message"));
    return m ? m : "unknown error";
}

static void pod_created(void *ud, int err, const char *json, size_t len, json_t *status)
{
    write_ctx *w = ud;
    vk_statefulset_ctl *c = w->c;
    if (!c->stopping) {
        const char *ns = vk_str(vk_meta(w->set), "namespace");
        if (err)
            mark(c, ns, w->pod_name, false);
        if (err != VK_EEXIST)
            pod_event(c, w->set, "create", w->pod_name, err ? message_of(status) : NULL);
        /* Taken: by a pod the informer has not shown yet, or one that is not the
         * set's; tried again after 100 ms, doubling up to 10 s. */
        char key[600];
        snprintf(key, sizeof key, "%s/%s", ns, vk_str(vk_meta(w->set), "name"));
        json_int_t n = json_integer_value(json_object_get(c->taken, key));
        if (err == VK_EEXIST)
            json_object_set_new(c->taken, key, json_integer(n + 1));
        else if (!err)
            json_object_del(c->taken, key);
        uint64_t backoff = (uint64_t)(RETRY_MS / 10) << (n < 7 ? n : 7);
        enqueue_set(c, w->set,
                    err == VK_EEXIST ? (backoff > 10000 ? 10000 : backoff)
                    : err            ? RETRY_MS
                                     : 0);
    }
    wfree(w);
}

static void claims_done(write_ctx *w)
{
    vk_statefulset_ctl *c = w->c;
    const char *ns = vk_str(vk_meta(w->set), "namespace");
    if (c->stopping || w->failure[0]) {
        if (!c->stopping) {
            mark(c, ns, w->pod_name, false);
            pod_event(c, w->set, "create", w->pod_name, w->failure);
            enqueue_set(c, w->set, RETRY_MS);
        }
        wfree(w);
        return;
    }
    vk_registry_create(c->s, c->pods_res, ns, w->pod, false, pod_created, w);
}

typedef struct claim_ctx {
    write_ctx *w; /* NULL: a claim of a pod that exists */
    vk_statefulset_ctl *c;
    json_t *set;
    char claim[600], pod[300];
} claim_ctx;

/* kube's recordClaimEvent. */
static void claim_created(void *ud, int err, const char *json, size_t len, json_t *status)
{
    claim_ctx *cc = ud;
    vk_statefulset_ctl *c = cc->c;
    if (!c->stopping && err != VK_EEXIST) {
        char reason[32], msg[1500];
        snprintf(reason, sizeof reason, "%sCreate", err ? "Failed" : "Successful");
        if (err)
            snprintf(msg, sizeof msg,
                     "create Claim %s for Pod %s in StatefulSet %s failed error: %s", cc->claim,
                     cc->pod, vk_str(vk_meta(cc->set), "name"), message_of(status));
        else
            snprintf(msg, sizeof msg, "create Claim %s Pod %s in StatefulSet %s success", cc->claim,
                     cc->pod, vk_str(vk_meta(cc->set), "name"));
        vk_record_event(c->s, cc->set, "StatefulSet", "apps/v1", err ? "Warning" : "Normal", reason,
                        msg, COMPONENT);
        if (err && cc->w && !cc->w->failure[0])
            snprintf(cc->w->failure, sizeof cc->w->failure, "failed to create PVC %s: %s",
                     cc->claim, message_of(status));
    }
    if (cc->w && !--cc->w->claims_left)
        claims_done(cc->w);
    json_decref(cc->set);
    free(cc);
}

/* kube's getPersistentVolumeClaims for ordinal: name, namespace, the template's labels
 * with the selector's matchLabels. */
static json_t *claim_for(const json_t *set, const json_t *tmpl, long long ord)
{
    char name[600];
    claim_name(set, tmpl, ord, name);
    json_t *claim = json_deep_copy(tmpl);
    json_t *m = vk_meta(claim);
    if (!json_is_object(m))
        json_object_set_new(claim, "metadata", m = json_object());
    json_object_set_new(m, "name", json_string(name));
    json_object_set_new(m, "namespace", json_string(vk_str(vk_meta(set), "namespace")));
    json_t *labels = json_object_get(m, "labels");
    if (!json_is_object(labels))
        json_object_set_new(m, "labels", labels = json_object());
    json_object_update(labels,
                       json_object_get(json_object_get(spec_of(set), "selector"), "matchLabels"));
    json_object_del(claim, "status");
    json_object_del(claim, "apiVersion");
    json_object_del(claim, "kind");
    return claim;
}

/* Creates the claims of ordinal ord that are missing (w: then its pod). Returns how
 * many were asked for, or -1 when one is being deleted (kube's "pvc %s is being
 * deleted"), with its message in err. */
static int create_claims(vk_statefulset_ctl *c, const json_t *set, long long ord, const char *pod,
                         write_ctx *w, char *err, size_t errlen)
{
    const char *ns = vk_str(vk_meta(set), "namespace");
    int n = 0;
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(spec_of(set), "volumeClaimTemplates"), i, t)
    {
        char name[600];
        claim_name(set, t, ord, name);
        const json_t *have = vk_informer_get(c->pvcs, ns, name);
        if (have) {
            if (terminating(have)) {
                snprintf(err, errlen, "pvc %s is being deleted", name);
                return -1;
            }
            continue;
        }
        n++;
    }
    if (w)
        w->claims_left = n;
    if (!n)
        return 0;
    json_array_foreach(json_object_get(spec_of(set), "volumeClaimTemplates"), i, t)
    {
        char name[600];
        claim_name(set, t, ord, name);
        if (vk_informer_get(c->pvcs, ns, name))
            continue;
        claim_ctx *cc = calloc(1, sizeof *cc);
        if (!cc)
            continue;
        *cc = (claim_ctx){.w = w, .c = c, .set = json_deep_copy(set)};
        snprintf(cc->claim, sizeof cc->claim, "%s", name);
        snprintf(cc->pod, sizeof cc->pod, "%s", pod);
        json_t *claim = claim_for(set, t, ord);
        vk_registry_create(c->s, c->pvcs_res, ns, claim, false, claim_created, cc);
        json_decref(claim);
    }
    return n;
}

/* kube's newStatefulSetPod: the template (of the revision), the controller reference,
 * the identity (name, labels, hostname, subdomain), the claims as volumes, the revision
 * label. */
static json_t *new_pod(const json_t *set, const json_t *tmpl, const char *revision, long long ord)
{
    json_t *tm = json_object_get(tmpl, "metadata");
    json_t *spec = json_deep_copy(json_object_get(tmpl, "spec"));
    if (!json_is_object(spec))
        spec = json_object();
    char name[300], index[24];
    snprintf(name, sizeof name, "%s-%lld", vk_str(vk_meta(set), "name"), ord);
    snprintf(index, sizeof index, "%lld", ord);
    json_t *pod =
        json_pack("{s:{s:s, s:[{s:s, s:s, s:s, s:s, s:b, s:b}]}, s:o}", "metadata", "name", name,
                  "ownerReferences", "apiVersion", "apps/v1", "kind", "StatefulSet", "name",
                  vk_str(vk_meta(set), "name"), "uid", vk_str(vk_meta(set), "uid"), "controller", 1,
                  "blockOwnerDeletion", 1, "spec", spec);
    static const char *const copied[] = {"annotations", "finalizers"};
    for (size_t i = 0; i < sizeof copied / sizeof copied[0]; i++)
        if (json_object_get(tm, copied[i]))
            json_object_set(vk_meta(pod), copied[i], json_object_get(tm, copied[i]));
    json_t *labels = json_deep_copy(json_object_get(tm, "labels"));
    if (!json_is_object(labels))
        labels = json_object();
    json_object_set_new(labels, POD_NAME_LABEL, json_string(name));
    json_object_set_new(labels, POD_INDEX_LABEL, json_string(index));
    json_object_set_new(labels, REVISION_LABEL, json_string(revision));
    json_object_set_new(vk_meta(pod), "labels", labels);
    json_object_set_new(spec, "hostname", json_string(name));
    const char *svc = vk_str(spec_of(set), "serviceName");
    if (*svc)
        json_object_set_new(spec, "subdomain", json_string(svc));
    /* kube's updateStorage: a volume per claim template, then the template's others. */
    json_t *claims = json_object_get(spec_of(set), "volumeClaimTemplates");
    if (json_array_size(claims)) {
        json_t *vols = json_array();
        size_t i;
        json_t *t;
        json_array_foreach(claims, i, t)
        {
            char cn[600];
            claim_name(set, t, ord, cn);
            json_array_append_new(vols,
                                  json_pack("{s:s, s:{s:s}}", "name", vk_str(vk_meta(t), "name"),
                                            "persistentVolumeClaim", "claimName", cn));
        }
        json_array_foreach(json_object_get(spec, "volumes"), i, t)
        {
            bool claimed = false;
            size_t j;
            json_t *ct;
            json_array_foreach(claims, j, ct) claimed |=
                !strcmp(vk_str(vk_meta(ct), "name"), vk_str(t, "name"));
            if (!claimed)
                json_array_append(vols, t);
        }
        json_object_set_new(spec, "volumes", vols);
    }
    return pod;
}

static void create_pod(vk_statefulset_ctl *c, const json_t *set, const json_t *tmpl,
                       const char *revision, long long ord)
{
    const char *ns = vk_str(vk_meta(set), "namespace");
    json_t *pod = new_pod(set, tmpl, revision, ord);
    const char *name = vk_str(vk_meta(pod), "name");
    write_ctx *w = wctx(c, set, name);
    if (!w) {
        json_decref(pod);
        return;
    }
    w->pod = pod;
    mark(c, ns, name, true);
    char err[700] = "";
    int n = create_claims(c, set, ord, name, w, err, sizeof err);
    if (n < 0)
        snprintf(w->failure, sizeof w->failure, "%s", err);
    if (n <= 0)
        claims_done(w);
}

static void pod_deleted(void *ud, int err, const char *json, size_t len, json_t *status)
{
    write_ctx *w = ud;
    vk_statefulset_ctl *c = w->c;
    if (!c->stopping) {
        if (err)
            mark(c, vk_str(vk_meta(w->set), "namespace"), w->pod_name, false);
        if (err != VK_ENOTFOUND)
            pod_event(c, w->set, "delete", w->pod_name, err ? message_of(status) : NULL);
        enqueue_set(c, w->set, err && err != VK_ENOTFOUND ? RETRY_MS : 0);
    }
    wfree(w);
}

static void delete_pod(vk_statefulset_ctl *c, const json_t *set, const json_t *pod)
{
    const char *ns = vk_str(vk_meta(pod), "namespace"), *name = vk_str(vk_meta(pod), "name");
    write_ctx *w = wctx(c, set, name);
    if (!w)
        return;
    mark(c, ns, name, true);
    json_t *opts = json_pack("{s:{s:s}}", "preconditions", "uid", vk_str(vk_meta(pod), "uid"));
    vk_registry_delete_opts(c->s, c->pods_res, ns, name, opts, pod_deleted, w);
    json_decref(opts);
}

/* Edits of pods and claims: ownerReferences or labels set to what ud holds. */
typedef struct patch_ctx {
    vk_statefulset_ctl *c;
    char uid[64];
    json_t *refs;   /* the ownerReferences to write (NULL: leave) */
    json_t *labels; /* labels to add (NULL: none) */
    json_t *set;    /* the set to reconcile after */
} patch_ctx;

static void apply_patch(void *ud, json_t *obj)
{
    patch_ctx *p = ud;
    json_t *m = vk_meta(obj);
    if (strcmp(vk_str(m, "uid"), p->uid))
        return;
    if (p->refs) {
        if (json_array_size(p->refs))
            json_object_set(m, "ownerReferences", p->refs);
        else
            json_object_del(m, "ownerReferences");
    }
    if (p->labels) {
        json_t *l = json_object_get(m, "labels");
        if (!json_is_object(l))
            json_object_set_new(m, "labels", l = json_object());
        json_object_update(l, p->labels);
    }
}

static void patched(void *ud, int err, const char *json, size_t len, json_t *status)
{
    patch_ctx *p = ud;
    if (!p->c->stopping) {
        if (err)
            vk_log(VK_LOG_DEBUG, "statefulset", "Write refused", "err=\"%s\"", message_of(status));
        enqueue_set(p->c, p->set, err ? RETRY_MS : 0);
    }
    json_decref(p->refs);
    json_decref(p->labels);
    json_decref(p->set);
    free(p);
}

static void patch_obj(vk_statefulset_ctl *c, const vk_resource *res, const json_t *set,
                      const json_t *obj, json_t *refs, json_t *labels)
{
    patch_ctx *p = calloc(1, sizeof *p);
    if (!p) {
        json_decref(refs);
        json_decref(labels);
        return;
    }
    *p = (patch_ctx){.c = c, .refs = refs, .labels = labels, .set = json_deep_copy(set)};
    snprintf(p->uid, sizeof p->uid, "%s", vk_str(vk_meta(obj), "uid"));
    vk_registry_edit(c->s, res, vk_str(vk_meta(obj), "namespace"), vk_str(vk_meta(obj), "name"),
                     apply_patch, p, patched, p);
}

/* kube's ClaimsMatchRetentionPolicy and UpdatePodClaimForRetentionPolicy: the claims of
 * pod get the owner references the policy wants. false when one was changed. */
static bool fix_claims(vk_statefulset_ctl *c, const json_t *set, const json_t *pod,
                       bool scaled_down)
{
    const char *ns = vk_str(vk_meta(set), "namespace");
    int ord = ordinal_of(pod);
    bool ok = true;
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(spec_of(set), "volumeClaimTemplates"), i, t)
    {
        char name[600];
        claim_name(set, t, ord, name);
        const json_t *claim = vk_informer_get(c->pvcs, ns, name);
        if (!claim || vk_sts_claim_up_to_date(claim, set, pod, scaled_down))
            continue;
        patch_obj(c, c->pvcs_res, set, claim, vk_sts_claim_refs(claim, set, pod, scaled_down),
                  NULL);
        ok = false;
    }
    return ok;
}

/* kube's PodClaimIsStale: a claim of the pod to be made still names an older pod of
 * that name as its owner (the garbage collector will delete it). */
static bool claim_stale(vk_statefulset_ctl *c, const json_t *set, long long ord)
{
    if (strcmp(vk_str(json_object_get(spec_of(set), "persistentVolumeClaimRetentionPolicy"),
                      "whenScaled"),
               "Delete"))
        return false;
    char pod[300];
    snprintf(pod, sizeof pod, "%s-%lld", vk_str(vk_meta(set), "name"), ord);
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(spec_of(set), "volumeClaimTemplates"), i, t)
    {
        char name[600];
        claim_name(set, t, ord, name);
        const json_t *claim = vk_informer_get(c->pvcs, vk_str(vk_meta(set), "namespace"), name);
        size_t j;
        json_t *r;
        json_array_foreach(json_object_get(vk_meta(claim), "ownerReferences"), j, r)
        {
            if (!strcmp(vk_str(r, "apiVersion"), "v1") && !strcmp(vk_str(r, "kind"), "Pod") &&
                !strcmp(vk_str(r, "name"), pod))
                return true; /* the pod to be made has no uid yet: any is stale */
        }
    }
    return false;
}

/* ---- status ---- */

static void set_status(void *ud, json_t *obj)
{
    json_t *st = json_deep_copy(ud);
    json_t *old = json_object_get(obj, "status");
    /* A collision counted meanwhile stays counted. */
    json_int_t have = json_integer_value(json_object_get(old, "collisionCount"));
    if (have > json_integer_value(json_object_get(st, "collisionCount")))
        json_object_set_new(st, "collisionCount", json_integer(have));
    if (json_object_get(old, "conditions"))
        json_object_set(st, "conditions", json_object_get(old, "conditions"));
    json_object_set_new(obj, "status", st);
}

static void status_done(void *ud, int err, const char *json, size_t len, json_t *status)
{
    json_decref(ud);
}

typedef struct counts {
    long long replicas, ready, available, current, updated;
} counts;

/* kube's computeReplicaStatus over one pod. */
static void count(counts *n, const json_t *pod, long long min_ready, const char *cur,
                  const char *upd, long long *wait)
{
    if (!pod || !*phase_of(pod))
        return;
    n->replicas++;
    if (running_ready(pod)) {
        n->ready++;
        n->available += available(pod, min_ready, wait);
    }
    if (!terminating(pod)) {
        n->current += !strcmp(revision_of(pod), cur);
        n->updated += !strcmp(revision_of(pod), upd);
    }
}

static int write_status(vk_statefulset_ctl *c, const json_t *set, counts n, const char *cur,
                        const char *upd, long long collisions, long long wait)
{
    long long want = replicas_of(set);
    /* kube's completeUpdate */
    if (n.updated == want && n.ready == want && n.replicas == want) {
        n.current = n.updated;
        cur = upd;
    }
    json_t *st = json_pack("{s:I, s:I, s:s, s:s, s:I, s:I}", "replicas", (json_int_t)n.replicas,
                           "availableReplicas", (json_int_t)n.available, "currentRevision", cur,
                           "updateRevision", upd, "collisionCount", (json_int_t)collisions,
                           "observedGeneration",
                           json_integer_value(json_object_get(vk_meta(set), "generation")));
    if (n.ready)
        json_object_set_new(st, "readyReplicas", json_integer(n.ready));
    if (n.current)
        json_object_set_new(st, "currentReplicas", json_integer(n.current));
    if (n.updated)
        json_object_set_new(st, "updatedReplicas", json_integer(n.updated));
    if (!json_integer_value(json_object_get(st, "observedGeneration")))
        json_object_del(st, "observedGeneration");
    json_t *old = json_object_get(set, "status");
    if (json_object_get(old, "conditions"))
        json_object_set(st, "conditions", json_object_get(old, "conditions"));
    if (!json_equal(st, old)) {
        const json_t *m = vk_meta(set);
        vk_registry_edit(c->s, c->res, vk_str(m, "namespace"), vk_str(m, "name"), set_status, st,
                         status_done, st);
    } else {
        json_decref(st);
    }
    /* kube's next availability check under minReadySeconds. */
    long long min_ready = json_integer_value(json_object_get(spec_of(set), "minReadySeconds"));
    if (min_ready > 0 && n.ready != n.available)
        return (int)((wait > 0 ? wait : min_ready) * 1000);
    return 0;
}

/* ---- reconcile ---- */

/* The template a revision records (its data without "$patch"; a new object). */
static json_t *revision_template(const json_t *rev)
{
    json_t *t = json_deep_copy(
        json_object_get(json_object_get(json_object_get(rev, "data"), "spec"), "template"));
    if (!json_is_object(t))
        t = json_object();
    json_object_del(t, "$patch");
    return t;
}

static int cmp_desc_ordinal(const void *a, const void *b)
{
    int x = ordinal_of(*(json_t *const *)a), y = ordinal_of(*(json_t *const *)b);
    return y - x;
}

/* The set's pods: those it controls named as its members that its selector matches
 * (kube's ClaimPods with isMemberOf), adopting and releasing. A new array. */
static json_t *claim_pods(vk_statefulset_ctl *c, const json_t *set)
{
    const char *ns = vk_str(vk_meta(set), "namespace"), *uid = vk_str(vk_meta(set), "uid");
    const char *name = vk_str(vk_meta(set), "name");
    bool deleting = terminating(set);
    vk_selector *sel = selector_of(set);
    json_t *mine = json_array();
    const char *k;
    json_t *pod;
    json_object_foreach((json_t *)vk_informer_items(c->pods), k, pod)
    {
        if (strcmp(vk_str(vk_meta(pod), "namespace"), ns))
            continue;
        char parent[300];
        vk_sts_ordinal(vk_str(vk_meta(pod), "name"), parent, sizeof parent);
        const json_t *ref = vk_controller_ref(pod);
        bool matches = sel &&
                       vk_selector_match_labels(sel, json_object_get(vk_meta(pod), "labels")) &&
                       !strcmp(parent, name);
        if (ref && !strcmp(vk_str(ref, "uid"), uid)) {
            if (!matches && !deleting) {
                json_t *refs = json_array();
                size_t i;
                json_t *r;
                json_array_foreach(json_object_get(vk_meta(pod), "ownerReferences"), i, r)
                {
                    if (strcmp(vk_str(r, "uid"), uid))
                        json_array_append(refs, r);
                }
                patch_obj(c, c->pods_res, set, pod, refs, NULL);
                continue;
            }
            json_array_append(mine, pod);
        } else if (!ref && matches && !deleting && !terminating(pod)) {
            json_t *refs = json_deep_copy(json_object_get(vk_meta(pod), "ownerReferences"));
            if (!json_is_array(refs)) {
                json_decref(refs);
                refs = json_array();
            }
            json_array_append_new(refs,
                                  json_pack("{s:s, s:s, s:s, s:s, s:b, s:b}", "apiVersion",
                                            "apps/v1", "kind", "StatefulSet", "name", name, "uid",
                                            uid, "controller", 1, "blockOwnerDeletion", 1));
            patch_obj(c, c->pods_res, set, pod, refs, NULL);
            json_array_append(mine, pod);
        }
    }
    vk_selector_free(sel);
    return mine;
}

/* kube's getStatefulSetRevisions: the update revision is the newest whose data is the
 * set's (renumbered newest when older), else made; the current one is the revision
 * status.currentRevision names, else the update one. NULL when the update revision is
 * still being made. */
static const json_t *revisions(vk_statefulset_ctl *c, const json_t *set, json_t *revs,
                               const json_t **current, char upd_name[300])
{
    json_t *patch = vk_history_patch(set);
    long long collisions =
        json_integer_value(json_object_get(json_object_get(set, "status"), "collisionCount"));
    size_t n = json_array_size(revs), i;
    json_t *r, *eq = NULL;
    json_array_foreach(revs, i, r) if (json_equal(json_object_get(r, "data"), patch)) eq = r;
    long long next = n ? vk_history_number(json_array_get(revs, n - 1)) + 1 : 1;
    const json_t *upd = NULL;
    if (eq) {
        upd = eq;
        if (eq != json_array_get(revs, n - 1))
            vk_history_renumber(&c->history, eq, next);
    } else {
        char hash[16], name[300];
        vk_history_hash(patch, collisions, hash);
        vk_history_name(vk_str(vk_meta(set), "name"), hash, name);
        json_t *labels = json_deep_copy(json_object_get(
            json_object_get(json_object_get(spec_of(set), "template"), "metadata"), "labels"));
        if (!json_is_object(labels)) {
            json_decref(labels);
            labels = json_object();
        }
        json_object_set_new(labels, HASH_LABEL, json_string(hash));
        vk_history_create(&c->history, set, name, labels, patch, next);
    }
    json_decref(patch);
    if (!upd)
        return NULL;
    snprintf(upd_name, 300, "%s", vk_str(vk_meta(upd), "name"));
    const char *cur = vk_str(json_object_get(set, "status"), "currentRevision");
    *current = upd;
    json_array_foreach(revs, i, r) if (!strcmp(vk_str(vk_meta(r), "name"), cur))
    {
        *current = r;
        break;
    }
    return upd;
}

/* kube's truncateHistory: revisions no pod uses, other than the current and update
 * ones, beyond revisionHistoryLimit, oldest first. */
static void truncate_history(vk_statefulset_ctl *c, const json_t *set, json_t *revs,
                             const json_t *pods, const char *cur, const char *upd)
{
    json_t *lim = json_object_get(spec_of(set), "revisionHistoryLimit");
    long long limit = json_is_integer(lim) ? json_integer_value(lim) : 10;
    if (limit < 0)
        return;
    json_t *live = json_object();
    json_object_set_new(live, cur, json_true());
    json_object_set_new(live, upd, json_true());
    size_t i;
    json_t *p;
    json_array_foreach(pods, i, p) json_object_set_new(live, revision_of(p), json_true());
    long long old = 0;
    json_array_foreach(revs, i, p) old += !json_object_get(live, vk_str(vk_meta(p), "name"));
    json_array_foreach(revs, i, p)
    {
        if (old <= limit)
            break;
        if (json_object_get(live, vk_str(vk_meta(p), "name")))
            continue;
        vk_history_delete(&c->history, p);
        old--;
    }
    json_decref(live);
}

static int reconcile(void *ud, const char *key)
{
    vk_statefulset_ctl *c = ud;
    const char *slash = strchr(key, '/');
    if (!slash || c->stopping)
        return 0;
    char ns[256];
    snprintf(ns, sizeof ns, "%.*s", (int)(slash - key), key);
    const json_t *set = vk_informer_get(c->sets, ns, slash + 1);
    if (!set)
        return 0;
    const char *set_name = vk_str(vk_meta(set), "name");
    json_t *spec = spec_of(set);
    /* kube's adoptOrphanRevisions first: the set goes on once they are its own. */
    if (vk_history_adopt(&c->history, set))
        return 0;
    json_t *pods = claim_pods(c, set);
    json_t *revs = vk_history_owned(&c->history, set);
    const json_t *cur_rev = NULL;
    char upd[300];
    const json_t *upd_rev = revisions(c, set, revs, &cur_rev, upd);
    if (!upd_rev) { /* the revision is being made: its informer event brings us back */
        json_decref(pods);
        json_decref(revs);
        return 0;
    }
    char cur[300];
    snprintf(cur, sizeof cur, "%s", vk_str(vk_meta(cur_rev), "name"));
    long long collisions =
        json_integer_value(json_object_get(json_object_get(set, "status"), "collisionCount"));
    long long min_ready = json_integer_value(json_object_get(spec, "minReadySeconds"));
    long long want = replicas_of(set), start = start_of(set), wait = 0;
    json_t *strategy = json_object_get(spec, "updateStrategy");
    bool on_delete = !strcmp(vk_str(strategy, "type"), "OnDelete");
    json_t *ru = json_object_get(strategy, "rollingUpdate");
    long long partition = json_integer_value(json_object_get(ru, "partition"));
    bool monotonic = strcmp(vk_str(spec, "podManagementPolicy"), "Parallel") != 0;

    /* Replicas by ordinal, and the condemned past the range, highest first. */
    size_t n = want > 0 ? (size_t)want : 0;
    const json_t **replicas = calloc(n ? n : 1, sizeof *replicas);
    size_t npods = json_array_size(pods), ncond = 0;
    const json_t **condemned = calloc(npods ? npods : 1, sizeof *condemned);
    size_t i;
    json_t *pod;
    json_array_foreach(pods, i, pod)
    {
        int ord = ordinal_of(pod);
        if (ord >= start && ord < start + want && replicas)
            replicas[ord - start] = pod;
        else if (ord >= 0 && condemned)
            condemned[ncond++] = pod;
    }
    if (condemned)
        qsort(condemned, ncond, sizeof *condemned, cmp_desc_ordinal);
    counts cnt = {0};
    for (i = 0; replicas && i < n; i++)
        count(&cnt, replicas[i], min_ready, cur, upd, &wait);
    for (i = 0; condemned && i < ncond; i++)
        count(&cnt, condemned[i], min_ready, cur, upd, &wait);
    /* The first unhealthy pod, by ordinal among the replicas, then the lowest condemned. */
    const json_t *first_unhealthy = NULL;
    bool first_is_missing = false;
    for (i = 0; replicas && i < n && !first_unhealthy && !first_is_missing; i++) {
        if (unavailable(replicas[i], min_ready)) {
            if (replicas[i])
                first_unhealthy = replicas[i];
            else
                first_is_missing = true;
        }
    }
    for (i = ncond; condemned && i-- > 0 && !first_unhealthy && !first_is_missing;)
        if (unavailable(condemned[i], min_ready))
            first_unhealthy = condemned[i];

    json_t *cur_tmpl = revision_template(cur_rev);
    json_t *upd_tmpl = revision_template(upd_rev);
    bool done = !replicas || !condemned || terminating(set);
    /* kube's processReplica, lowest ordinal first. */
    for (i = 0; !done && i < n; i++) {
        const json_t *p = replicas[i];
        long long ord = start + (long long)i;
        char pname[300];
        snprintf(pname, sizeof pname, "%s-%lld", set_name, ord);
        if (p && (!strcmp(phase_of(p), "Failed") || !strcmp(phase_of(p), "Succeeded"))) {
            if (!terminating(p) && !inflight(c, ns, pname))
                delete_pod(c, set, p);
            done = monotonic;
            continue;
        }
        if (!p) {
            if (inflight(c, ns, pname) || claim_stale(c, set, ord)) {
                done = monotonic;
                continue;
            }
            /* newVersionedStatefulSetPod: the current revision below the partition. */
            bool use_cur =
                (!on_delete && !ru &&
                 ord < start + json_integer_value(json_object_get(json_object_get(set, "status"),
                                                                  "currentReplicas"))) ||
                (ru && ord < start + partition);
            create_pod(c, set, use_cur ? cur_tmpl : upd_tmpl, use_cur ? cur : upd, ord);
            done = monotonic;
            continue;
        }
        if (!strcmp(phase_of(p), "Pending")) {
            char err[700];
            create_claims(c, set, ord, pname, NULL, err, sizeof err);
        }
        if (monotonic && (terminating(p) || !running_ready(p) || !available(p, min_ready, &wait))) {
            done = true;
            continue;
        }
        /* kube's identityMatches and the claims' retention policy. */
        json_t *labels = json_object_get(vk_meta(p), "labels");
        char index[24];
        snprintf(index, sizeof index, "%lld", ord);
        if (strcmp(vk_str(labels, POD_NAME_LABEL), pname) ||
            strcmp(vk_str(labels, POD_INDEX_LABEL), index))
            patch_obj(c, c->pods_res, set, p, NULL,
                      json_pack("{s:s, s:s}", POD_NAME_LABEL, pname, POD_INDEX_LABEL, index));
        fix_claims(c, set, p, false);
    }
    /* The claims of the condemned, then the condemned, highest ordinal first. */
    for (i = 0; !done && i < ncond; i++)
        if (!fix_claims(c, set, condemned[i], true))
            done = true; /* deleted once their claims say so */
    for (i = 0; !done && i < ncond; i++) {
        const json_t *p = condemned[i];
        if (terminating(p) || inflight(c, ns, vk_str(vk_meta(p), "name"))) {
            done = monotonic;
            continue;
        }
        /* An unhealthy pod waits for the first unhealthy one to go first. */
        if (monotonic && p != first_unhealthy &&
            (!running_ready(p) || !available(p, min_ready, &wait))) {
            done = true;
            continue;
        }
        delete_pod(c, set, p);
        done = monotonic;
    }
    /* RollingUpdate: outdated pods from the highest ordinal down to the partition,
     * within maxUnavailable (kube's updateStatefulSetAfterInvariantEstablished). */
    if (!done && !on_delete) {
        int max_unavailable =
            vk_sts_max_unavailable(json_object_get(ru, "maxUnavailable"), (int)want);
        if (max_unavailable < 1)
            max_unavailable = 1;
        long long down = 0, down_outdated = 0;
        for (i = n; i-- > 0;) {
            if (unavailable(replicas[i], min_ready)) {
                down++;
                if (!monotonic && replicas[i] && strcmp(revision_of(replicas[i]), upd) &&
                    !terminating(replicas[i]))
                    down_outdated++;
            }
        }
        if (down < max_unavailable || down_outdated) {
            long long budget = max_unavailable - down;
            for (long long t = (long long)n - 1; t >= partition; t--) {
                const json_t *p = replicas[t];
                if (!p || !strcmp(revision_of(p), upd) || terminating(p) ||
                    inflight(c, ns, vk_str(vk_meta(p), "name")))
                    continue;
                if (!monotonic && unavailable(p, min_ready)) {
                    delete_pod(c, set, p); /* Parallel: unavailable outdated pods go at once */
                    cnt.current--;
                    continue;
                }
                if (budget <= 0)
                    continue;
                delete_pod(c, set, p);
                cnt.current--;
                budget--;
            }
        }
    }
    truncate_history(c, set, revs, pods, cur, upd);
    int rc = write_status(c, set, cnt, cur, upd, collisions, wait);
    json_decref(cur_tmpl);
    json_decref(upd_tmpl);
    free(replicas);
    free(condemned);
    json_decref(pods);
    json_decref(revs);
    return rc;
}

/* ---- events ---- */

static void enqueue_name(vk_statefulset_ctl *c, const char *ns, const char *name)
{
    char key[600];
    snprintf(key, sizeof key, "%s/%s", ns, name);
    vk_controller_enqueue(c->ctl, key);
}

static void set_changed(void *ud, const json_t *old, const json_t *obj)
{
    vk_statefulset_ctl *c = ud;
    const json_t *set = obj ? obj : old;
    if (obj) {
        enqueue_name(c, vk_str(vk_meta(set), "namespace"), vk_str(vk_meta(set), "name"));
    } else {
        char key[600];
        snprintf(key, sizeof key, "%s/%s", vk_str(vk_meta(set), "namespace"),
                 vk_str(vk_meta(set), "name"));
        json_object_del(c->taken, key);
    }
}

static void pod_changed(void *ud, const json_t *old, const json_t *obj)
{
    vk_statefulset_ctl *c = ud;
    const json_t *pod = obj ? obj : old;
    const char *ns = vk_str(vk_meta(pod), "namespace");
    /* What was asked of this pod has happened (created, marked, or gone). */
    if (!old || !obj || (terminating(obj) && !terminating(old)))
        mark(c, ns, vk_str(vk_meta(pod), "name"), false);
    const json_t *ref = vk_controller_ref(pod);
    const json_t *oref = old && obj ? vk_controller_ref(old) : NULL;
    if (ref && !strcmp(vk_str(ref, "kind"), "StatefulSet"))
        enqueue_name(c, ns, vk_str(ref, "name"));
    if (oref && !strcmp(vk_str(oref, "kind"), "StatefulSet") &&
        (!ref || strcmp(vk_str(ref, "uid"), vk_str(oref, "uid"))))
        enqueue_name(c, ns, vk_str(oref, "name"));
    if (!ref && obj) {
        const char *k;
        json_t *set;
        json_object_foreach((json_t *)vk_informer_items(c->sets), k, set)
        {
            if (strcmp(vk_str(vk_meta(set), "namespace"), ns))
                continue;
            vk_selector *sel = selector_of(set);
            if (sel && vk_selector_match_labels(sel, json_object_get(vk_meta(pod), "labels")))
                enqueue_name(c, ns, vk_str(vk_meta(set), "name"));
            vk_selector_free(sel);
        }
    }
}

static void rev_changed(void *ud, const json_t *old, const json_t *obj)
{
    const json_t *r = obj ? obj : old;
    const json_t *ref = vk_controller_ref(r);
    if (ref && !strcmp(vk_str(ref, "kind"), "StatefulSet"))
        enqueue_name(ud, vk_str(vk_meta(r), "namespace"), vk_str(ref, "name"));
}

/* A claim: the sets of its namespace that make claims. */
static void claim_changed(void *ud, const json_t *old, const json_t *obj)
{
    vk_statefulset_ctl *c = ud;
    const json_t *claim = obj ? obj : old;
    const char *ns = vk_str(vk_meta(claim), "namespace");
    const char *k;
    json_t *set;
    json_object_foreach((json_t *)vk_informer_items(c->sets), k, set)
    {
        if (!strcmp(vk_str(vk_meta(set), "namespace"), ns) &&
            json_array_size(json_object_get(spec_of(set), "volumeClaimTemplates")))
            enqueue_name(c, ns, vk_str(vk_meta(set), "name"));
    }
}

int vk_statefulset_start(vk_server *s, vk_informer *pods, vk_statefulset_ctl **out)
{
    vk_statefulset_ctl *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    *c = (vk_statefulset_ctl){.s = s,
                              .res = vk_resource_find("apps", "v1", "statefulsets"),
                              .pods_res = vk_resource_find("", "v1", "pods"),
                              .revs_res = vk_resource_find("apps", "v1", "controllerrevisions"),
                              .pvcs_res = vk_resource_find("", "v1", "persistentvolumeclaims"),
                              .pods = pods,
                              .inflight = json_object(),
                              .taken = json_object()};
    int rc = vk_informer_start(s, c->res, &c->sets);
    if (!rc)
        rc = vk_informer_start(s, c->revs_res, &c->revs);
    if (!rc)
        rc = vk_informer_start(s, c->pvcs_res, &c->pvcs);
    if (!rc && !(c->ctl = vk_controller_new(s, "statefulset", reconcile, c)))
        rc = -ENOMEM;
    c->history = (vk_history){.s = s,
                              .owner_res = c->res,
                              .revs_res = c->revs_res,
                              .owners = c->sets,
                              .revs = c->revs,
                              .ctl = c->ctl,
                              .kind = "StatefulSet",
                              .component = "statefulset",
                              .stopping = &c->stopping};
    if (!rc)
        rc = vk_informer_subscribe(c->sets, set_changed, c);
    if (!rc)
        rc = vk_informer_subscribe(pods, pod_changed, c);
    if (!rc)
        rc = vk_informer_subscribe(c->revs, rev_changed, c);
    if (!rc)
        rc = vk_informer_subscribe(c->pvcs, claim_changed, c);
    if (rc) {
        vk_statefulset_free(c);
        return rc;
    }
    const char *k;
    json_t *set;
    json_object_foreach((json_t *)vk_informer_items(c->sets), k, set) set_changed(c, NULL, set);
    *out = c;
    return 0;
}

void vk_statefulset_free(vk_statefulset_ctl *c)
{
    if (!c)
        return;
    c->stopping = true;
    vk_controller_free(c->ctl);
    vk_informer_free(c->sets);
    vk_informer_free(c->revs);
    vk_informer_free(c->pvcs);
    json_decref(c->inflight);
    json_decref(c->taken);
    vk_history_free(&c->history);
    free(c);
}
