/* Crash safety: a child writes with real fsync and reports each acknowledged revision
 * through a pipe; it is SIGKILLed at a random moment; reopening must find every
 * acknowledged write, intact, and a revision that never went backwards.
 * VK_CRASH_ROUNDS (default 25) sets the number of rounds (a soak run sets more). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "test_storage_util.h"

struct ack {
    uint64_t rev;
    uint32_t round, seq;
};

struct child {
    vk_store *s;
    int fd;
    uint32_t round, next_seq;
};

struct slot {
    struct child *c;
    uint32_t seq;
};

static void child_write(struct slot *sl);

static void child_cb(void *ud, int err, const vk_op_result *res, size_t n)
{
    struct slot *sl = ud;
    if (err)
        _exit(3);
    struct ack a = {res[0].rev, sl->c->round, sl->seq};
    if (write(sl->c->fd, &a, sizeof a) != sizeof a)
        _exit(4);
    child_write(sl);
}

static void obj_for(char *buf, size_t cap, uint32_t round, uint32_t seq, size_t *len,
                    size_t *rv_off, char *name, size_t ncap)
{
    snprintf(name, ncap, "r%u-%u", round, seq);
    char spec[256];
    snprintf(spec, sizeof spec, "{\"round\":%u,\"seq\":%u,\"pad\":\"%0200u\"}", round, seq, seq);
    *len = make_obj(buf, cap, "crash", name, spec, rv_off);
}

static void child_write(struct slot *sl)
{
    struct child *c = sl->c;
    sl->seq = c->next_seq++;
    char val[1024], name[64];
    size_t len, rv_off;
    obj_for(val, sizeof val, c->round, sl->seq, &len, &rv_off, name, sizeof name);
    uint8_t key[VK_KEY_MAX];
    int kl = vk_key_build(key, sizeof key, 9, "crash", name);
    vk_op op = {VK_OP_CREATE, key, (size_t)kl, val, len, rv_off, 0};
    if (vk_store_submit(c->s, &op, 1, child_cb, sl))
        _exit(5);
}

static void child_main(const char *dir, int fd, uint32_t round)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    vk_lmdb_opts o = {.path = dir, .sync = VK_SYNC_FULL, .map_size = 1 << 20};
    struct child c = {.fd = fd, .round = round};
    if (vk_store_open_lmdb(&loop, &o, &c.s))
        _exit(2);
    struct slot slots[8];
    for (int i = 0; i < 8; i++) {
        slots[i].c = &c;
        child_write(&slots[i]);
    }
    for (;;)
        uv_run(&loop, UV_RUN_ONCE);
}

static void test_crash_kill9(void **state)
{
    char dir[64];
    strcpy(dir, "/tmp/vk-crash-XXXXXX");
    assert_non_null(mkdtemp(dir));
    int rounds = getenv("VK_CRASH_ROUNDS") ? atoi(getenv("VK_CRASH_ROUNDS")) : 25;
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    uint64_t prev_rev = 0;
    size_t total_acks = 0;
    struct ack *acks = malloc(sizeof *acks * 200000);
    for (int round = 0; round < rounds; round++) {
        int p[2];
        assert_int_equal(pipe(p), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(p[0]);
            child_main(dir, p[1], (uint32_t)round);
            _exit(1);
        }
        close(p[1]);
        size_t nacks = 0, have = 0;
        char *rb = (char *)acks;
        /* kill at a random moment: 5..120 ms after the start */
        struct timespec t0, t;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        long kill_after_ms = 5 + rand() % 116;
        int killed = 0;
        for (;;) {
            clock_gettime(CLOCK_MONOTONIC, &t);
            long el = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
            if (!killed && el >= kill_after_ms) {
                kill(pid, SIGKILL);
                killed = 1;
            }
            struct pollfd pf = {p[0], POLLIN, 0};
            poll(&pf, 1, killed ? 1000 : 1);
            if (!(pf.revents & (POLLIN | POLLHUP)))
                continue;
            ssize_t n = read(p[0], rb + have, sizeof *acks * 200000 - have);
            if (n <= 0)
                break;
            have += (size_t)n;
        }
        close(p[0]);
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
        nacks = have / sizeof *acks;
        total_acks += nacks;

        /* reopen and check every acknowledged write */
        uv_loop_t loop;
        uv_loop_init(&loop);
        vk_lmdb_opts o = {.path = dir, .sync = VK_SYNC_FULL};
        vk_store *s;
        assert_int_equal(vk_store_open_lmdb(&loop, &o, &s), 0);
        uint64_t rev = vk_store_revision(s);
        assert_true(rev >= prev_rev);
        vk_buf b = {0};
        for (size_t i = 0; i < nacks; i++) {
            char val[1024], name[64];
            size_t len, rv_off;
            obj_for(val, sizeof val, acks[i].round, acks[i].seq, &len, &rv_off, name, sizeof name);
            uint8_t key[VK_KEY_MAX];
            int kl = vk_key_build(key, sizeof key, 9, "crash", name);
            vk_obj_meta m;
            b.len = 0;
            assert_int_equal(vk_store_get(s, key, (size_t)kl, &b, &m), 0);
            assert_int_equal(m.mod_rev, acks[i].rev);
            assert_true(acks[i].rev <= rev);
            vk_buf w2 = {0};
            vk_json_insert_rv(&w2, val, len, rv_off, acks[i].rev);
            assert_int_equal(b.len, w2.len);
            assert_memory_equal(b.data, w2.data, b.len);
            vk_buf_free(&w2);
        }
        /* the log ends at the revision and every object is whole */
        vk_store_stats sst;
        vk_store_stats_get(s, &sst);
        assert_int_equal(sst.rev, rev);
        assert_int_equal(sst.log_events, rev);
        uint64_t cnt;
        vk_store_count(s, 9, &cnt);
        assert_int_equal(cnt, rev);
        prev_rev = rev;
        vk_buf_free(&b);
        vk_store_free(s);
        uv_run(&loop, UV_RUN_DEFAULT);
        assert_int_equal(uv_loop_close(&loop), 0);
    }
    free(acks);
    print_message("crash: %d rounds, %zu acknowledged writes, final revision %llu\n", rounds,
                  total_acks, (unsigned long long)prev_rev);
    assert_true(total_acks > 0);
    env_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crash_kill9),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
