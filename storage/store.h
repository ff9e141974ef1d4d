/* vk_store: the storage interface under the API server.
 *
 * The API layer talks to a vk_store through the functions below; each forwards to the
 * store's vtable (vk_store_ops), so another backend (etcd v3) can be added later. The
 * embedded backend is LMDB (storage/lmdb_store.h).
 *
 * Invariants every backend keeps:
 *  - One global revision (u64) for everything. Every successful mutation takes the next
 *    value; revisions are contiguous (a failed or aborted operation takes none) and never
 *    go backwards, across restarts included.
 *  - A stored value is {create_rev, mod_rev} + the object's final JSON bytes, in which the
 *    store has written metadata.resourceVersion = decimal mod_rev (see vk_op.rv_off).
 *  - Reads are copies: no pointer handed out by a read outlives the call that made it,
 *    unless said otherwise.
 *  - Threads: every function here is called on the loop thread (the thread running the
 *    uv_loop_t given at open). Completion callbacks and watch notifications run on that
 *    thread too. Writes are committed by a writer thread in batches (group commit); a
 *    completion runs after its batch is durable, and then the batch's watch events are
 *    published to the hub (storage/watch.h), in revision order.
 *
 * Keys: resource id (u32, big-endian) + namespace + '\0' + name. Cluster-scoped objects
 * use an empty namespace. Keys sort by resource, then namespace, then name, so one
 * resource or one namespace of it is one contiguous range (see vk_key_prefix). */
#ifndef VK_STORAGE_STORE_H
#define VK_STORAGE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/* LMDB's key limit; any Kubernetes namespace (63) and name (253) fits. */
#define VK_KEY_MAX 511

/* Builds the key of object (resource, ns, name) into out (at least VK_KEY_MAX bytes is
 * always enough). ns may be NULL or "" for cluster-scoped objects.
 * Returns the key length, VK_EINVALID if ns or name is NULL/contains no bytes (name) or
 * the key would exceed cap (or VK_KEY_MAX): VK_ETOOLARGE. */
int vk_key_build(void *out, size_t cap, uint32_t resource, const char *ns, const char *name);
/* Builds the prefix of every key of resource (ns == NULL) or of one namespace of it
 * (ns != NULL; "" is the cluster scope). Returns its length or VK_ETOOLARGE. */
int vk_key_prefix(void *out, size_t cap, uint32_t resource, const char *ns);
/* Splits a key. ns/name point into key (not NUL-terminated: use the lengths).
 * Returns 0 or VK_EINVALID when key is not a well-formed object key. */
int vk_key_parse(const void *key, size_t len, uint32_t *resource, const char **ns, size_t *ns_len,
                 const char **name, size_t *name_len);

/* ---- JSON helpers ---- */

/* No resourceVersion to write: the value is stored as given (opaque bytes). */
#define VK_NO_RV ((size_t)-1)

/* Serializes a jansson object for a write (JSON_COMPACT | JSON_PRESERVE_ORDER) and finds
 * where the store must write the revision: on return out holds the JSON with
 * metadata.resourceVersion set to the empty string "" and *rv_off is the offset between
 * its two quotes. obj is borrowed and left as it was (an existing resourceVersion keeps its
 * place in key order; a missing one is written last in metadata).
 * Errors: VK_EINVALID (obj or obj.metadata not an object), -ENOMEM. out is appended to. */
struct json_t;
int vk_store_encode_json(struct json_t *obj, vk_buf *out, size_t *rv_off);

/* Appends json with the decimal revision rev inserted at offset rv_off (as vk_op does).
 * 0, VK_EINVALID (rv_off > len) or -ENOMEM. */
int vk_json_insert_rv(vk_buf *out, const char *json, size_t len, size_t rv_off, uint64_t rev);

/* ---- Reads ---- */

/* Revisions of one stored object. rv_off is the offset of resourceVersion's first digit in
 * the JSON (VK_NO_RV for opaque values). */
typedef struct vk_obj_meta {
    uint64_t create_rev, mod_rev;
    size_t rv_off;
} vk_obj_meta;

/* One item as seen by a list visitor. Every pointer is valid only during the visit. */
typedef struct vk_kv {
    const void *key;
    size_t key_len;
    const char *val; /* the stored JSON */
    size_t val_len;
    vk_obj_meta meta;
} vk_kv;

/* A list visitor: returns 1 when it took the item (it counts toward the limit), 0 when it
 * skipped it (a selector did not match), or a negative error, which ends the list and is
 * returned by vk_store_list. Runs inside the read: keep it short, never call the store. */
typedef int (*vk_list_visit_fn)(void *ud, const vk_kv *kv);

typedef struct vk_list_opts {
    const void *prefix; /* every key with this prefix (vk_key_prefix) */
    size_t prefix_len;
    const void *start; /* first key to look at, inclusive; NULL = the prefix's first. To go
                        * past a continue token's last key, pass that key + one '\0' byte. */
    size_t start_len;
    size_t limit;   /* stop after this many taken items; 0 = no limit */
    uint64_t rev;   /* 0 = the current state; else the exact state at this revision, rebuilt
                     * from the log (VK_EGONE below the compacted revision, VK_EINVALID above
                     * the current one) */
    int count_rest; /* when the limit stops the list, count the keys left (in info.remaining) */
} vk_list_opts;

typedef struct vk_list_info {
    uint64_t rev;       /* the revision the list saw (the list's resourceVersion) */
    int more;           /* the limit stopped the list before the range ended */
    uint64_t remaining; /* with count_rest and more: keys left after the last taken one
                         * (selectors not applied, as kube's remainingItemCount) */
} vk_list_info;

/* ---- Writes ---- */

enum vk_op_type {
    VK_OP_CREATE = 1, /* fails with VK_EEXIST when the key exists */
    VK_OP_UPDATE = 2, /* CAS on expect_rev (0 = any); VK_ENOTFOUND when absent */
    VK_OP_DELETE = 3, /* CAS on expect_rev (0 = any); VK_ENOTFOUND when absent */
    VK_OP_PUT = 4,    /* create or replace, unconditional */
};

/* One mutation. Every pointer is borrowed and copied by vk_store_submit. */
typedef struct vk_op {
    int type;
    const void *key;
    size_t key_len;
    const char *val; /* create/update/put: the object's JSON (see rv_off) */
    size_t val_len;
    size_t rv_off;       /* where the decimal mod revision is inserted into val (the position
                          * between the quotes of "resourceVersion":""), or VK_NO_RV */
    uint64_t expect_rev; /* update/delete: the mod revision the object must have; 0 = any */
} vk_op;

/* The outcome of one op, as passed to the completion callback. */
typedef struct vk_op_result {
    int err;             /* 0, VK_EEXIST, VK_ENOTFOUND, VK_ECONFLICT, VK_EFULL, -errno;
                          * VK_ECLOSED when another op of the same txn failed */
    uint64_t rev;        /* the revision this op took (0 on failure) */
    uint64_t create_rev; /* the object's create revision */
    uint64_t cur_rev;    /* on VK_ECONFLICT/VK_EEXIST: the mod revision found */
    struct vk_event *ev; /* the watch event (storage/watch.h): new JSON in ev->obj, previous
                          * in ev->prev. Borrowed for the callback; vk_event_ref to keep it */
} vk_op_result;

/* Runs on the loop thread when the txn is done: err is 0 when every op succeeded and the
 * batch is durable, else the first failing op's error (nothing of the txn was applied).
 * res[i] is the result of ops[i]; res is valid only during the call. */
typedef void (*vk_store_cb)(void *ud, int err, const vk_op_result *res, size_t n);

/* ---- Statistics ---- */

#define VK_STATS_LAT_BUCKETS   14
#define VK_STATS_BATCH_BUCKETS 12
/* Upper bounds (microseconds) of the commit latency buckets; the last is +Inf. */
extern const uint64_t vk_stats_lat_bounds_us[VK_STATS_LAT_BUCKETS];
/* Upper bounds (ops) of the batch size buckets; the last is +Inf. */
extern const uint64_t vk_stats_batch_bounds[VK_STATS_BATCH_BUCKETS];

typedef struct vk_store_stats {
    uint64_t rev;           /* last committed revision */
    uint64_t published_rev; /* last revision whose events reached the hub */
    uint64_t compact_rev;   /* the log holds every revision above this one */
    uint64_t map_size;      /* bytes of address space reserved for the db */
    uint64_t db_size;       /* bytes of the db in use (pages up to the last used one) */
    uint64_t objects;       /* stored objects, every resource */
    uint64_t log_events;    /* events in the revision log */
    uint64_t batches, ops_ok, ops_failed, map_grows, full_errors;
    uint64_t lat_count[VK_STATS_LAT_BUCKETS]; /* commit latency: submit to durable (not cumul.) */
    uint64_t lat_sum_us;
    uint64_t batch_count[VK_STATS_BATCH_BUCKETS]; /* ops per batch (not cumulative) */
    uint64_t watchers;
} vk_store_stats;

/* ---- The interface ---- */

typedef struct vk_store vk_store;
struct vk_hub;

typedef struct vk_store_ops {
    const char *name;
    void (*free)(vk_store *s);
    int (*get)(vk_store *s, const void *key, size_t key_len, vk_buf *out, vk_obj_meta *meta);
    int (*list)(vk_store *s, const vk_list_opts *o, vk_list_visit_fn fn, void *ud,
                vk_list_info *info);
    int (*submit)(vk_store *s, const vk_op *ops, size_t n, vk_store_cb cb, void *ud);
    uint64_t (*revision)(vk_store *s);
    int (*compact)(vk_store *s, uint64_t rev);
    void (*stats)(vk_store *s, vk_store_stats *st);
    int (*count)(vk_store *s, uint32_t resource, uint64_t *n);
    struct vk_hub *(*hub)(vk_store *s);
} vk_store_ops;

/* Every backend's struct starts with this. */
struct vk_store {
    const vk_store_ops *ops;
};

/* Closes the store: queued writes are committed and their callbacks run (inside this
 * call), watchers are ended (notify with VK_ECLOSED), uv handles are closed (run the loop
 * once more to finish closing them). NULL is a no-op. */
void vk_store_free(vk_store *s);

/* Copies the stored JSON of key to the end of out and its revisions to *meta (meta may be
 * NULL). Errors: VK_ENOTFOUND, VK_EINVALID (key length 0 or > VK_KEY_MAX), -ENOMEM, -EIO
 * (a storage error). out is unchanged on error. */
int vk_store_get(vk_store *s, const void *key, size_t key_len, vk_buf *out, vk_obj_meta *meta);

/* Visits the items of one key range in key order, in one read snapshot; info (required)
 * gets the snapshot's revision and paging state. Errors: VK_EGONE (o->rev compacted),
 * VK_EINVALID (bad options, o->rev in the future), -ENOMEM, -EIO, or the visitor's error.
 * Items visited before an error were real; info is filled in on success only. */
int vk_store_list(vk_store *s, const vk_list_opts *o, vk_list_visit_fn fn, void *ud,
                  vk_list_info *info);

/* Queues a txn of n (>= 1) ops for the writer: they commit together, each taking its own
 * revision in order, or none does. cb runs exactly once, on the loop thread, after the
 * batch holding the txn is durable (or failed). Everything in ops is copied.
 * Errors (cb is then never called): VK_EINVALID (n == 0, bad op, key or value too large:
 * keys up to VK_KEY_MAX, values up to 1 GiB), VK_ECLOSED (the store is closing), -ENOMEM.
 * Errors through cb: see vk_op_result.err. */
int vk_store_submit(vk_store *s, const vk_op *ops, size_t n, vk_store_cb cb, void *ud);

/* The last revision whose events were published: a list or watch started now is
 * consistent with it. Never decreases. */
uint64_t vk_store_revision(vk_store *s);

/* Asks the writer to drop the log up to and including rev (clamped to the current
 * revision). Asynchronous: reads below it start failing with VK_EGONE once done.
 * 0 or VK_ECLOSED. */
int vk_store_compact(vk_store *s, uint64_t rev);

/* Fills *st. Cheap (a copy under a lock plus an mdb_env_info). */
void vk_store_stats_get(vk_store *s, vk_store_stats *st);

/* Number of objects of one resource. 0 or -EIO. */
int vk_store_count(vk_store *s, uint32_t resource, uint64_t *n);

/* The store's watch hub (storage/watch.h); owned by the store. */
struct vk_hub *vk_store_hub(vk_store *s);

#endif
