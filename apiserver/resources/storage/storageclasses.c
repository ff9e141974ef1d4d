/* storage.k8s.io/v1 StorageClass: kube's defaults (reclaim policy Delete, binding mode
 * Immediate), the provisioner required, policy and mode values, the fields fixed after
 * creation, and the printer. */
#include <stdio.h>
#include <string.h>

#include "apiserver/registry/common.h"
#include "apiserver/registry/resource.h"
#include "apiserver/resources/rules.h"

static void defaults(json_t *obj)
{
    if (!json_object_get(obj, "reclaimPolicy"))
        json_object_set_new(obj, "reclaimPolicy", json_string("Delete"));
    if (!json_object_get(obj, "volumeBindingMode"))
        json_object_set_new(obj, "volumeBindingMode", json_string("Immediate"));
}

static void validate(vk_ctx *c, const json_t *obj, vk_errlist *e)
{
    static const char *const policies[] = {"Delete", "Retain", NULL};
    static const char *const modes[] = {"Immediate", "WaitForFirstConsumer", NULL};
    const char *p = vk_str_at(obj, "provisioner");
    if (!*p)
        vk_err_required(e, "provisioner", "");
    else
        vk_check_label_name(e, "provisioner", p);
    const char *rp = vk_str_at(obj, "reclaimPolicy");
    if (strcmp(rp, "Delete") && strcmp(rp, "Retain"))
        vk_err_not_supported(e, "reclaimPolicy", rp, policies);
    const char *m = vk_str_at(obj, "volumeBindingMode");
    if (strcmp(m, "Immediate") && strcmp(m, "WaitForFirstConsumer"))
        vk_err_not_supported(e, "volumeBindingMode", m, modes);
}

static void validate_update(vk_ctx *c, const json_t *obj, const json_t *old, vk_errlist *e)
{
    validate(c, obj, e);
    if (!json_equal(json_object_get(obj, "parameters"), json_object_get(old, "parameters")) &&
        (json_object_size(json_object_get(obj, "parameters")) ||
         json_object_size(json_object_get(old, "parameters"))))
        vk_err_forbidden(e, "parameters", "updates to parameters are forbidden.");
    vk_err_immutable(e, obj, old, "provisioner", "provisioner");
    vk_err_immutable(e, obj, old, "reclaimPolicy", "reclaimPolicy");
    vk_err_immutable(e, obj, old, "volumeBindingMode", "volumeBindingMode");
}

/* kube marks the effective default class of a list (the newest with the default-class
 * annotation); one object's cell sees only itself: it is marked when annotated. */
static json_t *cell_name(const json_t *o)
{
    json_t *ann = vk_at(o, "metadata.annotations");
    const char *a = json_string_value(json_object_get(ann, "storageclass.kubernetes.io/"
                                                           "is-default-class"));
    if (!a)
        a = json_string_value(
            json_object_get(ann, "storageclass.beta.kubernetes.io/is-default-class"));
    if (a && !strcmp(a, "true")) {
        char s[300];
        snprintf(s, sizeof s, "%s (default)", vk_str_at(o, "metadata.name"));
        return json_string(s);
    }
    return vk_cell_name(o);
}

static json_t *cell_provisioner(const json_t *o)
{
    return vk_cell_str(o, "provisioner");
}

static json_t *cell_policy(const json_t *o)
{
    const char *s = vk_str_at(o, "reclaimPolicy");
    return json_string(*s ? s : "Delete");
}

static json_t *cell_mode(const json_t *o)
{
    const char *s = vk_str_at(o, "volumeBindingMode");
    return json_string(*s ? s : "Immediate");
}

static json_t *cell_expansion(const json_t *o)
{
    return json_boolean(json_is_true(json_object_get(o, "allowVolumeExpansion")));
}

static const vk_strategy strategy = {
    .defaults = defaults,
    .validate_create = validate,
    .validate_update = validate_update,
};

static const vk_column columns[] = {
    {"Name", "string", "name", VK_DESC_NAME, 0, cell_name},
    {"Provisioner", "string", "", "@io.k8s.api.storage.v1.StorageClass/provisioner", 0,
     cell_provisioner},
    {"ReclaimPolicy", "string", "", "@io.k8s.api.storage.v1.StorageClass/reclaimPolicy", 0,
     cell_policy},
    {"VolumeBindingMode", "string", "", "@io.k8s.api.storage.v1.StorageClass/volumeBindingMode", 0,
     cell_mode},
    {"AllowVolumeExpansion", "string", "",
     "@io.k8s.api.storage.v1.StorageClass/allowVolumeExpansion", 0, cell_expansion},
    {"Age", "string", "", VK_DESC_AGE, 0, vk_cell_age},
};

const vk_resource vk_res_storageclasses = {
    .group = "storage.k8s.io",
    .version = "v1",
    .plural = "storageclasses",
    .strategy = &strategy,
    .columns = columns,
    .ncolumns = sizeof columns / sizeof columns[0],
};
