/* The resource quota controller (kube's pkg/controller/resourcequota).
 *
 * A reconcile of one ResourceQuota writes its status as the registry's quota code
 * calculates it (hard from spec.hard, used counted from the namespace's objects). The
 * calculation runs inside the edit, on the object as stored at that moment, so it can
 * never overwrite a charge admission made meanwhile: a write racing it changes the
 * quota's revision and the edit is redone. An edit that changes nothing writes nothing.
 *
 * Quotas are reconciled when created and when spec.hard changes (status writes are the
 * controller's and admission's own, as in kube), when an object they count goes away or
 * stops counting (kube's replenishment: one watch per counted resource, opened when a
 * quota first names it), and all of them every resync period (kube's is 5 minutes;
 * vkube's is one, so a status edited by hand is reset sooner). */
#include "controllers/resourcequota.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/registry/quota.h"
#include "apiserver/registry/registry.h"
#include "apiserver/server.h"
#include "common/err.h"
#include "common/log.h"
#include "controllers/controller.h"
#include "controllers/informer.h"
#include "controllers/objects.h"
#include "storage/store.h"
#include "storage/watch.h"

enum { RESYNC_MS = 60 * 1000 };
#define RESYNC_KEY "" /* the queue key that reconciles every quota */

typedef struct monitor {
    vk_quota_ctl *c;
    const vk_resource *res;
    vk_watcher *w;
} monitor;

struct vk_quota_ctl {
    vk_server *s;
    const vk_resource *rq;
    vk_informer *quotas;
    vk_controller *ctl;
    monitor **mons;
    size_t nmons;
    bool stopping;
};

static void enqueue(vk_quota_ctl *c, const json_t *quota)
{
    char key[600];
    json_t *meta = vk_meta(quota);
    snprintf(key, sizeof key, "%s/%s", vk_str(meta, "namespace"), vk_str(meta, "name"));
    vk_controller_enqueue(c->ctl, key);
}

/* Every quota of namespace ns (all of them for NULL). */
static void enqueue_namespace(vk_quota_ctl *c, const char *ns, size_t nsl)
{
    const char *k;
    json_t *q;
    json_object_foreach((json_t *)vk_informer_items(c->quotas), k, q)
    {
        if (!ns || (strlen(vk_str(vk_meta(q), "namespace")) == nsl &&
                    !memcmp(vk_str(vk_meta(q), "namespace"), ns, nsl)))
            enqueue(c, q);
    }
}

/* ---- replenishment ---- */

static int start_monitor(monitor *m);

/* Deletions always; updates only of the kinds whose usage an update can lower. */
static int monitor_filter(void *ud, const vk_event *ev)
{
    monitor *m = ud;
    if (ev->op == VK_OP_DELETE)
        return VK_WATCH_DELETED;
    if (ev->op == VK_OP_UPDATE && !*m->res->group &&
        (!strcmp(m->res->plural, "pods") || !strcmp(m->res->plural, "services")))
        return VK_WATCH_MODIFIED;
    return VK_WATCH_SKIP;
}

static void monitor_event(void *ud, vk_watcher *w, int err)
{
    monitor *m = ud;
    vk_quota_ctl *c = m->c;
    if (err) {
        /* Overflowed or overtaken: watch from now and count everything again. */
        vk_watch_free(w);
        m->w = NULL;
        if (err != VK_ECLOSED && !c->stopping) {
            enqueue_namespace(c, NULL, 0);
            if (start_monitor(m))
                vk_log(VK_LOG_ERROR, "resourcequota", "Cannot watch", "resource=\"%s\"",
                       m->res->plural);
        }
        return;
    }
    vk_event *ev;
    int type;
    while (m->w == w && vk_watch_next(w, &ev, &type) == 1) {
        bool replenish = true;
        if (type == VK_WATCH_MODIFIED) {
            json_t *old = json_loadb(ev->prev, ev->prev_len, 0, NULL);
            json_t *obj = json_loadb(ev->obj, ev->obj_len, 0, NULL);
            replenish = old && obj && vk_quota_replenishes(m->res, old, obj);
            json_decref(old);
            json_decref(obj);
        }
        if (replenish)
            enqueue_namespace(c, ev->ns, ev->ns_len);
        vk_event_unref(ev);
    }
}

static int start_monitor(monitor *m)
{
    vk_watch_opts wo = {
        .resource = vk_resource_id(m->res),
        .from_rev = vk_store_revision(m->c->s->store),
        .queue_max = 65536,
        .filter = monitor_filter,
        .filter_ud = m,
        .notify = monitor_event,
        .ud = m,
    };
    return vk_watch_add(vk_store_hub(m->c->s->store), &wo, &m->w);
}

/* Watches res (once) so that its deletions recalculate the quotas counting it. */
static void monitor_resource(void *ud, const vk_resource *res)
{
    vk_quota_ctl *c = ud;
    if (!res)
        return;
    for (size_t i = 0; i < c->nmons; i++)
        if (vk_resource_id(c->mons[i]->res) == vk_resource_id(res))
            return;
    monitor **mons = realloc(c->mons, (c->nmons + 1) * sizeof *mons);
    monitor *m = calloc(1, sizeof *m);
    if (mons)
        c->mons = mons;
    if (!mons || !m) {
        free(m);
        return;
    }
    *m = (monitor){c, res, NULL};
    if (start_monitor(m)) {
        vk_log(VK_LOG_ERROR, "resourcequota", "Cannot watch", "resource=\"%s\"", res->plural);
        free(m);
        return;
    }
    c->mons[c->nmons++] = m;
}

/* ---- reconcile ---- */

static void recalculate(void *ud, json_t *quota)
{
    vk_quota_ctl *c = ud;
    json_t *status = vk_quota_status(c->s, quota);
    if (status)
        json_object_set_new(quota, "status", status);
}

static void written(void *ud, int err, const char *json, size_t len, json_t *status)
{
    vk_quota_ctl *c = ud;
    if (err && err != VK_ENOTFOUND && !c->stopping)
        vk_log(VK_LOG_DEBUG, "resourcequota", "Status write refused", "err=\"%s\"",
               json_string_value(json_object_get(status, "message")));
}

static int reconcile(void *ud, const char *key)
{
    vk_quota_ctl *c = ud;
    if (c->stopping)
        return 0;
    if (!strcmp(key, RESYNC_KEY)) {
        enqueue_namespace(c, NULL, 0);
        return RESYNC_MS;
    }
    const char *slash = strchr(key, '/');
    if (!slash)
        return 0;
    char ns[256];
    snprintf(ns, sizeof ns, "%.*s", (int)(slash - key), key);
    const json_t *q = vk_informer_get(c->quotas, ns, slash + 1);
    if (!q)
        return 0;
    json_t *hard = json_object_get(json_object_get(q, "spec"), "hard");
    vk_quota_resources(hard, monitor_resource, c);
    vk_registry_edit(c->s, c->rq, ns, slash + 1, recalculate, c, written, c);
    return 0;
}

static void quota_changed(void *ud, const json_t *old, const json_t *obj)
{
    vk_quota_ctl *c = ud;
    if (!obj)
        return;
    json_t *hard = json_object_get(json_object_get(obj, "spec"), "hard");
    if (!old || !json_equal(hard, json_object_get(json_object_get(old, "spec"), "hard")))
        enqueue(c, obj);
}

int vk_quota_ctl_start(vk_server *s, vk_quota_ctl **out)
{
    vk_quota_ctl *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    *c = (vk_quota_ctl){.s = s, .rq = vk_resource_find("", "v1", "resourcequotas")};
    int rc = vk_informer_start(s, c->rq, &c->quotas);
    if (!rc && !(c->ctl = vk_controller_new(s, "resourcequota", reconcile, c)))
        rc = -ENOMEM;
    if (!rc)
        rc = vk_informer_subscribe(c->quotas, quota_changed, c);
    if (rc) {
        vk_quota_ctl_free(c);
        return rc;
    }
    /* At start every quota is counted again, then every resync period. */
    vk_controller_enqueue(c->ctl, RESYNC_KEY);
    *out = c;
    return 0;
}

void vk_quota_ctl_free(vk_quota_ctl *c)
{
    if (!c)
        return;
    c->stopping = true;
    vk_controller_free(c->ctl);
    for (size_t i = 0; i < c->nmons; i++) {
        vk_watch_free(c->mons[i]->w);
        free(c->mons[i]);
    }
    free(c->mons);
    vk_informer_free(c->quotas);
    free(c);
}
