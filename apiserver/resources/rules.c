/* Field rules and Table cells several kinds share (rules.h). */
#include "apiserver/resources/rules.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/registry/common.h"
#include "apiserver/registry/selector.h"
#include "apiserver/resources/quantity.h"
#include "common/buf.h"

json_t *vk_at(const json_t *o, const char *path)
{
    const json_t *v = o;
    char k[128];
    for (const char *p = path; v && *p;) {
        size_t n = strcspn(p, ".");
        snprintf(k, sizeof k, "%.*s", (int)n, p);
        v = json_object_get(v, k);
        p += n + (p[n] == '.');
    }
    return (json_t *)v;
}

const char *vk_str_at(const json_t *o, const char *path)
{
    const char *s = json_string_value(vk_at(o, path));
    return s ? s : "";
}

void vk_err_not_supported(vk_errlist *e, const char *field, const char *v,
                          const char *const *values)
{
    vk_buf b = {0};
    vk_buf_printf(&b, "Unsupported value: \"%s\": supported values: ", v);
    for (int i = 0; values[i]; i++)
        vk_buf_printf(&b, "%s\"%s\"", i ? ", " : "", values[i]);
    vk_errlist_add(e, "FieldValueNotSupported", field, b.data);
    vk_buf_free(&b);
}

void vk_err_forbidden(vk_errlist *e, const char *field, const char *detail)
{
    char msg[1024];
    snprintf(msg, sizeof msg, "Forbidden: %s", detail);
    vk_errlist_add(e, "FieldValueForbidden", field, msg);
}

void vk_err_duplicate(vk_errlist *e, const char *field, const json_t *v)
{
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    char msg[1024];
    snprintf(msg, sizeof msg, "Duplicate value: %s", s ? s : "null");
    free(s);
    vk_errlist_add(e, "FieldValueDuplicate", field, msg);
}

void vk_err_immutable(vk_errlist *e, const json_t *obj, const json_t *old, const char *path,
                      const char *field)
{
    json_t *a = vk_at(obj, path), *b = vk_at(old, path);
    if ((a || b) && !json_equal(a, b))
        vk_err_invalid(e, field, a ? a : json_null(), "field is immutable");
}

static const char *const label_value_msg =
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
static const char *const name_part_msg =
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and "
    "end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex "
    "used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

static bool name_part_ok(const char *v, size_t n)
{
    if (!n || !isalnum((unsigned char)v[0]) || !isalnum((unsigned char)v[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)v[i]) && !strchr("-_.", v[i]))
            return false;
    return true;
}

static void invalid_s(vk_errlist *e, const char *field, const char *v, const char *detail)
{
    json_t *j = json_string(v);
    vk_err_invalid(e, field, j, detail);
    json_decref(j);
}

void vk_check_label_name(vk_errlist *e, const char *field, const char *v)
{
    const char *slash = strchr(v, '/');
    const char *name = slash ? slash + 1 : v;
    if (slash) {
        char prefix[512];
        snprintf(prefix, sizeof prefix, "%.*s", (int)(slash - v), v);
        if (!*prefix)
            invalid_s(e, field, v, "prefix part must be non-empty");
        else if (!vk_is_dns1123_subdomain(prefix))
            invalid_s(e, field, v,
                      "prefix part a lowercase RFC 1123 subdomain must consist of "
                      "lower case alphanumeric characters, '-' or '.', and must "
                      "start and end with an alphanumeric character (e.g. "
                      "'example.com', regex used for validation is "
                      "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9]"
                      ")?)*')");
    }
    size_t n = strlen(name);
    if (!n)
        invalid_s(e, field, v, "name part must be non-empty");
    else if (n > 63)
        invalid_s(e, field, v, "name part must be no more than 63 characters");
    if (n && !name_part_ok(name, n))
        invalid_s(e, field, v, name_part_msg);
}

void vk_check_label_value(vk_errlist *e, const char *field, const char *v)
{
    size_t n = strlen(v);
    if (n > 63)
        invalid_s(e, field, v, "must be no more than 63 characters");
    if (n && !name_part_ok(v, n))
        invalid_s(e, field, v, label_value_msg);
}

void vk_check_subdomain(vk_errlist *e, const char *field, const char *v)
{
    const char *why = vk_name_invalid(VK_NAME_SUBDOMAIN, v);
    if (why)
        invalid_s(e, field, v, why);
}

int vk_check_cidr(vk_errlist *e, const char *field, const char *v)
{
    const char *slash = strchr(v, '/');
    char ip[64];
    unsigned char a[16];
    int fam = 0;
    if (slash && (size_t)(slash - v) < sizeof ip) {
        snprintf(ip, sizeof ip, "%.*s", (int)(slash - v), v);
        fam = strchr(ip, ':') ? 6 : 4;
    }
    const char *p = slash ? slash + 1 : "";
    bool digits = *p && strspn(p, "0123456789") == strlen(p) && strlen(p) <= 3;
    int len = digits ? atoi(p) : -1;
    if (!fam || !digits || len > (fam == 4 ? 32 : 128)) {
        invalid_s(e, field, v, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)");
        return -1;
    }
    bool lead0 = p[0] == '0' && p[1];
    if (fam == 4) {
        /* Go's sloppy parser takes leading zeros; the strict rule refuses them. */
        char clean[64];
        size_t o = 0;
        int parts = 0;
        for (const char *q = ip; *q;) {
            size_t n = strspn(q, "0123456789");
            if (!n || n > 3)
                break;
            if (n > 1 && q[0] == '0')
                lead0 = true;
            while (n > 1 && q[0] == '0')
                q++, n--;
            o += (size_t)snprintf(clean + o, sizeof clean - o, "%.*s", (int)n, q);
            q += n;
            parts++;
            if (*q == '.' && parts < 4)
                clean[o++] = *q++, clean[o] = 0;
            else if (*q)
                parts = 99;
        }
        if (parts != 4 || inet_pton(AF_INET, clean, a) != 1) {
            invalid_s(e, field, v,
                      "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)");
            return -1;
        }
    } else if (inet_pton(AF_INET6, ip, a) != 1) {
        invalid_s(e, field, v, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)");
        return -1;
    }
    if (lead0) {
        invalid_s(e, field, v, "must not have leading 0s in IP or prefix length");
        return -1;
    }
    static const unsigned char v4in6[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (fam == 6 && !memcmp(a, v4in6, 12)) {
        invalid_s(e, field, v, "must not have an IPv4-mapped IPv6 address");
        return -1;
    }
    int bytes = fam == 4 ? 4 : 16;
    for (int bit = len; bit < bytes * 8; bit++)
        if (a[bit / 8] & (0x80 >> (bit % 8))) {
            invalid_s(e, field, v, "must not have bits set beyond the prefix length");
            return -1;
        }
    return fam;
}

void vk_check_nonnegative(vk_errlist *e, const char *field, const json_t *v)
{
    if (json_is_integer(v) && json_integer_value(v) < 0)
        vk_err_invalid(e, field, v, "must be greater than or equal to 0");
}

json_t *vk_access_modes_string(const json_t *modes)
{
    static const char *const order[][2] = {{"ReadWriteOnce", "RWO"},
                                           {"ReadOnlyMany", "ROX"},
                                           {"ReadWriteMany", "RWX"},
                                           {"ReadWriteOncePod", "RWOP"}};
    vk_buf b = {0};
    vk_buf_printf(&b, "%s", "");
    for (size_t i = 0; i < 4; i++) {
        size_t j;
        json_t *m;
        json_array_foreach(modes, j, m)
        {
            if (json_is_string(m) && !strcmp(json_string_value(m), order[i][0])) {
                vk_buf_printf(&b, "%s%s", b.len ? "," : "", order[i][1]);
                break;
            }
        }
    }
    json_t *s = json_string(b.data ? b.data : "");
    vk_buf_free(&b);
    return s;
}

json_t *vk_cell_str(const json_t *obj, const char *path)
{
    return json_string(vk_str_at(obj, path));
}

json_t *vk_cell_label_selector(const json_t *sel)
{
    json_t *s = vk_label_selector_format(sel);
    if (!json_string_length(s)) {
        json_decref(s);
        return json_string("<none>");
    }
    return s;
}

json_t *vk_cell_quantity(const json_t *list, const char *key)
{
    json_t *v = json_object_get(list, key);
    if (!v)
        return json_string("0");
    json_t *tmp = json_pack("{s:O}", "q", v);
    vk_quantities_canonical(tmp);
    json_t *out = json_incref(json_object_get(tmp, "q"));
    json_decref(tmp);
    return json_is_string(out) ? out : (json_decref(out), json_string(""));
}

json_t *vk_cell_storage_class(const json_t *o)
{
    json_t *a = json_object_get(vk_at(o, "metadata.annotations"),
                                "volume.beta.kubernetes.io/storage-class");
    if (json_is_string(a))
        return json_incref(a);
    return vk_cell_str(o, "spec.storageClassName");
}

json_t *vk_cell_unset(const json_t *o, const char *path)
{
    json_t *v = vk_at(o, path);
    return json_is_string(v) ? json_incref(v) : json_string("<unset>");
}

void vk_check_access_modes(vk_errlist *e, const json_t *modes, const char *required_detail)
{
    static const char *const known_modes[] = {"ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce",
                                              "ReadWriteOncePod", NULL};
    if (!json_array_size(modes))
        vk_err_required(e, "spec.accessModes", required_detail);
    size_t i;
    json_t *m;
    bool rwop = false, other = false;
    json_array_foreach(modes, i, m)
    {
        const char *s = json_string_value(m) ? json_string_value(m) : "";
        bool known = false;
        for (int k = 0; known_modes[k]; k++)
            known |= !strcmp(s, known_modes[k]);
        if (!known)
            vk_err_not_supported(e, "spec.accessModes", s, known_modes);
        else if (!strcmp(s, "ReadWriteOncePod"))
            rwop = true;
        else
            other = true;
    }
    if (rwop && other)
        vk_err_forbidden(e, "spec.accessModes",
                         "may not use ReadWriteOncePod with other access modes");
}
