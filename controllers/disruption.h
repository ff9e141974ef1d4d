/* The disruption controller (kube's pkg/controller/disruption): PodDisruptionBudget
 * status. Loop thread only. */
#ifndef VK_CONTROLLERS_DISRUPTION_H
#define VK_CONTROLLERS_DISRUPTION_H

#include "controllers/informer.h"

struct vk_server;
typedef struct vk_disruption_ctl vk_disruption_ctl;

int vk_disruption_start(struct vk_server *s, vk_informer *pods, vk_disruption_ctl **out);
void vk_disruption_free(vk_disruption_ctl *c);

#endif
