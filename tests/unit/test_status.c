/* Status objects, the error table, pretty-printing rules and Status replies over a
 * real HTTP/1.1 session. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/http/status.h"
#include "apiserver/net/session.h"
#include "common/err.h"

/* Serializes (and releases) obj as compact JSON. */
static char *dump(json_t *obj)
{
    assert_non_null(obj);
    char *s = json_dumps(obj, JSON_COMPACT);
    assert_non_null(s);
    json_decref(obj);
    return s;
}

static void expect_json(json_t *obj, const char *want)
{
    char *s = dump(obj);
    assert_string_equal(s, want);
    free(s);
}

static void test_status_new(void **state)
{
    expect_json(
        vk_status_new(404, "NotFound", "pods \"x\" not found", vk_status_details("x", "", "pods")),
        "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
        "\"Failure\",\"message\":\"pods \\\"x\\\" not found\",\"reason\":\"NotFound\","
        "\"details\":{\"name\":\"x\",\"kind\":\"pods\"},\"code\":404}");
    expect_json(vk_status_new(409, "AlreadyExists", "deployments.apps \"web\" already exists",
                              vk_status_details("web", "apps", "deployments")),
                "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
                "\"Failure\",\"message\":\"deployments.apps \\\"web\\\" already exists\","
                "\"reason\":\"AlreadyExists\",\"details\":{\"name\":\"web\",\"group\":\"apps\","
                "\"kind\":\"deployments\"},\"code\":409}");
    /* Success (e.g. a delete's answer): no message, reason or details. */
    expect_json(vk_status_new(200, NULL, NULL, NULL),
                "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
                "\"Success\",\"code\":200}");
    expect_json(vk_status_new(200, "", "", NULL), "{\"kind\":\"Status\",\"apiVersion\":\"v1\","
                                                  "\"metadata\":{},\"status\":\"Success\","
                                                  "\"code\":200}");
    /* 401 as kube sends it. */
    expect_json(vk_status_new(401, "Unauthorized", "Unauthorized", NULL),
                "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
                "\"Failure\",\"message\":\"Unauthorized\",\"reason\":\"Unauthorized\","
                "\"code\":401}");
    /* 399 is not a failure, 400 is. */
    char *s = dump(vk_status_new(399, NULL, NULL, NULL));
    assert_non_null(strstr(s, "\"status\":\"Success\""));
    free(s);
    s = dump(vk_status_new(400, "BadRequest", "x", NULL));
    assert_non_null(strstr(s, "\"status\":\"Failure\""));
    free(s);
}

static void test_details(void **state)
{
    expect_json(vk_status_details("", "", ""), "{}");
    expect_json(vk_status_details(NULL, NULL, NULL), "{}");
    expect_json(vk_status_details(NULL, "apps", NULL), "{\"group\":\"apps\"}");
    expect_json(vk_status_new(500, "InternalError", "boom", vk_status_details("", "", "")),
                "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
                "\"Failure\",\"message\":\"boom\",\"reason\":\"InternalError\",\"details\":{},"
                "\"code\":500}");
}

static void test_err_table(void **state)
{
    static const struct {
        int err, code;
        const char *reason;
    } cases[] = {
        {VK_ENOTFOUND, 404, "NotFound"},  {VK_EEXIST, 409, "AlreadyExists"},
        {VK_ECONFLICT, 409, "Conflict"},  {VK_EINVALID, 422, "Invalid"},
        {VK_EGONE, 410, "Expired"},       {VK_ETOOLARGE, 413, "RequestEntityTooLarge"},
        {VK_EFULL, 507, "InternalError"}, {-ENOMEM, 500, "InternalError"},
        {-EIO, 500, "InternalError"},     {VK_EPROTO, 500, "InternalError"},
        {12345, 500, "InternalError"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int code = 0;
        const char *reason = NULL;
        vk_err_status(cases[i].err, &code, &reason);
        assert_int_equal(code, cases[i].code);
        assert_string_equal(reason, cases[i].reason);
    }
}

static vk_req *mkreq(const char *query, const char *ua)
{
    vk_req *r = vk_req_new(NULL, NULL, VK_PROTO_H1, NULL);
    assert_non_null(r);
    r->method = "GET";
    r->path = "/api";
    r->query = query;
    if (ua)
        assert_int_equal(vk_req_add_header(r, "User-Agent", 10, ua, strlen(ua)), 0);
    return r;
}

static void test_want_pretty(void **state)
{
    static const struct {
        const char *query, *ua;
        bool pretty;
    } cases[] = {
        {"", NULL, false},
        {"pretty=true", NULL, true},
        {"pretty=1", NULL, true},
        {"pretty=T", NULL, true},
        {"a=b&pretty=TRUE", NULL, true},
        {"pretty=false", NULL, false},
        {"pretty=yes", NULL, false},
        {"pretty", NULL, false},
        {"", "curl/8.4.0", true},
        {"", "Wget/1.21", true},
        {"", "Mozilla/5.0 (X11; Linux x86_64)", true},
        {"", "Mozilla/4.0", false},
        {"", "kubectl/v1.37.2 (linux/amd64) kubernetes/abc", false},
        {"", "Go-http-client/2.0", false},
        {"", "xcurl", false},
        {"pretty=true", "kubectl/v1.37.2", true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        vk_req *r = mkreq(cases[i].query, cases[i].ua);
        if (vk_want_pretty(r) != cases[i].pretty)
            fail_msg("query \"%s\" ua \"%s\": want %d", cases[i].query,
                     cases[i].ua ? cases[i].ua : "", cases[i].pretty);
        vk_req_free(r);
    }
}

/* A real HTTP/1.1 session answering one request with a Status. */

typedef struct reply {
    json_t *status; /* what on_request sends */
    int code;       /* for vk_send_error when status is NULL */
    vk_buf out;
} reply;

static void on_request(void *ud, vk_req *r)
{
    reply *p = ud;
    if (p->status)
        assert_int_equal(vk_send_status(r, p->status), 0);
    else
        assert_int_equal(
            vk_send_error(r, p->code, "Forbidden", "user \"%s\" cannot %s", "bob", "list pods"), 0);
    p->status = NULL;
}

static void want_flush(void *ud) {}

static const vk_session_cb cbs = {on_request, want_flush};

/* Sends request text through a session; returns the raw response (free with vk_buf_free). */
static void roundtrip(reply *p, const char *request)
{
    vk_conn_info ci = {0};
    snprintf(ci.peer, sizeof ci.peer, "127.0.0.1:1");
    vk_limits lim = VK_LIMITS_DEFAULT;
    vk_session *s = vk_h1_new(&cbs, p, &ci, &lim);
    assert_non_null(s);
    assert_int_equal(vk_session_feed(s, (const uint8_t *)request, strlen(request)), 0);
    assert_int_equal(vk_session_produce(s, &p->out), 0);
    vk_session_free(s);
    assert_non_null(p->out.data);
}

static const char *body_of(const vk_buf *b)
{
    const char *e = strstr(b->data, "\r\n\r\n");
    assert_non_null(e);
    return e + 4;
}

static void test_send_status_compact(void **state)
{
    json_t *d = vk_status_details("", "", "");
    json_object_set_new(d, "retryAfterSeconds", json_integer(3));
    reply p = {.status = vk_status_new(429, "TooManyRequests", "slow down", d)};
    roundtrip(&p, "GET /api HTTP/1.1\r\nUser-Agent: kubectl/v1.37.2\r\n\r\n");
    const char *o = p.out.data;
    assert_true(!strncmp(o, "HTTP/1.1 429 Too Many Requests\r\n", 32));
    assert_non_null(strstr(o, "retry-after: 3\r\n"));
    assert_non_null(strstr(o, "x-content-type-options: nosniff\r\n"));
    assert_non_null(strstr(o, "content-type: application/json\r\n"));
    const char *body = body_of(&p.out);
    assert_string_equal(body, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
                              "\"status\":\"Failure\",\"message\":\"slow down\",\"reason\":"
                              "\"TooManyRequests\",\"details\":{\"retryAfterSeconds\":3},"
                              "\"code\":429}\n");
    char clen[64];
    snprintf(clen, sizeof clen, "Content-Length: %zu\r\n", strlen(body));
    assert_non_null(strstr(o, clen));
    vk_buf_free(&p.out);
}

static void test_send_status_pretty(void **state)
{
    reply p = {.status = vk_status_new(404, "NotFound", "pods \"x\" not found",
                                       vk_status_details("x", "", "pods"))};
    roundtrip(&p, "GET /api HTTP/1.1\r\nUser-Agent: curl/8.0\r\n\r\n");
    const char *o = p.out.data;
    assert_true(!strncmp(o, "HTTP/1.1 404 Not Found\r\n", 24));
    assert_null(strstr(o, "retry-after"));
    assert_non_null(strstr(o, "x-content-type-options: nosniff\r\n"));
    /* Go's MarshalIndent with two spaces, no trailing newline. */
    assert_string_equal(body_of(&p.out), "{\n"
                                         "  \"kind\": \"Status\",\n"
                                         "  \"apiVersion\": \"v1\",\n"
                                         "  \"metadata\": {},\n"
                                         "  \"status\": \"Failure\",\n"
                                         "  \"message\": \"pods \\\"x\\\" not found\",\n"
                                         "  \"reason\": \"NotFound\",\n"
                                         "  \"details\": {\n"
                                         "    \"name\": \"x\",\n"
                                         "    \"kind\": \"pods\"\n"
                                         "  },\n"
                                         "  \"code\": 404\n"
                                         "}");
    vk_buf_free(&p.out);

    /* ?pretty=true does the same for any client. */
    p = (reply){.status = vk_status_new(200, NULL, NULL, NULL)};
    roundtrip(&p, "GET /api?pretty=true HTTP/1.1\r\n\r\n");
    assert_string_equal(body_of(&p.out), "{\n  \"kind\": \"Status\",\n  \"apiVersion\": \"v1\",\n"
                                         "  \"metadata\": {},\n  \"status\": \"Success\",\n"
                                         "  \"code\": 200\n}");
    vk_buf_free(&p.out);
}

static void test_send_status_edge_cases(void **state)
{
    /* A zero or negative retryAfterSeconds gives no header. */
    json_t *d = vk_status_details("n", "", "nodes");
    json_object_set_new(d, "retryAfterSeconds", json_integer(0));
    reply p = {.status = vk_status_new(503, "ServiceUnavailable", "later", d)};
    roundtrip(&p, "GET /api HTTP/1.1\r\n\r\n");
    assert_true(!strncmp(p.out.data, "HTTP/1.1 503 Service Unavailable\r\n", 34));
    assert_null(strstr(p.out.data, "retry-after"));
    vk_buf_free(&p.out);

    /* vk_send_error formats the message. */
    p = (reply){.code = 403};
    roundtrip(&p, "GET /api HTTP/1.1\r\n\r\n");
    assert_true(!strncmp(p.out.data, "HTTP/1.1 403 Forbidden\r\n", 24));
    assert_string_equal(body_of(&p.out),
                        "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
                        "\"Failure\",\"message\":\"user \\\"bob\\\" cannot list pods\","
                        "\"reason\":\"Forbidden\",\"code\":403}\n");
    vk_buf_free(&p.out);

    /* A Status without a code is answered as 500. */
    json_t *st = vk_status_new(0, NULL, "x", NULL);
    json_object_del(st, "code");
    p = (reply){.status = st};
    roundtrip(&p, "GET /api HTTP/1.1\r\n\r\n");
    assert_true(!strncmp(p.out.data, "HTTP/1.1 500 Internal Server Error\r\n", 36));
    vk_buf_free(&p.out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_new),
        cmocka_unit_test(test_details),
        cmocka_unit_test(test_err_table),
        cmocka_unit_test(test_want_pretty),
        cmocka_unit_test(test_send_status_compact),
        cmocka_unit_test(test_send_status_pretty),
        cmocka_unit_test(test_send_status_edge_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
