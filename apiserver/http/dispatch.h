/* The request pipeline up to the handler: common headers, authentication, request
 * info, authorization, routing; metrics and logs when the response ends. */
#ifndef VK_HTTP_DISPATCH_H
#define VK_HTTP_DISPATCH_H

#include "apiserver/http/req.h"

struct vk_server;

/* Takes a complete request from a protocol session and answers it. */
void vk_dispatch(struct vk_server *s, vk_req *r);

#endif
