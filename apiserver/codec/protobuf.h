/* The Kubernetes protobuf wire format (application/vnd.kubernetes.protobuf) <-> JSON.
 *
 * One generic converter walks the protoc-c descriptors of the upstream generated.proto
 * files (compiled at build time, tools/schema.mk) together with a generated table of
 * each message's Go JSON shape (tools/pbgen): JSON name, Go struct order, pointer or
 * value, omitempty/omitzero, inline embedding. It behaves as kube's Go types do:
 *
 *  - to JSON: as if the bytes were unmarshalled into the Go struct and that struct
 *    json.Marshal'ed: keys in Go struct order, value fields that are zero and
 *    omitempty left out, pointer fields kept when set even if zero, map keys sorted,
 *    nil slices and maps without omitempty as null;
 *  - from JSON: as if json.Unmarshal'ed into the Go struct and proto-marshalled: fields
 *    in field-number order, value fields always written (zero when absent), pointer
 *    fields and slices only when present, map entries sorted by key. For canonical
 *    input the bytes equal the Go client's.
 *
 * Special types: metav1.Time (RFC 3339 seconds; nanos never written), MicroTime (six
 * fractional digits), Duration (Go duration string), resource.Quantity (string; a JSON
 * number is accepted on input), intstr.IntOrString (bare number or string),
 * RawExtension/FieldsV1/apiextensions JSON (raw JSON bytes; an enveloped protobuf
 * RawExtension decodes to its object), JSONSchemaPropsOr{Bool,Array,StringArray},
 * bytes (base64), named slices (metav1.Verbs: a message {items} on the wire, an array
 * in JSON).
 *
 * Known gaps: quantities are passed through, not canonicalised ("1000m" stays
 * "1000m"); kind/apiVersion are added only at the top level (list items get none, as
 * from kube). Every function is reentrant; nothing is global but const tables. */
#ifndef VK_CODEC_PROTOBUF_H
#define VK_CODEC_PROTOBUF_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include "common/buf.h"

/* The 4 bytes that open every non-streamed protobuf body. */
#define VK_PB_MAGIC     "k8s\0"
#define VK_PB_MAGIC_LEN 4

/* The message descriptor for group/version/kind (group "" is core; kinds not in the
 * group's package, such as Status, WatchEvent or DeleteOptions, are meta/v1's).
 * NULL when there is none. The result is static. */
const ProtobufCMessageDescriptor *vk_pb_lookup(const char *group, const char *version,
                                               const char *kind);
/* The descriptor of a full protobuf message name ("k8s.io.api.core.v1.Pod"), or NULL. */
const ProtobufCMessageDescriptor *vk_pb_lookup_name(const char *full_name);

/* Decodes raw typed bytes (no envelope) of group/version/kind into a new JSON object,
 * "apiVersion" and "kind" first. *out is a new reference the caller owns (json_decref).
 * Errors: VK_ENOTFOUND (no such kind), VK_EINVALID (malformed bytes, invalid UTF-8,
 * bad special value), -ENOMEM. On error *out is NULL. */
int vk_pb_to_json(const char *group, const char *version, const char *kind, const uint8_t *raw,
                  size_t len, json_t **out);
/* The same for a descriptor, without apiVersion/kind. */
int vk_pb_msg_to_json(const ProtobufCMessageDescriptor *desc, const uint8_t *raw, size_t len,
                      json_t **out);

/* Encodes obj (borrowed; "apiVersion", "kind" and unknown keys are ignored) as raw typed
 * bytes of group/version/kind, appended to out. Errors: VK_ENOTFOUND, VK_EINVALID (a
 * value of the wrong JSON type or out of range, bad time/duration/base64), -ENOMEM.
 * On error out is left as it was. */
int vk_pb_from_json(const char *group, const char *version, const char *kind, const json_t *obj,
                    vk_buf *out);
/* The same for a descriptor. */
int vk_pb_msg_from_json(const ProtobufCMessageDescriptor *desc, const json_t *obj, vk_buf *out);

/* Parses "k8s\0" + runtime.Unknown. *api_version and *kind are new NUL-terminated
 * strings the caller frees (free(); "" when absent); *raw points into b (borrowed, valid
 * as long as b). Errors: VK_EINVALID (no magic, malformed Unknown), -ENOMEM. On error the
 * outputs are untouched. Exactly the 4-byte magic decodes as an empty message. */
int vk_pb_envelope_decode(const uint8_t *b, size_t n, char **api_version, char **kind,
                          const uint8_t **raw, size_t *raw_len);
/* Appends "k8s\0" + Unknown{typeMeta{apiVersion, kind}, raw} to out, as kube writes it
 * (contentEncoding and contentType empty). 0 or -ENOMEM (out unchanged). */
int vk_pb_envelope_encode(const char *api_version, const char *kind, const uint8_t *raw,
                          size_t raw_len, vk_buf *out);

/* Convenience: envelope + typed bytes <-> JSON with apiVersion/kind from the envelope.
 * Errors as above; group/version come from apiVersion ("v1" is core). */
int vk_pb_decode_object(const uint8_t *b, size_t n, json_t **out);
int vk_pb_encode_object(const json_t *obj, vk_buf *out);

/* ---- The generated table (build/gen/pb_types.c); internal to the codec. ---- */

enum vk_pb_kind {
    VK_PB_K_VAL,   /* Go value (scalar or struct): always on the wire */
    VK_PB_K_PTR,   /* Go pointer: on the wire and in JSON exactly when set */
    VK_PB_K_SLICE, /* repeated */
    VK_PB_K_BYTES, /* []byte: base64 in JSON; on the wire when non-nil */
    VK_PB_K_MAP,   /* map entries */
    VK_PB_K_WRAP,  /* named slice held in a message {repeated items = 1} */
};
enum {
    VK_PB_F_OMITEMPTY = 1,
    VK_PB_F_OMITZERO = 2,
    VK_PB_F_INLINE = 4, /* embedded struct whose fields join the parent's JSON object */
    VK_PB_F_NOJSON = 8, /* json:"-" */
};
enum vk_pb_special {
    VK_PB_SP_NONE,
    VK_PB_SP_TIME,
    VK_PB_SP_MICROTIME,
    VK_PB_SP_DURATION,
    VK_PB_SP_QUANTITY,
    VK_PB_SP_INTORSTR,
    VK_PB_SP_RAWJSON,
    VK_PB_SP_PROPS_OR_BOOL,
    VK_PB_SP_PROPS_OR_ARRAY,
    VK_PB_SP_PROPS_OR_STRARRAY,
};
#define VK_PB_T_WRAPPER 1

typedef struct vk_pb_field {
    const char *json; /* NULL for inline and json:"-" */
    uint32_t num;
    uint8_t kind, flags;
} vk_pb_field;

typedef struct vk_pb_type {
    const char *name; /* full protobuf name; the table is sorted by it (strcmp) */
    const ProtobufCMessageDescriptor *desc;
    const vk_pb_field *fields; /* Go struct order; NULL: no Go type, use the descriptor */
    const uint8_t *by_num;     /* indices into fields by ascending field number */
    uint16_t nfields;
    uint8_t special, flags;
} vk_pb_type;

extern const vk_pb_type vk_pb_types[];
extern const size_t vk_pb_ntypes;

#endif
