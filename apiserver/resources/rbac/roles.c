/* rbac.authorization.k8s.io/v1 Role and ClusterRole: every rule names its verbs, and a
 * rule is about resources or about non-resource URLs (and the latter only in cluster
 * roles), as kube's ValidatePolicyRule says; and a writer grants only what it holds. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/auth/rbac.h"
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

/* kube's escalation check: a role grants only what its writer already holds, unless
 * the writer may "escalate" it; only system:masters may use an aggregationRule. */
static json_t *admit(vk_ctx *c, const json_t *obj, const char *plural)
{
    const json_t *meta = json_object_get(obj, "metadata");
    const char *ns = json_string_value(json_object_get(meta, "namespace"));
    const char *name = json_string_value(json_object_get(meta, "name"));
    ns = ns ? ns : "";
    name = name ? name : "";
    vk_rbac_source src = vk_rbac_store(c->s);
    if (vk_rbac_may(&src, c->user, "escalate", plural, ns, name))
        return NULL;
    if (json_object_get(obj, "aggregationRule"))
        return vk_rbac_refuse(plural, name,
                              strdup("must have cluster-admin privileges to use the "
                                     "aggregationRule"));
    return vk_rbac_refuse(plural, name,
                          vk_rbac_missing(&src, c->user, ns, json_object_get(obj, "rules")));
}

static json_t *admit_role(vk_ctx *c, const json_t *obj)
{
    return admit(c, obj, "roles");
}

static json_t *admit_cluster_role(vk_ctx *c, const json_t *obj)
{
    return admit(c, obj, "clusterroles");
}

static const vk_strategy role_strategy = {
    .validate_create = validate_role,
    .validate_update = validate_role_update,
    .admit = admit_role,
};

static const vk_strategy cluster_role_strategy = {
    .validate_create = validate_cluster_role,
    .validate_update = validate_cluster_role_update,
    .admit = admit_cluster_role,
};

const vk_resource vk_res_roles = {
    .group = "rbac.authorization.k8s.io",
    .name_rule = VK_NAME_PATH_SEGMENT,
    .version = "v1",
    .plural = "roles",
    .strategy = &role_strategy,
};

const vk_resource vk_res_clusterroles = {
    .group = "rbac.authorization.k8s.io",
    .name_rule = VK_NAME_PATH_SEGMENT,
    .version = "v1",
    .plural = "clusterroles",
    .strategy = &cluster_role_strategy,
};
