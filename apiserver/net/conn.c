/* Connections: libuv TCP, TLS through memory BIOs, and a protocol session chosen by
 * ALPN.
 *
 * Invariants: a connection is on the server's list from accept until uv_close is
 * called; it is freed only in the close callback. Bytes read are consumed before the
 * read callback returns (the server's single read buffer). Output is produced when
 * the loop flushes dirty connections right before it polls, so several responses written in
 * one loop iteration go out in one write. */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apiserver/http/dispatch.h"
#include "apiserver/server.h"
#include "common/log.h"

struct vk_conn {
    uv_tcp_t tcp; /* first: the handle's address is the connection's */
    uv_shutdown_t shutdown_req;
    vk_server *srv;
    SSL *ssl;
    BIO *net_in, *net_out;
    vk_session *sess;
    vk_conn_info info;
    vk_arena arena; /* identity strings */
    vk_buf plain;
    uint64_t accepted_ms, last_ms, partial_ms, stall_ms;
    size_t write_pending;
    bool handshaken, dirty, closing, finishing, read_stopped;
    vk_conn *prev, *next;
};

typedef struct write_req {
    uv_write_t req;
    vk_conn *c;
    size_t len;
    char data[];
} write_req;

enum { WRITE_HIGH_WATER = 4 << 20 };

static void conn_read_start(vk_conn *c);

uint64_t vk_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void on_closed(uv_handle_t *h)
{
    vk_conn *c = (vk_conn *)h;
    SSL_free(c->ssl); /* frees both BIOs */
    vk_buf_free(&c->plain);
    vk_arena_free(&c->arena);
    free(c);
}

static void conn_close(vk_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    vk_server *s = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nconns--;
    vk_session *sess = c->sess;
    c->sess = NULL;
    vk_session_free(sess); /* aborts requests in flight */
    uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void after_shutdown(uv_shutdown_t *req, int status)
{
    conn_close(req->data);
}

static void after_write(uv_write_t *req, int status)
{
    write_req *w = (write_req *)req;
    vk_conn *c = w->c;
    c->write_pending -= w->len;
    c->info.write_pending = c->write_pending;
    free(w);
    if (status < 0) {
        conn_close(c);
        return;
    }
    c->stall_ms = c->write_pending ? vk_now_ms() : 0;
    if (c->read_stopped && c->write_pending < WRITE_HIGH_WATER / 2 && !c->closing) {
        c->read_stopped = false;
        conn_read_start(c);
    }
}

/* Moves whatever TLS produced onto the socket. */
static int send_tls_output(vk_conn *c)
{
    size_t pending = BIO_ctrl_pending(c->net_out);
    if (!pending || c->closing)
        return 0;
    write_req *w = malloc(sizeof *w + pending);
    if (!w)
        return -ENOMEM;
    int n = BIO_read(c->net_out, w->data, (int)pending);
    if (n <= 0) {
        free(w);
        return 0;
    }
    w->c = c;
    w->len = (size_t)n;
    uv_buf_t b = uv_buf_init(w->data, (unsigned)n);
    int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, after_write);
    if (rc) {
        free(w);
        return rc;
    }
    if (!c->write_pending)
        c->stall_ms = vk_now_ms();
    c->write_pending += (size_t)n;
    c->info.write_pending = c->write_pending;
    if (c->write_pending > WRITE_HIGH_WATER && !c->read_stopped) {
        c->read_stopped = true;
        uv_read_stop((uv_stream_t *)&c->tcp);
    }
    return 0;
}

/* Ends the connection after the output already queued: close_notify, then FIN. */
static void conn_finish(vk_conn *c)
{
    if (c->finishing || c->closing)
        return;
    c->finishing = true;
    if (c->handshaken)
        SSL_shutdown(c->ssl);
    send_tls_output(c);
    c->shutdown_req.data = c;
    if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, after_shutdown))
        conn_close(c);
}

static void conn_flush(vk_conn *c)
{
    c->dirty = false;
    if (c->closing || c->finishing)
        return;
    if (c->sess) {
        if (vk_session_produce(c->sess, &c->plain)) {
            conn_close(c);
            return;
        }
        size_t off = 0;
        while (off < c->plain.len) {
            size_t chunk = c->plain.len - off;
            if (chunk > (1u << 30))
                chunk = 1u << 30;
            int n = SSL_write(c->ssl, c->plain.data + off, (int)chunk);
            if (n <= 0) {
                ERR_clear_error();
                conn_close(c);
                return;
            }
            off += (size_t)n;
        }
        if (c->plain.len)
            c->last_ms = vk_now_ms();
        vk_buf_reset(&c->plain);
        if (c->plain.cap > (1u << 20))
            vk_buf_free(&c->plain);
    }
    if (send_tls_output(c)) {
        conn_close(c);
        return;
    }
    if (c->sess && vk_session_done(c->sess))
        conn_finish(c);
}

static void want_flush(void *ud)
{
    vk_conn *c = ud;
    c->dirty = true;
}

static void on_request(void *ud, vk_req *r)
{
    vk_conn *c = ud;
    vk_dispatch(c->srv, r);
}

static const vk_session_cb session_cb = {on_request, want_flush};

static const char *dup_entry(vk_conn *c, X509_NAME *name, int nid, int *lastpos)
{
    int i = X509_NAME_get_index_by_NID(name, nid, *lastpos);
    if (i < 0)
        return NULL;
    *lastpos = i;
    ASN1_STRING *d = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
    unsigned char *utf8 = NULL;
    int n = ASN1_STRING_to_UTF8(&utf8, d);
    if (n < 0)
        return NULL;
    char *s = vk_arena_strndup(&c->arena, (const char *)utf8, (size_t)n);
    OPENSSL_free(utf8);
    return s;
}

/* The verified client certificate's identity: user = CN, groups = O. */
static void read_identity(vk_conn *c)
{
    X509 *cert = SSL_get0_peer_certificate(c->ssl);
    if (!cert || SSL_get_verify_result(c->ssl) != X509_V_OK)
        return;
    uint32_t xku = X509_get_extended_key_usage(cert);
    if (!(xku & XKU_SSL_CLIENT))
        return;
    X509_NAME *subj = X509_get_subject_name(cert);
    int pos = -1;
    const char *cn = dup_entry(c, subj, NID_commonName, &pos);
    if (!cn)
        return;
    const char *groups[32];
    size_t n = 0;
    pos = -1;
    const char *g;
    while (n < 31 && (g = dup_entry(c, subj, NID_organizationName, &pos)))
        groups[n++] = g;
    const char **arr = vk_arena_alloc(&c->arena, (n + 1) * sizeof *arr);
    if (!arr)
        return;
    memcpy(arr, groups, n * sizeof *arr);
    arr[n] = NULL;
    c->info.cert_user = cn;
    c->info.cert_groups = arr;
}

static int on_handshake(vk_conn *c)
{
    const unsigned char *alpn = NULL;
    unsigned int alen = 0;
    SSL_get0_alpn_selected(c->ssl, &alpn, &alen);
    read_identity(c);
    bool h2 = alen == 2 && !memcmp(alpn, "h2", 2);
    c->info.alpn = h2 ? "h2" : "http/1.1";
    c->sess = h2 ? vk_h2_new(&session_cb, c, &c->info, &c->srv->limits)
                 : vk_h1_new(&session_cb, c, &c->info, &c->srv->limits);
    if (!c->sess)
        return -ENOMEM;
    if (c->srv->draining)
        vk_session_shutdown(c->sess);
    c->dirty = true; /* HTTP/2 sends its SETTINGS first */
    return 0;
}

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    vk_conn *c = (vk_conn *)h;
    *buf = uv_buf_init(c->srv->read_buf, sizeof c->srv->read_buf);
}

static void read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    vk_conn *c = (vk_conn *)stream;
    if (nread == 0)
        return;
    if (nread < 0) {
        conn_close(c);
        return;
    }
    if (c->finishing || c->closing)
        return;
    c->last_ms = vk_now_ms();
    if (BIO_write(c->net_in, buf->base, (int)nread) != (int)nread) {
        conn_close(c);
        return;
    }
    if (!c->handshaken) {
        int rc = SSL_do_handshake(c->ssl);
        if (rc != 1) {
            int e = SSL_get_error(c->ssl, rc);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
                send_tls_output(c);
                return;
            }
            if (vk_log_enabled(VK_LOG_DEBUG)) {
                char msg[256];
                ERR_error_string_n(ERR_peek_error(), msg, sizeof msg);
                vk_log(VK_LOG_DEBUG, "tls", "Handshake failed", "peer=\"%s\" err=\"%s\"",
                       c->info.peer, msg);
            }
            ERR_clear_error();
            send_tls_output(c); /* the alert */
            c->finishing = true;
            c->shutdown_req.data = c;
            if (uv_shutdown(&c->shutdown_req, stream, after_shutdown))
                conn_close(c);
            return;
        }
        c->handshaken = true;
        if (on_handshake(c)) {
            conn_close(c);
            return;
        }
    }
    char *tmp = c->srv->read_buf; /* the input is already in the BIO */
    for (;;) {
        int n = SSL_read(c->ssl, tmp, (int)sizeof c->srv->read_buf);
        if (n > 0) {
            if (vk_session_feed(c->sess, (const uint8_t *)tmp, (size_t)n)) {
                c->dirty = true;
                break; /* flush the error reply; done() ends the connection */
            }
            if (c->closing)
                return;
            continue;
        }
        int e = SSL_get_error(c->ssl, n);
        ERR_clear_error();
        if (e == SSL_ERROR_WANT_READ)
            break;
        if (e == SSL_ERROR_ZERO_RETURN) { /* close_notify */
            vk_session_shutdown(c->sess);
            break;
        }
        conn_close(c);
        return;
    }
    if (c->sess->partial && !c->partial_ms)
        c->partial_ms = c->last_ms;
    else if (!c->sess->partial)
        c->partial_ms = 0;
    c->dirty = true;
}

static void conn_read_start(vk_conn *c)
{
    uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
}

void vk_conn_accept(vk_server *s)
{
    vk_conn *c = calloc(1, sizeof *c);
    if (!c)
        return;
    c->srv = s;
    c->info.server = s;
    uv_tcp_init(s->loop, &c->tcp);
    if (uv_accept((uv_stream_t *)&s->listener, (uv_stream_t *)&c->tcp)) {
        c->closing = true;
        uv_close((uv_handle_t *)&c->tcp, on_closed);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    struct sockaddr_storage ss;
    int len = sizeof ss;
    if (!uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len)) {
        char ip[48] = "";
        int port = 0;
        if (ss.ss_family == AF_INET6) {
            uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof ip);
            port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
            snprintf(c->info.peer, sizeof c->info.peer, "[%s]:%d", ip, port);
        } else {
            uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof ip);
            port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
            snprintf(c->info.peer, sizeof c->info.peer, "%s:%d", ip, port);
        }
    }
    c->ssl = SSL_new(s->ssl);
    c->net_in = BIO_new(BIO_s_mem());
    c->net_out = BIO_new(BIO_s_mem());
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    if (!c->ssl || !c->net_in || !c->net_out) {
        BIO_free(c->net_in);
        BIO_free(c->net_out);
        c->net_in = c->net_out = NULL;
        conn_close(c);
        return;
    }
    BIO_set_mem_eof_return(c->net_in, -1);
    SSL_set_bio(c->ssl, c->net_in, c->net_out);
    SSL_set_accept_state(c->ssl);
    c->accepted_ms = c->last_ms = vk_now_ms();
    conn_read_start(c);
}

void vk_conn_flush_all(vk_server *s)
{
    vk_conn *next;
    for (vk_conn *c = s->conns; c; c = next) {
        next = c->next;
        if (c->dirty)
            conn_flush(c);
    }
}

void vk_conn_sweep(vk_server *s, uint64_t now)
{
    const vk_timeouts *t = &s->timeouts;
    vk_conn *next;
    for (vk_conn *c = s->conns; c; c = next) {
        next = c->next;
        const char *why = NULL;
        if (!c->handshaken && now - c->accepted_ms > t->handshake)
            why = "handshake timeout";
        else if (c->partial_ms && now - c->partial_ms > t->read_header)
            why = "request read timeout";
        else if (c->sess && !c->sess->active && !c->sess->partial && now - c->last_ms > t->idle)
            why = "idle";
        else if (c->write_pending && c->stall_ms && now - c->stall_ms > t->write_stall)
            why = "peer not reading";
        if (why) {
            vk_log(VK_LOG_DEBUG, "conn", "Closing connection", "peer=\"%s\" reason=\"%s\"",
                   c->info.peer, why);
            conn_close(c);
        }
    }
}

void vk_conn_shutdown_all(vk_server *s)
{
    for (vk_conn *c = s->conns; c; c = c->next) {
        if (c->sess) {
            vk_session_shutdown(c->sess);
            c->dirty = true;
        } else {
            c->dirty = false;
        }
    }
    vk_conn_flush_all(s);
    /* Connections still in their handshake have nothing to finish. */
    vk_conn *next;
    for (vk_conn *c = s->conns; c; c = next) {
        next = c->next;
        if (!c->sess)
            conn_close(c);
    }
}

void vk_conn_close_all(vk_server *s)
{
    while (s->conns)
        conn_close(s->conns);
}
