#include "common/timefmt.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"

void vk_time_format(time_t t, char out[21])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int vk_time_parse(const char *s, time_t *out)
{
    struct tm tm = {0};
    const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p)
        return VK_EINVALID;
    if (*p == '.')
        for (p++; isdigit((unsigned char)*p); p++)
            ;
    long off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int hh, mm;
        if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
            return VK_EINVALID;
        off = (hh * 3600L + mm * 60L) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return VK_EINVALID;
    }
    if (*p)
        return VK_EINVALID;
    *out = timegm(&tm) - off;
    return 0;
}

void vk_human_duration(long long s, char *out, size_t n)
{
    if (s < -1) {
        snprintf(out, n, "<invalid>");
        return;
    }
    if (s < 0)
        s = 0;
    long long m = s / 60, h = s / 3600, d = h / 24;
    if (s < 120)
        snprintf(out, n, "%llds", s);
    else if (m < 10)
        s % 60 ? snprintf(out, n, "%lldm%llds", m, s % 60) : snprintf(out, n, "%lldm", m);
    else if (m < 180)
        snprintf(out, n, "%lldm", m);
    else if (h < 8)
        m % 60 ? snprintf(out, n, "%lldh%lldm", h, m % 60) : snprintf(out, n, "%lldh", h);
    else if (h < 48)
        snprintf(out, n, "%lldh", h);
    else if (h < 24 * 8)
        h % 24 ? snprintf(out, n, "%lldd%lldh", d, h % 24) : snprintf(out, n, "%lldd", d);
    else if (h < 24 * 365 * 2)
        snprintf(out, n, "%lldd", d);
    else if (h < 24 * 365 * 8)
        d % 365 ? snprintf(out, n, "%lldy%lldd", d / 365, d % 365)
                : snprintf(out, n, "%lldy", d / 365);
    else
        snprintf(out, n, "%lldy", d / 365);
}
