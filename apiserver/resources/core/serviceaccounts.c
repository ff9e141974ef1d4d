/* core/v1 ServiceAccount: no rules beyond the generic ones; kube's printer; and the
 * token subresource (kube's TokenRequest REST): a signed service account token
 * (auth/satoken.c) for the audiences asked (the API's by default), for
 * expirationSeconds (one hour by default, ten minutes at least), bound to a Pod,
 * Secret or Node that exists with the uid given. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apiserver/auth/satoken.h"
#include "apiserver/http/status.h"
#include "apiserver/registry/common.h"
#include "apiserver/registry/internal.h"
#include "apiserver/registry/registry.h"
#include "apiserver/registry/resource.h"
#include "apiserver/resources/rules.h"
#include "apiserver/server.h"
#include "common/err.h"
#include "common/timefmt.h"
#include "storage/store.h"

static json_t *cell_secrets(const json_t *o)
{
    return json_integer((json_int_t)json_array_size(json_object_get(o, "secrets")));
}

static json_t *read_object(vk_server *s, const char *plural, const char *ns, const char *name)
{
    return vk_registry_get(s, vk_resource_find("", "v1", plural), ns, name);
}

static void request_token(vk_ctx *c, const char *ns, const char *name, json_t *body, bool dry_run,
                          void (*cb)(void *ud, int err, json_t *reply), void *ud)
{
    const vk_resource *sa_res = vk_resource_find("", "v1", "serviceaccounts");
    json_t *spec = json_object_get(body, "spec");
    if (!json_is_object(spec))
        json_object_set_new(body, "spec", spec = json_object());
    char issuer[300];
    vk_sa_issuer(c->s, issuer, sizeof issuer);
    if (!json_array_size(json_object_get(spec, "audiences")))
        json_object_set_new(spec, "audiences", json_pack("[s]", issuer));
    json_t *es = json_object_get(spec, "expirationSeconds");
    if (!json_is_integer(es))
        json_object_set_new(spec, "expirationSeconds", es = json_integer(3600));
    vk_errlist errs = {0};
    if (json_integer_value(es) < 600)
        vk_err_invalid(&errs, "spec.expirationSeconds", es,
                       "may not specify a duration less than 10 minutes");
    else if (json_integer_value(es) > ((json_int_t)1 << 32))
        vk_err_invalid(&errs, "spec.expirationSeconds", es,
                       "may not specify a duration larger than 2^32 seconds");
    json_t *bound = json_object_get(spec, "boundObjectRef");
    if (!json_is_object(bound))
        bound = NULL;
    const char *bkind = vk_str_at(bound, "kind");
    static const char *const kinds[] = {"Pod", "Secret", "Node", NULL};
    if (bound && strcmp(bkind, "Pod") && strcmp(bkind, "Secret") && strcmp(bkind, "Node"))
        vk_err_not_supported(&errs, "spec.boundObjectRef.kind", bkind, kinds);
    if (errs.causes) {
        const vk_resource fake = {.group = "authentication.k8s.io", .kind = "TokenRequest"};
        json_t *st = vk_reg_invalid(&fake, name, &errs);
        json_decref(errs.causes);
        json_decref(body);
        cb(ud, VK_EINVALID, st);
        return;
    }
    json_t *sa = read_object(c->s, "serviceaccounts", ns, name);
    if (!sa) {
        json_decref(body);
        cb(ud, VK_ENOTFOUND, vk_reg_status(sa_res, VK_ENOTFOUND, name));
        return;
    }
    json_t *ref = NULL;
    if (bound) {
        const char *plural = !strcmp(bkind, "Pod")      ? "pods"
                             : !strcmp(bkind, "Secret") ? "secrets"
                                                        : "nodes";
        json_t *o =
            read_object(c->s, plural, !strcmp(bkind, "Node") ? "" : ns, vk_str_at(bound, "name"));
        const char *uid = vk_str_at(o, "metadata.uid");
        const char *want = vk_str_at(bound, "uid");
        if (!o || (*want && strcmp(want, uid))) {
            char msg[600];
            snprintf(msg, sizeof msg, "%s \"%s\" not found", plural, vk_str_at(bound, "name"));
            json_decref(o);
            json_decref(sa);
            json_decref(body);
            cb(ud, VK_ENOTFOUND,
               vk_status_new(404, "NotFound", msg,
                             vk_status_details(vk_str_at(bound, "name"), "", plural)));
            return;
        }
        ref = json_pack("{s:s, s:s, s:s}", "kind", bkind, "name", vk_str_at(bound, "name"), "uid",
                        uid);
        json_decref(o);
    }
    time_t exp = 0;
    char *token =
        vk_sa_token_issue(c->s, ns, name, vk_str_at(sa, "metadata.uid"),
                          json_object_get(spec, "audiences"), json_integer_value(es), ref, &exp);
    json_decref(ref);
    json_decref(sa);
    if (!token) {
        json_decref(body);
        cb(ud, -EIO, vk_status_new(500, "InternalError", "failed to sign the token", NULL));
        return;
    }
    char now[21], until[21];
    vk_time_format(time(NULL), now);
    vk_time_format(exp, until);
    json_t *reply = json_pack("{s:s, s:s, s:{s:s, s:s, s:s}, s:O, s:{s:s, s:s}}", "kind",
                              "TokenRequest", "apiVersion", "authentication.k8s.io/v1", "metadata",
                              "name", name, "namespace", ns, "creationTimestamp", now, "spec", spec,
                              "status", "token", token, "expirationTimestamp", until);
    free(token);
    json_decref(body);
    cb(ud, 0, reply);
}

static const vk_column columns[] = {
    {"Name", "string", "name", VK_DESC_NAME, 0, vk_cell_name},
    {"Secrets", "string", "", "Secrets is a list of the secrets.", 0, cell_secrets},
    {"Age", "string", "", VK_DESC_AGE, 0, vk_cell_age},
};

const vk_resource vk_res_serviceaccounts = {
    .group = "",
    .version = "v1",
    .plural = "serviceaccounts",
    .subresources = {{.name = "token", .create = request_token}},
    .columns = columns,
    .ncolumns = sizeof columns / sizeof columns[0],
};
