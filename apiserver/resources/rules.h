/* Field rules and Table cells several kinds share (nodes, volumes, quotas, the storage,
 * scheduling, networking and policy kinds): kube's common field errors and
 * validators with their exact messages. */
#ifndef VK_RESOURCES_RULES_H
#define VK_RESOURCES_RULES_H

#include <jansson.h>
#include <stdbool.h>

#include "apiserver/registry/resource.h"

/* o.a.b... (dotted path), or NULL. */
json_t *vk_at(const json_t *o, const char *path);
/* The string at path, or "" (Go's zero). */
const char *vk_str_at(const json_t *o, const char *path);

/* "Unsupported value: "v": supported values: "a", "b"" (values NULL-terminated). */
void vk_err_not_supported(vk_errlist *e, const char *field, const char *v,
                          const char *const *values);
/* "Forbidden: detail". */
void vk_err_forbidden(vk_errlist *e, const char *field, const char *detail);
/* "Duplicate value: <json>". */
void vk_err_duplicate(vk_errlist *e, const char *field, const json_t *v);
/* "field is immutable" at field when the values at path in obj and old differ. */
void vk_err_immutable(vk_errlist *e, const json_t *obj, const json_t *old, const char *path,
                      const char *field);

/* kube's ValidateLabelName (a qualified name) and IsValidLabelValue. */
void vk_check_label_name(vk_errlist *e, const char *field, const char *v);
void vk_check_label_value(vk_errlist *e, const char *field, const char *v);
/* kube's IsDNS1123Subdomain as a field error. */
void vk_check_subdomain(vk_errlist *e, const char *field, const char *v);
/* kube's IsValidCIDRForLegacyField (strict): the family (4 or 6), or -1 with a cause. */
int vk_check_cidr(vk_errlist *e, const char *field, const char *v);
/* A non-negative integer at field when v is present (ValidateNonnegativeField). */
void vk_check_nonnegative(vk_errlist *e, const char *field, const json_t *v);

/* kube's GetAccessModesAsString: RWO,ROX,RWX,RWOP in that order. */
json_t *vk_access_modes_string(const json_t *modes);
/* A PV's or PVC's spec.accessModes: at least one (required_detail is kube's wording for
 * the kind), each known, ReadWriteOncePod alone. */
void vk_check_access_modes(vk_errlist *e, const json_t *modes, const char *required_detail);
/* The string at path, "" when absent (kube prints Go's zero). */
json_t *vk_cell_str(const json_t *obj, const char *path);
/* A label selector as kube's FormatLabelSelector prints it ("<none>" when empty). */
json_t *vk_cell_label_selector(const json_t *sel);
/* A ResourceList's quantity for key in canonical form, "0" when absent. */
json_t *vk_cell_quantity(const json_t *list, const char *key);

/* kube's GetPersistentVolume(Claim)Class: the beta annotation, else
 * spec.storageClassName. */
json_t *vk_cell_storage_class(const json_t *o);
/* The string at path, "<unset>" when absent (a pointer field). */
json_t *vk_cell_unset(const json_t *o, const char *path);

#endif
