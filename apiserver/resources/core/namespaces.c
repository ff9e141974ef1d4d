/* core/v1 Namespace: kube's strategy (pkg/registry/core/namespace) and printer. */
#include <stdio.h>
#include <string.h>

#include "apiserver/http/status.h"
#include "apiserver/registry/common.h"
#include "apiserver/registry/resource.h"

/* New namespaces are Active and carry the "kubernetes" finalizer, which the namespace
 * controller removes once the contents are gone. */
static void prepare_create(vk_ctx *c, json_t *obj)
{
    json_t *spec = json_object_get(obj, "spec");
    if (!json_is_object(spec)) {
        spec = json_object();
        json_object_set_new(obj, "spec", spec);
    }
    json_t *fin = json_object_get(spec, "finalizers");
    if (!json_is_array(fin)) {
        fin = json_array();
        json_object_set_new(spec, "finalizers", fin);
    }
    bool has = false;
    size_t i;
    json_t *v;
    json_array_foreach(fin, i, v) has |=
        json_is_string(v) && !strcmp(json_string_value(v), "kubernetes");
    if (!has)
        json_array_append_new(fin, json_string("kubernetes"));
    json_object_set_new(obj, "status", json_pack("{s:s}", "phase", "Active"));
    /* The immutable name label (NamespaceDefaultLabelName). */
    json_t *meta = json_object_get(obj, "metadata");
    json_t *labels = json_object_get(meta, "labels");
    if (!json_is_object(labels)) {
        labels = json_object();
        json_object_set_new(meta, "labels", labels);
    }
    json_object_set(labels, "kubernetes.io/metadata.name", json_object_get(meta, "name"));
}

static void validate_create(vk_ctx *c, const json_t *obj, vk_errlist *errs)
{
    json_t *fin = json_object_get(json_object_get(obj, "spec"), "finalizers");
    size_t i;
    json_t *v;
    json_array_foreach(fin, i, v)
    {
        char field[64];
        snprintf(field, sizeof field, "spec.finalizers[%zu]", i);
        if (!json_is_string(v) || !vk_is_qualified_name(json_string_value(v)))
            vk_err_invalid(errs, field, v, "name part must consist of alphanumeric characters");
    }
}

/* Finalizers and status change only through /finalize and /status. */
static void prepare_update(vk_ctx *c, json_t *obj, const json_t *old)
{
    json_t *spec = json_object_get(obj, "spec");
    if (!json_is_object(spec)) {
        spec = json_object();
        json_object_set_new(obj, "spec", spec);
    }
    json_t *old_fin = json_object_get(json_object_get(old, "spec"), "finalizers");
    if (old_fin)
        json_object_set(spec, "finalizers", old_fin);
    else
        json_object_del(spec, "finalizers");
    json_t *st = json_object_get(old, "status");
    if (st)
        json_object_set(obj, "status", st);
    json_t *meta = json_object_get(obj, "metadata");
    json_t *labels = json_object_get(meta, "labels");
    if (!json_is_object(labels)) {
        labels = json_object();
        json_object_set_new(meta, "labels", labels);
    }
    json_object_set(labels, "kubernetes.io/metadata.name", json_object_get(meta, "name"));
}

/* A namespace with spec.finalizers left becomes Terminating; the namespace controller
 * empties it and removes the finalizers, and the next delete removes it. */
static bool prepare_delete(vk_ctx *c, json_t *obj, json_t **status)
{
    if (!json_array_size(json_object_get(json_object_get(obj, "spec"), "finalizers")))
        return false;
    json_t *meta = json_object_get(obj, "metadata");
    if (status && json_object_get(meta, "deletionTimestamp")) {
        const char *name = json_string_value(json_object_get(meta, "name"));
        char msg[512];
        snprintf(msg, sizeof msg,
                 "Operation cannot be fulfilled on namespaces \"%s\": The system is ensuring all "
                 "content is removed from this namespace.  Upon completion, this namespace will "
                 "automatically be purged by the system.",
                 name ? name : "");
        *status = vk_status_new(409, "Conflict", msg, vk_status_details(name, "", "namespaces"));
        return true;
    }
    json_t *st = json_object_get(obj, "status");
    if (!json_is_object(st)) {
        st = json_object();
        json_object_set_new(obj, "status", st);
    }
    json_object_set_new(st, "phase", json_string("Terminating"));
    return true;
}

/* /finalize writes spec.finalizers; the status stays as stored. */
static void keep_for_finalize(json_t *obj, const json_t *old)
{
    json_t *st = json_object_get(old, "status");
    if (st)
        json_object_set(obj, "status", st);
    else
        json_object_del(obj, "status");
}

static json_t *cell_status(const json_t *obj)
{
    const char *phase = json_string_value(json_object_get(json_object_get(obj, "status"), "phase"));
    return json_string(phase ? phase : "");
}

static const vk_strategy strategy = {
    .prepare_create = prepare_create,
    .validate_create = validate_create,
    .prepare_update = prepare_update,
    .prepare_delete = prepare_delete,
};

static const vk_column columns[] = {
    {"Name", "string", "name", VK_DESC_NAME, 0, vk_cell_name},
    {"Status", "string", "", "The status of the namespace", 0, cell_status},
    {"Age", "string", "", VK_DESC_AGE, 0, vk_cell_age},
};

const vk_resource vk_res_namespaces = {
    .group = "",
    .version = "v1",
    .plural = "namespaces",
    .field_labels = {"status.phase"},
    .subresources = {{"finalize", keep_for_finalize}, {"status", vk_keep_all_but_status}},
    .strategy = &strategy,
    .columns = columns,
    .ncolumns = sizeof columns / sizeof columns[0],
    .name_rule = VK_NAME_LABEL,
};
