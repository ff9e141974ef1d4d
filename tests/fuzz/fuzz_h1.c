/* libFuzzer target for the HTTP/1.1 session (and, with FUZZ_H2 defined, HTTP/2: see
 * fuzz_h2.c). The first input byte seeds the choices: where the rest is split
 * between feed calls, and whether each request is answered at once (whole or
 * streamed), later between feeds, or never (aborted when the session is freed).
 * Every request also goes through reqinfo and authentication. Must never crash or
 * leak. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "apiserver/auth/authn.h"
#include "apiserver/auth/impersonate.h"
#include "apiserver/auth/rbac.h"
#include "apiserver/http/reqinfo.h"
#include "apiserver/net/session.h"

enum { MAXHELD = 8 };

typedef struct fz {
    uint32_t rng;
    vk_req *held[MAXHELD];
    int nheld;
} fz;

static uint32_t rnd(fz *f)
{
    f->rng = f->rng * 1103515245u + 12345u;
    return f->rng >> 16;
}

static void unhold(fz *f, vk_req *r)
{
    for (int i = 0; i < f->nheld; i++) {
        if (f->held[i] == r) {
            memmove(&f->held[i], &f->held[i + 1], (size_t)(f->nheld - i - 1) * sizeof r);
            f->nheld--;
            return;
        }
    }
}

static void on_abort(vk_req *r, void *data)
{
    unhold(data, r);
}

static void on_request(void *ud, vk_req *r)
{
    fz *f = ud;
    vk_reqinfo ri;
    if (!vk_reqinfo_parse(r, &ri) && !vk_authenticate(r, NULL)) {
        /* Impersonation headers and the authorizer, over kube's bootstrap policy. */
        static json_t *policy;
        if (!policy)
            policy = vk_rbac_bootstrap();
        vk_rbac_source src = vk_rbac_memory(policy);
        vk_reqinfo denied;
        char msg[160];
        if (!vk_impersonate(&src, r, &denied, msg, sizeof msg))
            (void)vk_authorize(&src, &r->user, &ri, r->path);
    }
    (void)vk_req_query(r, "watch");
    (void)vk_req_header(r, "content-type");
    switch (rnd(f) % 4) {
    case 0:
        vk_resp_send(r, 200, "application/json", "{}\n", 3);
        return;
    case 1:
        vk_resp_header(r, "Transfer-Encoding", "chunked");
        vk_resp_start(r, 200);
        vk_resp_write(r, r->path, strlen(r->path));
        vk_resp_end(r);
        return;
    default:
        if (f->nheld == MAXHELD) {
            vk_resp_send(r, 429, NULL, NULL, 0);
            return;
        }
        r->on_abort = on_abort;
        r->abort_data = f;
        f->held[f->nheld++] = r;
    }
}

/* Moves held requests along: start, write, end, or wait. */
static void answer_some(fz *f)
{
    for (int i = f->nheld - 1; i >= 0; i--) {
        vk_req *r = f->held[i];
        switch (rnd(f) % 5) {
        case 0:
            if (!r->started) {
                unhold(f, r);
                r->on_abort = NULL;
                vk_resp_send(r, 404, "text/plain", "nf", 2);
            }
            break;
        case 1:
            if (!r->started)
                vk_resp_start(r, 200);
            vk_resp_write(r, "chunk", 5);
            break;
        case 2:
            if (!r->started)
                vk_resp_start(r, rnd(f) % 2 ? 200 : 204);
            unhold(f, r);
            r->on_abort = NULL;
            vk_resp_end(r);
            break;
        default:
            break;
        }
    }
}

static void want_flush(void *ud) {}

static const vk_session_cb cbs = {on_request, want_flush};

/* The fuzz build's UBSan checks recover by default: make every finding fatal. */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
    return "halt_on_error=1:print_stacktrace=1";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!size)
        return 0;
    fz f = {.rng = data[0]};
    data++;
    size--;
    vk_conn_info ci = {.peer = "127.0.0.1:1"};
    vk_limits lim = {4096, 2048, 8};
#ifdef FUZZ_H2
    vk_session *s = vk_h2_new(&cbs, &f, &ci, &lim);
#else
    vk_session *s = vk_h1_new(&cbs, &f, &ci, &lim);
#endif
    if (!s)
        return 0;
    vk_buf out = {0};
#ifdef FUZZ_H2
    /* Most inputs start with the client preface so frames get exercised. */
    static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    if (f.rng & 1)
        vk_session_feed(s, (const uint8_t *)preface, sizeof preface - 1);
#endif
    size_t off = 0;
    int rc = 0;
    while (off < size && rc == 0) {
        size_t n = 1 + rnd(&f) % 64;
        if (n > size - off)
            n = size - off;
        rc = vk_session_feed(s, data + off, n);
        off += n;
        vk_buf_reset(&out);
        vk_session_produce(s, &out);
        answer_some(&f);
        vk_session_produce(s, &out);
        (void)vk_session_done(s);
    }
    if (rnd(&f) % 2) {
        vk_session_shutdown(s);
        answer_some(&f);
        vk_session_produce(s, &out);
        (void)vk_session_done(s);
    }
    vk_session_free(s); /* aborts whatever is still held */
    vk_buf_free(&out);
    if (f.nheld)
        __builtin_trap(); /* every held request must have been aborted */
    return 0;
}
