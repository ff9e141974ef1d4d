/* The Deployment controller.
 *
 * A reconcile of one Deployment, as kube's syncDeployment (pkg/controller/deployment):
 *  - its ReplicaSets are those with its controller reference;
 *  - the new one is the ReplicaSet whose template equals the Deployment's but for the
 *    pod-template-hash label; without one, it is created as "<name>-<hash>" with that
 *    label in its selector and template, the next revision and the desired/max replicas
 *    annotations (the hash is FNV-32a of the template, written with kube's
 *    SafeEncodeString alphabet; its value is vkube's own);
 *  - Recreate scales the old ones to 0, waits for their pods to go, then scales the new
 *    one up; RollingUpdate scales the new one up to replicas + maxSurge in total and the
 *    old ones down while replicas - maxUnavailable stay available (kube's
 *    NewRSNewReplicas and reconcileOldReplicaSets, unhealthy old replicas first);
 *  - a paused Deployment only follows spec.replicas, old ReplicaSets beyond
 *    revisionHistoryLimit are deleted, and the status is written with kube's Available
 *    and Progressing conditions and ScalingReplicaSet events.
 * Orphan ReplicaSets its selector matches are adopted, and its own it no longer matches
 * released (kube's ControllerRefManager). Not yet: the NewReplicaSetCreated progress reason,
 * proportional scaling of several active ReplicaSets, progressDeadlineSeconds
 * timeouts (ProgressDeadlineExceeded), rollback through spec.rollbackTo (kubectl's
 * rollout undo works: it writes the old template back). */
#include "controllers/deployment.h"

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

#define HASH_LABEL "pod-template-hash"
#define REVISION   "deployment.kubernetes.io/revision"

struct vk_deployment_ctl {
    vk_server *s;
    const vk_resource *res, *rs_res;
    vk_informer *deps, *sets;
    vk_controller *ctl;
    json_t *scaling; /* ReplicaSet uid -> replicas asked for, until the informer shows it */
    bool stopping;
};

static json_t *spec(const json_t *o)
{
    return json_object_get(o, "spec");
}

static long long ival(const json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

/* ---- the template hash ---- */

/* A template without the hash label, to compare. */
static json_t *without_hash(const json_t *tmpl)
{
    json_t *t = json_deep_copy(tmpl);
    json_t *labels = json_object_get(json_object_get(t, "metadata"), "labels");
    json_object_del(labels, HASH_LABEL);
    return t;
}

/* ---- writes ---- */

static void written(void *ud, int err, const char *json, size_t len, json_t *status)
{
    vk_deployment_ctl *c = ud;
    if (err && !c->stopping)
        vk_log(VK_LOG_DEBUG, "deployment", "Write refused", "err=\"%s\"",
               json_string_value(json_object_get(status, "message")));
}

static void event(vk_deployment_ctl *c, const json_t *d, const char *reason, const char *message)
{
    vk_record_event(c->s, d, "Deployment", "apps/v1", "Normal", reason, message,
                    "deployment-controller");
}

typedef struct scale_data {
    char uid[64];
    long long replicas;
    json_t *annotations; /* merged into the ReplicaSet's (may be NULL) */
} scale_data;

static void apply_scale(void *ud, json_t *obj)
{
    scale_data *sd = ud;
    if (strcmp(vk_str(vk_meta(obj), "uid"), sd->uid))
        return;
    json_object_set_new(spec(obj), "replicas", json_integer(sd->replicas));
    if (sd->annotations) {
        json_t *a = json_object_get(vk_meta(obj), "annotations");
        if (!json_is_object(a)) {
            a = json_object();
            json_object_set_new(vk_meta(obj), "annotations", a);
        }
        json_object_update(a, sd->annotations);
    }
}

static void scaled(void *ud, int err, const char *json, size_t len, json_t *status)
{
    scale_data *sd = ud;
    json_decref(sd->annotations);
    free(sd);
}

/* Sets a ReplicaSet's replicas (and annotations), with kube's event. */
static void scale_rs(vk_deployment_ctl *c, const json_t *d, const json_t *rs, long long to,
                     json_t *annotations /* stolen */)
{
    long long from = ival(spec(rs), "replicas");
    /* Asked already (the informer has not seen it yet): not twice. */
    json_t *asked = json_object_get(c->scaling, vk_str(vk_meta(rs), "uid"));
    if (asked && json_integer_value(asked) == to && !annotations)
        return;
    json_object_set_new(c->scaling, vk_str(vk_meta(rs), "uid"), json_integer(to));
    scale_data *sd = calloc(1, sizeof *sd);
    if (!sd) {
        json_decref(annotations);
        return;
    }
    snprintf(sd->uid, sizeof sd->uid, "%s", vk_str(vk_meta(rs), "uid"));
    sd->replicas = to;
    sd->annotations = annotations;
    vk_registry_edit(c->s, c->rs_res, vk_str(vk_meta(rs), "namespace"), vk_str(vk_meta(rs), "name"),
                     apply_scale, sd, scaled, sd);
    if (from != to) {
        char msg[400];
        snprintf(msg, sizeof msg, "Scaled %s replica set %s from %lld to %lld",
                 to > from ? "up" : "down", vk_str(vk_meta(rs), "name"), from, to);
        event(c, d, "ScalingReplicaSet", msg);
    }
}

/* ---- helpers of the strategies ---- */

/* An int-or-percent of total, rounded up or down (kube's GetScaledValueFromIntOrPercent). */
static long long resolve(const json_t *v, long long total, bool up, long long dflt)
{
    if (json_is_integer(v))
        return json_integer_value(v);
    const char *s = json_string_value(v);
    if (!s)
        return dflt;
    long long pct = atoll(s);
    return up ? (pct * total + 99) / 100 : pct * total / 100;
}

static long long revision_of(const json_t *rs)
{
    return atoll(vk_str(json_object_get(vk_meta(rs), "annotations"), REVISION));
}

static int cmp_created(const void *x, const void *y)
{
    const json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
    int t =
        strcmp(vk_str(vk_meta(a), "creationTimestamp"), vk_str(vk_meta(b), "creationTimestamp"));
    return t ? t : strcmp(vk_str(vk_meta(a), "name"), vk_str(vk_meta(b), "name"));
}

static json_t *condition(const json_t *old_status, const char *type, const char *status,
                         const char *reason, const char *message, const char *ts)
{
    const char *transition = ts;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(old_status, "conditions"), i, c)
    {
        if (!strcmp(vk_str(c, "type"), type) && !strcmp(vk_str(c, "status"), status))
            transition = vk_str(c, "lastTransitionTime");
        if (!strcmp(vk_str(c, "type"), type) && !strcmp(vk_str(c, "status"), status) &&
            !strcmp(vk_str(c, "reason"), reason) && !strcmp(vk_str(c, "message"), message))
            return json_incref(c); /* unchanged: its times stay */
    }
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", type, "status", status,
                     "lastUpdateTime", ts, "lastTransitionTime", transition, "reason", reason,
                     "message", message);
}

typedef struct status_data {
    json_t *status;
    char revision[32]; /* the new ReplicaSet's revision, for the Deployment's annotation */
} status_data;

/* The status, and the revision annotation kube keeps on the Deployment (written as its
 * controller does, through status: no new generation). */
static void set_status(void *ud, json_t *obj)
{
    status_data *sd = ud;
    json_object_set(obj, "status", sd->status);
    if (!*sd->revision)
        return;
    json_t *a = json_object_get(vk_meta(obj), "annotations");
    if (!json_is_object(a)) {
        a = json_object();
        json_object_set_new(vk_meta(obj), "annotations", a);
    }
    json_object_set_new(a, REVISION, json_string(sd->revision));
}

static void status_done(void *ud, int err, const char *json, size_t len, json_t *status)
{
    status_data *sd = ud;
    json_decref(sd->status);
    free(sd);
}

/* ---- adoption (kube's ControllerRefManager for ReplicaSets) ---- */

typedef struct claim {
    char rs_uid[64];
    json_t *ref; /* the controller reference to add; NULL: remove owner_uid's */
    char owner_uid[64];
} claim;

static void apply_claim(void *ud, json_t *rs)
{
    claim *cl = ud;
    json_t *meta = vk_meta(rs);
    if (strcmp(vk_str(meta, "uid"), cl->rs_uid))
        return; /* another ReplicaSet now has that name */
    json_t *refs = json_object_get(meta, "ownerReferences");
    if (cl->ref) {
        if (vk_controller_ref(rs))
            return; /* someone else adopted it first */
        if (!json_is_array(refs))
            json_object_set_new(meta, "ownerReferences", refs = json_array());
        json_array_append(refs, cl->ref);
        return;
    }
    size_t i;
    json_t *r;
    json_array_foreach(refs, i, r)
    {
        if (!strcmp(vk_str(r, "uid"), cl->owner_uid)) {
            json_array_remove(refs, i);
            break;
        }
    }
    if (!json_array_size(refs))
        json_object_del(meta, "ownerReferences");
}

static void claimed(void *ud, int err, const char *json, size_t len, json_t *status)
{
    claim *cl = ud;
    json_decref(cl->ref);
    free(cl);
}

/* Adopts the orphan ReplicaSets of ns that d's selector matches and releases its own
 * that it no longer matches. true when it wrote (the next look sees the result). */
static bool claim_sets(vk_deployment_ctl *c, const json_t *d, const char *ns)
{
    json_t *text = vk_label_selector_format(json_object_get(spec(d), "selector"));
    vk_selector *sel = NULL;
    char err[256];
    if (json_string_length(text))
        vk_label_selector_parse(json_string_value(text), &sel, err, sizeof err);
    json_decref(text);
    if (!sel)
        return false;
    const char *uid = vk_str(vk_meta(d), "uid");
    bool wrote = false;
    const char *k;
    json_t *rs;
    json_object_foreach((json_t *)vk_informer_items(c->sets), k, rs)
    {
        json_t *meta = vk_meta(rs);
        if (strcmp(vk_str(meta, "namespace"), ns) || json_object_get(meta, "deletionTimestamp"))
            continue;
        const json_t *ref = vk_controller_ref(rs);
        bool matches = vk_selector_match_labels(sel, json_object_get(meta, "labels"));
        bool adopt = !ref && matches;
        bool release = ref && !strcmp(vk_str(ref, "uid"), uid) && !matches;
        if (!adopt && !release)
            continue;
        claim *cl = calloc(1, sizeof *cl);
        if (!cl)
            continue;
        snprintf(cl->rs_uid, sizeof cl->rs_uid, "%s", vk_str(meta, "uid"));
        snprintf(cl->owner_uid, sizeof cl->owner_uid, "%s", uid);
        if (adopt)
            cl->ref = json_pack("{s:s, s:s, s:s, s:s, s:b, s:b}", "apiVersion", "apps/v1", "kind",
                                "Deployment", "name", vk_str(vk_meta(d), "name"), "uid", uid,
                                "controller", 1, "blockOwnerDeletion", 1);
        vk_registry_edit(c->s, c->rs_res, ns, vk_str(meta, "name"), apply_claim, cl, claimed, cl);
        wrote = true;
    }
    vk_selector_free(sel);
    return wrote;
}

/* ---- reconcile ---- */

static int reconcile(void *ud, const char *key)
{
    vk_deployment_ctl *c = ud;
    const char *slash = strchr(key, '/');
    if (!slash || c->stopping)
        return 0;
    char ns[256];
    snprintf(ns, sizeof ns, "%.*s", (int)(slash - key), key);
    const json_t *d = vk_informer_get(c->deps, ns, slash + 1);
    if (!d || json_object_get(vk_meta(d), "deletionTimestamp"))
        return 0;
    if (claim_sets(c, d, ns))
        return 0; /* the ReplicaSets' changes bring it back */
    const char *uid = vk_str(vk_meta(d), "uid");
    json_t *ds = spec(d);
    long long replicas = json_object_get(ds, "replicas") ? ival(ds, "replicas") : 1;
    json_t *tmpl = json_object_get(ds, "template");

    /* Its ReplicaSets. */
    json_t *mine = json_array();
    const json_t *newrs = NULL;
    long long max_rev = 0;
    const char *k;
    json_t *rs;
    json_object_foreach((json_t *)vk_informer_items(c->sets), k, rs)
    {
        if (strcmp(vk_str(vk_meta(rs), "namespace"), ns))
            continue;
        const json_t *ref = vk_controller_ref(rs);
        if (!ref || strcmp(vk_str(ref, "uid"), uid))
            continue;
        json_array_append(mine, rs);
        long long rev = revision_of(rs);
        if (rev > max_rev)
            max_rev = rev;
        json_t *a = without_hash(json_object_get(spec(rs), "template"));
        if (json_equal(a, tmpl))
            newrs = rs;
        json_decref(a);
    }
    size_t nrs = json_array_size(mine);
    json_t **sets = calloc(nrs + 1, sizeof *sets);
    for (size_t i = 0; sets && i < nrs; i++)
        sets[i] = json_array_get(mine, i);
    if (sets)
        qsort(sets, nrs, sizeof *sets, cmp_created);
    bool paused = json_is_true(json_object_get(ds, "paused"));
    const char *type = vk_str(json_object_get(ds, "strategy"), "type");
    bool recreate = !strcmp(type, "Recreate");
    json_t *ru = json_object_get(json_object_get(ds, "strategy"), "rollingUpdate");
    long long surge = recreate ? 0 : resolve(json_object_get(ru, "maxSurge"), replicas, true, 0);
    long long unavail =
        recreate ? 0 : resolve(json_object_get(ru, "maxUnavailable"), replicas, false, 0);
    if (!recreate && !surge && !unavail)
        unavail = 1;
    char max_replicas[32], desired[32];
    snprintf(desired, sizeof desired, "%lld", replicas);
    snprintf(max_replicas, sizeof max_replicas, "%lld", replicas + surge);
    json_t *status = json_object_get(d, "status");
    char ts[21];
    vk_time_format(time(NULL), ts);
    const char *progress_reason = NULL;
    char progress_msg[400] = "";

    long long total = 0, old_total = 0, old_active = 0;
    for (size_t i = 0; i < nrs; i++) {
        total += ival(spec(sets[i]), "replicas");
        if (sets[i] != newrs) {
            old_total += ival(spec(sets[i]), "replicas");
            old_active += ival(json_object_get(sets[i], "status"), "replicas");
        }
    }

    if (!newrs && !paused) {
        /* A new ReplicaSet for this template. */
        char hash[16], name[300];
        vk_template_hash(tmpl, ival(status, "collisionCount"), hash);
        snprintf(name, sizeof name, "%s-%s", vk_str(vk_meta(d), "name"), hash);
        json_t *t = json_deep_copy(tmpl);
        json_t *tm = json_object_get(t, "metadata");
        if (!json_is_object(tm)) {
            tm = json_object();
            json_object_set_new(t, "metadata", tm);
        }
        json_t *labels = json_object_get(tm, "labels");
        if (!json_is_object(labels)) {
            labels = json_object();
            json_object_set_new(tm, "labels", labels);
        }
        json_object_set_new(labels, HASH_LABEL, json_string(hash));
        json_t *selector = json_deep_copy(json_object_get(ds, "selector"));
        json_t *ml = json_object_get(selector, "matchLabels");
        if (!json_is_object(ml)) {
            ml = json_object();
            json_object_set_new(selector, "matchLabels", ml);
        }
        json_object_set_new(ml, HASH_LABEL, json_string(hash));
        long long start = recreate ? (old_active ? 0 : replicas) : replicas + surge - total;
        if (start > replicas)
            start = replicas;
        if (start < 0 || paused)
            start = 0;
        char rev[32];
        snprintf(rev, sizeof rev, "%lld", max_rev + 1);
        json_t *annotations = json_deep_copy(json_object_get(vk_meta(d), "annotations"));
        if (!json_is_object(annotations))
            annotations = json_object();
        json_object_del(annotations, "kubectl.kubernetes.io/last-applied-configuration");
        json_object_del(annotations, REVISION);
        json_object_set_new(annotations, REVISION, json_string(rev));
        json_object_set_new(annotations, "deployment.kubernetes.io/desired-replicas",
                            json_string(desired));
        json_object_set_new(annotations, "deployment.kubernetes.io/max-replicas",
                            json_string(max_replicas));
        json_t *obj = json_pack(
            "{s:{s:s, s:O, s:o, s:[{s:s, s:s, s:s, s:s, s:b, s:b}]}, s:{s:I, s:O?, s:o, s:o}}",
            "metadata", "name", name, "labels", labels, "annotations", annotations,
            "ownerReferences", "apiVersion", "apps/v1", "kind", "Deployment", "name",
            vk_str(vk_meta(d), "name"), "uid", uid, "controller", 1, "blockOwnerDeletion", 1,
            "spec", "replicas", (json_int_t)start, "minReadySeconds",
            json_object_get(ds, "minReadySeconds"), "selector", selector, "template", t);
        vk_registry_create(c->s, c->rs_res, ns, obj, false, written, c);
        json_decref(obj);
        if (start > 0) {
            char msg[400];
            snprintf(msg, sizeof msg, "Scaled up replica set %s from 0 to %lld", name, start);
            event(c, d, "ScalingReplicaSet", msg);
        }
        free(sets);
        json_decref(mine);
        return 0; /* the new ReplicaSet's arrival brings it back */
    }

    if (newrs && !paused) {
        long long cur = ival(spec(newrs), "replicas");
        long long want = cur;
        if (recreate) {
            for (size_t i = 0; i < nrs; i++)
                if (sets[i] != newrs && ival(spec(sets[i]), "replicas"))
                    scale_rs(c, d, sets[i], 0, NULL);
            want = old_active ? 0 : replicas;
            if (old_active)
                want = cur;
        } else if (cur > replicas) {
            want = replicas;
        } else if (cur < replicas && total < replicas + surge) {
            long long up = replicas + surge - total;
            if (up > replicas - cur)
                up = replicas - cur;
            want = cur + up;
        }
        json_t *ann = json_object_get(vk_meta(newrs), "annotations");
        bool annotate =
            strcmp(vk_str(ann, "deployment.kubernetes.io/desired-replicas"), desired) ||
            strcmp(vk_str(ann, "deployment.kubernetes.io/max-replicas"), max_replicas) ||
            revision_of(newrs) < max_rev;
        if (want != cur || annotate) {
            json_t *a = json_pack("{s:s, s:s}", "deployment.kubernetes.io/desired-replicas",
                                  desired, "deployment.kubernetes.io/max-replicas", max_replicas);
            if (revision_of(newrs) < max_rev) {
                char rev[32];
                snprintf(rev, sizeof rev, "%lld", max_rev + 1);
                json_object_set_new(a, REVISION, json_string(rev));
            }
            scale_rs(c, d, newrs, want, a);
        }
        if (!recreate && old_total) {
            /* Old replicas go while replicas - maxUnavailable stay available. */
            long long all = total - cur + want;
            long long min_available = replicas - unavail;
            long long new_unavailable = ival(spec(newrs), "replicas") -
                                        ival(json_object_get(newrs, "status"), "availableReplicas");
            long long room = all - min_available - (new_unavailable > 0 ? new_unavailable : 0);
            long long available = 0;
            for (size_t i = 0; i < nrs; i++)
                available += ival(json_object_get(sets[i], "status"), "availableReplicas");
            /* Unhealthy old replicas first, then healthy ones while enough stay. */
            for (size_t i = 0; i < nrs && room > 0; i++) {
                if (sets[i] == newrs)
                    continue;
                long long r = ival(spec(sets[i]), "replicas");
                long long bad = r - ival(json_object_get(sets[i], "status"), "availableReplicas");
                if (bad <= 0)
                    continue;
                long long n = bad < room ? bad : room;
                scale_rs(c, d, sets[i], r - n, NULL);
                room -= n;
                json_object_set_new(spec(sets[i]), "replicas", json_integer(r - n));
            }
            long long can = available - min_available;
            for (size_t i = 0; i < nrs && can > 0 && room > 0; i++) {
                if (sets[i] == newrs)
                    continue;
                long long r = ival(spec(sets[i]), "replicas");
                if (!r)
                    continue;
                long long n = r < can ? r : can;
                if (n > room)
                    n = room;
                scale_rs(c, d, sets[i], r - n, NULL);
                can -= n;
                room -= n;
            }
        }
    } else if (newrs && paused && ival(spec(newrs), "replicas") != replicas && !old_total) {
        scale_rs(c, d, newrs, replicas, NULL);
    }

    /* History: old ReplicaSets with nothing left, beyond revisionHistoryLimit. */
    long long limit =
        json_object_get(ds, "revisionHistoryLimit") ? ival(ds, "revisionHistoryLimit") : 10;
    long long idle = 0;
    for (size_t i = 0; i < nrs; i++)
        idle += sets[i] != newrs && !ival(spec(sets[i]), "replicas") &&
                !ival(json_object_get(sets[i], "status"), "replicas");
    for (size_t i = 0; i < nrs && idle > limit; i++) {
        if (sets[i] == newrs || ival(spec(sets[i]), "replicas") ||
            ival(json_object_get(sets[i], "status"), "replicas"))
            continue;
        json_t *opts =
            json_pack("{s:{s:s}}", "preconditions", "uid", vk_str(vk_meta(sets[i]), "uid"));
        vk_registry_delete_opts(c->s, c->rs_res, ns, vk_str(vk_meta(sets[i]), "name"), opts,
                                written, c);
        json_decref(opts);
        idle--;
    }

    /* Status. */
    long long st_replicas = 0, ready = 0, available = 0, terminating = 0;
    for (size_t i = 0; i < nrs; i++) {
        json_t *s = json_object_get(sets[i], "status");
        st_replicas += ival(s, "replicas");
        ready += ival(s, "readyReplicas");
        available += ival(s, "availableReplicas");
        terminating += ival(s, "terminatingReplicas");
    }
    long long updated = newrs ? ival(json_object_get(newrs, "status"), "replicas") : 0;
    /* kube: unavailable = the ReplicaSets' desired replicas less the available ones. */
    json_t *conds = json_array();
    bool avail_ok = available >= replicas - unavail;
    json_array_append_new(
        conds, condition(status, "Available", avail_ok ? "True" : "False",
                         avail_ok ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable",
                         avail_ok ? "Deployment has minimum availability."
                                  : "Deployment does not have minimum availability.",
                         ts));
    if (newrs) {
        bool complete = updated == replicas && available >= replicas && st_replicas == replicas &&
                        ival(spec(newrs), "replicas") == replicas;
        if (!progress_reason) {
            progress_reason = complete ? "NewReplicaSetAvailable" : "ReplicaSetUpdated";
            snprintf(progress_msg, sizeof progress_msg,
                     complete ? "ReplicaSet \"%s\" has successfully progressed."
                              : "ReplicaSet \"%s\" is progressing.",
                     vk_str(vk_meta(newrs), "name"));
        }
        json_t *pc = condition(status, "Progressing", "True", progress_reason, progress_msg, ts);
        /* kube lists Progressing first once both exist. */
        json_array_insert_new(conds, 0, pc);
    }
    json_t *st =
        json_pack("{s:O?, s:I, s:I, s:I, s:I, s:I, s:o}", "observedGeneration",
                  json_object_get(vk_meta(d), "generation"), "replicas", (json_int_t)st_replicas,
                  "updatedReplicas", (json_int_t)updated, "readyReplicas", (json_int_t)ready,
                  "availableReplicas", (json_int_t)available, "unavailableReplicas",
                  (json_int_t)(total - available > 0 ? total - available : 0), "conditions", conds);
    if (terminating)
        json_object_set_new(st, "terminatingReplicas", json_integer(terminating));
    if (json_object_get(status, "collisionCount"))
        json_object_set(st, "collisionCount", json_object_get(status, "collisionCount"));
    /* Zero counts are left out, as kube's omitempty does. */
    void *tmp;
    json_t *v;
    json_object_foreach_safe(st, tmp, k, v) if (json_is_integer(v) && !json_integer_value(v))
        json_object_del(st, k);
    char revision[32] = "";
    if (newrs)
        snprintf(revision, sizeof revision, "%s",
                 vk_str(json_object_get(vk_meta(newrs), "annotations"), REVISION));
    bool annotate =
        *revision && strcmp(revision, vk_str(json_object_get(vk_meta(d), "annotations"), REVISION));
    status_data *sd = NULL;
    if ((!json_equal(st, status) || annotate) && (sd = calloc(1, sizeof *sd))) {
        sd->status = json_incref(st);
        snprintf(sd->revision, sizeof sd->revision, "%s", revision);
        vk_registry_edit(c->s, c->res, ns, slash + 1, set_status, sd, status_done, sd);
    }
    json_decref(st);
    free(sets);
    json_decref(mine);
    return 0;
}

/* ---- events ---- */

static void enqueue(vk_deployment_ctl *c, const char *ns, const char *name)
{
    char key[600];
    snprintf(key, sizeof key, "%s/%s", ns, name);
    vk_controller_enqueue(c->ctl, key);
}

static void dep_changed(void *ud, const json_t *old, const json_t *obj)
{
    if (obj)
        enqueue(ud, vk_str(vk_meta(obj), "namespace"), vk_str(vk_meta(obj), "name"));
}

static void rs_changed(void *ud, const json_t *old, const json_t *obj)
{
    vk_deployment_ctl *c = ud;
    const json_t *rs = obj ? obj : old;
    json_t *asked = json_object_get(c->scaling, vk_str(vk_meta(rs), "uid"));
    if (asked && (!obj || json_equal(json_object_get(spec(obj), "replicas"), asked)))
        json_object_del(c->scaling, vk_str(vk_meta(rs), "uid"));
    const json_t *ref = vk_controller_ref(rs);
    const char *ns = vk_str(vk_meta(rs), "namespace");
    if (ref && !strcmp(vk_str(ref, "kind"), "Deployment")) {
        enqueue(c, ns, vk_str(ref, "name"));
        return;
    }
    /* An orphan: the Deployments that may adopt it. */
    const char *k;
    json_t *d;
    json_object_foreach((json_t *)vk_informer_items(c->deps), k, d)
    {
        if (!ref && obj && !strcmp(vk_str(vk_meta(d), "namespace"), ns))
            enqueue(c, ns, vk_str(vk_meta(d), "name"));
    }
}

int vk_deployment_start(vk_server *s, vk_informer *replicasets, vk_deployment_ctl **out)
{
    vk_deployment_ctl *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    *c = (vk_deployment_ctl){.s = s,
                             .res = vk_resource_find("apps", "v1", "deployments"),
                             .rs_res = vk_resource_find("apps", "v1", "replicasets"),
                             .sets = replicasets,
                             .scaling = json_object()};
    int rc = vk_informer_start(s, c->res, &c->deps);
    if (!rc && !(c->ctl = vk_controller_new(s, "deployment", reconcile, c)))
        rc = -ENOMEM;
    if (!rc)
        rc = vk_informer_subscribe(c->deps, dep_changed, c);
    if (!rc)
        rc = vk_informer_subscribe(replicasets, rs_changed, c);
    if (rc) {
        vk_deployment_free(c);
        return rc;
    }
    const char *k;
    json_t *d;
    json_object_foreach((json_t *)vk_informer_items(c->deps), k, d) dep_changed(c, NULL, d);
    *out = c;
    return 0;
}

void vk_deployment_free(vk_deployment_ctl *c)
{
    if (!c)
        return;
    c->stopping = true;
    vk_controller_free(c->ctl);
    vk_informer_free(c->deps);
    json_decref(c->scaling);
    free(c);
}
