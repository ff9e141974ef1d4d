/* Update, patch and delete: one read-modify-write path (kube's generic store
 * GuaranteedUpdate). The stored object is read, the change applied (the new object, a
 * patch, or deletion), the result checked against the old object (preconditions,
 * immutable system fields, the strategy) and written with compare-and-swap on the old
 * revision. A conflict the client did not ask for (no resourceVersion in its object)
 * is retried from a fresh read, as kube retries patches. An update that changes
 * nothing is not written (no new resourceVersion, no watch event). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apiserver/auth/authn.h"
#include "apiserver/codec/patch.h"
#include "apiserver/codec/patchmeta.h"
#include "apiserver/http/status.h"
#include "apiserver/registry/common.h"
#include "apiserver/registry/internal.h"
#include "apiserver/registry/quota.h"
#include "apiserver/registry/registry.h"
#include "apiserver/server.h"
#include "common/err.h"
#include "common/timefmt.h"
#include "storage/store.h"
#include "storage/watch.h"

enum change { CH_UPDATE, CH_JSON_PATCH, CH_MERGE_PATCH, CH_STRATEGIC_PATCH, CH_DELETE, CH_EDIT };

typedef struct rmw {
    vk_server *s;
    vk_req *r; /* NULL once the client went away */
    const vk_resource *res;
    char ns[256], name[256];
    enum change change;
    json_t *body; /* the new object, the patch, or DeleteOptions (may be NULL) */
    bool dry_run, client_rv;
    int attempts;
    bool deleted;    /* the write was a delete */
    json_t *victim;  /* the object a delete removes (for strategy->release) */
    json_t *current; /* the object read by this attempt (borrowed during run) */
    bool checked;    /* field validation ran (first attempt) */
    json_t *dups;    /* duplicated keys in the body */
    int fmt;         /* the reply's format */
    char uid[64];
    /* In-process callers: the outcome goes to cb instead of a request. */
    vk_create_cb cb;
    void *cb_ud;
    vk_user *user;             /* a client's write: who asks (a copy: r may go first) */
    vk_edit_fn edit;           /* CH_EDIT: changes the object in place (a subresource's write) */
    const vk_subresource *sub; /* a write through a subresource (status, finalize) */
    void *edit_ud;
    size_t nquota; /* quota updates ahead of the object in the transaction */
} rmw;

static void rmw_free(rmw *m)
{
    if (m->r)
        m->r->on_abort = NULL;
    json_decref(m->body);
    json_decref(m->dups);
    json_decref(m->victim);
    vk_user_free(m->user);
    free(m);
}

static void on_abort(vk_req *r, void *data)
{
    ((rmw *)data)->r = NULL;
}

static void reply_status(rmw *m, json_t *st)
{
    if (m->cb) {
        int code = (int)json_integer_value(json_object_get(st, "code"));
        m->cb(m->cb_ud,
              code == 404   ? VK_ENOTFOUND
              : code == 409 ? VK_ECONFLICT
                            : VK_EINVALID,
              NULL, 0, st);
        json_decref(st);
    } else if (m->r) {
        vk_send_status(m->r, st);
    } else {
        json_decref(st);
    }
    rmw_free(m);
}

static void reply_object(rmw *m, const char *json, size_t len)
{
    json_t *obj = NULL, *view = NULL;
    if (m->cb)
        m->cb(m->cb_ud, 0, json, len, NULL);
    else if (m->r && m->sub && m->sub->view && (obj = json_loadb(json, len, 0, NULL)) &&
             (view = m->sub->view(obj)))
        vk_send_object(m->r, 200, view, m->fmt);
    else if (m->r)
        vk_reg_reply(m->r, 200, m->res, json, len, m->fmt);
    json_decref(obj);
    json_decref(view);
    rmw_free(m);
}

/* The resource as the subresource's kind (scale: autoscaling/v1 Scale), for field
 * validation and error messages. */
static vk_resource viewed_as(const rmw *m)
{
    vk_resource as = *m->res;
    as.group = m->sub->group;
    as.version = m->sub->version;
    as.kind = m->sub->kind;
    return as;
}

/* kube's answer to a delete that removed the object. */
static void reply_deleted(rmw *m)
{
    if (m->cb)
        m->cb(m->cb_ud, 0, NULL, 0, NULL);
    else if (m->r) {
        json_t *d = vk_status_details(m->name, m->res->group, m->res->plural);
        if (*m->uid)
            json_object_set_new(d, "uid", json_string(m->uid));
        json_t *st = json_pack("{s:s, s:s, s:{}, s:s, s:o}", "kind", "Status", "apiVersion", "v1",
                               "metadata", "status", "Success", "details", d);
        vk_send_object(m->r, 200, st, m->fmt);
        json_decref(st);
    }
    rmw_free(m);
}

static json_t *bad_request(const char *fmt, const char *a, const char *b)
{
    char msg[640];
    snprintf(msg, sizeof msg, fmt, a, b);
    return vk_status_new(400, "BadRequest", msg, NULL);
}

static json_t *precondition_failed(const rmw *m, const char *what, const char *want,
                                   const char *have)
{
    char gr[160], msg[768];
    snprintf(gr, sizeof gr, "%s%s%s", m->res->plural, *m->res->group ? "." : "", m->res->group);
    snprintf(msg, sizeof msg,
             "Operation cannot be fulfilled on %s \"%s\": Precondition failed: %s in "
             "precondition: %s, %s in object meta: %s",
             gr, m->name, what, want, what, have);
    return vk_status_new(409, "Conflict", msg,
                         vk_status_details(m->name, m->res->group, m->res->plural));
}

static const char *meta_str(const json_t *obj, const char *k)
{
    const char *v = json_string_value(json_object_get(json_object_get(obj, "metadata"), k));
    return v ? v : "";
}

static void run(rmw *m);

/* kube's deletionFinalizersForGarbageCollection: the propagation a delete asks for
 * (propagationPolicy, or the older orphanDependents; else what the object's finalizers
 * said before; else background) becomes the "orphan" or "foregroundDeletion" finalizer,
 * which keeps the object until the garbage collector has dealt with its dependents.
 * Returns a 422 Status for contradicting options. */
static json_t *gc_finalizers(json_t *obj, const json_t *options)
{
    const char *pp = json_string_value(json_object_get(options, "propagationPolicy"));
    json_t *od = json_object_get(options, "orphanDependents");
    /* Invalid options are kube's DeleteOptions validation errors. */
    static const vk_resource delete_options = {.group = "meta.k8s.io", .kind = "DeleteOptions"};
    vk_errlist e = {0};
    char msg[240];
    if (pp && od && !json_is_null(od)) {
        snprintf(
            msg, sizeof msg,
            "Invalid value: \"%s\": orphanDependents and deletionPropagation cannot be both set",
            pp);
        vk_errlist_add(&e, "FieldValueInvalid", "propagationPolicy", msg);
    } else if (pp && strcmp(pp, "Orphan") && strcmp(pp, "Foreground") && strcmp(pp, "Background")) {
        snprintf(msg, sizeof msg,
                 "Unsupported value: \"%s\": supported values: \"Foreground\", \"Background\", "
                 "\"Orphan\", \"nil\"",
                 pp);
        vk_errlist_add(&e, "FieldValueNotSupported", "propagationPolicy", msg);
    }
    if (e.causes) {
        json_t *st = vk_reg_invalid(&delete_options, "", &e);
        json_decref(e.causes);
        return st;
    }
    json_t *meta = json_object_get(obj, "metadata");
    json_t *fins = json_object_get(meta, "finalizers");
    bool orphan = false, foreground = false;
    if (json_is_boolean(od)) {
        orphan = json_is_true(od);
    } else if (pp) {
        orphan = !strcmp(pp, "Orphan");
        foreground = !strcmp(pp, "Foreground");
    } else {
        size_t i;
        json_t *f;
        json_array_foreach(fins, i, f)
        {
            const char *v = json_string_value(f);
            if (v && !strcmp(v, "orphan") && !foreground)
                orphan = true;
            if (v && !strcmp(v, "foregroundDeletion") && !orphan)
                foreground = true;
        }
    }
    json_t *out = json_array();
    size_t i;
    json_t *f;
    json_array_foreach(fins, i, f)
    {
        const char *v = json_string_value(f);
        if (!v || (strcmp(v, "orphan") && strcmp(v, "foregroundDeletion")))
            json_array_append(out, f);
    }
    if (orphan)
        json_array_append_new(out, json_string("orphan"));
    if (foreground)
        json_array_append_new(out, json_string("foregroundDeletion"));
    if (json_array_size(out))
        json_object_set_new(meta, "finalizers", out);
    else {
        json_decref(out);
        json_object_del(meta, "finalizers");
    }
    return NULL;
}

static void write_done(void *ud, int err, const vk_op_result *res, size_t n)
{
    rmw *m = ud;
    bool quota_conflict = false;
    for (size_t i = 0; err && i < m->nquota; i++)
        quota_conflict = quota_conflict || res[i].err == VK_ECONFLICT;
    if (err == VK_ECONFLICT && (!m->client_rv || quota_conflict) && ++m->attempts < 8) {
        run(m);
        return;
    }
    res += m->nquota;
    if (err) {
        reply_status(m, vk_reg_status(m->res, err, m->name));
        return;
    }
    if (m->deleted && m->victim && m->res->strategy && m->res->strategy->release) {
        vk_ctx ctx = vk_resource_ctx(m->s, m->res);
        m->res->strategy->release(&ctx, m->victim);
    }
    if (m->deleted && m->change != CH_DELETE && m->victim) {
        /* An update that removed the last finalizer deleted the object: kube answers
         * with the object as it was last. */
        json_t *o = json_deep_copy(m->victim);
        json_object_del(o, "kind");
        json_object_del(o, "apiVersion");
        char *js = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        if (js)
            reply_object(m, js, strlen(js));
        else
            reply_status(m, vk_reg_status(m->res, -ENOMEM, m->name));
        free(js);
    } else if (m->deleted) {
        reply_deleted(m);
    } else
        reply_object(m, res[0].ev->obj, res[0].ev->obj_len);
}

/* System fields an update cannot change, from old. */
static void keep_system_fields(json_t *obj, const json_t *old)
{
    json_t *meta = json_object_get(obj, "metadata");
    json_t *om = json_object_get(old, "metadata");
    static const char *const keep[] = {
        "uid",        "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
        "generation", "namespace"};
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
        json_t *v = json_object_get(om, keep[i]);
        if (v)
            json_object_set(meta, keep[i], v);
        else
            json_object_del(meta, keep[i]);
    }
    json_object_del(meta, "selfLink");
}

/* True when obj and old differ outside metadata and status (kube's strategies compare
 * the spec; this also covers the kinds whose fields sit at the top). */
static bool changed_beyond_status(const json_t *obj, const json_t *old)
{
    static const char *const skip[] = {"metadata", "status", "kind", "apiVersion"};
    json_t *a = json_deep_copy(obj), *b = json_deep_copy(old);
    for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++) {
        json_object_del(a, skip[i]);
        json_object_del(b, skip[i]);
    }
    bool changed = !a || !b || !json_equal(a, b);
    json_decref(a);
    json_decref(b);
    return changed;
}

/* The generic update rules of kube's strategies: through the main resource, the status
 * of a kind with a status subresource is kept; a kind that counts generations counts
 * this one when more than metadata and status changed. */
static void generic_update_rules(const vk_resource *res, json_t *obj, const json_t *old,
                                 bool main_path)
{
    if (main_path && vk_subresource_find(res, "status")) {
        json_t *st = json_object_get(old, "status");
        if (st)
            json_object_set(obj, "status", st);
        else
            json_object_del(obj, "status");
    }
    if ((res->flags & VK_GENERATION) && changed_beyond_status(obj, old)) {
        json_t *meta = json_object_get(obj, "metadata");
        json_int_t g =
            json_integer_value(json_object_get(json_object_get(old, "metadata"), "generation"));
        json_object_set_new(meta, "generation", json_integer(g + 1));
    }
}

/* True when obj differs from old only in what the garbage collector writes
 * (ownerReferences, finalizers): kube lets such updates past the writer checks. */
static bool only_gc_fields(const json_t *obj, const json_t *old)
{
    static const char *const ignore[] = {"ownerReferences", "finalizers", "resourceVersion",
                                         "managedFields"};
    json_t *a = json_deep_copy(obj), *b = json_deep_copy(old);
    for (size_t i = 0; i < sizeof ignore / sizeof ignore[0]; i++) {
        json_object_del(json_object_get(a, "metadata"), ignore[i]);
        json_object_del(json_object_get(b, "metadata"), ignore[i]);
    }
    json_object_del(a, "kind");
    json_object_del(a, "apiVersion");
    json_object_del(b, "kind");
    json_object_del(b, "apiVersion");
    bool same = a && b && json_equal(a, b);
    json_decref(a);
    json_decref(b);
    return same;
}

/* Applies the change to old (which carries kind and apiVersion). Returns the new object,
 * or NULL with *st set. */
static json_t *apply(rmw *m, const json_t *old, json_t **st)
{
    char err[512] = "";
    json_t *out = NULL;
    switch (m->change) {
    case CH_UPDATE:
        return json_deep_copy(m->body);
    case CH_MERGE_PATCH:
        return vk_merge_patch(old, m->body);
    case CH_STRATEGIC_PATCH: {
        /* The schema of the kind patched: a subresource's own (scale: Scale). */
        bool viewed = m->sub && m->sub->view;
        int code, root = viewed ? vk_pm_root(m->sub->group, m->sub->version, m->sub->kind)
                                : vk_pm_root(m->res->group, m->res->version, m->res->kind);
        out = vk_strategic_patch(old, m->body, root, err, sizeof err, &code);
        if (!out)
            *st = code == 400   ? vk_status_new(400, "BadRequest", err, NULL)
                  : code == 422 ? vk_status_new(422, "Invalid",
                                                "the server rejected our request due to an "
                                                "error in our request",
                                                json_object())
                                : vk_status_new(500, NULL, err, NULL);
        return out;
    }
    case CH_JSON_PATCH: {
        out = json_deep_copy(old);
        int rc = vk_json_patch(out, m->body, err, sizeof err);
        if (rc) {
            json_decref(out);
            *st = rc == VK_EINVALID ? vk_status_new(400, "BadRequest", err, NULL)
                                    : vk_status_new(422, "Invalid", err, NULL);
            return NULL;
        }
        return out;
    }
    case CH_EDIT:
        out = json_deep_copy(old);
        m->edit(m->edit_ud, out);
        return out;
    case CH_DELETE:
        break;
    }
    return NULL;
}

/* Writes op, with the quota updates that charge it (ch may be NULL) in the same
 * transaction. */
static void submit(rmw *m, const vk_op *op, const vk_quota_charge *ch)
{
    if (m->dry_run) {
        if (op->type == VK_OP_DELETE)
            reply_deleted(m);
        else
            reply_object(m, op->val, op->val_len);
        return;
    }
    m->deleted = op->type == VK_OP_DELETE;
    json_decref(m->victim);
    m->victim = m->deleted ? json_incref(m->current) : NULL;
    m->nquota = ch ? ch->n : 0;
    vk_op *ops = calloc(m->nquota + 1, sizeof *ops);
    int rc = ops ? 0 : -ENOMEM;
    if (ops) {
        if (ch)
            vk_quota_charge_ops(ch, ops);
        ops[m->nquota] = *op;
        rc = vk_store_submit(m->s->store, ops, m->nquota + 1, write_done, m);
    }
    free(ops);
    if (rc)
        reply_status(m, vk_reg_status(m->res, rc, m->name));
}

static void run(rmw *m)
{
    char key[VK_KEY_MAX];
    int klen = vk_reg_key(m->res, m->ns, m->name, key);
    vk_buf val = {0};
    vk_obj_meta meta;
    int rc = klen < 0 ? VK_ENOTFOUND : vk_store_get(m->s->store, key, (size_t)klen, &val, &meta);
    if (rc) {
        reply_status(m, vk_reg_status(m->res, rc, m->name));
        return;
    }
    json_t *old = json_loadb(val.data, val.len, 0, NULL);
    if (!old) {
        vk_buf_free(&val);
        reply_status(m, vk_reg_status(m->res, -EIO, m->name));
        return;
    }
    vk_reg_add_kind(old, m->res);
    m->current = old;
    snprintf(m->uid, sizeof m->uid, "%s", meta_str(old, "uid"));
    char oldrv[24];
    snprintf(oldrv, sizeof oldrv, "%llu", (unsigned long long)meta.mod_rev);
    json_t *st = NULL, *obj = NULL, *view = NULL;
    vk_buf enc = {0};
    bool viewed = m->sub && m->sub->view && m->change != CH_DELETE;
    vk_resource as = viewed ? viewed_as(m) : *m->res;
    vk_op op = {
        .key = key, .key_len = (size_t)klen, .expect_rev = meta.mod_rev, .rv_off = VK_NO_RV};

    if (m->change == CH_DELETE) {
        json_t *pre = json_object_get(m->body, "preconditions");
        const char *puid = json_string_value(json_object_get(pre, "uid"));
        const char *prv = json_string_value(json_object_get(pre, "resourceVersion"));
        if (puid && strcmp(puid, m->uid)) {
            st = precondition_failed(m, "UID", puid, m->uid);
            goto out;
        }
        if (prv && strcmp(prv, oldrv)) {
            st = precondition_failed(m, "ResourceVersion", prv, oldrv);
            goto out;
        }
        m->client_rv = puid || prv;
        obj = json_deep_copy(old);
        if ((st = gc_finalizers(obj, m->body)))
            goto out;
        bool keep =
            json_array_size(json_object_get(json_object_get(obj, "metadata"), "finalizers"));
        vk_ctx ctx = vk_resource_ctx(m->s, m->res);
        ctx.options = m->body;
        if (m->res->strategy && m->res->strategy->prepare_delete)
            keep |= m->res->strategy->prepare_delete(&ctx, obj, &st);
        if (st)
            goto out;
        if (!keep) {
            op.type = VK_OP_DELETE;
            submit(m, &op, NULL);
            m = NULL;
            goto out;
        }
        json_t *om = json_object_get(obj, "metadata");
        if (!json_object_get(om, "deletionTimestamp")) {
            char ts[21];
            vk_time_format(time(NULL), ts);
            json_object_set_new(om, "deletionTimestamp", json_string(ts));
            json_object_set_new(om, "deletionGracePeriodSeconds", json_integer(0));
        }
    } else {
        /* Through a subresource of another kind, the change applies to that view. */
        if (viewed && !(view = m->sub->view(old))) {
            st = vk_reg_status(m->res, -ENOMEM, m->name);
            goto out;
        }
        obj = apply(m, view ? view : old, &st);
        if (!obj)
            goto out;
        if (!json_is_object(obj)) {
            st = vk_status_new(400, "BadRequest", "the object is not a JSON object", NULL);
            goto out;
        }
        char avbuf[128];
        const char *want_av = vk_reg_api_version(&as, avbuf, sizeof avbuf);
        const char *kind = json_string_value(json_object_get(obj, "kind"));
        const char *av = json_string_value(json_object_get(obj, "apiVersion"));
        if ((kind && *kind && strcmp(kind, as.kind)) || (av && *av && strcmp(av, want_av))) {
            st = bad_request("the object provided is unrecognized (must be of type %s): %s",
                             as.kind, kind ? kind : "");
            goto out;
        }
        json_t *om = json_object_get(obj, "metadata");
        if (!json_is_object(om)) {
            om = json_object();
            json_object_set_new(obj, "metadata", om);
        }
        const char *name = meta_str(obj, "name");
        if (*name && strcmp(name, m->name)) {
            st = bad_request("the name of the object (%s) does not match the name on the URL (%s)",
                             name, m->name);
            goto out;
        }
        json_object_set_new(om, "name", json_string(m->name));
        const char *ns = meta_str(obj, "namespace");
        if ((m->res->flags & VK_NAMESPACED) && *ns && strcmp(ns, m->ns)) {
            st = bad_request("the namespace of the provided object does not match the namespace "
                             "sent on the request%s%s",
                             "", "");
            goto out;
        }
        /* Field validation of the new object, once (warnings go on the reply). */
        if (m->r && !m->checked) {
            m->checked = true;
            vk_req *r = m->r;
            r->on_abort = NULL;
            if (!vk_reg_field_check(r, &as, obj, m->dups)) {
                m->r = NULL; /* answered */
                rmw_free(m);
                m = NULL;
                goto out;
            }
            r->on_abort = on_abort;
        }
        const char *uid = meta_str(obj, "uid");
        if (*uid && strcmp(uid, m->uid)) {
            st = precondition_failed(m, "UID", uid, m->uid);
            goto out;
        }
        const char *rv = meta_str(obj, "resourceVersion");
        /* A patch keeps the stored resourceVersion unless it names one itself. */
        bool named_rv =
            *rv && (m->change == CH_UPDATE ||
                    json_object_get(json_object_get(m->body, "metadata"), "resourceVersion") ||
                    m->change == CH_JSON_PATCH);
        if (named_rv && strcmp(rv, oldrv)) {
            st = vk_reg_status(m->res, VK_ECONFLICT, m->name);
            goto out;
        }
        m->client_rv = named_rv && m->change == CH_UPDATE;
        if (viewed) {
            /* The changed view goes back into the stored object. */
            json_t *full = json_deep_copy(old);
            vk_errlist verrs = {0};
            m->sub->set(full, obj, &verrs);
            json_decref(obj);
            obj = full;
            if (verrs.causes) {
                st = vk_reg_invalid(&as, m->name, &verrs);
                json_decref(verrs.causes);
                goto out;
            }
        }
        keep_system_fields(obj, old);
        vk_ctx ctx = vk_resource_ctx(m->s, m->res);
        ctx.user = m->user;
        bool plain = m->change != CH_EDIT && !m->sub; /* subresources have their own rules */
        if (m->sub && m->sub->keep)
            m->sub->keep(obj, old);
        if (m->change != CH_EDIT && m->res->strategy && m->res->strategy->defaults)
            m->res->strategy->defaults(obj);
        if (plain && m->res->strategy && m->res->strategy->prepare_update)
            m->res->strategy->prepare_update(&ctx, obj, old);
        generic_update_rules(m->res, obj, old, plain);
        vk_errlist errs = {0};
        if (m->change != CH_EDIT && m->res->strategy && m->res->strategy->validate_update)
            m->res->strategy->validate_update(&ctx, obj, old, &errs);
        if (errs.causes) {
            st = vk_reg_invalid(m->res, m->name, &errs);
            json_decref(errs.causes);
            goto out;
        }
        if (plain && m->user && m->res->strategy && m->res->strategy->admit &&
            !only_gc_fields(obj, old) && (st = m->res->strategy->admit(&ctx, obj)))
            goto out;
        /* The last finalizer of an object being deleted is gone: delete it. */
        if (json_object_get(om, "deletionTimestamp") &&
            !json_array_size(json_object_get(om, "finalizers"))) {
            json_t *probe = json_deep_copy(obj);
            bool keep = m->res->strategy && m->res->strategy->prepare_delete &&
                        m->res->strategy->prepare_delete(&ctx, probe, NULL);
            json_decref(probe);
            if (!keep) {
                op.type = VK_OP_DELETE;
                submit(m, &op, NULL);
                m = NULL;
                goto out;
            }
        }
    }
    /* Unchanged: answer with the stored object, write nothing. */
    json_t *canon = vk_reg_canonical(m->res, obj);
    json_object_set_new(json_object_get(canon, "metadata"), "resourceVersion", json_string(oldrv));
    char *same = json_dumps(canon, JSON_COMPACT);
    bool unchanged = same && strlen(same) == val.len && !memcmp(same, val.data, val.len);
    free(same);
    if (unchanged) {
        json_decref(canon);
        reply_object(m, val.data, val.len);
        m = NULL;
        goto out;
    }
    json_object_set_new(json_object_get(canon, "metadata"), "resourceVersion", json_string(""));
    size_t rv_off;
    rc = vk_store_encode_json(canon, &enc, &rv_off);
    json_decref(canon);
    if (rc) {
        st = vk_reg_status(m->res, rc, m->name);
        goto out;
    }
    /* kube's ResourceQuota admission of a client's update (a Service becoming a
     * NodePort, ...). */
    vk_quota_charge ch = {0};
    if (m->user && !m->sub && m->change != CH_EDIT &&
        (st = vk_quota_admit(m->s, m->res, m->ns, obj, old, m->dry_run, &ch)))
        goto out;
    op.type = VK_OP_UPDATE;
    op.val = enc.data;
    op.val_len = enc.len;
    op.rv_off = rv_off;
    submit(m, &op, &ch);
    vk_quota_charge_free(&ch);
    m = NULL;
out:
    if (m && st)
        reply_status(m, st);
    else
        json_decref(st);
    json_decref(obj);
    json_decref(old);
    json_decref(view);
    vk_buf_free(&val);
    vk_buf_free(&enc);
}

static const struct {
    const char *type;
    enum change change;
} patch_types[] = {
    {"application/json-patch+json", CH_JSON_PATCH},
    {"application/merge-patch+json", CH_MERGE_PATCH},
    {"application/strategic-merge-patch+json", CH_STRATEGIC_PATCH},
};

void vk_reg_mutate(vk_server *s, vk_req *r, const vk_resource *res, const vk_reqinfo *ri,
                   const vk_accept *acc)
{
    enum change change;
    const char *ct = vk_req_header(r, "content-type");
    size_t ctl = ct ? strcspn(ct, ";") : 0;
    while (ctl && ct[ctl - 1] == ' ')
        ctl--;
    if (!strcmp(ri->verb, "patch")) {
        size_t i = 0;
        for (; i < sizeof patch_types / sizeof patch_types[0]; i++)
            if (ct && strlen(patch_types[i].type) == ctl &&
                !strncasecmp(ct, patch_types[i].type, ctl))
                break;
        if (i == sizeof patch_types / sizeof patch_types[0]) {
            vk_send_error(r, 415, "UnsupportedMediaType",
                          "the body of the request was in an unknown format - accepted media "
                          "types include: application/json-patch+json, "
                          "application/merge-patch+json, application/strategic-merge-patch+json");
            return;
        }
        change = patch_types[i].change;
    } else if (!strcmp(ri->verb, "update")) {
        change = CH_UPDATE;
    } else {
        change = CH_DELETE;
    }
    json_t *body = NULL;
    json_t *dups = json_array();
    const vk_subresource *sub = *ri->subresource ? vk_subresource_find(res, ri->subresource) : NULL;
    if (change == CH_UPDATE) {
        vk_gvk want = {res->group, res->version, res->kind, false};
        if (sub && sub->view)
            want = (vk_gvk){sub->group, sub->version, sub->kind, false};
        if (!(body = vk_reg_decode_body(s, r, &want, dups))) {
            json_decref(dups);
            return;
        }
    } else if (r->body_too_large) {
        vk_send_error(r, 413, "RequestEntityTooLarge", "Request entity too large: limit is %zu",
                      s->limits.max_body);
    } else if (r->body.len && change == CH_DELETE) {
        static const vk_gvk options = {"", "v1", "DeleteOptions", true};
        body = vk_reg_decode_body(s, r, &options, NULL); /* JSON or protobuf */
    } else if (r->body.len) {
        body = vk_reg_parse_json(r, r->body.data, r->body.len, dups);
    } else if (change != CH_DELETE) {
        vk_send_error(r, 400, "BadRequest", "the body of the request is empty");
    }
    if (!body && (r->body.len || change != CH_DELETE)) {
        json_decref(dups);
        return;
    }
    /* Without a body, DeleteOptions come from the query (kube decodes one or the other). */
    if (change == CH_DELETE && !body) {
        const char *gps = vk_req_query(r, "gracePeriodSeconds");
        const char *pp = vk_req_query(r, "propagationPolicy");
        const char *od = vk_req_query(r, "orphanDependents");
        if ((gps && *gps) || (pp && *pp) || (od && *od))
            body = json_object();
        if (gps && *gps)
            json_object_set_new(body, "gracePeriodSeconds",
                                json_integer((json_int_t)strtoll(gps, NULL, 10)));
        if (pp && *pp)
            json_object_set_new(body, "propagationPolicy", json_string(pp));
        if (od && *od)
            json_object_set_new(body, "orphanDependents", json_boolean(!strcmp(od, "true")));
    }
    rmw *m = calloc(1, sizeof *m);
    if (!m) {
        json_decref(body);
        json_decref(dups);
        vk_send_error(r, 500, "InternalError", "out of memory");
        return;
    }
    *m = (rmw){.s = s,
               .r = r,
               .res = res,
               .change = change,
               .body = body,
               .fmt = acc->format,
               .dups = dups,
               .sub = sub,
               .user = vk_user_dup(&r->user)};
    if (!m->user) {
        rmw_free(m);
        vk_send_error(r, 500, "InternalError", "out of memory");
        return;
    }
    snprintf(m->ns, sizeof m->ns, "%s", (res->flags & VK_NAMESPACED) ? ri->namespace_ : "");
    snprintf(m->name, sizeof m->name, "%s", ri->name);
    const char *dry = vk_req_query(r, "dryRun");
    const char *dry_body =
        json_is_array(json_object_get(body, "dryRun"))
            ? json_string_value(json_array_get(json_object_get(body, "dryRun"), 0))
            : NULL;
    m->dry_run = (dry && !strcmp(dry, "All")) || (dry_body && !strcmp(dry_body, "All"));
    r->on_abort = on_abort;
    r->abort_data = m;
    run(m);
}

/* An in-process write: starts the read-modify-write with no request. */
static void run_internal(vk_server *s, const vk_resource *res, const char *ns, const char *name,
                         enum change change, vk_edit_fn edit, void *edit_ud, const json_t *body,
                         vk_create_cb cb, void *ud)
{
    rmw *m = calloc(1, sizeof *m);
    if (!m) {
        json_t *st = vk_status_new(500, "InternalError", "out of memory", NULL);
        cb(ud, -ENOMEM, NULL, 0, st);
        json_decref(st);
        return;
    }
    *m = (rmw){.s = s,
               .res = res,
               .change = change,
               .cb = cb,
               .cb_ud = ud,
               .edit = edit,
               .edit_ud = edit_ud,
               .body = body ? json_deep_copy(body) : NULL,
               .checked = true};
    snprintf(m->ns, sizeof m->ns, "%s", (res->flags & VK_NAMESPACED) && ns ? ns : "");
    snprintf(m->name, sizeof m->name, "%s", name);
    run(m);
}

void vk_registry_delete(vk_server *s, const vk_resource *res, const char *ns, const char *name,
                        vk_create_cb cb, void *ud)
{
    run_internal(s, res, ns, name, CH_DELETE, NULL, NULL, NULL, cb, ud);
}

void vk_registry_delete_opts(vk_server *s, const vk_resource *res, const char *ns, const char *name,
                             const json_t *options, vk_create_cb cb, void *ud)
{
    run_internal(s, res, ns, name, CH_DELETE, NULL, NULL, options, cb, ud);
}

void vk_registry_edit(vk_server *s, const vk_resource *res, const char *ns, const char *name,
                      vk_edit_fn edit, void *edit_ud, vk_create_cb cb, void *ud)
{
    run_internal(s, res, ns, name, CH_EDIT, edit, edit_ud, NULL, cb, ud);
}
