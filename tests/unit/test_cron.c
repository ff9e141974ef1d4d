/* The cron schedules of CronJobs (common/cron) and the CronJob controller's scheduling
 * decision (kube's mostRecentScheduleTime and nextScheduleTimeDuration) on a fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/cron.h"
#include "common/timefmt.h"
#include "controllers/cronjob.h"

static time_t at(const char *s)
{
    time_t t;
    assert_int_equal(vk_time_parse(s, &t), 0);
    return t;
}

/* The next time after `from` as RFC 3339 (UTC), "none" when there is none. */
static const char *next_of(const char *spec, const char *from)
{
    static char out[21];
    vk_cron c;
    char err[300];
    if (vk_cron_parse(spec, NULL, &c, err, sizeof err)) {
        fail_msg("parse %s: %s", spec, err);
        return "";
    }
    time_t n = vk_cron_next(&c, at(from));
    vk_cron_free(&c);
    if (!n)
        return "none";
    vk_time_format(n, out);
    return out;
}

static const char *parse_error(const char *spec)
{
    static char err[300];
    vk_cron c;
    err[0] = 0;
    if (!vk_cron_parse(spec, NULL, &c, err, sizeof err)) {
        vk_cron_free(&c);
        return "ok";
    }
    return err;
}

static bool have_zones(void)
{
    return access("/usr/share/zoneinfo/America/New_York", R_OK) == 0 &&
           access("/usr/share/zoneinfo/Europe/Berlin", R_OK) == 0;
}

static void test_fields(void **state)
{
    assert_string_equal(next_of("*/15 * * * *", "2026-05-04T10:07:30Z"), "2026-05-04T10:15:00Z");
    /* Strictly after: a time on the schedule gives the one after it. */
    assert_string_equal(next_of("* * * * *", "2026-05-04T10:07:00Z"), "2026-05-04T10:08:00Z");
    assert_string_equal(next_of("5,10-12 3 * * *", "2026-05-04T03:10:00Z"), "2026-05-04T03:11:00Z");
    assert_string_equal(next_of("5,10-12 3 * * *", "2026-05-04T03:12:00Z"), "2026-05-05T03:05:00Z");
    /* N/step is N-max/step. */
    assert_string_equal(next_of("50/5 * * * *", "2026-05-04T10:56:00Z"), "2026-05-04T11:50:00Z");
    assert_string_equal(next_of("0 0 31 * *", "2026-02-01T00:00:00Z"), "2026-03-31T00:00:00Z");
    assert_string_equal(next_of("0 0 31 * *", "2026-03-31T00:00:00Z"), "2026-05-31T00:00:00Z");
    assert_string_equal(next_of("0 0 29 2 *", "2025-03-01T00:00:00Z"), "2028-02-29T00:00:00Z");
    assert_string_equal(next_of("0 0 30 2 *", "2025-03-01T00:00:00Z"), "none");
    /* Names, either case; Sunday is 0. */
    assert_string_equal(next_of("0 9 * JAN-mar mon-fri", "2026-03-27T10:00:00Z"),
                        "2026-03-30T09:00:00Z");
    assert_string_equal(next_of("0 9 * apr-dec sun", "2026-01-15T00:00:00Z"),
                        "2026-04-05T09:00:00Z");
    /* Day of month and day of week both given: either matches. */
    assert_string_equal(next_of("0 0 13 * 5", "2026-02-01T00:00:00Z"), "2026-02-06T00:00:00Z");
    assert_string_equal(next_of("0 0 13 * 5", "2026-02-12T00:00:00Z"), "2026-02-13T00:00:00Z");
    /* One of them a star: both must. */
    assert_string_equal(next_of("0 0 * * 5", "2026-02-07T00:00:00Z"), "2026-02-13T00:00:00Z");
    assert_string_equal(next_of("0 0 ? * fri", "2026-02-07T00:00:00Z"), "2026-02-13T00:00:00Z");
    /* Across the end of the year. */
    assert_string_equal(next_of("30 23 31 12 *", "2026-12-31T23:30:00Z"), "2027-12-31T23:30:00Z");
}

static void test_macros(void **state)
{
    assert_string_equal(next_of("@hourly", "2026-05-04T10:07:30Z"), "2026-05-04T11:00:00Z");
    assert_string_equal(next_of("@daily", "2026-05-04T10:07:30Z"), "2026-05-05T00:00:00Z");
    assert_string_equal(next_of("@midnight", "2026-05-04T10:07:30Z"), "2026-05-05T00:00:00Z");
    assert_string_equal(next_of("@weekly", "2026-05-04T10:07:30Z"), "2026-05-10T00:00:00Z");
    assert_string_equal(next_of("@monthly", "2026-05-04T10:07:30Z"), "2026-06-01T00:00:00Z");
    assert_string_equal(next_of("@yearly", "2026-05-04T10:07:30Z"), "2027-01-01T00:00:00Z");
    assert_string_equal(next_of("@annually", "2026-05-04T10:07:30Z"), "2027-01-01T00:00:00Z");
    assert_string_equal(next_of("@every 90s", "2026-05-04T10:07:30Z"), "2026-05-04T10:09:00Z");
    assert_string_equal(next_of("@every 1h30m", "2026-05-04T10:07:30Z"), "2026-05-04T11:37:30Z");
}

static void test_errors(void **state)
{
    assert_string_equal(parse_error(""), "empty spec string");
    assert_string_equal(parse_error("* * * *"), "expected exactly 5 fields, found 4: [* * * *]");
    assert_string_equal(parse_error("60 * * * *"), "end of range (60) above maximum (59): 60");
    assert_string_equal(parse_error("* * 0 * *"), "beginning of range (0) below minimum (1): 0");
    assert_string_equal(parse_error("* * * * 7"), "end of range (7) above maximum (6): 7");
    assert_string_equal(parse_error("5-2 * * * *"),
                        "beginning of range (5) beyond end of range (2): 5-2");
    assert_string_equal(parse_error("*/0 * * * *"),
                        "step of range should be a positive number: */0");
    assert_string_equal(parse_error("1-2-3 * * * *"), "too many hyphens: 1-2-3");
    assert_string_equal(parse_error("*/2/3 * * * *"), "too many slashes: */2/3");
    assert_string_equal(parse_error("x * * * *"),
                        "failed to parse int from x: strconv.Atoi: parsing \"x\": invalid syntax");
    assert_string_equal(parse_error("@fortnightly"), "unrecognized descriptor: @fortnightly");
    assert_string_equal(parse_error("TZ=Mars/Olympus * * * * *"),
                        "provided bad location Mars/Olympus: unknown time zone Mars/Olympus");
    assert_string_equal(
        parse_error("TZ=../../etc/passwd * * * * *"),
        "provided bad location ../../etc/passwd: unknown time zone ../../etc/passwd");
    assert_string_equal(parse_error("TZ=UTC 0 * * * *"), "ok");
}

static void test_time_zones(void **state)
{
    if (!have_zones())
        skip();
    /* 09:00 in New York: EST (UTC-5) before 2026-03-08, EDT (UTC-4) after. */
    assert_string_equal(next_of("TZ=America/New_York 0 9 * * *", "2026-03-07T12:00:00Z"),
                        "2026-03-07T14:00:00Z");
    assert_string_equal(next_of("CRON_TZ=America/New_York 0 9 * * *", "2026-03-07T14:00:00Z"),
                        "2026-03-08T13:00:00Z");
    /* 02:30 does not exist on 2026-03-08 in New York: skipped to the next day. */
    assert_string_equal(next_of("TZ=America/New_York 30 2 * * *", "2026-03-08T05:00:00Z"),
                        "2026-03-09T06:30:00Z");
    /* 01:30 happens twice on 2026-11-01 (EDT, then EST): both, as robfig/cron does. */
    assert_string_equal(next_of("TZ=America/New_York 30 1 * * *", "2026-11-01T04:00:00Z"),
                        "2026-11-01T05:30:00Z");
    assert_string_equal(next_of("TZ=America/New_York 30 1 * * *", "2026-11-01T05:30:00Z"),
                        "2026-11-01T06:30:00Z");
    /* Midnight on the first of the month after a change of offset in between. */
    assert_string_equal(next_of("TZ=Europe/Berlin 0 0 1 * *", "2026-03-15T00:00:00Z"),
                        "2026-03-31T22:00:00Z");
    assert_string_equal(next_of("TZ=Europe/Berlin 0 12 * * *", "2026-07-01T00:00:00Z"),
                        "2026-07-01T10:00:00Z");
    assert_string_equal(next_of("TZ=Europe/Berlin 0 12 * * *", "2026-12-01T00:00:00Z"),
                        "2026-12-01T11:00:00Z");
    /* Past the file's transitions (2037): its POSIX rule. */
    assert_string_equal(next_of("TZ=Europe/Berlin 0 12 * * *", "2045-07-01T00:00:00Z"),
                        "2045-07-01T10:00:00Z");
    assert_string_equal(next_of("TZ=Europe/Berlin 0 12 * * *", "2045-12-01T00:00:00Z"),
                        "2045-12-01T11:00:00Z");
    assert_string_equal(next_of("TZ=America/New_York 30 2 * * *", "2045-03-12T05:00:00Z"),
                        "2045-03-13T06:30:00Z");
    /* Half-hour offsets; the southern hemisphere. */
    assert_string_equal(next_of("TZ=Asia/Kolkata 0 0 * * *", "2026-05-04T12:00:00Z"),
                        "2026-05-04T18:30:00Z");
    assert_string_equal(next_of("TZ=Australia/Sydney 0 12 * * *", "2026-01-10T00:00:00Z"),
                        "2026-01-10T01:00:00Z");
    assert_string_equal(next_of("TZ=Australia/Sydney 0 12 * * *", "2026-07-10T00:00:00Z"),
                        "2026-07-10T02:00:00Z");
    char err[200];
    vk_tz *tz = vk_tz_load(NULL, "Europe/Berlin", err, sizeof err);
    assert_non_null(tz);
    assert_int_equal(vk_tz_offset(tz, at("2026-03-29T00:59:59Z")), 3600);
    assert_int_equal(vk_tz_offset(tz, at("2026-03-29T01:00:00Z")), 7200);
    assert_int_equal(vk_tz_offset(tz, at("2050-10-30T00:59:59Z")), 7200);
    assert_int_equal(vk_tz_offset(tz, at("2050-10-30T01:00:00Z")), 3600);
    vk_tz_free(tz);
    assert_null(vk_tz_load(NULL, "Local", err, sizeof err));
}

static void most_recent(const char *spec, const char *earliest, long long deadline, const char *now,
                        const char *want, int want_missed)
{
    vk_cron c;
    char err[200];
    assert_int_equal(vk_cron_parse(spec, NULL, &c, err, sizeof err), 0);
    time_t recent, e;
    int missed;
    assert_int_equal(vk_cron_most_recent(&c, at(earliest), deadline, at(now), &recent, &missed, &e),
                     0);
    char got[21] = "none";
    if (recent)
        vk_time_format(recent, got);
    assert_string_equal(got, want);
    assert_int_equal(missed, want_missed);
    vk_cron_free(&c);
}

static void test_most_recent(void **state)
{
    /* Created at 10:00:30: nothing is due before 10:01. */
    most_recent("*/1 * * * *", "2026-05-04T10:00:30Z", -1, "2026-05-04T10:00:50Z", "none", 0);
    most_recent("*/1 * * * *", "2026-05-04T10:00:30Z", -1, "2026-05-04T10:01:00Z",
                "2026-05-04T10:01:00Z", 0);
    /* Missed a few: the latest is due. */
    most_recent("*/1 * * * *", "2026-05-04T10:00:00Z", -1, "2026-05-04T10:05:30Z",
                "2026-05-04T10:05:00Z", 1);
    /* More than 100 missed. */
    most_recent("* * * * *", "2026-05-04T05:00:00Z", -1, "2026-05-04T10:05:30Z",
                "2026-05-04T10:05:00Z", 2);
    /* startingDeadlineSeconds bounds how far back it looks. */
    most_recent("* * * * *", "2026-05-04T05:00:00Z", 200, "2026-05-04T10:05:30Z",
                "2026-05-04T10:05:00Z", 1);
    most_recent("0 * * * *", "2026-05-04T05:00:00Z", 200, "2026-05-04T10:05:30Z", "none", 0);
    most_recent("0 * * * *", "2026-05-04T05:00:00Z", -1, "2026-05-04T10:05:30Z",
                "2026-05-04T10:00:00Z", 1);
}

static json_t *cronjob(const char *schedule, const char *tz, const char *created, const char *last)
{
    json_t *cj = json_pack("{s:{s:s, s:s}, s:{s:s}, s:{}}", "metadata", "name", "cj",
                           "creationTimestamp", created, "spec", "schedule", schedule, "status");
    if (tz)
        json_object_set_new(json_object_get(cj, "spec"), "timeZone", json_string(tz));
    if (last)
        json_object_set_new(json_object_get(cj, "status"), "lastScheduleTime", json_string(last));
    return cj;
}

static void test_controller_schedule(void **state)
{
    char err[300];
    vk_cron c;
    /* The next look: 100 ms after the next schedule time. */
    json_t *cj = cronjob("*/5 * * * *", NULL, "2026-05-04T10:01:00Z", NULL);
    assert_int_equal(vk_cronjob_schedule(cj, NULL, &c, err, sizeof err), 0);
    assert_int_equal(vk_cronjob_requeue_ms(cj, &c, at("2026-05-04T10:02:00Z")), 180100);
    /* Right after a run (lastScheduleTime 10:05): the one after. */
    json_object_set_new(json_object_get(cj, "status"), "lastScheduleTime",
                        json_string("2026-05-04T10:05:00Z"));
    assert_int_equal(vk_cronjob_requeue_ms(cj, &c, at("2026-05-04T10:05:01Z")), 299100);
    vk_cron_free(&c);
    json_decref(cj);
    if (!have_zones())
        return;
    /* spec.timeZone applies unless the schedule names its own zone. */
    cj = cronjob("0 9 * * *", "Europe/Berlin", "2026-05-04T00:00:00Z", NULL);
    assert_int_equal(vk_cronjob_schedule(cj, NULL, &c, err, sizeof err), 0);
    assert_int_equal(vk_cron_next(&c, at("2026-05-04T00:00:00Z")), at("2026-05-04T07:00:00Z"));
    vk_cron_free(&c);
    json_decref(cj);
    cj = cronjob("TZ=UTC 0 9 * * *", "Europe/Berlin", "2026-05-04T00:00:00Z", NULL);
    assert_int_equal(vk_cronjob_schedule(cj, NULL, &c, err, sizeof err), 0);
    assert_int_equal(vk_cron_next(&c, at("2026-05-04T00:00:00Z")), at("2026-05-04T09:00:00Z"));
    vk_cron_free(&c);
    json_decref(cj);
    cj = cronjob("0 9 * * *", "Nowhere/City", "2026-05-04T00:00:00Z", NULL);
    assert_int_equal(vk_cronjob_schedule(cj, NULL, &c, err, sizeof err), -1);
    json_decref(cj);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields),      cmocka_unit_test(test_macros),
        cmocka_unit_test(test_errors),      cmocka_unit_test(test_time_zones),
        cmocka_unit_test(test_most_recent), cmocka_unit_test(test_controller_schedule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
