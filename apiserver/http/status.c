#include "apiserver/http/status.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/codec/negotiate.h"
#include "apiserver/codec/protobuf.h"
#include "apiserver/codec/yaml.h"
#include "common/buf.h"
#include "common/err.h"

static const struct {
    int err, code;
    const char *reason;
} err_table[] = {
    {VK_ENOTFOUND, 404, "NotFound"},
    {VK_EEXIST, 409, "AlreadyExists"},
    {VK_ECONFLICT, 409, "Conflict"},
    {VK_EINVALID, 422, "Invalid"},
    {VK_EGONE, 410, "Expired"},
    {VK_EFULL, 507, "InternalError"},
    {VK_ETOOLARGE, 413, "RequestEntityTooLarge"},
    {-ENOMEM, 500, "InternalError"},
};

void vk_err_status(int err, int *code, const char **reason)
{
    for (size_t i = 0; i < sizeof err_table / sizeof err_table[0]; i++) {
        if (err_table[i].err == err) {
            *code = err_table[i].code;
            *reason = err_table[i].reason;
            return;
        }
    }
    *code = 500;
    *reason = "InternalError";
}

json_t *vk_status_new(int code, const char *reason, const char *message, json_t *details)
{
    json_t *st = json_object();
    json_t *meta = json_object();
    if (!st || !meta) {
        json_decref(st);
        json_decref(meta);
        json_decref(details);
        return NULL;
    }
    json_object_set_new(st, "kind", json_string("Status"));
    json_object_set_new(st, "apiVersion", json_string("v1"));
    json_object_set_new(st, "metadata", meta);
    json_object_set_new(st, "status", json_string(code >= 400 ? "Failure" : "Success"));
    if (message && *message)
        json_object_set_new(st, "message", json_string(message));
    if (reason && *reason)
        json_object_set_new(st, "reason", json_string(reason));
    if (details)
        json_object_set_new(st, "details", details);
    json_object_set_new(st, "code", json_integer(code));
    return st;
}

json_t *vk_status_details(const char *name, const char *group, const char *kind)
{
    json_t *d = json_object();
    if (!d)
        return NULL;
    if (name && *name)
        json_object_set_new(d, "name", json_string(name));
    if (group && *group)
        json_object_set_new(d, "group", json_string(group));
    if (kind && *kind)
        json_object_set_new(d, "kind", json_string(kind));
    return d;
}

static bool truthy(const char *v)
{
    return v && (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "True") ||
                 !strcmp(v, "TRUE") || !strcmp(v, "t") || !strcmp(v, "T"));
}

bool vk_want_pretty(vk_req *r)
{
    if (truthy(vk_req_query(r, "pretty")))
        return true;
    const char *ua = vk_req_header(r, "user-agent");
    return ua &&
           (!strncmp(ua, "curl", 4) || !strncmp(ua, "Wget", 4) || !strncmp(ua, "Mozilla/5.0", 11));
}

static int dump_cb(const char *p, size_t n, void *data)
{
    return vk_buf_append(data, p, n) ? -1 : 0;
}

int vk_send_json(vk_req *r, int code, const json_t *obj, bool pretty)
{
    vk_buf b = {0};
    if (r->reply_yaml) {
        int rc = vk_json_to_yaml(obj, &b)
                     ? vk_resp_send(r, 500, "text/plain; charset=utf-8", "out of memory", 13)
                     : vk_resp_send(r, code, VK_MEDIA_YAML, b.data, b.len);
        vk_buf_free(&b);
        return rc;
    }
    size_t flags =
        JSON_ENCODE_ANY | JSON_REAL_PRECISION(17) | (pretty ? JSON_INDENT(2) : JSON_COMPACT);
    if (json_dump_callback(obj, dump_cb, &b, flags) || (!pretty && vk_buf_puts(&b, "\n"))) {
        vk_buf_free(&b);
        return vk_resp_send(r, 500, "text/plain; charset=utf-8", "out of memory", 13);
    }
    int rc = vk_resp_send(r, code, "application/json", b.data, b.len);
    vk_buf_free(&b);
    return rc;
}

int vk_send_object(vk_req *r, int code, const json_t *obj, int fmt)
{
    if (fmt == VK_FMT_PROTOBUF) {
        vk_buf b = {0};
        if (!vk_pb_encode_object(obj, &b)) {
            int rc = vk_resp_send(r, code, VK_MEDIA_PROTOBUF, b.data, b.len);
            vk_buf_free(&b);
            return rc;
        }
        vk_buf_free(&b);
    }
    return vk_send_json(r, code, obj, vk_want_pretty(r));
}

int vk_send_status(vk_req *r, json_t *status)
{
    if (!status)
        return vk_resp_send(r, 500, "text/plain; charset=utf-8", "out of memory", 13);
    int code = (int)json_integer_value(json_object_get(status, "code"));
    json_t *retry = json_object_get(json_object_get(status, "details"), "retryAfterSeconds");
    if (json_integer_value(retry) > 0) {
        char v[24];
        snprintf(v, sizeof v, "%lld", (long long)json_integer_value(retry));
        vk_resp_header(r, "retry-after", v);
    }
    vk_resp_header(r, "x-content-type-options", "nosniff");
    vk_accept acc;
    int fmt = vk_negotiate(vk_req_header(r, "accept"), false, false, &acc) ? VK_FMT_JSON
                                                                           : (int)acc.format;
    int rc = vk_send_object(r, code ? code : 500, status, fmt);
    json_decref(status);
    return rc;
}

int vk_send_error(vk_req *r, int code, const char *reason, const char *fmt, ...)
{
    vk_buf msg = {0};
    va_list ap;
    va_start(ap, fmt);
    vk_buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    int rc = vk_send_status(r, vk_status_new(code, reason, msg.data ? msg.data : "", NULL));
    vk_buf_free(&msg);
    return rc;
}

int vk_send_not_found(vk_req *r)
{
    static const char body[] = "404 page not found\n";
    vk_resp_header(r, "x-content-type-options", "nosniff");
    return vk_resp_send(r, 404, "text/plain; charset=utf-8", body, sizeof body - 1);
}
