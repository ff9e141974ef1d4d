/* vk_session: a sans-I/O HTTP protocol endpoint (HTTP/1.1 or HTTP/2).
 *
 * Bytes from the peer go in through feed(); bytes for the peer come out of produce().
 * Complete requests are handed to cb->on_request as vk_req objects; responses written
 * later (asynchronously) call cb->want_flush so the owner calls produce() again. The
 * session never touches sockets, TLS or timers, so tests drive it with byte strings. */
#ifndef VK_NET_SESSION_H
#define VK_NET_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apiserver/http/req.h"
#include "common/buf.h"

typedef struct vk_limits {
    size_t max_body;         /* request body limit; larger bodies are flagged (413) */
    size_t max_header_bytes; /* request header block limit */
    uint32_t max_streams;    /* HTTP/2 concurrent streams per connection */
} vk_limits;

/* kube-apiserver's: 3 MiB bodies, Go's 1 MiB header limit, 1000 streams. */
#define VK_LIMITS_DEFAULT                                                                          \
    {                                                                                              \
        3u << 20, 1u << 20, 1000                                                                   \
    }

typedef struct vk_session_cb {
    /* A complete request. The handler answers now or later (see req.h). */
    void (*on_request)(void *ud, vk_req *r);
    /* Output became pending outside feed(): call produce() soon. */
    void (*want_flush)(void *ud);
} vk_session_cb;

typedef struct vk_session vk_session;
typedef struct vk_session_ops {
    /* Takes n input bytes. 0, or negative when the connection must close (after the
     * output that produce() still gives, e.g. a 400 or a GOAWAY). */
    int (*feed)(vk_session *s, const uint8_t *data, size_t n);
    /* Appends every byte ready to send to out. 0 or -ENOMEM. */
    int (*produce)(vk_session *s, vk_buf *out);
    /* True when the session is finished: close once the output is flushed. */
    bool (*done)(vk_session *s);
    /* Graceful stop: no new requests; finish the ones in flight. */
    void (*shutdown)(vk_session *s);
    /* Frees the session, aborting every request still in flight. */
    void (*free)(vk_session *s);
} vk_session_ops;

struct vk_session {
    const vk_session_ops *ops;
    const vk_session_cb *cb;
    void *ud;
    const vk_conn_info *conn;
    vk_limits limits;
    /* Kept current by the protocol, read by the owner for timeouts. */
    int active;   /* requests dispatched and not yet finished */
    bool partial; /* a request is partly received */
};

/* New sessions; NULL when out of memory. */
vk_session *vk_h1_new(const vk_session_cb *cb, void *ud, const vk_conn_info *conn,
                      const vk_limits *limits);
vk_session *vk_h2_new(const vk_session_cb *cb, void *ud, const vk_conn_info *conn,
                      const vk_limits *limits);

/* Helpers over the vtable; free accepts NULL. */
static inline int vk_session_feed(vk_session *s, const uint8_t *d, size_t n)
{
    return s->ops->feed(s, d, n);
}
static inline int vk_session_produce(vk_session *s, vk_buf *out)
{
    return s->ops->produce(s, out);
}
static inline bool vk_session_done(vk_session *s)
{
    return s->ops->done(s);
}
static inline void vk_session_shutdown(vk_session *s)
{
    s->ops->shutdown(s);
}
static inline void vk_session_free(vk_session *s)
{
    if (s)
        s->ops->free(s);
}

#endif
