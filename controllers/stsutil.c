#include "controllers/stsutil.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controllers/objects.h"

int vk_sts_ordinal(const char *pod, char *parent, size_t n)
{
    if (parent && n)
        *parent = 0;
    const char *dash = strrchr(pod, '-');
    if (!dash || !dash[1])
        return -1;
    for (const char *p = dash + 1; *p; p++)
        if (*p < '0' || *p > '9')
            return -1;
    if (parent && n)
        snprintf(parent, n, "%.*s", (int)(dash - pod), pod);
    errno = 0;
    long long v = strtoll(dash + 1, NULL, 10);
    return errno || v > INT_MAX ? -1 : (int)v;
}

int vk_sts_max_unavailable(const json_t *v, int replicas)
{
    long long n = 1;
    if (json_is_integer(v)) {
        n = json_integer_value(v);
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        errno = 0;
        long long pct = strtoll(s, &end, 10);
        if (errno || end == s || strcmp(end, "%"))
            return -1;
        n = pct * replicas / 100;
    } else if (v && !json_is_null(v)) {
        return -1;
    }
    return n < 1 ? 1 : n > INT_MAX ? INT_MAX : (int)n;
}

static bool retain(const json_t *set, const char *which)
{
    const char *v = vk_str(
        json_object_get(json_object_get(set, "spec"), "persistentVolumeClaimRetentionPolicy"),
        which);
    return strcmp(v, "Delete") != 0;
}

/* kube's matchesRef: the reference names obj as (apiVersion, kind), whatever its uid. */
static bool matches_ref(const json_t *ref, const json_t *obj, const char *api_version,
                        const char *kind)
{
    return !strcmp(vk_str(ref, "apiVersion"), api_version) && !strcmp(vk_str(ref, "kind"), kind) &&
           !strcmp(vk_str(ref, "name"), vk_str(vk_meta(obj), "name"));
}

static const json_t *refs_of(const json_t *o)
{
    return json_object_get(vk_meta(o), "ownerReferences");
}

static bool has_owner_ref(const json_t *target, const json_t *owner)
{
    const char *uid = vk_str(vk_meta(owner), "uid");
    size_t i;
    json_t *r;
    json_array_foreach(refs_of(target), i, r) if (!strcmp(vk_str(r, "uid"), uid)) return true;
    return false;
}

static bool has_stale_owner_ref(const json_t *target, const json_t *obj, const char *api_version,
                                const char *kind)
{
    size_t i;
    json_t *r;
    json_array_foreach(refs_of(target), i, r)
    {
        if (matches_ref(r, obj, api_version, kind))
            return strcmp(vk_str(r, "uid"), vk_str(vk_meta(obj), "uid")) != 0;
    }
    return false;
}

static bool has_unexpected_controller(const json_t *claim, const json_t *set, const json_t *pod)
{
    if (retain(set, "whenScaled") && retain(set, "whenDeleted"))
        return false;
    size_t i;
    json_t *r;
    json_array_foreach(refs_of(claim), i, r)
    {
        if (matches_ref(r, set, "apps/v1", "StatefulSet")) {
            if (strcmp(vk_str(r, "uid"), vk_str(vk_meta(set), "uid")))
                return true;
            continue;
        }
        if (matches_ref(r, pod, "v1", "Pod")) {
            if (strcmp(vk_str(r, "uid"), vk_str(vk_meta(pod), "uid")))
                return true;
            continue;
        }
        if (json_is_true(json_object_get(r, "controller")))
            return true;
    }
    return false;
}

static bool has_non_controller_owner(const json_t *claim, const json_t *set, const json_t *pod)
{
    size_t i;
    json_t *r;
    json_array_foreach(refs_of(claim), i, r)
    {
        const char *uid = vk_str(r, "uid");
        if ((!strcmp(uid, vk_str(vk_meta(set), "uid")) ||
             !strcmp(uid, vk_str(vk_meta(pod), "uid"))) &&
            !json_is_true(json_object_get(r, "controller")))
            return true;
    }
    return false;
}

bool vk_sts_claim_up_to_date(const json_t *claim, const json_t *set, const json_t *pod,
                             bool scaled_down)
{
    if (has_stale_owner_ref(claim, set, "apps/v1", "StatefulSet") ||
        has_stale_owner_ref(claim, pod, "v1", "Pod"))
        return true;
    if (has_unexpected_controller(claim, set, pod))
        return !has_owner_ref(claim, set) && !has_owner_ref(claim, pod);
    if (has_non_controller_owner(claim, set, pod))
        return false;
    bool rs = retain(set, "whenScaled"), rd = retain(set, "whenDeleted");
    bool to_set = has_owner_ref(claim, set), to_pod = has_owner_ref(claim, pod);
    if (rs && rd)
        return !to_set && !to_pod;
    if (rs)
        return to_set && !to_pod;
    if (rd)
        return !to_set && scaled_down == to_pod;
    return scaled_down != to_set && scaled_down == to_pod;
}

static void add_controller_ref(json_t *refs, const json_t *owner, const char *api_version,
                               const char *kind)
{
    const char *uid = vk_str(vk_meta(owner), "uid");
    size_t i;
    json_t *r;
    json_array_foreach(refs, i, r) if (!strcmp(vk_str(r, "uid"), uid)) return;
    json_array_append_new(refs,
                          json_pack("{s:s, s:s, s:s, s:s, s:b, s:b}", "apiVersion", api_version,
                                    "kind", kind, "name", vk_str(vk_meta(owner), "name"), "uid",
                                    uid, "controller", 1, "blockOwnerDeletion", 1));
}

json_t *vk_sts_claim_refs(const json_t *claim, const json_t *set, const json_t *pod,
                          bool scaled_down)
{
    bool unexpected = has_unexpected_controller(claim, set, pod);
    json_t *refs = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(refs_of(claim), i, r)
    {
        if (!matches_ref(r, set, "apps/v1", "StatefulSet") && !matches_ref(r, pod, "v1", "Pod"))
            json_array_append(refs, r);
    }
    if (unexpected)
        return refs;
    bool rs = retain(set, "whenScaled"), rd = retain(set, "whenDeleted");
    if (rs && !rd) {
        add_controller_ref(refs, set, "apps/v1", "StatefulSet");
    } else if (!rs && rd) {
        if (scaled_down)
            add_controller_ref(refs, pod, "v1", "Pod");
    } else if (!rs && !rd) {
        if (scaled_down)
            add_controller_ref(refs, pod, "v1", "Pod");
        else
            add_controller_ref(refs, set, "apps/v1", "StatefulSet");
    }
    return refs;
}
