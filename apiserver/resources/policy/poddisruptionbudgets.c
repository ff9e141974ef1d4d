/* policy/v1 PodDisruptionBudget: minAvailable and maxUnavailable not both, and the
 * printer (MIN AVAILABLE, MAX UNAVAILABLE, ALLOWED DISRUPTIONS). */
#include <stdio.h>
#include <string.h>

#include "apiserver/registry/common.h"
#include "apiserver/registry/resource.h"
#include "apiserver/resources/rules.h"

static void validate(vk_ctx *c, const json_t *obj, vk_errlist *e)
{
    json_t *spec = json_object_get(obj, "spec");
    if (json_object_get(spec, "minAvailable") && json_object_get(spec, "maxUnavailable")) {
        vk_err_invalid(e, "spec", spec, "minAvailable and maxUnavailable cannot be both set");
    }
    static const char *const keys[] = {"minAvailable", "maxUnavailable"};
    for (int i = 0; i < 2; i++) {
        json_t *v = json_object_get(spec, keys[i]);
        char f[64];
        snprintf(f, sizeof f, "spec.%s", keys[i]);
        vk_check_nonnegative(e, f, v);
    }
}

static void validate_update(vk_ctx *c, const json_t *obj, const json_t *old, vk_errlist *e)
{
    validate(c, obj, e);
}

/* An IntOrString as kube's String(): the number or the text; N/A when unset. */
static json_t *int_or_string(const json_t *o, const char *path)
{
    json_t *v = vk_at(o, path);
    if (json_is_integer(v)) {
        char s[32];
        snprintf(s, sizeof s, "%lld", (long long)json_integer_value(v));
        return json_string(s);
    }
    return json_is_string(v) ? json_incref(v) : json_string("N/A");
}

static json_t *cell_min(const json_t *o)
{
    return int_or_string(o, "spec.minAvailable");
}

static json_t *cell_max(const json_t *o)
{
    return int_or_string(o, "spec.maxUnavailable");
}

static const vk_strategy strategy = {
    .validate_create = validate,
    .validate_update = validate_update,
};

static const vk_column columns[] = {
    {"Name", "string", "name", VK_DESC_NAME, 0, vk_cell_name},
    {"Min Available", "string", "", "The minimum number of pods that must be available.", 0,
     cell_min},
    {"Max Unavailable", "string", "", "The maximum number of pods that may be unavailable.", 0,
     cell_max},
    {"Allowed Disruptions", "integer", "",
     "Calculated number of pods that may be disrupted at this time.", 0, NULL,
     "status.disruptionsAllowed"},
    {"Age", "string", "", VK_DESC_AGE, 0, vk_cell_age},
};

const vk_resource vk_res_poddisruptionbudgets = {
    .group = "policy",
    .version = "v1",
    .plural = "poddisruptionbudgets",
    .flags = VK_GENERATION,
    .subresources = {{"status", vk_keep_all_but_status}},
    .strategy = &strategy,
    .columns = columns,
    .ncolumns = sizeof columns / sizeof columns[0],
};
