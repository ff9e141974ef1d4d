/* Generic get, list and create over the store, in kube-apiserver's order of checks:
 * output negotiation (406), input media type (415), body size (413), decoding (400),
 * then the strategy: prepare, system fields, validate (422), storage (409 ...).
 *
 * Stored values are the objects' final JSON without kind and apiVersion; replies
 * splice `{"kind":K,"apiVersion":V,` in front, so a GET copies bytes and a LIST joins
 * them without parsing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "apiserver/codec/yaml.h"
#include "apiserver/codec/negotiate.h"
#include "apiserver/codec/protobuf.h"
#include "apiserver/http/status.h"
#include "apiserver/openapi.h"
#include "apiserver/registry/common.h"
#include "apiserver/registry/quota.h"
#include "apiserver/registry/internal.h"
#include "apiserver/registry/registry.h"
#include "apiserver/registry/selector.h"
#include "apiserver/resources/apiextensions/customresources.h"
#include "apiserver/server.h"
#include "common/err.h"
#include "common/rand.h"
#include "common/timefmt.h"
#include "storage/store.h"
#include "storage/watch.h"

const char *vk_reg_api_version(const vk_resource *res, char *buf, size_t n)
{
    if (!*res->group)
        return res->version;
    snprintf(buf, n, "%s/%s", res->group, res->version);
    return buf;
}

/* "pods" for core, "deployments.apps" otherwise (GroupResource.String()). */
static void group_resource(const vk_resource *res, char *buf, size_t n)
{
    snprintf(buf, n, "%s%s%s", res->plural, *res->group ? "." : "", res->group);
}

static void kind_group(const vk_resource *res, char *buf, size_t n)
{
    snprintf(buf, n, "%s%s%s", res->kind, *res->group ? "." : "", res->group);
}

json_t *vk_reg_status(const vk_resource *res, int err, const char *name)
{
    char gr[160];
    group_resource(res, gr, sizeof gr);
    char msg[640];
    switch (err) {
    case VK_ENOTFOUND:
        snprintf(msg, sizeof msg, "%s \"%s\" not found", gr, name);
        return vk_status_new(404, "NotFound", msg,
                             vk_status_details(name, res->group, res->plural));
    case VK_EEXIST:
        snprintf(msg, sizeof msg, "%s \"%s\" already exists", gr, name);
        return vk_status_new(409, "AlreadyExists", msg,
                             vk_status_details(name, res->group, res->plural));
    case VK_ECONFLICT:
        snprintf(msg, sizeof msg,
                 "Operation cannot be fulfilled on %s \"%s\": the object has been modified; "
                 "please apply your changes to the latest version and try again",
                 gr, name);
        return vk_status_new(409, "Conflict", msg,
                             vk_status_details(name, res->group, res->plural));
    default: {
        int code;
        const char *reason;
        vk_err_status(err, &code, &reason);
        snprintf(msg, sizeof msg, "Internal error occurred: %s", vk_strerror(err));
        return vk_status_new(code, reason, msg, NULL);
    }
    }
}

/* ---- replies ---- */

/* Writes kind/apiVersion then the stored object's members. */
int vk_reg_splice(vk_buf *b, const vk_resource *res, const char *kind, const char *json, size_t len)
{
    /* A custom resource is read through its schema's defaults (kube defaults on
     * decoding from storage). */
    size_t dlen = 0;
    char *defaulted = res->custom ? vk_cr_defaulted(res, json, len, &dlen) : NULL;
    if (defaulted) {
        json = defaulted;
        len = dlen;
    }
    char av[128];
    int rc = VK_EINVALID;
    if (len >= 2 && json[0] == '{') {
        json_t *k = json_string(kind), *v = json_string(vk_reg_api_version(res, av, sizeof av));
        char *ks = json_dumps(k, JSON_ENCODE_ANY), *vs = json_dumps(v, JSON_ENCODE_ANY);
        rc = vk_buf_printf(b, "{\"kind\":%s,\"apiVersion\":%s%s", ks, vs, len > 2 ? "," : "");
        free(ks);
        free(vs);
        json_decref(k);
        json_decref(v);
        if (!rc)
            rc = vk_buf_append(b, json + 1, len - 1);
    }
    free(defaulted);
    return rc;
}

static void send_buf(vk_req *r, int code, vk_buf *b)
{
    if (vk_want_pretty(r) || r->reply_yaml) {
        json_error_t e;
        json_t *o = json_loadb(b->data, b->len, 0, &e);
        if (o) {
            vk_send_json(r, code, o, true);
            json_decref(o);
            return;
        }
    }
    vk_buf_puts(b, "\n");
    vk_resp_send(r, code, "application/json", b->data, b->len);
}

void vk_reg_reply(vk_req *r, int code, const vk_resource *res, const char *json, size_t len,
                  int fmt)
{
    if (fmt == VK_FMT_PROTOBUF) {
        json_t *obj = json_loadb(json, len, 0, NULL);
        if (obj) {
            vk_reg_add_kind(obj, res);
            vk_send_object(r, code, obj, fmt);
            json_decref(obj);
            return;
        }
    }
    vk_buf b = {0};
    if (vk_reg_splice(&b, res, res->kind, json, len)) {
        vk_buf_free(&b);
        vk_send_error(r, 500, "InternalError", "Internal error occurred: stored object is corrupt");
        return;
    }
    send_buf(r, code, &b);
    vk_buf_free(&b);
}

json_t *vk_reg_partial(const json_t *obj, const char *version)
{
    char av[32];
    snprintf(av, sizeof av, "meta.k8s.io/%s", version);
    return json_pack("{s:s, s:s, s:O}", "kind", "PartialObjectMetadata", "apiVersion", av,
                     "metadata", json_object_get(obj, "metadata"));
}

/* A description "@<definition>/<property>" is the field's own from the OpenAPI
 * definitions (kube's SwaggerDoc()). */
static const char *column_description(const vk_column *c)
{
    return c->description[0] == '@' ? vk_openapi_description(c->description + 1) : c->description;
}

json_t *vk_reg_columns(const vk_resource *res)
{
    static const vk_column defaults[] = {
        {"Name", "string", "name", VK_DESC_NAME, 0, vk_cell_name},
        {"Created At", "date", "", VK_DESC_AGE, 0, NULL},
    };
    const vk_column *cols = res->columns ? res->columns : defaults;
    size_t n = res->columns ? res->ncolumns : 2;
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s, s:i}", "name", cols[i].name,
                                           "type", cols[i].type, "format", cols[i].format,
                                           "description", column_description(&cols[i]), "priority",
                                           cols[i].priority));
    return a;
}

/* A column's cell by path: the value there, or the zero of the column's type. */
static json_t *path_cell(const vk_column *col, const json_t *obj)
{
    const json_t *v = obj;
    for (const char *p = col->path; v && p && *p;) {
        size_t n = strcspn(p, ".");
        char k[128];
        snprintf(k, sizeof k, "%.*s", (int)n, p);
        v = json_object_get(v, k);
        p += n + (p[n] == '.');
    }
    if (v && !json_is_null(v))
        return json_incref((json_t *)v);
    if (!strcmp(col->type, "integer") || !strcmp(col->type, "number"))
        return json_integer(0);
    if (!strcmp(col->type, "boolean"))
        return json_false();
    return json_string("<none>");
}

json_t *vk_reg_row(const vk_resource *res, const json_t *obj, const char *include,
                   const char *version)
{
    json_t *cells = json_array();
    if (res->columns) {
        for (size_t i = 0; i < res->ncolumns; i++)
            json_array_append_new(cells, res->columns[i].cell ? res->columns[i].cell(obj)
                                                              : path_cell(&res->columns[i], obj));
    } else {
        json_array_append_new(cells, vk_cell_name(obj));
        json_t *ts = json_object_get(json_object_get(obj, "metadata"), "creationTimestamp");
        json_array_append_new(cells, ts ? json_incref(ts) : json_null());
    }
    json_t *row = json_pack("{s:o}", "cells", cells);
    if (!strcmp(include, "Object")) {
        json_object_set(row, "object", (json_t *)obj);
    } else if (strcmp(include, "None")) {
        json_object_set_new(row, "object", vk_reg_partial(obj, version));
    }
    return row;
}

/* ---- get ---- */

int vk_reg_key(const vk_resource *res, const char *ns, const char *name, char *key)
{
    return vk_key_build(key, VK_KEY_MAX, vk_resource_id(res),
                        (res->flags & VK_NAMESPACED) ? ns : "", name);
}

bool vk_reg_include(vk_req *r, const char **include)
{
    const char *inc = vk_req_query(r, "includeObject");
    *include = inc && *inc ? inc : "Metadata";
    if (strcmp(*include, "Metadata") && strcmp(*include, "Object") && strcmp(*include, "None")) {
        vk_send_error(r, 400, "BadRequest", "unrecognized includeObject value: \"%s\"", *include);
        return false;
    }
    return true;
}

void vk_reg_add_kind(json_t *obj, const vk_resource *res)
{
    char av[128];
    json_t *o = json_pack("{s:s, s:s}", "kind", res->kind, "apiVersion",
                          vk_reg_api_version(res, av, sizeof av));
    json_object_update(o, obj);
    json_object_clear(obj);
    json_object_update(obj, o);
    json_decref(o);
}

static void do_get(vk_server *s, vk_req *r, const vk_resource *res, const vk_reqinfo *ri,
                   const vk_accept *acc)
{
    char key[VK_KEY_MAX];
    int klen = vk_reg_key(res, ri->namespace_, ri->name, key);
    if (klen < 0) {
        vk_send_status(r, vk_reg_status(res, VK_ENOTFOUND, ri->name));
        return;
    }
    vk_buf val = {0};
    int rc = vk_store_get(s->store, key, (size_t)klen, &val, NULL);
    if (rc) {
        vk_send_status(r, vk_reg_status(res, rc, ri->name));
        return;
    }
    const vk_subresource *sub = vk_subresource_find(res, ri->subresource);
    if (acc->as == VK_AS_OBJECT && sub && sub->view) {
        json_t *obj = json_loadb(val.data, val.len, 0, NULL), *view = obj ? sub->view(obj) : NULL;
        if (view)
            vk_send_object(r, 200, view, acc->format);
        else
            vk_send_error(r, 500, "InternalError",
                          "Internal error occurred: stored object is corrupt");
        json_decref(obj);
        json_decref(view);
        vk_buf_free(&val);
        return;
    }
    if (acc->as == VK_AS_OBJECT) {
        vk_reg_reply(r, 200, res, val.data, val.len, acc->format);
        vk_buf_free(&val);
        return;
    }
    const char *include = "Metadata";
    json_t *obj = json_loadb(val.data, val.len, 0, NULL);
    vk_buf_free(&val);
    if (!obj) {
        vk_send_error(r, 500, "InternalError", "Internal error occurred: stored object is corrupt");
        return;
    }
    vk_reg_add_kind(obj, res);
    json_t *out;
    if (acc->as == VK_AS_PARTIAL) {
        out = vk_reg_partial(obj, acc->as_version);
    } else {
        if (!vk_reg_include(r, &include)) {
            json_decref(obj);
            return;
        }
        char av[32];
        snprintf(av, sizeof av, "meta.k8s.io/%s", acc->as_version);
        json_t *rv = json_object_get(json_object_get(obj, "metadata"), "resourceVersion");
        out =
            json_pack("{s:s, s:s, s:{s:O}, s:o, s:[o]}", "kind", "Table", "apiVersion", av,
                      "metadata", "resourceVersion", rv ? rv : json_string(""), "columnDefinitions",
                      vk_reg_columns(res), "rows", vk_reg_row(res, obj, include, acc->as_version));
    }
    vk_send_object(r, 200, out, acc->format);
    json_decref(out);
    json_decref(obj);
}

/* ---- list ---- */

/* kube's continue token: base64url (no padding) of
 * {"v":"meta.k8s.io/v1","rv":N,"start":"<key after the resource prefix>\u0000"}. */
/* kube's continue token; rev 0 is written -1: "from this key at the latest revision"
 * (what a 410 for a compacted token offers). */
static char *encode_continue(uint64_t rev, const char *start, size_t n)
{
    json_t *t = json_pack("{s:s, s:I, s:s%}", "v", "meta.k8s.io/v1", "rv",
                          rev ? (json_int_t)rev : (json_int_t)-1, "start", start, n);
    char *js = json_dumps(t, JSON_COMPACT);
    json_decref(t);
    if (!js)
        return NULL;
    size_t jl = strlen(js);
    char *out = malloc(4 * ((jl + 2) / 3) + 1);
    if (out) {
        int ol = EVP_EncodeBlock((unsigned char *)out, (unsigned char *)js, (int)jl);
        while (ol > 0 && out[ol - 1] == '=')
            ol--;
        out[ol] = 0;
        for (char *p = out; *p; p++)
            *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    }
    free(js);
    return out;
}

static int decode_continue(const char *tok, uint64_t *rev, vk_buf *start)
{
    size_t n = strlen(tok);
    if (!n || n > 4096)
        return VK_EINVALID;
    char *b64 = malloc(n + 4);
    unsigned char *raw = malloc(n + 4);
    int rc = VK_EINVALID;
    if (!b64 || !raw)
        goto out;
    for (size_t i = 0; i < n; i++)
        b64[i] = tok[i] == '-' ? '+' : tok[i] == '_' ? '/' : tok[i];
    int pad = (int)((4 - n % 4) % 4);
    while (n % 4)
        b64[n++] = '=';
    b64[n] = 0;
    int rl = EVP_DecodeBlock(raw, (unsigned char *)b64, (int)n);
    if (rl < pad)
        goto out;
    rl -= pad;
    json_t *t = json_loadb((char *)raw, (size_t)rl, JSON_ALLOW_NUL, NULL);
    json_int_t r = json_integer_value(json_object_get(t, "rv"));
    const char *st = json_string_value(json_object_get(t, "start"));
    if (t && st && (r > 0 || r == -1) &&
        !strcmp(json_string_value(json_object_get(t, "v")) ?: "", "meta.k8s.io/v1")) {
        *rev = r > 0 ? (uint64_t)r : 0;
        vk_buf_append(start, st, json_string_length(json_object_get(t, "start")));
        rc = 0;
    }
    json_decref(t);
out:
    free(b64);
    free(raw);
    return rc;
}

/* A dotted path's value as a string, as kube's field label functions give it. */
static const char *field_value(const json_t *obj, const char *path, char *buf, size_t n)
{
    const json_t *v = obj;
    char part[128];
    for (const char *p = path; v && *p;) {
        size_t l = strcspn(p, ".");
        snprintf(part, sizeof part, "%.*s", (int)l, p);
        v = json_object_get(v, part);
        p += l + (p[l] == '.');
    }
    if (!v && (!strcmp(path, "spec.unschedulable") || !strcmp(path, "spec.hostNetwork")))
        return "false"; /* kube's strconv.FormatBool of an unset bool: nodes are schedulable */
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_boolean(v) || !v)
        return v && json_is_true(v) ? "true" : v ? "false" : NULL;
    if (json_is_integer(v)) {
        snprintf(buf, n, "%lld", (long long)json_integer_value(v));
        return buf;
    }
    return NULL;
}

bool vk_reg_selectors(vk_req *r, const vk_resource *res, vk_selector **labels, vk_selector **fields)
{
    *labels = *fields = NULL;
    enum { N = sizeof res->field_labels / sizeof res->field_labels[0] };
    const char *known[N + 3] = {"metadata.name", "metadata.namespace"};
    for (size_t i = 0; i < N && res->field_labels[i]; i++)
        known[2 + i] = res->field_labels[i];
    char err[512];
    if (vk_label_selector_parse(vk_req_query(r, "labelSelector"), labels, err, sizeof err) ||
        vk_field_selector_parse(vk_req_query(r, "fieldSelector"), known, fields, err, sizeof err)) {
        vk_selector_free(*labels);
        *labels = NULL;
        vk_send_error(r, 400, "BadRequest", "%s", err);
        return false;
    }
    return true;
}

bool vk_reg_selected(const vk_selector *labels, const vk_selector *fields, const json_t *obj)
{
    return vk_selector_match_labels(labels,
                                    json_object_get(json_object_get(obj, "metadata"), "labels")) &&
           vk_selector_match_fields(fields, obj, field_value);
}

typedef struct list_ctx {
    vk_buf items;
    size_t count;
    json_t *rows; /* Table and partial lists parse each item */
    const vk_resource *res;
    const vk_accept *acc;
    const char *include;
    vk_buf last_key;
    size_t exact_len; /* nonzero: only the key of this length (fieldSelector on the name) */
    vk_selector *labels, *fields;
} list_ctx;

static int list_visit(void *ud, const vk_kv *kv)
{
    list_ctx *c = ud;
    if (c->exact_len && kv->key_len != c->exact_len)
        return 0;
    vk_buf_reset(&c->last_key);
    if (vk_buf_append(&c->last_key, kv->key, kv->key_len))
        return -ENOMEM;
    if (c->labels || c->fields) {
        json_t *o = json_loadb(kv->val, kv->val_len, 0, NULL);
        bool take = o && vk_reg_selected(c->labels, c->fields, o);
        json_decref(o);
        if (!take)
            return 0;
    }
    c->count++;
    if (c->acc->as == VK_AS_OBJECT) {
        /* Items of a custom resource list say their kind (kube's unstructured lists). */
        if ((c->count > 1 && vk_buf_puts(&c->items, ",")) ||
            (c->res->custom ? vk_reg_splice(&c->items, c->res, c->res->kind, kv->val, kv->val_len)
                            : vk_buf_append(&c->items, kv->val, kv->val_len)))
            return -ENOMEM;
        return 1;
    }
    json_t *obj = json_loadb(kv->val, kv->val_len, 0, NULL);
    if (!obj)
        return -EIO;
    vk_reg_add_kind(obj, c->res);
    json_t *item = c->acc->as == VK_AS_TABLE
                       ? vk_reg_row(c->res, obj, c->include, c->acc->as_version)
                       : vk_reg_partial(obj, c->acc->as_version);
    json_decref(obj);
    if (c->acc->as == VK_AS_PARTIAL)
        json_object_del(item, "apiVersion"), json_object_del(item, "kind");
    json_array_append_new(c->rows, item);
    return 1;
}

static void do_list(vk_server *s, vk_req *r, const vk_resource *res, const vk_reqinfo *ri,
                    const vk_accept *acc)
{
    const char *lim = vk_req_query(r, "limit"), *cont = vk_req_query(r, "continue");
    long long limit = lim && *lim ? atoll(lim) : 0;
    if (limit < 0)
        limit = 0;
    list_ctx c = {.res = res, .acc = acc, .include = "Metadata"};
    if (acc->as == VK_AS_TABLE && !vk_reg_include(r, &c.include))
        return;
    if (!vk_reg_selectors(r, res, &c.labels, &c.fields))
        return;
    char prefix[VK_KEY_MAX];
    bool namespaced = res->flags & VK_NAMESPACED;
    int plen = *ri->name ? vk_reg_key(res, ri->namespace_, ri->name, prefix)
                         : vk_key_prefix(prefix, sizeof prefix, vk_resource_id(res),
                                         namespaced && *ri->namespace_ ? ri->namespace_ : NULL);
    vk_buf start = {0};
    if (plen < 0) {
        vk_send_error(r, 400, "BadRequest", "invalid namespace or name");
        goto out;
    }
    c.exact_len = *ri->name ? (size_t)plen : 0;
    vk_list_opts o = {
        .prefix = prefix, .prefix_len = (size_t)plen, .limit = (size_t)limit, .count_rest = 1};
    uint64_t rev = 0;
    if (cont && *cont) {
        if (decode_continue(cont, &rev, &start)) {
            vk_send_status(r, vk_status_new(400, "BadRequest",
                                            "continue key is not valid: incorrect encoded start "
                                            "resourceVersion (version meta.k8s.io/v1)",
                                            NULL));
            goto out;
        }
        /* The token's start is the key after the resource id. */
        vk_buf full = {0};
        vk_buf_append(&full, prefix, 4);
        vk_buf_append(&full, start.data, start.len);
        vk_buf_free(&start);
        start = full;
        o.start = start.data;
        o.start_len = start.len;
        o.rev = rev;
    }
    if (acc->as != VK_AS_OBJECT)
        c.rows = json_array();
    vk_list_info info = {0};
    int rc = vk_store_list(s->store, &o, list_visit, &c, &info);
    if (rc) {
        if (rc == VK_EGONE) {
            /* kube's etcd3 store: a token for the rest at the latest revision, and the
             * words that offer it. */
            char *tok = o.start_len > 4
                            ? encode_continue(0, (const char *)o.start + 4, o.start_len - 4)
                            : NULL;
            json_t *st = vk_status_new(
                410, "Expired",
                tok ? "The provided continue parameter is too old to display a consistent list "
                      "result. You can start a new list without the continue parameter, or use "
                      "the continue token in this response to retrieve the remainder of the "
                      "results. Continuing with the provided token results in an inconsistent "
                      "list - objects that were created, modified, or deleted between the time "
                      "the first chunk was returned and now may show up in the list."
                    : "The provided continue parameter is too old to display a consistent list "
                      "result. You can start a new list without the continue parameter.",
                NULL);
            if (tok)
                json_object_set_new(st, "metadata", json_pack("{s:s}", "continue", tok));
            free(tok);
            vk_send_status(r, st);
        } else
            vk_send_status(r, vk_reg_status(res, rc, ""));
        goto out;
    }
    char rvs[24];
    snprintf(rvs, sizeof rvs, "%llu", (unsigned long long)info.rev);
    json_t *meta = json_pack("{s:s}", "resourceVersion", rvs);
    if (info.more && c.last_key.len > 4) {
        vk_buf_append(&c.last_key, "", 1); /* the next key: last + \0 */
        char *tok = encode_continue(info.rev, c.last_key.data + 4, c.last_key.len - 4);
        if (tok)
            json_object_set_new(meta, "continue", json_string(tok));
        free(tok);
        if (!c.labels && !c.fields)
            json_object_set_new(meta, "remainingItemCount",
                                json_integer((json_int_t)info.remaining));
    }
    if (acc->as == VK_AS_OBJECT) {
        char av[128];
        char kind[96];
        if (res->list_kind)
            snprintf(kind, sizeof kind, "%s", res->list_kind);
        else
            snprintf(kind, sizeof kind, "%sList", res->kind);
        json_t *head = json_pack("{s:s, s:s, s:O}", "kind", kind, "apiVersion",
                                 vk_reg_api_version(res, av, sizeof av), "metadata", meta);
        char *hs = json_dumps(head, JSON_COMPACT);
        json_decref(head);
        vk_buf b = {0};
        vk_buf_append(&b, hs, strlen(hs) - 1);
        free(hs);
        vk_buf_puts(&b, ",\"items\":[");
        vk_buf_append(&b, c.items.data, c.items.len);
        vk_buf_puts(&b, "]}");
        json_t *list = acc->format == VK_FMT_PROTOBUF ? json_loadb(b.data, b.len, 0, NULL) : NULL;
        if (list)
            vk_send_object(r, 200, list, acc->format);
        else
            send_buf(r, 200, &b);
        json_decref(list);
        vk_buf_free(&b);
    } else {
        char av[32];
        snprintf(av, sizeof av, "meta.k8s.io/%s", acc->as_version);
        json_t *out;
        if (acc->as == VK_AS_TABLE)
            out = json_pack("{s:s, s:s, s:O, s:o, s:O}", "kind", "Table", "apiVersion", av,
                            "metadata", meta, "columnDefinitions", vk_reg_columns(res), "rows",
                            c.rows);
        else
            out = json_pack("{s:s, s:s, s:O, s:O}", "kind", "PartialObjectMetadataList",
                            "apiVersion", av, "metadata", meta, "items", c.rows);
        vk_send_object(r, 200, out, acc->format);
        json_decref(out);
    }
    json_decref(meta);
out:
    json_decref(c.rows);
    vk_buf_free(&start);
    vk_buf_free(&c.items);
    vk_buf_free(&c.last_key);
    vk_selector_free(c.labels);
    vk_selector_free(c.fields);
}

/* ---- create ---- */

const char *const vk_object_meta_fields[] = {
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
    NULL,
};

/* Rebuilds obj with metadata first (its members in struct order, resourceVersion
 * present as ""), then spec, then status, then the rest as given. New reference. */
/* obj through its typed form (the protobuf message of res's kind): keys in Go struct
 * order, unknown fields dropped, Go's omitempty rules applied. NULL when the kind has
 * no typed form or the value does not fit it. New reference. */
static json_t *typed_roundtrip(const vk_resource *res, const json_t *obj)
{
    if (res->custom)
        return vk_cr_structural(res, obj);
    const ProtobufCMessageDescriptor *d = vk_pb_lookup(res->group, res->version, res->kind);
    if (!d)
        return NULL;
    vk_buf b = {0};
    json_t *out = NULL;
    if (!vk_pb_msg_from_json(d, obj, &b))
        vk_pb_msg_to_json(d, (const uint8_t *)(b.data ? b.data : ""), b.len, &out);
    vk_buf_free(&b);
    return out;
}

json_t *vk_reg_canonical(const vk_resource *res, const json_t *obj)
{
    json_t *typed = typed_roundtrip(res, obj);
    const json_t *src = typed ? typed : obj;
    json_t *out = json_object();
    json_t *m = json_object_get(src, "metadata");
    json_t *meta = json_object();
    for (const char *const *f = vk_object_meta_fields; *f; f++) {
        json_t *v = json_object_get(m, *f);
        if (!strcmp(*f, "resourceVersion"))
            json_object_set_new(meta, "resourceVersion", json_string(""));
        else if (v)
            json_object_set(meta, *f, v);
    }
    json_object_set_new(out, "metadata", meta);
    const char *k;
    json_t *v;
    /* The typed form is already in struct order; an untyped object gets spec and
     * status first, as most kinds have them. */
    static const char *const top[] = {"spec", "status"};
    for (size_t i = 0; !typed && i < 2; i++)
        if (json_object_get(src, top[i]))
            json_object_set(out, top[i], json_object_get(src, top[i]));
    json_object_foreach((json_t *)src, k, v)
    {
        if (strcmp(k, "kind") && strcmp(k, "apiVersion") && !json_object_get(out, k))
            json_object_set(out, k, v);
    }
    json_decref(typed);
    return out;
}

static bool empty_value(const json_t *v)
{
    return json_is_null(v) || json_is_false(v) || (json_is_object(v) && !json_object_size(v)) ||
           (json_is_array(v) && !json_array_size(v)) ||
           (json_is_string(v) && !json_string_length(v)) ||
           (json_is_integer(v) && !json_integer_value(v)) ||
           (json_is_real(v) && !json_real_value(v));
}

/* Paths of members of in that its typed form dropped although they held a value. */
static void find_unknown(const json_t *in, const json_t *out, vk_buf *path, json_t *list)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)in, k, v)
    {
        if (!path->len && (!strcmp(k, "kind") || !strcmp(k, "apiVersion")))
            continue;
        size_t mark = path->len;
        vk_buf_printf(path, "%s%s", mark ? "." : "", k);
        json_t *o = json_object_get(out, k);
        if (!o) {
            if (!empty_value(v))
                json_array_append_new(list, json_string(path->data));
        } else if (json_is_object(v) && json_is_object(o)) {
            find_unknown(v, o, path, list);
        } else if (json_is_array(v) && json_is_array(o) &&
                   json_array_size(v) == json_array_size(o)) {
            for (size_t i = 0; i < json_array_size(v); i++) {
                if (!json_is_object(json_array_get(v, i)))
                    continue;
                size_t m2 = path->len;
                vk_buf_printf(path, "[%zu]", i);
                find_unknown(json_array_get(v, i), json_array_get(o, i), path, list);
                path->len = m2;
                path->data[m2] = 0;
            }
        }
        path->len = mark;
        if (path->data)
            path->data[mark] = 0;
    }
}

bool vk_reg_field_check(vk_req *r, const vk_resource *res, const json_t *obj, const json_t *dups)
{
    const char *mode = vk_req_query(r, "fieldValidation");
    if (mode && *mode && strcmp(mode, "Strict") && strcmp(mode, "Warn") && strcmp(mode, "Ignore")) {
        vk_send_error(r, 400, "BadRequest",
                      "fieldValidation must be one of Ignore, Warn, or Strict, got %s", mode);
        return false;
    }
    bool ignore = mode && !strcmp(mode, "Ignore");
    json_t *problems = json_array();
    json_t *typed = typed_roundtrip(res, obj);
    /* A value of the wrong type (a string for a number, bad base64 in bytes) is a
     * decoding error, as in kube. */
    if (!typed && vk_pb_lookup(res->group, res->version, res->kind)) {
        vk_send_error(r, 400, "BadRequest",
                      "%s in version \"%s\" cannot be handled as a %s: a field does not have "
                      "the type its schema gives it",
                      res->kind, res->version, res->kind);
        json_decref(problems);
        return false;
    }
    if (typed && !ignore) {
        vk_buf path = {0};
        json_t *unknown = json_array();
        find_unknown(obj, typed, &path, unknown);
        size_t i;
        json_t *p;
        json_array_foreach(unknown, i, p)
        {
            char msg[600];
            snprintf(msg, sizeof msg, "unknown field \"%s\"", json_string_value(p));
            json_array_append_new(problems, json_string(msg));
        }
        json_decref(unknown);
        vk_buf_free(&path);
    }
    json_decref(typed);
    size_t i;
    json_t *d;
    json_array_foreach(ignore ? NULL : dups, i, d)
    {
        char msg[600];
        snprintf(msg, sizeof msg, "duplicate field \"%s\"", json_string_value(d));
        json_array_append_new(problems, json_string(msg));
    }
    bool ok = true;
    if (json_array_size(problems) && mode && !strcmp(mode, "Strict")) {
        vk_buf msg = {0};
        /* Decoding errors of a body name the kind (kube's transformDecodeError). */
        if (strcmp(r->method, "PATCH"))
            vk_buf_printf(&msg, "%s in version \"%s\" cannot be handled as a %s: ", res->kind,
                          res->version, res->kind);
        vk_buf_puts(&msg, "strict decoding error: ");
        json_array_foreach(problems, i, d)
            vk_buf_printf(&msg, "%s%s", i ? ", " : "", json_string_value(d));
        vk_send_error(r, 400, "BadRequest", "%s", msg.data);
        vk_buf_free(&msg);
        ok = false;
    } else {
        json_array_foreach(problems, i, d) vk_resp_warning(r, json_string_value(d));
    }
    json_decref(problems);
    return ok;
}

json_t *vk_reg_invalid(const vk_resource *res, const char *name, vk_errlist *errs)
{
    char kg[160];
    kind_group(res, kg, sizeof kg);
    vk_buf msg = {0};
    size_t n = json_array_size(errs->causes);
    vk_buf_printf(&msg, "%s \"%s\" is invalid: %s", kg, name, n > 1 ? "[" : "");
    for (size_t i = 0; i < n; i++) {
        json_t *c = json_array_get(errs->causes, i);
        vk_buf_printf(&msg, "%s%s: %s", i ? ", " : "",
                      json_string_value(json_object_get(c, "field")),
                      json_string_value(json_object_get(c, "message")));
    }
    if (n > 1)
        vk_buf_puts(&msg, "]");
    json_t *d = vk_status_details(name, res->group, res->kind);
    json_object_set(d, "causes", errs->causes);
    json_t *st = vk_status_new(422, "Invalid", msg.data, d);
    vk_buf_free(&msg);
    return st;
}

typedef struct create_ctx {
    vk_create_cb cb;
    void *ud;
    const vk_resource *res;
    vk_server *s;
    json_t *claimed; /* what claim() took, given back if the create fails */
    char name[256], ns[256];
    json_t *obj; /* as validated: charged to the quotas again after a conflict */
    char key[VK_KEY_MAX];
    int klen;
    vk_buf val;
    size_t rv_off;
    size_t nquota; /* quota updates ahead of the object in the transaction */
    int attempts;
} create_ctx;

static void release(vk_server *s, const vk_resource *res, const json_t *obj)
{
    if (obj && res->strategy && res->strategy->release) {
        vk_ctx ctx = vk_resource_ctx(s, res);
        res->strategy->release(&ctx, obj);
    }
}

static void fail(vk_create_cb cb, void *ud, int err, json_t *status)
{
    cb(ud, err, NULL, 0, status);
    json_decref(status);
}

static void create_free(create_ctx *c)
{
    json_decref(c->claimed);
    json_decref(c->obj);
    vk_buf_free(&c->val);
    free(c);
}

static void create_done(void *ud, int err, const vk_op_result *res, size_t n);

/* kube's ResourceQuota admission, then the write: the object and the quota updates
 * that charge it in one transaction. Ends in c->cb. */
static void create_submit(create_ctx *c)
{
    vk_quota_charge ch;
    json_t *refused = vk_quota_admit(c->s, c->res, c->ns, c->obj, NULL, false, &ch);
    vk_op *ops = refused ? NULL : calloc(ch.n + 1, sizeof *ops);
    int rc = refused ? VK_EINVALID : ops ? 0 : -ENOMEM;
    if (!rc) {
        vk_quota_charge_ops(&ch, ops);
        ops[ch.n] =
            (vk_op){VK_OP_CREATE, c->key, (size_t)c->klen, c->val.data, c->val.len, c->rv_off, 0};
        c->nquota = ch.n;
        rc = vk_store_submit(c->s->store, ops, ch.n + 1, create_done, c);
    }
    free(ops);
    vk_quota_charge_free(&ch);
    if (rc) {
        release(c->s, c->res, c->claimed);
        fail(c->cb, c->ud, rc, refused ? refused : vk_reg_status(c->res, rc, c->name));
        create_free(c);
    }
}

static void create_done(void *ud, int err, const vk_op_result *res, size_t n)
{
    create_ctx *c = ud;
    bool quota_conflict = false;
    for (size_t i = 0; err && i < c->nquota; i++)
        quota_conflict = quota_conflict || res[i].err == VK_ECONFLICT;
    if (quota_conflict && ++c->attempts < 16) {
        create_submit(c); /* a quota changed since it was read: charge it again */
        return;
    }
    if (err) {
        release(c->s, c->res, c->claimed);
        json_t *st = vk_reg_status(c->res, err, c->name);
        c->cb(c->ud, err, NULL, 0, st);
        json_decref(st);
    } else {
        c->cb(c->ud, 0, res[c->nquota].ev->obj, res[c->nquota].ev->obj_len, NULL);
    }
    create_free(c);
}

/* kube's NamespaceLifecycle admission: namespaced objects are created only in a
 * namespace that exists and is not being deleted. NULL, or the Status to answer. */
static json_t *namespace_admission(vk_server *s, const vk_resource *res, const char *ns,
                                   const json_t *obj)
{
    if (!(res->flags & VK_NAMESPACED))
        return NULL;
    const vk_resource *nsres = vk_resource_find("", "v1", "namespaces");
    char key[VK_KEY_MAX];
    vk_buf val = {0};
    int klen = vk_key_build(key, sizeof key, vk_resource_id(nsres), "", ns && *ns ? ns : "-");
    int rc = klen > 0 ? vk_store_get(s->store, key, (size_t)klen, &val, NULL) : VK_ENOTFOUND;
    json_t *st = NULL;
    if (rc) {
        st = vk_reg_status(nsres, VK_ENOTFOUND, ns ? ns : "");
    } else if (strstr(val.data, "\"deletionTimestamp\"")) {
        const char *name =
            json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
        char msg[700];
        snprintf(msg, sizeof msg,
                 "%s \"%s\" is forbidden: unable to create new content in namespace %s because "
                 "it is being terminated",
                 res->plural, name ? name : "", ns);
        json_t *d = vk_status_details(name, res->group, res->plural);
        json_object_set_new(d, "causes",
                            json_pack("[{s:s, s:s, s:s}]", "reason", "NamespaceTerminating",
                                      "message", msg, "field", "metadata.namespace"));
        st = vk_status_new(403, "Forbidden", msg, d);
    }
    vk_buf_free(&val);
    return st;
}

/* A create by user (NULL: the server). */
static void create_as(vk_server *s, const vk_user *user, const vk_resource *res, const char *ns,
                      const json_t *in, bool dry_run, vk_create_cb cb, void *ud)
{
    json_t *adm = namespace_admission(s, res, ns, in);
    if (adm) {
        fail(cb, ud, VK_ENOTFOUND, adm);
        return;
    }
    json_t *obj = json_deep_copy(in);
    json_t *meta = json_object_get(obj, "metadata");
    if (!json_is_object(meta)) {
        meta = json_object();
        json_object_set_new(obj, "metadata", meta);
    }
    /* System fields the client may not set. */
    json_object_del(meta, "uid");
    json_object_del(meta, "creationTimestamp");
    json_object_del(meta, "deletionTimestamp");
    json_object_del(meta, "deletionGracePeriodSeconds");
    json_object_del(meta, "selfLink");
    json_t *rvj = json_object_get(meta, "resourceVersion");
    if (rvj && (!json_is_string(rvj) || *json_string_value(rvj))) {
        json_decref(obj);
        fail(cb, ud, VK_EINVALID,
             vk_status_new(500, "InternalError",
                           "Internal error occurred: resourceVersion should not be set on "
                           "objects to be created",
                           json_pack("{s:[{s:s}]}", "causes", "message",
                                     "resourceVersion should not be set on objects to be "
                                     "created")));
        return;
    }
    if (res->flags & VK_NAMESPACED)
        json_object_set_new(meta, "namespace", json_string(ns ? ns : ""));
    else
        json_object_del(meta, "namespace");
    /* generateName: prefix cut to 58, plus 5 characters (kube's names.SimpleNameGenerator). */
    const char *gen = json_string_value(json_object_get(meta, "generateName"));
    const char *name = json_string_value(json_object_get(meta, "name"));
    if ((!name || !*name) && gen && *gen) {
        static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
        unsigned char rnd[5];
        vk_rand_bytes(rnd, sizeof rnd);
        char nm[64];
        int pl = (int)strlen(gen) > 58 ? 58 : (int)strlen(gen);
        snprintf(nm, sizeof nm, "%.*s", pl, gen);
        for (int i = 0; i < 5; i++)
            nm[pl + i] = alphabet[rnd[i] % 27];
        nm[pl + 5] = 0;
        json_object_set_new(meta, "name", json_string(nm));
    }
    /* As kube's store does first of all: uid and creationTimestamp (a strategy may use
     * them: a Job's selector is its uid). */
    char uid[37], ts[21];
    vk_uuid4(uid);
    vk_time_format(time(NULL), ts);
    json_object_set_new(meta, "uid", json_string(uid));
    json_object_set_new(meta, "creationTimestamp", json_string(ts));
    /* kube's strategies: a kind with a status subresource starts with an empty status
     * (nodes keep theirs); the kinds that count generations start at 1. */
    if (vk_subresource_find(res, "status") && !(res->flags & VK_STATUS_ON_CREATE))
        json_object_set_new(obj, "status", json_object());
    if (res->flags & VK_GENERATION)
        json_object_set_new(meta, "generation", json_integer(1));
    vk_ctx ctx = vk_resource_ctx(s, res);
    ctx.user = user;
    if (res->strategy && res->strategy->defaults)
        res->strategy->defaults(obj);
    if (res->strategy && res->strategy->prepare_create)
        res->strategy->prepare_create(&ctx, obj);
    /* kube reads what it stored back through its defaulting decoder: the stored form is
     * defaulted after the strategy's changes too (a Job takes its generated labels). */
    if (res->strategy && res->strategy->defaults && res->strategy->prepare_create)
        res->strategy->defaults(obj);

    name = json_string_value(json_object_get(meta, "name"));
    vk_errlist errs = {0};
    if (!name || !*name) {
        vk_err_required(&errs, "metadata.name", "name or generateName is required");
    } else {
        const char *why = vk_name_invalid(res->name_rule, name);
        if (why)
            vk_err_invalid(&errs, "metadata.name", json_object_get(meta, "name"), why);
    }
    if (res->strategy && res->strategy->validate_create)
        res->strategy->validate_create(&ctx, obj, &errs);
    json_t *refused = !errs.causes && user && res->strategy && res->strategy->admit
                          ? res->strategy->admit(&ctx, obj)
                          : NULL;
    if (refused) {
        json_decref(obj);
        fail(cb, ud, VK_EINVALID, refused);
        return;
    }
    bool claimed = false;
    if (!errs.causes && res->strategy && res->strategy->claim && !dry_run) {
        res->strategy->claim(&ctx, obj, &errs);
        claimed = !errs.causes;
    }
    if (errs.causes) {
        json_t *st = vk_reg_invalid(res, name ? name : "", &errs);
        json_decref(errs.causes);
        json_decref(obj);
        fail(cb, ud, VK_EINVALID, st);
        return;
    }
    json_t *canon = vk_reg_canonical(res, obj);
    vk_buf val = {0};
    size_t rv_off = 0;
    char key[VK_KEY_MAX];
    int klen = vk_reg_key(res, ns, name, key);
    int rc = klen < 0 ? klen : vk_store_encode_json(canon, &val, &rv_off);
    json_decref(canon);
    if (!rc && dry_run) {
        vk_quota_charge ch;
        json_t *over = vk_quota_admit(s, res, ns, obj, NULL, true, &ch);
        if (over)
            fail(cb, ud, VK_EINVALID, over);
        else
            cb(ud, 0, val.data, val.len, NULL);
        vk_buf_free(&val);
        json_decref(obj);
        return;
    }
    create_ctx *c = rc ? NULL : calloc(1, sizeof *c);
    if (!rc && !c)
        rc = -ENOMEM;
    if (rc) {
        vk_buf_free(&val);
        if (claimed)
            release(s, res, obj);
        fail(cb, ud, rc, vk_reg_status(res, rc, name));
        json_decref(obj);
        return;
    }
    *c = (create_ctx){.cb = cb,
                      .ud = ud,
                      .res = res,
                      .s = s,
                      .claimed = claimed ? json_incref(obj) : NULL,
                      .obj = obj,
                      .klen = klen,
                      .val = val,
                      .rv_off = rv_off};
    snprintf(c->name, sizeof c->name, "%s", name);
    snprintf(c->ns, sizeof c->ns, "%s", ns ? ns : "");
    memcpy(c->key, key, (size_t)klen);
    create_submit(c);
}

json_t *vk_registry_get(vk_server *s, const vk_resource *res, const char *ns, const char *name)
{
    if (!res || !name || !*name)
        return NULL;
    char key[VK_KEY_MAX];
    int klen = vk_key_build(key, sizeof key, vk_resource_id(res),
                            (res->flags & VK_NAMESPACED) && ns ? ns : "", name);
    vk_buf val = {0};
    json_t *o = NULL;
    if (klen > 0 && !vk_store_get(s->store, key, (size_t)klen, &val, NULL))
        o = json_loadb(val.data, val.len, 0, NULL);
    vk_buf_free(&val);
    return o;
}

void vk_registry_create(vk_server *s, const vk_resource *res, const char *ns, const json_t *in,
                        bool dry_run, vk_create_cb cb, void *ud)
{
    create_as(s, NULL, res, ns, in, dry_run, cb, ud);
}

typedef struct http_create {
    vk_req *r;
    const vk_resource *res;
    int fmt;
    bool done;
} http_create;

static void http_create_abort(vk_req *r, void *data)
{
    http_create *h = data;
    h->r = NULL;
}

static void http_create_done(void *ud, int err, const char *json, size_t len, json_t *status)
{
    http_create *h = ud;
    if (h->r) {
        h->r->on_abort = NULL;
        if (err)
            vk_send_status(h->r, json_incref(status));
        else
            vk_reg_reply(h->r, 201, h->res, json, len, h->fmt);
    }
    free(h);
}

json_t *vk_reg_parse_json(vk_req *r, const char *data, size_t len, json_t *dups)
{
    json_error_t e;
    json_t *obj = json_loadb(data ? data : "", len, JSON_REJECT_DUPLICATES, &e);
    if (obj)
        return obj;
    /* Duplicate keys are a field-validation matter (the last one wins, as in Go). */
    json_error_t e2;
    obj = json_loadb(data ? data : "", len, 0, &e2);
    const char *q = strstr(e.text, "duplicate object key near '");
    if (obj && q && dups) {
        const char *k = q + strlen("duplicate object key near '");
        size_t kl = strcspn(k, "'");
        if (kl >= 2 && k[0] == '"')
            json_array_append_new(dups, json_stringn(k + 1, kl - 2));
        return obj;
    }
    json_decref(obj);
    vk_send_error(r, 400, "BadRequest", "the body of the request is not valid JSON: %s", e.text);
    return NULL;
}

json_t *vk_reg_decode_body(vk_server *s, vk_req *r, const vk_gvk *want, json_t *dups)
{
    const char *ct = vk_req_header(r, "content-type");
    size_t ctl = ct ? strcspn(ct, ";") : 0;
    while (ctl && ct[ctl - 1] == ' ')
        ctl--;
    bool pb = ctl == strlen(VK_MEDIA_PROTOBUF) && !strncasecmp(ct, VK_MEDIA_PROTOBUF, ctl);
    bool yaml = ctl == strlen(VK_MEDIA_YAML) && !strncasecmp(ct, VK_MEDIA_YAML, ctl);
    if (ct && ctl && !pb && !yaml && !(ctl == 16 && !strncasecmp(ct, "application/json", 16))) {
        vk_send_error(r, 415, "UnsupportedMediaType",
                      "the body of the request was in an unknown format - accepted media types "
                      "include: " VK_ACCEPTED_MEDIA_TYPES);
        return NULL;
    }
    if (r->body_too_large) {
        vk_send_error(r, 413, "RequestEntityTooLarge", "Request entity too large: limit is %zu",
                      s->limits.max_body);
        return NULL;
    }
    json_t *obj = NULL;
    if (pb) {
        /* Only the expected kind is decoded: an envelope naming any other type (some are
         * recursive, e.g. JSONSchemaProps) never reaches the decoder. */
        char *av = NULL, *kind = NULL;
        const uint8_t *raw;
        size_t rn;
        int rc = vk_pb_envelope_decode((const uint8_t *)(r->body.data ? r->body.data : ""),
                                       r->body.len, &av, &kind, &raw, &rn);
        char want_av[160];
        if (*want->group)
            snprintf(want_av, sizeof want_av, "%s/%s", want->group, want->version);
        else
            snprintf(want_av, sizeof want_av, "%s", want->version);
        if (!rc && ((*kind && strcmp(kind, want->kind)) ||
                    (*av && strcmp(av, want_av) && !want->any_group))) {
            vk_send_error(r, 400, "BadRequest",
                          "the object provided is unrecognized (must be of type %s): %s/%s",
                          want->kind, av, kind);
            free(av);
            free(kind);
            return NULL;
        }
        if (!rc)
            rc = vk_pb_to_json(want->group, want->version, want->kind, raw, rn, &obj);
        free(av);
        free(kind);
        if (rc) {
            vk_send_error(r, 400, "BadRequest",
                          "provided data does not appear to be a protobuf message, or is "
                          "malformed");
            return NULL;
        }
    } else if (yaml) {
        char err[256];
        obj = vk_yaml_to_json(r->body.data, r->body.len, err, sizeof err);
        if (!obj) {
            vk_send_error(r, 400, "BadRequest", "%s", err);
            return NULL;
        }
    } else {
        obj = vk_reg_parse_json(r, r->body.data, r->body.len, dups);
        if (!obj)
            return NULL;
    }
    if (!json_is_object(obj)) {
        json_decref(obj);
        vk_send_error(r, 400, "BadRequest", "the body of the request is not a JSON object");
        return NULL;
    }
    return obj;
}

/* A review is validated and answered with its status, 201 as kube does; nothing is
 * stored. Takes obj. */
static void answer_review(vk_server *s, vk_req *r, const vk_resource *res, json_t *obj,
                          const vk_accept *acc)
{
    vk_ctx ctx = vk_resource_ctx(s, res);
    vk_errlist errs = {0};
    res->review(&ctx, r, obj, &errs);
    if (errs.causes) {
        vk_send_status(r, vk_reg_invalid(res, "", &errs));
        json_decref(errs.causes);
        json_decref(obj);
        return;
    }
    json_t *out = vk_reg_canonical(res, obj);
    json_object_del(json_object_get(out, "metadata"), "resourceVersion");
    char *json = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (json)
        vk_reg_reply(r, 201, res, json, strlen(json), acc->format);
    else
        vk_send_error(r, 500, "InternalError", "out of memory");
    free(json);
    json_decref(out);
    json_decref(obj);
}

static void do_create(vk_server *s, vk_req *r, const vk_resource *res, const vk_reqinfo *ri,
                      const vk_accept *acc)
{
    json_t *dups = json_array();
    vk_gvk gvk = {res->group, res->version, res->kind, false};
    json_t *obj = vk_reg_decode_body(s, r, &gvk, dups);
    bool ok = obj && vk_reg_field_check(r, res, obj, dups);
    json_decref(dups);
    if (!ok) {
        json_decref(obj);
        return;
    }
    const char *kind = json_string_value(json_object_get(obj, "kind"));
    const char *av = json_string_value(json_object_get(obj, "apiVersion"));
    char buf[128];
    const char *want = vk_reg_api_version(res, buf, sizeof buf);
    if ((kind && *kind && strcmp(kind, res->kind)) || (av && *av && strcmp(av, want))) {
        vk_send_error(r, 400, "BadRequest",
                      "the object provided is unrecognized (must be of type %s): %s/%s", res->kind,
                      av ? av : "", kind ? kind : "");
        json_decref(obj);
        return;
    }
    const char *ns =
        json_string_value(json_object_get(json_object_get(obj, "metadata"), "namespace"));
    if ((res->flags & VK_NAMESPACED) && ns && *ns && strcmp(ns, ri->namespace_)) {
        vk_send_error(r, 400, "BadRequest",
                      "the namespace of the provided object does not match the namespace sent "
                      "on the request");
        json_decref(obj);
        return;
    }
    if (res->review) {
        answer_review(s, r, res, obj, acc);
        return;
    }
    const char *dry = vk_req_query(r, "dryRun");
    http_create *h = calloc(1, sizeof *h);
    if (!h) {
        json_decref(obj);
        vk_send_error(r, 500, "InternalError", "out of memory");
        return;
    }
    h->r = r;
    h->res = res;
    h->fmt = acc->format;
    r->on_abort = http_create_abort;
    r->abort_data = h;
    create_as(s, &r->user, res, ri->namespace_, obj, dry && !strcmp(dry, "All"), http_create_done,
              h);
    json_decref(obj);
}

typedef struct sub_create {
    vk_req *r;
    int fmt;
} sub_create;

static void sub_create_abort(vk_req *r, void *data)
{
    ((sub_create *)data)->r = NULL;
}

static void sub_created(void *ud, int err, json_t *reply)
{
    sub_create *h = ud;
    if (h->r) {
        h->r->on_abort = NULL;
        if (err)
            vk_send_status(h->r, json_incref(reply));
        else
            vk_send_object(h->r, 201, reply, h->fmt);
    }
    json_decref(reply);
    free(h);
}

/* A create through an action subresource (pods/eviction): the body in the
 * subresource's kind, then its create hook. */
static void do_sub_create(vk_server *s, vk_req *r, const vk_resource *res,
                          const vk_subresource *sub, const vk_reqinfo *ri, const vk_accept *acc)
{
    json_t *dups = json_array();
    vk_gvk gvk = {sub->group, sub->version, sub->kind, false};
    json_t *body = vk_reg_decode_body(s, r, &gvk, dups);
    json_decref(dups);
    if (!body)
        return;
    const char *dry = vk_req_query(r, "dryRun");
    sub_create *h = calloc(1, sizeof *h);
    if (!h) {
        json_decref(body);
        vk_send_error(r, 500, "InternalError", "out of memory");
        return;
    }
    *h = (sub_create){r, acc->format};
    r->on_abort = sub_create_abort;
    r->abort_data = h;
    vk_ctx ctx = vk_resource_ctx(s, res);
    ctx.user = &r->user;
    sub->create(&ctx, ri->namespace_, ri->name, body, dry && !strcmp(dry, "All"), sub_created, h);
}

void vk_registry_handle(vk_server *s, vk_req *r, const vk_reqinfo *ri)
{
    const vk_resource *res = vk_resource_find(ri->group, ri->version, ri->resource);
    bool namespaced = res && (res->flags & VK_NAMESPACED);
    /* /namespaces/{name} names a Namespace (request info puts the name in namespace_
     * too); any other resource under /namespaces/{ns}/ is namespaced. */
    bool ns_path = *ri->namespace_ && ri->nparts && strcmp(ri->parts[0], "namespaces");
    const vk_subresource *sub =
        res && *ri->subresource ? vk_subresource_find(res, ri->subresource) : NULL;
    if (!res || (*ri->subresource && !sub) || (!namespaced && ns_path) ||
        (namespaced && *ri->name && !*ri->namespace_)) {
        vk_send_not_found(r);
        return;
    }
    bool served = false;
    const char *const *verbs = sub ? sub->verbs : res->verbs;
    size_t nverbs = sub ? sizeof sub->verbs / sizeof *sub->verbs : 10;
    for (size_t i = 0; i < nverbs && verbs[i]; i++)
        served |= !strcmp(verbs[i], ri->verb);
    if (!served) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s is not supported on resources of kind \"%s\"", ri->verb,
                 res->plural);
        vk_send_status(r, vk_status_new(405, "MethodNotAllowed", msg,
                                        vk_status_details("", res->group, res->plural)));
        return;
    }
    bool watch = !strcmp(ri->verb, "watch");
    bool list = watch || !strcmp(ri->verb, "list");
    vk_accept acc;
    if (vk_negotiate(vk_req_header(r, "accept"), true, list, &acc)) {
        vk_send_status(
            r, vk_status_new(
                   406, "NotAcceptable",
                   "only the following media types are accepted: " VK_ACCEPTED_MEDIA_TYPES, NULL));
        return;
    }
    if (acc.format == VK_FMT_YAML) {
        /* YAML has no stream form: a watch cannot be YAML. Other replies are made as JSON
         * and written as YAML at the end. */
        if (watch) {
            vk_send_status(r, vk_status_new(406, "NotAcceptable",
                                            "only the following media types are accepted: "
                                            "application/json, application/vnd.kubernetes.protobuf",
                                            NULL));
            return;
        }
        r->reply_yaml = true;
        acc.format = VK_FMT_JSON;
    }
    if (!strcmp(ri->verb, "get"))
        do_get(s, r, res, ri, &acc);
    else if (watch)
        vk_reg_watch(s, r, res, ri, &acc);
    else if (list)
        do_list(s, r, res, ri, &acc);
    else if (!strcmp(ri->verb, "create") && !*ri->name)
        do_create(s, r, res, ri, &acc);
    else if (!strcmp(ri->verb, "create") && sub && sub->create)
        do_sub_create(s, r, res, sub, ri, &acc);
    else if ((!strcmp(ri->verb, "update") || !strcmp(ri->verb, "patch") ||
              !strcmp(ri->verb, "delete")) &&
             *ri->name)
        vk_reg_mutate(s, r, res, ri, &acc);
    else if (!strcmp(ri->verb, "deletecollection"))
        vk_reg_delete_collection(s, r, res, ri, &acc);
    else
        vk_send_error(r, 405, "MethodNotAllowed",
                      "%s is not supported on resources of kind \"%s\" yet", ri->verb, res->plural);
}
