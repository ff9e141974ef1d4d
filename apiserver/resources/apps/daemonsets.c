/* apps/v1 DaemonSet: kube's defaults (SetDefaults_DaemonSet), validation
 * (ValidateDaemonSetSpec, ValidateDaemonSetUpdate) and printer. */
#include "apiserver/registry/common.h"
#include "apiserver/registry/resource.h"
#include "apiserver/registry/selector.h"
#include "apiserver/resources/apps/workload.h"
#include "apiserver/resources/rules.h"

#include <string.h>

static void defaults(json_t *obj)
{
    json_t *spec = vk_child(obj, "spec");
    json_t *us = vk_child(spec, "updateStrategy");
    vk_default(us, "type", json_string("RollingUpdate"));
    const char *type = json_string_value(json_object_get(us, "type"));
    if (type && !strcmp(type, "RollingUpdate")) {
        json_t *ru = vk_child(us, "rollingUpdate");
        vk_default(ru, "maxUnavailable", json_integer(1));
        vk_default(ru, "maxSurge", json_integer(0));
    }
    vk_default(spec, "revisionHistoryLimit", json_integer(10));
    vk_workload_template_defaults(obj);
}

static void validate(vk_ctx *c, const json_t *obj, vk_errlist *e)
{
    vk_workload_validate(e, obj, "daemonset", "DaemonSet");
}

static void validate_update(vk_ctx *c, const json_t *obj, const json_t *old, vk_errlist *e)
{
    validate(c, obj, e);
    vk_workload_immutable(e, obj, old, "selector");
}

static json_t *cell_node_selector(const json_t *o)
{
    json_t *ns = json_object_get(
        json_object_get(json_object_get(json_object_get(o, "spec"), "template"), "spec"),
        "nodeSelector");
    return vk_cell_label_selector(ns);
}

static const vk_strategy strategy = {
    .defaults = defaults,
    .validate_create = validate,
    .validate_update = validate_update,
};

static const vk_column columns[] = {
    {"Name", "string", "name", VK_DESC_NAME, 0, vk_cell_name},
    {"Desired", "integer", "", "@io.k8s.api.apps.v1.DaemonSetStatus/desiredNumberScheduled", 0,
     NULL, "status.desiredNumberScheduled"},
    {"Current", "integer", "", "@io.k8s.api.apps.v1.DaemonSetStatus/currentNumberScheduled", 0,
     NULL, "status.currentNumberScheduled"},
    {"Ready", "integer", "", "@io.k8s.api.apps.v1.DaemonSetStatus/numberReady", 0, NULL,
     "status.numberReady"},
    {"Up-to-date", "integer", "", "@io.k8s.api.apps.v1.DaemonSetStatus/updatedNumberScheduled", 0,
     NULL, "status.updatedNumberScheduled"},
    {"Available", "integer", "", "@io.k8s.api.apps.v1.DaemonSetStatus/numberAvailable", 0, NULL,
     "status.numberAvailable"},
    {"Node Selector", "string", "", "@io.k8s.api.core.v1.PodSpec/nodeSelector", 0,
     cell_node_selector},
    {"Age", "string", "", VK_DESC_AGE, 0, vk_cell_age},
    {"Containers", "string", "", VK_DESC_CONTAINERS, 1, vk_cell_containers},
    {"Images", "string", "", VK_DESC_IMAGES, 1, vk_cell_images},
    {"Selector", "string", "", "@io.k8s.api.apps.v1.DaemonSetSpec/selector", 1, vk_cell_selector},
};

const vk_resource vk_res_daemonsets = {
    .group = "apps",
    .version = "v1",
    .plural = "daemonsets",
    .flags = VK_GENERATION,
    .subresources = {{"status", vk_keep_all_but_status}},
    .strategy = &strategy,
    .columns = columns,
    .ncolumns = sizeof columns / sizeof columns[0],
};
