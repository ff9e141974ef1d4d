/* vk_controller: a work queue of object keys and the reconcile that drains it, on the
 * loop thread (kube's controller pattern). Loop thread only.
 *
 * A key waits at most once. The queue is drained on a later loop iteration, never
 * inside the caller, for at most a time budget per iteration (so reconciles never
 * starve requests), and only the keys that waited when the iteration began; what is
 * left waits for the next one. A reconcile returns 0 when it
 * is done with the key, a positive number of milliseconds to look again later, or a
 * negative error: the key comes back after a backoff that doubles from 5 ms to 10 s. */
#ifndef VK_CONTROLLERS_CONTROLLER_H
#define VK_CONTROLLERS_CONTROLLER_H

#include <stdint.h>

struct vk_server;
typedef struct vk_controller vk_controller;

typedef int (*vk_reconcile_fn)(void *ud, const char *key);

vk_controller *vk_controller_new(struct vk_server *s, const char *name, vk_reconcile_fn fn,
                                 void *ud);
/* Queues key (copied) to be reconciled soon. */
void vk_controller_enqueue(vk_controller *c, const char *key);
/* Queues key after ms milliseconds. */
void vk_controller_enqueue_after(vk_controller *c, const char *key, uint64_t ms);
/* Stops and frees (the loop closes its timers later; the memory is freed then). NULL ok. */
void vk_controller_free(vk_controller *c);

#endif
