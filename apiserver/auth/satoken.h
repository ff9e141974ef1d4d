/* Service account tokens as kube-apiserver issues and checks them: JWTs signed ES256
 * with the PKI's service-account key (kid: base64url SHA-256 of its public key),
 * issuer and default audience https://kubernetes.default.svc.<cluster domain>, kube's
 * claims (iss, sub, aud, exp, nbf, iat, jti, and kubernetes.io with the namespace, the
 * service account and the object the token is bound to). A token is taken only while
 * its service account, and the pod or secret it is bound to, still exist with the uids
 * it names. Loop thread only. */
#ifndef VK_AUTH_SATOKEN_H
#define VK_AUTH_SATOKEN_H

#include <jansson.h>
#include <stdbool.h>
#include <time.h>

#include "apiserver/http/req.h"

struct vk_server;

/* The issuer (and the API's audience) of s's tokens, into out. */
void vk_sa_issuer(const struct vk_server *s, char *out, size_t n);

/* Signs a token for service account ns/name (uid sa_uid) with audiences (a JSON array
 * of strings), valid for seconds from now, bound to bound ({kind, name, uid}, kind Pod,
 * Secret or Node) when not NULL. A malloc'd token, and its expiry in *exp; NULL when
 * signing failed. */
char *vk_sa_token_issue(struct vk_server *s, const char *ns, const char *name, const char *sa_uid,
                        const json_t *audiences, long long seconds, const json_t *bound,
                        time_t *exp);

/* Checks token: signature, issuer, times, an audience among want (NULL: the API's),
 * the service account and bound objects as they are stored now. Fills the user kube's
 * authenticator makes of it (username, uid, groups without system:authenticated,
 * extra) and the audiences it met, as new objects. false when the token is not one of
 * ours or no longer valid. */
bool vk_sa_token_check(struct vk_server *s, const char *token, const json_t *want, json_t **user,
                       json_t **audiences);

/* Authenticates r when its bearer token is a valid service account token (user strings
 * in r's arena). true when it was one. */
bool vk_sa_authenticate(struct vk_server *s, vk_req *r);

/* GET /.well-known/openid-configuration and /openid/v1/jwks: the issuer's OIDC
 * discovery document and its public key (kube's ServiceAccountIssuerDiscovery). */
void vk_oidc_handle(vk_req *r);

#endif
