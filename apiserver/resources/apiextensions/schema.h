/* A custom resource definition's structural schema (OpenAPI v3, as apiextensions
 * accepts it) applied to objects: pruning of unknown fields, defaulting, and
 * validation with kube's messages (kube-openapi's errors as apiextensions turns them
 * into field errors). */
#ifndef VK_RESOURCES_APIEXTENSIONS_SCHEMA_H
#define VK_RESOURCES_APIEXTENSIONS_SCHEMA_H

#include <jansson.h>
#include <stdbool.h>

#include "apiserver/registry/resource.h"

/* obj without the fields schema does not know (kube's structural pruning): properties
 * not listed are dropped unless x-kubernetes-preserve-unknown-fields or
 * additionalProperties keep them; at the root apiVersion, kind and metadata stay, as
 * they do in an x-kubernetes-embedded-resource. A new reference. */
json_t *vk_schema_prune(const json_t *schema, const json_t *obj);

/* Sets the schema's defaults on obj where a value is missing (or null without
 * nullable), inside objects, arrays and maps too. */
void vk_schema_default(const json_t *schema, json_t *obj);

/* Adds a cause for every value of obj the schema refuses. metadata is not looked at
 * (the registry checks it as for any kind). */
void vk_schema_validate(const json_t *schema, const json_t *obj, vk_errlist *errs);

#endif
