#include "apiserver/discovery.h"

#include <stdio.h>
#include <openssl/sha.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/http/status.h"
#include "apiserver/registry/resource.h"
#include "apiserver/server.h"

static json_t *string_array(const char *const *v, size_t max)
{
    json_t *a = json_array();
    for (size_t i = 0; i < max && v[i]; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static json_t *resource_list(const char *group, const char *version)
{
    json_t *list = json_array();
    for (const vk_resource *const *p = vk_resources; *p; p++) {
        const vk_resource *r = *p;
        if (strcmp(r->group, group) || strcmp(r->version, version))
            continue;
        json_t *e = json_pack("{s:s, s:s, s:b, s:s, s:o}", "name", r->plural, "singularName",
                              r->singular, "namespaced", (r->flags & VK_NAMESPACED) != 0, "kind",
                              r->kind, "verbs", string_array(r->verbs, 10));
        if (r->short_names[0])
            json_object_set_new(e, "shortNames", string_array(r->short_names, 4));
        if (r->categories[0])
            json_object_set_new(e, "categories", string_array(r->categories, 4));
        if (*r->storage_hash)
            json_object_set_new(e, "storageVersionHash", json_string(r->storage_hash));
        json_array_append_new(list, e);
        for (const vk_subresource *sub = r->subresources; sub->name; sub++) {
            char name[128];
            snprintf(name, sizeof name, "%s/%s", r->plural, sub->name);
            json_t *se = json_pack("{s:s, s:s, s:b}", "name", name, "singularName", "",
                                   "namespaced", (r->flags & VK_NAMESPACED) != 0);
            /* group and version only where the answer is of another group-version. */
            if (strcmp(sub->group, r->group) || strcmp(sub->version, r->version)) {
                json_object_set_new(se, "group", json_string(sub->group));
                json_object_set_new(se, "version", json_string(sub->version));
            }
            json_object_set_new(se, "kind", json_string(sub->kind));
            json_object_set_new(se, "verbs", string_array(sub->verbs, 8));
            json_array_append_new(list, se);
        }
    }
    if (!json_array_size(list)) {
        json_decref(list);
        return NULL;
    }
    char gv[128];
    snprintf(gv, sizeof gv, "%s%s%s", group, *group ? "/" : "", version);
    json_t *doc = json_pack("{s:s}", "kind", "APIResourceList");
    /* The core group is written without apiVersion (kube's strip-version encoder). */
    if (*group)
        json_object_set_new(doc, "apiVersion", json_string("v1"));
    json_object_set_new(doc, "groupVersion", json_string(gv));
    json_object_set_new(doc, "resources", list);
    return doc;
}

static json_t *group_entry(const char *group)
{
    json_t *versions = json_array();
    for (const vk_resource *const *p = vk_resources; *p; p++) {
        if (strcmp((*p)->group, group))
            continue;
        bool seen = false;
        size_t i;
        json_t *v;
        json_array_foreach(versions, i, v) seen |=
            !strcmp(json_string_value(json_object_get(v, "version")), (*p)->version);
        if (seen)
            continue;
        char gv[128];
        snprintf(gv, sizeof gv, "%s/%s", group, (*p)->version);
        json_array_append_new(
            versions, json_pack("{s:s, s:s}", "groupVersion", gv, "version", (*p)->version));
    }
    if (!json_array_size(versions)) {
        json_decref(versions);
        return NULL;
    }
    return json_pack("{s:s, s:o, s:O}", "name", group, "versions", versions, "preferredVersion",
                     json_array_get(versions, 0));
}

static void send_doc(vk_req *r, json_t *doc)
{
    if (!doc) {
        vk_send_not_found(r);
        return;
    }
    vk_send_json(r, 200, doc, vk_want_pretty(r));
    json_decref(doc);
}

/* ---- aggregated discovery (apidiscovery.k8s.io/v2) ---- */

#define AGGREGATED_JSON "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

/* True when an Accept clause asks for the v2 aggregated document as JSON before any
 * clause that legacy discovery would satisfy (clients list it first). */
static bool wants_aggregated(const char *accept)
{
    for (const char *p = accept; p && *p;) {
        size_t l = strcspn(p, ",");
        char clause[512];
        snprintf(clause, sizeof clause, "%.*s", (int)(l < 511 ? l : 511), p);
        bool json = strstr(clause, "application/json") != NULL;
        if (json && strstr(clause, "as=APIGroupDiscoveryList") &&
            strstr(clause, "g=apidiscovery.k8s.io") && strstr(clause, "v=v2") &&
            !strstr(clause, "v=v2beta1"))
            return true;
        if (json && !strstr(clause, "as="))
            return false;
        p += l + (p[l] == ',');
    }
    return false;
}

/* responseKind {group, version, kind}; the fields carry no omitempty, and group and
 * version are empty unless the answer is of another group-version than the resource's
 * (kube converts its legacy entries). */
static json_t *response_kind(const vk_resource *r, const char *group, const char *version,
                             const char *kind)
{
    bool same = !strcmp(group, r->group) && !strcmp(version, r->version);
    return json_pack("{s:s, s:s, s:s}", "group", same ? "" : group, "version", same ? "" : version,
                     "kind", kind);
}

/* One group's APIGroupDiscovery, in the Go structs' key order. */
static json_t *group_discovery(const char *group)
{
    json_t *versions = json_array();
    for (const vk_resource *const *p = vk_resources; *p; p++) {
        const vk_resource *r = *p;
        if (strcmp(r->group, group))
            continue;
        json_t *ver = NULL;
        size_t i;
        json_t *v;
        json_array_foreach(
            versions, i,
            v) if (!strcmp(json_string_value(json_object_get(v, "version")), r->version)) ver = v;
        if (!ver) {
            ver = json_pack("{s:s, s:[], s:s}", "version", r->version, "resources", "freshness",
                            "Current");
            json_array_append_new(versions, ver);
        }
        json_t *e = json_pack("{s:s, s:o, s:s, s:s, s:o}", "resource", r->plural, "responseKind",
                              response_kind(r, r->group, r->version, r->kind), "scope",
                              (r->flags & VK_NAMESPACED) ? "Namespaced" : "Cluster",
                              "singularResource", r->singular, "verbs", string_array(r->verbs, 10));
        if (r->short_names[0])
            json_object_set_new(e, "shortNames", string_array(r->short_names, 4));
        if (r->categories[0])
            json_object_set_new(e, "categories", string_array(r->categories, 4));
        json_t *subs = json_array();
        for (const vk_subresource *sub = r->subresources; sub->name; sub++)
            json_array_append_new(
                subs, json_pack("{s:s, s:o, s:o}", "subresource", sub->name, "responseKind",
                                response_kind(r, sub->group, sub->version, sub->kind), "verbs",
                                string_array(sub->verbs, 8)));
        if (json_array_size(subs))
            json_object_set_new(e, "subresources", subs);
        else
            json_decref(subs);
        json_array_append_new(json_object_get(ver, "resources"), e);
    }
    json_t *meta = *group ? json_pack("{s:s}", "name", group) : json_object();
    return json_pack("{s:o, s:o}", "metadata", meta, "versions", versions);
}

/* GET /api or /apis as an APIGroupDiscoveryList, with kube's caching headers. */
static void send_aggregated(vk_req *r, bool core)
{
    json_t *items = json_array();
    if (core) {
        json_array_append_new(items, group_discovery(""));
    } else {
        for (const vk_resource *const *p = vk_resources; *p; p++) {
            bool seen = !*(*p)->group;
            for (const vk_resource *const *q = vk_resources; q < p && !seen; q++)
                seen = !strcmp((*q)->group, (*p)->group);
            if (!seen)
                json_array_append_new(items, group_discovery((*p)->group));
        }
    }
    json_t *doc = json_pack("{s:s, s:s, s:{}, s:o}", "kind", "APIGroupDiscoveryList", "apiVersion",
                            "apidiscovery.k8s.io/v2", "metadata", "items", items);
    char *body = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (!body) {
        vk_send_error(r, 500, "InternalError", "out of memory");
        return;
    }
    unsigned char d[SHA512_DIGEST_LENGTH];
    SHA512((const unsigned char *)body, strlen(body), d);
    char etag[2 * SHA512_DIGEST_LENGTH + 3];
    etag[0] = '"';
    for (size_t i = 0; i < SHA512_DIGEST_LENGTH; i++)
        snprintf(etag + 1 + 2 * i, 3, "%02X", d[i]);
    etag[1 + 2 * SHA512_DIGEST_LENGTH] = '"';
    etag[2 + 2 * SHA512_DIGEST_LENGTH] = 0;
    vk_resp_header(r, "etag", etag);
    vk_resp_header(r, "vary", "Accept");
    vk_resp_header_set(r, "cache-control", "public");
    const char *inm = vk_req_header(r, "if-none-match");
    if (inm && !strcmp(inm, etag)) {
        vk_resp_send(r, 304, NULL, NULL, 0);
    } else {
        size_t n = strlen(body);
        body[n] = '\n';
        vk_resp_send(r, 200, AGGREGATED_JSON, body, n + 1);
    }
    free(body);
}

void vk_discovery_handle(vk_req *r)
{
    vk_server *s = r->conn->server;
    char path[256];
    snprintf(path, sizeof path, "%s", r->path);
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        path[--n] = 0;
    if ((!strcmp(path, "/api") || !strcmp(path, "/apis")) &&
        wants_aggregated(vk_req_header(r, "accept"))) {
        send_aggregated(r, !strcmp(path, "/api"));
        return;
    }
    if (!strcmp(path, "/api")) {
        const char *host = strstr(s->url, "://");
        send_doc(r, json_pack("{s:s, s:[s], s:[{s:s, s:s}]}", "kind", "APIVersions", "versions",
                              "v1", "serverAddressByClientCIDRs", "clientCIDR", "0.0.0.0/0",
                              "serverAddress", host ? host + 3 : s->url));
        return;
    }
    if (!strncmp(path, "/api/", 5) && !strchr(path + 5, '/')) {
        send_doc(r, resource_list("", path + 5));
        return;
    }
    if (!strcmp(path, "/apis")) {
        json_t *groups = json_array();
        for (const vk_resource *const *p = vk_resources; *p; p++) {
            const char *g = (*p)->group;
            bool seen = !*g;
            size_t i;
            json_t *v;
            json_array_foreach(groups, i, v) seen |=
                !strcmp(json_string_value(json_object_get(v, "name")), g);
            if (!seen)
                json_array_append_new(groups, group_entry(g));
        }
        send_doc(r, json_pack("{s:s, s:s, s:o}", "kind", "APIGroupList", "apiVersion", "v1",
                              "groups", groups));
        return;
    }
    if (!strncmp(path, "/apis/", 6)) {
        const char *g = path + 6;
        const char *slash = strchr(g, '/');
        if (!slash) {
            json_t *e = group_entry(g);
            if (e) {
                json_t *doc = json_pack("{s:s, s:s}", "kind", "APIGroup", "apiVersion", "v1");
                json_object_update(doc, e);
                json_decref(e);
                e = doc;
            }
            send_doc(r, e);
            return;
        }
        char group[128];
        snprintf(group, sizeof group, "%.*s", (int)(slash - g), g);
        if (!strchr(slash + 1, '/')) {
            send_doc(r, resource_list(group, slash + 1));
            return;
        }
    }
    vk_send_not_found(r);
}
