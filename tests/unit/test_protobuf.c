/* Protobuf <-> JSON: golden bytes made by the Go client's codecs (build/gen/testdata,
 * written by tools/pbgen at build time), special formats, the envelope, and malformed
 * input. VK_PB_TESTDATA overrides the testdata directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/codec/protobuf.h"
#include "common/buf.h"
#include "common/err.h"

static const char *testdata(void)
{
    const char *d = getenv("VK_PB_TESTDATA");
    return d ? d : "build/gen/testdata";
}

static int read_file(const char *name, const char *ext, vk_buf *out)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s%s", testdata(), name, ext);
    FILE *f = fopen(path, "rb");
    if (!f)
        return -errno;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        assert_int_equal(vk_buf_append(out, chunk, n), 0);
    fclose(f);
    return 0;
}

static json_t *load_json(const char *s, size_t n)
{
    json_error_t err;
    json_t *j = json_loadb(s, n, 0, &err);
    if (!j)
        fail_msg("bad JSON: %s", err.text);
    return j;
}

/* Compact, key order kept: equal strings mean equal JSON in the same order. */
static char *dump(const json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    assert_non_null(s);
    return s;
}

static void assert_json_same(const json_t *got, const json_t *want)
{
    char *g = dump(got), *w = dump(want);
    if (strcmp(g, w) != 0) {
        size_t i = 0;
        while (g[i] && g[i] == w[i])
            i++;
        size_t from = i > 60 ? i - 60 : 0;
        fail_msg("JSON differs at %zu:\n got: ...%.160s\nwant: ...%.160s", i, g + from, w + from);
    }
    free(g);
    free(w);
}

static void assert_bytes_same(const uint8_t *got, size_t gn, const uint8_t *want, size_t wn)
{
    size_t i = 0;
    while (i < gn && i < wn && got[i] == want[i])
        i++;
    if (i == gn && i == wn)
        return;
    fail_msg("bytes differ at offset %zu of %zu/%zu: got %02x want %02x", i, gn, wn,
             i < gn ? got[i] : 0, i < wn ? want[i] : 0);
}

/* The golden object `name` (group "-" is core): Go's protobuf decodes to Go's JSON,
 * and the input JSON encodes to Go's bytes exactly, with and without envelope. */
static void check_golden(const char *name, const char *group, const char *version, const char *kind)
{
    vk_buf in = {0}, pb = {0}, js = {0}, out = {0};
    if (read_file(name, ".pb", &pb) != 0)
        fail_msg("%s/%s.pb missing: run `make -f tools/schema.mk schema`", testdata(), name);
    assert_int_equal(read_file(name, ".in.json", &in), 0);
    assert_int_equal(read_file(name, ".json", &js), 0);

    char *av, *k;
    const uint8_t *raw;
    size_t rn;
    assert_int_equal(vk_pb_envelope_decode((uint8_t *)pb.data, pb.len, &av, &k, &raw, &rn), 0);

    /* protobuf -> JSON equals Go's json.Marshal of the decoded object. */
    json_t *got, *want = load_json(js.data, js.len);
    assert_int_equal(vk_pb_to_json(group, version, kind, raw, rn, &got), 0);
    if (!*k) { /* no TypeMeta on the wire (WatchEvent): compare without it */
        json_object_del(got, "kind");
        json_object_del(got, "apiVersion");
    }
    assert_json_same(got, want);

    /* JSON -> protobuf equals the Go client's bytes. */
    json_t *input = load_json(in.data, in.len);
    assert_int_equal(vk_pb_from_json(group, version, kind, input, &out), 0);
    assert_bytes_same((uint8_t *)out.data, out.len, raw, rn);
    if (*k) {
        vk_buf_reset(&out);
        assert_int_equal(vk_pb_encode_object(input, &out), 0);
        assert_bytes_same((uint8_t *)out.data, out.len, (uint8_t *)pb.data, pb.len);
    }

    /* And our own JSON survives another trip. */
    vk_buf_reset(&out);
    assert_int_equal(vk_pb_from_json(group, version, kind, got, &out), 0);
    assert_bytes_same((uint8_t *)out.data, out.len, raw, rn);

    json_decref(got);
    json_decref(want);
    json_decref(input);
    free(av);
    free(k);
    vk_buf_free(&in);
    vk_buf_free(&pb);
    vk_buf_free(&js);
    vk_buf_free(&out);
}

#define GOLDEN(fn, name, g, v, k)                                                                  \
    static void fn(void **state)                                                                   \
    {                                                                                              \
        check_golden(name, g, v, k);                                                               \
    }
GOLDEN(test_golden_namespace, "namespace", "", "v1", "Namespace")
GOLDEN(test_golden_pod, "pod", "", "v1", "Pod")
GOLDEN(test_golden_deployment, "deployment", "apps", "v1", "Deployment")
GOLDEN(test_golden_configmap, "configmap", "", "v1", "ConfigMap")
GOLDEN(test_golden_event, "event", "", "v1", "Event")
GOLDEN(test_golden_events_event, "events-event", "events.k8s.io", "v1", "Event")
GOLDEN(test_golden_lease, "lease", "coordination.k8s.io", "v1", "Lease")
GOLDEN(test_golden_status, "status", "", "v1", "Status")
GOLDEN(test_golden_service, "service", "", "v1", "Service")
GOLDEN(test_golden_podlist, "podlist", "", "v1", "PodList")
GOLDEN(test_golden_sar, "sar", "authorization.k8s.io", "v1", "SubjectAccessReview")
GOLDEN(test_golden_apiresourcelist, "apiresourcelist", "", "v1", "APIResourceList")
GOLDEN(test_golden_crd, "crd", "apiextensions.k8s.io", "v1", "CustomResourceDefinition")
GOLDEN(test_golden_watchevent, "watchevent", "", "v1", "WatchEvent")

/* Every golden the generator wrote is one of the tests above. */
static void test_golden_index_covered(void **state)
{
    vk_buf idx = {0};
    assert_int_equal(read_file("index", ".txt", &idx), 0);
    int lines = 0;
    for (size_t i = 0; i < idx.len; i++)
        lines += idx.data[i] == '\n';
    assert_int_equal(lines, 14);
    vk_buf_free(&idx);
}

static void test_lookup(void **state)
{
    const ProtobufCMessageDescriptor *d = vk_pb_lookup("", "v1", "Namespace");
    assert_non_null(d);
    assert_string_equal(d->name, "k8s.io.api.core.v1.Namespace");
    assert_string_equal(vk_pb_lookup("apps", "v1", "DeploymentList")->name,
                        "k8s.io.api.apps.v1.DeploymentList");
    assert_string_equal(vk_pb_lookup("", "v1", "Status")->name,
                        "k8s.io.apimachinery.pkg.apis.meta.v1.Status");
    assert_string_equal(vk_pb_lookup("batch", "v1", "DeleteOptions")->name,
                        "k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions");
    assert_string_equal(vk_pb_lookup("rbac.authorization.k8s.io", "v1", "ClusterRole")->name,
                        "k8s.io.api.rbac.v1.ClusterRole");
    assert_string_equal(vk_pb_lookup("meta.k8s.io", "v1", "PartialObjectMetadataList")->name,
                        "k8s.io.apimachinery.pkg.apis.meta.v1.PartialObjectMetadataList");
    assert_null(vk_pb_lookup("", "v1", "Nope"));
    assert_null(vk_pb_lookup("", "v1", "Time")); /* a special type, not a kind */
    assert_null(vk_pb_lookup("apps", "v1beta1", "Deployment"));
    assert_null(vk_pb_lookup("example.com", "v1", "Widget"));
    /* The table is sorted, so lookups by name find every entry. */
    for (size_t i = 0; i < vk_pb_ntypes; i++) {
        assert_ptr_equal(vk_pb_lookup_name(vk_pb_types[i].name), vk_pb_types[i].desc);
        assert_string_equal(vk_pb_types[i].desc->name, vk_pb_types[i].name);
        if (i)
            assert_true(strcmp(vk_pb_types[i - 1].name, vk_pb_types[i].name) < 0);
    }
}

static void test_unknown_kind(void **state)
{
    json_t *o = json_pack("{s:s}", "kind", "Nope"), *out = (json_t *)1;
    vk_buf b = {0};
    assert_int_equal(vk_pb_from_json("", "v1", "Nope", o, &b), VK_ENOTFOUND);
    assert_int_equal(b.len, 0);
    assert_int_equal(vk_pb_to_json("", "v1", "Nope", (const uint8_t *)"", 0, &out), VK_ENOTFOUND);
    assert_null(out);
    assert_int_equal(vk_pb_encode_object(o, &b), VK_EINVALID); /* no apiVersion */
    json_decref(o);
}

/* JSON in, JSON out through protobuf. */
static json_t *trip(const char *g, const char *v, const char *k, const char *js)
{
    json_t *in = load_json(js, strlen(js)), *out;
    vk_buf b = {0};
    assert_int_equal(vk_pb_from_json(g, v, k, in, &b), 0);
    assert_int_equal(vk_pb_to_json(g, v, k, (uint8_t *)b.data, b.len, &out), 0);
    json_decref(in);
    vk_buf_free(&b);
    return out;
}

static void expect_trip(const char *g, const char *v, const char *k, const char *js,
                        const char *want)
{
    json_t *got = trip(g, v, k, js), *w = load_json(want, strlen(want));
    assert_json_same(got, w);
    json_decref(got);
    json_decref(w);
}

static void test_special_formats(void **state)
{
    /* Time: offsets normalise to UTC, fractions drop; MicroTime keeps six digits. */
    expect_trip(
        "", "v1", "Namespace",
        "{\"metadata\":{\"name\":\"a\",\"creationTimestamp\":\"2026-11-25T11:30:00.9+01:30\","
        "\"deletionTimestamp\":\"1970-01-01T00:00:00Z\"}}",
        "{\"kind\":\"Namespace\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"a\","
        "\"creationTimestamp\":\"2026-11-25T10:00:00Z\",\"deletionTimestamp\":"
        "\"1970-01-01T00:00:00Z\"},\"spec\":{},\"status\":{}}");
    expect_trip("coordination.k8s.io", "v1", "Lease",
                "{\"spec\":{\"renewTime\":\"1969-12-31T23:59:59.1234567Z\"}}",
                "{\"kind\":\"Lease\",\"apiVersion\":\"coordination.k8s.io/v1\",\"metadata\":{},"
                "\"spec\":{\"renewTime\":\"1969-12-31T23:59:59.123456Z\"}}");
    /* Quantity: a JSON number is accepted; IntOrString both ways. */
    expect_trip("", "v1", "Service",
                "{\"spec\":{\"ports\":[{\"port\":1,\"targetPort\":8080},{\"port\":2,"
                "\"targetPort\":\"web\"},{\"port\":3}]}}",
                "{\"kind\":\"Service\",\"apiVersion\":\"v1\",\"metadata\":{},\"spec\":{\"ports\":"
                "[{\"port\":1,\"targetPort\":8080},{\"port\":2,\"targetPort\":\"web\"},"
                "{\"port\":3,\"targetPort\":0}]},\"status\":{\"loadBalancer\":{}}}");
    expect_trip("", "v1", "ResourceQuota", "{\"spec\":{\"hard\":{\"cpu\":2,\"pods\":\"10\"}}}",
                "{\"kind\":\"ResourceQuota\",\"apiVersion\":\"v1\",\"metadata\":{},\"spec\":"
                "{\"hard\":{\"cpu\":\"2\",\"pods\":\"10\"}},\"status\":{}}");
    /* Pointers keep zero values; value fields at zero with omitempty vanish. */
    expect_trip(
        "apps", "v1", "Deployment",
        "{\"spec\":{\"replicas\":0,\"paused\":false,\"minReadySeconds\":0,\"selector\":null,"
        "\"template\":{\"spec\":{\"containers\":null}}}}",
        "{\"kind\":\"Deployment\",\"apiVersion\":\"apps/v1\",\"metadata\":{},\"spec\":"
        "{\"replicas\":0,\"selector\":null,\"template\":{\"metadata\":{},\"spec\":{\"containers\":"
        "null}},"
        "\"strategy\":{}},\"status\":{}}");

    /* Duration: Go's format both ways. */
    const ProtobufCMessageDescriptor *dd =
        vk_pb_lookup_name("k8s.io.apimachinery.pkg.apis.meta.v1.Duration");
    assert_non_null(dd);
    static const char *const durs[][2] = {
        {"1h", "1h0m0s"},      {"90s", "1m30s"},
        {"1.5s", "1.5s"},      {"300ms", "300ms"},
        {"0", "0s"},           {"-2m3.25s", "-2m3.25s"},
        {"1us", "1\xc2\xb5s"}, {"1500ns", "1.5\xc2\xb5s"},
        {"7ns", "7ns"},        {"2h45m0.5s", "2h45m0.5s"},
    };
    for (size_t i = 0; i < sizeof(durs) / sizeof(durs[0]); i++) {
        json_t *s = json_string(durs[i][0]), *back;
        vk_buf b = {0};
        if (vk_pb_msg_from_json(dd, s, &b) != 0)
            fail_msg("duration %s refused", durs[i][0]);
        assert_int_equal(vk_pb_msg_to_json(dd, (uint8_t *)b.data, b.len, &back), 0);
        assert_string_equal(json_string_value(back), durs[i][1]);
        json_decref(s);
        json_decref(back);
        vk_buf_free(&b);
    }
}

static void expect_invalid(const char *g, const char *v, const char *k, const char *js)
{
    json_t *in = load_json(js, strlen(js));
    vk_buf b = {0};
    assert_int_equal(vk_buf_append(&b, "keep", 4), 0);
    int rc = vk_pb_from_json(g, v, k, in, &b);
    if (rc != VK_EINVALID)
        fail_msg("%s: got %d, want VK_EINVALID", js, rc);
    assert_int_equal(b.len, 4); /* out untouched on error */
    json_decref(in);
    vk_buf_free(&b);
}

static void test_invalid_json_values(void **state)
{
    expect_invalid("", "v1", "Namespace", "{\"metadata\":{\"creationTimestamp\":\"yesterday\"}}");
    expect_invalid("", "v1", "Namespace",
                   "{\"metadata\":{\"creationTimestamp\":\"2026-02-30T00:00:00Z\"}}");
    expect_invalid("", "v1", "Namespace", "{\"metadata\":{\"generation\":\"1\"}}");
    expect_invalid("", "v1", "Namespace", "{\"metadata\":{\"labels\":[\"a\"]}}");
    expect_invalid("", "v1", "Namespace", "{\"metadata\":{\"labels\":{\"a\":1}}}");
    expect_invalid("", "v1", "Namespace", "{\"metadata\":\"x\"}");
    expect_invalid("", "v1", "Namespace", "[]");
    expect_invalid("", "v1", "Pod",
                   "{\"spec\":{\"containers\":[{\"ports\":[{\"containerPort\":4294967296}]}]}}");
    expect_invalid("", "v1", "Pod",
                   "{\"spec\":{\"containers\":[{\"ports\":[{\"containerPort\":1.5}]}]}}");
    expect_invalid("", "v1", "Pod", "{\"spec\":{\"hostNetwork\":1}}");
    expect_invalid("", "v1", "Service", "{\"spec\":{\"ports\":[{\"targetPort\":true}]}}");
    expect_invalid("", "v1", "ConfigMap", "{\"binaryData\":{\"a\":\"not base64!\"}}");
    expect_invalid("", "v1", "ConfigMap", "{\"binaryData\":{\"a\":\"QQ\"}}");
    expect_invalid("", "v1", "ResourceQuota", "{\"spec\":{\"hard\":{\"cpu\":\"\"}}}");
}

static void test_envelope(void **state)
{
    vk_buf b = {0};
    assert_int_equal(
        vk_pb_envelope_encode("apps/v1", "Deployment", (const uint8_t *)"\x0a\x00", 2, &b), 0);
    static const uint8_t want[] = "k8s\0\x0a\x15\x0a\x07"
                                  "apps/v1\x12\x0a"
                                  "Deployment\x12\x02\x0a\x00\x1a\x00\x22\x00";
    assert_bytes_same((uint8_t *)b.data, b.len, want, sizeof(want) - 1);
    char *av, *k;
    const uint8_t *raw;
    size_t rn;
    assert_int_equal(vk_pb_envelope_decode((uint8_t *)b.data, b.len, &av, &k, &raw, &rn), 0);
    assert_string_equal(av, "apps/v1");
    assert_string_equal(k, "Deployment");
    assert_int_equal(rn, 2);
    assert_memory_equal(raw, "\x0a\x00", 2);
    free(av);
    free(k);

    /* Exactly the magic: an empty message. */
    assert_int_equal(vk_pb_envelope_decode((const uint8_t *)"k8s\0", 4, &av, &k, &raw, &rn), 0);
    assert_string_equal(av, "");
    assert_string_equal(k, "");
    assert_int_equal(rn, 0);
    free(av);
    free(k);

    /* No magic, short, or a broken Unknown. */
    assert_int_equal(vk_pb_envelope_decode((const uint8_t *)"k8s", 3, &av, &k, &raw, &rn),
                     VK_EINVALID);
    assert_int_equal(vk_pb_envelope_decode((const uint8_t *)"{\"a\":1}", 7, &av, &k, &raw, &rn),
                     VK_EINVALID);
    for (size_t cut = 5; cut < b.len - 4; cut++) /* every truncation before the trailer */
        if (cut != 23 && cut != 27)
            assert_int_equal(vk_pb_envelope_decode((uint8_t *)b.data, cut, &av, &k, &raw, &rn),
                             VK_EINVALID);
    assert_int_equal(
        vk_pb_envelope_decode((const uint8_t *)"k8s\0\x0a\x05\x0a\x10", 8, &av, &k, &raw, &rn),
        VK_EINVALID);
    assert_int_equal(vk_pb_envelope_decode((const uint8_t *)"k8s\0\x0f", 5, &av, &k, &raw, &rn),
                     VK_EINVALID);
    /* An embedded NUL in the kind is refused. */
    assert_int_equal(
        vk_pb_envelope_decode((const uint8_t *)"k8s\0\x0a\x03\x12\x01\x00", 9, &av, &k, &raw, &rn),
        VK_EINVALID);
    vk_buf_free(&b);
}

/* Truncations and deterministic bit flips of a real Pod never crash. */
static void test_malformed_protobuf(void **state)
{
    vk_buf pb = {0};
    if (read_file("pod", ".pb", &pb) != 0)
        fail_msg("pod.pb missing");
    char *av, *k;
    const uint8_t *raw;
    size_t rn;
    assert_int_equal(vk_pb_envelope_decode((uint8_t *)pb.data, pb.len, &av, &k, &raw, &rn), 0);
    free(av);
    free(k);
    json_t *out;
    int errors = 0;
    for (size_t cut = 0; cut < rn; cut++) {
        int rc = vk_pb_to_json("", "v1", "Pod", raw, cut, &out);
        if (rc == 0)
            json_decref(out);
        else
            errors++;
        assert_true(rc == 0 || rc == VK_EINVALID);
    }
    assert_true(errors > (int)rn / 2);
    uint8_t *copy = malloc(rn);
    uint32_t seed = 12345;
    for (int iter = 0; iter < 3000; iter++) {
        memcpy(copy, raw, rn);
        for (int flips = 0; flips < 1 + iter % 4; flips++) {
            seed = seed * 1103515245u + 12345u;
            copy[(seed >> 8) % rn] ^= (uint8_t)(1u << ((seed >> 4) & 7));
        }
        int rc = vk_pb_to_json("", "v1", "Pod", copy, rn, &out);
        if (rc == 0)
            json_decref(out);
        assert_true(rc == 0 || rc == VK_EINVALID);
    }
    /* Garbage tags and lengths. */
    static const char *const bad[] = {"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", "\x0a\x7f",
                                      "\x0a\x02\x0a\x05", "\x07", "\x12\x01\xff"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = vk_pb_to_json("", "v1", "Pod", (const uint8_t *)bad[i], strlen(bad[i]), &out);
        if (rc == 0)
            json_decref(out);
        assert_true(rc == 0 || rc == VK_EINVALID);
    }
    free(copy);
    vk_buf_free(&pb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_namespace),     cmocka_unit_test(test_golden_pod),
        cmocka_unit_test(test_golden_deployment),    cmocka_unit_test(test_golden_configmap),
        cmocka_unit_test(test_golden_event),         cmocka_unit_test(test_golden_events_event),
        cmocka_unit_test(test_golden_lease),         cmocka_unit_test(test_golden_status),
        cmocka_unit_test(test_golden_service),       cmocka_unit_test(test_golden_podlist),
        cmocka_unit_test(test_golden_sar),           cmocka_unit_test(test_golden_apiresourcelist),
        cmocka_unit_test(test_golden_crd),           cmocka_unit_test(test_golden_watchevent),
        cmocka_unit_test(test_golden_index_covered), cmocka_unit_test(test_lookup),
        cmocka_unit_test(test_unknown_kind),         cmocka_unit_test(test_special_formats),
        cmocka_unit_test(test_invalid_json_values),  cmocka_unit_test(test_envelope),
        cmocka_unit_test(test_malformed_protobuf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
