#include "common/buf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vk_buf_reserve(vk_buf *b, size_t n)
{
    if (n > ((size_t)-1 >> 2) - b->len)
        return -ENOMEM;
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p)
        return -ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int vk_buf_append(vk_buf *b, const void *p, size_t n)
{
    if (vk_buf_reserve(b, n))
        return -ENOMEM;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
    return 0;
}

int vk_buf_puts(vk_buf *b, const char *s)
{
    return vk_buf_append(b, s, strlen(s));
}

int vk_buf_vprintf(vk_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return -EINVAL;
    if (vk_buf_reserve(b, (size_t)n))
        return -ENOMEM;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int vk_buf_printf(vk_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vk_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void vk_buf_consume(vk_buf *b, size_t n)
{
    if (n >= b->len) {
        vk_buf_reset(b);
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
    b->data[b->len] = 0;
}

void vk_buf_reset(vk_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = 0;
}

void vk_buf_free(vk_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *vk_buf_steal(vk_buf *b)
{
    char *p = b->data;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}
