/* HTTP/2 server session over nghttp2 (Debian 12's 1.52 API), sans-I/O.
 *
 * Invariants: a stream object exists from the first HEADERS of a request until
 * nghttp2 closes the stream; it owns its vk_req. A request is dispatched once, when
 * END_STREAM arrives. Response bodies wait in the stream's buffer until nghttp2 asks
 * for them through the data provider; an empty buffer on an unfinished response
 * defers the stream, and a later write resumes it. */
#include <errno.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/net/session.h"
#include "common/err.h"
#include "common/log.h"

typedef struct h2_session h2_session;

typedef struct h2_stream {
    h2_session *s;
    int32_t id;
    vk_req *req;
    vk_buf out;
    size_t out_off;
    bool eof, deferred, dispatched, submitted;
    struct h2_stream *prev, *next; /* the session's live streams */
} h2_stream;

struct h2_session {
    vk_session base;
    nghttp2_session *ng;
    h2_stream *streams; /* nghttp2_session_del frees streams without callbacks */
    bool failed;
};

static const vk_req_ops h2_req_ops;

static void stream_free(h2_stream *st)
{
    if (st->prev)
        st->prev->next = st->next;
    else
        st->s->streams = st->next;
    if (st->next)
        st->next->prev = st->prev;
    if (st->dispatched && !st->req->ended)
        st->s->base.active--;
    vk_req_free(st->req);
    vk_buf_free(&st->out);
    free(st);
}

static int on_begin_headers(nghttp2_session *ng, const nghttp2_frame *f, void *ud)
{
    h2_session *s = ud;
    if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    h2_stream *st = calloc(1, sizeof *st);
    if (!st)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    st->s = s;
    st->id = f->hd.stream_id;
    st->req = vk_req_new(&h2_req_ops, st, VK_PROTO_H2, s->base.conn);
    if (!st->req) {
        free(st);
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    nghttp2_session_set_stream_user_data(ng, st->id, st);
    st->next = s->streams;
    if (s->streams)
        s->streams->prev = st;
    s->streams = st;
    return 0;
}

static int on_header(nghttp2_session *ng, const nghttp2_frame *f, const uint8_t *name, size_t nlen,
                     const uint8_t *value, size_t vlen, uint8_t flags, void *ud)
{
    h2_session *s = ud;
    if (f->hd.type != NGHTTP2_HEADERS)
        return 0;
    h2_stream *st = nghttp2_session_get_stream_user_data(ng, f->hd.stream_id);
    if (!st)
        return 0;
    vk_req *r = st->req;
    if (r->header_bytes + nlen + vlen > s->base.limits.max_header_bytes)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    const char *n = (const char *)name, *v = (const char *)value;
    if (nlen && n[0] == ':') {
        r->header_bytes += nlen + vlen;
        if (nlen == 7 && !memcmp(n, ":method", 7)) {
            r->method = vk_arena_strndup(&r->arena, v, vlen);
        } else if (nlen == 5 && !memcmp(n, ":path", 5)) {
            const char *q = memchr(v, '?', vlen);
            size_t plen = q ? (size_t)(q - v) : vlen;
            r->path = vk_arena_strndup(&r->arena, v, plen);
            r->query = q ? vk_arena_strndup(&r->arena, q + 1, vlen - plen - 1) : "";
            if (!r->path || !r->query)
                return NGHTTP2_ERR_CALLBACK_FAILURE;
        } else if (nlen == 10 && !memcmp(n, ":authority", 10)) {
            if (vk_req_add_header(r, "host", 4, v, vlen))
                return NGHTTP2_ERR_CALLBACK_FAILURE;
        }
        return 0;
    }
    if (vk_req_add_header(r, n, nlen, v, vlen))
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    return 0;
}

static int on_data_chunk(nghttp2_session *ng, uint8_t flags, int32_t id, const uint8_t *data,
                         size_t len, void *ud)
{
    h2_session *s = ud;
    h2_stream *st = nghttp2_session_get_stream_user_data(ng, id);
    if (!st || st->dispatched)
        return 0;
    vk_req *r = st->req;
    if (r->body_too_large || r->body.len + len > s->base.limits.max_body) {
        r->body_too_large = true;
        vk_buf_free(&r->body);
        return 0;
    }
    if (vk_buf_append(&r->body, data, len))
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    return 0;
}

static int on_frame_recv(nghttp2_session *ng, const nghttp2_frame *f, void *ud)
{
    h2_session *s = ud;
    if ((f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA) ||
        !(f->hd.flags & NGHTTP2_FLAG_END_STREAM))
        return 0;
    h2_stream *st = nghttp2_session_get_stream_user_data(ng, f->hd.stream_id);
    if (!st || st->dispatched)
        return 0;
    vk_req *r = st->req;
    if (!r->method || !r->path || r->path[0] != '/') {
        nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_PROTOCOL_ERROR);
        return 0;
    }
    st->dispatched = true;
    s->base.active++;
    s->base.cb->on_request(s->base.ud, r);
    return 0;
}

static int on_stream_close(nghttp2_session *ng, int32_t id, uint32_t code, void *ud)
{
    h2_stream *st = nghttp2_session_get_stream_user_data(ng, id);
    if (!st)
        return 0;
    nghttp2_session_set_stream_user_data(ng, id, NULL);
    stream_free(st);
    return 0;
}

static ssize_t data_read(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                         nghttp2_data_source *src, void *ud)
{
    h2_stream *st = src->ptr;
    size_t avail = st->out.len - st->out_off;
    if (!avail && !st->eof) {
        st->deferred = true;
        return NGHTTP2_ERR_DEFERRED;
    }
    size_t n = avail < len ? avail : len;
    if (n) /* out.data is NULL when a streamed response ends with no write */
        memcpy(buf, st->out.data + st->out_off, n);
    st->out_off += n;
    if (st->out_off == st->out.len) {
        vk_buf_reset(&st->out);
        st->out_off = 0;
        if (st->eof)
            *flags |= NGHTTP2_DATA_FLAG_EOF;
    }
    return (ssize_t)n;
}

/* Response headers that mean nothing (or are illegal) on HTTP/2. */
static bool hop_by_hop(const char *name)
{
    static const char *const hop[] = {"connection", "keep-alive", "proxy-connection",
                                      "transfer-encoding", "upgrade"};
    for (size_t i = 0; i < sizeof hop / sizeof hop[0]; i++)
        if (!strcmp(name, hop[i]))
            return true;
    return false;
}

static int h2_start(vk_req *r, long long len)
{
    h2_stream *st = r->proto_data;
    nghttp2_nv *nva = calloc(r->nresp_headers + 2, sizeof *nva);
    if (!nva)
        return -ENOMEM;
    char status[8], clen[24];
    snprintf(status, sizeof status, "%03d", r->status % 1000);
    size_t n = 0;
    nva[n++] = (nghttp2_nv){(uint8_t *)":status", (uint8_t *)status, 7, 3, NGHTTP2_NV_FLAG_NONE};
    for (size_t i = 0; i < r->nresp_headers; i++) {
        const vk_header *h = &r->resp_headers[i];
        if (hop_by_hop(h->name))
            continue;
        nva[n++] = (nghttp2_nv){(uint8_t *)h->name, (uint8_t *)h->value, strlen(h->name),
                                strlen(h->value), NGHTTP2_NV_FLAG_NONE};
    }
    if (len >= 0 && n < r->nresp_headers + 2) {
        snprintf(clen, sizeof clen, "%lld", len);
        nva[n++] = (nghttp2_nv){(uint8_t *)"content-length", (uint8_t *)clen, 14, strlen(clen),
                                NGHTTP2_NV_FLAG_NONE};
    }
    bool body = len != 0 && strcmp(r->method, "HEAD") != 0;
    nghttp2_data_provider prd = {.source.ptr = st, .read_callback = data_read};
    int rc = nghttp2_submit_response(st->s->ng, st->id, nva, n, body ? &prd : NULL);
    free(nva);
    if (rc)
        return VK_EPROTO;
    st->submitted = body;
    if (!body)
        st->eof = true;
    st->s->base.cb->want_flush(st->s->base.ud);
    return 0;
}

static void resume(h2_stream *st)
{
    if (st->deferred) {
        st->deferred = false;
        nghttp2_session_resume_data(st->s->ng, st->id);
    }
    st->s->base.cb->want_flush(st->s->base.ud);
}

static int h2_write(vk_req *r, const void *data, size_t n)
{
    h2_stream *st = r->proto_data;
    if (!st->submitted || !strcmp(r->method, "HEAD"))
        return 0;
    if (vk_buf_append(&st->out, data, n))
        return -ENOMEM;
    resume(st);
    return 0;
}

static int h2_end(vk_req *r)
{
    h2_stream *st = r->proto_data;
    st->s->base.active--;
    st->eof = true;
    if (st->submitted)
        resume(st);
    return 0;
}

/* Body bytes the stream holds: they wait for the peer's flow-control window. */
static size_t h2_pending(const vk_req *r)
{
    const h2_stream *st = r->proto_data;
    return st->out.len - st->out_off;
}

static const vk_req_ops h2_req_ops = {h2_start, h2_write, h2_end, h2_pending, NULL};

static int h2_feed(vk_session *base, const uint8_t *data, size_t n)
{
    h2_session *s = (h2_session *)base;
    if (s->failed)
        return VK_EPROTO;
    ssize_t rc = nghttp2_session_mem_recv(s->ng, data, n);
    if (rc < 0) {
        vk_log(VK_LOG_DEBUG, "h2", "Bad input", "peer=\"%s\" err=\"%s\"", s->base.conn->peer,
               nghttp2_strerror((int)rc));
        s->failed = true;
        return VK_EPROTO;
    }
    return 0;
}

static int h2_produce(vk_session *base, vk_buf *out)
{
    h2_session *s = (h2_session *)base;
    for (;;) {
        const uint8_t *p;
        ssize_t n = nghttp2_session_mem_send(s->ng, &p);
        if (n < 0) {
            s->failed = true;
            return VK_EPROTO;
        }
        if (n == 0)
            return 0;
        if (vk_buf_append(out, p, (size_t)n))
            return -ENOMEM;
    }
}

static bool h2_done(vk_session *base)
{
    h2_session *s = (h2_session *)base;
    return s->failed || (!nghttp2_session_want_read(s->ng) && !nghttp2_session_want_write(s->ng));
}

static void h2_shutdown(vk_session *base)
{
    h2_session *s = (h2_session *)base;
    nghttp2_submit_goaway(s->ng, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(s->ng),
                          NGHTTP2_NO_ERROR, NULL, 0);
}

static void h2_free(vk_session *base)
{
    h2_session *s = (h2_session *)base;
    if (!s)
        return;
    /* nghttp2_session_del does not call on_stream_close: abort and free the streams
     * still open here. */
    while (s->streams)
        stream_free(s->streams);
    nghttp2_session_del(s->ng);
    free(s);
}

static const vk_session_ops h2_ops = {h2_feed, h2_produce, h2_done, h2_shutdown, h2_free};

vk_session *vk_h2_new(const vk_session_cb *cb, void *ud, const vk_conn_info *conn,
                      const vk_limits *limits)
{
    h2_session *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->base = (vk_session){.ops = &h2_ops, .cb = cb, .ud = ud, .conn = conn, .limits = *limits};
    nghttp2_session_callbacks *cbs;
    if (nghttp2_session_callbacks_new(&cbs)) {
        free(s);
        return NULL;
    }
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
    nghttp2_option *opt = NULL;
    int rc = nghttp2_option_new(&opt);
    if (!rc) {
        /* Streams beyond the limit are refused by the library itself. */
        nghttp2_option_set_max_deflate_dynamic_table_size(opt, 4096);
        rc = nghttp2_session_server_new2(&s->ng, cbs, s, opt);
        nghttp2_option_del(opt);
    }
    nghttp2_session_callbacks_del(cbs);
    if (rc) {
        free(s);
        return NULL;
    }
    /* Large windows so many multiplexed watches do not stall each other. */
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, limits->max_streams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 256 * 1024},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, (uint32_t)limits->max_header_bytes},
    };
    if (nghttp2_submit_settings(s->ng, NGHTTP2_FLAG_NONE, iv, 3) ||
        nghttp2_session_set_local_window_size(s->ng, NGHTTP2_FLAG_NONE, 0, 25 << 20)) {
        nghttp2_session_del(s->ng);
        free(s);
        return NULL;
    }
    return &s->base;
}
