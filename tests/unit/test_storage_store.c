#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdatomic.h>

#include "test_storage_util.h"

static void test_keys(void **state)
{
    uint8_t k[VK_KEY_MAX];
    int n = vk_key_build(k, sizeof k, 0x01020304, "ns", "pod");
    assert_int_equal(n, 4 + 2 + 1 + 3);
    assert_memory_equal(k, "\x01\x02\x03\x04ns\0pod", (size_t)n);
    uint32_t r;
    const char *ns, *name;
    size_t nl, ml;
    assert_int_equal(vk_key_parse(k, (size_t)n, &r, &ns, &nl, &name, &ml), 0);
    assert_int_equal(r, 0x01020304);
    assert_int_equal(nl, 2);
    assert_memory_equal(ns, "ns", 2);
    assert_int_equal(ml, 3);
    assert_memory_equal(name, "pod", 3);
    /* cluster scope */
    n = vk_key_build(k, sizeof k, 7, NULL, "node1");
    assert_int_equal(vk_key_parse(k, (size_t)n, &r, &ns, &nl, &name, &ml), 0);
    assert_int_equal(nl, 0);
    assert_int_equal(ml, 5);
    assert_int_equal(vk_key_prefix(k, sizeof k, 7, NULL), 4);
    assert_int_equal(vk_key_prefix(k, sizeof k, 7, "ab"), 7);
    assert_memory_equal(k,
                        "\0\0\0\x07"
                        "ab\0",
                        7);
    /* limits */
    char big[600];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    assert_int_equal(vk_key_build(k, sizeof k, 1, "ns", big), VK_ETOOLARGE);
    assert_int_equal(vk_key_build(k, sizeof k, 1, "ns", ""), VK_EINVALID);
    big[253] = 0; /* the longest Kubernetes name */
    assert_true(vk_key_build(k, sizeof k, 1,
                             "0123456789012345678901234567890123456789012345678901234567890ab",
                             big) > 0);
    assert_int_equal(vk_key_parse(k, 4, &r, &ns, &nl, &name, &ml), VK_EINVALID);
    assert_int_equal(vk_key_parse("\0\0\0\1abc", 7, &r, &ns, &nl, &name, &ml), VK_EINVALID);
}

static void test_encode_json(void **state)
{
    json_error_t je;
    json_t *o = json_loads("{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"5\",\"uid\":\"u\"},"
                           "\"spec\":{\"x\":1}}",
                           0, &je);
    assert_non_null(o);
    vk_buf b = {0};
    vk_buf_puts(&b, "PFX");
    size_t off;
    assert_int_equal(vk_store_encode_json(o, &b, &off), 0);
    assert_string_equal(b.data,
                        "PFX{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"\",\"uid\":\"u\"},"
                        "\"spec\":{\"x\":1}}");
    assert_int_equal(b.data[off], '"');
    assert_int_equal(b.data[off - 1], '"');
    /* obj unchanged */
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(o, "metadata"), "resourceVersion")), "5");
    vk_buf out = {0};
    assert_int_equal(vk_json_insert_rv(&out, b.data + 3, b.len - 3, off - 3, 1234), 0);
    assert_non_null(strstr(out.data, "\"resourceVersion\":\"1234\",\"uid\""));
    vk_buf_free(&out);
    vk_buf_free(&b);
    /* missing resourceVersion goes last in metadata and is removed again */
    json_object_del(json_object_get(o, "metadata"), "resourceVersion");
    assert_int_equal(vk_store_encode_json(o, &b, &off), 0);
    assert_string_equal(b.data,
                        "{\"metadata\":{\"name\":\"a\",\"uid\":\"u\",\"resourceVersion\":\"\"},"
                        "\"spec\":{\"x\":1}}");
    assert_null(json_object_get(json_object_get(o, "metadata"), "resourceVersion"));
    vk_buf_free(&b);
    json_decref(o);
    json_t *bad = json_loads("{\"spec\":1}", 0, &je);
    assert_int_equal(vk_store_encode_json(bad, &b, &off), VK_EINVALID);
    json_decref(bad);
}

static void test_crud_and_cas(void **state)
{
    struct env *e = env_new();
    struct sync_res r;
    vk_buf b = {0};
    vk_obj_meta m;
    assert_int_equal(vk_store_revision(e->s), 0);
    assert_int_equal(op1(e, VK_OP_CREATE, 1, "default", "a", "{\"v\":1}", 0, &r), 0);
    assert_int_equal(r.res[0].rev, 1);
    assert_int_equal(r.res[0].create_rev, 1);
    assert_string_equal(r.json[0], "{\"metadata\":{\"name\":\"a\",\"namespace\":\"default\","
                                   "\"resourceVersion\":\"1\"},\"spec\":{\"v\":1}}");
    assert_int_equal(vk_store_revision(e->s), 1);
    assert_int_equal(get1(e, 1, "default", "a", &b, &m), 0);
    assert_string_equal(b.data, r.json[0]);
    assert_int_equal(m.create_rev, 1);
    assert_int_equal(m.mod_rev, 1);
    assert_int_equal(b.data[m.rv_off], '1');
    /* create again */
    assert_int_equal(op1(e, VK_OP_CREATE, 1, "default", "a", "{\"v\":2}", 0, &r), VK_EEXIST);
    assert_int_equal(r.res[0].cur_rev, 1);
    assert_int_equal(r.res[0].rev, 0);
    /* CAS update */
    assert_int_equal(op1(e, VK_OP_UPDATE, 1, "default", "a", "{\"v\":2}", 1, &r), 0);
    assert_int_equal(r.res[0].rev, 2);
    assert_int_equal(r.res[0].create_rev, 1);
    assert_int_equal(op1(e, VK_OP_UPDATE, 1, "default", "a", "{\"v\":3}", 1, &r), VK_ECONFLICT);
    assert_int_equal(r.res[0].cur_rev, 2);
    /* unconditional */
    assert_int_equal(op1(e, VK_OP_UPDATE, 1, "default", "a", "{\"v\":3}", 0, &r), 0);
    assert_int_equal(r.res[0].rev, 3);
    b.len = 0;
    assert_int_equal(get1(e, 1, "default", "a", &b, &m), 0);
    assert_non_null(strstr(b.data, "\"resourceVersion\":\"3\"},\"spec\":{\"v\":3}"));
    assert_int_equal(m.create_rev, 1);
    assert_int_equal(m.mod_rev, 3);
    /* missing */
    assert_int_equal(op1(e, VK_OP_UPDATE, 1, "default", "zz", "{}", 0, &r), VK_ENOTFOUND);
    assert_int_equal(op1(e, VK_OP_DELETE, 1, "default", "zz", NULL, 0, &r), VK_ENOTFOUND);
    /* CAS delete */
    assert_int_equal(op1(e, VK_OP_DELETE, 1, "default", "a", NULL, 2, &r), VK_ECONFLICT);
    assert_int_equal(op1(e, VK_OP_DELETE, 1, "default", "a", NULL, 3, &r), 0);
    assert_int_equal(r.res[0].rev, 4);
    assert_int_equal(get1(e, 1, "default", "a", &b, &m), VK_ENOTFOUND);
    /* put: create, then replace */
    assert_int_equal(op1(e, VK_OP_PUT, 1, "default", "a", "{\"v\":9}", 0, &r), 0);
    assert_int_equal(r.res[0].rev, 5);
    assert_int_equal(r.res[0].create_rev, 5);
    assert_int_equal(op1(e, VK_OP_PUT, 1, "default", "a", "{\"v\":10}", 0, &r), 0);
    assert_int_equal(r.res[0].create_rev, 5);
    assert_int_equal(vk_store_revision(e->s), 6);
    /* an opaque value */
    uint8_t key[VK_KEY_MAX];
    int kl = vk_key_build(key, sizeof key, 2, "", "raw");
    vk_op op = {VK_OP_CREATE, key, (size_t)kl, "xyz", 3, VK_NO_RV, 0};
    assert_int_equal(do_txn(e, &op, 1, &r), 0);
    b.len = 0;
    assert_int_equal(get1(e, 2, "", "raw", &b, &m), 0);
    assert_string_equal(b.data, "xyz");
    assert_int_equal(m.rv_off, VK_NO_RV);
    /* invalid submits never call back */
    op.rv_off = 10;
    assert_int_equal(vk_store_submit(e->s, &op, 1, sync_cb, &r), VK_EINVALID);
    assert_int_equal(vk_store_submit(e->s, &op, 0, sync_cb, &r), VK_EINVALID);
    op.key_len = 0;
    op.rv_off = VK_NO_RV;
    assert_int_equal(vk_store_submit(e->s, &op, 1, sync_cb, &r), VK_EINVALID);
    /* counts and stats */
    uint64_t n;
    assert_int_equal(vk_store_count(e->s, 1, &n), 0);
    assert_int_equal(n, 1);
    vk_store_stats st;
    vk_store_stats_get(e->s, &st);
    assert_int_equal(st.rev, 7);
    assert_int_equal(st.objects, 2);
    assert_int_equal(st.log_events, 7);
    assert_true(st.map_size >= (64u << 20));
    assert_true(st.db_size > 0);
    assert_true(st.batches > 0);
    vk_buf_free(&b);
    env_free(e);
}

static void test_txn_atomic(void **state)
{
    struct env *e = env_new();
    struct sync_res r;
    assert_int_equal(op1(e, VK_OP_CREATE, 1, "ns", "x", "{}", 0, &r), 0);
    uint8_t k1[VK_KEY_MAX], k2[VK_KEY_MAX], k3[VK_KEY_MAX];
    int l1 = vk_key_build(k1, sizeof k1, 1, "ns", "a");
    int l2 = vk_key_build(k2, sizeof k2, 1, "ns", "x");
    int l3 = vk_key_build(k3, sizeof k3, 1, "ns", "b");
    vk_op ops[3] = {
        {VK_OP_CREATE, k1, (size_t)l1, "{}", 2, VK_NO_RV, 0},
        {VK_OP_UPDATE, k2, (size_t)l2, "{\"y\":1}", 7, VK_NO_RV, 99}, /* stale */
        {VK_OP_CREATE, k3, (size_t)l3, "{}", 2, VK_NO_RV, 0},
    };
    assert_int_equal(do_txn(e, ops, 3, &r), VK_ECONFLICT);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.res[0].err, VK_ECLOSED);
    assert_int_equal(r.res[1].err, VK_ECONFLICT);
    assert_int_equal(r.res[1].cur_rev, 1);
    assert_int_equal(r.res[2].err, VK_ECLOSED);
    vk_buf b = {0};
    assert_int_equal(get1(e, 1, "ns", "a", &b, NULL), VK_ENOTFOUND);
    assert_int_equal(vk_store_revision(e->s), 1);
    ops[1].expect_rev = 1;
    assert_int_equal(do_txn(e, ops, 3, &r), 0);
    assert_int_equal(r.res[0].rev, 2);
    assert_int_equal(r.res[1].rev, 3);
    assert_int_equal(r.res[2].rev, 4);
    /* the same key twice in one txn */
    vk_op two[2] = {
        {VK_OP_UPDATE, k1, (size_t)l1, "{\"n\":1}", 7, VK_NO_RV, 2},
        {VK_OP_UPDATE, k1, (size_t)l1, "{\"n\":2}", 7, VK_NO_RV, 5},
    };
    assert_int_equal(do_txn(e, two, 2, &r), 0);
    assert_int_equal(get1(e, 1, "ns", "a", &b, NULL), 0);
    assert_string_equal(b.data, "{\"n\":2}");
    vk_buf_free(&b);
    env_free(e);
}

/* Many txns queued at once land in few batches; the conflicting ones fail alone. */
struct multi {
    int done;
    int errs[200];
    uint64_t revs[200];
};
struct multi_cb {
    struct multi *m;
    int i;
};
static struct multi_cb mcbs[200];

static void multi_cb(void *ud, int err, const vk_op_result *res, size_t n)
{
    struct multi_cb *c = ud;
    c->m->errs[c->i] = err;
    c->m->revs[c->i] = res[0].rev;
    c->m->done++;
}

static void test_batch_isolation(void **state)
{
    struct env *e = env_new();
    struct sync_res r;
    assert_int_equal(op1(e, VK_OP_CREATE, 1, "ns", "shared", "{}", 0, &r), 0);
    struct multi m = {0};
    uint8_t keys[200][VK_KEY_MAX];
    for (int i = 0; i < 200; i++) {
        char name[32];
        snprintf(name, sizeof name, "o%03d", i);
        /* every 10th is a stale CAS of "shared"; every 7th a duplicate create of "shared" */
        int kl =
            vk_key_build(keys[i], VK_KEY_MAX, 1, "ns", i % 10 == 0 || i % 7 == 0 ? "shared" : name);
        vk_op op = {i % 10 == 0 ? VK_OP_UPDATE : VK_OP_CREATE,
                    keys[i],
                    (size_t)kl,
                    "{}",
                    2,
                    VK_NO_RV,
                    i % 10 == 0 ? 12345 : 0};
        mcbs[i] = (struct multi_cb){&m, i};
        assert_int_equal(vk_store_submit(e->s, &op, 1, multi_cb, &mcbs[i]), 0);
    }
    volatile int all = 0;
    for (int i = 0; i < 100000 && m.done < 200; i++) {
        uv_run(&e->loop, UV_RUN_NOWAIT);
        usleep(50);
    }
    all = m.done == 200;
    assert_true(all);
    uint64_t last = 1;
    int ok = 0;
    for (int i = 0; i < 200; i++) {
        if (i % 10 == 0) {
            assert_int_equal(m.errs[i], VK_ECONFLICT);
        } else if (i % 7 == 0) {
            assert_int_equal(m.errs[i], VK_EEXIST);
        } else {
            assert_int_equal(m.errs[i], 0);
            assert_int_equal(m.revs[i], last + 1); /* contiguous, in submit order */
            last = m.revs[i];
            ok++;
        }
    }
    assert_int_equal(vk_store_revision(e->s), 1 + (uint64_t)ok);
    vk_store_stats st;
    vk_store_stats_get(e->s, &st);
    assert_int_equal(st.ops_ok, ok + 1);
    assert_int_equal(st.ops_failed, 200 - ok);
    assert_true(st.batches < 201);
    env_free(e);
}

/* ---- lists ---- */

struct coll {
    int n;
    char keys[512][64];
    char vals[512][256];
    uint64_t revs[512];
    const char *skip_sub; /* skip items whose JSON contains this */
};

static int coll_visit(void *ud, const vk_kv *kv)
{
    struct coll *c = ud;
    if (c->skip_sub && memmem(kv->val, kv->val_len, c->skip_sub, strlen(c->skip_sub)))
        return 0;
    assert_true(c->n < 512);
    const char *ns, *name;
    size_t nl, ml;
    uint32_t res;
    assert_int_equal(vk_key_parse(kv->key, kv->key_len, &res, &ns, &nl, &name, &ml), 0);
    snprintf(c->keys[c->n], 64, "%u/%.*s/%.*s", res, (int)nl, ns, (int)ml, name);
    snprintf(c->vals[c->n], 256, "%.*s", (int)kv->val_len, kv->val);
    c->revs[c->n] = kv->meta.mod_rev;
    c->n++;
    return 1;
}

static void test_list_paging(void **state)
{
    struct env *e = env_new();
    struct sync_res r;
    char name[32];
    for (int i = 0; i < 25; i++) {
        snprintf(name, sizeof name, "p%02d", i);
        assert_int_equal(
            op1(e, VK_OP_CREATE, 5, i < 15 ? "a" : "b", name, i % 3 ? "{\"sel\":1}" : "{}", 0, &r),
            0);
    }
    assert_int_equal(op1(e, VK_OP_CREATE, 4, "a", "other", "{}", 0, &r), 0);
    assert_int_equal(op1(e, VK_OP_CREATE, 6, "a", "other", "{}", 0, &r), 0);
    uint8_t pfx[VK_KEY_MAX];
    int pl = vk_key_prefix(pfx, sizeof pfx, 5, NULL);
    struct coll *c = calloc(1, sizeof *c);
    vk_list_info info;
    vk_list_opts o = {.prefix = pfx, .prefix_len = (size_t)pl};
    assert_int_equal(vk_store_list(e->s, &o, coll_visit, c, &info), 0);
    assert_int_equal(c->n, 25);
    assert_int_equal(info.rev, 27);
    assert_false(info.more);
    assert_string_equal(c->keys[0], "5/a/p00");
    assert_string_equal(c->keys[24], "5/b/p24");
    /* one namespace */
    pl = vk_key_prefix(pfx, sizeof pfx, 5, "b");
    o.prefix_len = (size_t)pl;
    memset(c, 0, sizeof *c);
    assert_int_equal(vk_store_list(e->s, &o, coll_visit, c, &info), 0);
    assert_int_equal(c->n, 10);
    /* pages of 10 over the resource, continuing after the last key */
    pl = vk_key_prefix(pfx, sizeof pfx, 5, NULL);
    o.prefix_len = (size_t)pl;
    o.limit = 10;
    o.count_rest = 1;
    uint8_t start[VK_KEY_MAX + 1];
    int pages = 0, total = 0;
    for (;;) {
        memset(c, 0, sizeof *c);
        assert_int_equal(vk_store_list(e->s, &o, coll_visit, c, &info), 0);
        pages++;
        total += c->n;
        if (!info.more) {
            assert_int_equal(c->n, 5);
            break;
        }
        assert_int_equal(c->n, 10);
        assert_int_equal(info.remaining, 25 - total);
        /* next: last key + '\0' */
        const char *last = c->keys[c->n - 1];
        const char *ns = strchr(last, '/') + 1, *nm = strchr(ns, '/') + 1;
        char nsb[8];
        snprintf(nsb, sizeof nsb, "%.*s", (int)(nm - ns - 1), ns);
        int kl = vk_key_build(start, sizeof start, 5, nsb, nm);
        start[kl] = 0;
        o.start = start;
        o.start_len = (size_t)kl + 1;
    }
    assert_int_equal(pages, 3);
    assert_int_equal(total, 25);
    /* a selector (skip) with a limit: the limit counts taken items */
    memset(c, 0, sizeof *c);
    o.start = NULL;
    o.limit = 5;
    c->skip_sub = "sel";
    assert_int_equal(vk_store_list(e->s, &o, coll_visit, c, &info), 0);
    assert_int_equal(c->n, 5);
    assert_string_equal(c->keys[4], "5/a/p12");
    assert_true(info.more);
    /* the visitor's error ends the list */
    free(c);
    env_free(e);
}

static int err_visit(void *ud, const vk_kv *kv)
{
    return ++*(int *)ud == 3 ? -EBADMSG : 1;
}

static void test_list_visitor_error(void **state)
{
    struct env *e = env_new();
    struct sync_res r;
    char name[16];
    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof name, "o%d", i);
        assert_int_equal(op1(e, VK_OP_CREATE, 1, "ns", name, "{}", 0, &r), 0);
    }
    uint8_t pfx[VK_KEY_MAX];
    int pl = vk_key_prefix(pfx, sizeof pfx, 1, "ns");
    vk_list_opts o = {.prefix = pfx, .prefix_len = (size_t)pl};
    vk_list_info info;
    int n = 0;
    assert_int_equal(vk_store_list(e->s, &o, err_visit, &n, &info), -EBADMSG);
    assert_int_equal(n, 3);
    n = 0;
    o.rev = 3;
    assert_int_equal(vk_store_list(e->s, &o, err_visit, &n, &info), -EBADMSG);
    /* empty ranges */
    pl = vk_key_prefix(pfx, sizeof pfx, 1, "nothing");
    o.prefix_len = (size_t)pl;
    n = 0;
    assert_int_equal(vk_store_list(e->s, &o, err_visit, &n, &info), 0);
    assert_int_equal(n, 0);
    assert_int_equal(info.rev, 3);
    o.rev = 0;
    assert_int_equal(vk_store_list(e->s, &o, err_visit, &n, &info), 0);
    assert_int_equal(info.rev, 5);
    assert_false(info.more);
    env_free(e);
}

/* Lists at an older revision equal what a list said then. */
static void test_list_at_revision(void **state)
{
    struct env *e = env_new();
    struct sync_res r;
    char name[32], spec[32];
    for (int i = 0; i < 30; i++) {
        snprintf(name, sizeof name, "o%02d", i);
        assert_int_equal(op1(e, VK_OP_CREATE, 3, "ns", name, "{\"gen\":0}", 0, &r), 0);
    }
    /* interleave other resources' writes */
    assert_int_equal(op1(e, VK_OP_CREATE, 2, "ns", "o05", "{}", 0, &r), 0);
    uint8_t pfx[VK_KEY_MAX];
    int pl = vk_key_prefix(pfx, sizeof pfx, 3, NULL);
    vk_list_opts o = {.prefix = pfx, .prefix_len = (size_t)pl};
    vk_list_info info;
    struct coll *then = calloc(1, sizeof *then), *now = calloc(1, sizeof *now);
    /* snapshots at several revisions, with mutations in between */
    struct coll *snaps[4];
    uint64_t revs[4];
    for (int round = 0; round < 4; round++) {
        snaps[round] = calloc(1, sizeof(struct coll));
        assert_int_equal(vk_store_list(e->s, &o, coll_visit, snaps[round], &info), 0);
        revs[round] = info.rev;
        for (int i = round; i < 30; i += 3) {
            snprintf(name, sizeof name, "o%02d", i);
            snprintf(spec, sizeof spec, "{\"gen\":%d}", round + 1);
            if (i % 4 == 0)
                op1(e, VK_OP_DELETE, 3, "ns", name, NULL, 0, &r);
            else if (i % 4 == 1)
                op1(e, VK_OP_PUT, 3, "ns", name, spec, 0, &r);
            else
                op1(e, VK_OP_UPDATE, 3, "ns", name, spec, 0, &r);
        }
        snprintf(name, sizeof name, "new%d", round);
        assert_int_equal(op1(e, VK_OP_CREATE, 3, "ns", name, "{}", 0, &r), 0);
    }
    for (int round = 0; round < 4; round++) {
        memset(then, 0, sizeof *then);
        o.rev = revs[round];
        o.limit = 0;
        o.start = NULL;
        assert_int_equal(vk_store_list(e->s, &o, coll_visit, then, &info), 0);
        assert_int_equal(info.rev, revs[round]);
        assert_int_equal(then->n, snaps[round]->n);
        for (int i = 0; i < then->n; i++) {
            assert_string_equal(then->keys[i], snaps[round]->keys[i]);
            assert_string_equal(then->vals[i], snaps[round]->vals[i]);
            assert_int_equal(then->revs[i], snaps[round]->revs[i]);
        }
        /* paged at that revision, pages of 7 */
        o.limit = 7;
        o.count_rest = 1;
        int got = 0;
        uint8_t start[VK_KEY_MAX + 1];
        for (;;) {
            memset(now, 0, sizeof *now);
            assert_int_equal(vk_store_list(e->s, &o, coll_visit, now, &info), 0);
            for (int i = 0; i < now->n; i++)
                assert_string_equal(now->keys[i], snaps[round]->keys[got + i]);
            got += now->n;
            if (!info.more)
                break;
            assert_int_equal(info.remaining, (uint64_t)(snaps[round]->n - got));
            const char *nm = strrchr(now->keys[now->n - 1], '/') + 1;
            int kl = vk_key_build(start, sizeof start, 3, "ns", nm);
            start[kl] = 0;
            o.start = start;
            o.start_len = (size_t)kl + 1;
        }
        assert_int_equal(got, snaps[round]->n);
        o.start = NULL;
        o.count_rest = 0;
        free(snaps[round]);
    }
    o.rev = vk_store_revision(e->s) + 1;
    assert_int_equal(vk_store_list(e->s, &o, coll_visit, then, &info), VK_EINVALID);
    free(then);
    free(now);
    env_free(e);
}

static void test_compaction_gone(void **state)
{
    struct env *e = env_new();
    struct sync_res r;
    char name[32];
    for (int i = 0; i < 20; i++) {
        snprintf(name, sizeof name, "o%02d", i);
        assert_int_equal(op1(e, VK_OP_CREATE, 3, "ns", name, "{}", 0, &r), 0);
    }
    assert_int_equal(vk_store_compact(e->s, 10), 0);
    vk_store_stats st;
    for (int i = 0; i < 10000; i++) {
        vk_store_stats_get(e->s, &st);
        if (st.compact_rev == 10)
            break;
        usleep(100);
    }
    assert_int_equal(st.compact_rev, 10);
    assert_int_equal(st.log_events, 10);
    uint8_t pfx[VK_KEY_MAX];
    int pl = vk_key_prefix(pfx, sizeof pfx, 3, NULL);
    struct coll *c = calloc(1, sizeof *c);
    vk_list_info info;
    vk_list_opts o = {.prefix = pfx, .prefix_len = (size_t)pl, .rev = 9};
    assert_int_equal(vk_store_list(e->s, &o, coll_visit, c, &info), VK_EGONE);
    o.rev = 10;
    assert_int_equal(vk_store_list(e->s, &o, coll_visit, c, &info), 0);
    assert_int_equal(c->n, 10);
    /* watches below the window are gone too */
    vk_watcher *w;
    vk_watch_opts wo = {.resource = 3, .from_rev = 9, .notify = (vk_watch_notify_fn)abort};
    assert_int_equal(vk_watch_add(vk_store_hub(e->s), &wo, &w), VK_EGONE);
    /* compaction survives a restart */
    env_close_store(e);
    env_open(e);
    vk_store_stats_get(e->s, &st);
    assert_int_equal(st.compact_rev, 10);
    assert_int_equal(st.rev, 20);
    assert_int_equal(st.objects, 20);
    o.rev = 9;
    assert_int_equal(vk_store_list(e->s, &o, coll_visit, c, &info), VK_EGONE);
    free(c);
    env_free(e);
}

/* The kube-style timer: each tick compacts up to the revision of the previous tick. */
static void test_compaction_timer(void **state)
{
    vk_lmdb_opts o = {
        .sync = VK_SYNC_NONE, .compact_interval_ms = 30, .compact_min_age_ms = UINT64_MAX};
    struct env *e = env_new_opts(&o);
    struct sync_res r;
    assert_int_equal(op1(e, VK_OP_CREATE, 3, "ns", "a", "{}", 0, &r), 0);
    assert_int_equal(op1(e, VK_OP_CREATE, 3, "ns", "b", "{}", 0, &r), 0);
    vk_store_stats st;
    /* The store's timer does not keep the loop alive; a server's listeners do. */
    uv_timer_t keep;
    uv_timer_init(&e->loop, &keep);
    uv_timer_start(&keep, (uv_timer_cb)abort, 3600000, 0);
    /* idle server: two ticks later the history is gone */
    for (int i = 0; i < 4000; i++) {
        uv_run(&e->loop, UV_RUN_NOWAIT);
        vk_store_stats_get(e->s, &st);
        if (st.compact_rev == 2)
            break;
        usleep(250);
    }
    assert_int_equal(st.compact_rev, 2);
    uv_close((uv_handle_t *)&keep, NULL);
    env_free(e);

    /* the minimum age keeps young events */
    vk_lmdb_opts o2 = {
        .sync = VK_SYNC_NONE, .compact_interval_ms = 10, .compact_min_age_ms = 60000};
    e = env_new_opts(&o2);
    uv_timer_init(&e->loop, &keep);
    uv_timer_start(&keep, (uv_timer_cb)abort, 3600000, 0);
    assert_int_equal(op1(e, VK_OP_CREATE, 3, "ns", "a", "{}", 0, &r), 0);
    for (int i = 0; i < 200; i++) {
        uv_run(&e->loop, UV_RUN_NOWAIT);
        usleep(250);
    }
    vk_store_stats_get(e->s, &st);
    assert_int_equal(st.compact_rev, 0);
    uv_close((uv_handle_t *)&keep, NULL);
    env_free(e);

    /* the count cap */
    vk_lmdb_opts o3 = {
        .sync = VK_SYNC_NONE, .compact_max_events = 5, .compact_min_age_ms = UINT64_MAX};
    e = env_new_opts(&o3);
    char name[16];
    for (int i = 0; i < 20; i++) {
        snprintf(name, sizeof name, "o%d", i);
        assert_int_equal(op1(e, VK_OP_CREATE, 3, "ns", name, "{}", 0, &r), 0);
    }
    for (int i = 0; i < 1000; i++) {
        vk_store_stats_get(e->s, &st);
        if (st.log_events <= 5)
            break;
        usleep(200);
    }
    assert_true(st.log_events <= 5);
    env_free(e);
}

/* ---- map full ---- */

static void test_map_full(void **state)
{
    /* A map that cannot grow: writes fail with VK_EFULL, nothing is corrupted. */
    vk_lmdb_opts o = {.sync = VK_SYNC_NONE, .map_size = 1 << 20, .map_max = 1 << 20};
    struct env *e = env_new_opts(&o);
    struct sync_res r;
    char *spec = malloc(3000);
    memset(spec, 'x', 2998);
    spec[0] = '"';
    spec[2997] = '"';
    spec[2998] = 0;
    char name[32];
    int created = 0, err = 0;
    for (int i = 0; i < 2000; i++) {
        snprintf(name, sizeof name, "o%04d", i);
        err = op1(e, VK_OP_CREATE, 3, "ns", name, spec, 0, &r);
        if (err)
            break;
        created++;
    }
    assert_int_equal(err, VK_EFULL);
    assert_true(created > 10);
    vk_store_stats st;
    vk_store_stats_get(e->s, &st);
    assert_true(st.full_errors > 0);
    assert_int_equal(st.rev, (uint64_t)created);
    /* reads still work, and every created object is intact */
    vk_buf b = {0};
    for (int i = 0; i < created; i++) {
        snprintf(name, sizeof name, "o%04d", i);
        b.len = 0;
        assert_int_equal(get1(e, 3, "ns", name, &b, NULL), 0);
    }
    /* a batch of small writes mixed with big ones: only those that do not fit fail */
    assert_int_equal(vk_store_compact(e->s, st.rev), 0);
    for (int i = 0; i < 1000; i++) {
        vk_store_stats_get(e->s, &st);
        if (st.compact_rev == st.rev)
            break;
        usleep(200);
    }
    /* after deleting and compacting there is room again */
    for (int i = 0; i < created / 2; i++) {
        snprintf(name, sizeof name, "o%04d", i);
        assert_int_equal(op1(e, VK_OP_DELETE, 3, "ns", name, NULL, 0, &r), 0);
    }
    vk_store_stats_get(e->s, &st);
    assert_int_equal(vk_store_compact(e->s, st.rev), 0);
    for (int i = 0; i < 1000; i++) {
        vk_store_stats_get(e->s, &st);
        if (st.compact_rev == st.rev)
            break;
        usleep(200);
    }
    assert_int_equal(op1(e, VK_OP_CREATE, 3, "ns", "again", spec, 0, &r), 0);
    uint64_t rev = r.res[0].rev;
    env_close_store(e);
    env_open(e);
    vk_store_stats_get(e->s, &st);
    assert_int_equal(st.rev, rev);
    assert_int_equal(st.objects, (uint64_t)(created - created / 2 + 1));
    b.len = 0;
    assert_int_equal(get1(e, 3, "ns", "again", &b, NULL), 0);
    vk_buf_free(&b);
    free(spec);
    env_free(e);
}

/* A full map, many txns in one batch: each either commits whole or fails with VK_EFULL;
 * after a reopen exactly the committed ones are there. */
static void test_map_full_batch(void **state)
{
    vk_lmdb_opts o = {.sync = VK_SYNC_NONE, .map_size = 1 << 20, .map_max = 1 << 20};
    struct env *e = env_new_opts(&o);
    struct sync_res r;
    char *big = malloc(4000), name[32];
    memset(big, 'z', 3900);
    big[0] = '"';
    big[3899] = '"';
    big[3900] = 0;
    int i = 0;
    while (op1(e, VK_OP_CREATE, 3, "ns", (snprintf(name, sizeof name, "f%d", i), name), big, 0,
               &r) == 0)
        i++;
    assert_int_equal(r.err, VK_EFULL);
    uint64_t base = vk_store_revision(e->s);
    /* free a little room: drop the oldest log records (LMDB reuses pages freed by a txn
     * two commits later, hence two steps) */
    vk_store_stats st;
    for (uint64_t c = 9; c <= 10; c++) {
        assert_int_equal(vk_store_compact(e->s, c), 0);
        for (int k = 0; k < 1000; k++) {
            vk_store_stats_get(e->s, &st);
            if (st.compact_rev == c)
                break;
            usleep(200);
        }
        assert_int_equal(st.compact_rev, c);
    }
    /* 60 txns at once: small creates, big creates, and two-op txns {small, big} */
    struct multi m = {0};
    static uint8_t keys[60][2][VK_KEY_MAX];
    for (int t = 0; t < 60; t++) {
        vk_op ops[2];
        size_t n = 1;
        snprintf(name, sizeof name, "t%02d", t);
        int kl = vk_key_build(keys[t][0], VK_KEY_MAX, 3, "ns", name);
        int kind = t % 3;
        ops[0] = (vk_op){VK_OP_CREATE,
                         keys[t][0],
                         (size_t)kl,
                         kind == 1 ? big : "{}",
                         kind == 1 ? strlen(big) : 2,
                         VK_NO_RV,
                         0};
        if (kind == 2) {
            snprintf(name, sizeof name, "t%02d-big", t);
            kl = vk_key_build(keys[t][1], VK_KEY_MAX, 3, "ns", name);
            ops[1] = (vk_op){VK_OP_CREATE, keys[t][1], (size_t)kl, big, strlen(big), VK_NO_RV, 0};
            n = 2;
        }
        mcbs[t] = (struct multi_cb){&m, t};
        assert_int_equal(vk_store_submit(e->s, ops, n, multi_cb, &mcbs[t]), 0);
    }
    for (int k = 0; k < 100000 && m.done < 60; k++) {
        uv_run(&e->loop, UV_RUN_NOWAIT);
        usleep(50);
    }
    assert_int_equal(m.done, 60);
    uint64_t ok_ops = 0;
    int failed = 0;
    for (int t = 0; t < 60; t++) {
        assert_true(m.errs[t] == 0 || m.errs[t] == VK_EFULL);
        if (m.errs[t] == 0)
            ok_ops += t % 3 == 2 ? 2 : 1;
        failed += m.errs[t] != 0;
    }
    /* some fit, some did not */
    assert_true(ok_ops > 0);
    assert_true(failed > 0);
    assert_int_equal(vk_store_revision(e->s), base + ok_ops);
    env_close_store(e);
    env_open(e);
    assert_int_equal(vk_store_revision(e->s), base + ok_ops);
    vk_buf b = {0};
    for (int t = 0; t < 60; t++) {
        snprintf(name, sizeof name, "t%02d", t);
        b.len = 0;
        assert_int_equal(get1(e, 3, "ns", name, &b, NULL), m.errs[t] == 0 ? 0 : VK_ENOTFOUND);
        if (t % 3 == 2) {
            snprintf(name, sizeof name, "t%02d-big", t);
            b.len = 0;
            assert_int_equal(get1(e, 3, "ns", name, &b, NULL), m.errs[t] == 0 ? 0 : VK_ENOTFOUND);
        }
    }
    vk_buf_free(&b);
    free(big);
    env_free(e);
}

static void test_map_growth(void **state)
{
    vk_lmdb_opts o = {.sync = VK_SYNC_NONE, .map_size = 256 << 10, .map_max = 256 << 20};
    struct env *e = env_new_opts(&o);
    struct sync_res r;
    char *spec = malloc(3000);
    memset(spec, 'y', 2998);
    spec[0] = '"';
    spec[2997] = '"';
    spec[2998] = 0;
    char name[32];
    for (int i = 0; i < 1500; i++) {
        snprintf(name, sizeof name, "o%04d", i);
        assert_int_equal(op1(e, VK_OP_CREATE, 3, "ns", name, spec, 0, &r), 0);
    }
    vk_store_stats st;
    vk_store_stats_get(e->s, &st);
    assert_true(st.map_grows > 0);
    assert_true(st.map_size > (256 << 10));
    assert_int_equal(st.objects, 1500);
    free(spec);
    env_free(e);
}

/* ---- allocation failures ---- */

struct failer {
    atomic_int countdown; /* fail when it reaches 0 */
    atomic_int failures;
};

static int fail_fn(void *ud)
{
    struct failer *f = ud;
    if (atomic_fetch_sub(&f->countdown, 1) == 1) {
        atomic_fetch_add(&f->failures, 1);
        return 1;
    }
    return 0;
}

static void noop_notify(void *ud, vk_watcher *w, int err) {}

static void test_alloc_failures(void **state)
{
    /* Fail the nth allocation, for each n, across open, writes, lists and watches. */
    for (int n = 1; n < 60; n++) {
        struct failer f;
        atomic_init(&f.countdown, n);
        atomic_init(&f.failures, 0);
        struct env *e = calloc(1, sizeof *e);
        uv_loop_init(&e->loop);
        strcpy(e->dir, "/tmp/vk-storage-XXXXXX");
        assert_non_null(mkdtemp(e->dir));
        e->o = (vk_lmdb_opts){.path = e->dir, .sync = VK_SYNC_NONE, .fail = fail_fn, .fail_ud = &f};
        int rc = vk_store_open_lmdb(&e->loop, &e->o, &e->s);
        if (rc) {
            assert_int_equal(rc, -ENOMEM);
            env_free(e);
            continue;
        }
        struct sync_res r;
        int ok = 0;
        vk_watcher *w = NULL;
        vk_watch_opts wo = {.resource = 3, .notify = noop_notify};
        rc = vk_watch_add(vk_store_hub(e->s), &wo, &w);
        assert_true(rc == 0 || rc == -ENOMEM);
        for (int i = 0; i < 5; i++) {
            char name[16];
            snprintf(name, sizeof name, "o%d", i);
            rc = op1(e, VK_OP_CREATE, 3, "ns", name, "{}", 0, &r);
            assert_true(rc == 0 || rc == -ENOMEM);
            ok += rc == 0;
        }
        /* whatever failed left nothing behind */
        assert_int_equal(vk_store_revision(e->s), (uint64_t)ok);
        vk_watch_free(w);
        /* a replaying watcher under failure */
        wo.from_rev = 0;
        rc = vk_watch_add(vk_store_hub(e->s), &wo, &w);
        if (rc == 0) {
            for (int i = 0; i < 5; i++)
                uv_run(&e->loop, UV_RUN_NOWAIT);
            vk_watch_free(w);
        }
        env_free(e);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_encode_json),
        cmocka_unit_test(test_crud_and_cas),
        cmocka_unit_test(test_txn_atomic),
        cmocka_unit_test(test_batch_isolation),
        cmocka_unit_test(test_list_paging),
        cmocka_unit_test(test_list_visitor_error),
        cmocka_unit_test(test_list_at_revision),
        cmocka_unit_test(test_compaction_gone),
        cmocka_unit_test(test_compaction_timer),
        cmocka_unit_test(test_map_full),
        cmocka_unit_test(test_map_full_batch),
        cmocka_unit_test(test_map_growth),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
