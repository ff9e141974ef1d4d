/* The Endpoints and EndpointSlice controllers (kube's pkg/controller/endpoint and
 * endpointslice): a Service with a selector gets the addresses of the pods it selects.
 * Loop thread only. */
#ifndef VK_CONTROLLERS_ENDPOINTS_H
#define VK_CONTROLLERS_ENDPOINTS_H

#include "controllers/informer.h"

struct vk_server;
typedef struct vk_endpoints_ctl vk_endpoints_ctl;

int vk_endpoints_start(struct vk_server *s, vk_informer *pods, vk_endpoints_ctl **out);
void vk_endpoints_free(vk_endpoints_ctl *c);

#endif
