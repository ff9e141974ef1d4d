/* core/v1 ConfigMap and Secret: kube's key rules, size limit, immutability, Secret
 * types and stringData (pkg/apis/core/validation, pkg/registry/core/{configmap,secret}). */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/registry/common.h"
#include "apiserver/registry/resource.h"

enum { MAX_DATA = 1 << 20 };

/* kube's IsConfigMapKey: [-._a-zA-Z0-9]+, at most 253, not "." or "..", not "..x". */
static const char *config_key_problem(const char *k)
{
    size_t n = strlen(k);
    if (!n || n > 253)
        return n ? "must be no more than 253 characters" : "a valid config key must be non-empty";
    for (size_t i = 0; i < n; i++)
        if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= 'A' && k[i] <= 'Z') ||
              (k[i] >= '0' && k[i] <= '9') || strchr("-._", k[i])))
            return "a valid config key must consist of alphanumeric characters, '-', '_' or '.' "
                   "(e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation "
                   "is '[-._a-zA-Z0-9]+')";
    if (!strcmp(k, "."))
        return "must not be '.'";
    if (!strcmp(k, ".."))
        return "must not be '..'";
    if (!strncmp(k, "..", 2))
        return "must not start with '..'";
    return NULL;
}

/* Keys of data (and binaryData), their total size. */
static void validate_data(const json_t *obj, const char *const *maps, size_t nmaps,
                          vk_errlist *errs)
{
    size_t total = 0;
    for (size_t m = 0; m < nmaps; m++) {
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(obj, maps[m]), k, v)
        {
            char field[400];
            snprintf(field, sizeof field, "%s[%s]", maps[m], k);
            const char *why = config_key_problem(k);
            if (why) {
                json_t *key = json_string(k);
                vk_err_invalid(errs, field, key, why);
                json_decref(key);
            }
            for (size_t o = 0; o < m; o++)
                if (json_object_get(json_object_get(obj, maps[o]), k)) {
                    char msg[400];
                    snprintf(msg, sizeof msg, "Duplicate value: \"%s\"", k);
                    vk_errlist_add(errs, "FieldValueDuplicate", field, msg);
                }
            total += strlen(k) + json_string_length(v);
        }
    }
    if (total > MAX_DATA)
        vk_errlist_add(errs, "FieldValueTooLong", maps[0],
                       "Too long: must have at most 1048576 bytes");
}

/* Once immutable, the data and the flag itself are frozen; metadata is not. */
static void validate_immutable(const json_t *obj, const json_t *old, const char *const *maps,
                               size_t nmaps, vk_errlist *errs)
{
    if (!json_is_true(json_object_get(old, "immutable")))
        return;
    for (size_t m = 0; m < nmaps; m++) {
        json_t *a = json_object_get(obj, maps[m]), *b = json_object_get(old, maps[m]);
        /* An absent map equals an empty one. */
        if ((json_object_size(a) || json_object_size(b)) && !(a && b && json_equal(a, b)))
            vk_errlist_add(errs, "FieldValueForbidden", maps[m],
                           "Forbidden: field is immutable when `immutable` is set");
    }
    if (!json_is_true(json_object_get(obj, "immutable")))
        vk_errlist_add(errs, "FieldValueForbidden", "immutable",
                       "Forbidden: field is immutable when `immutable` is set");
}

static json_t *count_cell(const json_t *o, const char *const *maps, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += json_object_size(json_object_get(o, maps[i]));
    return json_integer((json_int_t)c);
}

/* ---- ConfigMap ---- */

static const char *const cm_maps[] = {"data", "binaryData"};

static void cm_validate(vk_ctx *c, const json_t *obj, vk_errlist *errs)
{
    validate_data(obj, cm_maps, 2, errs);
}

static void cm_validate_update(vk_ctx *c, const json_t *obj, const json_t *old, vk_errlist *errs)
{
    validate_data(obj, cm_maps, 2, errs);
    validate_immutable(obj, old, cm_maps, 2, errs);
}

static json_t *cm_cell_data(const json_t *o)
{
    return count_cell(o, cm_maps, 2);
}

static const vk_strategy cm_strategy = {
    .validate_create = cm_validate,
    .validate_update = cm_validate_update,
};

static const vk_column cm_columns[] = {
    {"Name", "string", "name", VK_DESC_NAME, 0, vk_cell_name},
    {"Data", "integer", "", "Number of data entries.", 0, cm_cell_data},
    {"Age", "string", "", VK_DESC_AGE, 0, vk_cell_age},
};

const vk_resource vk_res_configmaps = {
    .group = "",
    .version = "v1",
    .plural = "configmaps",
    .strategy = &cm_strategy,
    .columns = cm_columns,
    .ncolumns = sizeof cm_columns / sizeof cm_columns[0],
};

/* ---- Secret ---- */

static const char *const secret_maps[] = {"data"};

/* stringData is written into data (base64), then dropped: it is input only. */
static void secret_fold(json_t *obj)
{
    json_t *sd = json_object_get(obj, "stringData");
    if (json_is_object(sd) && json_object_size(sd)) {
        json_t *data = json_object_get(obj, "data");
        if (!json_is_object(data)) {
            data = json_object();
            json_object_set_new(obj, "data", data);
        }
        const char *k;
        json_t *v;
        json_object_foreach(sd, k, v)
        {
            const char *s = json_string_value(v);
            size_t n = s ? strlen(s) : 0;
            char *b = malloc(4 * ((n + 2) / 3) + 1);
            if (!b)
                continue;
            EVP_EncodeBlock((unsigned char *)b, (const unsigned char *)(s ? s : ""), (int)n);
            json_object_set_new(data, k, json_string(b));
            free(b);
        }
    }
    json_object_del(obj, "stringData");
}

static void secret_prepare(vk_ctx *c, json_t *obj)
{
    secret_fold(obj);
    const char *t = json_string_value(json_object_get(obj, "type"));
    if (!t || !*t)
        json_object_set_new(obj, "type", json_string("Opaque"));
}

static void secret_prepare_update(vk_ctx *c, json_t *obj, const json_t *old)
{
    secret_prepare(c, obj);
}

/* Keys each built-in type requires. */
static const struct {
    const char *type, *key, *annotation;
} required[] = {
    {"kubernetes.io/service-account-token", NULL, "kubernetes.io/service-account.name"},
    {"kubernetes.io/dockercfg", ".dockercfg", NULL},
    {"kubernetes.io/dockerconfigjson", ".dockerconfigjson", NULL},
    {"kubernetes.io/ssh-auth", "ssh-privatekey", NULL},
    {"kubernetes.io/tls", "tls.crt", NULL},
    {"kubernetes.io/tls", "tls.key", NULL},
};

static void secret_validate(vk_ctx *c, const json_t *obj, vk_errlist *errs)
{
    validate_data(obj, secret_maps, 1, errs);
    const char *t = json_string_value(json_object_get(obj, "type"));
    json_t *data = json_object_get(obj, "data");
    for (size_t i = 0; t && i < sizeof required / sizeof required[0]; i++) {
        if (strcmp(t, required[i].type))
            continue;
        char field[300];
        if (required[i].key && !json_object_get(data, required[i].key)) {
            snprintf(field, sizeof field, "data[%s]", required[i].key);
            vk_err_required(errs, field, "");
        }
        if (required[i].annotation &&
            !json_object_get(json_object_get(json_object_get(obj, "metadata"), "annotations"),
                             required[i].annotation)) {
            snprintf(field, sizeof field, "metadata.annotations[%s]", required[i].annotation);
            vk_err_required(errs, field, "");
        }
    }
    if (t && !strcmp(t, "kubernetes.io/basic-auth") && !json_object_get(data, "username") &&
        !json_object_get(data, "password"))
        vk_err_required(errs, "data[username]", "");
}

static void secret_validate_update(vk_ctx *c, const json_t *obj, const json_t *old,
                                   vk_errlist *errs)
{
    secret_validate(c, obj, errs);
    validate_immutable(obj, old, secret_maps, 1, errs);
    json_t *t = json_object_get(obj, "type"), *ot = json_object_get(old, "type");
    if (ot && !json_equal(t, ot))
        vk_err_invalid(errs, "type", t ? t : json_null(), "field is immutable");
}

static json_t *secret_cell_type(const json_t *o)
{
    const char *t = json_string_value(json_object_get(o, "type"));
    return json_string(t ? t : "");
}

static json_t *secret_cell_data(const json_t *o)
{
    return count_cell(o, secret_maps, 1);
}

static const vk_strategy secret_strategy = {
    .prepare_create = secret_prepare,
    .validate_create = secret_validate,
    .prepare_update = secret_prepare_update,
    .validate_update = secret_validate_update,
};

static const vk_column secret_columns[] = {
    {"Name", "string", "name", VK_DESC_NAME, 0, vk_cell_name},
    {"Type", "string", "", "The type of secret", 0, secret_cell_type},
    {"Data", "string", "", "Number of data entries.", 0, secret_cell_data},
    {"Age", "string", "", VK_DESC_AGE, 0, vk_cell_age},
};

const vk_resource vk_res_secrets = {
    .group = "",
    .version = "v1",
    .plural = "secrets",
    .field_labels = {"type"},
    .strategy = &secret_strategy,
    .columns = secret_columns,
    .ncolumns = sizeof secret_columns / sizeof secret_columns[0],
};
