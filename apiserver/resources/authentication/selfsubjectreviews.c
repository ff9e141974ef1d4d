/* authentication.k8s.io/v1 SelfSubjectReview: who the server takes the requester to be
 * (after impersonation), answered and never stored. `kubectl auth whoami` asks it. */
#include "apiserver/registry/resource.h"

static void review(vk_ctx *c, const vk_req *r, json_t *obj, vk_errlist *errs)
{
    json_t *info = json_pack("{s:s}", "username", r->user.name ? r->user.name : "");
    if (r->user.uid && *r->user.uid)
        json_object_set_new(info, "uid", json_string(r->user.uid));
    json_t *groups = json_array();
    for (const char **g = r->user.groups; g && *g; g++)
        json_array_append_new(groups, json_string(*g));
    json_object_set_new(info, "groups", groups);
    json_object_set_new(obj, "status", json_pack("{s:o}", "userInfo", info));
}

const vk_resource vk_res_selfsubjectreviews = {
    .group = "authentication.k8s.io",
    .version = "v1",
    .plural = "selfsubjectreviews",
    .review = review,
};
