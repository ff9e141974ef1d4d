/* The garbage collector.
 *
 * It watches every stored resource and keeps one index: owner uid -> the objects that
 * name it in their ownerReferences ("dependents"). Work is done by key, as kube's
 * attemptToDelete and attemptToOrphan queues do:
 *  - "d|<res>|<ns>|<name>", a dependent to check: each owner reference is resolved
 *    (apiVersion and kind to a served resource, the dependent's namespace for a
 *    namespaced owner) and read. Owners that exist with that uid are solid, unless they
 *    wait for their dependents (being deleted with foregroundDeletion); the rest
 *    dangle. With a solid owner, the references that dangle
 *    or wait are removed; without one, the dependent is deleted: in the foreground when
 *    an owner waits and it has dependents itself, else as its own finalizers say
 *    (orphan, foreground) or in the background.
 *  - "o|<res>|<ns>|<name>", an owner being deleted: with "orphan", its dependents lose
 *    their reference to it, then the finalizer goes; with "foregroundDeletion", its
 *    dependents are checked as above (one with another, solid owner only loses the
 *    reference) and the finalizer goes once none that blocks names it any more.
 * Every write goes through the registry with the dependent's uid as a precondition. */
#include "controllers/gc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/registry/registry.h"
#include "apiserver/server.h"
#include "common/err.h"
#include "common/log.h"
#include "controllers/controller.h"
#include "controllers/objects.h"
#include "storage/store.h"
#include "storage/watch.h"

typedef struct gc_watch {
    struct vk_gc *gc;
    size_t res; /* index in vk_resources */
    vk_watcher *w;
} gc_watch;

struct vk_gc {
    vk_server *s;
    vk_controller *ctl;
    gc_watch *watches;
    size_t nwatches;
    json_t *deps;   /* owner uid -> {dependent key: true} */
    json_t *owners; /* dependent key -> [owner uid] */
    bool stopping;
};

static bool has_finalizer(const json_t *obj, const char *name)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(json_object_get(obj, "metadata"), "finalizers"), i, f)
    {
        if (json_is_string(f) && !strcmp(json_string_value(f), name))
            return true;
    }
    return false;
}

/* "<res>|<ns>|<name>" */
static void obj_key(char *out, size_t n, size_t res, const char *ns, size_t nsl, const char *name,
                    size_t nl)
{
    snprintf(out, n, "%zu|%.*s|%.*s", res, (int)nsl, ns, (int)nl, name);
}

static bool parse_key(const char *key, const vk_resource **res, char *ns, size_t nsn, char *name,
                      size_t nn)
{
    char *end;
    unsigned long idx = strtoul(key, &end, 10);
    const char *a = *end == '|' ? end + 1 : NULL, *b = a ? strchr(a, '|') : NULL;
    size_t count = 0;
    while (vk_resources[count])
        count++;
    if (!b || idx >= count)
        return false;
    *res = vk_resources[idx];
    snprintf(ns, nsn, "%.*s", (int)(b - a), a);
    snprintf(name, nn, "%s", b + 1);
    return true;
}

static json_t *read_object(vk_gc *gc, const vk_resource *res, const char *ns, const char *name)
{
    return vk_registry_get(gc->s, res, ns, name);
}

/* The served resource an owner reference names, or NULL. */
static size_t resolve(const json_t *ref, bool *found)
{
    const char *av = vk_str(ref, "apiVersion"), *kind = vk_str(ref, "kind");
    const char *slash = strchr(av, '/');
    char group[128];
    snprintf(group, sizeof group, "%.*s", slash ? (int)(slash - av) : 0, av);
    const char *version = slash ? slash + 1 : av;
    for (size_t i = 0; vk_resources[i]; i++) {
        const vk_resource *r = vk_resources[i];
        if (!strcmp(r->group, group) && !strcmp(r->kind, kind) && !strcmp(r->version, version)) {
            *found = true;
            return i;
        }
    }
    *found = false;
    return 0;
}

/* ---- the index ---- */

static void unindex(vk_gc *gc, const char *dk)
{
    size_t i;
    json_t *u;
    json_array_foreach(json_object_get(gc->owners, dk), i, u)
    {
        json_t *set = json_object_get(gc->deps, json_string_value(u));
        json_object_del(set, dk);
        if (!json_object_size(set))
            json_object_del(gc->deps, json_string_value(u));
    }
    json_object_del(gc->owners, dk);
}

static void index_object(vk_gc *gc, const char *dk, const json_t *obj)
{
    unindex(gc, dk);
    json_t *refs = json_object_get(json_object_get(obj, "metadata"), "ownerReferences");
    if (!json_array_size(refs))
        return;
    json_t *uids = json_array();
    size_t i;
    json_t *ref;
    json_array_foreach(refs, i, ref)
    {
        const char *uid = vk_str(ref, "uid");
        if (!*uid)
            continue;
        json_t *set = json_object_get(gc->deps, uid);
        if (!set) {
            set = json_object();
            json_object_set_new(gc->deps, uid, set);
        }
        json_object_set_new(set, dk, json_true());
        json_array_append_new(uids, json_string(uid));
    }
    json_object_set_new(gc->owners, dk, uids);
}

static void enqueue(vk_gc *gc, char kind, const char *key)
{
    char k[VK_KEY_MAX + 40];
    snprintf(k, sizeof k, "%c|%s", kind, key);
    vk_controller_enqueue(gc->ctl, k);
}

/* The owners a dependent names, as keys to look at (a foreground owner waits for it). */
static void enqueue_owners(vk_gc *gc, const json_t *obj, const char *ns)
{
    size_t i;
    json_t *ref;
    json_array_foreach(json_object_get(json_object_get(obj, "metadata"), "ownerReferences"), i, ref)
    {
        bool found;
        size_t r = resolve(ref, &found);
        if (!found)
            continue;
        const char *ons = (vk_resources[r]->flags & VK_NAMESPACED) ? ns : "";
        char k[VK_KEY_MAX + 20];
        obj_key(k, sizeof k, r, ons, strlen(ons), vk_str(ref, "name"), strlen(vk_str(ref, "name")));
        enqueue(gc, 'o', k);
    }
}

/* What an object's change means for the collector. */
static void observe(vk_gc *gc, const char *dk, const char *ns, const json_t *obj,
                    const json_t *prev)
{
    if (obj) {
        index_object(gc, dk, obj);
        if (json_array_size(json_object_get(json_object_get(obj, "metadata"), "ownerReferences")))
            enqueue(gc, 'd', dk);
        if (json_object_get(json_object_get(obj, "metadata"), "deletionTimestamp") &&
            (has_finalizer(obj, "orphan") || has_finalizer(obj, "foregroundDeletion")))
            enqueue(gc, 'o', dk);
        if (json_object_get(json_object_get(obj, "metadata"), "deletionTimestamp"))
            enqueue_owners(gc, obj, ns);
        return;
    }
    /* Gone: its dependents are checked, its owners may have waited for it. */
    const char *uid = vk_str(json_object_get(prev, "metadata"), "uid");
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(gc->deps, uid), k, v) enqueue(gc, 'd', k);
    if (prev)
        enqueue_owners(gc, prev, ns);
    unindex(gc, dk);
}

static void on_event(void *ud, vk_watcher *w, int err)
{
    gc_watch *gw = ud;
    vk_gc *gc = gw->gc;
    if (err) {
        vk_watch_free(w);
        gw->w = NULL;
        if (err != VK_ECLOSED && !gc->stopping)
            vk_log(VK_LOG_ERROR, "gc", "Watch ended", "resource=\"%s\" err=%d",
                   vk_resources[gw->res]->plural, err);
        return;
    }
    vk_event *ev;
    int type;
    while (vk_watch_next(w, &ev, &type) == 1) {
        char dk[VK_KEY_MAX + 20], ns[256];
        obj_key(dk, sizeof dk, gw->res, ev->ns, ev->ns_len, ev->name, ev->name_len);
        snprintf(ns, sizeof ns, "%.*s", (int)ev->ns_len, ev->ns);
        json_t *obj = ev->obj ? json_loadb(ev->obj, ev->obj_len, 0, NULL) : NULL;
        json_t *prev = ev->prev ? json_loadb(ev->prev, ev->prev_len, 0, NULL) : NULL;
        if (obj || prev)
            observe(gc, dk, ns, obj, prev);
        json_decref(obj);
        json_decref(prev);
        vk_event_unref(ev);
    }
}

typedef struct start_ctx {
    vk_gc *gc;
    size_t res;
} start_ctx;

static int visit(void *ud, const vk_kv *kv)
{
    start_ctx *c = ud;
    uint32_t id;
    const char *ns, *name;
    size_t nsl, nl;
    /* Only objects in a relation matter: the rest is not parsed. */
    if (vk_key_parse(kv->key, kv->key_len, &id, &ns, &nsl, &name, &nl) ||
        (!memmem(kv->val, kv->val_len, "\"ownerReferences\"", 17) &&
         !memmem(kv->val, kv->val_len, "\"deletionTimestamp\"", 19)))
        return 1;
    json_t *obj = json_loadb(kv->val, kv->val_len, 0, NULL);
    if (obj) {
        char dk[VK_KEY_MAX + 20], nsb[256];
        obj_key(dk, sizeof dk, c->res, ns, nsl, name, nl);
        snprintf(nsb, sizeof nsb, "%.*s", (int)nsl, ns);
        observe(c->gc, dk, nsb, obj, NULL);
        json_decref(obj);
    }
    return 1;
}

/* ---- writes ---- */

typedef struct write_ctx {
    vk_gc *gc;
    char owner_key[VK_KEY_MAX + 20]; /* an owner to look at once the write is done */
} write_ctx;

static void written(void *ud, int err, const char *json, size_t len, json_t *status)
{
    write_ctx *w = ud;
    if (err && err != VK_ENOTFOUND && !w->gc->stopping)
        vk_log(VK_LOG_DEBUG, "gc", "Write refused", "err=\"%s\"",
               json_string_value(json_object_get(status, "message")));
    if (*w->owner_key && !w->gc->stopping)
        enqueue(w->gc, 'o', w->owner_key);
    free(w);
}

static void delete_object(vk_gc *gc, const vk_resource *res, const char *ns, const char *name,
                          const char *uid, const char *policy)
{
    write_ctx *w = calloc(1, sizeof *w);
    if (!w)
        return;
    w->gc = gc;
    json_t *opts =
        json_pack("{s:s, s:{s:s}}", "propagationPolicy", policy, "preconditions", "uid", uid);
    vk_registry_delete_opts(gc->s, res, ns, name, opts, written, w);
    json_decref(opts);
}

typedef struct drop_refs {
    json_t *uids;          /* owner uids whose references go */
    char uid[64];          /* the object's own uid, else nothing is changed */
    const char *finalizer; /* a finalizer to remove as well (or NULL) */
} drop_refs;

static void apply_drop(void *ud, json_t *obj)
{
    drop_refs *d = ud;
    json_t *meta = json_object_get(obj, "metadata");
    if (strcmp(vk_str(meta, "uid"), d->uid))
        return;
    json_t *refs = json_object_get(meta, "ownerReferences");
    json_t *keep = json_array();
    size_t i, j;
    json_t *ref, *u;
    json_array_foreach(refs, i, ref)
    {
        bool drop = false;
        json_array_foreach(d->uids, j, u) drop |= !strcmp(vk_str(ref, "uid"), json_string_value(u));
        if (!drop)
            json_array_append(keep, ref);
    }
    if (json_array_size(keep))
        json_object_set(meta, "ownerReferences", keep);
    else
        json_object_del(meta, "ownerReferences");
    json_decref(keep);
    if (d->finalizer) {
        json_t *fins = json_array();
        json_t *f;
        json_array_foreach(json_object_get(meta, "finalizers"), i, f)
        {
            if (!json_is_string(f) || strcmp(json_string_value(f), d->finalizer))
                json_array_append(fins, f);
        }
        if (json_array_size(fins))
            json_object_set(meta, "finalizers", fins);
        else
            json_object_del(meta, "finalizers");
        json_decref(fins);
    }
}

typedef struct edit_ctx {
    write_ctx w;
    drop_refs d;
} edit_ctx;

static void edited(void *ud, int err, const char *json, size_t len, json_t *status)
{
    edit_ctx *e = ud;
    json_decref(e->d.uids);
    write_ctx *w = malloc(sizeof *w);
    if (w) {
        *w = e->w;
        written(w, err, json, len, status);
    }
    free(e);
}

static void edit_object(vk_gc *gc, const vk_resource *res, const char *ns, const char *name,
                        const char *uid, json_t *drop_uids /* stolen */, const char *finalizer,
                        const char *then_owner)
{
    edit_ctx *e = calloc(1, sizeof *e);
    if (!e) {
        json_decref(drop_uids);
        return;
    }
    e->w.gc = gc;
    snprintf(e->w.owner_key, sizeof e->w.owner_key, "%s", then_owner ? then_owner : "");
    e->d.uids = drop_uids;
    snprintf(e->d.uid, sizeof e->d.uid, "%s", uid);
    e->d.finalizer = finalizer;
    vk_registry_edit(gc->s, res, ns, name, apply_drop, &e->d, edited, e);
}

/* True when obj's ownerReferences name uid. */
static bool names_owner(const json_t *obj, const char *uid)
{
    size_t i;
    json_t *ref;
    json_array_foreach(json_object_get(json_object_get(obj, "metadata"), "ownerReferences"), i, ref)
    {
        if (!strcmp(vk_str(ref, "uid"), uid))
            return true;
    }
    return false;
}

/* Re-indexes dependent dk from the store. */
static void repair(vk_gc *gc, const char *dk)
{
    const vk_resource *res;
    char ns[256], name[256];
    char key[VK_KEY_MAX + 20];
    snprintf(key, sizeof key, "%s", dk);
    json_t *obj = parse_key(key, &res, ns, sizeof ns, name, sizeof name)
                      ? read_object(gc, res, ns, name)
                      : NULL;
    if (obj)
        index_object(gc, key, obj);
    else
        unindex(gc, key);
    json_decref(obj);
}

/* ---- reconcile ---- */

static int check_dependent(vk_gc *gc, const char *key)
{
    const vk_resource *res;
    char ns[256], name[256];
    if (!parse_key(key, &res, ns, sizeof ns, name, sizeof name))
        return 0;
    json_t *obj = read_object(gc, res, ns, name);
    if (!obj)
        return 0;
    json_t *meta = json_object_get(obj, "metadata");
    json_t *refs = json_object_get(meta, "ownerReferences");
    json_t *drop = json_array();
    int solid = 0, waiting = 0, dangling = 0;
    size_t i;
    json_t *ref;
    json_array_foreach(refs, i, ref)
    {
        bool found;
        size_t r = resolve(ref, &found);
        if (!found) {
            solid++; /* a kind not served: nothing can be said, it is left alone */
            continue;
        }
        json_t *owner = read_object(gc, vk_resources[r], ns, vk_str(ref, "name"));
        const char *ouid = vk_str(json_object_get(owner, "metadata"), "uid");
        if (!owner || strcmp(ouid, vk_str(ref, "uid"))) {
            dangling++;
            json_array_append_new(drop, json_string(vk_str(ref, "uid")));
        } else if (json_object_get(json_object_get(owner, "metadata"), "deletionTimestamp") &&
                   has_finalizer(owner, "foregroundDeletion")) {
            waiting++;
            json_array_append_new(drop, json_string(vk_str(ref, "uid")));
        } else {
            solid++;
        }
        json_decref(owner);
    }
    const char *uid = vk_str(meta, "uid");
    if (solid) {
        if (dangling + waiting)
            edit_object(gc, res, ns, name, uid, json_incref(drop), NULL, NULL);
    } else if (dangling + waiting && !json_object_get(meta, "deletionTimestamp")) {
        const char *policy = "Background";
        if (waiting && json_object_size(json_object_get(gc->deps, uid)))
            policy = "Foreground";
        else if (has_finalizer(obj, "orphan"))
            policy = "Orphan";
        else if (has_finalizer(obj, "foregroundDeletion"))
            policy = "Foreground";
        delete_object(gc, res, ns, name, uid, policy);
    }
    json_decref(drop);
    json_decref(obj);
    return 0;
}

static int check_owner(vk_gc *gc, const char *key)
{
    const vk_resource *res;
    char ns[256], name[256];
    if (!parse_key(key, &res, ns, sizeof ns, name, sizeof name))
        return 0;
    json_t *obj = read_object(gc, res, ns, name);
    json_t *meta = json_object_get(obj, "metadata");
    if (!obj || !json_object_get(meta, "deletionTimestamp")) {
        json_decref(obj);
        return 0;
    }
    const char *uid = vk_str(meta, "uid");
    json_t *deps = json_object_get(gc->deps, uid);
    const char *dk;
    json_t *v;
    if (has_finalizer(obj, "orphan")) {
        /* The dependents first; the finalizer once none names the owner any more. */
        bool any = false;
        json_t *stale = NULL;
        json_object_foreach(deps, dk, v)
        {
            const vk_resource *dres;
            char dns[256], dname[256];
            json_t *dep = parse_key(dk, &dres, dns, sizeof dns, dname, sizeof dname)
                              ? read_object(gc, dres, dns, dname)
                              : NULL;
            if (dep && names_owner(dep, uid)) {
                edit_object(gc, dres, dns, dname, vk_str(json_object_get(dep, "metadata"), "uid"),
                            json_pack("[s]", uid), NULL, key);
                any = true;
            } else {
                stale = json_string(dk);
            }
            json_decref(dep);
            if (stale)
                break;
        }
        if (stale) {
            /* The index is behind the store (its event is still on the way): what the
             * store says wins, and the owner is looked at again. */
            repair(gc, json_string_value(stale));
            json_decref(stale);
            json_decref(obj);
            return 1;
        }
        if (!any)
            edit_object(gc, res, ns, name, uid, json_array(), "orphan", NULL);
        json_decref(obj);
        return 0;
    }
    if (has_finalizer(obj, "foregroundDeletion")) {
        bool blocking = false;
        json_object_foreach(deps, dk, v)
        {
            const vk_resource *dres;
            char dns[256], dname[256];
            json_t *dep = parse_key(dk, &dres, dns, sizeof dns, dname, sizeof dname)
                              ? read_object(gc, dres, dns, dname)
                              : NULL;
            if (!dep || !names_owner(dep, uid)) {
                json_decref(dep);
                continue;
            }
            json_t *dmeta = json_object_get(dep, "metadata");
            size_t i;
            json_t *ref;
            json_array_foreach(json_object_get(dmeta, "ownerReferences"), i, ref)
            {
                if (!strcmp(vk_str(ref, "uid"), uid) &&
                    json_is_true(json_object_get(ref, "blockOwnerDeletion")))
                    blocking = true;
            }
            if (!json_object_get(dmeta, "deletionTimestamp"))
                enqueue(gc, 'd', dk); /* kube's attemptToDelete of each dependent */
            json_decref(dep);
        }
        if (!blocking)
            edit_object(gc, res, ns, name, uid, json_array(), "foregroundDeletion", NULL);
        json_decref(obj);
        return blocking ? 1000 : 0; /* look again; dependents' deletions also wake it */
    }
    json_decref(obj);
    return 0;
}

static int reconcile(void *ud, const char *key)
{
    vk_gc *gc = ud;
    if (gc->stopping || strlen(key) < 2)
        return 0;
    return key[0] == 'd' ? check_dependent(gc, key + 2) : check_owner(gc, key + 2);
}

int vk_gc_start(vk_server *s, vk_gc **out)
{
    vk_gc *gc = calloc(1, sizeof *gc);
    if (!gc)
        return -ENOMEM;
    gc->s = s;
    gc->deps = json_object();
    gc->owners = json_object();
    size_t n = 0;
    while (vk_resources[n])
        n++;
    gc->watches = calloc(n, sizeof *gc->watches);
    gc->ctl = vk_controller_new(s, "garbage-collector", reconcile, gc);
    if (!gc->deps || !gc->owners || !gc->watches || !gc->ctl) {
        vk_gc_free(gc);
        return -ENOMEM;
    }
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        if (vk_resources[i]->review)
            continue; /* never stored */
        char prefix[VK_KEY_MAX];
        int plen = vk_key_prefix(prefix, sizeof prefix, vk_resource_id(vk_resources[i]), NULL);
        start_ctx c = {gc, i};
        vk_list_opts o = {.prefix = prefix, .prefix_len = (size_t)plen};
        vk_list_info info = {0};
        if ((rc = vk_store_list(s->store, &o, visit, &c, &info)))
            break;
        gc_watch *gw = &gc->watches[gc->nwatches++];
        *gw = (gc_watch){.gc = gc, .res = i};
        vk_watch_opts wo = {.resource = vk_resource_id(vk_resources[i]),
                            .from_rev = info.rev,
                            .queue_max = 65536,
                            .notify = on_event,
                            .ud = gw};
        rc = vk_watch_add(vk_store_hub(s->store), &wo, &gw->w);
    }
    if (rc) {
        vk_gc_free(gc);
        return rc;
    }
    *out = gc;
    return 0;
}

void vk_gc_free(vk_gc *gc)
{
    if (!gc)
        return;
    gc->stopping = true;
    for (size_t i = 0; i < gc->nwatches; i++)
        vk_watch_free(gc->watches[i].w);
    vk_controller_free(gc->ctl);
    json_decref(gc->deps);
    json_decref(gc->owners);
    free(gc->watches);
    free(gc);
}
