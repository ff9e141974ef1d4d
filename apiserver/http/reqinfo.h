/* What a request asks for, read from its method, path and query the way kube's
 * RequestInfoFactory does: {verb, apiPrefix, group, version, resource, namespace,
 * name, subresource}, or a non-resource request (verb = the lower-case method). */
#ifndef VK_HTTP_REQINFO_H
#define VK_HTTP_REQINFO_H

#include <stdbool.h>

#include "apiserver/http/req.h"

typedef struct vk_reqinfo {
    bool is_resource;
    const char *verb;       /* get list watch create update patch delete deletecollection proxy; or
                               the lower-case method of a non-resource request */
    const char *api_prefix; /* "api" or "apis" */
    const char *group, *version, *resource, *subresource, *namespace_, *name;
    const char *parts[8]; /* the path's parts from the resource on */
    int nparts;
} vk_reqinfo;

/* Fills ri from r (strings live in r's arena; empty strings where absent).
 * 0, or -ENOMEM. */
int vk_reqinfo_parse(vk_req *r, vk_reqinfo *ri);

#endif
