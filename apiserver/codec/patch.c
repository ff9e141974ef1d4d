#include "apiserver/codec/patch.h"

#include <ctype.h>
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

static int cmp_scalar(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    char *sx = json_dumps(x, JSON_ENCODE_ANY), *sy = json_dumps(y, JSON_ENCODE_ANY);
    int c = strcmp(sx ? sx : "", sy ? sy : "");
    free(sx);
    free(sy);
    return c;
}

/* A primitive list with the merge strategy: the union, deduplicated and sorted (kube's
 * uniqifyAndSortScalars), less the values of $deleteFromPrimitiveList. */
static json_t *merge_scalars(const json_t *orig, const json_t *patch, const json_t *drop)
{
    json_t *all = json_array();
    size_t i, j;
    json_t *v, *w;
    const json_t *srcs[2] = {orig, patch};
    for (int s = 0; s < 2; s++) {
        json_array_foreach(srcs[s], i, v)
        {
            bool seen = false, dropped = false;
            json_array_foreach(all, j, w) seen |= json_equal(v, w);
            json_array_foreach(drop, j, w) dropped |= json_equal(v, w);
            if (!seen && !dropped)
                json_array_append(all, v);
        }
    }
    size_t n = json_array_size(all);
    json_t **items = malloc((n ? n : 1) * sizeof *items);
    for (i = 0; items && i < n; i++)
        items[i] = json_incref(json_array_get(all, i));
    if (items)
        qsort(items, n, sizeof *items, cmp_scalar);
    json_t *out = json_array();
    for (i = 0; items && i < n; i++)
        json_array_append_new(out, items[i]);
    free(items);
    json_decref(all);
    return out;
}

static json_t *smp(const json_t *doc, const json_t *patch, vk_buf *path, vk_patch_merge_fn merge,
                   char *err, size_t errlen)
{
    if (!json_is_object(patch))
        return json_deep_copy(patch);
    const char *directive = json_string_value(json_object_get(patch, "$patch"));
    if (directive && !strcmp(directive, "delete"))
        return json_null();
    json_t *base;
    if (directive && !strcmp(directive, "replace"))
        base = json_object();
    else if (directive && strcmp(directive, "merge")) {
        snprintf(err, errlen, "Unknown patch type: %s", directive);
        return NULL;
    } else
        base = json_is_object(doc) ? json_deep_copy(doc) : json_object();
    json_t *retain = json_object_get(patch, "$retainKeys");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)patch, k, v)
    {
        size_t mark = path->len;
        bool delete_list = !strncmp(k, "$deleteFromPrimitiveList/", 25);
        const char *field = delete_list ? k + 25 : k;
        if (k[0] == '$' && !delete_list)
            continue;
        vk_buf_printf(path, "%s%s", mark ? "." : "", field);
        json_t *cur = json_object_get(base, field);
        if (delete_list || (json_is_array(v) && merge && merge(path->data))) {
            /* A merge list: union with the stored items (the $delete... key removes). */
            const json_t *add = delete_list ? json_object_get(patch, field) : v;
            const json_t *drop = delete_list ? v : NULL;
            if (!delete_list) {
                char dk[300];
                snprintf(dk, sizeof dk, "$deleteFromPrimitiveList/%s", k);
                drop = json_object_get(patch, dk);
            }
            if (!delete_list || !json_object_get(patch, field))
                json_object_set_new(base, field, merge_scalars(cur, add, drop));
        } else if (json_is_null(v)) {
            json_object_del(base, k);
        } else {
            json_t *m = smp(cur, v, path, merge, err, errlen);
            if (!m) {
                json_decref(base);
                return NULL;
            }
            if (json_is_null(m) && json_is_object(v)) {
                json_object_del(base, k);
                json_decref(m);
            } else {
                json_object_set_new(base, k, m);
            }
        }
        path->len = mark;
        if (path->data)
            path->data[mark] = 0;
    }
    if (json_is_array(retain)) {
        void *tmp;
        json_object_foreach_safe(base, tmp, k, v)
        {
            bool keep = false;
            size_t i;
            json_t *r;
            json_array_foreach(retain, i, r) keep |=
                json_is_string(r) && !strcmp(json_string_value(r), k);
            if (!keep)
                json_object_del(base, k);
        }
    }
    return base;
}

json_t *vk_strategic_patch(const json_t *doc, const json_t *patch, vk_patch_merge_fn merge,
                           char *err, size_t errlen)
{
    vk_buf path = {0};
    json_t *out = smp(doc, patch, &path, merge, err, errlen);
    vk_buf_free(&path);
    return out;
}
