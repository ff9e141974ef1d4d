#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_storage_util.h"

/* A collecting watcher. */
struct col {
    vk_watcher *w;
    int drain_in_notify;
    int err, notifies;
    size_t n;
    uint64_t revs[4096];
    int types[4096];
    char last_obj[512];
    char last_prev_at_rev[512];
};

static void col_drain(struct col *c)
{
    vk_event *ev;
    int type, r;
    while ((r = vk_watch_next(c->w, &ev, &type)) == 1) {
        assert_true(c->n < 4096);
        c->revs[c->n] = ev->rev;
        c->types[c->n] = type;
        c->n++;
        snprintf(c->last_obj, sizeof c->last_obj, "%.*s", (int)ev->obj_len, ev->obj ? ev->obj : "");
        const char *p;
        size_t pl;
        if (vk_event_prev_at_rev(ev, &p, &pl) == 0)
            snprintf(c->last_prev_at_rev, sizeof c->last_prev_at_rev, "%.*s", (int)pl, p);
        else
            c->last_prev_at_rev[0] = 0;
        vk_event_unref(ev);
    }
    if (r < 0)
        c->err = r;
}

static void col_notify(void *ud, vk_watcher *w, int err)
{
    struct col *c = ud;
    c->notifies++;
    if (err) {
        c->err = err;
        return;
    }
    if (c->drain_in_notify)
        col_drain(c);
}

static void col_add(struct env *e, struct col *c, uint32_t res, const char *ns, const char *name,
                    uint64_t from, size_t qmax)
{
    vk_watch_opts o = {.resource = res,
                       .ns = ns,
                       .name = name,
                       .from_rev = from,
                       .queue_max = qmax,
                       .notify = col_notify,
                       .ud = c};
    assert_int_equal(vk_watch_add(vk_store_hub(e->s), &o, &c->w), 0);
}

static void spin(struct env *e, int n)
{
    for (int i = 0; i < n; i++)
        uv_run(&e->loop, UV_RUN_NOWAIT);
}

static void test_watch_live(void **state)
{
    struct env *e = env_new();
    struct sync_res r;
    struct col *all = calloc(1, sizeof *all), *ns = calloc(1, sizeof *ns),
               *one = calloc(1, sizeof *one);
    all->drain_in_notify = ns->drain_in_notify = one->drain_in_notify = 1;
    col_add(e, all, 3, NULL, NULL, vk_store_revision(e->s), 0);
    col_add(e, ns, 3, "b", NULL, vk_store_revision(e->s), 0);
    col_add(e, one, 3, "a", "x", vk_store_revision(e->s), 0);
    assert_int_equal(vk_hub_watchers(vk_store_hub(e->s)), 3);
    assert_int_equal(op1(e, VK_OP_CREATE, 3, "a", "x", "{\"v\":1}", 0, &r), 0);  /* 1 */
    assert_int_equal(op1(e, VK_OP_CREATE, 3, "b", "x", "{\"v\":1}", 0, &r), 0);  /* 2 */
    assert_int_equal(op1(e, VK_OP_CREATE, 4, "a", "x", "{\"v\":1}", 0, &r), 0);  /* 3 */
    assert_int_equal(op1(e, VK_OP_UPDATE, 3, "a", "x", "{\"v\":2}", 1, &r), 0);  /* 4 */
    assert_int_equal(op1(e, VK_OP_CREATE, 3, "a", "xy", "{\"v\":1}", 0, &r), 0); /* 5 */
    assert_int_equal(op1(e, VK_OP_DELETE, 3, "a", "x", NULL, 0, &r), 0);         /* 6 */
    spin(e, 3);
    assert_int_equal(all->n, 5);
    uint64_t want[] = {1, 2, 4, 5, 6};
    int wtype[] = {VK_WATCH_ADDED, VK_WATCH_ADDED, VK_WATCH_MODIFIED, VK_WATCH_ADDED,
                   VK_WATCH_DELETED};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(all->revs[i], want[i]);
        assert_int_equal(all->types[i], wtype[i]);
    }
    assert_int_equal(ns->n, 1);
    assert_int_equal(ns->revs[0], 2);
    assert_int_equal(one->n, 3);
    assert_int_equal(one->revs[2], 6);
    /* DELETED carries the last state at the deletion revision */
    assert_string_equal(one->last_prev_at_rev, "{\"metadata\":{\"name\":\"x\",\"namespace\":\"a\","
                                               "\"resourceVersion\":\"6\"},\"spec\":{\"v\":2}}");
    assert_int_equal(vk_watch_progress(all->w), 6);
    assert_int_equal(all->err, 0);
    vk_watch_free(all->w);
    vk_watch_free(ns->w);
    vk_watch_free(one->w);
    assert_int_equal(vk_hub_watchers(vk_store_hub(e->s)), 0);
    free(all);
    free(ns);
    free(one);
    env_free(e);
}

/* Replay from several revisions while writers keep committing: every watcher sees exactly
 * the revisions of its resource above its start, in order, once. */
struct chain {
    struct env *e;
    int left, id, done;
    uint64_t *res_of_rev; /* resource of each revision */
};

static void chain_next(struct chain *c);

static void chain_cb(void *ud, int err, const vk_op_result *res, size_t n)
{
    struct chain *c = ud;
    assert_int_equal(err, 0);
    for (size_t i = 0; i < n; i++)
        c->res_of_rev[res[i].rev] = res[i].ev->resource;
    chain_next(c);
}

static void chain_next(struct chain *c)
{
    if (c->left == 0) {
        c->done = 1;
        return;
    }
    int i = c->left--;
    uint8_t k1[VK_KEY_MAX], k2[VK_KEY_MAX];
    char name[32];
    snprintf(name, sizeof name, "c%d-%d", c->id, i % 7);
    int l1 = vk_key_build(k1, sizeof k1, 3, "ns", name);
    int l2 = vk_key_build(k2, sizeof k2, 4, "ns", name);
    /* a put to resource 3, sometimes a delete, and a put to resource 4 */
    vk_op ops[2] = {
        {i % 5 == 0 ? VK_OP_DELETE : VK_OP_PUT, k1, (size_t)l1, "{\"a\":1}", 7, VK_NO_RV, 0},
        {VK_OP_PUT, k2, (size_t)l2, "{}", 2, VK_NO_RV, 0},
    };
    /* deletes only of keys known to exist: put first */
    if (ops[0].type == VK_OP_DELETE) {
        ops[1] = ops[0];
        ops[0] = (vk_op){VK_OP_PUT, k1, (size_t)l1, "{\"a\":2}", 7, VK_NO_RV, 0};
    }
    assert_int_equal(vk_store_submit(c->e->s, ops, 2, chain_cb, c), 0);
}

static void test_watch_replay_handoff(void **state)
{
    struct env *e = env_new();
    uint64_t *res_of_rev = calloc(100000, sizeof *res_of_rev);
    struct chain ch[4];
    for (int i = 0; i < 4; i++) {
        ch[i] = (struct chain){e, 150, i, 0, res_of_rev};
        chain_next(&ch[i]);
    }
    enum { NW = 8 };
    struct col *cs[NW];
    uint64_t from[NW];
    int added = 0;
    /* run; add watchers at different moments and from different revisions */
    int iter = 0;
    while (!(ch[0].done && ch[1].done && ch[2].done && ch[3].done)) {
        uv_run(&e->loop, UV_RUN_NOWAIT);
        iter++;
        uint64_t cur = vk_store_revision(e->s);
        if (added < NW && cur > (uint64_t)(added + 1) * 60) {
            cs[added] = calloc(1, sizeof(struct col));
            cs[added]->drain_in_notify = added % 2; /* the others drain from the loop */
            from[added] = added % 3 == 0 ? 0 : added % 3 == 1 ? cur / 2 : cur;
            col_add(e, cs[added], 3, NULL, NULL, from[added], added % 2 ? 8 : 64);
            added++;
        }
        for (int i = 0; i < added; i++)
            if (!cs[i]->drain_in_notify && (iter % 3) == 0)
                col_drain(cs[i]);
        usleep(20);
    }
    /* let the replays finish */
    for (int k = 0; k < 2000; k++) {
        uv_run(&e->loop, UV_RUN_NOWAIT);
        for (int i = 0; i < added; i++)
            col_drain(cs[i]);
    }
    uint64_t last = vk_store_revision(e->s);
    assert_true(added >= 4);
    for (int i = 0; i < added; i++) {
        struct col *c = cs[i];
        assert_int_equal(c->err, 0);
        size_t j = 0;
        for (uint64_t rev = from[i] + 1; rev <= last; rev++) {
            if (res_of_rev[rev] != 3)
                continue;
            assert_true(j < c->n);
            assert_int_equal(c->revs[j], rev);
            j++;
        }
        assert_int_equal(j, c->n);
        assert_int_equal(vk_watch_progress(c->w), last);
        vk_watch_free(c->w);
        free(c);
    }
    free(res_of_rev);
    env_free(e);
}

/* kube's selector rule, as the API layer implements it with a filter. */
static int sel_filter(void *ud, const vk_event *ev)
{
    int o = ev->prev && memmem(ev->prev, ev->prev_len, "\"sel\"", 5);
    int n = ev->obj && memmem(ev->obj, ev->obj_len, "\"sel\"", 5);
    if (o && n)
        return VK_WATCH_MODIFIED;
    if (n)
        return VK_WATCH_ADDED;
    if (o)
        return VK_WATCH_DELETED;
    return VK_WATCH_SKIP;
}

static void test_watch_filter_transitions(void **state)
{
    struct env *e = env_new();
    struct sync_res r;
    struct col *c = calloc(1, sizeof *c);
    c->drain_in_notify = 1;
    vk_watch_opts o = {.resource = 3, .filter = sel_filter, .notify = col_notify, .ud = c};
    assert_int_equal(vk_watch_add(vk_store_hub(e->s), &o, &c->w), 0);
    op1(e, VK_OP_CREATE, 3, "ns", "a", "{\"x\":1}", 0, &r);   /* 1 skip */
    op1(e, VK_OP_UPDATE, 3, "ns", "a", "{\"sel\":1}", 0, &r); /* 2 ADDED */
    op1(e, VK_OP_UPDATE, 3, "ns", "a", "{\"sel\":2}", 0, &r); /* 3 MODIFIED */
    op1(e, VK_OP_UPDATE, 3, "ns", "a", "{\"x\":2}", 0, &r);   /* 4 DELETED */
    op1(e, VK_OP_UPDATE, 3, "ns", "a", "{\"x\":3}", 0, &r);   /* 5 skip */
    op1(e, VK_OP_CREATE, 3, "ns", "b", "{\"sel\":1}", 0, &r); /* 6 ADDED */
    op1(e, VK_OP_DELETE, 3, "ns", "b", NULL, 0, &r);          /* 7 DELETED */
    op1(e, VK_OP_DELETE, 3, "ns", "a", NULL, 0, &r);          /* 8 skip */
    spin(e, 2);
    uint64_t revs[] = {2, 3, 4, 6, 7};
    int types[] = {VK_WATCH_ADDED, VK_WATCH_MODIFIED, VK_WATCH_DELETED, VK_WATCH_ADDED,
                   VK_WATCH_DELETED};
    assert_int_equal(c->n, 5);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(c->revs[i], revs[i]);
        assert_int_equal(c->types[i], types[i]);
    }
    /* the same through a replay */
    struct col *c2 = calloc(1, sizeof *c2);
    c2->drain_in_notify = 1;
    o.ud = c2;
    o.from_rev = 0;
    assert_int_equal(vk_watch_add(vk_store_hub(e->s), &o, &c2->w), 0);
    spin(e, 3);
    assert_int_equal(c2->n, 5);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(c2->revs[i], revs[i]);
        assert_int_equal(c2->types[i], types[i]);
    }
    vk_watch_free(c->w);
    vk_watch_free(c2->w);
    free(c);
    free(c2);
    env_free(e);
}

static void test_watch_overflow(void **state)
{
    struct env *e = env_new();
    struct sync_res r;
    struct col *slow = calloc(1, sizeof *slow), *ok = calloc(1, sizeof *ok);
    ok->drain_in_notify = 1;
    col_add(e, slow, 3, NULL, NULL, 0, 4);
    col_add(e, ok, 3, NULL, NULL, 0, 4);
    char name[16];
    for (int i = 0; i < 10; i++) {
        snprintf(name, sizeof name, "o%d", i);
        assert_int_equal(op1(e, VK_OP_CREATE, 3, "ns", name, "{}", 0, &r), 0);
    }
    spin(e, 2);
    assert_int_equal(slow->err, VK_ETOOLARGE);
    assert_int_equal(slow->notifies, 2); /* ready, then the error */
    vk_event *ev;
    int type;
    assert_int_equal(vk_watch_next(slow->w, &ev, &type), VK_ETOOLARGE);
    assert_int_equal(ok->n, 10);
    assert_int_equal(ok->err, 0);
    assert_int_equal(vk_hub_watchers(vk_store_hub(e->s)), 1);
    /* a replay into a small queue waits for room instead of overflowing */
    struct col *rep = calloc(1, sizeof *rep);
    col_add(e, rep, 3, NULL, NULL, 0, 4);
    for (int k = 0; k < 20; k++) {
        spin(e, 2);
        assert_true(vk_watch_queued(rep->w) <= 4);
        col_drain(rep);
    }
    assert_int_equal(rep->n, 10);
    assert_int_equal(rep->err, 0);
    vk_watch_free(slow->w);
    vk_watch_free(ok->w);
    vk_watch_free(rep->w);
    free(slow);
    free(ok);
    free(rep);
    env_free(e);
}

static void test_watch_compacted_during_replay(void **state)
{
    struct env *e = env_new();
    struct sync_res r;
    char name[16];
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof name, "o%d", i);
        assert_int_equal(op1(e, VK_OP_CREATE, 3, "ns", name, "{}", 0, &r), 0);
    }
    struct col *c = calloc(1, sizeof *c);
    col_add(e, c, 3, NULL, NULL, 0, 4);
    spin(e, 2);
    assert_int_equal(vk_watch_queued(c->w), 4);
    assert_int_equal(vk_watch_progress(c->w), 4);
    assert_int_equal(vk_store_compact(e->s, 30), 0);
    vk_store_stats st;
    for (int i = 0; i < 1000; i++) {
        vk_store_stats_get(e->s, &st);
        if (st.compact_rev == 30)
            break;
        usleep(200);
    }
    for (int k = 0; k < 5 && !c->err; k++) {
        col_drain(c);
        spin(e, 2);
    }
    assert_int_equal(c->err, VK_EGONE);
    vk_watch_free(c->w);
    free(c);
    env_free(e);
}

/* Bookmarks: progress is exact for live, future-start and replaying watchers. */
static void test_watch_progress(void **state)
{
    struct env *e = env_new();
    struct sync_res r;
    for (int i = 0; i < 5; i++)
        op1(e, VK_OP_PUT, 3, "ns", "a", "{}", 0, &r);
    struct col *c = calloc(1, sizeof *c), *f = calloc(1, sizeof *f);
    c->drain_in_notify = 1;
    col_add(e, c, 9, NULL, NULL, 5, 0); /* nothing of its own happens */
    col_add(e, f, 3, NULL, NULL, 7, 0); /* a list saw 7 before the events were published */
    assert_int_equal(vk_watch_progress(c->w), 5);
    assert_int_equal(vk_watch_progress(f->w), 7);
    for (int i = 0; i < 3; i++)
        op1(e, VK_OP_PUT, 3, "ns", "a", "{}", 0, &r);
    assert_int_equal(vk_watch_progress(c->w), 8);
    assert_int_equal(vk_watch_progress(f->w), 8);
    col_drain(f);
    assert_int_equal(f->n, 1); /* only rev 8 */
    assert_int_equal(f->revs[0], 8);
    vk_watch_free(c->w);
    vk_watch_free(f->w);
    free(c);
    free(f);
    env_free(e);
}

/* Notify may free its own and other watchers mid-fan-out. */
struct killer {
    vk_watcher *self, *victim;
    int n;
};
static void killer_notify(void *ud, vk_watcher *w, int err)
{
    struct killer *k = ud;
    k->n++;
    if (k->victim) {
        vk_watch_free(k->victim);
        k->victim = NULL;
        vk_watch_free(k->self);
    }
}

static void test_watch_free_in_notify(void **state)
{
    struct env *e = env_new();
    struct sync_res r;
    vk_hub *h = vk_store_hub(e->s);
    struct killer k[6] = {{0}};
    for (int i = 0; i < 6; i++) {
        vk_watch_opts o = {.resource = 3, .notify = killer_notify, .ud = &k[i]};
        assert_int_equal(vk_watch_add(h, &o, &k[i].self), 0);
    }
    /* watchers are at the list's head in reverse order: each frees itself and the next */
    for (int i = 5; i >= 1; i -= 2)
        k[i].victim = k[i - 1].self;
    op1(e, VK_OP_CREATE, 3, "ns", "a", "{}", 0, &r);
    spin(e, 2);
    assert_int_equal(vk_hub_watchers(h), 0);
    assert_int_equal(k[5].n + k[3].n + k[1].n, 3);
    op1(e, VK_OP_CREATE, 3, "ns", "b", "{}", 0, &r);
    env_free(e);
}

static int freed_slots;
static void slot_free(void *p)
{
    freed_slots++;
    free(p);
}

static void test_event_refs_and_cache(void **state)
{
    uint8_t key[VK_KEY_MAX];
    int kl = vk_key_build(key, sizeof key, 3, "ns", "a");
    const char *prev = "{\"metadata\":{\"resourceVersion\":\"12\"}}";
    vk_obj_meta pm = {1, 12, (size_t)(strstr(prev, "12") - prev)};
    vk_event *ev =
        vk_event_new(13, VK_OP_DELETE, key, (size_t)kl, NULL, 0, NULL, prev, strlen(prev), &pm);
    assert_non_null(ev);
    assert_int_equal(vk_event_type(ev), VK_WATCH_DELETED);
    assert_int_equal(ev->resource, 3);
    assert_int_equal(ev->name_len, 1);
    const char *j;
    size_t jl;
    assert_int_equal(vk_event_prev_at_rev(ev, &j, &jl), 0);
    assert_string_equal(j, "{\"metadata\":{\"resourceVersion\":\"13\"}}");
    freed_slots = 0;
    assert_int_equal(vk_event_cache_set(ev, 0, strdup("json"), slot_free), 0);
    assert_int_equal(vk_event_cache_set(ev, 0, strdup("json2"), slot_free), 0);
    assert_int_equal(freed_slots, 1);
    assert_int_equal(vk_event_cache_set(ev, VK_EVENT_CACHE_SLOTS, NULL, NULL), VK_EINVALID);
    assert_string_equal(vk_event_cache_get(ev, 0), "json2");
    vk_event_ref(ev);
    vk_event_unref(ev);
    assert_int_equal(freed_slots, 1);
    vk_event_unref(ev);
    assert_int_equal(freed_slots, 2);
    vk_event_unref(NULL);
    /* a create has no previous object */
    ev = vk_event_new(1, VK_OP_CREATE, key, (size_t)kl, "{}", 2, NULL, NULL, 0, NULL);
    assert_int_equal(vk_event_prev_at_rev(ev, &j, &jl), VK_ENOTFOUND);
    vk_event_unref(ev);
}

static void test_store_free_ends_watchers(void **state)
{
    struct env *e = env_new();
    struct sync_res r;
    op1(e, VK_OP_CREATE, 3, "ns", "a", "{}", 0, &r);
    struct col *live = calloc(1, sizeof *live), *rep = calloc(1, sizeof *rep);
    col_add(e, live, 3, NULL, NULL, 1, 0);
    col_add(e, rep, 3, NULL, NULL, 0, 0);
    /* a write in flight at close: its callback runs inside vk_store_free */
    uint8_t key[VK_KEY_MAX];
    int kl = vk_key_build(key, sizeof key, 3, "ns", "b");
    vk_op op = {VK_OP_CREATE, key, (size_t)kl, "{}", 2, VK_NO_RV, 0};
    memset(&r, 0, sizeof r);
    assert_int_equal(vk_store_submit(e->s, &op, 1, sync_cb, &r), 0);
    env_close_store(e);
    assert_int_equal(r.done, 1);
    assert_int_equal(r.err, 0);
    assert_int_equal(live->err, VK_ECLOSED);
    assert_int_equal(rep->err, VK_ECLOSED);
    vk_watch_free(live->w);
    vk_watch_free(rep->w);
    env_open(e);
    assert_int_equal(vk_store_revision(e->s), 2);
    assert_int_equal(vk_store_submit(e->s, &op, 1, sync_cb, &r), 0);
    run_until(&e->loop, &r.done);
    free(live);
    free(rep);
    env_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_watch_live),
        cmocka_unit_test(test_watch_replay_handoff),
        cmocka_unit_test(test_watch_filter_transitions),
        cmocka_unit_test(test_watch_overflow),
        cmocka_unit_test(test_watch_compacted_during_replay),
        cmocka_unit_test(test_watch_progress),
        cmocka_unit_test(test_watch_free_in_notify),
        cmocka_unit_test(test_event_refs_and_cache),
        cmocka_unit_test(test_store_free_ends_watchers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
