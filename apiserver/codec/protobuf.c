/* Kubernetes protobuf <-> JSON (see protobuf.h for the rules).
 *
 * Decoding unpacks with protobuf-c (which rejects malformed input) and walks the C
 * structs through the descriptors' offsets. Encoding writes the wire format directly:
 * each nested message is written in place, then its length is inserted before it. */
#include "apiserver/codec/protobuf.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/err.h"

typedef const ProtobufCMessageDescriptor pbdesc;
typedef const ProtobufCFieldDescriptor pbfield;

/* ---- the type table ---- */

static int type_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const vk_pb_type *)elem)->name);
}

static const vk_pb_type *type_named(const char *name)
{
    return bsearch(name, vk_pb_types, vk_pb_ntypes, sizeof(vk_pb_type), type_cmp);
}

static const vk_pb_type *type_of(pbdesc *d)
{
    return type_named(d->name);
}

const ProtobufCMessageDescriptor *vk_pb_lookup_name(const char *full_name)
{
    const vk_pb_type *t = full_name ? type_named(full_name) : NULL;
    return t ? t->desc : NULL;
}

/* API group -> protobuf package prefix (the package is prefix.version). */
static const struct {
    const char *group, *pkg;
} groups[] = {
    {"", "k8s.io.api.core"},
    {"admissionregistration.k8s.io", "k8s.io.api.admissionregistration"},
    {"apidiscovery.k8s.io", "k8s.io.api.apidiscovery"},
    {"apiextensions.k8s.io", "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions"},
    {"apps", "k8s.io.api.apps"},
    {"authentication.k8s.io", "k8s.io.api.authentication"},
    {"authorization.k8s.io", "k8s.io.api.authorization"},
    {"autoscaling", "k8s.io.api.autoscaling"},
    {"batch", "k8s.io.api.batch"},
    {"certificates.k8s.io", "k8s.io.api.certificates"},
    {"coordination.k8s.io", "k8s.io.api.coordination"},
    {"discovery.k8s.io", "k8s.io.api.discovery"},
    {"events.k8s.io", "k8s.io.api.events"},
    {"flowcontrol.apiserver.k8s.io", "k8s.io.api.flowcontrol"},
    {"internal.apiserver.k8s.io", "k8s.io.api.apiserverinternal"},
    {"meta.k8s.io", "k8s.io.apimachinery.pkg.apis.meta"},
    {"networking.k8s.io", "k8s.io.api.networking"},
    {"node.k8s.io", "k8s.io.api.node"},
    {"policy", "k8s.io.api.policy"},
    {"rbac.authorization.k8s.io", "k8s.io.api.rbac"},
    {"resource.k8s.io", "k8s.io.api.resource"},
    {"scheduling.k8s.io", "k8s.io.api.scheduling"},
    {"storage.k8s.io", "k8s.io.api.storage"},
    {"storagemigration.k8s.io", "k8s.io.api.storagemigration"},
};

#define META_V1 "k8s.io.apimachinery.pkg.apis.meta.v1"

const ProtobufCMessageDescriptor *vk_pb_lookup(const char *group, const char *version,
                                               const char *kind)
{
    char name[256];
    if (!group || !version || !kind || !*version || !*kind)
        return NULL;
    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
        if (strcmp(groups[i].group, group) != 0)
            continue;
        int n = snprintf(name, sizeof(name), "%s.%s.%s", groups[i].pkg, version, kind);
        if (n > 0 && (size_t)n < sizeof(name)) {
            const ProtobufCMessageDescriptor *d = vk_pb_lookup_name(name);
            if (d)
                return d;
        }
        break;
    }
    /* metav1.AddToGroupVersion puts Status, WatchEvent, the options... in every group. */
    int n = snprintf(name, sizeof(name), META_V1 ".%s", kind);
    if (n <= 0 || (size_t)n >= sizeof(name))
        return NULL;
    const ProtobufCMessageDescriptor *d = vk_pb_lookup_name(name);
    /* Not the special-typed helpers (Time...), which are no kinds. */
    const vk_pb_type *t = d ? type_of(d) : NULL;
    return t && t->special == VK_PB_SP_NONE ? d : NULL;
}

/* ---- small helpers ---- */

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static json_t *b64_encode(const uint8_t *p, size_t n)
{
    size_t olen = (n + 2) / 3 * 4;
    char *s = malloc(olen + 1);
    if (!s)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        s[o++] = b64chars[(v >> 18) & 63];
        s[o++] = b64chars[(v >> 12) & 63];
        s[o++] = i + 1 < n ? b64chars[(v >> 6) & 63] : '=';
        s[o++] = i + 2 < n ? b64chars[v & 63] : '=';
    }
    json_t *j = json_stringn(s, o);
    free(s);
    return j;
}

/* Go's base64.StdEncoding: padding required; \r and \n ignored. */
static int b64_decode(const char *s, size_t n, vk_buf *out)
{
    uint32_t acc = 0;
    int bits = 0, pad = 0, nchars = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\r' || c == '\n')
            continue;
        int v;
        if (c == '=') {
            pad++;
            nchars++;
            continue;
        }
        if (pad)
            return VK_EINVALID;
        const char *q = memchr(b64chars, c, 64);
        if (!q || c == 0)
            return VK_EINVALID;
        v = (int)(q - b64chars);
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        nchars++;
        if (bits >= 8) {
            bits -= 8;
            uint8_t byte = (uint8_t)(acc >> bits);
            if (vk_buf_append(out, &byte, 1))
                return -ENOMEM;
        }
    }
    if (nchars % 4 != 0 || pad > 2 || (bits > 0 && (acc & ((1u << bits) - 1)) != 0))
        return VK_EINVALID;
    return 0;
}

static int put_varint(vk_buf *b, uint64_t v)
{
    uint8_t tmp[10];
    int n = 0;
    while (v >= 0x80) {
        tmp[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (uint8_t)v;
    return vk_buf_append(b, tmp, (size_t)n);
}

static int put_tag(vk_buf *b, uint32_t num, int wt)
{
    return put_varint(b, ((uint64_t)num << 3) | (uint64_t)wt);
}

static int put_bytes(vk_buf *b, uint32_t num, const void *p, size_t n)
{
    if (put_tag(b, num, 2) || put_varint(b, n) || vk_buf_append(b, p, n))
        return -ENOMEM;
    return 0;
}

/* Inserts the varint length of b->data[off..len) at off. */
static int close_len(vk_buf *b, size_t off)
{
    size_t len = b->len - off;
    uint8_t tmp[10];
    int n = 0;
    uint64_t v = len;
    while (v >= 0x80) {
        tmp[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (uint8_t)v;
    if (vk_buf_reserve(b, (size_t)n))
        return -ENOMEM;
    memmove(b->data + off + n, b->data + off, len);
    memcpy(b->data + off, tmp, (size_t)n);
    b->len += (size_t)n;
    b->data[b->len] = 0;
    return 0;
}

static int get_varint(const uint8_t *p, size_t n, size_t *pos, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && *pos < n; shift += 7) {
        uint8_t c = p[(*pos)++];
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return VK_EINVALID;
}

/* ---- time and duration formats ---- */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* RFC 3339 in UTC; micro >= 0 adds six fractional digits. Go refuses years outside
 * 0000-9999 in MarshalJSON, and so do we. */
static json_t *time_json(int64_t sec, int32_t nanos, bool micro)
{
    /* time.Unix normalises nanos into [0, 1e9). */
    sec += nanos / 1000000000;
    nanos %= 1000000000;
    if (nanos < 0) {
        nanos += 1000000000;
        sec--;
    }
    if (sec < -62167219200LL || sec > 253402300799LL)
        return NULL;
    int64_t days = sec >= 0 ? sec / 86400 : -((-sec + 86399) / 86400);
    int64_t rem = sec - days * 86400;
    int64_t y;
    unsigned mo, d;
    civil_from_days(days, &y, &mo, &d);
    char s[40];
    int n = snprintf(s, sizeof(s), "%04d-%02u-%02uT%02d:%02d:%02d", (int)y, mo, d,
                     (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60));
    if (micro)
        n += snprintf(s + n, sizeof(s) - (size_t)n, ".%06d", (int)(nanos / 1000));
    s[n++] = 'Z';
    return json_stringn(s, (size_t)n);
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* Parses RFC 3339 ("2006-01-02T15:04:05.999999999Z07:00") into seconds and nanos. */
static int time_parse(const char *s, size_t len, int64_t *sec, int32_t *nanos)
{
    int Y, M, D, h, m, sc, oh = 0, om = 0;
    if (len < 20 || digits(s, 4, &Y) || s[4] != '-' || digits(s + 5, 2, &M) || s[7] != '-' ||
        digits(s + 8, 2, &D) || (s[10] != 'T' && s[10] != 't') || digits(s + 11, 2, &h) ||
        s[13] != ':' || digits(s + 14, 2, &m) || s[16] != ':' || digits(s + 17, 2, &sc))
        return VK_EINVALID;
    size_t i = 19;
    int32_t ns = 0;
    if (s[i] == '.') {
        int nd = 0;
        i++;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (nd < 9) {
                ns = ns * 10 + (s[i] - '0');
                nd++;
            }
            i++;
        }
        if (nd == 0)
            return VK_EINVALID;
        for (; nd < 9; nd++)
            ns *= 10;
    }
    if (i >= len)
        return VK_EINVALID;
    int sign = 0;
    if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == len) {
        sign = 0;
    } else if ((s[i] == '+' || s[i] == '-') && i + 6 == len && !digits(s + i + 1, 2, &oh) &&
               s[i + 3] == ':' && !digits(s + i + 4, 2, &om)) {
        sign = s[i] == '+' ? 1 : -1;
        if (oh > 23 || om > 59)
            return VK_EINVALID;
    } else {
        return VK_EINVALID;
    }
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (M < 1 || M > 12 || D < 1 || D > mdays[M - 1] || h > 23 || m > 59 || sc > 59)
        return VK_EINVALID;
    bool leap = (Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0;
    if (M == 2 && D == 29 && !leap)
        return VK_EINVALID;
    *sec = days_from_civil(Y, (unsigned)M, (unsigned)D) * 86400 + h * 3600 + m * 60 + sc -
           sign * (oh * 3600 + om * 60);
    *nanos = ns;
    return 0;
}

/* Go's time.Duration.String. */
static json_t *duration_json(int64_t d)
{
    char buf[40];
    int w = sizeof(buf);
    uint64_t u = (uint64_t)d;
    bool neg = d < 0;
    if (neg)
        u = -u;
#define PUT(c) (buf[--w] = (char)(c))
    int prec;
    if (u < 1000000000ULL) {
        PUT('s');
        if (u == 0) {
            PUT('0');
            return json_stringn(buf + w, sizeof(buf) - (size_t)w);
        } else if (u < 1000ULL) {
            prec = 0;
            PUT('n');
        } else if (u < 1000000ULL) {
            prec = 3;
            PUT('\xb5');
            PUT('\xc2'); /* µ */
        } else {
            prec = 6;
            PUT('m');
        }
    } else {
        prec = 9;
        PUT('s');
    }
    bool print = false;
    for (int i = 0; i < prec; i++) {
        unsigned digit = (unsigned)(u % 10);
        print = print || digit != 0;
        if (print)
            PUT('0' + digit);
        u /= 10;
    }
    if (print)
        PUT('.');
    if (prec == 9) {
        uint64_t s = u % 60;
        do {
            PUT('0' + s % 10);
            s /= 10;
        } while (s);
        u /= 60;
        if (u > 0) {
            PUT('m');
            uint64_t mi = u % 60;
            do {
                PUT('0' + mi % 10);
                mi /= 10;
            } while (mi);
            u /= 60;
            if (u > 0) {
                PUT('h');
                do {
                    PUT('0' + u % 10);
                    u /= 10;
                } while (u);
            }
        }
    } else {
        do {
            PUT('0' + u % 10);
            u /= 10;
        } while (u);
    }
    if (neg)
        PUT('-');
#undef PUT
    return json_stringn(buf + w, sizeof(buf) - (size_t)w);
}

/* Go's time.ParseDuration. */
static int duration_parse(const char *s, size_t n, int64_t *out)
{
    static const struct {
        const char *u;
        uint64_t ns;
    } units[] = {
        {"ns", 1},       {"us", 1000},         {"\xc2\xb5s", 1000},   {"\xce\xbcs", 1000},
        {"ms", 1000000}, {"s", 1000000000ULL}, {"m", 60000000000ULL}, {"h", 3600000000000ULL}};
    size_t i = 0;
    bool neg = false;
    if (i < n && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    if (n - i == 1 && s[i] == '0') {
        *out = 0;
        return 0;
    }
    if (i == n)
        return VK_EINVALID;
    unsigned __int128 total = 0;
    while (i < n) {
        uint64_t whole = 0, frac = 0, scale = 1;
        size_t start = i;
        bool any = false;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            if (whole > (UINT64_MAX - 9) / 10)
                return VK_EINVALID;
            whole = whole * 10 + (uint64_t)(s[i++] - '0');
            any = true;
        }
        if (i < n && s[i] == '.') {
            i++;
            while (i < n && s[i] >= '0' && s[i] <= '9') {
                if (scale < 1000000000000000000ULL) {
                    frac = frac * 10 + (uint64_t)(s[i] - '0');
                    scale *= 10;
                }
                i++;
                any = true;
            }
        }
        if (!any || i == start)
            return VK_EINVALID;
        size_t us = i;
        while (i < n && s[i] != '.' && !(s[i] >= '0' && s[i] <= '9'))
            i++;
        uint64_t unit = 0;
        for (size_t k = 0; k < sizeof(units) / sizeof(units[0]); k++)
            if (strlen(units[k].u) == i - us && !memcmp(units[k].u, s + us, i - us))
                unit = units[k].ns;
        if (!unit)
            return VK_EINVALID;
        total += (unsigned __int128)whole * unit + (unsigned __int128)frac * unit / scale;
        if (total > (unsigned __int128)INT64_MAX + (neg ? 1 : 0))
            return VK_EINVALID;
    }
    *out = neg ? (int64_t)(0 - (uint64_t)total) : (int64_t)total;
    return 0;
}

/* ---- decoding: C structs -> JSON ---- */

static const void *member(const ProtobufCMessage *m, pbfield *f)
{
    return (const char *)m + f->offset;
}

static size_t elem_size(pbfield *f)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
        return sizeof(int32_t);
    case PROTOBUF_C_TYPE_INT64:
        return sizeof(int64_t);
    case PROTOBUF_C_TYPE_DOUBLE:
        return sizeof(double);
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    default:
        return sizeof(void *);
    }
}

static size_t rep_count(const ProtobufCMessage *m, pbfield *f)
{
    return m ? *(const size_t *)((const char *)m + f->quantifier_offset) : 0;
}

static const void *rep_elem(const ProtobufCMessage *m, pbfield *f, size_t i)
{
    const char *base = *(const char *const *)member(m, f);
    return base + i * elem_size(f);
}

static bool present(const ProtobufCMessage *m, pbfield *f)
{
    if (!m)
        return false;
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return rep_count(m, f) > 0;
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE:
        return *(const void *const *)member(m, f) != NULL;
    default:
        if (f->label == PROTOBUF_C_LABEL_OPTIONAL)
            return *(const protobuf_c_boolean *)((const char *)m + f->quantifier_offset);
        return true;
    }
}

/* The value at p (NULL: the zero value) is zero, as omitempty sees it. */
static bool scalar_zero(pbfield *f, const void *p)
{
    if (!p)
        return true;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
        return *(const int32_t *)p == 0;
    case PROTOBUF_C_TYPE_INT64:
        return *(const int64_t *)p == 0;
    case PROTOBUF_C_TYPE_DOUBLE:
        return *(const double *)p == 0;
    case PROTOBUF_C_TYPE_BOOL:
        return !*(const protobuf_c_boolean *)p;
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(const char *const *)p;
        return !s || !*s;
    }
    case PROTOBUF_C_TYPE_BYTES:
        return ((const ProtobufCBinaryData *)p)->len == 0;
    default:
        return *(const void *const *)p == NULL;
    }
}

static int msg_json(pbdesc *d, const ProtobufCMessage *m, int depth, json_t **out);

/* Field number num of m, as a scalar pointer, or NULL when absent. */
static const void *field_ptr(pbdesc *d, const ProtobufCMessage *m, unsigned num, pbfield **fo)
{
    pbfield *f = protobuf_c_message_descriptor_get_field(d, num);
    if (fo)
        *fo = f;
    if (!f || !present(m, f))
        return NULL;
    return member(m, f);
}

static int64_t field_i64(pbdesc *d, const ProtobufCMessage *m, unsigned num)
{
    pbfield *f;
    const void *p = field_ptr(d, m, num, &f);
    if (!p)
        return 0;
    return f->type == PROTOBUF_C_TYPE_INT64 ? *(const int64_t *)p : *(const int32_t *)p;
}

static const char *field_str(pbdesc *d, const ProtobufCMessage *m, unsigned num)
{
    const void *p = field_ptr(d, m, num, NULL);
    return p ? *(const char *const *)p : NULL;
}

/* One value (p: scalar storage or a message pointer's address; NULL: zero value). */
static int value_json(pbfield *f, const void *p, int depth, json_t **out)
{
    json_t *j = NULL;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
        j = json_integer(p ? *(const int32_t *)p : 0);
        break;
    case PROTOBUF_C_TYPE_INT64:
        j = json_integer(p ? (json_int_t) * (const int64_t *)p : 0);
        break;
    case PROTOBUF_C_TYPE_DOUBLE: {
        /* Go prints integral float64s without a fraction: keep them integers. */
        double x = p ? *(const double *)p : 0;
        if (x != x || x == 1.0 / 0.0 || x == -1.0 / 0.0)
            return VK_EINVALID; /* Go's json refuses NaN and infinities */
        if (x == (double)(json_int_t)x && x > -1e18 && x < 1e18)
            j = json_integer((json_int_t)x);
        else
            j = json_real(x);
        break;
    }
    case PROTOBUF_C_TYPE_BOOL:
        j = json_boolean(p && *(const protobuf_c_boolean *)p);
        break;
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = p ? *(const char *const *)p : NULL;
        j = json_string(s ? s : "");
        if (!j)
            return VK_EINVALID; /* not UTF-8 */
        break;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *bd = p;
        j = b64_encode(bd ? bd->data : NULL, bd ? bd->len : 0);
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE:
        return msg_json(f->descriptor, p ? *(const ProtobufCMessage *const *)p : NULL, depth + 1,
                        out);
    default:
        return VK_EINVALID;
    }
    if (!j)
        return -ENOMEM;
    *out = j;
    return 0;
}

static int rep_json(const ProtobufCMessage *m, pbfield *f, int depth, json_t **out)
{
    json_t *a = json_array();
    if (!a)
        return -ENOMEM;
    size_t n = rep_count(m, f);
    for (size_t i = 0; i < n; i++) {
        json_t *e;
        int rc = value_json(f, rep_elem(m, f, i), depth, &e);
        if (rc == 0 && json_array_append_new(a, e))
            rc = -ENOMEM;
        if (rc) {
            json_decref(a);
            return rc;
        }
    }
    *out = a;
    return 0;
}

struct map_ent {
    const char *key;
    const ProtobufCMessage *entry;
};

static int ent_cmp(const void *a, const void *b)
{
    return strcmp(((const struct map_ent *)a)->key, ((const struct map_ent *)b)->key);
}

/* Map entries {1 key, 2 value} into an object with sorted keys. */
static int map_json(const ProtobufCMessage *m, pbfield *f, int depth, json_t **out)
{
    size_t n = rep_count(m, f);
    pbdesc *ed = f->descriptor;
    pbfield *vf = protobuf_c_message_descriptor_get_field(ed, 2);
    if (!vf)
        return VK_EINVALID;
    struct map_ent *ents = calloc(n ? n : 1, sizeof(*ents));
    json_t *o = json_object();
    int rc = ents && o ? 0 : -ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        ents[i].entry = *(const ProtobufCMessage *const *)rep_elem(m, f, i);
        const char *k = field_str(ed, ents[i].entry, 1);
        ents[i].key = k ? k : "";
    }
    if (rc == 0)
        qsort(ents, n, sizeof(*ents), ent_cmp);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        json_t *v;
        rc = value_json(vf, present(ents[i].entry, vf) ? member(ents[i].entry, vf) : NULL, depth,
                        &v);
        if (rc == 0 && json_object_set_new(o, ents[i].key, v))
            rc = VK_EINVALID; /* key not UTF-8 */
    }
    free(ents);
    if (rc) {
        json_decref(o);
        return rc;
    }
    *out = o;
    return 0;
}

/* Go's zero Time: an absent or empty Timestamp. */
static bool time_unset(pbdesc *d, const ProtobufCMessage *m)
{
    for (unsigned i = 0; m && i < d->n_fields; i++)
        if (present(m, &d->fields[i]))
            return false;
    return true;
}

static bool msg_zero(pbdesc *d, const ProtobufCMessage *m)
{
    if (!m)
        return true;
    for (unsigned i = 0; i < d->n_fields; i++) {
        pbfield *f = &d->fields[i];
        if (!present(m, f))
            continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED)
            return false;
        if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
            const vk_pb_type *t = type_of(f->descriptor);
            const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)member(m, f);
            /* A Time with any field set is not Go's zero time (Unix(0,0) is 1970). */
            if (t && (t->special == VK_PB_SP_TIME || t->special == VK_PB_SP_MICROTIME)) {
                if (!time_unset(f->descriptor, sub))
                    return false;
            } else if (!msg_zero(f->descriptor, sub))
                return false;
        } else if (!scalar_zero(f, member(m, f))) {
            return false;
        }
    }
    return true;
}

static int fields_json(const vk_pb_type *t, pbdesc *d, const ProtobufCMessage *m, int depth,
                       json_t *obj);

static int special_json(const vk_pb_type *t, pbdesc *d, const ProtobufCMessage *m, int depth,
                        json_t **out)
{
    json_t *j = NULL;
    switch (t->special) {
    case VK_PB_SP_TIME:
    case VK_PB_SP_MICROTIME:
        if (time_unset(d, m)) {
            j = json_null();
            break;
        }
        j = time_json(field_i64(d, m, 1), (int32_t)field_i64(d, m, 2),
                      t->special == VK_PB_SP_MICROTIME);
        if (!j)
            return VK_EINVALID;
        break;
    case VK_PB_SP_DURATION:
        j = duration_json(field_i64(d, m, 1));
        break;
    case VK_PB_SP_QUANTITY: {
        const char *s = field_str(d, m, 1);
        j = json_string(s && *s ? s : "0");
        if (!j)
            return VK_EINVALID;
        break;
    }
    case VK_PB_SP_INTORSTR:
        if (field_i64(d, m, 1) == 1) {
            const char *s = field_str(d, m, 3);
            j = json_string(s ? s : "");
            if (!j)
                return VK_EINVALID;
        } else {
            j = json_integer((int32_t)field_i64(d, m, 2));
        }
        break;
    case VK_PB_SP_RAWJSON: {
        const ProtobufCBinaryData *bd = field_ptr(d, m, 1, NULL);
        if (!bd || bd->len == 0) {
            j = json_null();
            break;
        }
        if (bd->len >= VK_PB_MAGIC_LEN && !memcmp(bd->data, VK_PB_MAGIC, VK_PB_MAGIC_LEN))
            return vk_pb_decode_object(bd->data, bd->len, out);
        j = json_loadb((const char *)bd->data, bd->len, JSON_DECODE_ANY, NULL);
        if (!j)
            return VK_EINVALID;
        break;
    }
    case VK_PB_SP_PROPS_OR_BOOL: {
        pbfield *sf;
        const void *schema = field_ptr(d, m, 2, &sf);
        if (schema)
            return value_json(sf, schema, depth, out);
        j = json_boolean(field_i64(d, m, 1) != 0);
        break;
    }
    case VK_PB_SP_PROPS_OR_ARRAY:
    case VK_PB_SP_PROPS_OR_STRARRAY: {
        pbfield *af = protobuf_c_message_descriptor_get_field(d, 2);
        pbfield *sf;
        if (af && rep_count(m, af) > 0)
            return rep_json(m, af, depth, out);
        const void *schema = field_ptr(d, m, 1, &sf);
        if (schema)
            return value_json(sf, schema, depth, out);
        j = json_null();
        break;
    }
    default:
        return VK_EINVALID;
    }
    if (!j)
        return -ENOMEM;
    *out = j;
    return 0;
}

#define MAX_DEPTH 200

/* The JSON of message m of type d (m NULL: the zero value). */
static int msg_json(pbdesc *d, const ProtobufCMessage *m, int depth, json_t **out)
{
    if (depth > MAX_DEPTH)
        return VK_EINVALID;
    const vk_pb_type *t = type_of(d);
    if (t && t->special)
        return special_json(t, d, m, depth, out);
    if (t && (t->flags & VK_PB_T_WRAPPER)) {
        pbfield *f = protobuf_c_message_descriptor_get_field(d, 1);
        if (!f)
            return VK_EINVALID;
        return rep_json(m, f, depth, out);
    }
    json_t *o = json_object();
    if (!o)
        return -ENOMEM;
    int rc = fields_json(t, d, m, depth, o);
    if (rc) {
        json_decref(o);
        return rc;
    }
    *out = o;
    return 0;
}

/* A protoc map entry message (XxxEntry {key, value}). */
static bool is_entry(pbdesc *d)
{
    size_t n = strlen(d->name);
    return d->n_fields == 2 && n > 5 && !strcmp(d->name + n - 5, "Entry");
}

/* A message without a Go shape: proto names, presence decides. */
static int generic_json(pbdesc *d, const ProtobufCMessage *m, int depth, json_t *obj)
{
    for (unsigned i = 0; i < d->n_fields; i++) {
        pbfield *f = &d->fields[i];
        if (!present(m, f))
            continue;
        json_t *v;
        int rc;
        if (f->label == PROTOBUF_C_LABEL_REPEATED && f->type == PROTOBUF_C_TYPE_MESSAGE &&
            is_entry(f->descriptor))
            rc = map_json(m, f, depth, &v);
        else if (f->label == PROTOBUF_C_LABEL_REPEATED)
            rc = rep_json(m, f, depth, &v);
        else
            rc = value_json(f, member(m, f), depth, &v);
        if (rc)
            return rc;
        if (json_object_set_new(obj, f->name, v))
            return -ENOMEM;
    }
    return 0;
}

/* A Go slice is repeated on the wire, or a message {items} for a named slice type;
 * the descriptor decides (struct tags say "opt" for some repeated fields). */
static int slice_kind(const vk_pb_field *sf, pbfield *f)
{
    if (sf->kind != VK_PB_K_SLICE && sf->kind != VK_PB_K_WRAP)
        return sf->kind;
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return VK_PB_K_SLICE;
    return f->type == PROTOBUF_C_TYPE_MESSAGE ? VK_PB_K_WRAP : -1;
}

static int fields_json(const vk_pb_type *t, pbdesc *d, const ProtobufCMessage *m, int depth,
                       json_t *obj)
{
    if (!t || !t->fields)
        return generic_json(d, m, depth, obj);
    for (unsigned i = 0; i < t->nfields; i++) {
        const vk_pb_field *sf = &t->fields[i];
        pbfield *f = protobuf_c_message_descriptor_get_field(d, sf->num);
        if (!f || (sf->flags & VK_PB_F_NOJSON))
            continue;
        bool has = present(m, f);
        bool omit = sf->flags & (VK_PB_F_OMITEMPTY | VK_PB_F_OMITZERO);
        json_t *v = NULL;
        int rc = 0;
        if (sf->flags & VK_PB_F_INLINE) {
            if (f->type != PROTOBUF_C_TYPE_MESSAGE)
                return VK_EINVALID;
            const ProtobufCMessage *sub =
                has ? *(const ProtobufCMessage *const *)member(m, f) : NULL;
            rc = fields_json(type_of(f->descriptor), f->descriptor, sub, depth + 1, obj);
            if (rc)
                return rc;
            continue;
        }
        switch (slice_kind(sf, f)) {
        case VK_PB_K_PTR:
            if (!has) {
                if (omit)
                    continue;
                v = json_null();
            } else {
                rc = value_json(f, member(m, f), depth, &v);
            }
            break;
        case VK_PB_K_VAL:
            if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
                const ProtobufCMessage *sub =
                    has ? *(const ProtobufCMessage *const *)member(m, f) : NULL;
                if ((sf->flags & VK_PB_F_OMITZERO) && msg_zero(f->descriptor, sub))
                    continue;
                rc = msg_json(f->descriptor, sub, depth + 1, &v);
            } else {
                const void *p = has ? member(m, f) : NULL;
                if ((sf->flags & VK_PB_F_OMITEMPTY) && scalar_zero(f, p))
                    continue;
                rc = value_json(f, p, depth, &v);
            }
            break;
        case VK_PB_K_SLICE:
        case VK_PB_K_MAP:
            if (!has) {
                if (omit)
                    continue;
                v = json_null();
            } else if (sf->kind == VK_PB_K_MAP) {
                rc = map_json(m, f, depth, &v);
            } else {
                rc = rep_json(m, f, depth, &v);
            }
            break;
        case VK_PB_K_BYTES:
            if (!has) {
                if (omit)
                    continue;
                v = json_null();
                break;
            }
            if (omit && ((const ProtobufCBinaryData *)member(m, f))->len == 0)
                continue;
            rc = value_json(f, member(m, f), depth, &v);
            break;
        case VK_PB_K_WRAP: {
            const ProtobufCMessage *sub =
                has ? *(const ProtobufCMessage *const *)member(m, f) : NULL;
            pbfield *items = protobuf_c_message_descriptor_get_field(f->descriptor, 1);
            if (!items)
                return VK_EINVALID;
            if (!sub) {
                if (omit)
                    continue;
                v = json_null();
                break;
            }
            if (omit && rep_count(sub, items) == 0)
                continue;
            rc = msg_json(f->descriptor, sub, depth + 1, &v);
            break;
        }
        default:
            return VK_EINVALID;
        }
        if (rc)
            return rc;
        if (!v || json_object_set_new(obj, sf->json, v))
            return -ENOMEM;
    }
    return 0;
}

int vk_pb_msg_to_json(const ProtobufCMessageDescriptor *desc, const uint8_t *raw, size_t len,
                      json_t **out)
{
    *out = NULL;
    if (!desc)
        return VK_ENOTFOUND;
    ProtobufCMessage *m = protobuf_c_message_unpack(desc, NULL, len, raw);
    if (!m)
        return VK_EINVALID;
    int rc = msg_json(desc, m, 0, out);
    protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}

int vk_pb_to_json(const char *group, const char *version, const char *kind, const uint8_t *raw,
                  size_t len, json_t **out)
{
    *out = NULL;
    const ProtobufCMessageDescriptor *d = vk_pb_lookup(group, version, kind);
    if (!d)
        return VK_ENOTFOUND;
    json_t *o = json_object(), *body = NULL;
    if (!o)
        return -ENOMEM;
    char av[256];
    int n = snprintf(av, sizeof(av), "%s%s%s", group, *group ? "/" : "", version);
    int rc = n > 0 && (size_t)n < sizeof(av) ? 0 : VK_EINVALID;
    /* Go's TypeMeta order: kind, then apiVersion. */
    if (rc == 0 && (json_object_set_new(o, "kind", json_string(kind)) ||
                    json_object_set_new(o, "apiVersion", json_string(av))))
        rc = VK_EINVALID;
    if (rc == 0)
        rc = vk_pb_msg_to_json(d, raw, len, &body);
    if (rc == 0 && json_is_object(body) && json_object_update(o, body))
        rc = -ENOMEM;
    json_decref(body);
    if (rc) {
        json_decref(o);
        return rc;
    }
    *out = o;
    return 0;
}

/* ---- encoding: JSON -> wire ---- */

static int enc_msg(pbdesc *d, const json_t *v, int depth, vk_buf *b);

static int json_int(const json_t *v, int64_t lo, int64_t hi, int64_t *out)
{
    if (!v || json_is_null(v)) {
        *out = 0;
        return 0;
    }
    if (json_is_integer(v)) {
        json_int_t x = json_integer_value(v);
        if (x < lo || x > hi)
            return VK_EINVALID;
        *out = x;
        return 0;
    }
    if (json_is_real(v)) {
        double x = json_real_value(v);
        if (x != (double)(int64_t)x || x < (double)lo || x > (double)hi)
            return VK_EINVALID;
        *out = (int64_t)x;
        return 0;
    }
    return VK_EINVALID;
}

/* One value of field f (v NULL or null: the zero value), tag included. */
static int enc_value(pbfield *f, const json_t *v, int depth, vk_buf *b)
{
    int64_t x;
    int rc;
    if (v && json_is_null(v))
        v = NULL;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
        if ((rc = json_int(v, INT32_MIN, INT32_MAX, &x)))
            return rc;
        return put_tag(b, f->id, 0) || put_varint(b, (uint64_t)x) ? -ENOMEM : 0;
    case PROTOBUF_C_TYPE_INT64:
        if ((rc = json_int(v, INT64_MIN, INT64_MAX, &x)))
            return rc;
        return put_tag(b, f->id, 0) || put_varint(b, (uint64_t)x) ? -ENOMEM : 0;
    case PROTOBUF_C_TYPE_DOUBLE: {
        if (v && !json_is_number(v))
            return VK_EINVALID;
        double dv = v ? json_number_value(v) : 0;
        uint64_t bits;
        memcpy(&bits, &dv, sizeof(bits));
        uint8_t le[8];
        for (int i = 0; i < 8; i++)
            le[i] = (uint8_t)(bits >> (8 * i));
        return put_tag(b, f->id, 1) || vk_buf_append(b, le, 8) ? -ENOMEM : 0;
    }
    case PROTOBUF_C_TYPE_BOOL:
        if (v && !json_is_boolean(v))
            return VK_EINVALID;
        return put_tag(b, f->id, 0) || put_varint(b, v && json_is_true(v)) ? -ENOMEM : 0;
    case PROTOBUF_C_TYPE_STRING:
        if (v && !json_is_string(v))
            return VK_EINVALID;
        return put_bytes(b, f->id, v ? json_string_value(v) : "", v ? json_string_length(v) : 0);
    case PROTOBUF_C_TYPE_BYTES: {
        if (v && !json_is_string(v))
            return VK_EINVALID;
        vk_buf tmp = {0};
        rc = v ? b64_decode(json_string_value(v), json_string_length(v), &tmp) : 0;
        if (rc == 0)
            rc = put_bytes(b, f->id, tmp.data ? tmp.data : "", tmp.len);
        vk_buf_free(&tmp);
        return rc;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        if (put_tag(b, f->id, 2))
            return -ENOMEM;
        size_t off = b->len;
        if ((rc = enc_msg(f->descriptor, v, depth + 1, b)))
            return rc;
        return close_len(b, off);
    }
    default:
        return VK_EINVALID;
    }
}

static int enc_rep(pbfield *f, const json_t *v, int depth, vk_buf *b)
{
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return VK_EINVALID;
    size_t i;
    const json_t *e;
    json_array_foreach(v, i, e)
    {
        int rc = enc_value(f, e, depth, b);
        if (rc)
            return rc;
    }
    return 0;
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int enc_map(pbfield *f, const json_t *v, int depth, vk_buf *b)
{
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return VK_EINVALID;
    pbfield *kf = protobuf_c_message_descriptor_get_field(f->descriptor, 1);
    pbfield *vf = protobuf_c_message_descriptor_get_field(f->descriptor, 2);
    if (!kf || !vf || kf->type != PROTOBUF_C_TYPE_STRING)
        return VK_EINVALID;
    size_t n = json_object_size(v), i = 0;
    const char **keys = malloc((n ? n : 1) * sizeof(*keys));
    if (!keys)
        return -ENOMEM;
    const char *k;
    const json_t *e;
    json_object_foreach((json_t *)v, k, e) keys[i++] = k;
    qsort(keys, n, sizeof(*keys), key_cmp);
    int rc = 0;
    for (i = 0; rc == 0 && i < n; i++) {
        size_t off;
        if (put_tag(b, f->id, 2)) {
            rc = -ENOMEM;
            break;
        }
        off = b->len;
        rc = put_bytes(b, 1, keys[i], strlen(keys[i]));
        if (rc == 0)
            rc = enc_value(vf, json_object_get(v, keys[i]), depth, b);
        if (rc == 0)
            rc = close_len(b, off);
    }
    free(keys);
    return rc;
}

static int enc_raw_json(unsigned num, const json_t *v, vk_buf *b)
{
    if (!v || json_is_null(v))
        return 0;
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
    if (!s)
        return -ENOMEM;
    int rc = put_bytes(b, num, s, strlen(s));
    free(s);
    return rc;
}

static int enc_special(const vk_pb_type *t, pbdesc *d, const json_t *v, int depth, vk_buf *b)
{
    int64_t sec = 0;
    int32_t ns = 0;
    int rc;
    if (v && json_is_null(v))
        v = NULL;
    switch (t->special) {
    case VK_PB_SP_TIME:
    case VK_PB_SP_MICROTIME:
        if (!v)
            return 0; /* the zero time is an empty message */
        if (!json_is_string(v))
            return VK_EINVALID;
        if ((rc = time_parse(json_string_value(v), json_string_length(v), &sec, &ns)))
            return rc;
        /* Time drops nanos on the wire; MicroTime keeps whole microseconds. */
        ns = t->special == VK_PB_SP_MICROTIME ? ns / 1000 * 1000 : 0;
        if (put_tag(b, 1, 0) || put_varint(b, (uint64_t)sec) || put_tag(b, 2, 0) ||
            put_varint(b, (uint64_t)(int64_t)ns))
            return -ENOMEM;
        return 0;
    case VK_PB_SP_DURATION: {
        int64_t dur = 0;
        if (v && !json_is_string(v))
            return VK_EINVALID;
        if (v && (rc = duration_parse(json_string_value(v), json_string_length(v), &dur)))
            return rc;
        return put_tag(b, 1, 0) || put_varint(b, (uint64_t)dur) ? -ENOMEM : 0;
    }
    case VK_PB_SP_QUANTITY: {
        char num[64];
        const char *s = "0";
        size_t n = 1;
        if (v && json_is_string(v)) {
            s = json_string_value(v);
            n = json_string_length(v);
            if (n == 0)
                return VK_EINVALID;
        } else if (v && json_is_integer(v)) {
            n = (size_t)snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
            s = num;
        } else if (v && json_is_real(v)) {
            n = (size_t)snprintf(num, sizeof(num), "%.15g", json_real_value(v));
            s = num;
        } else if (v) {
            return VK_EINVALID;
        }
        return put_bytes(b, 1, s, n);
    }
    case VK_PB_SP_INTORSTR: {
        bool str = v && json_is_string(v);
        int64_t x = 0;
        if (v && !str && (rc = json_int(v, INT32_MIN, INT32_MAX, &x)))
            return rc;
        if (put_tag(b, 1, 0) || put_varint(b, str) || put_tag(b, 2, 0) ||
            put_varint(b, (uint64_t)x))
            return -ENOMEM;
        return put_bytes(b, 3, str ? json_string_value(v) : "", str ? json_string_length(v) : 0);
    }
    case VK_PB_SP_RAWJSON:
        return enc_raw_json(1, v, b);
    case VK_PB_SP_PROPS_OR_BOOL: {
        pbfield *sf = protobuf_c_message_descriptor_get_field(d, 2);
        if (!v)
            return put_tag(b, 1, 0) || put_varint(b, 0) ? -ENOMEM : 0;
        if (json_is_boolean(v))
            return put_tag(b, 1, 0) || put_varint(b, json_is_true(v)) ? -ENOMEM : 0;
        if (!json_is_object(v) || !sf)
            return VK_EINVALID;
        if (put_tag(b, 1, 0) || put_varint(b, 1))
            return -ENOMEM;
        return enc_value(sf, v, depth, b);
    }
    case VK_PB_SP_PROPS_OR_ARRAY:
    case VK_PB_SP_PROPS_OR_STRARRAY: {
        pbfield *sf = protobuf_c_message_descriptor_get_field(d, 1);
        pbfield *af = protobuf_c_message_descriptor_get_field(d, 2);
        if (!sf || !af)
            return VK_EINVALID;
        if (!v)
            return 0;
        if (json_is_array(v))
            return enc_rep(af, v, depth, b);
        if (!json_is_object(v))
            return VK_EINVALID;
        return enc_value(sf, v, depth, b);
    }
    default:
        return VK_EINVALID;
    }
}

static int enc_generic(pbdesc *d, const json_t *v, int depth, vk_buf *b)
{
    for (unsigned i = 0; i < d->n_fields; i++) {
        pbfield *f = &d->fields[i];
        const json_t *jv = v ? json_object_get(v, f->name) : NULL;
        int rc;
        if (!jv || json_is_null(jv))
            continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED && f->type == PROTOBUF_C_TYPE_MESSAGE &&
            json_is_object(jv) && is_entry(f->descriptor))
            rc = enc_map(f, jv, depth, b);
        else if (f->label == PROTOBUF_C_LABEL_REPEATED)
            rc = enc_rep(f, jv, depth, b);
        else
            rc = enc_value(f, jv, depth, b);
        if (rc)
            return rc;
    }
    return 0;
}

static int enc_fields(const vk_pb_type *t, pbdesc *d, const json_t *v, int depth, vk_buf *b)
{
    if (v && !json_is_object(v))
        return VK_EINVALID;
    if (!t || !t->fields)
        return enc_generic(d, v, depth, b);
    for (unsigned i = 0; i < t->nfields; i++) {
        const vk_pb_field *sf = &t->fields[t->by_num[i]];
        pbfield *f = protobuf_c_message_descriptor_get_field(d, sf->num);
        if (!f)
            continue;
        const json_t *jv = NULL;
        if (sf->flags & VK_PB_F_INLINE)
            jv = v;
        else if (v && sf->json)
            jv = json_object_get(v, sf->json);
        if (jv && json_is_null(jv) && !(sf->flags & VK_PB_F_INLINE))
            jv = NULL;
        int rc = 0;
        switch (slice_kind(sf, f)) {
        case VK_PB_K_PTR:
            if (jv)
                rc = enc_value(f, jv, depth, b);
            break;
        case VK_PB_K_VAL:
            rc = enc_value(f, jv, depth, b);
            break;
        case VK_PB_K_SLICE:
            rc = enc_rep(f, jv, depth, b);
            break;
        case VK_PB_K_MAP:
            rc = enc_map(f, jv, depth, b);
            break;
        case VK_PB_K_BYTES:
        case VK_PB_K_WRAP:
            if (jv)
                rc = enc_value(f, jv, depth, b);
            break;
        default:
            rc = VK_EINVALID;
        }
        if (rc)
            return rc;
    }
    return 0;
}

/* The body of message d from v (NULL: the zero value). */
static int enc_msg(pbdesc *d, const json_t *v, int depth, vk_buf *b)
{
    if (depth > MAX_DEPTH)
        return VK_EINVALID;
    const vk_pb_type *t = type_of(d);
    if (t && t->special)
        return enc_special(t, d, v, depth, b);
    if (t && (t->flags & VK_PB_T_WRAPPER)) {
        pbfield *f = protobuf_c_message_descriptor_get_field(d, 1);
        if (!f || (v && !json_is_array(v) && !json_is_null(v)))
            return VK_EINVALID;
        return enc_rep(f, v, depth, b);
    }
    return enc_fields(t, d, v, depth, b);
}

int vk_pb_msg_from_json(const ProtobufCMessageDescriptor *desc, const json_t *obj, vk_buf *out)
{
    if (!desc)
        return VK_ENOTFOUND;
    size_t len0 = out->len;
    int rc = enc_msg(desc, obj, 0, out);
    if (rc) {
        out->len = len0;
        if (out->data)
            out->data[len0] = 0;
    }
    return rc;
}

int vk_pb_from_json(const char *group, const char *version, const char *kind, const json_t *obj,
                    vk_buf *out)
{
    const ProtobufCMessageDescriptor *d = vk_pb_lookup(group, version, kind);
    if (!d)
        return VK_ENOTFOUND;
    if (!json_is_object(obj))
        return VK_EINVALID;
    return vk_pb_msg_from_json(d, obj, out);
}

/* ---- the envelope ---- */

static int skip_field(const uint8_t *p, size_t n, size_t *pos, int wt)
{
    uint64_t v;
    switch (wt) {
    case 0:
        return get_varint(p, n, pos, &v);
    case 1:
        if (n - *pos < 8)
            return VK_EINVALID;
        *pos += 8;
        return 0;
    case 2:
        if (get_varint(p, n, pos, &v) || v > n - *pos)
            return VK_EINVALID;
        *pos += v;
        return 0;
    case 5:
        if (n - *pos < 4)
            return VK_EINVALID;
        *pos += 4;
        return 0;
    default:
        return VK_EINVALID;
    }
}

/* Reads a length-delimited field's bounds at *pos. */
static int get_len(const uint8_t *p, size_t n, size_t *pos, const uint8_t **s, size_t *len)
{
    uint64_t v;
    if (get_varint(p, n, pos, &v) || v > n - *pos)
        return VK_EINVALID;
    *s = p + *pos;
    *len = v;
    *pos += v;
    return 0;
}

int vk_pb_envelope_decode(const uint8_t *b, size_t n, char **api_version, char **kind,
                          const uint8_t **raw, size_t *raw_len)
{
    if (!b || n < VK_PB_MAGIC_LEN || memcmp(b, VK_PB_MAGIC, VK_PB_MAGIC_LEN))
        return VK_EINVALID;
    const uint8_t *av = NULL, *k = NULL, *r = NULL;
    size_t avn = 0, kn = 0, rn = 0, pos = VK_PB_MAGIC_LEN;
    while (pos < n) {
        uint64_t tag;
        if (get_varint(b, n, &pos, &tag))
            return VK_EINVALID;
        int wt = (int)(tag & 7);
        uint64_t num = tag >> 3;
        if (num == 0)
            return VK_EINVALID;
        if ((num == 1 || num == 2) && wt == 2) {
            const uint8_t *s;
            size_t len;
            if (get_len(b, n, &pos, &s, &len))
                return VK_EINVALID;
            if (num == 2) {
                r = s;
                rn = len;
                continue;
            }
            /* TypeMeta {1 apiVersion, 2 kind}. */
            size_t q = 0;
            while (q < len) {
                uint64_t t2;
                if (get_varint(s, len, &q, &t2) || (t2 >> 3) == 0)
                    return VK_EINVALID;
                if (((t2 >> 3) == 1 || (t2 >> 3) == 2) && (t2 & 7) == 2) {
                    const uint8_t *ss;
                    size_t sl;
                    if (get_len(s, len, &q, &ss, &sl))
                        return VK_EINVALID;
                    if ((t2 >> 3) == 1) {
                        av = ss;
                        avn = sl;
                    } else {
                        k = ss;
                        kn = sl;
                    }
                } else if (skip_field(s, len, &q, (int)(t2 & 7))) {
                    return VK_EINVALID;
                }
            }
        } else if (skip_field(b, n, &pos, wt)) {
            return VK_EINVALID;
        }
    }
    char *a = strndup(av ? (const char *)av : "", avn);
    char *kk = strndup(k ? (const char *)k : "", kn);
    if (!a || !kk) {
        free(a);
        free(kk);
        return -ENOMEM;
    }
    if (strlen(a) != avn || strlen(kk) != kn) { /* embedded NUL */
        free(a);
        free(kk);
        return VK_EINVALID;
    }
    *api_version = a;
    *kind = kk;
    *raw = r ? r : b + n;
    *raw_len = rn;
    return 0;
}

int vk_pb_envelope_encode(const char *api_version, const char *kind, const uint8_t *raw,
                          size_t raw_len, vk_buf *out)
{
    size_t len0 = out->len;
    size_t off;
    int rc = vk_buf_append(out, VK_PB_MAGIC, VK_PB_MAGIC_LEN);
    if (rc == 0)
        rc = put_tag(out, 1, 2);
    if (rc == 0) {
        off = out->len;
        rc = put_bytes(out, 1, api_version, strlen(api_version));
        if (rc == 0)
            rc = put_bytes(out, 2, kind, strlen(kind));
        if (rc == 0)
            rc = close_len(out, off);
    }
    if (rc == 0)
        rc = put_bytes(out, 2, raw ? (const void *)raw : "", raw_len);
    if (rc == 0)
        rc = put_bytes(out, 3, "", 0);
    if (rc == 0)
        rc = put_bytes(out, 4, "", 0);
    if (rc) {
        out->len = len0;
        if (out->data)
            out->data[len0] = 0;
    }
    return rc;
}

static void split_api_version(const char *av, char *group, size_t gn, const char **version)
{
    const char *slash = strrchr(av, '/');
    if (!slash) {
        group[0] = 0;
        *version = av;
        return;
    }
    size_t n = (size_t)(slash - av);
    if (n >= gn)
        n = gn - 1;
    memcpy(group, av, n);
    group[n] = 0;
    *version = slash + 1;
}

int vk_pb_decode_object(const uint8_t *b, size_t n, json_t **out)
{
    char *av, *kind;
    const uint8_t *raw;
    size_t rn;
    *out = NULL;
    int rc = vk_pb_envelope_decode(b, n, &av, &kind, &raw, &rn);
    if (rc)
        return rc;
    char group[256];
    const char *version;
    split_api_version(av, group, sizeof(group), &version);
    rc = vk_pb_to_json(group, version, kind, raw, rn, out);
    free(av);
    free(kind);
    return rc;
}

int vk_pb_encode_object(const json_t *obj, vk_buf *out)
{
    const char *av = json_string_value(json_object_get(obj, "apiVersion"));
    const char *kind = json_string_value(json_object_get(obj, "kind"));
    if (!av || !kind)
        return VK_EINVALID;
    char group[256];
    const char *version;
    split_api_version(av, group, sizeof(group), &version);
    vk_buf tmp = {0};
    int rc = vk_pb_from_json(group, version, kind, obj, &tmp);
    if (rc == 0)
        rc = vk_pb_envelope_encode(av, kind, (const uint8_t *)tmp.data, tmp.len, out);
    vk_buf_free(&tmp);
    return rc;
}
