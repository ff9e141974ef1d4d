#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"

int vk_log_verbosity = VK_LOG_INFO;

void vk_log(int level, const char *module, const char *msg, const char *kvfmt, ...)
{
    if (!vk_log_enabled(level))
        return;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char lc = level == VK_LOG_ERROR ? 'E' : level == VK_LOG_WARN ? 'W' : 'I';
    char line[2048];
    vk_buf b = {0};
    int n = snprintf(line, sizeof line, "%c%02d%02d %02d:%02d:%02d.%06ld %7d %s] \"%s\"", lc,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)tv.tv_usec,
                     (int)getpid(), module, msg);
    if (n < 0)
        return;
    vk_buf_append(&b, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    if (kvfmt && *kvfmt) {
        va_list ap;
        va_start(ap, kvfmt);
        vk_buf_puts(&b, " ");
        vk_buf_vprintf(&b, kvfmt, ap);
        va_end(ap);
    }
    vk_buf_puts(&b, "\n");
    if (b.data)
        fwrite(b.data, 1, b.len, stderr);
    vk_buf_free(&b);
}
