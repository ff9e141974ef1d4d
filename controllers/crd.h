/* The CustomResourceDefinition controllers (kube's apiextensions naming, establishing
 * and finalizer controllers) and the serving of each definition's resources. Loop
 * thread only. */
#ifndef VK_CONTROLLERS_CRD_H
#define VK_CONTROLLERS_CRD_H

struct vk_server;
typedef struct vk_crd_ctl vk_crd_ctl;

/* Starts; the Established definitions in the store are served at once. 0 or negative. */
int vk_crd_ctl_start(struct vk_server *s, vk_crd_ctl **out);
/* Stops, and frees what the served definitions left. NULL is a no-op. */
void vk_crd_ctl_free(vk_crd_ctl *c);

#endif
