/* YAML request bodies and replies (codec/yaml.c): YAML 1.1 scalar resolution as
 * yaml.v2 does it, block output with sorted keys and quoting that reads back the same,
 * and refusal of what kube refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "apiserver/codec/yaml.h"

static void expect_json(const char *yaml, const char *want)
{
    char err[256];
    json_t *got = vk_yaml_to_json(yaml, strlen(yaml), err, sizeof err);
    if (!got)
        fail_msg("%s: %s", yaml, err);
    json_t *w = json_loads(want, JSON_DECODE_ANY, NULL);
    assert_non_null(w);
    if (!json_equal(got, w)) {
        char *g = json_dumps(got, JSON_ENCODE_ANY | JSON_COMPACT);
        fail_msg("%s: got %s, want %s", yaml, g, want);
    }
    json_decref(got);
    json_decref(w);
}

static void test_scalars(void **state)
{
    (void)state;
    expect_json("a: 1\nb: -7\nc: 0x1F\nd: 1.5\ne: 1e3\nf: 012\ng: 019\n",
                "{\"a\":1,\"b\":-7,\"c\":31,\"d\":1.5,\"e\":1000.0,\"f\":10,\"g\":19.0}");
    expect_json("[true, True, yes, on, y, false, No, off, n]",
                "[true,true,true,true,true,false,false,false,false]");
    expect_json("[~, null, NULL]", "[null,null,null]");
    expect_json("a:\n", "{\"a\":null}");
    /* Quoted scalars and !!str stay strings; so do forms that are not numbers. */
    expect_json("[\"1\", '012', !!str true, 0x, 1.2.3, 2026-11-25T10:00:00Z, .inf, abc]",
                "[\"1\",\"012\",\"true\",\"0x\",\"1.2.3\",\"2026-11-25T10:00:00Z\",\".inf\","
                "\"abc\"]");
    expect_json("s: |\n  one\n  two\nf: >\n  a\n  b\n",
                "{\"s\":\"one\\ntwo\\n\",\"f\":\"a b\\n\"}");
    expect_json("", "null");
    expect_json("---\na: 1\n---\nb: 2\n", "{\"a\":1}"); /* the first document */
    expect_json("{\"kind\": \"ConfigMap\", \"data\": {\"k\": \"v\"}}",
                "{\"kind\":\"ConfigMap\",\"data\":{\"k\":\"v\"}}"); /* JSON is YAML */
    expect_json("k: \"\\u00e9\\t\"", "{\"k\":\"\\u00e9\\t\"}");
}

static void expect_error(const char *yaml, const char *msg_part)
{
    char err[256];
    json_t *got = vk_yaml_to_json(yaml, strlen(yaml), err, sizeof err);
    if (got)
        fail_msg("%s: accepted", yaml);
    if (!strstr(err, msg_part))
        fail_msg("%s: error %s, want %s", yaml, err, msg_part);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("a: [\n", "yaml: line");
    expect_error("a: b: c\n", "yaml: line");
    expect_error("a: &x 1\nb: *x\n", "aliases");
    expect_error("? [1]\n: v\n", "key must be a scalar");
    expect_error("a: \xff\n", "yaml: line"); /* not UTF-8 */
    /* Deep nesting ends in an error, not a stack overflow. */
    char deep[50001];
    memset(deep, '[', sizeof deep - 1);
    deep[sizeof deep - 1] = 0;
    char err[256];
    assert_null(vk_yaml_to_json(deep, strlen(deep), err, sizeof err));
}

static void expect_yaml(const char *json, const char *want)
{
    json_t *o = json_loads(json, JSON_DECODE_ANY, NULL);
    assert_non_null(o);
    vk_buf b = {0};
    assert_int_equal(vk_json_to_yaml(o, &b), 0);
    assert_int_equal(vk_buf_puts(&b, ""), 0);
    if (strcmp(b.data, want))
        fail_msg("%s:\ngot:\n%s\nwant:\n%s", json, b.data, want);
    /* And it reads back as the same value. */
    char err[256];
    json_t *back = vk_yaml_to_json(b.data, b.len, err, sizeof err);
    if (!back || !json_equal(back, o))
        fail_msg("%s does not read back (%s)", json, back ? "differs" : err);
    json_decref(back);
    json_decref(o);
    vk_buf_free(&b);
}

static void test_write(void **state)
{
    (void)state;
    expect_yaml("{\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"c\","
                "\"labels\":{\"b\":\"2\",\"a\":\"x\"}},\"data\":{}}",
                "apiVersion: v1\ndata: {}\nkind: ConfigMap\nmetadata:\n  labels:\n    a: x\n"
                "    b: \"2\"\n  name: c\n");
    expect_yaml("{\"items\":[{\"x\":1},{\"x\":2.5}],\"list\":[],\"t\":true,\"z\":null}",
                "items:\n- x: 1\n- x: 2.5\nlist: []\nt: true\nz: null\n");
    /* yaml.v2 reads y and n as booleans, so such keys are quoted too. */
    expect_yaml("{\"n\":\"y\"}", "\"n\": \"y\"\n");
    /* Strings that would read back as something else are quoted. */
    expect_yaml("[\"true\",\"yes\",\"012\",\"1.5\",\"\",\"null\",\"~\","
                "\"2026-11-25T14:25:15Z\",\"1:20\",\"plain text\"]",
                "- \"true\"\n- \"yes\"\n- \"012\"\n- \"1.5\"\n- \"\"\n- \"null\"\n- \"~\"\n"
                "- \"2026-11-25T14:25:15Z\"\n- \"1:20\"\n- plain text\n");
    expect_yaml("{\"s\":\"one\\ntwo\\n\"}", "s: |\n  one\n  two\n");
    expect_yaml("{\"r\":0.1}", "r: 0.1\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
