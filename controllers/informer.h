/* vk_informer: a local copy of one resource's objects, kept current from the watch hub
 * (kube's shared informer, for in-process controllers). Loop thread only.
 *
 * Start lists the resource from the store and watches from that revision; every change
 * updates the copy first, then calls on_change(old, obj): old NULL for an added object,
 * obj NULL for a deleted one. A watch that ends (its queue overflowed, compaction) is
 * replaced by a fresh list, whose differences are reported the same way, so the copy
 * never misses a change. Several controllers share one informer, each subscribed with
 * its own callback (kube's shared informers). */
#ifndef VK_CONTROLLERS_INFORMER_H
#define VK_CONTROLLERS_INFORMER_H

#include <jansson.h>
#include <stdbool.h>

#include "apiserver/registry/resource.h"

struct vk_server;
typedef struct vk_informer vk_informer;

typedef void (*vk_informer_fn)(void *ud, const json_t *old, const json_t *obj);

/* Lists res, then watches it. 0, -ENOMEM or a store error. */
int vk_informer_start(struct vk_server *s, const vk_resource *res, vk_informer **out);
/* Calls fn(ud, old, obj) for every later change (not for what the copy holds now: read
 * it with vk_informer_items). 0 or -ENOMEM. */
int vk_informer_subscribe(vk_informer *inf, vk_informer_fn fn, void *ud);
/* The object ns/name ("" for cluster-scoped), borrowed, or NULL. */
const json_t *vk_informer_get(const vk_informer *inf, const char *ns, const char *name);
/* Every object: a JSON object keyed "<ns>/<name>" (borrowed; do not change it). */
const json_t *vk_informer_items(const vk_informer *inf);
void vk_informer_free(vk_informer *inf);

#endif
