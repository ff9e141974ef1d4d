/* What other resources take from the Pod's rules (pods.c): the workloads' templates. */
#ifndef VK_RESOURCES_CORE_PODS_H
#define VK_RESOURCES_CORE_PODS_H

#include <jansson.h>
#include <stdbool.h>

/* kube's pod defaults (SetDefaults_PodSpec and below) applied to a PodTemplateSpec
 * ({metadata, spec}), as the workloads' defaulting does for spec.template. */
void vk_pod_template_defaults(json_t *tmpl);

/* A resource.Quantity ("500m", "1Gi", "2") in thousandths, rounded up as kube's
 * MilliValue; false when it does not parse. */
bool vk_quantity_milli(const char *s, long long *milli);
/* A ResourceList's quantities in kube's canonical form, rounded up to milli
 * (SetDefaults_ResourceList), in place; values that do not parse are left. */
void vk_quantities_canonical(json_t *list);
/* True when v (string or number) is a quantity in kube's grammar. */
bool vk_quantity_valid(const json_t *v);

#endif
