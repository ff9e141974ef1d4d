/* core/v1 Node: the kubelet registers a node with its status (kept on create); kube's
 * defaults (allocatable from capacity, podCIDR and podCIDRs kept in step as the v1
 * conversion does), ValidateNode / ValidateNodeUpdate (taints, podCIDRs, providerID,
 * duplicate addresses) and the printer with kube's status and roles. */
#include <stdio.h>
#include <string.h>

#include "apiserver/registry/common.h"
#include "apiserver/registry/resource.h"
#include "apiserver/resources/apps/workload.h"
#include "apiserver/resources/quantity.h"
#include "apiserver/resources/rules.h"
#include "common/buf.h"

static void defaults(json_t *obj)
{
    json_t *spec = vk_child(obj, "spec");
    const char *one = json_string_value(json_object_get(spec, "podCIDR"));
    json_t *many = json_object_get(spec, "podCIDRs");
    const char *first = json_string_value(json_array_get(many, 0));
    /* v1 to internal and back: podCIDR wins when both are given and differ. */
    if (one && *one && (!first || strcmp(one, first)))
        json_object_set_new(spec, "podCIDRs", json_pack("[s]", one));
    else if (first && *first)
        json_object_set_new(spec, "podCIDR", json_string(first));
    json_t *st = json_object_get(obj, "status");
    json_t *cap = json_object_get(st, "capacity");
    if (json_is_object(cap) && !json_object_get(st, "allocatable"))
        json_object_set_new(st, "allocatable", json_deep_copy(cap));
    vk_quantities_canonical(json_object_get(st, "capacity"));
    vk_quantities_canonical(json_object_get(st, "allocatable"));
}

static void validate_taints(vk_errlist *e, const json_t *taints)
{
    static const char *const effects[] = {"NoSchedule", "PreferNoSchedule", "NoExecute", NULL};
    size_t i, j;
    json_t *t, *u;
    json_array_foreach(taints, i, t)
    {
        char f[96];
        snprintf(f, sizeof f, "metadata.taints[%zu].key", i);
        const char *key = vk_str_at(t, "key");
        vk_check_label_name(e, f, key);
        snprintf(f, sizeof f, "metadata.taints[%zu].value", i);
        vk_check_label_value(e, f, vk_str_at(t, "value"));
        snprintf(f, sizeof f, "metadata.taints[%zu].effect", i);
        const char *eff = vk_str_at(t, "effect");
        bool known = false;
        for (int k = 0; effects[k]; k++)
            known |= !strcmp(eff, effects[k]);
        if (!*eff)
            vk_err_required(e, f, "");
        else if (!known)
            vk_err_not_supported(e, f, eff, effects);
        json_array_foreach(taints, j, u)
        {
            if (j >= i)
                break;
            if (!strcmp(key, vk_str_at(u, "key")) && !strcmp(eff, vk_str_at(u, "effect"))) {
                /* kube prints the Go struct of the taint: {key value effect <nil>} */
                char msg[512];
                snprintf(f, sizeof f, "metadata.taints[%zu]", i);
                snprintf(msg, sizeof msg,
                         "Duplicate value: core.Taint{Key:\"%s\", Value:\"%s\", Effect:\"%s\", "
                         "TimeAdded:<nil>}: taints must be unique by key and effect pair",
                         key, vk_str_at(t, "value"), eff);
                vk_errlist_add(e, "FieldValueDuplicate", f, msg);
                break;
            }
        }
    }
}

static void validate_resources(vk_errlist *e, const json_t *obj)
{
    static const char *const lists[] = {"capacity", "allocatable"};
    for (int l = 0; l < 2; l++) {
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(json_object_get(obj, "status"), lists[l]), k, v)
        {
            const char *q = json_string_value(v);
            if (q && q[0] == '-') {
                char f[256];
                snprintf(f, sizeof f, "status.%s.%s", lists[l], k);
                vk_err_invalid(e, f, v, "must be greater than or equal to 0");
            }
        }
    }
}

static void validate(vk_ctx *c, const json_t *obj, vk_errlist *e)
{
    validate_taints(e, vk_at(obj, "spec.taints"));
    validate_resources(e, obj);
    json_t *cidrs = vk_at(obj, "spec.podCIDRs");
    size_t i;
    json_t *v;
    int fams[2] = {0, 0}, bad = 0;
    json_array_foreach(cidrs, i, v)
    {
        char f[64];
        snprintf(f, sizeof f, "spec.podCIDRs[%zu]", i);
        int fam = vk_check_cidr(e, f, json_string_value(v) ? json_string_value(v) : "");
        if (fam < 0)
            bad = 1;
        else
            fams[fam == 6]++;
    }
    if (json_array_size(cidrs) > 1 && !bad &&
        (json_array_size(cidrs) > 2 || fams[0] != 1 || fams[1] != 1))
        vk_err_invalid(e, "spec.podCIDRs", cidrs,
                       "may specify no more than one CIDR for each IP "
                       "family");
}

static void validate_update(vk_ctx *c, const json_t *obj, const json_t *old, vk_errlist *e)
{
    validate_resources(e, obj);
    json_t *addrs = vk_at(obj, "status.addresses");
    size_t i, j;
    json_t *a, *b;
    json_array_foreach(addrs, i, a)
    {
        json_array_foreach(addrs, j, b)
        {
            if (j >= i)
                break;
            if (json_equal(a, b)) {
                char f[64];
                snprintf(f, sizeof f, "status.addresses[%zu]", i);
                char msg[512];
                snprintf(msg, sizeof msg,
                         "Duplicate value: core.NodeAddress{Type:\"%s\", Address:\"%s\"}",
                         vk_str_at(a, "type"), vk_str_at(a, "address"));
                vk_errlist_add(e, "FieldValueDuplicate", f, msg);
                break;
            }
        }
    }
    json_t *oc = vk_at(old, "spec.podCIDRs"), *nc = vk_at(obj, "spec.podCIDRs");
    if (json_array_size(oc)) {
        size_t n = json_array_size(oc) != json_array_size(nc) ? 1 : 0;
        for (i = 0; !n && i < json_array_size(oc); i++)
            n += !json_equal(json_array_get(oc, i), json_array_get(nc, i));
        for (; n; n--)
            vk_err_forbidden(e, "spec.podCIDRs",
                             "node updates may not change podCIDR except from \"\" to valid");
    }
    const char *op = vk_str_at(old, "spec.providerID"), *np = vk_str_at(obj, "spec.providerID");
    if (*op && *np && strcmp(op, np))
        vk_errlist_add(e, "FieldValueInvalid", "spec.providerID",
                       "Invalid value: null: field cannot be modified once set");
    if (*op && !*np)
        vk_errlist_add(e, "FieldValueInvalid", "spec.providerID",
                       "Invalid value: null: field cannot be cleared once set");
    if (strcmp(vk_str_at(old, "spec.externalID"), vk_str_at(obj, "spec.externalID")))
        vk_err_forbidden(e, "spec.externalID", "may not be updated");
    validate_taints(e, vk_at(obj, "spec.taints"));
}

static json_t *cell_status(const json_t *o)
{
    const char *ready = NULL;
    size_t i;
    json_t *c;
    json_array_foreach(vk_at(o, "status.conditions"), i, c)
    {
        if (!strcmp(vk_str_at(c, "type"), "Ready"))
            ready = vk_str_at(c, "status");
    }
    char s[64];
    snprintf(s, sizeof s, "%s%s",
             !ready                  ? "Unknown"
             : strcmp(ready, "True") ? "NotReady"
                                     : "Ready",
             json_is_true(vk_at(o, "spec.unschedulable")) ? ",SchedulingDisabled" : "");
    return json_string(s);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static json_t *cell_roles(const json_t *o)
{
    static const char prefix[] = "node-role.kubernetes.io/";
    const char *roles[64];
    size_t n = 0;
    const char *k;
    json_t *v;
    json_object_foreach(vk_at(o, "metadata.labels"), k, v)
    {
        const char *r = NULL;
        if (!strncmp(k, prefix, sizeof prefix - 1) && k[sizeof prefix - 1])
            r = k + sizeof prefix - 1;
        else if (!strcmp(k, "kubernetes.io/role") && json_string_length(v))
            r = json_string_value(v);
        bool dup = false;
        for (size_t i = 0; r && i < n; i++)
            dup |= !strcmp(roles[i], r);
        if (r && !dup && n < 64)
            roles[n++] = r;
    }
    if (!n)
        return json_string("<none>");
    qsort(roles, n, sizeof roles[0], cmp_str);
    vk_buf b = {0};
    for (size_t i = 0; i < n; i++)
        vk_buf_printf(&b, "%s%s", i ? "," : "", roles[i]);
    json_t *s = json_string(b.data);
    vk_buf_free(&b);
    return s;
}

static json_t *address(const json_t *o, const char *type)
{
    size_t i;
    json_t *a;
    json_array_foreach(vk_at(o, "status.addresses"), i, a)
    {
        if (!strcmp(vk_str_at(a, "type"), type))
            return json_string(vk_str_at(a, "address"));
    }
    return json_string("<none>");
}

static json_t *cell_internal_ip(const json_t *o)
{
    return address(o, "InternalIP");
}

static json_t *cell_external_ip(const json_t *o)
{
    return address(o, "ExternalIP");
}

static json_t *info_or_unknown(const json_t *o, const char *path)
{
    const char *s = vk_str_at(o, path);
    return json_string(*s ? s : "<unknown>");
}

static json_t *cell_version(const json_t *o)
{
    return vk_cell_str(o, "status.nodeInfo.kubeletVersion");
}

static json_t *cell_os_image(const json_t *o)
{
    return info_or_unknown(o, "status.nodeInfo.osImage");
}

static json_t *cell_kernel(const json_t *o)
{
    const char *k = vk_str_at(o, "status.nodeInfo.kernelVersion");
    const char *arch = vk_str_at(o, "status.nodeInfo.architecture");
    char s[512];
    snprintf(s, sizeof s, "%s%s%s%s", *k ? k : "<unknown>", *arch ? " (" : "", arch,
             *arch ? ")" : "");
    return json_string(s);
}

static json_t *cell_runtime(const json_t *o)
{
    return info_or_unknown(o, "status.nodeInfo.containerRuntimeVersion");
}

static const vk_strategy strategy = {
    .defaults = defaults,
    .validate_create = validate,
    .validate_update = validate_update,
};

static const vk_column columns[] = {
    {"Name", "string", "name", VK_DESC_NAME, 0, vk_cell_name},
    {"Status", "string", "", "The status of the node", 0, cell_status},
    {"Roles", "string", "", "The roles of the node", 0, cell_roles},
    {"Age", "string", "", VK_DESC_AGE, 0, vk_cell_age},
    {"Version", "string", "", "@io.k8s.api.core.v1.NodeSystemInfo/kubeletVersion", 0, cell_version},
    {"Internal-IP", "string", "", "@io.k8s.api.core.v1.NodeStatus/addresses", 1, cell_internal_ip},
    {"External-IP", "string", "", "@io.k8s.api.core.v1.NodeStatus/addresses", 1, cell_external_ip},
    {"OS-Image", "string", "", "@io.k8s.api.core.v1.NodeSystemInfo/osImage", 1, cell_os_image},
    {"Kernel-Version", "string", "", "@io.k8s.api.core.v1.NodeSystemInfo/kernelVersion", 1,
     cell_kernel},
    {"Container-Runtime", "string", "",
     "@io.k8s.api.core.v1.NodeSystemInfo/containerRuntimeVersion", 1, cell_runtime},
};

const vk_resource vk_res_nodes = {
    .group = "",
    .version = "v1",
    .plural = "nodes",
    .flags = VK_STATUS_ON_CREATE,
    .subresources = {{"status", vk_keep_all_but_status}},
    .strategy = &strategy,
    .columns = columns,
    .ncolumns = sizeof columns / sizeof columns[0],
    .field_labels = {"spec.unschedulable"},
};
