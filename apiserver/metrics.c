#include "apiserver/metrics.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* kube-apiserver's buckets for apiserver_request_duration_seconds. */
static const double buckets[] = {0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2,
                                 3,     4,     5,    6,   8,   10,  15,  20,  30,  45,   60};
enum { NBUCKETS = sizeof buckets / sizeof buckets[0], NSLOTS = 256 };

/* A series: the label block (8 request labels, then code) and its values. Counters are
 * per code; the histogram ignores the code. */
typedef struct series {
    struct series *next;
    char *labels; /* rendered {…} without code, shared key */
    char code[4];
    uint64_t count;
    uint64_t bucket[NBUCKETS]; /* per-bucket (not cumulative) counts; duration series only */
    double sum;
} series;

typedef struct collector {
    vk_metrics_collector fn;
    void *ud;
} collector;

struct vk_metrics {
    series *total[NSLOTS];    /* key: labels + code */
    series *duration[NSLOTS]; /* key: labels (code "") */
    collector *collectors;
    size_t ncollectors;
    double start_time;
};

vk_metrics *vk_metrics_new(void)
{
    vk_metrics *m = calloc(1, sizeof *m);
    if (m) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        m->start_time = (double)ts.tv_sec + ts.tv_nsec / 1e9;
    }
    return m;
}

static void free_chain(series *s)
{
    while (s) {
        series *n = s->next;
        free(s->labels);
        free(s);
        s = n;
    }
}

void vk_metrics_free(vk_metrics *m)
{
    if (!m)
        return;
    for (int i = 0; i < NSLOTS; i++) {
        free_chain(m->total[i]);
        free_chain(m->duration[i]);
    }
    free(m->collectors);
    free(m);
}

static uint32_t fnv(const char *s, const char *code)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    for (; *code; code++)
        h = (h ^ (unsigned char)*code) * 16777619u;
    return h;
}

static series *lookup(series **table, const char *labels, const char *code)
{
    series **slot = &table[fnv(labels, code) % NSLOTS];
    for (series *s = *slot; s; s = s->next)
        if (!strcmp(s->labels, labels) && !strcmp(s->code, code))
            return s;
    series *s = calloc(1, sizeof *s);
    if (!s || !(s->labels = strdup(labels))) {
        free(s);
        return NULL;
    }
    snprintf(s->code, sizeof s->code, "%s", code);
    s->next = *slot;
    *slot = s;
    return s;
}

/* Label values are escaped as the exposition format requires. */
static void put_label(vk_buf *b, const char *name, const char *v, bool first)
{
    vk_buf_printf(b, "%s%s=\"", first ? "" : ",", name);
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            vk_buf_printf(b, "\\%c", *v);
        else if (*v == '\n')
            vk_buf_puts(b, "\\n");
        else
            vk_buf_append(b, v, 1);
    }
    vk_buf_puts(b, "\"");
}

void vk_metrics_observe_request(vk_metrics *m, const vk_request_labels *l, int code, double seconds)
{
    /* Label names sorted, as Prometheus clients print them; code is added at render. */
    vk_buf b = {0};
    put_label(&b, "component", l->component, true);
    put_label(&b, "dry_run", l->dry_run, false);
    put_label(&b, "group", l->group, false);
    put_label(&b, "resource", l->resource, false);
    put_label(&b, "scope", l->scope, false);
    put_label(&b, "subresource", l->subresource, false);
    put_label(&b, "verb", l->verb, false);
    put_label(&b, "version", l->version, false);
    if (!b.data)
        return;
    char c[8];
    snprintf(c, sizeof c, "%d", code % 1000);
    series *t = lookup(m->total, b.data, c);
    if (t)
        t->count++;
    series *d = lookup(m->duration, b.data, "");
    if (d) {
        d->count++;
        d->sum += seconds;
        for (int i = 0; i < NBUCKETS; i++) {
            if (seconds <= buckets[i]) {
                d->bucket[i]++;
                break;
            }
        }
    }
    vk_buf_free(&b);
}

int vk_metrics_add_collector(vk_metrics *m, vk_metrics_collector fn, void *ud)
{
    collector *c = realloc(m->collectors, (m->ncollectors + 1) * sizeof *c);
    if (!c)
        return -ENOMEM;
    m->collectors = c;
    c[m->ncollectors++] = (collector){fn, ud};
    return 0;
}

static void process_metrics(vk_metrics *m, vk_buf *out)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    long page = sysconf(_SC_PAGESIZE);
    vk_buf_printf(out,
                  "# HELP process_cpu_seconds_total Total user and system CPU time spent in "
                  "seconds.\n# TYPE process_cpu_seconds_total counter\n"
                  "process_cpu_seconds_total %.6g\n"
                  "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
                  "# TYPE process_resident_memory_bytes gauge\n"
                  "process_resident_memory_bytes %ld\n"
                  "# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n"
                  "# TYPE process_virtual_memory_bytes gauge\n"
                  "process_virtual_memory_bytes %ld\n"
                  "# HELP process_start_time_seconds Start time of the process since unix "
                  "epoch in seconds.\n# TYPE process_start_time_seconds gauge\n"
                  "process_start_time_seconds %.3f\n",
                  cpu, rss * page, pages * page, m->start_time);
}

int vk_metrics_render(vk_metrics *m, vk_buf *out)
{
    vk_buf_puts(out, "# HELP apiserver_request_total [STABLE] Counter of apiserver requests "
                     "broken out for each verb, dry run value, group, version, resource, "
                     "scope, component, and HTTP response code.\n"
                     "# TYPE apiserver_request_total counter\n");
    for (int i = 0; i < NSLOTS; i++)
        for (series *s = m->total[i]; s; s = s->next)
            vk_buf_printf(out, "apiserver_request_total{code=\"%s\",%s} %llu\n", s->code, s->labels,
                          (unsigned long long)s->count);
    vk_buf_puts(out, "# HELP apiserver_request_duration_seconds [STABLE] Response latency "
                     "distribution in seconds for each verb, dry run value, group, version, "
                     "resource, subresource, scope and component.\n"
                     "# TYPE apiserver_request_duration_seconds histogram\n");
    for (int i = 0; i < NSLOTS; i++) {
        for (series *s = m->duration[i]; s; s = s->next) {
            uint64_t cum = 0;
            for (int j = 0; j < NBUCKETS; j++) {
                cum += s->bucket[j];
                vk_buf_printf(out, "apiserver_request_duration_seconds_bucket{%s,le=\"%g\"} %llu\n",
                              s->labels, buckets[j], (unsigned long long)cum);
            }
            vk_buf_printf(out,
                          "apiserver_request_duration_seconds_bucket{%s,le=\"+Inf\"} %llu\n"
                          "apiserver_request_duration_seconds_sum{%s} %.9g\n"
                          "apiserver_request_duration_seconds_count{%s} %llu\n",
                          s->labels, (unsigned long long)s->count, s->labels, s->sum, s->labels,
                          (unsigned long long)s->count);
        }
    }
    process_metrics(m, out);
    for (size_t i = 0; i < m->ncollectors; i++)
        m->collectors[i].fn(m->collectors[i].ud, out);
    return out->data ? 0 : -ENOMEM;
}
