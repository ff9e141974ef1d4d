#include "controllers/informer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/server.h"
#include "common/err.h"
#include "common/log.h"
#include "storage/store.h"
#include "storage/watch.h"

typedef struct handler {
    vk_informer_fn fn;
    void *ud;
} handler;

struct vk_informer {
    vk_server *s;
    const vk_resource *res;
    handler *handlers;
    size_t nhandlers;
    json_t *items; /* "<ns>/<name>" -> object */
    vk_watcher *w;
};

static void key_of(char *out, size_t n, const char *ns, size_t nsl, const char *name, size_t nl)
{
    snprintf(out, n, "%.*s/%.*s", (int)nsl, ns, (int)nl, name);
}

typedef struct list_ctx {
    json_t *into;
} list_ctx;

static int visit(void *ud, const vk_kv *kv)
{
    list_ctx *c = ud;
    uint32_t id;
    const char *ns, *name;
    size_t nsl, nl;
    if (vk_key_parse(kv->key, kv->key_len, &id, &ns, &nsl, &name, &nl))
        return 1;
    json_t *obj = json_loadb(kv->val, kv->val_len, 0, NULL);
    if (obj) {
        char k[VK_KEY_MAX + 2];
        key_of(k, sizeof k, ns, nsl, name, nl);
        json_object_set_new(c->into, k, obj);
    }
    return 1;
}

static int watch(vk_informer *inf, uint64_t from);

static void changed(vk_informer *inf, const json_t *old, const json_t *obj)
{
    for (size_t i = 0; i < inf->nhandlers; i++)
        inf->handlers[i].fn(inf->handlers[i].ud, old, obj);
}

/* A fresh list replaces the copy; what changed meanwhile is reported. */
static int relist(vk_informer *inf, bool report)
{
    char prefix[VK_KEY_MAX];
    int plen = vk_key_prefix(prefix, sizeof prefix, vk_resource_id(inf->res), NULL);
    if (plen < 0)
        return plen;
    list_ctx c = {json_object()};
    vk_list_opts o = {.prefix = prefix, .prefix_len = (size_t)plen};
    vk_list_info info = {0};
    int rc = c.into ? vk_store_list(inf->s->store, &o, visit, &c, &info) : -ENOMEM;
    if (rc) {
        json_decref(c.into);
        return rc;
    }
    json_t *old = inf->items;
    inf->items = c.into;
    if (report) {
        const char *k;
        json_t *v;
        json_object_foreach(old, k, v)
        {
            json_t *now = json_object_get(inf->items, k);
            if (!now)
                changed(inf, v, NULL);
            else if (!json_equal(now, v))
                changed(inf, v, now);
        }
        json_object_foreach(inf->items, k, v) if (!json_object_get(old, k)) changed(inf, NULL, v);
    }
    json_decref(old);
    return watch(inf, info.rev);
}

static void on_event(void *ud, vk_watcher *w, int err)
{
    vk_informer *inf = ud;
    if (err) {
        vk_watch_free(w);
        inf->w = NULL;
        if (err != VK_ECLOSED && relist(inf, true))
            vk_log(VK_LOG_ERROR, "informer", "Cannot relist", "resource=\"%s\"", inf->res->plural);
        return;
    }
    vk_event *ev;
    int type;
    while (inf->w == w && vk_watch_next(w, &ev, &type) == 1) {
        char k[VK_KEY_MAX + 2];
        key_of(k, sizeof k, ev->ns, ev->ns_len, ev->name, ev->name_len);
        json_t *old = json_incref(json_object_get(inf->items, k));
        json_t *obj = ev->obj ? json_loadb(ev->obj, ev->obj_len, 0, NULL) : NULL;
        if (obj)
            json_object_set(inf->items, k, obj);
        else
            json_object_del(inf->items, k);
        if (old || obj)
            changed(inf, old, obj);
        json_decref(old);
        json_decref(obj);
        vk_event_unref(ev);
    }
}

static int watch(vk_informer *inf, uint64_t from)
{
    vk_watch_opts wo = {
        .resource = vk_resource_id(inf->res),
        .from_rev = from,
        .queue_max = 65536,
        .notify = on_event,
        .ud = inf,
    };
    return vk_watch_add(vk_store_hub(inf->s->store), &wo, &inf->w);
}

int vk_informer_start(vk_server *s, const vk_resource *res, vk_informer **out)
{
    vk_informer *inf = calloc(1, sizeof *inf);
    if (!inf)
        return -ENOMEM;
    *inf = (vk_informer){.s = s, .res = res};
    int rc = relist(inf, false);
    if (rc) {
        vk_informer_free(inf);
        return rc;
    }
    *out = inf;
    return 0;
}

int vk_informer_subscribe(vk_informer *inf, vk_informer_fn fn, void *ud)
{
    handler *h = realloc(inf->handlers, (inf->nhandlers + 1) * sizeof *h);
    if (!h)
        return -ENOMEM;
    inf->handlers = h;
    h[inf->nhandlers++] = (handler){fn, ud};
    return 0;
}

const json_t *vk_informer_get(const vk_informer *inf, const char *ns, const char *name)
{
    char k[VK_KEY_MAX + 2];
    snprintf(k, sizeof k, "%s/%s", ns ? ns : "", name);
    return json_object_get(inf->items, k);
}

const json_t *vk_informer_items(const vk_informer *inf)
{
    return inf->items;
}

void vk_informer_free(vk_informer *inf)
{
    if (!inf)
        return;
    vk_watch_free(inf->w);
    json_decref(inf->items);
    free(inf->handlers);
    free(inf);
}
