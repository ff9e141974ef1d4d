/* The Job controller, as kube's pkg/controller/job (v1.37) does it.
 *
 * A reconcile of one Job: its pods are those with its controller reference, plus
 * orphans its selector matches, which it adopts (ownerReference and the
 * batch.kubernetes.io/job-tracking finalizer); owned pods it no longer selects are
 * released (both removed). Pods are created from the template (the tracking finalizer
 * added; Indexed: the completion index annotation and label, JOB_COMPLETION_INDEX,
 * hostname <job>-<index>, generateName <job>-<index>-) up to parallelism and the
 * completions left, after the pod failure backoff (10 s doubling to 10 min). A
 * finished pod is first written into status.uncountedTerminatedPods (an Indexed Job's
 * successes into completedIndexes), then its finalizer removed, then counted in
 * succeeded / failed: the counts survive the pods. The finish is decided as kube does:
 * SuccessCriteriaMet (completions, successPolicy) then Complete; FailureTarget
 * (backoffLimit, activeDeadlineSeconds, podFailurePolicy FailJob, backoffLimitPerIndex
 * with maxFailedIndexes) then Failed once no pod is left terminating; the active pods
 * of a failed Job are deleted. suspend deletes the active pods (Suspended condition,
 * startTime cleared); resuming sets startTime again.
 *
 * Writes in flight are remembered as kube's expectations do (pod creates and deletes,
 * finalizer removals) and a Job is not looked at again until its informer has seen the
 * status this controller last wrote (kube's consistency store), so a count is never
 * lost or made twice.
 *
 * The TTL-after-finished controller deletes a finished Job with background propagation
 * ttlSecondsAfterFinished after its Complete or Failed condition.
 *
 * Pods on simulated nodes never finish on their own (no container runs): a Job's pods
 * stay Running until their status is written Succeeded or Failed by a client, their
 * activeDeadlineSeconds passes (the simulated kubelet fails them) or they are deleted. */
#include "controllers/job.h"

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
#include "controllers/cronjob.h"
#include "controllers/jobutil.h"
#include "controllers/objects.h"

#define TRACKING     "batch.kubernetes.io/job-tracking"
#define INDEX_KEY    "batch.kubernetes.io/job-completion-index"
#define FAILURES_KEY "batch.kubernetes.io/job-index-failure-count"
#define IGNORED_KEY  "batch.kubernetes.io/job-index-ignored-failure-count"
#define COMPONENT    "job-controller"

enum { MAX_PER_SYNC = 500, MAX_UNCOUNTED = 500, EXPECTATION_TIMEOUT_S = 300 };

typedef struct expectation {
    char uid[64];
    int adds, dels;
    time_t since;
} expectation;

struct vk_job_ctl {
    vk_server *s;
    const vk_resource *res, *pods_res;
    vk_informer *jobs, *pods;
    vk_controller *ctl; /* "<ns>/<job>", or "o:<ns>/<pod>" for an orphan pod's finalizer */
    vk_controller *ttl;
    expectation *exp;
    size_t nexp;
    json_t *rmfin;    /* pod uid -> job uid: finalizer removal in flight */
    json_t *backoff;  /* job uid -> [failures after the last success, last failure time] */
    json_t *finished; /* job uid -> true: the finished status is written, not yet seen */
    json_t *written;  /* job uid -> resourceVersion of our last status write ("" in flight) */
    json_t *retry;    /* job uid -> [not before (ms), delay (ms)] after a refused pod create */
    vk_cronjob_ctl *cron;
    bool stopping;
};

/* ---- small readers ---- */

static bool split_key(const char *key, char ns[256], const char **name)
{
    const char *slash = strchr(key, '/');
    if (!slash || slash - key >= 256)
        return false;
    snprintf(ns, 256, "%.*s", (int)(slash - key), key);
    *name = slash + 1;
    return true;
}

static const char *phase_of(const json_t *pod)
{
    return vk_str(json_object_get(pod, "status"), "phase");
}

static bool deleting(const json_t *o)
{
    return json_object_get(vk_meta(o), "deletionTimestamp") != NULL;
}

static bool terminal(const json_t *pod)
{
    const char *p = phase_of(pod);
    return !strcmp(p, "Succeeded") || !strcmp(p, "Failed");
}

static bool pod_active(const json_t *pod)
{
    return !terminal(pod) && !deleting(pod);
}

static bool has_tracking(const json_t *pod)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(vk_meta(pod), "finalizers"), i, f)
    {
        if (!strcmp(json_string_value(f) ? json_string_value(f) : "", TRACKING))
            return true;
    }
    return false;
}

static long long int_or(const json_t *o, const char *k, long long dflt)
{
    json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? json_integer_value(v) : dflt;
}

static bool job_finished_as(const json_t *job, const char **type)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(json_object_get(job, "status"), "conditions"), i, c)
    {
        const char *t = vk_str(c, "type");
        if ((!strcmp(t, "Complete") || !strcmp(t, "Failed")) &&
            !strcmp(vk_str(c, "status"), "True")) {
            if (type)
                *type = t;
            return true;
        }
    }
    return false;
}

static bool only_replace_failed(const json_t *spec)
{
    return !strcmp(vk_str(spec, "podReplacementPolicy"), "Failed");
}

/* kube's isPodFailed: Failed, or (unless only failed pods are replaced) being deleted
 * without having succeeded. */
static bool pod_failed(const json_t *pod, const json_t *spec)
{
    if (!strcmp(phase_of(pod), "Failed"))
        return true;
    if (only_replace_failed(spec))
        return false;
    return deleting(pod) && strcmp(phase_of(pod), "Succeeded");
}

static long long annotation_int(const json_t *pod, const char *key)
{
    const char *v =
        json_string_value(json_object_get(json_object_get(vk_meta(pod), "annotations"), key));
    if (!v)
        return 0;
    char *end;
    long long n = strtoll(v, &end, 10);
    return *end || n < 0 || n > 2147483647 ? 0 : n;
}

static time_t ts_of(const char *s)
{
    time_t t = 0;
    if (s && *s && vk_time_parse(s, &t))
        t = 0;
    return t;
}

static bool pfp_counts(enum vk_pfp_action a)
{
    return a != VK_PFP_IGNORE;
}

/* ---- expectations ---- */

static expectation *expect(vk_job_ctl *c, const char *uid, bool create)
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

static void forget_expectations(vk_job_ctl *c, const char *uid)
{
    for (size_t i = 0; i < c->nexp; i++)
        if (!strcmp(c->exp[i].uid, uid)) {
            c->exp[i] = c->exp[--c->nexp];
            return;
        }
}

static bool satisfied(vk_job_ctl *c, const char *uid)
{
    expectation *e = expect(c, uid, false);
    return !e || (e->adds <= 0 && e->dels <= 0) || time(NULL) - e->since > EXPECTATION_TIMEOUT_S;
}

static void observed(vk_job_ctl *c, const char *uid, int adds, int dels)
{
    expectation *e = expect(c, uid, false);
    if (e) {
        e->adds -= adds;
        e->dels -= dels;
    }
}

/* ---- writes ---- */

static void enqueue_job(vk_job_ctl *c, const char *ns, const char *name)
{
    char key[600];
    snprintf(key, sizeof key, "%s/%s", ns, name);
    if (!c->stopping)
        vk_controller_enqueue(c->ctl, key);
}

/* What a write's callback needs: the job (for events and the key), the pod. */
typedef struct wctx {
    vk_job_ctl *c;
    json_t *job; /* a copy of the job's metadata, as {"metadata": ...} */
    char pod_ns[256], pod_name[256], pod_uid[64];
    bool then_delete; /* a finalizer removal before the pod's deletion */
    bool orphan;      /* an orphan's: only while the pod's controller stays ref_uid */
    char ref_uid[64];
    bool ready;
} wctx;

static wctx *wctx_new(vk_job_ctl *c, const json_t *job, const json_t *pod)
{
    wctx *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->c = c;
    w->job = json_pack("{s:O}", "metadata", vk_meta(job));
    if (pod) {
        snprintf(w->pod_ns, sizeof w->pod_ns, "%s", vk_str(vk_meta(pod), "namespace"));
        snprintf(w->pod_name, sizeof w->pod_name, "%s", vk_str(vk_meta(pod), "name"));
        snprintf(w->pod_uid, sizeof w->pod_uid, "%s", vk_str(vk_meta(pod), "uid"));
    }
    return w;
}

static void wctx_free(wctx *w)
{
    json_decref(w->job);
    free(w);
}

static const char *job_uid(const wctx *w)
{
    return vk_str(vk_meta(w->job), "uid");
}

static void event(vk_job_ctl *c, const json_t *job, const char *type, const char *reason,
                  const char *msg)
{
    vk_record_event(c->s, job, "Job", "batch/v1", type, reason, msg, COMPONENT);
}

static void requeue(wctx *w)
{
    enqueue_job(w->c, vk_str(vk_meta(w->job), "namespace"), vk_str(vk_meta(w->job), "name"));
}

static const char *status_message(json_t *status)
{
    const char *m = json_string_value(json_object_get(status, "message"));
    return m ? m : "error";
}

/* A refused create: the Job's next creates wait, 100 ms doubling to 5 min (kube's
 * rate-limited requeue of a failed sync); a successful one forgets it. */
static void create_failed(vk_job_ctl *c, wctx *w)
{
    json_t *r = json_object_get(c->retry, job_uid(w));
    long long now = (long long)vk_now_ms(), d = 100;
    if (r && json_integer_value(json_array_get(r, 0)) > now)
        return; /* one of the same batch */
    if (r)
        d = json_integer_value(json_array_get(r, 1)) * 2;
    if (d > 300000)
        d = 300000;
    json_object_set_new(c->retry, job_uid(w),
                        json_pack("[I, I]", (json_int_t)(now + d), (json_int_t)d));
    char key[600];
    snprintf(key, sizeof key, "%s/%s", vk_str(vk_meta(w->job), "namespace"),
             vk_str(vk_meta(w->job), "name"));
    vk_controller_enqueue_after(c->ctl, key, (uint64_t)d);
}

static void pod_created(void *ud, int err, const char *json, size_t len, json_t *status)
{
    wctx *w = ud;
    vk_job_ctl *c = w->c;
    if (!c->stopping) {
        char msg[1200];
        if (err) {
            observed(c, job_uid(w), 1, 0);
            snprintf(msg, sizeof msg, "Error creating: %s", status_message(status));
            if (!strstr(msg, "being terminated"))
                event(c, w->job, "Warning", "FailedCreate", msg);
            create_failed(c, w);
        } else {
            json_object_del(c->retry, job_uid(w));
            json_t *pod = json_loadb(json, len, 0, NULL);
            snprintf(msg, sizeof msg, "Created pod: %s", vk_str(vk_meta(pod), "name"));
            event(c, w->job, "Normal", "SuccessfulCreate", msg);
            json_decref(pod);
        }
    }
    wctx_free(w);
}

static void pod_deleted(void *ud, int err, const char *json, size_t len, json_t *status)
{
    wctx *w = ud;
    vk_job_ctl *c = w->c;
    if (!c->stopping) {
        char msg[1200];
        if (err && err != VK_ENOTFOUND) {
            observed(c, job_uid(w), 0, 1);
            snprintf(msg, sizeof msg, "Error deleting: %s", status_message(status));
            event(c, w->job, "Warning", "FailedDelete", msg);
            requeue(w);
        } else if (!err) {
            snprintf(msg, sizeof msg, "Deleted pod: %s", w->pod_name);
            event(c, w->job, "Normal", "SuccessfulDelete", msg);
        }
    }
    wctx_free(w);
}

static void delete_pod(vk_job_ctl *c, const json_t *job, const char *ns, const char *name,
                       const char *uid)
{
    json_t *opts = json_pack("{s:{s:s}}", "preconditions", "uid", uid);
    wctx *w = wctx_new(c, job, NULL);
    if (w) {
        snprintf(w->pod_name, sizeof w->pod_name, "%s", name);
        vk_registry_delete_opts(c->s, c->pods_res, ns, name, opts, pod_deleted, w);
    }
    json_decref(opts);
}

static void drop_tracking(void *ud, json_t *obj)
{
    wctx *w = ud;
    json_t *m = vk_meta(obj);
    if (strcmp(vk_str(m, "uid"), w->pod_uid))
        return;
    if (w->orphan && strcmp(vk_str(vk_controller_ref(obj), "uid"), w->ref_uid))
        return;
    json_t *fins = json_object_get(m, "finalizers");
    for (size_t i = json_array_size(fins); i-- > 0;)
        if (!strcmp(json_string_value(json_array_get(fins, i)) ?: "", TRACKING))
            json_array_remove(fins, i);
    if (fins && !json_array_size(fins))
        json_object_del(m, "finalizers");
}

static void tracking_dropped(void *ud, int err, const char *json, size_t len, json_t *status)
{
    wctx *w = ud;
    vk_job_ctl *c = w->c;
    if (!c->stopping) {
        if (w->then_delete) {
            if (err && err != VK_ENOTFOUND) {
                observed(c, job_uid(w), 0, 1);
                requeue(w);
            } else if (!err) {
                delete_pod(c, w->job, w->pod_ns, w->pod_name, w->pod_uid);
            }
        } else if (err) {
            /* Not removed: the pod is looked at again. */
            json_object_del(c->rmfin, w->pod_uid);
            requeue(w);
        }
    }
    wctx_free(w);
}

/* Removes the tracking finalizer; then_delete: and deletes the pod (kube's deleteJobPods,
 * whose pods are not counted as failed). */
static void remove_tracking(vk_job_ctl *c, const json_t *job, const json_t *pod, bool then_delete)
{
    wctx *w = wctx_new(c, job, pod);
    if (!w)
        return;
    w->then_delete = then_delete;
    if (!then_delete)
        json_object_set_new(c->rmfin, w->pod_uid, json_string(vk_str(vk_meta(job), "uid")));
    if (!has_tracking(pod)) {
        tracking_dropped(w, 0, NULL, 0, NULL);
        return;
    }
    vk_registry_edit(c->s, c->pods_res, w->pod_ns, w->pod_name, drop_tracking, w, tracking_dropped,
                     w);
}

/* Adoption (ref) or release (NULL) of a pod. */
typedef struct claim {
    wctx *w;
    json_t *ref;
} claim;

static void apply_claim(void *ud, json_t *obj)
{
    claim *cl = ud;
    json_t *m = vk_meta(obj);
    if (strcmp(vk_str(m, "uid"), cl->w->pod_uid))
        return;
    json_t *refs = json_object_get(m, "ownerReferences");
    json_t *fins = json_object_get(m, "finalizers");
    if (cl->ref) {
        if (vk_controller_ref(obj) || deleting(obj))
            return;
        if (!json_is_array(refs))
            json_object_set_new(m, "ownerReferences", refs = json_array());
        json_array_append(refs, cl->ref);
        if (!has_tracking(obj)) {
            if (!json_is_array(fins))
                json_object_set_new(m, "finalizers", fins = json_array());
            json_array_append_new(fins, json_string(TRACKING));
        }
        return;
    }
    const char *uid = job_uid(cl->w);
    for (size_t i = json_array_size(refs); i-- > 0;)
        if (!strcmp(vk_str(json_array_get(refs, i), "uid"), uid))
            json_array_remove(refs, i);
    if (refs && !json_array_size(refs))
        json_object_del(m, "ownerReferences");
    drop_tracking(cl->w, obj);
}

static void claimed(void *ud, int err, const char *json, size_t len, json_t *status)
{
    claim *cl = ud;
    if (err && !cl->w->c->stopping)
        requeue(cl->w);
    json_decref(cl->ref);
    wctx_free(cl->w);
    free(cl);
}

static json_t *owner_ref(const json_t *job)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:b, s:b}", "apiVersion", "batch/v1", "kind", "Job",
                     "name", vk_str(vk_meta(job), "name"), "uid", vk_str(vk_meta(job), "uid"),
                     "controller", 1, "blockOwnerDeletion", 1);
}

static void claim_pod(vk_job_ctl *c, const json_t *job, const json_t *pod, bool adopt)
{
    claim *cl = calloc(1, sizeof *cl);
    if (!cl || !(cl->w = wctx_new(c, job, pod))) {
        free(cl);
        return;
    }
    cl->ref = adopt ? owner_ref(job) : NULL;
    vk_registry_edit(c->s, c->pods_res, cl->w->pod_ns, cl->w->pod_name, apply_claim, cl, claimed,
                     cl);
}

static void add_index_env(json_t *containers)
{
    size_t i;
    json_t *ctr;
    json_array_foreach(containers, i, ctr)
    {
        json_t *env = json_object_get(ctr, "env");
        bool have = false;
        size_t k;
        json_t *e;
        json_array_foreach(env, k, e) have |= !strcmp(vk_str(e, "name"), "JOB_COMPLETION_INDEX");
        if (have)
            continue;
        if (!json_is_array(env))
            json_object_set_new(ctr, "env", env = json_array());
        json_array_append_new(env, json_pack("{s:s, s:{s:{s:s}}}", "name", "JOB_COMPLETION_INDEX",
                                             "valueFrom", "fieldRef", "fieldPath",
                                             "metadata.labels['" INDEX_KEY "']"));
    }
}

/* failures: the index failure count annotations (-1: none). */
static void create_pod(vk_job_ctl *c, const json_t *job, int ix, long long failures,
                       long long ignored)
{
    json_t *tmpl = json_object_get(json_object_get(job, "spec"), "template");
    json_t *tm = json_object_get(tmpl, "metadata");
    json_t *spec = json_deep_copy(json_object_get(tmpl, "spec"));
    if (!json_is_object(spec))
        spec = json_object();
    const char *name = vk_str(vk_meta(job), "name");
    char prefix[300];
    snprintf(prefix, sizeof prefix, "%s-", name);
    json_t *pod = json_pack("{s:{s:s, s:[o]}, s:o}", "metadata", "generateName", prefix,
                            "ownerReferences", owner_ref(job), "spec", spec);
    json_t *m = vk_meta(pod);
    json_t *labels = json_deep_copy(json_object_get(tm, "labels"));
    json_t *ann = json_deep_copy(json_object_get(tm, "annotations"));
    json_t *fins = json_deep_copy(json_object_get(tm, "finalizers"));
    if (!json_is_object(labels))
        labels = json_object();
    if (!json_is_object(ann))
        ann = json_object();
    if (!json_is_array(fins))
        fins = json_array();
    bool have = false;
    size_t i;
    json_t *f;
    json_array_foreach(fins, i, f) have |= !strcmp(json_string_value(f) ?: "", TRACKING);
    if (!have)
        json_array_append_new(fins, json_string(TRACKING));
    if (ix >= 0) {
        char v[24], host[300];
        snprintf(v, sizeof v, "%d", ix);
        json_object_set_new(ann, INDEX_KEY, json_string(v));
        json_object_set_new(labels, INDEX_KEY, json_string(v));
        snprintf(host, sizeof host, "%s-%d", name, ix);
        json_object_set_new(spec, "hostname", json_string(host));
        /* kube's podGenerateNameWithIndex: cut to 58 characters with the index kept. */
        char suffix[32];
        snprintf(suffix, sizeof suffix, "-%d-", ix);
        size_t keep = strlen(name), sl = strlen(suffix);
        if (keep + sl > 58)
            keep = 58 - sl;
        snprintf(prefix, sizeof prefix, "%.*s%s", (int)keep, name, suffix);
        json_object_set_new(m, "generateName", json_string(prefix));
        add_index_env(json_object_get(spec, "initContainers"));
        add_index_env(json_object_get(spec, "containers"));
        if (failures >= 0) {
            snprintf(v, sizeof v, "%lld", failures);
            json_object_set_new(ann, FAILURES_KEY, json_string(v));
            if (ignored > 0) {
                snprintf(v, sizeof v, "%lld", ignored);
                json_object_set_new(ann, IGNORED_KEY, json_string(v));
            }
        }
    }
    json_object_set_new(m, "labels", labels);
    if (json_object_size(ann))
        json_object_set_new(m, "annotations", ann);
    else
        json_decref(ann);
    json_object_set_new(m, "finalizers", fins);
    wctx *w = wctx_new(c, job, NULL);
    if (w)
        vk_registry_create(c->s, c->pods_res, vk_str(vk_meta(job), "namespace"), pod, false,
                           pod_created, w);
    json_decref(pod);
}

/* ---- the status write ---- */

typedef struct status_write {
    vk_job_ctl *c;
    json_t *job;    /* the job as read (metadata for events and the precondition) */
    json_t *status; /* the new status */
    json_t *rm;     /* pods whose finalizer goes once the status is stored */
    json_t *events; /* [[type, reason, message]] recorded once it is stored */
    bool conflict;
} status_write;

static void put_status(void *ud, json_t *obj)
{
    status_write *sw = ud;
    json_t *m = vk_meta(obj), *jm = vk_meta(sw->job);
    sw->conflict = strcmp(vk_str(m, "uid"), vk_str(jm, "uid")) ||
                   strcmp(vk_str(m, "resourceVersion"), vk_str(jm, "resourceVersion"));
    if (!sw->conflict)
        json_object_set(obj, "status", sw->status);
}

static void status_stored(void *ud, int err, const char *json, size_t len, json_t *status)
{
    status_write *sw = ud;
    vk_job_ctl *c = sw->c;
    const char *uid = vk_str(vk_meta(sw->job), "uid");
    if (!c->stopping) {
        json_t *stored = !err && !sw->conflict ? json_loadb(json, len, 0, NULL) : NULL;
        if (stored) {
            json_object_set_new(c->written, uid,
                                json_string(vk_str(vk_meta(stored), "resourceVersion")));
            size_t i;
            json_t *p;
            json_array_foreach(sw->rm, i, p) remove_tracking(c, sw->job, p, false);
            json_t *e;
            json_array_foreach(sw->events, i, e) event(
                c, stored, json_string_value(json_array_get(e, 0)),
                json_string_value(json_array_get(e, 1)), json_string_value(json_array_get(e, 2)));
            if (json_array_size(sw->events))
                json_object_set_new(c->finished, uid, json_true());
            json_decref(stored);
        } else {
            json_object_del(c->written, uid);
            vk_log(VK_LOG_DEBUG, "job", "Status not written", "job=\"%s\" conflict=%d err=%d",
                   vk_str(vk_meta(sw->job), "name"), sw->conflict, err);
        }
        enqueue_job(c, vk_str(vk_meta(sw->job), "namespace"), vk_str(vk_meta(sw->job), "name"));
    }
    json_decref(sw->job);
    json_decref(sw->status);
    json_decref(sw->rm);
    json_decref(sw->events);
    free(sw);
}

/* ---- reconcile ---- */

typedef struct jpod {
    const json_t *p;
    const char *uid;
    bool fin;        /* carries the tracking finalizer (or is being adopted) */
    bool rm_pending; /* its finalizer removal is in flight */
    int ix;
} jpod;

typedef struct sync {
    vk_job_ctl *c;
    const json_t *job, *spec;
    const char *ns, *uid;
    time_t now;
    char nowts[21];
    bool indexed, per_index;
    long long completions; /* -1: unset */
    jpod *pods;
    size_t n;
    json_t *status;
    json_t *unc_s, *unc_f; /* arrays of uids in status.uncountedTerminatedPods */
    long long active, ready, terminating, succeeded, failed;
    json_t *finished; /* the finishing condition, or NULL */
    vk_ixset succ, prev_succ, fail;
    bool has_fail;
    long long requeue_ms;
} jsync;

static bool in_array(const json_t *a, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        if (!strcmp(json_string_value(v) ?: "", s))
            return true;
    }
    return false;
}

static json_t *condition(const char *type, const char *status, const char *reason, const char *msg,
                         const char *ts)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", type, "status", status,
                     "lastProbeTime", ts, "lastTransitionTime", ts, "reason", reason, "message",
                     msg);
}

static json_t *find_condition(const json_t *status, const char *type)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(status, "conditions"), i, c)
    {
        if (!strcmp(vk_str(c, "type"), type))
            return c;
    }
    return NULL;
}

/* kube's ensureJobConditionStatus. */
static bool ensure_condition(json_t *status, const char *type, const char *st, const char *reason,
                             const char *msg, const char *ts)
{
    json_t *conds = json_object_get(status, "conditions");
    json_t *c = find_condition(status, type);
    if (c) {
        if (strcmp(vk_str(c, "status"), st) || strcmp(vk_str(c, "reason"), reason) ||
            strcmp(vk_str(c, "message"), msg)) {
            json_t *n = condition(type, st, reason, msg, ts);
            json_object_update(c, n);
            json_decref(n);
            return true;
        }
        return false;
    }
    if (!strcmp(st, "False"))
        return false;
    if (!json_is_array(conds))
        json_object_set_new(status, "conditions", conds = json_array());
    json_array_append_new(conds, condition(type, st, reason, msg, ts));
    return true;
}

/* The pod ranking kube deletes by (controller.ActivePods, simplified): unscheduled,
 * pending, not ready, then the newest first. */
static int rank(const json_t *p)
{
    if (!*vk_str(json_object_get(p, "spec"), "nodeName"))
        return 0;
    if (!strcmp(phase_of(p), "Pending"))
        return 1;
    if (strcmp(phase_of(p), "Running"))
        return 2;
    return vk_pod_ready(p) ? 4 : 3;
}

static int cmp_removal(const void *x, const void *y)
{
    const json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
    int ra = rank(a), rb = rank(b);
    if (ra != rb)
        return ra - rb;
    return -strcmp(vk_str(vk_meta(a), "creationTimestamp"),
                   vk_str(vk_meta(b), "creationTimestamp"));
}

static int cmp_index(const void *x, const void *y)
{
    const jpod *a = x, *b = y;
    return (a->ix > b->ix) - (a->ix < b->ix);
}

/* kube's activePodsForRemoval: for an Indexed Job, pods without a valid index and all
 * but one pod of a repeated index first; then by rank. Fills out (of size nactive). */
static size_t pods_for_removal(jsync *x, const json_t **act, size_t nact, size_t at_least,
                               const json_t **out)
{
    size_t nrm = 0, nleft = 0;
    const json_t **left = malloc((nact + 1) * sizeof *left);
    if (!left)
        return 0;
    if (x->indexed) {
        /* Sorted by index; within an index keep the best ranked (the last by rank). */
        for (size_t i = 0; i < nact; i++) {
            int ix = vk_job_completion_index(act[i]);
            if (ix < 0 || ix >= x->completions) {
                out[nrm++] = act[i];
                continue;
            }
            size_t same = 0, best = i;
            for (size_t k = 0; k < nact; k++)
                if (vk_job_completion_index(act[k]) == ix) {
                    same++;
                    if (cmp_removal(&act[k], &act[best]) > 0)
                        best = k;
                }
            if (same > 1 && best != i)
                out[nrm++] = act[i];
            else
                left[nleft++] = act[i];
        }
    } else {
        for (size_t i = 0; i < nact; i++)
            left[nleft++] = act[i];
    }
    if (nrm < at_least) {
        qsort(left, nleft, sizeof *left, cmp_removal);
        for (size_t i = 0; i < nleft && nrm < at_least; i++)
            out[nrm++] = left[i];
    }
    free(left);
    return nrm;
}

/* kube's newBackoffRecord from the newly finished pods. */
static void update_backoff(jsync *x, const json_t **succ, size_t ns, const json_t **fail, size_t nf)
{
    vk_job_ctl *c = x->c;
    json_t *rec = json_object_get(c->backoff, x->uid);
    long long n = json_integer_value(json_array_get(rec, 0));
    time_t last = (time_t)json_integer_value(json_array_get(rec, 1));
    if (!ns && !nf)
        return;
    time_t last_success = 0, last_fail = 0;
    for (size_t i = 0; i < ns; i++)
        if (vk_job_pod_finished_time(succ[i]) > last_success)
            last_success = vk_job_pod_finished_time(succ[i]);
    if (!ns) {
        for (size_t i = 0; i < nf; i++)
            if (vk_job_pod_finished_time(fail[i]) > last_fail)
                last_fail = vk_job_pod_finished_time(fail[i]);
        n += (long long)nf;
        last = last_fail;
    } else {
        n = 0;
        last = 0;
        for (size_t i = 0; i < nf; i++) {
            time_t t = vk_job_pod_finished_time(fail[i]);
            if (t > last_success) {
                n++;
                if (t > last)
                    last = t;
            }
        }
    }
    json_object_set_new(c->backoff, x->uid, json_pack("[I, I]", (json_int_t)n, (json_int_t)last));
}

static bool past_backoff_on_failure(jsync *x)
{
    json_t *tspec = json_object_get(json_object_get(x->spec, "template"), "spec");
    if (strcmp(vk_str(tspec, "restartPolicy"), "OnFailure"))
        return false;
    long long restarts = 0;
    for (size_t i = 0; i < x->n; i++) {
        const char *ph = phase_of(x->pods[i].p);
        if (strcmp(ph, "Running") && strcmp(ph, "Pending"))
            continue;
        static const char *const lists[] = {"initContainerStatuses", "containerStatuses"};
        for (int l = 0; l < 2; l++) {
            size_t k;
            json_t *cs;
            json_array_foreach(json_object_get(json_object_get(x->pods[i].p, "status"), lists[l]),
                               k, cs) restarts += int_or(cs, "restartCount", 0);
        }
    }
    long long limit = int_or(x->spec, "backoffLimit", 6);
    return limit == 0 ? restarts > 0 : restarts >= limit;
}

static bool valid_index(const jsync *x, int ix)
{
    return ix >= 0 && ix < x->completions;
}

/* A pod of an index is failed for good (kube's isIndexFailed). */
static bool index_failed(jsync *x, const json_t *pod)
{
    if (!pod_failed(pod, x->spec))
        return false;
    bool counted = true;
    if (json_object_get(x->spec, "podFailurePolicy")) {
        char msg[8];
        enum vk_pfp_action a = vk_job_pfp_match(x->spec, pod, msg, sizeof msg);
        if (a == VK_PFP_FAIL_INDEX)
            return true;
        counted = pfp_counts(a);
    }
    return counted &&
           annotation_int(pod, FAILURES_KEY) >= int_or(x->spec, "backoffLimitPerIndex", 0);
}

/* For backoffLimitPerIndex: the last failed pod of each index waiting for its
 * replacement (kube's podsWithDelayedDeletionPerIndex); out has completions slots. */
static void delayed_per_index(jsync *x, const json_t **out)
{
    for (size_t i = 0; i < x->n; i++) {
        jpod *jp = &x->pods[i];
        if (!jp->fin || jp->rm_pending || !valid_index(x, jp->ix) || !pod_failed(jp->p, x->spec))
            continue;
        if (vk_ixset_has(&x->succ, jp->ix) || vk_ixset_has(&x->fail, jp->ix))
            continue;
        bool active_ix = false;
        for (size_t k = 0; k < x->n; k++)
            active_ix |= pod_active(x->pods[k].p) && x->pods[k].ix == jp->ix;
        if (active_ix)
            continue;
        const json_t *prev = out[jp->ix];
        if (!prev || (annotation_int(prev, FAILURES_KEY) <= annotation_int(jp->p, FAILURES_KEY) &&
                      vk_job_pod_finished_time(jp->p) >= vk_job_pod_finished_time(prev)))
            out[jp->ix] = jp->p;
    }
}

static json_t *new_condition_from(const json_t *c, const char *type, const char *ts)
{
    return condition(type, "True", vk_str(c, "reason"), vk_str(c, "message"), ts);
}

/* kube's omitempty: zero counters and empty lists are left out. */
static void normalize_status(json_t *st)
{
    static const char *const zero[] = {"active", "succeeded", "failed"};
    for (size_t i = 0; i < 3; i++)
        if (json_is_integer(json_object_get(st, zero[i])) &&
            !json_integer_value(json_object_get(st, zero[i])))
            json_object_del(st, zero[i]);
    json_t *u = json_object_get(st, "uncountedTerminatedPods");
    if (json_is_object(u)) {
        if (!json_array_size(json_object_get(u, "succeeded")))
            json_object_del(u, "succeeded");
        if (!json_array_size(json_object_get(u, "failed")))
            json_object_del(u, "failed");
    }
    if (json_is_string(json_object_get(st, "completedIndexes")) &&
        !*json_string_value(json_object_get(st, "completedIndexes")))
        json_object_del(st, "completedIndexes");
    if (!json_array_size(json_object_get(st, "conditions")))
        json_object_del(st, "conditions");
}

/* Collects the Job's pods (kube's getPodsForJob), adopting and releasing. */
static void collect_pods(jsync *x, const json_t *sel_obj)
{
    vk_job_ctl *c = x->c;
    json_t *text = vk_label_selector_format(sel_obj);
    vk_selector *sel = NULL;
    char err[256];
    if (json_string_length(text))
        vk_label_selector_parse(json_string_value(text), &sel, err, sizeof err);
    json_decref(text);
    bool job_deleting = deleting(x->job);
    const char *k;
    json_t *pod;
    json_object_foreach((json_t *)vk_informer_items(c->pods), k, pod)
    {
        if (strcmp(vk_str(vk_meta(pod), "namespace"), x->ns))
            continue;
        const json_t *ref = vk_controller_ref(pod);
        bool mine = ref && !strcmp(vk_str(ref, "uid"), x->uid);
        if (ref && !mine)
            continue;
        bool matches =
            sel && vk_selector_match_labels(sel, json_object_get(vk_meta(pod), "labels"));
        bool adopted = false;
        if (mine && !matches) {
            if (!job_deleting)
                claim_pod(c, x->job, pod, false);
            if (!job_deleting)
                continue;
        } else if (!mine) {
            if (!matches || job_deleting || deleting(pod))
                continue;
            claim_pod(c, x->job, pod, true);
            adopted = true;
        }
        jpod *jp = &x->pods[x->n++];
        const char *uid = vk_str(vk_meta(pod), "uid");
        *jp = (jpod){.p = pod,
                     .uid = uid,
                     .fin = has_tracking(pod) || adopted,
                     .rm_pending = json_object_get(c->rmfin, uid) != NULL,
                     .ix = vk_job_completion_index(pod)};
    }
    vk_selector_free(sel);
}

static void delete_job_pods(jsync *x, const json_t **pods, size_t n)
{
    expectation *e = expect(x->c, x->uid, true);
    if (e) {
        *e = (expectation){.dels = (int)n, .since = time(NULL)};
        snprintf(e->uid, sizeof e->uid, "%s", x->uid);
    }
    for (size_t i = 0; i < n; i++) {
        x->ready -= vk_pod_ready(pods[i]);
        remove_tracking(x->c, x->job, pods[i], true);
    }
    x->active -= (long long)n;
    x->terminating += (long long)n;
}

/* kube's firstPendingIndexes. */
static size_t pending_indexes(jsync *x, long long count, int *out)
{
    vk_ixset non = {calloc((size_t)(x->completions > 0 ? x->completions : 1), 1), x->completions};
    if (!non.v)
        return 0;
    for (long long i = 0; i < x->completions; i++)
        non.v[i] = vk_ixset_has(&x->succ, i) || vk_ixset_has(&x->fail, i);
    for (size_t i = 0; i < x->n; i++) {
        const json_t *p = x->pods[i].p;
        bool counts =
            pod_active(p) || (only_replace_failed(x->spec) && !terminal(p) && deleting(p));
        if (counts && valid_index(x, x->pods[i].ix))
            non.v[x->pods[i].ix] = 1;
    }
    size_t n = 0;
    for (long long i = 0; i < x->completions && (long long)n < count; i++)
        if (!non.v[i])
            out[n++] = (int)i;
    free(non.v);
    return n;
}

/* kube's manageJob; returns whether it ran. */
static void manage(jsync *x, const json_t **act, size_t nact)
{
    vk_job_ctl *c = x->c;
    long long parallelism = int_or(x->spec, "parallelism", 1);
    const json_t **rm = malloc((nact + 1) * sizeof *rm);
    if (!rm)
        return;
    if (json_is_true(json_object_get(x->spec, "suspend"))) {
        size_t n = pods_for_removal(x, act, nact, nact, rm);
        delete_job_pods(x, rm, n);
        free(rm);
        return;
    }
    long long want;
    if (x->completions < 0) {
        want = x->succeeded > 0 ? x->active : parallelism;
    } else {
        want = x->completions - x->succeeded;
        if (want > parallelism)
            want = parallelism;
        if (want < 0)
            want = 0;
    }
    long long rm_at_least = x->active - want > 0 ? x->active - want : 0;
    size_t n = pods_for_removal(x, act, nact, (size_t)rm_at_least, rm);
    if (n > MAX_PER_SYNC)
        n = MAX_PER_SYNC;
    if (n) {
        delete_job_pods(x, rm, n);
        free(rm);
        return;
    }
    free(rm);
    long long term = only_replace_failed(x->spec) ? x->terminating : 0;
    long long diff = want - term - x->active;
    if (diff <= 0)
        return;
    if (!x->per_index) {
        json_t *rec = json_object_get(c->backoff, x->uid);
        long long left = vk_job_backoff_left(x->now, json_integer_value(json_array_get(rec, 0)),
                                             (time_t)json_integer_value(json_array_get(rec, 1)));
        if (left > 0) {
            if (!x->requeue_ms || left * 1000 < x->requeue_ms)
                x->requeue_ms = left * 1000;
            return;
        }
    }
    if (diff > MAX_PER_SYNC)
        diff = MAX_PER_SYNC;
    /* After a refused create: wait, then one pod to probe (kube's slow start). */
    json_t *retry = json_object_get(c->retry, x->uid);
    if (retry) {
        long long left = json_integer_value(json_array_get(retry, 0)) - (long long)vk_now_ms();
        if (left > 0) {
            if (!x->requeue_ms || left < x->requeue_ms)
                x->requeue_ms = left;
            return;
        }
        diff = 1;
    }
    int *ixs = NULL;
    long long *fails = NULL, *ign = NULL;
    if (x->indexed) {
        ixs = malloc((size_t)diff * sizeof *ixs);
        fails = calloc((size_t)diff, sizeof *fails);
        ign = calloc((size_t)diff, sizeof *ign);
        if (!ixs || !fails || !ign) {
            free(ixs);
            free(fails);
            free(ign);
            return;
        }
        size_t got = pending_indexes(x, diff, ixs);
        for (size_t i = 0; i < got; i++)
            fails[i] = -1;
        if (x->per_index) {
            const json_t **delayed = calloc((size_t)x->completions, sizeof *delayed);
            if (delayed)
                delayed_per_index(x, delayed);
            size_t now_n = 0;
            long long min_left = -1;
            for (size_t i = 0; i < got; i++) {
                const json_t *prev = delayed ? delayed[ixs[i]] : NULL;
                long long f = prev ? annotation_int(prev, FAILURES_KEY) : 0;
                long long g = prev ? annotation_int(prev, IGNORED_KEY) : 0;
                if (prev) {
                    char msg[8];
                    if (pfp_counts(vk_job_pfp_match(x->spec, prev, msg, sizeof msg)))
                        f++;
                    else
                        g++;
                }
                long long left =
                    prev ? vk_job_backoff_left(x->now, annotation_int(prev, FAILURES_KEY) + 1,
                                               vk_job_pod_finished_time(prev))
                         : 0;
                if (left > 0) {
                    if (min_left < 0 || left < min_left)
                        min_left = left;
                    continue;
                }
                ixs[now_n] = ixs[i];
                fails[now_n] = f;
                ign[now_n++] = g;
            }
            free(delayed);
            if (!now_n && min_left > 0) {
                x->requeue_ms = min_left * 1000;
                got = 0;
            } else {
                got = now_n;
            }
        }
        diff = (long long)got;
    }
    if (diff > 0) {
        expectation *e = expect(c, x->uid, true);
        if (e) {
            *e = (expectation){.adds = (int)diff, .since = time(NULL)};
            snprintf(e->uid, sizeof e->uid, "%s", x->uid);
        }
        for (long long i = 0; i < diff; i++)
            create_pod(c, x->job, ixs ? ixs[i] : -1, fails ? fails[i] : -1, ign ? ign[i] : 0);
        x->active += diff;
    }
    free(ixs);
    free(fails);
    free(ign);
}

/* kube's trackJobStatusAndRemoveFinalizers, in two steps: the status (with the newly
 * finished pods in uncountedTerminatedPods) is written, then the finalizers removed;
 * the next reconcile counts the pods that lost theirs. */
static void track(jsync *x)
{
    vk_job_ctl *c = x->c;
    json_t *st = x->status;
    /* Pods that no longer carry the finalizer leave the uncounted lists for the counts. */
    static const char *const kinds[] = {"succeeded", "failed"};
    json_t *lists[] = {x->unc_s, x->unc_f};
    for (int k = 0; k < 2; k++) {
        long long moved = 0;
        for (size_t i = json_array_size(lists[k]); i-- > 0;) {
            const char *u = json_string_value(json_array_get(lists[k], i)) ?: "";
            bool with_fin = false;
            for (size_t p = 0; p < x->n; p++)
                with_fin |= x->pods[p].fin && !x->pods[p].rm_pending && !strcmp(x->pods[p].uid, u);
            if (!with_fin) {
                json_array_remove(lists[k], i);
                moved++;
            }
        }
        if (moved)
            json_object_set_new(st, kinds[k], json_integer(int_or(st, kinds[k], 0) + moved));
    }
    if (x->indexed)
        qsort(x->pods, x->n, sizeof *x->pods, cmp_index);
    const json_t **delayed = NULL;
    if (x->per_index && x->completions > 0 &&
        (delayed = calloc((size_t)x->completions, sizeof *delayed)))
        delayed_per_index(x, delayed);
    json_t *rm = json_array();
    bool reached_max = false;
    long long new_ix = 0;
    bool failing = x->finished && strcmp(vk_str(x->finished, "type"), "SuccessCriteriaMet");
    for (size_t i = 0; i < x->n; i++) {
        jpod *jp = &x->pods[i];
        if (!jp->fin || jp->rm_pending)
            continue;
        bool failed = pod_failed(jp->p, x->spec);
        bool can = deleting(x->job) || x->finished || !strcmp(phase_of(jp->p), "Succeeded") ||
                   (failed && !(delayed && valid_index(x, jp->ix) && delayed[jp->ix] == jp->p));
        if (!can)
            continue;
        json_array_append(rm, (json_t *)jp->p);
        if (!strcmp(phase_of(jp->p), "Succeeded") && !in_array(x->unc_f, jp->uid)) {
            if (x->indexed) {
                if (valid_index(x, jp->ix) && !vk_ixset_has(&x->prev_succ, jp->ix))
                    new_ix++;
            } else if (!in_array(x->unc_s, jp->uid)) {
                json_array_append_new(x->unc_s, json_string(jp->uid));
            }
        } else if (failed || failing) {
            if (!in_array(x->unc_f, jp->uid) && (!x->indexed || valid_index(x, jp->ix))) {
                char msg[8];
                if (pfp_counts(vk_job_pfp_match(x->spec, jp->p, msg, sizeof msg)))
                    json_array_append_new(x->unc_f, json_string(jp->uid));
            }
        }
        if (new_ix + (long long)json_array_size(x->unc_s) + (long long)json_array_size(x->unc_f) >=
            MAX_UNCOUNTED) {
            reached_max = true;
            break;
        }
    }
    free(delayed);
    if (x->indexed) {
        json_object_set_new(st, "completedIndexes", vk_ixset_format(&x->succ));
        json_object_set_new(st, "succeeded", json_integer(vk_ixset_total(&x->succ)));
        if (x->has_fail)
            json_object_set_new(st, "failedIndexes", vk_ixset_format(&x->fail));
        else
            json_object_del(st, "failedIndexes");
    }
    json_t *fin = x->finished ? json_incref(x->finished) : NULL;
    if (fin && !strcmp(vk_str(fin, "type"), "FailureTarget")) {
        ensure_condition(st, "FailureTarget", "True", vk_str(fin, "reason"), vk_str(fin, "message"),
                         x->nowts);
        json_t *f = new_condition_from(fin, "Failed", x->nowts);
        json_decref(fin);
        fin = f;
    }
    if (fin && !strcmp(vk_str(fin, "type"), "SuccessCriteriaMet")) {
        ensure_condition(st, "SuccessCriteriaMet", "True", vk_str(fin, "reason"),
                         vk_str(fin, "message"), x->nowts);
        json_t *f = new_condition_from(fin, "Complete", x->nowts);
        json_decref(fin);
        fin = f;
    }
    /* kube's enactJobFinished. */
    json_t *events = json_array();
    if (fin && !reached_max && !json_array_size(x->unc_s) && !json_array_size(x->unc_f) &&
        !x->terminating) {
        const char *type = vk_str(fin, "type");
        ensure_condition(st, type, "True", vk_str(fin, "reason"), vk_str(fin, "message"), x->nowts);
        if (!strcmp(type, "Complete")) {
            json_object_set_new(st, "completionTime", json_string(x->nowts));
            if (x->completions >= 0 && int_or(st, "succeeded", 0) > x->completions)
                json_array_append_new(events,
                                      json_pack("[s, s, s]", "Warning", "TooManySucceededPods",
                                                "Too many succeeded pods running after completion "
                                                "count reached"));
            json_array_append_new(events,
                                  json_pack("[s, s, s]", "Normal", "Completed", "Job completed"));
        } else {
            json_array_append_new(events, json_pack("[s, s, s]", "Warning", vk_str(fin, "reason"),
                                                    vk_str(fin, "message")));
        }
    }
    json_decref(fin);
    normalize_status(st);
    json_t *cur = json_deep_copy(json_object_get(x->job, "status"));
    if (!json_is_object(cur))
        cur = json_object();
    normalize_status(cur);
    if (json_equal(cur, st)) {
        size_t i;
        json_t *p;
        json_array_foreach(rm, i, p) remove_tracking(c, x->job, p, false);
        json_decref(rm);
        json_decref(events);
    } else {
        status_write *sw = calloc(1, sizeof *sw);
        if (sw) {
            *sw = (status_write){.c = c,
                                 .job = json_deep_copy(x->job),
                                 .status = json_incref(st),
                                 .rm = rm,
                                 .events = events};
            json_object_set_new(c->written, x->uid, json_string(""));
            vk_registry_edit(c->s, c->res, x->ns, vk_str(vk_meta(x->job), "name"), put_status, sw,
                             status_stored, sw);
        } else {
            json_decref(rm);
            json_decref(events);
        }
    }
    json_decref(cur);
}

static unsigned long long rv_num(const char *s)
{
    return strtoull(s ? s : "0", NULL, 10);
}

static int sync_job(vk_job_ctl *c, const char *ns, const char *name)
{
    const json_t *job = vk_informer_get(c->jobs, ns, name);
    if (!job)
        return 0;
    const char *uid = vk_str(vk_meta(job), "uid");
    if (job_finished_as(job, NULL)) {
        json_object_del(c->backoff, uid);
        json_object_del(c->finished, uid);
        json_object_del(c->written, uid);
        return 0;
    }
    if (json_object_get(c->finished, uid))
        return 0;
    /* Our last status write must be seen first. */
    json_t *w = json_object_get(c->written, uid);
    if (w) {
        if (!*json_string_value(w) ||
            rv_num(vk_str(vk_meta(job), "resourceVersion")) < rv_num(json_string_value(w)))
            return 0;
        json_object_del(c->written, uid);
    }
    const json_t *spec = json_object_get(job, "spec");
    const char *managed = vk_str(spec, "managedBy");
    if (*managed && strcmp(managed, "kubernetes.io/job-controller"))
        return 0;
    const char *mode = vk_str(spec, "completionMode");
    if (*mode && strcmp(mode, "NonIndexed") && strcmp(mode, "Indexed")) {
        event(c, job, "Warning", "UnknownCompletionMode",
              "Skipped Job sync because completion mode is unknown");
        return 0;
    }
    jsync x = {.c = c,
               .job = job,
               .spec = spec,
               .ns = ns,
               .uid = uid,
               .now = time(NULL),
               .indexed = !strcmp(mode, "Indexed"),
               .per_index = json_is_integer(json_object_get(spec, "backoffLimitPerIndex")),
               .completions = int_or(spec, "completions", -1)};
    vk_time_format(x.now, x.nowts);
    if (x.indexed && x.completions < 0)
        return 0;
    bool sat = satisfied(c, uid);
    x.pods = calloc(json_object_size(vk_informer_items(c->pods)) + 1, sizeof *x.pods);
    if (!x.pods)
        return -ENOMEM;
    collect_pods(&x, json_object_get(spec, "selector"));
    x.status = json_deep_copy(json_object_get(job, "status"));
    if (!json_is_object(x.status))
        x.status = json_object();
    json_t *unc = json_object_get(x.status, "uncountedTerminatedPods");
    if (!json_is_object(unc))
        json_object_set_new(x.status, "uncountedTerminatedPods", unc = json_object());
    if (!json_is_array(x.unc_s = json_object_get(unc, "succeeded")))
        json_object_set_new(unc, "succeeded", x.unc_s = json_array());
    if (!json_is_array(x.unc_f = json_object_get(unc, "failed")))
        json_object_set_new(unc, "failed", x.unc_f = json_array());
    const json_t **act = calloc(x.n + 1, sizeof *act);
    const json_t **nsucc = calloc(x.n + 1, sizeof *nsucc);
    const json_t **nfail = calloc(x.n + 1, sizeof *nfail);
    if (!act || !nsucc || !nfail) {
        free(act);
        free(nsucc);
        free(nfail);
        free(x.pods);
        json_decref(x.status);
        return -ENOMEM;
    }
    size_t nact = 0, nns = 0, nnf = 0;
    long long ignored_new = 0;
    for (size_t i = 0; i < x.n; i++) {
        jpod *jp = &x.pods[i];
        if (pod_active(jp->p)) {
            act[nact++] = jp->p;
            x.ready += vk_pod_ready(jp->p);
        }
        x.terminating += !terminal(jp->p) && deleting(jp->p);
        if (!jp->fin || jp->rm_pending || (x.indexed && !valid_index(&x, jp->ix)))
            continue;
        if (!strcmp(phase_of(jp->p), "Succeeded") && !in_array(x.unc_s, jp->uid))
            nsucc[nns++] = jp->p;
        if (pod_failed(jp->p, spec) && !in_array(x.unc_f, jp->uid)) {
            nfail[nnf++] = jp->p;
            char msg[8];
            ignored_new += !pfp_counts(vk_job_pfp_match(spec, jp->p, msg, sizeof msg));
        }
    }
    x.active = (long long)nact;
    x.succeeded =
        int_or(x.status, "succeeded", 0) + (long long)nns + (long long)json_array_size(x.unc_s);
    x.failed = int_or(x.status, "failed", 0) + (long long)nnf - ignored_new +
               (long long)json_array_size(x.unc_f);
    bool suspended = json_is_true(json_object_get(spec, "suspend"));
    if (!json_object_get(x.status, "startTime") && !suspended)
        json_object_set_new(x.status, "startTime", json_string(x.nowts));
    update_backoff(&x, nsucc, nns, nfail, nnf);

    /* The finish, in kube's order. */
    long long backoff_limit = int_or(spec, "backoffLimit", 6);
    json_t *scm = find_condition(x.status, "SuccessCriteriaMet");
    if (scm && !strcmp(vk_str(scm, "status"), "True"))
        x.finished = json_deep_copy(scm);
    if (!x.finished) {
        json_t *ft = find_condition(x.status, "FailureTarget");
        char msg[600];
        if (ft && !strcmp(vk_str(ft, "status"), "True")) {
            x.finished = new_condition_from(ft, "Failed", x.nowts);
        } else if (json_object_get(spec, "podFailurePolicy")) {
            for (size_t i = 0; i < x.n && !x.finished; i++)
                if (pod_failed(x.pods[i].p, spec) &&
                    vk_job_pfp_match(spec, x.pods[i].p, msg, sizeof msg) == VK_PFP_FAIL_JOB)
                    x.finished =
                        condition("FailureTarget", "True", "PodFailurePolicy", msg, x.nowts);
        }
    }
    if (!x.finished) {
        time_t start = ts_of(vk_str(x.status, "startTime"));
        json_t *ads = json_object_get(spec, "activeDeadlineSeconds");
        if (x.failed > backoff_limit || past_backoff_on_failure(&x)) {
            x.finished = condition("FailureTarget", "True", "BackoffLimitExceeded",
                                   "Job has reached the specified backoff limit", x.nowts);
        } else if (json_is_integer(ads) && start && !suspended &&
                   x.now - start >= json_integer_value(ads)) {
            x.finished = condition("FailureTarget", "True", "DeadlineExceeded",
                                   "Job was active longer than specified deadline", x.nowts);
        } else if (json_is_integer(ads) && start && !suspended) {
            x.requeue_ms = (json_integer_value(ads) - (x.now - start)) * 1000;
        }
    }
    if (x.indexed) {
        vk_ixset_parse(&x.prev_succ, vk_str(x.status, "completedIndexes"), x.completions);
        vk_ixset_parse(&x.succ, vk_str(x.status, "completedIndexes"), x.completions);
        for (size_t i = 0; i < x.n; i++)
            if (x.succ.v && x.pods[i].fin && valid_index(&x, x.pods[i].ix) &&
                !strcmp(phase_of(x.pods[i].p), "Succeeded"))
                x.succ.v[x.pods[i].ix] = 1;
        x.succeeded = vk_ixset_total(&x.succ);
        if (x.per_index) {
            x.has_fail = true;
            vk_ixset_parse(&x.fail, vk_str(x.status, "failedIndexes"), x.completions);
            for (size_t i = 0; i < x.n; i++)
                if (x.fail.v && x.pods[i].fin && valid_index(&x, x.pods[i].ix) &&
                    index_failed(&x, x.pods[i].p))
                    x.fail.v[x.pods[i].ix] = 1;
            long long nf = vk_ixset_total(&x.fail);
            json_t *mfi = json_object_get(spec, "maxFailedIndexes");
            if (!x.finished && json_is_integer(mfi) && nf > json_integer_value(mfi))
                x.finished = condition(
                    "FailureTarget", "True", "MaxFailedIndexesExceeded",
                    "Job has exceeded the specified maximal number of failed indexes", x.nowts);
            else if (!x.finished && nf > 0 && nf + vk_ixset_total(&x.succ) >= x.completions)
                x.finished = condition("FailureTarget", "True", "FailedIndexes",
                                       "Job has failed indexes", x.nowts);
        }
        /* successPolicy (kube's matchSuccessPolicy). */
        json_t *rules = json_object_get(json_object_get(spec, "successPolicy"), "rules");
        size_t ri;
        json_t *rule;
        json_array_foreach(rules, ri, rule)
        {
            if (x.finished || !vk_ixset_total(&x.succ))
                break;
            json_t *sc = json_object_get(rule, "succeededCount");
            bool met = false;
            if (json_is_string(json_object_get(rule, "succeededIndexes"))) {
                vk_ixset req;
                vk_ixset_parse(&req, vk_str(rule, "succeededIndexes"), x.completions);
                long long need = vk_ixset_total(&req), have = 0;
                for (long long i = 0; req.v && i < req.n; i++)
                    have += req.v[i] && vk_ixset_has(&x.succ, i);
                met = need > 0 &&
                      (have == need || (json_is_integer(sc) && have >= json_integer_value(sc)));
                free(req.v);
            } else if (json_is_integer(sc)) {
                met = vk_ixset_total(&x.succ) >= json_integer_value(sc);
            }
            if (met) {
                char msg[64];
                snprintf(msg, sizeof msg, "Matched rules at index %zu", ri);
                x.finished = condition("SuccessCriteriaMet", "True", "SuccessPolicy", msg, x.nowts);
            }
        }
    }
    if (x.finished) {
        /* Active pods of a finished Job go, with their finalizers. */
        long long deleted = 0;
        for (size_t i = 0; i < nact; i++) {
            x.ready -= vk_pod_ready(act[i]);
            delete_pod(c, job, ns, vk_str(vk_meta(act[i]), "name"), vk_str(vk_meta(act[i]), "uid"));
            deleted++;
        }
        if (deleted != x.active || !sat) {
            json_decref(x.finished);
            x.finished = NULL;
        }
        x.active -= deleted;
        x.terminating += deleted;
    } else {
        bool managed_now = false;
        if (sat && !deleting(job)) {
            manage(&x, act, nact);
            managed_now = true;
        }
        bool complete = x.completions < 0 ? x.succeeded > 0 && x.active == 0
                                          : x.succeeded >= x.completions && x.active == 0;
        if (complete) {
            x.finished = condition("SuccessCriteriaMet", "True", "CompletionsReached",
                                   "Reached expected number of succeeded pods", x.nowts);
        } else if (managed_now) {
            if (suspended) {
                if (ensure_condition(x.status, "Suspended", "True", "JobSuspended", "Job suspended",
                                     x.nowts)) {
                    event(c, job, "Normal", "Suspended", "Job suspended");
                    json_object_del(x.status, "startTime");
                }
            } else if (ensure_condition(x.status, "Suspended", "False", "JobResumed", "Job resumed",
                                        x.nowts)) {
                event(c, job, "Normal", "Resumed", "Job resumed");
                json_object_set_new(x.status, "startTime", json_string(x.nowts));
            }
        }
    }
    json_object_set_new(x.status, "active", json_integer(x.active));
    json_object_set_new(x.status, "ready", json_integer(x.ready > 0 ? x.ready : 0));
    json_object_set_new(x.status, "terminating", json_integer(x.terminating));
    track(&x);
    json_decref(x.finished);
    json_decref(x.status);
    free(x.succ.v);
    free(x.prev_succ.v);
    free(x.fail.v);
    free(act);
    free(nsucc);
    free(nfail);
    free(x.pods);
    long long rq = x.requeue_ms;
    return rq > 0 ? (int)(rq > 3600000 ? 3600000 : rq) : 0;
}

/* An orphan pod (or one of a finished or gone Job) loses the tracking finalizer. */
static int sync_orphan(vk_job_ctl *c, const char *ns, const char *name)
{
    const json_t *pod = vk_informer_get(c->pods, ns, name);
    if (!pod || !has_tracking(pod))
        return 0;
    const json_t *ref = vk_controller_ref(pod);
    if (ref) {
        if (strcmp(vk_str(ref, "kind"), "Job") || strcmp(vk_str(ref, "apiVersion"), "batch/v1"))
            return 0;
        const json_t *job = vk_informer_get(c->jobs, ns, vk_str(ref, "name"));
        if (job && strcmp(vk_str(vk_meta(job), "uid"), vk_str(ref, "uid")))
            job = NULL;
        if (job) {
            const char *managed = vk_str(json_object_get(job, "spec"), "managedBy");
            if (*managed && strcmp(managed, "kubernetes.io/job-controller"))
                return 0;
            if (!job_finished_as(job, NULL))
                return 0;
        }
    }
    json_t *none = json_pack("{s:{s:s, s:s}}", "metadata", "namespace", ns, "name", "");
    wctx *w = wctx_new(c, none, pod);
    json_decref(none);
    if (w) {
        w->orphan = true;
        snprintf(w->ref_uid, sizeof w->ref_uid, "%s", vk_str(ref, "uid"));
    }
    if (w)
        vk_registry_edit(c->s, c->pods_res, ns, name, drop_tracking, w, tracking_dropped, w);
    return 0;
}

static int reconcile(void *ud, const char *key)
{
    vk_job_ctl *c = ud;
    if (c->stopping)
        return 0;
    bool orphan = !strncmp(key, "o:", 2);
    char ns[256];
    const char *name;
    if (!split_key(orphan ? key + 2 : key, ns, &name))
        return 0;
    return orphan ? sync_orphan(c, ns, name) : sync_job(c, ns, name);
}

/* ---- TTL after finished ---- */

static void ttl_deleted(void *ud, int err, const char *json, size_t len, json_t *status)
{
    wctx *w = ud;
    if (err && err != VK_ENOTFOUND && !w->c->stopping)
        vk_log(VK_LOG_DEBUG, "ttlafterfinished", "Job not deleted", "job=\"%s\" err=\"%s\"",
               vk_str(vk_meta(w->job), "name"), status_message(status));
    wctx_free(w);
}

static int reconcile_ttl(void *ud, const char *key)
{
    vk_job_ctl *c = ud;
    char ns[256];
    const char *name;
    if (c->stopping || !split_key(key, ns, &name))
        return 0;
    const json_t *job = vk_informer_get(c->jobs, ns, name);
    const char *type;
    if (!job || deleting(job) || !job_finished_as(job, &type))
        return 0;
    json_t *ttl = json_object_get(json_object_get(job, "spec"), "ttlSecondsAfterFinished");
    if (!json_is_integer(ttl))
        return 0;
    time_t done =
        ts_of(vk_str(find_condition(json_object_get(job, "status"), type), "lastTransitionTime"));
    if (!done)
        return 0;
    long long left = (long long)done + json_integer_value(ttl) - (long long)time(NULL);
    if (left > 0)
        return (int)(left > 3600 ? 3600000 : left * 1000);
    json_t *opts = json_pack("{s:s, s:{s:s, s:s}}", "propagationPolicy", "Background",
                             "preconditions", "uid", vk_str(vk_meta(job), "uid"), "resourceVersion",
                             vk_str(vk_meta(job), "resourceVersion"));
    wctx *w = wctx_new(c, job, NULL);
    if (w)
        vk_registry_delete_opts(c->s, c->res, ns, name, opts, ttl_deleted, w);
    json_decref(opts);
    return 0;
}

/* ---- events ---- */

static void job_changed(void *ud, const json_t *old, const json_t *obj)
{
    vk_job_ctl *c = ud;
    const json_t *job = obj ? obj : old;
    const char *ns = vk_str(vk_meta(job), "namespace"), *name = vk_str(vk_meta(job), "name");
    char key[600];
    snprintf(key, sizeof key, "%s/%s", ns, name);
    if (!obj) {
        const char *uid = vk_str(vk_meta(old), "uid");
        forget_expectations(c, uid);
        json_object_del(c->backoff, uid);
        json_object_del(c->finished, uid);
        json_object_del(c->written, uid);
        json_object_del(c->retry, uid);
        /* Its pods that still carry the finalizer lose it. */
        const char *k;
        json_t *pod;
        json_object_foreach((json_t *)vk_informer_items(c->pods), k, pod)
        {
            const json_t *ref = vk_controller_ref(pod);
            if (ref && !strcmp(vk_str(ref, "uid"), uid) && has_tracking(pod)) {
                char ok[600];
                snprintf(ok, sizeof ok, "o:%s", k);
                vk_controller_enqueue(c->ctl, ok);
            }
        }
        return;
    }
    vk_controller_enqueue(c->ctl, key);
    vk_controller_enqueue(c->ttl, key);
    if (job_finished_as(obj, NULL)) {
        /* A backup: pods of a finished Job must not keep the finalizer. */
        const char *uid = vk_str(vk_meta(obj), "uid");
        const char *k;
        json_t *pod;
        json_object_foreach((json_t *)vk_informer_items(c->pods), k, pod)
        {
            const json_t *ref = vk_controller_ref(pod);
            if (ref && !strcmp(vk_str(ref, "uid"), uid) && has_tracking(pod) &&
                !json_object_get(c->rmfin, vk_str(vk_meta(pod), "uid"))) {
                char ok[600];
                snprintf(ok, sizeof ok, "o:%s", k);
                vk_controller_enqueue(c->ctl, ok);
            }
        }
    }
}

static const json_t *job_by_ref(vk_job_ctl *c, const char *ns, const json_t *ref)
{
    if (!ref || strcmp(vk_str(ref, "kind"), "Job"))
        return NULL;
    const json_t *job = vk_informer_get(c->jobs, ns, vk_str(ref, "name"));
    return job && !strcmp(vk_str(vk_meta(job), "uid"), vk_str(ref, "uid")) ? job : NULL;
}

static void pod_changed(void *ud, const json_t *old, const json_t *obj)
{
    vk_job_ctl *c = ud;
    const json_t *pod = obj ? obj : old;
    json_t *m = vk_meta(pod);
    const char *ns = vk_str(m, "namespace"), *uid = vk_str(m, "uid");
    /* Finalizer removals observed. */
    if (!obj || !has_tracking(obj))
        json_object_del(c->rmfin, uid);
    const json_t *ref = vk_controller_ref(pod);
    const json_t *oref = old && obj ? vk_controller_ref(old) : NULL;
    const json_t *job = job_by_ref(c, ns, ref);
    char okey[600];
    snprintf(okey, sizeof okey, "o:%s/%s", ns, vk_str(m, "name"));
    if (job) {
        const char *juid = vk_str(vk_meta(job), "uid");
        bool was_deleting = old && deleting(old);
        if (!old && obj && !deleting(obj))
            observed(c, juid, 1, 0);
        else if ((obj && deleting(obj) && !was_deleting) || (!obj && !was_deleting))
            observed(c, juid, 0, 1);
        if (job_finished_as(job, NULL) && obj && has_tracking(obj))
            vk_controller_enqueue(c->ctl, okey);
        enqueue_job(c, ns, vk_str(vk_meta(job), "name"));
    } else if (ref && !strcmp(vk_str(ref, "kind"), "Job") && obj && has_tracking(obj)) {
        vk_controller_enqueue(c->ctl, okey); /* its Job is gone */
    }
    const json_t *ojob = job_by_ref(c, ns, oref);
    if (ojob && ojob != job)
        enqueue_job(c, ns, vk_str(vk_meta(ojob), "name"));
    if (!ref && obj) {
        if (has_tracking(obj))
            vk_controller_enqueue(c->ctl, okey);
        /* Jobs whose selector matches may adopt it. */
        const char *k;
        json_t *j;
        json_object_foreach((json_t *)vk_informer_items(c->jobs), k, j)
        {
            if (strcmp(vk_str(vk_meta(j), "namespace"), ns) || job_finished_as(j, NULL))
                continue;
            json_t *text =
                vk_label_selector_format(json_object_get(json_object_get(j, "spec"), "selector"));
            vk_selector *sel = NULL;
            char err[256];
            if (json_string_length(text) &&
                !vk_label_selector_parse(json_string_value(text), &sel, err, sizeof err) && sel &&
                vk_selector_match_labels(sel, json_object_get(m, "labels")))
                enqueue_job(c, ns, vk_str(vk_meta(j), "name"));
            vk_selector_free(sel);
            json_decref(text);
        }
    }
}

int vk_job_start(vk_server *s, vk_informer *pods, vk_job_ctl **out)
{
    vk_job_ctl *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    *c = (vk_job_ctl){.s = s,
                      .res = vk_resource_find("batch", "v1", "jobs"),
                      .pods_res = vk_resource_find("", "v1", "pods"),
                      .pods = pods,
                      .rmfin = json_object(),
                      .backoff = json_object(),
                      .finished = json_object(),
                      .written = json_object(),
                      .retry = json_object()};
    int rc = vk_informer_start(s, c->res, &c->jobs);
    if (!rc && (!(c->ctl = vk_controller_new(s, "job", reconcile, c)) ||
                !(c->ttl = vk_controller_new(s, "ttlafterfinished", reconcile_ttl, c))))
        rc = -ENOMEM;
    if (!rc)
        rc = vk_informer_subscribe(c->jobs, job_changed, c);
    if (!rc)
        rc = vk_informer_subscribe(pods, pod_changed, c);
    if (!rc)
        rc = vk_cronjob_start(s, c->jobs, &c->cron);
    if (rc) {
        vk_job_free(c);
        return rc;
    }
    const char *k;
    json_t *j;
    json_object_foreach((json_t *)vk_informer_items(c->jobs), k, j) job_changed(c, NULL, j);
    json_object_foreach((json_t *)vk_informer_items(pods), k, j)
    {
        if (has_tracking(j))
            pod_changed(c, NULL, j);
    }
    *out = c;
    return 0;
}

void vk_job_free(vk_job_ctl *c)
{
    if (!c)
        return;
    c->stopping = true;
    vk_cronjob_free(c->cron);
    vk_controller_free(c->ctl);
    vk_controller_free(c->ttl);
    vk_informer_free(c->jobs);
    free(c->exp);
    json_decref(c->rmfin);
    json_decref(c->backoff);
    json_decref(c->finished);
    json_decref(c->written);
    json_decref(c->retry);
    free(c);
}
