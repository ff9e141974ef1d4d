/* batch/v1 CronJob: kube's defaults (SetDefaults_CronJob and the job template's pod
 * defaults), the most used rules of ValidateCronJob and the printer. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "apiserver/registry/common.h"
#include "apiserver/registry/resource.h"
#include "apiserver/registry/selector.h"
#include "apiserver/resources/apps/workload.h"
#include "apiserver/resources/rules.h"
#include "apiserver/resources/core/pods.h"
#include "common/cron.h"
#include "common/timefmt.h"

static json_t *job_spec(const json_t *obj)
{
    return json_object_get(json_object_get(json_object_get(obj, "spec"), "jobTemplate"), "spec");
}

static void defaults(json_t *obj)
{
    json_t *spec = vk_child(obj, "spec");
    vk_default(spec, "concurrencyPolicy", json_string("Allow"));
    vk_default(spec, "suspend", json_false());
    vk_default(spec, "successfulJobsHistoryLimit", json_integer(3));
    vk_default(spec, "failedJobsHistoryLimit", json_integer(1));
    vk_pod_template_defaults(vk_child(vk_child(vk_child(spec, "jobTemplate"), "spec"), "template"));
}

/* kube's validateScheduleFormat and validateTimeZone: the schedule parses as the
 * controller reads it (common/cron), TZ in it only when it was there before, the zone
 * is one of the tz database. */
static void validate_schedule(vk_errlist *e, const json_t *spec, bool allow_tz)
{
    json_t *sv = json_object_get(spec, "schedule"), *tzv = json_object_get(spec, "timeZone");
    const char *sched = json_string_value(sv);
    char err[400];
    if (sched && *sched) {
        vk_cron cron;
        if (vk_cron_parse(sched, NULL, &cron, err, sizeof err))
            vk_err_invalid(e, "spec.schedule", sv, err);
        else
            vk_cron_free(&cron);
        if (allow_tz && strstr(sched, "TZ") && tzv && !json_is_null(tzv))
            vk_err_invalid(e, "spec.schedule", sv,
                           "cannot use both timeZone field and TZ or CRON_TZ in schedule");
        else if (!allow_tz && strstr(sched, "TZ"))
            vk_err_invalid(e, "spec.schedule", sv,
                           "cannot use TZ or CRON_TZ in schedule, use timeZone field instead");
    }
    const char *tz = json_string_value(tzv);
    if (!tz)
        return;
    if (!*tz) {
        vk_err_invalid(e, "spec.timeZone", tzv, "timeZone must be nil or non-empty string");
        return;
    }
    /* IANA names: components of [A-Za-z.-_0-9+], 1 to 14 long, not "." "..", no leading
     * "-". */
    for (const char *p = tz;;) {
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        bool ok = n >= 1 && n <= 14 && *p != '-' && !(n == 1 && *p == '.') &&
                  !(n == 2 && !strncmp(p, "..", 2));
        for (size_t i = 0; ok && i < n; i++)
            ok = isalnum((unsigned char)p[i]) || strchr(".-_+", p[i]);
        if (!ok) {
            snprintf(err, sizeof err, "unknown time zone %s", tz);
            vk_err_invalid(e, "spec.timeZone", tzv, err);
            return;
        }
        if (!end)
            break;
        p = end + 1;
    }
    if (!strcasecmp(tz, "Local")) {
        vk_err_invalid(e, "spec.timeZone", tzv,
                       "timeZone must be an explicit time zone as defined in "
                       "https://www.iana.org/time-zones");
        return;
    }
    vk_tz *zone = vk_tz_load(NULL, tz, err, sizeof err);
    if (!zone)
        vk_err_invalid(e, "spec.timeZone", tzv, err);
    vk_tz_free(zone);
}

static void validate_common(vk_ctx *c, const json_t *obj, vk_errlist *e)
{
    json_t *spec = json_object_get(obj, "spec");
    const char *sched = json_string_value(json_object_get(spec, "schedule"));
    if (!sched || !*sched)
        vk_err_required(e, "spec.schedule", "");
    const char *cp = json_string_value(json_object_get(spec, "concurrencyPolicy"));
    if (cp && strcmp(cp, "Allow") && strcmp(cp, "Forbid") && strcmp(cp, "Replace")) {
        char msg[160];
        snprintf(msg, sizeof msg,
                 "Unsupported value: \"%s\": supported values: \"Allow\", \"Forbid\", \"Replace\"",
                 cp);
        vk_errlist_add(e, "FieldValueNotSupported", "spec.concurrencyPolicy", msg);
    }
    static const char *const counts[] = {"startingDeadlineSeconds", "successfulJobsHistoryLimit",
                                         "failedJobsHistoryLimit"};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
        vk_workload_nonnegative(e, obj, counts[i]);
    json_t *tspec = json_object_get(json_object_get(job_spec(obj), "template"), "spec");
    const char *rp = json_string_value(json_object_get(tspec, "restartPolicy"));
    if (!rp || !strcmp(rp, "Always"))
        vk_err_required(e, "spec.jobTemplate.spec.template.spec.restartPolicy",
                        "valid values: \"OnFailure\", \"Never\"");
}

static void validate(vk_ctx *c, const json_t *obj, vk_errlist *e)
{
    validate_common(c, obj, e);
    validate_schedule(e, json_object_get(obj, "spec"), false);
}

/* A schedule that had TZ may keep it (kube's AllowTZInSchedule for updates). */
static void validate_update(vk_ctx *c, const json_t *obj, const json_t *old, vk_errlist *e)
{
    validate_common(c, obj, e);
    const char *was = json_string_value(json_object_get(json_object_get(old, "spec"), "schedule"));
    validate_schedule(e, json_object_get(obj, "spec"), was && strstr(was, "TZ"));
}

static json_t *cell_schedule(const json_t *o)
{
    const char *s = json_string_value(json_object_get(json_object_get(o, "spec"), "schedule"));
    return json_string(s ? s : "");
}

static json_t *cell_timezone(const json_t *o)
{
    const char *s = json_string_value(json_object_get(json_object_get(o, "spec"), "timeZone"));
    return json_string(s ? s : "<none>");
}

static json_t *cell_suspend(const json_t *o)
{
    json_t *v = json_object_get(json_object_get(o, "spec"), "suspend");
    return json_string(!v ? "<unset>" : json_is_true(v) ? "True" : "False");
}

static json_t *cell_active(const json_t *o)
{
    return json_integer(
        (json_int_t)json_array_size(json_object_get(json_object_get(o, "status"), "active")));
}

static json_t *cell_last(const json_t *o)
{
    const char *ts =
        json_string_value(json_object_get(json_object_get(o, "status"), "lastScheduleTime"));
    time_t t;
    if (!ts || vk_time_parse(ts, &t))
        return json_string("<none>");
    char buf[32];
    vk_human_duration((long long)(time(NULL) - t), buf, sizeof buf);
    return json_string(buf);
}

/* The job template seen as a workload, for the shared container cells. */
static json_t *as_workload(const json_t *o)
{
    return json_pack("{s:{s:O?}}", "spec", "template", json_object_get(job_spec(o), "template"));
}

static json_t *cell_containers(const json_t *o)
{
    json_t *w = as_workload(o), *c = vk_cell_containers(w);
    json_decref(w);
    return c;
}

static json_t *cell_images(const json_t *o)
{
    json_t *w = as_workload(o), *c = vk_cell_images(w);
    json_decref(w);
    return c;
}

static json_t *cell_selector(const json_t *o)
{
    return vk_cell_label_selector(json_object_get(job_spec(o), "selector"));
}

static const vk_strategy strategy = {
    .defaults = defaults,
    .validate_create = validate,
    .validate_update = validate_update,
};

static const vk_column columns[] = {
    {"Name", "string", "name", VK_DESC_NAME, 0, vk_cell_name},
    {"Schedule", "string", "", "@io.k8s.api.batch.v1.CronJobSpec/schedule", 0, cell_schedule},
    {"Timezone", "string", "", "@io.k8s.api.batch.v1.CronJobSpec/timeZone", 0, cell_timezone},
    {"Suspend", "boolean", "", "@io.k8s.api.batch.v1.CronJobSpec/suspend", 0, cell_suspend},
    {"Active", "integer", "", "@io.k8s.api.batch.v1.CronJobStatus/active", 0, cell_active},
    {"Last Schedule", "string", "", "@io.k8s.api.batch.v1.CronJobStatus/lastScheduleTime", 0,
     cell_last},
    {"Age", "string", "", VK_DESC_AGE, 0, vk_cell_age},
    {"Containers", "string", "", VK_DESC_CONTAINERS, 1, cell_containers},
    {"Images", "string", "", VK_DESC_IMAGES, 1, cell_images},
    {"Selector", "string", "", "@io.k8s.api.batch.v1.JobSpec/selector", 1, cell_selector},
};

const vk_resource vk_res_cronjobs = {
    .group = "batch",
    .version = "v1",
    .plural = "cronjobs",
    .flags = VK_GENERATION,
    .subresources = {{"status", vk_keep_all_but_status}},
    .strategy = &strategy,
    .columns = columns,
    .ncolumns = sizeof columns / sizeof columns[0],
};
