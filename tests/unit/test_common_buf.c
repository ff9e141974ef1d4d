#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"

static void test_append_and_terminator(void **state)
{
    vk_buf b = {0};
    assert_int_equal(vk_buf_append(&b, "abc", 3), 0);
    assert_int_equal(b.len, 3);
    assert_string_equal(b.data, "abc");
    assert_int_equal(vk_buf_printf(&b, "-%d-%s", 42, "x"), 0);
    assert_string_equal(b.data, "abc-42-x");
    vk_buf_consume(&b, 4);
    assert_string_equal(b.data, "42-x");
    vk_buf_consume(&b, 100);
    assert_int_equal(b.len, 0);
    vk_buf_free(&b);
    assert_null(b.data);
    vk_buf_free(&b); /* double free is a no-op */
}

static void test_growth(void **state)
{
    vk_buf b = {0};
    for (int i = 0; i < 10000; i++)
        assert_int_equal(vk_buf_puts(&b, "0123456789"), 0);
    assert_int_equal(b.len, 100000);
    assert_true(b.cap > b.len);
    assert_int_equal(b.data[b.len], 0);
    char *p = vk_buf_steal(&b);
    assert_non_null(p);
    assert_null(b.data);
    free(p);
}

static void test_overflow_refused(void **state)
{
    vk_buf b = {0};
    assert_int_equal(vk_buf_reserve(&b, (size_t)-1), -ENOMEM);
    assert_null(b.data);
}

static void test_strerror(void **state)
{
    assert_string_equal(vk_strerror(VK_ENOTFOUND), "not found");
    assert_string_equal(vk_strerror(-ENOENT), strerror(ENOENT));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_terminator),
        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_overflow_refused),
        cmocka_unit_test(test_strerror),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
