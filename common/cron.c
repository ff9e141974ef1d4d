#include "common/cron.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- civil dates (proleptic Gregorian, days since 1970-01-01) ---- */

static long long days_from_civil(long long y, int m, int d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(long long z, long long *y, int *m, int *d)
{
    z += 719468;
    long long era = (z >= 0 ? z : z - 146096) / 146097;
    long long doe = z - era * 146097;
    long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long long mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static bool leap(long long y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(long long y, int m)
{
    static const int n[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : n[m - 1];
}

static long long floordiv(long long a, long long b)
{
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

/* ---- time zones ---- */

typedef struct rule {
    int kind; /* 'M', 'J' or 'n' */
    int m, w, d;
    long secs; /* local time of day of the change */
} rule;

struct vk_tz {
    long long *trans; /* transition instants */
    unsigned char *idx;
    long *offs; /* per type: UTC offset */
    size_t ntrans, ntypes;
    /* The POSIX rule after the last transition. */
    bool has_rule, has_dst;
    long std_off, dst_off;
    rule start, end;
};

static long long be(const unsigned char *p, int n)
{
    unsigned long long v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    if (n == 4)
        return (long long)(int32_t)(uint32_t)v;
    return (long long)v;
}

/* [+-]hh[:mm[:ss]]; NULL when malformed. */
static const char *posix_time(const char *p, long *out)
{
    int sign = 1;
    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    if (!isdigit((unsigned char)*p))
        return NULL;
    long h = strtol(p, (char **)&p, 10), mm = 0, ss = 0;
    if (*p == ':') {
        mm = strtol(p + 1, (char **)&p, 10);
        if (*p == ':')
            ss = strtol(p + 1, (char **)&p, 10);
    }
    *out = sign * (h * 3600 + mm * 60 + ss);
    return p;
}

static const char *posix_name(const char *p)
{
    if (*p == '<') {
        const char *e = strchr(p, '>');
        return e ? e + 1 : NULL;
    }
    const char *s = p;
    while (isalpha((unsigned char)*p))
        p++;
    return p - s >= 3 ? p : NULL;
}

static const char *posix_rule(const char *p, rule *r)
{
    r->secs = 7200;
    if (*p == 'M') {
        r->kind = 'M';
        r->m = (int)strtol(p + 1, (char **)&p, 10);
        if (*p++ != '.')
            return NULL;
        r->w = (int)strtol(p, (char **)&p, 10);
        if (*p++ != '.')
            return NULL;
        r->d = (int)strtol(p, (char **)&p, 10);
        if (r->m < 1 || r->m > 12 || r->w < 1 || r->w > 5 || r->d < 0 || r->d > 6)
            return NULL;
    } else if (*p == 'J') {
        r->kind = 'J';
        r->d = (int)strtol(p + 1, (char **)&p, 10);
    } else if (isdigit((unsigned char)*p)) {
        r->kind = 'n';
        r->d = (int)strtol(p, (char **)&p, 10);
    } else {
        return NULL;
    }
    if (*p == '/' && !(p = posix_time(p + 1, &r->secs)))
        return NULL;
    return p;
}

static bool parse_footer(vk_tz *tz, const char *s)
{
    const char *p = posix_name(s);
    long off;
    if (!p || !(p = posix_time(p, &off)))
        return false;
    tz->std_off = -off;
    tz->has_rule = true;
    if (!*p)
        return true;
    if (!(p = posix_name(p)))
        return false;
    tz->dst_off = tz->std_off + 3600;
    if (*p && *p != ',') {
        if (!(p = posix_time(p, &off)))
            return false;
        tz->dst_off = -off;
    }
    if (*p != ',' || !(p = posix_rule(p + 1, &tz->start)) || *p != ',' ||
        !(p = posix_rule(p + 1, &tz->end)))
        return false;
    tz->has_dst = true;
    return true;
}

/* The instant (UTC) of rule r in year y, given the offset in force before it. */
static long long rule_instant(const rule *r, long long y, long off_before)
{
    long long day;
    if (r->kind == 'M') {
        long long first = days_from_civil(y, r->m, 1);
        int wd1 = (int)(((first % 7) + 11) % 7); /* 1970-01-01 was a Thursday (4) */
        int dom = 1 + (r->d - wd1 + 7) % 7 + (r->w - 1) * 7;
        while (dom > month_days(y, r->m))
            dom -= 7;
        day = first + dom - 1;
    } else if (r->kind == 'J') {
        day = days_from_civil(y, 1, 1) + r->d - 1;
        if (leap(y) && r->d >= 60)
            day++;
    } else {
        day = days_from_civil(y, 1, 1) + r->d;
    }
    return day * 86400 + r->secs - off_before;
}

static long rule_offset(const vk_tz *tz, time_t t)
{
    if (!tz->has_dst)
        return tz->std_off;
    long long y;
    int m, d;
    civil_from_days(floordiv((long long)t + tz->std_off, 86400), &y, &m, &d);
    long long s = rule_instant(&tz->start, y, tz->std_off);
    long long e = rule_instant(&tz->end, y, tz->dst_off);
    bool dst = s < e ? (t >= s && t < e) : !(t >= e && t < s);
    return dst ? tz->dst_off : tz->std_off;
}

long vk_tz_offset(const vk_tz *tz, time_t t)
{
    if (!tz)
        return 0;
    if (!tz->ntrans || t < tz->trans[0]) {
        if (!tz->ntrans && tz->has_rule)
            return rule_offset(tz, t);
        return tz->ntypes ? tz->offs[0] : 0;
    }
    if (t >= tz->trans[tz->ntrans - 1] && tz->has_rule)
        return rule_offset(tz, t);
    size_t lo = 0, hi = tz->ntrans;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (tz->trans[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    unsigned char i = tz->idx[lo];
    return i < tz->ntypes ? tz->offs[i] : 0;
}

void vk_tz_free(vk_tz *tz)
{
    if (!tz)
        return;
    free(tz->trans);
    free(tz->idx);
    free(tz->offs);
    free(tz);
}

static bool valid_zone_name(const char *name)
{
    if (!*name || *name == '/' || *name == '.' || strlen(name) > 200)
        return false;
    for (const char *p = name; *p; p++) {
        if (!isalnum((unsigned char)*p) && !strchr("/_-+.", *p))
            return false;
        if (*p == '.' && p[1] == '.')
            return false;
    }
    return true;
}

vk_tz *vk_tz_load(const char *dir, const char *name, char *err, size_t errlen)
{
    vk_tz *tz = calloc(1, sizeof *tz);
    if (!tz) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (!*name || !strcmp(name, "UTC"))
        return tz;
    if (!valid_zone_name(name) || !strcmp(name, "Local")) {
        snprintf(err, errlen, "unknown time zone %s", name);
        free(tz);
        return NULL;
    }
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir ? dir : "/usr/share/zoneinfo", name);
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t len = 0;
    if (f) {
        buf = malloc(1 << 20);
        if (buf)
            len = fread(buf, 1, 1 << 20, f);
        fclose(f);
    }
    /* Version 2+: skip the 32-bit block, read the 64-bit one and the footer. */
    bool ok = false;
    if (buf && len >= 44 && !memcmp(buf, "TZif", 4) && buf[4] >= '2') {
        const unsigned char *h = buf;
        long long isut = be(h + 20, 4), isstd = be(h + 24, 4), leaps = be(h + 28, 4),
                  timecnt = be(h + 32, 4), typecnt = be(h + 36, 4), charcnt = be(h + 40, 4);
        size_t skip = 44 + (size_t)(timecnt * 5 + typecnt * 6 + charcnt + leaps * 8 + isstd + isut);
        if (skip + 44 <= len && !memcmp(buf + skip, "TZif", 4)) {
            h = buf + skip;
            isut = be(h + 20, 4), isstd = be(h + 24, 4), leaps = be(h + 28, 4);
            timecnt = be(h + 32, 4), typecnt = be(h + 36, 4), charcnt = be(h + 40, 4);
            size_t body = (size_t)(timecnt * 9 + typecnt * 6 + charcnt + leaps * 12 + isstd + isut);
            const unsigned char *p = h + 44;
            if (timecnt >= 0 && typecnt > 0 && typecnt <= 256 && skip + 44 + body <= len) {
                tz->ntrans = (size_t)timecnt;
                tz->ntypes = (size_t)typecnt;
                tz->trans = calloc(tz->ntrans + 1, sizeof *tz->trans);
                tz->idx = calloc(tz->ntrans + 1, 1);
                tz->offs = calloc(tz->ntypes, sizeof *tz->offs);
                if (tz->trans && tz->idx && tz->offs) {
                    for (size_t i = 0; i < tz->ntrans; i++)
                        tz->trans[i] = be(p + 8 * i, 8);
                    p += 8 * tz->ntrans;
                    memcpy(tz->idx, p, tz->ntrans);
                    p += tz->ntrans;
                    for (size_t i = 0; i < tz->ntypes; i++)
                        tz->offs[i] = (long)be(p + 6 * i, 4);
                    ok = true;
                    const unsigned char *foot = h + 44 + body;
                    if (foot < buf + len && *foot == '\n') {
                        const unsigned char *e =
                            memchr(foot + 1, '\n', (size_t)(buf + len - foot - 1));
                        if (e && e > foot + 1) {
                            char rule_s[128];
                            snprintf(rule_s, sizeof rule_s, "%.*s", (int)(e - foot - 1),
                                     (const char *)foot + 1);
                            if (!parse_footer(tz, rule_s))
                                tz->has_rule = tz->has_dst = false;
                        }
                    }
                }
            }
        }
    }
    free(buf);
    if (!ok) {
        snprintf(err, errlen, "unknown time zone %s", name);
        vk_tz_free(tz);
        return NULL;
    }
    return tz;
}

/* ---- schedules ---- */

typedef struct bounds {
    unsigned min, max;
    const char *const *names;
} bounds;

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul",
                                          "aug", "sep", "oct", "nov", "dec", NULL};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};
static const bounds B_MIN = {0, 59, NULL}, B_HOUR = {0, 23, NULL}, B_DOM = {1, 31, NULL},
                    B_MONTH = {1, 12, month_names}, B_DOW = {0, 6, dow_names};
#define STAR (1ull << 63)

static int int_or_name(const char *s, size_t n, const bounds *b, unsigned *out, char *err,
                       size_t errlen, const char *expr)
{
    for (int i = 0; b->names && b->names[i]; i++)
        if (n == strlen(b->names[i]) && !strncasecmp(s, b->names[i], n)) {
            *out = b->min + (unsigned)i; /* jan is 1, sun is 0 */
            return 0;
        }
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%.*s", (int)(n < 63 ? n : 63), s);
    char *end;
    long long v = strtoll(tmp, &end, 10);
    if (!n || *end || tmp[0] == '+' || isspace((unsigned char)tmp[0])) {
        snprintf(err, errlen,
                 "failed to parse int from %s: strconv.Atoi: parsing \"%s\": invalid syntax", tmp,
                 tmp);
        return -1;
    }
    if (v < 0) {
        snprintf(err, errlen, "negative number (%lld) not allowed: %s", v, tmp);
        return -1;
    }
    *out = v > 1000 ? 1000 : (unsigned)v;
    (void)expr;
    return 0;
}

static int get_range(const char *expr, size_t len, const bounds *b, uint64_t *bits, char *err,
                     size_t errlen)
{
    char e[128];
    snprintf(e, sizeof e, "%.*s", (int)(len < 127 ? len : 127), expr);
    char *slash = strchr(e, '/');
    if (slash && strchr(slash + 1, '/')) {
        snprintf(err, errlen, "too many slashes: %s", e);
        return -1;
    }
    size_t rl = slash ? (size_t)(slash - e) : strlen(e);
    unsigned start, end, step = 1;
    uint64_t extra = 0;
    bool single = !memchr(e, '-', rl);
    if ((rl == 1 && (e[0] == '*' || e[0] == '?'))) {
        start = b->min;
        end = b->max;
        extra = STAR;
    } else {
        const char *dash = memchr(e, '-', rl);
        if (dash && memchr(dash + 1, '-', rl - (size_t)(dash + 1 - e))) {
            snprintf(err, errlen, "too many hyphens: %s", e);
            return -1;
        }
        if (int_or_name(e, dash ? (size_t)(dash - e) : rl, b, &start, err, errlen, e))
            return -1;
        end = start;
        if (dash && int_or_name(dash + 1, rl - (size_t)(dash + 1 - e), b, &end, err, errlen, e))
            return -1;
    }
    if (slash) {
        unsigned s;
        if (int_or_name(slash + 1, strlen(slash + 1), &(bounds){0, 0, NULL}, &s, err, errlen, e))
            return -1;
        step = s;
        if (single)
            end = b->max;
        if (step > 1)
            extra = 0;
    }
    if (start < b->min) {
        snprintf(err, errlen, "beginning of range (%u) below minimum (%u): %s", start, b->min, e);
        return -1;
    }
    if (end > b->max) {
        snprintf(err, errlen, "end of range (%u) above maximum (%u): %s", end, b->max, e);
        return -1;
    }
    if (start > end) {
        snprintf(err, errlen, "beginning of range (%u) beyond end of range (%u): %s", start, end,
                 e);
        return -1;
    }
    if (!step) {
        snprintf(err, errlen, "step of range should be a positive number: %s", e);
        return -1;
    }
    for (unsigned i = start; i <= end; i += step)
        *bits |= 1ull << i;
    *bits |= extra;
    return 0;
}

static int get_field(const char *f, size_t len, const bounds *b, uint64_t *bits, char *err,
                     size_t errlen)
{
    *bits = 0;
    size_t i = 0;
    while (i < len) {
        while (i < len && f[i] == ',')
            i++;
        size_t j = i;
        while (j < len && f[j] != ',')
            j++;
        if (j > i && get_range(f + i, j - i, b, bits, err, errlen))
            return -1;
        i = j;
    }
    return 0;
}

/* Go's time.ParseDuration, for @every (whole seconds are kept). */
static int parse_duration(const char *s, double *secs)
{
    double total = 0;
    int sign = 1;
    if (*s == '-' || *s == '+')
        sign = *s++ == '-' ? -1 : 1;
    if (!strcmp(s, "0")) {
        *secs = 0;
        return 0;
    }
    if (!*s)
        return -1;
    while (*s) {
        char *end;
        if (!isdigit((unsigned char)*s) && *s != '.')
            return -1;
        double v = strtod(s, &end);
        if (end == s)
            return -1;
        s = end;
        static const struct {
            const char *u;
            double mul;
        } units[] = {{"ns", 1e-9}, {"us", 1e-6}, {"\xc2\xb5s", 1e-6}, {"\xce\xbcs", 1e-6},
                     {"ms", 1e-3}, {"s", 1},     {"m", 60},           {"h", 3600}};
        int best = -1;
        size_t bl = 0;
        for (int i = 0; i < 8; i++) {
            size_t l = strlen(units[i].u);
            if (!strncmp(s, units[i].u, l) && l > bl) {
                best = i;
                bl = l;
            }
        }
        if (best < 0)
            return -1;
        total += v * units[best].mul;
        s += bl;
    }
    *secs = sign * total;
    return 0;
}

int vk_cron_parse(const char *spec, const char *zone_dir, vk_cron *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!*spec) {
        snprintf(err, errlen, "empty spec string");
        return -1;
    }
    if (!strncmp(spec, "TZ=", 3) || !strncmp(spec, "CRON_TZ=", 8)) {
        const char *sp = strchr(spec, ' '), *eq = strchr(spec, '=');
        if (!sp) {
            snprintf(err, errlen, "provided bad location: no schedule after %s", spec);
            return -1;
        }
        char name[256], zerr[300];
        snprintf(name, sizeof name, "%.*s", (int)(sp - eq - 1), eq + 1);
        if (!(out->tz = vk_tz_load(zone_dir, name, zerr, sizeof zerr))) {
            snprintf(err, errlen, "provided bad location %s: %s", name, zerr);
            return -1;
        }
        spec = sp;
        while (*spec == ' ' || *spec == '\t')
            spec++;
    }
    uint64_t min = 0, hour = 0, dom = 0, month = 0, dow = 0;
    if (*spec == '@') {
        size_t l = strlen(spec);
        while (l && isspace((unsigned char)spec[l - 1]))
            l--;
        char d[128];
        snprintf(d, sizeof d, "%.*s", (int)(l < 127 ? l : 127), spec);
        uint64_t all_h = 0xFFFFFFull | STAR, all_dom = 0xFFFFFFFEull | STAR,
                 all_mo = 0x1FFEull | STAR, all_dow = 0x7Full | STAR;
        min = 1, hour = 1, dom = 2, month = all_mo, dow = all_dow;
        if (!strcmp(d, "@yearly") || !strcmp(d, "@annually")) {
            month = 2;
        } else if (!strcmp(d, "@monthly")) {
        } else if (!strcmp(d, "@weekly")) {
            dom = all_dom;
            dow = 1;
        } else if (!strcmp(d, "@daily") || !strcmp(d, "@midnight")) {
            dom = all_dom;
        } else if (!strcmp(d, "@hourly")) {
            dom = all_dom;
            hour = all_h;
        } else if (!strncmp(d, "@every ", 7)) {
            double secs;
            if (parse_duration(d + 7, &secs)) {
                snprintf(err, errlen, "failed to parse duration %s: time: invalid duration \"%s\"",
                         d, d + 7);
                vk_cron_free(out);
                return -1;
            }
            out->every = secs < 1 ? 1 : (long)secs;
            return 0;
        } else {
            snprintf(err, errlen, "unrecognized descriptor: %s", d);
            vk_cron_free(out);
            return -1;
        }
    } else {
        const char *f[5];
        size_t fl[5];
        int n = 0;
        const char *p = spec;
        while (*p) {
            while (isspace((unsigned char)*p))
                p++;
            if (!*p)
                break;
            const char *s = p;
            while (*p && !isspace((unsigned char)*p))
                p++;
            if (n < 5) {
                f[n] = s;
                fl[n] = (size_t)(p - s);
            }
            n++;
        }
        if (n != 5) {
            snprintf(err, errlen, "expected exactly 5 fields, found %d: [%s]", n, spec);
            vk_cron_free(out);
            return -1;
        }
        if (get_field(f[0], fl[0], &B_MIN, &min, err, errlen) ||
            get_field(f[1], fl[1], &B_HOUR, &hour, err, errlen) ||
            get_field(f[2], fl[2], &B_DOM, &dom, err, errlen) ||
            get_field(f[3], fl[3], &B_MONTH, &month, err, errlen) ||
            get_field(f[4], fl[4], &B_DOW, &dow, err, errlen)) {
            vk_cron_free(out);
            return -1;
        }
    }
    out->minute = min & ~STAR;
    out->hour = (uint32_t)(hour & ~STAR);
    out->dom = (uint32_t)(dom & ~STAR);
    out->month = (uint32_t)(month & ~STAR);
    out->dow = (uint32_t)(dow & ~STAR);
    out->dom_star = (dom & STAR) != 0;
    out->dow_star = (dow & STAR) != 0;
    return 0;
}

void vk_cron_free(vk_cron *c)
{
    if (c) {
        vk_tz_free(c->tz);
        c->tz = NULL;
    }
}

static bool day_matches(const vk_cron *c, int dom, int dow)
{
    bool a = (c->dom >> dom) & 1, b = (c->dow >> dow) & 1;
    if (c->dom_star || c->dow_star)
        return a && b;
    return a || b;
}

/* After a jump of local time, an offset that grew in between (clocks set forward) moves
 * the instant back by the difference, so the local time aimed at is not skipped. One
 * that shrank lands early, which the next round corrects. */
static time_t jumped(const vk_cron *c, time_t from, long off, time_t to)
{
    long off2 = vk_tz_offset(c->tz, to);
    if (off2 > off && to - (off2 - off) > from && vk_tz_offset(c->tz, to - (off2 - off)) == off2)
        return to - (off2 - off);
    return to;
}

time_t vk_cron_next(const vk_cron *c, time_t t)
{
    if (c->every)
        return t + c->every;
    if (!c->minute || !c->hour || !c->month || (!c->dom && !c->dow))
        return 0;
    time_t cur = (time_t)(floordiv((long long)t, 60) * 60 + 60);
    time_t limit = t + (time_t)5 * 366 * 86400;
    while (cur < limit) {
        long off = vk_tz_offset(c->tz, cur);
        long long lt = (long long)cur + off;
        long long days = floordiv(lt, 86400);
        long tod = (long)(lt - days * 86400);
        long long y;
        int mo, d;
        civil_from_days(days, &y, &mo, &d);
        int h = (int)(tod / 3600), mi = (int)(tod % 3600 / 60);
        int wd = (int)(((days % 7) + 11) % 7);
        time_t next;
        if (!((c->month >> mo) & 1)) {
            long long first =
                mo == 12 ? days_from_civil(y + 1, 1, 1) : days_from_civil(y, mo + 1, 1);
            next = cur + (time_t)(first * 86400 - lt);
        } else if (!day_matches(c, d, wd)) {
            next = cur + (time_t)((days + 1) * 86400 - lt);
        } else if (!((c->hour >> h) & 1)) {
            next = cur + (time_t)(3600 - tod % 3600);
        } else if (!((c->minute >> mi) & 1)) {
            next = cur + (time_t)(60 - tod % 60);
        } else {
            return cur;
        }
        cur = jumped(c, cur, off, next);
    }
    return 0;
}

int vk_cron_most_recent(const vk_cron *c, time_t earliest, long long deadline, time_t now,
                        time_t *recent, int *missed, time_t *earliest_out)
{
    *recent = 0;
    *missed = 0;
    if (deadline >= 0 && now - deadline > earliest)
        earliest = (time_t)(now - deadline);
    *earliest_out = earliest;
    time_t t1 = vk_cron_next(c, earliest);
    if (!t1 || now < t1)
        return 0;
    time_t t2 = vk_cron_next(c, t1);
    if (!t2 || now < t2) {
        *recent = t1;
        return 0;
    }
    long long between = (long long)(t2 - t1);
    if (between < 1)
        return -1;
    long long elapsed = (long long)(now - t1);
    long long n = elapsed / between + 1;
    time_t from = (time_t)(t1 + (n - 2) * between);
    time_t most = 0;
    for (time_t t = vk_cron_next(c, from); t && t <= now; t = vk_cron_next(c, t))
        most = t;
    *missed = n > 100 ? 2 : n > 0 ? 1 : 0;
    *recent = most;
    return 0;
}
