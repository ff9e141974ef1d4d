/* core/v1 Service: kube's defaults (SetDefaults_Service), the parts of its validation
 * that clients meet first, ClusterIP and NodePort allocation, and its printer.
 *
 * Allocation: the Service CIDR (IPv4) and the NodePort range 30000-32767 are bitmaps
 * rebuilt from the stored Services at start; create claims (a requested IP or port must
 * be free), delete and failed creates release. The first IP of the range belongs to
 * the `kubernetes` Service (kube reserves it the same way). */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/registry/common.h"
#include "apiserver/registry/resource.h"
#include "apiserver/registry/selector.h"
#include "apiserver/server.h"
#include "storage/store.h"

enum { NODEPORT_MIN = 30000, NODEPORT_MAX = 32767 };

typedef struct alloc {
    uint32_t base; /* network address, host order */
    uint32_t size; /* addresses in the range */
    uint8_t *ips;  /* bit i: base + i is taken */
    uint32_t next; /* where the next search starts */
    uint8_t ports[(NODEPORT_MAX - NODEPORT_MIN + 1 + 7) / 8];
    uint32_t next_port;
} alloc;

static bool bit(const uint8_t *m, uint32_t i)
{
    return m[i / 8] & (1u << (i % 8));
}

static void set_bit(uint8_t *m, uint32_t i, bool on)
{
    if (on)
        m[i / 8] |= (uint8_t)(1u << (i % 8));
    else
        m[i / 8] &= (uint8_t) ~(1u << (i % 8));
}

/* The offset of ip in the range, or -1. */
static long ip_index(const alloc *a, const char *ip)
{
    struct in_addr in;
    if (!a || !ip || inet_pton(AF_INET, ip, &in) != 1)
        return -1;
    uint32_t v = ntohl(in.s_addr);
    if (v <= a->base || v >= a->base + a->size - 1) /* network and broadcast excluded */
        return -1;
    return (long)(v - a->base);
}

static const char *cluster_ip(const json_t *svc)
{
    return json_string_value(json_object_get(json_object_get(svc, "spec"), "clusterIP"));
}

static void mark(alloc *a, const json_t *svc, bool on)
{
    long i = ip_index(a, cluster_ip(svc));
    if (i >= 0)
        set_bit(a->ips, (uint32_t)i, on);
    size_t k;
    json_t *p;
    json_array_foreach(json_object_get(json_object_get(svc, "spec"), "ports"), k, p)
    {
        json_int_t np = json_integer_value(json_object_get(p, "nodePort"));
        if (np >= NODEPORT_MIN && np <= NODEPORT_MAX)
            set_bit(a->ports, (uint32_t)(np - NODEPORT_MIN), on);
    }
}

static int mark_stored(void *ud, const vk_kv *kv)
{
    json_t *svc = json_loadb(kv->val, kv->val_len, 0, NULL);
    if (svc)
        mark(ud, svc, true);
    json_decref(svc);
    return 1;
}

extern const vk_resource vk_res_services;

static void *state_new(vk_server *s)
{
    char net[64];
    int bits = 0;
    if (sscanf(s->opts.service_cidr, "%63[0-9.]/%d", net, &bits) != 2 || bits < 8 || bits > 30)
        return NULL; /* not an IPv4 range we allocate from: creates that need an IP fail */
    struct in_addr in;
    if (inet_pton(AF_INET, net, &in) != 1)
        return NULL;
    alloc *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->size = 1u << (32 - bits);
    a->base = ntohl(in.s_addr) & ~(a->size - 1);
    a->ips = calloc(a->size / 8 + 1, 1);
    if (!a->ips) {
        free(a);
        return NULL;
    }
    a->next = 2; /* dynamic allocation skips the first IP, the kubernetes Service's */
    char prefix[VK_KEY_MAX];
    int plen = vk_key_prefix(prefix, sizeof prefix, vk_resource_id(&vk_res_services), NULL);
    vk_list_opts o = {.prefix = prefix, .prefix_len = (size_t)plen};
    vk_list_info info;
    vk_store_list(s->store, &o, mark_stored, a, &info);
    return a;
}

static void state_free(void *p)
{
    alloc *a = p;
    if (a)
        free(a->ips);
    free(a);
}

static const char *type_of(const json_t *spec)
{
    const char *t = json_string_value(json_object_get(spec, "type"));
    return t ? t : "ClusterIP";
}

static bool wants_ip(const json_t *spec)
{
    const char *ip = json_string_value(json_object_get(spec, "clusterIP"));
    return strcmp(type_of(spec), "ExternalName") && !(ip && !strcmp(ip, "None"));
}

static bool wants_node_ports(const json_t *spec)
{
    const char *t = type_of(spec);
    return !strcmp(t, "NodePort") || !strcmp(t, "LoadBalancer");
}

static void set_default(json_t *o, const char *k, json_t *v)
{
    if (!json_object_get(o, k))
        json_object_set(o, k, v);
    json_decref(v);
}

static void prepare_create(vk_ctx *c, json_t *obj)
{
    json_t *spec = json_object_get(obj, "spec");
    if (!json_is_object(spec)) {
        spec = json_object();
        json_object_set_new(obj, "spec", spec);
    }
    set_default(spec, "type", json_string("ClusterIP"));
    set_default(spec, "sessionAffinity", json_string("None"));
    bool external_name = !strcmp(type_of(spec), "ExternalName");
    if (!external_name)
        set_default(spec, "internalTrafficPolicy", json_string("Cluster"));
    if (wants_node_ports(spec))
        set_default(spec, "externalTrafficPolicy", json_string("Cluster"));
    if (!strcmp(type_of(spec), "LoadBalancer"))
        set_default(spec, "allocateLoadBalancerNodePorts", json_true());
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(spec, "ports"), i, p)
    {
        set_default(p, "protocol", json_string("TCP"));
        json_t *tp = json_object_get(p, "targetPort");
        if (!tp || (json_is_integer(tp) && !json_integer_value(tp)) ||
            (json_is_string(tp) && !json_string_length(tp)))
            json_object_set(p, "targetPort", json_object_get(p, "port"));
    }
    json_object_set_new(obj, "status", json_pack("{s:{}}", "loadBalancer"));
}

static void validate_create(vk_ctx *c, const json_t *obj, vk_errlist *errs)
{
    json_t *spec = json_object_get(obj, "spec");
    static const char *const types[] = {"ClusterIP", "NodePort", "LoadBalancer", "ExternalName"};
    const char *t = type_of(spec);
    bool known = false;
    for (size_t i = 0; i < 4; i++)
        known |= !strcmp(t, types[i]);
    if (!known) {
        char msg[256];
        snprintf(msg, sizeof msg,
                 "Unsupported value: \"%.64s\": supported values: \"ClusterIP\", "
                 "\"ExternalName\", \"LoadBalancer\", \"NodePort\"",
                 t);
        vk_errlist_add(errs, "FieldValueNotSupported", "spec.type", msg);
    }
    json_t *ports = json_object_get(spec, "ports");
    bool headless = !wants_ip(spec) && strcmp(t, "ExternalName");
    if (!json_array_size(ports) && strcmp(t, "ExternalName") && !headless)
        vk_err_required(errs, "spec.ports", "");
    if (!strcmp(t, "ExternalName") && !json_string_length(json_object_get(spec, "externalName")))
        vk_err_required(errs, "spec.externalName", "");
    size_t i;
    json_t *p;
    json_array_foreach(ports, i, p)
    {
        char f[96];
        json_t *port = json_object_get(p, "port");
        json_int_t pv = json_integer_value(port);
        if (!json_is_integer(port) || pv < 1 || pv > 65535) {
            snprintf(f, sizeof f, "spec.ports[%zu].port", i);
            vk_err_invalid(errs, f, port ? port : json_null(),
                           "must be between 1 and 65535, inclusive");
        }
        const char *name = json_string_value(json_object_get(p, "name"));
        snprintf(f, sizeof f, "spec.ports[%zu].name", i);
        if (json_array_size(ports) > 1 && (!name || !*name))
            vk_err_required(errs, f, "");
        else if (name && *name && !vk_is_dns1123_label(name))
            vk_err_invalid(errs, f, json_object_get(p, "name"),
                           "a lowercase RFC 1123 label must consist of lower case alphanumeric "
                           "characters or '-', and must start and end with an alphanumeric "
                           "character");
        for (size_t j = 0; name && *name && j < i; j++) {
            const char *other =
                json_string_value(json_object_get(json_array_get(ports, j), "name"));
            if (other && !strcmp(other, name))
                vk_errlist_add(errs, "FieldValueDuplicate", f, "Duplicate value");
        }
        const char *proto = json_string_value(json_object_get(p, "protocol"));
        if (proto && strcmp(proto, "TCP") && strcmp(proto, "UDP") && strcmp(proto, "SCTP")) {
            snprintf(f, sizeof f, "spec.ports[%zu].protocol", i);
            char msg[160];
            snprintf(msg, sizeof msg,
                     "Unsupported value: \"%s\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
                     proto);
            vk_errlist_add(errs, "FieldValueNotSupported", f, msg);
        }
        json_int_t np = json_integer_value(json_object_get(p, "nodePort"));
        if (np && (np < NODEPORT_MIN || np > NODEPORT_MAX || !wants_node_ports(spec))) {
            snprintf(f, sizeof f, "spec.ports[%zu].nodePort", i);
            vk_err_invalid(errs, f, json_object_get(p, "nodePort"),
                           wants_node_ports(spec) ? "provided port is not in the valid range. "
                                                    "The range of valid ports is 30000-32767"
                                                  : "may not be used when `type` is 'ClusterIP'");
        }
    }
    json_t *sel = json_object_get(spec, "selector");
    const char *k;
    json_t *v;
    json_object_foreach(sel, k, v)
    {
        if (vk_is_qualified_name(k))
            continue;
        json_t *key = json_string(k);
        vk_err_invalid(errs, "spec.selector", key,
                       "name part must consist of alphanumeric characters, '-', '_' or '.'");
        json_decref(key);
    }
}

static void claim(vk_ctx *c, json_t *obj, vk_errlist *errs)
{
    alloc *a = c->state;
    json_t *spec = json_object_get(obj, "spec");
    if (wants_ip(spec)) {
        const char *ip = cluster_ip(obj);
        if (ip && *ip) {
            long i = ip_index(a, ip);
            if (i < 0)
                vk_err_invalid(errs, "spec.clusterIPs", json_object_get(spec, "clusterIP"),
                               "failed to allocate IP: the provided IP is not in the valid range");
            else if (bit(a->ips, (uint32_t)i))
                vk_err_invalid(errs, "spec.clusterIPs", json_object_get(spec, "clusterIP"),
                               "failed to allocate IP: provided IP is already allocated");
            else
                set_bit(a->ips, (uint32_t)i, true);
        } else if (!a) {
            vk_errlist_add(errs, "InternalError", "spec.clusterIPs",
                           "Internal error: the service CIDR cannot be allocated from");
        } else {
            /* Indexes 2 .. size-2: not the network, the first IP or the broadcast. */
            uint32_t n = a->size - 3, i;
            for (i = 0; i < n && bit(a->ips, 2 + (a->next - 2 + i) % n); i++)
                ;
            if (i == n) {
                vk_errlist_add(errs, "InternalError", "spec.clusterIPs",
                               "Internal error: failed to allocate a serviceIP: range is full");
            } else {
                uint32_t idx = 2 + (a->next - 2 + i) % n;
                set_bit(a->ips, idx, true);
                a->next = idx + 1;
                struct in_addr in = {htonl(a->base + idx)};
                char buf[INET_ADDRSTRLEN];
                inet_ntop(AF_INET, &in, buf, sizeof buf);
                json_object_set_new(spec, "clusterIP", json_string(buf));
            }
        }
        if (!errs->causes) {
            json_object_set_new(spec, "clusterIPs",
                                json_pack("[O]", json_object_get(spec, "clusterIP")));
            json_object_set_new(spec, "ipFamilies", json_pack("[s]", "IPv4"));
            json_object_set_new(spec, "ipFamilyPolicy", json_string("SingleStack"));
        }
    } else if (!strcmp(type_of(spec), "ClusterIP")) { /* headless */
        json_object_set_new(spec, "clusterIPs", json_pack("[s]", "None"));
        json_object_set_new(spec, "ipFamilies", json_pack("[s]", "IPv4"));
        json_object_set_new(spec, "ipFamilyPolicy", json_string("SingleStack"));
    }
    if (!a || !wants_node_ports(spec) || errs->causes)
        return;
    size_t k;
    json_t *p;
    const uint32_t nports = NODEPORT_MAX - NODEPORT_MIN + 1;
    json_array_foreach(json_object_get(spec, "ports"), k, p)
    {
        json_int_t np = json_integer_value(json_object_get(p, "nodePort"));
        if (np) {
            if (bit(a->ports, (uint32_t)(np - NODEPORT_MIN))) {
                char f[64];
                snprintf(f, sizeof f, "spec.ports[%zu].nodePort", k);
                vk_err_invalid(errs, f, json_object_get(p, "nodePort"),
                               "provided port is already allocated");
                continue;
            }
            set_bit(a->ports, (uint32_t)(np - NODEPORT_MIN), true);
            continue;
        }
        uint32_t i;
        for (i = 0; i < nports && bit(a->ports, (a->next_port + i) % nports); i++)
            ;
        if (i == nports) {
            vk_errlist_add(errs, "InternalError", "spec.ports",
                           "Internal error: failed to allocate a nodePort: range is full");
            continue;
        }
        uint32_t idx = (a->next_port + i) % nports;
        set_bit(a->ports, idx, true);
        a->next_port = idx + 1;
        json_object_set_new(p, "nodePort", json_integer(NODEPORT_MIN + idx));
    }
}

static void release(vk_ctx *c, const json_t *obj)
{
    if (c->state)
        mark(c->state, obj, false);
}

/* ClusterIPs and node ports stay as allocated; status is the status subresource's. */
static void prepare_update(vk_ctx *c, json_t *obj, const json_t *old)
{
    json_t *spec = json_object_get(obj, "spec");
    json_t *ospec = json_object_get(old, "spec");
    if (!json_is_object(spec)) {
        spec = json_object();
        json_object_set_new(obj, "spec", spec);
    }
    static const char *const keep[] = {"clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"};
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
        if (!json_object_get(spec, keep[i]) && json_object_get(ospec, keep[i]))
            json_object_set(spec, keep[i], json_object_get(ospec, keep[i]));
    json_t *st = json_object_get(old, "status");
    if (st)
        json_object_set(obj, "status", st);
}

static void validate_update(vk_ctx *c, const json_t *obj, const json_t *old, vk_errlist *errs)
{
    validate_create(c, obj, errs);
    json_t *ip = json_object_get(json_object_get(obj, "spec"), "clusterIP");
    json_t *oip = json_object_get(json_object_get(old, "spec"), "clusterIP");
    if (oip && !json_equal(ip, oip))
        vk_err_invalid(errs, "spec.clusterIPs[0]", ip ? ip : json_null(),
                       "may not change once set");
}

static json_t *cell_type(const json_t *o)
{
    return json_string(type_of(json_object_get(o, "spec")));
}

static json_t *cell_cluster_ip(const json_t *o)
{
    const char *ip = cluster_ip(o);
    return json_string(ip && *ip ? ip : "<none>");
}

static json_t *cell_external_ip(const json_t *o)
{
    json_t *spec = json_object_get(o, "spec");
    const char *t = type_of(spec);
    if (!strcmp(t, "ExternalName")) {
        const char *n = json_string_value(json_object_get(spec, "externalName"));
        return json_string(n ? n : "<none>");
    }
    vk_buf b = {0};
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(spec, "externalIPs"), i, v)
        vk_buf_printf(&b, "%s%s", b.len ? "," : "", json_string_value(v));
    json_array_foreach(
        json_object_get(json_object_get(json_object_get(o, "status"), "loadBalancer"), "ingress"),
        i, v)
    {
        const char *a = json_string_value(json_object_get(v, "ip"));
        if (!a)
            a = json_string_value(json_object_get(v, "hostname"));
        if (a)
            vk_buf_printf(&b, "%s%s", b.len ? "," : "", a);
    }
    json_t *out = json_string(b.len ? b.data : !strcmp(t, "LoadBalancer") ? "<pending>" : "<none>");
    vk_buf_free(&b);
    return out;
}

static json_t *cell_ports(const json_t *o)
{
    vk_buf b = {0};
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(json_object_get(o, "spec"), "ports"), i, p)
    {
        json_int_t port = json_integer_value(json_object_get(p, "port"));
        json_int_t np = json_integer_value(json_object_get(p, "nodePort"));
        const char *proto = json_string_value(json_object_get(p, "protocol"));
        if (np)
            vk_buf_printf(&b, "%s%lld:%lld/%s", b.len ? "," : "", (long long)port, (long long)np,
                          proto ? proto : "TCP");
        else
            vk_buf_printf(&b, "%s%lld/%s", b.len ? "," : "", (long long)port,
                          proto ? proto : "TCP");
    }
    json_t *out = json_string(b.len ? b.data : "<none>");
    vk_buf_free(&b);
    return out;
}

static json_t *cell_selector(const json_t *o)
{
    vk_buf b = {0};
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(json_object_get(o, "spec"), "selector"), k, v)
        vk_buf_printf(&b, "%s%s=%s", b.len ? "," : "", k, json_string_value(v));
    json_t *out = json_string(b.len ? b.data : "<none>");
    vk_buf_free(&b);
    return out;
}

static const vk_strategy strategy = {
    .prepare_create = prepare_create,
    .validate_create = validate_create,
    .claim = claim,
    .release = release,
    .prepare_update = prepare_update,
    .validate_update = validate_update,
};

static const vk_column columns[] = {
    {"Name", "string", "name", VK_DESC_NAME, 0, vk_cell_name},
    {"Type", "string", "", "The type of the service.", 0, cell_type},
    {"Cluster-IP", "string", "", "The IP of the service within the cluster.", 0, cell_cluster_ip},
    {"External-IP", "string", "", "External IPs of the service.", 0, cell_external_ip},
    {"Port(s)", "string", "", "The ports the service exposes.", 0, cell_ports},
    {"Age", "string", "", VK_DESC_AGE, 0, vk_cell_age},
    {"Selector", "string", "", "The labels that select the service's endpoints.", 1, cell_selector},
};

const vk_resource vk_res_services = {
    .group = "",
    .version = "v1",
    .plural = "services",
    .field_labels = {"spec.clusterIP", "spec.type"},
    .subresources = {{"status", vk_keep_all_but_status}},
    .strategy = &strategy,
    .columns = columns,
    .ncolumns = sizeof columns / sizeof columns[0],
    .state_new = state_new,
    .state_free = state_free,
};
