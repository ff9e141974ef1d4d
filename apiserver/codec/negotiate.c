#include "apiserver/codec/negotiate.h"

#include <stdlib.h>
#include <string.h>

#include "common/err.h"

typedef struct clause {
    char type[64], subtype[96];
    char as[48], g[48], v[16];
    double q;
    int specificity, order;
} clause;

static void trim(char **s, char **e)
{
    while (*s < *e && (**s == ' ' || **s == '\t'))
        (*s)++;
    while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
        (*e)--;
}

static void copy(char *dst, size_t cap, const char *s, const char *e)
{
    size_t n = (size_t)(e - s);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, s, n);
    dst[n] = 0;
}

static int parse_clause(char *s, char *e, clause *c)
{
    memset(c, 0, sizeof *c);
    c->q = 1.0;
    char *semi = memchr(s, ';', (size_t)(e - s));
    char *te = semi ? semi : e;
    trim(&s, &te);
    char *slash = memchr(s, '/', (size_t)(te - s));
    if (!slash)
        return -1;
    copy(c->type, sizeof c->type, s, slash);
    copy(c->subtype, sizeof c->subtype, slash + 1, te);
    bool params = false;
    while (semi) {
        char *ps = semi + 1;
        semi = memchr(ps, ';', (size_t)(e - ps));
        char *pe = semi ? semi : e;
        trim(&ps, &pe);
        char *eq = memchr(ps, '=', (size_t)(pe - ps));
        if (!eq)
            continue;
        char key[16], val[96];
        copy(key, sizeof key, ps, eq);
        copy(val, sizeof val, eq + 1, pe);
        if (!strcmp(key, "q"))
            c->q = strtod(val, NULL);
        else {
            params = true;
            if (!strcmp(key, "as"))
                copy(c->as, sizeof c->as, eq + 1, pe);
            else if (!strcmp(key, "g"))
                copy(c->g, sizeof c->g, eq + 1, pe);
            else if (!strcmp(key, "v"))
                copy(c->v, sizeof c->v, eq + 1, pe);
        }
    }
    c->specificity = strcmp(c->type, "*") == 0 ? 0 : strcmp(c->subtype, "*") == 0 ? 1 : 2;
    if (params)
        c->specificity++;
    return 0;
}

static int by_preference(const void *a, const void *b)
{
    const clause *x = a, *y = b;
    if (x->q != y->q)
        return x->q > y->q ? -1 : 1;
    if (x->specificity != y->specificity)
        return y->specificity - x->specificity;
    return x->order - y->order;
}

/* The serializer a clause selects, trying the server's order (JSON, YAML, protobuf),
 * so wildcards mean JSON. 0 when none matches. */
static enum vk_format clause_format(const clause *c)
{
    bool any_type = !strcmp(c->type, "*");
    bool app = any_type || !strcmp(c->type, "application");
    bool any_sub = !strcmp(c->subtype, "*");
    if (app && (any_sub || !strcmp(c->subtype, "json")))
        return VK_FMT_JSON;
    if (app && !strcmp(c->subtype, "yaml"))
        return VK_FMT_YAML;
    if (app && !strcmp(c->subtype, "vnd.kubernetes.protobuf"))
        return VK_FMT_PROTOBUF;
    return 0;
}

int vk_negotiate(const char *accept, bool table_ok, bool list, vk_accept *out)
{
    *out = (vk_accept){VK_FMT_JSON, VK_AS_OBJECT, NULL};
    if (!accept || !*accept)
        return 0;
    enum { MAX = 16 };
    clause cs[MAX];
    int n = 0;
    char buf[2048];
    size_t len = strlen(accept);
    if (len >= sizeof buf)
        len = sizeof buf - 1;
    memcpy(buf, accept, len);
    buf[len] = 0;
    for (char *s = buf; s && n < MAX;) {
        char *comma = strchr(s, ',');
        char *e = comma ? comma : buf + len;
        if (!parse_clause(s, e, &cs[n])) {
            cs[n].order = n;
            n++;
        }
        s = comma ? comma + 1 : NULL;
    }
    qsort(cs, (size_t)n, sizeof cs[0], by_preference);
    for (int i = 0; i < n; i++) {
        const clause *c = &cs[i];
        enum vk_format f = clause_format(c);
        if (c->q <= 0 || !f)
            continue;
        if (!*c->as) {
            *out = (vk_accept){f, VK_AS_OBJECT, NULL};
            return 0;
        }
        bool meta_v =
            !strcmp(c->g, "meta.k8s.io") && (!strcmp(c->v, "v1") || !strcmp(c->v, "v1beta1"));
        if (!meta_v)
            continue;
        const char *v = !strcmp(c->v, "v1") ? "v1" : "v1beta1";
        /* Table is served as JSON only; PartialObjectMetadata in any format. */
        if (!strcmp(c->as, "Table") && table_ok && f == VK_FMT_JSON) {
            *out = (vk_accept){VK_FMT_JSON, VK_AS_TABLE, v};
            return 0;
        }
        if ((!list && !strcmp(c->as, "PartialObjectMetadata")) ||
            (list && !strcmp(c->as, "PartialObjectMetadataList"))) {
            *out = (vk_accept){f, VK_AS_PARTIAL, v};
            return 0;
        }
    }
    return VK_EINVALID;
}
