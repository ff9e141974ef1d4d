/* WebSocket (RFC 6455) over an upgraded HTTP/1.1 connection, through wslay's event
 * API fed with bytes (sans-I/O): the path exec, attach and port-forward take
 * (subprotocols v5.channel.k8s.io and friends, SPDY/3.1+portforward.k8s.io).
 *
 * Lifetime: vk_ws_accept answers the upgrade and returns the socket; it lives until
 * on_close runs (the peer closed, the connection died, or after vk_ws_close the close
 * handshake ended). Everything runs on the loop thread. */
#ifndef VK_NET_WS_H
#define VK_NET_WS_H

#include <stddef.h>
#include <stdint.h>

#include "apiserver/http/req.h"

typedef struct vk_ws vk_ws;

enum { VK_WS_TEXT = 1, VK_WS_BINARY = 2 };

typedef struct vk_ws_handler {
    /* A whole message (opcode VK_WS_TEXT or VK_WS_BINARY). */
    void (*on_message)(void *ud, vk_ws *ws, int opcode, const uint8_t *data, size_t n);
    /* The socket is gone; ws is freed right after this returns. */
    void (*on_close)(void *ud, vk_ws *ws, uint16_t code);
} vk_ws_handler;

/* Answers a WebSocket handshake request: checks the method, Upgrade, Connection,
 * Sec-WebSocket-Version (13) and Sec-WebSocket-Key, picks the first of protocols (a
 * NULL-terminated preference list; NULL accepts a request without subprotocols) that
 * the client offers, sends the 101 and takes the connection. On a bad handshake it
 * answers 400 (or 403 when no subprotocol is shared, as kube does) and returns
 * VK_EINVALID; the request is finished either way. */
int vk_ws_accept(vk_req *r, const char *const *protocols, const vk_ws_handler *h, void *ud,
                 vk_ws **out);
/* The subprotocol chosen ("" when none). */
const char *vk_ws_protocol(const vk_ws *ws);
/* Queues a message. 0, VK_ECLOSED, or -ENOMEM. */
int vk_ws_send(vk_ws *ws, int opcode, const void *data, size_t n);
/* Starts the close handshake with code and reason. */
void vk_ws_close(vk_ws *ws, uint16_t code, const char *reason);

/* Sec-WebSocket-Accept for a client key (base64 of SHA-1 of key + RFC 6455's GUID).
 * out holds 29 bytes. */
void vk_ws_accept_key(const char *key, char out[29]);

#endif
