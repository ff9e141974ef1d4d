#include "apiserver/auth/impersonate.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "apiserver/auth/authn.h"
#include "common/err.h"

#define SA_PREFIX    "system:serviceaccount:"
#define EXTRA_PREFIX "impersonate-extra-"

/* One thing the requester asks to act as, checked as verb "impersonate" on it. */
static bool may(const vk_rbac_source *src, vk_req *r, vk_reqinfo *ri, const char *group,
                const char *resource, const char *sub, const char *ns, const char *name)
{
    *ri = (vk_reqinfo){.is_resource = true,
                       .verb = "impersonate",
                       .api_prefix = "apis",
                       .group = group,
                       .version = "",
                       .resource = resource,
                       .subresource = sub,
                       .namespace_ = ns,
                       .name = name};
    return vk_authorize(src, &r->user, ri, r->path);
}

int vk_impersonate(const vk_rbac_source *src, vk_req *r, vk_reqinfo *denied, char *msg,
                   size_t msglen)
{
    const char *user = vk_req_header(r, "impersonate-user");
    const char *uid = vk_req_header(r, "impersonate-uid");
    size_t ngroups = 0, nextras = 0;
    for (size_t i = 0; i < r->nheaders; i++) {
        ngroups += !strcmp(r->headers[i].name, "impersonate-group");
        nextras += !strncmp(r->headers[i].name, EXTRA_PREFIX, strlen(EXTRA_PREFIX));
    }
    if (!user || !*user) {
        if (!ngroups && !nextras && !(uid && *uid))
            return 0;
        snprintf(msg, msglen, "requested %s without impersonating a user",
                 ngroups   ? "groups"
                 : nextras ? "user extras"
                           : "a uid");
        return VK_EINVALID;
    }

    /* The user, or the service account its name spells. */
    const char *colon =
        !strncmp(user, SA_PREFIX, strlen(SA_PREFIX)) ? strchr(user + strlen(SA_PREFIX), ':') : NULL;
    char *sa_ns = NULL;
    if (colon && colon[1] && colon > user + strlen(SA_PREFIX) && !strchr(colon + 1, ':')) {
        const char *ns = user + strlen(SA_PREFIX);
        sa_ns = vk_arena_strndup(&r->arena, ns, (size_t)(colon - ns));
        if (!sa_ns)
            return -ENOMEM;
        if (!may(src, r, denied, "", "serviceaccounts", "", sa_ns, colon + 1))
            return -EPERM;
    } else if (!may(src, r, denied, "", "users", "", "", user)) {
        return -EPERM;
    }

    /* Groups as given; a service account without them gets its fixed ones. Room for
     * those two and system:authenticated or system:unauthenticated. */
    const char **groups = vk_arena_alloc(&r->arena, (ngroups + 4) * sizeof *groups);
    if (!groups)
        return -ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < r->nheaders; i++) {
        const vk_header *h = &r->headers[i];
        if (!strcmp(h->name, "impersonate-group")) {
            if (!may(src, r, denied, "", "groups", "", "", h->value))
                return -EPERM;
            groups[n++] = h->value;
        } else if (!strncmp(h->name, EXTRA_PREFIX, strlen(EXTRA_PREFIX)) &&
                   !may(src, r, denied, "authentication.k8s.io", "userextras",
                        h->name + strlen(EXTRA_PREFIX), "", h->value)) {
            return -EPERM;
        }
    }
    if (uid && *uid && !may(src, r, denied, "authentication.k8s.io", "uids", "", "", uid))
        return -EPERM;
    if (sa_ns && !ngroups) {
        groups[n++] = "system:serviceaccounts";
        char *g = vk_arena_alloc(&r->arena, strlen("system:serviceaccounts:") + strlen(sa_ns) + 1);
        if (!g)
            return -ENOMEM;
        sprintf(g, "system:serviceaccounts:%s", sa_ns);
        groups[n++] = g;
    }
    groups[n] = NULL;
    /* Everyone but system:anonymous is authenticated, unless the groups say otherwise. */
    bool anonymous = !strcmp(user, "system:anonymous");
    vk_user u = {user, uid && *uid ? uid : "", groups};
    if (!vk_user_in_group(&u, "system:unauthenticated") &&
        (anonymous || !vk_user_in_group(&u, "system:authenticated")))
        groups[n++] = anonymous ? "system:unauthenticated" : "system:authenticated";
    groups[n] = NULL;
    r->user = u;
    return 0;
}
