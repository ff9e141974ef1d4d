/* The CronJob controller (kube's pkg/controller/cronjob, ControllerV2): a Job per due
 * schedule time, with kube's concurrency policies, history limits, missed-schedule
 * rules, status and events. Loop thread only. */
#ifndef VK_CONTROLLERS_CRONJOB_H
#define VK_CONTROLLERS_CRONJOB_H

#include <jansson.h>
#include <time.h>

#include "common/cron.h"
#include "controllers/informer.h"

struct vk_server;
typedef struct vk_cronjob_ctl vk_cronjob_ctl;

/* jobs is the Jobs informer (borrowed). */
int vk_cronjob_start(struct vk_server *s, vk_informer *jobs, vk_cronjob_ctl **out);
void vk_cronjob_free(vk_cronjob_ctl *c);

/* The schedule of cj as kube's formatSchedule makes it (spec.timeZone as a TZ= prefix
 * unless the schedule has its own), parsed. 0, or -1 with the reason in err. */
int vk_cronjob_schedule(const json_t *cj, const char *zone_dir, vk_cron *out, char *err,
                        size_t errlen);
/* kube's nextScheduleTimeDuration: milliseconds from now until the next look (the next
 * schedule time plus 100 ms). */
long long vk_cronjob_requeue_ms(const json_t *cj, const vk_cron *sched, time_t now);

#endif
