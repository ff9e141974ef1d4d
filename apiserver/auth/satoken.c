/* Service account tokens (satoken.h). */
#include "apiserver/auth/satoken.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/auth/pki.h"
#include "apiserver/http/status.h"
#include "apiserver/registry/registry.h"
#include "apiserver/registry/resource.h"
#include "apiserver/server.h"
#include "common/buf.h"
#include "common/rand.h"
#include "storage/store.h"

#define LEEWAY_S 60 /* kube's clock skew allowance */

void vk_sa_issuer(const vk_server *s, char *out, size_t n)
{
    snprintf(out, n, "https://kubernetes.default.svc.%s",
             s->opts.cluster_domain ? s->opts.cluster_domain : "cluster.local");
}

/* ---- base64url ---- */

static char *b64url(const unsigned char *p, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    if (!out)
        return NULL;
    int len = EVP_EncodeBlock((unsigned char *)out, p, (int)n);
    while (len > 0 && out[len - 1] == '=')
        len--;
    out[len] = 0;
    for (char *c = out; *c; c++)
        *c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
    return out;
}

static unsigned char *unb64url(const char *s, size_t n, size_t *out_len)
{
    char *b = malloc(n + 4);
    unsigned char *out = malloc(n + 4);
    if (!b || !out) {
        free(b);
        free(out);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+' || c == '/' || c == '=') {
            free(b);
            free(out);
            return NULL;
        }
        b[i] = c == '-' ? '+' : c == '_' ? '/' : c;
    }
    size_t pad = (4 - n % 4) % 4;
    if (pad == 3) {
        free(b);
        free(out);
        return NULL;
    }
    for (size_t i = 0; i < pad; i++)
        b[n + i] = '=';
    int len = EVP_DecodeBlock(out, (unsigned char *)b, (int)(n + pad));
    free(b);
    if (len < 0 || (size_t)len < pad) {
        free(out);
        return NULL;
    }
    *out_len = (size_t)len - pad;
    return out;
}

/* kube's key id: base64url of the SHA-256 of the public key's DER. */
static char *key_id(EVP_PKEY *k)
{
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(k, &der);
    if (n <= 0)
        return NULL;
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256(der, (size_t)n, d);
    OPENSSL_free(der);
    return b64url(d, sizeof d);
}

/* ---- ES256 ---- */

static char *sign(EVP_PKEY *k, const char *input)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char der[128];
    size_t dl = sizeof der;
    int ok = ctx && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k) == 1 &&
             EVP_DigestSign(ctx, der, &dl, (const unsigned char *)input, strlen(input)) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return NULL;
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)dl);
    if (!sig)
        return NULL;
    unsigned char raw[64];
    const BIGNUM *r, *s;
    ECDSA_SIG_get0(sig, &r, &s);
    ok = BN_bn2binpad(r, raw, 32) == 32 && BN_bn2binpad(s, raw + 32, 32) == 32;
    ECDSA_SIG_free(sig);
    return ok ? b64url(raw, sizeof raw) : NULL;
}

static bool verify(EVP_PKEY *k, const char *input, size_t n, const unsigned char *raw, size_t rl)
{
    if (rl != 64)
        return false;
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, 32, NULL), *s = BN_bin2bn(raw + 32, 32, NULL);
    if (!sig || !r || !s || !ECDSA_SIG_set0(sig, r, s)) {
        ECDSA_SIG_free(sig);
        BN_free(r);
        BN_free(s);
        return false;
    }
    unsigned char *der = NULL;
    int dl = i2d_ECDSA_SIG(sig, &der);
    ECDSA_SIG_free(sig);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = dl > 0 && ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, k) == 1 &&
              EVP_DigestVerify(ctx, der, (size_t)dl, (const unsigned char *)input, n) == 1;
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    return ok;
}

/* ---- issue ---- */

char *vk_sa_token_issue(vk_server *s, const char *ns, const char *name, const char *sa_uid,
                        const json_t *audiences, long long seconds, const json_t *bound,
                        time_t *exp)
{
    EVP_PKEY *k = vk_pki_sa_key(s->pki);
    char *kid = k ? key_id(k) : NULL;
    if (!kid)
        return NULL;
    char issuer[300], sub[600], jti[37];
    vk_sa_issuer(s, issuer, sizeof issuer);
    snprintf(sub, sizeof sub, "system:serviceaccount:%s:%s", ns, name);
    vk_uuid4(jti);
    time_t now = time(NULL);
    *exp = now + (time_t)seconds;
    json_t *k8s = json_pack("{s:s, s:{s:s, s:s}}", "namespace", ns, "serviceaccount", "name", name,
                            "uid", sa_uid);
    const char *bkind = json_string_value(json_object_get(bound, "kind"));
    if (bkind) {
        char lower[16];
        snprintf(lower, sizeof lower, "%s",
                 !strcmp(bkind, "Pod")      ? "pod"
                 : !strcmp(bkind, "Secret") ? "secret"
                                            : "node");
        json_object_set_new(k8s, lower,
                            json_pack("{s:O, s:O}", "name", json_object_get(bound, "name"), "uid",
                                      json_object_get(bound, "uid")));
    }
    json_t *claims = json_pack("{s:O, s:I, s:I, s:s, s:s, s:o, s:I, s:s}", "aud", audiences, "exp",
                               (json_int_t)*exp, "iat", (json_int_t)now, "iss", issuer, "jti", jti,
                               "kubernetes.io", k8s, "nbf", (json_int_t)now, "sub", sub);
    json_t *header = json_pack("{s:s, s:s}", "alg", "ES256", "kid", kid);
    free(kid);
    char *hs = json_dumps(header, JSON_COMPACT), *cs = json_dumps(claims, JSON_COMPACT);
    json_decref(header);
    json_decref(claims);
    char *h64 = hs ? b64url((unsigned char *)hs, strlen(hs)) : NULL;
    char *c64 = cs ? b64url((unsigned char *)cs, strlen(cs)) : NULL;
    free(hs);
    free(cs);
    vk_buf b = {0};
    char *token = NULL;
    if (h64 && c64 && !vk_buf_printf(&b, "%s.%s", h64, c64)) {
        char *sig = sign(k, b.data);
        if (sig && !vk_buf_printf(&b, ".%s", sig))
            token = strdup(b.data);
        free(sig);
    }
    vk_buf_free(&b);
    free(h64);
    free(c64);
    return token;
}

/* ---- check ---- */

static json_t *read_object(vk_server *s, const char *plural, const char *ns, const char *name)
{
    return vk_registry_get(s, vk_resource_find("", "v1", plural), ns, name);
}

/* The object ref {name, uid} names exists in ns (cluster-scoped for nodes) with that
 * uid. */
static bool still_there(vk_server *s, const char *plural, const char *ns, const json_t *ref)
{
    json_t *o = read_object(s, plural, ns, json_string_value(json_object_get(ref, "name")));
    const char *uid = json_string_value(json_object_get(json_object_get(o, "metadata"), "uid"));
    const char *want = json_string_value(json_object_get(ref, "uid"));
    bool ok = o && uid && want && !strcmp(uid, want) &&
              !json_object_get(json_object_get(o, "metadata"), "deletionTimestamp");
    json_decref(o);
    return ok;
}

static bool has_audience(const json_t *aud, const char *a)
{
    if (json_is_string(aud))
        return !strcmp(json_string_value(aud), a);
    size_t i;
    json_t *x;
    json_array_foreach(aud, i, x)
    {
        if (json_is_string(x) && !strcmp(json_string_value(x), a))
            return true;
    }
    return false;
}

bool vk_sa_token_check(vk_server *s, const char *token, const json_t *want, json_t **user,
                       json_t **audiences)
{
    *user = *audiences = NULL;
    const char *d1 = strchr(token, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    if (!d1 || !d2 || strchr(d2 + 1, '.'))
        return false;
    EVP_PKEY *k = vk_pki_sa_key(s->pki);
    size_t sl, cl;
    unsigned char *sig = unb64url(d2 + 1, strlen(d2 + 1), &sl);
    bool ok = k && sig && verify(k, token, (size_t)(d2 - token), sig, sl);
    free(sig);
    unsigned char *cj = ok ? unb64url(d1 + 1, (size_t)(d2 - d1 - 1), &cl) : NULL;
    json_t *claims = cj ? json_loadb((const char *)cj, cl, 0, NULL) : NULL;
    free(cj);
    if (!claims)
        return false;
    char issuer[300];
    vk_sa_issuer(s, issuer, sizeof issuer);
    time_t now = time(NULL);
    json_t *aud = json_object_get(claims, "aud");
    json_t *met = json_array();
    if (json_array_size(want)) {
        size_t i;
        json_t *a;
        json_array_foreach(want, i, a)
        {
            if (json_is_string(a) && has_audience(aud, json_string_value(a)))
                json_array_append(met, a);
        }
    } else if (has_audience(aud, issuer)) {
        json_array_append_new(met, json_string(issuer));
    }
    json_t *k8s = json_object_get(claims, "kubernetes.io");
    const char *ns = json_string_value(json_object_get(k8s, "namespace"));
    json_t *sa = json_object_get(k8s, "serviceaccount");
    ok = json_array_size(met) &&
         !strcmp(json_string_value(json_object_get(claims, "iss")) ?: "", issuer) &&
         json_integer_value(json_object_get(claims, "exp")) + LEEWAY_S > now &&
         json_integer_value(json_object_get(claims, "nbf")) - LEEWAY_S <= now && ns &&
         still_there(s, "serviceaccounts", ns, sa);
    json_t *pod = json_object_get(k8s, "pod"), *secret = json_object_get(k8s, "secret");
    if (ok && pod)
        ok = still_there(s, "pods", ns, pod);
    if (ok && secret)
        ok = still_there(s, "secrets", ns, secret);
    if (ok) {
        char name[600], nsgroup[300], cred[80];
        snprintf(name, sizeof name, "system:serviceaccount:%s:%s", ns,
                 json_string_value(json_object_get(sa, "name")));
        snprintf(nsgroup, sizeof nsgroup, "system:serviceaccounts:%s", ns);
        snprintf(cred, sizeof cred, "JTI=%s",
                 json_string_value(json_object_get(claims, "jti")) ?: "");
        json_t *extra = json_object();
        if (json_string_value(json_object_get(claims, "jti")))
            json_object_set_new(extra, "authentication.kubernetes.io/credential-id",
                                json_pack("[s]", cred));
        if (pod) {
            json_object_set_new(extra, "authentication.kubernetes.io/pod-name",
                                json_pack("[O]", json_object_get(pod, "name")));
            json_object_set_new(extra, "authentication.kubernetes.io/pod-uid",
                                json_pack("[O]", json_object_get(pod, "uid")));
        }
        *user = json_pack("{s:s, s:O, s:[s, s], s:o}", "username", name, "uid",
                          json_object_get(sa, "uid"), "groups", "system:serviceaccounts", nsgroup,
                          "extra", extra);
        *audiences = json_incref(met);
    }
    json_decref(met);
    json_decref(claims);
    return ok;
}

bool vk_sa_authenticate(vk_server *s, vk_req *r)
{
    const char *auth = vk_req_header(r, "authorization");
    if (!auth || strncasecmp(auth, "bearer ", 7))
        return false;
    const char *tok = auth + 7;
    while (*tok == ' ')
        tok++;
    json_t *user, *aud;
    if (!vk_sa_token_check(s, tok, NULL, &user, &aud))
        return false;
    json_t *groups = json_object_get(user, "groups");
    const char **g = vk_arena_alloc(&r->arena, (json_array_size(groups) + 2) * sizeof *g);
    size_t i;
    json_t *x;
    json_array_foreach(groups, i, x)
    {
        if (g)
            g[i] = vk_arena_strdup(&r->arena, json_string_value(x));
    }
    if (g) {
        g[i++] = "system:authenticated";
        g[i] = NULL;
    }
    r->user.name = vk_arena_strdup(&r->arena, json_string_value(json_object_get(user, "username")));
    r->user.uid = vk_arena_strdup(&r->arena, json_string_value(json_object_get(user, "uid")));
    r->user.groups = g;
    json_decref(user);
    json_decref(aud);
    return g != NULL;
}

/* ---- OIDC discovery (kube's ServiceAccountIssuerDiscovery) ---- */

/* The public key as a JWK (kube's keys are EC P-256 here). */
static json_t *jwk(EVP_PKEY *k)
{
    BIGNUM *x = NULL, *y = NULL;
    json_t *out = NULL;
    unsigned char xb[32], yb[32];
    char *kid = key_id(k);
    if (kid && EVP_PKEY_get_bn_param(k, "qx", &x) && EVP_PKEY_get_bn_param(k, "qy", &y) &&
        BN_bn2binpad(x, xb, 32) == 32 && BN_bn2binpad(y, yb, 32) == 32) {
        char *xs = b64url(xb, 32), *ys = b64url(yb, 32);
        if (xs && ys)
            out = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "use", "sig", "kty", "EC", "kid",
                            kid, "crv", "P-256", "alg", "ES256", "x", xs, "y", ys);
        free(xs);
        free(ys);
    }
    BN_free(x);
    BN_free(y);
    free(kid);
    return out;
}

void vk_oidc_handle(vk_req *r)
{
    vk_server *s = r->conn->server;
    if (strcmp(r->method, "GET")) {
        vk_send_error(r, 405, "MethodNotAllowed", "the method is not allowed");
        return;
    }
    json_t *doc;
    const char *ctype;
    if (!strncmp(r->path, "/openid/v1/jwks", 15)) {
        json_t *key = jwk(vk_pki_sa_key(s->pki));
        doc = json_pack("{s:[o?]}", "keys", key);
        ctype = "application/jwk-set+json";
    } else {
        char issuer[300], jwks[400];
        vk_sa_issuer(s, issuer, sizeof issuer);
        snprintf(jwks, sizeof jwks, "%s/openid/v1/jwks", s->url);
        doc = json_pack("{s:s, s:s, s:[s], s:[s], s:[s]}", "issuer", issuer, "jwks_uri", jwks,
                        "response_types_supported", "id_token", "subject_types_supported", "public",
                        "id_token_signing_alg_values_supported", "ES256");
        ctype = "application/json";
    }
    char *body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!body) {
        vk_send_error(r, 500, "InternalError", "out of memory");
        return;
    }
    vk_resp_header(r, "cache-control", "public, max-age=3600");
    vk_resp_send(r, 200, ctype, body, strlen(body));
    free(body);
}
