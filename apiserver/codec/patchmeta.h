/* Strategic merge patch metadata of the served kinds, generated at build time from
 * kube's swagger.json by tools/openapi (build/gen/openapi/patchmeta.c). A definition
 * lists only its properties that hold an object, a map or a list; the others are
 * primitives. */
#ifndef VK_CODEC_PATCHMETA_H
#define VK_CODEC_PATCHMETA_H

#include <stdbool.h>
#include <stddef.h>

enum { VK_PM_STRUCT = 1, VK_PM_MAP, VK_PM_SLICE };

typedef struct vk_pm_field {
    const char *name;      /* the JSON name */
    int type;              /* VK_PM_STRUCT (a definition), VK_PM_MAP, VK_PM_SLICE */
    int def;               /* STRUCT: its definition; SLICE: the element's, or -1 */
    const char *strategy;  /* x-kubernetes-patch-strategy ("merge", "retainKeys",
                              "merge,retainKeys", "replace"), or NULL */
    const char *merge_key; /* x-kubernetes-patch-merge-key, or NULL */
    const char *elem;      /* SLICE: the element's Go kind ("struct", "string", "int32") */
} vk_pm_field;

typedef struct vk_pm_def {
    const char *name;          /* the Go type name ("PodSpec") */
    const vk_pm_field *fields; /* sorted by name */
    int nfields;
    bool opaque; /* an object without properties (RawExtension, FieldsV1): no JSON fields */
} vk_pm_def;

typedef struct vk_pm_kind {
    const char *group, *version, *kind;
    int def;
} vk_pm_kind;

extern const vk_pm_def vk_pm_defs[];
extern const size_t vk_pm_ndefs;
/* Every served kind (objects with ObjectMeta) and its root definition; sorted by group,
 * version, kind; ends with an entry whose kind is NULL. */
extern const vk_pm_kind vk_pm_kinds[];

/* The root definition of group/version/kind, or -1. */
int vk_pm_root(const char *group, const char *version, const char *kind);

/* The field of definition def named name, or NULL. */
const vk_pm_field *vk_pm_field_of(int def, const char *name);

#endif
