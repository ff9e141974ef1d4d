/* Custom resources (customresources.h).
 *
 * One cr_version per (definition, version) ever served, kept until exit: a request
 * that began while it was served may still hold it. Its vk_resource points at its own
 * copies of the names, and .custom back at it for the shared rules below. */
#include "apiserver/resources/apiextensions/customresources.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/http/status.h"
#include "apiserver/registry/common.h"
#include "apiserver/resources/apiextensions/schema.h"

typedef struct cr_version {
    vk_resource res;
    char *crd;     /* the definition's name */
    json_t *names; /* what the strings below point into (accepted names) */
    char *group, *version, *hash;
    json_t *schema; /* openAPIV3Schema */
    vk_column *columns;
    bool served, storage, terminating;
    bool has_defaults; /* the schema sets a default somewhere */
} cr_version;

static cr_version **all;
static size_t nall;

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* ---- the rules of every custom resource ---- */

json_t *vk_cr_structural(const vk_resource *res, const json_t *obj)
{
    const cr_version *v = res->custom;
    json_t *out = vk_schema_prune(v->schema, obj);
    json_t *meta = json_object_get(out, "metadata");
    if (json_is_object(meta)) {
        json_t *m = json_object();
        for (const char *const *f = vk_object_meta_fields; *f; f++) {
            json_t *x = json_object_get(meta, *f);
            if (x)
                json_object_set(m, *f, x);
        }
        json_object_set_new(out, "metadata", m);
    }
    return out;
}

char *vk_cr_defaulted(const vk_resource *res, const char *json, size_t len, size_t *out_len)
{
    const cr_version *v = res->custom;
    if (!v->has_defaults)
        return NULL;
    json_t *obj = json_loadb(json, len, JSON_DECODE_ANY, NULL);
    json_t *before = json_deep_copy(obj);
    vk_schema_default(v->schema, obj);
    char *out = NULL;
    if (obj && !json_equal(obj, before)) {
        out = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
        *out_len = out ? strlen(out) : 0;
    }
    json_decref(obj);
    json_decref(before);
    return out;
}

static void cr_prepare_create(vk_ctx *c, json_t *obj)
{
    const cr_version *v = c->state;
    /* With a status subresource, a create cannot set the status (kube's strategy). */
    if (vk_subresource_find(&v->res, "status"))
        json_object_del(obj, "status");
}

static void cr_validate(vk_ctx *c, const json_t *obj, vk_errlist *errs)
{
    const cr_version *v = c->state;
    vk_schema_validate(v->schema, obj, errs);
}

static void cr_validate_update(vk_ctx *c, const json_t *obj, const json_t *old, vk_errlist *errs)
{
    cr_validate(c, obj, errs);
}

static json_t *cr_admit(vk_ctx *c, const json_t *obj)
{
    const cr_version *v = c->state;
    if (!v->terminating)
        return NULL;
    return vk_status_new(405, "MethodNotAllowed",
                         "create not allowed while custom resource definition is terminating",
                         NULL);
}

/* The strategy's defaults hook has no context: the schema is found from the object's
 * apiVersion and kind. */
static void cr_defaults(json_t *obj)
{
    const char *av = str(obj, "apiVersion"), *kind = str(obj, "kind");
    for (size_t i = 0; i < nall; i++) {
        cr_version *v = all[i];
        char want[300];
        snprintf(want, sizeof want, "%s/%s", v->group, v->version);
        if (v->served && !strcmp(av, want) && !strcmp(kind, v->res.kind)) {
            vk_schema_default(v->schema, obj);
            return;
        }
    }
}

static const vk_strategy cr_strategy = {
    .defaults = cr_defaults,
    .prepare_create = cr_prepare_create,
    .validate_create = cr_validate,
    .validate_update = cr_validate_update,
    .admit = cr_admit,
};

/* ---- serving ---- */

/* kube's discovery StorageVersionHash: base64 of the first 8 bytes of
 * sha256("group/version/kind"). */
static char *storage_hash(const char *group, const char *version, const char *kind)
{
    char gvk[600];
    snprintf(gvk, sizeof gvk, "%s/%s/%s", group, version, kind);
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)gvk, strlen(gvk), d);
    unsigned char out[16];
    EVP_EncodeBlock(out, d, 8);
    return strdup((char *)out);
}

static cr_version *find(const char *crd, const char *version)
{
    for (size_t i = 0; i < nall; i++)
        if (!strcmp(all[i]->crd, crd) && !strcmp(all[i]->version, version))
            return all[i];
    return NULL;
}

static void free_columns(cr_version *v)
{
    for (size_t i = 0; v->columns && i < v->res.ncolumns; i++) {
        free((char *)v->columns[i].name);
        free((char *)v->columns[i].type);
        free((char *)v->columns[i].format);
        free((char *)v->columns[i].description);
        free((char *)v->columns[i].path);
    }
    free(v->columns);
    v->columns = NULL;
    v->res.columns = NULL;
    v->res.ncolumns = 0;
}

/* additionalPrinterColumns as Table columns: Name, then the definition's (simple
 * JSONPaths), or Age when it gives none. */
static void set_columns(cr_version *v, const json_t *ver)
{
    free_columns(v);
    json_t *apc = json_object_get(ver, "additionalPrinterColumns");
    size_t n = json_array_size(apc);
    vk_column *cols = calloc(n + 2, sizeof *cols);
    if (!cols)
        return;
    size_t k = 0;
    cols[k++] = (vk_column){strdup("Name"),
                            strdup("string"),
                            strdup("name"),
                            strdup(VK_DESC_NAME),
                            0,
                            vk_cell_name,
                            NULL};
    size_t i;
    json_t *c;
    json_array_foreach(apc, i, c)
    {
        const char *jp = str(c, "jsonPath");
        const char *path = jp[0] == '.' ? jp + 1 : jp;
        bool age = !strcmp(path, "metadata.creationTimestamp");
        cols[k++] = (vk_column){strdup(str(c, "name")),
                                strdup(str(c, "type")),
                                strdup(str(c, "format")),
                                strdup(str(c, "description")),
                                (int)json_integer_value(json_object_get(c, "priority")),
                                age ? vk_cell_age : NULL,
                                strdup(path)};
    }
    if (!n)
        cols[k++] = (vk_column){
            strdup("Age"), strdup("date"), strdup(""), strdup(VK_DESC_AGE), 0, vk_cell_age, NULL};
    v->columns = cols;
    v->res.columns = cols;
    v->res.ncolumns = k;
}

static void copy_strings(const char **dst, const json_t *arr, size_t max)
{
    for (size_t i = 0; i < max; i++)
        dst[i] = json_string_value(json_array_get(arr, i));
}

/* Fills v's resource from crd's accepted names and the version ver. */
static void describe(cr_version *v, const json_t *crd, const json_t *ver, const char *storage)
{
    json_t *spec = json_object_get(crd, "spec");
    json_t *names = json_object_get(json_object_get(crd, "status"), "acceptedNames");
    json_decref(v->names);
    v->names = json_deep_copy(names);
    vk_resource *r = &v->res;
    r->group = v->group;
    r->version = v->version;
    r->plural = str(v->names, "plural");
    r->singular = str(v->names, "singular");
    r->kind = str(v->names, "kind");
    r->list_kind = *str(v->names, "listKind") ? str(v->names, "listKind") : NULL;
    memset(r->short_names, 0, sizeof r->short_names);
    memset(r->categories, 0, sizeof r->categories);
    copy_strings(r->short_names, json_object_get(v->names, "shortNames"), 4);
    copy_strings(r->categories, json_object_get(v->names, "categories"), 4);
    static const char *const verbs[] = {"delete", "deletecollection", "get",    "list",
                                        "patch",  "create",           "update", "watch"};
    memset(r->verbs, 0, sizeof r->verbs);
    memcpy(r->verbs, verbs, sizeof verbs);
    free(v->hash);
    v->hash = storage_hash(v->group, storage, r->kind);
    r->storage_hash = v->hash ? v->hash : "";
    r->flags = VK_GENERATION | VK_STATUS_ON_CREATE |
               (strcmp(str(spec, "scope"), "Cluster") ? VK_NAMESPACED : 0);
    r->strategy = &cr_strategy;
    r->custom = v;
    json_decref(v->schema);
    v->schema = json_deep_copy(json_object_get(json_object_get(ver, "schema"), "openAPIV3Schema"));
    if (!v->schema)
        v->schema =
            json_pack("{s:s, s:b}", "type", "object", "x-kubernetes-preserve-unknown-fields", 1);
    char *dump = json_dumps(v->schema, JSON_COMPACT);
    v->has_defaults = dump && strstr(dump, "\"default\":");
    free(dump);
    memset(r->subresources, 0, sizeof r->subresources);
    json_t *subs = json_object_get(ver, "subresources");
    size_t ns = 0;
    if (json_object_get(subs, "status"))
        r->subresources[ns++] = (vk_subresource){.name = "status",
                                                 .keep = vk_keep_all_but_status,
                                                 .group = v->group,
                                                 .version = v->version,
                                                 .kind = r->kind,
                                                 .verbs = {"get", "patch", "update"}};
    if (json_object_get(subs, "scale"))
        r->subresources[ns++] = (vk_subresource){.name = "scale",
                                                 .view = vk_scale_view,
                                                 .set = vk_scale_set,
                                                 .group = "autoscaling",
                                                 .version = "v1",
                                                 .kind = "Scale",
                                                 .verbs = {"get", "patch", "update"}};
    set_columns(v, ver);
}

/* kube's version priority: GA before beta before alpha, higher numbers first, then
 * other names alphabetically. */
static int version_rank(const char *v, long *major, long *minor)
{
    *major = *minor = 0;
    if (v[0] != 'v' || v[1] < '1' || v[1] > '9')
        return 3;
    char *end;
    *major = strtol(v + 1, &end, 10);
    if (!*end)
        return 0;
    int kind = !strncmp(end, "beta", 4) ? 1 : !strncmp(end, "alpha", 5) ? 2 : 3;
    if (kind == 3)
        return 3;
    char *e2;
    *minor = strtol(end + (kind == 1 ? 4 : 5), &e2, 10);
    return *e2 || e2 == end + (kind == 1 ? 4 : 5) ? 3 : kind;
}

static int cmp_versions(const void *a, const void *b)
{
    const char *x = json_string_value(json_object_get(*(json_t *const *)a, "name"));
    const char *y = json_string_value(json_object_get(*(json_t *const *)b, "name"));
    long xa, xb, ya, yb;
    int rx = version_rank(x, &xa, &xb), ry = version_rank(y, &ya, &yb);
    if (rx != ry)
        return rx - ry;
    if (rx == 3)
        return strcmp(x, y);
    if (xa != ya)
        return xa > ya ? -1 : 1;
    return xb > yb ? -1 : xb < yb;
}

int vk_crd_serve(const json_t *crd)
{
    const char *name = str(json_object_get(crd, "metadata"), "name");
    json_t *spec = json_object_get(crd, "spec");
    json_t *versions = json_object_get(spec, "versions");
    size_t n = json_array_size(versions);
    json_t **sorted = calloc(n ? n : 1, sizeof *sorted);
    if (!sorted)
        return -ENOMEM;
    const char *storage = "";
    for (size_t i = 0; i < n; i++) {
        sorted[i] = json_array_get(versions, i);
        if (json_is_true(json_object_get(sorted[i], "storage")))
            storage = str(sorted[i], "name");
    }
    qsort(sorted, n, sizeof *sorted, cmp_versions);
    /* Re-added in priority order, so discovery lists the preferred version first. */
    for (size_t i = 0; i < nall; i++)
        if (!strcmp(all[i]->crd, name) && all[i]->served) {
            vk_resource_remove(&all[i]->res);
            all[i]->served = false;
        }
    bool terminating = json_object_get(json_object_get(crd, "metadata"), "deletionTimestamp");
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        const char *vname = str(sorted[i], "name");
        cr_version *v = find(name, vname);
        if (!v) {
            cr_version **a = realloc(all, (nall + 1) * sizeof *a);
            v = a ? calloc(1, sizeof *v) : NULL;
            if (a)
                all = a;
            if (v) {
                v->crd = strdup(name);
                v->group = strdup(str(spec, "group"));
                v->version = strdup(vname);
            }
            if (!v || !v->crd || !v->group || !v->version) {
                if (v) {
                    free(v->crd);
                    free(v->group);
                    free(v->version);
                    free(v);
                }
                rc = -ENOMEM;
                break;
            }
            all[nall++] = v;
        }
        describe(v, crd, sorted[i], storage);
        v->storage = !strcmp(vname, storage);
        v->terminating = terminating;
        if (json_is_true(json_object_get(sorted[i], "served")) && !(rc = vk_resource_add(&v->res)))
            v->served = true;
    }
    free(sorted);
    return rc;
}

void vk_crd_unserve(const char *name)
{
    for (size_t i = 0; i < nall; i++)
        if (!strcmp(all[i]->crd, name) && all[i]->served) {
            vk_resource_remove(&all[i]->res);
            all[i]->served = false;
        }
}

const vk_resource *vk_crd_storage_resource(const char *name)
{
    for (size_t i = 0; i < nall; i++)
        if (!strcmp(all[i]->crd, name) && all[i]->storage)
            return &all[i]->res;
    return NULL;
}

void vk_crd_free_all(void)
{
    for (size_t i = 0; i < nall; i++) {
        cr_version *v = all[i];
        if (v->served)
            vk_resource_remove(&v->res);
        free_columns(v);
        json_decref(v->names);
        json_decref(v->schema);
        free(v->crd);
        free(v->group);
        free(v->version);
        free(v->hash);
        free(v);
    }
    free(all);
    all = NULL;
    nall = 0;
}
