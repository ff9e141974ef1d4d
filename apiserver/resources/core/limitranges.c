/* core/v1 LimitRange: kube's defaults (SetDefaults_LimitRangeItem: a Container item's
 * default limit from max, default request from the default limit, then from min) and
 * quantities in canonical form. kube has no printer for it (Name, Created At). */
#include <string.h>

#include "apiserver/registry/resource.h"
#include "apiserver/resources/apps/workload.h"
#include "apiserver/resources/quantity.h"
#include "apiserver/resources/rules.h"

/* Copies into item[to] every key of item[from] it lacks; creates item[to] only when
 * there is something to copy (kube's empty map is dropped when stored). */
static void fill(json_t *item, const char *to, const char *from)
{
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(item, from), k, v)
    {
        vk_default(vk_child(item, to), k, json_deep_copy(v));
    }
}

static void defaults(json_t *obj)
{
    size_t i;
    json_t *item;
    json_array_foreach(vk_at(obj, "spec.limits"), i, item)
    {
        static const char *const lists[] = {"max", "min", "default", "defaultRequest",
                                            "maxLimitRequestRatio"};
        for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++)
            vk_quantities_canonical(json_object_get(item, lists[l]));
        if (strcmp(vk_str_at(item, "type"), "Container"))
            continue;
        fill(item, "default", "max");
        fill(item, "defaultRequest", "default");
        fill(item, "defaultRequest", "min");
    }
}

static const vk_strategy strategy = {
    .defaults = defaults,
};

const vk_resource vk_res_limitranges = {
    .group = "",
    .version = "v1",
    .plural = "limitranges",
    .strategy = &strategy,
};
