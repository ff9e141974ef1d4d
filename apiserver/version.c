#include "apiserver/version.h"

#include <stdio.h>
#include <string.h>

#include "apiserver/http/status.h"
#include "apiserver/server.h"

#ifndef VK_COMMIT
#define VK_COMMIT "unknown"
#endif
#ifndef VK_TREE
#define VK_TREE "dirty"
#endif
#ifndef VK_BUILD_DATE
#define VK_BUILD_DATE "1970-01-01T00:00:00Z"
#endif

#if defined(__x86_64__)
#define VK_ARCH "amd64"
#elif defined(__aarch64__)
#define VK_ARCH "arm64"
#else
#define VK_ARCH "unknown"
#endif

json_t *vk_version_info(void)
{
    /* "v1.37.2" -> major "1", minor "37". */
    int major = 0, minor = 0;
    sscanf(VK_KUBE_VERSION, "v%d.%d", &major, &minor);
    char smaj[16], smin[16], sprev[16];
    snprintf(smaj, sizeof smaj, "%d", major);
    snprintf(smin, sizeof smin, "%d", minor);
    snprintf(sprev, sizeof sprev, "%d", minor > 0 ? minor - 1 : 0);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "major",
                     smaj, "minor", smin, "emulationMajor", smaj, "emulationMinor", smin,
                     "minCompatibilityMajor", smaj, "minCompatibilityMinor", sprev, "gitVersion",
                     VK_KUBE_VERSION, "gitCommit", VK_COMMIT, "gitTreeState", VK_TREE, "buildDate",
                     VK_BUILD_DATE, "goVersion", "", "compiler", "vkube-c11", "platform",
                     "linux/" VK_ARCH);
}

void vk_version_handle(vk_req *r)
{
    /* The document never changes while the server runs: encode it once. */
    vk_server *s = r->conn->server;
    if (!s->version_body) {
        json_t *v = vk_version_info();
        s->version_body = v ? json_dumps(v, JSON_INDENT(2)) : NULL;
        json_decref(v);
    }
    if (!s->version_body) {
        vk_send_error(r, 500, "InternalError", "out of memory");
        return;
    }
    vk_resp_send(r, 200, "application/json", s->version_body, strlen(s->version_body));
}
