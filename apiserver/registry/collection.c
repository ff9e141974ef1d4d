/* deletecollection: every object of a resource (in a namespace, or everywhere) that
 * the selectors pick is deleted through the same path as a single DELETE; the reply is
 * the list of those objects, as kube's generic store answers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/http/status.h"
#include "apiserver/registry/internal.h"
#include "apiserver/registry/registry.h"
#include "apiserver/registry/selector.h"
#include "apiserver/server.h"
#include "common/err.h"
#include "storage/store.h"

typedef struct collection {
    vk_server *s;
    vk_req *r; /* NULL once the client went away */
    const vk_resource *res;
    vk_selector *labels, *fields;
    json_t *targets; /* [{ns, name, obj}] */
    json_t *items;   /* the objects deleted or marked for deletion */
    json_t *failure; /* the first error's Status */
    int pending, fmt;
    uint64_t rev;
} collection;

static int pick(void *ud, const vk_kv *kv)
{
    collection *c = ud;
    json_t *obj = json_loadb(kv->val, kv->val_len, 0, NULL);
    if (!obj)
        return -EIO;
    if (!vk_reg_selected(c->labels, c->fields, obj)) {
        json_decref(obj);
        return 0;
    }
    json_t *meta = json_object_get(obj, "metadata");
    json_array_append_new(c->targets,
                          json_pack("{s:O?, s:O, s:o}", "ns", json_object_get(meta, "namespace"),
                                    "name", json_object_get(meta, "name"), "obj", obj));
    return 1;
}

static void on_abort(vk_req *r, void *data)
{
    ((collection *)data)->r = NULL;
}

static void finish(collection *c)
{
    if (c->r) {
        c->r->on_abort = NULL;
        if (c->failure) {
            vk_send_status(c->r, json_incref(c->failure));
        } else {
            char av[128], kind[128], rv[24];
            if (c->res->list_kind)
                snprintf(kind, sizeof kind, "%s", c->res->list_kind);
            else
                snprintf(kind, sizeof kind, "%sList", c->res->kind);
            snprintf(rv, sizeof rv, "%llu", (unsigned long long)c->rev);
            json_t *list = json_pack("{s:s, s:s, s:{s:s}, s:O}", "kind", kind, "apiVersion",
                                     vk_reg_api_version(c->res, av, sizeof av), "metadata",
                                     "resourceVersion", rv, "items", c->items);
            vk_send_object(c->r, 200, list, c->fmt);
            json_decref(list);
        }
    }
    vk_selector_free(c->labels);
    vk_selector_free(c->fields);
    json_decref(c->targets);
    json_decref(c->items);
    json_decref(c->failure);
    free(c);
}

typedef struct one {
    collection *c;
    json_t *obj;
} one;

static void one_done(void *ud, int err, const char *json, size_t len, json_t *status)
{
    one *o = ud;
    collection *c = o->c;
    if (err && err != VK_ENOTFOUND) {
        if (!c->failure)
            c->failure = json_incref(status);
    } else if (!err) {
        json_t *item = json ? json_loadb(json, len, 0, NULL) : json_incref(o->obj);
        if (item)
            json_array_append_new(c->items, item);
    }
    json_decref(o->obj);
    free(o);
    if (--c->pending == 0)
        finish(c);
}

void vk_reg_delete_collection(vk_server *s, vk_req *r, const vk_resource *res, const vk_reqinfo *ri,
                              const vk_accept *acc)
{
    collection *c = calloc(1, sizeof *c);
    if (!c) {
        vk_send_error(r, 500, "InternalError", "out of memory");
        return;
    }
    *c = (collection){.s = s, .r = r, .res = res, .fmt = acc->format};
    if (!vk_reg_selectors(r, res, &c->labels, &c->fields)) {
        free(c);
        return;
    }
    c->targets = json_array();
    c->items = json_array();
    char prefix[VK_KEY_MAX];
    bool ns = (res->flags & VK_NAMESPACED) && *ri->namespace_;
    int plen =
        vk_key_prefix(prefix, sizeof prefix, vk_resource_id(res), ns ? ri->namespace_ : NULL);
    vk_list_opts o = {.prefix = prefix, .prefix_len = (size_t)plen};
    vk_list_info info = {0};
    int rc = plen < 0 ? plen : vk_store_list(s->store, &o, pick, c, &info);
    if (rc)
        c->failure = vk_reg_status(res, rc, "");
    c->rev = info.rev;
    const char *dry = vk_req_query(r, "dryRun");
    r->on_abort = on_abort;
    r->abort_data = c;
    c->pending++; /* held until every delete is issued */
    size_t i;
    json_t *t;
    json_array_foreach(rc ? NULL : c->targets, i, t)
    {
        if (dry && !strcmp(dry, "All")) {
            json_array_append(c->items, json_object_get(t, "obj"));
            continue;
        }
        one *d = malloc(sizeof *d);
        if (!d)
            continue;
        *d = (one){c, json_incref(json_object_get(t, "obj"))};
        c->pending++;
        vk_registry_delete(s, res, json_string_value(json_object_get(t, "ns")),
                           json_string_value(json_object_get(t, "name")), one_done, d);
    }
    if (--c->pending == 0)
        finish(c);
}
