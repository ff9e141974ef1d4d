/* The LMDB store. See lmdb_store.h for the layout, threads and durability.
 *
 * Invariants:
 *  - Only the writer thread opens write txns. w_rev is its view of the last committed
 *    revision; rev (atomic) is published to other threads after each commit.
 *  - Revisions are contiguous: the log holds exactly compact_rev+1 .. rev.
 *  - The loop thread owns the hub, the done-list processing and the timer; requests move
 *    loop -> writer through `inq` and writer -> loop through `done`, both under qmu.
 *  - A read txn is held only inside one public call and only with maplock read-held, so
 *    the writer can remap (mdb_env_set_mapsize) when it holds maplock for writing.
 *  - No MDB_val outlives the txn it came from: reads copy out, the writer copies previous
 *    values into the log record and the event before overwriting. */
#include "storage/lmdb_store.h"

#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <uv.h>

#include "common/err.h"
#include "common/log.h"

#define SCHEMA_VERSION 1
#define COMPACT_CHUNK  10000 /* log deletions per write txn */
#define GROW_AT_PCT    80    /* grow when the used part of the map passes this */

/* The header of a stored value (native byte order; LMDB files are not portable anyway). */
struct valhdr {
    uint64_t create_rev, mod_rev;
    uint32_t rv_off; /* UINT32_MAX: no resourceVersion */
    uint32_t flags;
};

/* The header of a log record. */
struct loghdr {
    uint8_t op, version;
    uint16_t key_len;
    uint32_t prev_len, new_len; /* stored values, headers included; 0 = none */
    uint32_t pad;
    uint64_t time_ms;
};

struct rop {
    int type;
    uint8_t *key;
    size_t key_len;
    char *val;
    size_t val_len;
    size_t rv_off;
    uint64_t expect_rev;
    int applied_op; /* create/update/delete as applied */
    vk_op_result *res;
};

struct req {
    struct req *next;
    vk_store_cb cb;
    void *ud;
    int err;
    size_t n;
    uint64_t t_submit_ns;
    vk_op_result *res; /* n results, after ops */
    struct rop ops[];
};

struct handles {
    uv_async_t async;
    uv_timer_t timer;
    int open;
};

struct rescount {
    uint32_t resource;
    uint64_t n;
};

typedef struct lmdb_store {
    vk_store base;
    uv_loop_t *loop;
    vk_lmdb_opts o;
    char *path;
    MDB_env *env;
    MDB_dbi obj, log, meta;
    size_t map_size, page_size;

    pthread_rwlock_t maplock;
    MDB_txn *rtxn; /* the loop thread's reusable read txn (reset when idle) */
    int rtxn_busy;

    pthread_t writer;
    int writer_started;
    pthread_mutex_t qmu;
    pthread_cond_t qcond;
    struct req *inq, **inq_tail;
    struct req *done, **done_tail;
    int stop;
    uint64_t compact_target; /* writer: compact the log up to here */
    int compact_keep_age;    /* ...keeping events younger than min_age */
    size_t inflight;         /* loop: submitted, callback not run yet */
    int closing;

    uint64_t w_rev;       /* writer only */
    _Atomic uint64_t rev; /* last committed */
    _Atomic uint64_t compact_rev;
    uint64_t tick_rev; /* loop: revision at the previous compaction tick */

    vk_buf vbuf, lbuf; /* writer scratch */

    pthread_mutex_t stmu;
    vk_store_stats st;
    struct rescount *counts;
    size_t ncounts, capcounts;

    struct handles *h;
    vk_hub *hub;
} lmdb_store;

static const vk_store_ops lmdb_ops;

static void *st_alloc(lmdb_store *s, size_t n)
{
    if (s->o.fail && s->o.fail(s->o.fail_ud))
        return NULL;
    return malloc(n);
}

static uint64_t now_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static uint64_t get_be64(const void *q)
{
    const uint8_t *p = q;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static uint32_t key_resource(const void *k)
{
    const uint8_t *p = k;
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int map_err(int rc)
{
    switch (rc) {
    case 0:
        return 0;
    case MDB_NOTFOUND:
        return VK_ENOTFOUND;
    case MDB_MAP_FULL:
        return VK_EFULL;
    case ENOMEM:
        return -ENOMEM;
    default:
        return rc > 0 ? -rc : -EIO;
    }
}

/* Decodes a stored value. 0 or -EIO when it is too short. */
static int val_decode(const MDB_val *v, vk_obj_meta *m, const char **json, size_t *len)
{
    struct valhdr hd;
    if (v->mv_size < sizeof hd)
        return -EIO;
    memcpy(&hd, v->mv_data, sizeof hd);
    m->create_rev = hd.create_rev;
    m->mod_rev = hd.mod_rev;
    m->rv_off = hd.rv_off == UINT32_MAX ? VK_NO_RV : hd.rv_off;
    *json = (const char *)v->mv_data + sizeof hd;
    *len = v->mv_size - sizeof hd;
    return 0;
}

struct logrec {
    struct loghdr h;
    const void *key;
    MDB_val prev, nval; /* stored values; mv_size 0 = none */
};

static int log_decode(const MDB_val *v, struct logrec *r)
{
    if (v->mv_size < sizeof r->h)
        return -EIO;
    memcpy(&r->h, v->mv_data, sizeof r->h);
    const char *p = (const char *)v->mv_data + sizeof r->h;
    if (sizeof r->h + (size_t)r->h.key_len + r->h.prev_len + r->h.new_len != v->mv_size)
        return -EIO;
    r->key = p;
    r->prev.mv_data = (void *)(p + r->h.key_len);
    r->prev.mv_size = r->h.prev_len;
    r->nval.mv_data = (void *)(p + r->h.key_len + r->h.prev_len);
    r->nval.mv_size = r->h.new_len;
    return 0;
}

/* ---- read txns (loop thread) ---- */

static int rd_begin(lmdb_store *s, MDB_txn **txn)
{
    pthread_rwlock_rdlock(&s->maplock);
    int rc;
    if (!s->rtxn_busy && s->rtxn) {
        rc = mdb_txn_renew(s->rtxn);
        if (rc == 0) {
            s->rtxn_busy = 1;
            *txn = s->rtxn;
            return 0;
        }
        mdb_txn_abort(s->rtxn);
        s->rtxn = NULL;
    }
    rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn);
    if (rc) {
        pthread_rwlock_unlock(&s->maplock);
        return map_err(rc);
    }
    if (!s->rtxn_busy && !s->rtxn) {
        s->rtxn = *txn;
        s->rtxn_busy = 1;
    }
    return 0;
}

static void rd_end(lmdb_store *s, MDB_txn *txn)
{
    if (txn == s->rtxn) {
        mdb_txn_reset(txn);
        s->rtxn_busy = 0;
    } else {
        mdb_txn_abort(txn);
    }
    pthread_rwlock_unlock(&s->maplock);
}

static int meta_get_u64(MDB_txn *txn, MDB_dbi dbi, const char *name, uint64_t *v)
{
    MDB_val k = {strlen(name), (void *)name}, d;
    int rc = mdb_get(txn, dbi, &k, &d);
    if (rc == MDB_NOTFOUND) {
        *v = 0;
        return 0;
    }
    if (rc)
        return map_err(rc);
    if (d.mv_size != 8)
        return -EIO;
    memcpy(v, d.mv_data, 8);
    return 0;
}

static int meta_put_u64(MDB_txn *txn, MDB_dbi dbi, const char *name, uint64_t v)
{
    MDB_val k = {strlen(name), (void *)name}, d = {8, &v};
    return mdb_put(txn, dbi, &k, &d, 0);
}

/* ---- get ---- */

static int lm_get(vk_store *base, const void *key, size_t key_len, vk_buf *out, vk_obj_meta *meta)
{
    lmdb_store *s = (lmdb_store *)base;
    if (key_len == 0 || key_len > VK_KEY_MAX)
        return VK_EINVALID;
    MDB_txn *txn;
    int r = rd_begin(s, &txn);
    if (r)
        return r;
    MDB_val k = {key_len, (void *)key}, v;
    r = map_err(mdb_get(txn, s->obj, &k, &v));
    if (r == 0) {
        vk_obj_meta m;
        const char *json;
        size_t len;
        r = val_decode(&v, &m, &json, &len);
        if (r == 0 && vk_buf_append(out, json, len))
            r = -ENOMEM;
        if (r == 0 && meta)
            *meta = m;
    }
    rd_end(s, txn);
    return r;
}

/* ---- list ---- */

static int has_prefix(const MDB_val *k, const vk_list_opts *o)
{
    return k->mv_size >= o->prefix_len && memcmp(k->mv_data, o->prefix, o->prefix_len) == 0;
}

static int keycmp(const void *a, size_t al, const void *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    if (c)
        return c;
    return al < bl ? -1 : al > bl;
}

struct lister {
    const vk_list_opts *o;
    vk_list_visit_fn fn;
    void *ud;
    size_t taken;
    int stopped; /* the limit was reached */
};

/* Visits one item; sets l->stopped when the limit is reached. */
static int visit(struct lister *l, const void *key, size_t key_len, const MDB_val *v)
{
    vk_kv kv = {.key = key, .key_len = key_len};
    int r = val_decode(v, &kv.meta, &kv.val, &kv.val_len);
    if (r)
        return r;
    r = l->fn(l->ud, &kv);
    if (r < 0)
        return r;
    if (r > 0 && l->o->limit && ++l->taken >= l->o->limit)
        l->stopped = 1;
    return 0;
}

/* Positions cur at the first key of the range. */
static int range_first(MDB_cursor *cur, const vk_list_opts *o, MDB_val *k, MDB_val *v)
{
    if (o->start && keycmp(o->start, o->start_len, o->prefix, o->prefix_len) > 0) {
        k->mv_data = (void *)o->start;
        k->mv_size = o->start_len;
    } else {
        k->mv_data = (void *)o->prefix;
        k->mv_size = o->prefix_len;
    }
    return mdb_cursor_get(cur, k, v, k->mv_size ? MDB_SET_RANGE : MDB_FIRST);
}

static int count_rest(MDB_cursor *cur, const vk_list_opts *o, MDB_val *k, MDB_val *v, uint64_t *n)
{
    uint64_t c = 0;
    int rc;
    while ((rc = mdb_cursor_get(cur, k, v, MDB_NEXT)) == 0 && has_prefix(k, o))
        c++;
    *n = c;
    return rc == 0 || rc == MDB_NOTFOUND ? 0 : map_err(rc);
}

static int list_current(lmdb_store *s, MDB_txn *txn, struct lister *l, vk_list_info *info)
{
    const vk_list_opts *o = l->o;
    MDB_cursor *cur;
    int r = map_err(mdb_cursor_open(txn, s->obj, &cur));
    if (r)
        return r;
    MDB_val k, v;
    int rc = range_first(cur, o, &k, &v);
    while (rc == 0 && has_prefix(&k, o) && !l->stopped) {
        if ((r = visit(l, k.mv_data, k.mv_size, &v)) || l->stopped)
            break;
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (!r && rc && rc != MDB_NOTFOUND)
        r = map_err(rc);
    if (!r && l->stopped) {
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        info->more = rc == 0 && has_prefix(&k, o);
        if (info->more && o->count_rest) {
            r = count_rest(cur, o, &k, &v, &info->remaining);
            info->remaining++;
        }
    }
    mdb_cursor_close(cur);
    return r;
}

/* An object's state at the list's revision, from the first log record after it. */
struct ovr {
    const void *key;
    size_t key_len;
    MDB_val val; /* mv_size 0: absent at that revision */
    size_t seq;
};

static int ovr_cmp(const void *a, const void *b)
{
    const struct ovr *x = a, *y = b;
    int c = keycmp(x->key, x->key_len, y->key, y->key_len);
    if (c)
        return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int in_range(const vk_list_opts *o, const void *key, size_t len)
{
    if (len < o->prefix_len || memcmp(key, o->prefix, o->prefix_len))
        return 0;
    return !o->start || keycmp(key, len, o->start, o->start_len) >= 0;
}

static int list_at(lmdb_store *s, MDB_txn *txn, struct lister *l, vk_list_info *info)
{
    const vk_list_opts *o = l->o;
    struct ovr *ov = NULL;
    size_t nov = 0, cap = 0;
    MDB_cursor *lc = NULL, *cur = NULL;
    int r = map_err(mdb_cursor_open(txn, s->log, &lc));
    if (r)
        return r;
    /* Every key changed after o->rev: its first record's previous value is its state then. */
    uint8_t kb[8];
    put_be64(kb, o->rev + 1);
    MDB_val k = {8, kb}, v;
    int rc = mdb_cursor_get(lc, &k, &v, MDB_SET_RANGE);
    for (; rc == 0; rc = mdb_cursor_get(lc, &k, &v, MDB_NEXT)) {
        struct logrec lr;
        if ((r = log_decode(&v, &lr)))
            goto out;
        if (!in_range(o, lr.key, lr.h.key_len))
            continue;
        if (nov == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            struct ovr *n = st_alloc(s, ncap * sizeof *n);
            if (!n) {
                r = -ENOMEM;
                goto out;
            }
            if (nov)
                memcpy(n, ov, nov * sizeof *n);
            free(ov);
            ov = n;
            cap = ncap;
        }
        ov[nov] = (struct ovr){lr.key, lr.h.key_len, lr.prev, nov};
        nov++;
    }
    if (rc != MDB_NOTFOUND) {
        r = map_err(rc);
        goto out;
    }
    if (nov)
        qsort(ov, nov, sizeof *ov, ovr_cmp);
    size_t u = 0; /* keep each key's first record */
    for (size_t i = 0; i < nov; i++)
        if (u == 0 || keycmp(ov[u - 1].key, ov[u - 1].key_len, ov[i].key, ov[i].key_len))
            ov[u++] = ov[i];
    nov = u;

    if ((r = map_err(mdb_cursor_open(txn, s->obj, &cur))))
        goto out;
    rc = range_first(cur, o, &k, &v);
    int have = rc == 0 && has_prefix(&k, o);
    if (rc && rc != MDB_NOTFOUND) {
        r = map_err(rc);
        goto out;
    }
    size_t i = 0;
    int ended = 0; /* both streams exhausted */
    while (!ended) {
        int c;
        if (!have && i == nov) {
            ended = 1;
            break;
        }
        if (!have)
            c = 1;
        else if (i == nov)
            c = -1;
        else
            c = keycmp(k.mv_data, k.mv_size, ov[i].key, ov[i].key_len);
        if (l->stopped) {
            /* Is there another item at o->rev? */
            if (c < 0 || (i < nov && ov[i].val.mv_size)) {
                info->more = 1;
                info->remaining++;
                if (!o->count_rest)
                    break;
            }
        } else if (c < 0) {
            if ((r = visit(l, k.mv_data, k.mv_size, &v)))
                goto out;
        } else if (ov[i].val.mv_size) {
            if ((r = visit(l, ov[i].key, ov[i].key_len, &ov[i].val)))
                goto out;
        }
        if (c <= 0) {
            rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
            have = rc == 0 && has_prefix(&k, o);
            if (rc && rc != MDB_NOTFOUND) {
                r = map_err(rc);
                goto out;
            }
        }
        if (c >= 0)
            i++;
    }
    if (!o->count_rest)
        info->remaining = 0;
out:
    if (cur)
        mdb_cursor_close(cur);
    mdb_cursor_close(lc);
    free(ov);
    return r;
}

static int lm_list(vk_store *base, const vk_list_opts *o, vk_list_visit_fn fn, void *ud,
                   vk_list_info *info)
{
    lmdb_store *s = (lmdb_store *)base;
    if (!fn || !info || (o->prefix_len && !o->prefix) || o->prefix_len > VK_KEY_MAX ||
        (o->start && o->start_len > VK_KEY_MAX + 1))
        return VK_EINVALID;
    MDB_txn *txn;
    int r = rd_begin(s, &txn);
    if (r)
        return r;
    vk_list_info in = {0};
    struct lister l = {o, fn, ud, 0, 0};
    uint64_t rev, compact;
    if ((r = meta_get_u64(txn, s->meta, "rev", &rev)) ||
        (r = meta_get_u64(txn, s->meta, "compact", &compact)))
        goto out;
    if (o->rev == 0 || o->rev == rev) {
        in.rev = rev;
        r = list_current(s, txn, &l, &in);
    } else if (o->rev > rev) {
        r = VK_EINVALID;
    } else if (o->rev < compact) {
        r = VK_EGONE;
    } else {
        in.rev = o->rev;
        r = list_at(s, txn, &l, &in);
    }
out:
    rd_end(s, txn);
    if (r == 0)
        *info = in;
    return r;
}

/* ---- replay source for the hub ---- */

static uint64_t src_compacted(void *ud)
{
    lmdb_store *s = ud;
    return atomic_load(&s->compact_rev);
}

static vk_event *event_from_log(uint64_t rev, const struct logrec *lr)
{
    vk_obj_meta om = {0}, pm = {0};
    const char *oj = NULL, *pj = NULL;
    size_t ol = 0, pl = 0;
    if (lr->nval.mv_size && val_decode(&lr->nval, &om, &oj, &ol))
        return NULL;
    if (lr->prev.mv_size && val_decode(&lr->prev, &pm, &pj, &pl))
        return NULL;
    return vk_event_new(rev, lr->h.op, lr->key, lr->h.key_len, oj, ol, &om, pj, pl, &pm);
}

static int src_read(void *ud, uint32_t resource, uint64_t after, uint64_t upto, size_t max_scan,
                    vk_hub_emit_fn emit, void *ctx, uint64_t *scanned)
{
    lmdb_store *s = ud;
    /* Collect first, emit after the read: emit may notify, and the owner may read the store
     * (a nested read would take maplock twice). */
    vk_event **evs = st_alloc(s, (max_scan ? max_scan : 1) * sizeof *evs);
    if (!evs)
        return -ENOMEM;
    size_t nev = 0;
    MDB_txn *txn;
    int r = rd_begin(s, &txn);
    if (r) {
        free(evs);
        return r;
    }
    uint64_t compact, last = *scanned;
    MDB_cursor *cur = NULL;
    if ((r = meta_get_u64(txn, s->meta, "compact", &compact)))
        goto out;
    if (after < compact) {
        r = VK_EGONE;
        goto out;
    }
    if ((r = map_err(mdb_cursor_open(txn, s->log, &cur))))
        goto out;
    uint8_t kb[8];
    put_be64(kb, after + 1);
    MDB_val k = {8, kb}, v;
    int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    for (size_t n = 0; rc == 0 && n < max_scan; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT), n++) {
        uint64_t rev = get_be64(k.mv_data);
        if (rev > upto)
            break;
        struct logrec lr;
        if ((r = log_decode(&v, &lr)))
            break;
        if (lr.h.key_len >= 4 && key_resource(lr.key) == resource) {
            vk_event *ev = NULL;
            if (!(s->o.fail && s->o.fail(s->o.fail_ud)))
                ev = event_from_log(rev, &lr);
            if (!ev) {
                r = -ENOMEM;
                break;
            }
            evs[nev++] = ev;
        }
        last = rev;
    }
    if (!r && rc && rc != MDB_NOTFOUND)
        r = map_err(rc);
out:
    if (cur)
        mdb_cursor_close(cur);
    rd_end(s, txn);
    size_t i = 0;
    for (; i < nev && !r; i++)
        r = emit(ctx, evs[i]);
    for (; i < nev; i++)
        vk_event_unref(evs[i]);
    free(evs);
    if (!r)
        *scanned = last;
    return r;
}

/* ---- submit (loop thread) ---- */

static int lm_submit(vk_store *base, const vk_op *ops, size_t n, vk_store_cb cb, void *ud)
{
    lmdb_store *s = (lmdb_store *)base;
    if (s->closing)
        return VK_ECLOSED;
    if (n == 0 || !ops || !cb)
        return VK_EINVALID;
    size_t bytes = sizeof(struct req) + n * (sizeof(struct rop) + sizeof(vk_op_result));
    for (size_t i = 0; i < n; i++) {
        const vk_op *op = &ops[i];
        if (op->type < VK_OP_CREATE || op->type > VK_OP_PUT || op->key_len == 0 ||
            op->key_len > VK_KEY_MAX || !op->key)
            return VK_EINVALID;
        if (op->type != VK_OP_DELETE) {
            if (!op->val || op->val_len > (1u << 30) ||
                (op->rv_off != VK_NO_RV && op->rv_off > op->val_len))
                return VK_EINVALID;
            bytes += op->val_len + 1;
        }
        bytes += op->key_len;
    }
    struct req *q = st_alloc(s, bytes);
    if (!q)
        return -ENOMEM;
    memset(q, 0, sizeof *q + n * (sizeof(struct rop) + sizeof(vk_op_result)));
    q->res = (vk_op_result *)&q->ops[n];
    q->cb = cb;
    q->ud = ud;
    q->n = n;
    q->t_submit_ns = now_ns(CLOCK_MONOTONIC);
    char *p = (char *)&q->res[n];
    for (size_t i = 0; i < n; i++) {
        struct rop *r = &q->ops[i];
        r->res = &q->res[i];
        r->type = ops[i].type;
        r->key = (uint8_t *)p;
        r->key_len = ops[i].key_len;
        memcpy(p, ops[i].key, r->key_len);
        p += r->key_len;
        r->expect_rev = ops[i].expect_rev;
        r->rv_off = VK_NO_RV;
        if (r->type != VK_OP_DELETE) {
            r->val = p;
            r->val_len = ops[i].val_len;
            r->rv_off = ops[i].rv_off;
            memcpy(p, ops[i].val, r->val_len);
            p += r->val_len + 1;
        }
    }
    if (s->inflight++ == 0)
        uv_ref((uv_handle_t *)&s->h->async);
    pthread_mutex_lock(&s->qmu);
    *s->inq_tail = q;
    s->inq_tail = &q->next;
    pthread_cond_signal(&s->qcond);
    pthread_mutex_unlock(&s->qmu);
    return 0;
}

/* ---- the writer ---- */

/* Applies one op in txn. Returns 0, a VK_E* for this op, or MDB_MAP_FULL (positive). */
static int apply_op(lmdb_store *s, MDB_txn *txn, struct rop *op, uint64_t rev)
{
    MDB_val k = {op->key_len, op->key}, cur;
    int rc = mdb_get(txn, s->obj, &k, &cur);
    if (rc && rc != MDB_NOTFOUND)
        return rc == MDB_MAP_FULL ? rc : map_err(rc);
    int exists = rc == 0;
    vk_obj_meta pm = {0};
    const char *pj = NULL;
    size_t pl = 0;
    if (exists && val_decode(&cur, &pm, &pj, &pl))
        return -EIO;
    switch (op->type) {
    case VK_OP_CREATE:
        if (exists) {
            op->res->cur_rev = pm.mod_rev;
            return VK_EEXIST;
        }
        break;
    case VK_OP_UPDATE:
    case VK_OP_DELETE:
        if (!exists)
            return VK_ENOTFOUND;
        if (op->expect_rev && op->expect_rev != pm.mod_rev) {
            op->res->cur_rev = pm.mod_rev;
            return VK_ECONFLICT;
        }
        break;
    }
    int aop = op->type == VK_OP_DELETE ? VK_OP_DELETE : exists ? VK_OP_UPDATE : VK_OP_CREATE;
    uint64_t create_rev = exists ? pm.create_rev : rev;

    /* The new stored value. */
    vk_buf *vb = &s->vbuf;
    vk_buf_reset(vb);
    vk_obj_meta nm = {create_rev, rev, VK_NO_RV};
    if (aop != VK_OP_DELETE) {
        struct valhdr hd = {create_rev, rev, UINT32_MAX, 0};
        if (op->rv_off != VK_NO_RV && op->rv_off < UINT32_MAX)
            hd.rv_off = (uint32_t)op->rv_off;
        else if (op->rv_off != VK_NO_RV)
            return VK_EINVALID;
        nm.rv_off = op->rv_off;
        if (vk_buf_append(vb, &hd, sizeof hd) ||
            vk_json_insert_rv(vb, op->val, op->val_len, op->rv_off, rev))
            return -ENOMEM;
    }
    /* The log record, which copies the previous value before it is overwritten. */
    vk_buf *lb = &s->lbuf;
    vk_buf_reset(lb);
    struct loghdr lh = {
        (uint8_t)aop,      1, (uint16_t)op->key_len,           exists ? (uint32_t)cur.mv_size : 0,
        (uint32_t)vb->len, 0, now_ns(CLOCK_REALTIME) / 1000000};
    if (vk_buf_append(lb, &lh, sizeof lh) || vk_buf_append(lb, op->key, op->key_len) ||
        (exists && vk_buf_append(lb, cur.mv_data, cur.mv_size)) ||
        vk_buf_append(lb, vb->data, vb->len))
        return -ENOMEM;
    /* The event (copies of the previous and new JSON). */
    const char *prevj = lb->data + sizeof lh + op->key_len + sizeof(struct valhdr);
    vk_event *ev = NULL;
    if (!(s->o.fail && s->o.fail(s->o.fail_ud)))
        ev = vk_event_new(rev, aop, op->key, op->key_len,
                          aop != VK_OP_DELETE ? vb->data + sizeof(struct valhdr) : NULL,
                          aop != VK_OP_DELETE ? vb->len - sizeof(struct valhdr) : 0, &nm,
                          exists ? prevj : NULL, pl, &pm);
    if (!ev)
        return -ENOMEM;

    if (aop == VK_OP_DELETE) {
        rc = mdb_del(txn, s->obj, &k, NULL);
    } else {
        MDB_val d = {vb->len, vb->data};
        rc = mdb_put(txn, s->obj, &k, &d, 0);
    }
    if (rc == 0) {
        uint8_t rk[8];
        put_be64(rk, rev);
        MDB_val lk = {8, rk}, ld = {lb->len, lb->data};
        rc = mdb_put(txn, s->log, &lk, &ld, MDB_APPEND);
    }
    if (rc) {
        vk_event_unref(ev);
        return rc == MDB_MAP_FULL ? rc : map_err(rc);
    }
    op->applied_op = aop;
    op->res->ev = ev;
    op->res->rev = rev;
    op->res->create_rev = create_rev;
    return 0;
}

static void req_reset(struct req *q)
{
    q->err = 0;
    for (size_t i = 0; i < q->n; i++) {
        vk_event_unref(q->res[i].ev);
        memset(&q->res[i], 0, sizeof q->res[i]);
        q->ops[i].applied_op = 0;
    }
}

/* Fails q with err: no op of it is applied. */
static void req_fail(struct req *q, int err, size_t bad)
{
    for (size_t i = 0; i < q->n; i++) {
        uint64_t cur = q->res[i].cur_rev;
        vk_event_unref(q->res[i].ev);
        memset(&q->res[i], 0, sizeof q->res[i]);
        q->ops[i].applied_op = 0;
        q->res[i].err = i == bad ? err : VK_ECLOSED;
        if (i == bad)
            q->res[i].cur_rev = cur;
    }
    q->err = err;
}

/* Applies q in a nested txn. Returns 0 (applied or failed alone: see q->err) or
 * MDB_MAP_FULL (the nested txn is gone, nothing of q applied). */
static int apply_req(lmdb_store *s, MDB_txn *parent, struct req *q, uint64_t *rev)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, parent, 0, &txn);
    if (rc) {
        if (rc == MDB_MAP_FULL)
            return rc;
        req_fail(q, map_err(rc), 0);
        return 0;
    }
    uint64_t r0 = *rev;
    for (size_t i = 0; i < q->n; i++) {
        int e = apply_op(s, txn, &q->ops[i], *rev + 1);
        if (e == MDB_MAP_FULL) {
            mdb_txn_abort(txn);
            req_reset(q);
            *rev = r0;
            return MDB_MAP_FULL;
        }
        if (e) {
            mdb_txn_abort(txn);
            req_fail(q, e, i);
            *rev = r0;
            return 0;
        }
        ++*rev;
    }
    rc = mdb_txn_commit(txn);
    if (rc) {
        *rev = r0;
        if (rc == MDB_MAP_FULL) {
            req_reset(q);
            return rc;
        }
        req_fail(q, map_err(rc), 0);
    }
    return 0;
}

/* Grows the map (doubling up to map_max). 0, or VK_EFULL when it cannot. No write txn may
 * be open; readers are excluded by maplock. */
static int grow_map(lmdb_store *s, size_t want)
{
    size_t cur = s->map_size;
    size_t n = cur * 2;
    while (n < want)
        n *= 2;
    if (n > s->o.map_max)
        n = s->o.map_max;
    if (n <= cur)
        return VK_EFULL;
    pthread_rwlock_wrlock(&s->maplock);
    int rc = mdb_env_set_mapsize(s->env, n);
    pthread_rwlock_unlock(&s->maplock);
    if (rc) {
        vk_log(VK_LOG_ERROR, "storage", "Map resize failed", "size=%zu err=\"%s\"", n,
               mdb_strerror(rc));
        return VK_EFULL;
    }
    MDB_envinfo ei;
    mdb_env_info(s->env, &ei);
    s->map_size = ei.me_mapsize;
    pthread_mutex_lock(&s->stmu);
    s->st.map_grows++;
    pthread_mutex_unlock(&s->stmu);
    vk_log(VK_LOG_INFO, "storage", "Map grown", "size=%zu", s->map_size);
    return 0;
}

static void maybe_grow(lmdb_store *s)
{
    MDB_envinfo ei;
    if (mdb_env_info(s->env, &ei))
        return;
    size_t used = (ei.me_last_pgno + 1) * s->page_size;
    if (used * 100 >= s->map_size * GROW_AT_PCT)
        grow_map(s, 0);
}

/* Drops log records up to the target (at most COMPACT_CHUNK of them) in txn. Returns the new
 * compacted revision (unchanged if nothing was dropped) or a negative error / MDB_MAP_FULL
 * via *err. */
static uint64_t compact_chunk(lmdb_store *s, MDB_txn *txn, uint64_t from, uint64_t target,
                              int keep_age, int *err)
{
    *err = 0;
    if (target > s->w_rev)
        target = s->w_rev;
    if (target <= from)
        return from;
    uint64_t min_ms = 0;
    if (s->o.compact_min_age_ms == UINT64_MAX)
        keep_age = 0;
    if (keep_age) {
        uint64_t now = now_ns(CLOCK_REALTIME) / 1000000;
        min_ms = now > s->o.compact_min_age_ms ? now - s->o.compact_min_age_ms : 0;
    }
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, s->log, &cur);
    if (rc) {
        *err = rc;
        return from;
    }
    uint64_t done = from;
    MDB_val k, v;
    size_t n = 0;
    rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    while (rc == 0 && n < COMPACT_CHUNK) {
        uint64_t rev = get_be64(k.mv_data);
        if (rev > target)
            break;
        if (keep_age) {
            struct loghdr lh;
            if (v.mv_size >= sizeof lh) {
                memcpy(&lh, v.mv_data, sizeof lh);
                if (lh.time_ms > min_ms)
                    break;
            }
        }
        if ((rc = mdb_cursor_del(cur, 0)))
            break;
        done = rev;
        n++;
        rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    }
    mdb_cursor_close(cur);
    if (rc && rc != MDB_NOTFOUND)
        *err = rc;
    if (!*err && done > from)
        *err = meta_put_u64(txn, s->meta, "compact", done);
    return *err ? from : done;
}

static void add_count(lmdb_store *s, uint32_t resource, int64_t d)
{
    for (size_t i = 0; i < s->ncounts; i++)
        if (s->counts[i].resource == resource) {
            s->counts[i].n += (uint64_t)d;
            return;
        }
    if (s->ncounts == s->capcounts) {
        size_t nc = s->capcounts ? s->capcounts * 2 : 32;
        struct rescount *n = realloc(s->counts, nc * sizeof *n);
        if (!n)
            return; /* stats only */
        s->counts = n;
        s->capcounts = nc;
    }
    s->counts[s->ncounts++] = (struct rescount){resource, (uint64_t)d};
}

static size_t bucket_of(const uint64_t *bounds, size_t n, uint64_t v)
{
    size_t i = 0;
    while (i < n - 1 && v > bounds[i])
        i++;
    return i;
}

/* Commits one batch. Returns when every request of it has its outcome. */
static void count_full(lmdb_store *s)
{
    pthread_mutex_lock(&s->stmu);
    s->st.full_errors++;
    pthread_mutex_unlock(&s->stmu);
}

/* Runs compaction in a nested txn, so that running out of room drops only it. */
static uint64_t compact_nested(lmdb_store *s, MDB_txn *parent, uint64_t compacted)
{
    pthread_mutex_lock(&s->qmu);
    uint64_t target = s->compact_target;
    int keep_age = s->compact_keep_age;
    pthread_mutex_unlock(&s->qmu);
    if (target <= compacted)
        return compacted;
    MDB_txn *txn;
    if (mdb_txn_begin(s->env, parent, 0, &txn))
        return compacted;
    int e;
    uint64_t c = compact_chunk(s, txn, compacted, target, keep_age, &e);
    if (e || mdb_txn_commit(txn)) {
        if (e)
            mdb_txn_abort(txn);
        return compacted;
    }
    return c;
}

/* Commits one batch. Returns when every request of it has its outcome.
 * On MDB_MAP_FULL nothing of the attempt is kept: the map grows and the batch is retried;
 * when it cannot grow, the batch is retried in "full mode", where a txn that does not fit
 * fails alone with VK_EFULL; if even the commit does not fit, half as many txns are
 * admitted on each further attempt (the others fail with VK_EFULL). */
static void run_batch(lmdb_store *s, struct req *batch, size_t nops)
{
    int full_mode = 0;
    size_t admit = (size_t)-1;
    uint64_t compacted = atomic_load(&s->compact_rev);
    for (;;) {
        if (!full_mode)
            maybe_grow(s);
        MDB_txn *txn;
        int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
        if (rc) {
            for (struct req *q = batch; q; q = q->next)
                req_fail(q, map_err(rc), 0);
            break;
        }
        uint64_t rev = s->w_rev;
        int map_full = 0;
        size_t applied = 0;
        for (struct req *q = batch; q; q = q->next) {
            if (full_mode && applied >= admit) {
                req_fail(q, VK_EFULL, 0);
                continue;
            }
            rc = apply_req(s, txn, q, &rev);
            if (rc == MDB_MAP_FULL) {
                if (full_mode) {
                    req_fail(q, VK_EFULL, 0);
                    continue;
                }
                map_full = 1;
                break;
            }
            if (!q->err)
                applied++;
        }
        uint64_t new_compact = map_full ? compacted : compact_nested(s, txn, compacted);
        if (!map_full && rev != s->w_rev) {
            rc = meta_put_u64(txn, s->meta, "rev", rev);
            if (rc == MDB_MAP_FULL)
                map_full = 1;
            else if (rc) {
                mdb_txn_abort(txn);
                for (struct req *q = batch; q; q = q->next)
                    req_fail(q, map_err(rc), 0);
                break;
            }
        }
        if (!map_full) {
            rc = mdb_txn_commit(txn);
            if (rc == 0) {
                s->w_rev = rev;
                compacted = new_compact;
                break;
            }
            if (rc != MDB_MAP_FULL) {
                vk_log(VK_LOG_ERROR, "storage", "Commit failed", "err=\"%s\"", mdb_strerror(rc));
                for (struct req *q = batch; q; q = q->next)
                    req_fail(q, map_err(rc), 0);
                break;
            }
        } else {
            mdb_txn_abort(txn);
        }
        /* MDB_MAP_FULL: nothing of this attempt is committed. */
        for (struct req *q = batch; q; q = q->next)
            req_reset(q);
        if (full_mode) {
            count_full(s);
            if (applied == 0) {
                for (struct req *q = batch; q; q = q->next)
                    req_fail(q, VK_EFULL, 0);
                break;
            }
            admit = applied / 2;
            continue;
        }
        if (grow_map(s, 0)) {
            full_mode = 1;
            count_full(s);
        }
    }
    atomic_store(&s->rev, s->w_rev);
    atomic_store(&s->compact_rev, compacted);

    if (nops == 0)
        return;
    uint64_t t = now_ns(CLOCK_MONOTONIC);
    pthread_mutex_lock(&s->stmu);
    s->st.batches++;
    s->st.batch_count[bucket_of(vk_stats_batch_bounds, VK_STATS_BATCH_BUCKETS, nops)]++;
    for (struct req *q = batch; q; q = q->next) {
        uint64_t us = (t - q->t_submit_ns) / 1000;
        s->st.lat_count[bucket_of(vk_stats_lat_bounds_us, VK_STATS_LAT_BUCKETS, us)]++;
        s->st.lat_sum_us += us;
        if (q->err) {
            s->st.ops_failed += q->n;
            continue;
        }
        s->st.ops_ok += q->n;
        for (size_t i = 0; i < q->n; i++) {
            int aop = q->ops[i].applied_op;
            if (aop == VK_OP_CREATE)
                add_count(s, key_resource(q->ops[i].key), 1);
            else if (aop == VK_OP_DELETE)
                add_count(s, key_resource(q->ops[i].key), -1);
        }
    }
    pthread_mutex_unlock(&s->stmu);
}

static void *writer_main(void *arg)
{
    lmdb_store *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->qmu);
        uint64_t compacted = atomic_load(&s->compact_rev);
        while (!s->inq && !s->stop && s->compact_target <= compacted)
            pthread_cond_wait(&s->qcond, &s->qmu);
        if (!s->inq && s->stop) {
            pthread_mutex_unlock(&s->qmu);
            break;
        }
        struct req *batch = s->inq, **tail = &batch;
        size_t nops = 0;
        while (*tail && (nops == 0 || nops + (*tail)->n <= s->o.max_batch_ops)) {
            nops += (*tail)->n;
            tail = &(*tail)->next;
        }
        s->inq = *tail;
        if (!s->inq)
            s->inq_tail = &s->inq;
        *tail = NULL;
        pthread_mutex_unlock(&s->qmu);

        uint64_t before = atomic_load(&s->compact_rev);
        run_batch(s, batch, nops);
        /* The log cap: trim the oldest, keeping the young. */
        uint64_t rev = s->w_rev, c = atomic_load(&s->compact_rev);
        pthread_mutex_lock(&s->qmu);
        if (s->o.compact_max_events != UINT64_MAX && rev - c > s->o.compact_max_events &&
            s->compact_target < rev - s->o.compact_max_events) {
            s->compact_target = rev - s->o.compact_max_events;
            s->compact_keep_age = 1;
        }
        /* A compaction that made no progress (kept by age) waits for the next write. */
        if (!batch && c == before && s->compact_target > c)
            s->compact_target = c;
        if (batch) {
            *s->done_tail = batch;
            s->done_tail = tail;
        }
        pthread_mutex_unlock(&s->qmu);
        if (batch)
            uv_async_send(&s->h->async);
    }
    return NULL;
}

/* ---- completions (loop thread) ---- */

static void complete(lmdb_store *s, struct req *q)
{
    q->cb(q->ud, q->err, q->res, q->n);
    for (size_t i = 0; i < q->n; i++) {
        vk_event *ev = q->res[i].ev;
        if (ev) {
            if (!q->err)
                vk_hub_publish(s->hub, ev);
            vk_event_unref(ev);
        }
    }
    free(q);
    if (--s->inflight == 0 && s->h)
        uv_unref((uv_handle_t *)&s->h->async);
}

static void drain_done(lmdb_store *s)
{
    pthread_mutex_lock(&s->qmu);
    struct req *q = s->done;
    s->done = NULL;
    s->done_tail = &s->done;
    pthread_mutex_unlock(&s->qmu);
    while (q) {
        struct req *next = q->next;
        complete(s, q);
        q = next;
    }
}

static void async_cb(uv_async_t *a)
{
    drain_done(a->data);
}

static void request_compact(lmdb_store *s, uint64_t rev, int keep_age)
{
    pthread_mutex_lock(&s->qmu);
    if (rev > s->compact_target) {
        s->compact_target = rev;
        s->compact_keep_age = keep_age;
        pthread_cond_signal(&s->qcond);
    }
    pthread_mutex_unlock(&s->qmu);
}

static void timer_cb(uv_timer_t *t)
{
    lmdb_store *s = t->data;
    uint64_t target = s->tick_rev;
    s->tick_rev = atomic_load(&s->rev);
    if (target > atomic_load(&s->compact_rev))
        request_compact(s, target, 1);
}

static int lm_compact(vk_store *base, uint64_t rev)
{
    lmdb_store *s = (lmdb_store *)base;
    if (s->closing)
        return VK_ECLOSED;
    request_compact(s, rev, 0);
    return 0;
}

static uint64_t lm_revision(vk_store *base)
{
    return vk_hub_published(((lmdb_store *)base)->hub);
}

static void lm_stats(vk_store *base, vk_store_stats *st)
{
    lmdb_store *s = (lmdb_store *)base;
    pthread_mutex_lock(&s->stmu);
    *st = s->st;
    uint64_t objs = 0;
    for (size_t i = 0; i < s->ncounts; i++)
        objs += s->counts[i].n;
    pthread_mutex_unlock(&s->stmu);
    st->objects = objs;
    st->rev = atomic_load(&s->rev);
    st->compact_rev = atomic_load(&s->compact_rev);
    st->log_events = st->rev - st->compact_rev;
    st->published_rev = vk_hub_published(s->hub);
    st->watchers = vk_hub_watchers(s->hub);
    MDB_envinfo ei;
    pthread_rwlock_rdlock(&s->maplock);
    if (mdb_env_info(s->env, &ei) == 0) {
        st->map_size = ei.me_mapsize;
        st->db_size = (uint64_t)(ei.me_last_pgno + 1) * s->page_size;
    }
    pthread_rwlock_unlock(&s->maplock);
}

static int lm_count(vk_store *base, uint32_t resource, uint64_t *n)
{
    lmdb_store *s = (lmdb_store *)base;
    *n = 0;
    pthread_mutex_lock(&s->stmu);
    for (size_t i = 0; i < s->ncounts; i++)
        if (s->counts[i].resource == resource)
            *n = s->counts[i].n;
    pthread_mutex_unlock(&s->stmu);
    return 0;
}

static vk_hub *lm_hub(vk_store *base)
{
    return ((lmdb_store *)base)->hub;
}

/* ---- open / free ---- */

static void handle_closed(uv_handle_t *hd)
{
    struct handles *h = hd->data;
    if (--h->open == 0)
        free(h);
}

static void lm_free(vk_store *base)
{
    lmdb_store *s = (lmdb_store *)base;
    s->closing = 1;
    if (s->writer_started) {
        pthread_mutex_lock(&s->qmu);
        s->stop = 1;
        pthread_cond_signal(&s->qcond);
        pthread_mutex_unlock(&s->qmu);
        pthread_join(s->writer, NULL);
    }
    if (s->hub)
        drain_done(s);
    if (s->h) {
        s->h->async.data = s->h;
        s->h->timer.data = s->h;
        uv_close((uv_handle_t *)&s->h->async, handle_closed);
        uv_close((uv_handle_t *)&s->h->timer, handle_closed);
        s->h = NULL;
    }
    vk_hub_free(s->hub);
    if (s->rtxn)
        mdb_txn_abort(s->rtxn);
    if (s->env)
        mdb_env_close(s->env);
    pthread_rwlock_destroy(&s->maplock);
    pthread_mutex_destroy(&s->qmu);
    pthread_cond_destroy(&s->qcond);
    pthread_mutex_destroy(&s->stmu);
    vk_buf_free(&s->vbuf);
    vk_buf_free(&s->lbuf);
    free(s->counts);
    free(s->path);
    free(s);
}

static int open_env(lmdb_store *s)
{
    int rc = mdb_env_create(&s->env);
    if (rc)
        return map_err(rc);
    if ((rc = mdb_env_set_maxdbs(s->env, 4)) || (rc = mdb_env_set_mapsize(s->env, s->o.map_size)))
        return map_err(rc);
    unsigned flags = MDB_NOTLS;
    if (s->o.sync == VK_SYNC_NONE)
        flags |= MDB_NOSYNC | MDB_NOMETASYNC;
    if ((rc = mdb_env_open(s->env, s->path, flags, 0600))) {
        vk_log(VK_LOG_ERROR, "storage", "Cannot open the db", "path=\"%s\" err=\"%s\"", s->path,
               mdb_strerror(rc));
        return map_err(rc);
    }
    MDB_envinfo ei;
    MDB_stat est;
    mdb_env_info(s->env, &ei);
    mdb_env_stat(s->env, &est);
    s->map_size = ei.me_mapsize;
    s->page_size = est.ms_psize;

    MDB_txn *txn;
    if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)))
        return map_err(rc);
    uint64_t schema = 0, rev = 0, compact = 0;
    int r = 0;
    if ((rc = mdb_dbi_open(txn, "obj", MDB_CREATE, &s->obj)) ||
        (rc = mdb_dbi_open(txn, "log", MDB_CREATE, &s->log)) ||
        (rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &s->meta))) {
        r = map_err(rc);
        goto fail;
    }
    if ((r = meta_get_u64(txn, s->meta, "schema", &schema)) ||
        (r = meta_get_u64(txn, s->meta, "rev", &rev)) ||
        (r = meta_get_u64(txn, s->meta, "compact", &compact)))
        goto fail;
    if (schema == 0) {
        if ((rc = meta_put_u64(txn, s->meta, "schema", SCHEMA_VERSION))) {
            r = map_err(rc);
            goto fail;
        }
    } else if (schema != SCHEMA_VERSION) {
        r = VK_EINVALID;
        goto fail;
    }
    /* The revision never goes backwards: it is at least the last log record's. */
    MDB_cursor *cur;
    MDB_val k, v;
    if ((rc = mdb_cursor_open(txn, s->log, &cur))) {
        r = map_err(rc);
        goto fail;
    }
    if (mdb_cursor_get(cur, &k, &v, MDB_LAST) == 0 && k.mv_size == 8 && get_be64(k.mv_data) > rev)
        rev = get_be64(k.mv_data);
    mdb_cursor_close(cur);
    /* Object counts per resource. */
    if ((rc = mdb_cursor_open(txn, s->obj, &cur))) {
        r = map_err(rc);
        goto fail;
    }
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
        if (k.mv_size >= 4)
            add_count(s, key_resource(k.mv_data), 1);
    mdb_cursor_close(cur);
    if ((rc = mdb_txn_commit(txn)))
        return map_err(rc);
    s->w_rev = rev;
    atomic_store(&s->rev, rev);
    atomic_store(&s->compact_rev, compact);
    s->compact_target = compact;
    s->tick_rev = rev;
    return 0;
fail:
    mdb_txn_abort(txn);
    return r;
}

int vk_store_open_lmdb(uv_loop_t *loop, const vk_lmdb_opts *o, vk_store **out)
{
    if (!o || !o->path || !*o->path)
        return VK_EINVALID;
    vk_lmdb_opts opts = *o;
    if (!opts.map_size)
        opts.map_size = (size_t)64 << 20;
    if (!opts.map_max)
        opts.map_max = (size_t)64 << 30;
    if (!opts.max_batch_ops)
        opts.max_batch_ops = 4096;
    if (!opts.compact_interval_ms)
        opts.compact_interval_ms = 300000;
    if (!opts.compact_min_age_ms)
        opts.compact_min_age_ms = 75000;
    if (!opts.compact_max_events)
        opts.compact_max_events = 1000000;
    if (opts.map_max < opts.map_size)
        return VK_EINVALID;
    if (mkdir(opts.path, 0700) && errno != EEXIST)
        return -errno;

    lmdb_store *s = NULL;
    if (!(opts.fail && opts.fail(opts.fail_ud)))
        s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->base.ops = &lmdb_ops;
    s->loop = loop;
    s->o = opts;
    s->inq_tail = &s->inq;
    s->done_tail = &s->done;
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&s->maplock, &ra);
    pthread_rwlockattr_destroy(&ra);
    pthread_mutex_init(&s->qmu, NULL);
    pthread_cond_init(&s->qcond, NULL);
    pthread_mutex_init(&s->stmu, NULL);
    int r = -ENOMEM;
    s->path = st_alloc(s, strlen(opts.path) + 1);
    if (!s->path)
        goto fail;
    strcpy(s->path, opts.path);
    s->o.path = s->path;
    if ((r = open_env(s)))
        goto fail;
    vk_hub_source src = {s, src_compacted, src_read};
    if ((r = vk_hub_new(loop, &src, atomic_load(&s->rev), opts.fail, opts.fail_ud, &s->hub)))
        goto fail;
    r = -ENOMEM;
    if (!(s->h = st_alloc(s, sizeof *s->h)))
        goto fail;
    uv_async_init(loop, &s->h->async, async_cb);
    s->h->async.data = s;
    uv_unref((uv_handle_t *)&s->h->async);
    uv_timer_init(loop, &s->h->timer);
    s->h->timer.data = s;
    s->h->open = 2;
    if (opts.compact_interval_ms != UINT64_MAX) {
        uv_timer_start(&s->h->timer, timer_cb, opts.compact_interval_ms, opts.compact_interval_ms);
        uv_unref((uv_handle_t *)&s->h->timer);
    }
    if ((r = -pthread_create(&s->writer, NULL, writer_main, s)))
        goto fail;
    s->writer_started = 1;
    *out = &s->base;
    return 0;
fail:
    lm_free(&s->base);
    return r;
}

static const vk_store_ops lmdb_ops = {
    .name = "lmdb",
    .free = lm_free,
    .get = lm_get,
    .list = lm_list,
    .submit = lm_submit,
    .revision = lm_revision,
    .compact = lm_compact,
    .stats = lm_stats,
    .count = lm_count,
    .hub = lm_hub,
};
