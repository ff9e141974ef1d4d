#include "apiserver/registry/selector.h"

#include "common/buf.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/registry/common.h"
#include "common/buf.h"
#include "common/err.h"

enum op { OP_EQ, OP_NE, OP_IN, OP_NOTIN, OP_EXISTS, OP_NOTEXISTS, OP_GT, OP_LT };

typedef struct req {
    char *key;
    enum op op;
    char **values;
    size_t nvalues;
} req;

struct vk_selector {
    req *v;
    size_t n;
};

void vk_selector_free(vk_selector *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].key);
        for (size_t j = 0; j < s->v[i].nvalues; j++)
            free(s->v[i].values[j]);
        free(s->v[i].values);
    }
    free(s->v);
    free(s);
}

static bool label_value_ok(const char *v)
{
    size_t n = strlen(v);
    if (!n)
        return true;
    if (n > 63 || !isalnum((unsigned char)v[0]) || !isalnum((unsigned char)v[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)v[i]) && !strchr("-_.", v[i]))
            return false;
    return true;
}

typedef struct lexer {
    const char *p;
} lexer;

static void skip_ws(lexer *l)
{
    while (*l->p == ' ' || *l->p == '\t')
        l->p++;
}

/* A run of characters that are not spaces or selector punctuation. */
static char *word(lexer *l)
{
    skip_ws(l);
    const char *s = l->p;
    while (*l->p && !strchr(" \t,=!()<>", *l->p))
        l->p++;
    return strndup(s, (size_t)(l->p - s));
}

static int add_value(req *r, char *v)
{
    char **nv = realloc(r->values, (r->nvalues + 1) * sizeof *nv);
    if (!nv) {
        free(v);
        return -ENOMEM;
    }
    r->values = nv;
    r->values[r->nvalues++] = v;
    return 0;
}

static int push(vk_selector *s, req *r)
{
    req *nv = realloc(s->v, (s->n + 1) * sizeof *nv);
    if (!nv)
        return -ENOMEM;
    s->v = nv;
    s->v[s->n++] = *r;
    return 0;
}

static int fail(char *err, size_t errlen, const char *msg, const char *at)
{
    snprintf(err, errlen, "%s%s%s", msg, at ? ": " : "", at ? at : "");
    return VK_EINVALID;
}

/* One requirement at l->p. Label mode allows the set forms and existence tests. */
static int parse_req(lexer *l, bool labels, req *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    skip_ws(l);
    bool neg = false;
    if (*l->p == '!') {
        if (!labels)
            return fail(err, errlen, "invalid selector", l->p);
        neg = true;
        l->p++;
    }
    r->key = word(l);
    if (!r->key || !*r->key)
        return fail(err, errlen, "unable to parse requirement: found '', expected: identifier",
                    NULL);
    if (labels && !vk_is_qualified_name(r->key)) {
        snprintf(err, errlen,
                 "unable to parse requirement: key: Invalid value: \"%s\": name part must "
                 "consist of alphanumeric characters, '-', '_' or '.', and must start and end "
                 "with an alphanumeric character",
                 r->key);
        return VK_EINVALID;
    }
    skip_ws(l);
    if (neg) {
        r->op = OP_NOTEXISTS;
        return 0;
    }
    if (!*l->p || *l->p == ',') {
        if (!labels)
            return fail(err, errlen, "invalid selector", r->key);
        r->op = OP_EXISTS;
        return 0;
    }
    if (!strncmp(l->p, "==", 2)) {
        r->op = OP_EQ;
        l->p += 2;
    } else if (!strncmp(l->p, "!=", 2)) {
        r->op = OP_NE;
        l->p += 2;
    } else if (*l->p == '=') {
        r->op = OP_EQ;
        l->p++;
    } else if (labels && (*l->p == '>' || *l->p == '<')) {
        r->op = *l->p == '>' ? OP_GT : OP_LT;
        l->p++;
    } else if (labels && (!strncmp(l->p, "in", 2) || !strncmp(l->p, "notin", 5))) {
        r->op = l->p[0] == 'i' ? OP_IN : OP_NOTIN;
        l->p += r->op == OP_IN ? 2 : 5;
        skip_ws(l);
        if (*l->p != '(')
            return fail(err, errlen, "unable to parse requirement: found '', expected: '('", NULL);
        l->p++;
        for (;;) {
            char *v = word(l);
            if (!v || add_value(r, v))
                return -ENOMEM;
            if (!label_value_ok(v))
                return fail(err, errlen, "unable to parse requirement: invalid label value", v);
            skip_ws(l);
            if (*l->p == ',') {
                l->p++;
                continue;
            }
            if (*l->p == ')') {
                l->p++;
                break;
            }
            return fail(err, errlen, "unable to parse requirement: found '', expected: ')'", NULL);
        }
        return 0;
    } else {
        return fail(err, errlen, "unable to parse requirement: unexpected operator", l->p);
    }
    char *v;
    if (labels) {
        v = word(l);
    } else {
        /* Field values may hold any character but an unescaped ','. */
        skip_ws(l);
        const char *s = l->p;
        while (*l->p && *l->p != ',')
            l->p++;
        v = strndup(s, (size_t)(l->p - s));
    }
    if (!v || add_value(r, v))
        return -ENOMEM;
    if (labels && (r->op == OP_GT || r->op == OP_LT)) {
        char *end;
        strtoll(v, &end, 10);
        if (!*v || *end)
            return fail(err, errlen,
                        "unable to parse requirement: for 'Gt', 'Lt' operators, the "
                        "value must be an integer",
                        NULL);
    } else if (labels && !label_value_ok(v)) {
        snprintf(err, errlen,
                 "unable to parse requirement: values[0][%s]: Invalid value: \"%s\": a valid "
                 "label must be an empty string or consist of alphanumeric characters, '-', '_' "
                 "or '.', and must start and end with an alphanumeric character",
                 r->key, v);
        return VK_EINVALID;
    }
    return 0;
}

static int parse(const char *s, bool labels, const char *const *fields, vk_selector **out,
                 char *err, size_t errlen)
{
    *out = NULL;
    if (!s)
        return 0;
    lexer l = {s};
    skip_ws(&l);
    if (!*l.p)
        return 0;
    vk_selector *sel = calloc(1, sizeof *sel);
    if (!sel)
        return -ENOMEM;
    for (;;) {
        req r;
        int rc = parse_req(&l, labels, &r, err, errlen);
        if (!rc && !labels) {
            bool known = false;
            for (const char *const *f = fields; f && *f; f++)
                known |= !strcmp(*f, r.key);
            if (!known) {
                snprintf(err, errlen, "field label not supported: %s", r.key);
                rc = VK_EINVALID;
            }
        }
        if (rc || (rc = push(sel, &r))) {
            free(r.key);
            for (size_t j = 0; j < r.nvalues; j++)
                free(r.values[j]);
            free(r.values);
            vk_selector_free(sel);
            return rc;
        }
        skip_ws(&l);
        if (!*l.p)
            break;
        if (*l.p != ',') {
            vk_selector_free(sel);
            return fail(err, errlen, "unable to parse requirement: found trailing characters", l.p);
        }
        l.p++;
    }
    *out = sel;
    return 0;
}

int vk_label_selector_parse(const char *s, vk_selector **out, char *err, size_t errlen)
{
    return parse(s, true, NULL, out, err, errlen);
}

int vk_field_selector_parse(const char *s, const char *const *fields, vk_selector **out, char *err,
                            size_t errlen)
{
    return parse(s, false, fields, out, err, errlen);
}

static bool match_one(const req *r, const char *v /* NULL: absent */)
{
    switch (r->op) {
    case OP_EXISTS:
        return v != NULL;
    case OP_NOTEXISTS:
        return v == NULL;
    case OP_EQ:
        return v && !strcmp(v, r->values[0]);
    case OP_NE:
        return !v || strcmp(v, r->values[0]);
    case OP_IN:
    case OP_NOTIN: {
        bool in = false;
        for (size_t i = 0; v && i < r->nvalues; i++)
            in |= !strcmp(v, r->values[i]);
        return r->op == OP_IN ? in : !in;
    }
    case OP_GT:
    case OP_LT: {
        if (!v)
            return false;
        char *end;
        long long a = strtoll(v, &end, 10);
        if (!*v || *end)
            return false;
        long long b = strtoll(r->values[0], NULL, 10);
        return r->op == OP_GT ? a > b : a < b;
    }
    }
    return false;
}

bool vk_selector_match_labels(const vk_selector *sel, const json_t *labels)
{
    for (size_t i = 0; sel && i < sel->n; i++) {
        const json_t *v = json_object_get(labels, sel->v[i].key);
        if (!match_one(&sel->v[i], json_is_string(v) ? json_string_value(v) : NULL))
            return false;
    }
    return true;
}

bool vk_selector_match_fields(const vk_selector *sel, const json_t *obj,
                              const char *(*get)(const json_t *, const char *, char *, size_t))
{
    char buf[256];
    for (size_t i = 0; sel && i < sel->n; i++) {
        const char *v = get(obj, sel->v[i].key, buf, sizeof buf);
        if (!match_one(&sel->v[i], v ? v : ""))
            return false;
    }
    return true;
}

const char *vk_selector_exact(const vk_selector *sel, const char *field)
{
    const char *val = NULL;
    for (size_t i = 0; sel && i < sel->n; i++) {
        if (strcmp(sel->v[i].key, field))
            continue;
        if (sel->v[i].op != OP_EQ || val)
            return NULL;
        val = sel->v[i].values[0];
    }
    return val;
}

/* ---- formatting (labels.Selector.String()) ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* One requirement: its key (the sort order) and its text. */
typedef struct {
    const char *key;
    char *text;
} fmt_req;

static int cmp_req(const void *a, const void *b)
{
    return strcmp(((const fmt_req *)a)->key, ((const fmt_req *)b)->key);
}

json_t *vk_label_selector_format(const json_t *sel)
{
    json_t *ml = json_object_get(sel, "matchLabels");
    json_t *me = json_object_get(sel, "matchExpressions");
    bool typed = json_is_object(ml) || json_is_array(me);
    if (!typed)
        ml = (json_t *)sel; /* an RC's selector is the label map itself */
    size_t n = json_object_size(ml) + json_array_size(me);
    fmt_req *reqs = calloc(n + 1, sizeof *reqs);
    size_t k = 0;
    const char *key;
    json_t *v;
    json_object_foreach(ml, key, v)
    {
        vk_buf b = {0};
        vk_buf_printf(&b, "%s=%s", key, json_string_value(v) ? json_string_value(v) : "");
        reqs[k++] = (fmt_req){key, b.data};
    }
    size_t i;
    json_t *e;
    json_array_foreach(me, i, e)
    {
        const char *op = json_string_value(json_object_get(e, "operator"));
        const char *ek = json_string_value(json_object_get(e, "key"));
        json_t *vals = json_object_get(e, "values");
        if (!op || !ek)
            continue;
        vk_buf b = {0};
        if (!strcmp(op, "Exists") || !strcmp(op, "DoesNotExist")) {
            vk_buf_printf(&b, "%s%s", *op == 'D' ? "!" : "", ek);
        } else {
            size_t nv = json_array_size(vals);
            const char **vs = calloc(nv + 1, sizeof *vs);
            for (size_t j = 0; j < nv; j++)
                vs[j] = json_string_value(json_array_get(vals, j));
            qsort(vs, nv, sizeof *vs, cmp_str);
            vk_buf_printf(&b, "%s %s (", ek, !strcmp(op, "In") ? "in" : "notin");
            for (size_t j = 0; j < nv; j++)
                vk_buf_printf(&b, "%s%s", j ? "," : "", vs[j] ? vs[j] : "");
            vk_buf_puts(&b, ")");
            free(vs);
        }
        reqs[k++] = (fmt_req){ek, b.data};
    }
    qsort(reqs, k, sizeof *reqs, cmp_req);
    vk_buf out = {0};
    vk_buf_puts(&out, "");
    for (size_t j = 0; j < k; j++) {
        vk_buf_printf(&out, "%s%s", j ? "," : "", reqs[j].text ? reqs[j].text : "");
        free(reqs[j].text);
    }
    free(reqs);
    json_t *s = json_string(out.data ? out.data : "");
    vk_buf_free(&out);
    return s;
}

bool vk_label_selector_matches(const json_t *sel, const json_t *labels)
{
    if (!json_is_object(sel))
        return false;
    json_t *text = vk_label_selector_format(sel);
    vk_selector *s = NULL;
    char err[256];
    bool m = !json_string_length(text) ||
             (!vk_label_selector_parse(json_string_value(text), &s, err, sizeof err) &&
              vk_selector_match_labels(s, labels));
    vk_selector_free(s);
    json_decref(text);
    return m;
}
