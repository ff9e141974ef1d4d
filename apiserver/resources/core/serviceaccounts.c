/* core/v1 ServiceAccount: no rules beyond the generic ones yet (tokens come with the
 * TokenRequest subresource); kube's printer. */
#include "apiserver/registry/common.h"
#include "apiserver/registry/resource.h"

static json_t *cell_secrets(const json_t *o)
{
    return json_integer((json_int_t)json_array_size(json_object_get(o, "secrets")));
}

static const vk_column columns[] = {
    {"Name", "string", "name", VK_DESC_NAME, 0, vk_cell_name},
    {"Secrets", "string", "", "Secrets is a list of the secrets.", 0, cell_secrets},
    {"Age", "string", "", VK_DESC_AGE, 0, vk_cell_age},
};

const vk_resource vk_res_serviceaccounts = {
    .group = "",
    .version = "v1",
    .plural = "serviceaccounts",
    .columns = columns,
    .ncolumns = sizeof columns / sizeof columns[0],
};
