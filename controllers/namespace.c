#include "controllers/namespace.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "apiserver/registry/registry.h"
#include "apiserver/server.h"
#include "common/err.h"
#include "controllers/workqueue.h"
#include "common/log.h"
#include "storage/store.h"
#include "storage/watch.h"

enum { RETRY_MS = 1000 };

struct vk_ns_controller {
    vk_server *s;
    vk_watcher *w;
    uv_timer_t *timer;  /* retries; freed in its close callback */
    vk_workqueue queue; /* namespaces waiting */
    char *current;      /* the namespace being reconciled */
    int pending;        /* deletes in flight for it */
    bool remaining;     /* something in it could not be deleted yet */
    bool stopping;
};

static const vk_resource *namespaces(void)
{
    return vk_resource_find("", "v1", "namespaces");
}

static void next(vk_ns_controller *c);

static void on_timer(uv_timer_t *t)
{
    next(t->data);
}

/* Ends the current namespace's pass; a retry comes later when it is not done. */
static void finish(vk_ns_controller *c, bool retry)
{
    char *name = c->current;
    c->current = NULL;
    if (retry && name && !c->stopping) {
        vk_workqueue_add(&c->queue, name, strlen(name));
        uv_timer_start(c->timer, on_timer, RETRY_MS, 0);
    }
    free(name);
    if (!retry)
        next(c);
}

static void finalized(void *ud, int err, const char *json, size_t len, json_t *status)
{
    vk_ns_controller *c = ud;
    if (err && err != VK_ENOTFOUND)
        vk_log(VK_LOG_WARN, "namespace-controller", "Cannot finalize",
               "namespace=\"%s\" err=\"%s\"", c->current,
               json_string_value(json_object_get(status, "message")));
    finish(c, err && err != VK_ENOTFOUND);
}

/* /finalize: spec.finalizers without "kubernetes"; nothing else changes. */
static void drop_finalizer(void *ud, json_t *obj)
{
    json_t *fin = json_object_get(json_object_get(obj, "spec"), "finalizers");
    for (size_t i = json_array_size(fin); i-- > 0;)
        if (json_is_string(json_array_get(fin, i)) &&
            !strcmp(json_string_value(json_array_get(fin, i)), "kubernetes"))
            json_array_remove(fin, i);
}

static void content_deleted(void *ud, int err, const char *json, size_t len, json_t *status)
{
    vk_ns_controller *c = ud;
    /* An object that stays (finalizers) or could not be deleted keeps the namespace. */
    if ((err && err != VK_ENOTFOUND) || json)
        c->remaining = true;
    if (--c->pending > 0)
        return;
    if (c->stopping) {
        finish(c, false);
        return;
    }
    if (c->remaining) {
        finish(c, true);
        return;
    }
    vk_registry_edit(c->s, namespaces(), NULL, c->current, drop_finalizer, NULL, finalized, c);
}

typedef struct collect {
    json_t *names;
} collect;

static int collect_name(void *ud, const vk_kv *kv)
{
    collect *cl = ud;
    uint32_t id;
    const char *ns, *name;
    size_t nsl, nl;
    if (!vk_key_parse(kv->key, kv->key_len, &id, &ns, &nsl, &name, &nl))
        json_array_append_new(cl->names, json_stringn(name, nl));
    return 1;
}

/* Deletes everything namespaced in c->current, then finalizes it. */
static void reconcile(vk_ns_controller *c)
{
    vk_server *s = c->s;
    char key[VK_KEY_MAX];
    vk_buf val = {0};
    int klen = vk_key_build(key, sizeof key, vk_resource_id(namespaces()), "", c->current);
    int rc = klen > 0 ? vk_store_get(s->store, key, (size_t)klen, &val, NULL) : klen;
    bool terminating = !rc && strstr(val.data, "\"deletionTimestamp\"");
    vk_buf_free(&val);
    if (!terminating) {
        finish(c, false);
        return;
    }
    c->pending = 1; /* held until every delete is issued */
    c->remaining = false;
    for (const vk_resource *const *r = vk_resources; *r; r++) {
        if (!((*r)->flags & VK_NAMESPACED))
            continue;
        char prefix[VK_KEY_MAX];
        int plen = vk_key_prefix(prefix, sizeof prefix, vk_resource_id(*r), c->current);
        collect cl = {json_array()};
        vk_list_opts o = {.prefix = prefix, .prefix_len = (size_t)plen};
        vk_list_info info;
        if (plen < 0 || vk_store_list(s->store, &o, collect_name, &cl, &info))
            c->remaining = true;
        size_t i;
        json_t *n;
        json_array_foreach(cl.names, i, n)
        {
            c->pending++;
            vk_registry_delete(s, *r, c->current, json_string_value(n), content_deleted, c);
        }
        json_decref(cl.names);
    }
    content_deleted(c, 0, NULL, 0, NULL);
}

static void next(vk_ns_controller *c)
{
    if (c->current || c->stopping || !(c->current = vk_workqueue_pop(&c->queue)))
        return;
    reconcile(c);
}

static int filter(void *ud, const vk_event *ev)
{
    return ev->obj && memmem(ev->obj, ev->obj_len, "\"deletionTimestamp\"", 19) ? VK_WATCH_MODIFIED
                                                                                : VK_WATCH_SKIP;
}

static void on_event(void *ud, vk_watcher *w, int err)
{
    vk_ns_controller *c = ud;
    if (err) {
        vk_watch_free(w);
        c->w = NULL;
        return;
    }
    vk_event *ev;
    int type;
    while (vk_watch_next(w, &ev, &type) == 1) {
        vk_workqueue_add(&c->queue, ev->name, ev->name_len);
        vk_event_unref(ev);
    }
    next(c);
}

static int terminating(void *ud, const vk_kv *kv)
{
    vk_ns_controller *c = ud;
    if (memmem(kv->val, kv->val_len, "\"deletionTimestamp\"", 19))
        vk_workqueue_add_names(&c->queue, kv);
    return 1;
}

int vk_ns_controller_start(vk_server *s, vk_ns_controller **out)
{
    vk_ns_controller *c = calloc(1, sizeof *c);
    if (!c || !(c->timer = calloc(1, sizeof *c->timer))) {
        free(c);
        return -ENOMEM;
    }
    c->s = s;
    uv_timer_init(s->loop, c->timer);
    c->timer->data = c;
    uv_unref((uv_handle_t *)c->timer);
    char prefix[VK_KEY_MAX];
    int plen = vk_key_prefix(prefix, sizeof prefix, vk_resource_id(namespaces()), NULL);
    vk_list_opts o = {.prefix = prefix, .prefix_len = (size_t)plen};
    vk_list_info info = {0};
    int rc = vk_store_list(s->store, &o, terminating, c, &info);
    vk_watch_opts wo = {
        .resource = vk_resource_id(namespaces()),
        .from_rev = info.rev,
        .filter = filter,
        .notify = on_event,
        .ud = c,
    };
    if (!rc)
        rc = vk_watch_add(vk_store_hub(s->store), &wo, &c->w);
    if (rc) {
        vk_ns_controller_free(c);
        return rc;
    }
    next(c);
    *out = c;
    return 0;
}

void vk_ns_controller_free(vk_ns_controller *c)
{
    if (!c)
        return;
    c->stopping = true;
    vk_watch_free(c->w);
    uv_close((uv_handle_t *)c->timer, (uv_close_cb)free);
    vk_workqueue_free(&c->queue);
    free(c->current);
    free(c);
}
