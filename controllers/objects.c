#include "controllers/objects.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "apiserver/registry/registry.h"
#include "apiserver/server.h"
#include "common/log.h"
#include "common/timefmt.h"

const char *vk_str(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

json_t *vk_meta(const json_t *obj)
{
    return json_object_get(obj, "metadata");
}

const json_t *vk_controller_ref(const json_t *obj)
{
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(vk_meta(obj), "ownerReferences"), i, r)
    {
        if (json_is_true(json_object_get(r, "controller")))
            return r;
    }
    return NULL;
}

bool vk_pod_ready(const json_t *pod)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(json_object_get(pod, "status"), "conditions"), i, c)
    {
        if (!strcmp(vk_str(c, "type"), "Ready"))
            return !strcmp(vk_str(c, "status"), "True");
    }
    return false;
}

void vk_template_hash(const json_t *tmpl, long long collisions, char out[16])
{
    char *js = json_dumps(tmpl, JSON_COMPACT | JSON_SORT_KEYS);
    uint32_t h = 2166136261u;
    for (const char *p = js ? js : ""; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    free(js);
    if (collisions)
        for (int i = 0; i < 4; i++)
            h = (h ^ (unsigned char)(collisions >> (8 * i))) * 16777619u;
    /* kube's rand.SafeEncodeString of the decimal value. */
    static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
    char dec[16];
    snprintf(dec, sizeof dec, "%u", h);
    size_t n = strlen(dec);
    for (size_t i = 0; i < n; i++)
        out[i] = alphabet[(unsigned char)dec[i] % (sizeof alphabet - 1)];
    out[n] = 0;
}

static void recorded(void *ud, int err, const char *json, size_t len, json_t *status)
{
    if (err)
        vk_log(VK_LOG_DEBUG, "events", "Event not recorded", "err=\"%s\"",
               json_string_value(json_object_get(status, "message")));
}

void vk_record_event(vk_server *s, const json_t *obj, const char *kind, const char *api_version,
                     const char *type, const char *reason, const char *message,
                     const char *component)
{
    json_t *m = vk_meta(obj);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    char name[400], ts[21];
    snprintf(name, sizeof name, "%s.%llx", vk_str(m, "name"),
             (unsigned long long)tv.tv_sec * 1000000000ull + (unsigned long long)tv.tv_usec * 1000);
    vk_time_format(tv.tv_sec, ts);
    json_t *ev = json_pack(
        "{s:{s:s}, s:{s:s, s:s, s:s, s:s, s:s, s:s}, s:s, s:s, s:{s:s}, s:s, s:s, s:i, s:s, s:s}",
        "metadata", "name", name, "involvedObject", "kind", kind, "namespace",
        vk_str(m, "namespace"), "name", vk_str(m, "name"), "uid", vk_str(m, "uid"), "apiVersion",
        api_version, "resourceVersion", vk_str(m, "resourceVersion"), "reason", reason, "message",
        message, "source", "component", component, "firstTimestamp", ts, "lastTimestamp", ts,
        "count", 1, "type", type, "reportingComponent", component);
    vk_registry_create(s, vk_resource_find("", "v1", "events"), vk_str(m, "namespace"), ev, false,
                       recorded, NULL);
    json_decref(ev);
}
