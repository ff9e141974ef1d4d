/* vk_server: the process's listener, connections and the things every request needs.
 *
 * One libuv loop thread owns all of it. Everything hangs off this struct (no globals),
 * so a test can run a server inside its own loop. */
#ifndef VK_SERVER_H
#define VK_SERVER_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <uv.h>

#include "apiserver/net/session.h"

typedef struct vk_conn vk_conn;
typedef struct vk_pki vk_pki;
typedef struct vk_tokens vk_tokens;
typedef struct vk_metrics vk_metrics;
typedef struct vk_store vk_store;
struct http_watch;

typedef struct vk_server_opts {
    const char *data_dir;          /* created 0700 */
    const char *listen;            /* "host:port" */
    const char *advertise_address; /* NULL: the listen host */
    const char *cluster_name;
    const char *cluster_domain;
    const char *service_cidr;
    const char *token_auth_file;     /* kube's static token CSV, or NULL */
    int shutdown_grace_ms;           /* how long in-flight requests may take to finish */
    int read_header_timeout_ms;      /* a request's headers, from its first byte (32 s) */
    int idle_timeout_ms;             /* a connection with nothing in flight (90 s) */
    uint64_t compaction_interval_ms; /* 0: kube's 5 minutes (--etcd-compaction-interval) */
} vk_server_opts;

/* Defaults for every option (the embedded configuration of `vkube server`). */
void vk_server_opts_default(vk_server_opts *o);

/* Timeouts, in milliseconds (kube-apiserver's where it has them). */
typedef struct vk_timeouts {
    uint64_t handshake;   /* TLS handshake */
    uint64_t read_header; /* a request's headers once its first byte arrived (32 s) */
    uint64_t idle;        /* a connection with no request in flight (90 s) */
    uint64_t write_stall; /* output that the peer does not read */
} vk_timeouts;

typedef struct vk_server {
    uv_loop_t *loop;
    vk_server_opts opts;
    vk_limits limits;
    vk_timeouts timeouts;
    SSL_CTX *ssl;
    vk_pki *pki;
    vk_tokens *tokens;
    vk_metrics *metrics;
    vk_store *store;
    void **res_state;                 /* per resource (vk_resources order): vk_resource.state_new */
    struct vk_rbac_cache *rbac_cache; /* auth/rbac.c: the parsed policy */
    int bootstrap_pending;            /* bootstrap objects still being written */
    int bootstrap_phase;
    bool bootstrapped;

    uv_tcp_t listener;
    uv_signal_t sig_term, sig_int;
    uv_timer_t sweep;
    uv_prepare_t flusher; /* flushes dirty connections right before the loop polls */
    uv_timer_t grace;
    char url[300]; /* https://host:port that the kubeconfig names */
    int port;      /* the bound port (useful with :0) */

    struct http_watch *watches; /* open watch streams (registry/watch.c) */
    vk_conn *conns;             /* every open connection */
    size_t nconns;
    bool draining, closed;
    uint64_t start_ms;
    /* Runs once the store is closed during shutdown (the loop still runs): owners of
     * in-process clients (controllers) stop them here. */
    void (*on_stop)(void *ud);
    void *on_stop_ud;
    char *version_body; /* /version, encoded once */
    char date[40];      /* the Date header of the current second */
    time_t date_of;
    char read_buf[65536]; /* reads are consumed before the callback returns */
} vk_server;

/* Loads or creates the PKI and the data dir, builds the TLS context, binds the
 * listener and installs signal handlers. 0, or negative with a message in err. */
int vk_server_start(vk_server *s, uv_loop_t *loop, const vk_server_opts *o, char *err,
                    size_t errlen);
/* Starts a graceful stop: the listener closes, connections finish what they are
 * doing, watches end; the loop then runs out. */
void vk_server_shutdown(vk_server *s);
/* Frees what vk_server_start made, after the loop has run out. */
void vk_server_free(vk_server *s);

/* Connection internals used by the server. */
void vk_conn_accept(vk_server *s);
void vk_conn_flush_all(vk_server *s);
void vk_conn_sweep(vk_server *s, uint64_t now);
void vk_conn_shutdown_all(vk_server *s);
void vk_conn_close_all(vk_server *s);

/* Milliseconds on a monotonic clock. */
uint64_t vk_now_ms(void);

#endif
