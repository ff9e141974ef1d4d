/* Legacy discovery documents, built from the resource table: /api, /api/v1, /apis,
 * /apis/<group>, /apis/<group>/<version>. Aggregated (v2) discovery is not served yet:
 * clients that ask for it get the legacy documents as plain application/json, which
 * makes them read legacy discovery (client-go checks the reply's Content-Type). */
#ifndef VK_DISCOVERY_H
#define VK_DISCOVERY_H

#include "apiserver/http/req.h"

/* Handles /api and /apis and everything under them that is not a resource request.
 * Unknown paths get the plain 404. */
void vk_discovery_handle(vk_req *r);

#endif
