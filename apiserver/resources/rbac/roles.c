/* rbac.authorization.k8s.io/v1 Role and ClusterRole: every rule names its verbs, and a
 * rule is about resources or about non-resource URLs (and the latter only in cluster
 * roles), as kube's ValidatePolicyRule says. */
#include <stdbool.h>
#include <stdio.h>

#include "apiserver/registry/common.h"
#include "apiserver/registry/resource.h"

static void validate_rules(const json_t *obj, bool cluster, vk_errlist *errs)
{
    size_t i;
    json_t *rule;
    json_array_foreach(json_object_get(obj, "rules"), i, rule)
    {
        char f[64];
        if (!json_array_size(json_object_get(rule, "verbs"))) {
            snprintf(f, sizeof f, "rules[%zu].verbs", i);
            vk_err_required(errs, f, "verbs must contain at least one value");
        }
        bool urls = json_array_size(json_object_get(rule, "nonResourceURLs")) > 0;
        bool res = json_array_size(json_object_get(rule, "resources")) > 0 ||
                   json_array_size(json_object_get(rule, "apiGroups")) > 0;
        if (urls && !cluster) {
            snprintf(f, sizeof f, "rules[%zu].nonResourceURLs", i);
            vk_err_invalid(errs, f, json_object_get(rule, "nonResourceURLs"),
                           "namespaced rules cannot apply to non-resource URLs");
        } else if (urls && res) {
            snprintf(f, sizeof f, "rules[%zu].nonResourceURLs", i);
            vk_err_invalid(errs, f, json_object_get(rule, "nonResourceURLs"),
                           "rules cannot apply to both regular resources and non-resource URLs");
        }
    }
}

static void validate_role(vk_ctx *c, const json_t *obj, vk_errlist *errs)
{
    validate_rules(obj, false, errs);
}

static void validate_role_update(vk_ctx *c, const json_t *obj, const json_t *old, vk_errlist *errs)
{
    validate_rules(obj, false, errs);
}

static void validate_cluster_role(vk_ctx *c, const json_t *obj, vk_errlist *errs)
{
    validate_rules(obj, true, errs);
}

static void validate_cluster_role_update(vk_ctx *c, const json_t *obj, const json_t *old,
                                         vk_errlist *errs)
{
    validate_rules(obj, true, errs);
}

static const vk_strategy role_strategy = {
    .validate_create = validate_role,
    .validate_update = validate_role_update,
};

static const vk_strategy cluster_role_strategy = {
    .validate_create = validate_cluster_role,
    .validate_update = validate_cluster_role_update,
};

#define RBAC_VERBS                                                                                 \
    {                                                                                              \
        "create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"          \
    }

const vk_resource vk_res_roles = {
    .group = "rbac.authorization.k8s.io",
    .name_rule = VK_NAME_PATH_SEGMENT,
    .version = "v1",
    .plural = "roles",
    .singular = "role",
    .kind = "Role",
    .verbs = RBAC_VERBS,
    .flags = VK_NAMESPACED,
    .strategy = &role_strategy,
};

const vk_resource vk_res_clusterroles = {
    .group = "rbac.authorization.k8s.io",
    .name_rule = VK_NAME_PATH_SEGMENT,
    .version = "v1",
    .plural = "clusterroles",
    .singular = "clusterrole",
    .kind = "ClusterRole",
    .verbs = RBAC_VERBS,
    .strategy = &cluster_role_strategy,
};
