/* apps/v1 DaemonSet: kube's defaults (SetDefaults_DaemonSet), validation
 * (ValidateDaemonSetSpec, ValidateDaemonSetUpdate) and printer. */
#include "apiserver/registry/common.h"
#include "apiserver/registry/resource.h"
#include "apiserver/registry/selector.h"
#include "apiserver/resources/apps/workload.h"

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
    json_t *s = vk_label_selector_format(ns);
    if (!json_string_length(s)) {
        json_decref(s);
        return json_string("<none>");
    }
    return s;
}

static const vk_strategy strategy = {
    .defaults = defaults,
    .validate_create = validate,
    .validate_update = validate_update,
};

static const vk_column columns[] = {
    {"Name", "string", "name", VK_DESC_NAME, 0, vk_cell_name},
    {"Desired", "integer", "",
     "The total number of nodes that should be running the daemon pod (including nodes "
     "correctly running the daemon pod). More info: "
     "https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/",
     0, NULL, "status.desiredNumberScheduled"},
    {"Current", "integer", "",
     "The number of nodes that are running at least 1 daemon pod and are supposed to run the "
     "daemon pod. More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/",
     0, NULL, "status.currentNumberScheduled"},
    {"Ready", "integer", "",
     "numberReady is the number of nodes that should be running the daemon pod and have one or "
     "more of the daemon pod running with a Ready Condition.",
     0, NULL, "status.numberReady"},
    {"Up-to-date", "integer", "", "The total number of nodes that are running updated daemon pod",
     0, NULL, "status.updatedNumberScheduled"},
    {"Available", "integer", "",
     "The number of nodes that should be running the daemon pod and have one or more of the "
     "daemon pod running and available (ready for at least spec.minReadySeconds)",
     0, NULL, "status.numberAvailable"},
    {"Node Selector", "string", "",
     "NodeSelector is a selector which must be true for the pod to fit on a node. Selector which "
     "must match a node's labels for the pod to be scheduled on that node. More info: "
     "https://kubernetes.io/docs/concepts/configuration/assign-pod-node/",
     0, cell_node_selector},
    {"Age", "string", "", VK_DESC_AGE, 0, vk_cell_age},
    {"Containers", "string", "", VK_DESC_CONTAINERS, 1, vk_cell_containers},
    {"Images", "string", "", VK_DESC_IMAGES, 1, vk_cell_images},
    {"Selector", "string", "",
     "A label query over pods that are managed by the daemon set. Must match in order to be "
     "controlled. It must match the pod template's labels. More info: "
     "https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
     1, vk_cell_selector},
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
