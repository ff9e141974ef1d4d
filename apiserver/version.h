/* The version this server reports: kube's /version document and `vkube version`. */
#ifndef VK_VERSION_H
#define VK_VERSION_H

#include <jansson.h>

#include "apiserver/http/req.h"

/* kube's version.Info fields, in its order. New reference, NULL on ENOMEM. */
json_t *vk_version_info(void);
/* GET /version: the document, indented (kube writes it with MarshalIndent). */
void vk_version_handle(vk_req *r);

#endif
