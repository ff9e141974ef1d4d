/* HTTP watches over the storage hub, as kube-apiserver serves them (handlers/watch.go,
 * storage/cacher): a 200 stream that starts at once; JSON events
 * {"type":T,"object":O}\n, each flushed; initial ADDED events for an unset or "0"
 * resourceVersion (and for sendInitialEvents), then live changes; a too-old
 * resourceVersion is a 200 with one ERROR event (410 Expired); bookmarks only with
 * allowWatchBookmarks; the stream ends at timeoutSeconds (default: random 30-60 min)
 * or when the server stops.
 *
 * Lifetime: a watch is owned by its request. It ends when the client goes away
 * (on_abort), when the hub ends the watcher, at the timeout, or at shutdown; the timer
 * handle is closed and the struct freed in the close callback. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "apiserver/codec/protobuf.h"
#include "apiserver/http/status.h"
#include "apiserver/registry/internal.h"
#include "apiserver/registry/selector.h"
#include "apiserver/server.h"
#include "common/err.h"
#include "common/log.h"
#include "common/rand.h"
#include "storage/store.h"
#include "storage/watch.h"

/* Event cache slots: JSON with kind, and kube's protobuf envelope; each for the new
 * object and for the previous one (DELETED). */
enum { BOOKMARK_MS = 60000, MAX_PENDING = 16 << 20 };
enum { CACHE_JSON = 0, CACHE_PREV_JSON = 1, CACHE_PB = 2, CACHE_PREV_PB = 3 };

typedef struct http_watch {
    uv_timer_t timer; /* first: the handle's address is the watch's */
    vk_server *s;
    vk_req *r;
    const vk_resource *res;
    vk_watcher *w;
    vk_accept acc;
    bool bookmarks, sent_columns, closing;
    vk_selector *labels, *fields; /* NULL: everything */
    /* Until the watch starts: initial events at a resourceVersion the store has not
     * reached yet wait for it (up to 3 s, as kube's watch cache does). */
    bool started, initial;
    uint64_t from, wait_until_ms, timeout_ms;
    char ns[256], name[256];
    uint64_t deadline_ms, next_bookmark_ms;
    struct http_watch *prev, *next;
} http_watch;

static void on_closed(uv_handle_t *h)
{
    free(h);
}

/* Ends the stream (if the request is still there) and tears the watch down. */
static void watch_end(http_watch *hw)
{
    if (hw->closing)
        return;
    hw->closing = true;
    vk_server *s = hw->s;
    if (hw->prev)
        hw->prev->next = hw->next;
    else
        s->watches = hw->next;
    if (hw->next)
        hw->next->prev = hw->prev;
    vk_watch_free(hw->w);
    hw->w = NULL;
    vk_selector_free(hw->labels);
    vk_selector_free(hw->fields);
    hw->labels = hw->fields = NULL;
    if (hw->r) {
        vk_req *r = hw->r;
        hw->r = NULL;
        r->on_abort = NULL;
        vk_resp_end(r);
    }
    uv_close((uv_handle_t *)&hw->timer, on_closed);
}

static void on_abort(vk_req *r, void *data)
{
    http_watch *hw = data;
    hw->r = NULL;
    watch_end(hw);
}

static void free_buf(void *p)
{
    vk_buf *b = p;
    vk_buf_free(b);
    free(b);
}

/* The event's object in JSON with kind and apiVersion, cached on the event. */
static const vk_buf *event_json(http_watch *hw, vk_event *ev, bool prev)
{
    unsigned slot = prev ? CACHE_PREV_JSON : CACHE_JSON;
    vk_buf *b = vk_event_cache_get(ev, slot);
    if (b)
        return b;
    const char *json = ev->obj;
    size_t len = ev->obj_len;
    if (prev && vk_event_prev_at_rev(ev, &json, &len))
        return NULL;
    b = calloc(1, sizeof *b);
    if (!b || vk_reg_splice(b, hw->res, hw->res->kind, json, len)) {
        free_buf(b);
        return NULL;
    }
    vk_event_cache_set(ev, slot, b, free_buf);
    return b;
}

static void put_varint(vk_buf *b, uint64_t v)
{
    unsigned char t[10];
    size_t n = 0;
    do {
        t[n++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    vk_buf_append(b, t, n);
}

/* One event on the wire. JSON: {"type":T,"object":O}\n. Protobuf: a 4-byte big-endian
 * length, then a raw metav1.WatchEvent {1: type, 2: RawExtension {1: raw}} whose raw is
 * the enveloped object. obj is in the stream's format. */
static int write_event(http_watch *hw, const char *type, const char *obj, size_t len)
{
    vk_buf out = {0};
    if (hw->acc.format == VK_FMT_PROTOBUF) {
        vk_buf ev = {0}, ext = {0};
        vk_buf_append(&ext, "\x0a", 1);
        put_varint(&ext, len);
        vk_buf_append(&ext, obj, len);
        vk_buf_append(&ev, "\x0a", 1);
        put_varint(&ev, strlen(type));
        vk_buf_puts(&ev, type);
        vk_buf_append(&ev, "\x12", 1);
        put_varint(&ev, ext.len);
        vk_buf_append(&ev, ext.data, ext.len);
        unsigned char hdr[4] = {(unsigned char)(ev.len >> 24), (unsigned char)(ev.len >> 16),
                                (unsigned char)(ev.len >> 8), (unsigned char)ev.len};
        vk_buf_append(&out, hdr, 4);
        vk_buf_append(&out, ev.data, ev.len);
        vk_buf_free(&ev);
        vk_buf_free(&ext);
    } else {
        vk_buf_printf(&out, "{\"type\":\"%s\",\"object\":", type);
        vk_buf_append(&out, obj, len);
        vk_buf_puts(&out, "}\n");
    }
    int rc = out.data ? vk_resp_write(hw->r, out.data, out.len) : -ENOMEM;
    vk_buf_free(&out);
    return rc;
}

/* Writes an event whose object is obj (borrowed, with kind), encoded for the stream. */
static int write_json_event(http_watch *hw, const char *type, const json_t *obj)
{
    vk_buf b = {0};
    int rc;
    if (hw->acc.format == VK_FMT_PROTOBUF) {
        rc = vk_pb_encode_object(obj, &b);
    } else {
        char *s = json_dumps(obj, JSON_COMPACT);
        rc = s ? vk_buf_puts(&b, s) : -ENOMEM;
        free(s);
    }
    if (!rc)
        rc = write_event(hw, type, b.data, b.len);
    vk_buf_free(&b);
    return rc;
}

/* The event's object in protobuf (enveloped), cached on the event. */
static const vk_buf *event_pb(http_watch *hw, vk_event *ev, bool prev)
{
    unsigned slot = prev ? CACHE_PREV_PB : CACHE_PB;
    vk_buf *b = vk_event_cache_get(ev, slot);
    if (b)
        return b;
    const vk_buf *j = event_json(hw, ev, prev);
    json_t *obj = j ? json_loadb(j->data, j->len, 0, NULL) : NULL;
    b = obj ? calloc(1, sizeof *b) : NULL;
    if (!b || vk_pb_encode_object(obj, b)) {
        json_decref(obj);
        free_buf(b);
        return NULL;
    }
    json_decref(obj);
    vk_event_cache_set(ev, slot, b, free_buf);
    return b;
}

/* Writes one object event in the negotiated form (the object, or a one-row Table, or
 * its PartialObjectMetadata). json is the object with kind, as JSON. */
static int send_object(http_watch *hw, const char *type, const char *json, size_t len)
{
    if (hw->acc.as == VK_AS_OBJECT && hw->acc.format == VK_FMT_JSON)
        return write_event(hw, type, json, len);
    json_t *obj = json_loadb(json, len, 0, NULL);
    if (!obj)
        return VK_EINVALID;
    json_t *out;
    char av[32];
    snprintf(av, sizeof av, "meta.k8s.io/%s", hw->acc.as_version ? hw->acc.as_version : "v1");
    if (hw->acc.as == VK_AS_OBJECT) {
        out = json_incref(obj);
    } else if (hw->acc.as == VK_AS_TABLE) {
        json_t *rv = json_object_get(json_object_get(obj, "metadata"), "resourceVersion");
        out =
            json_pack("{s:s, s:s, s:{s:O}, s:o, s:[o]}", "kind", "Table", "apiVersion", av,
                      "metadata", "resourceVersion", rv ? rv : json_string(""), "columnDefinitions",
                      hw->sent_columns ? json_null() : vk_reg_columns(hw->res), "rows",
                      vk_reg_row(hw->res, obj, "Metadata", hw->acc.as_version));
        hw->sent_columns = true;
    } else {
        out = vk_reg_partial(obj, hw->acc.as_version);
    }
    json_decref(obj);
    int rc = out ? write_json_event(hw, type, out) : -ENOMEM;
    json_decref(out);
    return rc;
}

static int send_bookmark(http_watch *hw, uint64_t rev, bool initial_end)
{
    char av[128];
    json_t *meta = json_object();
    char rvs[24];
    snprintf(rvs, sizeof rvs, "%llu", (unsigned long long)rev);
    json_object_set_new(meta, "resourceVersion", json_string(rvs));
    if (initial_end)
        json_object_set_new(meta, "annotations",
                            json_pack("{s:s}", "k8s.io/initial-events-end", "true"));
    json_t *obj = json_pack("{s:s, s:s, s:o}", "kind", hw->res->kind, "apiVersion",
                            vk_reg_api_version(hw->res, av, sizeof av), "metadata", meta);
    int rc = obj ? write_json_event(hw, "BOOKMARK", obj) : -ENOMEM;
    json_decref(obj);
    return rc;
}

static void send_error(http_watch *hw, json_t *status)
{
    if (status)
        write_json_event(hw, "ERROR", status);
    json_decref(status);
}

static json_t *too_old(uint64_t rv, uint64_t oldest)
{
    char msg[128];
    snprintf(msg, sizeof msg, "too old resource version: %llu (%llu)", (unsigned long long)rv,
             (unsigned long long)oldest);
    return vk_status_new(410, "Expired", msg, NULL);
}

static size_t pending(const http_watch *hw)
{
    return hw->r ? vk_req_pending(hw->r) : 0;
}

static bool selected(const http_watch *hw, const char *json, size_t len)
{
    json_t *o = json_loadb(json, len, 0, NULL);
    bool yes = o && vk_reg_selected(hw->labels, hw->fields, o);
    json_decref(o);
    return yes;
}

/* kube's rule for selector-filtered watches: matching before and after is MODIFIED,
 * only after is ADDED, only before is DELETED (with the old object). */
static int filter(void *ud, const vk_event *ev)
{
    const http_watch *hw = ud;
    int base = vk_event_type(ev);
    if (!hw->labels && !hw->fields)
        return base;
    bool now = ev->obj && selected(hw, ev->obj, ev->obj_len);
    bool before = ev->prev && selected(hw, ev->prev, ev->prev_len);
    if (base == VK_WATCH_DELETED)
        return before ? VK_WATCH_DELETED : VK_WATCH_SKIP;
    if (now && before)
        return VK_WATCH_MODIFIED;
    if (now)
        return VK_WATCH_ADDED;
    if (before)
        return VK_WATCH_DELETED;
    return VK_WATCH_SKIP;
}

static void on_notify(void *ud, vk_watcher *w, int err)
{
    http_watch *hw = ud;
    if (err) {
        if (err == VK_EGONE && hw->r) {
            vk_store_stats st;
            vk_store_stats_get(hw->s->store, &st);
            send_error(hw, too_old(vk_watch_progress(w), st.compact_rev + 1));
        }
        hw->w = NULL; /* ended: freed below by watch_end */
        vk_watch_free(w);
        watch_end(hw);
        return;
    }
    vk_event *ev;
    int type;
    while (hw->r && vk_watch_next(w, &ev, &type) == 1) {
        static const char *const names[] = {"", "ADDED", "MODIFIED", "DELETED"};
        bool prev = type == VK_WATCH_DELETED;
        int rc;
        if (hw->acc.as == VK_AS_OBJECT && hw->acc.format == VK_FMT_PROTOBUF) {
            const vk_buf *b = event_pb(hw, ev, prev);
            rc = b ? write_event(hw, names[type], b->data, b->len) : -ENOMEM;
        } else {
            const vk_buf *b = event_json(hw, ev, prev);
            rc = b ? send_object(hw, names[type], b->data, b->len) : -ENOMEM;
        }
        vk_event_unref(ev);
        /* A client that does not read gets its watch ended, as kube drops slow
         * watchers: memory stays bounded and the client relists. */
        if (rc || pending(hw) > MAX_PENDING) {
            watch_end(hw);
            return;
        }
    }
}

static void begin(http_watch *hw);

static void on_timer(uv_timer_t *t)
{
    http_watch *hw = (http_watch *)t;
    if (!hw->started) {
        begin(hw);
        return;
    }
    uint64_t now = uv_now(t->loop);
    if (now >= hw->deadline_ms) {
        watch_end(hw);
        return;
    }
    if (hw->bookmarks && now >= hw->next_bookmark_ms && hw->w && !vk_watch_queued(hw->w)) {
        send_bookmark(hw, vk_watch_progress(hw->w), false);
        hw->next_bookmark_ms = now + BOOKMARK_MS;
    }
    uint64_t next = hw->deadline_ms;
    if (hw->bookmarks && hw->next_bookmark_ms < next)
        next = hw->next_bookmark_ms;
    /* A bookmark already due (it waits for the queue to empty) is looked at again in
     * 1 ms: never 0 (libuv would rerun the timer without polling) and never a wrapped
     * difference (the deadline would be missed). */
    uv_timer_start(&hw->timer, on_timer, next > now ? next - now : 1, 0);
}

static bool truthy(const char *v)
{
    return v && (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "True") || !strcmp(v, "t"));
}

static void invalid_opts(vk_req *r, const char *field, const char *msg)
{
    char m[512];
    snprintf(m, sizeof m, "ListOptions.meta.k8s.io \"\" is invalid: %s: %s", field, msg);
    json_t *d = vk_status_details("", "meta.k8s.io", "ListOptions");
    json_object_set_new(d, "causes",
                        json_pack("[{s:s, s:s, s:s}]", "reason", "FieldValueForbidden", "message",
                                  msg, "field", field));
    vk_send_status(r, vk_status_new(422, "Invalid", m, d));
}

typedef struct initial_ctx {
    http_watch *hw;
    size_t exact_len; /* nonzero: only the key of this length (one named object) */
} initial_ctx;

static int initial_visit(void *ud, const vk_kv *kv)
{
    initial_ctx *c = ud;
    if (c->exact_len && kv->key_len != c->exact_len)
        return 0;
    if ((c->hw->labels || c->hw->fields) && !selected(c->hw, kv->val, kv->val_len))
        return 0;
    vk_buf b = {0};
    int rc = vk_reg_splice(&b, c->hw->res, c->hw->res->kind, kv->val, kv->val_len);
    if (!rc)
        rc = send_object(c->hw, "ADDED", b.data, b.len);
    vk_buf_free(&b);
    return rc ? rc : 1;
}

void vk_reg_watch(vk_server *s, vk_req *r, const vk_resource *res, const vk_reqinfo *ri,
                  const vk_accept *acc)
{
    const char *rv = vk_req_query(r, "resourceVersion");
    const char *match = vk_req_query(r, "resourceVersionMatch");
    bool initial_flag = vk_req_query(r, "sendInitialEvents") != NULL;
    bool send_initial = truthy(vk_req_query(r, "sendInitialEvents"));
    bool bookmarks = truthy(vk_req_query(r, "allowWatchBookmarks"));
    if (initial_flag) {
        if (!match || strcmp(match, "NotOlderThan")) {
            invalid_opts(r, "sendInitialEvents",
                         "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan");
            return;
        }
        if (send_initial && !bookmarks) {
            invalid_opts(r, "sendInitialEvents",
                         "sendInitialEvents requires setting allowWatchBookmarks to true");
            return;
        }
    } else if (match && *match) {
        invalid_opts(r, "resourceVersionMatch",
                     "resourceVersionMatch is forbidden for watch unless sendInitialEvents is "
                     "provided");
        return;
    }
    uint64_t from = 0;
    bool legacy_initial = !initial_flag && (!rv || !*rv || !strcmp(rv, "0"));
    if (rv && *rv && strcmp(rv, "0")) {
        char *end;
        unsigned long long v = strtoull(rv, &end, 10);
        if (*end || !v) {
            vk_send_error(r, 400, "BadRequest", "invalid resource version: %s", rv);
            return;
        }
        from = v;
    }
    const char *ts = vk_req_query(r, "timeoutSeconds");
    uint64_t timeout_ms;
    if (ts && *ts && atoll(ts) > 0) {
        timeout_ms = (uint64_t)atoll(ts) * 1000;
    } else {
        unsigned char rnd[2];
        vk_rand_bytes(rnd, 2);
        timeout_ms = 1800000 + (uint64_t)((rnd[0] << 8) | rnd[1]) * 1800000 / 65536;
    }

    vk_selector *labels, *fields;
    if (!vk_reg_selectors(r, res, &labels, &fields))
        return;
    http_watch *hw = calloc(1, sizeof *hw);
    if (!hw) {
        vk_selector_free(labels);
        vk_selector_free(fields);
        vk_send_error(r, 500, "InternalError", "out of memory");
        return;
    }
    hw->labels = labels;
    hw->fields = fields;
    hw->s = s;
    hw->r = r;
    hw->res = res;
    hw->acc = *acc;
    hw->bookmarks = bookmarks;
    uv_timer_init(s->loop, &hw->timer);
    hw->next = s->watches;
    if (s->watches)
        s->watches->prev = hw;
    s->watches = hw;
    r->on_abort = on_abort;
    r->abort_data = hw;
    vk_resp_header(r, "content-type",
                   acc->format == VK_FMT_PROTOBUF ? VK_MEDIA_PROTOBUF ";stream=watch"
                                                  : "application/json");
    vk_resp_start(r, 200);

    snprintf(hw->ns, sizeof hw->ns, "%s", (res->flags & VK_NAMESPACED) ? ri->namespace_ : "");
    snprintf(hw->name, sizeof hw->name, "%s", ri->name);
    hw->from = from;
    hw->initial = send_initial || legacy_initial;
    hw->timeout_ms = timeout_ms;
    hw->wait_until_ms = uv_now(s->loop) + 3000;
    begin(hw);
}

/* Starts the stream: initial events when asked for, then the live watch. */
static void begin(http_watch *hw)
{
    vk_server *s = hw->s;
    const vk_resource *res = hw->res;
    uint64_t from = hw->from;
    uint64_t cur = vk_store_revision(s->store);
    /* A plain watch from a revision the store has not reached just waits for it (kube's
     * watch cache serves every event after it). Initial events need the state at that
     * revision: wait up to 3 s, then 504 as kube's waitUntilFreshAndBlock does. */
    if (from > cur && hw->initial) {
        if (uv_now(s->loop) < hw->wait_until_ms) {
            uv_timer_start(&hw->timer, on_timer, 20, 0);
            return;
        }
        char msg[160];
        snprintf(msg, sizeof msg, "Too large resource version: %llu, current: %llu",
                 (unsigned long long)from, (unsigned long long)cur);
        json_t *d =
            json_pack("{s:[{s:s, s:s}], s:i}", "causes", "reason", "ResourceVersionTooLarge",
                      "message", "Too large resource version", "retryAfterSeconds", 1);
        send_error(hw, vk_status_new(504, "Timeout", msg, d));
        watch_end(hw);
        return;
    }
    hw->started = true;
    if (hw->initial) {
        /* One named object: its key as the prefix, and only that exact key. */
        char prefix[VK_KEY_MAX];
        int plen = *hw->name ? vk_reg_key(res, hw->ns, hw->name, prefix)
                             : vk_key_prefix(prefix, sizeof prefix, vk_resource_id(res),
                                             *hw->ns ? hw->ns : NULL);
        vk_list_opts o = {.prefix = prefix, .prefix_len = (size_t)plen};
        vk_list_info info = {0};
        initial_ctx c = {hw, *hw->name ? (size_t)plen : 0};
        int rc = plen < 0 ? plen : vk_store_list(s->store, &o, initial_visit, &c, &info);
        if (rc) {
            send_error(hw, vk_reg_status(res, rc, ""));
            watch_end(hw);
            return;
        }
        from = info.rev;
        if (hw->bookmarks)
            send_bookmark(hw, from, true);
    }
    vk_watch_opts wo = {
        .resource = vk_resource_id(res),
        .ns = *hw->ns ? hw->ns : NULL,
        .name = *hw->name ? hw->name : NULL,
        .from_rev = from,
        .filter = filter,
        .filter_ud = hw,
        .notify = on_notify,
        .ud = hw,
    };
    int rc = vk_watch_add(vk_store_hub(s->store), &wo, &hw->w);
    if (rc) {
        if (rc == VK_EGONE) {
            vk_store_stats st;
            vk_store_stats_get(s->store, &st);
            send_error(hw, too_old(from, st.compact_rev + 1));
        } else {
            send_error(hw, vk_reg_status(res, rc, ""));
        }
        hw->w = NULL;
        watch_end(hw);
        return;
    }
    uint64_t now = uv_now(s->loop);
    hw->deadline_ms = now + hw->timeout_ms;
    hw->next_bookmark_ms = now + BOOKMARK_MS;
    on_timer(&hw->timer);
}

void vk_reg_watch_end_all(vk_server *s)
{
    while (s->watches)
        watch_end(s->watches);
}
