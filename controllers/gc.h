/* The garbage collector (kube's, for in-process use): dependents of a deleted owner are
 * deleted (background), an owner deleted with the "orphan" finalizer leaves its
 * dependents without the reference, one deleted with "foregroundDeletion" waits until
 * its dependents are gone, and a dependent whose owners are all gone is deleted.
 * Loop thread only. */
#ifndef VK_CONTROLLERS_GC_H
#define VK_CONTROLLERS_GC_H

struct vk_server;
typedef struct vk_gc vk_gc;

int vk_gc_start(struct vk_server *s, vk_gc **out);
void vk_gc_free(vk_gc *gc);

#endif
