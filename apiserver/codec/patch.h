/* Patches on jansson documents: RFC 6902 JSON patch, RFC 7386 merge patch, and
 * strategic merge patch driven by the patch metadata generated from kube's OpenAPI
 * (patchmeta.h). */
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

/* Strategic merge patch as kube-apiserver applies it (k8s.io/apimachinery strategicpatch):
 * maps merge recursively; lists whose patch strategy is merge merge by their merge key
 * (or as sets of primitives), honouring {"$patch": "delete"|"replace"} items,
 * $setElementOrder/<list>, $deleteFromPrimitiveList/<list> and $retainKeys; other lists
 * are replaced; {"$patch": "replace"|"delete"} in a map replaces or empties it. root is
 * the kind's definition in the generated patch metadata (vk_pm_root, patchmeta.h), or -1
 * for a kind without one (then only metadata follows ObjectMeta's strategies). Returns a
 * new reference, or NULL with kube's message and the status code kube answers with:
 * 400 (BadRequest) for a malformed directive or a patch that is not an object, 422 for
 * lists of lists, 500 for other failures. */
json_t *vk_strategic_patch(const json_t *doc, const json_t *patch, int root, char *err,
                           size_t errlen, int *code);

#endif
