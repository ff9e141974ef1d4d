/* The ReplicaSet and ReplicationController controllers (kube's pkg/controller/replicaset):
 * each keeps spec.replicas pods from its template, adopting matching orphans and
 * releasing pods it no longer selects, and reports its status. Loop thread only. */
#ifndef VK_CONTROLLERS_REPLICASET_H
#define VK_CONTROLLERS_REPLICASET_H

#include "controllers/informer.h"

struct vk_server;
typedef struct vk_replicaset_ctl vk_replicaset_ctl;

/* kind is "ReplicaSet" (apps/v1) or "ReplicationController" (v1); sets is the shared
 * informer of that kind, pods the shared pods informer. */
int vk_replicaset_start(struct vk_server *s, const char *kind, vk_informer *sets, vk_informer *pods,
                        vk_replicaset_ctl **out);
void vk_replicaset_free(vk_replicaset_ctl *c);

#endif
