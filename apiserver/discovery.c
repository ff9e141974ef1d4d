#include "apiserver/discovery.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <openssl/sha.h>
#include <string.h>

#include "apiserver/http/status.h"
#include "apiserver/registry/resource.h"
#include "apiserver/server.h"

/* base64 of the first 8 bytes of sha256("group/version/Kind"). */
static json_t *storage_version_hash(const vk_resource *res)
{
    char in[256];
    snprintf(in, sizeof in, "%s/%s/%s", res->group, res->version, res->kind);
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)in, strlen(in), d);
    unsigned char out[16];
    EVP_EncodeBlock(out, d, 8);
    return json_string((const char *)out);
}

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
        json_object_set_new(e, "storageVersionHash", storage_version_hash(r));
        json_array_append_new(list, e);
        for (size_t i = 0; i < sizeof r->subresources / sizeof r->subresources[0]; i++) {
            const vk_subresource *sub = &r->subresources[i];
            if (!sub->name)
                continue;
            char name[128];
            snprintf(name, sizeof name, "%s/%s", r->plural, sub->name);
            json_array_append_new(list, json_pack("{s:s, s:s, s:b, s:s, s:o}", "name", name,
                                                  "singularName", "", "namespaced",
                                                  (r->flags & VK_NAMESPACED) != 0, "kind", r->kind,
                                                  "verbs", string_array(sub->verbs, 4)));
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

void vk_discovery_handle(vk_req *r)
{
    vk_server *s = r->conn->server;
    char path[256];
    snprintf(path, sizeof path, "%s", r->path);
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        path[--n] = 0;
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
