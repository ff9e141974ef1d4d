/* The RBAC authorizer: a request is allowed when a rule of a Role or ClusterRole bound
 * to the user (by name, group or service account) covers its verb, API group, resource
 * (and subresource), name, or non-resource path, as rbac/v1 defines rule matching. */
#ifndef VK_AUTH_RBAC_H
#define VK_AUTH_RBAC_H

#include <jansson.h>
#include <stdbool.h>

#include "apiserver/http/reqinfo.h"

struct vk_server;

/* Where the policy comes from: the store, or (in tests) anything else. */
typedef struct vk_rbac_source {
    /* Calls fn with each binding of plural ("clusterrolebindings", or "rolebindings" of
     * namespace ns) until fn returns non-zero. */
    void (*each_binding)(void *ud, const char *plural, const char *ns,
                         int (*fn)(void *fnud, const json_t *binding), void *fnud);
    /* The role plural ("roles" or "clusterroles") ns/name, a new reference, or NULL. */
    json_t *(*get_role)(void *ud, const char *plural, const char *ns, const char *name);
    void *ud;
} vk_rbac_source;

/* True when a rule bound to u covers ri (path for non-resource rules). When why is not
 * NULL it gets kube's reason for an allow ("RBAC: allowed by ..."), or "". */
bool vk_rbac_decide(const vk_rbac_source *src, const vk_user *u, const vk_reqinfo *ri,
                    const char *path, char *why, size_t whylen);

/* The policy in s's store (parsed once per store revision, in s->rbac_cache). */
vk_rbac_source vk_rbac_store(struct vk_server *s);
struct vk_rbac_cache;
void vk_rbac_cache_free(struct vk_rbac_cache *c);

/* A policy in memory (borrowed): an array of {"resource": plural, "object": {...}}, the
 * form vk_rbac_bootstrap returns. For tests and fuzzing. */
vk_rbac_source vk_rbac_memory(json_t *policy);

/* Whether u may do what ri describes (path for non-resource requests): system:masters
 * may do everything (kube's privileged group); everyone else as src's policy says. */
bool vk_authorize(const vk_rbac_source *src, const vk_user *u, const vk_reqinfo *ri,
                  const char *path);

/* Every rule bound to u that applies in namespace ns ("" for cluster scope), in
 * binding order. New reference. */
json_t *vk_rbac_rules(const vk_rbac_source *src, const vk_user *u, const char *ns);

/* Whether u may verb ("escalate", "bind") the rbac.authorization.k8s.io resource
 * (roles, clusterroles) ns/name. */
bool vk_rbac_may(const vk_rbac_source *src, const vk_user *u, const char *verb,
                 const char *resource, const char *ns, const char *name);

/* kube's ConfirmNoEscalation: NULL when u already holds, in namespace ns ("" for
 * cluster scope), every permission rules grant; else kube's message naming those it does
 * not (malloc'd). */
char *vk_rbac_missing(const vk_rbac_source *src, const vk_user *u, const char *ns,
                      const json_t *rules);

/* A 403 Status for the write of plural/name that why (malloc'd, freed here) explains;
 * NULL when why is NULL. */
json_t *vk_rbac_refuse(const char *plural, const char *name, char *why);

/* The bootstrap policy kube-apiserver creates (cluster-admin for system:masters, the
 * discovery, public-info and basic-user roles), as objects for the registry. Each
 * element is {"resource": plural, "object": {...}}. New reference. */
json_t *vk_rbac_bootstrap(void);

#endif
