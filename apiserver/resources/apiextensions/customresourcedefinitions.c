/* apiextensions.k8s.io/v1 CustomResourceDefinition: kube's defaults, the validation
 * users meet most (the name, group, names, scope, versions and their storage flag,
 * schemas), status.storedVersions, generation, and deletion behind the
 * customresourcecleanup finalizer with the Terminating condition (kube's
 * customresourcedefinition REST Delete). Serving the definition's resources is the
 * controller's (controllers/crd.c). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "apiserver/registry/common.h"
#include "apiserver/registry/resource.h"
#include "apiserver/resources/rules.h"
#include "common/timefmt.h"

#define CLEANUP_FINALIZER "customresourcecleanup.apiextensions.k8s.io"

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static void defaults(json_t *obj)
{
    json_t *spec = json_object_get(obj, "spec");
    if (!json_is_object(spec))
        return;
    json_t *names = json_object_get(spec, "names");
    if (json_is_object(names) && !*str(names, "listKind") && *str(names, "kind")) {
        char lk[300];
        snprintf(lk, sizeof lk, "%sList", str(names, "kind"));
        json_object_set_new(names, "listKind", json_string(lk));
    }
    json_t *conv = json_object_get(spec, "conversion");
    if (!json_is_object(conv))
        json_object_set_new(spec, "conversion", json_pack("{s:s}", "strategy", "None"));
    json_t *svc = json_object_get(
        json_object_get(json_object_get(json_object_get(spec, "conversion"), "webhook"),
                        "clientConfig"),
        "service");
    if (json_is_object(svc) && !json_object_get(svc, "port"))
        json_object_set_new(svc, "port", json_integer(443));
}

static const char *storage_version(const json_t *spec)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(spec, "versions"), i, v)
    {
        if (json_is_true(json_object_get(v, "storage")))
            return str(v, "name");
    }
    return "";
}

static void prepare_create(vk_ctx *c, json_t *obj)
{
    json_t *spec = json_object_get(obj, "spec");
    json_object_set_new(obj, "status",
                        json_pack("{s:{s:s, s:s}, s:[s]}", "acceptedNames", "plural", "", "kind",
                                  "", "storedVersions", storage_version(spec)));
}

static bool is_dns1035_label(const char *s)
{
    size_t n = strlen(s);
    if (!n || n > 63 || !islower((unsigned char)s[0]) || s[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
            return false;
    return true;
}

static void check_names(vk_errlist *e, const json_t *names)
{
    static const char *const fields[] = {"plural", "singular"};
    for (size_t i = 0; i < 2; i++) {
        const char *v = str(names, fields[i]);
        char f[64];
        snprintf(f, sizeof f, "spec.names.%s", fields[i]);
        if (!*v && !strcmp(fields[i], "plural"))
            vk_err_required(e, f, "");
        else if (*v && !vk_is_dns1123_label(v))
            vk_err_invalid(e, f, json_object_get(names, fields[i]),
                           "a lowercase RFC 1123 label must consist of lower case alphanumeric "
                           "characters or '-', and must start and end with an alphanumeric "
                           "character (e.g. 'my-name',  or '123-abc', regex used for validation "
                           "is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')");
    }
    if (!*str(names, "kind"))
        vk_err_required(e, "spec.names.kind", "");
    if (!*str(names, "listKind"))
        vk_err_required(e, "spec.names.listKind", "");
}

static void validate(vk_ctx *c, const json_t *obj, vk_errlist *e)
{
    json_t *spec = json_object_get(obj, "spec");
    const char *group = str(spec, "group");
    json_t *names = json_object_get(spec, "names");
    char want[600];
    snprintf(want, sizeof want, "%s.%s", str(names, "plural"), group);
    const char *name = str(json_object_get(obj, "metadata"), "name");
    if (strcmp(name, want))
        vk_err_invalid(e, "metadata.name",
                       json_object_get(json_object_get(obj, "metadata"), "name"),
                       "must be spec.names.plural+\".\"+spec.group");
    if (!*group)
        vk_err_required(e, "spec.group", "");
    else if (!strchr(group, '.'))
        vk_err_invalid(e, "spec.group", json_object_get(spec, "group"),
                       "should be a domain with at least one dot");
    check_names(e, names);
    static const char *const scopes[] = {"Cluster", "Namespaced", NULL};
    const char *scope = str(spec, "scope");
    if (!*scope)
        vk_err_required(e, "spec.scope", "");
    else if (strcmp(scope, "Cluster") && strcmp(scope, "Namespaced"))
        vk_err_not_supported(e, "spec.scope", scope, scopes);
    json_t *versions = json_object_get(spec, "versions");
    size_t nstorage = 0, i;
    json_t *v;
    if (!json_array_size(versions))
        vk_err_invalid(e, "spec.versions", versions ? versions : json_null(),
                       "must have exactly one version marked as storage version");
    json_array_foreach(versions, i, v)
    {
        char f[128];
        nstorage += json_is_true(json_object_get(v, "storage"));
        snprintf(f, sizeof f, "spec.versions[%zu].name", i);
        if (!is_dns1035_label(str(v, "name")))
            vk_err_invalid(e, f, json_object_get(v, "name"),
                           "a DNS-1035 label must consist of lower case alphanumeric characters "
                           "or '-', start with an alphabetic character, and end with an "
                           "alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used "
                           "for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')");
        for (size_t j = 0; j < i; j++)
            if (!strcmp(str(json_array_get(versions, j), "name"), str(v, "name"))) {
                vk_err_duplicate(e, f, json_object_get(v, "name"));
                break;
            }
        json_t *schema = json_object_get(json_object_get(v, "schema"), "openAPIV3Schema");
        snprintf(f, sizeof f, "spec.versions[%zu].schema.openAPIV3Schema", i);
        if (!json_is_object(schema))
            vk_err_required(e, f, "schemas are required");
        else if (strcmp(str(schema, "type"), "object")) {
            snprintf(f, sizeof f, "spec.versions[%zu].schema.openAPIV3Schema.type", i);
            vk_err_invalid(e, f,
                           json_object_get(schema, "type") ? json_object_get(schema, "type")
                                                           : json_string(""),
                           "must be object at the root");
        }
    }
    if (json_array_size(versions) && nstorage != 1)
        vk_err_invalid(e, "spec.versions", versions,
                       "must have exactly one version marked as storage version");
}

static void validate_update(vk_ctx *c, const json_t *obj, const json_t *old, vk_errlist *e)
{
    validate(c, obj, e);
    if (strcmp(vk_str_at(obj, "spec.scope"), vk_str_at(old, "spec.scope")))
        vk_err_immutable(e, obj, old, "spec.scope", "spec.scope");
    if (strcmp(vk_str_at(obj, "spec.group"), vk_str_at(old, "spec.group")))
        vk_err_immutable(e, obj, old, "spec.group", "spec.group");
}

static void set_condition(json_t *obj, const char *type, const char *cstatus, const char *reason,
                          const char *message)
{
    json_t *st = json_object_get(obj, "status");
    if (!json_is_object(st))
        json_object_set_new(obj, "status", st = json_object());
    json_t *conds = json_object_get(st, "conditions");
    if (!json_is_array(conds))
        json_object_set_new(st, "conditions", conds = json_array());
    char now[21];
    vk_time_format(time(NULL), now);
    json_t *c = json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", type, "status", cstatus,
                          "lastTransitionTime", now, "reason", reason, "message", message);
    size_t i;
    json_t *x;
    json_array_foreach(conds, i, x)
    {
        if (!strcmp(str(x, "type"), type)) {
            json_array_set_new(conds, i, c);
            return;
        }
    }
    json_array_append_new(conds, c);
}

/* The first delete marks the definition: its finalizer, and Terminating (kube). */
static bool prepare_delete(vk_ctx *c, json_t *obj, json_t **status)
{
    json_t *meta = json_object_get(obj, "metadata");
    if (json_object_get(meta, "deletionTimestamp"))
        return false;
    json_t *fin = json_object_get(meta, "finalizers");
    if (!json_is_array(fin))
        json_object_set_new(meta, "finalizers", fin = json_array());
    bool has = false;
    size_t i;
    json_t *f;
    json_array_foreach(fin, i, f) has = has || !strcmp(json_string_value(f), CLEANUP_FINALIZER);
    if (!has)
        json_array_append_new(fin, json_string(CLEANUP_FINALIZER));
    set_condition(obj, "Terminating", "True", "InstanceDeletionPending",
                  "CustomResourceDefinition marked for deletion; CustomResource deletion will "
                  "begin soon");
    return true;
}

static const vk_strategy strategy = {
    .defaults = defaults,
    .prepare_create = prepare_create,
    .validate_create = validate,
    .validate_update = validate_update,
    .prepare_delete = prepare_delete,
};

const vk_resource vk_res_customresourcedefinitions = {
    .group = "apiextensions.k8s.io",
    .version = "v1",
    .plural = "customresourcedefinitions",
    .flags = VK_GENERATION,
    .subresources = {{"status", vk_keep_all_but_status}},
    .strategy = &strategy,
};
