/* core/v1 Endpoints: the ports' validation and kube's printer (addresses as ip:port). */
#include <stdio.h>
#include <string.h>

#include "apiserver/registry/common.h"
#include "apiserver/registry/resource.h"
#include "common/buf.h"

static void validate_ports(const json_t *ports, const char *base, vk_errlist *errs)
{
    size_t i;
    json_t *p;
    json_array_foreach(ports, i, p)
    {
        json_t *port = json_object_get(p, "port");
        json_int_t v = json_integer_value(port);
        if (!json_is_integer(port) || v < 1 || v > 65535) {
            char f[128];
            snprintf(f, sizeof f, "%s[%zu].port", base, i);
            vk_err_invalid(errs, f, port ? port : json_null(),
                           "must be between 1 and 65535, inclusive");
        }
    }
}

static void validate(vk_ctx *c, const json_t *obj, vk_errlist *errs)
{
    size_t i;
    json_t *sub;
    json_array_foreach(json_object_get(obj, "subsets"), i, sub)
    {
        char base[64];
        snprintf(base, sizeof base, "subsets[%zu].ports", i);
        validate_ports(json_object_get(sub, "ports"), base, errs);
    }
}

static void validate_update(vk_ctx *c, const json_t *obj, const json_t *old, vk_errlist *errs)
{
    validate(c, obj, errs);
}

/* "10.0.0.1:6443,10.0.0.2:6443", at most three, then " + N more..." as kubectl does. */
static json_t *cell_endpoints(const json_t *o)
{
    vk_buf b = {0};
    int shown = 0, total = 0;
    size_t i, j, k;
    json_t *sub, *a, *p;
    json_array_foreach(json_object_get(o, "subsets"), i, sub)
    {
        json_array_foreach(json_object_get(sub, "addresses"), j, a)
        {
            json_t *ports = json_object_get(sub, "ports");
            size_t np = json_array_size(ports) ? json_array_size(ports) : 1;
            for (k = 0; k < np; k++) {
                total++;
                if (shown >= 3)
                    continue;
                p = json_array_get(ports, k);
                const char *ip = json_string_value(json_object_get(a, "ip"));
                if (p)
                    vk_buf_printf(&b, "%s%s:%lld", b.len ? "," : "", ip ? ip : "",
                                  (long long)json_integer_value(json_object_get(p, "port")));
                else
                    vk_buf_printf(&b, "%s%s", b.len ? "," : "", ip ? ip : "");
                shown++;
            }
        }
    }
    if (total > shown)
        vk_buf_printf(&b, " + %d more...", total - shown);
    json_t *out = json_string(b.len ? b.data : "<none>");
    vk_buf_free(&b);
    return out;
}

static const vk_strategy strategy = {
    .validate_create = validate,
    .validate_update = validate_update,
};

static const vk_column columns[] = {
    {"Name", "string", "name", VK_DESC_NAME, 0, vk_cell_name},
    {"Endpoints", "string", "", "Endpoints of the service.", 0, cell_endpoints},
    {"Age", "string", "", VK_DESC_AGE, 0, vk_cell_age},
};

const vk_resource vk_res_endpoints = {
    .group = "",
    .version = "v1",
    .plural = "endpoints",
    .strategy = &strategy,
    .columns = columns,
    .ncolumns = sizeof columns / sizeof columns[0],
};
