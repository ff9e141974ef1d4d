#include "controllers/controller.h"

#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "apiserver/server.h"
#include "common/log.h"
#include "controllers/workqueue.h"

enum { BUDGET_MS = 5, BACKOFF_MIN_MS = 5, BACKOFF_MAX_MS = 10000 };

/* A key to queue again at a time; failures remember their backoff. */
typedef struct later {
    char *key;
    uint64_t due;
} later;

typedef struct failure {
    char *key;
    uint64_t delay;
} failure;

struct vk_controller {
    vk_server *s;
    const char *name;
    vk_reconcile_fn fn;
    void *ud;
    vk_workqueue queue;
    uv_idle_t drain; /* runs once per loop iteration while keys wait */
    uv_timer_t wake;
    later *later;
    size_t nlater;
    failure *fails;
    size_t nfails;
    int closing; /* handles still to close (stopping) */
};

static void on_drain(uv_idle_t *t);
static void on_wake(uv_timer_t *t);

/* An idle handle, not a 0 ms timer: libuv 1.44 runs a timer re-armed with 0 ms from its
 * own callback again in the same timers phase, so the loop would never poll (no store
 * completions, no watch events) while a reconcile keeps queueing work. */
static void schedule_drain(vk_controller *c)
{
    if (!c->closing && !uv_is_active((uv_handle_t *)&c->drain))
        uv_idle_start(&c->drain, on_drain);
}

void vk_controller_enqueue(vk_controller *c, const char *key)
{
    if (c->closing)
        return;
    vk_workqueue_add(&c->queue, key, strlen(key));
    schedule_drain(c);
}

static void arm_wake(vk_controller *c)
{
    if (!c->nlater || c->closing)
        return;
    uint64_t first = c->later[0].due;
    for (size_t i = 1; i < c->nlater; i++)
        if (c->later[i].due < first)
            first = c->later[i].due;
    uint64_t now = uv_now(c->s->loop);
    uv_timer_start(&c->wake, on_wake, first > now ? first - now : 1,
                   0); /* never 0: see schedule_drain */
}

void vk_controller_enqueue_after(vk_controller *c, const char *key, uint64_t ms)
{
    uint64_t due = uv_now(c->s->loop) + ms;
    for (size_t i = 0; i < c->nlater; i++)
        if (!strcmp(c->later[i].key, key)) {
            if (due < c->later[i].due)
                c->later[i].due = due;
            arm_wake(c);
            return;
        }
    later *l = realloc(c->later, (c->nlater + 1) * sizeof *l);
    if (!l)
        return;
    c->later = l;
    if (!(l[c->nlater].key = strdup(key)))
        return;
    l[c->nlater++].due = due;
    arm_wake(c);
}

static void on_wake(uv_timer_t *t)
{
    vk_controller *c = t->data;
    uint64_t now = uv_now(c->s->loop);
    for (size_t i = 0; i < c->nlater;) {
        if (c->later[i].due <= now) {
            vk_workqueue_add(&c->queue, c->later[i].key, strlen(c->later[i].key));
            free(c->later[i].key);
            c->later[i] = c->later[--c->nlater];
        } else {
            i++;
        }
    }
    schedule_drain(c);
    arm_wake(c);
}

/* The backoff of key: doubled after each failure, forgotten after a success. */
static uint64_t failed(vk_controller *c, const char *key)
{
    for (size_t i = 0; i < c->nfails; i++)
        if (!strcmp(c->fails[i].key, key)) {
            uint64_t d = c->fails[i].delay * 2;
            c->fails[i].delay = d > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : d;
            return c->fails[i].delay;
        }
    failure *f = realloc(c->fails, (c->nfails + 1) * sizeof *f);
    if (f) {
        c->fails = f;
        if ((f[c->nfails].key = strdup(key)))
            f[c->nfails++].delay = BACKOFF_MIN_MS;
    }
    return BACKOFF_MIN_MS;
}

static void forget(vk_controller *c, const char *key)
{
    for (size_t i = 0; i < c->nfails; i++)
        if (!strcmp(c->fails[i].key, key)) {
            free(c->fails[i].key);
            c->fails[i] = c->fails[--c->nfails];
            return;
        }
}

static void on_drain(uv_idle_t *t)
{
    vk_controller *c = t->data;
    uv_update_time(c->s->loop);
    uint64_t until = uv_now(c->s->loop) + BUDGET_MS;
    /* Only the keys waiting now: one queued again by its own reconcile waits for the
     * next iteration (kube's workqueue keeps such a key dirty until it is done). */
    size_t n = c->queue.n;
    char *key;
    while (n-- && (key = vk_workqueue_pop(&c->queue))) {
        int rc = c->fn(c->ud, key);
        if (rc > 0) {
            vk_controller_enqueue_after(c, key, (uint64_t)rc);
        } else if (rc < 0) {
            vk_log(VK_LOG_DEBUG, "controller", "Reconcile failed", "controller=\"%s\" key=\"%s\"",
                   c->name, key);
            vk_controller_enqueue_after(c, key, failed(c, key));
        } else {
            forget(c, key);
        }
        free(key);
        uv_update_time(c->s->loop);
        if (uv_now(c->s->loop) >= until)
            break;
    }
    if (!c->queue.n)
        uv_idle_stop(&c->drain);
}

vk_controller *vk_controller_new(vk_server *s, const char *name, vk_reconcile_fn fn, void *ud)
{
    vk_controller *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    *c = (vk_controller){.s = s, .name = name, .fn = fn, .ud = ud};
    uv_idle_init(s->loop, &c->drain);
    uv_timer_init(s->loop, &c->wake);
    c->drain.data = c->wake.data = c;
    return c;
}

static void on_closed(uv_handle_t *h)
{
    vk_controller *c = h->data;
    if (--c->closing)
        return;
    vk_workqueue_free(&c->queue);
    for (size_t i = 0; i < c->nlater; i++)
        free(c->later[i].key);
    for (size_t i = 0; i < c->nfails; i++)
        free(c->fails[i].key);
    free(c->later);
    free(c->fails);
    free(c);
}

void vk_controller_free(vk_controller *c)
{
    if (!c)
        return;
    c->closing = 2;
    uv_close((uv_handle_t *)&c->drain, on_closed);
    uv_close((uv_handle_t *)&c->wake, on_closed);
}
