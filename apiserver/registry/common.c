#include "apiserver/registry/common.h"

#include <ctype.h>
#include <string.h>
#include <time.h>

#include "apiserver/registry/resource.h"
#include "common/timefmt.h"

static bool alnum_lower(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool label_n(const char *s, size_t n)
{
    if (!n || n > 63 || !alnum_lower(s[0]) || !alnum_lower(s[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!alnum_lower(s[i]) && s[i] != '-')
            return false;
    return true;
}

bool vk_is_dns1123_label(const char *s)
{
    return label_n(s, strlen(s));
}

bool vk_is_dns1123_subdomain(const char *s)
{
    size_t n = strlen(s);
    if (!n || n > 253)
        return false;
    /* kube's regex allows '-' and '.' inside, alphanumerics at the ends of each label. */
    for (const char *p = s; *p;) {
        size_t l = strcspn(p, ".");
        if (!l || !alnum_lower(p[0]) || !alnum_lower(p[l - 1]))
            return false;
        for (size_t i = 0; i < l; i++)
            if (!alnum_lower(p[i]) && p[i] != '-')
                return false;
        p += l;
        if (*p == '.' && !*++p)
            return false;
    }
    return true;
}

bool vk_is_qualified_name(const char *s)
{
    const char *slash = strchr(s, '/');
    const char *name = s;
    if (slash) {
        char prefix[256];
        size_t pl = (size_t)(slash - s);
        if (!pl || pl >= sizeof prefix)
            return false;
        memcpy(prefix, s, pl);
        prefix[pl] = 0;
        if (!vk_is_dns1123_subdomain(prefix))
            return false;
        name = slash + 1;
    }
    size_t n = strlen(name);
    if (!n || n > 63 || !isalnum((unsigned char)name[0]) || !isalnum((unsigned char)name[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)name[i]) && !strchr("-_.", name[i]))
            return false;
    return true;
}

json_t *vk_cell_name(const json_t *obj)
{
    const char *n = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
    return json_string(n ? n : "");
}

json_t *vk_cell_age(const json_t *obj)
{
    const char *ts =
        json_string_value(json_object_get(json_object_get(obj, "metadata"), "creationTimestamp"));
    time_t t;
    if (!ts || vk_time_parse(ts, &t))
        return json_string("<unknown>");
    char buf[32];
    vk_human_duration((long long)(time(NULL) - t), buf, sizeof buf);
    return json_string(buf);
}

const char *vk_name_invalid(int rule, const char *name)
{
    switch (rule) {
    case VK_NAME_LABEL:
        return vk_is_dns1123_label(name)
                   ? NULL
                   : "a lowercase RFC 1123 label must consist of lower case alphanumeric "
                     "characters or '-', and must start and end with an alphanumeric character "
                     "(e.g. 'my-name',  or '123-abc', regex used for validation is "
                     "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
    case VK_NAME_PATH_SEGMENT:
        /* kube's path.IsValidPathSegmentName. */
        if (!strcmp(name, "."))
            return "may not be '.'";
        if (!strcmp(name, ".."))
            return "may not be '..'";
        if (strchr(name, '/'))
            return "may not contain '/'";
        if (strchr(name, '%'))
            return "may not contain '%'";
        return NULL;
    case VK_NAME_OWN:
        return NULL;
    default:
        return vk_is_dns1123_subdomain(name)
                   ? NULL
                   : "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                     "characters, '-' or '.', and must start and end with an alphanumeric "
                     "character (e.g. 'example.com', regex used for validation is "
                     "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
    }
}
