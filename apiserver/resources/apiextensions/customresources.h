/* The resources custom resource definitions serve (kube's apiextensions crdHandler):
 * each served version of an Established definition is a vk_resource added to the
 * registry while the definition lives, with the rules every custom resource follows
 * (its version's structural schema: pruning, defaults, validation; the status and
 * scale subresources; generation; additionalPrinterColumns). Loop thread only. */
#ifndef VK_RESOURCES_APIEXTENSIONS_CUSTOMRESOURCES_H
#define VK_RESOURCES_APIEXTENSIONS_CUSTOMRESOURCES_H

#include <jansson.h>
#include <stdbool.h>

#include "apiserver/registry/resource.h"

/* Serves the versions crd (a stored CustomResourceDefinition) serves now, with its
 * accepted names, and stops serving those it no longer does. 0 or -ENOMEM. */
int vk_crd_serve(const json_t *crd);
/* Stops serving every version of the definition called name. */
void vk_crd_unserve(const char *name);
/* The resource of crd's storage version, served or not (its objects' storage); NULL
 * when crd was never served. */
const vk_resource *vk_crd_storage_resource(const char *name);
/* Frees what every definition ever served left (at exit). */
void vk_crd_free_all(void);

/* A custom resource as stored: pruned by its version's schema (the typed form
 * built-in kinds get from protobuf). A new reference. */
json_t *vk_cr_structural(const vk_resource *res, const json_t *obj);

/* A stored custom resource as read: its version's schema defaults applied (kube
 * defaults on decoding from storage). A malloc'd copy and its length, or NULL when the
 * schema sets no default the object lacks. */
char *vk_cr_defaulted(const vk_resource *res, const char *json, size_t len, size_t *out_len);

#endif
