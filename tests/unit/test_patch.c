#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/codec/patch.h"
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

static bool merge_fin(const char *path)
{
    return !strcmp(path, "metadata.finalizers");
}

static void test_strategic_directives(void **state)
{
    static const char *const cases[][3] = {
        {"{\"m\":{\"a\":1,\"b\":2}}", "{\"m\":{\"$patch\":\"replace\",\"c\":3}}",
         "{\"m\":{\"c\":3}}"},
        {"{\"m\":{\"a\":1},\"k\":1}", "{\"m\":{\"$patch\":\"delete\"}}", "{\"k\":1}"},
        {"{\"m\":{\"a\":1,\"b\":2}}", "{\"m\":{\"$retainKeys\":[\"b\"],\"b\":5}}",
         "{\"m\":{\"b\":5}}"},
        {"{\"m\":{\"a\":1,\"b\":2}}", "{\"m\":{\"a\":null}}", "{\"m\":{\"b\":2}}"},
        {"{\"l\":[1,2]}", "{\"l\":[3]}", "{\"l\":[3]}"},
        /* A merge list: union, sorted; $deleteFromPrimitiveList removes. */
        {"{\"metadata\":{\"finalizers\":[\"b/y\"]}}",
         "{\"metadata\":{\"finalizers\":[\"a/x\",\"b/y\"]}}",
         "{\"metadata\":{\"finalizers\":[\"a/x\",\"b/y\"]}}"},
        {"{\"metadata\":{\"finalizers\":[\"a/x\",\"b/y\"]}}",
         "{\"metadata\":{\"$deleteFromPrimitiveList/finalizers\":[\"a/x\"]}}",
         "{\"metadata\":{\"finalizers\":[\"b/y\"]}}"},
        {"{\"metadata\":{\"finalizers\":[\"c\"]}}",
         "{\"metadata\":{\"$deleteFromPrimitiveList/finalizers\":[\"c\"],\"finalizers\":[\"d\"]}}",
         "{\"metadata\":{\"finalizers\":[\"d\"]}}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *doc = json_loads(cases[i][0], 0, NULL);
        json_t *patch = json_loads(cases[i][1], 0, NULL);
        char err[128];
        json_t *out = vk_strategic_patch(doc, patch, merge_fin, err, sizeof err);
        assert_non_null(out);
        expect_json(out, cases[i][2]);
        json_decref(doc);
        json_decref(patch);
        json_decref(out);
    }
    json_t *doc = json_loads("{\"m\":{}}", 0, NULL);
    json_t *bad = json_loads("{\"m\":{\"$patch\":\"frob\"}}", 0, NULL);
    char err[128];
    assert_null(vk_strategic_patch(doc, bad, merge_fin, err, sizeof err));
    assert_string_equal(err, "Unknown patch type: frob");
    json_decref(doc);
    json_decref(bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_rfc7386),
        cmocka_unit_test(test_json_patch_rfc6902),
        cmocka_unit_test(test_strategic_directives),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
