#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/registry/resource.h"
#include "apiserver/server.h"

/* The resource files, one declaration a line. */
extern const vk_resource vk_res_clustertrustbundles;
extern const vk_resource vk_res_configmaps;
extern const vk_resource vk_res_customresourcedefinitions;
extern const vk_resource vk_res_cronjobs;
extern const vk_resource vk_res_jobs;
extern const vk_resource vk_res_podtemplates;
extern const vk_resource vk_res_replicationcontrollers;
extern const vk_resource vk_res_daemonsets;
extern const vk_resource vk_res_deployments;
extern const vk_resource vk_res_replicasets;
extern const vk_resource vk_res_statefulsets;
extern const vk_resource vk_res_endpoints;
extern const vk_resource vk_res_events;
extern const vk_resource vk_res_namespaces;
extern const vk_resource vk_res_limitranges;
extern const vk_resource vk_res_nodes;
extern const vk_resource vk_res_persistentvolumeclaims;
extern const vk_resource vk_res_persistentvolumes;
extern const vk_resource vk_res_resourcequotas;
extern const vk_resource vk_res_pods;
extern const vk_resource vk_res_secrets;
extern const vk_resource vk_res_serviceaccounts;
extern const vk_resource vk_res_services;
extern const vk_resource vk_res_leases;
extern const vk_resource vk_res_endpointslices;
extern const vk_resource vk_res_clusterrolebindings;
extern const vk_resource vk_res_clusterroles;
extern const vk_resource vk_res_rolebindings;
extern const vk_resource vk_res_roles;
extern const vk_resource vk_res_selfsubjectreviews;
extern const vk_resource vk_res_tokenreviews;
extern const vk_resource vk_res_storageclasses;
extern const vk_resource vk_res_priorityclasses;
extern const vk_resource vk_res_poddisruptionbudgets;
extern const vk_resource vk_res_localsubjectaccessreviews;
extern const vk_resource vk_res_selfsubjectaccessreviews;
extern const vk_resource vk_res_selfsubjectrulesreviews;
extern const vk_resource vk_res_subjectaccessreviews;

/* Resources with rules of their own, one line each (any order: discovery follows
 * kube's). */
static const vk_resource *const written[] = {
    &vk_res_clustertrustbundles,
    &vk_res_configmaps,
    &vk_res_customresourcedefinitions,
    &vk_res_endpoints,
    &vk_res_events,
    &vk_res_namespaces,
    &vk_res_limitranges,
    &vk_res_nodes,
    &vk_res_persistentvolumeclaims,
    &vk_res_persistentvolumes,
    &vk_res_resourcequotas,
    &vk_res_pods,
    &vk_res_podtemplates,
    &vk_res_replicationcontrollers,
    &vk_res_secrets,
    &vk_res_serviceaccounts,
    &vk_res_services,
    &vk_res_leases,
    &vk_res_endpointslices,
    &vk_res_daemonsets,
    &vk_res_deployments,
    &vk_res_replicasets,
    &vk_res_statefulsets,
    &vk_res_cronjobs,
    &vk_res_jobs,
    &vk_res_selfsubjectreviews,
    &vk_res_tokenreviews,
    &vk_res_storageclasses,
    &vk_res_priorityclasses,
    &vk_res_poddisruptionbudgets,
    &vk_res_localsubjectaccessreviews,
    &vk_res_selfsubjectaccessreviews,
    &vk_res_selfsubjectrulesreviews,
    &vk_res_subjectaccessreviews,
    &vk_res_clusterrolebindings,
    &vk_res_clusterroles,
    &vk_res_rolebindings,
    &vk_res_roles,
};

/* Built-in kinds served with the generic rules, where those take a flag; and the kinds
 * not served yet, with the reason. Every other built-in kind that can be created, read
 * and listed is served with the generic rules as they are. */
#define GEN(g, p)                                                                                  \
    {                                                                                              \
        .group = g, .version = "v1", .plural = p, .flags = VK_GENERATION                           \
    }
static const vk_resource generic[] = {
    GEN("admissionregistration.k8s.io", "mutatingadmissionpolicies"),
    GEN("admissionregistration.k8s.io", "mutatingadmissionpolicybindings"),
    GEN("admissionregistration.k8s.io", "mutatingwebhookconfigurations"),
    GEN("admissionregistration.k8s.io", "validatingadmissionpolicies"),
    GEN("admissionregistration.k8s.io", "validatingadmissionpolicybindings"),
    GEN("admissionregistration.k8s.io", "validatingwebhookconfigurations"),
    {.group = "autoscaling",
     .version = "v2",
     .plural = "horizontalpodautoscalers",
     .flags = VK_GENERATION},
    GEN("flowcontrol.apiserver.k8s.io", "flowschemas"),
    GEN("flowcontrol.apiserver.k8s.io", "prioritylevelconfigurations"),
    GEN("networking.k8s.io", "ingresses"),
    GEN("networking.k8s.io", "ingressclasses"),
    GEN("networking.k8s.io", "networkpolicies"),
    GEN("resource.k8s.io", "deviceclasses"),
    GEN("resource.k8s.io", "devicetaintrules"),
    GEN("resource.k8s.io", "resourceslices"),
    /* Stored as core/v1 Event and converted; not written yet. */
    {.group = "events.k8s.io", .version = "v1", .plural = "events", .flags = VK_NOT_SERVED},
    /* Stored as autoscaling/v2 and converted; not written yet. */
    {.group = "autoscaling",
     .version = "v1",
     .plural = "horizontalpodautoscalers",
     .flags = VK_NOT_SERVED},
};
#undef GEN

const vk_resource *const *vk_resources;
/* The built-in resources (the first vk_builtin_count of vk_resources), then the ones
 * added while the server runs (custom resources). */
static const vk_resource **served;
static size_t nbuiltin, nserved, cap_served;

static bool names(const vk_resource *r, const vk_api_facts *f)
{
    return !strcmp(r->group, f->group) && !strcmp(r->version, f->version) &&
           !strcmp(r->plural, f->plural);
}

static bool has_verb(const char *const *verbs, const char *v)
{
    for (size_t i = 0; i < 10 && verbs[i]; i++)
        if (!strcmp(verbs[i], v))
            return true;
    return false;
}

static void die(const char *what, const char *group, const char *plural)
{
    fprintf(stderr, "vkube: registry: %s %s/%s\n", what, group, plural);
    abort();
}

/* Joins the facts and the rules into vk_resources, before main: a resource file that
 * names no built-in resource, or a subresource kube does not have, stops the program. */
__attribute__((constructor)) static void registry_build(void)
{
    size_t n = 0;
    while (vk_api_facts_table[n].plural)
        n++;
    vk_resource *all = calloc(n, sizeof *all);
    const vk_resource **list = calloc(n + 1, sizeof *list);
    if (!all || !list)
        die("out of memory for", "", "");
    for (size_t w = 0; w < sizeof written / sizeof written[0]; w++) {
        size_t i = 0;
        while (i < n && !names(written[w], &vk_api_facts_table[i]))
            i++;
        if (i == n)
            die("no built-in resource", written[w]->group, written[w]->plural);
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const vk_api_facts *f = &vk_api_facts_table[i];
        const vk_resource *w = NULL, *g = NULL;
        for (size_t j = 0; !w && j < sizeof written / sizeof written[0]; j++)
            w = names(written[j], f) ? written[j] : NULL;
        for (size_t j = 0; !g && j < sizeof generic / sizeof generic[0]; j++)
            g = names(&generic[j], f) ? &generic[j] : NULL;
        if (!w && ((g && (g->flags & VK_NOT_SERVED)) || !has_verb(f->verbs, "create") ||
                   !has_verb(f->verbs, "get") || !has_verb(f->verbs, "list")))
            continue; /* not served yet */
        vk_resource *r = &all[k];
        if (w || g)
            *r = *(w ? w : g);
        r->group = f->group;
        r->version = f->version;
        r->plural = f->plural;
        r->singular = f->singular;
        r->kind = f->kind;
        memcpy(r->short_names, f->short_names, sizeof r->short_names);
        memcpy(r->categories, f->categories, sizeof r->categories);
        memcpy(r->verbs, f->verbs, sizeof r->verbs);
        r->storage_hash = f->storage_hash;
        r->flags |= f->namespaced ? VK_NAMESPACED : 0;
        /* The generic subresources, for a kind without a file: status and scale. */
        for (size_t j = 0, ns = 0; !w && j < VK_MAX_SUBRESOURCES && f->subresources[j].name; j++)
            if (!strcmp(f->subresources[j].name, "status"))
                r->subresources[ns++] =
                    (vk_subresource){.name = "status", .keep = vk_keep_all_but_status};
            else if (!strcmp(f->subresources[j].name, "scale"))
                r->subresources[ns++] =
                    (vk_subresource){.name = "scale", .view = vk_scale_view, .set = vk_scale_set};
        /* The served subresources take their facts, in kube's order. */
        vk_subresource subs[VK_MAX_SUBRESOURCES + 1] = {{0}};
        size_t nsubs = 0;
        for (size_t j = 0; j < VK_MAX_SUBRESOURCES && f->subresources[j].name; j++) {
            const vk_subresource *sub = vk_subresource_find(r, f->subresources[j].name);
            if (!sub)
                continue;
            subs[nsubs] = *sub;
            subs[nsubs].group = f->subresources[j].group;
            subs[nsubs].version = f->subresources[j].version;
            subs[nsubs].kind = f->subresources[j].kind;
            memcpy(subs[nsubs].verbs, f->subresources[j].verbs, sizeof subs[nsubs].verbs);
            nsubs++;
        }
        for (size_t s = 0; s < VK_MAX_SUBRESOURCES && r->subresources[s].name; s++)
            if (s >= nsubs)
                die("kube has no such subresource of", r->plural, r->subresources[s].name);
        memcpy(r->subresources, subs, sizeof subs);
        list[k] = r;
        k++;
    }
    vk_resources = list;
    served = list;
    nbuiltin = nserved = k;
    cap_served = n + 1;
}

size_t vk_builtin_count(void)
{
    return nbuiltin;
}

int vk_resource_add(const vk_resource *r)
{
    if (nserved + 2 > cap_served) {
        size_t cap = cap_served * 2;
        const vk_resource **v = realloc(served, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        served = v;
        cap_served = cap;
    }
    served[nserved++] = r;
    served[nserved] = NULL;
    vk_resources = served;
    return 0;
}

void vk_resource_remove(const vk_resource *r)
{
    for (size_t i = nbuiltin; i < nserved; i++)
        if (served[i] == r) {
            memmove(&served[i], &served[i + 1], (nserved - i) * sizeof *served);
            nserved--;
            return;
        }
}

uint32_t vk_resource_id(const vk_resource *r)
{
    uint32_t h = 2166136261u;
    for (const char *p = r->group; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    h = (h ^ '/') * 16777619u;
    for (const char *p = r->plural; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return h;
}

vk_ctx vk_resource_ctx(vk_server *s, const vk_resource *res)
{
    vk_ctx c = {.s = s, .state = res->custom};
    for (size_t i = 0; s->res_state && i < nbuiltin; i++)
        if (vk_resources[i] == res)
            c.state = s->res_state[i];
    return c;
}

const vk_resource *vk_resource_find(const char *group, const char *version, const char *plural)
{
    for (const vk_resource *const *r = vk_resources; *r; r++)
        if (!strcmp((*r)->group, group) && !strcmp((*r)->version, version) &&
            !strcmp((*r)->plural, plural))
            return *r;
    return NULL;
}

void vk_errlist_add(vk_errlist *e, const char *type, const char *field, const char *message)
{
    if (!e->causes)
        e->causes = json_array();
    json_array_append_new(e->causes, json_pack("{s:s, s:s, s:s}", "reason", type, "message",
                                               message, "field", field));
}

void vk_err_required(vk_errlist *e, const char *field, const char *detail)
{
    char msg[512];
    snprintf(msg, sizeof msg, "Required value%s%s", detail && *detail ? ": " : "",
             detail ? detail : "");
    vk_errlist_add(e, "FieldValueRequired", field, msg);
}

void vk_err_invalid(vk_errlist *e, const char *field, const json_t *value, const char *detail)
{
    char *v = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);
    char msg[1024];
    snprintf(msg, sizeof msg, "Invalid value: %s%s%s", v ? v : "null", detail ? ": " : "",
             detail ? detail : "");
    free(v);
    vk_errlist_add(e, "FieldValueInvalid", field, msg);
}

const vk_subresource *vk_subresource_find(const vk_resource *res, const char *name)
{
    for (size_t i = 0; i < sizeof res->subresources / sizeof res->subresources[0]; i++)
        if (res->subresources[i].name && !strcmp(res->subresources[i].name, name))
            return &res->subresources[i];
    return NULL;
}

void vk_keep_all_but_status(json_t *obj, const json_t *old)
{
    /* What the old object has, except metadata and status. */
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)old, k, v)
    {
        if (strcmp(k, "metadata") && strcmp(k, "status") && strcmp(k, "kind") &&
            strcmp(k, "apiVersion"))
            json_object_set(obj, k, v);
    }
    /* ... and nothing the old object lacks. */
    void *tmp;
    json_object_foreach_safe(obj, tmp, k, v)
    {
        if (strcmp(k, "metadata") && strcmp(k, "status") && strcmp(k, "kind") &&
            strcmp(k, "apiVersion") && !json_object_get(old, k))
            json_object_del(obj, k);
    }
}
