#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "apiserver/registry/selector.h"
#include "common/err.h"

static bool labels_match(const char *sel, const char *labels_json)
{
    vk_selector *s = NULL;
    char err[256];
    assert_int_equal(vk_label_selector_parse(sel, &s, err, sizeof err), 0);
    json_t *l = labels_json ? json_loads(labels_json, 0, NULL) : NULL;
    bool m = vk_selector_match_labels(s, l);
    json_decref(l);
    vk_selector_free(s);
    return m;
}

static void test_label_forms(void **state)
{
    const char *l = "{\"app\":\"web\",\"tier\":\"front\",\"n\":\"5\"}";
    assert_true(labels_match("", l));
    assert_true(labels_match(NULL, NULL));
    assert_true(labels_match("app=web", l));
    assert_true(labels_match("app==web", l));
    assert_false(labels_match("app=db", l));
    assert_true(labels_match("app!=db", l));
    assert_true(labels_match("missing!=x", l)); /* != matches an absent key */
    assert_true(labels_match("app", l));
    assert_false(labels_match("!app", l));
    assert_true(labels_match("!missing", l));
    assert_true(labels_match("app in (db,web)", l));
    assert_false(labels_match("app notin (db,web)", l));
    assert_true(labels_match("missing notin (a)", l));
    assert_false(labels_match("missing in (a)", l));
    assert_true(labels_match("app=web,tier=front", l));
    assert_false(labels_match("app=web,tier=back", l));
    assert_true(labels_match(" app = web , tier in ( front ) ", l));
    assert_true(labels_match("n>4", l));
    assert_false(labels_match("n<4", l));
    assert_false(labels_match("app=web", NULL));
    assert_true(labels_match("example.com/key=v", "{\"example.com/key\":\"v\"}"));
    assert_true(labels_match("empty=", "{\"empty\":\"\"}")); /* an empty value is valid */
    assert_false(labels_match("empty=", "{}"));
}

static void test_label_errors(void **state)
{
    static const char *const bad[] = {"a b", "=b",   "a in b", "a in (b",     "a=b c",
                                      "a>x", "-a=b", "a=-b-",  "a in (x,-y)", "a,,b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vk_selector *s = (vk_selector *)1;
        char err[256] = "";
        int rc = vk_label_selector_parse(bad[i], &s, err, sizeof err);
        if (rc != VK_EINVALID)
            fail_msg("selector %s parsed (rc %d)", bad[i], rc);
        assert_true(strlen(err) > 0);
    }
}

static const char *get(const json_t *obj, const char *f, char *buf, size_t n)
{
    if (!strcmp(f, "metadata.name"))
        return json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
    if (!strcmp(f, "status.phase"))
        return json_string_value(json_object_get(json_object_get(obj, "status"), "phase"));
    return NULL;
}

static void test_fields(void **state)
{
    static const char *const fields[] = {"metadata.name", "status.phase", NULL};
    json_t *o =
        json_loads("{\"metadata\":{\"name\":\"a,b\"},\"status\":{\"phase\":\"Active\"}}", 0, NULL);
    vk_selector *s;
    char err[256];
    assert_int_equal(vk_field_selector_parse("status.phase=Active", fields, &s, err, sizeof err),
                     0);
    assert_true(vk_selector_match_fields(s, o, get));
    assert_string_equal(vk_selector_exact(s, "status.phase"), "Active");
    assert_null(vk_selector_exact(s, "metadata.name"));
    vk_selector_free(s);
    assert_int_equal(vk_field_selector_parse("status.phase!=Active", fields, &s, err, sizeof err),
                     0);
    assert_false(vk_selector_match_fields(s, o, get));
    vk_selector_free(s);
    assert_int_equal(vk_field_selector_parse("metadata.name==x,status.phase=Active", fields, &s,
                                             err, sizeof err),
                     0);
    assert_false(vk_selector_match_fields(s, o, get));
    vk_selector_free(s);
    assert_int_equal(vk_field_selector_parse("spec.x=1", fields, &s, err, sizeof err), VK_EINVALID);
    assert_string_equal(err, "field label not supported: spec.x");
    assert_int_equal(vk_field_selector_parse("status.phase", fields, &s, err, sizeof err),
                     VK_EINVALID);
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_label_forms),
        cmocka_unit_test(test_label_errors),
        cmocka_unit_test(test_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
