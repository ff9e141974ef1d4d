/* What other resources take from the Pod's rules (pods.c): the workloads' templates. */
#ifndef VK_RESOURCES_CORE_PODS_H
#define VK_RESOURCES_CORE_PODS_H

#include <jansson.h>

/* kube's pod defaults (SetDefaults_PodSpec and below) applied to a PodTemplateSpec
 * ({metadata, spec}), as the workloads' defaulting does for spec.template. */
void vk_pod_template_defaults(json_t *tmpl);

#endif
