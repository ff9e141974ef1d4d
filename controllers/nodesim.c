/* Simulated nodes: each node's Node object (status as a kubelet reports it), its Lease in
 * kube-node-lease renewed every 10 s as the kubelet's heartbeat, and the kubelet's part
 * of a pod's life: a pod bound to a simulated node becomes Running with its containers
 * ready, an IP from the node's pod CIDR and container statuses; one past its
 * activeDeadlineSeconds fails with DeadlineExceeded; one being deleted is finished at
 * once (its containers stop as soon as they are asked). Writes go through the registry
 * as the server's own. */
#include "controllers/nodesim.h"

#include <errno.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <uv.h>

#include "apiserver/registry/registry.h"
#include "apiserver/server.h"
#include "common/err.h"
#include "common/log.h"
#include "common/timefmt.h"
#include "controllers/controller.h"
#include "controllers/objects.h"
#include "storage/store.h"

enum { LEASE_RENEW_MS = 10000, LEASE_SECONDS = 40 };

struct vk_nodesim {
    vk_server *s;
    int n;
    vk_informer *pods;
    vk_controller *ctl; /* keys: "<ns>/<name>" of pods on our nodes */
    uv_timer_t heartbeat;
    json_t *assigned; /* pod IP -> "<ns>/<name>": given out, maybe not seen yet */
    int pending;      /* writes in flight */
    bool stopping;
};

void vk_nodesim_name(const vk_server *s, int i, char *out, size_t n)
{
    const char *cluster =
        s->opts.cluster_name && *s->opts.cluster_name ? s->opts.cluster_name : "vkube";
    snprintf(out, n, "%s-node-%d", cluster, i + 1);
}

/* Which simulated node name is (0-based), or -1. */
static int node_index(const vk_nodesim *sim, const char *name)
{
    char nn[128];
    for (int i = 0; name && i < sim->n; i++) {
        vk_nodesim_name(sim->s, i, nn, sizeof nn);
        if (!strcmp(nn, name))
            return i;
    }
    return -1;
}

static void now_rfc3339(char out[21])
{
    vk_time_format(time(NULL), out);
}

static void now_micro(char *out, size_t n)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    char s[21];
    vk_time_format(tv.tv_sec, s);
    snprintf(out, n, "%.19s.%06ldZ", s, (long)tv.tv_usec);
}

static void written(void *ud, int err, const char *json, size_t len, json_t *status)
{
    vk_nodesim *sim = ud;
    if (err && err != VK_EEXIST && err != VK_ENOTFOUND && !sim->stopping)
        vk_log(VK_LOG_DEBUG, "nodesim", "Write refused", "err=\"%s\"",
               json_string_value(json_object_get(status, "message")));
    sim->pending--;
}

/* ---- nodes and leases ---- */

static json_t *condition(const char *type, const char *status, const char *reason,
                         const char *message, const char *ts)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", type, "status", status,
                     "lastHeartbeatTime", ts, "lastTransitionTime", ts, "reason", reason, "message",
                     message);
}

static json_t *node_status(const vk_nodesim *sim, int i, const char *ts)
{
    char name[128], ip[32], id[40];
    vk_nodesim_name(sim->s, i, name, sizeof name);
    snprintf(ip, sizeof ip, "172.30.0.%d", 10 + i);
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)name, strlen(name), d);
    for (int k = 0; k < 16; k++)
        snprintf(id + 2 * k, 3, "%02x", d[k]);
    json_t *res = json_pack("{s:s, s:s, s:s, s:s, s:s}", "cpu", "4", "ephemeral-storage", "100Gi",
                            "hugepages-2Mi", "0", "memory", "16Gi", "pods", "110");
    json_t *conds = json_pack(
        "[o, o, o, o]",
        condition("MemoryPressure", "False", "KubeletHasSufficientMemory",
                  "kubelet has sufficient memory available", ts),
        condition("DiskPressure", "False", "KubeletHasNoDiskPressure",
                  "kubelet has no disk pressure", ts),
        condition("PIDPressure", "False", "KubeletHasSufficientPID",
                  "kubelet has sufficient PID available", ts),
        condition("Ready", "True", "KubeletReady", "kubelet is posting ready status", ts));
    return json_pack(
        "{s:O, s:o, s:o, s:[{s:s, s:s}, {s:s, s:s}], s:{s:{s:i}}, s:{s:s, s:s, s:s, s:s, s:s, s:s, "
        "s:s, s:s}}",
        "capacity", res, "allocatable", res, "conditions", conds, "addresses", "type", "InternalIP",
        "address", ip, "type", "Hostname", "address", name, "daemonEndpoints", "kubeletEndpoint",
        "Port", 10250, "nodeInfo", "machineID", id, "systemUUID", id, "bootID", id, "kernelVersion",
        "vkube-simulated", "osImage", "vkube simulated node", "containerRuntimeVersion",
        "vkube-sim://" VK_KUBE_VERSION, "kubeletVersion", VK_KUBE_VERSION, "operatingSystem",
        "linux", "architecture", "amd64");
}

static json_t *node_object(const vk_nodesim *sim, int i, const char *ts)
{
    char name[128], cidr[32];
    vk_nodesim_name(sim->s, i, name, sizeof name);
    snprintf(cidr, sizeof cidr, "10.244.%d.0/24", i + 1);
    return json_pack("{s:{s:s, s:{s:s, s:s, s:s, s:s, s:s}, s:{s:s, s:s}}, s:{s:s, s:[s]}, s:o}",
                     "metadata", "name", name, "labels", "beta.kubernetes.io/arch", "amd64",
                     "beta.kubernetes.io/os", "linux", "kubernetes.io/arch", "amd64",
                     "kubernetes.io/hostname", name, "kubernetes.io/os", "linux", "annotations",
                     "node.alpha.kubernetes.io/ttl", "0", "vkube.io/simulated", "true", "spec",
                     "podCIDR", cidr, "podCIDRs", cidr, "status", node_status(sim, i, ts));
}

/* A node that exists keeps what others changed (labels, taints, spec); its status is
 * the simulation's again. */
static void set_status(void *ud, json_t *obj)
{
    json_object_set(obj, "status", ud);
}

typedef struct edit_ctx {
    vk_nodesim *sim;
    json_t *data;
} edit_ctx;

static void edit_done(void *ud, int err, const char *json, size_t len, json_t *status)
{
    edit_ctx *e = ud;
    written(e->sim, err, json, len, status);
    json_decref(e->data);
    free(e);
}

static void edit(vk_nodesim *sim, const vk_resource *res, const char *ns, const char *name,
                 vk_edit_fn fn, json_t *data /* stolen */)
{
    edit_ctx *e = malloc(sizeof *e);
    if (!e) {
        json_decref(data);
        return;
    }
    *e = (edit_ctx){sim, data};
    sim->pending++;
    vk_registry_edit(sim->s, res, ns, name, fn, data, edit_done, e);
}

static json_t *read_object(vk_server *s, const vk_resource *res, const char *ns, const char *name)
{
    return vk_registry_get(s, res, ns, name);
}

static void register_nodes(vk_nodesim *sim)
{
    const vk_resource *nodes = vk_resource_find("", "v1", "nodes");
    char ts[21];
    now_rfc3339(ts);
    for (int i = 0; i < sim->n; i++) {
        char name[128];
        vk_nodesim_name(sim->s, i, name, sizeof name);
        json_t *cur = read_object(sim->s, nodes, "", name);
        if (!cur) {
            json_t *obj = node_object(sim, i, ts);
            sim->pending++;
            vk_registry_create(sim->s, nodes, NULL, obj, false, written, sim);
            json_decref(obj);
        } else {
            edit(sim, nodes, "", name, set_status, node_status(sim, i, ts));
            json_decref(cur);
        }
    }
}

static void renew_lease(void *ud, json_t *obj)
{
    json_object_set(json_object_get(obj, "spec"), "renewTime", ud);
}

static void heartbeat(vk_nodesim *sim)
{
    const vk_resource *leases = vk_resource_find("coordination.k8s.io", "v1", "leases");
    const vk_resource *nodes = vk_resource_find("", "v1", "nodes");
    char micro[40];
    now_micro(micro, sizeof micro);
    for (int i = 0; i < sim->n; i++) {
        char name[128];
        vk_nodesim_name(sim->s, i, name, sizeof name);
        json_t *lease = read_object(sim->s, leases, "kube-node-lease", name);
        if (lease) {
            edit(sim, leases, "kube-node-lease", name, renew_lease, json_string(micro));
            json_decref(lease);
            continue;
        }
        json_t *node = read_object(sim->s, nodes, "", name);
        const char *uid =
            json_string_value(json_object_get(json_object_get(node, "metadata"), "uid"));
        if (!uid) {
            json_decref(node);
            continue; /* the node is not stored yet: next beat */
        }
        json_t *obj = json_pack("{s:{s:s, s:[{s:s, s:s, s:s, s:s}]}, s:{s:s, s:i, s:s}}",
                                "metadata", "name", name, "ownerReferences", "apiVersion", "v1",
                                "kind", "Node", "name", name, "uid", uid, "spec", "holderIdentity",
                                name, "leaseDurationSeconds", LEASE_SECONDS, "renewTime", micro);
        sim->pending++;
        vk_registry_create(sim->s, leases, "kube-node-lease", obj, false, written, sim);
        json_decref(obj);
        json_decref(node);
    }
}

static void on_heartbeat(uv_timer_t *t)
{
    heartbeat(t->data);
}

/* ---- pods ---- */

/* The lowest free address of the node's pod CIDR (10.244.<i+1>.2 and up). */
static void pick_ip(vk_nodesim *sim, int node, const char *self, char *out, size_t n)
{
    bool used[256] = {false};
    char prefix[24], name[128];
    snprintf(prefix, sizeof prefix, "10.244.%d.", node + 1);
    vk_nodesim_name(sim->s, node, name, sizeof name);
    const char *k;
    json_t *p;
    json_object_foreach((json_t *)vk_informer_items(sim->pods), k, p)
    {
        if (!strcmp(k, self) || strcmp(vk_str(json_object_get(p, "spec"), "nodeName"), name))
            continue;
        const char *ip = vk_str(json_object_get(p, "status"), "podIP");
        if (!strncmp(ip, prefix, strlen(prefix)))
            used[atoi(ip + strlen(prefix)) & 255] = true;
    }
    const char *ip;
    json_t *owner;
    json_object_foreach(sim->assigned, ip, owner)
    {
        if (strcmp(json_string_value(owner), self) && !strncmp(ip, prefix, strlen(prefix)))
            used[atoi(ip + strlen(prefix)) & 255] = true;
    }
    int h = 2;
    while (h < 254 && used[h])
        h++;
    snprintf(out, n, "%s%d", prefix, h);
    json_object_set_new(sim->assigned, out, json_string(self));
}

static json_t *pod_condition(const char *type, const char *ts)
{
    return json_pack("{s:s, s:s, s:n, s:s}", "type", type, "status", "True", "lastProbeTime",
                     "lastTransitionTime", ts);
}

/* A container's id in the simulated runtime: hex of sha256(pod uid, name). */
static void container_id(const char *uid, const char *name, char out[80])
{
    char in[512];
    snprintf(in, sizeof in, "%s/%s", uid, name);
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)in, strlen(in), d);
    int k = snprintf(out, 80, "vkube-sim://");
    for (int i = 0; i < 32 && k < 78; i++)
        k += snprintf(out + k, 80 - (size_t)k, "%02x", d[i]);
}

static json_t *container_statuses(const json_t *list, const char *uid, const char *ts, bool init)
{
    json_t *out = json_array();
    size_t i;
    json_t *c;
    json_array_foreach(list, i, c)
    {
        char cid[80], image_id[600];
        container_id(uid, vk_str(c, "name"), cid);
        snprintf(image_id, sizeof image_id, "vkube-sim://%s", vk_str(c, "image"));
        bool sidecar = init && !strcmp(vk_str(c, "restartPolicy"), "Always");
        json_t *state =
            init && !sidecar
                ? json_pack("{s:{s:i, s:s, s:s, s:s, s:s}}", "terminated", "exitCode", 0, "reason",
                            "Completed", "startedAt", ts, "finishedAt", ts, "containerID", cid)
                : json_pack("{s:{s:s}}", "running", "startedAt", ts);
        json_array_append_new(out, json_pack("{s:s, s:o, s:{}, s:b, s:i, s:s, s:s, s:s, s:b}",
                                             "name", vk_str(c, "name"), "state", state, "lastState",
                                             "ready", !init || sidecar, "restartCount", 0, "image",
                                             vk_str(c, "image"), "imageID", image_id, "containerID",
                                             cid, "started", !init || sidecar));
    }
    return out;
}

/* Writes the status (ud) unless the pod changed under us (another uid, or deleted). */
static void set_pod_status(void *ud, json_t *obj)
{
    json_t *st = ud;
    json_t *old = json_object_get(obj, "status");
    const char *qos = vk_str(old, "qosClass");
    json_t *s = json_deep_copy(st);
    if (*qos)
        json_object_set_new(s, "qosClass", json_string(qos));
    json_t *gen = json_object_get(json_object_get(obj, "metadata"), "generation");
    if (gen)
        json_object_set(s, "observedGeneration", gen);
    json_object_set_new(obj, "status", s);
}

static json_t *running_status(vk_nodesim *sim, const json_t *pod, int node, const char *key)
{
    json_t *spec = json_object_get(pod, "spec");
    const char *uid = vk_str(json_object_get(pod, "metadata"), "uid");
    char ts[21], ip[40], host[40];
    now_rfc3339(ts);
    pick_ip(sim, node, key, ip, sizeof ip);
    snprintf(host, sizeof host, "172.30.0.%d", 10 + node);
    json_t *st =
        json_pack("{s:s, s:[o, o, o, o, o], s:s, s:[{s:s}], s:s, s:[{s:s}], s:s}", "phase",
                  "Running", "conditions", pod_condition("PodReadyToStartContainers", ts),
                  pod_condition("Initialized", ts), pod_condition("Ready", ts),
                  pod_condition("ContainersReady", ts), pod_condition("PodScheduled", ts), "hostIP",
                  host, "hostIPs", "ip", host, "podIP", ip, "podIPs", "ip", ip, "startTime", ts);
    /* The scheduled condition keeps the time it was set. */
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(json_object_get(pod, "status"), "conditions"), i, c)
    {
        if (!strcmp(vk_str(c, "type"), "PodScheduled"))
            json_array_set(json_object_get(st, "conditions"), 4, c);
    }
    if (json_array_size(json_object_get(spec, "initContainers")))
        json_object_set_new(
            st, "initContainerStatuses",
            container_statuses(json_object_get(spec, "initContainers"), uid, ts, true));
    json_object_set_new(st, "containerStatuses",
                        container_statuses(json_object_get(spec, "containers"), uid, ts, false));
    return st;
}

/* The kubelet's answer to a pod past its activeDeadlineSeconds. */
static json_t *deadline_status(const json_t *pod)
{
    json_t *st = json_deep_copy(json_object_get(pod, "status"));
    json_object_set_new(st, "phase", json_string("Failed"));
    json_object_set_new(st, "reason", json_string("DeadlineExceeded"));
    json_object_set_new(
        st, "message",
        json_string("Pod was active on the node longer than the specified deadline"));
    return st;
}

static int reconcile(void *ud, const char *key)
{
    vk_nodesim *sim = ud;
    const char *slash = strchr(key, '/');
    if (!slash || sim->stopping)
        return 0;
    char ns[256];
    snprintf(ns, sizeof ns, "%.*s", (int)(slash - key), key);
    const char *name = slash + 1;
    const json_t *pod = vk_informer_get(sim->pods, ns, name);
    if (!pod)
        return 0;
    json_t *meta = json_object_get(pod, "metadata"), *spec = json_object_get(pod, "spec");
    int node = node_index(sim, vk_str(spec, "nodeName"));
    if (node < 0)
        return 0;
    const vk_resource *pods = vk_resource_find("", "v1", "pods");
    if (json_object_get(meta, "deletionTimestamp")) {
        json_t *opts = json_pack("{s:i, s:{s:s}}", "gracePeriodSeconds", 0, "preconditions", "uid",
                                 vk_str(meta, "uid"));
        sim->pending++;
        vk_registry_delete_opts(sim->s, pods, ns, name, opts, written, sim);
        json_decref(opts);
        return 0;
    }
    const char *phase = vk_str(json_object_get(pod, "status"), "phase");
    if (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))
        return 0;
    if (strcmp(phase, "Running")) {
        edit(sim, pods, ns, name, set_pod_status, running_status(sim, pod, node, key));
        return 0;
    }
    json_t *ads = json_object_get(spec, "activeDeadlineSeconds");
    const char *start = vk_str(json_object_get(pod, "status"), "startTime");
    time_t t0;
    if (json_is_integer(ads) && *start && !vk_time_parse(start, &t0)) {
        long long left = (long long)t0 + json_integer_value(ads) - (long long)time(NULL);
        if (left > 0)
            return (int)(left * 1000 > 3600000 ? 3600000 : left * 1000);
        edit(sim, pods, ns, name, set_pod_status, deadline_status(pod));
    }
    return 0;
}

static void pod_changed(void *ud, const json_t *old, const json_t *obj)
{
    vk_nodesim *sim = ud;
    const json_t *pod = obj ? obj : old;
    json_t *meta = json_object_get(pod, "metadata");
    char key[600];
    snprintf(key, sizeof key, "%s/%s", vk_str(meta, "namespace"), vk_str(meta, "name"));
    if (!obj) {
        /* Its address is free again. */
        const char *ip;
        json_t *owner;
        void *tmp;
        json_object_foreach_safe(sim->assigned, tmp, ip, owner)
        {
            if (!strcmp(json_string_value(owner), key))
                json_object_del(sim->assigned, ip);
        }
        return;
    }
    if (node_index(sim, vk_str(json_object_get(obj, "spec"), "nodeName")) >= 0)
        vk_controller_enqueue(sim->ctl, key);
}

int vk_nodesim_start(vk_server *s, int n, vk_informer *pods, vk_nodesim **out)
{
    vk_nodesim *sim = calloc(1, sizeof *sim);
    if (!sim)
        return -ENOMEM;
    *sim = (vk_nodesim){.s = s, .n = n, .pods = pods, .assigned = json_object()};
    if (!sim->assigned || !(sim->ctl = vk_controller_new(s, "nodesim", reconcile, sim)) ||
        vk_informer_subscribe(pods, pod_changed, sim)) {
        vk_nodesim_free(sim);
        return -ENOMEM;
    }
    register_nodes(sim);
    uv_timer_init(s->loop, &sim->heartbeat);
    sim->heartbeat.data = sim;
    uv_timer_start(&sim->heartbeat, on_heartbeat, 100, LEASE_RENEW_MS);
    /* Pods already bound to our nodes (a restart) are looked at again. */
    const char *k;
    json_t *p;
    json_object_foreach((json_t *)vk_informer_items(pods), k, p) pod_changed(sim, NULL, p);
    *out = sim;
    return 0;
}

static void on_closed(uv_handle_t *h)
{
    vk_nodesim *sim = h->data;
    json_decref(sim->assigned);
    free(sim);
}

void vk_nodesim_free(vk_nodesim *sim)
{
    if (!sim)
        return;
    sim->stopping = true;
    vk_controller_free(sim->ctl);
    if (uv_is_active((uv_handle_t *)&sim->heartbeat) || sim->heartbeat.loop) {
        uv_close((uv_handle_t *)&sim->heartbeat, on_closed);
        return;
    }
    json_decref(sim->assigned);
    free(sim);
}
