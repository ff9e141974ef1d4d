/* discovery.k8s.io/v1 EndpointSlice: addressType and ports validation, kube's printer. */
#include <stdio.h>
#include <string.h>

#include "apiserver/registry/common.h"
#include "apiserver/registry/resource.h"
#include "common/buf.h"

static void validate(vk_ctx *c, const json_t *obj, vk_errlist *errs)
{
    const char *t = json_string_value(json_object_get(obj, "addressType"));
    if (!t || !*t)
        vk_err_required(errs, "addressType", "");
    else if (strcmp(t, "IPv4") && strcmp(t, "IPv6") && strcmp(t, "FQDN")) {
        char msg[200];
        snprintf(msg, sizeof msg,
                 "Unsupported value: \"%.64s\": supported values: \"FQDN\", \"IPv4\", \"IPv6\"", t);
        vk_errlist_add(errs, "FieldValueNotSupported", "addressType", msg);
    }
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(obj, "endpoints"), i, e)
    {
        size_t n = json_array_size(json_object_get(e, "addresses"));
        if (n < 1 || n > 100) {
            char f[64];
            snprintf(f, sizeof f, "endpoints[%zu].addresses", i);
            if (n < 1)
                vk_err_required(errs, f, "must contain at least 1 address");
            else
                vk_errlist_add(errs, "FieldValueTooMany", f,
                               "Too many: must have at most 100 items");
        }
    }
}

static void validate_update(vk_ctx *c, const json_t *obj, const json_t *old, vk_errlist *errs)
{
    validate(c, obj, errs);
    json_t *t = json_object_get(obj, "addressType"), *ot = json_object_get(old, "addressType");
    if (ot && !json_equal(t, ot))
        vk_err_invalid(errs, "addressType", t ? t : json_null(), "field is immutable");
}

static json_t *cell_type(const json_t *o)
{
    const char *t = json_string_value(json_object_get(o, "addressType"));
    return json_string(t ? t : "");
}

static json_t *cell_ports(const json_t *o)
{
    vk_buf b = {0};
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(o, "ports"), i, p) vk_buf_printf(
        &b, "%s%lld", b.len ? "," : "", (long long)json_integer_value(json_object_get(p, "port")));
    json_t *out = json_string(b.len ? b.data : "<unset>");
    vk_buf_free(&b);
    return out;
}

static json_t *cell_endpoints(const json_t *o)
{
    vk_buf b = {0};
    int shown = 0, total = 0;
    size_t i, j;
    json_t *e, *a;
    json_array_foreach(json_object_get(o, "endpoints"), i, e)
        json_array_foreach(json_object_get(e, "addresses"), j, a)
    {
        if (shown++ < 3)
            vk_buf_printf(&b, "%s%s", b.len ? "," : "", json_string_value(a));
        total++;
    }
    if (total > 3)
        vk_buf_printf(&b, " + %d more...", total - 3);
    json_t *out = json_string(b.len ? b.data : "<unset>");
    vk_buf_free(&b);
    return out;
}

static const vk_strategy strategy = {
    .validate_create = validate,
    .validate_update = validate_update,
};

static const vk_column columns[] = {
    {"Name", "string", "name", VK_DESC_NAME, 0, vk_cell_name},
    {"AddressType", "string", "", "The type of the addresses.", 0, cell_type},
    {"Ports", "string", "", "The ports the endpoints expose.", 0, cell_ports},
    {"Endpoints", "string", "", "The endpoints' addresses.", 0, cell_endpoints},
    {"Age", "string", "", VK_DESC_AGE, 0, vk_cell_age},
};

const vk_resource vk_res_endpointslices = {
    .group = "discovery.k8s.io",
    .version = "v1",
    .plural = "endpointslices",
    .flags = VK_GENERATION,
    .field_labels = {"addressType"},
    .strategy = &strategy,
    .columns = columns,
    .ncolumns = sizeof columns / sizeof columns[0],
};
