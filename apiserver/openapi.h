/* OpenAPI documents: GET /openapi/v2, /openapi/v3 and /openapi/v3/<group-version>, as
 * kube-apiserver serves them (kube-openapi's handler and handler3).
 *
 * The documents are build outputs: tools/openapi.mk fetches the pinned k8s.io/kubernetes
 * module, tools/openapi keeps the served group-versions (OPENAPI_GVS), re-encodes each
 * document as kube does, hashes it (uppercase hex SHA-512 of the JSON, kube's ETag),
 * converts it to gnostic protobuf, gzips everything and writes one C table,
 * vk_openapi_generated. Nothing is computed at start: the table is immutable data, and a
 * reply is either the stored gzip bytes (Content-Encoding: gzip, for clients that accept
 * it; client-go always does) or the same bytes inflated for that one request.
 *
 * The documents describe every resource of the served group-versions, including ones
 * vkube does not serve yet; clients look schemas up by group/version/kind, so that only
 * matters to a client that reads the paths. */
#ifndef VK_OPENAPI_H
#define VK_OPENAPI_H

#include <stddef.h>

#include "apiserver/http/req.h"

/* One encoding of a document: gzip bytes and the inflated length. gz is NULL when the
 * build did not generate that encoding. */
typedef struct vk_openapi_blob {
    const unsigned char *gz;
    size_t gz_len;
    size_t len;
} vk_openapi_blob;

typedef struct vk_openapi_doc {
    const char *key;  /* v3 path without the leading slash ("api/v1", "apis/apps/v1"); "" else */
    const char *hash; /* uppercase hex SHA-512 of the JSON: the ETag (quoted) and ?hash= */
    vk_openapi_blob json;
    vk_openapi_blob pb; /* gnostic openapi.v2.Document / openapi.v3.Document */
} vk_openapi_doc;

typedef struct vk_openapi_set {
    const vk_openapi_doc *v3; /* sorted by key (strcmp) */
    size_t nv3;
    vk_openapi_doc v3_root; /* {"paths":{...}} */
    vk_openapi_doc v2;
} vk_openapi_set;

/* The generated table (build/gen/openapi/openapi_data.c). */
extern const vk_openapi_set vk_openapi_generated;

/* The v3 document with that key, or NULL. */
const vk_openapi_doc *vk_openapi_v3_find(const vk_openapi_set *s, const char *key);

/* Inflates b into out, which has room for b->len bytes. 0, or -1 when the data is bad. */
int vk_openapi_inflate(const vk_openapi_blob *b, unsigned char *out);

/* The description of a field in the served OpenAPI definitions, by reference
 * "<definition>/<property>" ("io.k8s.api.batch.v1.CronJobSpec/timeZone"), as kube's
 * SwaggerDoc() gives it; "" when there is none. Looked up once (the v2 document is
 * inflated and the one definition parsed), then kept. */
const char *vk_openapi_description(const char *ref);

/* Route handlers: "/openapi/v2" (exact) and "/openapi/v3" (the root and everything
 * under it). */
void vk_openapi_v2_handle(vk_req *r);
void vk_openapi_v3_handle(vk_req *r);

#endif
