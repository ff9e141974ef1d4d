/* The CustomResourceDefinition controllers of kube's apiextensions-apiserver in one:
 * naming (status.acceptedNames and NamesAccepted), establishing (Established), the
 * storage versions (status.storedVersions), serving (the registry's resources follow
 * the definition), and the cleanup finalizer (a deleted definition's objects are
 * deleted, then its finalizer removed, then it is no longer served).
 *
 * Not yet: name conflicts between definitions of one group (every name is accepted),
 * the NonStructuralSchema condition. */
#include "controllers/crd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apiserver/registry/registry.h"
#include "apiserver/resources/apiextensions/customresources.h"
#include "apiserver/server.h"
#include "common/err.h"
#include "common/log.h"
#include "common/timefmt.h"
#include "controllers/controller.h"
#include "controllers/informer.h"
#include "controllers/objects.h"
#include "storage/store.h"

#define CLEANUP_FINALIZER "customresourcecleanup.apiextensions.k8s.io"

struct vk_crd_ctl {
    vk_server *s;
    const vk_resource *res;
    vk_informer *crds;
    vk_controller *ctl;
    bool stopping;
};

static const json_t *condition(const json_t *crd, const char *type)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(json_object_get(crd, "status"), "conditions"), i, c)
    {
        if (!strcmp(vk_str(c, "type"), type))
            return c;
    }
    return NULL;
}

static bool condition_true(const json_t *crd, const char *type)
{
    const json_t *c = condition(crd, type);
    return c && !strcmp(vk_str(c, "status"), "True");
}

/* Sets a condition (its transition time only when its status changes). */
static void set_condition(json_t *crd, const char *type, const char *st, const char *reason,
                          const char *message)
{
    json_t *status = json_object_get(crd, "status");
    if (!json_is_object(status))
        json_object_set_new(crd, "status", status = json_object());
    json_t *conds = json_object_get(status, "conditions");
    if (!json_is_array(conds))
        json_object_set_new(status, "conditions", conds = json_array());
    char now[21];
    vk_time_format(time(NULL), now);
    size_t i;
    json_t *c;
    json_array_foreach(conds, i, c)
    {
        if (strcmp(vk_str(c, "type"), type))
            continue;
        if (strcmp(vk_str(c, "status"), st))
            json_object_set_new(c, "lastTransitionTime", json_string(now));
        json_object_set_new(c, "status", json_string(st));
        json_object_set_new(c, "reason", json_string(reason));
        json_object_set_new(c, "message", json_string(message));
        return;
    }
    json_array_append_new(conds, json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", type, "status", st,
                                           "lastTransitionTime", now, "reason", reason, "message",
                                           message));
}

/* The names a definition asks for, with kube's defaults (singular: the kind in lower
 * case; listKind: kind + "List"). */
static json_t *wanted_names(const json_t *crd)
{
    json_t *names = json_deep_copy(json_object_get(json_object_get(crd, "spec"), "names"));
    if (!json_is_object(names))
        names = json_object();
    const char *kind = vk_str(names, "kind");
    if (!*vk_str(names, "singular")) {
        char lower[256];
        size_t i = 0;
        for (; kind[i] && i < sizeof lower - 1; i++)
            lower[i] = (char)(kind[i] >= 'A' && kind[i] <= 'Z' ? kind[i] - 'A' + 'a' : kind[i]);
        lower[i] = 0;
        json_object_set_new(names, "singular", json_string(lower));
    }
    return names;
}

/* The status edit of a live definition: accepted names, conditions, stored versions. */
static void accept_names(void *ud, json_t *crd)
{
    json_t *status = json_object_get(crd, "status");
    if (!json_is_object(status))
        json_object_set_new(crd, "status", status = json_object());
    json_object_set_new(status, "acceptedNames", wanted_names(crd));
    set_condition(crd, "NamesAccepted", "True", "NoConflicts", "no conflicts found");
    if (!condition_true(crd, "Established"))
        set_condition(crd, "Established", "True", "InitialNamesAccepted",
                      "the initial names have been accepted");
    json_t *stored = json_object_get(status, "storedVersions");
    if (!json_is_array(stored))
        json_object_set_new(status, "storedVersions", stored = json_array());
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(json_object_get(crd, "spec"), "versions"), i, v)
    {
        if (!json_is_true(json_object_get(v, "storage")))
            continue;
        bool have = false;
        size_t j;
        json_t *s;
        json_array_foreach(stored, j, s) have = have || json_equal(s, json_object_get(v, "name"));
        if (!have)
            json_array_append(stored, json_object_get(v, "name"));
    }
}

static void progress(void *ud, json_t *crd)
{
    const char *msg = ud;
    bool done = !strcmp(msg, "removed all instances");
    set_condition(crd, "Terminating", "True",
                  done ? "InstanceDeletionCompleted" : "InstanceDeletionInProgress", msg);
    if (!done)
        return;
    json_t *fin = json_object_get(vk_meta(crd), "finalizers");
    size_t i;
    json_t *f;
    json_array_foreach(fin, i, f)
    {
        if (!strcmp(json_string_value(f), CLEANUP_FINALIZER)) {
            json_array_remove(fin, i);
            break;
        }
    }
}

static void written(void *ud, int err, const char *json, size_t len, json_t *status)
{
    vk_crd_ctl *c = ud;
    if (err && err != VK_ENOTFOUND && !c->stopping)
        vk_log(VK_LOG_DEBUG, "crd", "Write refused", "err=\"%s\"",
               json_string_value(json_object_get(status, "message")));
}

typedef struct objects {
    json_t *keys; /* [[ns, name], ...] */
} objects;

static int collect(void *ud, const vk_kv *kv)
{
    objects *o = ud;
    uint32_t id;
    const char *ns, *name;
    size_t nsl, nl;
    if (!vk_key_parse(kv->key, kv->key_len, &id, &ns, &nsl, &name, &nl))
        json_array_append_new(o->keys, json_pack("[s#, s#]", ns, (int)nsl, name, (int)nl));
    return 1;
}

/* Deletes the definition's objects; true once there are none. */
static bool delete_instances(vk_crd_ctl *c, const char *name)
{
    const vk_resource *res = vk_crd_storage_resource(name);
    if (!res)
        return true;
    char prefix[VK_KEY_MAX];
    int plen = vk_key_prefix(prefix, sizeof prefix, vk_resource_id(res), NULL);
    objects o = {json_array()};
    vk_list_opts lo = {.prefix = prefix, .prefix_len = plen > 0 ? (size_t)plen : 0, .limit = 500};
    vk_list_info info;
    if (plen < 0 || vk_store_list(c->s->store, &lo, collect, &o, &info)) {
        json_decref(o.keys);
        return false;
    }
    size_t n = json_array_size(o.keys), i;
    json_t *k;
    json_array_foreach(o.keys, i, k)
    {
        vk_registry_delete(c->s, res, json_string_value(json_array_get(k, 0)),
                           json_string_value(json_array_get(k, 1)), written, c);
    }
    json_decref(o.keys);
    return n == 0;
}

static int reconcile(void *ud, const char *name)
{
    vk_crd_ctl *c = ud;
    if (c->stopping)
        return 0;
    const json_t *crd = vk_informer_get(c->crds, "", name);
    if (!crd) {
        vk_crd_unserve(name);
        return 0;
    }
    if (json_object_get(vk_meta(crd), "deletionTimestamp")) {
        vk_crd_serve(crd); /* creates refused from now on */
        if (!delete_instances(c, name)) {
            if (strcmp(vk_str(condition(crd, "Terminating"), "reason"),
                       "InstanceDeletionInProgress"))
                vk_registry_edit(c->s, c->res, "", name, progress,
                                 (void *)"CustomResource deletion is in progress", written, c);
            return 200;
        }
        vk_registry_edit(c->s, c->res, "", name, progress, (void *)"removed all instances", written,
                         c);
        return 0;
    }
    json_t *names = wanted_names(crd);
    bool current =
        json_equal(names, json_object_get(json_object_get(crd, "status"), "acceptedNames")) &&
        condition_true(crd, "NamesAccepted") && condition_true(crd, "Established");
    json_decref(names);
    if (!current) {
        vk_registry_edit(c->s, c->res, "", name, accept_names, NULL, written, c);
        return 0;
    }
    /* Stored versions follow the storage version too. */
    json_t *probe = json_deep_copy(crd);
    accept_names(NULL, probe);
    bool stored_current =
        json_equal(json_object_get(json_object_get(probe, "status"), "storedVersions"),
                   json_object_get(json_object_get(crd, "status"), "storedVersions"));
    json_decref(probe);
    if (!stored_current)
        vk_registry_edit(c->s, c->res, "", name, accept_names, NULL, written, c);
    if (vk_crd_serve(crd))
        return -ENOMEM;
    return 0;
}

static void crd_changed(void *ud, const json_t *old, const json_t *obj)
{
    vk_crd_ctl *c = ud;
    const char *name = vk_str(vk_meta(obj ? obj : old), "name");
    vk_controller_enqueue(c->ctl, name);
}

int vk_crd_ctl_start(vk_server *s, vk_crd_ctl **out)
{
    vk_crd_ctl *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    *c = (vk_crd_ctl){
        .s = s, .res = vk_resource_find("apiextensions.k8s.io", "v1", "customresourcedefinitions")};
    int rc = vk_informer_start(s, c->res, &c->crds);
    if (!rc && !(c->ctl = vk_controller_new(s, "crd", reconcile, c)))
        rc = -ENOMEM;
    if (!rc)
        rc = vk_informer_subscribe(c->crds, crd_changed, c);
    if (rc) {
        vk_crd_ctl_free(c);
        return rc;
    }
    /* The definitions stored are served before the first request is (kube's
     * crd-informer-synced readiness). */
    const char *k;
    json_t *crd;
    json_object_foreach((json_t *)vk_informer_items(c->crds), k, crd)
    {
        if (condition_true(crd, "Established"))
            vk_crd_serve(crd);
        vk_controller_enqueue(c->ctl, vk_str(vk_meta(crd), "name"));
    }
    *out = c;
    return 0;
}

void vk_crd_ctl_free(vk_crd_ctl *c)
{
    if (!c)
        return;
    c->stopping = true;
    vk_controller_free(c->ctl);
    vk_informer_free(c->crds);
    free(c);
    vk_crd_free_all();
}
