/* authorization.k8s.io/v1 SubjectAccessReview, LocalSubjectAccessReview and
 * SelfSubjectAccessReview, and SelfSubjectRulesReview: create-only kinds answered by
 * the authorizer and never stored, with kube's validation of their spec. `kubectl auth
 * can-i` is a SelfSubjectAccessReview, `kubectl auth can-i --list` a rules review. */
#include <stdlib.h>
#include <string.h>

#include "apiserver/auth/authn.h"
#include "apiserver/auth/rbac.h"
#include "apiserver/registry/resource.h"

typedef enum { SELF, CLUSTER, LOCAL } review_kind;

static const char *str(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

/* kube's ValidateSubjectAccessReviewSpec and its Self and Local variants. */
static void validate(review_kind kind, const json_t *obj, vk_errlist *errs)
{
    const json_t *spec = json_object_get(obj, "spec");
    const json_t *ra = json_object_get(spec, "resourceAttributes");
    const json_t *na = json_object_get(spec, "nonResourceAttributes");
    if (ra && na)
        vk_err_invalid(errs, "spec.nonResourceAttributes", na,
                       "cannot be specified in combination with resourceAttributes");
    else if (!ra && !na)
        vk_err_invalid(errs, "spec.resourceAttributes", json_null(),
                       "exactly one of nonResourceAttributes or resourceAttributes must be "
                       "specified");
    if (kind != SELF && !*str(spec, "user") && !json_array_size(json_object_get(spec, "groups"))) {
        json_t *empty = json_string("");
        vk_err_invalid(errs, "spec.user", empty, "at least one of user or group must be specified");
        json_decref(empty);
    }
    if (kind == LOCAL) {
        const char *ns = str(json_object_get(obj, "metadata"), "namespace");
        if (ra && strcmp(str(ra, "namespace"), ns))
            vk_err_invalid(errs, "spec.resourceAttributes.namespace",
                           json_object_get(ra, "namespace"), "must match metadata.namespace");
        if (na)
            vk_err_invalid(errs, "spec.nonResourceAttributes", na,
                           "disallowed on this kind of request");
    }
}

static void review(review_kind kind, vk_ctx *c, const vk_req *r, json_t *obj, vk_errlist *errs)
{
    validate(kind, obj, errs);
    if (errs->causes)
        return;
    const json_t *spec = json_object_get(obj, "spec");
    const json_t *ra = json_object_get(spec, "resourceAttributes");
    const json_t *na = json_object_get(spec, "nonResourceAttributes");
    const json_t *groups = json_object_get(spec, "groups");
    const char **g = calloc(json_array_size(groups) + 1, sizeof *g);
    if (!g)
        return;
    for (size_t i = 0; i < json_array_size(groups); i++)
        g[i] = json_string_value(json_array_get(groups, i))
                   ? json_string_value(json_array_get(groups, i))
                   : "";
    vk_user subject = {str(spec, "user"), str(spec, "uid"), g};
    /* A self review asks about the requester, as authenticated. */
    const vk_user *u = kind == SELF ? &r->user : &subject;
    vk_reqinfo ri = {
        .is_resource = ra != NULL,
        .verb = str(ra ? ra : na, "verb"),
        .group = str(ra, "group"),
        .version = str(ra, "version"),
        .resource = str(ra, "resource"),
        .subresource = str(ra, "subresource"),
        .namespace_ = str(ra, "namespace"),
        .name = str(ra, "name"),
    };
    char why[512] = "";
    vk_rbac_source policy = vk_rbac_store(c->s);
    bool allowed = vk_user_in_group(u, "system:masters") ||
                   vk_rbac_decide(&policy, u, &ri, str(na, "path"), why, sizeof why);
    json_t *status = json_pack("{s:b}", "allowed", allowed);
    if (*why)
        json_object_set_new(status, "reason", json_string(why));
    json_object_set_new(obj, "status", status);
    free(g);
}

static void review_self(vk_ctx *c, const vk_req *r, json_t *obj, vk_errlist *errs)
{
    review(SELF, c, r, obj, errs);
}

static void review_cluster(vk_ctx *c, const vk_req *r, json_t *obj, vk_errlist *errs)
{
    review(CLUSTER, c, r, obj, errs);
}

static void review_local(vk_ctx *c, const vk_req *r, json_t *obj, vk_errlist *errs)
{
    review(LOCAL, c, r, obj, errs);
}

/* SelfSubjectRulesReview: the rules that apply to the requester in spec.namespace, split
 * into resource and non-resource rules as kube lists them. */
static void review_rules(vk_ctx *c, const vk_req *r, json_t *obj, vk_errlist *errs)
{
    const char *ns = str(json_object_get(obj, "spec"), "namespace");
    vk_rbac_source policy = vk_rbac_store(c->s);
    json_t *rules = vk_rbac_rules(&policy, &r->user, ns);
    json_t *res = json_array(), *urls = json_array();
    size_t i;
    json_t *rule;
    json_array_foreach(rules, i, rule)
    {
        bool nonres = json_array_size(json_object_get(rule, "nonResourceURLs")) > 0;
        json_t *out = json_object();
        static const char *const res_fields[] = {"verbs", "apiGroups", "resources", "resourceNames",
                                                 NULL};
        static const char *const url_fields[] = {"verbs", "nonResourceURLs", NULL};
        for (const char *const *f = nonres ? url_fields : res_fields; *f; f++)
            if (json_object_get(rule, *f))
                json_object_set(out, *f, json_object_get(rule, *f));
        json_array_append_new(nonres ? urls : res, out);
    }
    json_decref(rules);
    json_object_set_new(obj, "status",
                        json_pack("{s:o, s:o, s:b}", "resourceRules", res, "nonResourceRules", urls,
                                  "incomplete", 0));
}

const vk_resource vk_res_selfsubjectrulesreviews = {
    .group = "authorization.k8s.io",
    .version = "v1",
    .plural = "selfsubjectrulesreviews",
    .review = review_rules,
};

const vk_resource vk_res_selfsubjectaccessreviews = {
    .group = "authorization.k8s.io",
    .version = "v1",
    .plural = "selfsubjectaccessreviews",
    .review = review_self,
};

const vk_resource vk_res_subjectaccessreviews = {
    .group = "authorization.k8s.io",
    .version = "v1",
    .plural = "subjectaccessreviews",
    .review = review_cluster,
};

const vk_resource vk_res_localsubjectaccessreviews = {
    .group = "authorization.k8s.io",
    .version = "v1",
    .plural = "localsubjectaccessreviews",
    .review = review_local,
};
