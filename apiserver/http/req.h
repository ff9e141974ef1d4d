/* vk_req: one HTTP request and its response, the same object for HTTP/1.1 and HTTP/2.
 *
 * The protocol layer (apiserver/net) creates a request, fills method, target, headers
 * and body, and hands it to the server's dispatcher. Handlers answer with the vk_resp_*
 * functions, at once or later (watches, storage completions); they never see the
 * protocol.
 *
 * Lifetime: the protocol owns the request. It frees it once the response has ended
 * and the stream is done. When the stream dies first (client reset, connection
 * closed, server shutdown) the protocol calls the request's on_abort hook, if set, and
 * frees it right after; a handler that answers asynchronously sets on_abort and drops
 * every pointer to the request there. Per-request memory comes from req->arena. */
#ifndef VK_HTTP_REQ_H
#define VK_HTTP_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/buf.h"

typedef struct vk_req vk_req;

typedef struct vk_header {
    const char *name; /* lower case */
    const char *value;
} vk_header;

enum vk_proto { VK_PROTO_H1 = 1, VK_PROTO_H2 = 2 };

/* Who sent the request, as authentication found it. Strings live as long as the
 * request. */
typedef struct vk_user {
    const char *name;
    const char *uid;
    const char **groups; /* NULL-terminated */
} vk_user;

/* Facts about the connection a request came on; owned by the connection, which
 * outlives its requests. */
typedef struct vk_conn_info {
    char peer[64];            /* "ip:port" */
    const char *cert_user;    /* verified client certificate CN, or NULL */
    const char **cert_groups; /* its O values, NULL-terminated */
    const char *alpn;         /* "h2" or "http/1.1" */
    size_t write_pending;     /* bytes handed to the socket and not yet written */
    struct vk_server *server;
} vk_conn_info;

/* An upgraded connection (HTTP/1.1 Upgrade, e.g. WebSocket): after the 101, bytes
 * from the peer go to ops->on_data and the handler writes raw bytes back. on_close runs
 * once when the connection goes away (not after vk_upgraded_close). */
typedef struct vk_upgrade_ops {
    void (*on_data)(void *ud, const uint8_t *data, size_t n);
    void (*on_close)(void *ud);
} vk_upgrade_ops;
typedef struct vk_upgraded vk_upgraded;
struct vk_upgraded {
    int (*write)(vk_upgraded *u, const void *data, size_t n);
    void (*close)(vk_upgraded *u);
};

/* What a protocol does for the response side. Each returns 0 or negative. */
typedef struct vk_req_ops {
    /* Sends status and headers; len is the body length, or -1 when streamed. */
    int (*start)(vk_req *r, long long len);
    /* Queues body bytes (copied). */
    int (*write)(vk_req *r, const void *data, size_t n);
    /* Ends the body. */
    int (*end)(vk_req *r);
    /* Response bytes the protocol holds that the peer has not taken yet (optional). */
    size_t (*pending)(const vk_req *r);
    /* Takes over the connection after a 101 (optional: HTTP/1.1 only). */
    int (*upgrade)(vk_req *r, const vk_upgrade_ops *ops, void *ud, vk_upgraded **out);
} vk_req_ops;

struct vk_req {
    vk_arena arena;
    /* Request, filled by the protocol. */
    const char *method; /* "GET", ... */
    const char *path;   /* raw path, without query */
    const char *query;  /* raw query after '?', or "" */
    vk_header *headers;
    size_t nheaders, cap_headers;
    size_t header_bytes; /* sum of names and values, for limits */
    vk_buf body;
    bool body_too_large; /* the body went over the limit and was dropped (413) */
    enum vk_proto proto;
    const vk_conn_info *conn;
    uint64_t start_ns;
    vk_user user;
    bool reply_yaml; /* JSON replies are written as YAML (negotiated application/yaml) */

    /* Response. */
    int status;
    vk_header *resp_headers;
    size_t nresp_headers, cap_resp_headers;
    bool started, ended;
    size_t resp_bytes; /* body bytes written, for logs and metrics */

    /* Asynchronous handlers. */
    void (*on_abort)(vk_req *r, void *data);
    void *abort_data;
    /* The dispatcher's per-request bookkeeping (metrics labels). */
    void (*on_done)(vk_req *r);
    void *route_data;

    /* Protocol side. */
    const vk_req_ops *ops;
    void *proto_data;
};

/* Creates a request for a protocol. NULL when out of memory. */
vk_req *vk_req_new(const vk_req_ops *ops, void *proto_data, enum vk_proto proto,
                   const vk_conn_info *conn);
/* Frees the request; calls on_abort first when the response never ended. NULL is a no-op. */
void vk_req_free(vk_req *r);

/* Adds a request header (name is lower-cased; both copied into the arena). */
int vk_req_add_header(vk_req *r, const char *name, size_t nlen, const char *value, size_t vlen);
/* The first header of that lower-case name, or NULL. */
const char *vk_req_header(const vk_req *r, const char *name);
/* The value of query parameter key, decoded into the arena; NULL when absent. */
const char *vk_req_query(vk_req *r, const char *key);

/* Adds a response header before the response starts (copied). */
int vk_resp_header(vk_req *r, const char *name, const char *value);
/* After a 101 response to a request with an Upgrade header, hands the connection to
 * ops. The request is finished (freed) by this call; *out is the connection's handle,
 * valid until on_close runs or vk_upgraded_close is called. VK_EINVALID when the
 * protocol or the request cannot be upgraded (HTTP/2, no Upgrade header, no 101). */
int vk_req_upgrade(vk_req *r, const vk_upgrade_ops *ops, void *ud, vk_upgraded **out);
static inline int vk_upgraded_write(vk_upgraded *u, const void *data, size_t n)
{
    return u->write(u, data, n);
}
/* Closes the connection once what was written is sent. */
static inline void vk_upgraded_close(vk_upgraded *u)
{
    u->close(u);
}

/* Adds a `Warning: 299 - "text"` header (kube's format; quotes and backslashes
 * escaped, control characters dropped, duplicates sent once). Before the response
 * starts. */
int vk_resp_warning(vk_req *r, const char *text);
/* Replaces the value of a response header added before (or adds it). */
int vk_resp_header_set(vk_req *r, const char *name, const char *value);
/* Starts a streamed response (HTTP/1.1 chunked, HTTP/2 DATA frames). */
int vk_resp_start(vk_req *r, int status);
/* Writes body bytes of a started response. */
int vk_resp_write(vk_req *r, const void *data, size_t n);
/* Ends the response. */
int vk_resp_end(vk_req *r);
/* Response bytes written but not yet taken by the peer: what the protocol still
 * holds plus what the connection has queued. Long streams use it to bound memory. */
size_t vk_req_pending(const vk_req *r);
/* A whole response at once: status, Content-Type (may be NULL) and body. */
int vk_resp_send(vk_req *r, int status, const char *content_type, const void *body, size_t n);

#endif
