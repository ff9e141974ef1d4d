/* vkube: command line. `vkube server` runs a cluster; `vkube version` prints the
 * version. */
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "apiserver/auth/pki.h"
#include "apiserver/server.h"
#include "apiserver/version.h"
#include "controllers/crd.h"
#include "controllers/daemonset.h"
#include "controllers/statefulset.h"
#include "controllers/disruption.h"
#include "controllers/deployment.h"
#include "controllers/endpoints.h"
#include "controllers/gc.h"
#include "controllers/job.h"
#include "controllers/namespace.h"
#include "controllers/nodesim.h"
#include "controllers/nsdefaults.h"
#include "controllers/replicaset.h"
#include "controllers/resourcequota.h"
#include "controllers/scheduler.h"
#include "common/log.h"

static void usage(FILE *f)
{
    fprintf(f,
            "vkube: a virtual Kubernetes cluster in one binary.\n"
            "\n"
            "Usage:\n"
            "  vkube server [flags]   run the API server (standalone, with its embedded "
            "defaults)\n"
            "  vkube version          print the version\n"
            "  vkube --help           this text\n"
            "\n"
            "Server flags (--flag value or --flag=value):\n"
            "  --data-dir DIR            state, PKI and kubeconfig (default $HOME/.vkube; "
            "created 0700)\n"
            "  --listen HOST:PORT        address to serve on (default 127.0.0.1:6443)\n"
            "  --advertise-address ADDR  address clients use (default: the listen host)\n"
            "  --cluster-name NAME       kubeconfig cluster and context name (default vkube)\n"
            "  --cluster-domain DOMAIN   cluster DNS domain (default cluster.local)\n"
            "  --service-cidr CIDR       Service ClusterIP range (default 10.96.0.0/12)\n"
            "  --token-auth-file FILE    static bearer tokens (CSV: token,user,uid,\"groups\")\n"
            "  --shutdown-grace SECONDS  time in-flight requests get on SIGTERM (default 30)\n"
            "  --read-header-timeout S   time a request's headers may take (default 32)\n"
            "  --idle-timeout S          time an idle connection is kept (default 90)\n"
            "  --etcd-compaction-interval D  how often old revisions are compacted away, as\n"
            "                            kube-apiserver's flag (default 5m)\n"
            "  --sim-nodes N             simulated nodes and the built-in scheduler (default 2;\n"
            "                            0: none). A simulation: no container runs\n"
            "  -v N, --v=N               log verbosity (default 2; 4 logs every request)\n");
}

/* A Go duration ("5m", "1m30s", "500ms") or plain seconds, in milliseconds; 0 when
 * it does not parse. */
static uint64_t duration_ms(const char *v)
{
    static const struct {
        const char *unit;
        double ms;
    } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
    double total = 0;
    const char *p = v;
    while (*p) {
        char *end;
        double n = strtod(p, &end);
        if (end == p)
            return 0;
        size_t u = 0, nu = sizeof units / sizeof units[0];
        while (u < nu && strncmp(end, units[u].unit, strlen(units[u].unit)))
            u++;
        if (u == nu && *end)
            return 0;
        total += n * (u == nu ? 1000 : units[u].ms);
        p = u == nu ? end : end + strlen(units[u].unit);
    }
    return total > 0 ? (uint64_t)total : 0;
}

static int cmd_version(void)
{
    json_t *v = vk_version_info();
    char *s = json_dumps(v, JSON_INDENT(2));
    printf("%s\n", s ? s : "{}");
    free(s);
    json_decref(v);
    return 0;
}

/* Matches --name value, --name=value (and -name forms, as Go's flag package does). */
static const char *flag_value(int argc, char **argv, int *i, const char *name)
{
    const char *a = argv[*i];
    while (*a == '-')
        a++;
    size_t n = strlen(name);
    if (strncmp(a, name, n))
        return NULL;
    if (a[n] == '=')
        return a + n + 1;
    if (a[n])
        return NULL;
    if (*i + 1 >= argc) {
        fprintf(stderr, "vkube: flag --%s needs a value\n", name);
        exit(2);
    }
    return argv[++*i];
}

typedef struct controllers {
    vk_ns_controller *ns;
    vk_nsdefaults *defaults;
    vk_gc *gc;
    vk_quota_ctl *quotas;
    vk_crd_ctl *crds;
    vk_informer *pods, *nodes, *rs_inf, *rc_inf; /* shared by the controllers below */
    vk_replicaset_ctl *replicasets, *rcs;
    vk_deployment_ctl *deployments;
    vk_endpoints_ctl *endpoints;
    vk_daemonset_ctl *daemonsets;
    vk_statefulset_ctl *statefulsets;
    vk_disruption_ctl *disruption;
    vk_job_ctl *jobs;
    vk_nodesim *nodesim;
    vk_scheduler *scheduler;
} controllers;

static void stop_controllers(void *ud)
{
    controllers *c = ud;
    vk_ns_controller_free(c->ns);
    vk_nsdefaults_free(c->defaults);
    vk_gc_free(c->gc);
    vk_quota_ctl_free(c->quotas);
    vk_crd_ctl_free(c->crds);
    vk_scheduler_free(c->scheduler);
    vk_nodesim_free(c->nodesim);
    vk_deployment_free(c->deployments);
    vk_endpoints_free(c->endpoints);
    vk_daemonset_free(c->daemonsets);
    vk_statefulset_free(c->statefulsets);
    vk_disruption_free(c->disruption);
    vk_job_free(c->jobs);
    vk_replicaset_free(c->replicasets);
    vk_replicaset_free(c->rcs);
    vk_informer_free(c->rs_inf);
    vk_informer_free(c->rc_inf);
    vk_informer_free(c->pods);
    vk_informer_free(c->nodes);
    *c = (controllers){0};
}

/* The workload controllers, and in standalone mode n simulated nodes and the scheduler
 * (none when n is 0), on shared pod and node informers. */
static int start_workloads(vk_server *s, controllers *c, int n)
{
    int rc;
    if ((rc = vk_informer_start(s, vk_resource_find("", "v1", "pods"), &c->pods)) ||
        (rc = vk_informer_start(s, vk_resource_find("", "v1", "nodes"), &c->nodes)) ||
        (rc = vk_informer_start(s, vk_resource_find("apps", "v1", "replicasets"), &c->rs_inf)) ||
        (rc = vk_informer_start(s, vk_resource_find("", "v1", "replicationcontrollers"),
                                &c->rc_inf)) ||
        (rc = vk_replicaset_start(s, "ReplicaSet", c->rs_inf, c->pods, &c->replicasets)) ||
        (rc = vk_replicaset_start(s, "ReplicationController", c->rc_inf, c->pods, &c->rcs)) ||
        (rc = vk_deployment_start(s, c->rs_inf, &c->deployments)) ||
        (rc = vk_endpoints_start(s, c->pods, &c->endpoints)) ||
        (rc = vk_daemonset_start(s, c->pods, c->nodes, &c->daemonsets)) ||
        (rc = vk_statefulset_start(s, c->pods, &c->statefulsets)) ||
        (rc = vk_disruption_start(s, c->pods, &c->disruption)) ||
        (rc = vk_job_start(s, c->pods, &c->jobs)))
        return rc;
    if (n > 0 && ((rc = vk_nodesim_start(s, n, c->pods, &c->nodesim)) ||
                  (rc = vk_scheduler_start(s, c->pods, c->nodes, &c->scheduler))))
        return rc;
    return 0;
}

static int cmd_server(int argc, char **argv)
{
    vk_server_opts o;
    vk_server_opts_default(&o);
    static char home_dir[PATH_MAX];
    const char *home = getenv("HOME");
    snprintf(home_dir, sizeof home_dir, "%s/.vkube", home && *home ? home : ".");
    o.data_dir = home_dir;
    int sim_nodes = 2;
    for (int i = 0; i < argc; i++) {
        const char *v;
        if ((v = flag_value(argc, argv, &i, "data-dir")))
            o.data_dir = v;
        else if ((v = flag_value(argc, argv, &i, "listen")))
            o.listen = v;
        else if ((v = flag_value(argc, argv, &i, "advertise-address")))
            o.advertise_address = *v ? v : NULL;
        else if ((v = flag_value(argc, argv, &i, "cluster-name")))
            o.cluster_name = v;
        else if ((v = flag_value(argc, argv, &i, "cluster-domain")))
            o.cluster_domain = v;
        else if ((v = flag_value(argc, argv, &i, "service-cidr")))
            o.service_cidr = v;
        else if ((v = flag_value(argc, argv, &i, "token-auth-file")))
            o.token_auth_file = v;
        else if ((v = flag_value(argc, argv, &i, "shutdown-grace")))
            o.shutdown_grace_ms = (int)(atof(v) * 1000);
        else if ((v = flag_value(argc, argv, &i, "read-header-timeout")))
            o.read_header_timeout_ms = (int)(atof(v) * 1000);
        else if ((v = flag_value(argc, argv, &i, "idle-timeout")))
            o.idle_timeout_ms = (int)(atof(v) * 1000);
        else if ((v = flag_value(argc, argv, &i, "etcd-compaction-interval")))
            o.compaction_interval_ms = duration_ms(v);
        else if ((v = flag_value(argc, argv, &i, "sim-nodes")))
            sim_nodes = atoi(v);
        else if ((v = flag_value(argc, argv, &i, "v")))
            vk_log_verbosity = atoi(v);
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "vkube: unknown flag %s\n\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }

    /* A peer that closes while a response is being written makes write(2) fail
     * with EPIPE; the signal that comes with it must not end the server. */
    signal(SIGPIPE, SIG_IGN);
    uv_loop_t loop;
    uv_loop_init(&loop);
    vk_server s;
    char err[512] = "";
    uint64_t t0 = vk_now_ms();
    int rc = vk_server_start(&s, &loop, &o, err, sizeof err);
    if (rc) {
        vk_log(VK_LOG_ERROR, "server", "Cannot start", "err=\"%s\"", err);
        uv_run(&loop, UV_RUN_DEFAULT);
        vk_server_free(&s);
        uv_loop_close(&loop);
        return 1;
    }
    /* Controllers are in-process clients of the registry; they stop once the store
     * has closed. */
    controllers ctl = {0};
    if ((rc = vk_ns_controller_start(&s, &ctl.ns)) ||
        (rc = vk_nsdefaults_start(&s, &ctl.defaults)) || (rc = vk_gc_start(&s, &ctl.gc)) ||
        (rc = vk_quota_ctl_start(&s, &ctl.quotas)) || (rc = vk_crd_ctl_start(&s, &ctl.crds)) ||
        (rc = start_workloads(&s, &ctl, sim_nodes)))
        vk_log(VK_LOG_ERROR, "server", "Cannot start a controller", "err=%d", rc);
    s.on_stop = stop_controllers;
    s.on_stop_ud = &ctl;
    char kubeconfig[PATH_MAX];
    const char *kc = vk_pki_path(s.pki, VK_PKI_KUBECONFIG);
    if (!realpath(kc, kubeconfig))
        snprintf(kubeconfig, sizeof kubeconfig, "%s", kc);
    vk_log(VK_LOG_INFO, "server", "Serving",
           "url=\"%s\" protocols=\"h2,http/1.1\" version=\"%s\" mode=\"standalone\" "
           "kubeconfig=\"%s\" startup=\"%llums\"",
           s.url, VK_KUBE_VERSION, kubeconfig, (unsigned long long)(vk_now_ms() - t0));
    printf("vkube %s is serving at %s\nKubeconfig: %s\n  export KUBECONFIG=%s\n", VK_KUBE_VERSION,
           s.url, kubeconfig, kubeconfig);
    fflush(stdout);

    uv_run(&loop, UV_RUN_DEFAULT);
    vk_server_free(&s);
    rc = uv_loop_close(&loop);
    vk_log(VK_LOG_INFO, "server", "Stopped", "clean=%s", rc ? "false" : "true");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version"))
        return cmd_version();
    if (!strcmp(argv[1], "server"))
        return cmd_server(argc - 2, argv + 2);
    fprintf(stderr, "vkube: unknown command %s\n\n", argv[1]);
    usage(stderr);
    return 2;
}
