/* coordination.k8s.io/v1 Lease: kube's validation of the spec's counters and its
 * printer (Name, Holder, Age). Leases carry MicroTime fields (acquireTime, renewTime),
 * which the typed form keeps at microsecond precision. */
#include <stdio.h>

#include "apiserver/registry/common.h"
#include "apiserver/registry/resource.h"

static void validate(vk_ctx *c, const json_t *obj, vk_errlist *errs)
{
    json_t *spec = json_object_get(obj, "spec");
    json_t *d = json_object_get(spec, "leaseDurationSeconds");
    if (d && json_integer_value(d) <= 0)
        vk_err_invalid(errs, "spec.leaseDurationSeconds", d, "must be greater than 0");
    json_t *t = json_object_get(spec, "leaseTransitions");
    if (t && json_integer_value(t) < 0)
        vk_err_invalid(errs, "spec.leaseTransitions", t, "must be greater than or equal to 0");
    json_t *pref = json_object_get(spec, "preferredHolder");
    if (pref && json_string_length(pref) && !json_object_get(spec, "strategy"))
        vk_err_required(errs, "spec.strategy", "must be specified when preferredHolder is set");
}

static void validate_update(vk_ctx *c, const json_t *obj, const json_t *old, vk_errlist *errs)
{
    validate(c, obj, errs);
}

static json_t *cell_holder(const json_t *o)
{
    const char *h =
        json_string_value(json_object_get(json_object_get(o, "spec"), "holderIdentity"));
    return json_string(h ? h : "");
}

static const vk_strategy strategy = {
    .validate_create = validate,
    .validate_update = validate_update,
};

static const vk_column columns[] = {
    {"Name", "string", "name", VK_DESC_NAME, 0, vk_cell_name},
    {"Holder", "string", "", "The holder of the lease.", 0, cell_holder},
    {"Age", "string", "", VK_DESC_AGE, 0, vk_cell_age},
};

const vk_resource vk_res_leases = {
    .group = "coordination.k8s.io",
    .version = "v1",
    .plural = "leases",
    .strategy = &strategy,
    .columns = columns,
    .ncolumns = sizeof columns / sizeof columns[0],
};
