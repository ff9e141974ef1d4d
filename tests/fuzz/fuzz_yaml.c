/* libFuzzer target for YAML bodies: any input is read without crashing or leaking, and
 * whatever reads as a value is written back as YAML that reads as the same value. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "apiserver/codec/yaml.h"

/* json_equal, but 1000.0 and 1000 are the same number (Go prints the real as 1000 too). */
static int same(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b);
    if (json_typeof(a) != json_typeof(b))
        return 0;
    if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b))
            return 0;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!same(json_array_get(a, i), json_array_get(b, i)))
                return 0;
        return 1;
    }
    if (json_is_object(a)) {
        const char *k;
        json_t *v;
        if (json_object_size(a) != json_object_size(b))
            return 0;
        json_object_foreach((json_t *)a, k, v) if (!json_object_get(b, k) ||
                                                   !same(v, json_object_get(b, k))) return 0;
        return 1;
    }
    return json_equal(a, b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    json_t *v = vk_yaml_to_json((const char *)data, size, err, sizeof err);
    if (!v)
        return 0;
    vk_buf b = {0};
    if (!vk_json_to_yaml(v, &b)) {
        json_t *back = vk_yaml_to_json(b.data, b.len, err, sizeof err);
        if (!back || !same(back, v))
            abort();
        json_decref(back);
    }
    vk_buf_free(&b);
    json_decref(v);
    return 0;
}
