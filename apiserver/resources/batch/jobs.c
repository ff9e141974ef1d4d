/* batch/v1 Job: kube's defaults (SetDefaults_Job), the generated selector
 * (pkg/registry/batch/job: generateSelector), the most used rules of ValidateJob and
 * ValidateJobUpdate, and the printer. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "apiserver/registry/common.h"
#include "apiserver/registry/resource.h"
#include "apiserver/resources/apps/workload.h"
#include "common/timefmt.h"

static void defaults(json_t *obj)
{
    json_t *spec = vk_child(obj, "spec");
    if (!json_object_get(spec, "completions") && !json_object_get(spec, "parallelism"))
        json_object_set_new(spec, "completions", json_integer(1));
    vk_default(spec, "parallelism", json_integer(1));
    vk_default(spec, "backoffLimit",
               json_integer(json_object_get(spec, "backoffLimitPerIndex") ? 2147483647 : 6));
    json_t *labels =
        json_object_get(json_object_get(json_object_get(spec, "template"), "metadata"), "labels");
    json_t *meta = vk_child(obj, "metadata");
    if (json_is_object(labels) && !json_object_size(json_object_get(meta, "labels")))
        json_object_set(meta, "labels", labels);
    vk_default(spec, "completionMode", json_string("NonIndexed"));
    vk_default(spec, "suspend", json_false());
    vk_default(
        spec, "podReplacementPolicy",
        json_string(json_object_get(spec, "podFailurePolicy") ? "Failed" : "TerminatingOrFailed"));
    vk_default(spec, "manualSelector", json_false());
    vk_workload_template_defaults(obj);
}

/* Unless the selector is manual, the Job selects its pods by its uid, and its template
 * carries that label and the job's name (legacy and batch.kubernetes.io forms). */
static void prepare_create(vk_ctx *c, json_t *obj)
{
    json_t *spec = vk_child(obj, "spec");
    if (json_is_true(json_object_get(spec, "manualSelector")))
        return;
    json_t *meta = json_object_get(obj, "metadata");
    const char *name = json_string_value(json_object_get(meta, "name"));
    const char *uid = json_string_value(json_object_get(meta, "uid"));
    json_t *labels = vk_child(vk_child(vk_child(spec, "template"), "metadata"), "labels");
    static const char *const by_name[] = {"job-name", "batch.kubernetes.io/job-name"};
    static const char *const by_uid[] = {"controller-uid", "batch.kubernetes.io/controller-uid"};
    for (int i = 0; i < 2; i++) {
        vk_default(labels, by_name[i], json_string(name ? name : ""));
        vk_default(labels, by_uid[i], json_string(uid ? uid : ""));
    }
    json_t *ml = vk_child(vk_child(spec, "selector"), "matchLabels");
    vk_default(ml, "batch.kubernetes.io/controller-uid", json_string(uid ? uid : ""));
}

/* The template's restart policy: OnFailure or Never (path is where the template is). */
static void validate_restart(vk_errlist *e, const json_t *tspec, const char *field)
{
    const char *rp = json_string_value(json_object_get(tspec, "restartPolicy"));
    char msg[200];
    if (!rp || !*rp || !strcmp(rp, "Always")) {
        vk_err_required(e, field, "valid values: \"OnFailure\", \"Never\"");
    } else if (strcmp(rp, "OnFailure") && strcmp(rp, "Never")) {
        snprintf(msg, sizeof msg,
                 "Unsupported value: \"%s\": supported values: \"OnFailure\", \"Never\"", rp);
        vk_errlist_add(e, "FieldValueNotSupported", field, msg);
    }
}

static void validate(vk_ctx *c, const json_t *obj, vk_errlist *e)
{
    static const char *const counts[] = {"parallelism", "completions", "activeDeadlineSeconds",
                                         "backoffLimit", "ttlSecondsAfterFinished"};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
        vk_workload_nonnegative(e, obj, counts[i]);
    json_t *spec = json_object_get(obj, "spec");
    json_t *ads = json_object_get(spec, "activeDeadlineSeconds");
    if (json_is_integer(ads) && json_integer_value(ads) == 0)
        vk_err_invalid(e, "spec.activeDeadlineSeconds", ads, "must be greater than 0");
    const char *mode = json_string_value(json_object_get(spec, "completionMode"));
    if (mode && strcmp(mode, "NonIndexed") && strcmp(mode, "Indexed")) {
        char msg[160];
        snprintf(msg, sizeof msg,
                 "Unsupported value: \"%s\": supported values: \"NonIndexed\", \"Indexed\"", mode);
        vk_errlist_add(e, "FieldValueNotSupported", "spec.completionMode", msg);
    }
    if (mode && !strcmp(mode, "Indexed") && !json_object_get(spec, "completions"))
        vk_err_required(e, "spec.completions", "when completion mode is Indexed");
    if (!json_is_object(json_object_get(spec, "selector")))
        vk_err_required(e, "spec.selector", "");
    validate_restart(e, json_object_get(json_object_get(spec, "template"), "spec"),
                     "spec.template.spec.restartPolicy");
}

static void validate_update(vk_ctx *c, const json_t *obj, const json_t *old, vk_errlist *e)
{
    validate(c, obj, e);
    vk_workload_immutable(e, obj, old, "selector");
    vk_workload_immutable(e, obj, old, "completionMode");
    /* kube lets a suspended Job's template change (scheduling directives); a running one's
     * template is fixed. */
    if (!json_is_true(json_object_get(json_object_get(old, "spec"), "suspend")))
        vk_workload_immutable(e, obj, old, "template");
}

static bool has_condition(const json_t *o, const char *type)
{
    size_t i;
    json_t *cnd;
    json_array_foreach(json_object_get(json_object_get(o, "status"), "conditions"), i, cnd)
    {
        const char *t = json_string_value(json_object_get(cnd, "type"));
        const char *s = json_string_value(json_object_get(cnd, "status"));
        if (t && s && !strcmp(t, type) && !strcmp(s, "True"))
            return true;
    }
    return false;
}

static json_t *cell_status(const json_t *o)
{
    static const char *const order[] = {"Complete",  "Failed",        NULL,
                                        "Suspended", "FailureTarget", "SuccessCriteriaMet"};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        if (!order[i]) {
            if (json_object_get(json_object_get(o, "metadata"), "deletionTimestamp"))
                return json_string("Terminating");
        } else if (has_condition(o, order[i])) {
            return json_string(order[i]);
        }
    }
    return json_string("Running");
}

static json_t *cell_completions(const json_t *o)
{
    json_t *spec = json_object_get(o, "spec");
    long long ok =
        (long long)json_integer_value(json_object_get(json_object_get(o, "status"), "succeeded"));
    json_t *comp = json_object_get(spec, "completions");
    long long par = (long long)json_integer_value(json_object_get(spec, "parallelism"));
    char s[64];
    if (comp)
        snprintf(s, sizeof s, "%lld/%lld", ok, (long long)json_integer_value(comp));
    else if (par > 1)
        snprintf(s, sizeof s, "%lld/1 of %lld", ok, par);
    else
        snprintf(s, sizeof s, "%lld/1", ok);
    return json_string(s);
}

static json_t *cell_duration(const json_t *o)
{
    json_t *st = json_object_get(o, "status");
    const char *start = json_string_value(json_object_get(st, "startTime"));
    const char *end = json_string_value(json_object_get(st, "completionTime"));
    time_t a, b = time(NULL);
    if (!start || vk_time_parse(start, &a) || (end && vk_time_parse(end, &b)))
        return json_string("");
    char buf[32];
    vk_human_duration((long long)(b - a), buf, sizeof buf);
    return json_string(buf);
}

static const vk_strategy strategy = {
    .defaults = defaults,
    .prepare_create = prepare_create,
    .validate_create = validate,
    .validate_update = validate_update,
};

static const vk_column columns[] = {
    {"Name", "string", "name", VK_DESC_NAME, 0, vk_cell_name},
    {"Status", "string", "", "Status of the job.", 0, cell_status},
    {"Completions", "string", "", "@io.k8s.api.batch.v1.JobStatus/succeeded", 0, cell_completions},
    {"Duration", "string", "", "Time required to complete the job.", 0, cell_duration},
    {"Age", "string", "", VK_DESC_AGE, 0, vk_cell_age},
    {"Containers", "string", "", VK_DESC_CONTAINERS, 1, vk_cell_containers},
    {"Images", "string", "", VK_DESC_IMAGES, 1, vk_cell_images},
    {"Selector", "string", "", "@io.k8s.api.batch.v1.JobSpec/selector", 1, vk_cell_selector},
};

const vk_resource vk_res_jobs = {
    .group = "batch",
    .version = "v1",
    .plural = "jobs",
    .flags = VK_GENERATION,
    .subresources = {{"status", vk_keep_all_but_status}},
    .strategy = &strategy,
    .columns = columns,
    .ncolumns = sizeof columns / sizeof columns[0],
};
