/* Backend-independent parts of vk_store: keys, the resourceVersion splice, and the
 * wrappers that dispatch to a backend's vtable. */
#include "storage/store.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"

const uint64_t vk_stats_lat_bounds_us[VK_STATS_LAT_BUCKETS] = {
    100,   250,   500,    1000,   2500,   5000,    10000,
    25000, 50000, 100000, 250000, 500000, 1000000, UINT64_MAX};
const uint64_t vk_stats_batch_bounds[VK_STATS_BATCH_BUCKETS] = {
    1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, UINT64_MAX};

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

int vk_key_prefix(void *out, size_t cap, uint32_t resource, const char *ns)
{
    size_t ns_len = ns ? strlen(ns) : 0;
    size_t n = 4 + (ns ? ns_len + 1 : 0);
    if (cap > VK_KEY_MAX)
        cap = VK_KEY_MAX;
    if (n > cap)
        return VK_ETOOLARGE;
    uint8_t *p = out;
    put_be32(p, resource);
    if (ns) {
        memcpy(p + 4, ns, ns_len);
        p[4 + ns_len] = 0;
    }
    return (int)n;
}

int vk_key_build(void *out, size_t cap, uint32_t resource, const char *ns, const char *name)
{
    if (!name || !*name)
        return VK_EINVALID;
    size_t ns_len = ns ? strlen(ns) : 0, name_len = strlen(name);
    size_t n = 4 + ns_len + 1 + name_len;
    if (cap > VK_KEY_MAX)
        cap = VK_KEY_MAX;
    if (n > cap)
        return VK_ETOOLARGE;
    uint8_t *p = out;
    put_be32(p, resource);
    memcpy(p + 4, ns ? ns : "", ns_len);
    p[4 + ns_len] = 0;
    memcpy(p + 5 + ns_len, name, name_len);
    return (int)n;
}

int vk_key_parse(const void *key, size_t len, uint32_t *resource, const char **ns, size_t *ns_len,
                 const char **name, size_t *name_len)
{
    const uint8_t *p = key;
    if (len < 6 || len > VK_KEY_MAX)
        return VK_EINVALID;
    const uint8_t *z = memchr(p + 4, 0, len - 4);
    if (!z || z == p + len - 1)
        return VK_EINVALID;
    *resource = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    *ns = (const char *)p + 4;
    *ns_len = (size_t)(z - (p + 4));
    *name = (const char *)z + 1;
    *name_len = len - (size_t)(z + 1 - p);
    return 0;
}

/* A string no Kubernetes object carries; found exactly once after the dump. */
static const char rv_sentinel[] = "\x7fvk-rv-sentinel\x7f";

int vk_store_encode_json(json_t *obj, vk_buf *out, size_t *rv_off)
{
    json_t *meta = json_is_object(obj) ? json_object_get(obj, "metadata") : NULL;
    if (!json_is_object(meta))
        return VK_EINVALID;
    json_t *old = json_object_get(meta, "resourceVersion");
    if (old)
        json_incref(old);
    json_t *s = json_string(rv_sentinel);
    if (!s || json_object_set_new(meta, "resourceVersion", s)) {
        json_decref(old);
        return -ENOMEM;
    }
    int r = 0;
    char *txt = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (old)
        json_object_set_new(meta, "resourceVersion", old); /* keeps its place */
    else
        json_object_del(meta, "resourceVersion");
    if (!txt)
        return -ENOMEM;
    /* jansson writes 0x7f as is; the sentinel's quotes are part of the pattern. */
    char pat[sizeof rv_sentinel + 2];
    snprintf(pat, sizeof pat, "\"%s\"", rv_sentinel);
    size_t len = strlen(txt), plen = strlen(pat);
    char *hit = memmem(txt, len, pat, plen);
    if (!hit || memmem(hit + 1, len - (size_t)(hit + 1 - txt), pat, plen)) {
        r = VK_EINVALID;
    } else {
        size_t off = (size_t)(hit - txt) + 1;
        size_t base = out->len;
        if (vk_buf_reserve(out, len - plen + 2)) {
            r = -ENOMEM;
        } else {
            vk_buf_append(out, txt, off);
            vk_buf_append(out, hit + plen - 1, len - (off + plen - 2));
            *rv_off = base + off;
        }
    }
    free(txt);
    return r;
}

int vk_json_insert_rv(vk_buf *out, const char *json, size_t len, size_t rv_off, uint64_t rev)
{
    if (rv_off == VK_NO_RV)
        return vk_buf_append(out, json, len);
    if (rv_off > len)
        return VK_EINVALID;
    char digits[24];
    int nd = snprintf(digits, sizeof digits, "%llu", (unsigned long long)rev);
    if (vk_buf_reserve(out, len + (size_t)nd))
        return -ENOMEM;
    vk_buf_append(out, json, rv_off);
    vk_buf_append(out, digits, (size_t)nd);
    vk_buf_append(out, json + rv_off, len - rv_off);
    return 0;
}

void vk_store_free(vk_store *s)
{
    if (s)
        s->ops->free(s);
}

int vk_store_get(vk_store *s, const void *key, size_t key_len, vk_buf *out, vk_obj_meta *meta)
{
    return s->ops->get(s, key, key_len, out, meta);
}

int vk_store_list(vk_store *s, const vk_list_opts *o, vk_list_visit_fn fn, void *ud,
                  vk_list_info *info)
{
    return s->ops->list(s, o, fn, ud, info);
}

int vk_store_submit(vk_store *s, const vk_op *ops, size_t n, vk_store_cb cb, void *ud)
{
    return s->ops->submit(s, ops, n, cb, ud);
}

uint64_t vk_store_revision(vk_store *s)
{
    return s->ops->revision(s);
}

int vk_store_compact(vk_store *s, uint64_t rev)
{
    return s->ops->compact(s, rev);
}

void vk_store_stats_get(vk_store *s, vk_store_stats *st)
{
    s->ops->stats(s, st);
}

int vk_store_count(vk_store *s, uint32_t resource, uint64_t *n)
{
    return s->ops->count(s, resource, n);
}

struct vk_hub *vk_store_hub(vk_store *s)
{
    return s->ops->hub(s);
}
