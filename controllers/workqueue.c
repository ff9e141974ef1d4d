#include "controllers/workqueue.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_KEYS = 65536 };

void vk_workqueue_add(vk_workqueue *q, const char *key, size_t len)
{
    for (size_t i = 0; i < q->n; i++)
        if (strlen(q->keys[i]) == len && !memcmp(q->keys[i], key, len))
            return;
    if (q->n >= MAX_KEYS)
        return;
    char **k = realloc(q->keys, (q->n + 1) * sizeof *k);
    if (!k)
        return;
    q->keys = k;
    if ((k[q->n] = strndup(key, len)))
        q->n++;
}

char *vk_workqueue_pop(vk_workqueue *q)
{
    if (!q->n)
        return NULL;
    char *k = q->keys[0];
    memmove(q->keys, q->keys + 1, (q->n - 1) * sizeof *q->keys);
    q->n--;
    return k;
}

void vk_workqueue_free(vk_workqueue *q)
{
    for (size_t i = 0; i < q->n; i++)
        free(q->keys[i]);
    free(q->keys);
    q->keys = NULL;
    q->n = 0;
}

int vk_workqueue_add_names(void *ud, const vk_kv *kv)
{
    uint32_t id;
    const char *ns, *name;
    size_t nsl, nl;
    if (!vk_key_parse(kv->key, kv->key_len, &id, &ns, &nsl, &name, &nl))
        vk_workqueue_add(ud, name, nl);
    return 1;
}
