/* The namespace lifecycle controller (kube-controller-manager's namespace controller):
 * a namespace that is being deleted (deletionTimestamp set, the "kubernetes"
 * finalizer still in spec.finalizers) has every namespaced object in it deleted
 * through the registry; once nothing is left, the finalizer is removed through the
 * namespace's /finalize rules and the namespace goes away. Runs on the loop thread,
 * fed by a watch on namespaces. */
#ifndef VK_CONTROLLERS_NAMESPACE_H
#define VK_CONTROLLERS_NAMESPACE_H

struct vk_server;
typedef struct vk_ns_controller vk_ns_controller;

/* Starts watching; namespaces already terminating are picked up. 0 or negative. */
int vk_ns_controller_start(struct vk_server *s, vk_ns_controller **out);
/* Stops (before the store closes). NULL is a no-op. */
void vk_ns_controller_free(vk_ns_controller *c);

#endif
