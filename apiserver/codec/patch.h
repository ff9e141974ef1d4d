/* Patches on jansson documents: RFC 6902 JSON patch, RFC 7386 merge patch, and
 * strategic merge patch for documents whose lists are all atomic (the schema that
 * names merge keys is not generated yet: every list is replaced, and the $patch
 * directives of maps are honoured). */
#ifndef VK_CODEC_PATCH_H
#define VK_CODEC_PATCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Applies a JSON patch (an array of operations) to doc in place. 0, VK_EINVALID with
 * a message when the patch is malformed (400), or VK_ECONFLICT with a message when it
 * does not apply (a failed test, a missing path: 422). */
int vk_json_patch(json_t *doc, const json_t *patch, char *err, size_t errlen);

/* Returns doc merged with patch (RFC 7386) as a new reference; doc is borrowed. */
json_t *vk_merge_patch(const json_t *doc, const json_t *patch);

/* Says whether the list at a dotted path ("metadata.finalizers") is a primitive list
 * with the merge patch strategy. */
typedef bool (*vk_patch_merge_fn)(const char *path);

/* Strategic merge patch: a merge patch in which {"$patch":"delete"} removes a map,
 * {"$patch":"replace"} replaces it, $retainKeys keeps only the listed keys, and the
 * primitive lists merge() names are merged (union, sorted; $deleteFromPrimitiveList
 * removes values). Other lists are replaced (lists merged by key need the schema,
 * which is not generated yet). merge may be NULL. New reference, or NULL with a
 * message for a bad directive. */
json_t *vk_strategic_patch(const json_t *doc, const json_t *patch, vk_patch_merge_fn merge,
                           char *err, size_t errlen);

#endif
