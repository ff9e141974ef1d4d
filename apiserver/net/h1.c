/* HTTP/1.1 server session over http-parser, sans-I/O.
 *
 * Invariants: at most one request is being answered at a time (`active`); input that
 * arrives meanwhile (pipelining) waits in `in` and is parsed once the response ends.
 * The parser is paused after each complete message. A response with a known length
 * gets Content-Length; a streamed one is chunked (HTTP/1.1) or ends with the
 * connection (HTTP/1.0). A request we cannot parse gets Go's plain "400 Bad Request"
 * and the connection closes. */
#include <errno.h>
#include <stddef.h>
#include <http_parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/net/session.h"
#include "common/err.h"

typedef struct h1_session {
    vk_session base;
    http_parser parser;
    vk_req *cur;    /* being parsed */
    vk_req *active; /* being answered */
    vk_buf in, out;
    vk_buf field, value; /* header being assembled (callbacks may split it) */
    vk_buf url;
    bool in_value;
    bool closing; /* close once the output is flushed */
    bool shut;    /* shutdown(): finish the current response, then close */
    bool chunked; /* the active response is chunked */
    bool close_delimited;
    bool keep_alive;
    bool upgrade;
    bool pumping;
    /* After a 101 the connection belongs to the upgrade handler. */
    vk_upgraded up;
    const vk_upgrade_ops *up_ops;
    void *up_ud;
    bool upgraded, up_closed;
} h1_session;

static const vk_req_ops h1_req_ops;

static int flush_header(h1_session *s)
{
    if (!s->field.len)
        return 0;
    vk_req *r = s->cur;
    int rc = vk_req_add_header(r, s->field.data, s->field.len, s->value.data ? s->value.data : "",
                               s->value.len);
    vk_buf_reset(&s->field);
    vk_buf_reset(&s->value);
    return rc;
}

static int too_big(h1_session *s, size_t more)
{
    return s->cur->header_bytes + s->field.len + s->value.len + s->url.len + more >
           s->base.limits.max_header_bytes;
}

static int on_message_begin(http_parser *p)
{
    h1_session *s = p->data;
    s->cur = vk_req_new(&h1_req_ops, s, VK_PROTO_H1, s->base.conn);
    if (!s->cur)
        return -1;
    s->base.partial = true;
    vk_buf_reset(&s->url);
    vk_buf_reset(&s->field);
    vk_buf_reset(&s->value);
    s->in_value = false;
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
    h1_session *s = p->data;
    if (too_big(s, n))
        return -1;
    return vk_buf_append(&s->url, at, n) ? -1 : 0;
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
    h1_session *s = p->data;
    if (s->in_value) {
        if (flush_header(s))
            return -1;
        s->in_value = false;
    }
    if (too_big(s, n))
        return -1;
    return vk_buf_append(&s->field, at, n) ? -1 : 0;
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
    h1_session *s = p->data;
    s->in_value = true;
    if (too_big(s, n))
        return -1;
    return vk_buf_append(&s->value, at, n) ? -1 : 0;
}

static int on_headers_complete(http_parser *p)
{
    h1_session *s = p->data;
    vk_req *r = s->cur;
    if (flush_header(s))
        return -1;
    r->method = http_method_str((enum http_method)p->method);
    const char *u = s->url.data ? s->url.data : "";
    const char *q = strchr(u, '?');
    size_t plen = q ? (size_t)(q - u) : strlen(u);
    /* Absolute-form targets ("http://host/path") keep only their path. */
    const char *path = u;
    size_t scheme = !strncmp(u, "http://", 7) ? 7 : !strncmp(u, "https://", 8) ? 8 : 0;
    if (scheme) {
        const char *slash = strchr(u + scheme, '/');
        if (slash && (!q || slash < q)) {
            path = slash;
            plen = q ? (size_t)(q - path) : strlen(path);
        } else {
            path = "/";
            plen = 1;
        }
    }
    r->path = vk_arena_strndup(&r->arena, path, plen);
    r->query = q ? vk_arena_strdup(&r->arena, q + 1) : "";
    if (!r->path || !r->query || r->path[0] != '/')
        return -1;
    if (p->content_length != (uint64_t)-1 && p->content_length > s->base.limits.max_body)
        r->body_too_large = true;
    const char *expect = vk_req_header(r, "expect");
    if (expect && !strcasecmp(expect, "100-continue") && !r->body_too_large)
        vk_buf_puts(&s->out, "HTTP/1.1 100 Continue\r\n\r\n");
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
    h1_session *s = p->data;
    vk_req *r = s->cur;
    if (r->body_too_large || r->body.len + n > s->base.limits.max_body) {
        r->body_too_large = true;
        vk_buf_free(&r->body);
        return 0;
    }
    return vk_buf_append(&r->body, at, n) ? -1 : 0;
}

static int on_message_complete(http_parser *p)
{
    h1_session *s = p->data;
    vk_req *r = s->cur;
    s->cur = NULL;
    s->base.partial = false;
    s->keep_alive = http_should_keep_alive(p) && !p->upgrade;
    s->upgrade = p->upgrade;
    s->active = r;
    s->base.active++;
    http_parser_pause(p, 1);
    s->base.cb->on_request(s->base.ud, r);
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

static void bad_request(h1_session *s)
{
    static const char msg[] = "HTTP/1.1 400 Bad Request\r\n"
                              "Content-Type: text/plain; charset=utf-8\r\n"
                              "Connection: close\r\n\r\n400 Bad Request";
    vk_buf_append(&s->out, msg, sizeof msg - 1);
    s->closing = true;
}

/* Parses buffered input while no response is outstanding. */
static int pump(h1_session *s)
{
    if (s->upgraded) {
        if (s->in.len && !s->up_closed && !s->pumping) {
            s->pumping = true;
            vk_buf in = s->in;
            s->in = (vk_buf){0};
            s->up_ops->on_data(s->up_ud, (const uint8_t *)in.data, in.len);
            vk_buf_free(&in);
            s->pumping = false;
        }
        return 0;
    }
    if (s->pumping)
        return 0;
    s->pumping = true;
    int rc = 0;
    while (!s->active && !s->closing && !s->shut && s->in.len) {
        size_t n = http_parser_execute(&s->parser, &settings, s->in.data, s->in.len);
        enum http_errno e = HTTP_PARSER_ERRNO(&s->parser);
        if (e == HPE_PAUSED) {
            http_parser_pause(&s->parser, 0);
        } else if (e != HPE_OK) {
            if (s->cur) {
                vk_req_free(s->cur);
                s->cur = NULL;
                s->base.partial = false;
            }
            bad_request(s);
            rc = VK_EPROTO;
            break;
        }
        vk_buf_consume(&s->in, n);
        if (s->upgrade) {
            /* The rest belongs to the upgraded protocol: it waits for the handler
             * (below, once upgraded). Refused upgrades close after the answer. */
            if (!s->active && !s->upgraded)
                vk_buf_reset(&s->in);
            break;
        }
        if (!n && e == HPE_OK)
            break;
    }
    s->pumping = false;
    return rc;
}

static int h1_feed(vk_session *base, const uint8_t *data, size_t n)
{
    h1_session *s = (h1_session *)base;
    if (s->upgraded) {
        if (!s->up_closed && !s->in.len)
            s->up_ops->on_data(s->up_ud, data, n);
        else if (!s->up_closed && vk_buf_append(&s->in, data, n))
            return -ENOMEM;
        return 0;
    }
    if (s->closing)
        return 0;
    /* Waiting input is bounded by the header limit plus a body. */
    if (s->in.len + n > base->limits.max_header_bytes + base->limits.max_body + 65536) {
        /* A 400 now would land inside the response being sent: just close. */
        if (s->active)
            s->closing = true;
        else
            bad_request(s);
        return VK_ETOOLARGE;
    }
    if (vk_buf_append(&s->in, data, n))
        return -ENOMEM;
    return pump(s);
}

static const char *reason_phrase(int code)
{
    switch (code) {
    case 100:
        return "Continue";
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 413:
        return "Request Entity Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Entity";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "Status";
    }
}

static int h1_start(vk_req *r, long long len)
{
    h1_session *s = r->proto_data;
    vk_buf *o = &s->out;
    bool http10 = s->parser.http_major == 1 && s->parser.http_minor == 0;
    if (s->shut || s->upgrade)
        s->keep_alive = false;
    int rc = vk_buf_printf(o, "HTTP/1.1 %d %s\r\n", r->status, reason_phrase(r->status));
    for (size_t i = 0; i < r->nresp_headers && !rc; i++)
        rc = vk_buf_printf(o, "%s: %s\r\n", r->resp_headers[i].name, r->resp_headers[i].value);
    s->chunked = s->close_delimited = false;
    bool no_body = r->status == 204 || r->status == 304 || r->status / 100 == 1;
    if (!rc && len >= 0 && !no_body) {
        rc = vk_buf_printf(o, "Content-Length: %lld\r\n", len);
    } else if (!rc && len < 0 && !no_body) {
        if (http10) {
            s->close_delimited = true;
            s->keep_alive = false;
        } else {
            s->chunked = true;
            rc = vk_buf_puts(o, "Transfer-Encoding: chunked\r\n");
        }
    }
    if (!rc && !s->keep_alive)
        rc = vk_buf_puts(o, "Connection: close\r\n");
    else if (!rc && http10)
        rc = vk_buf_puts(o, "Connection: keep-alive\r\n");
    if (!rc)
        rc = vk_buf_puts(o, "\r\n");
    s->base.cb->want_flush(s->base.ud);
    return rc;
}

static int h1_write(vk_req *r, const void *data, size_t n)
{
    h1_session *s = r->proto_data;
    if (!strcmp(r->method, "HEAD"))
        return 0;
    int rc = 0;
    if (s->chunked)
        rc = vk_buf_printf(&s->out, "%zx\r\n", n);
    if (!rc)
        rc = vk_buf_append(&s->out, data, n);
    if (!rc && s->chunked)
        rc = vk_buf_puts(&s->out, "\r\n");
    s->base.cb->want_flush(s->base.ud);
    return rc;
}

static int h1_end(vk_req *r)
{
    h1_session *s = r->proto_data;
    int rc = 0;
    if (s->chunked && strcmp(r->method, "HEAD"))
        rc = vk_buf_puts(&s->out, "0\r\n\r\n");
    if (!s->keep_alive || s->close_delimited)
        s->closing = true;
    s->active = NULL;
    s->base.active--;
    vk_req_free(r);
    s->base.cb->want_flush(s->base.ud);
    return rc;
}

static int up_write(vk_upgraded *u, const void *data, size_t n)
{
    h1_session *s = (h1_session *)((char *)u - offsetof(h1_session, up));
    if (s->up_closed)
        return VK_ECLOSED;
    int rc = vk_buf_append(&s->out, data, n);
    s->base.cb->want_flush(s->base.ud);
    return rc;
}

static void up_close(vk_upgraded *u)
{
    h1_session *s = (h1_session *)((char *)u - offsetof(h1_session, up));
    s->up_closed = true;
    s->base.active = 0;
    s->base.cb->want_flush(s->base.ud);
}

/* The 101 is written: the request is finished and the connection is the handler's.
 * The session stays "active" so idle timeouts leave long streams (exec) alone. */
static int h1_upgrade(vk_req *r, const vk_upgrade_ops *ops, void *ud, vk_upgraded **out)
{
    h1_session *s = r->proto_data;
    if (!s->upgrade || s->active != r)
        return VK_EINVALID;
    s->up = (vk_upgraded){up_write, up_close};
    s->up_ops = ops;
    s->up_ud = ud;
    s->upgraded = true;
    s->keep_alive = false;
    s->active = NULL;
    vk_req_free(r);
    *out = &s->up;
    s->base.cb->want_flush(s->base.ud); /* leftover input reaches the handler in pump */
    return 0;
}

/* Output still in the session: the connection takes it at the next flush. */
static size_t h1_pending(const vk_req *r)
{
    const h1_session *s = r->proto_data;
    return s->out.len;
}

static const vk_req_ops h1_req_ops = {h1_start, h1_write, h1_end, h1_pending, h1_upgrade};

static int h1_produce(vk_session *base, vk_buf *out)
{
    h1_session *s = (h1_session *)base;
    /* A response that ended may have unblocked pipelined input. */
    pump(s);
    if (s->out.len) {
        if (!out->len) {
            vk_buf tmp = *out;
            *out = s->out;
            s->out = tmp;
        } else if (vk_buf_append(out, s->out.data, s->out.len)) {
            return -ENOMEM;
        }
        vk_buf_reset(&s->out);
    }
    return 0;
}

static bool h1_done(vk_session *base)
{
    h1_session *s = (h1_session *)base;
    if (s->upgraded)
        return s->up_closed && !s->out.len;
    return !s->out.len && !s->active && (s->closing || s->shut);
}

static void h1_shutdown(vk_session *base)
{
    h1_session *s = (h1_session *)base;
    s->shut = true;
    if (s->active)
        s->keep_alive = false;
}

static void h1_free(vk_session *base)
{
    h1_session *s = (h1_session *)base;
    if (!s)
        return;
    if (s->upgraded && !s->up_closed) {
        s->up_closed = true;
        s->up_ops->on_close(s->up_ud);
    }
    if (s->active) {
        vk_req *r = s->active;
        s->active = NULL;
        vk_req_free(r);
    }
    vk_req_free(s->cur);
    vk_buf_free(&s->in);
    vk_buf_free(&s->out);
    vk_buf_free(&s->field);
    vk_buf_free(&s->value);
    vk_buf_free(&s->url);
    free(s);
}

static const vk_session_ops h1_ops = {h1_feed, h1_produce, h1_done, h1_shutdown, h1_free};

vk_session *vk_h1_new(const vk_session_cb *cb, void *ud, const vk_conn_info *conn,
                      const vk_limits *limits)
{
    h1_session *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->base = (vk_session){.ops = &h1_ops, .cb = cb, .ud = ud, .conn = conn, .limits = *limits};
    http_parser_init(&s->parser, HTTP_REQUEST);
    s->parser.data = s;
    return &s->base;
}
