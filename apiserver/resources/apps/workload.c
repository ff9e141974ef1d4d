/* The workload kinds' shared rules (kube's pkg/apis/apps/validation: the selector,
 * replicas and template checks of ValidateDeploymentSpec, ValidateReplicaSetSpec,
 * ValidateStatefulSetSpec and ValidateDaemonSetSpec), and their common printer cells. */
#include "apiserver/resources/apps/workload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/registry/selector.h"
#include "apiserver/resources/core/pods.h"
#include "apiserver/resources/rules.h"
#include "common/buf.h"

json_t *vk_child(json_t *o, const char *k)
{
    json_t *c = json_object_get(o, k);
    if (!json_is_object(c)) {
        c = json_object();
        json_object_set_new(o, k, c);
    }
    return c;
}

void vk_default(json_t *o, const char *k, json_t *v)
{
    if (json_object_get(o, k))
        json_decref(v);
    else
        json_object_set_new(o, k, v);
}

void vk_workload_template_defaults(json_t *obj)
{
    vk_pod_template_defaults(vk_child(vk_child(obj, "spec"), "template"));
}

/* A copy of a string map with its keys sorted, as Go prints a map in an error. */
static json_t *sorted_map(const json_t *m)
{
    size_t n = json_object_size(m), k = 0;
    const char **keys = calloc(n + 1, sizeof *keys);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)m, key, v) keys[k++] = key;
    for (size_t i = 1; i < k; i++)
        for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
            const char *t = keys[j];
            keys[j] = keys[j - 1];
            keys[j - 1] = t;
        }
    json_t *out = json_is_object(m) ? json_object() : json_null();
    for (size_t i = 0; i < k; i++)
        json_object_set(out, keys[i], json_object_get(m, keys[i]));
    free(keys);
    return out;
}

void vk_workload_nonnegative(vk_errlist *e, const json_t *obj, const char *key)
{
    json_t *v = json_object_get(json_object_get(obj, "spec"), key);
    if (json_is_integer(v) && json_integer_value(v) < 0) {
        char f[128];
        snprintf(f, sizeof f, "spec.%s", key);
        vk_err_invalid(e, f, v, "must be greater than or equal to 0");
    }
}

void vk_workload_validate(vk_errlist *e, const json_t *obj, const char *what, const char *kind)
{
    json_t *spec = json_object_get(obj, "spec");
    vk_workload_nonnegative(e, obj, "replicas");
    vk_workload_nonnegative(e, obj, "minReadySeconds");
    vk_workload_nonnegative(e, obj, "revisionHistoryLimit");
    json_t *sel = json_object_get(spec, "selector");
    json_t *tmpl = json_object_get(spec, "template");
    json_t *labels = json_object_get(json_object_get(tmpl, "metadata"), "labels");
    if (!json_is_object(sel)) {
        vk_err_required(e, "spec.selector", "");
    } else {
        char msg[96];
        snprintf(msg, sizeof msg, "empty selector is invalid for %s", what);
        if (!json_object_size(json_object_get(sel, "matchLabels")) &&
            !json_array_size(json_object_get(sel, "matchExpressions")))
            vk_err_invalid(e, "spec.selector", sel, msg);
        json_t *text = vk_label_selector_format(sel);
        vk_selector *s = NULL;
        char err[256];
        if (json_string_length(text) &&
            !vk_label_selector_parse(json_string_value(text), &s, err, sizeof err) &&
            !vk_selector_match_labels(s, labels)) {
            json_t *shown = sorted_map(labels);
            vk_err_invalid(e, "spec.template.metadata.labels", shown,
                           "`selector` does not match template `labels`");
            json_decref(shown);
        }
        vk_selector_free(s);
        json_decref(text);
    }
    json_t *tspec = json_object_get(tmpl, "spec");
    const char *rp = json_string_value(json_object_get(tspec, "restartPolicy"));
    static const char *const always[] = {"Always", NULL};
    if (rp && strcmp(rp, "Always"))
        vk_err_not_supported(e, "spec.template.spec.restartPolicy", rp, always);
    if (json_object_get(tspec, "activeDeadlineSeconds")) {
        char msg[128];
        snprintf(msg, sizeof msg, "activeDeadlineSeconds in %s is not Supported", kind);
        vk_err_forbidden(e, "spec.template.spec.activeDeadlineSeconds", msg);
    }
}

void vk_workload_immutable(vk_errlist *e, const json_t *obj, const json_t *old, const char *key)
{
    json_t *a = json_object_get(json_object_get(obj, "spec"), key);
    json_t *b = json_object_get(json_object_get(old, "spec"), key);
    if ((a || b) && !(a && b && json_equal(a, b))) {
        char f[128];
        snprintf(f, sizeof f, "spec.%s", key);
        vk_err_invalid(e, f, a ? a : json_null(), "field is immutable");
    }
}

static json_t *container_list(const json_t *obj, const char *member)
{
    json_t *cs = json_object_get(
        json_object_get(json_object_get(json_object_get(obj, "spec"), "template"), "spec"),
        "containers");
    vk_buf b = {0};
    vk_buf_puts(&b, "");
    size_t i;
    json_t *c;
    json_array_foreach(cs, i, c)
    {
        const char *v = json_string_value(json_object_get(c, member));
        vk_buf_printf(&b, "%s%s", i ? "," : "", v ? v : "");
    }
    json_t *out = json_string(b.data ? b.data : "");
    vk_buf_free(&b);
    return out;
}

json_t *vk_cell_containers(const json_t *obj)
{
    return container_list(obj, "name");
}

json_t *vk_cell_images(const json_t *obj)
{
    return container_list(obj, "image");
}

json_t *vk_cell_selector(const json_t *obj)
{
    return vk_cell_label_selector(json_object_get(json_object_get(obj, "spec"), "selector"));
}

json_t *vk_cell_int(const json_t *obj, const char *a, const char *b)
{
    return json_integer(json_integer_value(json_object_get(json_object_get(obj, a), b)));
}

json_t *vk_cell_ready_replicas(const json_t *obj)
{
    char s[48];
    snprintf(
        s, sizeof s, "%lld/%lld",
        (long long)json_integer_value(
            json_object_get(json_object_get(obj, "status"), "readyReplicas")),
        (long long)json_integer_value(json_object_get(json_object_get(obj, "spec"), "replicas")));
    return json_string(s);
}
