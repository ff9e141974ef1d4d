/* authentication.k8s.io/v1 TokenReview: whether the server's bearer-token authenticator
 * takes spec.token, and as whom; answered and never stored. As kube's: the audiences
 * asked (or the API's own, the service account issuer) must meet the API's, which the
 * static tokens are valid for; a token that is not taken is "invalid bearer token". */
#include <stdio.h>
#include <string.h>

#include "apiserver/auth/authn.h"
#include "apiserver/auth/satoken.h"
#include "apiserver/registry/resource.h"
#include "apiserver/resources/rules.h"
#include "apiserver/server.h"

static void review(vk_ctx *c, const vk_req *r, json_t *obj, vk_errlist *errs)
{
    char issuer[300];
    snprintf(issuer, sizeof issuer, "https://kubernetes.default.svc.%s",
             c->s && c->s->opts.cluster_domain ? c->s->opts.cluster_domain : "cluster.local");
    json_t *asked = vk_at(obj, "spec.audiences");
    bool meets = !json_array_size(asked);
    size_t i;
    json_t *a;
    json_array_foreach(asked, i, a)
    {
        meets |= json_is_string(a) && !strcmp(json_string_value(a), issuer);
    }
    json_t *status = json_object();
    json_object_set_new(obj, "status", status);
    json_t *sa_user, *sa_aud;
    if (c->s && vk_sa_token_check(c->s, vk_str_at(obj, "spec.token"), asked, &sa_user, &sa_aud)) {
        json_array_append_new(json_object_get(sa_user, "groups"),
                              json_string("system:authenticated"));
        json_object_set_new(status, "authenticated", json_true());
        json_object_set_new(status, "user", sa_user);
        json_object_set_new(status, "audiences", sa_aud);
        return;
    }
    const char *user, *uid;
    const char *const *groups;
    if (!meets) {
        /* the static tokens are not for these audiences: not taken, without an error */
        json_object_set_new(status, "user", json_object());
        return;
    }
    if (!vk_tokens_lookup(c->s ? c->s->tokens : NULL, vk_str_at(obj, "spec.token"), &user, &uid,
                          &groups)) {
        json_object_set_new(status, "user", json_object());
        json_object_set_new(status, "error", json_string("invalid bearer token"));
        return;
    }
    json_t *info = json_pack("{s:s}", "username", user);
    if (uid && *uid)
        json_object_set_new(info, "uid", json_string(uid));
    json_t *g = json_array();
    for (const char *const *p = groups; p && *p; p++)
        json_array_append_new(g, json_string(*p));
    json_array_append_new(g, json_string("system:authenticated"));
    json_object_set_new(info, "groups", g);
    json_object_set_new(status, "authenticated", json_true());
    json_object_set_new(status, "user", info);
    json_object_set_new(status, "audiences", json_pack("[s]", issuer));
}

const vk_resource vk_res_tokenreviews = {
    .group = "authentication.k8s.io",
    .version = "v1",
    .plural = "tokenreviews",
    .review = review,
};
