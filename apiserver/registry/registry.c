#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/registry/resource.h"
#include "apiserver/server.h"

/* One declaration a line, so adding a resource is adding two lines. */
extern const vk_resource vk_res_configmaps;
extern const vk_resource vk_res_endpoints;
extern const vk_resource vk_res_events;
extern const vk_resource vk_res_namespaces;
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
extern const vk_resource vk_res_localsubjectaccessreviews;
extern const vk_resource vk_res_selfsubjectaccessreviews;
extern const vk_resource vk_res_selfsubjectrulesreviews;
extern const vk_resource vk_res_subjectaccessreviews;

/* Every served resource, one line each, in discovery order. */
const vk_resource *const vk_resources[] = {
    &vk_res_configmaps,                /* */
    &vk_res_endpoints,                 /* */
    &vk_res_events,                    /* */
    &vk_res_namespaces,                /* */
    &vk_res_pods,                      /* */
    &vk_res_secrets,                   /* */
    &vk_res_serviceaccounts,           /* */
    &vk_res_services,                  /* */
    &vk_res_leases,                    /* coordination.k8s.io */
    &vk_res_endpointslices,            /* discovery.k8s.io */
    &vk_res_selfsubjectreviews,        /* authentication.k8s.io */
    &vk_res_localsubjectaccessreviews, /* authorization.k8s.io */
    &vk_res_selfsubjectaccessreviews,  /* */
    &vk_res_selfsubjectrulesreviews,   /* */
    &vk_res_subjectaccessreviews,      /* */
    &vk_res_clusterrolebindings,       /* rbac.authorization.k8s.io */
    &vk_res_clusterroles,              /* */
    &vk_res_rolebindings,              /* */
    &vk_res_roles,                     /* */
    NULL,
};

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
    vk_ctx c = {.s = s};
    for (size_t i = 0; s->res_state && vk_resources[i]; i++)
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
