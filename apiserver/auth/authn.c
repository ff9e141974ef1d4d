#include "apiserver/auth/authn.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"

typedef struct token_entry {
    char *token, *user, *uid;
    char **groups; /* NULL-terminated */
} token_entry;

struct vk_tokens {
    token_entry *v;
    size_t n;
};

void vk_tokens_free(vk_tokens *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++) {
        free(t->v[i].token);
        free(t->v[i].user);
        free(t->v[i].uid);
        for (char **g = t->v[i].groups; g && *g; g++)
            free(*g);
        free(t->v[i].groups);
    }
    free(t->v);
    free(t);
}

/* One CSV line into fields (RFC 4180 quoting, as Go's encoding/csv reads it). Returns
 * the field count, or -1 on a malformed quote. Fields are malloc'd. */
static int csv_fields(const char *line, size_t len, char **f, int max)
{
    int n = 0;
    size_t i = 0;
    for (;;) {
        vk_buf b = {0};
        if (i < len && line[i] == '"') {
            i++;
            for (;;) {
                if (i >= len) {
                    vk_buf_free(&b);
                    return -1;
                }
                if (line[i] == '"') {
                    if (i + 1 < len && line[i + 1] == '"') {
                        vk_buf_append(&b, "\"", 1);
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                vk_buf_append(&b, line + i, 1);
                i++;
            }
            if (i < len && line[i] != ',') {
                vk_buf_free(&b);
                return -1;
            }
        } else {
            size_t start = i;
            while (i < len && line[i] != ',')
                i++;
            vk_buf_append(&b, line + start, i - start);
        }
        if (n < max)
            f[n] = b.data ? vk_buf_steal(&b) : strdup("");
        else
            vk_buf_free(&b);
        n++;
        if (i >= len)
            return n;
        i++; /* the comma */
    }
}

static char **split_groups(const char *s)
{
    size_t count = 1;
    for (const char *p = s; *p; p++)
        count += *p == ',';
    char **g = calloc(count + 1, sizeof *g);
    if (!g)
        return NULL;
    size_t n = 0;
    for (const char *p = s; *p;) {
        size_t len = strcspn(p, ",");
        if (len && !(g[n++] = strndup(p, len)))
            break;
        p += len + (p[len] == ',');
    }
    return g;
}

int vk_tokens_parse(const char *text, size_t len, vk_tokens **out, char *err, size_t errlen)
{
    vk_tokens *t = calloc(1, sizeof *t);
    if (!t)
        return -ENOMEM;
    size_t off = 0, lineno = 0, cap = 0;
    while (off < len) {
        const char *nl = memchr(text + off, '\n', len - off);
        size_t l = nl ? (size_t)(nl - (text + off)) : len - off;
        const char *line = text + off;
        off += l + (nl ? 1 : 0);
        lineno++;
        if (l && line[l - 1] == '\r')
            l--;
        if (!l)
            continue;
        char *f[5] = {0};
        int nf = csv_fields(line, l, f, 5);
        if (nf < 3 || !*f[0] || !*f[1]) {
            snprintf(err, errlen, "token file line %zu: want token,user,uid[,groups]", lineno);
            for (int i = 0; i < 5; i++) /* also the fields before a bad quote */
                free(f[i]);
            vk_tokens_free(t);
            return VK_EINVALID;
        }
        if (t->n == cap) {
            cap = cap ? cap * 2 : 8;
            token_entry *v = realloc(t->v, cap * sizeof *v);
            if (!v) {
                for (int i = 0; i < 5; i++)
                    free(f[i]);
                vk_tokens_free(t);
                return -ENOMEM;
            }
            t->v = v;
        }
        token_entry *e = &t->v[t->n++];
        e->token = f[0];
        e->user = f[1];
        e->uid = f[2];
        e->groups = split_groups(nf >= 4 ? f[3] : "");
        for (int i = 3; i < 5 && i < nf; i++)
            free(f[i]);
        if (!e->groups) {
            vk_tokens_free(t);
            return -ENOMEM;
        }
    }
    *out = t;
    return 0;
}

int vk_tokens_load(const char *path, vk_tokens **out, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        int e = errno;
        snprintf(err, errlen, "token file %s: %s", path, strerror(e));
        return -e;
    }
    vk_buf b = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
        vk_buf_append(&b, chunk, n);
    fclose(fp);
    int rc = vk_tokens_parse(b.data ? b.data : "", b.len, out, err, errlen);
    vk_buf_free(&b);
    return rc;
}

static const token_entry *find_token(const vk_tokens *t, const char *tok)
{
    size_t tl = strlen(tok);
    const token_entry *found = NULL;
    for (size_t i = 0; t && i < t->n; i++) {
        size_t el = strlen(t->v[i].token);
        if (el == tl && !CRYPTO_memcmp(t->v[i].token, tok, tl))
            found = &t->v[i];
    }
    return found;
}

bool vk_tokens_lookup(const vk_tokens *t, const char *token, const char **user, const char **uid,
                      const char *const **groups)
{
    const token_entry *e = token && *token ? find_token(t, token) : NULL;
    if (!e)
        return false;
    *user = e->user;
    *uid = e->uid;
    *groups = (const char *const *)e->groups;
    return true;
}

/* Groups plus system:authenticated, in the request's arena. */
static const char **with_authenticated(vk_req *r, const char *const *groups)
{
    size_t n = 0;
    bool has = false;
    for (; groups && groups[n]; n++)
        has |= !strcmp(groups[n], "system:authenticated");
    const char **g = vk_arena_alloc(&r->arena, (n + 2) * sizeof *g);
    if (!g)
        return NULL;
    for (size_t i = 0; i < n; i++)
        g[i] = groups[i];
    if (!has)
        g[n++] = "system:authenticated";
    g[n] = NULL;
    return g;
}

int vk_authenticate(vk_req *r, const vk_tokens *tokens)
{
    static const char *const anon_groups[] = {"system:unauthenticated", NULL};
    if (r->conn && r->conn->cert_user) {
        r->user.name = r->conn->cert_user;
        r->user.groups = with_authenticated(r, r->conn->cert_groups);
        return r->user.groups ? 0 : -ENOMEM;
    }
    const char *auth = vk_req_header(r, "authorization");
    if (auth && !strncasecmp(auth, "bearer ", 7)) {
        const char *tok = auth + 7;
        while (*tok == ' ')
            tok++;
        const token_entry *e = *tok ? find_token(tokens, tok) : NULL;
        if (!e)
            return VK_EINVALID;
        r->user.name = e->user;
        r->user.uid = e->uid;
        r->user.groups = with_authenticated(r, (const char *const *)e->groups);
        return r->user.groups ? 0 : -ENOMEM;
    }
    r->user.name = "system:anonymous";
    r->user.groups = (const char **)anon_groups;
    return 0;
}

bool vk_user_in_group(const vk_user *u, const char *g)
{
    for (const char **p = u->groups; p && *p; p++)
        if (!strcmp(*p, g))
            return true;
    return false;
}

vk_user *vk_user_dup(const vk_user *u)
{
    size_t n = 0;
    while (u->groups && u->groups[n])
        n++;
    vk_user *c = calloc(1, sizeof *c);
    const char **g = c ? calloc(n + 1, sizeof *g) : NULL;
    if (!g) {
        free(c);
        return NULL;
    }
    c->groups = g;
    c->name = strdup(u->name ? u->name : "");
    c->uid = strdup(u->uid ? u->uid : "");
    bool ok = c->name && c->uid;
    for (size_t i = 0; ok && i < n; i++)
        ok = (g[i] = strdup(u->groups[i])) != NULL;
    if (!ok) {
        vk_user_free(c);
        return NULL;
    }
    return c;
}

void vk_user_free(vk_user *u)
{
    if (!u)
        return;
    for (const char **g = u->groups; g && *g; g++)
        free((char *)*g);
    free(u->groups);
    free((char *)u->name);
    free((char *)u->uid);
    free(u);
}
