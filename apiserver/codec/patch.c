#include "apiserver/codec/patch.h"

#include "apiserver/codec/patchmeta.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"

/* ---- RFC 6901 pointers ---- */

/* Splits the last token off ptr: *parent gets the container, *tok the unescaped last
 * token (malloc'd). 0, or VK_EINVALID / VK_ECONFLICT. */
static int resolve_parent(json_t *doc, const char *ptr, json_t **parent, char **tok, char *err,
                          size_t errlen)
{
    if (*ptr != '/') {
        snprintf(err, errlen, "invalid JSON pointer: %s", ptr);
        return VK_EINVALID;
    }
    json_t *cur = doc;
    const char *p = ptr + 1;
    for (;;) {
        size_t l = strcspn(p, "/");
        char *t = malloc(l + 1);
        if (!t)
            return VK_EINVALID;
        size_t o = 0;
        for (size_t i = 0; i < l; i++) {
            if (p[i] == '~' && i + 1 < l && (p[i + 1] == '0' || p[i + 1] == '1')) {
                t[o++] = p[i + 1] == '0' ? '~' : '/';
                i++;
            } else {
                t[o++] = p[i];
            }
        }
        t[o] = 0;
        if (!p[l]) {
            *parent = cur;
            *tok = t;
            return 0;
        }
        json_t *next = NULL;
        if (json_is_object(cur)) {
            next = json_object_get(cur, t);
        } else if (json_is_array(cur)) {
            char *end;
            unsigned long idx = strtoul(t, &end, 10);
            if (*t && !*end && isdigit((unsigned char)*t))
                next = json_array_get(cur, idx);
        }
        free(t);
        if (!next) {
            snprintf(err, errlen, "jsonpatch: path not found: %s", ptr);
            return VK_ECONFLICT;
        }
        cur = next;
        p += l + 1;
    }
}

/* An array index token: digits without a leading zero, or "-" (the end) for adds. */
static int array_index(json_t *arr, const char *tok, bool adding, size_t *idx)
{
    size_t n = json_array_size(arr);
    if (adding && !strcmp(tok, "-")) {
        *idx = n;
        return 0;
    }
    if (!*tok || !isdigit((unsigned char)*tok) || (tok[0] == '0' && tok[1]))
        return -1;
    char *end;
    unsigned long i = strtoul(tok, &end, 10);
    if (*end || i > n || (!adding && i == n))
        return -1;
    *idx = i;
    return 0;
}

static json_t *get_ptr(json_t *doc, const char *ptr, char *err, size_t errlen)
{
    if (!*ptr)
        return doc;
    json_t *parent;
    char *tok;
    if (resolve_parent(doc, ptr, &parent, &tok, err, errlen))
        return NULL;
    json_t *v = NULL;
    size_t i;
    if (json_is_object(parent))
        v = json_object_get(parent, tok);
    else if (json_is_array(parent) && !array_index(parent, tok, false, &i))
        v = json_array_get(parent, i);
    free(tok);
    if (!v)
        snprintf(err, errlen, "jsonpatch: path not found: %s", ptr);
    return v;
}

/* Removes and returns (new reference) the value at ptr. */
static json_t *take(json_t *doc, const char *ptr, char *err, size_t errlen)
{
    json_t *parent;
    char *tok;
    if (!*ptr || resolve_parent(doc, ptr, &parent, &tok, err, errlen)) {
        if (!*ptr)
            snprintf(err, errlen, "jsonpatch: cannot remove the document root");
        return NULL;
    }
    json_t *v = NULL;
    size_t i;
    if (json_is_object(parent) && (v = json_object_get(parent, tok))) {
        json_incref(v);
        json_object_del(parent, tok);
    } else if (json_is_array(parent) && !array_index(parent, tok, false, &i)) {
        v = json_incref(json_array_get(parent, i));
        json_array_remove(parent, i);
    }
    free(tok);
    if (!v)
        snprintf(err, errlen, "jsonpatch: path not found: %s", ptr);
    return v;
}

/* Adds value (stolen) at ptr, replacing (replace) or inserting. */
static int put(json_t *doc, const char *ptr, json_t *value, bool replace, char *err, size_t errlen)
{
    json_t *parent;
    char *tok;
    int rc = resolve_parent(doc, ptr, &parent, &tok, err, errlen);
    if (rc) {
        json_decref(value);
        return rc;
    }
    size_t i;
    rc = VK_ECONFLICT;
    if (json_is_object(parent)) {
        if (!replace || json_object_get(parent, tok))
            rc = json_object_set_new(parent, tok, value) ? VK_ECONFLICT : 0;
        else
            json_decref(value);
    } else if (json_is_array(parent) && !array_index(parent, tok, !replace, &i)) {
        rc = (replace ? json_array_set_new(parent, i, value)
                      : json_array_insert_new(parent, i, value))
                 ? VK_ECONFLICT
                 : 0;
    } else {
        json_decref(value);
    }
    if (rc)
        snprintf(err, errlen, "jsonpatch %s operation does not apply: doc is missing path: %s",
                 replace ? "replace" : "add", ptr);
    free(tok);
    return rc;
}

int vk_json_patch(json_t *doc, const json_t *patch, char *err, size_t errlen)
{
    if (!json_is_array(patch)) {
        snprintf(err, errlen, "json: cannot unmarshal %s into Go value of type jsonpatch.Patch",
                 json_is_object(patch) ? "object" : "value");
        return VK_EINVALID;
    }
    size_t n;
    json_t *op;
    json_array_foreach(patch, n, op)
    {
        const char *o = json_string_value(json_object_get(op, "op"));
        const char *path = json_string_value(json_object_get(op, "path"));
        const char *from = json_string_value(json_object_get(op, "from"));
        json_t *value = json_object_get(op, "value");
        if (!o || !path) {
            snprintf(err, errlen, "Unexpected kind: %s", o ? o : "unknown");
            return VK_EINVALID;
        }
        int rc = 0;
        if (!strcmp(o, "add") || !strcmp(o, "replace")) {
            if (!value) {
                snprintf(err, errlen, "jsonpatch %s operation has no value", o);
                return VK_EINVALID;
            }
            rc = put(doc, path, json_deep_copy(value), o[0] == 'r', err, errlen);
        } else if (!strcmp(o, "remove")) {
            json_t *v = take(doc, path, err, errlen);
            rc = v ? 0 : VK_ECONFLICT;
            json_decref(v);
        } else if (!strcmp(o, "move") || !strcmp(o, "copy")) {
            if (!from) {
                snprintf(err, errlen, "jsonpatch %s operation has no from", o);
                return VK_EINVALID;
            }
            json_t *v = o[0] == 'm' ? take(doc, from, err, errlen)
                                    : json_deep_copy(get_ptr(doc, from, err, errlen));
            rc = v ? put(doc, path, v, false, err, errlen) : VK_ECONFLICT;
        } else if (!strcmp(o, "test")) {
            json_t *v = get_ptr(doc, path, err, errlen);
            if (!v || !json_equal(v, value)) {
                snprintf(err, errlen, "testing value %s failed: test failed", path);
                rc = VK_ECONFLICT;
            }
        } else {
            snprintf(err, errlen, "Unexpected kind: %s", o);
            return VK_EINVALID;
        }
        if (rc)
            return rc;
    }
    return 0;
}

json_t *vk_merge_patch(const json_t *doc, const json_t *patch)
{
    if (!json_is_object(patch))
        return json_deep_copy(patch);
    json_t *out = json_is_object(doc) ? json_deep_copy(doc) : json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)patch, k, v)
    {
        if (json_is_null(v))
            json_object_del(out, k);
        else
            json_object_set_new(out, k, vk_merge_patch(json_object_get(out, k), v));
    }
    return out;
}

/* ---- Strategic merge patch ----
 *
 * The semantics of kube's strategicpatch package (k8s.io/apimachinery) as the API server
 * applies it (StrategicMergeMapPatch with the versioned Go struct: parallel deletion lists
 * merged, unmatched nulls ignored), driven by the generated patch metadata instead of Go
 * struct tags. Values are shared between the patch and the result as Go shares them; both
 * are private deep copies. Errors carry kube's text and its status code: 400 for the
 * malformed-directive errors kube maps to BadRequest, 422 for lists of lists, 500 for the
 * rest (kube answers them as errors that are not a Status). */

enum { S_NONE, S_GENERIC, S_STRUCT, S_MAP, S_SLICE, S_PRIM };

/* A Go type as the patch code sees it. */
typedef struct sch {
    int kind;
    int def;          /* S_STRUCT; S_SLICE: the element's definition */
    const char *name; /* reflect.Kind's name ("struct", "map", "slice", "string") */
    const char *elem; /* S_SLICE: the element's kind name */
} sch;

typedef struct pmeta {
    const char *strategy, *merge_key;
} pmeta;

typedef struct smpctx {
    char *err;
    size_t errlen;
    int code;
} smpctx;

/* A list under construction; holds a reference to each item. */
typedef struct vec {
    json_t **v;
    size_t n, cap;
} vec;

static bool vec_push(vec *a, json_t *item)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 8;
        json_t **v = realloc(a->v, cap * sizeof *v);
        if (!v)
            return false;
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = json_incref(item);
    return true;
}

static void vec_free(vec *a)
{
    for (size_t i = 0; i < a->n; i++)
        json_decref(a->v[i]);
    free(a->v);
    *a = (vec){0};
}

static void vec_from(vec *a, const json_t *arr)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) vec_push(a, v);
}

int vk_pm_root(const char *group, const char *version, const char *kind)
{
    for (const vk_pm_kind *k = vk_pm_kinds; k->kind; k++)
        if (!strcmp(k->group, group) && !strcmp(k->version, version) && !strcmp(k->kind, kind))
            return k->def;
    return -1;
}

const vk_pm_field *vk_pm_field_of(int def, const char *name)
{
    if (def < 0 || (size_t)def >= vk_pm_ndefs)
        return NULL;
    const vk_pm_def *d = &vk_pm_defs[def];
    int lo = 0, hi = d->nfields - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2, c = strcmp(d->fields[mid].name, name);
        if (!c)
            return &d->fields[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return NULL;
}

static int object_meta_def(void)
{
    static int def = -2;
    if (def == -2) {
        def = -1;
        for (size_t i = 0; i < vk_pm_ndefs; i++)
            if (!strcmp(vk_pm_defs[i].name, "ObjectMeta")) {
                def = (int)i;
                break;
            }
    }
    return def;
}

static json_t *smp_fail(smpctx *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static json_t *smp_fail(smpctx *c, int code, const char *fmt, ...)
{
    if (!c->code) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err, c->errlen, fmt, ap);
        va_end(ap);
        c->code = code;
    }
    return NULL;
}

/* ---- Go's view of JSON values: types, ==, and %v ---- */

/* reflect.TypeOf of the decoded value; NULL (absent) is Go's nil. */
static const char *go_type(const json_t *v)
{
    switch (v ? json_typeof(v) : JSON_NULL) {
    case JSON_OBJECT:
        return "map[string]interface {}";
    case JSON_ARRAY:
        return "[]interface {}";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "int64";
    case JSON_REAL:
        return "float64";
    case JSON_TRUE:
    case JSON_FALSE:
        return "bool";
    default:
        return "%!s(<nil>)";
    }
}

static bool is_nil(const json_t *v)
{
    return !v || json_is_null(v);
}

static bool same_type(const json_t *a, const json_t *b)
{
    return !strcmp(go_type(a), go_type(b));
}

/* Go's == on interface values (composites compare unequal instead of panicking). */
static bool go_eq(const json_t *a, const json_t *b)
{
    if (is_nil(a) || is_nil(b))
        return is_nil(a) && is_nil(b);
    if (!same_type(a, b) || json_is_object(a) || json_is_array(a))
        return false;
    return json_equal((json_t *)a, (json_t *)b);
}

static void go_float(vk_buf *b, double d)
{
    char tmp[64];
    int p = 1;
    for (; p < 17; p++) {
        snprintf(tmp, sizeof tmp, "%.*e", p - 1, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    snprintf(tmp, sizeof tmp, "%.*e", p - 1, d);
    int exp = atoi(strchr(tmp, 'e') + 1);
    if (exp < -4 || exp >= 6) /* %v: shortest digits, %e outside [1e-4, 1e6) */
        vk_buf_printf(b, "%s", tmp);
    else
        vk_buf_printf(b, "%.*f", p - 1 - exp > 0 ? p - 1 - exp : 0, d);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* fmt's %v of a decoded value. */
static void go_fmt(vk_buf *b, const json_t *v)
{
    size_t i, n;
    json_t *x;
    switch (v ? json_typeof(v) : JSON_NULL) {
    case JSON_OBJECT: {
        n = json_object_size(v);
        const char **keys = malloc((n ? n : 1) * sizeof *keys);
        const char *k;
        i = 0;
        json_object_foreach((json_t *)v, k, x) if (keys) keys[i++] = k;
        if (keys)
            qsort(keys, n, sizeof *keys, cmp_str);
        vk_buf_printf(b, "map[");
        for (i = 0; keys && i < n; i++) {
            vk_buf_printf(b, "%s%s:", i ? " " : "", keys[i]);
            go_fmt(b, json_object_get(v, keys[i]));
        }
        vk_buf_printf(b, "]");
        free(keys);
        break;
    }
    case JSON_ARRAY:
        vk_buf_printf(b, "[");
        json_array_foreach(v, i, x)
        {
            if (i)
                vk_buf_printf(b, " ");
            go_fmt(b, x);
        }
        vk_buf_printf(b, "]");
        break;
    case JSON_STRING:
        vk_buf_printf(b, "%s", json_string_value(v));
        break;
    case JSON_INTEGER:
        vk_buf_printf(b, "%lld", (long long)json_integer_value(v));
        break;
    case JSON_REAL:
        go_float(b, json_real_value(v));
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        vk_buf_printf(b, "%s", json_is_true(v) ? "true" : "false");
        break;
    default:
        vk_buf_printf(b, "<nil>");
    }
}

/* fmt's %s of a decoded value (a directive's value in an error). */
static void go_fmt_s(vk_buf *b, const json_t *v)
{
    if (json_is_string(v) || json_is_object(v) || json_is_array(v)) {
        go_fmt(b, v);
    } else if (is_nil(v)) {
        vk_buf_printf(b, "%%!s(<nil>)");
    } else {
        vk_buf_printf(b, "%%!s(%s=", go_type(v));
        go_fmt(b, v);
        vk_buf_printf(b, ")");
    }
}

/* A message with one or two values formatted as %v. */
static json_t *fail_v(smpctx *c, const char *before, const json_t *v1, const char *mid,
                      const json_t *v2, const char *after)
{
    vk_buf b = {0};
    vk_buf_printf(&b, "%s", before);
    go_fmt(&b, v1);
    if (mid) {
        vk_buf_printf(&b, "%s", mid);
        go_fmt(&b, v2);
    }
    vk_buf_printf(&b, "%s", after ? after : "");
    smp_fail(c, 500, "%s", b.data ? b.data : "");
    vk_buf_free(&b);
    return NULL;
}

static json_t *bad_arg(smpctx *c, const char *expected, const json_t *actual)
{
    return smp_fail(c, 500, "expected a %s, but received a %s", expected, go_type(actual));
}

static json_t *no_merge_key(smpctx *c, const json_t *m, const char *key)
{
    vk_buf b = {0};
    vk_buf_printf(&b, " does not contain declared merge key: %s", key);
    fail_v(c, "map: ", m, NULL, NULL, b.data);
    vk_buf_free(&b);
    return NULL;
}

static json_t *bad_patch_type(smpctx *c, const json_t *t, const json_t *m)
{
    vk_buf b = {0};
    vk_buf_printf(&b, "unknown patch type: ");
    go_fmt_s(&b, t);
    vk_buf_printf(&b, " in map: ");
    go_fmt(&b, m);
    smp_fail(c, 500, "%s", b.data);
    vk_buf_free(&b);
    return NULL;
}

#define ERR_PRIMITIVE_LIST "invalid patch format of primitive list"
#define ERR_RETAIN_KEYS    "invalid patch format of retainKeys"
#define ERR_SET_ORDER      "invalid patch format of setElementOrder list"
#define ERR_LIST_OF_LISTS  "lists of lists are not supported"
#define DIRECTIVE          "$patch"
#define RETAIN_KEYS        "$retainKeys"
#define DELETE_PREFIX      "$deleteFromPrimitiveList"
#define ORDER_PREFIX       "$setElementOrder"

static bool has_prefix(const char *s, const char *p)
{
    return !strncmp(s, p, strlen(p));
}

static bool str_is(const json_t *v, const char *s)
{
    return json_is_string(v) && !strcmp(json_string_value(v), s);
}

/* ---- Schema look-ups (LookupPatchMetadataForStruct / ForSlice) ---- */

static int lookup_struct(smpctx *c, const sch *s, const char *key, sch *sub, pmeta *m)
{
    *sub = (sch){S_NONE, -1, "interface", NULL};
    *m = (pmeta){0};
    if (s->kind == S_NONE)
        return 0;
    if (s->kind == S_GENERIC) {
        if (!strcmp(key, "metadata") && object_meta_def() >= 0)
            *sub = (sch){S_STRUCT, object_meta_def(), "struct", NULL};
        return 0;
    }
    if (s->kind != S_STRUCT) {
        smp_fail(c, 500, "merging an object in json but data type is not struct, instead is: %s",
                 s->name);
        return -1;
    }
    if (s->def < 0)
        return 0;
    const vk_pm_field *f = vk_pm_field_of(s->def, key);
    if (!f) {
        if (vk_pm_defs[s->def].opaque) {
            smp_fail(c, 500, "unable to find api field in struct %s for the json field \"%s\"",
                     vk_pm_defs[s->def].name, key);
            return -1;
        }
        return 0; /* a primitive, or a field kube does not know: no schema below */
    }
    m->strategy = f->strategy;
    m->merge_key = f->merge_key;
    switch (f->type) {
    case VK_PM_STRUCT:
        *sub = (sch){S_STRUCT, f->def, "struct", NULL};
        break;
    case VK_PM_MAP:
        *sub = (sch){S_MAP, -1, "map", NULL};
        break;
    default:
        *sub = (sch){S_SLICE, f->def, "slice", f->elem};
    }
    return 0;
}

static int lookup_slice(smpctx *c, const sch *s, const char *key, sch *sub, pmeta *m)
{
    if (lookup_struct(c, s, key, sub, m))
        return -1;
    if (sub->kind == S_NONE)
        return 0;
    if (sub->kind != S_SLICE) {
        smp_fail(c, 500, "expected slice or array type, but got: %s",
                 s->kind == S_GENERIC ? "struct" : s->name);
        return -1;
    }
    const char *e = sub->elem ? sub->elem : "interface";
    if (!strcmp(e, "slice")) {
        smp_fail(c, 500, "unexpected slice of slice");
        return -1;
    }
    if (!strcmp(e, "struct"))
        *sub = sub->def >= 0 ? (sch){S_STRUCT, sub->def, "struct", NULL}
                             : (sch){S_NONE, -1, "struct", NULL};
    else if (!strcmp(e, "map"))
        *sub = (sch){S_MAP, -1, "map", NULL};
    else if (!strcmp(e, "interface"))
        *sub = (sch){S_NONE, -1, "interface", NULL};
    else
        *sub = (sch){S_PRIM, -1, e, NULL};
    return 0;
}

/* extractRetainKeysPatchStrategy: the strategy other than retainKeys ("" for none). */
static int other_strategy(smpctx *c, const char *strategies, char *out, size_t outlen)
{
    *out = 0;
    if (!strategies)
        return 0;
    const char *comma = strchr(strategies, ',');
    if (!comma) {
        if (strcmp(strategies, "retainKeys"))
            snprintf(out, outlen, "%s", strategies);
        return 0;
    }
    if (strchr(comma + 1, ',') ||
        (strncmp(strategies, "retainKeys,", 11) && strcmp(comma + 1, "retainKeys"))) {
        smp_fail(c, 500, "unexpected patch strategy: [%s]", strategies);
        return -1;
    }
    if (!strncmp(strategies, "retainKeys,", 11))
        snprintf(out, outlen, "%s", comma + 1);
    else
        snprintf(out, outlen, "%.*s", (int)(comma - strategies), strategies);
    return 0;
}

/* ---- Directive removal (removeDirectives, discardNullValuesFromPatch) ---- */

/* New reference to v without the maps that carry $patch, or NULL when v itself is one. */
static json_t *remove_directives(json_t *v)
{
    if (json_is_object(v)) {
        if (json_object_get(v, DIRECTIVE))
            return NULL;
        const char *k;
        json_t *x;
        void *tmp;
        json_object_foreach_safe(v, tmp, k, x)
        {
            json_t *kept = remove_directives(x);
            if (kept)
                json_object_set_new(v, k, kept);
            else
                json_object_del(v, k);
        }
        return json_incref(v);
    }
    if (json_is_array(v)) {
        json_t *res = json_array();
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x)
        {
            json_t *kept = remove_directives(x);
            if (kept)
                json_array_append_new(res, kept);
        }
        return res;
    }
    return json_incref(v);
}

static void discard_nulls(json_t *v)
{
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        void *tmp;
        json_object_foreach_safe(v, tmp, k, x)
        {
            if (json_is_null(x))
                json_object_del(v, k);
            else
                discard_nulls(x);
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) discard_nulls(x);
    }
}

/* ---- Ordering (normalizeElementOrder and Go's sort.SliceStable) ---- */

/* The position of item in l (by merge key for maps, by value otherwise), or -1. */
static long find_index(const vec *l, const json_t *item, const char *merge_key, bool maps)
{
    const json_t *want =
        maps ? (json_is_object(item) ? json_object_get(item, merge_key) : NULL) : item;
    for (size_t i = 0; i < l->n; i++) {
        const json_t *have =
            maps ? (json_is_object(l->v[i]) ? json_object_get(l->v[i], merge_key) : NULL) : l->v[i];
        if (go_eq(want, have))
            return (long)i;
    }
    return -1;
}

typedef struct order_ctx {
    json_t **a;
    const vec *order;
    const char *merge_key;
    bool maps;
} order_ctx;

/* normalizeSliceOrder's comparison: by position in order when both are found, else
 * "less" (kube's comparison, whose results the stable sort below reproduces). */
static bool order_less(const order_ctx *o, size_t i, size_t j)
{
    long ii = find_index(o->order, o->a[i], o->merge_key, o->maps);
    if (ii < 0)
        return true;
    long ij = find_index(o->order, o->a[j], o->merge_key, o->maps);
    if (ij < 0)
        return true;
    return ii < ij;
}

static void swap_items(json_t **a, size_t i, size_t j)
{
    json_t *t = a[i];
    a[i] = a[j];
    a[j] = t;
}

/* Go's stable sort: insertion sort of blocks of 20, then SymMerge (Kim and Kutzner),
 * with the same comparisons in the same order. */
static void ins_sort(const order_ctx *o, size_t a, size_t b)
{
    for (size_t i = a + 1; i < b; i++)
        for (size_t j = i; j > a && order_less(o, j, j - 1); j--)
            swap_items(o->a, j, j - 1);
}

static void swap_range(const order_ctx *o, size_t a, size_t b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        swap_items(o->a, a + i, b + i);
}

static void rotate(const order_ctx *o, size_t a, size_t m, size_t b)
{
    size_t i = m - a, j = b - m;
    while (i != j) {
        if (i > j) {
            swap_range(o, m - i, m, j);
            i -= j;
        } else {
            swap_range(o, m - i, m + j - i, i);
            j -= i;
        }
    }
    swap_range(o, m - i, m, i);
}

static void sym_merge(const order_ctx *o, size_t a, size_t m, size_t b)
{
    if (m - a == 1) {
        size_t i = m, j = b;
        while (i < j) {
            size_t h = (i + j) / 2;
            if (order_less(o, h, a))
                i = h + 1;
            else
                j = h;
        }
        for (size_t k = a; k + 1 < i; k++)
            swap_items(o->a, k, k + 1);
        return;
    }
    if (b - m == 1) {
        size_t i = a, j = m;
        while (i < j) {
            size_t h = (i + j) / 2;
            if (!order_less(o, m, h))
                i = h + 1;
            else
                j = h;
        }
        for (size_t k = m; k > i; k--)
            swap_items(o->a, k, k - 1);
        return;
    }
    size_t mid = (a + b) / 2, n = mid + m, start, r;
    if (m > mid) {
        start = n - b;
        r = mid;
    } else {
        start = a;
        r = m;
    }
    size_t p = n - 1;
    while (start < r) {
        size_t cc = (start + r) / 2;
        if (!order_less(o, p - cc, cc))
            start = cc + 1;
        else
            r = cc;
    }
    size_t end = n - start;
    if (start < m && m < end)
        rotate(o, start, m, end);
    if (a < start && start < mid)
        sym_merge(o, a, start, mid);
    if (mid < end && end < b)
        sym_merge(o, mid, end, b);
}

static void stable_sort(const order_ctx *o, size_t n)
{
    size_t block = 20, a = 0, b = block;
    while (b <= n) {
        ins_sort(o, a, b);
        a = b;
        b += block;
    }
    ins_sort(o, a, n);
    while (block < n) {
        a = 0;
        b = 2 * block;
        while (b <= n) {
            sym_merge(o, a, a + block, b);
            a = b;
            b += 2 * block;
        }
        if (a + block < n)
            sym_merge(o, a, a + block, n);
        block *= 2;
    }
}

/* validateMergeKeyInLists: every item a map with the merge key. */
static int check_merge_keys(smpctx *c, const char *merge_key, const vec *l)
{
    for (size_t i = 0; i < l->n; i++) {
        if (!json_is_object(l->v[i])) {
            bad_arg(c, "map[string]interface {}", l->v[i]);
            return -1;
        }
        if (!json_object_get(l->v[i], merge_key)) {
            no_merge_key(c, l->v[i], merge_key);
            return -1;
        }
    }
    return 0;
}

/* normalizeSliceOrder: sorts l in place by order; $patch: delete items go last. */
static int sort_by(smpctx *c, vec *l, const vec *order, const char *merge_key, bool maps)
{
    if (maps) {
        if (check_merge_keys(c, merge_key, l) || check_merge_keys(c, merge_key, order))
            return -1;
        /* Keep the deletions aside, in their order. */
        size_t w = 0;
        vec del = {0};
        for (size_t i = 0; i < l->n; i++) {
            if (str_is(json_object_get(l->v[i], DIRECTIVE), "delete")) {
                vec_push(&del, l->v[i]);
                json_decref(l->v[i]);
            } else {
                l->v[w++] = l->v[i];
            }
        }
        l->n = w;
        order_ctx o = {l->v, order, merge_key, maps};
        stable_sort(&o, l->n);
        for (size_t i = 0; i < del.n; i++)
            vec_push(l, del.v[i]);
        vec_free(&del);
        return 0;
    }
    order_ctx o = {l->v, order, merge_key, maps};
    stable_sort(&o, l->n);
    return 0;
}

/* normalizeElementOrder: patch items sorted by patch_order, server-only items by
 * server_order, then interleaved by their places in the server's list. New reference. */
static json_t *normalize_order(smpctx *c, vec *patch, vec *server, const vec *patch_order,
                               const vec *server_order, const char *merge_key, bool maps)
{
    if (sort_by(c, patch, patch_order, merge_key, maps) ||
        sort_by(c, server, server_order, merge_key, maps))
        return NULL;
    json_t *out = json_array();
    size_t i = 0, j = 0, size = server->n + patch->n;
    for (size_t k = 0; k < size; k++) {
        if (i >= server->n && j < patch->n) {
            json_array_append(out, patch->v[j++]);
        } else if (j >= patch->n && i < server->n) {
            json_array_append(out, server->v[i++]);
        } else {
            long li = find_index(server_order, server->v[i], merge_key, maps);
            long ri = find_index(server_order, patch->v[j], merge_key, maps);
            if (li >= 0 && ri >= 0 && li < ri)
                json_array_append(out, server->v[i++]);
            else
                json_array_append(out, patch->v[j++]);
        }
    }
    return out;
}

/* findMapInSliceBasedOnKeyValue: the index of the map whose merge key equals value, -1
 * when none, -2 (with the error) when an item is not a map. */
static long find_map(smpctx *c, const vec *l, const char *key, const json_t *value)
{
    for (size_t i = 0; i < l->n; i++) {
        if (!json_is_object(l->v[i])) {
            smp_fail(c, 500, "value for key %zu is not a map", i);
            return -2;
        }
        json_t *v = json_object_get(l->v[i], key);
        if (v && go_eq(v, value))
            return (long)i;
    }
    return -1;
}

/* Splits merged into the items present in by and the others (partition*ByPresentInList). */
static int partition(smpctx *c, const vec *merged, const vec *by, const char *merge_key, vec *in,
                     vec *out)
{
    for (size_t i = 0; i < merged->n; i++) {
        json_t *v = merged->v[i];
        bool found;
        if (merge_key && *merge_key) {
            if (!json_is_object(v)) {
                bad_arg(c, "map[string]interface {}", v);
                return -1;
            }
            json_t *kv = json_object_get(v, merge_key);
            if (!kv) {
                no_merge_key(c, v, merge_key);
                return -1;
            }
            long at = find_map(c, by, merge_key, kv);
            if (at == -2)
                return -1;
            found = at >= 0;
        } else {
            found = find_index(by, v, NULL, false) >= 0;
        }
        vec_push(found ? in : out, v);
    }
    return 0;
}

/* sliceElementType: 0 with *maps set, or -1. */
static int element_type(smpctx *c, const vec *a, const vec *b, bool *maps)
{
    const json_t *first = NULL;
    const vec *both[2] = {a, b};
    for (int s = 0; s < 2; s++)
        for (size_t i = 0; i < both[s]->n; i++) {
            const json_t *v = both[s]->v[i];
            if (!first) {
                first = v;
                if (json_is_array(v)) {
                    smp_fail(c, 422, ERR_LIST_OF_LISTS);
                    return -1;
                }
            } else if (!same_type(first, v)) {
                vk_buf m = {0};
                vk_buf_printf(&m, "list element types are not identical: [");
                for (int t = 0; t < 2; t++) {
                    vk_buf_printf(&m, "%s[", t ? " " : "");
                    for (size_t k = 0; k < both[t]->n; k++) {
                        if (k)
                            vk_buf_printf(&m, " ");
                        go_fmt(&m, both[t]->v[k]);
                    }
                    vk_buf_printf(&m, "]");
                }
                vk_buf_printf(&m, "]");
                smp_fail(c, 500, "%s", m.data);
                vk_buf_free(&m);
                return -1;
            }
        }
    if (!first) {
        smp_fail(c, 500, "no elements in any of the given slices");
        return -1;
    }
    *maps = json_is_object(first);
    return 0;
}

static json_t *merge_map(smpctx *c, json_t *orig, json_t *patch, const sch *s);

/* mergeSlice: original and patch are lists; new reference or NULL. */
static json_t *merge_slice(smpctx *c, json_t *original, json_t *patch, const sch *s,
                           const char *merge_key, bool delete_list)
{
    vec orig = {0}, pat = {0}, merged = {0}, in = {0}, out = {0};
    json_t *res = NULL;
    vec_from(&orig, original);
    vec_from(&pat, patch);
    bool maps;
    if (!orig.n && !pat.n) {
        res = json_incref(original);
        goto done;
    }
    if (element_type(c, &orig, &pat, &maps))
        goto done;
    if (!maps) {
        if (delete_list) {
            /* deleteFromSlice */
            res = json_array();
            for (size_t i = 0; i < orig.n; i++)
                if (find_index(&pat, orig.v[i], NULL, false) < 0)
                    json_array_append(res, orig.v[i]);
            goto done;
        }
        /* deduplicateScalars over original + patch: a duplicate takes the last item. */
        for (size_t i = 0; i < orig.n; i++)
            vec_push(&merged, orig.v[i]);
        for (size_t i = 0; i < pat.n; i++)
            vec_push(&merged, pat.v[i]);
        if (merged.n) {
            size_t len = merged.n - 1;
            for (size_t i = 0; i < len; i++)
                for (size_t j = i + 1; j <= len; j++)
                    if (go_eq(merged.v[i], merged.v[j])) {
                        json_decref(merged.v[j]);
                        merged.v[j] = merged.v[len];
                        merged.n = len;
                        len--;
                        j--;
                    }
        }
    } else {
        if (!merge_key || !*merge_key) {
            smp_fail(c, 500, "cannot merge lists without merge key for %s", s->name);
            goto done;
        }
        /* mergeSliceWithSpecialElements */
        vec plain = {0};
        bool replace = false;
        for (size_t i = 0; i < pat.n; i++) {
            json_t *item = pat.v[i], *d = json_object_get(item, DIRECTIVE);
            if (!d) {
                vec_push(&plain, item);
            } else if (str_is(d, "delete")) {
                json_t *kv = json_object_get(item, merge_key);
                if (!kv) {
                    no_merge_key(c, item, merge_key);
                    vec_free(&plain);
                    goto done;
                }
                for (;;) {
                    long at = find_map(c, &orig, merge_key, kv);
                    if (at == -2) {
                        vec_free(&plain);
                        goto done;
                    }
                    if (at < 0)
                        break;
                    json_decref(orig.v[at]);
                    memmove(orig.v + at, orig.v + at + 1,
                            (orig.n - (size_t)at - 1) * sizeof *orig.v);
                    orig.n--;
                }
            } else if (str_is(d, "replace")) {
                replace = true;
            } else if (str_is(d, "merge")) {
                smp_fail(c, 500, "merging lists cannot yet be specified in the patch");
                vec_free(&plain);
                goto done;
            } else {
                bad_patch_type(c, d, item);
                vec_free(&plain);
                goto done;
            }
        }
        vec_free(&pat);
        if (replace) {
            vec_free(&orig);
            orig = plain;
        } else {
            pat = plain;
        }
        /* mergeSliceWithoutSpecialElements */
        for (size_t i = 0; i < orig.n; i++)
            vec_push(&merged, orig.v[i]);
        for (size_t i = 0; i < pat.n; i++) {
            json_t *item = pat.v[i], *kv = json_object_get(item, merge_key);
            if (!kv) {
                no_merge_key(c, item, merge_key);
                goto done;
            }
            long at = find_map(c, &merged, merge_key, kv);
            if (at == -2)
                goto done;
            if (at >= 0) {
                json_t *m = merge_map(c, merged.v[at], item, s);
                if (!m)
                    goto done;
                json_decref(merged.v[at]);
                merged.v[at] = m;
                if ((size_t)at < orig.n) { /* Go's slices share the array */
                    json_decref(orig.v[at]);
                    orig.v[at] = json_incref(m);
                }
            } else {
                vec_push(&merged, item);
            }
        }
    }
    if (partition(c, &merged, &pat, maps ? merge_key : NULL, &in, &out))
        goto done;
    res = normalize_order(c, &in, &out, &pat, &orig, merge_key, maps);
done:
    vec_free(&orig);
    vec_free(&pat);
    vec_free(&merged);
    vec_free(&in);
    vec_free(&out);
    return res;
}

/* mergeSliceHandler: new reference or NULL. */
static json_t *merge_slice_field(smpctx *c, json_t *orig, json_t *patch, const sch *s,
                                 const char *strategy, const char *merge_key, bool delete_list)
{
    if (!json_is_array(orig) || !json_is_array(patch))
        return bad_arg(c, "[]interface {}", json_is_array(orig) ? patch : orig);
    if (!strcmp(strategy, "merge") || delete_list)
        return merge_slice(c, orig, patch, s, merge_key, delete_list);
    return json_incref(patch);
}

/* applyRetainKeysDirective. 0 or -1. */
static int retain_keys(smpctx *c, json_t *orig, json_t *patch)
{
    json_t *keep = json_object_get(patch, RETAIN_KEYS);
    if (!keep)
        return 0;
    json_incref(keep);
    json_object_del(patch, RETAIN_KEYS);
    int rc = 0;
    if (!json_is_array(keep)) {
        smp_fail(c, 400, ERR_RETAIN_KEYS);
        rc = -1;
        goto out;
    }
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach(patch, k, v)
    {
        if (json_is_null(v) || has_prefix(k, DELETE_PREFIX) || has_prefix(k, ORDER_PREFIX))
            continue;
        json_t *ks = json_string(k);
        vec kv = {0};
        vec_from(&kv, keep);
        bool found = find_index(&kv, ks, NULL, false) >= 0;
        vec_free(&kv);
        json_decref(ks);
        if (!found) {
            smp_fail(c, 400, ERR_RETAIN_KEYS);
            rc = -1;
            goto out;
        }
    }
    json_object_foreach_safe(orig, tmp, k, v)
    {
        bool found = false;
        size_t i;
        json_t *r;
        json_array_foreach(keep, i, r) found |= str_is(r, k);
        if (!found)
            json_object_del(orig, k);
    }
out:
    json_decref(keep);
    return rc;
}

/* extractKey: the field after "<prefix>/", or NULL with the directive's error. */
static const char *directive_field(smpctx *c, const char *key, const char *prefix,
                                   const char *errmsg)
{
    const char *slash = strchr(key, '/');
    if (!slash || (size_t)(slash - key) != strlen(prefix) || strncmp(key, prefix, strlen(prefix))) {
        smp_fail(c, 400, "%s", errmsg);
        return NULL;
    }
    return slash + 1;
}

/* mergeKeyValueEqual. 1, 0, or -1. */
static int merge_key_equal(smpctx *c, const json_t *l, const json_t *r, const char *merge_key)
{
    if (!merge_key || !*merge_key)
        return go_eq(l, r);
    if (!json_is_object(l) || !json_is_object(r)) {
        bad_arg(c, "map[string]interface {}", json_is_object(l) ? r : l);
        return -1;
    }
    json_t *a = json_object_get(l, merge_key), *b = json_object_get(r, merge_key);
    if (!a || !b) {
        no_merge_key(c, a ? r : l, merge_key);
        return -1;
    }
    return go_eq(a, b);
}

/* validatePatchWithSetOrderList. 0 or -1. */
static int check_order(smpctx *c, const json_t *patch_list, const json_t *order,
                       const char *merge_key)
{
    if (!json_array_size(order) || !json_array_size(patch_list))
        return 0;
    vec nd = {0};
    size_t i;
    json_t *v;
    json_array_foreach(patch_list, i, v)
    {
        if (merge_key && *merge_key) {
            if (!json_is_object(v)) {
                vec_free(&nd);
                bad_arg(c, "map[string]interface {}", v);
                return -1;
            }
            if (str_is(json_object_get(v, DIRECTIVE), "delete"))
                continue;
        }
        vec_push(&nd, v);
    }
    size_t pi = 0, oi = 0, on = json_array_size(order);
    while (pi < nd.n && oi < on) {
        if (json_is_object(nd.v[pi]) && json_object_get(nd.v[pi], DIRECTIVE)) {
            pi++;
            continue;
        }
        int eq = merge_key_equal(c, nd.v[pi], json_array_get(order, oi), merge_key);
        if (eq < 0) {
            vec_free(&nd);
            return -1;
        }
        pi += eq;
        oi++;
    }
    bool bad = pi < nd.n && oi >= on;
    vec_free(&nd);
    if (bad) {
        fail_v(c, "The order in patch list:\n", patch_list,
               "\n doesn't match " ORDER_PREFIX " list:\n", order, "\n");
        return -1;
    }
    return 0;
}

/* mergePatchIntoOriginal: the $setElementOrder directives and their lists. 0 or -1. */
static int merge_ordered_lists(smpctx *c, json_t *orig, json_t *patch, const sch *s)
{
    vec keys = {0};
    const char *k;
    json_t *v;
    json_object_foreach(patch, k, v)
    {
        if (has_prefix(k, ORDER_PREFIX)) {
            json_t *ks = json_string(k);
            vec_push(&keys, ks);
            json_decref(ks);
        }
    }
    int rc = -1;
    for (size_t ki = 0; ki < keys.n; ki++) {
        const char *key = json_string_value(keys.v[ki]);
        json_t *order = json_incref(json_object_get(patch, key));
        json_object_del(patch, key);
        json_t *merged = NULL;
        vec ov = {0}, pv = {0}, mv = {0}, in = {0}, out = {0}, orderv = {0};
        bool ok = false;
        const char *field;
        if (!json_is_array(order)) {
            bad_arg(c, "[]interface {}", order);
            goto next;
        }
        if (!(field = directive_field(c, key, ORDER_PREFIX, ERR_SET_ORDER)))
            goto next;
        json_t *olist = json_object_get(orig, field), *plist = json_object_get(patch, field);
        if (olist && !json_is_array(olist)) {
            bad_arg(c, "[]interface {}", olist);
            goto next;
        }
        if (plist && !json_is_array(plist)) {
            bad_arg(c, "[]interface {}", plist);
            goto next;
        }
        sch sub;
        pmeta m;
        char strategy[64];
        if (lookup_slice(c, s, field, &sub, &m) ||
            other_strategy(c, m.strategy, strategy, sizeof strategy))
            goto next;
        const char *mk = m.merge_key ? m.merge_key : "";
        if (check_order(c, plist, order, mk))
            goto next;
        if (olist && !plist) {
            merged = json_incref(olist);
        } else if (!olist && plist) {
            merged = remove_directives(plist);
        } else if (olist && plist) {
            if (!(merged = merge_slice_field(c, olist, plist, &sub, strategy, mk, false)))
                goto next;
        } else {
            ok = true;
            goto next;
        }
        vec_from(&mv, merged);
        vec_from(&orderv, order);
        if (partition(c, &mv, &orderv, *mk ? mk : NULL, &in, &out))
            goto next;
        if (olist)
            vec_from(&ov, olist);
        if (plist)
            vec_from(&pv, plist);
        bool maps;
        if (element_type(c, &ov, &pv, &maps))
            goto next;
        json_t *both = normalize_order(c, &in, &out, &orderv, &ov, mk, maps);
        if (!both)
            goto next;
        json_object_set_new(orig, field, both);
        json_object_del(patch, field);
        ok = true;
    next:
        json_decref(order);
        json_decref(merged);
        vec_free(&ov);
        vec_free(&pv);
        vec_free(&mv);
        vec_free(&in);
        vec_free(&out);
        vec_free(&orderv);
        if (!ok)
            goto done;
    }
    rc = 0;
done:
    vec_free(&keys);
    return rc;
}

/* Replaces orig[k] with the patch value less its directives (or removes it). */
static void take_patch_value(json_t *orig, const char *k, json_t *pv)
{
    discard_nulls(pv);
    json_t *kept = remove_directives(pv);
    if (kept)
        json_object_set_new(orig, k, kept);
    else
        json_object_del(orig, k);
}

/* mergeMap: new reference (orig, patch or a new map, changed in place) or NULL. */
static json_t *merge_map(smpctx *c, json_t *orig, json_t *patch, const sch *s)
{
    json_t *d = json_object_get(patch, DIRECTIVE);
    if (d) {
        if (str_is(d, "replace")) {
            json_object_del(patch, DIRECTIVE);
            return json_incref(patch);
        }
        if (str_is(d, "delete"))
            return json_object();
        return bad_patch_type(c, d, patch);
    }
    if (retain_keys(c, orig, patch) || merge_ordered_lists(c, orig, patch, s))
        return NULL;
    vec keys = {0};
    const char *key;
    json_t *v;
    json_object_foreach(patch, key, v)
    {
        json_t *ks = json_string(key);
        vec_push(&keys, ks);
        json_decref(ks);
    }
    json_t *res = NULL;
    for (size_t ki = 0; ki < keys.n; ki++) {
        const char *k = json_string_value(keys.v[ki]);
        json_t *pv = json_object_get(patch, k);
        bool delete_list = has_prefix(k, DELETE_PREFIX);
        if (delete_list) {
            const char *field = directive_field(c, k, DELETE_PREFIX, ERR_PRIMITIVE_LIST);
            if (!field)
                goto done;
            if (*field)
                k = field;
        }
        if (json_is_null(pv)) {
            json_object_del(orig, k);
            continue;
        }
        json_t *ov = json_object_get(orig, k);
        if (!ov || !same_type(ov, pv)) {
            if (!delete_list)
                take_patch_value(orig, k, pv);
            continue;
        }
        sch sub;
        pmeta m;
        char strategy[64];
        json_t *nv;
        if (json_is_object(ov)) {
            if (lookup_struct(c, s, k, &sub, &m) ||
                other_strategy(c, m.strategy, strategy, sizeof strategy))
                goto done;
            nv = strcmp(strategy, "replace") ? merge_map(c, ov, pv, &sub) : json_incref(pv);
        } else if (json_is_array(ov)) {
            if (lookup_slice(c, s, k, &sub, &m) ||
                other_strategy(c, m.strategy, strategy, sizeof strategy))
                goto done;
            nv = merge_slice_field(c, ov, pv, &sub, strategy, m.merge_key ? m.merge_key : "",
                                   delete_list);
        } else {
            take_patch_value(orig, k, pv);
            continue;
        }
        if (!nv)
            goto done;
        json_object_set_new(orig, k, nv);
    }
    res = json_incref(orig);
done:
    vec_free(&keys);
    return res;
}

json_t *vk_strategic_patch(const json_t *doc, const json_t *patch, int root, char *err,
                           size_t errlen, int *code)
{
    smpctx c = {err, errlen, 0};
    *code = 0;
    if (errlen)
        *err = 0;
    if (json_is_null(patch))
        return json_deep_copy(doc);
    if (!json_is_object(patch)) {
        snprintf(err, errlen,
                 "json: cannot unmarshal %s into Go value of type map[string]interface {}",
                 json_is_array(patch)     ? "array"
                 : json_is_string(patch)  ? "string"
                 : json_is_boolean(patch) ? "bool"
                                          : "number");
        *code = 400;
        return NULL;
    }
    json_t *o = json_is_object(doc) ? json_deep_copy(doc) : json_object();
    json_t *p = json_deep_copy(patch);
    sch s =
        root >= 0 ? (sch){S_STRUCT, root, "struct", NULL} : (sch){S_GENERIC, -1, "struct", NULL};
    json_t *out = merge_map(&c, o, p, &s);
    json_decref(o);
    json_decref(p);
    if (!out)
        *code = c.code ? c.code : 500;
    return out;
}
