/* Registers the storage metrics collector on the server's /metrics. 0 or -ENOMEM. */
#ifndef VK_STORE_METRICS_H
#define VK_STORE_METRICS_H

#include "apiserver/metrics.h"

struct vk_server;
int vk_store_metrics_register(struct vk_server *s);

#endif
