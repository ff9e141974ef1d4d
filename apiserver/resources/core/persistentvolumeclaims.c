/* core/v1 PersistentVolumeClaim: kube's defaults (volume mode Filesystem, phase Pending),
 * the most used rules of ValidatePersistentVolumeClaimSpec and the update rule (the spec
 * is fixed but for resources.requests and volumeAttributesClassName of a bound claim),
 * and the printer. */
#include <stdio.h>
#include <string.h>

#include "apiserver/registry/common.h"
#include "apiserver/registry/resource.h"
#include "apiserver/resources/apps/workload.h"
#include "apiserver/resources/quantity.h"
#include "apiserver/resources/rules.h"

static void defaults(json_t *obj)
{
    json_t *spec = vk_child(obj, "spec");
    vk_default(spec, "volumeMode", json_string("Filesystem"));
    vk_default(vk_child(obj, "status"), "phase", json_string("Pending"));
    json_t *res = json_object_get(spec, "resources");
    vk_quantities_canonical(json_object_get(res, "requests"));
    vk_quantities_canonical(json_object_get(res, "limits"));
    vk_quantities_canonical(vk_at(obj, "status.capacity"));
}

static void validate(vk_ctx *c, const json_t *obj, vk_errlist *e)
{
    json_t *spec = json_object_get(obj, "spec");
    vk_check_access_modes(e, json_object_get(spec, "accessModes"),
                          "at least 1 access mode is required");
    json_t *st = vk_at(spec, "resources.requests.storage");
    const char *q = json_string_value(st);
    if (!st)
        vk_err_required(e, "spec.resources[storage]", "");
    else if (q && (q[0] == '-' || !strcmp(q, "0")))
        vk_err_invalid(e, "spec.resources[storage]", st, "must be greater than zero");
    const char *vm = vk_str_at(spec, "volumeMode");
    static const char *const vmodes[] = {"Block", "Filesystem", NULL};
    if (*vm && strcmp(vm, "Block") && strcmp(vm, "Filesystem"))
        vk_err_not_supported(e, "spec.volumeMode", vm, vmodes);
    const char *sc = vk_str_at(spec, "storageClassName");
    if (*sc)
        vk_check_subdomain(e, "spec.storageClassName", sc);
}

static void validate_update(vk_ctx *c, const json_t *obj, const json_t *old, vk_errlist *e)
{
    validate(c, obj, e);
    /* The spec but for what a bound claim may change. kube appends a diff of the specs
     * to the message; this gives the first line. */
    json_t *a = json_deep_copy(json_object_get(obj, "spec"));
    json_t *b = json_deep_copy(json_object_get(old, "spec"));
    if (json_is_object(a) && json_is_object(b)) {
        if (*vk_str_at(old, "spec.volumeName")) {
            json_object_del(vk_at(a, "resources"), "requests");
            json_object_del(vk_at(b, "resources"), "requests");
            json_object_del(a, "volumeAttributesClassName");
            json_object_del(b, "volumeAttributesClassName");
        } else { /* binding sets the volume name once */
            json_object_del(a, "volumeName");
            json_object_del(b, "volumeName");
        }
        if (!json_equal(a, b))
            vk_err_forbidden(e, "spec",
                             "spec is immutable after creation except resources.requests and "
                             "volumeAttributesClassName for bound claims");
    }
    json_decref(a);
    json_decref(b);
}

static json_t *cell_status(const json_t *o)
{
    if (vk_at(o, "metadata.deletionTimestamp"))
        return json_string("Terminating");
    return vk_cell_str(o, "status.phase");
}

static json_t *cell_volume(const json_t *o)
{
    return vk_cell_str(o, "spec.volumeName");
}

static json_t *cell_capacity(const json_t *o)
{
    if (!*vk_str_at(o, "spec.volumeName"))
        return json_string("");
    return vk_cell_quantity(vk_at(o, "status.capacity"), "storage");
}

static json_t *cell_modes(const json_t *o)
{
    if (!*vk_str_at(o, "spec.volumeName"))
        return json_string("");
    return vk_access_modes_string(vk_at(o, "status.accessModes"));
}

static json_t *cell_vac(const json_t *o)
{
    return vk_cell_unset(o, "spec.volumeAttributesClassName");
}

static json_t *cell_mode(const json_t *o)
{
    return vk_cell_unset(o, "spec.volumeMode");
}

static const vk_strategy strategy = {
    .defaults = defaults,
    .validate_create = validate,
    .validate_update = validate_update,
};

static const vk_column columns[] = {
    {"Name", "string", "name", VK_DESC_NAME, 0, vk_cell_name},
    {"Status", "string", "", "@io.k8s.api.core.v1.PersistentVolumeClaimStatus/phase", 0,
     cell_status},
    {"Volume", "string", "", "@io.k8s.api.core.v1.PersistentVolumeClaimSpec/volumeName", 0,
     cell_volume},
    {"Capacity", "string", "", "@io.k8s.api.core.v1.PersistentVolumeClaimStatus/capacity", 0,
     cell_capacity},
    {"Access Modes", "string", "", "@io.k8s.api.core.v1.PersistentVolumeClaimStatus/accessModes", 0,
     cell_modes},
    {"StorageClass", "string", "", "StorageClass of the pvc", 0, vk_cell_storage_class},
    {"VolumeAttributesClass", "string", "", "VolumeAttributesClass of the pvc", 0, cell_vac},
    {"Age", "string", "", VK_DESC_AGE, 0, vk_cell_age},
    {"VolumeMode", "string", "", "@io.k8s.api.core.v1.PersistentVolumeClaimSpec/volumeMode", 1,
     cell_mode},
};

const vk_resource vk_res_persistentvolumeclaims = {
    .group = "",
    .version = "v1",
    .plural = "persistentvolumeclaims",
    .subresources = {{"status", vk_keep_all_but_status}},
    .strategy = &strategy,
    .columns = columns,
    .ncolumns = sizeof columns / sizeof columns[0],
};
