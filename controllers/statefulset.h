/* The StatefulSet controller (kube's pkg/controller/statefulset): pods with stable names
 * and storage, created, updated and deleted in ordinal order. Loop thread only. */
#ifndef VK_CONTROLLERS_STATEFULSET_H
#define VK_CONTROLLERS_STATEFULSET_H

#include "controllers/informer.h"

struct vk_server;
typedef struct vk_statefulset_ctl vk_statefulset_ctl;

int vk_statefulset_start(struct vk_server *s, vk_informer *pods, vk_statefulset_ctl **out);
void vk_statefulset_free(vk_statefulset_ctl *c);

#endif
