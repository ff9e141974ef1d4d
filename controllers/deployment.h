/* The Deployment controller (kube's pkg/controller/deployment): a ReplicaSet per pod
 * template revision, rolled from the old to the new one within maxSurge and
 * maxUnavailable (or all at once: Recreate), revision history, pause, and the status
 * with kube's Available and Progressing conditions. Loop thread only. */
#ifndef VK_CONTROLLERS_DEPLOYMENT_H
#define VK_CONTROLLERS_DEPLOYMENT_H

#include "controllers/informer.h"

struct vk_server;
typedef struct vk_deployment_ctl vk_deployment_ctl;

/* replicasets is the shared ReplicaSet informer. */
int vk_deployment_start(struct vk_server *s, vk_informer *replicasets, vk_deployment_ctl **out);
void vk_deployment_free(vk_deployment_ctl *c);

#endif
