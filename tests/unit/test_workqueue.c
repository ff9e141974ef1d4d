#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "controllers/workqueue.h"

static void test_fifo_without_duplicates(void **state)
{
    vk_workqueue q = {0};
    assert_null(vk_workqueue_pop(&q));
    vk_workqueue_add(&q, "a", 1);
    vk_workqueue_add(&q, "bxx", 1); /* only "b" */
    vk_workqueue_add(&q, "a", 1);   /* already waiting */
    vk_workqueue_add(&q, "c", 1);
    assert_int_equal(q.n, 3);
    char *k = vk_workqueue_pop(&q);
    assert_string_equal(k, "a");
    free(k);
    vk_workqueue_add(&q, "a", 1); /* popped, so it may wait again */
    const char *want[] = {"b", "c", "a"};
    for (int i = 0; i < 3; i++) {
        k = vk_workqueue_pop(&q);
        assert_string_equal(k, want[i]);
        free(k);
    }
    assert_null(vk_workqueue_pop(&q));
    vk_workqueue_add(&q, "left", 4);
    vk_workqueue_free(&q); /* frees what waits */
    assert_int_equal(q.n, 0);
}

static void test_names_from_keys(void **state)
{
    vk_workqueue q = {0};
    char key[VK_KEY_MAX];
    int n = vk_key_build(key, sizeof key, 7, "ns1", "obj");
    vk_kv kv = {.key = key, .key_len = (size_t)n};
    assert_int_equal(vk_workqueue_add_names(&q, &kv), 1);
    n = vk_key_build(key, sizeof key, 7, "", "cluster-scoped");
    kv.key_len = (size_t)n;
    vk_workqueue_add_names(&q, &kv);
    char *a = vk_workqueue_pop(&q), *b = vk_workqueue_pop(&q);
    assert_string_equal(a, "obj");
    assert_string_equal(b, "cluster-scoped");
    free(a);
    free(b);
    vk_workqueue_free(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_without_duplicates),
        cmocka_unit_test(test_names_from_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
