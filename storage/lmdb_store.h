/* The LMDB backend of vk_store (storage/store.h).
 *
 * One LMDB environment in a directory, three named databases:
 *   obj   key: resource id (big-endian u32) + namespace + '\0' + name
 *         value: vk_val header {create_rev, mod_rev, rv_off} + the object's JSON
 *   log   key: revision (big-endian u64, appended)
 *         value: {op, key length, previous value length, new value length, time} + key +
 *                previous stored value (header included) + new stored value
 *   meta  "rev" (u64), "compact" (u64), "schema" (u32)
 *
 * Threads: reads run on the calling (loop) thread in short read txns; all writes run on
 * one writer thread, which commits queued txns in batches: one LMDB write txn per batch,
 * one nested txn per caller's txn so that one failure (conflict, exists) does not touch
 * the others. The map grows (doubling, up to map_max) at batch boundaries, under a
 * rwlock that readers hold for the length of their read txn; when it cannot grow, the
 * txns that do not fit fail with VK_EFULL and nothing partial is committed.
 *
 * Durability: with VK_SYNC_FULL (the default) a txn's callback runs after the batch's
 * commit returned, and LMDB's commit fsyncs (data, then meta page). VK_SYNC_NONE opens
 * with MDB_NOSYNC | MDB_NOMETASYNC: acknowledged writes may be lost, or the db corrupted
 * on a system crash (not a process crash). Only for tests and benchmarks.
 *
 * Compaction: a loop timer fires every compact_interval_ms and compacts the log up to the
 * revision seen at the previous tick (kube-apiserver's etcd compaction), keeping events
 * younger than compact_min_age_ms. Independently, once the log holds more than
 * compact_max_events, the writer trims the oldest (again keeping those younger than
 * compact_min_age_ms). vk_store_compact compacts to an explicit revision, no age kept. */
#ifndef VK_STORAGE_LMDB_STORE_H
#define VK_STORAGE_LMDB_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "storage/store.h"
#include "storage/watch.h"

enum vk_sync { VK_SYNC_FULL = 0, VK_SYNC_NONE = 1 };

typedef struct vk_lmdb_opts {
    const char *path;             /* directory; created (0700) when missing */
    int sync;                     /* VK_SYNC_FULL (default) or VK_SYNC_NONE (unsafe) */
    size_t map_size;              /* initial map size; 0 = 64 MiB */
    size_t map_max;               /* the map never grows beyond this; 0 = 64 GiB */
    size_t max_batch_ops;         /* ops per write txn; 0 = 4096 */
    uint64_t compact_interval_ms; /* 0 = 300000 (5 min); UINT64_MAX = no timer */
    uint64_t compact_min_age_ms;  /* 0 = 75000 (75 s); UINT64_MAX = none */
    uint64_t compact_max_events;  /* 0 = 1000000; UINT64_MAX = no cap */
    vk_fail_fn fail;              /* allocation-failure injection (tests); NULL = none */
    void *fail_ud;
} vk_lmdb_opts;

#define VK_NO_LIMIT UINT64_MAX

struct uv_loop_s;
/* Opens (or creates) the store at o->path and starts its writer thread. Callbacks and
 * watch notifications run on loop. Errors: VK_EINVALID (no path, map_max < map_size),
 * -errno or -EIO from LMDB (another process holding the db is fine for LMDB but not
 * supported here), VK_EINVALID for a db of an unknown schema, -ENOMEM. Free with
 * vk_store_free. */
int vk_store_open_lmdb(struct uv_loop_s *loop, const vk_lmdb_opts *o, vk_store **out);

#endif
