/* scheduling.k8s.io/v1 PriorityClass: kube's default preemption policy
 * (PreemptLowerPriority), the value limit for user classes, value and policy fixed on
 * update, and the printer. */
#include <stdio.h>
#include <string.h>

#include "apiserver/registry/common.h"
#include "apiserver/registry/resource.h"
#include "apiserver/resources/rules.h"

static void defaults(json_t *obj)
{
    if (!json_object_get(obj, "preemptionPolicy"))
        json_object_set_new(obj, "preemptionPolicy", json_string("PreemptLowerPriority"));
}

static bool system_class(const char *name)
{
    return !strcmp(name, "system-node-critical") || !strcmp(name, "system-cluster-critical");
}

static void validate(vk_ctx *c, const json_t *obj, vk_errlist *e)
{
    const char *name = vk_str_at(obj, "metadata.name");
    json_int_t v = json_integer_value(json_object_get(obj, "value"));
    if (!system_class(name) && v > 1000000000) {
        vk_err_forbidden(e, "value",
                         "maximum allowed value of a user defined priority is "
                         "1000000000");
    }
    static const char *const policies[] = {"Never", "PreemptLowerPriority", NULL};
    const char *p = vk_str_at(obj, "preemptionPolicy");
    if (strcmp(p, "Never") && strcmp(p, "PreemptLowerPriority"))
        vk_err_not_supported(e, "preemptionPolicy", p, policies);
}

static void validate_update(vk_ctx *c, const json_t *obj, const json_t *old, vk_errlist *e)
{
    if (!json_equal(json_object_get(obj, "value"), json_object_get(old, "value")))
        vk_err_forbidden(e, "value", "may not be changed in an update.");
    vk_err_immutable(e, obj, old, "preemptionPolicy", "preemptionPolicy");
}

static json_t *cell_policy(const json_t *o)
{
    return vk_cell_str(o, "preemptionPolicy");
}

static const vk_strategy strategy = {
    .defaults = defaults,
    .validate_create = validate,
    .validate_update = validate_update,
};

static const vk_column columns[] = {
    {"Name", "string", "name", VK_DESC_NAME, 0, vk_cell_name},
    {"Value", "integer", "", "@io.k8s.api.scheduling.v1.PriorityClass/value", 0, NULL, "value"},
    {"Global-Default", "boolean", "", "@io.k8s.api.scheduling.v1.PriorityClass/globalDefault", 0,
     NULL, "globalDefault"},
    {"Age", "string", "", VK_DESC_AGE, 0, vk_cell_age},
    {"PreemptionPolicy", "string", "", "@io.k8s.api.scheduling.v1.PriorityClass/preemptionPolicy",
     0, cell_policy},
};

const vk_resource vk_res_priorityclasses = {
    .group = "scheduling.k8s.io",
    .version = "v1",
    .plural = "priorityclasses",
    .flags = VK_GENERATION,
    .strategy = &strategy,
    .columns = columns,
    .ncolumns = sizeof columns / sizeof columns[0],
};
