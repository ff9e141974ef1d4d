#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/codec/patch.h"
#include "apiserver/codec/patchmeta.h"
#include "common/err.h"

static void expect_json(json_t *got, const char *want)
{
    json_t *w = json_loads(want, JSON_DECODE_ANY, NULL);
    assert_non_null(w);
    if (!json_equal(got, w)) {
        char *g = json_dumps(got, JSON_ENCODE_ANY | JSON_COMPACT);
        fail_msg("got %s want %s", g, want);
    }
    json_decref(w);
}

/* RFC 7386 appendix A. */
static void test_merge_rfc7386(void **state)
{
    static const char *const cases[][3] = {
        {"{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
        {"{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}"},
        {"{\"a\":\"b\"}", "{\"a\":null}", "{}"},
        {"{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}"},
        {"{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
        {"{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}"},
        {"{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}", "{\"a\":{\"b\":\"d\"}}"},
        {"{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}"},
        {"[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]"},
        {"{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]"},
        {"{\"a\":\"foo\"}", "null", "null"},
        {"{\"a\":\"foo\"}", "\"bar\"", "\"bar\""},
        {"{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}"},
        {"[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}"},
        {"{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *doc = json_loads(cases[i][0], JSON_DECODE_ANY, NULL);
        json_t *patch = json_loads(cases[i][1], JSON_DECODE_ANY, NULL);
        json_t *out = vk_merge_patch(doc, patch);
        expect_json(out, cases[i][2]);
        json_decref(doc);
        json_decref(patch);
        json_decref(out);
    }
}

static int jp(const char *doc, const char *patch, const char *want)
{
    json_t *d = json_loads(doc, JSON_DECODE_ANY, NULL);
    json_t *p = json_loads(patch, JSON_DECODE_ANY, NULL);
    char err[256];
    int rc = vk_json_patch(d, p, err, sizeof err);
    if (!rc && want)
        expect_json(d, want);
    json_decref(d);
    json_decref(p);
    return rc;
}

/* RFC 6902 appendix A, and the failures it names. */
static void test_json_patch_rfc6902(void **state)
{
    assert_int_equal(jp("{\"foo\":\"bar\"}",
                        "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\"}]",
                        "{\"baz\":\"qux\",\"foo\":\"bar\"}"),
                     0);
    assert_int_equal(jp("{\"foo\":[\"bar\",\"baz\"]}",
                        "[{\"op\":\"add\",\"path\":\"/foo/1\",\"value\":\"qux\"}]",
                        "{\"foo\":[\"bar\",\"qux\",\"baz\"]}"),
                     0);
    assert_int_equal(jp("{\"foo\":[\"bar\"]}", "[{\"op\":\"add\",\"path\":\"/foo/-\",\"value\":1}]",
                        "{\"foo\":[\"bar\",1]}"),
                     0);
    assert_int_equal(jp("{\"baz\":\"qux\",\"foo\":\"bar\"}",
                        "[{\"op\":\"remove\",\"path\":\"/baz\"}]", "{\"foo\":\"bar\"}"),
                     0);
    assert_int_equal(jp("{\"foo\":[\"bar\",\"qux\",\"baz\"]}",
                        "[{\"op\":\"remove\",\"path\":\"/foo/1\"}]", "{\"foo\":[\"bar\",\"baz\"]}"),
                     0);
    assert_int_equal(jp("{\"baz\":\"qux\"}",
                        "[{\"op\":\"replace\",\"path\":\"/baz\",\"value\":\"boo\"}]",
                        "{\"baz\":\"boo\"}"),
                     0);
    assert_int_equal(
        jp("{\"foo\":{\"bar\":\"baz\",\"waldo\":\"fred\"},\"qux\":{\"corge\":\"grault\"}}",
           "[{\"op\":\"move\",\"from\":\"/foo/waldo\",\"path\":\"/qux/thud\"}]",
           "{\"foo\":{\"bar\":\"baz\"},\"qux\":{\"corge\":\"grault\",\"thud\":\"fred\"}}"),
        0);
    assert_int_equal(jp("{\"foo\":[\"all\",\"grass\",\"cows\",\"eat\"]}",
                        "[{\"op\":\"move\",\"from\":\"/foo/1\",\"path\":\"/foo/3\"}]",
                        "{\"foo\":[\"all\",\"cows\",\"eat\",\"grass\"]}"),
                     0);
    assert_int_equal(jp("{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}",
                        "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"qux\"},"
                        "{\"op\":\"test\",\"path\":\"/foo/1\",\"value\":2}]",
                        NULL),
                     0);
    assert_int_equal(
        jp("{\"baz\":\"qux\"}", "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"bar\"}]", NULL),
        VK_ECONFLICT);
    assert_int_equal(
        jp("{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz/bat\",\"value\":\"qux\"}]", NULL),
        VK_ECONFLICT);
    assert_int_equal(
        jp("{\"/\":9,\"~1\":10}", "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":10}]", NULL), 0);
    assert_int_equal(jp("{\"foo\":\"bar\"}",
                        "[{\"op\":\"copy\",\"from\":\"/foo\",\"path\":\"/baz\"}]",
                        "{\"foo\":\"bar\",\"baz\":\"bar\"}"),
                     0);
    assert_int_equal(jp("{\"foo\":[1]}", "[{\"op\":\"remove\",\"path\":\"/foo/01\"}]", NULL),
                     VK_ECONFLICT);
    assert_int_equal(
        jp("{\"foo\":[1]}", "[{\"op\":\"replace\",\"path\":\"/foo/1\",\"value\":2}]", NULL),
        VK_ECONFLICT);
    assert_int_equal(jp("{}", "[{\"op\":\"frob\",\"path\":\"/a\"}]", NULL), VK_EINVALID);
    assert_int_equal(jp("{}", "{\"op\":\"add\"}", NULL), VK_EINVALID);
    assert_int_equal(jp("{}", "[{\"op\":\"add\",\"path\":\"/a\"}]", NULL), VK_EINVALID);
}

struct smp_case {
    const char *name, *group, *version, *kind, *orig, *patch;
    const char *want;     /* the patched object, or NULL for an error */
    const char *want_err; /* kube's message */
    int code;             /* the status code kube answers the error with */
};

static const char ORIG0[] =
    "{\"apiVersion\":\"apps/"
    "v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\",\"labels\":{\"app\":\"web\","
    "\"tier\":\"fe\"},\"finalizers\":[\"b/y\",\"a/"
    "x\"]},\"spec\":{\"replicas\":1,\"strategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":{"
    "\"maxSurge\":1,\"maxUnavailable\":0}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}"
    "},\"spec\":{\"containers\":[{\"name\":\"nginx\",\"image\":\"nginx:1.25\",\"env\":[{\"name\":"
    "\"A\",\"value\":\"1\"},{\"name\":\"B\",\"value\":\"2\"},{\"name\":\"C\",\"value\":\"3\"}],"
    "\"ports\":[{\"containerPort\":80,\"protocol\":\"TCP\"}]},{\"name\":\"side\",\"image\":"
    "\"busybox\",\"command\":[\"sleep\",\"1d\"]}],\"volumes\":[{\"name\":\"data\",\"emptyDir\":{}},"
    "{\"name\":\"cfg\",\"configMap\":{\"name\":\"c1\"}}],\"tolerations\":[{\"key\":\"k1\","
    "\"operator\":\"Exists\"},{\"key\":\"k2\",\"operator\":\"Exists\"}]}}}}";
static const char ORIG1[] =
    "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"s\"},\"spec\":{\"ports\":"
    "[{\"name\":\"http\",\"port\":80,\"targetPort\":8080,\"protocol\":\"TCP\"},{\"name\":\"https\","
    "\"port\":443,\"protocol\":\"TCP\"}],\"selector\":{\"app\":\"web\"}}}";
static const char ORIG2[] = "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"n\"}"
                            ",\"spec\":{\"podCIDRs\":[\"10.0.0.0/24\",\"10.0.2.0/24\"]}}";
static const char ORIG3[] = "{\"apiVersion\":\"apps/"
                            "v1\",\"kind\":\"ControllerRevision\",\"metadata\":{\"name\":\"r\"},"
                            "\"data\":{\"spec\":{\"a\":1}},\"revision\":1}";
static const char ORIG4[] =
    "{\"apiVersion\":\"apps/"
    "v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\",\"labels\":{\"app\":\"web\","
    "\"tier\":\"fe\"},\"finalizers\":[\"b/y\",\"a/"
    "x\"],\"ownerReferences\":[{\"uid\":\"u1\",\"name\":\"a\",\"kind\":\"K\",\"apiVersion\":\"v1\"}"
    "]},\"spec\":{\"replicas\":1,\"strategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":{"
    "\"maxSurge\":1,\"maxUnavailable\":0}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}"
    "},\"spec\":{\"containers\":[{\"name\":\"nginx\",\"image\":\"nginx:1.25\",\"env\":[{\"name\":"
    "\"A\",\"value\":\"1\"},{\"name\":\"B\",\"value\":\"2\"},{\"name\":\"C\",\"value\":\"3\"}],"
    "\"ports\":[{\"containerPort\":80,\"protocol\":\"TCP\"}]},{\"name\":\"side\",\"image\":"
    "\"busybox\",\"command\":[\"sleep\",\"1d\"]}],\"volumes\":[{\"name\":\"data\",\"emptyDir\":{}},"
    "{\"name\":\"cfg\",\"configMap\":{\"name\":\"c1\"}}],\"tolerations\":[{\"key\":\"k1\","
    "\"operator\":\"Exists\"},{\"key\":\"k2\",\"operator\":\"Exists\"}]}}}}";
static const char ORIG5[] = "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"n\"}"
                            ",\"spec\":{\"podCIDRs\":[]}}";

/* Cases whose expectations come from kube's strategicpatch (apimachinery v0.37.2,
 * StrategicMergeMapPatch with the k8s.io/api struct, as the API server applies it). */
static const struct smp_case smp_cases[] = {
    {"set image", "apps", "v1", "Deployment", ORIG0,
     "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"nginx\",\"image\":\"nginx:1."
     "26\"}]}}}}",
     "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"finalizers\":[\"b/"
     "y\",\"a/"
     "x\"],\"labels\":{\"app\":\"web\",\"tier\":\"fe\"},\"name\":\"web\"},\"spec\":{\"replicas\":1,"
     "\"strategy\":{\"rollingUpdate\":{\"maxSurge\":1,\"maxUnavailable\":0},\"type\":"
     "\"RollingUpdate\"},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{"
     "\"containers\":[{\"env\":[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\",\"value\":\"2\"},{"
     "\"name\":\"C\",\"value\":\"3\"}],\"image\":\"nginx:1.26\",\"name\":\"nginx\",\"ports\":[{"
     "\"containerPort\":80,\"protocol\":\"TCP\"}]},{\"command\":[\"sleep\",\"1d\"],\"image\":"
     "\"busybox\",\"name\":\"side\"}],\"tolerations\":[{\"key\":\"k1\",\"operator\":\"Exists\"},{"
     "\"key\":\"k2\",\"operator\":\"Exists\"}],\"volumes\":[{\"emptyDir\":{},\"name\":\"data\"},{"
     "\"configMap\":{\"name\":\"c1\"},\"name\":\"cfg\"}]}}}}",
     NULL, 0},
    {"new container appended", "apps", "v1", "Deployment", ORIG0,
     "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"new\",\"image\":\"x\"}]}}}}",
     "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"finalizers\":[\"b/"
     "y\",\"a/"
     "x\"],\"labels\":{\"app\":\"web\",\"tier\":\"fe\"},\"name\":\"web\"},\"spec\":{\"replicas\":1,"
     "\"strategy\":{\"rollingUpdate\":{\"maxSurge\":1,\"maxUnavailable\":0},\"type\":"
     "\"RollingUpdate\"},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{"
     "\"containers\":[{\"image\":\"x\",\"name\":\"new\"},{\"env\":[{\"name\":\"A\",\"value\":\"1\"}"
     ",{\"name\":\"B\",\"value\":\"2\"},{\"name\":\"C\",\"value\":\"3\"}],\"image\":\"nginx:1.25\","
     "\"name\":\"nginx\",\"ports\":[{\"containerPort\":80,\"protocol\":\"TCP\"}]},{\"command\":["
     "\"sleep\",\"1d\"],\"image\":\"busybox\",\"name\":\"side\"}],\"tolerations\":[{\"key\":\"k1\","
     "\"operator\":\"Exists\"},{\"key\":\"k2\",\"operator\":\"Exists\"}],\"volumes\":[{"
     "\"emptyDir\":{},\"name\":\"data\"},{\"configMap\":{\"name\":\"c1\"},\"name\":\"cfg\"}]}}}}",
     NULL, 0},
    {"delete env by name", "apps", "v1", "Deployment", ORIG0,
     "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"nginx\",\"env\":[{\"$patch\":"
     "\"delete\",\"name\":\"B\"}]}]}}}}",
     "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"finalizers\":[\"b/"
     "y\",\"a/"
     "x\"],\"labels\":{\"app\":\"web\",\"tier\":\"fe\"},\"name\":\"web\"},\"spec\":{\"replicas\":1,"
     "\"strategy\":{\"rollingUpdate\":{\"maxSurge\":1,\"maxUnavailable\":0},\"type\":"
     "\"RollingUpdate\"},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{"
     "\"containers\":[{\"env\":[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"C\",\"value\":\"3\"}],"
     "\"image\":\"nginx:1.25\",\"name\":\"nginx\",\"ports\":[{\"containerPort\":80,\"protocol\":"
     "\"TCP\"}]},{\"command\":[\"sleep\",\"1d\"],\"image\":\"busybox\",\"name\":\"side\"}],"
     "\"tolerations\":[{\"key\":\"k1\",\"operator\":\"Exists\"},{\"key\":\"k2\",\"operator\":"
     "\"Exists\"}],\"volumes\":[{\"emptyDir\":{},\"name\":\"data\"},{\"configMap\":{\"name\":"
     "\"c1\"},\"name\":\"cfg\"}]}}}}",
     NULL, 0},
    {"replace list item directive", "apps", "v1", "Deployment", ORIG0,
     "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"nginx\",\"env\":[{\"name\":"
     "\"Z\",\"value\":\"9\"},{\"$patch\":\"replace\"}]}]}}}}",
     "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"finalizers\":[\"b/"
     "y\",\"a/"
     "x\"],\"labels\":{\"app\":\"web\",\"tier\":\"fe\"},\"name\":\"web\"},\"spec\":{\"replicas\":1,"
     "\"strategy\":{\"rollingUpdate\":{\"maxSurge\":1,\"maxUnavailable\":0},\"type\":"
     "\"RollingUpdate\"},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{"
     "\"containers\":[{\"env\":[{\"name\":\"Z\",\"value\":\"9\"}],\"image\":\"nginx:1.25\","
     "\"name\":\"nginx\",\"ports\":[{\"containerPort\":80,\"protocol\":\"TCP\"}]},{\"command\":["
     "\"sleep\",\"1d\"],\"image\":\"busybox\",\"name\":\"side\"}],\"tolerations\":[{\"key\":\"k1\","
     "\"operator\":\"Exists\"},{\"key\":\"k2\",\"operator\":\"Exists\"}],\"volumes\":[{"
     "\"emptyDir\":{},\"name\":\"data\"},{\"configMap\":{\"name\":\"c1\"},\"name\":\"cfg\"}]}}}}",
     NULL, 0},
    {"setElementOrder reorder", "apps", "v1", "Deployment", ORIG0,
     "{\"spec\":{\"template\":{\"spec\":{\"$setElementOrder/"
     "containers\":[{\"name\":\"side\"},{\"name\":\"nginx\"}],\"containers\":[{\"name\":\"nginx\","
     "\"image\":\"n2\"}]}}}}",
     "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"finalizers\":[\"b/"
     "y\",\"a/"
     "x\"],\"labels\":{\"app\":\"web\",\"tier\":\"fe\"},\"name\":\"web\"},\"spec\":{\"replicas\":1,"
     "\"strategy\":{\"rollingUpdate\":{\"maxSurge\":1,\"maxUnavailable\":0},\"type\":"
     "\"RollingUpdate\"},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{"
     "\"containers\":[{\"command\":[\"sleep\",\"1d\"],\"image\":\"busybox\",\"name\":\"side\"},{"
     "\"env\":[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\",\"value\":\"2\"},{\"name\":\"C\","
     "\"value\":\"3\"}],\"image\":\"n2\",\"name\":\"nginx\",\"ports\":[{\"containerPort\":80,"
     "\"protocol\":\"TCP\"}]}],\"tolerations\":[{\"key\":\"k1\",\"operator\":\"Exists\"},{\"key\":"
     "\"k2\",\"operator\":\"Exists\"}],\"volumes\":[{\"emptyDir\":{},\"name\":\"data\"},{"
     "\"configMap\":{\"name\":\"c1\"},\"name\":\"cfg\"}]}}}}",
     NULL, 0},
    {"setElementOrder interleave server-only", "apps", "v1", "Deployment", ORIG0,
     "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"nginx\",\"env\":[{\"name\":"
     "\"D\",\"value\":\"4\"},{\"name\":\"A\",\"value\":\"0\"}],\"$setElementOrder/"
     "env\":[{\"name\":\"D\"},{\"name\":\"A\"},{\"name\":\"C\"}]}]}}}}",
     "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"finalizers\":[\"b/"
     "y\",\"a/"
     "x\"],\"labels\":{\"app\":\"web\",\"tier\":\"fe\"},\"name\":\"web\"},\"spec\":{\"replicas\":1,"
     "\"strategy\":{\"rollingUpdate\":{\"maxSurge\":1,\"maxUnavailable\":0},\"type\":"
     "\"RollingUpdate\"},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{"
     "\"containers\":[{\"env\":[{\"name\":\"D\",\"value\":\"4\"},{\"name\":\"A\",\"value\":\"0\"},{"
     "\"name\":\"B\",\"value\":\"2\"},{\"name\":\"C\",\"value\":\"3\"}],\"image\":\"nginx:1.25\","
     "\"name\":\"nginx\",\"ports\":[{\"containerPort\":80,\"protocol\":\"TCP\"}]},{\"command\":["
     "\"sleep\",\"1d\"],\"image\":\"busybox\",\"name\":\"side\"}],\"tolerations\":[{\"key\":\"k1\","
     "\"operator\":\"Exists\"},{\"key\":\"k2\",\"operator\":\"Exists\"}],\"volumes\":[{"
     "\"emptyDir\":{},\"name\":\"data\"},{\"configMap\":{\"name\":\"c1\"},\"name\":\"cfg\"}]}}}}",
     NULL, 0},
    {"deleteFromPrimitiveList", "apps", "v1", "Deployment", ORIG0,
     "{\"metadata\":{\"$deleteFromPrimitiveList/finalizers\":[\"a/x\"]}}",
     "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"finalizers\":[\"b/"
     "y\"],\"labels\":{\"app\":\"web\",\"tier\":\"fe\"},\"name\":\"web\"},\"spec\":{\"replicas\":1,"
     "\"strategy\":{\"rollingUpdate\":{\"maxSurge\":1,\"maxUnavailable\":0},\"type\":"
     "\"RollingUpdate\"},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{"
     "\"containers\":[{\"env\":[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\",\"value\":\"2\"},{"
     "\"name\":\"C\",\"value\":\"3\"}],\"image\":\"nginx:1.25\",\"name\":\"nginx\",\"ports\":[{"
     "\"containerPort\":80,\"protocol\":\"TCP\"}]},{\"command\":[\"sleep\",\"1d\"],\"image\":"
     "\"busybox\",\"name\":\"side\"}],\"tolerations\":[{\"key\":\"k1\",\"operator\":\"Exists\"},{"
     "\"key\":\"k2\",\"operator\":\"Exists\"}],\"volumes\":[{\"emptyDir\":{},\"name\":\"data\"},{"
     "\"configMap\":{\"name\":\"c1\"},\"name\":\"cfg\"}]}}}}",
     NULL, 0},
    {"primitive merge list union order", "apps", "v1", "Deployment", ORIG0,
     "{\"metadata\":{\"finalizers\":[\"c/z\",\"a/x\"]}}",
     "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"finalizers\":[\"c/"
     "z\",\"b/y\",\"a/"
     "x\"],\"labels\":{\"app\":\"web\",\"tier\":\"fe\"},\"name\":\"web\"},\"spec\":{\"replicas\":1,"
     "\"strategy\":{\"rollingUpdate\":{\"maxSurge\":1,\"maxUnavailable\":0},\"type\":"
     "\"RollingUpdate\"},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{"
     "\"containers\":[{\"env\":[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\",\"value\":\"2\"},{"
     "\"name\":\"C\",\"value\":\"3\"}],\"image\":\"nginx:1.25\",\"name\":\"nginx\",\"ports\":[{"
     "\"containerPort\":80,\"protocol\":\"TCP\"}]},{\"command\":[\"sleep\",\"1d\"],\"image\":"
     "\"busybox\",\"name\":\"side\"}],\"tolerations\":[{\"key\":\"k1\",\"operator\":\"Exists\"},{"
     "\"key\":\"k2\",\"operator\":\"Exists\"}],\"volumes\":[{\"emptyDir\":{},\"name\":\"data\"},{"
     "\"configMap\":{\"name\":\"c1\"},\"name\":\"cfg\"}]}}}}",
     NULL, 0},
    {"primitive list setElementOrder", "apps", "v1", "Deployment", ORIG0,
     "{\"metadata\":{\"$setElementOrder/finalizers\":[\"a/x\",\"c/z\",\"b/y\"],\"finalizers\":[\"c/"
     "z\"]}}",
     "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"finalizers\":[\"a/"
     "x\",\"c/z\",\"b/"
     "y\"],\"labels\":{\"app\":\"web\",\"tier\":\"fe\"},\"name\":\"web\"},\"spec\":{\"replicas\":1,"
     "\"strategy\":{\"rollingUpdate\":{\"maxSurge\":1,\"maxUnavailable\":0},\"type\":"
     "\"RollingUpdate\"},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{"
     "\"containers\":[{\"env\":[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\",\"value\":\"2\"},{"
     "\"name\":\"C\",\"value\":\"3\"}],\"image\":\"nginx:1.25\",\"name\":\"nginx\",\"ports\":[{"
     "\"containerPort\":80,\"protocol\":\"TCP\"}]},{\"command\":[\"sleep\",\"1d\"],\"image\":"
     "\"busybox\",\"name\":\"side\"}],\"tolerations\":[{\"key\":\"k1\",\"operator\":\"Exists\"},{"
     "\"key\":\"k2\",\"operator\":\"Exists\"}],\"volumes\":[{\"emptyDir\":{},\"name\":\"data\"},{"
     "\"configMap\":{\"name\":\"c1\"},\"name\":\"cfg\"}]}}}}",
     NULL, 0},
    {"retainKeys volume source switch", "apps", "v1", "Deployment", ORIG0,
     "{\"spec\":{\"template\":{\"spec\":{\"$setElementOrder/"
     "volumes\":[{\"name\":\"data\"},{\"name\":\"cfg\"}],\"volumes\":[{\"$retainKeys\":[\"name\","
     "\"secret\"],\"name\":\"data\",\"secret\":{\"secretName\":\"s\"}}]}}}}",
     "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"finalizers\":[\"b/"
     "y\",\"a/"
     "x\"],\"labels\":{\"app\":\"web\",\"tier\":\"fe\"},\"name\":\"web\"},\"spec\":{\"replicas\":1,"
     "\"strategy\":{\"rollingUpdate\":{\"maxSurge\":1,\"maxUnavailable\":0},\"type\":"
     "\"RollingUpdate\"},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{"
     "\"containers\":[{\"env\":[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\",\"value\":\"2\"},{"
     "\"name\":\"C\",\"value\":\"3\"}],\"image\":\"nginx:1.25\",\"name\":\"nginx\",\"ports\":[{"
     "\"containerPort\":80,\"protocol\":\"TCP\"}]},{\"command\":[\"sleep\",\"1d\"],\"image\":"
     "\"busybox\",\"name\":\"side\"}],\"tolerations\":[{\"key\":\"k1\",\"operator\":\"Exists\"},{"
     "\"key\":\"k2\",\"operator\":\"Exists\"}],\"volumes\":[{\"name\":\"data\",\"secret\":{"
     "\"secretName\":\"s\"}},{\"configMap\":{\"name\":\"c1\"},\"name\":\"cfg\"}]}}}}",
     NULL, 0},
    {"retainKeys strategy", "apps", "v1", "Deployment", ORIG0,
     "{\"spec\":{\"strategy\":{\"$retainKeys\":[\"type\"],\"type\":\"Recreate\"}}}",
     "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"finalizers\":[\"b/"
     "y\",\"a/"
     "x\"],\"labels\":{\"app\":\"web\",\"tier\":\"fe\"},\"name\":\"web\"},\"spec\":{\"replicas\":1,"
     "\"strategy\":{\"type\":\"Recreate\"},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}"
     "},\"spec\":{\"containers\":[{\"env\":[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\","
     "\"value\":\"2\"},{\"name\":\"C\",\"value\":\"3\"}],\"image\":\"nginx:1.25\",\"name\":"
     "\"nginx\",\"ports\":[{\"containerPort\":80,\"protocol\":\"TCP\"}]},{\"command\":[\"sleep\","
     "\"1d\"],\"image\":\"busybox\",\"name\":\"side\"}],\"tolerations\":[{\"key\":\"k1\","
     "\"operator\":\"Exists\"},{\"key\":\"k2\",\"operator\":\"Exists\"}],\"volumes\":[{"
     "\"emptyDir\":{},\"name\":\"data\"},{\"configMap\":{\"name\":\"c1\"},\"name\":\"cfg\"}]}}}}",
     NULL, 0},
    {"tolerations replaced", "apps", "v1", "Deployment", ORIG0,
     "{\"spec\":{\"template\":{\"spec\":{\"tolerations\":[{\"key\":\"k3\",\"operator\":\"Exists\"}]"
     "}}}}",
     "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"finalizers\":[\"b/"
     "y\",\"a/"
     "x\"],\"labels\":{\"app\":\"web\",\"tier\":\"fe\"},\"name\":\"web\"},\"spec\":{\"replicas\":1,"
     "\"strategy\":{\"rollingUpdate\":{\"maxSurge\":1,\"maxUnavailable\":0},\"type\":"
     "\"RollingUpdate\"},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{"
     "\"containers\":[{\"env\":[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\",\"value\":\"2\"},{"
     "\"name\":\"C\",\"value\":\"3\"}],\"image\":\"nginx:1.25\",\"name\":\"nginx\",\"ports\":[{"
     "\"containerPort\":80,\"protocol\":\"TCP\"}]},{\"command\":[\"sleep\",\"1d\"],\"image\":"
     "\"busybox\",\"name\":\"side\"}],\"tolerations\":[{\"key\":\"k3\",\"operator\":\"Exists\"}],"
     "\"volumes\":[{\"emptyDir\":{},\"name\":\"data\"},{\"configMap\":{\"name\":\"c1\"},\"name\":"
     "\"cfg\"}]}}}}",
     NULL, 0},
    {"labels merge and null delete", "apps", "v1", "Deployment", ORIG0,
     "{\"metadata\":{\"labels\":{\"tier\":null,\"env\":\"prod\"}}}",
     "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"finalizers\":[\"b/"
     "y\",\"a/"
     "x\"],\"labels\":{\"app\":\"web\",\"env\":\"prod\"},\"name\":\"web\"},\"spec\":{\"replicas\":"
     "1,\"strategy\":{\"rollingUpdate\":{\"maxSurge\":1,\"maxUnavailable\":0},\"type\":"
     "\"RollingUpdate\"},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{"
     "\"containers\":[{\"env\":[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\",\"value\":\"2\"},{"
     "\"name\":\"C\",\"value\":\"3\"}],\"image\":\"nginx:1.25\",\"name\":\"nginx\",\"ports\":[{"
     "\"containerPort\":80,\"protocol\":\"TCP\"}]},{\"command\":[\"sleep\",\"1d\"],\"image\":"
     "\"busybox\",\"name\":\"side\"}],\"tolerations\":[{\"key\":\"k1\",\"operator\":\"Exists\"},{"
     "\"key\":\"k2\",\"operator\":\"Exists\"}],\"volumes\":[{\"emptyDir\":{},\"name\":\"data\"},{"
     "\"configMap\":{\"name\":\"c1\"},\"name\":\"cfg\"}]}}}}",
     NULL, 0},
    {"map replace directive", "apps", "v1", "Deployment", ORIG0,
     "{\"metadata\":{\"labels\":{\"$patch\":\"replace\",\"only\":\"one\"}}}",
     "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"finalizers\":[\"b/"
     "y\",\"a/"
     "x\"],\"labels\":{\"only\":\"one\"},\"name\":\"web\"},\"spec\":{\"replicas\":1,\"strategy\":{"
     "\"rollingUpdate\":{\"maxSurge\":1,\"maxUnavailable\":0},\"type\":\"RollingUpdate\"},"
     "\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"env\":"
     "[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\",\"value\":\"2\"},{\"name\":\"C\",\"value\":"
     "\"3\"}],\"image\":\"nginx:1.25\",\"name\":\"nginx\",\"ports\":[{\"containerPort\":80,"
     "\"protocol\":\"TCP\"}]},{\"command\":[\"sleep\",\"1d\"],\"image\":\"busybox\",\"name\":"
     "\"side\"}],\"tolerations\":[{\"key\":\"k1\",\"operator\":\"Exists\"},{\"key\":\"k2\","
     "\"operator\":\"Exists\"}],\"volumes\":[{\"emptyDir\":{},\"name\":\"data\"},{\"configMap\":{"
     "\"name\":\"c1\"},\"name\":\"cfg\"}]}}}}",
     NULL, 0},
    {"map delete directive", "apps", "v1", "Deployment", ORIG0,
     "{\"spec\":{\"strategy\":{\"$patch\":\"delete\"}}}",
     "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"finalizers\":[\"b/"
     "y\",\"a/"
     "x\"],\"labels\":{\"app\":\"web\",\"tier\":\"fe\"},\"name\":\"web\"},\"spec\":{\"replicas\":1,"
     "\"strategy\":{},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{"
     "\"containers\":[{\"env\":[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\",\"value\":\"2\"},{"
     "\"name\":\"C\",\"value\":\"3\"}],\"image\":\"nginx:1.25\",\"name\":\"nginx\",\"ports\":[{"
     "\"containerPort\":80,\"protocol\":\"TCP\"}]},{\"command\":[\"sleep\",\"1d\"],\"image\":"
     "\"busybox\",\"name\":\"side\"}],\"tolerations\":[{\"key\":\"k1\",\"operator\":\"Exists\"},{"
     "\"key\":\"k2\",\"operator\":\"Exists\"}],\"volumes\":[{\"emptyDir\":{},\"name\":\"data\"},{"
     "\"configMap\":{\"name\":\"c1\"},\"name\":\"cfg\"}]}}}}",
     NULL, 0},
    {"service port merge by port", "", "v1", "Service", ORIG1,
     "{\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":9090},{\"port\":8443,\"name\":\"alt\"}]}}",
     "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"s\"},\"spec\":{"
     "\"ports\":[{\"name\":\"http\",\"port\":80,\"protocol\":\"TCP\",\"targetPort\":9090},{"
     "\"name\":\"alt\",\"port\":8443},{\"name\":\"https\",\"port\":443,\"protocol\":\"TCP\"}],"
     "\"selector\":{\"app\":\"web\"}}}",
     NULL, 0},
    {"volumes merge by name", "apps", "v1", "Deployment", ORIG0,
     "{\"spec\":{\"template\":{\"spec\":{\"volumes\":[{\"name\":\"extra\",\"emptyDir\":{}},{"
     "\"name\":\"cfg\",\"configMap\":{\"name\":\"c2\"}}]}}}}",
     "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"finalizers\":[\"b/"
     "y\",\"a/"
     "x\"],\"labels\":{\"app\":\"web\",\"tier\":\"fe\"},\"name\":\"web\"},\"spec\":{\"replicas\":1,"
     "\"strategy\":{\"rollingUpdate\":{\"maxSurge\":1,\"maxUnavailable\":0},\"type\":"
     "\"RollingUpdate\"},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{"
     "\"containers\":[{\"env\":[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\",\"value\":\"2\"},{"
     "\"name\":\"C\",\"value\":\"3\"}],\"image\":\"nginx:1.25\",\"name\":\"nginx\",\"ports\":[{"
     "\"containerPort\":80,\"protocol\":\"TCP\"}]},{\"command\":[\"sleep\",\"1d\"],\"image\":"
     "\"busybox\",\"name\":\"side\"}],\"tolerations\":[{\"key\":\"k1\",\"operator\":\"Exists\"},{"
     "\"key\":\"k2\",\"operator\":\"Exists\"}],\"volumes\":[{\"emptyDir\":{},\"name\":\"extra\"},{"
     "\"emptyDir\":{},\"name\":\"data\"},{\"configMap\":{\"name\":\"c2\"},\"name\":\"cfg\"}]}}}}",
     NULL, 0},
    {"container ports by containerPort", "apps", "v1", "Deployment", ORIG0,
     "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"nginx\",\"ports\":[{"
     "\"containerPort\":443},{\"containerPort\":80,\"name\":\"http\"}]}]}}}}",
     "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"finalizers\":[\"b/"
     "y\",\"a/"
     "x\"],\"labels\":{\"app\":\"web\",\"tier\":\"fe\"},\"name\":\"web\"},\"spec\":{\"replicas\":1,"
     "\"strategy\":{\"rollingUpdate\":{\"maxSurge\":1,\"maxUnavailable\":0},\"type\":"
     "\"RollingUpdate\"},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{"
     "\"containers\":[{\"env\":[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\",\"value\":\"2\"},{"
     "\"name\":\"C\",\"value\":\"3\"}],\"image\":\"nginx:1.25\",\"name\":\"nginx\",\"ports\":[{"
     "\"containerPort\":443},{\"containerPort\":80,\"name\":\"http\",\"protocol\":\"TCP\"}]},{"
     "\"command\":[\"sleep\",\"1d\"],\"image\":\"busybox\",\"name\":\"side\"}],\"tolerations\":[{"
     "\"key\":\"k1\",\"operator\":\"Exists\"},{\"key\":\"k2\",\"operator\":\"Exists\"}],"
     "\"volumes\":[{\"emptyDir\":{},\"name\":\"data\"},{\"configMap\":{\"name\":\"c1\"},\"name\":"
     "\"cfg\"}]}}}}",
     NULL, 0},
    {"podCIDRs primitive merge", "", "v1", "Node", ORIG2,
     "{\"spec\":{\"podCIDRs\":[\"10.0.1.0/24\",\"10.0.0.0/24\"]}}",
     "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"n\"},\"spec\":{"
     "\"podCIDRs\":[\"10.0.1.0/24\",\"10.0.0.0/24\",\"10.0.2.0/24\"]}}",
     NULL, 0},
    {"nulls discarded in new values", "apps", "v1", "Deployment", ORIG0,
     "{\"spec\":{\"paused\":null,\"template\":{\"spec\":{\"nodeSelector\":{\"a\":\"b\",\"c\":null}}"
     "}}}",
     "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"finalizers\":[\"b/"
     "y\",\"a/"
     "x\"],\"labels\":{\"app\":\"web\",\"tier\":\"fe\"},\"name\":\"web\"},\"spec\":{\"replicas\":1,"
     "\"strategy\":{\"rollingUpdate\":{\"maxSurge\":1,\"maxUnavailable\":0},\"type\":"
     "\"RollingUpdate\"},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{"
     "\"containers\":[{\"env\":[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\",\"value\":\"2\"},{"
     "\"name\":\"C\",\"value\":\"3\"}],\"image\":\"nginx:1.25\",\"name\":\"nginx\",\"ports\":[{"
     "\"containerPort\":80,\"protocol\":\"TCP\"}]},{\"command\":[\"sleep\",\"1d\"],\"image\":"
     "\"busybox\",\"name\":\"side\"}],\"nodeSelector\":{\"a\":\"b\"},\"tolerations\":[{\"key\":"
     "\"k1\",\"operator\":\"Exists\"},{\"key\":\"k2\",\"operator\":\"Exists\"}],\"volumes\":[{"
     "\"emptyDir\":{},\"name\":\"data\"},{\"configMap\":{\"name\":\"c1\"},\"name\":\"cfg\"}]}}}}",
     NULL, 0},
    {"new list value loses directives", "apps", "v1", "Deployment", ORIG0,
     "{\"spec\":{\"template\":{\"spec\":{\"imagePullSecrets\":[{\"name\":\"r1\"},{\"name\":\"r2\","
     "\"$patch\":\"delete\"}]}}}}",
     "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"finalizers\":[\"b/"
     "y\",\"a/"
     "x\"],\"labels\":{\"app\":\"web\",\"tier\":\"fe\"},\"name\":\"web\"},\"spec\":{\"replicas\":1,"
     "\"strategy\":{\"rollingUpdate\":{\"maxSurge\":1,\"maxUnavailable\":0},\"type\":"
     "\"RollingUpdate\"},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{"
     "\"containers\":[{\"env\":[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\",\"value\":\"2\"},{"
     "\"name\":\"C\",\"value\":\"3\"}],\"image\":\"nginx:1.25\",\"name\":\"nginx\",\"ports\":[{"
     "\"containerPort\":80,\"protocol\":\"TCP\"}]},{\"command\":[\"sleep\",\"1d\"],\"image\":"
     "\"busybox\",\"name\":\"side\"}],\"imagePullSecrets\":[{\"name\":\"r1\"}],\"tolerations\":[{"
     "\"key\":\"k1\",\"operator\":\"Exists\"},{\"key\":\"k2\",\"operator\":\"Exists\"}],"
     "\"volumes\":[{\"emptyDir\":{},\"name\":\"data\"},{\"configMap\":{\"name\":\"c1\"},\"name\":"
     "\"cfg\"}]}}}}",
     NULL, 0},
    {"whole containers replace", "apps", "v1", "Deployment", ORIG0,
     "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"only\",\"image\":\"i\"},{\"$"
     "patch\":\"replace\"}]}}}}",
     "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"finalizers\":[\"b/"
     "y\",\"a/"
     "x\"],\"labels\":{\"app\":\"web\",\"tier\":\"fe\"},\"name\":\"web\"},\"spec\":{\"replicas\":1,"
     "\"strategy\":{\"rollingUpdate\":{\"maxSurge\":1,\"maxUnavailable\":0},\"type\":"
     "\"RollingUpdate\"},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{"
     "\"containers\":[{\"image\":\"i\",\"name\":\"only\"}],\"tolerations\":[{\"key\":\"k1\","
     "\"operator\":\"Exists\"},{\"key\":\"k2\",\"operator\":\"Exists\"}],\"volumes\":[{"
     "\"emptyDir\":{},\"name\":\"data\"},{\"configMap\":{\"name\":\"c1\"},\"name\":\"cfg\"}]}}}}",
     NULL, 0},
    {"map directive unknown", "apps", "v1", "Deployment", ORIG0,
     "{\"metadata\":{\"labels\":{\"$patch\":\"frob\"}}}", NULL,
     "unknown patch type: frob in map: map[$patch:frob]", 500},
    {"merge key missing", "apps", "v1", "Deployment", ORIG0,
     "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"image\":\"x\"}]}}}}", NULL,
     "map: map[image:x] does not contain declared merge key: name", 500},
    {"list merge directive", "apps", "v1", "Deployment", ORIG0,
     "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"$patch\":\"merge\"}]}}}}", NULL,
     "merging lists cannot yet be specified in the patch", 500},
    {"setElementOrder mismatch", "apps", "v1", "Deployment", ORIG0,
     "{\"spec\":{\"template\":{\"spec\":{\"$setElementOrder/"
     "containers\":[{\"name\":\"side\"}],\"containers\":[{\"name\":\"nginx\",\"image\":\"n\"}]}}}}",
     NULL,
     "The order in patch list:\n[map[image:n name:nginx]]\n doesn't match $setElementOrder "
     "list:\n[map[name:side]]\n",
     500},
    {"retainKeys missing key", "apps", "v1", "Deployment", ORIG0,
     "{\"spec\":{\"strategy\":{\"$retainKeys\":[\"type\"],\"type\":\"Recreate\",\"rollingUpdate\":{"
     "\"maxSurge\":2}}}}",
     NULL, "invalid patch format of retainKeys", 400},
    {"retainKeys not a list", "apps", "v1", "Deployment", ORIG0,
     "{\"spec\":{\"strategy\":{\"$retainKeys\":\"type\"}}}", NULL,
     "invalid patch format of retainKeys", 400},
    {"bad deleteFromPrimitiveList key", "apps", "v1", "Deployment", ORIG0,
     "{\"metadata\":{\"$deleteFromPrimitiveListX\":[\"a/x\"]}}", NULL,
     "invalid patch format of primitive list", 400},
    {"bad setElementOrder key", "apps", "v1", "Deployment", ORIG0,
     "{\"metadata\":{\"$setElementOrderfinalizers\":[\"a/x\"]}}", NULL,
     "invalid patch format of setElementOrder list", 400},
    {"mixed element types", "apps", "v1", "Deployment", ORIG0,
     "{\"metadata\":{\"finalizers\":[1]}}", NULL,
     "list element types are not identical: [[b/y a/x] [1]]", 500},
    {"primitive list given maps", "apps", "v1", "Deployment", ORIG0,
     "{\"metadata\":{\"finalizers\":[{\"a\":1}]}}", NULL,
     "list element types are not identical: [[b/y a/x] [map[a:1]]]", 500},
    {"raw extension nested merge", "apps", "v1", "ControllerRevision", ORIG3,
     "{\"data\":{\"spec\":{\"b\":2}}}", NULL,
     "unable to find api field in struct RawExtension for the json field \"spec\"", 500},
    {"unknown list patch type", "apps", "v1", "Deployment", ORIG0,
     "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"$patch\":\"frob\",\"name\":\"x\"}]}}}}",
     NULL, "unknown patch type: frob in map: map[$patch:frob name:x]", 500},
    {"delete item without key", "apps", "v1", "Deployment", ORIG0,
     "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"$patch\":\"delete\"}]}}}}", NULL,
     "map: map[$patch:delete] does not contain declared merge key: name", 500},
    {"setElementOrder not list", "apps", "v1", "Deployment", ORIG0,
     "{\"metadata\":{\"$setElementOrder/finalizers\":\"x\"}}", NULL,
     "expected a []interface {}, but received a string", 500},
    {"type change replaces", "apps", "v1", "Deployment", ORIG0,
     "{\"spec\":{\"replicas\":\"3\",\"template\":{\"metadata\":{\"labels\":[\"x\"]}}}}",
     "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"finalizers\":[\"b/"
     "y\",\"a/"
     "x\"],\"labels\":{\"app\":\"web\",\"tier\":\"fe\"},\"name\":\"web\"},\"spec\":{\"replicas\":"
     "\"3\",\"strategy\":{\"rollingUpdate\":{\"maxSurge\":1,\"maxUnavailable\":0},\"type\":"
     "\"RollingUpdate\"},\"template\":{\"metadata\":{\"labels\":[\"x\"]},\"spec\":{\"containers\":["
     "{\"env\":[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\",\"value\":\"2\"},{\"name\":\"C\","
     "\"value\":\"3\"}],\"image\":\"nginx:1.25\",\"name\":\"nginx\",\"ports\":[{\"containerPort\":"
     "80,\"protocol\":\"TCP\"}]},{\"command\":[\"sleep\",\"1d\"],\"image\":\"busybox\",\"name\":"
     "\"side\"}],\"tolerations\":[{\"key\":\"k1\",\"operator\":\"Exists\"},{\"key\":\"k2\","
     "\"operator\":\"Exists\"}],\"volumes\":[{\"emptyDir\":{},\"name\":\"data\"},{\"configMap\":{"
     "\"name\":\"c1\"},\"name\":\"cfg\"}]}}}}",
     NULL, 0},
    {"list of lists", "apps", "v1", "Deployment", ORIG0,
     "{\"spec\":{\"template\":{\"spec\":{\"containers\":[[\"a\"]]}}}}", NULL,
     "list element types are not identical: [[map[env:[map[name:A value:1] map[name:B value:2] "
     "map[name:C value:3]] image:nginx:1.25 name:nginx ports:[map[containerPort:80 protocol:TCP]]] "
     "map[command:[sleep 1d] image:busybox name:side]] [[a]]]",
     500},
    {"ownerReferences by uid", "apps", "v1", "Deployment", ORIG4,
     "{\"metadata\":{\"ownerReferences\":[{\"uid\":\"u2\",\"name\":\"b\",\"kind\":\"K\","
     "\"apiVersion\":\"v1\"},{\"uid\":\"u1\",\"name\":\"a2\"}]}}",
     "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"finalizers\":[\"b/"
     "y\",\"a/"
     "x\"],\"labels\":{\"app\":\"web\",\"tier\":\"fe\"},\"name\":\"web\",\"ownerReferences\":[{"
     "\"apiVersion\":\"v1\",\"kind\":\"K\",\"name\":\"b\",\"uid\":\"u2\"},{\"apiVersion\":\"v1\","
     "\"kind\":\"K\",\"name\":\"a2\",\"uid\":\"u1\"}]},\"spec\":{\"replicas\":1,\"strategy\":{"
     "\"rollingUpdate\":{\"maxSurge\":1,\"maxUnavailable\":0},\"type\":\"RollingUpdate\"},"
     "\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"env\":"
     "[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\",\"value\":\"2\"},{\"name\":\"C\",\"value\":"
     "\"3\"}],\"image\":\"nginx:1.25\",\"name\":\"nginx\",\"ports\":[{\"containerPort\":80,"
     "\"protocol\":\"TCP\"}]},{\"command\":[\"sleep\",\"1d\"],\"image\":\"busybox\",\"name\":"
     "\"side\"}],\"tolerations\":[{\"key\":\"k1\",\"operator\":\"Exists\"},{\"key\":\"k2\","
     "\"operator\":\"Exists\"}],\"volumes\":[{\"emptyDir\":{},\"name\":\"data\"},{\"configMap\":{"
     "\"name\":\"c1\"},\"name\":\"cfg\"}]}}}}",
     NULL, 0},
    {"env deletion via setElementOrder and delete", "apps", "v1", "Deployment", ORIG0,
     "{\"spec\":{\"template\":{\"spec\":{\"$setElementOrder/"
     "containers\":[{\"name\":\"nginx\"},{\"name\":\"side\"}],\"containers\":[{\"$setElementOrder/"
     "env\":[{\"name\":\"A\"},{\"name\":\"C\"}],\"name\":\"nginx\",\"env\":[{\"$patch\":\"delete\","
     "\"name\":\"B\"}]}]}}}}",
     "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"finalizers\":[\"b/"
     "y\",\"a/"
     "x\"],\"labels\":{\"app\":\"web\",\"tier\":\"fe\"},\"name\":\"web\"},\"spec\":{\"replicas\":1,"
     "\"strategy\":{\"rollingUpdate\":{\"maxSurge\":1,\"maxUnavailable\":0},\"type\":"
     "\"RollingUpdate\"},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{"
     "\"containers\":[{\"env\":[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"C\",\"value\":\"3\"}],"
     "\"image\":\"nginx:1.25\",\"name\":\"nginx\",\"ports\":[{\"containerPort\":80,\"protocol\":"
     "\"TCP\"}]},{\"command\":[\"sleep\",\"1d\"],\"image\":\"busybox\",\"name\":\"side\"}],"
     "\"tolerations\":[{\"key\":\"k1\",\"operator\":\"Exists\"},{\"key\":\"k2\",\"operator\":"
     "\"Exists\"}],\"volumes\":[{\"emptyDir\":{},\"name\":\"data\"},{\"configMap\":{\"name\":"
     "\"c1\"},\"name\":\"cfg\"}]}}}}",
     NULL, 0},
    {"list of lists", "", "v1", "Node", ORIG5, "{\"spec\":{\"podCIDRs\":[[\"a\"]]}}", NULL,
     "lists of lists are not supported", 422},
};

static void test_strategic_kube(void **state)
{
    for (size_t i = 0; i < sizeof smp_cases / sizeof smp_cases[0]; i++) {
        const struct smp_case *t = &smp_cases[i];
        int root = vk_pm_root(t->group, t->version, t->kind);
        assert_true(root >= 0);
        json_t *doc = json_loads(t->orig, 0, NULL);
        json_t *patch = json_loads(t->patch, 0, NULL);
        assert_non_null(doc);
        assert_non_null(patch);
        char *before = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
        char err[1024];
        int code;
        json_t *out = vk_strategic_patch(doc, patch, root, err, sizeof err, &code);
        if (t->want) {
            if (!out)
                fail_msg("%s: error %d %s", t->name, code, err);
            json_t *w = json_loads(t->want, 0, NULL);
            if (!json_equal(out, w)) {
                char *g = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
                fail_msg("%s:\n got %s\nwant %s", t->name, g, t->want);
            }
            json_decref(w);
        } else {
            if (out)
                fail_msg("%s: no error", t->name);
            if (strcmp(err, t->want_err) || code != t->code)
                fail_msg("%s: got %d %s want %d %s", t->name, code, err, t->code, t->want_err);
        }
        /* The inputs are not changed. */
        char *after = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
        assert_string_equal(before, after);
        free(before);
        free(after);
        json_decref(out);
        json_decref(doc);
        json_decref(patch);
    }
}

static json_t *smp_generic(const char *doc, const char *patch, char *err, size_t errlen, int *code)
{
    json_t *d = json_loads(doc, 0, NULL), *p = json_loads(patch, JSON_DECODE_ANY, NULL);
    json_t *out = vk_strategic_patch(d, p, -1, err, errlen, code);
    json_decref(d);
    json_decref(p);
    return out;
}

/* A kind without patch metadata: metadata follows ObjectMeta, the rest has no schema
 * (maps merge, lists are replaced); the directives still apply. */
static void test_strategic_generic(void **state)
{
    static const char *const cases[][3] = {
        {"{\"m\":{\"a\":1,\"b\":2}}", "{\"m\":{\"$patch\":\"replace\",\"c\":3}}",
         "{\"m\":{\"c\":3}}"},
        {"{\"m\":{\"a\":1},\"k\":1}", "{\"m\":{\"$patch\":\"delete\"}}", "{\"m\":{},\"k\":1}"},
        {"{\"m\":{\"a\":1,\"b\":2}}", "{\"m\":{\"$retainKeys\":[\"b\"],\"b\":5}}",
         "{\"m\":{\"b\":5}}"},
        {"{\"m\":{\"a\":1,\"b\":2}}", "{\"m\":{\"a\":null}}", "{\"m\":{\"b\":2}}"},
        {"{\"l\":[{\"name\":\"a\"}]}", "{\"l\":[{\"name\":\"b\"}]}", "{\"l\":[{\"name\":\"b\"}]}"},
        {"{\"metadata\":{\"finalizers\":[\"b/y\"]}}",
         "{\"metadata\":{\"finalizers\":[\"a/x\",\"b/y\"]}}",
         "{\"metadata\":{\"finalizers\":[\"a/x\",\"b/y\"]}}"},
        {"{\"metadata\":{\"finalizers\":[\"a/x\",\"b/y\"]}}",
         "{\"metadata\":{\"$deleteFromPrimitiveList/finalizers\":[\"a/x\"]}}",
         "{\"metadata\":{\"finalizers\":[\"b/y\"]}}"},
        {"{\"metadata\":{\"finalizers\":[\"c\"]}}",
         "{\"metadata\":{\"$deleteFromPrimitiveList/finalizers\":[\"c\"],\"finalizers\":[\"d\"]}}",
         "{\"metadata\":{\"finalizers\":[\"d\"]}}"},
        {"{\"a\":1}", "null", "{\"a\":1}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[256];
        int code;
        json_t *out = smp_generic(cases[i][0], cases[i][1], err, sizeof err, &code);
        if (!out)
            fail_msg("case %zu: %s", i, err);
        expect_json(out, cases[i][2]);
        json_decref(out);
    }
    char err[256];
    int code;
    assert_null(smp_generic("{}", "[1]", err, sizeof err, &code));
    assert_int_equal(code, 400);
    assert_string_equal(err, "json: cannot unmarshal array into Go value of type "
                             "map[string]interface {}");
    assert_null(smp_generic("{\"m\":{}}", "{\"m\":{\"$patch\":1.5}}", err, sizeof err, &code));
    assert_int_equal(code, 500);
    assert_string_equal(err, "unknown patch type: %!s(float64=1.5) in map: map[$patch:1.5]");
}

/* The generated table knows kube's strategies. */
static void test_patchmeta_table(void **state)
{
    int d = vk_pm_root("apps", "v1", "Deployment");
    assert_true(d >= 0);
    assert_true(vk_pm_root("autoscaling", "v1", "Scale") >= 0);
    assert_int_equal(vk_pm_root("apps", "v1", "Nope"), -1);
    const vk_pm_field *spec = vk_pm_field_of(d, "spec");
    assert_non_null(spec);
    const vk_pm_field *strategy = vk_pm_field_of(spec->def, "strategy");
    assert_non_null(strategy);
    assert_string_equal(strategy->strategy, "retainKeys");
    const vk_pm_field *tmpl = vk_pm_field_of(spec->def, "template");
    const vk_pm_field *pspec = vk_pm_field_of(tmpl->def, "spec");
    const vk_pm_field *vols = vk_pm_field_of(pspec->def, "volumes");
    assert_string_equal(vols->strategy, "merge,retainKeys");
    assert_string_equal(vols->merge_key, "name");
    const vk_pm_field *tol = vk_pm_field_of(pspec->def, "tolerations");
    assert_int_equal(tol->type, VK_PM_SLICE);
    assert_null(tol->strategy);
    const vk_pm_field *ctr = vk_pm_field_of(pspec->def, "containers");
    const vk_pm_field *ports = vk_pm_field_of(ctr->def, "ports");
    assert_string_equal(ports->merge_key, "containerPort");
    int svc = vk_pm_root("", "v1", "Service");
    const vk_pm_field *sspec = vk_pm_field_of(svc, "spec");
    assert_string_equal(vk_pm_field_of(sspec->def, "ports")->merge_key, "port");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_rfc7386),   cmocka_unit_test(test_json_patch_rfc6902),
        cmocka_unit_test(test_strategic_kube),  cmocka_unit_test(test_strategic_generic),
        cmocka_unit_test(test_patchmeta_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
