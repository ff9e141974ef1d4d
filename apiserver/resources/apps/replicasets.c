/* apps/v1 ReplicaSet: kube's defaults, validation (ValidateReplicaSetSpec,
 * ValidateReplicaSetUpdate) and printer. */
#include "apiserver/registry/common.h"
#include "apiserver/registry/resource.h"
#include "apiserver/resources/apps/workload.h"

static void defaults(json_t *obj)
{
    vk_default(vk_child(obj, "spec"), "replicas", json_integer(1));
    vk_workload_template_defaults(obj);
}

static void validate(vk_ctx *c, const json_t *obj, vk_errlist *e)
{
    vk_workload_validate(e, obj, "deployment", "ReplicaSet");
}

static void validate_update(vk_ctx *c, const json_t *obj, const json_t *old, vk_errlist *e)
{
    validate(c, obj, e);
    vk_workload_immutable(e, obj, old, "selector");
}

static const vk_strategy strategy = {
    .defaults = defaults,
    .validate_create = validate,
    .validate_update = validate_update,
};

static const vk_column columns[] = {
    {"Name", "string", "name", VK_DESC_NAME, 0, vk_cell_name},
    {"Desired", "integer", "", "@io.k8s.api.apps.v1.ReplicaSetSpec/replicas", 0, NULL,
     "spec.replicas"},
    {"Current", "integer", "", "@io.k8s.api.apps.v1.ReplicaSetStatus/replicas", 0, NULL,
     "status.replicas"},
    {"Ready", "integer", "", "@io.k8s.api.apps.v1.ReplicaSetStatus/readyReplicas", 0, NULL,
     "status.readyReplicas"},
    {"Age", "string", "", VK_DESC_AGE, 0, vk_cell_age},
    {"Containers", "string", "", VK_DESC_CONTAINERS, 1, vk_cell_containers},
    {"Images", "string", "", VK_DESC_IMAGES, 1, vk_cell_images},
    {"Selector", "string", "", "@io.k8s.api.apps.v1.ReplicaSetSpec/selector", 1, vk_cell_selector},
};

const vk_resource vk_res_replicasets = {
    .group = "apps",
    .version = "v1",
    .plural = "replicasets",
    .flags = VK_GENERATION,
    .subresources = {{"status", vk_keep_all_but_status},
                     {"scale", .view = vk_scale_view, .set = vk_scale_set}},
    .strategy = &strategy,
    .columns = columns,
    .ncolumns = sizeof columns / sizeof columns[0],
};
