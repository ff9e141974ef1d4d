/* The storage figures on /metrics: kube's apiserver_storage_objects and
 * apiserver_storage_size_bytes, plus the store's own revision, log, commit latency and
 * batch size histograms (vkube_storage_*). */
#include "apiserver/store_metrics.h"

#include <stdio.h>

#include "apiserver/registry/resource.h"
#include "apiserver/server.h"
#include "storage/store.h"

static void histogram(vk_buf *out, const char *name, const char *help, const uint64_t *bounds,
                      const uint64_t *counts, size_t n, double scale, double sum)
{
    vk_buf_printf(out, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    uint64_t cum = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        cum += counts[i];
        vk_buf_printf(out, "%s_bucket{le=\"%g\"} %llu\n", name, (double)bounds[i] * scale,
                      (unsigned long long)cum);
    }
    cum += counts[n - 1];
    vk_buf_printf(out, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.9g\n%s_count %llu\n", name,
                  (unsigned long long)cum, name, sum, name, (unsigned long long)cum);
}

static void collect(void *ud, vk_buf *out)
{
    vk_server *s = ud;
    if (!s->store)
        return;
    vk_store_stats st;
    vk_store_stats_get(s->store, &st);
    vk_buf_puts(out, "# HELP apiserver_storage_objects [STABLE] Number of stored objects at the "
                     "time of last check split by kind.\n"
                     "# TYPE apiserver_storage_objects gauge\n");
    for (const vk_resource *const *r = vk_resources; *r; r++) {
        uint64_t n = 0;
        vk_store_count(s->store, vk_resource_id(*r), &n);
        vk_buf_printf(out, "apiserver_storage_objects{resource=\"%s%s%s\"} %llu\n", (*r)->plural,
                      *(*r)->group ? "." : "", (*r)->group, (unsigned long long)n);
    }
    vk_buf_printf(out,
                  "# HELP apiserver_storage_size_bytes Size of the storage database file "
                  "physically allocated in bytes.\n# TYPE apiserver_storage_size_bytes gauge\n"
                  "apiserver_storage_size_bytes{storage_cluster_id=\"vkube\"} %llu\n"
                  "# HELP vkube_storage_map_size_bytes Address space reserved for the "
                  "database.\n# TYPE vkube_storage_map_size_bytes gauge\n"
                  "vkube_storage_map_size_bytes %llu\n"
                  "# HELP vkube_storage_revision The last committed revision.\n"
                  "# TYPE vkube_storage_revision gauge\nvkube_storage_revision %llu\n"
                  "# HELP vkube_storage_compacted_revision The log holds every revision above "
                  "this one.\n# TYPE vkube_storage_compacted_revision gauge\n"
                  "vkube_storage_compacted_revision %llu\n"
                  "# HELP vkube_storage_log_events Events in the revision log.\n"
                  "# TYPE vkube_storage_log_events gauge\nvkube_storage_log_events %llu\n"
                  "# HELP vkube_storage_watchers Open watchers on the store.\n"
                  "# TYPE vkube_storage_watchers gauge\nvkube_storage_watchers %llu\n",
                  (unsigned long long)st.db_size, (unsigned long long)st.map_size,
                  (unsigned long long)st.rev, (unsigned long long)st.compact_rev,
                  (unsigned long long)st.log_events, (unsigned long long)st.watchers);
    histogram(out, "vkube_storage_commit_duration_seconds",
              "Time from a write's submission to its batch being durable.", vk_stats_lat_bounds_us,
              st.lat_count, VK_STATS_LAT_BUCKETS, 1e-6, (double)st.lat_sum_us / 1e6);
    double ops = (double)st.ops_ok + (double)st.ops_failed;
    histogram(out, "vkube_storage_batch_ops", "Operations committed per write transaction.",
              vk_stats_batch_bounds, st.batch_count, VK_STATS_BATCH_BUCKETS, 1, ops);
}

int vk_store_metrics_register(vk_server *s)
{
    return vk_metrics_add_collector(s->metrics, collect, s);
}
