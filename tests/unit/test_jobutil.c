/* The Job controller's helpers (controllers/jobutil): index sets in kube's interval
 * form, completion indexes, pod finish times, the pod failure policy and the pod
 * failure backoff, on fixture pods. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/timefmt.h"
#include "controllers/jobutil.h"

static json_t *parse(const char *js)
{
    json_error_t e;
    json_t *v = json_loads(js, 0, &e);
    if (!v)
        fail_msg("fixture: %s", e.text);
    return v;
}

static time_t at(const char *s)
{
    time_t t;
    assert_int_equal(vk_time_parse(s, &t), 0);
    return t;
}

static void check_format(const char *in, long long n, const char *want, long long total)
{
    vk_ixset s;
    vk_ixset_parse(&s, in, n);
    json_t *f = vk_ixset_format(&s);
    assert_string_equal(json_string_value(f), want);
    assert_int_equal(vk_ixset_total(&s), total);
    json_decref(f);
    free(s.v);
}

static void test_index_sets(void **state)
{
    check_format("", 5, "", 0);
    check_format("0,2-4", 10, "0,2-4", 4);
    check_format("1,2", 10, "1,2", 2);
    check_format("1,2,3", 10, "1-3", 3);
    check_format("3-1", 10, "", 0);
    check_format("0,5-20", 8, "0,5-7", 4); /* past completions: dropped */
    check_format("7,x,9", 10, "7,9", 2);   /* a malformed part is skipped */
    vk_ixset s;
    vk_ixset_parse(&s, "0,2-4", 6);
    assert_true(vk_ixset_has(&s, 3));
    assert_false(vk_ixset_has(&s, 1));
    assert_false(vk_ixset_has(&s, 6));
    assert_false(vk_ixset_has(&s, -1));
    free(s.v);
}

static void test_completion_index(void **state)
{
    static const struct {
        const char *pod;
        int want;
    } cases[] = {
        {"{\"metadata\":{\"annotations\":{\"batch.kubernetes.io/job-completion-index\":\"3\"}}}",
         3},
        {"{\"metadata\":{\"annotations\":{\"batch.kubernetes.io/job-completion-index\":\"x\"}}}",
         -1},
        {"{\"metadata\":{\"annotations\":{\"batch.kubernetes.io/job-completion-index\":\"-1\"}}}",
         -1},
        {"{\"metadata\":{\"annotations\":{\"batch.kubernetes.io/job-completion-index\":\"\"}}}",
         -1},
        {"{\"metadata\":{}}", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *p = parse(cases[i].pod);
        assert_int_equal(vk_job_completion_index(p), cases[i].want);
        json_decref(p);
    }
}

static void test_finished_time(void **state)
{
    /* All containers terminated: the latest end. */
    json_t *p = parse(
        "{\"metadata\":{\"creationTimestamp\":\"2026-01-01T00:00:00Z\"},"
        "\"status\":{\"containerStatuses\":["
        "{\"name\":\"a\",\"state\":{\"terminated\":{\"finishedAt\":\"2026-01-01T00:01:00Z\"}}},"
        "{\"name\":\"b\",\"state\":{\"terminated\":{\"finishedAt\":\"2026-01-01T00:02:00Z\"}}}],"
        "\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\","
        "\"lastTransitionTime\":\"2026-01-01T00:05:00Z\"}]}}");
    assert_int_equal(vk_job_pod_finished_time(p), at("2026-01-01T00:02:00Z"));
    /* One still running: the Ready=False transition. */
    json_object_set_new(
        json_array_get(json_object_get(json_object_get(p, "status"), "containerStatuses"), 1),
        "state", parse("{\"running\":{}}"));
    assert_int_equal(vk_job_pod_finished_time(p), at("2026-01-01T00:05:00Z"));
    /* Ready: the deletion less its grace period, else the creation. */
    json_object_set_new(json_object_get(p, "status"), "conditions",
                        parse("[{\"type\":\"Ready\",\"status\":\"True\"}]"));
    assert_int_equal(vk_job_pod_finished_time(p), at("2026-01-01T00:00:00Z"));
    json_object_set_new(json_object_get(p, "metadata"), "deletionTimestamp",
                        json_string("2026-01-01T00:10:30Z"));
    json_object_set_new(json_object_get(p, "metadata"), "deletionGracePeriodSeconds",
                        json_integer(30));
    assert_int_equal(vk_job_pod_finished_time(p), at("2026-01-01T00:10:00Z"));
    json_decref(p);
}

static enum vk_pfp_action match(const char *spec, const char *pod, char *msg)
{
    json_t *s = parse(spec), *p = parse(pod);
    enum vk_pfp_action a = vk_job_pfp_match(s, p, msg, 400);
    json_decref(s);
    json_decref(p);
    return a;
}

static void test_pod_failure_policy(void **state)
{
    const char *policy =
        "{\"podFailurePolicy\":{\"rules\":["
        "{\"action\":\"Ignore\",\"onPodConditions\":[{\"type\":\"DisruptionTarget\"}]},"
        "{\"action\":\"FailJob\",\"onExitCodes\":{\"containerName\":\"main\",\"operator\":\"In\","
        "\"values\":[42]}},"
        "{\"action\":\"Count\",\"onExitCodes\":{\"operator\":\"NotIn\",\"values\":[0,1]}},"
        "{\"action\":\"FailIndex\",\"onExitCodes\":{\"operator\":\"In\",\"values\":[1]}}]}}";
    char msg[400] = "";
    assert_int_equal(match(policy,
                           "{\"metadata\":{\"namespace\":\"ns\",\"name\":\"p\"},\"status\":{"
                           "\"containerStatuses\":[{\"name\":\"main\",\"state\":{\"terminated\":{"
                           "\"exitCode\":42}}}]}}",
                           msg),
                     VK_PFP_FAIL_JOB);
    assert_string_equal(msg,
                        "Container main for pod ns/p failed with exit code 42 matching FailJob "
                        "rule at index 1");
    /* Another container's 42 is not main's: NotIn [0,1] counts it. */
    assert_int_equal(
        match(policy,
              "{\"status\":{\"containerStatuses\":[{\"name\":\"side\",\"state\":{\"terminated\":{"
              "\"exitCode\":42}}}]}}",
              msg),
        VK_PFP_COUNT);
    assert_int_equal(
        match(policy,
              "{\"status\":{\"containerStatuses\":[{\"name\":\"side\",\"state\":{\"terminated\":{"
              "\"exitCode\":1}}}]}}",
              msg),
        VK_PFP_FAIL_INDEX);
    /* Exit code 0 never matches; an init container's code does. */
    assert_int_equal(
        match(policy,
              "{\"status\":{\"containerStatuses\":[{\"name\":\"x\",\"state\":{\"terminated\":{"
              "\"exitCode\":0}}}]}}",
              msg),
        VK_PFP_NONE);
    assert_int_equal(
        match(policy,
              "{\"status\":{\"initContainerStatuses\":[{\"name\":\"i\",\"state\":{\"terminated\":{"
              "\"exitCode\":7}}}]}}",
              msg),
        VK_PFP_COUNT);
    /* A pod condition (status defaults to True). */
    assert_int_equal(match(policy,
                           "{\"status\":{\"conditions\":[{\"type\":\"DisruptionTarget\","
                           "\"status\":\"True\"}],\"containerStatuses\":[{\"name\":\"main\","
                           "\"state\":{\"terminated\":{\"exitCode\":42}}}]}}",
                           msg),
                     VK_PFP_IGNORE);
    assert_int_equal(
        match("{\"podFailurePolicy\":{\"rules\":[{\"action\":\"FailJob\","
              "\"onPodConditions\":[{\"type\":\"ConfigIssue\",\"status\":\"True\"}]}]}}",
              "{\"metadata\":{\"namespace\":\"ns\",\"name\":\"p\"},\"status\":{"
              "\"conditions\":[{\"type\":\"ConfigIssue\",\"status\":\"True\"}]}}",
              msg),
        VK_PFP_FAIL_JOB);
    assert_string_equal(msg, "Pod ns/p has condition ConfigIssue matching FailJob rule at index 0");
    assert_int_equal(match("{}", "{\"status\":{}}", msg), VK_PFP_NONE);
}

static void test_backoff(void **state)
{
    time_t now = at("2026-01-01T01:00:00Z");
    assert_int_equal(vk_job_backoff_left(now, 0, now), 0);
    assert_int_equal(vk_job_backoff_left(now, 1, now - 3), 7);
    assert_int_equal(vk_job_backoff_left(now, 1, now - 11), 0);
    assert_int_equal(vk_job_backoff_left(now, 3, now - 10), 30);    /* 10, 20, 40 */
    assert_int_equal(vk_job_backoff_left(now, 20, now - 100), 500); /* at most 10 min */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_index_sets),    cmocka_unit_test(test_completion_index),
        cmocka_unit_test(test_finished_time), cmocka_unit_test(test_pod_failure_policy),
        cmocka_unit_test(test_backoff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
