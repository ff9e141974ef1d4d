/* vk_buf: a growable byte buffer.
 *
 * Invariants: data is NULL exactly when cap is 0; len <= cap; when cap > 0 the byte at
 * data[len] is always addressable and kept 0, so data can be read as a C string when it
 * holds text. A zeroed vk_buf is a valid empty buffer. */
#ifndef VK_COMMON_BUF_H
#define VK_COMMON_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct vk_buf {
    char *data;
    size_t len, cap;
} vk_buf;

/* Ensures room for n more bytes (plus the trailing 0). Returns 0 or -ENOMEM. */
int vk_buf_reserve(vk_buf *b, size_t n);
/* Appends n bytes. Returns 0 or -ENOMEM (b is unchanged on failure). */
int vk_buf_append(vk_buf *b, const void *p, size_t n);
/* Appends a C string. Returns 0 or -ENOMEM. */
int vk_buf_puts(vk_buf *b, const char *s);
/* Appends printf-formatted text (never JSON: use jansson for that). 0 or -ENOMEM. */
int vk_buf_printf(vk_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int vk_buf_vprintf(vk_buf *b, const char *fmt, va_list ap);
/* Drops the first n bytes (n <= len). */
void vk_buf_consume(vk_buf *b, size_t n);
/* Empties the buffer, keeping its memory. */
void vk_buf_reset(vk_buf *b);
/* Frees the memory; the buffer is empty and reusable afterwards. */
void vk_buf_free(vk_buf *b);
/* Hands the bytes to the caller (who frees them) and empties b. NULL when empty. */
char *vk_buf_steal(vk_buf *b);

#endif
