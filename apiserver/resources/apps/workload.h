/* What the workload kinds share (apps/v1 Deployment, ReplicaSet, StatefulSet, DaemonSet):
 * the rules kube's apps validation applies to their selector, replicas and pod template,
 * and their common Table cells. */
#ifndef VK_RESOURCES_APPS_WORKLOAD_H
#define VK_RESOURCES_APPS_WORKLOAD_H

#include <jansson.h>
#include <stdbool.h>

#include "apiserver/registry/resource.h"

/* The child object k of o, created empty when absent or not an object. */
json_t *vk_child(json_t *o, const char *k);
/* Sets o[k] = v (stolen) unless o already has k. */
void vk_default(json_t *o, const char *k, json_t *v);

/* The pod defaults of spec.template. */
void vk_workload_template_defaults(json_t *obj);

/* spec.replicas (when the kind has it) not negative; spec.selector present and not
 * empty ("empty selector is invalid for <what>"); the template's labels selected by it;
 * the template's restartPolicy Always and no activeDeadlineSeconds (kind names the
 * kind in that message: "ReplicaSet", "DaemonSet", ...). */
void vk_workload_validate(vk_errlist *e, const json_t *obj, const char *what, const char *kind);
/* Adds "field is immutable" on field when the value at spec.<key> changed. */
void vk_workload_immutable(vk_errlist *e, const json_t *obj, const json_t *old, const char *key);
/* A non-negative int at spec.<key> when present. */
void vk_workload_nonnegative(vk_errlist *e, const json_t *obj, const char *key);

/* Table cells: the template's container names and images (comma-separated), the
 * selector as kube prints it. */
json_t *vk_cell_containers(const json_t *obj);
json_t *vk_cell_images(const json_t *obj);
json_t *vk_cell_selector(const json_t *obj);
/* "<status.readyReplicas>/<spec.replicas>", kube's READY of Deployments and StatefulSets. */
json_t *vk_cell_ready_replicas(const json_t *obj);
/* The integer at obj.<a>.<b>, 0 when absent (kube prints Go's zero). */
json_t *vk_cell_int(const json_t *obj, const char *a, const char *b);

#define VK_DESC_CONTAINERS "Names of each container in the template."
#define VK_DESC_IMAGES     "Images referenced by each container in the template."
#define VK_DESC_READY      "Number of the pod with ready state"

#endif
