/* Kubernetes time formats: metav1.Time (RFC 3339, whole seconds, UTC) and kube's
 * human durations ("5m", "2d3h") used in Table age cells. */
#ifndef VK_COMMON_TIMEFMT_H
#define VK_COMMON_TIMEFMT_H

#include <stddef.h>
#include <time.h>

/* "2026-11-25T10:00:00Z" into out (at least 21 bytes). */
void vk_time_format(time_t t, char out[21]);
/* Parses RFC 3339 (any offset, optional fraction). 0, or VK_EINVALID. */
int vk_time_parse(const char *s, time_t *out);
/* kube's duration.HumanDuration of seconds into out. */
void vk_human_duration(long long seconds, char *out, size_t n);

#endif
