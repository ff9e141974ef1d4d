/* certificates.k8s.io/v1 ClusterTrustBundle: kube's name rule (a bundle for a signer is
 * named "<signer name with ':' for '/'>:<DNS subdomain>", one without a signer may not
 * have ':' in its name) and an immutable signerName. */
#include <stdio.h>
#include <string.h>

#include "apiserver/registry/common.h"
#include "apiserver/registry/resource.h"
#include "apiserver/resources/rules.h"

static void validate(vk_ctx *c, const json_t *obj, vk_errlist *e)
{
    const char *name = vk_str_at(obj, "metadata.name");
    const char *signer = vk_str_at(obj, "spec.signerName");
    const json_t *nv = vk_at(obj, "metadata.name");
    if (!*name)
        return; /* the registry says it is required */
    if (!*signer) {
        if (strchr(name, ':'))
            vk_err_invalid(e, "metadata.name", nv,
                           "ClusterTrustBundle without signer name must not have \":\" in its "
                           "name");
        else if (vk_name_invalid(VK_NAME_SUBDOMAIN, name))
            vk_err_invalid(e, "metadata.name", nv, vk_name_invalid(VK_NAME_SUBDOMAIN, name));
        return;
    }
    char prefix[400];
    size_t i = 0;
    for (; signer[i] && i < sizeof prefix - 2; i++)
        prefix[i] = signer[i] == '/' ? ':' : signer[i];
    prefix[i++] = ':';
    prefix[i] = 0;
    if (strncmp(name, prefix, strlen(prefix))) {
        char msg[900];
        snprintf(msg, sizeof msg,
                 "ClusterTrustBundle for signerName %s must be named with prefix %s", signer,
                 prefix);
        vk_err_invalid(e, "metadata.name", nv, msg);
    } else if (vk_name_invalid(VK_NAME_SUBDOMAIN, name + strlen(prefix))) {
        vk_err_invalid(e, "metadata.name", nv,
                       vk_name_invalid(VK_NAME_SUBDOMAIN, name + strlen(prefix)));
    }
}

static void validate_update(vk_ctx *c, const json_t *obj, const json_t *old, vk_errlist *e)
{
    vk_err_immutable(e, obj, old, "spec.signerName", "spec.signerName");
}

static const vk_strategy strategy = {
    .validate_create = validate,
    .validate_update = validate_update,
};

const vk_resource vk_res_clustertrustbundles = {
    .group = "certificates.k8s.io",
    .version = "v1",
    .plural = "clustertrustbundles",
    .strategy = &strategy,
    .name_rule = VK_NAME_OWN,
};
