/* HTTP/2 session, driven byte for byte by an nghttp2 client session. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/net/session.h"
#include "common/buf.h"
#include "common/err.h"

enum { MAXREQ = 64, MAXS = 64 };

typedef struct cstream {
    int32_t id;
    int status;
    char ctype[64], clen[32];
    int hop; /* connection-specific response headers seen */
    vk_buf body;
    int data_frames;
    bool end_stream, closed;
    uint32_t close_code;
    const char *up; /* request body to send */
    size_t up_len, up_off;
} cstream;

typedef struct seen {
    char method[16], path[128], query[128], host[64];
    size_t body_len;
    bool too_large;
    bool body_ok; /* body equals the expected upload */
} seen;

typedef struct t2 {
    vk_session *s;
    vk_conn_info ci;
    vk_limits lim;
    bool sync;
    const char *expect_body; /* compared with each request body */
    vk_req *held[MAXREQ];
    int nheld;
    seen seen[MAXREQ];
    int nseen;
    int aborts, flushes;
    int feed_rc;
    nghttp2_session *cl;
    cstream cs[MAXS];
    int ncs;
    bool got_settings, got_goaway, got_ping_ack;
    uint32_t srv_max_streams, srv_window, srv_max_header_list;
    int32_t goaway_last;
    uint32_t goaway_code;
    vk_buf raw; /* every byte the server produced */
} t2;

/* Server side. */

static void on_abort(vk_req *r, void *data)
{
    t2 *t = data;
    t->aborts++;
    for (int i = 0; i < t->nheld; i++) {
        if (t->held[i] == r) {
            memmove(&t->held[i], &t->held[i + 1], (size_t)(t->nheld - i - 1) * sizeof r);
            t->nheld--;
            break;
        }
    }
}

static void on_request(void *ud, vk_req *r)
{
    t2 *t = ud;
    assert_true(t->nseen < MAXREQ);
    seen *s = &t->seen[t->nseen++];
    snprintf(s->method, sizeof s->method, "%s", r->method);
    snprintf(s->path, sizeof s->path, "%s", r->path);
    snprintf(s->query, sizeof s->query, "%s", r->query);
    const char *host = vk_req_header(r, "host");
    snprintf(s->host, sizeof s->host, "%s", host ? host : "");
    s->body_len = r->body.len;
    s->too_large = r->body_too_large;
    s->body_ok = t->expect_body && r->body.len == strlen(t->expect_body) &&
                 !memcmp(r->body.data, t->expect_body, r->body.len);
    assert_int_equal(r->proto, VK_PROTO_H2);
    if (t->sync) {
        assert_int_equal(vk_resp_send(r, 200, "text/plain", r->path, strlen(r->path)), 0);
        return;
    }
    r->on_abort = on_abort;
    r->abort_data = t;
    t->held[t->nheld++] = r;
}

static void want_flush(void *ud)
{
    ((t2 *)ud)->flushes++;
}

static const vk_session_cb cbs = {on_request, want_flush};

static vk_req *take(t2 *t)
{
    assert_true(t->nheld > 0);
    vk_req *r = t->held[0];
    memmove(&t->held[0], &t->held[1], (size_t)(t->nheld - 1) * sizeof r);
    t->nheld--;
    r->on_abort = NULL;
    return r;
}

/* Client side. */

static cstream *cs_of(t2 *t, int32_t id)
{
    for (int i = 0; i < t->ncs; i++)
        if (t->cs[i].id == id)
            return &t->cs[i];
    return NULL;
}

static int c_on_header(nghttp2_session *ng, const nghttp2_frame *f, const uint8_t *name,
                       size_t nlen, const uint8_t *value, size_t vlen, uint8_t flags, void *ud)
{
    cstream *c = cs_of(ud, f->hd.stream_id);
    if (!c)
        return 0;
    const char *n = (const char *)name;
    if (nlen == 7 && !memcmp(n, ":status", 7))
        c->status = atoi((const char *)value);
    else if (nlen == 12 && !memcmp(n, "content-type", 12))
        snprintf(c->ctype, sizeof c->ctype, "%.*s", (int)vlen, value);
    else if (nlen == 14 && !memcmp(n, "content-length", 14))
        snprintf(c->clen, sizeof c->clen, "%.*s", (int)vlen, value);
    else if ((nlen == 10 && !memcmp(n, "connection", 10)) ||
             (nlen == 17 && !memcmp(n, "transfer-encoding", 17)) ||
             (nlen == 10 && !memcmp(n, "keep-alive", 10)) ||
             (nlen == 7 && !memcmp(n, "upgrade", 7)))
        c->hop++;
    return 0;
}

static int c_on_data(nghttp2_session *ng, uint8_t flags, int32_t id, const uint8_t *data,
                     size_t len, void *ud)
{
    cstream *c = cs_of(ud, id);
    if (c)
        vk_buf_append(&c->body, data, len);
    return 0;
}

static int c_on_frame(nghttp2_session *ng, const nghttp2_frame *f, void *ud)
{
    t2 *t = ud;
    cstream *c = cs_of(t, f->hd.stream_id);
    switch (f->hd.type) {
    case NGHTTP2_SETTINGS:
        if (f->hd.flags & NGHTTP2_FLAG_ACK)
            break;
        t->got_settings = true;
        for (size_t i = 0; i < f->settings.niv; i++) {
            const nghttp2_settings_entry *e = &f->settings.iv[i];
            if (e->settings_id == NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS)
                t->srv_max_streams = e->value;
            else if (e->settings_id == NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE)
                t->srv_window = e->value;
            else if (e->settings_id == NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE)
                t->srv_max_header_list = e->value;
        }
        break;
    case NGHTTP2_GOAWAY:
        t->got_goaway = true;
        t->goaway_last = f->goaway.last_stream_id;
        t->goaway_code = f->goaway.error_code;
        break;
    case NGHTTP2_PING:
        if (f->hd.flags & NGHTTP2_FLAG_ACK)
            t->got_ping_ack = !memcmp(f->ping.opaque_data, "12345678", 8);
        break;
    case NGHTTP2_DATA:
        if (c)
            c->data_frames++;
        /* fallthrough */
    case NGHTTP2_HEADERS:
        if (c && (f->hd.flags & NGHTTP2_FLAG_END_STREAM))
            c->end_stream = true;
        break;
    }
    return 0;
}

static int c_on_close(nghttp2_session *ng, int32_t id, uint32_t code, void *ud)
{
    cstream *c = cs_of(ud, id);
    if (c) {
        c->closed = true;
        c->close_code = code;
    }
    return 0;
}

static ssize_t c_read(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                      nghttp2_data_source *src, void *ud)
{
    cstream *c = src->ptr;
    size_t n = c->up_len - c->up_off;
    if (n > len)
        n = len;
    memcpy(buf, c->up + c->up_off, n);
    c->up_off += n;
    if (c->up_off == c->up_len)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

static t2 *tnew(size_t max_body, size_t max_header, uint32_t max_streams)
{
    t2 *t = calloc(1, sizeof *t);
    assert_non_null(t);
    snprintf(t->ci.peer, sizeof t->ci.peer, "[::1]:4444");
    t->lim = (vk_limits)VK_LIMITS_DEFAULT;
    if (max_body)
        t->lim.max_body = max_body;
    if (max_header)
        t->lim.max_header_bytes = max_header;
    if (max_streams)
        t->lim.max_streams = max_streams;
    t->s = vk_h2_new(&cbs, t, &t->ci, &t->lim);
    assert_non_null(t->s);
    nghttp2_session_callbacks *c;
    assert_int_equal(nghttp2_session_callbacks_new(&c), 0);
    nghttp2_session_callbacks_set_on_header_callback(c, c_on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(c, c_on_data);
    nghttp2_session_callbacks_set_on_frame_recv_callback(c, c_on_frame);
    nghttp2_session_callbacks_set_on_stream_close_callback(c, c_on_close);
    assert_int_equal(nghttp2_session_client_new(&t->cl, c, t), 0);
    nghttp2_session_callbacks_del(c);
    assert_int_equal(nghttp2_submit_settings(t->cl, NGHTTP2_FLAG_NONE, NULL, 0), 0);
    return t;
}

static void tfree(t2 *t)
{
    vk_session_free(t->s);
    nghttp2_session_del(t->cl);
    for (int i = 0; i < t->ncs; i++)
        vk_buf_free(&t->cs[i].body);
    vk_buf_free(&t->raw);
    free(t);
}

/* Moves bytes both ways until nothing moves. */
static void pump(t2 *t)
{
    for (int round = 0; round < 10000; round++) {
        bool moved = false;
        const uint8_t *p;
        ssize_t n;
        while ((n = nghttp2_session_mem_send(t->cl, &p)) > 0) {
            moved = true;
            int rc = vk_session_feed(t->s, p, (size_t)n);
            if (rc)
                t->feed_rc = rc;
        }
        assert_true(n >= 0);
        vk_buf out = {0};
        assert_int_equal(vk_session_produce(t->s, &out), 0);
        if (out.len) {
            moved = true;
            vk_buf_append(&t->raw, out.data, out.len);
            ssize_t r = nghttp2_session_mem_recv(t->cl, (const uint8_t *)out.data, out.len);
            assert_int_equal(r, (ssize_t)out.len);
        }
        vk_buf_free(&out);
        if (!moved)
            return;
    }
    fail_msg("pump does not settle");
}

/* Submits a request; extra is NULL or name, value, ..., NULL. */
static cstream *submit(t2 *t, const char *method, const char *path, const char *body, size_t n,
                       const char *const *extra)
{
    assert_true(t->ncs < MAXS);
    cstream *c = &t->cs[t->ncs];
    nghttp2_nv nv[80];
    size_t k = 0;
#define NV(a, b)                                                                                   \
    nv[k++] =                                                                                      \
        (nghttp2_nv){(uint8_t *)(a), (uint8_t *)(b), strlen(a), strlen(b), NGHTTP2_NV_FLAG_NONE}
    NV(":method", method);
    NV(":scheme", "https");
    NV(":authority", "localhost:6443");
    NV(":path", path);
    for (size_t i = 0; extra && extra[i] && k + 2 <= sizeof nv / sizeof nv[0]; i += 2)
        NV(extra[i], extra[i + 1]);
#undef NV
    c->up = body;
    c->up_len = n;
    nghttp2_data_provider prd = {.source.ptr = c, .read_callback = c_read};
    int32_t id = nghttp2_submit_request(t->cl, NULL, nv, k, body ? &prd : NULL, c);
    assert_true(id > 0);
    c->id = id;
    t->ncs++;
    return c;
}

/* Walks the server's frames: how many of the given type. */
static int count_frames(const vk_buf *b, uint8_t type)
{
    int n = 0;
    size_t off = 0;
    while (off + 9 <= b->len) {
        const uint8_t *h = (const uint8_t *)b->data + off;
        size_t len = ((size_t)h[0] << 16) | ((size_t)h[1] << 8) | h[2];
        if (h[3] == type)
            n++;
        off += 9 + len;
    }
    return n;
}

static void test_preface_and_settings(void **state)
{
    t2 *t = tnew(0, 0, 77);
    assert_false(vk_session_done(t->s));
    pump(t);
    assert_int_equal(t->feed_rc, 0);
    assert_true(t->got_settings);
    assert_int_equal(t->srv_max_streams, 77);
    assert_int_equal(t->srv_window, 256 * 1024);
    assert_int_equal(t->srv_max_header_list, t->lim.max_header_bytes);
    /* The connection window is opened wide. */
    assert_true(nghttp2_session_get_remote_window_size(t->cl) > (20 << 20));
    assert_false(vk_session_done(t->s));
    tfree(t);
}

static void test_get(void **state)
{
    t2 *t = tnew(0, 0, 0);
    static const char *const extra[] = {"accept", "application/json", "User-Agent", "kubectl",
                                        NULL};
    cstream *c = submit(t, "GET", "/api/v1/pods?limit=5&x=a%20b", NULL, 0, extra);
    pump(t);
    assert_int_equal(t->nheld, 1);
    vk_req *r = t->held[0];
    assert_string_equal(r->method, "GET");
    assert_string_equal(r->path, "/api/v1/pods");
    assert_string_equal(r->query, "limit=5&x=a%20b");
    assert_string_equal(vk_req_query(r, "x"), "a b");
    assert_string_equal(vk_req_header(r, "host"), "localhost:6443");
    assert_string_equal(vk_req_header(r, "accept"), "application/json");
    assert_string_equal(vk_req_header(r, "user-agent"), "kubectl");
    assert_null(vk_req_header(r, ":path"));
    assert_ptr_equal(r->conn, &t->ci);
    assert_int_equal(t->s->active, 1);
    r = take(t);
    assert_int_equal(vk_resp_header(r, "x-one", "1"), 0);
    assert_int_equal(vk_resp_send(r, 200, "application/json", "{\"kind\":\"PodList\"}", 18), 0);
    assert_true(t->flushes > 0);
    assert_int_equal(t->s->active, 0);
    pump(t);
    assert_int_equal(c->status, 200);
    assert_string_equal(c->ctype, "application/json");
    assert_string_equal(c->clen, "18");
    assert_int_equal(c->body.len, 18);
    assert_string_equal(c->body.data, "{\"kind\":\"PodList\"}");
    assert_true(c->end_stream);
    assert_true(c->closed);
    assert_int_equal(c->close_code, 0);
    assert_false(vk_session_done(t->s));
    tfree(t);
}

static void test_post_body_several_frames(void **state)
{
    t2 *t = tnew(0, 0, 0);
    t->sync = true;
    size_t n = 100000;
    char *body = malloc(n + 1);
    assert_non_null(body);
    for (size_t i = 0; i < n; i++)
        body[i] = (char)('a' + i % 26);
    body[n] = 0;
    t->expect_body = body;
    static const char *const extra[] = {"content-type", "application/json", NULL};
    cstream *c = submit(t, "POST", "/api/v1/namespaces", body, n, extra);
    pump(t);
    assert_int_equal(t->nseen, 1);
    assert_string_equal(t->seen[0].method, "POST");
    assert_int_equal(t->seen[0].body_len, n);
    assert_true(t->seen[0].body_ok);
    assert_false(t->seen[0].too_large);
    assert_int_equal(c->status, 200);
    assert_true(c->closed);
    /* More than 16 KiB went in several DATA frames. */
    assert_true(c->up_off == n);
    free(body);
    tfree(t);
}

static void test_body_too_large(void **state)
{
    t2 *t = tnew(1000, 0, 0);
    t->sync = true;
    char body[5000];
    memset(body, 'x', sizeof body);
    cstream *c = submit(t, "PUT", "/big", body, sizeof body, NULL);
    cstream *d = submit(t, "PUT", "/exact", body, 1000, NULL);
    pump(t);
    assert_int_equal(t->nseen, 2);
    assert_string_equal(t->seen[0].path, "/big");
    assert_true(t->seen[0].too_large);
    assert_int_equal(t->seen[0].body_len, 0);
    assert_string_equal(t->seen[1].path, "/exact");
    assert_false(t->seen[1].too_large);
    assert_int_equal(t->seen[1].body_len, 1000);
    assert_int_equal(c->status, 200);
    assert_int_equal(d->status, 200);
    tfree(t);
}

static void test_many_concurrent_streams(void **state)
{
    t2 *t = tnew(0, 0, 10);
    /* Sent before the client knows the limit, so the server must enforce it. */
    cstream *c[12];
    char paths[12][16];
    for (int i = 0; i < 12; i++) {
        snprintf(paths[i], sizeof paths[i], "/s%d", i);
        c[i] = submit(t, "GET", paths[i], NULL, 0, NULL);
    }
    pump(t);
    assert_int_equal(t->nheld, 10);
    assert_int_equal(t->s->active, 10);
    int refused = 0;
    for (int i = 0; i < 12; i++)
        if (c[i]->closed && c[i]->close_code == NGHTTP2_REFUSED_STREAM)
            refused++;
    assert_int_equal(refused, 2);
    /* Answered in reverse order, each gets its own answer. */
    while (t->nheld) {
        vk_req *r = t->held[t->nheld - 1];
        t->held[--t->nheld] = NULL;
        r->on_abort = NULL;
        assert_int_equal(vk_resp_send(r, 200, NULL, r->path, strlen(r->path)), 0);
    }
    pump(t);
    assert_int_equal(t->s->active, 0);
    int ok = 0;
    for (int i = 0; i < 12; i++) {
        if (c[i]->status == 200) {
            assert_string_equal(c[i]->body.data, paths[i]);
            ok++;
        }
    }
    assert_int_equal(ok, 10);
    /* The slots are free again. */
    t->sync = true;
    for (int i = 0; i < 10; i++)
        submit(t, "GET", "/again", NULL, 0, NULL);
    pump(t);
    assert_int_equal(t->nseen, 20);
    assert_int_equal(t->aborts, 0);
    tfree(t);
}

static void test_streamed_async(void **state)
{
    t2 *t = tnew(0, 0, 0);
    cstream *c = submit(t, "GET", "/api/v1/pods?watch=true", NULL, 0, NULL);
    pump(t);
    vk_req *r = t->held[0];
    assert_int_equal(vk_resp_header(r, "content-type", "application/json"), 0);
    assert_int_equal(vk_resp_start(r, 200), 0);
    pump(t);
    assert_int_equal(c->status, 200);
    assert_string_equal(c->clen, "");
    assert_false(c->end_stream);
    int f = t->flushes;
    assert_int_equal(vk_resp_write(r, "{\"type\":\"ADDED\"}\n", 17), 0);
    assert_true(t->flushes > f);
    pump(t);
    assert_int_equal(c->body.len, 17);
    assert_int_equal(c->data_frames, 1);
    assert_int_equal(vk_resp_write(r, "second\n", 7), 0);
    assert_int_equal(vk_resp_write(r, "third\n", 6), 0);
    pump(t);
    assert_int_equal(c->data_frames, 2);
    assert_false(c->end_stream);
    assert_false(c->closed);
    take(t);
    assert_int_equal(vk_resp_end(r), 0);
    pump(t);
    assert_true(c->end_stream);
    assert_true(c->closed);
    assert_int_equal(c->close_code, 0);
    assert_string_equal(c->body.data, "{\"type\":\"ADDED\"}\nsecond\nthird\n");
    assert_int_equal(t->s->active, 0);
    assert_int_equal(t->aborts, 0);
    tfree(t);
}

static void test_streamed_empty(void **state)
{
    /* Started then ended with no write: an empty DATA frame carries END_STREAM. */
    t2 *t = tnew(0, 0, 0);
    cstream *c = submit(t, "GET", "/empty", NULL, 0, NULL);
    pump(t);
    vk_req *r = take(t);
    assert_int_equal(vk_resp_start(r, 200), 0);
    pump(t);
    assert_int_equal(c->status, 200);
    assert_false(c->closed);
    assert_int_equal(vk_resp_end(r), 0);
    pump(t);
    assert_true(c->end_stream);
    assert_true(c->closed);
    assert_int_equal(c->close_code, 0);
    assert_int_equal(c->body.len, 0);
    tfree(t);
}

static void test_rst_stream_aborts(void **state)
{
    t2 *t = tnew(0, 0, 0);
    cstream *c = submit(t, "GET", "/watch", NULL, 0, NULL);
    cstream *d = submit(t, "GET", "/other", NULL, 0, NULL);
    pump(t);
    assert_int_equal(t->nheld, 2);
    assert_int_equal(vk_resp_start(t->held[0], 200), 0);
    assert_int_equal(vk_resp_write(t->held[0], "x", 1), 0);
    pump(t);
    assert_int_equal(nghttp2_submit_rst_stream(t->cl, NGHTTP2_FLAG_NONE, c->id, NGHTTP2_CANCEL), 0);
    pump(t);
    assert_int_equal(t->aborts, 1);
    assert_int_equal(t->nheld, 1);
    assert_int_equal(t->s->active, 1);
    /* The other stream is untouched. */
    assert_int_equal(vk_resp_send(take(t), 200, NULL, "ok", 2), 0);
    pump(t);
    assert_int_equal(d->status, 200);
    assert_string_equal(d->body.data, "ok");
    assert_int_equal(t->aborts, 1);
    assert_int_equal(t->s->active, 0);

    /* A reset before the request is complete never dispatches it. */
    cstream *e = submit(t, "POST", "/partial", "abc", 3, NULL);
    const uint8_t *p;
    ssize_t n = nghttp2_session_mem_send(t->cl, &p);
    assert_true(n > 0);
    /* Feed only the HEADERS frame (the DATA frame is dropped). */
    assert_int_equal(vk_session_feed(t->s, p, (size_t)n), 0);
    assert_true(t->s->active == 0);
    (void)e;
    tfree(t);
}

static void test_ping(void **state)
{
    t2 *t = tnew(0, 0, 0);
    pump(t);
    assert_int_equal(nghttp2_submit_ping(t->cl, NGHTTP2_FLAG_NONE, (const uint8_t *)"12345678"), 0);
    pump(t);
    assert_true(t->got_ping_ack);
    tfree(t);
}

static void test_garbage_preface(void **state)
{
    t2 *t = tnew(0, 0, 0);
    static const char junk[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_true(vk_session_feed(t->s, (const uint8_t *)junk, sizeof junk - 1) < 0);
    assert_true(vk_session_done(t->s));
    vk_buf out = {0};
    assert_int_equal(vk_session_produce(t->s, &out), 0);
    /* Whatever was produced is well-formed frames: SETTINGS, maybe GOAWAY. */
    assert_true(count_frames(&out, NGHTTP2_SETTINGS) <= 1);
    size_t off = 0;
    while (off + 9 <= out.len)
        off += 9 + (((size_t)(uint8_t)out.data[off] << 16) |
                    ((size_t)(uint8_t)out.data[off + 1] << 8) | (uint8_t)out.data[off + 2]);
    assert_int_equal(off, out.len);
    /* nghttp2 1.52 queues no GOAWAY for a bad client magic; the connection just
     * closes. */
    assert_int_equal(count_frames(&out, NGHTTP2_GOAWAY), 0);
    /* More input is refused. */
    assert_true(vk_session_feed(t->s, (const uint8_t *)junk, sizeof junk - 1) < 0);
    vk_buf_free(&out);
    tfree(t);
}

static void test_bad_frame_goaway(void **state)
{
    t2 *t = tnew(0, 0, 0);
    pump(t);
    /* A HEADERS frame on stream 1 whose block is not valid HPACK. */
    static const uint8_t bad[] = {
        0, 0, 4, NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff};
    vk_session_feed(t->s, bad, sizeof bad);
    vk_buf out = {0};
    assert_int_equal(vk_session_produce(t->s, &out), 0);
    assert_int_equal(count_frames(&out, NGHTTP2_GOAWAY), 1);
    assert_true(vk_session_done(t->s));
    assert_int_equal(t->nseen, 0);
    vk_buf_free(&out);
    tfree(t);
}

static void test_oversized_header_block(void **state)
{
    t2 *t = tnew(0, 1024, 0);
    t->sync = true;
    char big[2000];
    memset(big, 'v', sizeof big - 1);
    big[sizeof big - 1] = 0;
    const char *extra[] = {"x-big", big, NULL};
    cstream *c = submit(t, "GET", "/big", NULL, 0, extra);
    pump(t);
    assert_int_equal(t->nseen, 0);
    assert_true(c->closed);
    assert_int_not_equal(c->close_code, 0);
    assert_int_equal(c->status, 0);
    /* Many small headers add up to the same limit. */
    static char vals[30][41];
    const char *many[61];
    for (int i = 0; i < 30; i++) {
        snprintf(vals[i], sizeof vals[i], "%040d", i);
        many[2 * i] = "x-many";
        many[2 * i + 1] = vals[i];
    }
    many[60] = NULL;
    cstream *m = submit(t, "GET", "/many", NULL, 0, many);
    pump(t);
    assert_int_equal(t->nseen, 0);
    assert_true(m->closed);
    assert_int_not_equal(m->close_code, 0);
    /* The connection is still usable. */
    cstream *d = submit(t, "GET", "/small", NULL, 0, NULL);
    pump(t);
    assert_int_equal(t->nseen, 1);
    assert_int_equal(d->status, 200);
    assert_false(vk_session_done(t->s));
    tfree(t);
}

static void test_no_hop_by_hop_headers(void **state)
{
    t2 *t = tnew(0, 0, 0);
    cstream *c = submit(t, "GET", "/a", NULL, 0, NULL);
    cstream *d = submit(t, "GET", "/b", NULL, 0, NULL);
    pump(t);
    vk_req *r = take(t);
    vk_resp_header(r, "Connection", "close");
    vk_resp_header(r, "connection", "close");
    vk_resp_header(r, "transfer-encoding", "chunked");
    vk_resp_header(r, "keep-alive", "timeout=5");
    vk_resp_header(r, "upgrade", "h2c");
    vk_resp_header(r, "proxy-connection", "x");
    vk_resp_header(r, "x-fine", "yes");
    assert_int_equal(vk_resp_send(r, 200, "text/plain", "ok", 2), 0);
    r = take(t);
    vk_resp_header(r, "transfer-encoding", "chunked");
    vk_resp_header(r, "connection", "keep-alive");
    assert_int_equal(vk_resp_start(r, 200), 0);
    assert_int_equal(vk_resp_write(r, "x", 1), 0);
    assert_int_equal(vk_resp_end(r), 0);
    pump(t);
    /* nghttp2 resets streams carrying connection-specific headers, so a clean 200
     * with its body proves none reached the wire. */
    assert_int_equal(c->status, 200);
    assert_int_equal(c->hop, 0);
    assert_int_equal(c->close_code, 0);
    assert_string_equal(c->body.data, "ok");
    assert_int_equal(d->status, 200);
    assert_int_equal(d->hop, 0);
    assert_int_equal(d->close_code, 0);
    assert_string_equal(d->body.data, "x");
    tfree(t);
}

static void test_shutdown_goaway(void **state)
{
    t2 *t = tnew(0, 0, 0);
    cstream *c = submit(t, "GET", "/one", NULL, 0, NULL);
    cstream *d = submit(t, "GET", "/two", NULL, 0, NULL);
    pump(t);
    assert_int_equal(t->nheld, 2);
    vk_session_shutdown(t->s);
    pump(t);
    assert_true(t->got_goaway);
    assert_int_equal(t->goaway_code, NGHTTP2_NO_ERROR);
    assert_int_equal(t->goaway_last, d->id);
    assert_false(vk_session_done(t->s));
    /* In-flight streams finish. */
    vk_req *r = take(t);
    assert_int_equal(vk_resp_start(r, 200), 0);
    assert_int_equal(vk_resp_write(r, "1", 1), 0);
    assert_int_equal(vk_resp_end(r), 0);
    pump(t);
    assert_int_equal(c->status, 200);
    assert_true(c->closed);
    assert_false(vk_session_done(t->s));
    assert_int_equal(vk_resp_send(take(t), 200, NULL, "2", 1), 0);
    pump(t);
    assert_int_equal(d->status, 200);
    assert_string_equal(d->body.data, "2");
    assert_int_equal(t->aborts, 0);
    assert_true(vk_session_done(t->s));
    tfree(t);
}

static void test_free_aborts_outstanding(void **state)
{
    t2 *t = tnew(0, 0, 0);
    submit(t, "GET", "/a", NULL, 0, NULL);
    submit(t, "GET", "/b", NULL, 0, NULL);
    submit(t, "POST", "/c", "x", 1, NULL);
    pump(t);
    assert_int_equal(t->nheld, 3);
    assert_int_equal(vk_resp_start(t->held[1], 200), 0);
    assert_int_equal(vk_resp_write(t->held[1], "partial", 7), 0);
    /* A request not yet complete: headers only. */
    submit(t, "POST", "/d", "body", 4, NULL);
    const uint8_t *p;
    ssize_t n = nghttp2_session_mem_send(t->cl, &p);
    assert_true(n > 0);
    vk_session_free(t->s);
    t->s = NULL;
    assert_int_equal(t->aborts, 3);
    assert_int_equal(t->nheld, 0);
    tfree(t);
}

static void test_head_and_empty(void **state)
{
    t2 *t = tnew(0, 0, 0);
    cstream *c = submit(t, "HEAD", "/h", NULL, 0, NULL);
    cstream *d = submit(t, "DELETE", "/e", NULL, 0, NULL);
    pump(t);
    assert_int_equal(vk_resp_send(take(t), 200, "text/plain", "abcdef", 6), 0);
    assert_int_equal(vk_resp_send(take(t), 200, NULL, NULL, 0), 0);
    pump(t);
    assert_int_equal(c->status, 200);
    assert_string_equal(c->clen, "6");
    assert_int_equal(c->body.len, 0);
    assert_true(c->end_stream);
    assert_int_equal(c->close_code, 0);
    assert_int_equal(d->status, 200);
    assert_string_equal(d->clen, "0");
    assert_true(d->closed);
    assert_int_equal(d->close_code, 0);
    tfree(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_preface_and_settings),
        cmocka_unit_test(test_get),
        cmocka_unit_test(test_post_body_several_frames),
        cmocka_unit_test(test_body_too_large),
        cmocka_unit_test(test_many_concurrent_streams),
        cmocka_unit_test(test_streamed_async),
        cmocka_unit_test(test_streamed_empty),
        cmocka_unit_test(test_rst_stream_aborts),
        cmocka_unit_test(test_ping),
        cmocka_unit_test(test_garbage_preface),
        cmocka_unit_test(test_bad_frame_goaway),
        cmocka_unit_test(test_oversized_header_block),
        cmocka_unit_test(test_no_hop_by_hop_headers),
        cmocka_unit_test(test_shutdown_goaway),
        cmocka_unit_test(test_free_aborts_outstanding),
        cmocka_unit_test(test_head_and_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
