/* core/v1 Pod: kube's defaults (SetObjectDefaults_Pod), the admission plugins a
 * kube-apiserver runs on pods by default (ServiceAccount, DefaultTolerationSeconds,
 * Priority), its strategy (pkg/registry/core/pod: generation, status, QoS class,
 * graceful deletion), the most used rules of ValidatePodCreate / ValidatePodUpdate,
 * and the printer kubectl shows.
 *
 * Admission refusals (a missing ServiceAccount or PriorityClass, a quantity that does
 * not parse) are found while preparing the object and answered by admit(): the
 * state remembers the refusal between the two calls, which run back to back on the
 * loop thread for one request. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apiserver/codec/protobuf.h"
#include "apiserver/http/status.h"
#include "apiserver/registry/common.h"
#include "apiserver/registry/registry.h"
#include "apiserver/registry/resource.h"
#include "apiserver/resources/core/pods.h"
#include "apiserver/resources/quantity.h"
#include "apiserver/server.h"
#include "common/buf.h"
#include "common/rand.h"
#include "common/timefmt.h"
#include "storage/store.h"

/* Field paths are built into fixed buffers; one longer than kube allows is cut, which
 * gcc cannot rule out from the callers' buffer sizes. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif

typedef struct pod_state {
    json_t *refusal; /* the Status admit() answers for the object being prepared */
} pod_state;

static void *state_new(vk_server *s)
{
    (void)s;
    return calloc(1, sizeof(pod_state));
}

static void state_free(void *p)
{
    pod_state *ps = p;
    if (ps)
        json_decref(ps->refusal);
    free(ps);
}

static void set_refusal(vk_ctx *c, json_t *st)
{
    pod_state *ps = c->state;
    if (!ps) {
        json_decref(st);
        return;
    }
    json_decref(ps->refusal);
    ps->refusal = st;
}

/* ---- small JSON helpers ---- */

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static bool empty(const char *s)
{
    return !s || !*s;
}

static json_t *child(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_object(v)) {
        v = json_object();
        json_object_set_new(o, k, v);
    }
    return v;
}

static void set_default(json_t *o, const char *k, json_t *v)
{
    json_t *cur = json_object_get(o, k);
    if (!cur || json_is_null(cur) || (json_is_string(cur) && !json_string_length(cur)))
        json_object_set(o, k, v);
    json_decref(v);
}

static const char *const qty_regex_msg = "quantities must match the regular expression "
                                         "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/* ---- defaults (SetObjectDefaults_Pod) ---- */

/* kube's parsers.ParseImageName: the tag, "latest" when there is neither tag nor
 * digest; NULL when the reference does not parse. */
static bool image_is_latest(const char *image)
{
    if (empty(image))
        return false;
    for (const char *p = image; *p; p++)
        if (isspace((unsigned char)*p) || (unsigned char)*p >= 0x7f)
            return false;
    const char *slash = strchr(image, '/');
    const char *path = image;
    if (slash) {
        size_t dl = (size_t)(slash - image);
        if (memchr(image, '.', dl) || memchr(image, ':', dl) ||
            (dl == 9 && !strncmp(image, "localhost", 9)))
            path = slash + 1;
    }
    const char *at = strchr(path, '@');
    const char *last = strrchr(path, '/');
    const char *colon = strrchr(last ? last : path, ':');
    if (at && colon > at)
        colon = NULL;
    const char *name_end = colon ? colon : at ? at : path + strlen(path);
    for (const char *p = path; p < name_end; p++)
        if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || strchr("._-/", *p)))
            return false;
    if (name_end == path)
        return false;
    if (colon) {
        const char *tag_end = at ? at : colon + strlen(colon);
        size_t tl = (size_t)(tag_end - colon - 1);
        if (!tl || tl > 128)
            return false;
        return tl == 6 && !strncmp(colon + 1, "latest", 6);
    }
    return !at;
}

static void default_probe(json_t *p)
{
    if (!json_is_object(p))
        return;
    static const char *const k[] = {"timeoutSeconds", "periodSeconds", "successThreshold",
                                    "failureThreshold"};
    static const int d[] = {1, 10, 1, 3};
    for (int i = 0; i < 4; i++)
        if (!json_integer_value(json_object_get(p, k[i])))
            json_object_set_new(p, k[i], json_integer(d[i]));
    json_t *h = json_object_get(p, "httpGet");
    if (json_is_object(h)) {
        set_default(h, "path", json_string("/"));
        set_default(h, "scheme", json_string("HTTP"));
    }
    json_t *g = json_object_get(p, "grpc");
    if (json_is_object(g) && !json_object_get(g, "service"))
        json_object_set_new(g, "service", json_string(""));
}

static void default_field_ref(json_t *f)
{
    if (json_is_object(f))
        set_default(f, "apiVersion", json_string("v1"));
}

static void default_container(json_t *c, bool pod, bool host_network)
{
    if (!json_is_object(c))
        return;
    if (empty(str(c, "imagePullPolicy")))
        json_object_set_new(
            c, "imagePullPolicy",
            json_string(image_is_latest(str(c, "image")) ? "Always" : "IfNotPresent"));
    set_default(c, "terminationMessagePath", json_string("/dev/termination-log"));
    set_default(c, "terminationMessagePolicy", json_string("File"));
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(c, "ports"), i, p)
    {
        if (!json_is_object(p))
            continue;
        set_default(p, "protocol", json_string("TCP"));
        if (host_network && !json_integer_value(json_object_get(p, "hostPort")) &&
            json_object_get(p, "containerPort"))
            json_object_set(p, "hostPort", json_object_get(p, "containerPort"));
    }
    json_array_foreach(json_object_get(c, "env"), i, p)
    {
        json_t *vf = json_object_get(p, "valueFrom");
        default_field_ref(json_object_get(vf, "fieldRef"));
        json_t *fk = json_object_get(vf, "fileKeyRef");
        if (json_is_object(fk) && !json_object_get(fk, "optional"))
            json_object_set_new(fk, "optional", json_false());
    }
    json_t *res = json_object_get(c, "resources");
    json_t *lim = json_object_get(res, "limits");
    if (pod && json_is_object(lim)) {
        json_t *req = child(res, "requests");
        const char *k;
        json_t *v;
        json_object_foreach(lim, k, v) if (!json_object_get(req, k)) json_object_set(req, k, v);
    }
    vk_quantities_canonical(json_object_get(res, "limits"));
    vk_quantities_canonical(json_object_get(res, "requests"));
    default_probe(json_object_get(c, "livenessProbe"));
    default_probe(json_object_get(c, "readinessProbe"));
    default_probe(json_object_get(c, "startupProbe"));
    json_t *lc = json_object_get(c, "lifecycle");
    static const char *const hooks[] = {"postStart", "preStop"};
    for (int h = 0; h < 2; h++) {
        json_t *g = json_object_get(json_object_get(lc, hooks[h]), "httpGet");
        if (json_is_object(g)) {
            set_default(g, "path", json_string("/"));
            set_default(g, "scheme", json_string("HTTP"));
        }
    }
}

/* The volume sources kube knows, by JSON name, in validateVolumeSource's order with the
 * child name its errors use. */
static const struct {
    const char *json, *err;
} vol_sources[] = {
    {"emptyDir", "emptyDir"},
    {"hostPath", "hostPath"},
    {"gitRepo", "gitRepo"},
    {"gcePersistentDisk", "gcePersistentDisk"},
    {"awsElasticBlockStore", "awsElasticBlockStore"},
    {"secret", "secret"},
    {"nfs", "nfs"},
    {"iscsi", "iscsi"},
    {"glusterfs", "glusterfs"},
    {"flocker", "flocker"},
    {"persistentVolumeClaim", "persistentVolumeClaim"},
    {"rbd", "rbd"},
    {"cinder", "cinder"},
    {"cephfs", "cephFS"},
    {"quobyte", "quobyte"},
    {"downwardAPI", "downwarAPI"},
    {"fc", "fc"},
    {"flexVolume", "flexVolume"},
    {"configMap", "configMap"},
    {"azureFile", "azureFile"},
    {"vsphereVolume", "vsphereVolume"},
    {"photonPersistentDisk", "photonPersistentDisk"},
    {"portworxVolume", "portworxVolume"},
    {"azureDisk", "azureDisk"},
    {"storageos", "storageos"},
    {"projected", "projected"},
    {"scaleIO", "scaleIO"},
    {"csi", "csi"},
    {"ephemeral", "ephemeral"},
    {"image", "image"},
};
#define NSOURCES (sizeof vol_sources / sizeof vol_sources[0])

static void default_volume(json_t *v)
{
    if (!json_is_object(v))
        return;
    bool any = false;
    for (size_t i = 0; i < NSOURCES; i++) {
        json_t *s = json_object_get(v, vol_sources[i].json);
        any |= s && !json_is_null(s);
    }
    if (!any)
        json_object_set_new(v, "emptyDir", json_object());
    json_t *s;
    if (json_is_object(s = json_object_get(v, "hostPath")) && !json_object_get(s, "type"))
        json_object_set_new(s, "type", json_string(""));
    static const char *const moded[] = {"secret", "configMap", "downwardAPI", "projected"};
    for (int i = 0; i < 4; i++)
        if (json_is_object(s = json_object_get(v, moded[i])) && !json_object_get(s, "defaultMode"))
            json_object_set_new(s, "defaultMode", json_integer(420));
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(json_object_get(v, "downwardAPI"), "items"), i, it)
        default_field_ref(json_object_get(it, "fieldRef"));
    json_array_foreach(json_object_get(json_object_get(v, "projected"), "sources"), i, it)
    {
        size_t j;
        json_t *f;
        json_array_foreach(json_object_get(json_object_get(it, "downwardAPI"), "items"), j, f)
            default_field_ref(json_object_get(f, "fieldRef"));
        json_t *sat = json_object_get(it, "serviceAccountToken");
        if (json_is_object(sat) && !json_object_get(sat, "expirationSeconds"))
            json_object_set_new(sat, "expirationSeconds", json_integer(3600));
    }
    if (json_is_object(s = json_object_get(v, "iscsi")))
        set_default(s, "iscsiInterface", json_string("default"));
    if (json_is_object(s = json_object_get(v, "rbd"))) {
        set_default(s, "pool", json_string("rbd"));
        set_default(s, "user", json_string("admin"));
        set_default(s, "keyring", json_string("/etc/ceph/keyring"));
    }
    if (json_is_object(s = json_object_get(v, "scaleIO"))) {
        set_default(s, "storageMode", json_string("ThinProvisioned"));
        set_default(s, "fsType", json_string("xfs"));
    }
    if (json_is_object(s = json_object_get(v, "azureDisk"))) {
        set_default(s, "cachingMode", json_string("ReadWrite"));
        set_default(s, "fsType", json_string("ext4"));
        if (!json_object_get(s, "readOnly"))
            json_object_set_new(s, "readOnly", json_false());
        set_default(s, "kind", json_string("Shared"));
    }
    json_t *ed = json_object_get(v, "emptyDir");
    json_t *sl = json_object_get(ed, "sizeLimit");
    vk_qty q;
    if (sl && vk_qty_of(sl, &q) && q.exact) {
        char b[64];
        vk_qty_format(&q, b, sizeof b);
        json_object_set_new(ed, "sizeLimit", json_string(b));
    }
}

/* SetDefaults_Pod and SetDefaults_PodSpec with everything under them. */
static void default_pod(json_t *obj)
{
    json_t *spec = child(obj, "spec");
    json_t *tgp = json_object_get(spec, "terminationGracePeriodSeconds");
    if (json_is_integer(tgp) && json_integer_value(tgp) < 0)
        json_object_set_new(spec, "terminationGracePeriodSeconds", json_integer(1));
    if (!json_object_get(spec, "enableServiceLinks"))
        json_object_set_new(spec, "enableServiceLinks", json_true());
    if (empty(str(spec, "serviceAccountName")) && !empty(str(spec, "serviceAccount")))
        json_object_set(spec, "serviceAccountName", json_object_get(spec, "serviceAccount"));
    if (!empty(str(spec, "serviceAccountName")))
        json_object_set(spec, "serviceAccount", json_object_get(spec, "serviceAccountName"));
    else
        json_object_del(spec, "serviceAccount");
    set_default(spec, "dnsPolicy", json_string("ClusterFirst"));
    set_default(spec, "restartPolicy", json_string("Always"));
    if (!json_is_object(json_object_get(spec, "securityContext")))
        json_object_set_new(spec, "securityContext", json_object());
    if (!json_object_get(spec, "terminationGracePeriodSeconds"))
        json_object_set_new(spec, "terminationGracePeriodSeconds", json_integer(30));
    set_default(spec, "schedulerName", json_string("default-scheduler"));
    bool hn = json_is_true(json_object_get(spec, "hostNetwork"));
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(spec, "volumes"), i, v) default_volume(v);
    json_array_foreach(json_object_get(spec, "initContainers"), i, v)
        default_container(v, true, hn);
    json_array_foreach(json_object_get(spec, "containers"), i, v) default_container(v, true, hn);
    json_array_foreach(json_object_get(spec, "ephemeralContainers"), i, v)
        default_container(v, false, false);
    json_t *st = json_object_get(obj, "status");
    if (json_is_object(st)) {
        const char *ip = str(st, "podIP");
        json_t *ips = json_object_get(st, "podIPs");
        const char *ip0 = str(json_array_get(ips, 0), "ip");
        if (!empty(ip) && (!json_array_size(ips) || !ip0 || strcmp(ip0, ip)))
            json_object_set_new(st, "podIPs", json_pack("[{s:s}]", "ip", ip));
        else if (empty(ip) && !empty(ip0))
            json_object_set_new(st, "podIP", json_string(ip0));
    }
}

/* spec and status rebuilt as kube's Go types serialize them (key order, omitempty,
 * unknown fields dropped). Left as they are when they do not convert. */
static void go_shape(json_t *obj, const char *member, const char *msg)
{
    json_t *v = json_object_get(obj, member);
    const ProtobufCMessageDescriptor *d = vk_pb_lookup_name(msg);
    if (!json_is_object(v) || !d)
        return;
    vk_buf b = {0};
    json_t *out = NULL;
    if (!vk_pb_msg_from_json(d, v, &b) &&
        !vk_pb_msg_to_json(d, (const uint8_t *)b.data, b.len, &out) && json_is_object(out))
        json_object_set_new(obj, member, out);
    else
        json_decref(out);
    vk_buf_free(&b);
}

static void go_shape_pod(json_t *obj)
{
    go_shape(obj, "spec", "k8s.io.api.core.v1.PodSpec");
    go_shape(obj, "status", "k8s.io.api.core.v1.PodStatus");
}

/* ---- store reads ---- */

static json_t *read_object(vk_server *s, const char *group, const char *plural, const char *ns,
                           const char *name)
{
    return s && s->store ? vk_registry_get(s, vk_resource_find(group, "v1", plural), ns, name)
                         : NULL;
}

/* ---- admission ---- */

static json_t *forbidden(const json_t *obj, const char *why)
{
    const json_t *meta = json_object_get(obj, "metadata");
    const char *name = str(meta, "name");
    if (empty(name))
        name = str(meta, "generateName");
    if (empty(name))
        name = "Unknown";
    char msg[1024];
    snprintf(msg, sizeof msg, "pods \"%s\" is forbidden: %s", name, why);
    return vk_status_new(403, "Forbidden", msg, vk_status_details(name, "", "pods"));
}

static const char *const token_mount_path = "/var/run/secrets/kubernetes.io/serviceaccount";

/* The ServiceAccount plugin: the default account, the token volume in every container. */
static json_t *admit_service_account(vk_ctx *c, json_t *obj)
{
    json_t *spec = json_object_get(obj, "spec");
    const char *ns = str(json_object_get(obj, "metadata"), "namespace");
    if (json_object_get(json_object_get(json_object_get(obj, "metadata"), "annotations"),
                        "kubernetes.io/config.mirror"))
        return NULL;
    if (empty(str(spec, "serviceAccountName"))) {
        json_object_set_new(spec, "serviceAccountName", json_string("default"));
        json_object_set_new(spec, "serviceAccount", json_string("default"));
    }
    const char *san = str(spec, "serviceAccountName");
    json_t *sa = read_object(c->s, "", "serviceaccounts", ns, san);
    if (!sa) {
        char why[700];
        snprintf(why, sizeof why,
                 "error looking up service account %s/%s: serviceaccount \"%s\" not found",
                 ns ? ns : "", san, san);
        return forbidden(obj, why);
    }
    json_t *pa = json_object_get(spec, "automountServiceAccountToken");
    json_t *sam = json_object_get(sa, "automountServiceAccountToken");
    bool mount = json_is_boolean(pa)    ? json_is_true(pa)
                 : json_is_boolean(sam) ? json_is_true(sam)
                                        : true;
    if (mount) {
        const char *vol = NULL;
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(spec, "volumes"), i, v)
        {
            const char *n = str(v, "name");
            if (n && !strncmp(n, "kube-api-access-", 16)) {
                vol = n;
                break;
            }
        }
        char gen[32];
        bool have_volume = vol != NULL;
        if (!vol) {
            static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
            unsigned char rnd[5];
            vk_rand_bytes(rnd, sizeof rnd);
            int l = snprintf(gen, sizeof gen, "kube-api-access-");
            for (int k = 0; k < 5; k++)
                gen[l + k] = alphabet[rnd[k] % 27];
            gen[l + 5] = 0;
            vol = gen;
        }
        char volname[64];
        snprintf(volname, sizeof volname, "%s", vol);
        bool needed = false;
        static const char *const lists[] = {"initContainers", "containers"};
        for (int l = 0; l < 2; l++) {
            json_t *ct;
            json_array_foreach(json_object_get(spec, lists[l]), i, ct)
            {
                if (!json_is_object(ct))
                    continue;
                bool has = false;
                size_t j;
                json_t *m;
                json_array_foreach(json_object_get(ct, "volumeMounts"), j, m)
                {
                    const char *mp = str(m, "mountPath");
                    has |= mp && !strcmp(mp, token_mount_path);
                }
                if (has)
                    continue;
                json_t *mounts = json_object_get(ct, "volumeMounts");
                if (!json_is_array(mounts)) {
                    mounts = json_array();
                    json_object_set_new(ct, "volumeMounts", mounts);
                }
                json_array_append_new(mounts,
                                      json_pack("{s:s, s:b, s:s}", "name", volname, "readOnly", 1,
                                                "mountPath", token_mount_path));
                needed = true;
            }
        }
        if (!have_volume && needed) {
            json_t *vols = json_object_get(spec, "volumes");
            if (!json_is_array(vols)) {
                vols = json_array();
                json_object_set_new(spec, "volumes", vols);
            }
            json_array_append_new(
                vols,
                json_pack("{s:s, s:{s:[{s:{s:i, s:s}}, {s:{s:s, s:[{s:s, s:s}]}}, "
                          "{s:{s:[{s:s, s:{s:s, s:s}}]}}], s:i}}",
                          "name", volname, "projected", "sources", "serviceAccountToken",
                          "expirationSeconds", 3607, "path", "token", "configMap", "name",
                          "kube-root-ca.crt", "items", "key", "ca.crt", "path", "ca.crt",
                          "downwardAPI", "items", "path", "namespace", "fieldRef", "apiVersion",
                          "v1", "fieldPath", "metadata.namespace", "defaultMode", 420));
        }
    }
    if (!json_array_size(json_object_get(spec, "imagePullSecrets"))) {
        json_t *ips = json_array();
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(sa, "imagePullSecrets"), i, v) json_array_append_new(
            ips, json_pack("{s:s}", "name", str(v, "name") ? str(v, "name") : ""));
        if (json_array_size(ips))
            json_object_set_new(spec, "imagePullSecrets", ips);
        else
            json_decref(ips);
    }
    json_decref(sa);
    return NULL;
}

/* DefaultTolerationSeconds: 300 s on the not-ready and unreachable NoExecute taints. */
static void admit_tolerations(json_t *spec)
{
    bool not_ready = false, unreachable = false;
    size_t i;
    json_t *t;
    json_t *tol = json_object_get(spec, "tolerations");
    json_array_foreach(tol, i, t)
    {
        const char *k = str(t, "key"), *e = str(t, "effect");
        bool eff = empty(e) || !strcmp(e, "NoExecute");
        if (eff && (empty(k) || !strcmp(k, "node.kubernetes.io/not-ready")))
            not_ready = true;
        if (eff && (empty(k) || !strcmp(k, "node.kubernetes.io/unreachable")))
            unreachable = true;
    }
    if (not_ready && unreachable)
        return;
    if (!json_is_array(tol)) {
        tol = json_array();
        json_object_set_new(spec, "tolerations", tol);
    }
    static const char *const keys[] = {"node.kubernetes.io/not-ready",
                                       "node.kubernetes.io/unreachable"};
    for (int k = 0; k < 2; k++)
        if (!(k ? unreachable : not_ready))
            json_array_append_new(tol, json_pack("{s:s, s:s, s:s, s:i}", "key", keys[k], "operator",
                                                 "Exists", "effect", "NoExecute",
                                                 "tolerationSeconds", 300));
}

typedef struct global_default {
    json_t *found;
} global_default;

static int find_global_default(void *ud, const vk_kv *kv)
{
    global_default *g = ud;
    json_t *o = json_loadb(kv->val, kv->val_len, 0, NULL);
    /* kube takes the one with the highest value when several claim it. */
    if (json_is_true(json_object_get(o, "globalDefault")) &&
        (!g->found || json_integer_value(json_object_get(o, "value")) >
                          json_integer_value(json_object_get(g->found, "value")))) {
        json_decref(g->found);
        g->found = o;
    } else {
        json_decref(o);
    }
    return 0;
}

/* The PriorityClass a pod gets without a name: the global default, or NULL. */
static json_t *default_priority_class(vk_server *s)
{
    const vk_resource *r = vk_resource_find("scheduling.k8s.io", "v1", "priorityclasses");
    char prefix[VK_KEY_MAX];
    int plen =
        r && s && s->store ? vk_key_prefix(prefix, sizeof prefix, vk_resource_id(r), "") : -1;
    global_default g = {NULL};
    vk_list_opts o = {.prefix = prefix, .prefix_len = plen > 0 ? (size_t)plen : 0};
    vk_list_info info;
    if (plen > 0)
        vk_store_list(s->store, &o, find_global_default, &g, &info);
    return g.found;
}

/* kube's Priority admission: the pod's PriorityClass (by name, else the global
 * default) gives spec.priority and spec.preemptionPolicy, which the pod may not set
 * otherwise. */
static json_t *admit_priority(vk_server *s, json_t *obj)
{
    json_t *spec = json_object_get(obj, "spec");
    const char *pc = str(spec, "priorityClassName");
    json_t *cls = NULL;
    if (empty(pc)) {
        cls = default_priority_class(s);
        if (cls)
            json_object_set(spec, "priorityClassName",
                            json_object_get(json_object_get(cls, "metadata"), "name"));
    } else if (!(cls = read_object(s, "scheduling.k8s.io", "priorityclasses", NULL, pc))) {
        char why[400];
        snprintf(why, sizeof why, "no PriorityClass with name %s was found", pc);
        return forbidden(obj, why);
    }
    json_int_t value = cls ? json_integer_value(json_object_get(cls, "value")) : 0;
    const char *policy = cls ? str(cls, "preemptionPolicy") : NULL;
    if (empty(policy))
        policy = "PreemptLowerPriority";
    char computed[64];
    snprintf(computed, sizeof computed, "%s", policy);
    json_decref(cls);
    json_t *p = json_object_get(spec, "priority");
    if (json_is_integer(p) && json_integer_value(p) != value) {
        char why[400];
        snprintf(why, sizeof why,
                 "the integer value of priority (%lld) must not be provided in pod spec; priority "
                 "admission controller computed %lld from the given PriorityClass name",
                 (long long)json_integer_value(p), (long long)value);
        return forbidden(obj, why);
    }
    json_object_set_new(spec, "priority", json_integer(value));
    const char *pp = str(spec, "preemptionPolicy");
    if (pp && strcmp(pp, computed)) {
        char why[400];
        snprintf(why, sizeof why,
                 "the string value of PreemptionPolicy (%s) must not be provided in pod spec; "
                 "priority admission controller computed %s from the given PriorityClass name",
                 pp, computed);
        return forbidden(obj, why);
    }
    json_object_set_new(spec, "preemptionPolicy", json_string(computed));
    return NULL;
}

/* ---- QoS class (helper/qos.ComputePodQOS) ---- */

static int qos_of_resource(const json_t *res, const char *name)
{
    /* 0 BestEffort, 1 Burstable, 2 Guaranteed */
    vk_qty r = {0}, l = {0};
    json_t *rv = json_object_get(json_object_get(res, "requests"), name);
    json_t *lv = json_object_get(json_object_get(res, "limits"), name);
    if (rv)
        vk_qty_of(rv, &r);
    if (lv)
        vk_qty_of(lv, &l);
    if (r.milli != l.milli)
        return 1;
    return r.milli ? 2 : 0;
}

static int qos_of_requirements(const json_t *res)
{
    if (!json_object_size(json_object_get(res, "requests")) &&
        !json_object_size(json_object_get(res, "limits")))
        return 0;
    int a = qos_of_resource(res, "cpu"), b = qos_of_resource(res, "memory");
    if (a == 1 || b == 1 || a != b)
        return 1;
    return a;
}

static const char *qos_class(const json_t *spec)
{
    static const char *const names[] = {"BestEffort", "Burstable", "Guaranteed"};
    json_t *pr = json_object_get(spec, "resources");
    if (json_object_size(json_object_get(pr, "requests")) ||
        json_object_size(json_object_get(pr, "limits")))
        return names[qos_of_requirements(pr)];
    int pod = -1;
    static const char *const lists[] = {"initContainers", "containers"};
    for (int l = 0; l < 2; l++) {
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(spec, lists[l]), i, c)
        {
            int q = qos_of_requirements(json_object_get(c, "resources"));
            if (q == 1)
                return names[1];
            if (pod < 0)
                pod = q;
            else if (pod != q)
                return names[1];
        }
    }
    return names[pod < 0 ? 0 : pod];
}

/* A quantity anywhere in the containers' resources that does not parse: kube refuses
 * the body when decoding it (400). */
static json_t *bad_quantity(const json_t *obj)
{
    json_t *spec = json_object_get(obj, "spec");
    static const char *const lists[] = {"initContainers", "containers", "ephemeralContainers"};
    for (int l = 0; l < 3; l++) {
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(spec, lists[l]), i, c)
        {
            json_t *res = json_object_get(c, "resources");
            static const char *const kinds[] = {"limits", "requests"};
            for (int k = 0; k < 2; k++) {
                const char *n;
                json_t *v;
                vk_qty q;
                json_object_foreach(json_object_get(res, kinds[k]), n, v) if (!vk_qty_of(v, &q))
                {
                    char msg[512];
                    snprintf(msg, sizeof msg,
                             "Pod in version \"v1\" cannot be handled as a Pod: %s", qty_regex_msg);
                    return vk_status_new(400, "BadRequest", msg, NULL);
                }
            }
        }
    }
    return NULL;
}

/* ---- strategy ---- */

static void prepare_create(vk_ctx *c, json_t *obj)
{
    set_refusal(c, bad_quantity(obj));
    default_pod(obj);
    json_t *spec = json_object_get(obj, "spec");
    pod_state *ps = c->state;
    if (!ps || !ps->refusal)
        set_refusal(c, admit_service_account(c, obj));
    admit_tolerations(spec);
    if (!ps || !ps->refusal)
        set_refusal(c, admit_priority(c->s, obj));
    json_object_set_new(json_object_get(obj, "metadata"), "generation", json_integer(1));
    json_object_set_new(obj, "status",
                        json_pack("{s:s, s:s}", "phase", "Pending", "qosClass", qos_class(spec)));
    go_shape_pod(obj);
}

static void prepare_update(vk_ctx *c, json_t *obj, const json_t *old)
{
    set_refusal(c, bad_quantity(obj));
    default_pod(obj);
    json_t *spec = json_object_get(obj, "spec");
    json_t *ospec = json_object_get(old, "spec");
    admit_tolerations(spec);
    static const char *const keep[] = {"priority", "preemptionPolicy"};
    for (int i = 0; i < 2; i++)
        if (!json_object_get(spec, keep[i]) && json_object_get(ospec, keep[i]))
            json_object_set(spec, keep[i], json_object_get(ospec, keep[i]));
    json_t *st = json_object_get(old, "status");
    if (st)
        json_object_set(obj, "status", st);
    else
        json_object_del(obj, "status");
    go_shape_pod(obj);
    json_t *meta = json_object_get(obj, "metadata");
    if (!json_equal(json_object_get(obj, "spec"), ospec))
        json_object_set_new(
            meta, "generation",
            json_integer(json_integer_value(json_object_get(meta, "generation")) + 1));
}

static json_t *admit(vk_ctx *c, const json_t *obj)
{
    (void)obj;
    pod_state *ps = c->state;
    if (!ps || !ps->refusal)
        return NULL;
    json_t *st = ps->refusal;
    ps->refusal = NULL;
    return st;
}

/* /status: the spec and ownerReferences stay; the QoS class is kept when dropped. */
static void keep_for_status(json_t *obj, const json_t *old)
{
    vk_keep_all_but_status(obj, old);
    json_t *meta = json_object_get(obj, "metadata");
    json_t *ometa = json_object_get(old, "metadata");
    json_t * or = json_object_get(ometa, "ownerReferences");
    if (or)
        json_object_set(meta, "ownerReferences", or);
    else
        json_object_del(meta, "ownerReferences");
    json_t *st = json_object_get(obj, "status");
    if (!json_is_object(st)) {
        st = json_object();
        json_object_set_new(obj, "status", st);
    }
    json_t *oq = json_object_get(json_object_get(old, "status"), "qosClass");
    if (empty(str(st, "qosClass")) && oq)
        json_object_set(st, "qosClass", oq);
    const char *ip = str(st, "podIP");
    json_t *ips = json_object_get(st, "podIPs");
    const char *ip0 = str(json_array_get(ips, 0), "ip");
    if (!empty(ip) && (!ip0 || strcmp(ip0, ip)))
        json_object_set_new(st, "podIPs", json_pack("[{s:s}]", "ip", ip));
    else if (empty(ip) && !empty(ip0))
        json_object_set_new(st, "podIP", json_string(ip0));
    go_shape(obj, "status", "k8s.io.api.core.v1.PodStatus");
}

/* ---- validation ---- */

static void invalid_str(vk_errlist *e, const char *field, const char *v, const char *detail)
{
    json_t *j = json_string(v ? v : "");
    vk_err_invalid(e, field, j, detail);
    json_decref(j);
}

static void not_supported(vk_errlist *e, const char *field, const char *v,
                          const char *const *values)
{
    vk_buf b = {0};
    vk_buf_printf(&b, "Unsupported value: \"%s\": supported values: ", v);
    for (int i = 0; values[i]; i++)
        vk_buf_printf(&b, "%s\"%s\"", i ? ", " : "", values[i]);
    vk_errlist_add(e, "FieldValueNotSupported", field, b.data);
    vk_buf_free(&b);
}

static void forbid(vk_errlist *e, const char *field, const char *detail)
{
    char msg[1024];
    snprintf(msg, sizeof msg, "Forbidden: %s", detail);
    vk_errlist_add(e, "FieldValueForbidden", field, msg);
}

static void duplicate(vk_errlist *e, const char *field, const char *v)
{
    char msg[512];
    snprintf(msg, sizeof msg, "Duplicate value: \"%s\"", v);
    vk_errlist_add(e, "FieldValueDuplicate", field, msg);
}

static void not_found(vk_errlist *e, const char *field, const char *v)
{
    char msg[512];
    snprintf(msg, sizeof msg, "Not found: \"%s\"", v);
    vk_errlist_add(e, "FieldValueNotFound", field, msg);
}

static void dns_label(vk_errlist *e, const char *field, const char *v)
{
    if (strlen(v) > 63)
        invalid_str(e, field, v, "must be no more than 63 characters");
    const char *why = vk_name_invalid(VK_NAME_LABEL, v);
    if (why && strlen(v) <= 63)
        invalid_str(e, field, v, why);
    else if (strlen(v) > 63) {
        /* the regex message too, when the characters are wrong as well */
        char tmp[64];
        snprintf(tmp, sizeof tmp, "%.63s", v);
        if ((why = vk_name_invalid(VK_NAME_LABEL, tmp)))
            invalid_str(e, field, v, why);
    }
}

static const char *const label_value_msg =
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
static const char *const label_name_msg =
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and "
    "end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex "
    "used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

static bool label_value_ok(const char *v)
{
    size_t n = strlen(v);
    if (!n)
        return true;
    if (n > 63 || !isalnum((unsigned char)v[0]) || !isalnum((unsigned char)v[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)v[i]) && !strchr("-_.", v[i]))
            return false;
    return true;
}

static void validate_port_name(vk_errlist *e, const char *f, const char *n)
{
    size_t l = strlen(n);
    if (l > 15)
        invalid_str(e, f, n, "must be no more than 15 characters");
    bool charset = l > 0, letter = false;
    for (size_t i = 0; i < l; i++) {
        charset &= islower((unsigned char)n[i]) || isdigit((unsigned char)n[i]) || n[i] == '-';
        letter |= islower((unsigned char)n[i]) != 0;
    }
    if (!charset)
        invalid_str(e, f, n,
                    "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
    if (!letter)
        invalid_str(e, f, n, "must contain at least one letter (a-z)");
    if (strstr(n, "--"))
        invalid_str(e, f, n, "must not contain consecutive hyphens");
    if (l && (n[0] == '-' || n[l - 1] == '-'))
        invalid_str(e, f, n, "must not begin or end with a hyphen");
}

static bool port_ok(json_int_t p)
{
    return p >= 1 && p <= 65535;
}

static void validate_resources(vk_errlist *e, const char *path, const json_t *res)
{
    char f[256];
    json_t *lim = json_object_get(res, "limits"), *req = json_object_get(res, "requests");
    static const char *const kinds[] = {"limits", "requests"};
    for (int k = 0; k < 2; k++) {
        const char *n;
        json_t *v;
        json_object_foreach(k ? req : lim, n, v)
        {
            snprintf(f, sizeof f, "%s.%s[%s]", path, kinds[k], n);
            bool standard = !strcmp(n, "cpu") || !strcmp(n, "memory") ||
                            !strcmp(n, "ephemeral-storage") || !strncmp(n, "hugepages-", 10);
            if (!standard && !strchr(n, '/'))
                invalid_str(e, f, n, "must be a standard resource type or fully qualified");
            else if (!standard && !vk_is_qualified_name(n))
                invalid_str(e, f, n, label_name_msg);
            vk_qty q;
            if (!vk_qty_of(v, &q))
                continue;
            char b[64];
            vk_qty_format(&q, b, sizeof b);
            if (q.milli < 0)
                invalid_str(e, f, b, "must be greater than or equal to 0");
            bool native = !strchr(n, '/') || strstr(n, "kubernetes.io/");
            bool integer = !native || !strncmp(n, "hugepages-", 10);
            if (integer && strcmp(n, "cpu") && q.milli % 1000 && !native)
                invalid_str(e, f, b, "must be an integer");
            if (!k)
                continue;
            json_t *lv = json_object_get(lim, n);
            bool overcommit = native && strncmp(n, "hugepages-", 10);
            snprintf(f, sizeof f, "%s.requests", path);
            vk_qty l;
            if (lv && vk_qty_of(lv, &l)) {
                char lb[64], msg[256];
                vk_qty_format(&l, lb, sizeof lb);
                if (l.milli != q.milli && !overcommit) {
                    snprintf(msg, sizeof msg, "must be equal to %s limit of %s", n, lb);
                    invalid_str(e, f, b, msg);
                } else if (q.milli > l.milli) {
                    snprintf(msg, sizeof msg, "must be less than or equal to %s limit of %s", n,
                             lb);
                    invalid_str(e, f, b, msg);
                }
            } else if (!lv && !overcommit) {
                snprintf(f, sizeof f, "%s.limits", path);
                vk_err_required(e, f, "Limit must be set for non overcommitable resources");
            }
        }
    }
}

static void validate_probe(vk_errlist *e, const char *path, const json_t *p, bool must_be_one)
{
    if (!json_is_object(p))
        return;
    static const char *const handlers[] = {"exec", "httpGet", "tcpSocket", "grpc"};
    int n = 0;
    char f[256];
    for (int i = 0; i < 4; i++)
        if (json_object_get(p, handlers[i])) {
            if (n++) {
                snprintf(f, sizeof f, "%s.%s", path, handlers[i]);
                forbid(e, f, "may not specify more than 1 handler type");
            }
        }
    if (!n)
        vk_err_required(e, path, "must specify a handler type");
    json_t *st = json_object_get(p, "successThreshold");
    if (must_be_one && json_integer_value(st) != 1) {
        snprintf(f, sizeof f, "%s.successThreshold", path);
        vk_err_invalid(e, f, st, "must be 1");
    }
}

/* validateContainerCommon + the per-list checks. names: every container name seen so far. */
static void validate_container(vk_errlist *e, const char *path, const json_t *c,
                               const json_t *volumes, bool regular)
{
    char f[256];
    const char *name = str(c, "name");
    snprintf(f, sizeof f, "%s.name", path);
    if (empty(name))
        vk_err_required(e, f, "");
    else
        dns_label(e, f, name);
    const char *image = str(c, "image");
    snprintf(f, sizeof f, "%s.image", path);
    if (empty(image))
        vk_err_required(e, f, "");
    const char *tmp = str(c, "terminationMessagePolicy");
    snprintf(f, sizeof f, "%s.terminationMessagePolicy", path);
    if (empty(tmp))
        vk_err_required(e, f, "");
    else if (strcmp(tmp, "File") && strcmp(tmp, "FallbackToLogsOnError"))
        not_supported(e, f, tmp, (const char *const[]){"File", "FallbackToLogsOnError", NULL});
    size_t i;
    json_t *v;
    json_t *pnames = json_object();
    json_array_foreach(json_object_get(c, "ports"), i, v)
    {
        const char *pn = str(v, "name");
        if (!empty(pn)) {
            snprintf(f, sizeof f, "%s.ports[%zu].name", path, i);
            size_t before = json_array_size(e->causes);
            validate_port_name(e, f, pn);
            if (json_array_size(e->causes) == before) {
                if (json_object_get(pnames, pn))
                    duplicate(e, f, pn);
                json_object_set_new(pnames, pn, json_true());
            }
        }
        json_t *cp = json_object_get(v, "containerPort");
        snprintf(f, sizeof f, "%s.ports[%zu].containerPort", path, i);
        if (!json_integer_value(cp))
            vk_err_required(e, f, "");
        else if (!port_ok(json_integer_value(cp)))
            vk_err_invalid(e, f, cp, "must be between 1 and 65535, inclusive");
        json_t *hp = json_object_get(v, "hostPort");
        if (json_integer_value(hp) && !port_ok(json_integer_value(hp))) {
            snprintf(f, sizeof f, "%s.ports[%zu].hostPort", path, i);
            vk_err_invalid(e, f, hp, "must be between 1 and 65535, inclusive");
        }
        const char *proto = str(v, "protocol");
        snprintf(f, sizeof f, "%s.ports[%zu].protocol", path, i);
        if (empty(proto))
            vk_err_required(e, f, "");
        else if (strcmp(proto, "TCP") && strcmp(proto, "UDP") && strcmp(proto, "SCTP"))
            not_supported(e, f, proto, (const char *const[]){"SCTP", "TCP", "UDP", NULL});
    }
    json_decref(pnames);
    json_array_foreach(json_object_get(c, "env"), i, v)
    {
        const char *en = str(v, "name");
        snprintf(f, sizeof f, "%s.env[%zu].name", path, i);
        if (empty(en)) {
            vk_err_required(e, f, "");
        } else {
            for (const char *p = en; *p; p++)
                if ((unsigned char)*p > 0x7e || (unsigned char)*p < 0x20 || *p == '=') {
                    invalid_str(e, f, en,
                                "a valid environment variable name must consist only of "
                                "printable ASCII characters other than '='");
                    break;
                }
        }
        json_t *vf = json_object_get(v, "valueFrom");
        if (json_is_object(vf)) {
            int n = 0;
            static const char *const srcs[] = {"fieldRef", "resourceFieldRef", "configMapKeyRef",
                                               "secretKeyRef", "fileKeyRef"};
            for (int k = 0; k < 5; k++)
                n += json_object_get(vf, srcs[k]) != NULL;
            snprintf(f, sizeof f, "%s.env[%zu].valueFrom", path, i);
            if (!n)
                invalid_str(e, f, "",
                            "must specify one of: `fieldRef`, `resourceFieldRef`, "
                            "`configMapKeyRef` or `secretKeyRef`");
            else if (n > 1)
                invalid_str(e, f, "", "may not have more than one field specified at a time");
            else if (!empty(str(v, "value")))
                invalid_str(e, f, "", "may not be specified when `value` is not empty");
        }
    }
    json_t *mps = json_object();
    json_array_foreach(json_object_get(c, "volumeMounts"), i, v)
    {
        const char *mn = str(v, "name"), *mp = str(v, "mountPath");
        snprintf(f, sizeof f, "%s.volumeMounts[%zu].name", path, i);
        if (empty(mn))
            vk_err_required(e, f, "");
        if (!json_object_get(volumes, mn ? mn : ""))
            not_found(e, f, mn ? mn : "");
        snprintf(f, sizeof f, "%s.volumeMounts[%zu].mountPath", path, i);
        if (empty(mp))
            vk_err_required(e, f, "");
        if (json_object_get(mps, mp ? mp : ""))
            invalid_str(e, f, mp, "must be unique");
        json_object_set_new(mps, mp ? mp : "", json_true());
    }
    json_decref(mps);
    const char *pp = str(c, "imagePullPolicy");
    snprintf(f, sizeof f, "%s.imagePullPolicy", path);
    if (empty(pp))
        vk_err_required(e, f, "");
    else if (strcmp(pp, "Always") && strcmp(pp, "IfNotPresent") && strcmp(pp, "Never"))
        not_supported(e, f, pp, (const char *const[]){"Always", "IfNotPresent", "Never", NULL});
    snprintf(f, sizeof f, "%s.resources", path);
    validate_resources(e, f, json_object_get(c, "resources"));
    if (regular) {
        snprintf(f, sizeof f, "%s.livenessProbe", path);
        validate_probe(e, f, json_object_get(c, "livenessProbe"), true);
        snprintf(f, sizeof f, "%s.readinessProbe", path);
        validate_probe(e, f, json_object_get(c, "readinessProbe"), false);
        snprintf(f, sizeof f, "%s.startupProbe", path);
        validate_probe(e, f, json_object_get(c, "startupProbe"), true);
    }
}

static void validate_volume_source(vk_errlist *e, const char *path, const json_t *v)
{
    char f[256];
    int n = 0;
    for (size_t i = 0; i < NSOURCES; i++) {
        json_t *s = json_object_get(v, vol_sources[i].json);
        if (!s || json_is_null(s))
            continue;
        if (n++) {
            snprintf(f, sizeof f, "%s.%s", path, vol_sources[i].err);
            forbid(e, f, "may not specify more than 1 volume type");
            continue;
        }
        const char *j = vol_sources[i].json;
        const char *req = !strcmp(j, "secret")                  ? "secretName"
                          : !strcmp(j, "configMap")             ? "name"
                          : !strcmp(j, "hostPath")              ? "path"
                          : !strcmp(j, "persistentVolumeClaim") ? "claimName"
                          : !strcmp(j, "nfs")                   ? "server"
                                                                : NULL;
        if (req && empty(str(s, req))) {
            snprintf(f, sizeof f, "%s.%s.%s", path, j, req);
            vk_err_required(e, f, "");
        }
        if (!strcmp(j, "nfs") && empty(str(s, "path"))) {
            snprintf(f, sizeof f, "%s.nfs.path", path);
            vk_err_required(e, f, "");
        }
    }
    if (!n)
        vk_err_required(e, path, "must specify a volume type");
}

static void validate_tolerations(vk_errlist *e, const json_t *tols)
{
    size_t i;
    json_t *t;
    char f[128];
    json_array_foreach(tols, i, t)
    {
        const char *k = str(t, "key"), *op = str(t, "operator"), *val = str(t, "value"),
                   *eff = str(t, "effect");
        if (!empty(k) && !vk_is_qualified_name(k)) {
            snprintf(f, sizeof f, "spec.tolerations[%zu].key", i);
            invalid_str(e, f, k, label_name_msg);
        }
        snprintf(f, sizeof f, "spec.tolerations[%zu].operator", i);
        if (empty(k) && !(op && !strcmp(op, "Exists")))
            invalid_str(e, f, op ? op : "",
                        "operator must be Exists when `key` is empty, which means \"match all "
                        "values and all keys\"");
        if (json_object_get(t, "tolerationSeconds") &&
            !json_is_null(json_object_get(t, "tolerationSeconds")) &&
            !(eff && !strcmp(eff, "NoExecute"))) {
            snprintf(f, sizeof f, "spec.tolerations[%zu].effect", i);
            invalid_str(e, f, eff ? eff : "",
                        "effect must be 'NoExecute' when `tolerationSeconds` is set");
            snprintf(f, sizeof f, "spec.tolerations[%zu].operator", i);
        }
        if (empty(op) || !strcmp(op, "Equal")) {
            if (val && !label_value_ok(val))
                invalid_str(e, f, val, label_value_msg);
        } else if (!strcmp(op, "Exists")) {
            if (!empty(val))
                invalid_str(e, f, val, "value must be empty when `operator` is 'Exists'");
        } else {
            bool cmp = !strcmp(op, "Lt") || !strcmp(op, "Gt");
            if (cmp)
                not_supported(e, f, op, (const char *const[]){"Equal", "Exists", "Lt", "Gt", NULL});
            else
                not_supported(e, f, op, (const char *const[]){"Equal", "Exists", NULL});
        }
        if (!empty(eff) && strcmp(eff, "NoSchedule") && strcmp(eff, "PreferNoSchedule") &&
            strcmp(eff, "NoExecute")) {
            snprintf(f, sizeof f, "spec.tolerations[%zu].effect", i);
            not_supported(
                e, f, eff,
                (const char *const[]){"NoSchedule", "PreferNoSchedule", "NoExecute", NULL});
        }
    }
}

/* ValidatePodSpec (the parts implemented) of obj's spec. */
static void validate_spec(vk_errlist *e, const json_t *obj)
{
    json_t *spec = json_object_get(obj, "spec");
    char f[256];
    if (!json_object_get(spec, "terminationGracePeriodSeconds"))
        vk_err_required(e, "spec.terminationGracePeriodSeconds", "");
    /* volumes */
    json_t *vols = json_object(); /* valid volume names */
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(spec, "volumes"), i, v)
    {
        size_t before = json_array_size(e->causes);
        snprintf(f, sizeof f, "spec.volumes[%zu]", i);
        validate_volume_source(e, f, v);
        const char *n = str(v, "name");
        snprintf(f, sizeof f, "spec.volumes[%zu].name", i);
        if (empty(n))
            vk_err_required(e, f, "");
        else
            dns_label(e, f, n);
        if (json_object_get(vols, n ? n : ""))
            duplicate(e, f, n ? n : "");
        if (json_array_size(e->causes) == before)
            json_object_set_new(vols, n ? n : "", json_true());
    }
    /* containers */
    json_t *cs = json_object_get(spec, "containers");
    json_t *names = json_object();
    if (!json_array_size(cs))
        vk_err_required(e, "spec.containers", "");
    json_array_foreach(cs, i, v)
    {
        snprintf(f, sizeof f, "spec.containers[%zu]", i);
        validate_container(e, f, v, vols, true);
        const char *n = str(v, "name");
        snprintf(f, sizeof f, "spec.containers[%zu].name", i);
        if (json_object_get(names, n ? n : ""))
            duplicate(e, f, n ? n : "");
        else
            json_object_set_new(names, n ? n : "", json_true());
    }
    json_t *inames = json_object();
    json_array_foreach(json_object_get(spec, "initContainers"), i, v)
    {
        snprintf(f, sizeof f, "spec.initContainers[%zu]", i);
        validate_container(e, f, v, vols, false);
        const char *n = str(v, "name");
        snprintf(f, sizeof f, "spec.initContainers[%zu].name", i);
        if (json_object_get(names, n ? n : "") || json_object_get(inames, n ? n : ""))
            duplicate(e, f, n ? n : "");
        json_object_set_new(inames, n ? n : "", json_true());
        bool restartable = !empty(str(v, "restartPolicy"));
        static const char *const probes[] = {"lifecycle", "livenessProbe", "readinessProbe",
                                             "startupProbe"};
        for (int k = 0; !restartable && k < 4; k++)
            if (json_object_get(v, probes[k])) {
                snprintf(f, sizeof f, "spec.initContainers[%zu].%s", i, probes[k]);
                forbid(e, f, "may not be set for init containers without restartPolicy=Always");
            }
    }
    json_decref(names);
    json_decref(inames);
    json_decref(vols);
    const char *rp = str(spec, "restartPolicy");
    if (empty(rp))
        vk_err_required(e, "spec.restartPolicy", "");
    else if (strcmp(rp, "Always") && strcmp(rp, "OnFailure") && strcmp(rp, "Never"))
        not_supported(e, "spec.restartPolicy", rp,
                      (const char *const[]){"Always", "OnFailure", "Never", NULL});
    const char *dp = str(spec, "dnsPolicy");
    if (empty(dp))
        vk_err_required(e, "spec.dnsPolicy", "");
    else if (strcmp(dp, "ClusterFirstWithHostNet") && strcmp(dp, "ClusterFirst") &&
             strcmp(dp, "Default") && strcmp(dp, "None"))
        not_supported(e, "spec.dnsPolicy", dp,
                      (const char *const[]){"ClusterFirstWithHostNet", "ClusterFirst", "Default",
                                            "None", NULL});
    else if (!strcmp(dp, "None") && !json_is_object(json_object_get(spec, "dnsConfig")))
        vk_err_required(e, "spec.dnsConfig", "must provide `dnsConfig` when `dnsPolicy` is None");
    const char *k;
    json_object_foreach(json_object_get(spec, "nodeSelector"), k, v)
    {
        if (!vk_is_qualified_name(k))
            invalid_str(e, "spec.nodeSelector", k, label_name_msg);
        if (!json_is_string(v) || !label_value_ok(json_string_value(v)))
            invalid_str(e, "spec.nodeSelector", json_string_value(v), label_value_msg);
    }
    const char *san = str(spec, "serviceAccountName");
    if (!empty(san) && !vk_is_dns1123_subdomain(san))
        invalid_str(e, "spec.serviceAccountName", san, vk_name_invalid(VK_NAME_SUBDOMAIN, san));
    const char *dsa = str(spec, "serviceAccount");
    if (!(empty(dsa) && empty(san)) && (!dsa || !san || strcmp(dsa, san))) {
        char msg[400];
        snprintf(msg, sizeof msg, "must be the same as serviceAccountName: \"%s\"", san ? san : "");
        invalid_str(e, "spec.deprecatedServiceAccount", dsa ? dsa : "", msg);
    }
    const char *nn = str(spec, "nodeName");
    if (!empty(nn) && !vk_is_dns1123_subdomain(nn))
        invalid_str(e, "spec.nodeName", nn, vk_name_invalid(VK_NAME_SUBDOMAIN, nn));
    json_t *ads = json_object_get(spec, "activeDeadlineSeconds");
    if (ads && !json_is_null(ads) &&
        (json_integer_value(ads) < 1 || json_integer_value(ads) > 2147483647))
        vk_err_invalid(e, "spec.activeDeadlineSeconds", ads,
                       "must be between 1 and 2147483647, inclusive");
    static const char *const dnsnames[] = {"hostname", "subdomain"};
    for (int d = 0; d < 2; d++) {
        const char *h = str(spec, dnsnames[d]);
        snprintf(f, sizeof f, "spec.%s", dnsnames[d]);
        if (!empty(h))
            dns_label(e, f, h);
    }
    validate_tolerations(e, json_object_get(spec, "tolerations"));
    const char *pcn = str(spec, "priorityClassName");
    if (!empty(pcn) && !vk_is_dns1123_subdomain(pcn))
        invalid_str(e, "spec.priorityClassName", pcn, vk_name_invalid(VK_NAME_SUBDOMAIN, pcn));
    const char *pp = str(spec, "preemptionPolicy");
    if (pp && strcmp(pp, "PreemptLowerPriority") && strcmp(pp, "Never"))
        not_supported(e, "spec.preemptionPolicy", pp,
                      (const char *const[]){"PreemptLowerPriority", "Never", NULL});
    json_array_foreach(json_object_get(spec, "imagePullSecrets"), i, v)
    {
        if (empty(str(v, "name"))) {
            snprintf(f, sizeof f, "spec.imagePullSecrets[%zu].name", i);
            vk_err_required(e, f, "");
        }
    }
}

static void validate_create(vk_ctx *c, const json_t *obj, vk_errlist *errs)
{
    pod_state *ps = c->state;
    if (ps && ps->refusal)
        return; /* admission refuses first */
    validate_spec(errs, obj);
    json_t *spec = json_object_get(obj, "spec");
    if (json_array_size(json_object_get(spec, "ephemeralContainers")))
        forbid(errs, "spec.ephemeralContainers", "cannot be set on create");
    if (!empty(str(spec, "nodeName")) && json_array_size(json_object_get(spec, "schedulingGates")))
        forbid(errs, "spec.nodeName", "cannot be set until all schedulingGates have been cleared");
}

/* What ValidatePodUpdate lets change: images, activeDeadlineSeconds, added
 * tolerations, removed scheduling gates. */
static void validate_update(vk_ctx *c, const json_t *obj, const json_t *old, vk_errlist *errs)
{
    pod_state *ps = c->state;
    if (ps && ps->refusal)
        return;
    json_t *spec = json_object_get(obj, "spec"), *ospec = json_object_get(old, "spec");
    static const char *const lists[] = {"containers", "initContainers"};
    for (int l = 0; l < 2; l++) {
        json_t *n = json_object_get(spec, lists[l]), *o = json_object_get(ospec, lists[l]);
        char f[128];
        snprintf(f, sizeof f, "spec.%s", lists[l]);
        if (json_array_size(n) != json_array_size(o)) {
            validate_spec(errs, obj);
            forbid(errs, f, "pod updates may not add or remove containers");
            return;
        }
    }
    validate_spec(errs, obj);
    json_t *ads = json_object_get(spec, "activeDeadlineSeconds");
    json_t *oads = json_object_get(ospec, "activeDeadlineSeconds");
    if (ads && oads && json_integer_value(oads) < json_integer_value(ads))
        vk_err_invalid(errs, "spec.activeDeadlineSeconds", ads,
                       "must be less than or equal to previous value");
    else if (!ads && oads)
        vk_err_invalid(errs, "spec.activeDeadlineSeconds", json_null(),
                       "must not update from a positive integer to nil value");
    /* existing tolerations may not change except tolerationSeconds */
    size_t i, j;
    json_t *ot, *nt;
    json_array_foreach(json_object_get(ospec, "tolerations"), i, ot)
    {
        bool found = false;
        json_array_foreach(json_object_get(spec, "tolerations"), j, nt)
        {
            json_t *a = json_deep_copy(ot), *b = json_deep_copy(nt);
            json_object_del(a, "tolerationSeconds");
            json_object_del(b, "tolerationSeconds");
            found |= json_equal(a, b);
            json_decref(a);
            json_decref(b);
            if (found)
                break;
        }
        if (!found) {
            forbid(errs, "spec.tolerations",
                   "existing toleration can not be modified except its tolerationSeconds");
            break;
        }
    }
    if (json_equal(spec, ospec))
        return;
    json_t *m = json_deep_copy(spec);
    for (int l = 0; l < 2; l++) {
        json_t *mc = json_object_get(m, lists[l]);
        json_array_foreach(mc, i, nt)
        {
            json_t *oi =
                json_object_get(json_array_get(json_object_get(ospec, lists[l]), i), "image");
            if (oi)
                json_object_set(nt, "image", oi);
            else
                json_object_del(nt, "image");
        }
    }
    static const char *const free_fields[] = {"activeDeadlineSeconds", "tolerations",
                                              "schedulingGates"};
    for (int k = 0; k < 3; k++) {
        json_t *ov = json_object_get(ospec, free_fields[k]);
        if (ov)
            json_object_set(m, free_fields[k], ov);
        else
            json_object_del(m, free_fields[k]);
    }
    json_t *otgp = json_object_get(ospec, "terminationGracePeriodSeconds");
    if (json_integer_value(otgp) < 0 &&
        json_integer_value(json_object_get(m, "terminationGracePeriodSeconds")) == 1)
        json_object_set(m, "terminationGracePeriodSeconds", otgp);
    if (!json_equal(m, ospec)) {
        vk_buf b = {0};
        vk_buf_puts(&b, "pod updates may not change fields other than "
                        "`spec.containers[*].image`,`spec.initContainers[*].image`,"
                        "`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to "
                        "existing tolerations),`spec.terminationGracePeriodSeconds` (allow it "
                        "to be set to 1 if it was previously negative)\n  core.PodSpec{\n");
        /* A short diff of the changed top-level fields. */
        const char *k;
        json_t *v;
        json_t *keys = json_object();
        json_object_foreach(ospec, k, v) json_object_set_new(keys, k, json_true());
        json_object_foreach(m, k, v) json_object_set_new(keys, k, json_true());
        json_object_foreach(keys, k, v)
        {
            json_t *a = json_object_get(ospec, k), *bb = json_object_get(m, k);
            if (json_equal(a, bb) || (!a && !bb))
                continue;
            char *as = a ? json_dumps(a, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
            char *bs = bb ? json_dumps(bb, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
            vk_buf_printf(&b, "- \t%s: %.200s,\n+ \t%s: %.200s,\n", k, as ? as : "nil", k,
                          bs ? bs : "nil");
            free(as);
            free(bs);
        }
        json_decref(keys);
        vk_buf_puts(&b, "  }\n");
        forbid(errs, "spec", b.data);
        vk_buf_free(&b);
    }
    json_decref(m);
}

/* ---- graceful deletion (CheckGracefulDelete and rest.BeforeDelete) ---- */

static void set_deletion(json_t *meta, time_t at, json_int_t grace)
{
    char ts[21];
    vk_time_format(at, ts);
    json_object_set_new(meta, "deletionTimestamp", json_string(ts));
    json_object_set_new(meta, "deletionGracePeriodSeconds", json_integer(grace));
}

static bool prepare_delete(vk_ctx *c, json_t *obj, json_t **status)
{
    json_t *meta = json_object_get(obj, "metadata");
    json_t *dgps = json_object_get(meta, "deletionGracePeriodSeconds");
    if (!status) /* the last finalizer went: the object stays while its grace runs */
        return json_integer_value(dgps) > 0;
    json_t *opt = json_object_get(c->options, "gracePeriodSeconds");
    bool has_opt = json_is_integer(opt);
    json_int_t want = json_integer_value(opt);
    if (has_opt && want < 0)
        want = 1;
    time_t now = time(NULL);
    const char *dts = str(meta, "deletionTimestamp");
    if (dts) {
        if (!dgps || json_integer_value(dgps) == 0)
            return false;
        if (!has_opt || want >= json_integer_value(dgps))
            return true; /* pending: nothing changes */
        time_t t = now;
        vk_time_parse(dts, &t);
        time_t at = t - (time_t)json_integer_value(dgps) + (time_t)want;
        if (at < now) {
            at = now;
            if (want)
                want = 1;
        }
        set_deletion(meta, at, want);
        return want > 0;
    }
    json_t *spec = json_object_get(obj, "spec");
    json_int_t period =
        has_opt ? want : json_integer_value(json_object_get(spec, "terminationGracePeriodSeconds"));
    const char *phase = str(json_object_get(obj, "status"), "phase");
    if (empty(str(spec, "nodeName")))
        period = 0;
    if (phase && (!strcmp(phase, "Failed") || !strcmp(phase, "Succeeded")))
        period = 0;
    if (period < 0)
        period = 1;
    set_deletion(meta, now + period, period);
    json_int_t gen = json_integer_value(json_object_get(meta, "generation"));
    if (gen > 0)
        json_object_set_new(meta, "generation", json_integer(gen + 1));
    return period > 0;
}

/* ---- printer ---- */

static json_t *cell_ready(const json_t *o);
static json_t *cell_status(const json_t *o);
static json_t *cell_restarts(const json_t *o);

typedef struct pod_row {
    int ready, total, restarts;
    char reason[128];
    time_t last_restart;
} pod_row;

static bool restartable_init(const json_t *spec, const char *name)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(spec, "initContainers"), i, c)
    {
        const char *n = str(c, "name");
        if (n && name && !strcmp(n, name)) {
            const char *rp = str(c, "restartPolicy");
            return rp && !strcmp(rp, "Always");
        }
    }
    return false;
}

static time_t finished_at(const json_t *cs)
{
    const char *fa =
        str(json_object_get(json_object_get(cs, "lastState"), "terminated"), "finishedAt");
    time_t t = 0;
    if (fa)
        vk_time_parse(fa, &t);
    return t;
}

static bool condition_true(const json_t *st, const char *type)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(st, "conditions"), i, c)
    {
        const char *t = str(c, "type"), *s = str(c, "status");
        if (t && !strcmp(t, type))
            return s && !strcmp(s, "True");
    }
    return false;
}

static bool has_condition(const json_t *st, const char *type)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(st, "conditions"), i, c)
    {
        const char *t = str(c, "type");
        if (t && !strcmp(t, type))
            return true;
    }
    return false;
}

static void compute_row(const json_t *pod, pod_row *r)
{
    memset(r, 0, sizeof *r);
    json_t *spec = json_object_get(pod, "spec"), *st = json_object_get(pod, "status");
    r->total = (int)json_array_size(json_object_get(spec, "containers"));
    const char *phase = str(st, "phase");
    snprintf(r->reason, sizeof r->reason, "%s", phase ? phase : "");
    if (!empty(str(st, "reason")))
        snprintf(r->reason, sizeof r->reason, "%s", str(st, "reason"));
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(st, "conditions"), i, c)
    {
        const char *t = str(c, "type"), *rs = str(c, "reason");
        if (t && !strcmp(t, "PodScheduled") && rs && !strcmp(rs, "SchedulingGated"))
            snprintf(r->reason, sizeof r->reason, "SchedulingGated");
    }
    json_array_foreach(json_object_get(spec, "initContainers"), i, c)
    {
        const char *rp = str(c, "restartPolicy");
        if (rp && !strcmp(rp, "Always"))
            r->total++;
    }
    int restarts = 0, rinit_restarts = 0;
    time_t last = 0, rinit_last = 0;
    bool initializing = false;
    json_t *ics = json_object_get(st, "initContainerStatuses");
    size_t nInit = json_array_size(json_object_get(spec, "initContainers"));
    json_array_foreach(ics, i, c)
    {
        int rc = (int)json_integer_value(json_object_get(c, "restartCount"));
        restarts += rc;
        time_t fa = finished_at(c);
        if (fa > last)
            last = fa;
        bool ri = restartable_init(spec, str(c, "name"));
        if (ri) {
            rinit_restarts += rc;
            if (fa > rinit_last)
                rinit_last = fa;
        }
        json_t *state = json_object_get(c, "state");
        json_t *term = json_object_get(state, "terminated");
        json_t *wait = json_object_get(state, "waiting");
        if (term && json_integer_value(json_object_get(term, "exitCode")) == 0)
            continue;
        if (ri && json_is_true(json_object_get(c, "started"))) {
            if (json_is_true(json_object_get(c, "ready")))
                r->ready++;
            continue;
        }
        if (term) {
            const char *tr = str(term, "reason");
            if (empty(tr)) {
                json_int_t sig = json_integer_value(json_object_get(term, "signal"));
                if (sig)
                    snprintf(r->reason, sizeof r->reason, "Init:Signal:%lld", (long long)sig);
                else
                    snprintf(r->reason, sizeof r->reason, "Init:ExitCode:%lld",
                             (long long)json_integer_value(json_object_get(term, "exitCode")));
            } else {
                snprintf(r->reason, sizeof r->reason, "Init:%s", tr);
            }
        } else if (wait && !empty(str(wait, "reason")) &&
                   strcmp(str(wait, "reason"), "PodInitializing")) {
            snprintf(r->reason, sizeof r->reason, "Init:%s", str(wait, "reason"));
        } else {
            snprintf(r->reason, sizeof r->reason, "Init:%zu/%zu", i, nInit);
        }
        initializing = true;
        break;
    }
    if (!initializing || condition_true(st, "Initialized")) {
        restarts = rinit_restarts;
        last = rinit_last;
        bool running = false;
        char error_reason[128] = "";
        json_t *cs = json_object_get(st, "containerStatuses");
        for (size_t k = json_array_size(cs); k-- > 0;) {
            c = json_array_get(cs, k);
            restarts += (int)json_integer_value(json_object_get(c, "restartCount"));
            time_t fa = finished_at(c);
            if (fa > last)
                last = fa;
            json_t *state = json_object_get(c, "state");
            json_t *term = json_object_get(state, "terminated");
            json_t *wait = json_object_get(state, "waiting");
            if (wait && !empty(str(wait, "reason"))) {
                snprintf(r->reason, sizeof r->reason, "%s", str(wait, "reason"));
            } else if (term) {
                const char *tr = str(term, "reason");
                json_int_t sig = json_integer_value(json_object_get(term, "signal"));
                json_int_t code = json_integer_value(json_object_get(term, "exitCode"));
                if (!empty(tr))
                    snprintf(r->reason, sizeof r->reason, "%s", tr);
                else if (sig)
                    snprintf(r->reason, sizeof r->reason, "Signal:%lld", (long long)sig);
                else
                    snprintf(r->reason, sizeof r->reason, "ExitCode:%lld", (long long)code);
                if (code)
                    snprintf(error_reason, sizeof error_reason, "%s", r->reason);
            } else if (json_is_true(json_object_get(c, "ready")) &&
                       json_object_get(state, "running")) {
                running = true;
                r->ready++;
            }
        }
        if (!strcmp(r->reason, "Completed")) {
            if (running && has_condition(st, "Ready"))
                snprintf(r->reason, sizeof r->reason, "Running");
            else if (*error_reason)
                snprintf(r->reason, sizeof r->reason, "%s", error_reason);
            else if (running)
                snprintf(r->reason, sizeof r->reason, "NotReady");
        }
    }
    const json_t *meta = json_object_get(pod, "metadata");
    bool terminal = phase && (!strcmp(phase, "Failed") || !strcmp(phase, "Succeeded"));
    if (json_object_get(meta, "deletionTimestamp")) {
        const char *sr = str(st, "reason");
        if (sr && !strcmp(sr, "NodeLost"))
            snprintf(r->reason, sizeof r->reason, "Unknown");
        else if (!terminal)
            snprintf(r->reason, sizeof r->reason, "Terminating");
    }
    r->restarts = restarts;
    r->last_restart = last;
}

static json_t *cell_ready(const json_t *o)
{
    pod_row r;
    compute_row(o, &r);
    char b[32];
    snprintf(b, sizeof b, "%d/%d", r.ready, r.total);
    return json_string(b);
}

static json_t *cell_status(const json_t *o)
{
    pod_row r;
    compute_row(o, &r);
    return json_string(r.reason);
}

static json_t *cell_restarts(const json_t *o)
{
    pod_row r;
    compute_row(o, &r);
    char b[96];
    if (r.restarts && r.last_restart) {
        char ts[21];
        vk_time_format(r.last_restart, ts);
        json_t *tmp = json_pack("{s:{s:s}}", "metadata", "creationTimestamp", ts);
        json_t *age = vk_cell_age(tmp);
        snprintf(b, sizeof b, "%d (%s ago)", r.restarts, json_string_value(age));
        json_decref(age);
        json_decref(tmp);
    } else {
        snprintf(b, sizeof b, "%d", r.restarts);
    }
    return json_string(b);
}

static json_t *or_none(const char *s)
{
    return json_string(empty(s) ? "<none>" : s);
}

static json_t *cell_ip(const json_t *o)
{
    json_t *st = json_object_get(o, "status");
    return or_none(str(json_array_get(json_object_get(st, "podIPs"), 0), "ip"));
}

static json_t *cell_node(const json_t *o)
{
    return or_none(str(json_object_get(o, "spec"), "nodeName"));
}

static json_t *cell_nominated(const json_t *o)
{
    return or_none(str(json_object_get(o, "status"), "nominatedNodeName"));
}

static json_t *cell_gates(const json_t *o)
{
    json_t *gates = json_object_get(json_object_get(o, "spec"), "readinessGates");
    if (!json_array_size(gates))
        return json_string("<none>");
    json_t *st = json_object_get(o, "status");
    size_t i, ok = 0;
    json_t *g;
    json_array_foreach(gates, i, g)
    {
        const char *t = str(g, "conditionType");
        ok += t && condition_true(st, t);
    }
    char b[48];
    snprintf(b, sizeof b, "%zu/%zu", ok, json_array_size(gates));
    return json_string(b);
}

static const vk_strategy strategy = {
    .prepare_create = prepare_create,
    .validate_create = validate_create,
    .prepare_update = prepare_update,
    .validate_update = validate_update,
    .prepare_delete = prepare_delete,
    .admit = admit,
};

static const vk_column columns[] = {
    {"Name", "string", "name", VK_DESC_NAME, 0, vk_cell_name},
    {"Ready", "string", "", "The aggregate readiness state of this pod for accepting traffic.", 0,
     cell_ready},
    {"Status", "string", "", "The aggregate status of the containers in this pod.", 0, cell_status},
    {"Restarts", "string", "",
     "The number of times the containers in this pod have been restarted and when the last "
     "container in this pod has restarted.",
     0, cell_restarts},
    {"Age", "string", "", VK_DESC_AGE, 0, vk_cell_age},
    {"IP", "string", "", "@io.k8s.api.core.v1.PodStatus/podIP", 1, cell_ip},
    {"Node", "string", "", "@io.k8s.api.core.v1.PodSpec/nodeName", 1, cell_node},
    {"Nominated Node", "string", "", "@io.k8s.api.core.v1.PodStatus/nominatedNodeName", 1,
     cell_nominated},
    {"Readiness Gates", "string", "", "@io.k8s.api.core.v1.PodSpec/readinessGates", 1, cell_gates},
};

const vk_resource vk_res_pods = {
    .group = "",
    .version = "v1",
    .plural = "pods",
    .flags = VK_GENERATION,
    .field_labels = {"spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
                     "spec.serviceAccountName", "spec.hostNetwork", "status.phase", "status.podIP",
                     "status.podIPs", "status.nominatedNodeName"},
    .subresources = {{"status", keep_for_status}, {.name = "eviction", .create = vk_pod_evict}},
    .strategy = &strategy,
    .columns = columns,
    .ncolumns = sizeof columns / sizeof columns[0],
    .state_new = state_new,
    .state_free = state_free,
};

void vk_pod_template_defaults(json_t *tmpl)
{
    default_pod(tmpl);
}

static bool pod_level_resource(const char *name)
{
    return !strcmp(name, "cpu") || !strcmp(name, "memory") || !strncmp(name, "hugepages-", 10);
}

int vk_pod_resources(const json_t *pod, bool limits, vk_rlist *out)
{
    const char *kind = limits ? "limits" : "requests";
    json_t *spec = json_object_get(pod, "spec");
    vk_rlist sum = {0}, sidecars = {0}, init = {0};
    int rc = 0;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(spec, "containers"), i, c)
    {
        rc = rc ? rc
                : vk_rlist_add_json(&sum, json_object_get(json_object_get(c, "resources"), kind));
    }
    json_array_foreach(json_object_get(spec, "initContainers"), i, c)
    {
        const json_t *r = json_object_get(json_object_get(c, "resources"), kind);
        vk_rlist one = {0};
        const char *rp = str(c, "restartPolicy");
        if (rp && !strcmp(rp, "Always")) {
            rc = rc ? rc : vk_rlist_add_json(&sum, r);
            rc = rc ? rc : vk_rlist_add_json(&sidecars, r);
            rc = rc ? rc : vk_rlist_max(&init, &sidecars);
        } else {
            rc = rc ? rc : vk_rlist_add_json(&one, r);
            for (size_t k = 0; !rc && k < sidecars.n; k++)
                rc = vk_rlist_add(&one, sidecars.v[k].name, &sidecars.v[k].q);
            rc = rc ? rc : vk_rlist_max(&init, &one);
        }
        vk_rlist_free(&one);
    }
    rc = rc ? rc : vk_rlist_max(&sum, &init);
    const char *k;
    json_t *v;
    vk_qty q;
    json_object_foreach(json_object_get(json_object_get(spec, "resources"), kind), k, v)
    {
        if (!rc && pod_level_resource(k) && vk_qty_of(v, &q))
            rc = vk_rlist_set(&sum, k, &q);
    }
    json_object_foreach(json_object_get(spec, "overhead"), k, v)
    {
        vk_qty *cur = vk_rlist_get(&sum, k);
        if (!rc && vk_qty_of(v, &q) && (!limits || (cur && cur->milli)))
            rc = vk_rlist_add(&sum, k, &q);
    }
    for (i = 0; !rc && i < sum.n; i++)
        rc = vk_rlist_add(out, sum.v[i].name, &sum.v[i].q);
    vk_rlist_free(&sum);
    vk_rlist_free(&sidecars);
    vk_rlist_free(&init);
    return rc;
}
