#include "apiserver/http/dispatch.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "apiserver/auth/authn.h"
#include "apiserver/auth/satoken.h"
#include "apiserver/auth/impersonate.h"
#include "apiserver/auth/rbac.h"
#include "apiserver/discovery.h"
#include "apiserver/health.h"
#include "apiserver/registry/registry.h"
#include "apiserver/http/reqinfo.h"
#include "apiserver/http/status.h"
#include "apiserver/metrics.h"
#include "apiserver/openapi.h"
#include "apiserver/server.h"
#include "apiserver/version.h"
#include "common/err.h"
#include "common/log.h"
#include "common/rand.h"

typedef void (*vk_handler)(vk_req *r);

static void metrics_handle(vk_req *r)
{
    vk_server *s = r->conn->server;
    vk_buf b = {0};
    if (vk_metrics_render(s->metrics, &b)) {
        vk_buf_free(&b);
        vk_send_error(r, 500, "InternalError", "out of memory");
        return;
    }
    vk_resp_send(r, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len);
    vk_buf_free(&b);
}

/* Non-resource paths. A prefix entry matches the path and everything under it. */
static const struct route {
    const char *path;
    bool prefix;
    vk_handler handler;
} routes[] = {
    {"/version", false, vk_version_handle},
    {"/version/", false, vk_version_handle},
    {"/healthz", true, vk_health_handle},
    {"/livez", true, vk_health_handle},
    {"/readyz", true, vk_health_handle},
    {"/metrics", false, metrics_handle},
    {"/api", true, vk_discovery_handle},
    {"/apis", true, vk_discovery_handle},
    {"/openapi/v2", false, vk_openapi_v2_handle},
    {"/openapi/v3", true, vk_openapi_v3_handle},
    {"/.well-known/openid-configuration", false, vk_oidc_handle},
    {"/openid/v1/jwks", false, vk_oidc_handle},
};

static vk_handler find_route(const char *path)
{
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        size_t n = strlen(routes[i].path);
        if (!strncmp(path, routes[i].path, n) && (!path[n] || (routes[i].prefix && path[n] == '/')))
            return routes[i].handler;
    }
    return NULL;
}

typedef struct req_meta {
    vk_reqinfo ri;
    bool have_ri;
} req_meta;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static const char *upper(vk_req *r, const char *s)
{
    char *u = vk_arena_strdup(&r->arena, s);
    for (char *p = u; p && *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    return u ? u : "";
}

static void on_done(vk_req *r)
{
    vk_server *s = r->conn->server;
    req_meta *m = r->route_data;
    double secs = (double)(now_ns() - r->start_ns) / 1e9;
    vk_request_labels l = {"", "", "", "", "", "", "", ""};
    if (m && m->have_ri && m->ri.is_resource) {
        l.verb = upper(r, m->ri.verb);
        l.group = m->ri.group;
        l.version = m->ri.version;
        l.resource = m->ri.resource;
        l.subresource = m->ri.subresource;
        l.scope = *m->ri.namespace_ ? "namespace" : *m->ri.name ? "cluster" : "cluster";
        l.component = "apiserver";
    } else {
        l.verb = r->method ? r->method : "";
        l.subresource = r->path;
    }
    vk_metrics_observe_request(s->metrics, &l, r->status, secs);
    if (vk_log_enabled(VK_LOG_DEBUG))
        vk_log(VK_LOG_DEBUG, "http", "HTTP",
               "verb=\"%s\" URI=\"%s%s%s\" latency=\"%.3fms\" userAgent=\"%s\" audit-ID=\"%s\" "
               "srcIP=\"%s\" proto=\"%s\" resp=%d",
               r->method, r->path, *r->query ? "?" : "", r->query, secs * 1e3,
               vk_req_header(r, "user-agent") ? vk_req_header(r, "user-agent") : "",
               vk_req_header(r, "audit-id") ? vk_req_header(r, "audit-id") : "", r->conn->peer,
               r->proto == VK_PROTO_H2 ? "HTTP/2.0" : "HTTP/1.1", r->status);
}

static void add_common_headers(vk_req *r)
{
    /* Audit-Id echoes the client's when it sent one (kube's audit_init filter). */
    const char *audit = vk_req_header(r, "audit-id");
    char uuid[37];
    if (!audit || !*audit || strlen(audit) > 128) {
        vk_uuid4(uuid);
        audit = uuid;
    }
    vk_resp_header(r, "audit-id", audit);
    vk_resp_header(r, "cache-control", "no-cache, private");
    /* The Date header changes once a second; format it then. */
    vk_server *s = r->conn->server;
    time_t t = time(NULL);
    if (t != s->date_of) {
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(s->date, sizeof s->date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        s->date_of = t;
    }
    vk_resp_header(r, "date", s->date);
}

static void forbidden(vk_req *r, const vk_reqinfo *ri)
{
    vk_buf msg = {0};
    const char *user = r->user.name;
    if (!ri->is_resource) {
        vk_buf_printf(&msg, "forbidden: User \"%s\" cannot %s path \"%s\"", user, ri->verb,
                      r->path);
    } else {
        vk_buf res = {0};
        vk_buf_puts(&res, ri->resource);
        if (*ri->group)
            vk_buf_printf(&res, ".%s", ri->group);
        if (*ri->name)
            vk_buf_printf(&msg, "%s \"%s\" is forbidden: ", res.data, ri->name);
        else
            vk_buf_printf(&msg, "%s is forbidden: ", res.data);
        vk_buf_printf(&msg, "User \"%s\" cannot %s resource \"%s%s%s\" in API group \"%s\"", user,
                      ri->verb, ri->resource, *ri->subresource ? "/" : "", ri->subresource,
                      ri->group);
        if (*ri->namespace_)
            vk_buf_printf(&msg, " in the namespace \"%s\"", ri->namespace_);
        else
            vk_buf_puts(&msg, " at the cluster scope");
        vk_buf_free(&res);
    }
    json_t *d = vk_status_details(ri->name, ri->group, ri->resource);
    vk_send_status(r, vk_status_new(403, "Forbidden", msg.data, d));
    vk_buf_free(&msg);
}

void vk_dispatch(vk_server *s, vk_req *r)
{
    r->start_ns = now_ns();
    req_meta *m = vk_arena_alloc(&r->arena, sizeof *m);
    if (!m) {
        vk_resp_send(r, 500, NULL, NULL, 0);
        return;
    }
    memset(m, 0, sizeof *m);
    r->route_data = m;
    r->on_done = on_done;
    add_common_headers(r);

    /* kube's order: the client certificate, then bearer tokens (service account
     * tokens, then the static ones). */
    int rc = !(r->conn && r->conn->cert_user) && vk_sa_authenticate(s, r)
                 ? 0
                 : vk_authenticate(r, s->tokens);
    if (rc) {
        vk_send_status(r, vk_status_new(401, "Unauthorized", "Unauthorized", NULL));
        return;
    }
    if (vk_reqinfo_parse(r, &m->ri)) {
        vk_send_error(r, 500, "InternalError", "out of memory");
        return;
    }
    m->have_ri = true;
    vk_rbac_source policy = vk_rbac_store(s);
    vk_reqinfo denied;
    char msg[160];
    rc = vk_impersonate(&policy, r, &denied, msg, sizeof msg);
    if (rc == -EPERM) {
        forbidden(r, &denied);
        return;
    }
    if (rc) {
        vk_send_error(r, 500, "InternalError", "Internal error occurred: %s",
                      rc == VK_EINVALID ? msg : "out of memory");
        return;
    }
    if (!vk_authorize(&policy, &r->user, &m->ri, r->path)) {
        forbidden(r, &m->ri);
        return;
    }
    if (r->body_too_large) {
        vk_send_error(r, 413, "RequestEntityTooLarge", "Request entity too large: limit is %zu",
                      s->limits.max_body);
        return;
    }
    if (m->ri.is_resource) {
        vk_registry_handle(s, r, &m->ri);
        return;
    }
    vk_handler h = find_route(r->path);
    if (!h) {
        vk_send_not_found(r);
        return;
    }
    h(r);
}
