/* The CronJob controller, as kube's ControllerV2 (pkg/controller/cronjob, v1.37).
 *
 * A reconcile of one CronJob: its Jobs are those with its controller reference. Finished
 * ones beyond successfulJobsHistoryLimit / failedJobsHistoryLimit are deleted, oldest
 * first (SuccessfulDelete); a finished Job leaves status.active (SawCompletedJob) and a
 * Complete one moves lastSuccessfulTime; an active reference whose Job is gone is
 * dropped (MissingJob). Unless suspended, the most recent schedule time at or before
 * now that was not yet run (since lastScheduleTime, or the creation) is due: skipped
 * past startingDeadlineSeconds (MissSchedule), or when the previous run is still
 * active under Forbid (JobAlreadyActive); under Replace the active Jobs are deleted
 * first. The Job is named <cronjob>-<scheduled time in minutes since the epoch>, has
 * the jobTemplate's labels, annotations and spec, the
 * batch.kubernetes.io/cronjob-scheduled-timestamp annotation and the CronJob as its
 * controller; it joins status.active and the time becomes lastScheduleTime. The
 * CronJob is looked at again 100 ms after its next schedule time. */
#include "controllers/cronjob.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/registry/registry.h"
#include "apiserver/server.h"
#include "common/err.h"
#include "common/log.h"
#include "common/timefmt.h"
#include "controllers/controller.h"
#include "controllers/objects.h"

#define COMPONENT     "cronjob-controller"
#define SCHEDULED_KEY "batch.kubernetes.io/cronjob-scheduled-timestamp"

struct vk_cronjob_ctl {
    vk_server *s;
    const vk_resource *res, *jobs_res;
    vk_informer *cjs, *jobs;
    vk_controller *ctl;
    json_t *written;  /* cronjob uid -> resourceVersion of our last status write ("": in flight) */
    json_t *created;  /* "<ns>/<job>" -> true: created here, not yet in the status we read */
    json_t *removing; /* job uid -> true: its deletion is in flight */
    json_t *retry;    /* cronjob uid -> [not before (ms), delay (ms)] after a refused create */
    bool stopping;
};

static const char *str(const json_t *o, const char *k)
{
    return vk_str(o, k);
}

static bool is_deleting(const json_t *o)
{
    return json_object_get(vk_meta(o), "deletionTimestamp") != NULL;
}

static time_t ts_of(const char *s)
{
    time_t t = 0;
    if (!s || !*s || vk_time_parse(s, &t))
        return 0;
    return t;
}

/* "Complete" or "Failed" when the Job finished, else NULL. */
static const char *finished_as(const json_t *job)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(json_object_get(job, "status"), "conditions"), i, c)
    {
        const char *t = str(c, "type");
        if ((!strcmp(t, "Complete") || !strcmp(t, "Failed")) && !strcmp(str(c, "status"), "True"))
            return !strcmp(t, "Complete") ? "Complete" : "Failed";
    }
    return NULL;
}

int vk_cronjob_schedule(const json_t *cj, const char *zone_dir, vk_cron *out, char *err,
                        size_t errlen)
{
    json_t *spec = json_object_get(cj, "spec");
    const char *sched = str(spec, "schedule");
    const char *tz = json_string_value(json_object_get(spec, "timeZone"));
    if (strstr(sched, "TZ") || !tz)
        return vk_cron_parse(sched, zone_dir, out, err, errlen);
    char buf[1024];
    snprintf(buf, sizeof buf, "TZ=%s %s", tz, sched);
    return vk_cron_parse(buf, zone_dir, out, err, errlen);
}

static time_t earliest_of(const json_t *cj)
{
    time_t t = ts_of(str(json_object_get(cj, "status"), "lastScheduleTime"));
    return t ? t : ts_of(str(vk_meta(cj), "creationTimestamp"));
}

long long vk_cronjob_requeue_ms(const json_t *cj, const vk_cron *sched, time_t now)
{
    time_t recent, earliest;
    int missed;
    time_t base;
    if (vk_cron_most_recent(sched, earliest_of(cj), -1, now, &recent, &missed, &earliest))
        base = now;
    else if (!recent)
        base = missed ? now : earliest;
    else
        base = recent;
    time_t next = vk_cron_next(sched, base);
    if (!next)
        return 0;
    long long ms = ((long long)next - (long long)now) * 1000 + 100;
    return ms < 1 ? 1 : ms;
}

/* ---- writes ---- */

typedef struct status_write {
    vk_cronjob_ctl *c;
    char ns[256], name[256], uid[64];
    json_t *status;
} status_write;

static void enqueue(vk_cronjob_ctl *c, const char *ns, const char *name)
{
    char key[600];
    snprintf(key, sizeof key, "%s/%s", ns, name);
    if (!c->stopping)
        vk_controller_enqueue(c->ctl, key);
}

static void put_status(void *ud, json_t *obj)
{
    status_write *w = ud;
    if (!strcmp(str(vk_meta(obj), "uid"), w->uid))
        json_object_set(obj, "status", w->status);
}

static void status_stored(void *ud, int err, const char *json, size_t len, json_t *status)
{
    status_write *w = ud;
    vk_cronjob_ctl *c = w->c;
    if (!c->stopping) {
        json_t *stored = err ? NULL : json_loadb(json, len, 0, NULL);
        if (stored)
            json_object_set_new(c->written, w->uid,
                                json_string(str(vk_meta(stored), "resourceVersion")));
        else
            json_object_del(c->written, w->uid);
        json_decref(stored);
        enqueue(c, w->ns, w->name);
    }
    json_decref(w->status);
    free(w);
}

static void write_status(vk_cronjob_ctl *c, const json_t *cj, json_t *st)
{
    if (!json_array_size(json_object_get(st, "active")))
        json_object_del(st, "active");
    status_write *w = calloc(1, sizeof *w);
    if (!w)
        return;
    w->c = c;
    snprintf(w->ns, sizeof w->ns, "%s", str(vk_meta(cj), "namespace"));
    snprintf(w->name, sizeof w->name, "%s", str(vk_meta(cj), "name"));
    snprintf(w->uid, sizeof w->uid, "%s", str(vk_meta(cj), "uid"));
    w->status = json_incref(st);
    json_object_set_new(c->written, w->uid, json_string(""));
    vk_registry_edit(c->s, c->res, w->ns, w->name, put_status, w, status_stored, w);
}

static void event(vk_cronjob_ctl *c, const json_t *cj, const char *type, const char *reason,
                  const char *msg)
{
    vk_record_event(c->s, cj, "CronJob", "batch/v1", type, reason, msg, COMPONENT);
}

typedef struct job_delete {
    vk_cronjob_ctl *c;
    json_t *cj;
    char name[256], uid[64];
} job_delete;

static void job_deleted(void *ud, int err, const char *json, size_t len, json_t *status)
{
    job_delete *d = ud;
    vk_cronjob_ctl *c = d->c;
    if (!c->stopping) {
        char msg[1200];
        if (err && err != VK_ENOTFOUND) {
            const char *m = json_string_value(json_object_get(status, "message"));
            snprintf(msg, sizeof msg, "Deleted job: %s", m ? m : "error");
            event(c, d->cj, "Warning", "FailedDelete", msg);
        } else if (!err) {
            snprintf(msg, sizeof msg, "Deleted job %s", d->name);
            event(c, d->cj, "Normal", "SuccessfulDelete", msg);
        }
        json_object_del(c->removing, d->uid);
        enqueue(c, str(vk_meta(d->cj), "namespace"), str(vk_meta(d->cj), "name"));
    }
    json_decref(d->cj);
    free(d);
}

static void remove_from_active(json_t *st, const char *uid)
{
    json_t *a = json_object_get(st, "active");
    for (size_t i = json_array_size(a); i-- > 0;)
        if (!strcmp(str(json_array_get(a, i), "uid"), uid))
            json_array_remove(a, i);
}

/* kube's deleteJob: background propagation; out of status.active. */
static void delete_job(vk_cronjob_ctl *c, const json_t *cj, const json_t *job, json_t *st)
{
    const char *uid = str(vk_meta(job), "uid");
    remove_from_active(st, uid);
    if (json_object_get(c->removing, uid))
        return;
    job_delete *d = calloc(1, sizeof *d);
    if (!d)
        return;
    d->c = c;
    d->cj = json_pack("{s:O}", "metadata", vk_meta(cj));
    snprintf(d->name, sizeof d->name, "%s", str(vk_meta(job), "name"));
    snprintf(d->uid, sizeof d->uid, "%s", uid);
    json_object_set_new(c->removing, uid, json_true());
    json_t *opts = json_pack("{s:s}", "propagationPolicy", "Background");
    vk_registry_delete_opts(c->s, c->jobs_res, str(vk_meta(job), "namespace"), d->name, opts,
                            job_deleted, d);
    json_decref(opts);
}

/* ---- history ---- */

static int cmp_start(const void *x, const void *y)
{
    const json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
    const char *sa = str(json_object_get(a, "status"), "startTime");
    const char *sb = str(json_object_get(b, "status"), "startTime");
    if (!*sa != !*sb)
        return !*sa ? 1 : -1;
    time_t ta = ts_of(sa), tb = ts_of(sb);
    if (ta != tb)
        return ta < tb ? -1 : 1;
    return strcmp(str(vk_meta(a), "name"), str(vk_meta(b), "name"));
}

static void remove_oldest(vk_cronjob_ctl *c, const json_t *cj, json_t *list, long long keep,
                          json_t *st)
{
    long long n = (long long)json_array_size(list) - keep;
    if (n <= 0)
        return;
    size_t len = json_array_size(list);
    const json_t **v = malloc(len * sizeof *v);
    if (!v)
        return;
    for (size_t i = 0; i < len; i++)
        v[i] = json_array_get(list, i);
    qsort(v, len, sizeof *v, cmp_start);
    for (long long i = 0; i < n; i++)
        delete_job(c, cj, v[i], st);
    free(v);
}

/* ---- the new Job ---- */

typedef struct job_create {
    vk_cronjob_ctl *c;
    json_t *cj; /* the CronJob as read */
    json_t *st; /* its status to write, before the new Job is added */
    char name[300];
    time_t scheduled;
} job_create;

static void add_active(json_t *st, const json_t *job)
{
    json_t *a = json_object_get(st, "active");
    if (!json_is_array(a))
        json_object_set_new(st, "active", a = json_array());
    json_t *m = vk_meta(job);
    json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "kind", "Job", "namespace",
                                       str(m, "namespace"), "name", str(m, "name"), "uid",
                                       str(m, "uid"), "apiVersion", "batch/v1", "resourceVersion",
                                       str(m, "resourceVersion")));
}

static bool in_active(const json_t *st, const char *uid)
{
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(st, "active"), i, r)
    {
        if (!strcmp(str(r, "uid"), uid))
            return true;
    }
    return false;
}

static void job_created(void *ud, int err, const char *json, size_t len, json_t *status)
{
    job_create *jc = ud;
    vk_cronjob_ctl *c = jc->c;
    const char *ns = str(vk_meta(jc->cj), "namespace");
    char key[600], ts[21];
    snprintf(key, sizeof key, "%s/%s", ns, jc->name);
    vk_time_format(jc->scheduled, ts);
    if (c->stopping) {
        /* nothing */
    } else if (!err) {
        json_object_del(c->retry, str(vk_meta(jc->cj), "uid"));
        json_t *job = json_loadb(json, len, 0, NULL);
        char msg[400];
        snprintf(msg, sizeof msg, "Created job %s", jc->name);
        event(c, jc->cj, "Normal", "SuccessfulCreate", msg);
        add_active(jc->st, job);
        json_object_set_new(jc->st, "lastScheduleTime", json_string(ts));
        write_status(c, jc->cj, jc->st);
        json_decref(job);
    } else if (err == VK_EEXIST) {
        json_object_del(c->created, key);
        const json_t *job = vk_informer_get(c->jobs, ns, jc->name);
        const json_t *ref = job ? vk_controller_ref(job) : NULL;
        if (!job) {
            json_object_del(c->written, str(vk_meta(jc->cj), "uid"));
            vk_controller_enqueue_after(c->ctl, key, 100);
        } else if (!ref || strcmp(str(ref, "uid"), str(vk_meta(jc->cj), "uid")) ||
                   in_active(jc->st, str(vk_meta(job), "uid"))) {
            write_status(c, jc->cj, jc->st);
        } else {
            vk_log(VK_LOG_INFO, "cronjob", "Job already exists", "cronjob=\"%s/%s\" job=\"%s\"", ns,
                   str(vk_meta(jc->cj), "name"), jc->name);
            add_active(jc->st, job);
            json_object_set_new(jc->st, "lastScheduleTime", json_string(ts));
            write_status(c, jc->cj, jc->st);
        }
    } else {
        json_object_del(c->created, key);
        /* kube's rate-limited requeue: 100 ms doubling to 5 min. */
        const char *cuid = str(vk_meta(jc->cj), "uid");
        json_t *r = json_object_get(c->retry, cuid);
        long long d = r ? json_integer_value(json_array_get(r, 1)) * 2 : 100;
        if (d > 300000)
            d = 300000;
        json_object_set_new(
            c->retry, cuid,
            json_pack("[I, I]", (json_int_t)((long long)vk_now_ms() + d), (json_int_t)d));
        const char *m = json_string_value(json_object_get(status, "message"));
        char msg[1200];
        snprintf(msg, sizeof msg, "Error creating job: %s", m ? m : "error");
        if (!m || !strstr(m, "being terminated"))
            event(c, jc->cj, "Warning", "FailedCreate", msg);
        write_status(c, jc->cj, jc->st);
    }
    json_decref(jc->cj);
    json_decref(jc->st);
    free(jc);
}

static void create_job(vk_cronjob_ctl *c, const json_t *cj, json_t *st, time_t scheduled,
                       const char *name, const vk_tz *tz)
{
    json_t *tmpl = json_object_get(json_object_get(cj, "spec"), "jobTemplate");
    json_t *tm = json_object_get(tmpl, "metadata");
    json_t *labels = json_deep_copy(json_object_get(tm, "labels"));
    json_t *ann = json_deep_copy(json_object_get(tm, "annotations"));
    if (!json_is_object(labels))
        labels = json_object();
    if (!json_is_object(ann))
        ann = json_object();
    /* The scheduled time in spec.timeZone, as Go's RFC 3339. */
    long off = vk_tz_offset(tz, scheduled);
    char local[21], stamp[40];
    vk_time_format(scheduled + off, local);
    if (!off)
        snprintf(stamp, sizeof stamp, "%s", local);
    else
        snprintf(stamp, sizeof stamp, "%.19s%c%02ld:%02ld", local, off < 0 ? '-' : '+',
                 labs(off) / 3600, labs(off) % 3600 / 60);
    json_object_set_new(ann, SCHEDULED_KEY, json_string(stamp));
    json_t *job = json_pack("{s:{s:s, s:o, s:o, s:[{s:s, s:s, s:s, s:s, s:b, s:b}]}, s:O?}",
                            "metadata", "name", name, "labels", labels, "annotations", ann,
                            "ownerReferences", "apiVersion", "batch/v1", "kind", "CronJob", "name",
                            str(vk_meta(cj), "name"), "uid", str(vk_meta(cj), "uid"), "controller",
                            1, "blockOwnerDeletion", 1, "spec", json_object_get(tmpl, "spec"));
    if (!json_object_size(labels))
        json_object_del(vk_meta(job), "labels");
    job_create *jc = calloc(1, sizeof *jc);
    if (jc && job) {
        *jc = (job_create){
            .c = c, .cj = json_deep_copy(cj), .st = json_incref(st), .scheduled = scheduled};
        snprintf(jc->name, sizeof jc->name, "%s", name);
        char key[600];
        snprintf(key, sizeof key, "%s/%s", str(vk_meta(cj), "namespace"), name);
        json_object_set_new(c->created, key, json_true());
        json_object_set_new(c->written, str(vk_meta(cj), "uid"), json_string(""));
        vk_registry_create(c->s, c->jobs_res, str(vk_meta(cj), "namespace"), job, false,
                           job_created, jc);
    } else {
        free(jc);
    }
    json_decref(job);
}

/* ---- reconcile ---- */

static unsigned long long rv_num(const char *s)
{
    return strtoull(s ? s : "0", NULL, 10);
}

static void rfc1123z(time_t t, char out[40])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 40, "%a, %d %b %Y %H:%M:%S +0000", &tm);
}

static int sync_cronjob(vk_cronjob_ctl *c, const json_t *cj, json_t *st, bool *update)
{
    const char *ns = str(vk_meta(cj), "namespace"), *uid = str(vk_meta(cj), "uid");
    json_t *spec = json_object_get(cj, "spec");
    char msg[1400];
    /* Its Jobs. */
    json_t *mine = json_array(), *succ = json_array(), *fail = json_array();
    const char *k;
    json_t *job;
    json_object_foreach((json_t *)vk_informer_items(c->jobs), k, job)
    {
        const json_t *ref = vk_controller_ref(job);
        if (!strcmp(str(vk_meta(job), "namespace"), ns) && ref && !strcmp(str(ref, "uid"), uid) &&
            !json_object_get(c->removing, str(vk_meta(job), "uid")))
            json_array_append(mine, job);
    }
    /* kube's cleanupFinishedJobs. */
    size_t i;
    json_array_foreach(mine, i, job)
    {
        const char *f = finished_as(job);
        if (f)
            json_array_append(!strcmp(f, "Complete") ? succ : fail, job);
    }
    size_t before = json_array_size(json_object_get(st, "active"));
    if (json_is_integer(json_object_get(spec, "successfulJobsHistoryLimit")))
        remove_oldest(c, cj, succ,
                      json_integer_value(json_object_get(spec, "successfulJobsHistoryLimit")), st);
    if (json_is_integer(json_object_get(spec, "failedJobsHistoryLimit")))
        remove_oldest(c, cj, fail,
                      json_integer_value(json_object_get(spec, "failedJobsHistoryLimit")), st);
    *update |= before != json_array_size(json_object_get(st, "active"));
    json_decref(succ);
    json_decref(fail);
    /* kube's syncCronJob. */
    json_array_foreach(mine, i, job)
    {
        json_t *m = vk_meta(job);
        char key[600];
        snprintf(key, sizeof key, "%s/%s", ns, str(m, "name"));
        bool found = in_active(st, str(m, "uid"));
        const char *f = finished_as(job);
        if (found)
            json_object_del(c->created, key);
        if (!found && !f) {
            if (!json_object_get(c->created, key)) {
                snprintf(msg, sizeof msg,
                         "Saw a job that the controller did not create or forgot: %s",
                         str(m, "name"));
                event(c, cj, "Warning", "UnexpectedJob", msg);
            }
        } else if (f) {
            if (found) {
                remove_from_active(st, str(m, "uid"));
                snprintf(msg, sizeof msg, "Saw completed job: %s, condition: %s", str(m, "name"),
                         f);
                event(c, cj, "Normal", "SawCompletedJob", msg);
                *update = true;
            }
            const char *ct = str(json_object_get(job, "status"), "completionTime");
            if (!strcmp(f, "Complete") && *ct && ts_of(ct) > ts_of(str(st, "lastSuccessfulTime"))) {
                json_object_set_new(st, "lastSuccessfulTime", json_string(ct));
                *update = true;
            }
        }
    }
    json_t *act = json_object_get(st, "active");
    for (size_t a = json_array_size(act); a-- > 0;) {
        json_t *r = json_array_get(act, a);
        bool child = false;
        json_array_foreach(mine, i, job) child |= !strcmp(str(vk_meta(job), "uid"), str(r, "uid"));
        char key[600];
        snprintf(key, sizeof key, "%s/%s", str(r, "namespace"), str(r, "name"));
        if (child || json_object_get(c->created, key) ||
            vk_informer_get(c->jobs, str(r, "namespace"), str(r, "name")))
            continue;
        snprintf(msg, sizeof msg, "Active job went missing: %s", str(r, "name"));
        event(c, cj, "Normal", "MissingJob", msg);
        json_array_remove(act, a);
        *update = true;
    }
    json_decref(mine);
    if (is_deleting(cj))
        return 0;
    const char *tzname = json_string_value(json_object_get(spec, "timeZone"));
    char err[400];
    vk_tz *tz = NULL;
    if (tzname && !(tz = vk_tz_load(NULL, tzname, err, sizeof err))) {
        snprintf(msg, sizeof msg, "invalid timeZone: \"%s\": %s", tzname, err);
        event(c, cj, "Warning", "UnknownTimeZone", msg);
        return 0;
    }
    if (json_is_true(json_object_get(spec, "suspend"))) {
        vk_tz_free(tz);
        return 0;
    }
    const char *schedule = str(spec, "schedule");
    if (strstr(schedule, "TZ")) {
        snprintf(msg, sizeof msg,
                 "CRON_TZ or TZ used in schedule \"%s\" is not officially supported, see "
                 "https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more "
                 "details",
                 schedule);
        event(c, cj, "Warning", "UnsupportedSchedule", msg);
    }
    vk_cron sched;
    if (vk_cronjob_schedule(cj, NULL, &sched, err, sizeof err)) {
        snprintf(msg, sizeof msg, "unparseable schedule: \"%s\" : %s", schedule, err);
        event(c, cj, "Warning", "UnparseableSchedule", msg);
        vk_tz_free(tz);
        return 0;
    }
    time_t now = time(NULL), recent, earliest;
    int missed;
    json_t *sds = json_object_get(spec, "startingDeadlineSeconds");
    /* The status we computed is what kube's helpers read. */
    json_t *view = json_pack("{s:O, s:O}", "metadata", vk_meta(cj), "status", st);
    int rc = vk_cron_most_recent(&sched, earliest_of(view),
                                 json_is_integer(sds) ? json_integer_value(sds) : -1, now, &recent,
                                 &missed, &earliest);
    long long requeue = 0;
    if (rc) {
        snprintf(msg, sizeof msg,
                 "invalid schedule: %s : time difference between two schedules is less than 1 "
                 "second",
                 schedule);
        event(c, cj, "Warning", "InvalidSchedule", msg);
        goto out;
    }
    if (missed == 2 && recent)
        event(c, cj, "Warning", "TooManyMissedTimes",
              "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check "
              "clock skew");
    requeue = vk_cronjob_requeue_ms(view, &sched, now);
    if (!recent || recent > now)
        goto out;
    if (json_is_integer(sds) && (long long)recent + json_integer_value(sds) < (long long)now) {
        char when[40];
        rfc1123z(recent, when);
        snprintf(msg, sizeof msg, "Missed scheduled time to start a job: %s", when);
        event(c, cj, "Warning", "MissSchedule", msg);
        goto out;
    }
    char name[300];
    snprintf(name, sizeof name, "%s-%lld", str(vk_meta(cj), "name"),
             (long long)recent / 60 - ((long long)recent % 60 < 0));
    bool by_name = false;
    json_array_foreach(json_object_get(st, "active"), i, job) by_name |=
        !strcmp(str(job, "name"), name) && !strcmp(str(job, "namespace"), ns);
    if (by_name || ts_of(str(st, "lastScheduleTime")) == recent)
        goto out;
    const char *policy = str(spec, "concurrencyPolicy");
    if (!strcmp(policy, "Forbid") && json_array_size(json_object_get(st, "active"))) {
        event(c, cj, "Normal", "JobAlreadyActive",
              "Not starting job because prior execution is running and concurrency policy is "
              "Forbid");
        goto out;
    }
    if (!strcmp(policy, "Replace")) {
        json_t *copy = json_deep_copy(json_object_get(st, "active"));
        json_array_foreach(copy, i, job)
        {
            const json_t *j = vk_informer_get(c->jobs, str(job, "namespace"), str(job, "name"));
            if (j)
                delete_job(c, cj, j, st);
            else
                remove_from_active(st, str(job, "uid"));
            *update = true;
        }
        json_decref(copy);
    }
    create_job(c, cj, st, recent, name, tz);
    /* The status is written once the Job is created. */
    *update = false;
out:
    json_decref(view);
    vk_cron_free(&sched);
    vk_tz_free(tz);
    return requeue > 0 ? (int)(requeue > 3600000 ? 3600000 : requeue) : 0;
}

static int reconcile(void *ud, const char *key)
{
    vk_cronjob_ctl *c = ud;
    const char *slash = strchr(key, '/');
    if (!slash || c->stopping)
        return 0;
    char ns[256];
    snprintf(ns, sizeof ns, "%.*s", (int)(slash - key), key);
    const json_t *cj = vk_informer_get(c->cjs, ns, slash + 1);
    if (!cj)
        return 0;
    const char *uid = str(vk_meta(cj), "uid");
    json_t *w = json_object_get(c->written, uid);
    if (w) {
        if (!*json_string_value(w) ||
            rv_num(str(vk_meta(cj), "resourceVersion")) < rv_num(json_string_value(w)))
            return 0;
        json_object_del(c->written, uid);
    }
    json_t *r = json_object_get(c->retry, uid);
    long long wait = r ? json_integer_value(json_array_get(r, 0)) - (long long)vk_now_ms() : 0;
    if (wait > 0)
        return (int)wait;
    json_t *st = json_deep_copy(json_object_get(cj, "status"));
    if (!json_is_object(st))
        st = json_object();
    if (!json_is_array(json_object_get(st, "active")))
        json_object_set_new(st, "active", json_array());
    bool update = false;
    int rc = sync_cronjob(c, cj, st, &update);
    if (update)
        write_status(c, cj, st);
    json_decref(st);
    return rc;
}

/* ---- events ---- */

static void cj_changed(void *ud, const json_t *old, const json_t *obj)
{
    vk_cronjob_ctl *c = ud;
    if (!obj) {
        json_object_del(c->written, str(vk_meta(old), "uid"));
        json_object_del(c->retry, str(vk_meta(old), "uid"));
        return;
    }
    enqueue(c, str(vk_meta(obj), "namespace"), str(vk_meta(obj), "name"));
}

static void job_changed(void *ud, const json_t *old, const json_t *obj)
{
    vk_cronjob_ctl *c = ud;
    const json_t *job = obj ? obj : old;
    const char *ns = str(vk_meta(job), "namespace");
    const json_t *ref = vk_controller_ref(job);
    if (ref && !strcmp(str(ref, "kind"), "CronJob"))
        enqueue(c, ns, str(ref, "name"));
    const json_t *oref = old && obj ? vk_controller_ref(old) : NULL;
    if (oref && !strcmp(str(oref, "kind"), "CronJob") &&
        (!ref || strcmp(str(ref, "uid"), str(oref, "uid"))))
        enqueue(c, ns, str(oref, "name"));
}

int vk_cronjob_start(vk_server *s, vk_informer *jobs, vk_cronjob_ctl **out)
{
    vk_cronjob_ctl *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    *c = (vk_cronjob_ctl){.s = s,
                          .res = vk_resource_find("batch", "v1", "cronjobs"),
                          .jobs_res = vk_resource_find("batch", "v1", "jobs"),
                          .jobs = jobs,
                          .written = json_object(),
                          .created = json_object(),
                          .removing = json_object(),
                          .retry = json_object()};
    int rc = vk_informer_start(s, c->res, &c->cjs);
    if (!rc && !(c->ctl = vk_controller_new(s, "cronjob", reconcile, c)))
        rc = -ENOMEM;
    if (!rc)
        rc = vk_informer_subscribe(c->cjs, cj_changed, c);
    if (!rc)
        rc = vk_informer_subscribe(jobs, job_changed, c);
    if (rc) {
        vk_cronjob_free(c);
        return rc;
    }
    const char *k;
    json_t *cj;
    json_object_foreach((json_t *)vk_informer_items(c->cjs), k, cj) cj_changed(c, NULL, cj);
    *out = c;
    return 0;
}

void vk_cronjob_free(vk_cronjob_ctl *c)
{
    if (!c)
        return;
    c->stopping = true;
    vk_controller_free(c->ctl);
    vk_informer_free(c->cjs);
    json_decref(c->written);
    json_decref(c->created);
    json_decref(c->removing);
    json_decref(c->retry);
    free(c);
}
