/* The generic registry: every verb on every resource, the same way for HTTP requests
 * and for in-process clients (bootstrap, controllers). */
#ifndef VK_REGISTRY_REGISTRY_H
#define VK_REGISTRY_REGISTRY_H

#include <jansson.h>

#include "apiserver/http/reqinfo.h"
#include "apiserver/registry/resource.h"

struct vk_server;

/* Answers a resource request (ri->is_resource). */
void vk_registry_handle(struct vk_server *s, vk_req *r, const vk_reqinfo *ri);

/* The outcome of an in-process create: err 0 with the stored JSON (borrowed, without
 * kind/apiVersion), or a VK_E* code with a Status (borrowed) describing it. */
typedef void (*vk_create_cb)(void *ud, int err, const char *json, size_t len, json_t *status);

/* The stored object ns/name of res (ns is ignored for a cluster-scoped resource) as a
 * new reference, or NULL (absent, res NULL, no name). */
json_t *vk_registry_get(struct vk_server *s, const vk_resource *res, const char *ns,
                        const char *name);

/* Creates obj (borrowed; not modified) as resource res in namespace ns (NULL for
 * cluster-scoped): defaults, system fields, validation, storage. cb runs exactly once,
 * possibly before this returns (validation errors). dry_run skips storage. */
void vk_registry_create(struct vk_server *s, const vk_resource *res, const char *ns,
                        const json_t *obj, bool dry_run, vk_create_cb cb, void *ud);

/* In-process delete of one object (the same path as an HTTP DELETE): cb gets err 0
 * once it is gone or marked for deletion (json is then the object when it stays), or
 * an error with its Status. */
void vk_registry_delete(struct vk_server *s, const vk_resource *res, const char *ns,
                        const char *name, vk_create_cb cb, void *ud);

/* The same with DeleteOptions (borrowed): gracePeriodSeconds, preconditions,
 * propagationPolicy, as a client sends them (a kubelet's final delete: grace 0 and the
 * uid). */
void vk_registry_delete_opts(struct vk_server *s, const vk_resource *res, const char *ns,
                             const char *name, const json_t *options, vk_create_cb cb, void *ud);

/* Changes an object in place under compare-and-swap, retried on conflicts, without
 * the resource's update rules: the writes of subresources (a namespace's /finalize)
 * that have rules of their own, which edit applies. */
typedef void (*vk_edit_fn)(void *ud, json_t *obj);
void vk_registry_edit(struct vk_server *s, const vk_resource *res, const char *ns, const char *name,
                      vk_edit_fn edit, void *edit_ud, vk_create_cb cb, void *ud);

#endif
