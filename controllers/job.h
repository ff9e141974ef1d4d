/* The Job controller (kube's pkg/controller/job), the TTL-after-finished controller for
 * Jobs (pkg/controller/ttlafterfinished) and, on the same Jobs informer, the CronJob
 * controller (controllers/cronjob.h). Loop thread only. */
#ifndef VK_CONTROLLERS_JOB_H
#define VK_CONTROLLERS_JOB_H

#include "controllers/informer.h"

struct vk_server;
typedef struct vk_job_ctl vk_job_ctl;

/* Starts the Jobs informer and the Job, TTL-after-finished and CronJob controllers;
 * pods is the shared pods informer. 0 or a negative error. */
int vk_job_start(struct vk_server *s, vk_informer *pods, vk_job_ctl **out);
void vk_job_free(vk_job_ctl *c);

#endif
