/* Authentication of requests (authorization: auth/rbac.h).
 *
 * Authenticators, in kube's order: the verified client certificate (user = CN,
 * groups = O), then a bearer token from the static token file. A request that offers
 * no credentials is system:anonymous in system:unauthenticated. A request whose
 * bearer token matches nothing is refused (401). Authenticated users also get
 * system:authenticated. */
#ifndef VK_AUTH_AUTHN_H
#define VK_AUTH_AUTHN_H

#include <stdbool.h>
#include <stddef.h>

#include "apiserver/http/req.h"
#include "apiserver/http/reqinfo.h"

typedef struct vk_tokens vk_tokens;

/* Loads kube's static token file: CSV lines token,user,uid[,"group1,group2"].
 * Returns 0, or negative with a message (naming the line) in err. */
int vk_tokens_load(const char *path, vk_tokens **out, char *err, size_t errlen);
/* Parses the same format from memory (for tests). */
int vk_tokens_parse(const char *text, size_t len, vk_tokens **out, char *err, size_t errlen);
void vk_tokens_free(vk_tokens *t);

/* The static token file's entry for token (constant-time compare): its user, uid and
 * groups (NULL-terminated, without system:authenticated). false when none. */
bool vk_tokens_lookup(const vk_tokens *t, const char *token, const char **user, const char **uid,
                      const char *const **groups);

/* Fills r->user. 0, or VK_EINVALID when the credentials offered are not valid (401).
 * tokens may be NULL. */
int vk_authenticate(vk_req *r, const vk_tokens *tokens);

/* A copy of u that outlives its request (NULL when out of memory), and its free. */
vk_user *vk_user_dup(const vk_user *u);
void vk_user_free(vk_user *u);

/* True when the user is in group g. */
bool vk_user_in_group(const vk_user *u, const char *g);

#endif
