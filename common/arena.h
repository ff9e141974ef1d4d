/* vk_arena: bump allocation for memory that dies together (one request, one stream).
 *
 * Blocks are malloc'd on demand and freed all at once by vk_arena_free. Pointers stay
 * valid until then. A zeroed vk_arena is valid and empty. Not thread-safe. */
#ifndef VK_COMMON_ARENA_H
#define VK_COMMON_ARENA_H

#include <stddef.h>

typedef struct vk_arena_block vk_arena_block;
typedef struct vk_arena {
    vk_arena_block *head;
    size_t used; /* bytes handed out, for limits and metrics */
} vk_arena;

/* n bytes aligned for any type, or NULL when out of memory. */
void *vk_arena_alloc(vk_arena *a, size_t n);
/* A copy of n bytes plus a terminating 0, or NULL. */
char *vk_arena_strndup(vk_arena *a, const char *s, size_t n);
char *vk_arena_strdup(vk_arena *a, const char *s);
/* Frees every block; the arena is empty and reusable. */
void vk_arena_free(vk_arena *a);

#endif
