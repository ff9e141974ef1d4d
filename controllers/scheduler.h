/* The built-in scheduler (standalone mode; in syncer mode the host schedules): binds
 * each pending pod of schedulerName default-scheduler to a node. Loop thread only. */
#ifndef VK_CONTROLLERS_SCHEDULER_H
#define VK_CONTROLLERS_SCHEDULER_H

#include "controllers/informer.h"

struct vk_server;
typedef struct vk_scheduler vk_scheduler;

int vk_scheduler_start(struct vk_server *s, vk_informer *pods, vk_informer *nodes,
                       vk_scheduler **out);
void vk_scheduler_free(vk_scheduler *sc);

#endif
