/* The disruption controller (kube's pkg/controller/disruption): every
 * PodDisruptionBudget's status from the pods its selector picks in its namespace.
 *
 * expectedPods and desiredHealthy follow kube's getExpectedPodCount: an integer
 * minAvailable counts the selected pods; a percentage, or maxUnavailable, counts the
 * replicas their controllers ask for (ReplicationController, a ReplicaSet's
 * Deployment or the ReplicaSet, StatefulSet; other owners through spec.replicas).
 * currentHealthy counts Ready pods not being deleted and not recently evicted
 * (status.disruptedPods, forgotten after kube's two minutes); disruptionsAllowed is
 * the difference, never below 0; DisruptionAllowed is kube's condition. A budget is
 * looked at when it changes, when a pod of its namespace does, and when an eviction's
 * two minutes run out. */
#include "controllers/disruption.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apiserver/registry/registry.h"
#include "apiserver/registry/selector.h"
#include "apiserver/server.h"
#include "common/err.h"
#include "common/log.h"
#include "common/timefmt.h"
#include "controllers/controller.h"
#include "controllers/objects.h"
#include "storage/store.h"

enum { DELETION_TIMEOUT_S = 120 };

struct vk_disruption_ctl {
    vk_server *s;
    const vk_resource *res;
    vk_informer *pdbs, *pods;
    vk_controller *ctl;
    bool stopping;
};

static json_t *read_object(vk_server *s, const char *group, const char *plural, const char *ns,
                           const char *name)
{
    return vk_registry_get(s, vk_resource_find(group, "v1", plural), ns, name);
}

static long long replicas_of(const json_t *o)
{
    json_t *r = json_object_get(json_object_get(o, "spec"), "replicas");
    return json_is_integer(r) ? json_integer_value(r) : 1;
}

/* kube's finders: the controller a pod's scale comes from, as its uid and replicas.
 * false when there is none to be found. */
static bool controller_scale(vk_server *s, const json_t *pod, char uid[64], long long *scale)
{
    const json_t *ref = vk_controller_ref(pod);
    const char *ns = vk_str(vk_meta(pod), "namespace"), *kind = vk_str(ref, "kind");
    static const struct {
        const char *kind, *group, *plural;
    } kinds[] = {{"ReplicationController", "", "replicationcontrollers"},
                 {"ReplicaSet", "apps", "replicasets"},
                 {"StatefulSet", "apps", "statefulsets"},
                 {"Deployment", "apps", "deployments"}};
    for (size_t i = 0; ref && i < sizeof kinds / sizeof kinds[0]; i++) {
        if (strcmp(kind, kinds[i].kind))
            continue;
        json_t *o = read_object(s, kinds[i].group, kinds[i].plural, ns, vk_str(ref, "name"));
        if (!o || strcmp(vk_str(vk_meta(o), "uid"), vk_str(ref, "uid"))) {
            json_decref(o);
            return false;
        }
        /* A ReplicaSet of a Deployment: the Deployment's scale. */
        const json_t *up = !strcmp(kinds[i].kind, "ReplicaSet") ? vk_controller_ref(o) : NULL;
        json_t *d = up && !strcmp(vk_str(up, "kind"), "Deployment")
                        ? read_object(s, "apps", "deployments", ns, vk_str(up, "name"))
                        : NULL;
        const json_t *src = d ? d : o;
        snprintf(uid, 64, "%s", vk_str(vk_meta(src), "uid"));
        *scale = replicas_of(src);
        json_decref(d);
        json_decref(o);
        return true;
    }
    return false;
}

/* An int-or-percent scaled to total, rounding up (kube's GetScaledValueFromIntOrPercent). */
static long long scaled(const json_t *v, long long total)
{
    if (json_is_integer(v))
        return json_integer_value(v);
    const char *s = json_string_value(v);
    if (!s)
        return 0;
    long long pct = atoll(s);
    return (pct * total + 99) / 100;
}

static void set_condition(json_t *st, long long allowed, long long observed)
{
    json_t *conds = json_object_get(st, "conditions");
    if (!json_is_array(conds))
        json_object_set_new(st, "conditions", conds = json_array());
    const char *want = allowed > 0 ? "True" : "False";
    char now[21];
    vk_time_format(time(NULL), now);
    json_t *c =
        json_pack("{s:s, s:s, s:I, s:s, s:s, s:s}", "type", "DisruptionAllowed", "status", want,
                  "observedGeneration", (json_int_t)observed, "lastTransitionTime", now, "reason",
                  allowed > 0 ? "SufficientPods" : "InsufficientPods", "message", "");
    size_t i;
    json_t *x;
    json_array_foreach(conds, i, x)
    {
        if (strcmp(vk_str(x, "type"), "DisruptionAllowed"))
            continue;
        if (!strcmp(vk_str(x, "status"), want))
            json_object_set(c, "lastTransitionTime", json_object_get(x, "lastTransitionTime"));
        json_array_set_new(conds, i, c);
        return;
    }
    json_array_append_new(conds, c);
}

static void set_status(void *ud, json_t *obj)
{
    json_t *want = ud;
    json_t *st = json_object_get(obj, "status");
    json_t *conds = json_incref(json_object_get(st, "conditions"));
    json_t *out = json_deep_copy(want);
    if (conds)
        json_object_set_new(out, "conditions", conds);
    set_condition(out, json_integer_value(json_object_get(out, "disruptionsAllowed")),
                  json_integer_value(json_object_get(out, "observedGeneration")));
    json_object_set_new(obj, "status", out);
}

static void written(void *ud, int err, const char *json, size_t len, json_t *status)
{
    json_decref(ud);
}

static int reconcile(void *ud, const char *key)
{
    vk_disruption_ctl *c = ud;
    const char *slash = strchr(key, '/');
    if (!slash || c->stopping)
        return 0;
    char ns[256];
    snprintf(ns, sizeof ns, "%.*s", (int)(slash - key), key);
    const json_t *pdb = vk_informer_get(c->pdbs, ns, slash + 1);
    if (!pdb || json_object_get(vk_meta(pdb), "deletionTimestamp"))
        return 0;
    json_t *spec = json_object_get(pdb, "spec");
    json_t *sel = json_object_get(spec, "selector");
    json_t *old_disrupted = json_object_get(json_object_get(pdb, "status"), "disruptedPods");
    json_t *disrupted = json_object();
    json_t *scales = json_object(); /* controller uid -> replicas */
    time_t now = time(NULL), recheck = 0;
    long long selected = 0, healthy = 0;
    bool unknown_controller = false;
    const char *k;
    json_t *pod;
    json_object_foreach((json_t *)vk_informer_items(c->pods), k, pod)
    {
        if (strcmp(vk_str(vk_meta(pod), "namespace"), ns) ||
            !vk_label_selector_matches(sel, json_object_get(vk_meta(pod), "labels")))
            continue;
        selected++;
        char uid[64];
        long long scale;
        if (controller_scale(c->s, pod, uid, &scale))
            json_object_set_new(scales, uid, json_integer(scale));
        else
            unknown_controller = true;
        if (json_object_get(vk_meta(pod), "deletionTimestamp"))
            continue;
        const char *name = vk_str(vk_meta(pod), "name");
        time_t at;
        json_t *when = json_object_get(old_disrupted, name);
        if (when && !vk_time_parse(json_string_value(when), &at) && at + DELETION_TIMEOUT_S > now) {
            json_object_set(disrupted, name, when); /* evicted, not gone yet */
            if (!recheck || at + DELETION_TIMEOUT_S < recheck)
                recheck = at + DELETION_TIMEOUT_S;
            continue;
        }
        healthy += vk_pod_ready(pod);
    }
    long long expected = 0, desired = 0;
    json_t *mu = json_object_get(spec, "maxUnavailable"),
           *ma = json_object_get(spec, "minAvailable");
    long long scale_sum = 0;
    json_t *v;
    json_object_foreach(scales, k, v) scale_sum += json_integer_value(v);
    bool failed = false;
    if (mu) {
        failed = unknown_controller;
        expected = scale_sum;
        desired = expected - scaled(mu, expected);
        if (desired < 0)
            desired = 0;
    } else if (json_is_integer(ma)) {
        desired = json_integer_value(ma);
        expected = selected;
    } else if (ma) {
        failed = unknown_controller;
        expected = scale_sum;
        desired = scaled(ma, expected);
    }
    json_decref(scales);
    long long allowed = healthy - desired;
    if (expected <= 0 || allowed <= 0 || failed)
        allowed = 0;
    json_t *want =
        json_pack("{s:I, s:I, s:I, s:I, s:I}", "observedGeneration",
                  json_integer_value(json_object_get(vk_meta(pdb), "generation")),
                  "disruptionsAllowed", (json_int_t)allowed, "currentHealthy", (json_int_t)healthy,
                  "desiredHealthy", (json_int_t)desired, "expectedPods", (json_int_t)expected);
    if (json_object_size(disrupted))
        json_object_set(want, "disruptedPods", disrupted);
    json_decref(disrupted);
    /* Written when it changes (the condition follows disruptionsAllowed). */
    json_t *probe = json_deep_copy(pdb);
    set_status(want, probe);
    bool same = json_equal(json_object_get(probe, "status"), json_object_get(pdb, "status"));
    json_decref(probe);
    if (!same)
        vk_registry_edit(c->s, c->res, ns, slash + 1, set_status, want, written, want);
    else
        json_decref(want);
    return recheck ? (int)((recheck - now) * 1000 + 100) : 0;
}

static void pdb_changed(void *ud, const json_t *old, const json_t *obj)
{
    vk_disruption_ctl *c = ud;
    const json_t *o = obj ? obj : old;
    char key[600];
    snprintf(key, sizeof key, "%s/%s", vk_str(vk_meta(o), "namespace"), vk_str(vk_meta(o), "name"));
    if (obj)
        vk_controller_enqueue(c->ctl, key);
}

/* A pod changed: the budgets of its namespace that select it (before or after). */
static void pod_changed(void *ud, const json_t *old, const json_t *obj)
{
    vk_disruption_ctl *c = ud;
    const json_t *p = obj ? obj : old;
    const char *ns = vk_str(vk_meta(p), "namespace");
    const char *k;
    json_t *pdb;
    json_object_foreach((json_t *)vk_informer_items(c->pdbs), k, pdb)
    {
        if (strcmp(vk_str(vk_meta(pdb), "namespace"), ns))
            continue;
        json_t *sel = json_object_get(json_object_get(pdb, "spec"), "selector");
        if ((obj && vk_label_selector_matches(sel, json_object_get(vk_meta(obj), "labels"))) ||
            (old && vk_label_selector_matches(sel, json_object_get(vk_meta(old), "labels"))))
            pdb_changed(c, NULL, pdb);
    }
}

int vk_disruption_start(vk_server *s, vk_informer *pods, vk_disruption_ctl **out)
{
    vk_disruption_ctl *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    *c = (vk_disruption_ctl){
        .s = s, .res = vk_resource_find("policy", "v1", "poddisruptionbudgets"), .pods = pods};
    int rc = vk_informer_start(s, c->res, &c->pdbs);
    if (!rc && !(c->ctl = vk_controller_new(s, "disruption", reconcile, c)))
        rc = -ENOMEM;
    if (!rc)
        rc = vk_informer_subscribe(c->pdbs, pdb_changed, c);
    if (!rc)
        rc = vk_informer_subscribe(pods, pod_changed, c);
    if (rc) {
        vk_disruption_free(c);
        return rc;
    }
    const char *k;
    json_t *pdb;
    json_object_foreach((json_t *)vk_informer_items(c->pdbs), k, pdb) pdb_changed(c, NULL, pdb);
    *out = c;
    return 0;
}

void vk_disruption_free(vk_disruption_ctl *c)
{
    if (!c)
        return;
    c->stopping = true;
    vk_controller_free(c->ctl);
    vk_informer_free(c->pdbs);
    free(c);
}
