#include "common/arena.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

struct vk_arena_block {
    vk_arena_block *next;
    size_t size, off;
    alignas(max_align_t) unsigned char mem[];
};

enum { ARENA_BLOCK = 4096 - sizeof(vk_arena_block) };

void *vk_arena_alloc(vk_arena *a, size_t n)
{
    const size_t align = alignof(max_align_t);
    n = (n + align - 1) & ~(align - 1);
    vk_arena_block *b = a->head;
    if (!b || b->size - b->off < n) {
        size_t size = n > ARENA_BLOCK ? n : ARENA_BLOCK;
        b = malloc(sizeof *b + size);
        if (!b)
            return NULL;
        b->size = size;
        b->off = 0;
        /* A block made for one big allocation goes second, so the current
         * block keeps serving small ones. */
        if (a->head && size > ARENA_BLOCK) {
            b->next = a->head->next;
            a->head->next = b;
        } else {
            b->next = a->head;
            a->head = b;
        }
    }
    void *p = b->mem + b->off;
    b->off += n;
    a->used += n;
    return p;
}

char *vk_arena_strndup(vk_arena *a, const char *s, size_t n)
{
    char *p = vk_arena_alloc(a, n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

char *vk_arena_strdup(vk_arena *a, const char *s)
{
    return vk_arena_strndup(a, s, strlen(s));
}

void vk_arena_free(vk_arena *a)
{
    vk_arena_block *b = a->head;
    while (b) {
        vk_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->used = 0;
}
