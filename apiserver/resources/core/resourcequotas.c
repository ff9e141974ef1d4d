/* core/v1 ResourceQuota: quantities in kube's canonical form, the rule that hard limits
 * are not negative, and the printer (REQUEST and LIMIT from status.used/status.hard). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/registry/common.h"
#include "apiserver/registry/resource.h"
#include "apiserver/resources/quantity.h"
#include "apiserver/resources/rules.h"
#include "common/buf.h"

static void defaults(json_t *obj)
{
    vk_quantities_canonical(vk_at(obj, "spec.hard"));
    vk_quantities_canonical(vk_at(obj, "status.hard"));
    vk_quantities_canonical(vk_at(obj, "status.used"));
}

static void check_list(vk_errlist *e, const json_t *list, const char *where)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)list, k, v)
    {
        const char *q = json_string_value(v);
        if (q && q[0] == '-') {
            char f[256];
            snprintf(f, sizeof f, "%s[%s]", where, k);
            vk_err_invalid(e, f, v, "must be greater than or equal to 0");
        }
    }
}

static void validate(vk_ctx *c, const json_t *obj, vk_errlist *e)
{
    check_list(e, vk_at(obj, "spec.hard"), "spec.hard");
    check_list(e, vk_at(obj, "status.hard"), "status.hard");
    check_list(e, vk_at(obj, "status.used"), "status.used");
}

static void validate_update(vk_ctx *c, const json_t *obj, const json_t *old, vk_errlist *e)
{
    validate(c, obj, e);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "name: used/hard" for each resource in status.hard, sorted; limits.* in LIMIT. */
static json_t *column(const json_t *o, bool limits)
{
    json_t *hard = vk_at(o, "status.hard"), *used = vk_at(o, "status.used");
    size_t n = json_object_size(hard), k = 0;
    const char **names = calloc(n ? n : 1, sizeof *names);
    const char *key;
    json_t *v;
    json_object_foreach(hard, key, v)
    {
        names[k++] = key;
    }
    qsort(names, k, sizeof *names, cmp_str);
    vk_buf b = {0};
    vk_buf_printf(&b, "%s", "");
    for (size_t i = 0; i < k; i++) {
        if (!strncmp(names[i], "limits.", 7) != limits)
            continue;
        json_t *u = vk_cell_quantity(used, names[i]), *h = vk_cell_quantity(hard, names[i]);
        vk_buf_printf(&b, "%s%s: %s/%s", b.len ? ", " : "", names[i], json_string_value(u),
                      json_string_value(h));
        json_decref(u);
        json_decref(h);
    }
    free(names);
    json_t *s = json_string(b.data ? b.data : "");
    vk_buf_free(&b);
    return s;
}

static json_t *cell_request(const json_t *o)
{
    return column(o, false);
}

static json_t *cell_limit(const json_t *o)
{
    return column(o, true);
}

static const vk_strategy strategy = {
    .defaults = defaults,
    .validate_create = validate,
    .validate_update = validate_update,
};

static const vk_column columns[] = {
    {"Name", "string", "name", VK_DESC_NAME, 0, vk_cell_name},
    {"Request", "string", "",
     "Request represents a minimum amount of cpu/memory that a container may consume.", 0,
     cell_request},
    {"Limit", "string", "",
     "Limits control the maximum amount of cpu/memory that a container may use independent of "
     "contention on the node.",
     0, cell_limit},
    {"Age", "string", "", VK_DESC_AGE, 0, vk_cell_age},
};

const vk_resource vk_res_resourcequotas = {
    .group = "",
    .version = "v1",
    .plural = "resourcequotas",
    .subresources = {{"status", vk_keep_all_but_status}},
    .strategy = &strategy,
    .columns = columns,
    .ncolumns = sizeof columns / sizeof columns[0],
};
