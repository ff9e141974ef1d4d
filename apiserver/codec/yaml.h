/* YAML bodies, both ways, as kube's YAML serializer (sigs.k8s.io/yaml over yaml.v2)
 * treats them: a request body is read as YAML 1.1 and turned into JSON (plain scalars
 * resolve to null, booleans including yes/no/on/off, integers and floats; quoted ones
 * stay strings); a reply is the JSON object written as block YAML with keys in sorted
 * order and strings quoted where they would read back as something else. */
#ifndef VK_CODEC_YAML_H
#define VK_CODEC_YAML_H

#include <jansson.h>
#include <stddef.h>

#include "common/buf.h"

#define VK_MEDIA_YAML "application/yaml"

/* The first document of data, or NULL with a message in err (a syntax error, an alias,
 * a document nested deeper than kube allows). New reference. */
json_t *vk_yaml_to_json(const char *data, size_t len, char *err, size_t errlen);

/* Appends obj as a YAML document. 0 or negative. */
int vk_json_to_yaml(const json_t *obj, vk_buf *out);

#endif
