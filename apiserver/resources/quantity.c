/* resource.Quantity (quantity.h). */
#include "apiserver/resources/quantity.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool vk_qty_parse(const char *s, vk_qty *q)
{
    if (!s || !*s)
        return false;
    const char *p = s;
    int sign = 1;
    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    __int128 n = 0;
    int frac = 0, digits = 0;
    bool dot = false;
    for (; isdigit((unsigned char)*p) || *p == '.'; p++) {
        if (*p == '.') {
            if (dot)
                return false;
            dot = true;
            continue;
        }
        if (++digits > 30)
            return false;
        n = n * 10 + (*p - '0');
        if (dot)
            frac++;
    }
    if (!digits)
        return false;
    int exp10 = 0, pow1024 = 0;
    q->fmt = VK_Q_DECIMAL_SI;
    if (!*p) {
    } else if ((p[0] == 'e' || p[0] == 'E') && p[1]) {
        char *end;
        long e = strtol(p + 1, &end, 10);
        if (*end || e > 30 || e < -30 ||
            !(isdigit((unsigned char)p[1]) || p[1] == '-' || p[1] == '+'))
            return false;
        exp10 = (int)e;
        q->fmt = VK_Q_DECIMAL_EXP;
    } else if (p[1] == 'i' && !p[2] && strchr("KMGTPE", p[0])) {
        pow1024 = (int)(strchr("KMGTPE", p[0]) - "KMGTPE") + 1;
        q->fmt = VK_Q_BINARY_SI;
    } else if (!p[1]) {
        static const char sfx[] = "numkMGTPE";
        static const int e[] = {-9, -6, -3, 3, 6, 9, 12, 15, 18};
        const char *f = strchr(sfx, p[0]);
        if (!f)
            return false;
        exp10 = e[f - sfx];
    } else {
        return false;
    }
    /* milli = n * 10^(exp10 - frac + 3) * 1024^pow1024, rounded up */
    __int128 v = n;
    for (int i = 0; i < pow1024; i++)
        v *= 1024;
    int e = exp10 - frac + 3;
    q->exact = true;
    for (; e > 0; e--) {
        if (v > ((__int128)1 << 100))
            return false;
        v *= 10;
    }
    for (; e < 0; e++) {
        if (v % 10)
            q->exact = false;
        v /= 10;
    }
    if (!q->exact)
        v += 1;
    q->milli = sign * v;
    return true;
}

void vk_qty_format(const vk_qty *q, char *out, size_t n)
{
    __int128 v = q->milli;
    bool neg = v < 0;
    if (neg)
        v = -v;
    char num[64];
    const char *suffix = "";
    char sbuf[16];
    vk_qformat fmt = q->fmt;
    if (fmt == VK_Q_BINARY_SI && (v < (__int128)1024 * 1000 || v % 1000))
        fmt = VK_Q_DECIMAL_SI;
    __int128 m;
    if (v == 0) {
        snprintf(out, n, "0");
        return;
    }
    if (fmt == VK_Q_BINARY_SI) {
        static const char *const bs[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
        m = v / 1000;
        int k = 0;
        while (k < 6 && m % 1024 == 0) {
            m /= 1024;
            k++;
        }
        suffix = bs[k];
    } else {
        int e = -3;
        m = v;
        while (m % 1000 == 0 && e < 18) {
            m /= 1000;
            e += 3;
        }
        if (fmt == VK_Q_DECIMAL_EXP) {
            if (e)
                snprintf(sbuf, sizeof sbuf, "e%d", e);
            else
                sbuf[0] = 0;
            suffix = sbuf;
        } else {
            static const char *const ds[] = {"m", "", "k", "M", "G", "T", "P", "E"};
            suffix = ds[(e + 3) / 3];
        }
    }
    int i = (int)sizeof num - 1;
    num[i] = 0;
    do {
        num[--i] = (char)('0' + (int)(m % 10));
        m /= 10;
    } while (m && i > 0);
    snprintf(out, n, "%s%s%s", neg ? "-" : "", num + i, suffix);
}

bool vk_qty_of(const json_t *v, vk_qty *q)
{
    if (json_is_string(v))
        return vk_qty_parse(json_string_value(v), q);
    if (json_is_integer(v)) {
        char b[32];
        snprintf(b, sizeof b, "%lld", (long long)json_integer_value(v));
        return vk_qty_parse(b, q);
    }
    if (json_is_real(v)) {
        char b[64];
        snprintf(b, sizeof b, "%.9f", json_real_value(v));
        return vk_qty_parse(b, q);
    }
    return false;
}

json_t *vk_qty_json(const vk_qty *q)
{
    char b[64];
    vk_qty_format(q, b, sizeof b);
    return json_string(b);
}

void vk_qty_add(vk_qty *a, const vk_qty *b)
{
    if (!a->milli)
        a->fmt = b->fmt;
    a->milli += b->milli;
}

bool vk_quantity_milli(const char *s, long long *milli)
{
    vk_qty q;
    if (!vk_qty_parse(s, &q))
        return false;
    const __int128 cap = (__int128)1 << 62;
    *milli = (long long)(q.milli > cap ? cap : q.milli < -cap ? -cap : q.milli);
    return true;
}

void vk_quantities_canonical(json_t *list)
{
    const char *k;
    json_t *v;
    json_object_foreach(list, k, v)
    {
        vk_qty q;
        if (vk_qty_of(v, &q))
            json_object_set_new(list, k, vk_qty_json(&q));
    }
}

bool vk_quantity_valid(const json_t *v)
{
    vk_qty q;
    return vk_qty_of(v, &q);
}

void vk_rlist_free(vk_rlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].name);
    free(l->v);
    *l = (vk_rlist){0};
}

vk_qty *vk_rlist_get(const vk_rlist *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i].name, name))
            return &l->v[i].q;
    return NULL;
}

int vk_rlist_set(vk_rlist *l, const char *name, const vk_qty *q)
{
    vk_qty *cur = vk_rlist_get(l, name);
    if (cur) {
        *cur = *q;
        return 0;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        vk_rentry *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    char *n = strdup(name);
    if (!n)
        return -ENOMEM;
    l->v[l->n++] = (vk_rentry){n, *q};
    return 0;
}

int vk_rlist_add(vk_rlist *l, const char *name, const vk_qty *q)
{
    vk_qty *cur = vk_rlist_get(l, name);
    if (!cur)
        return vk_rlist_set(l, name, q);
    vk_qty_add(cur, q);
    return 0;
}

int vk_rlist_add_json(vk_rlist *l, const json_t *list)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)list, k, v)
    {
        vk_qty q;
        int rc = vk_qty_of(v, &q) ? vk_rlist_add(l, k, &q) : 0;
        if (rc)
            return rc;
    }
    return 0;
}

int vk_rlist_max(vk_rlist *l, const vk_rlist *o)
{
    for (size_t i = 0; i < o->n; i++) {
        vk_qty *cur = vk_rlist_get(l, o->v[i].name);
        if (cur && cur->milli < o->v[i].q.milli)
            *cur = o->v[i].q;
        else if (!cur && vk_rlist_set(l, o->v[i].name, &o->v[i].q))
            return -ENOMEM;
    }
    return 0;
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp((*(const vk_rentry *const *)a)->name, (*(const vk_rentry *const *)b)->name);
}

json_t *vk_rlist_json(const vk_rlist *l)
{
    json_t *o = json_object();
    const vk_rentry **v = malloc((l->n ? l->n : 1) * sizeof *v);
    for (size_t i = 0; v && i < l->n; i++)
        v[i] = &l->v[i];
    if (v)
        qsort(v, l->n, sizeof *v, cmp_entry);
    for (size_t i = 0; o && v && i < l->n; i++)
        json_object_set_new(o, v[i]->name, vk_qty_json(&v[i]->q));
    free(v);
    return o;
}
