/* WebSocket over an upgraded HTTP/1.1 session, fed with bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "apiserver/net/session.h"
#include "apiserver/net/ws.h"
#include "common/err.h"

typedef struct fixture {
    vk_session *s;
    vk_conn_info info;
    vk_buf out;
    vk_ws *ws;
    int messages, closes, accept_rc;
    uint16_t close_code;
    vk_buf last;
    const char *const *protocols;
} fixture;

static void on_message(void *ud, vk_ws *ws, int opcode, const uint8_t *data, size_t n)
{
    fixture *f = ud;
    f->messages++;
    vk_buf_reset(&f->last);
    vk_buf_append(&f->last, data, n);
    if (n == 5 && !memcmp(data, "close", 5))
        vk_ws_close(ws, 1000, "bye");
    else
        vk_ws_send(ws, opcode, data, n); /* echo */
}

static void on_close(void *ud, vk_ws *ws, uint16_t code)
{
    fixture *f = ud;
    f->closes++;
    f->close_code = code;
    f->ws = NULL;
}

static const vk_ws_handler handler = {on_message, on_close};

static void on_request(void *ud, vk_req *r)
{
    fixture *f = ud;
    f->accept_rc = vk_ws_accept(r, f->protocols, &handler, f, &f->ws);
}

static void want_flush(void *ud) {}

static const vk_session_cb cb = {on_request, want_flush};

static void produce(fixture *f)
{
    assert_int_equal(vk_session_produce(f->s, &f->out), 0);
}

static fixture *setup_session(const char *const *protocols)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->info.peer, sizeof f->info.peer, "test");
    vk_limits l = VK_LIMITS_DEFAULT;
    f->protocols = protocols;
    f->s = vk_h1_new(&cb, f, &f->info, &l);
    return f;
}

static void teardown_session(fixture *f)
{
    vk_session_free(f->s);
    vk_buf_free(&f->out);
    vk_buf_free(&f->last);
    free(f);
}

static const char handshake[] =
    "GET /api/v1/namespaces/d/pods/p/exec?command=sh HTTP/1.1\r\n"
    "Host: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "Sec-WebSocket-Protocol: v4.channel.k8s.io, v5.channel.k8s.io\r\n\r\n";

/* A masked client frame. */
static size_t frame(uint8_t *out, uint8_t op, const char *payload, size_t n)
{
    static const uint8_t mask[4] = {0x12, 0x34, 0x56, 0x78};
    out[0] = (uint8_t)(0x80 | op);
    out[1] = (uint8_t)(0x80 | n);
    memcpy(out + 2, mask, 4);
    for (size_t i = 0; i < n; i++)
        out[6 + i] = (uint8_t)payload[i] ^ mask[i % 4];
    return 6 + n;
}

static void test_accept_key(void **state)
{
    char k[29];
    vk_ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", k);
    assert_string_equal(k, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="); /* RFC 6455 section 1.3 */
}

static void test_handshake_and_echo(void **state)
{
    static const char *const protos[] = {"v5.channel.k8s.io", "v4.channel.k8s.io", NULL};
    fixture *f = setup_session(protos);
    /* The handshake and a first frame in one read: the frame waits for the upgrade. */
    uint8_t buf[512];
    memcpy(buf, handshake, sizeof handshake - 1);
    size_t n = sizeof handshake - 1;
    n += frame(buf + n, 0x2, "\x01hi", 3);
    assert_int_equal(vk_session_feed(f->s, buf, n), 0);
    produce(f);
    assert_int_equal(f->accept_rc, 0);
    assert_non_null(strstr(f->out.data, "HTTP/1.1 101 Switching Protocols\r\n"));
    assert_non_null(strstr(f->out.data, "sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
    /* The server's preference wins among the offered ones. */
    assert_non_null(strstr(f->out.data, "sec-websocket-protocol: v5.channel.k8s.io\r\n"));
    assert_string_equal(vk_ws_protocol(f->ws), "v5.channel.k8s.io");
    assert_int_equal(f->messages, 1);
    assert_memory_equal(f->last.data, "\x01hi", 3);
    const char *end = strstr(f->out.data, "\r\n\r\n") + 4;
    /* The echo: an unmasked binary frame. */
    assert_memory_equal(end, "\x82\x03\x01hi", 5);
    vk_buf_reset(&f->out);

    /* Ping is answered with a pong carrying the same payload. */
    n = frame(buf, 0x9, "p!", 2);
    assert_int_equal(vk_session_feed(f->s, buf, n), 0);
    produce(f);
    assert_memory_equal(f->out.data, "\x8a\x02p!", 4);
    vk_buf_reset(&f->out);

    /* The handler closes: a close frame goes out; the peer's close ends it. */
    n = frame(buf, 0x1, "close", 5);
    assert_int_equal(vk_session_feed(f->s, buf, n), 0);
    produce(f);
    assert_int_equal((uint8_t)f->out.data[0], 0x88);
    assert_int_equal(f->closes, 0);
    n = frame(buf, 0x8, "\x03\xe8", 2);
    assert_int_equal(vk_session_feed(f->s, buf, n), 0);
    produce(f);
    assert_int_equal(f->closes, 1);
    assert_int_equal(f->close_code, 1000);
    assert_true(vk_session_done(f->s));
    teardown_session(f);
}

static void test_connection_loss_closes(void **state)
{
    static const char *const protos[] = {"v5.channel.k8s.io", NULL};
    fixture *f = setup_session(protos);
    assert_int_equal(vk_session_feed(f->s, (const uint8_t *)handshake, sizeof handshake - 1), 0);
    produce(f);
    assert_non_null(f->ws);
    assert_false(vk_session_done(f->s));
    vk_session_free(f->s); /* the connection died */
    f->s = NULL;
    assert_int_equal(f->closes, 1);
    assert_int_equal(f->close_code, 1006);
    vk_buf_free(&f->out);
    vk_buf_free(&f->last);
    free(f);
}

static void test_no_shared_protocol_is_403(void **state)
{
    static const char *const protos[] = {"SPDY/3.1+portforward.k8s.io", NULL};
    fixture *f = setup_session(protos);
    assert_int_equal(vk_session_feed(f->s, (const uint8_t *)handshake, sizeof handshake - 1), 0);
    produce(f);
    assert_int_equal(f->accept_rc, VK_EINVALID);
    assert_non_null(strstr(f->out.data, "HTTP/1.1 403 "));
    assert_non_null(strstr(f->out.data, "unable to negotiate protocol"));
    assert_null(f->ws);
    teardown_session(f);
}

static void test_bad_handshake_is_400(void **state)
{
    static const char req[] = "GET /x HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                              "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n";
    fixture *f = setup_session(NULL);
    assert_int_equal(vk_session_feed(f->s, (const uint8_t *)req, sizeof req - 1), 0);
    produce(f);
    assert_int_equal(f->accept_rc, VK_EINVALID);
    assert_non_null(strstr(f->out.data, "HTTP/1.1 400 "));
    assert_true(vk_session_done(f->s)); /* a refused upgrade closes the connection */
    teardown_session(f);
}

static void test_protocol_error_closes(void **state)
{
    fixture *f = setup_session(NULL);
    static const char req[] = "GET /x HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                              "Connection: keep-alive, Upgrade\r\n"
                              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                              "Sec-WebSocket-Version: 13\r\n\r\n";
    assert_int_equal(vk_session_feed(f->s, (const uint8_t *)req, sizeof req - 1), 0);
    produce(f);
    assert_int_equal(f->accept_rc, 0);
    /* An unmasked client frame breaks RFC 6455. */
    static const uint8_t bad[] = {0x82, 0x01, 0x00};
    assert_int_equal(vk_session_feed(f->s, bad, sizeof bad), 0);
    produce(f);
    assert_int_equal(f->closes, 1);
    assert_true(vk_session_done(f->s));
    teardown_session(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_key),
        cmocka_unit_test(test_handshake_and_echo),
        cmocka_unit_test(test_connection_loss_closes),
        cmocka_unit_test(test_no_shared_protocol_is_403),
        cmocka_unit_test(test_bad_handshake_is_400),
        cmocka_unit_test(test_protocol_error_closes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
