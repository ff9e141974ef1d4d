/* core/v1 PersistentVolume: kube's defaults (SetDefaults_PersistentVolume: reclaim policy
 * Retain, volume mode Filesystem, phase Pending), the create rule (a new volume is
 * Pending since now), the most used rules of ValidatePersistentVolumeSpec and the
 * printer. */
#include <stdio.h>
#include <string.h>

#include "apiserver/registry/common.h"
#include "apiserver/registry/resource.h"
#include "apiserver/resources/apps/workload.h"
#include "apiserver/resources/quantity.h"
#include "apiserver/resources/rules.h"
#include "common/timefmt.h"

static void defaults(json_t *obj)
{
    json_t *spec = vk_child(obj, "spec");
    vk_default(spec, "persistentVolumeReclaimPolicy", json_string("Retain"));
    vk_default(spec, "volumeMode", json_string("Filesystem"));
    vk_default(vk_child(obj, "status"), "phase", json_string("Pending"));
    vk_quantities_canonical(json_object_get(spec, "capacity"));
}

static void prepare_create(vk_ctx *c, json_t *obj)
{
    char ts[21];
    vk_time_format(time(NULL), ts);
    json_object_set_new(obj, "status",
                        json_pack("{s:s, s:s}", "phase", "Pending", "lastPhaseTransitionTime", ts));
}

/* The volume sources a PersistentVolumeSpec may carry, one of them. */
static const char *const sources[] = {
    "hostPath",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "glusterfs",
    "nfs",
    "rbd",
    "quobyte",
    "cinder",
    "cephfs",
    "flexVolume",
    "iscsi",
    "fc",
    "flocker",
    "azureFile",
    "vsphereVolume",
    "azureDisk",
    "photonPersistentDisk",
    "portworxVolume",
    "scaleIO",
    "local",
    "storageos",
    "csi",
};

static void validate(vk_ctx *c, const json_t *obj, vk_errlist *e)
{
    static const char *const policies[] = {"Delete", "Recycle", "Retain", NULL};
    json_t *spec = json_object_get(obj, "spec");
    vk_check_access_modes(e, json_object_get(spec, "accessModes"), "");
    json_t *cap = json_object_get(spec, "capacity");
    if (!json_object_size(cap))
        vk_err_required(e, "spec.capacity", "");
    const char *k;
    json_t *q;
    json_object_foreach(cap, k, q)
    {
        char f[160];
        snprintf(f, sizeof f, "spec.capacity[%s]", k);
        const char *s = json_string_value(q);
        if (s && (s[0] == '-' || !strcmp(s, "0")))
            vk_err_invalid(e, f, q, "must be greater than zero");
    }
    const char *rp = vk_str_at(spec, "persistentVolumeReclaimPolicy");
    bool known = false;
    for (int p = 0; policies[p]; p++)
        known |= !strcmp(rp, policies[p]);
    if (*rp && !known)
        vk_err_not_supported(e, "spec.persistentVolumeReclaimPolicy", rp, policies);
    int n = 0;
    for (size_t s = 0; s < sizeof sources / sizeof sources[0]; s++) {
        if (!json_object_get(spec, sources[s]))
            continue;
        if (n++) {
            char f[96];
            snprintf(f, sizeof f, "spec.%s", sources[s]);
            vk_err_forbidden(e, f, "may not specify more than 1 volume type");
        }
    }
    if (!n)
        vk_err_required(e, "spec", "must specify a volume type");
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
    vk_err_immutable(e, obj, old, "spec.volumeMode", "volumeMode"); /* kube's path */
    /* kube allows a CSI volume's secret refs and the node affinity to be set once;
     * every other source is fixed */
    for (size_t s = 0; s < sizeof sources / sizeof sources[0]; s++) {
        if (!strcmp(sources[s], "csi"))
            continue;
        char p[96];
        snprintf(p, sizeof p, "spec.%s", sources[s]);
        json_t *a = vk_at(obj, p), *b = vk_at(old, p);
        if ((a || b) && !json_equal(a, b)) {
            vk_err_forbidden(e, "spec.persistentvolumesource",
                             "spec.persistentvolumesource is "
                             "immutable after creation");
            break;
        }
    }
}

static json_t *cell_capacity(const json_t *o)
{
    return vk_cell_quantity(vk_at(o, "spec.capacity"), "storage");
}

static json_t *cell_modes(const json_t *o)
{
    return vk_access_modes_string(vk_at(o, "spec.accessModes"));
}

static json_t *cell_policy(const json_t *o)
{
    return vk_cell_str(o, "spec.persistentVolumeReclaimPolicy");
}

static json_t *cell_status(const json_t *o)
{
    if (vk_at(o, "metadata.deletionTimestamp"))
        return json_string("Terminating");
    return vk_cell_str(o, "status.phase");
}

static json_t *cell_claim(const json_t *o)
{
    json_t *ref = vk_at(o, "spec.claimRef");
    if (!ref)
        return json_string("");
    char s[512];
    snprintf(s, sizeof s, "%s/%s", vk_str_at(ref, "namespace"), vk_str_at(ref, "name"));
    return json_string(s);
}

static json_t *cell_vac(const json_t *o)
{
    json_t *v = vk_at(o, "spec.volumeAttributesClassName");
    return json_is_string(v) ? json_incref(v) : json_string("<unset>");
}

static json_t *cell_reason(const json_t *o)
{
    return vk_cell_str(o, "status.reason");
}

static json_t *cell_mode(const json_t *o)
{
    json_t *v = vk_at(o, "spec.volumeMode");
    return json_is_string(v) ? json_incref(v) : json_string("<unset>");
}

static const vk_strategy strategy = {
    .defaults = defaults,
    .prepare_create = prepare_create,
    .validate_create = validate,
    .validate_update = validate_update,
};

static const vk_column columns[] = {
    {"Name", "string", "name", VK_DESC_NAME, 0, vk_cell_name},
    {"Capacity", "string", "", "@io.k8s.api.core.v1.PersistentVolumeSpec/capacity", 0,
     cell_capacity},
    {"Access Modes", "string", "", "@io.k8s.api.core.v1.PersistentVolumeSpec/accessModes", 0,
     cell_modes},
    {"Reclaim Policy", "string", "",
     "@io.k8s.api.core.v1.PersistentVolumeSpec/persistentVolumeReclaimPolicy", 0, cell_policy},
    {"Status", "string", "", "@io.k8s.api.core.v1.PersistentVolumeStatus/phase", 0, cell_status},
    {"Claim", "string", "", "@io.k8s.api.core.v1.PersistentVolumeSpec/claimRef", 0, cell_claim},
    {"StorageClass", "string", "", "StorageClass of the pv", 0, vk_cell_storage_class},
    {"VolumeAttributesClass", "string", "", "VolumeAttributesClass of the pv", 0, cell_vac},
    {"Reason", "string", "", "@io.k8s.api.core.v1.PersistentVolumeStatus/reason", 0, cell_reason},
    {"Age", "string", "", VK_DESC_AGE, 0, vk_cell_age},
    {"VolumeMode", "string", "", "@io.k8s.api.core.v1.PersistentVolumeSpec/volumeMode", 1,
     cell_mode},
};

const vk_resource vk_res_persistentvolumes = {
    .group = "",
    .version = "v1",
    .plural = "persistentvolumes",
    .subresources = {{"status", vk_keep_all_but_status}},
    .strategy = &strategy,
    .columns = columns,
    .ncolumns = sizeof columns / sizeof columns[0],
};
