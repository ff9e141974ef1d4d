/* Small readers and writers the controllers share: fields of stored objects, the
 * controller reference, and kube's Events. Loop thread only. */
#ifndef VK_CONTROLLERS_OBJECTS_H
#define VK_CONTROLLERS_OBJECTS_H

#include <jansson.h>
#include <stdbool.h>

struct vk_server;

/* o[k] as a string, "" when absent. */
const char *vk_str(const json_t *o, const char *k);
/* obj.metadata (borrowed; NULL when absent). */
json_t *vk_meta(const json_t *obj);
/* The ownerReference with controller: true, or NULL. */
const json_t *vk_controller_ref(const json_t *obj);

/* The pod's Ready condition is True. */
bool vk_pod_ready(const json_t *pod);
/* A pod template's hash for the pod-template-hash / controller-revision-hash labels:
 * FNV-32a of its canonical JSON (and the collision count), written with kube's
 * SafeEncodeString alphabet. Its value is vkube's own, not kube's. */
void vk_template_hash(const json_t *tmpl, long long collisions, char out[16]);

/* Records a core/v1 Event about obj (kind, apiVersion as given) from component, as
 * kube's event recorder writes it: named "<object>.<nanoseconds in hex>", count 1. */
void vk_record_event(struct vk_server *s, const json_t *obj, const char *kind,
                     const char *api_version, const char *type, const char *reason,
                     const char *message, const char *component);

#endif
