/* Helpers shared by the registry's handlers (handlers.c, watch.c). Not for other
 * modules. */
#ifndef VK_REGISTRY_INTERNAL_H
#define VK_REGISTRY_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>

#include "apiserver/codec/negotiate.h"
#include "apiserver/http/reqinfo.h"
#include "apiserver/registry/resource.h"
#include "common/buf.h"

struct vk_server;

/* "v1" or "apps/v1" (written into buf when needed). */
const char *vk_reg_api_version(const vk_resource *res, char *buf, size_t n);
/* A Status for a storage error on object name (NotFound, AlreadyExists, ...). New ref. */
json_t *vk_reg_status(const vk_resource *res, int err, const char *name);
/* Appends {"kind":kind,"apiVersion":...,<members of json>}. 0 or an error. */
int vk_reg_splice(vk_buf *b, const vk_resource *res, const char *kind, const char *json,
                  size_t len);
/* PartialObjectMetadata of obj in meta.k8s.io/<version>. New ref. */
json_t *vk_reg_partial(const json_t *obj, const char *version);
/* Table columnDefinitions of res. New ref. */
json_t *vk_reg_columns(const vk_resource *res);
/* One Table row of obj (obj carries kind/apiVersion); include is Metadata|Object|None. */
json_t *vk_reg_row(const vk_resource *res, const json_t *obj, const char *include,
                   const char *version);
/* The storage key of (ns, name); its length or an error. key holds VK_KEY_MAX bytes. */
int vk_reg_key(const vk_resource *res, const char *ns, const char *name, char *key);
/* Reads ?includeObject=; false after answering 400 for a bad value. */
bool vk_reg_include(vk_req *r, const char **include);
/* Puts kind and apiVersion first in obj. */
void vk_reg_add_kind(json_t *obj, const vk_resource *res);

/* The request's label and field selectors (kube's grammar; field labels:
 * metadata.name, metadata.namespace and the resource's own). Both NULL when absent.
 * Answers 400 and returns false when one does not parse. */
struct vk_selector;
bool vk_reg_selectors(vk_req *r, const vk_resource *res, struct vk_selector **labels,
                      struct vk_selector **fields);
/* True when obj (parsed, without kind) satisfies both selectors (NULL = everything). */
bool vk_reg_selected(const struct vk_selector *labels, const struct vk_selector *fields,
                     const json_t *obj);

/* obj rebuilt in kube's key order (metadata first, its members in ObjectMeta order,
 * resourceVersion present; then spec, status, the rest; no kind/apiVersion). New ref. */
json_t *vk_reg_canonical(const vk_resource *res, const json_t *obj);
/* A 422 Invalid Status for errs on object name. New ref. */
json_t *vk_reg_invalid(const vk_resource *res, const char *name, vk_errlist *errs);
/* update, patch and delete of one object (registry/mutate.c). */
void vk_reg_mutate(struct vk_server *s, vk_req *r, const vk_resource *res, const vk_reqinfo *ri,
                   const vk_accept *acc);
/* Sends a stored object (JSON bytes without kind) in format fmt. */
void vk_reg_reply(vk_req *r, int code, const vk_resource *res, const char *json, size_t len,
                  int fmt);
/* The request body as a JSON object, from JSON or kube's protobuf (by Content-Type);
 * a protobuf body must be of kind want.
 * Answers 415, 413 or 400 and returns NULL when it cannot. New reference. */
typedef struct vk_gvk {
    const char *group, *version, *kind;
    bool any_group; /* options kinds (DeleteOptions) come as v1 or meta.k8s.io/v1 */
} vk_gvk;
json_t *vk_reg_decode_body(struct vk_server *s, vk_req *r, const vk_gvk *want, json_t *dups);
/* Parses JSON; a duplicated key is kept (the last wins) and named in dups (may be
 * NULL); other syntax errors answer 400 and return NULL. New reference. */
json_t *vk_reg_parse_json(vk_req *r, const char *data, size_t len, json_t *dups);
/* kube's field validation (?fieldValidation=Strict|Warn|Ignore, Warn by default):
 * fields obj's kind does not have, and the duplicated keys in dups, are a 400 under
 * Strict (answered here; returns false) or Warning headers under Warn. */
bool vk_reg_field_check(vk_req *r, const vk_resource *res, const json_t *obj, const json_t *dups);

/* deletecollection (registry/collection.c). */
void vk_reg_delete_collection(struct vk_server *s, vk_req *r, const vk_resource *res,
                              const vk_reqinfo *ri, const vk_accept *acc);

/* Serves a watch (ri->verb == "watch"); acc is the negotiated format. */
void vk_reg_watch(struct vk_server *s, vk_req *r, const vk_resource *res, const vk_reqinfo *ri,
                  const vk_accept *acc);
/* Ends every watch stream cleanly (server shutdown). */
void vk_reg_watch_end_all(struct vk_server *s);

#endif
