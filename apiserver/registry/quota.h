/* kube's ResourceQuota machinery: what an object uses of a quota (the evaluators of
 * pkg/quota/v1/evaluator/core and the generic object count), which quotas it falls
 * under (resource names and scopes), the admission check of a write against the
 * quotas of its namespace, and the usage a quota's status reports (what the quota
 * controller calculates). Loop thread only. */
#ifndef VK_REGISTRY_QUOTA_H
#define VK_REGISTRY_QUOTA_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "apiserver/registry/resource.h"
#include "common/buf.h"
#include "storage/store.h"

struct vk_server;

/* The quota updates a write must commit in the same transaction as its object, each
 * with compare-and-swap on the quota's revision (a conflict means another write
 * charged or the controller recalculated: admit again). */
typedef struct vk_quota_charge {
    size_t n;
    struct vk_quota_write {
        char key[VK_KEY_MAX];
        size_t klen;
        vk_buf val;
        size_t rv_off;
        uint64_t rev;
    } * q;
} vk_quota_charge;

/* kube's ResourceQuota admission of a create (old NULL) or an update of obj, resource
 * res in namespace ns: NULL when the write may go, with ch holding the quota updates
 * that charge it (ch->n may be 0; ch->n is 0 for dry_run); or the 403 Status refusing
 * it (exceeded quota, unknown usage, a container without the required requests). */
json_t *vk_quota_admit(struct vk_server *s, const vk_resource *res, const char *ns,
                       const json_t *obj, const json_t *old, bool dry_run, vk_quota_charge *ch);
/* Appends ch's writes to ops (room for ch->n). */
void vk_quota_charge_ops(const vk_quota_charge *ch, vk_op *ops);
void vk_quota_charge_free(vk_quota_charge *ch);

/* The status a quota (a stored ResourceQuota) has now, as kube's controller writes it:
 * hard from spec.hard, used recalculated from its namespace's objects for every name it
 * can count (others keep their last value). A new object, or NULL (no memory). */
json_t *vk_quota_status(struct vk_server *s, const json_t *quota);

/* Calls fn for every resource whose objects count toward one of hard's names. */
void vk_quota_resources(const json_t *hard, void (*fn)(void *ud, const vk_resource *res), void *ud);

/* Whether a change of an object (obj NULL: deleted) can lower what quotas count, so
 * they must be recalculated (kube's replenishment). */
bool vk_quota_replenishes(const vk_resource *res, const json_t *old, const json_t *obj);

#endif
