/* vk_hub: the watch fan-out. vk_event: one committed mutation, shared by reference.
 *
 * Invariants:
 *  - Everything here runs on the loop thread, except vk_event_ref/unref, which are atomic.
 *  - The hub sees events in revision order (vk_hub_publish), one per revision, after they
 *    are durable. hub->published is the last published revision.
 *  - A watcher receives every event of its resource (and namespace/name, if given) with
 *    rev > from_rev that its filter accepts, exactly once, in revision order: first replayed
 *    from the store's log (in chunks, through short reads, as its queue has room), then
 *    live. The switch happens on the loop thread when the replay reaches hub->published, so
 *    there is neither a gap nor a duplicate.
 *  - A watcher's queue is bounded (queue_max). A live event that does not fit ends the
 *    watcher with VK_ETOOLARGE; the client relists. Replay never overflows: it waits.
 *  - An event is immutable once published. The API layer caches its wire encodings on it
 *    (vk_event_cache_set), so each format is encoded once for every watcher. */
#ifndef VK_STORAGE_WATCH_H
#define VK_STORAGE_WATCH_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/store.h"

#define VK_EVENT_CACHE_SLOTS 8

typedef struct vk_event {
    uint64_t rev;      /* the revision of this mutation */
    int op;            /* VK_OP_CREATE, VK_OP_UPDATE or VK_OP_DELETE */
    uint32_t resource; /* from the key */
    const void *key;
    size_t key_len;
    const char *ns; /* into key, not NUL-terminated */
    size_t ns_len;
    const char *name; /* into key, not NUL-terminated */
    size_t name_len;
    const char *obj; /* the new stored JSON (resourceVersion = rev); NULL for a delete */
    size_t obj_len;
    vk_obj_meta obj_meta;
    const char *prev; /* the previous stored JSON; NULL for a create */
    size_t prev_len;
    vk_obj_meta prev_meta;
    /* private */
    atomic_int refs;
    char *prev_at_rev;
    size_t prev_at_rev_len;
    void *cache[VK_EVENT_CACHE_SLOTS];
    void (*cache_free[VK_EVENT_CACHE_SLOTS])(void *);
} vk_event;

/* Event types a watcher sees. */
enum vk_watch_type {
    VK_WATCH_SKIP = 0,
    VK_WATCH_ADDED = 1,
    VK_WATCH_MODIFIED = 2,
    VK_WATCH_DELETED = 3,
};

/* Builds an event holding copies of key, obj and prev (either may be NULL). For backends
 * and tests. The caller owns the one reference. NULL on allocation failure or a malformed
 * key. */
vk_event *vk_event_new(uint64_t rev, int op, const void *key, size_t key_len, const char *obj,
                       size_t obj_len, const vk_obj_meta *obj_meta, const char *prev,
                       size_t prev_len, const vk_obj_meta *prev_meta);
vk_event *vk_event_ref(vk_event *ev);
/* Drops a reference; the last one frees the event and its cached encodings. NULL ok. */
void vk_event_unref(vk_event *ev);
/* The base type of ev: ADDED for a create, MODIFIED for an update, DELETED for a delete. */
int vk_event_type(const vk_event *ev);
/* The previous object with its resourceVersion rewritten to ev->rev: what a DELETED event
 * carries (a deletion, or an object leaving a selector). Computed once and cached on ev;
 * *json stays valid while ev lives. VK_ENOTFOUND (no previous object), -ENOMEM. */
int vk_event_prev_at_rev(vk_event *ev, const char **json, size_t *len);
/* The encoding cached in slot (slot < VK_EVENT_CACHE_SLOTS; the API layer assigns slots to
 * formats), or NULL. */
void *vk_event_cache_get(const vk_event *ev, unsigned slot);
/* Caches p in slot; free_fn(p) runs when the event is freed. Replaces (and frees) a
 * previous entry. Returns 0 or VK_EINVALID (slot out of range). */
int vk_event_cache_set(vk_event *ev, unsigned slot, void *p, void (*free_fn)(void *));

typedef struct vk_hub vk_hub;
typedef struct vk_watcher vk_watcher;

/* Where replay comes from (the store's log). read visits the log revisions in
 * (after, upto], at most max_scan of them, from a short read: for each event of resource it
 * calls emit (handing over the reference; emit returns 0 or -ENOMEM, which ends the read).
 * *scanned gets the last revision looked at. Returns 0, VK_EGONE (after is below the
 * compacted revision), -ENOMEM, -EIO. */
typedef int (*vk_hub_emit_fn)(void *ctx, vk_event *ev);
typedef struct vk_hub_source {
    void *ud;
    uint64_t (*compacted)(void *ud); /* the compacted revision: replay needs after >= it */
    int (*read)(void *ud, uint32_t resource, uint64_t after, uint64_t upto, size_t max_scan,
                vk_hub_emit_fn emit, void *ctx, uint64_t *scanned);
} vk_hub_source;

/* Allocation-failure injection: returning nonzero makes the next allocation fail. */
typedef int (*vk_fail_fn)(void *ud);

struct uv_loop_s;
/* A hub publishing from revision published. src is copied. The loop is used for an idle
 * handle that spreads replays over loop iterations. Returns 0 or -ENOMEM. */
int vk_hub_new(struct uv_loop_s *loop, const vk_hub_source *src, uint64_t published,
               vk_fail_fn fail, void *fail_ud, vk_hub **out);
/* Ends every watcher (notify with VK_ECLOSED; each must still be vk_watch_free'd by its
 * owner), closes the idle handle (run the loop once more) and frees the hub. NULL ok. */
void vk_hub_free(vk_hub *h);
/* Fans ev out to the matching watchers (each queued copy takes a reference; ev stays the
 * caller's). ev->rev must be hub->published + 1 (else VK_EINVALID). */
int vk_hub_publish(vk_hub *h, vk_event *ev);
/* The last published revision. */
uint64_t vk_hub_published(const vk_hub *h);
/* Number of live (not ended) watchers. */
size_t vk_hub_watchers(const vk_hub *h);

/* Decides what a watcher sees of ev: the API layer evaluates label/field selectors on
 * ev->prev and ev->obj (kube's rule: new only -> ADDED, old only -> DELETED with the old
 * object at the new revision, both -> MODIFIED, neither -> SKIP). Returns a vk_watch_type.
 * Must not call the hub. */
typedef int (*vk_watch_filter_fn)(void *ud, const vk_event *ev);
/* Tells the owner that its queue went from empty to non-empty (err 0): drain it with
 * vk_watch_next; or that the watcher ended (err < 0: VK_ETOOLARGE on overflow, VK_EGONE
 * when compaction overtook its replay, VK_ECLOSED when the hub closed, -ENOMEM). After an
 * error there are no more events. May call vk_watch_next and vk_watch_free (of this or
 * any watcher), vk_watch_add. */
typedef void (*vk_watch_notify_fn)(void *ud, vk_watcher *w, int err);

typedef struct vk_watch_opts {
    uint32_t resource;
    const char *ns;    /* NULL = every namespace */
    const char *name;  /* NULL = every name */
    uint64_t from_rev; /* deliver events with rev > from_rev (vk_store_revision() for "now") */
    size_t queue_max;  /* 0 = 1024 */
    vk_watch_filter_fn filter; /* NULL = the base type of every event */
    void *filter_ud;
    vk_watch_notify_fn notify; /* required */
    void *ud;
} vk_watch_opts;

/* Subscribes. Call on the loop thread; the replay (if any) starts on a later loop
 * iteration, so events reach notify only after this returns. ns and name are copied.
 * Errors: VK_EGONE (from_rev below the compacted revision), VK_EINVALID (no notify),
 * -ENOMEM. */
int vk_watch_add(vk_hub *h, const vk_watch_opts *o, vk_watcher **out);
/* Takes the next event: returns 1 and sets *ev (the caller owns one reference: unref it)
 * and *type; 0 when the queue is empty (notify fires when it is not any more); or the
 * error that ended the watcher. */
int vk_watch_next(vk_watcher *w, vk_event **ev, int *type);
/* The revision up to which w has been given everything: once the queue is drained, a
 * bookmark at this revision is exact (>= every event sent; no later event is <= it). */
uint64_t vk_watch_progress(const vk_watcher *w);
/* Events waiting in w's queue. */
size_t vk_watch_queued(const vk_watcher *w);
/* Unsubscribes and frees w (its queued events are dropped). Safe inside notify. NULL ok. */
void vk_watch_free(vk_watcher *w);

#endif
