/* Structural schemas (schema.h). */
#include "apiserver/resources/apiextensions/schema.h"

#include <math.h>
#include <stdarg.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

static bool flag(const json_t *schema, const char *k)
{
    return json_is_true(json_object_get(schema, k));
}

static const char *type_of_schema(const json_t *schema)
{
    const char *t = json_string_value(json_object_get(schema, "type"));
    return t ? t : "";
}

/* The schema a member k of an object takes (properties, else additionalProperties when
 * it is a schema), or NULL. *known tells whether k is declared or allowed. */
static const json_t *member_schema(const json_t *schema, const char *k, bool *known)
{
    json_t *p = json_object_get(json_object_get(schema, "properties"), k);
    if (p) {
        *known = true;
        return p;
    }
    json_t *ap = json_object_get(schema, "additionalProperties");
    *known = json_is_object(ap) || json_is_true(ap) ||
             flag(schema, "x-kubernetes-preserve-unknown-fields");
    return json_is_object(ap) ? ap : NULL;
}

/* ---- pruning ---- */

static json_t *prune(const json_t *schema, const json_t *v, bool root);

static json_t *prune_object(const json_t *schema, const json_t *obj, bool root)
{
    bool embedded = root || flag(schema, "x-kubernetes-embedded-resource");
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v)
    {
        bool known = false;
        const json_t *sub = member_schema(schema, k, &known);
        if (embedded &&
            (!strcmp(k, "apiVersion") || !strcmp(k, "kind") || !strcmp(k, "metadata"))) {
            json_object_set(out, k, v);
            continue;
        }
        if (!known && !schema)
            known = true;
        if (known)
            json_object_set_new(out, k, sub ? prune(sub, v, false) : json_incref(v));
    }
    return out;
}

static json_t *prune(const json_t *schema, const json_t *v, bool root)
{
    if (json_is_object(v) && (root || json_object_size(json_object_get(schema, "properties")) ||
                              json_object_get(schema, "additionalProperties") ||
                              !strcmp(type_of_schema(schema), "object"))) {
        if (flag(schema, "x-kubernetes-preserve-unknown-fields") &&
            !json_object_get(schema, "properties") &&
            !json_object_get(schema, "additionalProperties"))
            return json_incref((json_t *)v);
        if (flag(schema, "x-kubernetes-preserve-unknown-fields")) {
            /* Declared members are pruned below them; the rest stay. */
            json_t *out = json_deep_copy(v);
            const char *k;
            json_t *m;
            json_object_foreach(json_object_get(schema, "properties"), k, m)
            {
                json_t *x = json_object_get(out, k);
                if (x)
                    json_object_set_new(out, k, prune(m, x, false));
            }
            return out;
        }
        return prune_object(schema, v, root);
    }
    if (json_is_array(v) && json_object_get(schema, "items")) {
        json_t *out = json_array();
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x)
        {
            json_array_append_new(out, prune(json_object_get(schema, "items"), x, false));
        }
        return out;
    }
    return json_incref((json_t *)v);
}

json_t *vk_schema_prune(const json_t *schema, const json_t *obj)
{
    return prune(schema, obj, true);
}

/* ---- defaulting ---- */

void vk_schema_default(const json_t *schema, json_t *obj)
{
    if (json_is_object(obj)) {
        const char *k;
        json_t *p;
        json_object_foreach(json_object_get(schema, "properties"), k, p)
        {
            json_t *d = json_object_get(p, "default");
            json_t *cur = json_object_get(obj, k);
            if (d && (!cur || (json_is_null(cur) && !flag(p, "nullable"))))
                json_object_set_new(obj, k, json_deep_copy(d));
        }
        json_t *ap = json_object_get(schema, "additionalProperties");
        json_t *v;
        json_object_foreach(obj, k, v)
        {
            bool known;
            const json_t *sub = member_schema(schema, k, &known);
            if (sub)
                vk_schema_default(sub, v);
        }
        (void)ap;
    } else if (json_is_array(obj)) {
        size_t i;
        json_t *x;
        json_array_foreach(obj, i, x)
        {
            vk_schema_default(json_object_get(schema, "items"), x);
        }
    }
}

/* ---- validation ---- */

/* The JSON type name kube-openapi reports for a value. */
static const char *value_type(const json_t *v)
{
    if (json_is_string(v))
        return "string";
    if (json_is_integer(v))
        return "integer";
    if (json_is_real(v))
        return floor(json_real_value(v)) == json_real_value(v) ? "integer" : "number";
    if (json_is_boolean(v))
        return "boolean";
    if (json_is_object(v))
        return "object";
    if (json_is_array(v))
        return "array";
    return "null";
}

static bool type_ok(const json_t *schema, const json_t *v)
{
    const char *t = type_of_schema(schema);
    if (json_is_null(v))
        return flag(schema, "nullable") || !*t;
    if (flag(schema, "x-kubernetes-int-or-string"))
        return json_is_string(v) || !strcmp(value_type(v), "integer");
    if (!*t)
        return true;
    const char *vt = value_type(v);
    return !strcmp(t, vt) || (!strcmp(t, "number") && !strcmp(vt, "integer"));
}

static double number(const json_t *v)
{
    return json_is_integer(v) ? (double)json_integer_value(v) : json_real_value(v);
}

/* A Go-style number for messages (%v of a float64 or int64). */
static void fmt_number(const json_t *v, char *out, size_t n)
{
    double d = number(v);
    if (json_is_integer(v) || (floor(d) == d && fabs(d) < 1e15))
        snprintf(out, n, "%.0f", d);
    else
        snprintf(out, n, "%g", d);
}

/* Go's RE2 syntax in POSIX extended form, for the common classes. */
static bool pattern_matches(const char *pattern, const char *s, bool *ok)
{
    vk_buf b = {0};
    for (const char *p = pattern; *p; p++) {
        if (p[0] == '\\' && p[1] == 'd') {
            vk_buf_puts(&b, "[0-9]");
            p++;
        } else if (p[0] == '\\' && p[1] == 'w') {
            vk_buf_puts(&b, "[A-Za-z0-9_]");
            p++;
        } else if (p[0] == '\\' && p[1] == 's') {
            vk_buf_puts(&b, "[[:space:]]");
            p++;
        } else {
            vk_buf_append(&b, p, 1);
        }
    }
    regex_t re;
    *ok = b.data && !regcomp(&re, b.data, REG_EXTENDED | REG_NOSUB);
    vk_buf_free(&b);
    if (!*ok)
        return true;
    bool m = !regexec(&re, s, 0, NULL, 0);
    regfree(&re);
    return m;
}

static size_t utf8_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static void invalid(vk_errlist *e, const char *path, const json_t *v, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void invalid(vk_errlist *e, const char *path, const json_t *v, const char *fmt, ...)
{
    char detail[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    vk_err_invalid(e, path, v, detail);
}

static void validate(const json_t *schema, const json_t *v, vk_buf *path, vk_errlist *e);

static void child(const json_t *schema, const json_t *v, vk_buf *path, const char *k, size_t idx,
                  vk_errlist *e)
{
    size_t mark = path->len;
    if (k)
        vk_buf_printf(path, "%s%s", mark ? "." : "", k);
    else
        vk_buf_printf(path, "[%zu]", idx);
    validate(schema, v, path, e);
    path->len = mark;
    if (path->data)
        path->data[mark] = 0;
}

static void validate(const json_t *schema, const json_t *v, vk_buf *path, vk_errlist *e)
{
    if (!json_is_object(schema))
        return;
    const char *p = path->data ? path->data : "";
    if (!type_ok(schema, v)) {
        char detail[600];
        snprintf(detail, sizeof detail, "%s in body must be of type %s: \"%s\"", p,
                 flag(schema, "x-kubernetes-int-or-string") ? "integer,string"
                                                            : type_of_schema(schema),
                 value_type(v));
        /* kube-openapi reports the type it saw as the value. */
        char msg[1024];
        snprintf(msg, sizeof msg, "Invalid value: \"%s\": %s", value_type(v), detail);
        vk_errlist_add(e, "FieldValueTypeInvalid", p, msg);
        return;
    }
    if (json_is_null(v))
        return;
    json_t *en = json_object_get(schema, "enum");
    if (json_is_array(en)) {
        bool found = false;
        size_t i;
        json_t *x;
        json_array_foreach(en, i, x) found = found || json_equal(x, v);
        if (!found) {
            vk_buf b = {0};
            char *vs = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
            vk_buf_printf(&b, "Unsupported value: %s: supported values: ", vs ? vs : "null");
            free(vs);
            json_array_foreach(en, i, x)
            {
                char *xs = json_dumps(x, JSON_ENCODE_ANY | JSON_COMPACT);
                vk_buf_printf(&b, "%s%s", i ? ", " : "", xs ? xs : "null");
                free(xs);
            }
            vk_errlist_add(e, "FieldValueNotSupported", p, b.data);
            vk_buf_free(&b);
        }
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        json_t *mx = json_object_get(schema, "maxLength"),
               *mn = json_object_get(schema, "minLength");
        json_t *pat = json_object_get(schema, "pattern");
        size_t n = utf8_len(s);
        if (json_is_integer(mx) && (json_int_t)n > json_integer_value(mx)) {
            char msg[200];
            snprintf(msg, sizeof msg, "Too long: may not be more than %lld bytes",
                     (long long)json_integer_value(mx));
            vk_errlist_add(e, "FieldValueTooLong", p, msg);
        }
        if (json_is_integer(mn) && (json_int_t)n < json_integer_value(mn))
            invalid(e, p, v, "%s in body should be at least %lld chars long", p,
                    (long long)json_integer_value(mn));
        bool ok;
        if (json_is_string(pat) && !pattern_matches(json_string_value(pat), s, &ok) && ok)
            invalid(e, p, v, "%s in body should match '%s'", p, json_string_value(pat));
    }
    if (json_is_number(v)) {
        double d = number(v);
        json_t *mx = json_object_get(schema, "maximum"), *mn = json_object_get(schema, "minimum");
        char b[64];
        if (json_is_number(mx)) {
            bool excl = flag(schema, "exclusiveMaximum");
            fmt_number(mx, b, sizeof b);
            if (excl ? d >= number(mx) : d > number(mx))
                invalid(e, p, v, "%s in body should be less than %s%s", p,
                        excl ? "" : "or equal to ", b);
        }
        if (json_is_number(mn)) {
            bool excl = flag(schema, "exclusiveMinimum");
            fmt_number(mn, b, sizeof b);
            if (excl ? d <= number(mn) : d < number(mn))
                invalid(e, p, v, "%s in body should be greater than %s%s", p,
                        excl ? "" : "or equal to ", b);
        }
        json_t *mo = json_object_get(schema, "multipleOf");
        if (json_is_number(mo) && number(mo) > 0 && fmod(d, number(mo)) != 0) {
            fmt_number(mo, b, sizeof b);
            invalid(e, p, v, "%s in body should be a multiple of %s", p, b);
        }
    }
    if (json_is_array(v)) {
        json_t *mx = json_object_get(schema, "maxItems"), *mn = json_object_get(schema, "minItems");
        json_int_t n = (json_int_t)json_array_size(v);
        if (json_is_integer(mx) && n > json_integer_value(mx)) {
            char msg[200];
            snprintf(msg, sizeof msg, "Too many: %lld: must have at most %lld items", (long long)n,
                     (long long)json_integer_value(mx));
            vk_errlist_add(e, "FieldValueTooMany", p, msg);
        }
        if (json_is_integer(mn) && n < json_integer_value(mn))
            invalid(e, p, v, "%s in body should have at least %lld items", p,
                    (long long)json_integer_value(mn));
        const char *lt = json_string_value(json_object_get(schema, "x-kubernetes-list-type"));
        bool set = flag(schema, "uniqueItems") || (lt && !strcmp(lt, "set"));
        for (size_t i = 0; set && i < (size_t)n; i++)
            for (size_t j = i + 1; j < (size_t)n; j++)
                if (json_equal(json_array_get(v, i), json_array_get(v, j))) {
                    char f[600];
                    snprintf(f, sizeof f, "%s[%zu]", p, j);
                    char *vs = json_dumps(json_array_get(v, j), JSON_ENCODE_ANY | JSON_COMPACT);
                    char msg[900];
                    snprintf(msg, sizeof msg, "Duplicate value: %s", vs ? vs : "null");
                    free(vs);
                    vk_errlist_add(e, "FieldValueDuplicate", f, msg);
                    set = false;
                    break;
                }
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x)
        {
            child(json_object_get(schema, "items"), x, path, NULL, i, e);
        }
    }
    if (json_is_object(v)) {
        size_t i;
        json_t *r;
        json_array_foreach(json_object_get(schema, "required"), i, r)
        {
            const char *k = json_string_value(r);
            if (k && !json_object_get(v, k)) {
                char f[600];
                snprintf(f, sizeof f, "%s%s%s", p, *p ? "." : "", k);
                vk_errlist_add(e, "FieldValueRequired", f, "Required value");
            }
        }
        json_t *mx = json_object_get(schema, "maxProperties");
        json_t *mn = json_object_get(schema, "minProperties");
        json_int_t n = (json_int_t)json_object_size(v);
        if (json_is_integer(mx) && n > json_integer_value(mx)) {
            char msg[200];
            snprintf(msg, sizeof msg, "Too many: %lld: must have at most %lld items", (long long)n,
                     (long long)json_integer_value(mx));
            vk_errlist_add(e, "FieldValueTooMany", p, msg);
        }
        if (json_is_integer(mn) && n < json_integer_value(mn))
            invalid(e, p, v, "%s in body should have at least %lld properties", p,
                    (long long)json_integer_value(mn));
        bool embedded = flag(schema, "x-kubernetes-embedded-resource");
        const char *k;
        json_t *m;
        json_object_foreach((json_t *)v, k, m)
        {
            if (!*p && (!strcmp(k, "metadata") || !strcmp(k, "apiVersion") || !strcmp(k, "kind")))
                continue;
            if (embedded && !strcmp(k, "metadata"))
                continue;
            bool known;
            const json_t *sub = member_schema(schema, k, &known);
            if (sub)
                child(sub, m, path, k, 0, e);
        }
    }
}

void vk_schema_validate(const json_t *schema, const json_t *obj, vk_errlist *errs)
{
    vk_buf path = {0};
    validate(schema, obj, &path, errs);
    vk_buf_free(&path);
}
