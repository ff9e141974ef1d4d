/* Prometheus metrics in the text exposition format, served at /metrics.
 *
 * The request metrics (apiserver_request_total, apiserver_request_duration_seconds)
 * are kept here, keyed by their label values; other modules add collectors that
 * write their own families when /metrics is read. */
#ifndef VK_METRICS_H
#define VK_METRICS_H

#include "common/buf.h"

typedef struct vk_metrics vk_metrics;

/* Labels of one request; every field may be "" but not NULL. */
typedef struct vk_request_labels {
    const char *verb, *dry_run, *group, *version, *resource, *subresource, *scope, *component;
} vk_request_labels;

vk_metrics *vk_metrics_new(void);
void vk_metrics_free(vk_metrics *m);
/* Counts one finished request. Out of memory drops the sample. */
void vk_metrics_observe_request(vk_metrics *m, const vk_request_labels *l, int code,
                                double seconds);
/* A collector appends whole metric families (with HELP and TYPE) to out. */
typedef void (*vk_metrics_collector)(void *ud, vk_buf *out);
int vk_metrics_add_collector(vk_metrics *m, vk_metrics_collector fn, void *ud);
/* Writes every family. 0 or -ENOMEM. */
int vk_metrics_render(vk_metrics *m, vk_buf *out);

#endif
