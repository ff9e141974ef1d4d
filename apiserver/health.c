#include "apiserver/health.h"

#include <string.h>

#include "apiserver/http/status.h"
#include "apiserver/server.h"
#include "common/buf.h"
#include "common/log.h"

static const char *check_ping(vk_server *s)
{
    return NULL;
}

static const char *check_log(vk_server *s)
{
    return NULL;
}

static const char *check_shutdown(vk_server *s)
{
    return s->draining ? "process is shutting down" : NULL;
}

static const char *check_bootstrap(vk_server *s)
{
    return s->bootstrapped ? NULL : "not finished";
}

static const vk_health_check checks[] = {
    {"ping", VK_HEALTHZ | VK_LIVEZ | VK_READYZ, check_ping},
    {"log", VK_HEALTHZ | VK_LIVEZ | VK_READYZ, check_log},
    {"poststarthook/bootstrap-namespaces", VK_HEALTHZ | VK_LIVEZ | VK_READYZ, check_bootstrap},
    {"shutdown", VK_READYZ, check_shutdown},
};
enum { NCHECKS = sizeof checks / sizeof checks[0] };

static const struct {
    const char *path, *name;
    unsigned bit;
} endpoints[] = {
    {"/healthz", "healthz", VK_HEALTHZ},
    {"/livez", "livez", VK_LIVEZ},
    {"/readyz", "readyz", VK_READYZ},
};

static int send_text(vk_req *r, int code, const vk_buf *b)
{
    vk_resp_header(r, "x-content-type-options", "nosniff");
    return vk_resp_send(r, code, "text/plain; charset=utf-8", b->data ? b->data : "", b->len);
}

static bool excluded(const char *query, const char *name)
{
    /* ?exclude=a&exclude=b: scan every occurrence. */
    size_t nlen = strlen(name);
    for (const char *p = query; (p = strstr(p, "exclude=")); p += 8) {
        if ((p == query || p[-1] == '&') && !strncmp(p + 8, name, nlen) &&
            (p[8 + nlen] == 0 || p[8 + nlen] == '&'))
            return true;
    }
    return false;
}

void vk_health_handle(vk_req *r)
{
    vk_server *s = r->conn->server;
    size_t e = 0;
    size_t plen = 0;
    for (; e < 3; e++) {
        plen = strlen(endpoints[e].path);
        if (!strncmp(r->path, endpoints[e].path, plen) && (!r->path[plen] || r->path[plen] == '/'))
            break;
    }
    if (e == 3) {
        vk_send_not_found(r);
        return;
    }
    const char *sub = r->path[plen] == '/' ? r->path + plen + 1 : "";
    vk_buf b = {0};
    if (*sub && strcmp(sub, "")) {
        for (size_t i = 0; i < NCHECKS; i++) {
            if (!(checks[i].endpoints & endpoints[e].bit) || strcmp(checks[i].name, sub))
                continue;
            const char *why = checks[i].check(s);
            if (why)
                vk_buf_printf(&b, "internal server error: %s\n", why);
            else
                vk_buf_puts(&b, "ok");
            send_text(r, why ? 500 : 200, &b);
            vk_buf_free(&b);
            return;
        }
        vk_send_not_found(r);
        return;
    }
    bool verbose = vk_req_query(r, "verbose") != NULL;
    bool failed = false;
    for (size_t i = 0; i < NCHECKS; i++) {
        if (!(checks[i].endpoints & endpoints[e].bit))
            continue;
        if (excluded(r->query, checks[i].name)) {
            vk_buf_printf(&b, "[+]%s excluded: ok\n", checks[i].name);
            continue;
        }
        const char *why = checks[i].check(s);
        if (why) {
            failed = true;
            vk_buf_printf(&b, "[-]%s failed: reason withheld\n", checks[i].name);
            vk_log(VK_LOG_INFO, "health", "Check failed", "endpoint=\"%s\" check=\"%s\" err=\"%s\"",
                   endpoints[e].name, checks[i].name, why);
        } else {
            vk_buf_printf(&b, "[+]%s ok\n", checks[i].name);
        }
    }
    if (failed) {
        vk_buf_printf(&b, "%s check failed\n", endpoints[e].name);
        send_text(r, 500, &b);
    } else if (verbose) {
        vk_buf_printf(&b, "%s check passed\n", endpoints[e].name);
        send_text(r, 200, &b);
    } else {
        vk_buf_reset(&b);
        vk_buf_puts(&b, "ok");
        send_text(r, 200, &b);
    }
    vk_buf_free(&b);
}
