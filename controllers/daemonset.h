/* The DaemonSet controller (kube's pkg/controller/daemon): one pod of the template on
 * every node it fits, rolled to a new template within maxUnavailable. Loop thread only. */
#ifndef VK_CONTROLLERS_DAEMONSET_H
#define VK_CONTROLLERS_DAEMONSET_H

#include "controllers/informer.h"

struct vk_server;
typedef struct vk_daemonset_ctl vk_daemonset_ctl;

int vk_daemonset_start(struct vk_server *s, vk_informer *pods, vk_informer *nodes,
                       vk_daemonset_ctl **out);
void vk_daemonset_free(vk_daemonset_ctl *c);

#endif
