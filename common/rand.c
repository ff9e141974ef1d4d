#include "common/rand.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

/* Small requests are served from a block; the buffer is per-thread. */
static _Thread_local unsigned char pool[512];
static _Thread_local size_t pool_left;

int vk_rand_bytes(void *p, size_t n)
{
    unsigned char *o = p;
    while (n) {
        if (!pool_left) {
            size_t got = 0;
            while (got < sizeof pool) {
                ssize_t r = getrandom(pool + got, sizeof pool - got, 0);
                if (r < 0) {
                    if (errno == EINTR)
                        continue;
                    return -errno;
                }
                got += (size_t)r;
            }
            pool_left = sizeof pool;
        }
        size_t take = n < pool_left ? n : pool_left;
        memcpy(o, pool + sizeof pool - pool_left, take);
        memset(pool + sizeof pool - pool_left, 0, take);
        pool_left -= take;
        o += take;
        n -= take;
    }
    return 0;
}

void vk_uuid4(char out[37])
{
    unsigned char b[16];
    if (vk_rand_bytes(b, sizeof b))
        memset(b, 0, sizeof b);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}
