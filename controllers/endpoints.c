/* Endpoints and EndpointSlices of Services with a selector.
 *
 * A reconcile of one Service: the pods of its namespace its selector matches, with an
 * IP, not finished, are its endpoints (not yet ready ones apart, unless
 * publishNotReadyAddresses; pods being deleted only as terminating slice endpoints).
 * Each Service port is resolved per pod (a named targetPort through the pod's container
 * ports; a pod without it is left out of that port). The Endpoints object of the
 * Service's name gets one subset per distinct port set, addresses sorted by IP (kube's
 * RepackSubsets); one EndpointSlice (generateName "<service>-", owned by the Service,
 * labelled kubernetes.io/service-name and managed-by endpointslice-controller.k8s.io)
 * gets the same endpoints with kube's ready/serving/terminating conditions. Both are
 * written only when they change. A Service without a selector is left to its owner
 * (the kubernetes Service's endpoints are the server's), except that its Endpoints,
 * written by someone else, are mirrored into EndpointSlices as kube's
 * endpointslicemirroring controller does (owned by the Endpoints; not those labelled
 * endpointslice.kubernetes.io/skip-mirror). Not yet: slices over 100 endpoints, dual
 * stack, topology hints. */
#include "controllers/endpoints.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/registry/registry.h"
#include "apiserver/registry/selector.h"
#include "apiserver/server.h"
#include "common/err.h"
#include "common/log.h"
#include "controllers/controller.h"
#include "controllers/objects.h"
#include "storage/store.h"

struct vk_endpoints_ctl {
    vk_server *s;
    const vk_resource *svc_res, *ep_res, *slice_res;
    vk_informer *services, *pods, *eps;
    vk_controller *ctl;
    json_t *creating; /* Service keys whose EndpointSlice create is in flight */
    bool stopping;
};

/* The port number a Service port reaches on pod, or 0 when the pod has no such port. */
static long long target_port(const json_t *sp, const json_t *pod)
{
    json_t *tp = json_object_get(sp, "targetPort");
    if (!tp)
        return json_integer_value(json_object_get(sp, "port"));
    if (json_is_integer(tp))
        return json_integer_value(tp);
    const char *name = json_string_value(tp);
    size_t i, j;
    json_t *c, *p;
    json_array_foreach(json_object_get(json_object_get(pod, "spec"), "containers"), i, c)
    {
        json_array_foreach(json_object_get(c, "ports"), j, p)
        {
            if (name && !strcmp(vk_str(p, "name"), name) &&
                !strcmp(*vk_str(p, "protocol") ? vk_str(p, "protocol") : "TCP",
                        *vk_str(sp, "protocol") ? vk_str(sp, "protocol") : "TCP"))
                return json_integer_value(json_object_get(p, "containerPort"));
        }
    }
    return 0;
}

static int cmp_ip(const void *a, const void *b)
{
    return strcmp(vk_str(*(json_t *const *)a, "ip"), vk_str(*(json_t *const *)b, "ip"));
}

static json_t *sorted_by_ip(json_t *arr)
{
    size_t n = json_array_size(arr);
    json_t **v = malloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; v && i < n; i++)
        v[i] = json_array_get(arr, i);
    if (v)
        qsort(v, n, sizeof *v, cmp_ip);
    json_t *out = json_array();
    for (size_t i = 0; v && i < n; i++)
        json_array_append(out, v[i]);
    free(v);
    return out;
}

static json_t *read_object(vk_endpoints_ctl *c, const vk_resource *res, const char *ns,
                           const char *name)
{
    return vk_registry_get(c->s, res, ns, name);
}

typedef struct find_ctx {
    const char *service;
    json_t *found;
} find_ctx;

static int find_slice(void *ud, const vk_kv *kv)
{
    find_ctx *f = ud;
    if (f->found)
        return 0;
    json_t *obj = json_loadb(kv->val, kv->val_len, 0, NULL);
    json_t *labels = json_object_get(vk_meta(obj), "labels");
    if (!strcmp(vk_str(labels, "kubernetes.io/service-name"), f->service) &&
        !strcmp(vk_str(labels, "endpointslice.kubernetes.io/managed-by"),
                "endpointslice-controller.k8s.io"))
        f->found = obj;
    else
        json_decref(obj);
    return 1;
}

static void written(void *ud, int err, const char *json, size_t len, json_t *status)
{
    vk_endpoints_ctl *c = ud;
    if (err && err != VK_EEXIST && !c->stopping)
        vk_log(VK_LOG_DEBUG, "endpoints", "Write refused", "err=\"%s\"",
               json_string_value(json_object_get(status, "message")));
}

typedef struct set_data {
    vk_endpoints_ctl *c;
    json_t *fields; /* top-level members to write */
    char key[600];  /* the Service, looked at again once written */
} set_data;

static void apply_fields(void *ud, json_t *obj)
{
    set_data *sd = ud;
    const char *k;
    json_t *v;
    json_object_foreach(sd->fields, k, v)
    {
        if (json_is_null(v))
            json_object_del(obj, k);
        else
            json_object_set(obj, k, v);
    }
}

/* Edits are blind: one computed from an older view may land after a newer one, and
 * nothing else would wake the Service, so it is looked at once more. */
static void fields_done(void *ud, int err, const char *json, size_t len, json_t *status)
{
    set_data *sd = ud;
    if (!sd->c->stopping)
        vk_controller_enqueue(sd->c->ctl, sd->key);
    json_decref(sd->fields);
    free(sd);
}

static void slice_created(void *ud, int err, const char *json, size_t len, json_t *status)
{
    set_data *sd = ud;
    written(sd->c, err, json, len, status);
    json_object_del(sd->c->creating, sd->key);
    if (!sd->c->stopping)
        vk_controller_enqueue(sd->c->ctl, sd->key);
    free(sd);
}

static void write_fields(vk_endpoints_ctl *c, const char *svc_key, const vk_resource *res,
                         const char *ns, const char *name, json_t *fields /* stolen */)
{
    set_data *sd = malloc(sizeof *sd);
    if (!sd) {
        json_decref(fields);
        return;
    }
    sd->c = c;
    sd->fields = fields;
    snprintf(sd->key, sizeof sd->key, "%s", svc_key);
    vk_registry_edit(c->s, res, ns, name, apply_fields, sd, fields_done, sd);
}

/* ---- EndpointSlice mirroring (kube's endpointslicemirroring controller) ---- */

#define MIRROR_MANAGER "endpointslicemirroring-controller.k8s.io"

typedef struct mirrored {
    const char *service;
    json_t *found; /* [slices] */
} mirrored;

static int find_mirrored(void *ud, const vk_kv *kv)
{
    mirrored *m = ud;
    json_t *obj = json_loadb(kv->val, kv->val_len, 0, NULL);
    json_t *labels = json_object_get(vk_meta(obj), "labels");
    if (!strcmp(vk_str(labels, "kubernetes.io/service-name"), m->service) &&
        !strcmp(vk_str(labels, "endpointslice.kubernetes.io/managed-by"), MIRROR_MANAGER))
        json_array_append(m->found, obj);
    json_decref(obj);
    return 0;
}

static json_t *mirror_endpoint(const json_t *addr, bool ready)
{
    json_t *e = json_pack("{s:[s], s:{s:b}}", "addresses", vk_str(addr, "ip"), "conditions",
                          "ready", ready);
    static const char *const copied[] = {"hostname", "nodeName", "targetRef"};
    for (size_t i = 0; i < 3; i++)
        if (json_object_get(addr, copied[i]))
            json_object_set(e, copied[i], json_object_get(addr, copied[i]));
    return e;
}

/* The slices a subset of a custom Endpoints becomes: its ports, its addresses (ready)
 * and not-ready addresses, one slice per address family. */
static void mirror_subset(const json_t *subset, json_t *out)
{
    static const char *const families[] = {"IPv4", "IPv6"};
    for (int f = 0; f < 2; f++) {
        json_t *eps = json_array();
        static const char *const lists[] = {"addresses", "notReadyAddresses"};
        for (int l = 0; l < 2; l++) {
            size_t i;
            json_t *a;
            json_array_foreach(json_object_get(subset, lists[l]), i, a)
            {
                if ((strchr(vk_str(a, "ip"), ':') != NULL) == (f == 1))
                    json_array_append_new(eps, mirror_endpoint(a, l == 0));
            }
        }
        if (!json_array_size(eps)) {
            json_decref(eps);
            continue;
        }
        json_t *ports = json_array();
        size_t i;
        json_t *p;
        json_array_foreach(json_object_get(subset, "ports"), i, p)
        {
            json_t *port = json_pack("{s:O, s:s}", "port", json_object_get(p, "port"), "protocol",
                                     *vk_str(p, "protocol") ? vk_str(p, "protocol") : "TCP");
            json_object_set_new(port, "name", json_string(vk_str(p, "name")));
            if (json_object_get(p, "appProtocol"))
                json_object_set(port, "appProtocol", json_object_get(p, "appProtocol"));
            json_array_append_new(ports, port);
        }
        json_array_append_new(out, json_pack("{s:s, s:o, s:o}", "addressType", families[f],
                                             "endpoints", eps, "ports", ports));
    }
}

/* A Service without a selector: its Endpoints, written by someone else, mirrored into
 * EndpointSlices owned by the Endpoints (unless it is labelled skip-mirror). */
static int mirror(vk_endpoints_ctl *c, const char *key, const char *ns, const char *name)
{
    json_t *ep = read_object(c, c->ep_res, ns, name);
    json_t *want = json_array();
    json_t *labels = json_object_get(vk_meta(ep), "labels");
    if (ep && strcmp(vk_str(labels, "endpointslice.kubernetes.io/skip-mirror"), "true")) {
        size_t i;
        json_t *sub;
        json_array_foreach(json_object_get(ep, "subsets"), i, sub) mirror_subset(sub, want);
    }
    char prefix[VK_KEY_MAX];
    int plen = vk_key_prefix(prefix, sizeof prefix, vk_resource_id(c->slice_res), ns);
    mirrored m = {name, json_array()};
    vk_list_opts o = {.prefix = prefix, .prefix_len = plen > 0 ? (size_t)plen : 0};
    vk_list_info info = {0};
    if (plen > 0)
        vk_store_list(c->s->store, &o, find_mirrored, &m, &info);
    size_t nwant = json_array_size(want), nhave = json_array_size(m.found), i;
    for (i = 0; i < nwant && i < nhave; i++) {
        json_t *w = json_array_get(want, i), *h = json_array_get(m.found, i);
        bool same = true;
        const char *k;
        json_t *v;
        json_object_foreach(w, k, v) same = same && json_equal(v, json_object_get(h, k));
        if (!same)
            write_fields(c, key, c->slice_res, ns, vk_str(vk_meta(h), "name"), json_incref(w));
    }
    for (; i < nhave; i++)
        vk_registry_delete(c->s, c->slice_res, ns,
                           vk_str(vk_meta(json_array_get(m.found, i)), "name"), written, c);
    if (nwant > nhave && !json_object_get(c->creating, key)) {
        char gen[300];
        snprintf(gen, sizeof gen, "%s-", name);
        json_t *sl = json_is_object(labels) ? json_deep_copy(labels) : json_object();
        json_object_set_new(sl, "kubernetes.io/service-name", json_string(name));
        json_object_set_new(sl, "endpointslice.kubernetes.io/managed-by",
                            json_string(MIRROR_MANAGER));
        json_t *obj = json_deep_copy(json_array_get(want, nhave));
        json_object_set_new(obj, "metadata",
                            json_pack("{s:s, s:o, s:[{s:s, s:s, s:s, s:s, s:b, s:b}]}",
                                      "generateName", gen, "labels", sl, "ownerReferences",
                                      "apiVersion", "v1", "kind", "Endpoints", "name", name, "uid",
                                      vk_str(vk_meta(ep), "uid"), "controller", 1,
                                      "blockOwnerDeletion", 1));
        set_data *sd = calloc(1, sizeof *sd);
        if (sd) {
            sd->c = c;
            snprintf(sd->key, sizeof sd->key, "%s", key);
            json_object_set_new(c->creating, key, json_true());
            vk_registry_create(c->s, c->slice_res, ns, obj, false, slice_created, sd);
        }
        json_decref(obj);
    }
    json_decref(m.found);
    json_decref(want);
    json_decref(ep);
    return 0;
}

/* A stored list is what want says: absent, null (a slice of a Service without ports
 * is stored with "ports": null, as kube writes it) and [] are the same empty list. */
static bool same_list(const json_t *have, const json_t *want)
{
    return json_array_size(have) || json_array_size(want) ? json_equal(have, want) : true;
}

static int reconcile(void *ud, const char *key)
{
    vk_endpoints_ctl *c = ud;
    const char *slash = strchr(key, '/');
    if (!slash || c->stopping)
        return 0;
    char ns[256];
    snprintf(ns, sizeof ns, "%.*s", (int)(slash - key), key);
    const char *name = slash + 1;
    const json_t *svc = vk_informer_get(c->services, ns, name);
    json_t *spec = json_object_get(svc, "spec");
    json_t *selector = json_object_get(spec, "selector");
    if (!svc) {
        /* Gone: its Endpoints too (its slices are the collector's, by owner). */
        json_t *ep = read_object(c, c->ep_res, ns, name);
        if (ep)
            vk_registry_delete(c->s, c->ep_res, ns, name, written, c);
        json_decref(ep);
        return 0;
    }
    if (!json_object_size(selector))
        return mirror(c, key, ns, name);
    json_t *text = vk_label_selector_format(selector);
    vk_selector *sel = NULL;
    char err[256];
    vk_label_selector_parse(json_string_value(text), &sel, err, sizeof err);
    json_decref(text);
    bool publish_not_ready = json_is_true(json_object_get(spec, "publishNotReadyAddresses"));
    json_t *sports = json_object_get(spec, "ports");
    json_t *subsets = json_array();    /* [{ports, addresses, notReadyAddresses}] */
    json_t *slice_eps = json_array();  /* slice endpoints */
    json_t *slice_ports = json_null(); /* the first pod's resolved ports */
    const char *k;
    json_t *pod;
    json_object_foreach((json_t *)vk_informer_items(c->pods), k, pod)
    {
        json_t *pm = vk_meta(pod);
        const char *ip = vk_str(json_object_get(pod, "status"), "podIP");
        const char *phase = vk_str(json_object_get(pod, "status"), "phase");
        if (strcmp(vk_str(pm, "namespace"), ns) || !*ip || !strcmp(phase, "Succeeded") ||
            !strcmp(phase, "Failed") || !sel ||
            !vk_selector_match_labels(sel, json_object_get(pm, "labels")))
            continue;
        bool terminating = json_object_get(pm, "deletionTimestamp") != NULL;
        bool ready = vk_pod_ready(pod) && !terminating;
        json_t *ports = json_array();
        size_t i;
        json_t *sp;
        json_array_foreach(sports, i, sp)
        {
            long long p = target_port(sp, pod);
            if (!p)
                continue;
            json_t *port = json_pack("{s:I, s:s}", "port", (json_int_t)p, "protocol",
                                     *vk_str(sp, "protocol") ? vk_str(sp, "protocol") : "TCP");
            if (*vk_str(sp, "name"))
                json_object_set_new(port, "name", json_string(vk_str(sp, "name")));
            if (json_object_get(sp, "appProtocol"))
                json_object_set(port, "appProtocol", json_object_get(sp, "appProtocol"));
            json_array_append_new(ports, port);
        }
        const char *node = vk_str(json_object_get(pod, "spec"), "nodeName");
        json_t *target = json_pack("{s:s, s:s, s:s, s:s}", "kind", "Pod", "namespace", ns, "name",
                                   vk_str(pm, "name"), "uid", vk_str(pm, "uid"));
        if (!terminating && json_array_size(ports)) {
            json_t *addr = json_pack("{s:s, s:O}", "ip", ip, "targetRef", target);
            if (*node)
                json_object_set_new(addr, "nodeName", json_string(node));
            json_t *subset = NULL;
            json_t *s;
            json_array_foreach(subsets, i, s) if (json_equal(json_object_get(s, "ports"), ports))
                subset = s;
            if (!subset) {
                subset = json_pack("{s:[], s:[], s:O}", "addresses", "notReadyAddresses", "ports",
                                   ports);
                json_array_append_new(subsets, subset);
            }
            json_array_append_new(json_object_get(subset, (ready || publish_not_ready)
                                                              ? "addresses"
                                                              : "notReadyAddresses"),
                                  addr);
        }
        if (json_array_size(ports) || !json_array_size(sports)) {
            if (json_is_null(slice_ports))
                slice_ports = json_incref(ports);
            bool serving = vk_pod_ready(pod);
            json_t *ep = json_pack("{s:[s], s:{s:b, s:b, s:b}, s:O}", "addresses", ip, "conditions",
                                   "ready", ready || publish_not_ready, "serving", serving,
                                   "terminating", terminating, "targetRef", target);
            if (*node)
                json_object_set_new(ep, "nodeName", json_string(node));
            json_array_append_new(slice_eps, ep);
        }
        json_decref(target);
        json_decref(ports);
    }
    vk_selector_free(sel);
    /* Endpoints: subsets with addresses sorted; empty lists dropped. */
    size_t i;
    json_t *s;
    json_array_foreach(subsets, i, s)
    {
        static const char *const lists[] = {"addresses", "notReadyAddresses"};
        for (int l = 0; l < 2; l++) {
            json_t *a = json_object_get(s, lists[l]);
            if (json_array_size(a))
                json_object_set_new(s, lists[l], sorted_by_ip(a));
            else
                json_object_del(s, lists[l]);
        }
    }
    json_t *ep = read_object(c, c->ep_res, ns, name);
    json_t *want_subsets = json_array_size(subsets) ? json_incref(subsets) : json_null();
    if (!ep) {
        json_t *obj = json_pack("{s:{s:s, s:O?}}", "metadata", "name", name, "labels",
                                json_object_get(vk_meta(svc), "labels"));
        if (!json_is_null(want_subsets))
            json_object_set(obj, "subsets", want_subsets);
        vk_registry_create(c->s, c->ep_res, ns, obj, false, written, c);
        json_decref(obj);
    } else {
        json_t *have = json_object_get(ep, "subsets");
        bool same = (json_is_null(want_subsets) && !json_array_size(have)) ||
                    (have && json_equal(have, want_subsets));
        if (!same)
            write_fields(c, key, c->ep_res, ns, name, json_pack("{s:O}", "subsets", want_subsets));
    }
    json_decref(want_subsets);
    json_decref(ep);
    json_decref(subsets);
    /* The EndpointSlice. */
    char prefix[VK_KEY_MAX];
    int plen = vk_key_prefix(prefix, sizeof prefix, vk_resource_id(c->slice_res), ns);
    find_ctx f = {name, NULL};
    vk_list_opts o = {.prefix = prefix, .prefix_len = (size_t)plen};
    vk_list_info info = {0};
    if (plen > 0)
        vk_store_list(c->s->store, &o, find_slice, &f, &info);
    json_t *eps = sorted_by_ip(slice_eps);
    json_decref(slice_eps);
    /* A slice's ports always say their name, "" included (kube sets the pointer). */
    json_t *ports = json_is_null(slice_ports) ? json_array() : json_deep_copy(slice_ports);
    size_t pi;
    json_t *pp;
    json_array_foreach(ports, pi, pp)
    {
        if (!json_object_get(pp, "name"))
            json_object_set_new(pp, "name", json_string(""));
    }
    json_decref(slice_ports);
    if (!f.found && json_object_get(c->creating, key)) {
        /* A slice is being made (generateName: a second would be another one). */
    } else if (!f.found) {
        char gen[300];
        snprintf(gen, sizeof gen, "%s-", name);
        json_t *labels = json_deep_copy(json_object_get(vk_meta(svc), "labels"));
        if (!json_is_object(labels))
            labels = json_object();
        json_object_set_new(labels, "kubernetes.io/service-name", json_string(name));
        json_object_set_new(labels, "endpointslice.kubernetes.io/managed-by",
                            json_string("endpointslice-controller.k8s.io"));
        json_t *obj = json_pack(
            "{s:{s:s, s:o, s:[{s:s, s:s, s:s, s:s, s:b, s:b}]}, s:s, s:O, s:O}", "metadata",
            "generateName", gen, "labels", labels, "ownerReferences", "apiVersion", "v1", "kind",
            "Service", "name", name, "uid", vk_str(vk_meta(svc), "uid"), "controller", 1,
            "blockOwnerDeletion", 1, "addressType", "IPv4", "endpoints", eps, "ports", ports);
        set_data *sd = calloc(1, sizeof *sd);
        if (sd) {
            sd->c = c;
            snprintf(sd->key, sizeof sd->key, "%s", key);
            json_object_set_new(c->creating, key, json_true());
            vk_registry_create(c->s, c->slice_res, ns, obj, false, slice_created, sd);
        }
        json_decref(obj);
    } else if (!same_list(json_object_get(f.found, "endpoints"), eps) ||
               !same_list(json_object_get(f.found, "ports"), ports)) {
        write_fields(c, key, c->slice_res, ns, vk_str(vk_meta(f.found), "name"),
                     json_pack("{s:O, s:O}", "endpoints", eps, "ports", ports));
    }
    json_decref(f.found);
    json_decref(eps);
    json_decref(ports);
    return 0;
}

static void enqueue(vk_endpoints_ctl *c, const char *ns, const char *name)
{
    char key[600];
    snprintf(key, sizeof key, "%s/%s", ns, name);
    vk_controller_enqueue(c->ctl, key);
}

static void svc_changed(void *ud, const json_t *old, const json_t *obj)
{
    const json_t *svc = obj ? obj : old;
    enqueue(ud, vk_str(vk_meta(svc), "namespace"), vk_str(vk_meta(svc), "name"));
}

/* An Endpoints changed: its Service, if there is one (an Endpoints written before its
 * Service, as the kubernetes Service's at bootstrap, is not the controller's to
 * delete). */
static void eps_changed(void *ud, const json_t *old, const json_t *obj)
{
    vk_endpoints_ctl *c = ud;
    const json_t *ep = obj ? obj : old;
    const char *ns = vk_str(vk_meta(ep), "namespace"), *name = vk_str(vk_meta(ep), "name");
    if (vk_informer_get(c->services, ns, name))
        enqueue(c, ns, name);
}

/* The Services whose selector matches the pod before or after the change. */
static void pod_changed(void *ud, const json_t *old, const json_t *obj)
{
    vk_endpoints_ctl *c = ud;
    const json_t *pod = obj ? obj : old;
    const char *ns = vk_str(vk_meta(pod), "namespace");
    const char *k;
    json_t *svc;
    json_object_foreach((json_t *)vk_informer_items(c->services), k, svc)
    {
        json_t *selector = json_object_get(json_object_get(svc, "spec"), "selector");
        if (strcmp(vk_str(vk_meta(svc), "namespace"), ns) || !json_object_size(selector))
            continue;
        json_t *text = vk_label_selector_format(selector);
        vk_selector *sel = NULL;
        char err[256];
        vk_label_selector_parse(json_string_value(text), &sel, err, sizeof err);
        json_decref(text);
        bool hit =
            sel &&
            ((obj && vk_selector_match_labels(sel, json_object_get(vk_meta(obj), "labels"))) ||
             (old && vk_selector_match_labels(sel, json_object_get(vk_meta(old), "labels"))));
        vk_selector_free(sel);
        if (hit)
            enqueue(c, ns, vk_str(vk_meta(svc), "name"));
    }
}

int vk_endpoints_start(vk_server *s, vk_informer *pods, vk_endpoints_ctl **out)
{
    vk_endpoints_ctl *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    *c = (vk_endpoints_ctl){.s = s,
                            .svc_res = vk_resource_find("", "v1", "services"),
                            .ep_res = vk_resource_find("", "v1", "endpoints"),
                            .slice_res =
                                vk_resource_find("discovery.k8s.io", "v1", "endpointslices"),
                            .pods = pods,
                            .creating = json_object()};
    int rc = vk_informer_start(s, c->svc_res, &c->services);
    if (!rc)
        rc = vk_informer_start(s, c->ep_res, &c->eps);
    if (!rc && !(c->ctl = vk_controller_new(s, "endpoints", reconcile, c)))
        rc = -ENOMEM;
    if (!rc)
        rc = vk_informer_subscribe(c->services, svc_changed, c);
    if (!rc)
        rc = vk_informer_subscribe(pods, pod_changed, c);
    if (!rc)
        rc = vk_informer_subscribe(c->eps, eps_changed, c);
    if (rc) {
        vk_endpoints_free(c);
        return rc;
    }
    const char *k;
    json_t *svc;
    json_object_foreach((json_t *)vk_informer_items(c->services), k, svc) svc_changed(c, NULL, svc);
    *out = c;
    return 0;
}

void vk_endpoints_free(vk_endpoints_ctl *c)
{
    if (!c)
        return;
    c->stopping = true;
    vk_controller_free(c->ctl);
    vk_informer_free(c->services);
    vk_informer_free(c->eps);
    json_decref(c->creating);
    free(c);
}
