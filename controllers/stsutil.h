/* Pure helpers of the StatefulSet controller (kube's statefulset/stateful_set_utils.go),
 * apart so they can be tested on their own. */
#ifndef VK_CONTROLLERS_STSUTIL_H
#define VK_CONTROLLERS_STSUTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* kube's getParentNameAndOrdinal: a pod named "<parent>-<digits>" has that ordinal (an
 * int32), any other -1. parent (n bytes, may be NULL) gets the part before the last
 * "-<digits>", "" when there is none. */
int vk_sts_ordinal(const char *pod, char *parent, size_t n);
/* kube's getStatefulSetMaxUnavailable: maxUnavailable (an integer or a percentage of
 * replicas, rounded down; absent: 1), at least 1; -1 when malformed. */
int vk_sts_max_unavailable(const json_t *v, int replicas);
/* kube's isClaimOwnerUpToDate: the ownerReferences of claim are what the set's
 * persistentVolumeClaimRetentionPolicy wants for pod (scaled_down: its ordinal is past
 * the set's range). */
bool vk_sts_claim_up_to_date(const json_t *claim, const json_t *set, const json_t *pod,
                             bool scaled_down);
/* kube's updateClaimOwnerRefForSetAndPod: the ownerReferences the claim should have (a
 * new array). */
json_t *vk_sts_claim_refs(const json_t *claim, const json_t *set, const json_t *pod,
                          bool scaled_down);

#endif
