#include "controllers/nsdefaults.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/auth/pki.h"
#include "apiserver/registry/registry.h"
#include "apiserver/server.h"
#include "common/err.h"
#include "common/log.h"
#include "controllers/workqueue.h"
#include "storage/store.h"
#include "storage/watch.h"

/* One object each namespace must have. content() gives the fields the controller owns
 * (merged over what is stored); NULL means "exists" is enough. */
typedef struct wanted {
    const char *group, *version, *plural, *name;
    json_t *(*content)(vk_server *s);
} wanted;

static json_t *root_ca(vk_server *s)
{
    return json_pack("{s:{s:s}}", "data", "ca.crt", vk_pki_ca_pem(s->pki));
}

static const wanted table[] = {
    {"", "v1", "serviceaccounts", "default", NULL},
    {"", "v1", "configmaps", "kube-root-ca.crt", root_ca},
};
enum { NWANTED = sizeof table / sizeof table[0] };

struct vk_nsdefaults {
    vk_server *s;
    vk_watcher *w[1 + NWANTED]; /* namespaces, then each wanted resource */
    vk_workqueue queue;         /* namespaces to look at */
    int pending;                /* writes in flight */
    bool stopping;
};

static const vk_resource *res_of(const wanted *w)
{
    return vk_resource_find(w->group, w->version, w->plural);
}

static void written(void *ud, int err, const char *json, size_t len, json_t *status)
{
    vk_nsdefaults *c = ud;
    /* A namespace that went away or is terminating refuses: nothing to do. */
    if (err && err != VK_EEXIST && err != VK_ENOTFOUND && !c->stopping)
        vk_log(VK_LOG_DEBUG, "nsdefaults", "Write refused", "err=\"%s\"",
               json_string_value(json_object_get(status, "message")));
    c->pending--;
}

/* Writes the owned fields over the stored object. */
static void apply_content(void *ud, json_t *obj)
{
    json_t *content = ud;
    const char *k;
    json_t *v;
    json_object_foreach(content, k, v) json_object_set(obj, k, v);
}

typedef struct edit_ctx {
    vk_nsdefaults *c;
    json_t *content;
} edit_ctx;

static void edited(void *ud, int err, const char *json, size_t len, json_t *status)
{
    edit_ctx *e = ud;
    written(e->c, err, json, len, status);
    json_decref(e->content);
    free(e);
}

static bool terminating_or_gone(vk_server *s, const char *ns)
{
    char key[VK_KEY_MAX];
    vk_buf val = {0};
    int klen = vk_key_build(key, sizeof key,
                            vk_resource_id(vk_resource_find("", "v1", "namespaces")), "", ns);
    int rc = klen > 0 ? vk_store_get(s->store, key, (size_t)klen, &val, NULL) : klen;
    bool out = rc || strstr(val.data, "\"deletionTimestamp\"");
    vk_buf_free(&val);
    return out;
}

static void reconcile(vk_nsdefaults *c, const char *ns)
{
    vk_server *s = c->s;
    if (terminating_or_gone(s, ns))
        return;
    for (size_t i = 0; i < NWANTED; i++) {
        const vk_resource *res = res_of(&table[i]);
        char key[VK_KEY_MAX];
        vk_buf val = {0};
        int klen = vk_key_build(key, sizeof key, vk_resource_id(res), ns, table[i].name);
        int rc = klen > 0 ? vk_store_get(s->store, key, (size_t)klen, &val, NULL) : klen;
        json_t *content = table[i].content ? table[i].content(s) : json_object();
        if (rc == VK_ENOTFOUND) {
            json_t *obj = json_deep_copy(content);
            json_object_set_new(obj, "metadata", json_pack("{s:s}", "name", table[i].name));
            c->pending++;
            vk_registry_create(s, res, ns, obj, false, written, c);
            json_decref(obj);
        } else if (!rc && json_object_size(content)) {
            json_t *cur = json_loadb(val.data, val.len, 0, NULL);
            bool same = cur != NULL;
            const char *k;
            json_t *v;
            json_object_foreach(content, k, v) same &= json_equal(json_object_get(cur, k), v);
            json_decref(cur);
            if (!same) {
                edit_ctx *e = malloc(sizeof *e);
                if (e) {
                    *e = (edit_ctx){c, json_incref(content)};
                    c->pending++;
                    vk_registry_edit(s, res, ns, table[i].name, apply_content, content, edited, e);
                }
            }
        }
        json_decref(content);
        vk_buf_free(&val);
    }
}

static void drain(vk_nsdefaults *c)
{
    char *ns;
    while (!c->stopping && (ns = vk_workqueue_pop(&c->queue))) {
        reconcile(c, ns);
        free(ns);
    }
}

static int ns_filter(void *ud, const vk_event *ev)
{
    return ev->obj ? VK_WATCH_MODIFIED : VK_WATCH_SKIP;
}

/* A wanted object was deleted or changed: look at its namespace again. */
static int obj_filter(void *ud, const vk_event *ev)
{
    const wanted *w = ud;
    return strlen(w->name) == ev->name_len && !memcmp(w->name, ev->name, ev->name_len)
               ? VK_WATCH_MODIFIED
               : VK_WATCH_SKIP;
}

static void on_event(void *ud, vk_watcher *w, int err)
{
    vk_nsdefaults *c = ud;
    if (err) {
        for (size_t i = 0; i <= NWANTED; i++)
            if (c->w[i] == w)
                c->w[i] = NULL;
        vk_watch_free(w);
        return;
    }
    vk_event *ev;
    int type;
    bool is_ns = w == c->w[0];
    while (vk_watch_next(w, &ev, &type) == 1) {
        if (is_ns)
            vk_workqueue_add(&c->queue, ev->name, ev->name_len);
        else
            vk_workqueue_add(&c->queue, ev->ns, ev->ns_len);
        vk_event_unref(ev);
    }
    drain(c);
}

int vk_nsdefaults_start(vk_server *s, vk_nsdefaults **out)
{
    vk_nsdefaults *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    c->s = s;
    const vk_resource *nsres = vk_resource_find("", "v1", "namespaces");
    char prefix[VK_KEY_MAX];
    int plen = vk_key_prefix(prefix, sizeof prefix, vk_resource_id(nsres), NULL);
    vk_list_opts o = {.prefix = prefix, .prefix_len = (size_t)plen};
    vk_list_info info = {0};
    int rc = vk_store_list(s->store, &o, vk_workqueue_add_names, &c->queue, &info);
    for (size_t i = 0; !rc && i <= NWANTED; i++) {
        vk_watch_opts wo = {
            .resource = vk_resource_id(i ? res_of(&table[i - 1]) : nsres),
            .from_rev = info.rev,
            .filter = i ? obj_filter : ns_filter,
            .filter_ud = i ? (void *)&table[i - 1] : NULL,
            .notify = on_event,
            .ud = c,
        };
        rc = vk_watch_add(vk_store_hub(s->store), &wo, &c->w[i]);
    }
    if (rc) {
        vk_nsdefaults_free(c);
        return rc;
    }
    drain(c);
    *out = c;
    return 0;
}

void vk_nsdefaults_free(vk_nsdefaults *c)
{
    if (!c)
        return;
    c->stopping = true;
    for (size_t i = 0; i <= NWANTED; i++)
        vk_watch_free(c->w[i]);
    vk_workqueue_free(&c->queue);
    free(c);
}
