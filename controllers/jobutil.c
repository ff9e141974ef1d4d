#include "controllers/jobutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/timefmt.h"
#include "controllers/objects.h"

#define INDEX_KEY "batch.kubernetes.io/job-completion-index"

enum { BACKOFF_S = 10, BACKOFF_MAX_S = 600 };

static bool deleting(const json_t *o)
{
    return json_object_get(vk_meta(o), "deletionTimestamp") != NULL;
}

static long long int_or(const json_t *o, const char *k, long long dflt)
{
    json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? json_integer_value(v) : dflt;
}

static time_t ts_of(const char *s)
{
    time_t t = 0;
    if (s && *s && vk_time_parse(s, &t))
        t = 0;
    return t;
}

int vk_job_completion_index(const json_t *pod)
{
    const char *v =
        json_string_value(json_object_get(json_object_get(vk_meta(pod), "annotations"), INDEX_KEY));
    if (!v || !*v)
        return -1;
    char *end;
    long n = strtol(v, &end, 10);
    return *end || n < 0 || n > 1000000000 ? -1 : (int)n;
}

/* kube's getFinishedTime: the containers' end, the Ready=False transition, the deletion,
 * or the creation. */
time_t vk_job_pod_finished_time(const json_t *pod)
{
    json_t *st = json_object_get(pod, "status");
    time_t latest = 0;
    bool all = json_array_size(json_object_get(st, "containerStatuses")) > 0;
    size_t i;
    json_t *cs;
    json_array_foreach(json_object_get(st, "containerStatuses"), i, cs)
    {
        json_t *term = json_object_get(json_object_get(cs, "state"), "terminated");
        time_t t = ts_of(vk_str(term, "finishedAt"));
        if (!term || !t) {
            all = false;
            break;
        }
        if (t > latest)
            latest = t;
    }
    if (all && latest)
        return latest;
    json_t *c;
    json_array_foreach(json_object_get(st, "conditions"), i, c)
    {
        if (!strcmp(vk_str(c, "type"), "Ready") && !strcmp(vk_str(c, "status"), "False") &&
            ts_of(vk_str(c, "lastTransitionTime")))
            return ts_of(vk_str(c, "lastTransitionTime"));
    }
    if (deleting(pod))
        return ts_of(vk_str(vk_meta(pod), "deletionTimestamp")) -
               (time_t)int_or(vk_meta(pod), "deletionGracePeriodSeconds", 0);
    return ts_of(vk_str(vk_meta(pod), "creationTimestamp"));
}

/* ---- pod failure policy (kube's matchPodFailurePolicy) ---- */

static const json_t *exit_code_match(const json_t *list, const json_t *req)
{
    const char *cname = json_string_value(json_object_get(req, "containerName"));
    const char *op = vk_str(req, "operator");
    size_t i;
    json_t *cs;
    json_array_foreach(list, i, cs)
    {
        json_t *term = json_object_get(json_object_get(cs, "state"), "terminated");
        if (!term || (cname && strcmp(cname, vk_str(cs, "name"))))
            continue;
        long long code = int_or(term, "exitCode", 0);
        if (!code)
            continue;
        bool in = false;
        size_t k;
        json_t *v;
        json_array_foreach(json_object_get(req, "values"), k, v) in |=
            json_integer_value(v) == code;
        if ((!strcmp(op, "In") && in) || (!strcmp(op, "NotIn") && !in))
            return cs;
    }
    return NULL;
}

/* The action of the first matching rule (VK_PFP_NONE: no rule matched, counted); for
 * FailJob the message kube writes into msg. */
enum vk_pfp_action vk_job_pfp_match(const json_t *spec, const json_t *pod, char *msg, size_t n)
{
    const json_t *policy = json_object_get(spec, "podFailurePolicy");
    if (!policy)
        return VK_PFP_NONE;
    json_t *st = json_object_get(pod, "status");
    size_t i;
    json_t *rule;
    json_array_foreach(json_object_get(policy, "rules"), i, rule)
    {
        const char *action = vk_str(rule, "action");
        const json_t *cs = NULL, *cond = NULL;
        json_t *oec = json_object_get(rule, "onExitCodes");
        if (oec) {
            if (!(cs = exit_code_match(json_object_get(st, "containerStatuses"), oec)))
                cs = exit_code_match(json_object_get(st, "initContainerStatuses"), oec);
            if (!cs)
                continue;
        } else if (json_object_get(rule, "onPodConditions")) {
            size_t a, b;
            json_t *pc, *pat;
            json_array_foreach(json_object_get(st, "conditions"), a, pc)
            {
                json_array_foreach(json_object_get(rule, "onPodConditions"), b, pat)
                {
                    if (!cond && !strcmp(vk_str(pc, "type"), vk_str(pat, "type")) &&
                        !strcmp(vk_str(pc, "status"),
                                *vk_str(pat, "status") ? vk_str(pat, "status") : "True"))
                        cond = pc;
                }
            }
            if (!cond)
                continue;
        } else {
            continue;
        }
        if (!strcmp(action, "Ignore"))
            return VK_PFP_IGNORE;
        if (!strcmp(action, "FailIndex"))
            return VK_PFP_FAIL_INDEX;
        if (!strcmp(action, "Count"))
            return VK_PFP_COUNT;
        if (!strcmp(action, "FailJob")) {
            json_t *m = vk_meta(pod);
            if (cs)
                snprintf(msg, n,
                         "Container %s for pod %s/%s failed with exit code %lld matching FailJob "
                         "rule at index %zu",
                         vk_str(cs, "name"), vk_str(m, "namespace"), vk_str(m, "name"),
                         int_or(json_object_get(json_object_get(cs, "state"), "terminated"),
                                "exitCode", 0),
                         i);
            else
                snprintf(msg, n, "Pod %s/%s has condition %s matching FailJob rule at index %zu",
                         vk_str(m, "namespace"), vk_str(m, "name"), vk_str(cond, "type"), i);
            return VK_PFP_FAIL_JOB;
        }
    }
    return VK_PFP_NONE;
}

/* ---- index sets ("1,3-5" as kube writes completedIndexes) ---- */

void vk_ixset_parse(vk_ixset *s, const char *str, long long n)
{
    s->n = n;
    s->v = calloc((size_t)(n > 0 ? n : 1), 1);
    if (!s->v || !str)
        return;
    /* Each comma-separated part "a" or "a-b"; a malformed one is skipped, as kube does. */
    for (const char *p = str; *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char part[64];
        snprintf(part, sizeof part, "%.*s", (int)(len < 63 ? len : 63), p);
        char *end, *end2;
        long long a = strtoll(part, &end, 10), b = a;
        bool ok = end != part && part[0] != '-' && part[0] != '+';
        if (ok && *end == '-') {
            b = strtoll(end + 1, &end2, 10);
            ok = end2 != end + 1 && !*end2 && end[1] != '-' && end[1] != '+';
        } else {
            ok = ok && !*end;
        }
        for (long long i = a; ok && i <= b && i < n; i++)
            s->v[i] = 1;
        p += len;
        if (*p == ',')
            p++;
    }
}

long long vk_ixset_total(const vk_ixset *s)
{
    long long t = 0;
    for (long long i = 0; s->v && i < s->n; i++)
        t += s->v[i];
    return t;
}

bool vk_ixset_has(const vk_ixset *s, long long i)
{
    return s->v && i >= 0 && i < s->n && s->v[i];
}

json_t *vk_ixset_format(const vk_ixset *s)
{
    size_t cap = 64, len = 0;
    char *out = malloc(cap);
    if (!out)
        return json_string("");
    out[0] = 0;
    for (long long i = 0; s->v && i < s->n;) {
        if (!s->v[i]) {
            i++;
            continue;
        }
        long long j = i;
        while (j + 1 < s->n && s->v[j + 1])
            j++;
        char part[48];
        if (j == i)
            snprintf(part, sizeof part, "%s%lld", len ? "," : "", i);
        else
            snprintf(part, sizeof part, "%s%lld%c%lld", len ? "," : "", i, j == i + 1 ? ',' : '-',
                     j);
        size_t pl = strlen(part);
        if (len + pl + 1 > cap) {
            char *g = realloc(out, cap = (len + pl + 1) * 2);
            if (!g)
                break;
            out = g;
        }
        memcpy(out + len, part, pl + 1);
        len += pl;
        i = j + 1;
    }
    json_t *r = json_string(out);
    free(out);
    return r;
}

/* Seconds of pod failure backoff left (kube's getRemainingTimeForFailuresCount). */
long long vk_job_backoff_left(time_t now, long long failures, time_t last)
{
    if (failures <= 0)
        return 0;
    long long d = BACKOFF_S;
    for (long long i = 1; i < failures; i++) {
        d *= 2;
        if (d >= BACKOFF_MAX_S) {
            d = BACKOFF_MAX_S;
            break;
        }
    }
    long long since = (long long)(now - last);
    return d < since ? 0 : d - since;
}
