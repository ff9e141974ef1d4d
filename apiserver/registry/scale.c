/* The scale subresource (autoscaling/v1 Scale) of the kinds with spec.replicas: kube's
 * scaleFromDeployment and friends (pkg/registry/apps/deployment/storage, replicaset,
 * statefulset, core/replicationcontroller), one generic pair for all of them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/registry/resource.h"
#include "apiserver/registry/selector.h"

json_t *vk_scale_view(const json_t *obj)
{
    static const char *const meta_keys[] = {"name", "namespace", "uid", "resourceVersion",
                                            "creationTimestamp"};
    json_t *om = json_object_get(obj, "metadata"), *meta = json_object();
    for (size_t i = 0; i < sizeof meta_keys / sizeof meta_keys[0]; i++)
        if (json_object_get(om, meta_keys[i]))
            json_object_set(meta, meta_keys[i], json_object_get(om, meta_keys[i]));
    json_t *spec = json_object_get(obj, "spec"), *status = json_object_get(obj, "status");
    json_t *out = json_pack("{s:s, s:s, s:o, s:{}, s:{}}", "kind", "Scale", "apiVersion",
                            "autoscaling/v1", "metadata", meta, "spec", "status");
    json_int_t want = json_integer_value(json_object_get(spec, "replicas"));
    json_int_t have = json_integer_value(json_object_get(status, "replicas"));
    if (want)
        json_object_set_new(json_object_get(out, "spec"), "replicas", json_integer(want));
    json_t *st = json_object_get(out, "status");
    json_object_set_new(st, "replicas", json_integer(have));
    /* The selector the controller counts pods with: a Deployment's from its spec, the
     * others' too; omitted when empty. */
    json_t *sel = vk_label_selector_format(json_object_get(spec, "selector"));
    if (json_string_length(sel))
        json_object_set_new(st, "selector", sel);
    else
        json_decref(sel);
    return out;
}

void vk_scale_set(json_t *obj, const json_t *view, vk_errlist *errs)
{
    json_t *r = json_object_get(json_object_get(view, "spec"), "replicas");
    if (r && !json_is_integer(r)) {
        vk_err_invalid(errs, "spec.replicas", r, "must be an integer");
        return;
    }
    json_int_t n = json_integer_value(r);
    if (n < 0) {
        vk_err_invalid(errs, "spec.replicas", r, "must be greater than or equal to 0");
        return;
    }
    json_t *spec = json_object_get(obj, "spec");
    if (!json_is_object(spec)) {
        spec = json_object();
        json_object_set_new(obj, "spec", spec);
    }
    json_object_set_new(spec, "replicas", json_integer(n));
}
