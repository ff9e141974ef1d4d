/* Error codes shared by every module.
 *
 * Functions return int: 0 on success, negative on failure. System errors are -errno
 * (-ENOMEM, -EIO, ...); the codes below name the failures that the API maps to Status
 * reasons. One table (apiserver/http/status.c) turns each into an HTTP code and reason. */
#ifndef VK_COMMON_ERR_H
#define VK_COMMON_ERR_H

enum {
    VK_ENOTFOUND = -1000, /* no such key or object */
    VK_EEXIST = -1001,    /* create of a key that exists */
    VK_ECONFLICT = -1002, /* compare-and-swap saw another revision */
    VK_EINVALID = -1003,  /* malformed or invalid input */
    VK_EGONE = -1004,     /* revision below the compacted one */
    VK_EFULL = -1005,     /* storage is full and cannot grow */
    VK_ETOOLARGE = -1006, /* a size limit was exceeded */
    VK_ECLOSED = -1007,   /* the object or stream was closed */
    VK_EPROTO = -1008,    /* a peer broke the protocol */
};

/* A static, human-readable description of err (a VK_E* code or -errno). */
const char *vk_strerror(int err);

#endif
