/* core/v1 ReplicationController: kube's defaults (SetDefaults_ReplicationController:
 * selector and labels from the template; replicas 1), ValidateReplicationControllerSpec
 * and the printer. */
#include <stdio.h>
#include <string.h>

#include "apiserver/registry/common.h"
#include "apiserver/registry/resource.h"
#include "apiserver/registry/selector.h"
#include "apiserver/resources/apps/workload.h"
#include "apiserver/resources/rules.h"
#include "apiserver/resources/core/pods.h"

static void defaults(json_t *obj)
{
    json_t *spec = vk_child(obj, "spec");
    vk_default(spec, "replicas", json_integer(1));
    json_t *tmpl = json_object_get(spec, "template");
    json_t *labels = json_object_get(json_object_get(tmpl, "metadata"), "labels");
    if (json_is_object(labels)) {
        if (!json_object_size(json_object_get(spec, "selector")))
            json_object_set(spec, "selector", labels);
        json_t *meta = vk_child(obj, "metadata");
        if (!json_object_size(json_object_get(meta, "labels")))
            json_object_set(meta, "labels", labels);
    }
    if (json_is_object(tmpl))
        vk_pod_template_defaults(tmpl);
}

static void validate(vk_ctx *c, const json_t *obj, vk_errlist *e)
{
    json_t *spec = json_object_get(obj, "spec");
    vk_workload_nonnegative(e, obj, "replicas");
    vk_workload_nonnegative(e, obj, "minReadySeconds");
    json_t *sel = json_object_get(spec, "selector");
    json_t *tmpl = json_object_get(spec, "template");
    if (!json_object_size(sel))
        vk_err_required(e, "spec.selector", "");
    if (!json_is_object(tmpl)) {
        vk_err_required(e, "spec.template", "");
        return;
    }
    json_t *labels = json_object_get(json_object_get(tmpl, "metadata"), "labels");
    json_t *text = vk_label_selector_format(sel);
    vk_selector *s = NULL;
    char err[256];
    if (json_string_length(text) &&
        !vk_label_selector_parse(json_string_value(text), &s, err, sizeof err) &&
        !vk_selector_match_labels(s, labels))
        vk_err_invalid(e, "spec.template.metadata.labels", labels ? labels : json_null(),
                       "`selector` does not match template `labels`");
    vk_selector_free(s);
    json_decref(text);
    json_t *tspec = json_object_get(tmpl, "spec");
    const char *rp = json_string_value(json_object_get(tspec, "restartPolicy"));
    if (rp && strcmp(rp, "Always")) {
        char msg[128];
        snprintf(msg, sizeof msg, "Unsupported value: \"%s\": supported values: \"Always\"", rp);
        vk_errlist_add(e, "FieldValueNotSupported", "spec.template.spec.restartPolicy", msg);
    }
    if (json_object_get(tspec, "activeDeadlineSeconds"))
        vk_errlist_add(e, "FieldValueForbidden", "spec.template.spec.activeDeadlineSeconds",
                       "Forbidden: activeDeadlineSeconds in ReplicationController is not "
                       "Supported");
}

static void validate_update(vk_ctx *c, const json_t *obj, const json_t *old, vk_errlist *e)
{
    validate(c, obj, e);
}

static json_t *cell_selector(const json_t *o)
{
    return vk_cell_label_selector(json_object_get(json_object_get(o, "spec"), "selector"));
}

static const vk_strategy strategy = {
    .defaults = defaults,
    .validate_create = validate,
    .validate_update = validate_update,
};

static const vk_column columns[] = {
    {"Name", "string", "name", VK_DESC_NAME, 0, vk_cell_name},
    {"Desired", "integer", "", "@io.k8s.api.core.v1.ReplicationControllerSpec/replicas", 0, NULL,
     "spec.replicas"},
    {"Current", "integer", "", "@io.k8s.api.core.v1.ReplicationControllerStatus/replicas", 0, NULL,
     "status.replicas"},
    {"Ready", "integer", "", "@io.k8s.api.core.v1.ReplicationControllerStatus/readyReplicas", 0,
     NULL, "status.readyReplicas"},
    {"Age", "string", "", VK_DESC_AGE, 0, vk_cell_age},
    {"Containers", "string", "", VK_DESC_CONTAINERS, 1, vk_cell_containers},
    {"Images", "string", "", VK_DESC_IMAGES, 1, vk_cell_images},
    {"Selector", "string", "", "@io.k8s.api.core.v1.ReplicationControllerSpec/selector", 1,
     cell_selector},
};

const vk_resource vk_res_replicationcontrollers = {
    .group = "",
    .version = "v1",
    .plural = "replicationcontrollers",
    .flags = VK_GENERATION,
    .subresources = {{"status", vk_keep_all_but_status},
                     {"scale", .view = vk_scale_view, .set = vk_scale_set}},
    .strategy = &strategy,
    .columns = columns,
    .ncolumns = sizeof columns / sizeof columns[0],
};
