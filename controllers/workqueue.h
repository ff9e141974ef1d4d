/* vk_workqueue: keys (namespace or object names) waiting for a controller, each at
 * most once, in arrival order. A zeroed queue is valid and empty. Loop thread only. */
#ifndef VK_CONTROLLERS_WORKQUEUE_H
#define VK_CONTROLLERS_WORKQUEUE_H

#include <stddef.h>

#include "storage/store.h"

typedef struct vk_workqueue {
    char **keys;
    size_t n;
} vk_workqueue;

/* Adds key (len bytes; copied) unless it is already waiting. Full or out of memory: the
 * key is dropped (the next event for it adds it again). */
void vk_workqueue_add(vk_workqueue *q, const char *key, size_t len);
/* The oldest key (the caller frees it), or NULL. */
char *vk_workqueue_pop(vk_workqueue *q);
/* Frees every waiting key. */
void vk_workqueue_free(vk_workqueue *q);

/* A list visitor that adds the name of every stored object to the queue (ud). */
int vk_workqueue_add_names(void *ud, const vk_kv *kv);

#endif
