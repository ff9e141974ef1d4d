/* Helpers shared by resource files: kube's name rules and common Table cells. */
#ifndef VK_REGISTRY_COMMON_H
#define VK_REGISTRY_COMMON_H

#include <jansson.h>
#include <stdbool.h>

/* Column descriptions of the generic Name and Age columns: ObjectMeta's own field
 * descriptions, looked up in the OpenAPI definitions (see vk_column). */
#define VK_DESC_NAME "@io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta/name"
#define VK_DESC_AGE  "@io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta/creationTimestamp"

/* DNS-1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63. */
bool vk_is_dns1123_label(const char *s);
/* DNS-1123 subdomain: labels joined by '.', at most 253. */
bool vk_is_dns1123_subdomain(const char *s);
/* Kube's qualified name: [prefix/]name, name [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?
 * up to 63, prefix a DNS subdomain. */
bool vk_is_qualified_name(const char *s);

/* Why name breaks rule (enum vk_name_rule), in kube's words, or NULL when it does not. */
const char *vk_name_invalid(int rule, const char *name);
/* ObjectMeta's members in Go struct order, NULL-terminated (what metadata may hold). */
extern const char *const vk_object_meta_fields[];

/* metadata.name. */
json_t *vk_cell_name(const json_t *obj);
/* kube's age of metadata.creationTimestamp ("<unknown>" without one). */
json_t *vk_cell_age(const json_t *obj);

#endif
