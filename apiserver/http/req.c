#include "apiserver/http/req.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"

vk_req *vk_req_new(const vk_req_ops *ops, void *proto_data, enum vk_proto proto,
                   const vk_conn_info *conn)
{
    vk_req *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->ops = ops;
    r->proto_data = proto_data;
    r->proto = proto;
    r->conn = conn;
    r->query = "";
    return r;
}

void vk_req_free(vk_req *r)
{
    if (!r)
        return;
    if (!r->ended && r->on_abort) {
        void (*cb)(vk_req *, void *) = r->on_abort;
        r->on_abort = NULL;
        cb(r, r->abort_data);
    }
    free(r->headers);
    free(r->resp_headers);
    vk_buf_free(&r->body);
    vk_arena_free(&r->arena);
    free(r);
}

static int push_header(vk_req *r, vk_header **arr, size_t *n, size_t *cap, const char *name,
                       const char *value)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        vk_header *p = realloc(*arr, c * sizeof *p);
        if (!p)
            return -ENOMEM;
        *arr = p;
        *cap = c;
    }
    (*arr)[*n].name = name;
    (*arr)[*n].value = value;
    (*n)++;
    return 0;
}

int vk_req_add_header(vk_req *r, const char *name, size_t nlen, const char *value, size_t vlen)
{
    char *n = vk_arena_strndup(&r->arena, name, nlen);
    char *v = vk_arena_strndup(&r->arena, value, vlen);
    if (!n || !v)
        return -ENOMEM;
    for (char *p = n; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    r->header_bytes += nlen + vlen;
    return push_header(r, &r->headers, &r->nheaders, &r->cap_headers, n, v);
}

const char *vk_req_header(const vk_req *r, const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (!strcmp(r->headers[i].name, name))
            return r->headers[i].value;
    return NULL;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decodes %XX and '+' of a query component into dst (at most n bytes in). */
static size_t query_unescape(char *dst, const char *src, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (src[i] == '+') {
            dst[o++] = ' ';
        } else if (src[i] == '%' && i + 2 < n && hexval(src[i + 1]) >= 0 &&
                   hexval(src[i + 2]) >= 0) {
            dst[o++] = (char)(hexval(src[i + 1]) * 16 + hexval(src[i + 2]));
            i += 2;
        } else {
            dst[o++] = src[i];
        }
    }
    dst[o] = 0;
    return o;
}

const char *vk_req_query(vk_req *r, const char *key)
{
    const char *q = r->query;
    size_t klen = strlen(key);
    while (*q) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        const char *eq = memchr(q, '=', len);
        size_t nlen = eq ? (size_t)(eq - q) : len;
        char *name = vk_arena_alloc(&r->arena, nlen + 1);
        if (!name)
            return NULL;
        query_unescape(name, q, nlen);
        if (strlen(name) == klen && !memcmp(name, key, klen)) {
            size_t vlen = eq ? len - nlen - 1 : 0;
            char *v = vk_arena_alloc(&r->arena, vlen + 1);
            if (!v)
                return NULL;
            query_unescape(v, eq ? eq + 1 : "", vlen);
            return v;
        }
        q += len;
        if (*q == '&')
            q++;
    }
    return NULL;
}

int vk_resp_header(vk_req *r, const char *name, const char *value)
{
    if (r->started)
        return VK_EINVALID;
    char *n = vk_arena_strdup(&r->arena, name);
    char *v = vk_arena_strdup(&r->arena, value);
    if (!n || !v)
        return -ENOMEM;
    /* HTTP/2 forbids upper-case field names; h2's hop-by-hop filter compares lower case. */
    for (char *p = n; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return push_header(r, &r->resp_headers, &r->nresp_headers, &r->cap_resp_headers, n, v);
}

int vk_resp_header_set(vk_req *r, const char *name, const char *value)
{
    if (r->started)
        return VK_EINVALID;
    for (size_t i = 0; i < r->nresp_headers; i++) {
        if (!strcasecmp(r->resp_headers[i].name, name)) {
            char *v = vk_arena_strdup(&r->arena, value);
            if (!v)
                return -ENOMEM;
            r->resp_headers[i].value = v;
            return 0;
        }
    }
    return vk_resp_header(r, name, value);
}

static int start(vk_req *r, int status, long long len)
{
    if (r->started)
        return VK_EINVALID;
    r->status = status;
    r->started = true;
    return r->ops->start(r, len);
}

int vk_resp_start(vk_req *r, int status)
{
    return start(r, status, -1);
}

int vk_resp_write(vk_req *r, const void *data, size_t n)
{
    if (!r->started || r->ended)
        return VK_EINVALID;
    if (!n)
        return 0;
    r->resp_bytes += n;
    return r->ops->write(r, data, n);
}

int vk_resp_end(vk_req *r)
{
    if (!r->started || r->ended)
        return VK_EINVALID;
    r->ended = true;
    if (r->on_done)
        r->on_done(r);
    return r->ops->end(r);
}

int vk_resp_send(vk_req *r, int status, const char *content_type, const void *body, size_t n)
{
    int rc = 0;
    if (content_type)
        rc = vk_resp_header(r, "content-type", content_type);
    if (!rc)
        rc = start(r, status, (long long)n);
    if (!rc && n) {
        r->resp_bytes += n;
        rc = r->ops->write(r, body, n);
    }
    if (!rc) {
        r->ended = true;
        if (r->on_done)
            r->on_done(r);
        rc = r->ops->end(r);
    }
    return rc;
}

size_t vk_req_pending(const vk_req *r)
{
    return (r->conn ? r->conn->write_pending : 0) + (r->ops->pending ? r->ops->pending(r) : 0);
}

int vk_resp_warning(vk_req *r, const char *text)
{
    vk_buf v = {0};
    vk_buf_puts(&v, "299 - \"");
    for (const char *p = text; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            continue;
        if (*p == '"' || *p == '\\')
            vk_buf_append(&v, "\\", 1);
        vk_buf_append(&v, p, 1);
    }
    vk_buf_puts(&v, "\"");
    int rc = v.data ? 0 : -ENOMEM;
    for (size_t i = 0; !rc && i < r->nresp_headers; i++)
        if (!strcmp(r->resp_headers[i].name, "warning") &&
            !strcmp(r->resp_headers[i].value, v.data))
            rc = 1;
    if (!rc)
        rc = vk_resp_header(r, "warning", v.data);
    vk_buf_free(&v);
    return rc < 0 ? rc : 0;
}

int vk_req_upgrade(vk_req *r, const vk_upgrade_ops *ops, void *ud, vk_upgraded **out)
{
    if (!r->ops->upgrade || r->status != 101 || !r->started || r->ended)
        return VK_EINVALID;
    r->ended = true;
    if (r->on_done)
        r->on_done(r);
    return r->ops->upgrade(r, ops, ud, out);
}
