/* Label and field selectors, parsed and matched as apimachinery's labels and fields
 * packages do.
 *
 * Label selector grammar: requirements joined by ','; each is `key`, `!key`,
 * `key=v`, `key==v`, `key!=v`, `key in (v1,v2)`, `key notin (v1,v2)`, `key>N`, `key<N`.
 * `!=` and `notin` also match objects without the key. Field selectors: `f=v`, `f==v`,
 * `f!=v` joined by ','; the fields a resource supports are given by the caller. */
#ifndef VK_REGISTRY_SELECTOR_H
#define VK_REGISTRY_SELECTOR_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct vk_selector vk_selector;

/* Parses a label selector ("" or NULL matches everything). 0, or VK_EINVALID with a
 * message in err (kube's wording where known). *out is NULL for an empty selector. */
int vk_label_selector_parse(const char *s, vk_selector **out, char *err, size_t errlen);
/* Parses a field selector; fields lists the field names allowed (NULL-terminated).
 * An unknown field gives VK_EINVALID with `field label not supported: f`. */
int vk_field_selector_parse(const char *s, const char *const *fields, vk_selector **out, char *err,
                            size_t errlen);
void vk_selector_free(vk_selector *s);

/* True when labels (an object or NULL) satisfy sel (NULL matches everything). */
bool vk_selector_match_labels(const vk_selector *sel, const json_t *labels);

/* A metav1.LabelSelector ({matchLabels, matchExpressions}), or a ReplicationController's
 * plain label map, as kube prints it (labels.Selector.String()): requirements sorted by
 * key, set values sorted; "" for an empty selector. New reference. */
json_t *vk_label_selector_format(const json_t *sel);
/* Whether labels match a metav1.LabelSelector object: none when sel is absent or does
 * not parse; all when it is empty (kube's LabelSelectorAsSelector). */
bool vk_label_selector_matches(const json_t *sel, const json_t *labels);
/* True when the object's field values satisfy sel. get returns the value of field f
 * for obj as a string (NULL when absent, which compares as ""). */
bool vk_selector_match_fields(const vk_selector *sel, const json_t *obj,
                              const char *(*get)(const json_t *obj, const char *field, char *buf,
                                                 size_t n));
/* When sel requires field == value with no other requirement on that field, the value;
 * else NULL. */
const char *vk_selector_exact(const vk_selector *sel, const char *field);

#endif
