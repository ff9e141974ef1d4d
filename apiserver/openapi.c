/* /openapi/v2 and /openapi/v3, after kube-openapi's pkg/handler and pkg/handler3.
 *
 * What a reply carries, as kube's:
 * - negotiation over the Accept clauses in order of q and specificity (goautoneg): JSON,
 *   or gnostic protobuf for either spelling of the protobuf type, always answered as
 *   application/com.github.proto-openapi.spec.v{2,3}.v1.0+protobuf; no Accept or * / *
 *   is JSON; nothing acceptable is a bare 406. A protobuf clause whose encoding the build
 *   left out (OPENAPI_V3_PROTO=0) is skipped rather than answered.
 * - Etag: the quoted hash (the same for both encodings, hence Vary: Accept); a matching
 *   If-None-Match (or *) is a 304 without body or Content-Type (http.ServeContent).
 * - /openapi/v3/<gv>?hash=: the current hash adds Cache-Control: public, immutable and
 *   Expires a year ahead (Go's time.RFC1123 of a UTC clock); any other hash is a 301 to
 *   the current ?hash= URL, with the negotiated Content-Type and no body (http.Redirect
 *   after Content-Type was set).
 * Differences: an unknown group-version is a 404 (kube-openapi's handler returns without
 * writing, which Go sends as an empty 200); gzip is offered on every reply (kube wraps only
 * v2 in a gzip handler); no Last-Modified, If-Modified-Since or Range. */
#include "apiserver/openapi.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <jansson.h>
#include <zlib.h>

#include "apiserver/http/status.h"

#define JSON_TYPE  "application/json"
#define V2_PB_TYPE "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
#define V3_PB_TYPE "application/com.github.proto-openapi.spec.v3.v1.0+protobuf"

const vk_openapi_doc *vk_openapi_v3_find(const vk_openapi_set *s, const char *key)
{
    size_t lo = 0, hi = s->nv3;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(key, s->v3[mid].key);
        if (!c)
            return &s->v3[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

int vk_openapi_inflate(const vk_openapi_blob *b, unsigned char *out)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
        return -1;
    z.next_in = (unsigned char *)b->gz;
    z.avail_in = (uInt)b->gz_len;
    z.next_out = out;
    z.avail_out = (uInt)b->len;
    int rc = inflate(&z, Z_FINISH);
    bool ok = rc == Z_STREAM_END && z.total_out == b->len;
    inflateEnd(&z);
    return ok ? 0 : -1;
}

/* ---- Accept negotiation (goautoneg.ParseAccept, then the handlers' loops) ---- */

typedef struct clause {
    const char *type, *sub;
    size_t tlen, slen;
    double q;
    int order;
} clause;

static const char *trim(const char *s, const char *end, size_t *len)
{
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    *len = (size_t)(end - s);
    return s;
}

static bool wild(const char *s, size_t n)
{
    return n == 1 && *s == '*';
}

static int clause_cmp(const void *a, const void *b)
{
    const clause *x = a, *y = b;
    if (x->q != y->q)
        return x->q > y->q ? -1 : 1;
    bool xt = !wild(x->type, x->tlen), yt = !wild(y->type, y->tlen);
    if (xt != yt)
        return xt ? -1 : 1;
    bool xs = !wild(x->sub, x->slen), ys = !wild(y->sub, y->slen);
    if (xs != ys)
        return xs ? -1 : 1;
    return x->order - y->order;
}

#define MAX_CLAUSES 32

/* Parses an Accept header into at most MAX_CLAUSES clauses, sorted; q=0 clauses dropped. */
static size_t parse_accept(const char *accept, clause *out)
{
    size_t n = 0;
    const char *p = accept;
    while (*p && n < MAX_CLAUSES) {
        const char *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        const char *semi = memchr(p, ';', (size_t)(end - p));
        const char *mr_end = semi ? semi : end;
        clause c = {.q = 1.0, .order = (int)n};
        const char *slash = memchr(p, '/', (size_t)(mr_end - p));
        if (slash) {
            c.type = trim(p, slash, &c.tlen);
            c.sub = trim(slash + 1, mr_end, &c.slen);
            if (memchr(c.sub, '/', c.slen))
                goto next;
        } else {
            c.type = trim(p, mr_end, &c.tlen);
            if (!wild(c.type, c.tlen))
                goto next;
            c.sub = c.type;
            c.slen = 1;
        }
        for (const char *a = semi; a && a < end;) {
            const char *aend = memchr(a + 1, ';', (size_t)(end - a - 1));
            if (!aend)
                aend = end;
            size_t kl;
            const char *k = trim(a + 1, aend, &kl);
            if (kl > 2 && k[0] == 'q' && (k[1] == '=' || k[1] == ' ')) {
                const char *eq = memchr(k, '=', kl);
                if (eq)
                    c.q = strtod(eq + 1, NULL);
            }
            a = aend < end ? aend : NULL;
        }
        if (c.q > 0)
            out[n++] = c;
    next:
        p = *end ? end + 1 : end;
    }
    qsort(out, n, sizeof *out, clause_cmp);
    return n;
}

typedef struct offer {
    const char *sub; /* the subtype of application/... */
    bool pb;         /* protobuf, else JSON */
} offer;

/* The first (clause, offer) pair that matches and is available: 0 JSON, 1 protobuf, -1 none. */
static int negotiate(vk_req *r, const offer *offers, size_t noffers, const vk_openapi_doc *d)
{
    const char *accept = vk_req_header(r, "accept");
    if (!accept || !*accept)
        accept = "*/*";
    clause cs[MAX_CLAUSES];
    size_t n = parse_accept(accept, cs);
    for (size_t i = 0; i < n; i++) {
        const clause *c = &cs[i];
        if (!wild(c->type, c->tlen) && !(c->tlen == 11 && !memcmp(c->type, "application", 11)))
            continue;
        for (size_t j = 0; j < noffers; j++) {
            const offer *o = &offers[j];
            if (!wild(c->sub, c->slen) &&
                !(c->slen == strlen(o->sub) && !memcmp(c->sub, o->sub, c->slen)))
                continue;
            if (o->pb && (!d || !d->pb.gz))
                continue;
            return o->pb;
        }
    }
    return -1;
}

static const offer v2_offers[] = {
    {"json", false},
    {"com.github.proto-openapi.spec.v2@v1.0+protobuf", true},
    {"com.github.proto-openapi.spec.v2.v1.0+protobuf", true},
};
static const offer v3_offers[] = {
    {"json", false},
    {"com.github.proto-openapi.spec.v3.v1.0+protobuf", true},
    {"com.github.proto-openapi.spec.v3@v1.0+protobuf", true},
};

/* ---- replies ---- */

/* Replaces a response header the dispatcher set (Cache-Control), else adds it. */
static void set_header(vk_req *r, const char *name, const char *value)
{
    for (size_t i = 0; i < r->nresp_headers; i++)
        if (!strcmp(r->resp_headers[i].name, name)) {
            char *v = vk_arena_strdup(&r->arena, value);
            if (v)
                r->resp_headers[i].value = v;
            return;
        }
    vk_resp_header(r, name, value);
}

/* True when the client takes gzip: a gzip (or *) coding whose q is not 0. */
static bool accepts_gzip(vk_req *r)
{
    const char *ae = vk_req_header(r, "accept-encoding");
    for (const char *p = ae; p && *p;) {
        const char *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        const char *semi = memchr(p, ';', (size_t)(end - p));
        size_t n;
        const char *tok = trim(p, semi ? semi : end, &n);
        if ((n == 4 && !strncasecmp(tok, "gzip", 4)) || wild(tok, n)) {
            const char *q = semi ? strstr(semi, "q=") : NULL;
            if (!q || q > end || strtod(q + 2, NULL) > 0)
                return true;
        }
        p = *end ? end + 1 : end;
    }
    return false;
}

/* True when If-None-Match names etag (quoted) or is *; weak tags compare weakly. */
static bool none_match(vk_req *r, const char *etag)
{
    const char *h = vk_req_header(r, "if-none-match");
    size_t el = strlen(etag);
    for (const char *p = h; p && *p;) {
        const char *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        size_t n;
        const char *tok = trim(p, end, &n);
        if (wild(tok, n))
            return true;
        if (n > 2 && tok[0] == 'W' && tok[1] == '/') {
            tok += 2;
            n -= 2;
        }
        if (n == el && !memcmp(tok, etag, n))
            return true;
        p = *end ? end + 1 : end;
    }
    return false;
}

static void send_blob(vk_req *r, const char *ctype, const vk_openapi_blob *b)
{
    vk_resp_header(r, "vary", "Accept-Encoding");
    if (accepts_gzip(r)) {
        vk_resp_header(r, "content-encoding", "gzip");
        vk_resp_send(r, 200, ctype, b->gz, b->gz_len);
        return;
    }
    unsigned char *out = malloc(b->len ? b->len : 1);
    if (!out || vk_openapi_inflate(b, out)) {
        free(out);
        vk_send_error(r, 500, "InternalError", "the embedded OpenAPI document is corrupt");
        return;
    }
    vk_resp_send(r, 200, ctype, out, b->len);
    free(out);
}

/* Sets the Etag; true when If-None-Match matched and the 304 went out. */
static bool etag_and_304(vk_req *r, const char *hash)
{
    char etag[160];
    snprintf(etag, sizeof etag, "\"%s\"", hash);
    vk_resp_header(r, "etag", etag);
    if (!none_match(r, etag))
        return false;
    vk_resp_send(r, 304, NULL, NULL, 0);
    return true;
}

void vk_openapi_v2_handle(vk_req *r)
{
    const vk_openapi_doc *d = &vk_openapi_generated.v2;
    vk_resp_header(r, "vary", "Accept");
    int pb = negotiate(r, v2_offers, sizeof v2_offers / sizeof v2_offers[0], d);
    if (pb < 0) {
        vk_resp_send(r, 406, NULL, NULL, 0);
        return;
    }
    if (etag_and_304(r, d->hash))
        return;
    send_blob(r, pb ? V2_PB_TYPE : JSON_TYPE, pb ? &d->pb : &d->json);
}

static void v3_root(vk_req *r)
{
    const vk_openapi_doc *d = &vk_openapi_generated.v3_root;
    if (etag_and_304(r, d->hash))
        return;
    send_blob(r, JSON_TYPE, &d->json);
}

void vk_openapi_v3_handle(vk_req *r)
{
    static const char prefix[] = "/openapi/v3";
    const char *p = r->path;
    if (strncmp(p, prefix, sizeof prefix - 1)) {
        vk_send_not_found(r);
        return;
    }
    p += sizeof prefix - 1;
    if (!*p) {
        v3_root(r);
        return;
    }
    const vk_openapi_doc *d = vk_openapi_v3_find(&vk_openapi_generated, p + 1);
    if (!d) {
        vk_send_not_found(r);
        return;
    }
    vk_resp_header(r, "vary", "Accept");
    int pb = negotiate(r, v3_offers, sizeof v3_offers / sizeof v3_offers[0], d);
    if (pb < 0) {
        vk_resp_send(r, 406, NULL, NULL, 0);
        return;
    }
    const char *ctype = pb ? V3_PB_TYPE : JSON_TYPE;
    char etag[160];
    snprintf(etag, sizeof etag, "\"%s\"", d->hash);
    vk_resp_header(r, "etag", etag);
    const char *hash = vk_req_query(r, "hash");
    if (hash && *hash) {
        if (strcmp(hash, d->hash)) {
            char loc[400];
            snprintf(loc, sizeof loc, "%s/%s?hash=%s", prefix, d->key, d->hash);
            vk_resp_header(r, "location", loc);
            vk_resp_send(r, 301, ctype, NULL, 0);
            return;
        }
        set_header(r, "cache-control", "public, immutable");
        char expires[64];
        time_t t = time(NULL);
        struct tm tm;
        gmtime_r(&t, &tm);
        tm.tm_year++;
        t = timegm(&tm); /* normalises Feb 29 to Mar 1, as Go's AddDate */
        gmtime_r(&t, &tm);
        strftime(expires, sizeof expires, "%a, %d %b %Y %H:%M:%S UTC", &tm);
        vk_resp_header(r, "expires", expires);
    }
    if (none_match(r, etag)) {
        vk_resp_send(r, 304, NULL, NULL, 0);
        return;
    }
    send_blob(r, ctype, pb ? &d->pb : &d->json);
}

/* ---- field descriptions ---- */

/* One looked-up description, kept for the life of the process (a few dozen). */
typedef struct desc_entry {
    struct desc_entry *next;
    char *ref, *text;
} desc_entry;

static desc_entry *descs;

const char *vk_openapi_description(const char *ref)
{
    for (desc_entry *d = descs; d; d = d->next)
        if (!strcmp(d->ref, ref))
            return d->text;
    const char *slash = strchr(ref, '/');
    const vk_openapi_blob *b = &vk_openapi_generated.v2.json;
    unsigned char *doc = slash && b->gz ? malloc(b->len + 1) : NULL;
    char *text = NULL;
    if (doc && !vk_openapi_inflate(b, doc)) {
        doc[b->len] = 0;
        /* The definition's object alone is parsed, not the whole document. */
        char key[256];
        snprintf(key, sizeof key, "\"%.*s\":{", (int)(slash - ref), ref);
        const char *at = strstr((const char *)doc, key);
        json_t *def = at ? json_loadb(at + strlen(key) - 1,
                                      b->len - (size_t)(at + strlen(key) - 1 - (const char *)doc),
                                      JSON_DISABLE_EOF_CHECK, NULL)
                         : NULL;
        const char *s = json_string_value(json_object_get(
            json_object_get(json_object_get(def, "properties"), slash + 1), "description"));
        text = s ? strdup(s) : NULL;
        json_decref(def);
    }
    free(doc);
    desc_entry *d = malloc(sizeof *d);
    if (!d || !(d->ref = strdup(ref))) {
        free(d);
        free(text);
        return "";
    }
    d->text = text ? text : strdup("");
    d->next = descs;
    descs = d;
    return d->text ? d->text : "";
}
