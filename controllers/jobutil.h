/* The Job controller's pure helpers (kube's pkg/controller/job utilities): completion
 * indexes and kube's interval form of index sets ("0,2-4"), the pod failure policy
 * match, the pod failure backoff and a pod's finish time. No I/O; unit tested. */
#ifndef VK_CONTROLLERS_JOBUTIL_H
#define VK_CONTROLLERS_JOBUTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* A set of completion indexes below n. */
typedef struct vk_ixset {
    unsigned char *v; /* n flags (the caller frees v) */
    long long n;
} vk_ixset;

/* Parses kube's "1,3-5" (indexes from n on are dropped, malformed parts end it). */
void vk_ixset_parse(vk_ixset *s, const char *str, long long n);
long long vk_ixset_total(const vk_ixset *s);
bool vk_ixset_has(const vk_ixset *s, long long i);
/* As kube writes completedIndexes: ranges of three or more as "a-b", two as "a,b". */
json_t *vk_ixset_format(const vk_ixset *s);

/* The batch.kubernetes.io/job-completion-index annotation, or -1. */
int vk_job_completion_index(const json_t *pod);
/* kube's getFinishedTime: the containers' end, the Ready=False transition, the deletion
 * (less its grace period), or the creation. */
time_t vk_job_pod_finished_time(const json_t *pod);

enum vk_pfp_action { VK_PFP_NONE, VK_PFP_IGNORE, VK_PFP_FAIL_INDEX, VK_PFP_COUNT, VK_PFP_FAIL_JOB };
/* The action of the first rule of spec.podFailurePolicy matching the failed pod (exit
 * codes of terminated containers, then init containers; pod conditions); VK_PFP_NONE
 * when none does. For FailJob, kube's message goes into msg. */
enum vk_pfp_action vk_job_pfp_match(const json_t *spec, const json_t *pod, char *msg, size_t n);

/* Seconds of pod failure backoff left at now after failures since the last success,
 * the last at last: 10 s doubling to 10 min (kube's getRemainingTimeForFailuresCount). */
long long vk_job_backoff_left(time_t now, long long failures, time_t last);

#endif
