/* Structured log lines to stderr, in klog's text layout:
 *   I1125 12:39:34.123456    4242 server] "Serving" address="127.0.0.1:6443"
 * The message is quoted; key=value pairs come from a printf format whose keys are
 * written literally (quote string values with \"%s\"). */
#ifndef VK_COMMON_LOG_H
#define VK_COMMON_LOG_H

enum vk_log_level { VK_LOG_ERROR = 0, VK_LOG_WARN = 1, VK_LOG_INFO = 2, VK_LOG_DEBUG = 4 };

/* Verbosity: lines with level <= vk_log_verbosity are printed. Default VK_LOG_INFO. */
extern int vk_log_verbosity;

void vk_log(int level, const char *module, const char *msg, const char *kvfmt, ...)
    __attribute__((format(printf, 4, 5)));

#define vk_log_enabled(level) ((level) <= vk_log_verbosity)

#endif
