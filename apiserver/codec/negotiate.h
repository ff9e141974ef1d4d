/* Content negotiation of replies, as kube-apiserver does it (negotiation/negotiate.go):
 * Accept clauses sorted by q, then specificity; for each clause the serializers are
 * tried in the server's order; a clause whose parameters the endpoint refuses (an
 * as=Table the resource cannot produce) is skipped, not fatal. No Accept, or a wildcard,
 * means JSON. */
#ifndef VK_CODEC_NEGOTIATE_H
#define VK_CODEC_NEGOTIATE_H

#include <stdbool.h>

enum vk_format { VK_FMT_JSON = 1, VK_FMT_PROTOBUF = 2, VK_FMT_YAML = 3 };

enum vk_as {
    VK_AS_OBJECT = 0, /* the object itself */
    VK_AS_TABLE,      /* meta.k8s.io Table */
    VK_AS_PARTIAL,    /* meta.k8s.io PartialObjectMetadata (or ...List for lists) */
};

typedef struct vk_accept {
    enum vk_format format;
    enum vk_as as;
    const char *as_version; /* "v1" or "v1beta1" for Table and PartialObjectMetadata */
} vk_accept;

/* Picks the reply format. table_ok: the endpoint can answer as=Table. list: the reply
 * is a list (PartialObjectMetadataList is then the partial kind).
 * 0, or VK_EINVALID when no clause is acceptable (406). */
int vk_negotiate(const char *accept, bool table_ok, bool list, vk_accept *out);

/* The media types the server can produce, for 406 messages. */
#define VK_ACCEPTED_MEDIA_TYPES                                                                    \
    "application/json, application/yaml, application/vnd.kubernetes.protobuf"

#define VK_MEDIA_PROTOBUF "application/vnd.kubernetes.protobuf"

#endif
