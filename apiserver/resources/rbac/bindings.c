/* rbac.authorization.k8s.io/v1 RoleBinding and ClusterRoleBinding: roleRef is required
 * and immutable; subjects name a kind kube knows; a writer binds only roles it may bind
 * or whose permissions it holds. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "apiserver/auth/rbac.h"
#include "apiserver/http/status.h"
#include "apiserver/registry/common.h"
#include "apiserver/registry/resource.h"

static void validate(const json_t *obj, bool cluster, vk_errlist *errs)
{
    json_t *ref = json_object_get(obj, "roleRef");
    const char *kind = json_string_value(json_object_get(ref, "kind"));
    const char *name = json_string_value(json_object_get(ref, "name"));
    if (!kind || !*kind)
        vk_err_required(errs, "roleRef.kind", "");
    else if (strcmp(kind, "ClusterRole") && (cluster || strcmp(kind, "Role"))) {
        char msg[160];
        snprintf(msg, sizeof msg, "Unsupported value: \"%.64s\": supported values: %s", kind,
                 cluster ? "\"ClusterRole\"" : "\"ClusterRole\", \"Role\"");
        vk_errlist_add(errs, "FieldValueNotSupported", "roleRef.kind", msg);
    }
    if (!name || !*name)
        vk_err_required(errs, "roleRef.name", "");
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(obj, "subjects"), i, s)
    {
        const char *k = json_string_value(json_object_get(s, "kind"));
        char f[64];
        snprintf(f, sizeof f, "subjects[%zu].kind", i);
        if (!k || (strcmp(k, "User") && strcmp(k, "Group") && strcmp(k, "ServiceAccount"))) {
            char msg[160];
            snprintf(msg, sizeof msg,
                     "Unsupported value: \"%.64s\": supported values: \"Group\", "
                     "\"ServiceAccount\", \"User\"",
                     k ? k : "");
            vk_errlist_add(errs, "FieldValueNotSupported", f, msg);
        }
        snprintf(f, sizeof f, "subjects[%zu].name", i);
        if (!json_string_length(json_object_get(s, "name")))
            vk_err_required(errs, f, "");
    }
}

static void validate_update(const json_t *obj, const json_t *old, bool cluster, vk_errlist *errs)
{
    validate(obj, cluster, errs);
    json_t *ref = json_object_get(obj, "roleRef"), *oref = json_object_get(old, "roleRef");
    if (!json_equal(ref, oref))
        vk_errlist_add(errs, "FieldValueInvalid", "roleRef",
                       "Invalid value: cannot change roleRef");
}

static void rb_create(vk_ctx *c, const json_t *obj, vk_errlist *errs)
{
    validate(obj, false, errs);
}

static void rb_update(vk_ctx *c, const json_t *obj, const json_t *old, vk_errlist *errs)
{
    validate_update(obj, old, false, errs);
}

static void crb_create(vk_ctx *c, const json_t *obj, vk_errlist *errs)
{
    validate(obj, true, errs);
}

static void crb_update(vk_ctx *c, const json_t *obj, const json_t *old, vk_errlist *errs)
{
    validate_update(obj, old, true, errs);
}

static json_t *cell_role(const json_t *o)
{
    json_t *ref = json_object_get(o, "roleRef");
    char buf[320];
    const char *k = json_string_value(json_object_get(ref, "kind"));
    const char *n = json_string_value(json_object_get(ref, "name"));
    snprintf(buf, sizeof buf, "%s/%s", k ? k : "", n ? n : "");
    return json_string(buf);
}

/* kube's binding check: the writer may "bind" the role, or already holds every
 * permission it grants (in the binding's namespace). */
static json_t *admit(vk_ctx *c, const json_t *obj, const char *plural)
{
    const json_t *meta = json_object_get(obj, "metadata");
    const json_t *ref = json_object_get(obj, "roleRef");
    const char *ns = json_string_value(json_object_get(meta, "namespace"));
    const char *name = json_string_value(json_object_get(meta, "name"));
    const char *kind = json_string_value(json_object_get(ref, "kind"));
    const char *role = json_string_value(json_object_get(ref, "name"));
    ns = ns ? ns : "";
    name = name ? name : "";
    role = role ? role : "";
    bool local = kind && !strcmp(kind, "Role");
    const char *rplural = local ? "roles" : "clusterroles";
    vk_rbac_source src = vk_rbac_store(c->s);
    if (vk_rbac_may(&src, c->user, "bind", rplural, ns, role))
        return NULL;
    json_t *r = src.get_role(src.ud, rplural, local ? ns : "", role);
    if (!r) {
        char msg[640];
        snprintf(msg, sizeof msg, "%s.rbac.authorization.k8s.io \"%s\" not found", rplural, role);
        return vk_status_new(404, "NotFound", msg,
                             vk_status_details(role, "rbac.authorization.k8s.io", rplural));
    }
    json_t *st = vk_rbac_refuse(plural, name,
                                vk_rbac_missing(&src, c->user, ns, json_object_get(r, "rules")));
    json_decref(r);
    return st;
}

static json_t *rb_admit(vk_ctx *c, const json_t *obj)
{
    return admit(c, obj, "rolebindings");
}

static json_t *crb_admit(vk_ctx *c, const json_t *obj)
{
    return admit(c, obj, "clusterrolebindings");
}

static const vk_strategy rb_strategy = {
    .validate_create = rb_create, .validate_update = rb_update, .admit = rb_admit};
static const vk_strategy crb_strategy = {
    .validate_create = crb_create, .validate_update = crb_update, .admit = crb_admit};

static const vk_column columns[] = {
    {"Name", "string", "name", VK_DESC_NAME, 0, vk_cell_name},
    {"Role", "string", "", "The role the binding grants.", 0, cell_role},
    {"Age", "string", "", VK_DESC_AGE, 0, vk_cell_age},
};

const vk_resource vk_res_rolebindings = {
    .group = "rbac.authorization.k8s.io",
    .name_rule = VK_NAME_PATH_SEGMENT,
    .version = "v1",
    .plural = "rolebindings",
    .strategy = &rb_strategy,
    .columns = columns,
    .ncolumns = sizeof columns / sizeof columns[0],
};

const vk_resource vk_res_clusterrolebindings = {
    .group = "rbac.authorization.k8s.io",
    .name_rule = VK_NAME_PATH_SEGMENT,
    .version = "v1",
    .plural = "clusterrolebindings",
    .strategy = &crb_strategy,
    .columns = columns,
    .ncolumns = sizeof columns / sizeof columns[0],
};
