/* core/v1 PodTemplate: the pod defaults of its template, generation (kube's
 * podtemplate strategy), and the printer. */
#include "apiserver/registry/common.h"
#include "apiserver/registry/resource.h"
#include "apiserver/registry/selector.h"
#include "apiserver/resources/apps/workload.h"
#include "apiserver/resources/rules.h"
#include "apiserver/resources/core/pods.h"

static void defaults(json_t *obj)
{
    vk_pod_template_defaults(vk_child(obj, "template"));
}

/* A PodTemplate's template sits at the top, not under spec. */
static json_t *as_workload(const json_t *o)
{
    return json_pack("{s:{s:O?}}", "spec", "template", json_object_get(o, "template"));
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

static json_t *cell_labels(const json_t *o)
{
    return vk_cell_label_selector(
        json_object_get(json_object_get(json_object_get(o, "template"), "metadata"), "labels"));
}

static const vk_strategy strategy = {
    .defaults = defaults,
};

static const vk_column columns[] = {
    {"Name", "string", "name", VK_DESC_NAME, 0, vk_cell_name},
    {"Containers", "string", "", VK_DESC_CONTAINERS, 0, cell_containers},
    {"Images", "string", "", VK_DESC_IMAGES, 0, cell_images},
    {"Pod Labels", "string", "", "The labels for the pod template.", 0, cell_labels},
};

const vk_resource vk_res_podtemplates = {
    .group = "",
    .version = "v1",
    .plural = "podtemplates",
    .flags = VK_GENERATION,
    .strategy = &strategy,
    .columns = columns,
    .ncolumns = sizeof columns / sizeof columns[0],
};
