/* The scale subresource (autoscaling/v1 Scale) of the kinds with spec.replicas: kube's
 * scaleFromDeployment and friends (pkg/registry/apps/deployment/storage, replicaset,
 * statefulset, core/replicationcontroller), one generic pair for all of them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/registry/resource.h"
#include "common/buf.h"

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* One requirement: its key (the sort order) and its text. */
typedef struct {
    const char *key;
    char *text;
} req;

static int cmp_req(const void *a, const void *b)
{
    return strcmp(((const req *)a)->key, ((const req *)b)->key);
}

/* A metav1.LabelSelector, or a ReplicationController's plain map, as kube prints a
 * selector (labels.Selector.String()): requirements sorted by key, values sorted. */
static json_t *selector_string(const json_t *sel)
{
    json_t *ml = json_object_get(sel, "matchLabels");
    json_t *me = json_object_get(sel, "matchExpressions");
    bool typed = json_is_object(ml) || json_is_array(me);
    if (!typed)
        ml = (json_t *)sel; /* an RC's selector is the label map itself */
    size_t n = json_object_size(ml) + json_array_size(me);
    req *reqs = calloc(n + 1, sizeof *reqs);
    size_t k = 0;
    const char *key;
    json_t *v;
    json_object_foreach(ml, key, v)
    {
        vk_buf b = {0};
        vk_buf_printf(&b, "%s=%s", key, json_string_value(v) ? json_string_value(v) : "");
        reqs[k++] = (req){key, b.data};
    }
    size_t i;
    json_t *e;
    json_array_foreach(me, i, e)
    {
        const char *op = json_string_value(json_object_get(e, "operator"));
        const char *ek = json_string_value(json_object_get(e, "key"));
        json_t *vals = json_object_get(e, "values");
        if (!op || !ek)
            continue;
        vk_buf b = {0};
        if (!strcmp(op, "Exists") || !strcmp(op, "DoesNotExist")) {
            vk_buf_printf(&b, "%s%s", *op == 'D' ? "!" : "", ek);
        } else {
            size_t nv = json_array_size(vals);
            const char **vs = calloc(nv + 1, sizeof *vs);
            for (size_t j = 0; j < nv; j++)
                vs[j] = json_string_value(json_array_get(vals, j));
            qsort(vs, nv, sizeof *vs, cmp_str);
            vk_buf_printf(&b, "%s %s (", ek, !strcmp(op, "In") ? "in" : "notin");
            for (size_t j = 0; j < nv; j++)
                vk_buf_printf(&b, "%s%s", j ? "," : "", vs[j] ? vs[j] : "");
            vk_buf_puts(&b, ")");
            free(vs);
        }
        reqs[k++] = (req){ek, b.data};
    }
    qsort(reqs, k, sizeof *reqs, cmp_req);
    vk_buf out = {0};
    vk_buf_puts(&out, "");
    for (size_t j = 0; j < k; j++) {
        vk_buf_printf(&out, "%s%s", j ? "," : "", reqs[j].text ? reqs[j].text : "");
        free(reqs[j].text);
    }
    free(reqs);
    json_t *s = json_string(out.data ? out.data : "");
    vk_buf_free(&out);
    return s;
}

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
    json_t *sel = selector_string(json_object_get(spec, "selector"));
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
