/* pods/eviction (kube's EvictionREST): a pod is deleted only when the one
 * PodDisruptionBudget that selects it allows a disruption, which the eviction takes
 * (status.disruptionsAllowed - 1, the pod in status.disruptedPods) in the same
 * compare-and-swap that checks it; the pod first gets the DisruptionTarget condition.
 * Pods that are not running (pending, finished, being deleted) and pods no budget
 * selects go without one; an unready pod goes while its budget is satisfied or says
 * AlwaysAllow. Refusals are kube's 429 with the DisruptionBudget cause. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apiserver/http/status.h"
#include "apiserver/registry/common.h"
#include "apiserver/registry/internal.h"
#include "apiserver/registry/registry.h"
#include "apiserver/registry/selector.h"
#include "apiserver/resources/core/pods.h"
#include "apiserver/server.h"
#include "common/err.h"
#include "common/timefmt.h"
#include "storage/store.h"

typedef void (*evict_cb)(void *ud, int err, json_t *reply);

typedef struct eviction {
    vk_server *s;
    char ns[256], name[256], pdb[256];
    json_t *options; /* DeleteOptions */
    bool dry_run, check_ready;
    json_t *refusal; /* set by the budget's edit */
    evict_cb cb;
    void *ud;
} eviction;

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static void finish(eviction *e, int err, json_t *reply)
{
    e->cb(e->ud, err, reply);
    json_decref(e->options);
    json_decref(e->refusal);
    free(e);
}

static void fail(eviction *e, json_t *status)
{
    int code = (int)json_integer_value(json_object_get(status, "code"));
    finish(e, code == 404 ? VK_ENOTFOUND : code == 409 ? VK_ECONFLICT : VK_EINVALID, status);
}

static json_t *too_many(const char *cause)
{
    return vk_status_new(
        429, "TooManyRequests", "Cannot evict pod as it would violate the pod's disruption budget.",
        json_pack("{s:[{s:s, s:s}]}", "causes", "reason", "DisruptionBudget", "message", cause));
}

static const vk_resource *pods_res(void)
{
    return vk_resource_find("", "v1", "pods");
}

static json_t *read_pod(eviction *e)
{
    return vk_registry_get(e->s, pods_res(), e->ns, e->name);
}

/* ---- the delete, after the DisruptionTarget condition ---- */

static void deleted(void *ud, int err, const char *json, size_t len, json_t *status)
{
    eviction *e = ud;
    if (err) {
        fail(e, json_incref(status));
        return;
    }
    finish(e, 0,
           json_pack("{s:s, s:s, s:{}, s:s, s:i}", "kind", "Status", "apiVersion", "v1", "metadata",
                     "status", "Success", "code", 201));
}

static void add_condition(void *ud, json_t *pod)
{
    json_t *st = json_object_get(pod, "status");
    if (!json_is_object(st))
        json_object_set_new(pod, "status", st = json_object());
    json_t *conds = json_object_get(st, "conditions");
    if (!json_is_array(conds))
        json_object_set_new(st, "conditions", conds = json_array());
    char now[21];
    vk_time_format(time(NULL), now);
    json_t *c = json_pack("{s:s, s:s, s:n, s:s, s:s, s:s}", "type", "DisruptionTarget", "status",
                          "True", "lastProbeTime", "lastTransitionTime", now, "reason",
                          "EvictionByEvictionAPI", "message", "Eviction API: evicting");
    size_t i;
    json_t *x;
    json_array_foreach(conds, i, x)
    {
        if (!strcmp(str(x, "type"), "DisruptionTarget")) {
            if (!strcmp(str(x, "status"), "True"))
                json_object_set(c, "lastTransitionTime", json_object_get(x, "lastTransitionTime"));
            json_array_set_new(conds, i, c);
            return;
        }
    }
    json_array_append_new(conds, c);
}

static void conditioned(void *ud, int err, const char *json, size_t len, json_t *status)
{
    eviction *e = ud;
    if (err) {
        fail(e, json_incref(status));
        return;
    }
    /* A resourceVersion precondition now names the version the condition made. */
    json_t *pre = json_object_get(e->options, "preconditions");
    json_t *pod = json_object_get(pre, "resourceVersion") ? json_loadb(json, len, 0, NULL) : NULL;
    if (pod)
        json_object_set(pre, "resourceVersion",
                        json_object_get(json_object_get(pod, "metadata"), "resourceVersion"));
    json_decref(pod);
    vk_registry_delete_opts(e->s, pods_res(), e->ns, e->name, e->options, deleted, e);
}

static void delete_pod(eviction *e)
{
    if (e->dry_run) {
        deleted(e, 0, NULL, 0, NULL);
        return;
    }
    vk_registry_edit(e->s, pods_res(), e->ns, e->name, add_condition, e, conditioned, e);
}

/* ---- the budget ---- */

/* kube's checkAndDecrement, on the budget as stored now. */
static void take_disruption(void *ud, json_t *pdb)
{
    eviction *e = ud;
    json_decref(e->refusal);
    e->refusal = NULL;
    json_t *st = json_object_get(pdb, "status");
    long long allowed = json_integer_value(json_object_get(st, "disruptionsAllowed"));
    long long observed = json_integer_value(json_object_get(st, "observedGeneration"));
    long long gen =
        json_integer_value(json_object_get(json_object_get(pdb, "metadata"), "generation"));
    char cause[600];
    if (observed < gen) {
        snprintf(cause, sizeof cause,
                 "The disruption budget %s is still being processed by the server.", e->pdb);
        e->refusal = too_many(cause);
        return;
    }
    if (allowed <= 0) {
        long long cur = json_integer_value(json_object_get(st, "currentHealthy"));
        long long want = json_integer_value(json_object_get(st, "desiredHealthy"));
        if (cur <= want)
            snprintf(cause, sizeof cause,
                     "The disruption budget %s needs %lld healthy pods and has %lld currently",
                     e->pdb, want, cur);
        else
            snprintf(cause, sizeof cause,
                     "The disruption budget %s does not allow evicting pods currently", e->pdb);
        e->refusal = too_many(cause);
        return;
    }
    if (e->dry_run)
        return;
    json_object_set_new(st, "disruptionsAllowed", json_integer(allowed - 1));
    if (allowed - 1 == 0) {
        /* kube's UpdateDisruptionAllowedCondition */
        json_t *conds = json_object_get(st, "conditions");
        if (!json_is_array(conds))
            json_object_set_new(st, "conditions", conds = json_array());
        char now[21];
        vk_time_format(time(NULL), now);
        json_t *c =
            json_pack("{s:s, s:s, s:I, s:s, s:s, s:s}", "type", "DisruptionAllowed", "status",
                      "False", "observedGeneration", (json_int_t)observed, "lastTransitionTime",
                      now, "reason", "InsufficientPods", "message", "");
        size_t i;
        json_t *x;
        bool set = false;
        json_array_foreach(conds, i, x)
        {
            if (!strcmp(str(x, "type"), "DisruptionAllowed")) {
                if (!strcmp(str(x, "status"), "False"))
                    json_object_set(c, "lastTransitionTime",
                                    json_object_get(x, "lastTransitionTime"));
                json_array_set(conds, i, c);
                set = true;
            }
        }
        if (!set)
            json_array_append(conds, c);
        json_decref(c);
    }
    json_t *dp = json_object_get(st, "disruptedPods");
    if (!json_is_object(dp))
        json_object_set_new(st, "disruptedPods", dp = json_object());
    char now[21];
    vk_time_format(time(NULL), now);
    json_object_set_new(dp, e->name, json_string(now));
}

static void budget_taken(void *ud, int err, const char *json, size_t len, json_t *status)
{
    eviction *e = ud;
    if (err) {
        fail(e, json_incref(status));
    } else if (e->refusal) {
        json_t *r = e->refusal;
        e->refusal = NULL;
        fail(e, r);
    } else {
        delete_pod(e);
    }
}

typedef struct budgets {
    const json_t *labels;
    json_t *found;
} budgets;

static int match_budget(void *ud, const vk_kv *kv)
{
    budgets *b = ud;
    json_t *pdb = json_loadb(kv->val, kv->val_len, 0, NULL);
    if (pdb && vk_label_selector_matches(json_object_get(json_object_get(pdb, "spec"), "selector"),
                                         b->labels))
        json_array_append(b->found, pdb);
    json_decref(pdb);
    return 0;
}

static bool pod_ready(const json_t *pod)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(json_object_get(pod, "status"), "conditions"), i, c)
    {
        if (!strcmp(str(c, "type"), "Ready"))
            return !strcmp(str(c, "status"), "True");
    }
    return false;
}

/* Requires an unready pod not to have changed since it was read. */
static void precondition_rv(eviction *e, const json_t *pod)
{
    if (!json_is_object(e->options))
        e->options = json_object();
    json_t *pre = json_object_get(e->options, "preconditions");
    if (!json_is_object(pre))
        json_object_set_new(e->options, "preconditions", pre = json_object());
    if (!json_object_get(pre, "resourceVersion"))
        json_object_set(pre, "resourceVersion",
                        json_object_get(json_object_get(pod, "metadata"), "resourceVersion"));
}

void vk_pod_evict(vk_ctx *c, const char *ns, const char *name, json_t *body, bool dry_run,
                  evict_cb cb, void *ud)
{
    eviction *e = calloc(1, sizeof *e);
    if (!e) {
        json_decref(body);
        cb(ud, -ENOMEM, vk_status_new(500, "InternalError", "out of memory", NULL));
        return;
    }
    *e = (eviction){.s = c->s, .cb = cb, .ud = ud};
    snprintf(e->ns, sizeof e->ns, "%s", ns);
    snprintf(e->name, sizeof e->name, "%s", name);
    const char *bname = str(json_object_get(body, "metadata"), "name");
    json_t *opts = json_object_get(body, "deleteOptions");
    e->options = json_is_object(opts) ? json_deep_copy(opts) : NULL;
    json_t *dr = json_object_get(e->options, "dryRun");
    e->dry_run = dry_run || (json_is_array(dr) && json_array_size(dr));
    bool same = !strcmp(bname, name);
    json_decref(body);
    if (!same) {
        fail(e, vk_status_new(400, "BadRequest",
                              "name in URL does not match name in Eviction object", NULL));
        return;
    }
    json_t *pod = read_pod(e);
    if (!pod) {
        fail(e, vk_reg_status(pods_res(), VK_ENOTFOUND, name));
        return;
    }
    const char *phase = str(json_object_get(pod, "status"), "phase");
    json_t *meta = json_object_get(pod, "metadata");
    /* kube's canIgnorePDB */
    if (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed") || !strcmp(phase, "Pending") ||
        json_object_get(meta, "deletionTimestamp")) {
        json_decref(pod);
        delete_pod(e);
        return;
    }
    const vk_resource *pdbs = vk_resource_find("policy", "v1", "poddisruptionbudgets");
    char prefix[VK_KEY_MAX];
    int plen = vk_key_prefix(prefix, sizeof prefix, vk_resource_id(pdbs), ns);
    budgets b = {json_object_get(meta, "labels"), json_array()};
    vk_list_opts lo = {.prefix = prefix, .prefix_len = plen > 0 ? (size_t)plen : 0};
    vk_list_info info;
    if (plen > 0)
        vk_store_list(e->s->store, &lo, match_budget, &b, &info);
    size_t n = json_array_size(b.found);
    if (n > 1) {
        json_decref(b.found);
        json_decref(pod);
        fail(e, vk_status_new(500, NULL,
                              "This pod has more than one PodDisruptionBudget, which the eviction "
                              "subresource does not support.",
                              NULL));
        return;
    }
    if (n == 0) {
        json_decref(b.found);
        precondition_rv(e, pod);
        json_decref(pod);
        delete_pod(e);
        return;
    }
    json_t *pdb = json_array_get(b.found, 0);
    snprintf(e->pdb, sizeof e->pdb, "%s", str(json_object_get(pdb, "metadata"), "name"));
    if (!pod_ready(pod)) {
        json_t *st = json_object_get(pdb, "status");
        long long cur = json_integer_value(json_object_get(st, "currentHealthy"));
        long long want = json_integer_value(json_object_get(st, "desiredHealthy"));
        if (!strcmp(str(json_object_get(pdb, "spec"), "unhealthyPodEvictionPolicy"),
                    "AlwaysAllow") ||
            (cur >= want && want > 0)) {
            precondition_rv(e, pod);
            json_decref(b.found);
            json_decref(pod);
            delete_pod(e);
            return;
        }
    }
    json_decref(pod);
    json_decref(b.found);
    vk_registry_edit(e->s, pdbs, ns, e->pdb, take_disruption, e, budget_taken, e);
}
