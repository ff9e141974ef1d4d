#include "apiserver/http/reqinfo.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

enum { MAX_PARTS = 32 };

/* Splits the path at '/', dropping empty leading and trailing parts (not inner ones,
 * as Go's strings.Split of the trimmed path does). */
static int split(vk_req *r, const char *path, const char **parts, int max)
{
    while (*path == '/')
        path++;
    size_t len = strlen(path);
    while (len && path[len - 1] == '/')
        len--;
    if (!len)
        return 0;
    int n = 0;
    const char *p = path, *end = path + len;
    while (p <= end && n < max) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        const char *e = slash ? slash : end;
        parts[n] = vk_arena_strndup(&r->arena, p, (size_t)(e - p));
        if (!parts[n])
            return -ENOMEM;
        n++;
        p = e + 1;
    }
    return n;
}

static const char *lower_method(vk_req *r)
{
    char *m = vk_arena_strdup(&r->arena, r->method ? r->method : "");
    for (char *p = m; p && *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return m ? m : "";
}

/* fields.ParseSelector(fs).RequiresExactMatch("metadata.name"): the unescaped value of
 * its "metadata.name=" or "==" term, or NULL when there is none or the selector is
 * malformed (a term without an operator, an unescaped ',' or '=' in a value). */
static const char *selector_name(vk_req *r, const char *fs)
{
    const char *found = NULL;
    for (const char *p = fs;;) {
        const char *e = p;
        while (*e && *e != ',')
            e += e[0] == '\\' && e[1] ? 2 : 1;
        size_t len = (size_t)(e - p), i, oplen = 0;
        for (i = 0; i < len && !oplen; i++) {
            if ((p[i] == '!' || p[i] == '=') && i + 1 < len && p[i + 1] == '=')
                oplen = 2;
            else if (p[i] == '=')
                oplen = 1;
        }
        if (len && !oplen)
            return NULL;
        if (len) {
            i--; /* the operator's start */
            const char *v = p + i + oplen;
            size_t vlen = len - i - oplen, o = 0;
            char *val = vk_arena_alloc(&r->arena, vlen + 1);
            if (!val)
                return NULL;
            for (size_t j = 0; j < vlen; j++) {
                char c = v[j];
                if (c == '\\') {
                    if (j + 1 == vlen)
                        return NULL;
                    c = v[++j];
                    if (c != '\\' && c != ',' && c != '=')
                        return NULL;
                } else if (c == ',' || c == '=') {
                    return NULL;
                }
                val[o++] = c;
            }
            val[o] = 0;
            if (!found && p[i] != '!' && i == 13 && !memcmp(p, "metadata.name", 13))
                found = val;
        }
        if (!*e)
            return found;
        p = e + 1;
    }
}

int vk_reqinfo_parse(vk_req *r, vk_reqinfo *ri)
{
    memset(ri, 0, sizeof *ri);
    ri->group = ri->version = ri->resource = ri->subresource = ri->namespace_ = ri->name = "";
    ri->api_prefix = "";
    ri->verb = lower_method(r);
    const char *all[MAX_PARTS];
    int n = split(r, r->path, all, MAX_PARTS);
    if (n < 0)
        return n;
    if (n < 3 || (strcmp(all[0], "api") && strcmp(all[0], "apis")))
        return 0;
    const char **p = all + 1;
    int left = n - 1;
    ri->api_prefix = all[0];
    if (!strcmp(all[0], "apis")) {
        if (left < 3)
            return 0;
        ri->group = p[0];
        p++;
        left--;
    }
    ri->is_resource = true;
    ri->version = p[0];
    p++;
    left--;

    static const struct {
        const char *method, *verb;
    } verbs[] = {{"POST", "create"}, {"GET", "get"},     {"HEAD", "get"},
                 {"PUT", "update"},  {"PATCH", "patch"}, {"DELETE", "delete"}};
    bool special = left > 0 && (!strcmp(p[0], "watch") || !strcmp(p[0], "proxy"));
    if (special) {
        if (left < 2) {
            ri->is_resource = false;
            return 0;
        }
        ri->verb = p[0];
        p++;
        left--;
    } else {
        ri->verb = "";
        for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
            if (r->method && !strcmp(r->method, verbs[i].method))
                ri->verb = verbs[i].verb;
    }

    if (left > 0 && !strcmp(p[0], "namespaces")) {
        if (left > 1) {
            ri->namespace_ = p[1];
            if (left > 2 && strcmp(p[2], "status") && strcmp(p[2], "finalize")) {
                p += 2;
                left -= 2;
            }
        }
    }
    for (int i = 0; i < left && i < 8; i++)
        ri->parts[i] = p[i];
    ri->nparts = left < 8 ? left : 8;
    if (left >= 3 && strcmp(ri->verb, "proxy"))
        ri->subresource = p[2];
    if (left >= 2)
        ri->name = p[1];
    if (left >= 1)
        ri->resource = p[0];

    if (!*ri->name && !strcmp(ri->verb, "get")) {
        /* Go's Convert_Slice_string_To_bool: present and not "0" or "false". */
        const char *w = vk_req_query(r, "watch");
        bool watch = w && strcmp(w, "0") && strcasecmp(w, "false");
        ri->verb = watch ? "watch" : "list";
        /* fieldSelector=metadata.name=X names the object, for authorization. */
        const char *fs = vk_req_query(r, "fieldSelector");
        const char *v = fs ? selector_name(r, fs) : NULL;
        if (v && *v && !strchr(v, '/') && !strchr(v, '%') && strcmp(v, ".") && strcmp(v, ".."))
            ri->name = v;
    }
    if (!*ri->name && !strcmp(ri->verb, "delete"))
        ri->verb = "deletecollection";
    return 0;
}
