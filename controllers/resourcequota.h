/* The resource quota controller (kube's pkg/controller/resourcequota): every
 * ResourceQuota's status.hard and status.used kept current. Loop thread only. */
#ifndef VK_CONTROLLERS_RESOURCEQUOTA_H
#define VK_CONTROLLERS_RESOURCEQUOTA_H

struct vk_server;
typedef struct vk_quota_ctl vk_quota_ctl;

/* Starts; every existing quota is recalculated. 0 or negative. */
int vk_quota_ctl_start(struct vk_server *s, vk_quota_ctl **out);
/* Stops. NULL is a no-op. */
void vk_quota_ctl_free(vk_quota_ctl *c);

#endif
