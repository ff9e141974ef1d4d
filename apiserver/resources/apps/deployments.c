/* apps/v1 Deployment: kube's defaults (SetDefaults_Deployment), validation
 * (ValidateDeploymentSpec, ValidateDeploymentStrategy, ValidateDeploymentUpdate), the
 * generation rule (pkg/registry/apps/deployment) and printer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/registry/common.h"
#include "apiserver/registry/resource.h"
#include "apiserver/resources/apps/workload.h"

static void defaults(json_t *obj)
{
    json_t *spec = vk_child(obj, "spec");
    vk_default(spec, "replicas", json_integer(1));
    json_t *strategy = vk_child(spec, "strategy");
    vk_default(strategy, "type", json_string("RollingUpdate"));
    const char *type = json_string_value(json_object_get(strategy, "type"));
    if (type && !strcmp(type, "RollingUpdate")) {
        json_t *ru = vk_child(strategy, "rollingUpdate");
        vk_default(ru, "maxUnavailable", json_string("25%"));
        vk_default(ru, "maxSurge", json_string("25%"));
    }
    vk_default(spec, "revisionHistoryLimit", json_integer(10));
    vk_default(spec, "progressDeadlineSeconds", json_integer(600));
    vk_workload_template_defaults(obj);
}

/* An int-or-percent: its value, and whether it is a percent; false when malformed. */
static bool int_or_percent(const json_t *v, long *n, bool *pct)
{
    *pct = json_is_string(v);
    if (json_is_integer(v)) {
        *n = (long)json_integer_value(v);
        return true;
    }
    const char *s = json_string_value(v);
    char *end;
    *n = s ? strtol(s, &end, 10) : 0;
    return s && end != s && !strcmp(end, "%");
}

static void validate_surge_field(vk_errlist *e, const json_t *v, const char *field)
{
    long n;
    bool pct;
    if (!v)
        return;
    if (!int_or_percent(v, &n, &pct)) {
        vk_err_invalid(e, field, v,
                       "a valid percent string must be a numeric string followed by "
                       "an ending '%' (e.g. '1%',  or '93%', regex used for "
                       "validation is '[0-9]+%')");
        return;
    }
    if (n < 0)
        vk_err_invalid(e, field, v, "must be greater than or equal to 0");
    else if (pct && n > 100)
        vk_err_invalid(e, field, v, "must not be greater than 100%");
}

static void validate_strategy(vk_errlist *e, const json_t *spec)
{
    json_t *strategy = json_object_get(spec, "strategy");
    const char *type = json_string_value(json_object_get(strategy, "type"));
    json_t *ru = json_object_get(strategy, "rollingUpdate");
    if (type && !strcmp(type, "Recreate")) {
        if (ru)
            vk_errlist_add(e, "FieldValueForbidden", "spec.strategy.rollingUpdate",
                           "Forbidden: may not be specified when strategy `type` is 'Recreate'");
    } else if (type && !strcmp(type, "RollingUpdate")) {
        json_t *mu = json_object_get(ru, "maxUnavailable"), *ms = json_object_get(ru, "maxSurge");
        validate_surge_field(e, mu, "spec.strategy.rollingUpdate.maxUnavailable");
        validate_surge_field(e, ms, "spec.strategy.rollingUpdate.maxSurge");
        long a = 0, b = 0;
        bool pa, pb;
        if (mu && ms && int_or_percent(mu, &a, &pa) && int_or_percent(ms, &b, &pb) && !a && !b)
            vk_err_invalid(e, "spec.strategy.rollingUpdate.maxUnavailable", mu,
                           "may not be 0 when `maxSurge` is 0");
    } else {
        char msg[160];
        snprintf(msg, sizeof msg,
                 "Unsupported value: \"%s\": supported values: \"Recreate\", \"RollingUpdate\"",
                 type ? type : "");
        vk_errlist_add(e, "FieldValueNotSupported", "spec.strategy.type", msg);
    }
}

static void validate(vk_ctx *c, const json_t *obj, vk_errlist *e)
{
    json_t *spec = json_object_get(obj, "spec");
    vk_workload_validate(e, obj, "deployment", "ReplicaSet");
    validate_strategy(e, spec);
    vk_workload_nonnegative(e, obj, "progressDeadlineSeconds");
    json_t *pds = json_object_get(spec, "progressDeadlineSeconds");
    if (json_is_integer(pds) &&
        json_integer_value(pds) <= json_integer_value(json_object_get(spec, "minReadySeconds")))
        vk_err_invalid(e, "spec.progressDeadlineSeconds", pds,
                       "must be greater than minReadySeconds");
}

static void validate_update(vk_ctx *c, const json_t *obj, const json_t *old, vk_errlist *e)
{
    validate(c, obj, e);
    vk_workload_immutable(e, obj, old, "selector");
}

/* Annotations are copied to the ReplicaSets: kube counts their change as a generation. */
static void prepare_update(vk_ctx *c, json_t *obj, const json_t *old)
{
    json_t *a = json_object_get(json_object_get(obj, "metadata"), "annotations");
    json_t *b = json_object_get(json_object_get(old, "metadata"), "annotations");
    if (json_object_size(a) != json_object_size(b) || (a && b && !json_equal(a, b)))
        json_object_set_new(json_object_get(obj, "metadata"), "generation",
                            json_integer(json_integer_value(json_object_get(
                                             json_object_get(old, "metadata"), "generation")) +
                                         1));
}

static json_t *cell_updated(const json_t *o)
{
    return vk_cell_int(o, "status", "updatedReplicas");
}

static json_t *cell_available(const json_t *o)
{
    return vk_cell_int(o, "status", "availableReplicas");
}

static const vk_strategy strategy = {
    .defaults = defaults,
    .validate_create = validate,
    .prepare_update = prepare_update,
    .validate_update = validate_update,
};

static const vk_column columns[] = {
    {"Name", "string", "name", VK_DESC_NAME, 0, vk_cell_name},
    {"Ready", "string", "", VK_DESC_READY, 0, vk_cell_ready_replicas},
    {"Up-to-date", "string", "", "@io.k8s.api.apps.v1.DeploymentStatus/updatedReplicas", 0,
     cell_updated},
    {"Available", "string", "", "@io.k8s.api.apps.v1.DeploymentStatus/availableReplicas", 0,
     cell_available},
    {"Age", "string", "", VK_DESC_AGE, 0, vk_cell_age},
    {"Containers", "string", "", VK_DESC_CONTAINERS, 1, vk_cell_containers},
    {"Images", "string", "", VK_DESC_IMAGES, 1, vk_cell_images},
    {"Selector", "string", "", "@io.k8s.api.apps.v1.DeploymentSpec/selector", 1, vk_cell_selector},
};

const vk_resource vk_res_deployments = {
    .group = "apps",
    .version = "v1",
    .plural = "deployments",
    .flags = VK_GENERATION,
    .subresources = {{"status", vk_keep_all_but_status},
                     {"scale", .view = vk_scale_view, .set = vk_scale_set}},
    .strategy = &strategy,
    .columns = columns,
    .ncolumns = sizeof columns / sizeof columns[0],
};
