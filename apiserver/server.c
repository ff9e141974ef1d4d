#include "apiserver/server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "apiserver/auth/authn.h"
#include "apiserver/auth/pki.h"
#include "apiserver/auth/rbac.h"
#include "apiserver/metrics.h"
#include "apiserver/net/tls.h"
#include "apiserver/registry/internal.h"
#include "apiserver/registry/registry.h"
#include "apiserver/store_metrics.h"
#include "storage/lmdb_store.h"
#include "common/err.h"
#include "common/log.h"

void vk_server_opts_default(vk_server_opts *o)
{
    *o = (vk_server_opts){
        .data_dir = "vkube-data",
        .listen = "127.0.0.1:6443",
        .advertise_address = NULL,
        .cluster_name = "vkube",
        .cluster_domain = "cluster.local",
        .service_cidr = "10.96.0.0/12",
        .token_auth_file = NULL,
        .shutdown_grace_ms = 30000,
        .read_header_timeout_ms = 32000,
        .idle_timeout_ms = 90000,
    };
}

/* "host:port", "[v6]:port" or ":port" into host and port. */
static int split_hostport(const char *in, char *host, size_t hostlen, int *port)
{
    const char *colon = strrchr(in, ':');
    if (!colon || !colon[1])
        return VK_EINVALID;
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end || p < 0 || p > 65535)
        return VK_EINVALID;
    size_t n = (size_t)(colon - in);
    const char *h = in;
    if (n >= 2 && in[0] == '[' && in[n - 1] == ']') {
        h++;
        n -= 2;
    }
    if (n >= hostlen)
        return VK_EINVALID;
    memcpy(host, h, n);
    host[n] = 0;
    if (!n)
        snprintf(host, hostlen, "0.0.0.0");
    *port = (int)p;
    return 0;
}

static void on_signal(uv_signal_t *h, int signum)
{
    vk_server *s = h->data;
    if (s->draining) {
        vk_log(VK_LOG_WARN, "server", "Second signal, closing every connection now", NULL);
        vk_conn_close_all(s);
        return;
    }
    vk_log(VK_LOG_INFO, "server", "Shutting down", "signal=\"%s\"", strsignal(signum));
    vk_server_shutdown(s);
}

static void on_connection(uv_stream_t *l, int status)
{
    vk_server *s = l->data;
    if (status < 0 || s->draining)
        return;
    vk_conn_accept(s);
}

static void on_flush(uv_prepare_t *h)
{
    vk_server *s = h->data;
    vk_conn_flush_all(s);
    if (s->draining && !s->nconns && !s->closed) {
        s->closed = true;
        vk_store_free(s->store); /* commits what is queued, ends watchers */
        s->store = NULL;
        if (s->on_stop)
            s->on_stop(s->on_stop_ud);
        uv_close((uv_handle_t *)&s->flusher, NULL);
        uv_close((uv_handle_t *)&s->sweep, NULL);
        uv_close((uv_handle_t *)&s->grace, NULL);
        uv_close((uv_handle_t *)&s->sig_term, NULL);
        uv_close((uv_handle_t *)&s->sig_int, NULL);
    }
}

static void on_sweep(uv_timer_t *h)
{
    vk_server *s = h->data;
    vk_conn_sweep(s, vk_now_ms());
}

static void on_grace(uv_timer_t *h)
{
    vk_server *s = h->data;
    if (s->nconns)
        vk_log(VK_LOG_WARN, "server", "Grace period over, closing connections", "open=%zu",
               s->nconns);
    vk_conn_close_all(s);
}

static int ensure_dir(const char *dir, char *err, size_t errlen)
{
    if (mkdir(dir, 0700) && errno != EEXIST) {
        int e = errno;
        snprintf(err, errlen, "data dir %s: %s", dir, strerror(e));
        return -e;
    }
    chmod(dir, 0700);
    return 0;
}

/* Bootstrap runs in phases, each after the previous one is stored: the system
 * namespaces and the RBAC policy, then the objects that live in them. */
static void bootstrap_phase(vk_server *s);

static void bootstrap_done(void *ud, int err, const char *json, size_t len, json_t *status)
{
    vk_server *s = ud;
    if (err && err != VK_EEXIST)
        vk_log(VK_LOG_ERROR, "bootstrap", "Cannot create a system object", "err=\"%s\"",
               json_string_value(json_object_get(status, "message")));
    if (--s->bootstrap_pending == 0)
        bootstrap_phase(s);
}

/* Reconcilers of an existing system object with want (borrowed, the ensured object).
 * set_fields: want's fields other than metadata replace the stored ones. */
static void set_fields(void *ud, json_t *obj)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)ud, k, v) if (strcmp(k, "metadata")) json_object_set(obj, k, v);
}

/* kube's reconciliation of its bootstrap RBAC policy: unless the object is annotated
 * rbac.authorization.kubernetes.io/autoupdate=false, the rules (or subjects) it lacks
 * are added; what users added stays. */
static void add_missing(void *ud, json_t *obj)
{
    const char *autoupdate = json_string_value(
        json_object_get(json_object_get(json_object_get(obj, "metadata"), "annotations"),
                        "rbac.authorization.kubernetes.io/autoupdate"));
    if (autoupdate && !strcmp(autoupdate, "false"))
        return;
    static const char *const lists[] = {"rules", "subjects"};
    for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++) {
        json_t *want = json_object_get((json_t *)ud, lists[l]);
        if (!want)
            continue;
        json_t *have = json_object_get(obj, lists[l]);
        if (!json_is_array(have)) {
            have = json_array();
            json_object_set_new(obj, lists[l], have);
        }
        size_t i, j;
        json_t *w, *h;
        json_array_foreach(want, i, w)
        {
            bool found = false;
            json_array_foreach(have, j, h) found |= json_equal(h, w);
            if (!found)
                json_array_append(have, w);
        }
    }
}

typedef struct reconcile_ctx {
    vk_server *s;
    json_t *want;
} reconcile_ctx;

static void reconciled(void *ud, int err, const char *json, size_t len, json_t *status)
{
    reconcile_ctx *c = ud;
    json_decref(c->want);
    bootstrap_done(c->s, err, json, len, status);
    free(c);
}

/* Creates obj as res in ns unless it exists; an existing one is brought in line by
 * reconcile (when not NULL). Takes obj. */
static void ensure(vk_server *s, const vk_resource *res, const char *ns, json_t *obj,
                   vk_edit_fn reconcile)
{
    const char *name = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
    char key[VK_KEY_MAX];
    vk_buf val = {0};
    int klen = vk_key_build(key, sizeof key, vk_resource_id(res), ns ? ns : "", name);
    int rc = klen > 0 ? vk_store_get(s->store, key, (size_t)klen, &val, NULL) : klen;
    vk_buf_free(&val);
    reconcile_ctx *c;
    if (rc == VK_ENOTFOUND) {
        s->bootstrap_pending++;
        vk_registry_create(s, res, ns, obj, false, bootstrap_done, s);
    } else if (!rc && reconcile && (c = malloc(sizeof *c))) {
        *c = (reconcile_ctx){s, json_incref(obj)};
        s->bootstrap_pending++;
        vk_registry_edit(s, res, ns, name, reconcile, obj, reconciled, c);
    }
    json_decref(obj);
}

static void bootstrap_phase(vk_server *s)
{
    int phase = s->bootstrap_phase++;
    s->bootstrap_pending = 1;
    if (phase == 0) {
        static const char *const names[] = {"default", "kube-system", "kube-public",
                                            "kube-node-lease"};
        const vk_resource *ns = vk_resource_find("", "v1", "namespaces");
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            ensure(s, ns, NULL, json_pack("{s:{s:s}}", "metadata", "name", names[i]), NULL);
        /* The bootstrap RBAC policy, reconciled as kube does at every start. */
        json_t *policy = vk_rbac_bootstrap();
        size_t i;
        json_t *e;
        json_array_foreach(policy, i, e)
            ensure(s,
                   vk_resource_find("rbac.authorization.k8s.io", "v1",
                                    json_string_value(json_object_get(e, "resource"))),
                   NULL, json_incref(json_object_get(e, "object")), add_missing);
        json_decref(policy);
        /* kube's system priority classes (the apiserver's scheduling post-start hook). */
        const vk_resource *pc = vk_resource_find("scheduling.k8s.io", "v1", "priorityclasses");
        ensure(s, pc, NULL,
               json_pack("{s:{s:s}, s:i, s:s}", "metadata", "name", "system-node-critical", "value",
                         2000001000, "description",
                         "Used for system critical pods that must not be moved from their "
                         "current node."),
               NULL);
        ensure(s, pc, NULL,
               json_pack("{s:{s:s}, s:i, s:s}", "metadata", "name", "system-cluster-critical",
                         "value", 2000000000, "description",
                         "Used for system critical pods that must run in the cluster, but can "
                         "be moved to another node if necessary."),
               NULL);
    } else if (phase == 1) {
        /* The kubernetes Service: the first IP of the range, 443 to this server. */
        char ip[64];
        /* ... and the Endpoints and EndpointSlice that point it at this server. */
        const char *self = strchr(s->url, '/') ? s->url + 8 : s->url;
        char addr[sizeof s->url];
        snprintf(addr, sizeof addr, "%s", self);
        char *colon = strrchr(addr, ':');
        if (colon)
            *colon = 0;
        const char *host = addr[0] == '[' ? addr + 1 : addr;
        if (host != addr)
            addr[strlen(addr) - 1] = 0;
        bool v6 = strchr(host, ':') != NULL;
        ensure(s, vk_resource_find("", "v1", "endpoints"), "default",
               json_pack("{s:{s:s, s:{s:s}}, s:[{s:[{s:s}], s:[{s:s, s:i, s:s}]}]}", "metadata",
                         "name", "kubernetes", "labels", "endpointslice.kubernetes.io/skip-mirror",
                         "true", "subsets", "addresses", "ip", host, "ports", "name", "https",
                         "port", s->port, "protocol", "TCP"),
               set_fields);
        ensure(s, vk_resource_find("discovery.k8s.io", "v1", "endpointslices"), "default",
               json_pack("{s:{s:s, s:{s:s, s:s}}, s:s, s:[{s:[s], s:{s:b}}], s:[{s:s, s:s, "
                         "s:i}]}",
                         "metadata", "name", "kubernetes", "labels", "kubernetes.io/service-name",
                         "kubernetes", "endpointslice.kubernetes.io/managed-by",
                         "endpointslice-controller.k8s.io", "addressType", v6 ? "IPv6" : "IPv4",
                         "endpoints", "addresses", host, "conditions", "ready", 1, "ports", "name",
                         "https", "protocol", "TCP", "port", s->port),
               set_fields);
        if (!vk_cidr_first_ip(s->opts.service_cidr, ip, sizeof ip))
            ensure(s, vk_resource_find("", "v1", "services"), "default",
                   json_pack("{s:{s:s, s:{s:s, s:s}}, s:{s:[{s:s, s:s, s:i, s:i}], s:s, s:s, "
                             "s:s}}",
                             "metadata", "name", "kubernetes", "labels", "component", "apiserver",
                             "provider", "kubernetes", "spec", "ports", "name", "https", "protocol",
                             "TCP", "port", 443, "targetPort", s->port, "clusterIP", ip, "type",
                             "ClusterIP", "sessionAffinity", "None"),
                   NULL);
    } else {
        s->bootstrap_pending = 0;
        s->bootstrapped = true;
        vk_log(VK_LOG_INFO, "bootstrap", "System objects ready", NULL);
        return;
    }
    bootstrap_done(s, 0, NULL, 0, NULL);
}

int vk_server_start(vk_server *s, uv_loop_t *loop, const vk_server_opts *o, char *err,
                    size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->loop = loop;
    s->opts = *o;
    s->limits = (vk_limits)VK_LIMITS_DEFAULT;
    s->timeouts = (vk_timeouts){10000, (uint64_t)o->read_header_timeout_ms,
                                (uint64_t)o->idle_timeout_ms, 60000};
    s->start_ms = vk_now_ms();

    char host[256];
    int port, rc;
    if (split_hostport(o->listen, host, sizeof host, &port)) {
        snprintf(err, errlen, "--listen %s: want host:port", o->listen);
        return VK_EINVALID;
    }
    if ((rc = ensure_dir(o->data_dir, err, errlen)))
        return rc;

    struct sockaddr_storage addr;
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)&addr) &&
        uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr)) {
        snprintf(err, errlen, "--listen %s: not an IP address", o->listen);
        return VK_EINVALID;
    }
    uv_tcp_init(loop, &s->listener);
    s->listener.data = s;
    if ((rc = uv_tcp_bind(&s->listener, (struct sockaddr *)&addr, 0)) ||
        (rc = uv_listen((uv_stream_t *)&s->listener, 1024, on_connection))) {
        snprintf(err, errlen, "listen on %s: %s", o->listen, uv_strerror(rc));
        uv_close((uv_handle_t *)&s->listener, NULL);
        return rc;
    }
    struct sockaddr_storage bound;
    int blen = sizeof bound;
    uv_tcp_getsockname(&s->listener, (struct sockaddr *)&bound, &blen);
    s->port = ntohs(((struct sockaddr_in *)&bound)->sin_port);

    /* The kubeconfig names the advertise address, else the listen host (a wildcard
     * listen host means loopback for a local client). */
    const char *url_host = o->advertise_address ? o->advertise_address : host;
    if (!strcmp(url_host, "0.0.0.0") || !strcmp(url_host, "::"))
        url_host = "127.0.0.1";
    bool v6 = strchr(url_host, ':') != NULL;
    snprintf(s->url, sizeof s->url, "https://%s%s%s:%d", v6 ? "[" : "", url_host, v6 ? "]" : "",
             s->port);

    vk_pki_opts po = {
        .dir = o->data_dir,
        .cluster_name = o->cluster_name,
        .cluster_domain = o->cluster_domain,
        .advertise_address = o->advertise_address                            ? o->advertise_address
                             : strcmp(host, "0.0.0.0") && strcmp(host, "::") ? host
                                                                             : NULL,
        .service_cidr = o->service_cidr,
        .server_url = s->url,
    };
    if ((rc = vk_pki_load(&po, &s->pki, err, errlen)))
        goto fail;
    s->ssl = vk_tls_server_ctx(vk_pki_path(s->pki, VK_PKI_SERVING_CRT),
                               vk_pki_path(s->pki, VK_PKI_SERVING_KEY),
                               vk_pki_path(s->pki, VK_PKI_CA_CRT), err, errlen);
    if (!s->ssl) {
        rc = -EIO;
        goto fail;
    }
    if (o->token_auth_file && (rc = vk_tokens_load(o->token_auth_file, &s->tokens, err, errlen)))
        goto fail;
    char dbdir[4096];
    snprintf(dbdir, sizeof dbdir, "%s/db", o->data_dir);
    /* A shorter compaction interval keeps events that long, not kube's 75 s. */
    vk_lmdb_opts lo = {.path = dbdir,
                       .compact_interval_ms = o->compaction_interval_ms,
                       .compact_min_age_ms =
                           o->compaction_interval_ms && o->compaction_interval_ms < 75000
                               ? o->compaction_interval_ms
                               : 0};
    if ((rc = vk_store_open_lmdb(loop, &lo, &s->store))) {
        snprintf(err, errlen, "storage at %s: %s", dbdir, vk_strerror(rc));
        goto fail;
    }
    size_t nres = vk_builtin_count();
    if (!(s->res_state = calloc(nres + 1, sizeof *s->res_state))) {
        rc = -ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < nres; i++)
        if (vk_resources[i]->state_new)
            s->res_state[i] = vk_resources[i]->state_new(s);
    if (!(s->metrics = vk_metrics_new()) || vk_store_metrics_register(s)) {
        rc = -ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto fail;
    }

    uv_signal_init(loop, &s->sig_term);
    uv_signal_init(loop, &s->sig_int);
    s->sig_term.data = s->sig_int.data = s;
    uv_signal_start(&s->sig_term, on_signal, SIGTERM);
    uv_signal_start(&s->sig_int, on_signal, SIGINT);
    uv_timer_init(loop, &s->sweep);
    s->sweep.data = s;
    uv_timer_start(&s->sweep, on_sweep, 1000, 1000);
    uv_unref((uv_handle_t *)&s->sweep);
    uv_timer_init(loop, &s->grace);
    s->grace.data = s;
    uv_prepare_init(loop, &s->flusher);
    s->flusher.data = s;
    uv_prepare_start(&s->flusher, on_flush);
    bootstrap_phase(s);
    return 0;
fail:
    uv_close((uv_handle_t *)&s->listener, NULL);
    s->closed = true;
    return rc;
}

void vk_server_shutdown(vk_server *s)
{
    if (s->draining)
        return;
    s->draining = true;
    uv_close((uv_handle_t *)&s->listener, NULL);
    vk_reg_watch_end_all(s);
    vk_conn_shutdown_all(s);
    uv_timer_start(&s->grace, on_grace, (uint64_t)s->opts.shutdown_grace_ms, 0);
    uv_unref((uv_handle_t *)&s->grace);
}

void vk_server_free(vk_server *s)
{
    for (size_t i = 0; s->res_state && i < vk_builtin_count(); i++)
        if (vk_resources[i]->state_free)
            vk_resources[i]->state_free(s->res_state[i]);
    free(s->res_state);
    s->res_state = NULL;
    vk_rbac_cache_free(s->rbac_cache);
    s->rbac_cache = NULL;
    free(s->version_body);
    s->version_body = NULL;
    vk_store_free(s->store);
    s->store = NULL;
    SSL_CTX_free(s->ssl);
    vk_pki_free(s->pki);
    vk_tokens_free(s->tokens);
    vk_metrics_free(s->metrics);
    s->ssl = NULL;
    s->pki = NULL;
    s->tokens = NULL;
    s->metrics = NULL;
}
