/* Cron schedules as kube's CronJob controller reads them (robfig/cron v3 ParseStandard):
 * five fields (minute hour day-of-month month day-of-week) with *, ?, ranges, steps,
 * lists and month / weekday names, the @yearly @annually @monthly @weekly @daily
 * @midnight @hourly macros, @every <duration>, and a CRON_TZ= or TZ= prefix; times in
 * a time zone of the system tz database (/usr/share/zoneinfo, TZif with its POSIX
 * rule for later years), read without touching the process's TZ. And kube's
 * mostRecentScheduleTime, the decision of which scheduled time a CronJob is due for. */
#ifndef VK_COMMON_CRON_H
#define VK_COMMON_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* A time zone: UTC offsets over time. */
typedef struct vk_tz vk_tz;

/* Loads name ("" or "UTC": UTC) from dir (NULL: /usr/share/zoneinfo). NULL when the
 * name is not a valid zone there (err says why). */
vk_tz *vk_tz_load(const char *dir, const char *name, char *err, size_t errlen);
/* Seconds east of UTC at instant t. */
long vk_tz_offset(const vk_tz *tz, time_t t);
void vk_tz_free(vk_tz *tz);

typedef struct vk_cron {
    uint64_t minute; /* bits 0..59 */
    uint32_t hour;   /* bits 0..23 */
    uint32_t dom;    /* bits 1..31 */
    uint32_t month;  /* bits 1..12 */
    uint32_t dow;    /* bits 0..6 (Sunday 0) */
    bool dom_star, dow_star;
    long every; /* @every: seconds (0: a field schedule) */
    vk_tz *tz;  /* owned; NULL: UTC */
} vk_cron;

/* Parses spec; zone_dir as for vk_tz_load. 0, or -1 with robfig's message in err. */
int vk_cron_parse(const char *spec, const char *zone_dir, vk_cron *out, char *err, size_t errlen);
void vk_cron_free(vk_cron *c);
/* The first scheduled time strictly after t, or 0 when there is none in five years. */
time_t vk_cron_next(const vk_cron *c, time_t t);

/* kube's mostRecentScheduleTime: earliest is lastScheduleTime, else the creation time;
 * with a deadline (>= 0) no earlier than now - deadline. *recent gets the latest missed
 * schedule time at or before now (0: none); *missed 0 (none), 1 (few) or 2 (more than
 * 100); *earliest_out the earliest considered. -1 when two schedules are under a second
 * apart. */
int vk_cron_most_recent(const vk_cron *c, time_t earliest, long long deadline, time_t now,
                        time_t *recent, int *missed, time_t *earliest_out);

#endif
