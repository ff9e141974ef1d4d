/* The StatefulSet controller's helpers (controllers/stsutil) and the revision history's
 * pure parts (controllers/history): ordinals from pod names, maxUnavailable, the owner
 * references of claims under each retention policy, kube's revision patch, hash and
 * name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "controllers/history.h"
#include "controllers/stsutil.h"

static json_t *parse(const char *js)
{
    json_error_t e;
    json_t *v = json_loads(js, 0, &e);
    if (!v)
        fail_msg("fixture: %s", e.text);
    return v;
}

static void test_ordinal(void **state)
{
    char parent[64];
    assert_int_equal(vk_sts_ordinal("web-0", parent, sizeof parent), 0);
    assert_string_equal(parent, "web");
    assert_int_equal(vk_sts_ordinal("my-web-12", parent, sizeof parent), 12);
    assert_string_equal(parent, "my-web");
    assert_int_equal(vk_sts_ordinal("web-1-2", parent, sizeof parent), 2);
    assert_string_equal(parent, "web-1");
    assert_int_equal(vk_sts_ordinal("web", parent, sizeof parent), -1);
    assert_string_equal(parent, "");
    assert_int_equal(vk_sts_ordinal("web-", NULL, 0), -1);
    assert_int_equal(vk_sts_ordinal("web-x1", NULL, 0), -1);
    assert_int_equal(vk_sts_ordinal("web-2147483647", NULL, 0), 2147483647);
    assert_int_equal(vk_sts_ordinal("web-2147483648", parent, sizeof parent), -1); /* int32 */
    assert_string_equal(parent, "web");
}

static void test_max_unavailable(void **state)
{
    json_t *v;
    assert_int_equal(vk_sts_max_unavailable(NULL, 10), 1);
    assert_int_equal(vk_sts_max_unavailable(v = json_integer(3), 10), 3);
    json_decref(v);
    assert_int_equal(vk_sts_max_unavailable(v = json_integer(0), 10), 1);
    json_decref(v);
    assert_int_equal(vk_sts_max_unavailable(v = json_string("25%"), 10), 2); /* rounded down */
    json_decref(v);
    assert_int_equal(vk_sts_max_unavailable(v = json_string("5%"), 10), 1);
    json_decref(v);
    assert_int_equal(vk_sts_max_unavailable(v = json_string("3"), 10), -1);
    json_decref(v);
}

static json_t *set_with(const char *when_deleted, const char *when_scaled)
{
    char js[512];
    snprintf(js, sizeof js,
             "{\"metadata\":{\"name\":\"web\",\"uid\":\"S\"},\"spec\":{"
             "\"persistentVolumeClaimRetentionPolicy\":{\"whenDeleted\":\"%s\",\"whenScaled\":"
             "\"%s\"}}}",
             when_deleted, when_scaled);
    return parse(js);
}

/* The references' "kind/uid" list. */
static void refs_are(const json_t *refs, const char *want)
{
    char got[256] = "";
    size_t i;
    json_t *r;
    json_array_foreach(refs, i, r)
    {
        size_t n = strlen(got);
        snprintf(got + n, sizeof got - n, "%s%s/%s", n ? " " : "",
                 json_string_value(json_object_get(r, "kind")),
                 json_string_value(json_object_get(r, "uid")));
    }
    assert_string_equal(got, want);
}

static void claim_case(const char *wd, const char *ws, bool scaled_down, const char *want)
{
    json_t *set = set_with(wd, ws);
    json_t *pod = parse("{\"metadata\":{\"name\":\"web-1\",\"uid\":\"P\"}}");
    json_t *claim = parse("{\"metadata\":{\"name\":\"data-web-1\",\"ownerReferences\":["
                          "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"name\":\"x\","
                          "\"uid\":\"X\"}]}}");
    json_t *refs = vk_sts_claim_refs(claim, set, pod, scaled_down);
    refs_are(refs, want);
    /* The claim with those references is up to date; without them (when they are
     * wanted) it is not. */
    bool changes = json_array_size(refs) != 1;
    assert_int_equal(vk_sts_claim_up_to_date(claim, set, pod, scaled_down), !changes);
    json_object_set(json_object_get(claim, "metadata"), "ownerReferences", refs);
    assert_true(vk_sts_claim_up_to_date(claim, set, pod, scaled_down));
    json_decref(refs);
    json_decref(claim);
    json_decref(pod);
    json_decref(set);
}

static void test_claim_refs(void **state)
{
    claim_case("Retain", "Retain", false, "ConfigMap/X");
    claim_case("Retain", "Retain", true, "ConfigMap/X");
    claim_case("Delete", "Retain", false, "ConfigMap/X StatefulSet/S");
    claim_case("Delete", "Retain", true, "ConfigMap/X StatefulSet/S");
    claim_case("Retain", "Delete", false, "ConfigMap/X");
    claim_case("Retain", "Delete", true, "ConfigMap/X Pod/P");
    claim_case("Delete", "Delete", false, "ConfigMap/X StatefulSet/S");
    claim_case("Delete", "Delete", true, "ConfigMap/X Pod/P");
}

static void test_claim_other_controller(void **state)
{
    /* A claim another controller owns is left to it: our references go, none is
     * added. */
    json_t *set = set_with("Delete", "Delete");
    json_t *pod = parse("{\"metadata\":{\"name\":\"web-1\",\"uid\":\"P\"}}");
    json_t *claim = parse(
        "{\"metadata\":{\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":\"Other\",\"name\":"
        "\"o\",\"uid\":\"O\",\"controller\":true},{\"apiVersion\":\"apps/v1\",\"kind\":"
        "\"StatefulSet\",\"name\":\"web\",\"uid\":\"S\",\"controller\":true}]}}");
    assert_false(vk_sts_claim_up_to_date(claim, set, pod, false));
    json_t *refs = vk_sts_claim_refs(claim, set, pod, false);
    refs_are(refs, "Other/O");
    json_decref(refs);
    /* A reference to an older set of the name is stale: left for the garbage
     * collector. */
    json_decref(claim);
    claim = parse("{\"metadata\":{\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":"
                  "\"StatefulSet\",\"name\":\"web\",\"uid\":\"OLD\",\"controller\":true}]}}");
    assert_true(vk_sts_claim_up_to_date(claim, set, pod, false));
    json_decref(claim);
    json_decref(pod);
    json_decref(set);
}

static void test_history(void **state)
{
    json_t *set = parse("{\"metadata\":{\"name\":\"web\"},\"spec\":{\"replicas\":3,\"template\":{"
                        "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i:1\"}]},"
                        "\"metadata\":{\"labels\":{\"app\":\"web\"}}}}}");
    json_t *patch = vk_history_patch(set);
    char *js = json_dumps(patch, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(js, "{\"spec\":{\"template\":{\"$patch\":\"replace\",\"metadata\":{"
                            "\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{"
                            "\"image\":\"i:1\",\"name\":\"c\"}]}}}}");
    free(js);
    /* kube's HashControllerRevision of these bytes (computed with Go's hash/fnv and
     * rand.SafeEncodeString). */
    char h[16];
    vk_history_hash(patch, 0, h);
    assert_string_equal(h, "65b7f998d7");
    vk_history_hash(patch, 3, h);
    assert_string_equal(h, "65b7f998d4");
    vk_history_hash(patch, -1, h);
    assert_string_equal(h, "7cbc4dcdd5");
    char name[300], owner[300];
    vk_history_name("web", h, name);
    assert_string_equal(name, "web-7cbc4dcdd5");
    memset(owner, 'a', 250);
    owner[250] = 0;
    vk_history_name(owner, "h", name);
    assert_int_equal(strlen(name), 225); /* 223 of the owner's name, "-", the hash */
    json_decref(patch);
    json_decref(set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ordinal),    cmocka_unit_test(test_max_unavailable),
        cmocka_unit_test(test_claim_refs), cmocka_unit_test(test_claim_other_controller),
        cmocka_unit_test(test_history),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
