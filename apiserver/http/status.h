/* Replies: Kubernetes Status errors and JSON bodies.
 *
 * Every error body the server sends comes from vk_status_new (kind, apiVersion,
 * metadata, status, message, reason, details, code in kube's key order). */
#ifndef VK_HTTP_STATUS_H
#define VK_HTTP_STATUS_H

#include <jansson.h>
#include <stdbool.h>

#include "apiserver/http/req.h"

/* A new Status object. status is "Failure" for codes >= 400, else "Success". reason may
 * be NULL (omitted); details is stolen and may be NULL (omitted). NULL on ENOMEM. */
json_t *vk_status_new(int code, const char *reason, const char *message, json_t *details);

/* Status details {name, group, kind}; empty strings and NULLs are omitted, as Go's
 * omitempty does, so all-empty gives {}. New reference. */
json_t *vk_status_details(const char *name, const char *group, const char *kind);

/* The HTTP code and Status reason for an error code (VK_E* or -errno). */
void vk_err_status(int err, int *code, const char **reason);

/* True when the reply should be indented: ?pretty=true, or a User-Agent that starts
 * with curl, Wget or Mozilla/5.0 (kube's rule). */
bool vk_want_pretty(vk_req *r);

/* Sends obj (borrowed) as JSON with the given code. Compact bodies end with a
 * newline, indented ones do not (Go's encoder and MarshalIndent). */
int vk_send_json(vk_req *r, int code, const json_t *obj, bool pretty);

/* Sends obj (borrowed; it carries kind and apiVersion) in format fmt (an enum
 * vk_format): JSON, or kube's protobuf envelope. An object the protobuf codec does
 * not know is sent as JSON. */
int vk_send_object(vk_req *r, int code, const json_t *obj, int fmt);

/* Sends a Status (stolen), as protobuf when the client prefers it: the HTTP code is its code;
 * Retry-After comes from details.retryAfterSeconds; X-Content-Type-Options: nosniff is set. */
int vk_send_status(vk_req *r, json_t *status);

/* A failure Status with a formatted message and no details. */
int vk_send_error(vk_req *r, int code, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Go's plain-text http.NotFound: "404 page not found". */
int vk_send_not_found(vk_req *r);

#endif
