/* Randomness: UUIDs (v4) and the 5-character name suffixes of generateName.
 * Bytes come from getrandom(2), read in blocks and served from a buffer. */
#ifndef VK_COMMON_RAND_H
#define VK_COMMON_RAND_H

#include <stddef.h>

/* Fills p with n random bytes. 0, or -errno when the kernel refuses. */
int vk_rand_bytes(void *p, size_t n);
/* Writes a lower-case UUID v4 and its terminating 0 into out (37 bytes). */
void vk_uuid4(char out[37]);

#endif
