/* core/v1 Event: kube's printer and field labels (kubectl describe finds an object's
 * events with involvedObject.* field selectors). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "apiserver/registry/common.h"
#include "apiserver/registry/resource.h"
#include "common/timefmt.h"

static void validate(vk_ctx *c, const json_t *obj, vk_errlist *errs)
{
    json_t *io = json_object_get(obj, "involvedObject");
    const char *ns =
        json_string_value(json_object_get(json_object_get(obj, "metadata"), "namespace"));
    const char *ions = json_string_value(json_object_get(io, "namespace"));
    /* kube: a namespaced event's involvedObject.namespace must match its own. */
    if (ions && *ions && ns && strcmp(ions, ns))
        vk_err_invalid(errs, "involvedObject.namespace", json_object_get(io, "namespace"),
                       "does not match event.namespace");
}

static void validate_update(vk_ctx *c, const json_t *obj, const json_t *old, vk_errlist *errs)
{
    validate(c, obj, errs);
}

/* The latest of lastTimestamp, eventTime and creationTimestamp, as an age. */
static json_t *cell_last_seen(const json_t *o)
{
    static const char *const order[] = {"lastTimestamp", "eventTime"};
    for (size_t i = 0; i < 2; i++) {
        const char *ts = json_string_value(json_object_get(o, order[i]));
        time_t t;
        if (ts && !vk_time_parse(ts, &t)) {
            char buf[32];
            vk_human_duration((long long)(time(NULL) - t), buf, sizeof buf);
            return json_string(buf);
        }
    }
    return vk_cell_age(o);
}

static json_t *cell_str(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return json_string(v ? v : "");
}

static json_t *cell_type(const json_t *o)
{
    return cell_str(o, "type");
}

static json_t *cell_reason(const json_t *o)
{
    return cell_str(o, "reason");
}

static json_t *cell_message(const json_t *o)
{
    return cell_str(o, "message");
}

/* "kind/name", kind lower-cased as kubectl prints it. */
static json_t *cell_object(const json_t *o)
{
    json_t *io = json_object_get(o, "involvedObject");
    const char *k = json_string_value(json_object_get(io, "kind"));
    const char *n = json_string_value(json_object_get(io, "name"));
    char buf[512];
    snprintf(buf, sizeof buf, "%s/%s", k ? k : "", n ? n : "");
    for (char *p = buf; *p && *p != '/'; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return json_string(buf);
}

static const vk_strategy strategy = {
    .validate_create = validate,
    .validate_update = validate_update,
};

static const vk_column columns[] = {
    {"Last Seen", "string", "", "Time of the last occurrence.", 0, cell_last_seen},
    {"Type", "string", "", "Type of this event (Normal, Warning).", 0, cell_type},
    {"Reason", "string", "", "Why the action was taken.", 0, cell_reason},
    {"Object", "string", "", "The object this event is about.", 0, cell_object},
    {"Message", "string", "", "A description of the status of this operation.", 0, cell_message},
    {"Name", "string", "name", VK_DESC_NAME, 1, vk_cell_name},
};

const vk_resource vk_res_events = {
    .group = "",
    .version = "v1",
    .plural = "events",
    .field_labels = {"involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
                     "involvedObject.uid", "involvedObject.apiVersion",
                     "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
                     "reportingComponent", "source", "type"},
    .strategy = &strategy,
    .columns = columns,
    .ncolumns = sizeof columns / sizeof columns[0],
};
