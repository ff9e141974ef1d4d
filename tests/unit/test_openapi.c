/* The embedded OpenAPI documents and the /openapi/v2, /openapi/v3 handlers: the root
 * document's shape and hashes, group-version lookup, negotiation, ?hash= caching and the
 * stale-hash 301, If-None-Match 304, gzip vs identity bodies. Requests go straight to the
 * handlers through a recording protocol. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/openapi.h"
#include "common/buf.h"

static const vk_openapi_set *set = &vk_openapi_generated;

/* ---- a protocol that records the response ---- */

typedef struct rec {
    int status;
    long long len;
    vk_buf body;
    bool ended;
} rec;

static int rec_start(vk_req *r, long long len)
{
    ((rec *)r->proto_data)->len = len;
    return 0;
}
static int rec_write(vk_req *r, const void *d, size_t n)
{
    return vk_buf_append(&((rec *)r->proto_data)->body, d, n);
}
static int rec_end(vk_req *r)
{
    ((rec *)r->proto_data)->ended = true;
    return 0;
}
static const vk_req_ops rec_ops = {.start = rec_start, .write = rec_write, .end = rec_end};

typedef struct call {
    vk_req *r;
    rec rec;
} call;

/* GET path?query with headers given as "name", "value" pairs, NULL-terminated. The
 * dispatcher's Cache-Control is set first, as in the server. */
static call *get(const char *path, const char *query, ...)
{
    call *c = calloc(1, sizeof *c);
    assert_non_null(c);
    c->r = vk_req_new(&rec_ops, &c->rec, VK_PROTO_H2, NULL);
    assert_non_null(c->r);
    c->r->method = "GET";
    c->r->path = path;
    c->r->query = query;
    va_list ap;
    va_start(ap, query);
    for (const char *n; (n = va_arg(ap, const char *));) {
        const char *v = va_arg(ap, const char *);
        assert_int_equal(vk_req_add_header(c->r, n, strlen(n), v, strlen(v)), 0);
    }
    va_end(ap);
    vk_resp_header(c->r, "cache-control", "no-cache, private");
    if (!strcmp(path, "/openapi/v2"))
        vk_openapi_v2_handle(c->r);
    else
        vk_openapi_v3_handle(c->r);
    assert_true(c->rec.ended);
    c->rec.status = c->r->status;
    return c;
}

static void done(call *c)
{
    vk_req_free(c->r);
    vk_buf_free(&c->rec.body);
    free(c);
}

/* The response header's value (the n-th of that name), or NULL. */
static const char *hdr_n(call *c, const char *name, int n)
{
    for (size_t i = 0; i < c->r->nresp_headers; i++)
        if (!strcmp(c->r->resp_headers[i].name, name) && n-- == 0)
            return c->r->resp_headers[i].value;
    return NULL;
}
static const char *hdr(call *c, const char *name)
{
    return hdr_n(c, name, 0);
}

static unsigned char *inflated(const vk_openapi_blob *b)
{
    unsigned char *out = malloc(b->len + 1);
    assert_non_null(out);
    assert_int_equal(vk_openapi_inflate(b, out), 0);
    out[b->len] = 0;
    return out;
}

static void hex_sha512(const unsigned char *d, size_t n, char out[129])
{
    unsigned char md[SHA512_DIGEST_LENGTH];
    SHA512(d, n, md);
    for (int i = 0; i < SHA512_DIGEST_LENGTH; i++)
        snprintf(out + 2 * i, 3, "%02X", md[i]);
}

static char *quoted(const char *hash)
{
    static char buf[200];
    snprintf(buf, sizeof buf, "\"%s\"", hash);
    return buf;
}

/* ---- the table ---- */

static void test_hashes(void **state)
{
    const vk_openapi_doc *all[64];
    size_t n = 0;
    assert_true(set->nv3 + 2 <= 64);
    for (size_t i = 0; i < set->nv3; i++)
        all[n++] = &set->v3[i];
    all[n++] = &set->v3_root;
    all[n++] = &set->v2;
    for (size_t i = 0; i < n; i++) {
        const vk_openapi_doc *d = all[i];
        unsigned char *j = inflated(&d->json);
        char h[129];
        hex_sha512(j, d->json.len, h);
        assert_string_equal(h, d->hash);
        json_error_t err;
        json_t *doc = json_loadb((const char *)j, d->json.len, 0, &err);
        assert_non_null(doc);
        json_decref(doc);
        free(j);
        if (d->pb.gz)
            free(inflated(&d->pb));
    }
    /* v2 always carries its gnostic protobuf (client-go's OpenAPISchema reads only that). */
    assert_non_null(set->v2.pb.gz);
    assert_true(set->v2.pb.len > 1000);
    assert_true(set->v2.json.gz_len < set->v2.json.len / 4);
}

static void test_root_shape(void **state)
{
    unsigned char *j = inflated(&set->v3_root.json);
    json_error_t err;
    json_t *root = json_loads((const char *)j, 0, &err);
    assert_non_null(root);
    assert_int_equal(json_object_size(root), 1);
    json_t *paths = json_object_get(root, "paths");
    assert_true(json_is_object(paths));
    assert_int_equal(json_object_size(paths), set->nv3);
    for (size_t i = 0; i < set->nv3; i++) {
        const vk_openapi_doc *d = &set->v3[i];
        assert_true(d->key[0] && d->key[0] != '/');
        json_t *e = json_object_get(paths, d->key);
        assert_non_null(e);
        assert_int_equal(json_object_size(e), 1);
        char want[400];
        snprintf(want, sizeof want, "/openapi/v3/%s?hash=%s", d->key, d->hash);
        assert_string_equal(json_string_value(json_object_get(e, "serverRelativeURL")), want);
        if (i)
            assert_true(strcmp(set->v3[i - 1].key, d->key) < 0);
    }
    static const char *const must[] = {"api",
                                       "api/v1",
                                       "apis",
                                       "apis/apps",
                                       "apis/apps/v1",
                                       "apis/batch/v1",
                                       "apis/rbac.authorization.k8s.io/v1",
                                       "version"};
    for (size_t i = 0; i < sizeof must / sizeof must[0]; i++)
        assert_non_null(json_object_get(paths, must[i]));
    /* Not served: alpha/beta versions, logs, the aggregator's group. */
    static const char *const mustnot[] = {"apis/resource.k8s.io/v1beta1", "logs",
                                          "apis/apiregistration.k8s.io/v1", "openid/v1/jwks"};
    for (size_t i = 0; i < sizeof mustnot / sizeof mustnot[0]; i++)
        assert_null(json_object_get(paths, mustnot[i]));
    /* Compact, as Go's encoder writes it. */
    assert_int_equal(j[0], '{');
    assert_int_equal(j[1], '"');
    json_decref(root);
    free(j);
}

static void test_find(void **state)
{
    const vk_openapi_doc *d = vk_openapi_v3_find(set, "api/v1");
    assert_non_null(d);
    assert_string_equal(d->key, "api/v1");
    unsigned char *j = inflated(&d->json);
    assert_non_null(strstr((char *)j, "\"io.k8s.api.core.v1.Namespace\""));
    free(j);
    assert_non_null(vk_openapi_v3_find(set, "apis/apps/v1"));
    assert_non_null(vk_openapi_v3_find(set, "apis"));
    assert_null(vk_openapi_v3_find(set, "apis/foo/v1"));
    assert_null(vk_openapi_v3_find(set, ""));
    assert_null(vk_openapi_v3_find(set, "api/v1/"));
    assert_null(vk_openapi_v3_find(set, "/api/v1"));
    for (size_t i = 0; i < set->nv3; i++)
        assert_ptr_equal(vk_openapi_v3_find(set, set->v3[i].key), &set->v3[i]);
}

/* ---- the handlers ---- */

static void test_root_reply(void **state)
{
    call *c = get("/openapi/v3", "", NULL);
    assert_int_equal(c->rec.status, 200);
    assert_string_equal(hdr(c, "content-type"), "application/json");
    assert_string_equal(hdr(c, "etag"), quoted(set->v3_root.hash));
    assert_null(hdr(c, "content-encoding"));
    assert_int_equal(c->rec.body.len, set->v3_root.json.len);
    assert_int_equal(c->rec.len, (long long)set->v3_root.json.len);
    assert_memory_equal(c->rec.body.data, "{\"paths\":{", 10);
    done(c);
    /* gzip when the client takes it: the stored bytes. */
    c = get("/openapi/v3", "", "Accept-Encoding", "gzip", NULL);
    assert_int_equal(c->rec.status, 200);
    assert_string_equal(hdr(c, "content-encoding"), "gzip");
    assert_int_equal(c->rec.body.len, set->v3_root.json.gz_len);
    assert_memory_equal(c->rec.body.data, set->v3_root.json.gz, set->v3_root.json.gz_len);
    done(c);
    /* 304 on a matching If-None-Match. */
    c = get("/openapi/v3", "", "If-None-Match", quoted(set->v3_root.hash), NULL);
    assert_int_equal(c->rec.status, 304);
    assert_int_equal(c->rec.body.len, 0);
    assert_null(hdr(c, "content-type"));
    assert_string_equal(hdr(c, "etag"), quoted(set->v3_root.hash));
    done(c);
}

static void test_gv_reply(void **state)
{
    const vk_openapi_doc *d = vk_openapi_v3_find(set, "apis/apps/v1");
    call *c = get("/openapi/v3/apis/apps/v1", "", NULL);
    assert_int_equal(c->rec.status, 200);
    assert_string_equal(hdr(c, "content-type"), "application/json");
    assert_string_equal(hdr(c, "etag"), quoted(d->hash));
    assert_string_equal(hdr(c, "vary"), "Accept");
    /* No hash: the dispatcher's Cache-Control stays, no Expires. */
    assert_string_equal(hdr(c, "cache-control"), "no-cache, private");
    assert_null(hdr(c, "expires"));
    unsigned char *j = inflated(&d->json);
    assert_int_equal(c->rec.body.len, d->json.len);
    assert_memory_equal(c->rec.body.data, j, d->json.len);
    free(j);
    done(c);

    /* gzip, "deflate, gzip;q=0.5" and "*" take gzip; "gzip;q=0" does not. */
    static const struct {
        const char *ae;
        bool gz;
    } enc[] = {{"gzip", true},     {"deflate, gzip;q=0.5", true},
               {"*", true},        {"gzip;q=0", false},
               {"deflate", false}, {"GZIP", true},
               {"br, gzip", true}};
    for (size_t i = 0; i < sizeof enc / sizeof enc[0]; i++) {
        c = get("/openapi/v3/apis/apps/v1", "", "Accept-Encoding", enc[i].ae, NULL);
        assert_int_equal(c->rec.status, 200);
        if (enc[i].gz) {
            assert_string_equal(hdr(c, "content-encoding"), "gzip");
            assert_int_equal(c->rec.body.len, d->json.gz_len);
        } else {
            assert_null(hdr(c, "content-encoding"));
            assert_int_equal(c->rec.body.len, d->json.len);
        }
        done(c);
    }
}

static void test_hash_query(void **state)
{
    const vk_openapi_doc *d = vk_openapi_v3_find(set, "api/v1");
    char q[200];
    snprintf(q, sizeof q, "hash=%s", d->hash);
    call *c = get("/openapi/v3/api/v1", q, "Accept-Encoding", "gzip", NULL);
    assert_int_equal(c->rec.status, 200);
    assert_string_equal(hdr(c, "cache-control"), "public, immutable");
    assert_null(hdr_n(c, "cache-control", 1));
    const char *exp = hdr(c, "expires");
    assert_non_null(exp);
    /* "Mon, 02 Jan 2006 15:04:05 UTC", a year ahead. */
    assert_int_equal(strlen(exp), 29);
    assert_string_equal(exp + 25, " UTC");
    done(c);

    /* A stale hash: 301 to the current one, negotiated Content-Type, no body. */
    c = get("/openapi/v3/api/v1", "hash=0123ABCD", NULL);
    assert_int_equal(c->rec.status, 301);
    char want[400];
    snprintf(want, sizeof want, "/openapi/v3/api/v1?hash=%s", d->hash);
    assert_string_equal(hdr(c, "location"), want);
    assert_string_equal(hdr(c, "content-type"), "application/json");
    assert_string_equal(hdr(c, "etag"), quoted(d->hash));
    assert_string_equal(hdr(c, "cache-control"), "no-cache, private");
    assert_int_equal(c->rec.body.len, 0);
    done(c);

    /* A stale hash wins over a matching If-None-Match (kube checks the hash first). */
    c = get("/openapi/v3/api/v1", "hash=0", "If-None-Match", quoted(d->hash), NULL);
    assert_int_equal(c->rec.status, 301);
    done(c);

    /* An empty hash is no hash. */
    c = get("/openapi/v3/api/v1", "hash=", "Accept-Encoding", "gzip", NULL);
    assert_int_equal(c->rec.status, 200);
    assert_null(hdr(c, "expires"));
    done(c);
}

static void test_not_modified(void **state)
{
    const vk_openapi_doc *d = vk_openapi_v3_find(set, "apis/batch/v1");
    char weak[200], list[400];
    snprintf(weak, sizeof weak, "W/\"%s\"", d->hash);
    snprintf(list, sizeof list, "\"nope\", %s", quoted(d->hash));
    const char *match[] = {quoted(d->hash), weak, list, "*"};
    for (size_t i = 0; i < 4; i++) {
        char m[400];
        snprintf(m, sizeof m, "%s", match[i]);
        call *c = get("/openapi/v3/apis/batch/v1", "", "If-None-Match", m, NULL);
        assert_int_equal(c->rec.status, 304);
        assert_int_equal(c->rec.body.len, 0);
        assert_null(hdr(c, "content-type"));
        done(c);
    }
    call *c = get("/openapi/v3/apis/batch/v1", "", "If-None-Match", "\"ABC\"", "Accept-Encoding",
                  "gzip", NULL);
    assert_int_equal(c->rec.status, 200);
    done(c);
    /* v2 too. */
    c = get("/openapi/v2", "", "If-None-Match", quoted(set->v2.hash), NULL);
    assert_int_equal(c->rec.status, 304);
    done(c);
}

static void test_not_found(void **state)
{
    static const char *const paths[] = {"/openapi/v3/apis/foo/v1", "/openapi/v3/",
                                        "/openapi/v3/api/v1/", "/openapi/v3/logs",
                                        "/openapi/v3/apis/resource.k8s.io/v1beta1"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        call *c = get(paths[i], "", NULL);
        assert_int_equal(c->rec.status, 404);
        done(c);
    }
}

static void test_negotiation(void **state)
{
    static const struct {
        const char *path, *accept;
        int status;
        const char *ctype;
    } cases[] = {
        {"/openapi/v2", NULL, 200, "application/json"},
        {"/openapi/v2", "*/*", 200, "application/json"},
        {"/openapi/v2", "*", 200, "application/json"},
        {"/openapi/v2", "application/*", 200, "application/json"},
        {"/openapi/v2", "application/json", 200, "application/json"},
        /* client-go's OpenAPISchema() form and the dotted one: both answered dotted. */
        {"/openapi/v2", "application/com.github.proto-openapi.spec.v2@v1.0+protobuf", 200,
         "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"},
        {"/openapi/v2", "application/com.github.proto-openapi.spec.v2.v1.0+protobuf", 200,
         "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"},
        {"/openapi/v2",
         "application/json;q=0.5, application/com.github.proto-openapi.spec.v2@v1.0+protobuf", 200,
         "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"},
        {"/openapi/v2", "text/html, */*;q=0.1", 200, "application/json"},
        {"/openapi/v2", "text/html", 406, NULL},
        {"/openapi/v2", "application/yaml", 406, NULL},
        {"/openapi/v2", "application/json;q=0", 406, NULL},
        {"/openapi/v2", "application/com.github.proto-openapi.spec.v3.v1.0+protobuf", 406, NULL},
        {"/openapi/v3/api/v1", NULL, 200, "application/json"},
        {"/openapi/v3/api/v1", "application/json, */*", 200, "application/json"},
        {"/openapi/v3/api/v1", "application/com.github.proto-openapi.spec.v3@v1.0+protobuf", 200,
         "application/com.github.proto-openapi.spec.v3.v1.0+protobuf"},
        {"/openapi/v3/api/v1", "application/com.github.proto-openapi.spec.v2@v1.0+protobuf", 406,
         NULL},
        {"/openapi/v3/api/v1", "text/plain", 406, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        call *c = cases[i].accept ? get(cases[i].path, "", "Accept", cases[i].accept,
                                        "Accept-Encoding", "gzip", NULL)
                                  : get(cases[i].path, "", "Accept-Encoding", "gzip", NULL);
        const vk_openapi_doc *d =
            !strcmp(cases[i].path, "/openapi/v2") ? &set->v2 : vk_openapi_v3_find(set, "api/v1");
        if (cases[i].ctype && strstr(cases[i].ctype, "protobuf") && !d->pb.gz) {
            /* Built with OPENAPI_V3_PROTO=0: the protobuf clause is skipped. */
            assert_int_equal(c->rec.status, 406);
            done(c);
            continue;
        }
        if (c->rec.status != cases[i].status)
            fail_msg("%s Accept %s: %d", cases[i].path, cases[i].accept, c->rec.status);
        assert_string_equal(hdr(c, "vary"), "Accept");
        if (cases[i].ctype) {
            assert_string_equal(hdr(c, "content-type"), cases[i].ctype);
            const vk_openapi_blob *b = strstr(cases[i].ctype, "protobuf") ? &d->pb : &d->json;
            assert_int_equal(c->rec.body.len, b->gz_len);
            assert_memory_equal(c->rec.body.data, b->gz, b->gz_len);
            /* The ETag is the JSON's for both encodings. */
            assert_string_equal(hdr(c, "etag"), quoted(d->hash));
        } else {
            assert_null(hdr(c, "content-type"));
            assert_int_equal(c->rec.body.len, 0);
        }
        done(c);
    }
}

static void test_v2_identity(void **state)
{
    call *c = get("/openapi/v2", "", NULL);
    assert_int_equal(c->rec.status, 200);
    assert_null(hdr(c, "content-encoding"));
    assert_int_equal(c->rec.body.len, set->v2.json.len);
    json_error_t err;
    json_t *doc = json_loadb(c->rec.body.data, c->rec.body.len, 0, &err);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "swagger")), "2.0");
    json_t *paths = json_object_get(doc, "paths");
    assert_non_null(json_object_get(paths, "/api/v1/namespaces"));
    assert_non_null(json_object_get(paths, "/apis/apps/v1/deployments"));
    assert_null(json_object_get(paths, "/logs/"));
    assert_null(json_object_get(paths, "/apis/resource.k8s.io/v1beta1/resourceclaims"));
    json_t *defs = json_object_get(doc, "definitions");
    assert_non_null(json_object_get(defs, "io.k8s.api.core.v1.Namespace"));
    /* Pruned to what the served paths reach. */
    assert_null(json_object_get(defs, "io.k8s.api.resource.v1beta1.ResourceClaim"));
    json_decref(doc);
    done(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hashes),       cmocka_unit_test(test_root_shape),
        cmocka_unit_test(test_find),         cmocka_unit_test(test_root_reply),
        cmocka_unit_test(test_gv_reply),     cmocka_unit_test(test_hash_query),
        cmocka_unit_test(test_not_modified), cmocka_unit_test(test_not_found),
        cmocka_unit_test(test_negotiation),  cmocka_unit_test(test_v2_identity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
