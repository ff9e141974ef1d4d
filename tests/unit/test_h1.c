/* HTTP/1.1 session, driven by feeding bytes and reading what it produces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/net/session.h"
#include "common/buf.h"
#include "common/err.h"

enum { MAXREQ = 16 };

/* What on_request saw, copied (synchronously answered requests die at once). */
typedef struct seen {
    char method[16], path[256], query[256];
    char body[8192];
    size_t body_len;
    bool too_large;
} seen;

typedef struct harness {
    vk_session *s;
    vk_conn_info ci;
    vk_limits lim;
    bool sync;            /* answer inside on_request with the path as body */
    vk_req *held[MAXREQ]; /* unanswered requests, oldest first */
    int nheld;
    seen seen[MAXREQ];
    int nseen;
    int flushes, aborts;
    vk_buf out;
} harness;

static void on_abort(vk_req *r, void *data)
{
    harness *h = data;
    h->aborts++;
    for (int i = 0; i < h->nheld; i++) {
        if (h->held[i] == r) {
            memmove(&h->held[i], &h->held[i + 1], (size_t)(h->nheld - i - 1) * sizeof r);
            h->nheld--;
            break;
        }
    }
}

static void on_request(void *ud, vk_req *r)
{
    harness *h = ud;
    assert_true(h->nseen < MAXREQ);
    seen *s = &h->seen[h->nseen++];
    snprintf(s->method, sizeof s->method, "%s", r->method);
    snprintf(s->path, sizeof s->path, "%s", r->path);
    snprintf(s->query, sizeof s->query, "%s", r->query);
    s->body_len = r->body.len;
    if (r->body.len && r->body.len < sizeof s->body)
        memcpy(s->body, r->body.data, r->body.len);
    s->too_large = r->body_too_large;
    assert_int_equal(r->proto, VK_PROTO_H1);
    if (h->sync) {
        assert_int_equal(vk_resp_send(r, 200, "text/plain", r->path, strlen(r->path)), 0);
        return;
    }
    r->on_abort = on_abort;
    r->abort_data = h;
    h->held[h->nheld++] = r;
}

static void want_flush(void *ud)
{
    ((harness *)ud)->flushes++;
}

static const vk_session_cb cbs = {on_request, want_flush};

static harness *hnew(size_t max_body, size_t max_header)
{
    harness *h = calloc(1, sizeof *h);
    assert_non_null(h);
    snprintf(h->ci.peer, sizeof h->ci.peer, "127.0.0.1:5555");
    h->lim = (vk_limits)VK_LIMITS_DEFAULT;
    if (max_body)
        h->lim.max_body = max_body;
    if (max_header)
        h->lim.max_header_bytes = max_header;
    h->s = vk_h1_new(&cbs, h, &h->ci, &h->lim);
    assert_non_null(h->s);
    return h;
}

static void hfree(harness *h)
{
    vk_session_free(h->s);
    vk_buf_free(&h->out);
    free(h);
}

static int feed(harness *h, const char *s)
{
    return vk_session_feed(h->s, (const uint8_t *)s, strlen(s));
}

/* Everything produced so far (accumulated in h->out, a C string). */
static const char *produce(harness *h)
{
    assert_int_equal(vk_session_produce(h->s, &h->out), 0);
    return h->out.data ? h->out.data : "";
}

/* Takes the oldest held request. */
static vk_req *take(harness *h)
{
    assert_true(h->nheld > 0);
    vk_req *r = h->held[0];
    memmove(&h->held[0], &h->held[1], (size_t)(h->nheld - 1) * sizeof r);
    h->nheld--;
    r->on_abort = NULL;
    return r;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static void test_simple_get_fields(void **state)
{
    harness *h = hnew(0, 0);
    assert_int_equal(feed(h, "GET /api/v1/pods?labelSelector=a%3Db&x=hello+world%21&e=&flag "
                             "HTTP/1.1\r\nHost: example\r\nX-Mixed-CASE: Value One\r\n"
                             "Accept: application/json\r\n\r\n"),
                     0);
    assert_int_equal(h->nheld, 1);
    vk_req *r = h->held[0];
    assert_string_equal(r->method, "GET");
    assert_string_equal(r->path, "/api/v1/pods");
    assert_string_equal(r->query, "labelSelector=a%3Db&x=hello+world%21&e=&flag");
    assert_string_equal(vk_req_header(r, "host"), "example");
    assert_string_equal(vk_req_header(r, "x-mixed-case"), "Value One");
    assert_null(vk_req_header(r, "X-Mixed-CASE"));
    assert_string_equal(vk_req_header(r, "accept"), "application/json");
    assert_string_equal(vk_req_query(r, "labelSelector"), "a=b");
    assert_string_equal(vk_req_query(r, "x"), "hello world!");
    assert_string_equal(vk_req_query(r, "e"), "");
    assert_string_equal(vk_req_query(r, "flag"), "");
    assert_null(vk_req_query(r, "missing"));
    assert_int_equal(r->body.len, 0);
    assert_false(r->body_too_large);
    assert_ptr_equal(r->conn, &h->ci);
    assert_int_equal(h->s->active, 1);
    assert_false(h->s->partial);
    r = take(h);
    assert_int_equal(vk_resp_send(r, 200, NULL, "ok", 2), 0);
    assert_int_equal(h->s->active, 0);
    hfree(h);
}

static void test_query_decoding(void **state)
{
    harness *h = hnew(0, 0);
    assert_int_equal(feed(h, "GET /x?a%20b=%7e%7E&bad=%zz%4&pct=100%25&k%3D=v HTTP/1.1\r\n\r\n"),
                     0);
    vk_req *r = take(h);
    assert_string_equal(vk_req_query(r, "a b"), "~~");
    assert_string_equal(vk_req_query(r, "bad"), "%zz%4");
    assert_string_equal(vk_req_query(r, "pct"), "100%");
    assert_string_equal(vk_req_query(r, "k="), "v");
    assert_int_equal(vk_resp_send(r, 204, NULL, NULL, 0), 0);
    hfree(h);
}

static void test_content_length_response(void **state)
{
    harness *h = hnew(0, 0);
    assert_int_equal(feed(h, "GET /version HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
    vk_req *r = take(h);
    assert_int_equal(vk_resp_header(r, "x-test", "1"), 0);
    assert_int_equal(vk_resp_send(r, 200, "application/json", "{\"a\":1}", 7), 0);
    assert_string_equal(produce(h), "HTTP/1.1 200 OK\r\nx-test: 1\r\ncontent-type: "
                                    "application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}");
    assert_true(h->flushes > 0);
    assert_false(vk_session_done(h->s));
    hfree(h);
}

static void test_streamed_chunked(void **state)
{
    harness *h = hnew(0, 0);
    assert_int_equal(feed(h, "GET /api/v1/pods?watch=1 HTTP/1.1\r\n\r\n"), 0);
    vk_req *r = take(h);
    assert_int_equal(vk_resp_start(r, 200), 0);
    assert_string_equal(produce(h), "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    vk_buf_reset(&h->out);
    int f = h->flushes;
    assert_int_equal(vk_resp_write(r, "hello", 5), 0);
    assert_true(h->flushes > f);
    assert_int_equal(vk_resp_write(r, "", 0), 0); /* no empty chunk (it would end the body) */
    assert_int_equal(vk_resp_write(r, "0123456789abcdefX", 17), 0);
    assert_string_equal(produce(h), "5\r\nhello\r\n11\r\n0123456789abcdefX\r\n");
    vk_buf_reset(&h->out);
    assert_int_equal(vk_resp_end(r), 0);
    assert_string_equal(produce(h), "0\r\n\r\n");
    assert_false(vk_session_done(h->s));
    hfree(h);
}

static void test_keep_alive_sequential(void **state)
{
    harness *h = hnew(0, 0);
    h->sync = true;
    assert_int_equal(feed(h, "GET /a HTTP/1.1\r\n\r\n"), 0);
    assert_string_equal(produce(h), "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n"
                                    "Content-Length: 2\r\n\r\n/a");
    assert_false(vk_session_done(h->s));
    vk_buf_reset(&h->out);
    assert_int_equal(feed(h, "GET /bb HTTP/1.1\r\nConnection: keep-alive\r\n\r\n"), 0);
    assert_string_equal(produce(h), "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n"
                                    "Content-Length: 3\r\n\r\n/bb");
    assert_int_equal(h->nseen, 2);
    assert_false(vk_session_done(h->s));
    hfree(h);
}

static void test_pipelined_sync(void **state)
{
    harness *h = hnew(0, 0);
    h->sync = true;
    assert_int_equal(feed(h, "GET /one HTTP/1.1\r\n\r\nGET /two HTTP/1.1\r\n\r\n"
                             "GET /three HTTP/1.1\r\n\r\n"),
                     0);
    const char *o = produce(h);
    assert_int_equal(h->nseen, 3);
    const char *a = strstr(o, "\r\n\r\n/one"), *b = strstr(o, "\r\n\r\n/two"),
               *c = strstr(o, "\r\n\r\n/three");
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_true(a < b && b < c);
    assert_int_equal(count(o, "HTTP/1.1 200 OK"), 3);
    hfree(h);
}

static void test_pipelined_async_in_order(void **state)
{
    harness *h = hnew(0, 0);
    assert_int_equal(feed(h, "GET /first HTTP/1.1\r\n\r\nPOST /second HTTP/1.1\r\n"
                             "Content-Length: 3\r\n\r\nabc"),
                     0);
    /* The second waits until the first is answered. */
    assert_int_equal(h->nheld, 1);
    assert_string_equal(produce(h), "");
    assert_int_equal(h->nheld, 1);
    vk_req *r = take(h);
    assert_string_equal(r->path, "/first");
    assert_int_equal(vk_resp_send(r, 200, NULL, "1", 1), 0);
    const char *o = produce(h);
    assert_string_equal(o, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1");
    assert_int_equal(h->nheld, 1); /* the second was parsed by produce() */
    vk_buf_reset(&h->out);
    r = take(h);
    assert_string_equal(r->path, "/second");
    assert_int_equal(r->body.len, 3);
    assert_memory_equal(r->body.data, "abc", 3);
    assert_int_equal(vk_resp_send(r, 201, NULL, "22", 2), 0);
    assert_string_equal(produce(h), "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n22");
    assert_false(vk_session_done(h->s));
    hfree(h);
}

static void test_http10_closes(void **state)
{
    harness *h = hnew(0, 0);
    h->sync = true;
    assert_int_equal(feed(h, "GET /v HTTP/1.0\r\n\r\n"), 0);
    const char *o = produce(h);
    assert_non_null(strstr(o, "Content-Length: 2\r\n"));
    assert_non_null(strstr(o, "Connection: close\r\n"));
    assert_true(vk_session_done(h->s));
    /* Input after the end is ignored. */
    assert_int_equal(feed(h, "GET /late HTTP/1.0\r\n\r\n"), 0);
    assert_int_equal(h->nseen, 1);
    hfree(h);
}

static void test_http10_keep_alive_and_stream(void **state)
{
    harness *h = hnew(0, 0);
    h->sync = true;
    assert_int_equal(feed(h, "GET /v HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"), 0);
    assert_non_null(strstr(produce(h), "Connection: keep-alive\r\n"));
    assert_false(vk_session_done(h->s));
    vk_buf_reset(&h->out);
    /* A streamed HTTP/1.0 response is delimited by the close. */
    h->sync = false;
    assert_int_equal(feed(h, "GET /w HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"), 0);
    vk_req *r = take(h);
    assert_int_equal(vk_resp_start(r, 200), 0);
    assert_int_equal(vk_resp_write(r, "abc", 3), 0);
    assert_int_equal(vk_resp_end(r), 0);
    const char *o = produce(h);
    assert_null(strstr(o, "chunked"));
    assert_non_null(strstr(o, "Connection: close\r\n\r\nabc"));
    assert_true(vk_session_done(h->s));
    hfree(h);
}

static void test_connection_close(void **state)
{
    harness *h = hnew(0, 0);
    h->sync = true;
    assert_int_equal(feed(h, "GET /a HTTP/1.1\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\n\r\n"),
                     0);
    const char *o = produce(h);
    assert_int_equal(h->nseen, 1);
    assert_non_null(strstr(o, "Connection: close\r\n"));
    assert_int_equal(count(o, "HTTP/1.1"), 1);
    assert_true(vk_session_done(h->s));
    hfree(h);
}

static void test_post_body(void **state)
{
    harness *h = hnew(0, 0);
    h->sync = true;
    assert_int_equal(feed(h, "POST /api/v1/namespaces HTTP/1.1\r\nContent-Length: 11\r\n"
                             "Content-Type: application/json\r\n\r\n{\"a\":"),
                     0);
    assert_int_equal(h->nseen, 0);
    assert_true(h->s->partial);
    assert_int_equal(feed(h, "\"bcd\"}"), 0);
    assert_int_equal(h->nseen, 1);
    assert_string_equal(h->seen[0].method, "POST");
    assert_int_equal(h->seen[0].body_len, 11);
    assert_memory_equal(h->seen[0].body, "{\"a\":\"bcd\"}", 11);
    assert_false(h->seen[0].too_large);
    assert_false(h->s->partial);
    hfree(h);
}

static void test_post_chunked_body(void **state)
{
    harness *h = hnew(0, 0);
    h->sync = true;
    assert_int_equal(feed(h, "PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                             "3\r\nabc\r\n"
                             "a;ext=1\r\n0123456789\r\n"),
                     0);
    assert_int_equal(h->nseen, 0);
    assert_int_equal(feed(h, "0\r\n\r\n"), 0);
    assert_int_equal(h->nseen, 1);
    assert_string_equal(h->seen[0].method, "PUT");
    assert_int_equal(h->seen[0].body_len, 13);
    assert_memory_equal(h->seen[0].body, "abc0123456789", 13);
    hfree(h);
}

static void test_body_too_large_content_length(void **state)
{
    harness *h = hnew(16, 0);
    h->sync = true;
    assert_int_equal(feed(h,
                          "POST /x HTTP/1.1\r\nContent-Length: 20\r\nExpect: 100-continue\r\n\r\n"
                          "01234567890123456789"
                          "POST /y HTTP/1.1\r\nContent-Length: 16\r\n\r\n0123456789abcdef"),
                     0);
    assert_int_equal(h->nseen, 2);
    assert_true(h->seen[0].too_large);
    assert_int_equal(h->seen[0].body_len, 0);
    /* Exactly the limit is fine. */
    assert_false(h->seen[1].too_large);
    assert_int_equal(h->seen[1].body_len, 16);
    /* No 100 Continue for a body that will be refused. */
    assert_null(strstr(produce(h), "100 Continue"));
    hfree(h);
}

static void test_body_too_large_chunked(void **state)
{
    harness *h = hnew(16, 0);
    h->sync = true;
    assert_int_equal(feed(h, "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                             "a\r\n0123456789\r\na\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n"
                             "GET /next HTTP/1.1\r\n\r\n"),
                     0);
    assert_int_equal(h->nseen, 2);
    assert_true(h->seen[0].too_large);
    assert_int_equal(h->seen[0].body_len, 0);
    assert_string_equal(h->seen[1].path, "/next");
    assert_false(h->seen[1].too_large);
    hfree(h);
}

static void test_header_too_large(void **state)
{
    harness *h = hnew(0, 256);
    char big[400];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    vk_buf req = {0};
    vk_buf_printf(&req, "GET / HTTP/1.1\r\nX-Big: %s\r\n\r\n", big);
    assert_true(feed(h, req.data) < 0);
    vk_buf_free(&req);
    assert_int_equal(h->nseen, 0);
    const char *o = produce(h);
    assert_true(strncmp(o, "HTTP/1.1 400 Bad Request\r\n", 26) == 0);
    assert_non_null(strstr(o, "Connection: close\r\n"));
    assert_true(vk_session_done(h->s));
    assert_false(h->s->partial);
    hfree(h);

    /* The same limit holds when the header arrives in small pieces, and for many
     * small headers. */
    h = hnew(0, 256);
    int rc = feed(h, "GET / HTTP/1.1\r\n");
    for (int i = 0; i < 100 && rc == 0; i++)
        rc = feed(h, "X-A: bbbbbbbbbbbbbbbb\r\n");
    assert_true(rc < 0);
    assert_int_equal(h->nseen, 0);
    assert_true(strncmp(produce(h), "HTTP/1.1 400 Bad Request\r\n", 26) == 0);
    assert_true(vk_session_done(h->s));
    hfree(h);
}

static void test_malformed_request_line(void **state)
{
    static const char *const bad[] = {
        "GARBAGE\r\n\r\n",
        "GET\r\n\r\n",
        "GET / HTTP/9.9x\r\n\r\n",
        "\x01\x02\x03 / HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nBad Header\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
        "GET * HTTP/1.1\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        harness *h = hnew(0, 0);
        h->sync = true;
        assert_true(feed(h, bad[i]) < 0);
        assert_int_equal(h->nseen, 0);
        assert_string_equal(produce(h),
                            "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; "
                            "charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request");
        assert_true(vk_session_done(h->s));
        hfree(h);
    }
}

static void test_one_byte_feeds(void **state)
{
    harness *h = hnew(0, 0);
    h->sync = true;
    const char *req = "POST /api/v1/namespaces/default/pods?dryRun=All HTTP/1.1\r\n"
                      "Host: localhost:6443\r\nUser-Agent: kubectl/v1.37.2\r\n"
                      "Content-Length: 4\r\n\r\nbody"
                      "GET /again HTTP/1.1\r\n\r\n";
    for (size_t i = 0; req[i]; i++)
        assert_int_equal(vk_session_feed(h->s, (const uint8_t *)req + i, 1), 0);
    assert_int_equal(h->nseen, 2);
    assert_string_equal(h->seen[0].path, "/api/v1/namespaces/default/pods");
    assert_string_equal(h->seen[0].query, "dryRun=All");
    assert_int_equal(h->seen[0].body_len, 4);
    assert_memory_equal(h->seen[0].body, "body", 4);
    assert_string_equal(h->seen[1].path, "/again");
    assert_int_equal(count(produce(h), "HTTP/1.1 200 OK"), 2);
    hfree(h);

    /* Header names and values split byte by byte are joined. */
    h = hnew(0, 0);
    req = "GET / HTTP/1.1\r\nX-Long-Name: some value here\r\nB: c\r\n\r\n";
    for (size_t i = 0; req[i]; i++)
        assert_int_equal(vk_session_feed(h->s, (const uint8_t *)req + i, 1), 0);
    assert_int_equal(h->nheld, 1);
    assert_int_equal(h->held[0]->nheaders, 2);
    assert_string_equal(vk_req_header(h->held[0], "x-long-name"), "some value here");
    assert_string_equal(vk_req_header(h->held[0], "b"), "c");
    hfree(h);
}

static void test_disconnect_aborts_once(void **state)
{
    harness *h = hnew(0, 0);
    assert_int_equal(feed(h, "GET /watch HTTP/1.1\r\n\r\nGET /queued HTTP/1.1\r\n\r\nGET /par"), 0);
    assert_int_equal(h->nheld, 1);
    assert_int_equal(vk_resp_start(h->held[0], 200), 0);
    assert_int_equal(vk_resp_write(h->held[0], "x", 1), 0);
    vk_session_free(h->s);
    h->s = NULL;
    assert_int_equal(h->aborts, 1);
    assert_int_equal(h->nheld, 0);
    hfree(h);

    /* A request that is partly received is freed without a callback. */
    h = hnew(0, 0);
    assert_int_equal(feed(h, "POST /x HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc"), 0);
    assert_true(h->s->partial);
    hfree(h);
    /* An answered request is not aborted. */
    h = hnew(0, 0);
    assert_int_equal(feed(h, "GET / HTTP/1.1\r\n\r\n"), 0);
    h->held[0]->on_abort = on_abort;
    assert_int_equal(vk_resp_send(h->held[0], 200, NULL, NULL, 0), 0);
    h->nheld = 0;
    vk_session_free(h->s);
    h->s = NULL;
    assert_int_equal(h->aborts, 0);
    hfree(h);
}

static void test_head(void **state)
{
    harness *h = hnew(0, 0);
    h->sync = true;
    assert_int_equal(feed(h, "HEAD /abc HTTP/1.1\r\n\r\n"), 0);
    assert_string_equal(produce(h), "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n"
                                    "Content-Length: 4\r\n\r\n");
    vk_buf_reset(&h->out);
    h->sync = false;
    assert_int_equal(feed(h, "HEAD /s HTTP/1.1\r\n\r\nGET /after HTTP/1.1\r\n\r\n"), 0);
    vk_req *r = take(h);
    assert_int_equal(vk_resp_start(r, 200), 0);
    assert_int_equal(vk_resp_write(r, "data", 4), 0);
    assert_int_equal(vk_resp_end(r), 0);
    assert_string_equal(produce(h), "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    /* The connection stays usable: the next request is parsed. */
    assert_int_equal(h->nheld, 1);
    assert_string_equal(h->held[0]->path, "/after");
    hfree(h);
}

static void test_expect_continue(void **state)
{
    harness *h = hnew(0, 0);
    assert_int_equal(
        feed(h, "PUT /x HTTP/1.1\r\nContent-Length: 4\r\nExpect: 100-Continue\r\n\r\n"), 0);
    assert_string_equal(produce(h), "HTTP/1.1 100 Continue\r\n\r\n");
    vk_buf_reset(&h->out);
    assert_int_equal(h->nheld, 0);
    assert_int_equal(feed(h, "abcd"), 0);
    vk_req *r = take(h);
    assert_int_equal(r->body.len, 4);
    assert_int_equal(vk_resp_send(r, 200, NULL, NULL, 0), 0);
    assert_string_equal(produce(h), "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    hfree(h);
}

static void test_no_body_statuses(void **state)
{
    harness *h = hnew(0, 0);
    assert_int_equal(feed(h, "GET /a HTTP/1.1\r\n\r\n"), 0);
    assert_int_equal(vk_resp_send(take(h), 204, NULL, NULL, 0), 0);
    assert_string_equal(produce(h), "HTTP/1.1 204 No Content\r\n\r\n");
    hfree(h);
}

static void test_shutdown(void **state)
{
    harness *h = hnew(0, 0);
    assert_int_equal(feed(h, "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n"), 0);
    vk_session_shutdown(h->s);
    assert_false(vk_session_done(h->s));
    assert_int_equal(vk_resp_send(take(h), 200, NULL, "a", 1), 0);
    const char *o = produce(h);
    assert_non_null(strstr(o, "Connection: close\r\n"));
    assert_int_equal(h->nheld, 0); /* /b is never dispatched */
    assert_int_equal(h->nseen, 1);
    assert_true(vk_session_done(h->s));
    hfree(h);

    h = hnew(0, 0);
    vk_session_shutdown(h->s);
    assert_true(vk_session_done(h->s));
    hfree(h);
}

static void test_absolute_form_and_upgrade(void **state)
{
    harness *h = hnew(0, 0);
    assert_int_equal(feed(h, "GET http://host:80/api?x=1 HTTP/1.1\r\n\r\n"), 0);
    vk_req *r = take(h);
    assert_string_equal(r->path, "/api");
    assert_string_equal(r->query, "x=1");
    assert_int_equal(vk_resp_send(r, 200, NULL, NULL, 0), 0);
    produce(h);
    vk_buf_reset(&h->out);
    /* Targets without a path, or with an empty host (found by fuzz_h1). */
    static const char *const targets[][3] = {
        {"http://host?x=/y", "/", "x=/y"},
        {"https://h", "/", ""},
        {"http:///pods?", "/pods", ""},
        {"https://a/b/c?d", "/b/c", "d"},
    };
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        vk_buf line = {0};
        vk_buf_printf(&line, "GET %s HTTP/1.1\r\n\r\n", targets[i][0]);
        assert_int_equal(feed(h, line.data), 0);
        vk_buf_free(&line);
        r = take(h);
        assert_string_equal(r->path, targets[i][1]);
        assert_string_equal(r->query, targets[i][2]);
        assert_int_equal(vk_resp_send(r, 200, NULL, NULL, 0), 0);
        produce(h);
        vk_buf_reset(&h->out);
    }
    assert_int_equal(feed(h, "GET /exec HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                             "\r\n\x81\x05hello"),
                     0);
    r = take(h);
    assert_string_equal(r->path, "/exec");
    assert_int_equal(vk_resp_send(r, 400, NULL, "no", 2), 0);
    assert_non_null(strstr(produce(h), "Connection: close\r\n"));
    assert_true(vk_session_done(h->s));
    hfree(h);
}

static void test_input_bound_while_answering(void **state)
{
    /* A client that keeps sending while a response streams cannot grow the input
     * without bound, and the refusal never lands inside the streamed body. */
    harness *h = hnew(64, 64);
    assert_int_equal(feed(h, "GET /w HTTP/1.1\r\n\r\n"), 0);
    vk_req *r = h->held[0];
    assert_int_equal(vk_resp_start(r, 200), 0);
    produce(h);
    vk_buf_reset(&h->out);
    char junk[70000];
    memset(junk, 'x', sizeof junk);
    assert_true(vk_session_feed(h->s, (const uint8_t *)junk, sizeof junk) < 0);
    assert_null(strstr(produce(h), "400 Bad Request"));
    /* The response may still end; then the connection is done. */
    assert_false(vk_session_done(h->s));
    assert_int_equal(vk_resp_end(take(h)), 0);
    assert_string_equal(produce(h), "0\r\n\r\n");
    assert_true(vk_session_done(h->s));
    hfree(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_get_fields),
        cmocka_unit_test(test_query_decoding),
        cmocka_unit_test(test_content_length_response),
        cmocka_unit_test(test_streamed_chunked),
        cmocka_unit_test(test_keep_alive_sequential),
        cmocka_unit_test(test_pipelined_sync),
        cmocka_unit_test(test_pipelined_async_in_order),
        cmocka_unit_test(test_http10_closes),
        cmocka_unit_test(test_http10_keep_alive_and_stream),
        cmocka_unit_test(test_connection_close),
        cmocka_unit_test(test_post_body),
        cmocka_unit_test(test_post_chunked_body),
        cmocka_unit_test(test_body_too_large_content_length),
        cmocka_unit_test(test_body_too_large_chunked),
        cmocka_unit_test(test_header_too_large),
        cmocka_unit_test(test_malformed_request_line),
        cmocka_unit_test(test_one_byte_feeds),
        cmocka_unit_test(test_disconnect_aborts_once),
        cmocka_unit_test(test_head),
        cmocka_unit_test(test_expect_continue),
        cmocka_unit_test(test_no_body_statuses),
        cmocka_unit_test(test_shutdown),
        cmocka_unit_test(test_absolute_form_and_upgrade),
        cmocka_unit_test(test_input_bound_while_answering),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
