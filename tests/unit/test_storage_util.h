/* Helpers shared by the storage tests (static, header-only: a storage test links only
 * libvk_storage.a and libvk_common.a). Include after cmocka.h. */
#ifndef VK_TEST_STORAGE_UTIL_H
#define VK_TEST_STORAGE_UTIL_H

/* Not every test uses every helper. */
#pragma GCC diagnostic ignored "-Wunused-function"

#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "common/buf.h"
#include "common/err.h"
#include "storage/lmdb_store.h"
#include "storage/store.h"
#include "storage/watch.h"

struct env {
    uv_loop_t loop;
    char dir[64];
    vk_store *s;
    vk_lmdb_opts o;
};

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(p);
}

static void env_rmdir(const char *dir)
{
    nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* Runs the loop until *flag becomes nonzero (or too many iterations). */
static void run_until(uv_loop_t *loop, volatile int *flag)
{
    for (int i = 0; !*flag && i < 1000000; i++) {
        uv_run(loop, UV_RUN_NOWAIT);
        if (!*flag)
            usleep(50);
    }
    assert_true(*flag);
}

static void env_open(struct env *e)
{
    e->o.path = e->dir;
    assert_int_equal(vk_store_open_lmdb(&e->loop, &e->o, &e->s), 0);
}

static void env_close_store(struct env *e)
{
    vk_store_free(e->s);
    e->s = NULL;
    uv_run(&e->loop, UV_RUN_NOWAIT);
}

/* A fresh dir and an open store (sync=none unless the caller set options first). */
static struct env *env_new_opts(const vk_lmdb_opts *o)
{
    struct env *e = calloc(1, sizeof *e);
    assert_non_null(e);
    uv_loop_init(&e->loop);
    strcpy(e->dir, "/tmp/vk-storage-XXXXXX");
    assert_non_null(mkdtemp(e->dir));
    if (o)
        e->o = *o;
    else
        e->o.sync = VK_SYNC_NONE;
    env_open(e);
    return e;
}

static struct env *env_new(void)
{
    return env_new_opts(NULL);
}

static void env_free(struct env *e)
{
    if (e->s)
        env_close_store(e);
    uv_run(&e->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&e->loop), 0);
    env_rmdir(e->dir);
    free(e);
}

/* A synchronous txn: submits, runs the loop until the callback, copies the results. */
struct sync_res {
    int done, err;
    size_t n;
    vk_op_result res[8];
    char json[8][4096]; /* ev->obj of each op */
};

static void sync_cb(void *ud, int err, const vk_op_result *res, size_t n)
{
    struct sync_res *r = ud;
    r->err = err;
    r->n = n;
    for (size_t i = 0; i < n && i < 8; i++) {
        r->res[i] = res[i];
        r->res[i].ev = NULL;
        r->json[i][0] = 0;
        if (res[i].ev && res[i].ev->obj && res[i].ev->obj_len < 4096) {
            memcpy(r->json[i], res[i].ev->obj, res[i].ev->obj_len);
            r->json[i][res[i].ev->obj_len] = 0;
        }
    }
    r->done = 1;
}

static int do_txn(struct env *e, const vk_op *ops, size_t n, struct sync_res *r)
{
    memset(r, 0, sizeof *r);
    int rc = vk_store_submit(e->s, ops, n, sync_cb, r);
    if (rc)
        return rc;
    run_until(&e->loop, &r->done);
    return r->err;
}

/* A test object: {"metadata":{"name":N,"namespace":NS,"resourceVersion":""},"spec":S}. */
static size_t make_obj(char *buf, size_t cap, const char *ns, const char *name, const char *spec,
                       size_t *rv_off)
{
    int n = snprintf(buf, cap,
                     "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\",\"resourceVersion\":\"",
                     name, ns);
    *rv_off = (size_t)n;
    n += snprintf(buf + n, cap - (size_t)n, "\"},\"spec\":%s}", spec);
    return (size_t)n;
}

static int op1(struct env *e, int type, uint32_t res, const char *ns, const char *name,
               const char *spec, uint64_t expect, struct sync_res *r)
{
    uint8_t key[VK_KEY_MAX];
    char val[4096];
    size_t rv_off = VK_NO_RV, len = 0;
    int kl = vk_key_build(key, sizeof key, res, ns, name);
    assert_true(kl > 0);
    if (spec)
        len = make_obj(val, sizeof val, ns, name, spec, &rv_off);
    vk_op op = {type, key, (size_t)kl, spec ? val : NULL, len, rv_off, expect};
    return do_txn(e, &op, 1, r);
}

static int get1(struct env *e, uint32_t res, const char *ns, const char *name, vk_buf *out,
                vk_obj_meta *m)
{
    uint8_t key[VK_KEY_MAX];
    int kl = vk_key_build(key, sizeof key, res, ns, name);
    assert_true(kl > 0);
    return vk_store_get(e->s, key, (size_t)kl, out, m);
}

#endif
