#include "apiserver/codec/yaml.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* As deep as kube's JSON decoder lets an object nest. */
#define MAX_DEPTH 10000

static bool one_of(const char *s, const char *const *set)
{
    for (; *set; set++)
        if (!strcmp(s, *set))
            return true;
    return false;
}

static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
static const char *const trues[] = {"y",  "Y",  "yes",  "Yes",  "YES",  "on",
                                    "On", "ON", "true", "True", "TRUE", NULL};
static const char *const falses[] = {"n",   "N",   "no",    "No",    "NO",    "off",
                                     "Off", "OFF", "false", "False", "FALSE", NULL};

/* YAML 1.1 resolution of a plain scalar, as yaml.v2 does it (the common forms). */
static json_t *resolve(const char *s)
{
    if (one_of(s, nulls))
        return json_null();
    if (one_of(s, trues))
        return json_true();
    if (one_of(s, falses))
        return json_false();
    if (one_of(s, (const char *const[]){".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", NULL}) ||
        one_of(s, (const char *const[]){"-.inf", "-.Inf", "-.INF", ".nan", ".NaN", ".NAN", NULL}))
        return json_string(s); /* JSON has no such numbers; kube's decoder refuses them too */
    /* Integers as Go's ParseInt with base 0 reads them (0x hex, a leading 0 octal), then
     * decimal floats. */
    char *end;
    const char *p = s + (*s == '-' || *s == '+');
    if (*p >= '0' && *p <= '9') {
        errno = 0;
        long long v = strtoll(s, &end, 0);
        if (!*end && !errno)
            return json_integer(v);
    }
    if (((*p >= '0' && *p <= '9') || *p == '.') && strspn(s, "0123456789.eE+-") == strlen(s)) {
        errno = 0;
        double d = strtod(s, &end);
        if (!*end && !errno && isfinite(d))
            return json_real(d);
    }
    return json_string(s);
}

typedef struct reader {
    yaml_parser_t p;
    yaml_event_t ev;
    char *err;
    size_t errlen;
} reader;

static bool next(reader *r)
{
    if (yaml_parser_parse(&r->p, &r->ev))
        return true;
    snprintf(r->err, r->errlen, "error converting YAML to JSON: yaml: line %zu: %s",
             r->p.problem_mark.line + 1, r->p.problem ? r->p.problem : "syntax error");
    return false;
}

/* The node that starts with the current event (consumed). */
static json_t *node(reader *r, int depth)
{
    if (depth > MAX_DEPTH) {
        snprintf(r->err, r->errlen, "error converting YAML to JSON: nesting too deep");
        yaml_event_delete(&r->ev);
        return NULL;
    }
    yaml_event_t e = r->ev;
    if (e.type == YAML_ALIAS_EVENT) {
        snprintf(r->err, r->errlen, "error converting YAML to JSON: aliases are not supported");
        yaml_event_delete(&e);
        return NULL;
    }
    if (e.type == YAML_SCALAR_EVENT) {
        const char *v = (const char *)e.data.scalar.value;
        const char *tag = (const char *)e.data.scalar.tag;
        json_t *out =
            e.data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !(tag && !strcmp(tag, YAML_STR_TAG))
                ? resolve(v)
                : json_stringn(v, e.data.scalar.length);
        if (!out)
            snprintf(r->err, r->errlen, "error converting YAML to JSON: invalid UTF-8");
        yaml_event_delete(&e);
        return out;
    }
    bool map = e.type == YAML_MAPPING_START_EVENT;
    if (!map && e.type != YAML_SEQUENCE_START_EVENT) {
        yaml_event_delete(&e);
        snprintf(r->err, r->errlen, "error converting YAML to JSON: unexpected event");
        return NULL;
    }
    yaml_event_delete(&e);
    json_t *out = map ? json_object() : json_array();
    for (;;) {
        if (!next(r))
            goto fail;
        if (r->ev.type == YAML_MAPPING_END_EVENT || r->ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&r->ev);
            return out;
        }
        if (!map) {
            json_t *v = node(r, depth + 1);
            if (!v)
                goto fail;
            json_array_append_new(out, v);
            continue;
        }
        if (r->ev.type != YAML_SCALAR_EVENT) {
            yaml_event_delete(&r->ev);
            snprintf(r->err, r->errlen,
                     "error converting YAML to JSON: a mapping key must be a scalar");
            goto fail;
        }
        char *key = strdup((const char *)r->ev.data.scalar.value);
        yaml_event_delete(&r->ev);
        json_t *v = key && next(r) ? node(r, depth + 1) : NULL;
        if (!v || json_object_set_new(out, key, v)) {
            if (v && !*r->err)
                snprintf(r->err, r->errlen, "error converting YAML to JSON: invalid key");
            free(key);
            goto fail;
        }
        free(key);
    }
fail:
    json_decref(out);
    return NULL;
}

json_t *vk_yaml_to_json(const char *data, size_t len, char *err, size_t errlen)
{
    reader r = {.err = err, .errlen = errlen};
    *err = 0;
    if (!yaml_parser_initialize(&r.p)) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    yaml_parser_set_input_string(&r.p, (const unsigned char *)(data ? data : ""), len);
    json_t *out = NULL;
    /* Stream start, then a document start (an empty body is null), then its node. */
    while (next(&r)) {
        yaml_event_type_t t = r.ev.type;
        if (t == YAML_STREAM_START_EVENT || t == YAML_DOCUMENT_START_EVENT) {
            yaml_event_delete(&r.ev);
            continue;
        }
        if (t == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&r.ev);
            out = json_null();
        } else {
            out = node(&r, 0);
        }
        break;
    }
    yaml_parser_delete(&r.p);
    return out;
}

/* Writing. */

static int emit(yaml_emitter_t *em, yaml_event_t *e)
{
    return yaml_emitter_emit(em, e) ? 0 : -EINVAL;
}

static int scalar(yaml_emitter_t *em, const char *s, size_t n, yaml_scalar_style_t style)
{
    yaml_event_t e;
    if (!yaml_scalar_event_initialize(&e, NULL, NULL, (yaml_char_t *)s, (int)n, 1, 1, style))
        return -ENOMEM;
    return emit(em, &e);
}

/* yaml.v2 also quotes what a YAML 1.1 reader could take for a timestamp (2006-01-02...)
 * or a base-60 number (1:20). */
static bool looks_typed(const char *s)
{
    bool date = strlen(s) >= 10 && isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) &&
                isdigit((unsigned char)s[2]) && isdigit((unsigned char)s[3]) && s[4] == '-';
    bool sexagesimal =
        isdigit((unsigned char)s[0]) && strchr(s, ':') && strspn(s, "0123456789:._+-") == strlen(s);
    return date || sexagesimal;
}

/* A string is written plain only when it would read back as the same string. */
static yaml_scalar_style_t string_style(const char *s, size_t n)
{
    if (memchr(s, '\n', n))
        return YAML_LITERAL_SCALAR_STYLE;
    json_t *back = strlen(s) == n ? resolve(s) : NULL;
    bool plain_ok = back && json_is_string(back) && !looks_typed(s);
    json_decref(back);
    return plain_ok ? YAML_ANY_SCALAR_STYLE : YAML_DOUBLE_QUOTED_SCALAR_STYLE;
}

static int cmp_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int value(yaml_emitter_t *em, const json_t *v)
{
    yaml_event_t e;
    char num[64];
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        size_t n = json_object_size(v), i = 0;
        const char **keys = malloc((n ? n : 1) * sizeof *keys);
        if (!keys)
            return -ENOMEM;
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x) keys[i++] = k;
        qsort(keys, n, sizeof *keys, cmp_keys);
        int rc = yaml_mapping_start_event_initialize(&e, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE)
                     ? emit(em, &e)
                     : -ENOMEM;
        for (i = 0; !rc && i < n; i++) {
            rc = scalar(em, keys[i], strlen(keys[i]), string_style(keys[i], strlen(keys[i])));
            if (!rc)
                rc = value(em, json_object_get(v, keys[i]));
        }
        free(keys);
        if (!rc)
            rc = yaml_mapping_end_event_initialize(&e) ? emit(em, &e) : -ENOMEM;
        return rc;
    }
    case JSON_ARRAY: {
        int rc = yaml_sequence_start_event_initialize(&e, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE)
                     ? emit(em, &e)
                     : -ENOMEM;
        for (size_t i = 0; !rc && i < json_array_size(v); i++)
            rc = value(em, json_array_get(v, i));
        if (!rc)
            rc = yaml_sequence_end_event_initialize(&e) ? emit(em, &e) : -ENOMEM;
        return rc;
    }
    case JSON_STRING:
        return scalar(em, json_string_value(v), json_string_length(v),
                      string_style(json_string_value(v), json_string_length(v)));
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return scalar(em, num, strlen(num), YAML_PLAIN_SCALAR_STYLE);
    case JSON_REAL:
        /* The shortest form that reads back as the same number, as Go prints it. */
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(num, sizeof num, "%.*g", prec, json_real_value(v));
            if (strtod(num, NULL) == json_real_value(v))
                break;
        }
        return scalar(em, num, strlen(num), YAML_PLAIN_SCALAR_STYLE);
    case JSON_TRUE:
        return scalar(em, "true", 4, YAML_PLAIN_SCALAR_STYLE);
    case JSON_FALSE:
        return scalar(em, "false", 5, YAML_PLAIN_SCALAR_STYLE);
    default:
        return scalar(em, "null", 4, YAML_PLAIN_SCALAR_STYLE);
    }
}

static int write_cb(void *data, unsigned char *buf, size_t n)
{
    return vk_buf_append(data, buf, n) ? 0 : 1;
}

int vk_json_to_yaml(const json_t *obj, vk_buf *out)
{
    yaml_emitter_t em;
    yaml_event_t e;
    if (!yaml_emitter_initialize(&em))
        return -ENOMEM;
    yaml_emitter_set_output(&em, write_cb, out);
    yaml_emitter_set_unicode(&em, 1);
    yaml_emitter_set_width(&em, -1);
    int rc = yaml_stream_start_event_initialize(&e, YAML_UTF8_ENCODING) ? emit(&em, &e) : -ENOMEM;
    if (!rc)
        rc =
            yaml_document_start_event_initialize(&e, NULL, NULL, NULL, 1) ? emit(&em, &e) : -ENOMEM;
    if (!rc)
        rc = value(&em, obj);
    if (!rc)
        rc = yaml_document_end_event_initialize(&e, 1) ? emit(&em, &e) : -ENOMEM;
    if (!rc)
        rc = yaml_stream_end_event_initialize(&e) ? emit(&em, &e) : -ENOMEM;
    if (!rc && !yaml_emitter_flush(&em))
        rc = -EIO;
    yaml_emitter_delete(&em);
    return rc;
}
