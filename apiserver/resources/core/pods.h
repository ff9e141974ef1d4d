/* What other resources take from the Pod's rules (pods.c): the workloads' templates. */
#ifndef VK_RESOURCES_CORE_PODS_H
#define VK_RESOURCES_CORE_PODS_H

#include <jansson.h>
#include <stdbool.h>

#include "apiserver/registry/resource.h"
#include "apiserver/resources/quantity.h"

/* kube's pod defaults (SetDefaults_PodSpec and below) applied to a PodTemplateSpec
 * ({metadata, spec}), as the workloads' defaulting does for spec.template. */
void vk_pod_template_defaults(json_t *tmpl);

/* kube's PodRequests (limits false) or PodLimits (component-helpers/resource) from the
 * spec: the containers' sum with restartable init containers alongside, at least each
 * init container's (with the sidecars started before it), pod-level cpu, memory and
 * hugepages instead where set, plus the overhead (for limits only on limits set).
 * Adds to out; 0 or -ENOMEM. */
int vk_pod_resources(const json_t *pod, bool limits, vk_rlist *out);

/* pods/eviction: kube's Eviction API (eviction.c), as a subresource create. */
void vk_pod_evict(vk_ctx *c, const char *ns, const char *name, json_t *body, bool dry_run,
                  void (*cb)(void *ud, int err, json_t *reply), void *ud);

#endif
