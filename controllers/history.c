#include "controllers/history.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/registry/registry.h"
#include "apiserver/registry/selector.h"
#include "apiserver/server.h"
#include "common/err.h"
#include "common/log.h"
#include "controllers/objects.h"

json_t *vk_history_patch(const json_t *owner)
{
    json_t *tmpl = json_deep_copy(json_object_get(json_object_get(owner, "spec"), "template"));
    if (!json_is_object(tmpl))
        tmpl = json_object();
    json_object_set_new(tmpl, "$patch", json_string("replace"));
    json_t *patch = json_pack("{s:{s:o}}", "spec", "template", tmpl);
    char *sorted = json_dumps(patch, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(patch);
    json_t *out = sorted ? json_loads(sorted, 0, NULL) : NULL;
    free(sorted);
    return out ? out : json_object();
}

long long vk_history_number(const json_t *rev)
{
    return json_integer_value(json_object_get(rev, "revision"));
}

static int cmp_revision(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    long long rx = vk_history_number(x), ry = vk_history_number(y);
    if (rx != ry)
        return rx < ry ? -1 : 1;
    int c =
        strcmp(vk_str(vk_meta(x), "creationTimestamp"), vk_str(vk_meta(y), "creationTimestamp"));
    return c ? c : strcmp(vk_str(vk_meta(x), "name"), vk_str(vk_meta(y), "name"));
}

json_t *vk_history_owned(const vk_history *h, const json_t *owner)
{
    const char *ns = vk_str(vk_meta(owner), "namespace"), *uid = vk_str(vk_meta(owner), "uid");
    size_t n = 0, cap = 8;
    json_t **v = malloc(cap * sizeof *v);
    const char *k;
    json_t *r;
    json_object_foreach((json_t *)vk_informer_items(h->revs), k, r)
    {
        const json_t *ref = vk_controller_ref(r);
        if (!v || strcmp(vk_str(vk_meta(r), "namespace"), ns) || !ref ||
            strcmp(vk_str(ref, "uid"), uid))
            continue;
        if (n == cap) {
            json_t **nv = realloc(v, (cap *= 2) * sizeof *nv);
            if (!nv)
                break;
            v = nv;
        }
        v[n++] = r;
    }
    json_t *out = json_array();
    if (v)
        qsort(v, n, sizeof *v, cmp_revision);
    for (size_t i = 0; v && i < n; i++)
        json_array_append(out, v[i]);
    free(v);
    return out;
}

void vk_history_hash(const json_t *data, long long collisions, char out[16])
{
    char *js = json_dumps(data, JSON_COMPACT | JSON_SORT_KEYS);
    uint32_t h = 2166136261u; /* FNV-32 (multiply, then xor), as Go's fnv.New32 */
    for (const char *p = js ? js : ""; *p; p++)
        h = (h * 16777619u) ^ (unsigned char)*p;
    free(js);
    if (collisions >= 0) {
        char num[24];
        snprintf(num, sizeof num, "%lld", collisions);
        for (const char *p = num; *p; p++)
            h = (h * 16777619u) ^ (unsigned char)*p;
    }
    static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
    char dec[16];
    snprintf(dec, sizeof dec, "%u", h);
    size_t n = strlen(dec);
    for (size_t i = 0; i < n; i++)
        out[i] = alphabet[(unsigned char)dec[i] % (sizeof alphabet - 1)];
    out[n] = 0;
}

void vk_history_name(const char *owner, const char *hash, char out[300])
{
    snprintf(out, 300, "%.223s-%s", owner, hash);
}

typedef struct rev_write {
    vk_history *h;
    char ns[256], owner[256]; /* the owner to reconcile after */
    char uid[64];             /* creates: the owner's uid (the in-flight mark) */
    char name[300];           /* creates: the revision's name */
    long long number;
} rev_write;

static rev_write *rev_write_new(vk_history *h, const char *ns, const char *owner)
{
    rev_write *w = calloc(1, sizeof *w);
    if (w) {
        w->h = h;
        snprintf(w->ns, sizeof w->ns, "%s", ns);
        snprintf(w->owner, sizeof w->owner, "%s", owner);
    }
    return w;
}

static void rev_written(void *ud, int err, const char *json, size_t len, json_t *status)
{
    rev_write *w = ud;
    if (!*w->h->stopping) {
        if (err)
            vk_log(VK_LOG_DEBUG, w->h->component, "Revision write refused", "err=\"%s\"",
                   json_string_value(json_object_get(status, "message")));
        if (*w->owner) {
            char key[520];
            snprintf(key, sizeof key, "%s/%s", w->ns, w->owner);
            vk_controller_enqueue(w->h->ctl, key);
        }
    }
    free(w);
}

static void set_number(void *ud, json_t *obj)
{
    json_object_set_new(obj, "revision", json_integer(((rev_write *)ud)->number));
}

static void bump_collisions(void *ud, json_t *obj)
{
    json_t *st = json_object_get(obj, "status");
    if (!json_is_object(st))
        json_object_set_new(obj, "status", st = json_object());
    json_object_set_new(
        st, "collisionCount",
        json_integer(json_integer_value(json_object_get(st, "collisionCount")) + 1));
}

/* A name taken by a revision of other data: kube counts a collision, which changes the
 * hash (and the name) of the next try. */
static void rev_created(void *ud, int err, const char *json, size_t len, json_t *status)
{
    rev_write *w = ud;
    vk_history *h = w->h;
    if (!*h->stopping) {
        json_object_del(h->creating, w->uid);
        const json_t *other = err == VK_EEXIST ? vk_informer_get(h->revs, w->ns, w->name) : NULL;
        const json_t *owner = vk_informer_get(h->owners, w->ns, w->owner);
        json_t *patch = other && owner ? vk_history_patch(owner) : NULL;
        /* kube: the same data under the owner's control is the revision wanted; any
         * other is a collision. */
        const json_t *ref = other ? vk_controller_ref(other) : NULL;
        bool collision = other && patch &&
                         (!json_equal(json_object_get(other, "data"), patch) || !ref ||
                          strcmp(vk_str(ref, "uid"), w->uid));
        json_decref(patch);
        if (collision) {
            rev_write *e = rev_write_new(h, w->ns, w->owner);
            if (e)
                vk_registry_edit(h->s, h->owner_res, w->ns, w->owner, bump_collisions, NULL,
                                 rev_written, e);
        }
    }
    rev_written(w, err == VK_EEXIST ? 0 : err, json, len, status);
}

bool vk_history_create(vk_history *h, const json_t *owner, const char *name, json_t *labels,
                       const json_t *data, long long number)
{
    json_t *m = vk_meta(owner);
    const char *uid = vk_str(m, "uid");
    if (!h->creating)
        h->creating = json_object();
    rev_write *w = json_object_get(h->creating, uid)
                       ? NULL
                       : rev_write_new(h, vk_str(m, "namespace"), vk_str(m, "name"));
    if (!w) {
        json_decref(labels);
        return false;
    }
    snprintf(w->uid, sizeof w->uid, "%s", uid);
    snprintf(w->name, sizeof w->name, "%s", name);
    json_t *rev =
        json_pack("{s:{s:s, s:o, s:[{s:s, s:s, s:s, s:s, s:b, s:b}]}, s:O, s:I}", "metadata",
                  "name", name, "labels", labels, "ownerReferences", "apiVersion", "apps/v1",
                  "kind", h->kind, "name", vk_str(m, "name"), "uid", uid, "controller", 1,
                  "blockOwnerDeletion", 1, "data", data, "revision", (json_int_t)number);
    json_t *ann = json_object_get(m, "annotations");
    if (json_object_size(ann))
        json_object_set(vk_meta(rev), "annotations", ann);
    json_object_set_new(h->creating, uid, json_true());
    vk_registry_create(h->s, h->revs_res, w->ns, rev, false, rev_created, w);
    json_decref(rev);
    return true;
}

typedef struct adopt_ctx {
    rev_write w;
    json_t *ref;
} adopt_ctx;

static void add_ref(void *ud, json_t *obj)
{
    adopt_ctx *a = ud;
    if (vk_controller_ref(obj) || strcmp(vk_str(vk_meta(obj), "uid"), a->w.uid))
        return; /* someone else's now, or another revision of the name */
    json_t *m = vk_meta(obj);
    json_t *refs = json_object_get(m, "ownerReferences");
    if (!json_is_array(refs))
        json_object_set_new(m, "ownerReferences", refs = json_array());
    json_array_append(refs, a->ref);
}

static void adopted(void *ud, int err, const char *json, size_t len, json_t *status)
{
    adopt_ctx *a = ud;
    json_decref(a->ref);
    rev_write *w = malloc(sizeof *w);
    if (w) {
        *w = a->w;
        rev_written(w, err, json, len, status);
    }
    free(a);
}

int vk_history_adopt(vk_history *h, const json_t *owner)
{
    json_t *m = vk_meta(owner);
    if (json_object_get(m, "deletionTimestamp"))
        return 0;
    const char *ns = vk_str(m, "namespace");
    json_t *text =
        vk_label_selector_format(json_object_get(json_object_get(owner, "spec"), "selector"));
    vk_selector *sel = NULL;
    char err[256];
    if (json_string_length(text))
        vk_label_selector_parse(json_string_value(text), &sel, err, sizeof err);
    json_decref(text);
    if (!sel)
        return 0;
    int n = 0;
    const char *k;
    json_t *r;
    json_object_foreach((json_t *)vk_informer_items(h->revs), k, r)
    {
        if (strcmp(vk_str(vk_meta(r), "namespace"), ns) || vk_controller_ref(r) ||
            !vk_selector_match_labels(sel, json_object_get(vk_meta(r), "labels")))
            continue;
        adopt_ctx *a = calloc(1, sizeof *a);
        if (!a)
            break;
        a->w = (rev_write){.h = h};
        snprintf(a->w.ns, sizeof a->w.ns, "%s", ns);
        snprintf(a->w.owner, sizeof a->w.owner, "%s", vk_str(m, "name"));
        snprintf(a->w.uid, sizeof a->w.uid, "%s", vk_str(vk_meta(r), "uid"));
        a->ref = json_pack("{s:s, s:s, s:s, s:s, s:b, s:b}", "apiVersion", "apps/v1", "kind",
                           h->kind, "name", vk_str(m, "name"), "uid", vk_str(m, "uid"),
                           "controller", 1, "blockOwnerDeletion", 1);
        vk_registry_edit(h->s, h->revs_res, ns, vk_str(vk_meta(r), "name"), add_ref, a, adopted, a);
        n++;
    }
    vk_selector_free(sel);
    return n;
}

void vk_history_renumber(vk_history *h, const json_t *rev, long long number)
{
    const json_t *ref = vk_controller_ref(rev);
    rev_write *w = rev_write_new(h, vk_str(vk_meta(rev), "namespace"), vk_str(ref, "name"));
    if (!w)
        return;
    w->number = number;
    vk_registry_edit(h->s, h->revs_res, w->ns, vk_str(vk_meta(rev), "name"), set_number, w,
                     rev_written, w);
}

void vk_history_delete(vk_history *h, const json_t *rev)
{
    rev_write *w = rev_write_new(h, vk_str(vk_meta(rev), "namespace"), "");
    if (w)
        vk_registry_delete(h->s, h->revs_res, w->ns, vk_str(vk_meta(rev), "name"), rev_written, w);
}

void vk_history_free(vk_history *h)
{
    json_decref(h->creating);
    h->creating = NULL;
}
