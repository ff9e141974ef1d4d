/* apps/v1 StatefulSet: kube's defaults (SetDefaults_StatefulSet, MaxUnavailableStatefulSet
 * on as in v1.37), validation (ValidateStatefulSetSpec, ValidateStatefulSetUpdate) and
 * printer. */
#include <stdio.h>
#include <string.h>

#include "apiserver/registry/common.h"
#include "apiserver/registry/resource.h"
#include "apiserver/resources/apps/workload.h"

static void defaults(json_t *obj)
{
    json_t *spec = vk_child(obj, "spec");
    vk_default(spec, "podManagementPolicy", json_string("OrderedReady"));
    json_t *us = vk_child(spec, "updateStrategy");
    if (!json_object_get(us, "type")) {
        json_object_set_new(us, "type", json_string("RollingUpdate"));
        vk_child(us, "rollingUpdate");
    }
    const char *type = json_string_value(json_object_get(us, "type"));
    json_t *ru = json_object_get(us, "rollingUpdate");
    if (type && !strcmp(type, "RollingUpdate") && json_is_object(ru)) {
        vk_default(ru, "partition", json_integer(0));
        vk_default(ru, "maxUnavailable", json_integer(1));
    }
    json_t *rp = vk_child(spec, "persistentVolumeClaimRetentionPolicy");
    vk_default(rp, "whenDeleted", json_string("Retain"));
    vk_default(rp, "whenScaled", json_string("Retain"));
    vk_default(spec, "replicas", json_integer(1));
    vk_default(spec, "revisionHistoryLimit", json_integer(10));
    vk_workload_template_defaults(obj);
}

static void validate(vk_ctx *c, const json_t *obj, vk_errlist *e)
{
    json_t *spec = json_object_get(obj, "spec");
    const char *pmp = json_string_value(json_object_get(spec, "podManagementPolicy"));
    if (pmp && strcmp(pmp, "OrderedReady") && strcmp(pmp, "Parallel")) {
        char msg[160];
        snprintf(msg, sizeof msg,
                 "Unsupported value: \"%s\": supported values: \"OrderedReady\", \"Parallel\"",
                 pmp);
        vk_errlist_add(e, "FieldValueNotSupported", "spec.podManagementPolicy", msg);
    }
    const char *svc = json_string_value(json_object_get(spec, "serviceName"));
    if (svc && *svc && !vk_is_dns1123_label(svc))
        vk_err_invalid(e, "spec.serviceName", json_object_get(spec, "serviceName"),
                       "a lowercase RFC 1123 label must consist of lower case alphanumeric "
                       "characters or '-', and must start and end with an alphanumeric character "
                       "(e.g. 'my-name',  or '123-abc', regex used for validation is "
                       "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')");
    vk_workload_validate(e, obj, "statefulset", "StatefulSet");
}

static void validate_update(vk_ctx *c, const json_t *obj, const json_t *old, vk_errlist *e)
{
    validate(c, obj, e);
    static const char *const frozen[] = {"selector", "volumeClaimTemplates", "serviceName",
                                         "podManagementPolicy"};
    for (size_t i = 0; i < sizeof frozen / sizeof frozen[0]; i++)
        vk_workload_immutable(e, obj, old, frozen[i]);
}

static const vk_strategy strategy = {
    .defaults = defaults,
    .validate_create = validate,
    .validate_update = validate_update,
};

static const vk_column columns[] = {
    {"Name", "string", "name", VK_DESC_NAME, 0, vk_cell_name},
    {"Ready", "string", "", VK_DESC_READY, 0, vk_cell_ready_replicas},
    {"Age", "string", "", VK_DESC_AGE, 0, vk_cell_age},
    {"Containers", "string", "", VK_DESC_CONTAINERS, 1, vk_cell_containers},
    {"Images", "string", "", VK_DESC_IMAGES, 1, vk_cell_images},
};

const vk_resource vk_res_statefulsets = {
    .group = "apps",
    .version = "v1",
    .plural = "statefulsets",
    .flags = VK_GENERATION,
    .subresources = {{"status", vk_keep_all_but_status},
                     {"scale", .view = vk_scale_view, .set = vk_scale_set}},
    .strategy = &strategy,
    .columns = columns,
    .ncolumns = sizeof columns / sizeof columns[0],
};
