/* Impersonation, as kube's WithImpersonation filter does it: Impersonate-User,
 * Impersonate-Group (repeated), Impersonate-Uid and Impersonate-Extra-<key> headers make
 * the request act as another user, once the requester may "impersonate" each of them
 * (users, groups and serviceaccounts in API group "", uids and userextras in
 * authentication.k8s.io). */
#ifndef VK_AUTH_IMPERSONATE_H
#define VK_AUTH_IMPERSONATE_H

#include <stddef.h>

#include "apiserver/auth/rbac.h"
#include "apiserver/http/req.h"
#include "apiserver/http/reqinfo.h"

/* Replaces r->user with the impersonated user when r asks for one. Returns 0 (also when
 * it does not ask); VK_EINVALID when groups, a uid or extras come without a user (msg
 * says so; kube answers 500); or -EPERM with *denied the check that failed (a 403
 * naming the requester). Strings live in r's arena. */
int vk_impersonate(const vk_rbac_source *src, vk_req *r, vk_reqinfo *denied, char *msg,
                   size_t msglen);

#endif
