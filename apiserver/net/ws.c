#include "apiserver/net/ws.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <wslay/wslay.h>

#include "apiserver/http/status.h"
#include "common/buf.h"
#include "common/err.h"

struct vk_ws {
    wslay_event_context_ptr ctx;
    vk_upgraded *conn;
    const vk_ws_handler *h;
    void *ud;
    const uint8_t *in; /* input being fed to wslay */
    size_t in_len;
    char protocol[64];
    bool closed;
    bool in_recv; /* inside wslay_event_recv: sends wait for its end */
    uint16_t close_code;
};

void vk_ws_accept_key(const char *key, char out[29])
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    char in[128];
    int n = snprintf(in, sizeof in, "%.80s%s", key, guid);
    unsigned char d[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)in, (size_t)n, d);
    EVP_EncodeBlock((unsigned char *)out, d, SHA_DIGEST_LENGTH);
}

static ssize_t recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *ud)
{
    vk_ws *ws = ud;
    if (!ws->in_len) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    size_t n = len < ws->in_len ? len : ws->in_len;
    memcpy(buf, ws->in, n);
    ws->in += n;
    ws->in_len -= n;
    return (ssize_t)n;
}

static ssize_t send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *ud)
{
    vk_ws *ws = ud;
    if (ws->closed || vk_upgraded_write(ws->conn, data, len)) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return (ssize_t)len;
}

static void msg_cb(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                   void *ud)
{
    vk_ws *ws = ud;
    if (arg->opcode == WSLAY_TEXT_FRAME || arg->opcode == WSLAY_BINARY_FRAME)
        ws->h->on_message(ws->ud, ws, arg->opcode == WSLAY_TEXT_FRAME ? VK_WS_TEXT : VK_WS_BINARY,
                          arg->msg, arg->msg_length);
    else if (arg->opcode == WSLAY_CONNECTION_CLOSE)
        ws->close_code = arg->status_code;
}

static void finish(vk_ws *ws)
{
    if (ws->closed)
        return;
    ws->closed = true;
    vk_upgraded_close(ws->conn);
    ws->h->on_close(ws->ud, ws, ws->close_code ? ws->close_code : 1006);
    wslay_event_context_free(ws->ctx);
    free(ws);
}

/* Sends what wslay queued; ends the socket when the close handshake is over or the
 * peer broke the protocol. */
static void pump(vk_ws *ws)
{
    if (ws->in_recv)
        return;
    if (wslay_event_send(ws->ctx) ||
        (!wslay_event_want_read(ws->ctx) && !wslay_event_want_write(ws->ctx)))
        finish(ws);
}

static void on_data(void *ud, const uint8_t *data, size_t n)
{
    vk_ws *ws = ud;
    ws->in = data;
    ws->in_len = n;
    ws->in_recv = true;
    int rc = wslay_event_recv(ws->ctx);
    ws->in_recv = false;
    ws->in = NULL;
    ws->in_len = 0;
    if (rc) {
        finish(ws);
        return;
    }
    pump(ws);
}

static void on_conn_close(void *ud)
{
    vk_ws *ws = ud;
    if (ws->closed)
        return;
    ws->closed = true;
    ws->h->on_close(ws->ud, ws, ws->close_code ? ws->close_code : 1006);
    wslay_event_context_free(ws->ctx);
    free(ws);
}

static const vk_upgrade_ops upgrade_ops = {on_data, on_conn_close};

/* True when the comma-separated header value lists token (case-insensitive). */
static bool has_token(const char *v, const char *token)
{
    size_t tl = strlen(token);
    while (v && *v) {
        while (*v == ' ' || *v == ',')
            v++;
        size_t l = strcspn(v, ",");
        size_t e = l;
        while (e && v[e - 1] == ' ')
            e--;
        if (e == tl && !strncasecmp(v, token, tl))
            return true;
        v += l;
    }
    return false;
}

int vk_ws_accept(vk_req *r, const char *const *protocols, const vk_ws_handler *h, void *ud,
                 vk_ws **out)
{
    const char *key = vk_req_header(r, "sec-websocket-key");
    const char *ver = vk_req_header(r, "sec-websocket-version");
    if (strcmp(r->method, "GET") || !has_token(vk_req_header(r, "upgrade"), "websocket") ||
        !has_token(vk_req_header(r, "connection"), "upgrade") || !key || strlen(key) != 24 ||
        !ver || strcmp(ver, "13")) {
        vk_send_error(r, 400, "BadRequest", "not a valid WebSocket handshake");
        return VK_EINVALID;
    }
    const char *offered = vk_req_header(r, "sec-websocket-protocol");
    const char *chosen = NULL;
    for (const char *const *p = protocols; p && *p && !chosen; p++)
        if (has_token(offered, *p))
            chosen = *p;
    if (protocols && !chosen) {
        vk_send_error(r, 403, "Forbidden",
                      "unable to upgrade: unable to negotiate protocol: client supports [%s]",
                      offered ? offered : "");
        return VK_EINVALID;
    }
    vk_ws *ws = calloc(1, sizeof *ws);
    struct wslay_event_callbacks cbs = {
        .recv_callback = recv_cb, .send_callback = send_cb, .on_msg_recv_callback = msg_cb};
    if (!ws || wslay_event_context_server_init(&ws->ctx, &cbs, ws)) {
        free(ws);
        vk_send_error(r, 500, "InternalError", "out of memory");
        return -ENOMEM;
    }
    ws->h = h;
    ws->ud = ud;
    snprintf(ws->protocol, sizeof ws->protocol, "%s", chosen ? chosen : "");
    char accept[29];
    vk_ws_accept_key(key, accept);
    vk_resp_header(r, "upgrade", "websocket");
    vk_resp_header(r, "connection", "Upgrade");
    vk_resp_header(r, "sec-websocket-accept", accept);
    if (chosen)
        vk_resp_header(r, "sec-websocket-protocol", chosen);
    int rc = vk_resp_start(r, 101);
    if (!rc)
        rc = vk_req_upgrade(r, &upgrade_ops, ws, &ws->conn);
    if (rc) {
        wslay_event_context_free(ws->ctx);
        free(ws);
        return rc;
    }
    *out = ws;
    return 0;
}

const char *vk_ws_protocol(const vk_ws *ws)
{
    return ws->protocol;
}

int vk_ws_send(vk_ws *ws, int opcode, const void *data, size_t n)
{
    if (ws->closed)
        return VK_ECLOSED;
    struct wslay_event_msg m = {opcode == VK_WS_TEXT ? WSLAY_TEXT_FRAME : WSLAY_BINARY_FRAME, data,
                                n};
    if (wslay_event_queue_msg(ws->ctx, &m))
        return -ENOMEM;
    pump(ws);
    return 0;
}

void vk_ws_close(vk_ws *ws, uint16_t code, const char *reason)
{
    if (ws->closed)
        return;
    wslay_event_queue_close(ws->ctx, code, (const uint8_t *)(reason ? reason : ""),
                            reason ? strlen(reason) : 0);
    pump(ws);
}
