/* Storage benchmarks, on the store directly with 2 KiB JSON values. One line per figure:
 *   storage <name> <value> <unit> [details]
 * Bounded: well under a minute. BENCH_DIR sets the directory (default /tmp). */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "storage/lmdb_store.h"
#include "storage/store.h"
#include "storage/watch.h"

#define VAL_SIZE 2048

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(p);
}

struct bench {
    uv_loop_t loop;
    char dir[256];
    vk_store *s;
};

static void die(const char *what, int err)
{
    fprintf(stderr, "bench_storage: %s: %s\n", what, vk_strerror(err));
    exit(1);
}

static void b_open(struct bench *b, int sync, uint64_t max_events)
{
    const char *base = getenv("BENCH_DIR") ? getenv("BENCH_DIR") : "/tmp";
    snprintf(b->dir, sizeof b->dir, "%s/vk-bench-XXXXXX", base);
    if (!mkdtemp(b->dir))
        die("mkdtemp", -errno);
    uv_loop_init(&b->loop);
    vk_lmdb_opts o = {.path = b->dir, .sync = sync, .compact_max_events = max_events};
    int r = vk_store_open_lmdb(&b->loop, &o, &b->s);
    if (r)
        die("open", r);
}

static void b_close(struct bench *b)
{
    vk_store_free(b->s);
    uv_run(&b->loop, UV_RUN_DEFAULT);
    uv_loop_close(&b->loop);
    nftw(b->dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
    sync(); /* the next figure must not pay for this one's writeback */
}

/* A 2 KiB object with the resourceVersion placeholder. */
static size_t make_val(char *buf, const char *name, size_t *rv_off)
{
    int n = snprintf(buf, VAL_SIZE,
                     "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"bench\",\"uid\":"
                     "\"0b7c1a52-8f3e-4d6a-9c1e-5d2f3a4b6c7d\",\"resourceVersion\":\"",
                     name);
    *rv_off = (size_t)n;
    n += snprintf(buf + n, VAL_SIZE - (size_t)n,
                  "\",\"labels\":{\"app\":\"bench\"}},\"spec\":{\"data\":\"");
    while (n < VAL_SIZE - 4) {
        buf[n] = (char)('a' + n % 26);
        n++;
    }
    memcpy(buf + n, "\"}}", 3);
    return (size_t)n + 3;
}

/* ---- writers ---- */

struct wctx {
    struct bench *b;
    long next, total, done, inflight;
    int failed;
};

struct writer {
    struct wctx *w;
};

static void w_submit(struct writer *wr);

static void w_cb(void *ud, int err, const vk_op_result *res, size_t n)
{
    struct writer *wr = ud;
    wr->w->done++;
    wr->w->inflight--;
    if (err)
        wr->w->failed = err;
    w_submit(wr);
}

static void w_submit(struct writer *wr)
{
    struct wctx *w = wr->w;
    if (w->next >= w->total)
        return;
    char name[32], val[VAL_SIZE + 64];
    snprintf(name, sizeof name, "obj-%07ld", w->next++);
    size_t rv_off, len = make_val(val, name, &rv_off);
    uint8_t key[VK_KEY_MAX];
    int kl = vk_key_build(key, sizeof key, 1, "bench", name);
    vk_op op = {VK_OP_CREATE, key, (size_t)kl, val, len, rv_off, 0};
    int r = vk_store_submit(w->b->s, &op, 1, w_cb, wr);
    if (r)
        die("submit", r);
    w->inflight++;
}

/* Creates total objects with `conc` writers, each submitting its next create from the
 * previous one's callback. Returns the elapsed seconds; stops early after max_s. */
static double run_writers(struct bench *b, long total, int conc, double max_s, long *done)
{
    struct wctx w = {b, 0, total, 0, 0, 0};
    struct writer *wrs = calloc((size_t)conc, sizeof *wrs);
    double t0 = now_s();
    for (int i = 0; i < conc; i++) {
        wrs[i].w = &w;
        w_submit(&wrs[i]);
    }
    while (w.done < w.next || w.next < w.total) {
        uv_run(&b->loop, UV_RUN_ONCE);
        if (now_s() - t0 > max_s)
            w.total = w.next; /* stop submitting; drain */
    }
    double el = now_s() - t0;
    if (w.failed)
        die("write", w.failed);
    *done = w.done;
    free(wrs);
    return el;
}

/* ---- reads ---- */

struct joiner {
    vk_buf out;
    size_t n;
};

static int join_visit(void *ud, const vk_kv *kv)
{
    struct joiner *j = ud;
    if (j->n++)
        vk_buf_append(&j->out, ",", 1);
    vk_buf_append(&j->out, kv->val, kv->val_len);
    return 1;
}

static long rss_kb(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t fl = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, field, fl) && line[fl] == ':')
            v = atol(line + fl + 1);
    if (f)
        fclose(f);
    return v;
}

/* ---- watch fan-out ---- */

struct fan {
    long delivered, target;
    double t_last;
};

struct fw {
    struct fan *f;
    vk_watcher *w;
};

static void fan_notify(void *ud, vk_watcher *w, int err)
{
    struct fw *x = ud;
    vk_event *ev;
    int type;
    while (vk_watch_next(w, &ev, &type) == 1) {
        vk_event_unref(ev);
        if (++x->f->delivered == x->f->target)
            x->f->t_last = now_s();
    }
}

struct one_done {
    int done;
    double t;
};

static void one_cb(void *ud, int err, const vk_op_result *res, size_t n)
{
    struct one_done *d = ud;
    d->done = 1;
    d->t = now_s();
    if (err)
        die("fan-out write", err);
}

int main(int argc, char **argv)
{
    vk_log_verbosity = VK_LOG_WARN;
    struct bench b;
    long done;
    double el;

    /* 1. The floor: one writer, fsync per commit. */
    b_open(&b, VK_SYNC_FULL, 0);
    el = run_writers(&b, 100000, 1, 3.0, &done);
    printf("storage durable_creates_1w %.0f ops/s (%ld creates in %.2f s, fsync per commit)\n",
           (double)done / el, done, el);
    b_close(&b);

    /* 2. Durable creates with group commit, 64 concurrent writers. */
    b_open(&b, VK_SYNC_FULL, 0);
    el = run_writers(&b, 200000, 64, 5.0, &done);
    vk_store_stats st;
    vk_store_stats_get(b.s, &st);
    printf("storage durable_creates_64w %.0f ops/s (%ld creates in %.2f s, %.1f ops/batch, "
           "mean commit latency %.2f ms)\n",
           (double)done / el, done, el, (double)st.ops_ok / (double)st.batches,
           (double)st.lat_sum_us / (double)(st.ops_ok + st.ops_failed) / 1000.0);
    b_close(&b);

    /* 3. sync=none, for reference. */
    b_open(&b, VK_SYNC_NONE, 0);
    el = run_writers(&b, 100000, 64, 5.0, &done);
    printf("storage nosync_creates_64w %.0f ops/s (%ld creates in %.2f s, unsafe mode)\n",
           (double)done / el, done, el);
    b_close(&b);

    /* 4-6. Reads and fan-out over 10k objects. */
    b_open(&b, VK_SYNC_NONE, 0);
    run_writers(&b, 10000, 64, 30.0, &done);
    {
        vk_buf out = {0};
        long n = 0;
        double t0 = now_s();
        unsigned seed = 1;
        while (now_s() - t0 < 2.0) {
            for (int i = 0; i < 10000; i++) {
                char name[32];
                snprintf(name, sizeof name, "obj-%07ld", (long)(rand_r(&seed) % 10000));
                uint8_t key[VK_KEY_MAX];
                int kl = vk_key_build(key, sizeof key, 1, "bench", name);
                out.len = 0;
                int r = vk_store_get(b.s, key, (size_t)kl, &out, NULL);
                if (r)
                    die("get", r);
            }
            n += 10000;
        }
        el = now_s() - t0;
        printf("storage gets %.0f ops/s (random keys of 10k, 2 KiB copied out, one core)\n",
               (double)n / el);
        vk_buf_free(&out);
    }
    {
        uint8_t pfx[VK_KEY_MAX];
        int pl = vk_key_prefix(pfx, sizeof pfx, 1, NULL);
        vk_list_opts o = {.prefix = pfx, .prefix_len = (size_t)pl};
        struct joiner j = {0};
        double best = 1e9, sum = 0;
        int runs = 20;
        for (int i = 0; i < runs; i++) {
            j.out.len = 0;
            j.n = 0;
            vk_list_info info;
            double t0 = now_s();
            int r = vk_store_list(b.s, &o, join_visit, &j, &info);
            double d = now_s() - t0;
            if (r || j.n != 10000)
                die("list", r ? r : -EIO);
            sum += d;
            if (d < best)
                best = d;
        }
        printf("storage list_10k %.2f ms (best %.2f ms; items joined into one %.1f MiB buffer)\n",
               sum / runs * 1e3, best * 1e3, (double)j.out.len / 1048576.0);
        vk_buf_free(&j.out);
    }
    {
        enum { NW = 10000 };
        struct fan f = {0, NW, 0};
        struct fw *ws = calloc(NW, sizeof *ws);
        for (int i = 0; i < NW; i++) {
            ws[i].f = &f;
            vk_watch_opts o = {.resource = 1,
                               .from_rev = vk_store_revision(b.s),
                               .notify = fan_notify,
                               .ud = &ws[i]};
            int r = vk_watch_add(vk_store_hub(b.s), &o, &ws[i].w);
            if (r)
                die("watch", r);
        }
        char val[VAL_SIZE + 64];
        size_t rv_off, len = make_val(val, "obj-0000001", &rv_off);
        uint8_t key[VK_KEY_MAX];
        int kl = vk_key_build(key, sizeof key, 1, "bench", "obj-0000001");
        vk_op op = {VK_OP_UPDATE, key, (size_t)kl, val, len, rv_off, 0};
        struct one_done d = {0};
        double t0 = now_s();
        vk_store_submit(b.s, &op, 1, one_cb, &d);
        while (f.delivered < NW)
            uv_run(&b.loop, UV_RUN_ONCE);
        printf("storage watch_fanout_10k %.2f ms to the last delivery after the commit "
               "(%.2f ms from submit)\n",
               (f.t_last - d.t) * 1e3, (f.t_last - t0) * 1e3);
        for (int i = 0; i < NW; i++)
            vk_watch_free(ws[i].w);
        free(ws);
    }
    b_close(&b);

    /* 7. Memory with 100k stored objects (log capped at 10k events). */
    long rss0 = rss_kb("RssAnon");
    b_open(&b, VK_SYNC_NONE, 10000);
    el = run_writers(&b, 100000, 64, 40.0, &done);
    {
        /* touch every object once, as a full list would */
        uint8_t pfx[VK_KEY_MAX];
        int pl = vk_key_prefix(pfx, sizeof pfx, 1, NULL);
        vk_list_opts o = {.prefix = pfx, .prefix_len = (size_t)pl, .limit = 500};
        struct joiner j = {0};
        vk_list_info info;
        vk_store_list(b.s, &o, join_visit, &j, &info);
        vk_buf_free(&j.out);
    }
    vk_store_stats_get(b.s, &st);
    printf("storage rss_100k %.1f MiB anonymous beyond the baseline (RssAnon %.1f MiB, RssFile "
           "%.1f MiB mapped db pages; db %.0f MiB, %ld objects)\n",
           (double)(rss_kb("RssAnon") - rss0) / 1024.0, (double)rss_kb("RssAnon") / 1024.0,
           (double)rss_kb("RssFile") / 1024.0, (double)st.db_size / 1048576.0, done);
    b_close(&b);
    return 0;
}
