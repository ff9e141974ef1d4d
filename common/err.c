#include "common/err.h"

#include <string.h>

const char *vk_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
    case VK_ENOTFOUND:
        return "not found";
    case VK_EEXIST:
        return "already exists";
    case VK_ECONFLICT:
        return "conflict";
    case VK_EINVALID:
        return "invalid";
    case VK_EGONE:
        return "gone";
    case VK_EFULL:
        return "storage full";
    case VK_ETOOLARGE:
        return "too large";
    case VK_ECLOSED:
        return "closed";
    case VK_EPROTO:
        return "protocol error";
    default:
        return err < 0 && err > -4096 ? strerror(-err) : "unknown error";
    }
}
