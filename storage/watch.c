/* The watch hub and events. See watch.h for the invariants.
 *
 * Watchers of one resource hang in a doubly linked list (bucket, indexed by resource id).
 * Notify callbacks may free any watcher: while the hub iterates (depth > 0) a freed watcher
 * is only marked and moved to a grave list, which is swept when the iteration ends. */
#include "storage/watch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "common/err.h"

#define DEFAULT_QUEUE 1024
#define REPLAY_CHUNK  256  /* log entries per read txn */
#define REPLAY_BUDGET 4096 /* log entries per watcher per loop iteration */
/* Watchers hang off buckets chosen by resource id (ids are hashes, so any u32);
 * a bucket may hold several resources, so delivery compares the id too. */
#define NBUCKETS   256u
#define BUCKET(id) ((id) % NBUCKETS)

enum { W_REPLAY = 1, W_LIVE = 2, W_ENDED = 3 };

struct qent {
    vk_event *ev;
    int type;
};

struct vk_watcher {
    vk_hub *hub;               /* NULL once the hub is gone */
    vk_watcher *prev, *next;   /* bucket list */
    vk_watcher *rprev, *rnext; /* replay list */
    vk_watcher *gnext;         /* grave list */
    int in_replay, freed;
    uint32_t resource;
    char *ns, *name;
    size_t ns_len, name_len;
    uint64_t from_rev, pos;
    int state, err, armed;
    size_t queue_max, qcap, qhead, qlen;
    struct qent *q;
    vk_watch_filter_fn filter;
    void *filter_ud;
    vk_watch_notify_fn notify;
    void *ud;
};

struct hub_idle {
    uv_idle_t idle;
    vk_hub *hub;
};

struct vk_hub {
    struct hub_idle *idle;
    int idle_on;
    vk_hub_source src;
    uint64_t published;
    vk_watcher **buckets;
    size_t nbuckets;
    size_t nwatchers;
    int depth;
    vk_watcher *grave;
    vk_watcher *replay; /* watchers in W_REPLAY */
    vk_fail_fn fail;
    void *fail_ud;
};

static void *hub_alloc(vk_hub *h, size_t n)
{
    if (h && h->fail && h->fail(h->fail_ud))
        return NULL;
    return malloc(n);
}

/* ---- events ---- */

vk_event *vk_event_new(uint64_t rev, int op, const void *key, size_t key_len, const char *obj,
                       size_t obj_len, const vk_obj_meta *obj_meta, const char *prev,
                       size_t prev_len, const vk_obj_meta *prev_meta)
{
    uint32_t res;
    const char *ns, *name;
    size_t ns_len, name_len;
    if (vk_key_parse(key, key_len, &res, &ns, &ns_len, &name, &name_len))
        return NULL;
    size_t olen = obj ? obj_len : 0, plen = prev ? prev_len : 0;
    vk_event *ev = malloc(sizeof *ev + key_len + olen + plen + 3);
    if (!ev)
        return NULL;
    memset(ev, 0, sizeof *ev);
    char *p = (char *)(ev + 1);
    ev->rev = rev;
    ev->op = op;
    ev->resource = res;
    memcpy(p, key, key_len);
    p[key_len] = 0;
    ev->key = p;
    ev->key_len = key_len;
    ev->ns = p + (ns - (const char *)key);
    ev->ns_len = ns_len;
    ev->name = p + (name - (const char *)key);
    ev->name_len = name_len;
    p += key_len + 1;
    if (obj) {
        memcpy(p, obj, olen);
        p[olen] = 0;
        ev->obj = p;
        ev->obj_len = olen;
        p += olen + 1;
        if (obj_meta)
            ev->obj_meta = *obj_meta;
    }
    if (prev) {
        memcpy(p, prev, plen);
        p[plen] = 0;
        ev->prev = p;
        ev->prev_len = plen;
        if (prev_meta)
            ev->prev_meta = *prev_meta;
    }
    atomic_init(&ev->refs, 1);
    return ev;
}

vk_event *vk_event_ref(vk_event *ev)
{
    atomic_fetch_add_explicit(&ev->refs, 1, memory_order_relaxed);
    return ev;
}

void vk_event_unref(vk_event *ev)
{
    if (!ev || atomic_fetch_sub_explicit(&ev->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (unsigned i = 0; i < VK_EVENT_CACHE_SLOTS; i++)
        if (ev->cache[i] && ev->cache_free[i])
            ev->cache_free[i](ev->cache[i]);
    free(ev->prev_at_rev);
    free(ev);
}

int vk_event_type(const vk_event *ev)
{
    switch (ev->op) {
    case VK_OP_CREATE:
        return VK_WATCH_ADDED;
    case VK_OP_DELETE:
        return VK_WATCH_DELETED;
    default:
        return VK_WATCH_MODIFIED;
    }
}

static size_t dec_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

int vk_event_prev_at_rev(vk_event *ev, const char **json, size_t *len)
{
    if (!ev->prev)
        return VK_ENOTFOUND;
    size_t off = ev->prev_meta.rv_off;
    if (off == VK_NO_RV || off > ev->prev_len) {
        *json = ev->prev;
        *len = ev->prev_len;
        return 0;
    }
    if (!ev->prev_at_rev) {
        size_t old = dec_len(ev->prev_meta.mod_rev);
        if (off + old > ev->prev_len)
            old = 0; /* a malformed header: insert rather than replace */
        char digits[24];
        size_t nd = (size_t)snprintf(digits, sizeof digits, "%llu", (unsigned long long)ev->rev);
        size_t n = ev->prev_len - old + nd;
        char *p = malloc(n + 1);
        if (!p)
            return -ENOMEM;
        memcpy(p, ev->prev, off);
        memcpy(p + off, digits, nd);
        memcpy(p + off + nd, ev->prev + off + old, ev->prev_len - off - old);
        p[n] = 0;
        ev->prev_at_rev = p;
        ev->prev_at_rev_len = n;
    }
    *json = ev->prev_at_rev;
    *len = ev->prev_at_rev_len;
    return 0;
}

void *vk_event_cache_get(const vk_event *ev, unsigned slot)
{
    return slot < VK_EVENT_CACHE_SLOTS ? ev->cache[slot] : NULL;
}

int vk_event_cache_set(vk_event *ev, unsigned slot, void *p, void (*free_fn)(void *))
{
    if (slot >= VK_EVENT_CACHE_SLOTS)
        return VK_EINVALID;
    if (ev->cache[slot] && ev->cache_free[slot])
        ev->cache_free[slot](ev->cache[slot]);
    ev->cache[slot] = p;
    ev->cache_free[slot] = free_fn;
    return 0;
}

/* ---- watcher queue ---- */

static int q_push(vk_hub *h, vk_watcher *w, vk_event *ev, int type)
{
    if (w->qlen == w->qcap) {
        size_t ncap = w->qcap ? w->qcap * 2 : 16;
        if (ncap > w->queue_max)
            ncap = w->queue_max;
        struct qent *nq = hub_alloc(h, ncap * sizeof *nq);
        if (!nq)
            return -ENOMEM;
        for (size_t i = 0; i < w->qlen; i++)
            nq[i] = w->q[(w->qhead + i) % w->qcap];
        free(w->q);
        w->q = nq;
        w->qcap = ncap;
        w->qhead = 0;
    }
    w->q[(w->qhead + w->qlen) % w->qcap] = (struct qent){vk_event_ref(ev), type};
    w->qlen++;
    return 0;
}

static void q_clear(vk_watcher *w)
{
    for (size_t i = 0; i < w->qlen; i++)
        vk_event_unref(w->q[(w->qhead + i) % w->qcap].ev);
    free(w->q);
    w->q = NULL;
    w->qlen = w->qcap = w->qhead = 0;
}

static void replay_unlink(vk_hub *h, vk_watcher *w)
{
    if (!w->in_replay)
        return;
    if (w->rprev)
        w->rprev->rnext = w->rnext;
    else
        h->replay = w->rnext;
    if (w->rnext)
        w->rnext->rprev = w->rprev;
    w->rprev = w->rnext = NULL;
    w->in_replay = 0;
}

/* Ends w with err and tells its owner (once). */
static void end_watcher(vk_hub *h, vk_watcher *w, int err)
{
    if (w->state == W_ENDED)
        return;
    if (h) {
        replay_unlink(h, w);
        h->nwatchers--;
    }
    w->state = W_ENDED;
    w->err = err;
    q_clear(w);
    if (!w->freed)
        w->notify(w->ud, w, err);
}

static int matches(const vk_watcher *w, const vk_event *ev)
{
    if (ev->rev <= w->from_rev)
        return 0;
    if (w->ns && (w->ns_len != ev->ns_len || memcmp(w->ns, ev->ns, w->ns_len)))
        return 0;
    if (w->name && (w->name_len != ev->name_len || memcmp(w->name, ev->name, w->name_len)))
        return 0;
    return 1;
}

/* Queues ev for w if it matches; notifies when the queue was armed. Returns 0 or the error
 * that ended w. */
static int deliver(vk_hub *h, vk_watcher *w, vk_event *ev)
{
    if (!matches(w, ev))
        return 0;
    int type = w->filter ? w->filter(w->filter_ud, ev) : vk_event_type(ev);
    if (type == VK_WATCH_SKIP)
        return 0;
    if (w->qlen >= w->queue_max) {
        end_watcher(h, w, VK_ETOOLARGE);
        return VK_ETOOLARGE;
    }
    int r = q_push(h, w, ev, type);
    if (r) {
        end_watcher(h, w, r);
        return r;
    }
    if (w->armed) {
        w->armed = 0;
        w->notify(w->ud, w, 0);
    }
    return 0;
}

static void free_watcher_mem(vk_watcher *w)
{
    q_clear(w);
    free(w->ns);
    free(w->name);
    free(w);
}

static void bucket_unlink(vk_hub *h, vk_watcher *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        h->buckets[BUCKET(w->resource)] = w->next;
    if (w->next)
        w->next->prev = w->prev;
}

static void sweep(vk_hub *h)
{
    while (h->grave) {
        vk_watcher *w = h->grave;
        h->grave = w->gnext;
        replay_unlink(h, w);
        bucket_unlink(h, w);
        free_watcher_mem(w);
    }
}

/* ---- replay ---- */

struct replay_ctx {
    vk_hub *h;
    vk_watcher *w;
};

static int replay_emit(void *ctx, vk_event *ev)
{
    struct replay_ctx *c = ctx;
    int r = 0;
    if (c->w->state == W_REPLAY && !c->w->freed)
        r = deliver(c->h, c->w, ev);
    vk_event_unref(ev);
    return r;
}

/* Runs w's replay for up to budget log entries. Returns 1 when w can make more progress
 * now (budget exhausted), 0 otherwise (live, ended, or waiting for queue room). */
static int replay_step(vk_hub *h, vk_watcher *w, size_t budget)
{
    while (w->state == W_REPLAY && !w->freed) {
        if (w->pos >= h->published) {
            w->state = W_LIVE;
            replay_unlink(h, w);
            return 0;
        }
        size_t room = w->queue_max - w->qlen;
        if (room == 0)
            return 0;
        if (budget == 0)
            return 1;
        size_t scan = room < REPLAY_CHUNK ? room : REPLAY_CHUNK;
        if (scan > budget)
            scan = budget;
        uint64_t scanned = w->pos;
        struct replay_ctx c = {h, w};
        int r = h->src.read(h->src.ud, w->resource, w->pos, h->published, scan, replay_emit, &c,
                            &scanned);
        if (w->state != W_REPLAY || w->freed)
            return 0;
        if (r == 0 && scanned <= w->pos)
            r = -EIO; /* the source made no progress: never spin */
        if (r) {
            end_watcher(h, w, r);
            return 0;
        }
        w->pos = scanned;
        budget -= scan;
    }
    return 0;
}

static void idle_cb(uv_idle_t *idle)
{
    struct hub_idle *hi = idle->data;
    vk_hub *h = hi->hub;
    int more = 0;
    h->depth++;
    for (vk_watcher *w = h->replay, *next; w; w = next) {
        next = w->rnext;
        if (!w->freed && replay_step(h, w, REPLAY_BUDGET))
            more = 1;
    }
    h->depth--;
    if (h->depth == 0)
        sweep(h);
    /* Keep going while some replay has room (a notify may have drained a queue). */
    for (vk_watcher *w = h->replay; w && !more; w = w->rnext)
        if (!w->freed && w->qlen < w->queue_max)
            more = 1;
    if (!more) {
        uv_idle_stop(&hi->idle);
        h->idle_on = 0;
    }
}

static void kick(vk_hub *h)
{
    if (!h->idle_on) {
        uv_idle_start(&h->idle->idle, idle_cb);
        h->idle_on = 1;
    }
}

/* ---- hub ---- */

int vk_hub_new(uv_loop_t *loop, const vk_hub_source *src, uint64_t published, vk_fail_fn fail,
               void *fail_ud, vk_hub **out)
{
    vk_hub *h = NULL;
    if (!(fail && fail(fail_ud)))
        h = calloc(1, sizeof *h);
    if (!h)
        return -ENOMEM;
    h->fail = fail;
    h->fail_ud = fail_ud;
    h->idle = hub_alloc(h, sizeof *h->idle);
    if (!h->idle) {
        free(h);
        return -ENOMEM;
    }
    uv_idle_init(loop, &h->idle->idle);
    h->idle->idle.data = h->idle;
    h->idle->hub = h;
    h->src = *src;
    h->published = published;
    *out = h;
    return 0;
}

static void idle_closed(uv_handle_t *hd)
{
    free(hd->data);
}

void vk_hub_free(vk_hub *h)
{
    if (!h)
        return;
    h->depth++;
    for (size_t i = 0; i < h->nbuckets; i++)
        for (vk_watcher *w = h->buckets[i], *next; w; w = next) {
            next = w->next;
            if (!w->freed)
                end_watcher(h, w, VK_ECLOSED);
        }
    h->depth--;
    sweep(h);
    for (size_t i = 0; i < h->nbuckets; i++)
        for (vk_watcher *w = h->buckets[i], *next; w; w = next) {
            next = w->next;
            w->hub = NULL;
            w->prev = w->next = NULL;
        }
    free(h->buckets);
    uv_close((uv_handle_t *)&h->idle->idle, idle_closed);
    free(h);
}

int vk_hub_publish(vk_hub *h, vk_event *ev)
{
    if (ev->rev != h->published + 1)
        return VK_EINVALID;
    h->published = ev->rev;
    if (!h->nbuckets)
        return 0;
    h->depth++;
    for (vk_watcher *w = h->buckets[BUCKET(ev->resource)], *next; w; w = next) {
        next = w->next;
        if (w->state == W_LIVE && !w->freed && w->resource == ev->resource)
            deliver(h, w, ev);
    }
    h->depth--;
    if (h->depth == 0)
        sweep(h);
    return 0;
}

uint64_t vk_hub_published(const vk_hub *h)
{
    return h->published;
}

size_t vk_hub_watchers(const vk_hub *h)
{
    return h->nwatchers;
}

static char *dup_str(vk_hub *h, const char *s, size_t *len)
{
    *len = strlen(s);
    char *p = hub_alloc(h, *len + 1);
    if (p)
        memcpy(p, s, *len + 1);
    return p;
}

int vk_watch_add(vk_hub *h, const vk_watch_opts *o, vk_watcher **out)
{
    if (!o->notify)
        return VK_EINVALID;
    if (o->from_rev < h->published && h->src.compacted && o->from_rev < h->src.compacted(h->src.ud))
        return VK_EGONE;
    if (!h->nbuckets) {
        vk_watcher **nb = hub_alloc(h, NBUCKETS * sizeof *nb);
        if (!nb)
            return -ENOMEM;
        memset(nb, 0, NBUCKETS * sizeof *nb);
        h->buckets = nb;
        h->nbuckets = NBUCKETS;
    }
    vk_watcher *w = hub_alloc(h, sizeof *w);
    if (!w)
        return -ENOMEM;
    memset(w, 0, sizeof *w);
    if ((o->ns && !(w->ns = dup_str(h, o->ns, &w->ns_len))) ||
        (o->name && !(w->name = dup_str(h, o->name, &w->name_len)))) {
        free_watcher_mem(w);
        return -ENOMEM;
    }
    w->hub = h;
    w->resource = o->resource;
    w->from_rev = w->pos = o->from_rev;
    w->queue_max = o->queue_max ? o->queue_max : DEFAULT_QUEUE;
    w->filter = o->filter;
    w->filter_ud = o->filter_ud;
    w->notify = o->notify;
    w->ud = o->ud;
    w->armed = 1;
    w->next = h->buckets[BUCKET(o->resource)];
    if (w->next)
        w->next->prev = w;
    h->buckets[BUCKET(o->resource)] = w;
    h->nwatchers++;
    if (w->pos < h->published) {
        w->state = W_REPLAY;
        w->in_replay = 1;
        w->rnext = h->replay;
        if (h->replay)
            h->replay->rprev = w;
        h->replay = w;
        kick(h);
    } else {
        w->state = W_LIVE;
    }
    *out = w;
    return 0;
}

int vk_watch_next(vk_watcher *w, vk_event **ev, int *type)
{
    if (w->state == W_ENDED)
        return w->err;
    if (w->qlen == 0) {
        w->armed = 1;
        return 0;
    }
    struct qent e = w->q[w->qhead];
    w->qhead = (w->qhead + 1) % w->qcap;
    w->qlen--;
    *ev = e.ev;
    *type = e.type;
    /* A replay waiting for room resumes once the queue is half empty. */
    if (w->state == W_REPLAY && w->hub && w->qlen == w->queue_max / 2)
        kick(w->hub);
    return 1;
}

uint64_t vk_watch_progress(const vk_watcher *w)
{
    if (w->state == W_REPLAY || !w->hub)
        return w->pos;
    return w->hub->published > w->from_rev ? w->hub->published : w->from_rev;
}

size_t vk_watch_queued(const vk_watcher *w)
{
    return w->qlen;
}

void vk_watch_free(vk_watcher *w)
{
    if (!w)
        return;
    vk_hub *h = w->hub;
    if (!h) {
        free_watcher_mem(w);
        return;
    }
    if (w->freed)
        return;
    if (w->state != W_ENDED) {
        h->nwatchers--;
        w->state = W_ENDED;
        w->err = VK_ECLOSED;
    }
    w->freed = 1;
    q_clear(w);
    if (h->depth > 0) {
        w->gnext = h->grave;
        h->grave = w;
        return;
    }
    replay_unlink(h, w);
    bucket_unlink(h, w);
    free_watcher_mem(w);
}
