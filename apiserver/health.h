/* Health checks behind /healthz, /livez and /readyz, answered as kube does:
 * "ok", or with ?verbose one "[+]name ok" line per check and "<endpoint> check
 * passed"; a failure is a 500 whose body lists every check, failed ones as
 * "[-]name failed: reason withheld". /<endpoint>/<name> runs one check. ?exclude=name
 * (repeatable) leaves checks out. */
#ifndef VK_HEALTH_H
#define VK_HEALTH_H

#include "apiserver/http/req.h"

struct vk_server;

/* The checks, in the order they print. A check returns NULL when healthy, else why
 * not (for the log). */
typedef struct vk_health_check {
    const char *name;
    unsigned endpoints; /* VK_HEALTHZ | VK_LIVEZ | VK_READYZ */
    const char *(*check)(struct vk_server *s);
} vk_health_check;

enum { VK_HEALTHZ = 1, VK_LIVEZ = 2, VK_READYZ = 4 };

/* Handler for the three endpoints and their per-check paths. */
void vk_health_handle(vk_req *r);

#endif
