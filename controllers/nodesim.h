/* Simulated nodes (standalone mode): Nodes that are Ready, their heartbeat Leases, and a
 * stand-in for each node's kubelet that reports the status of the pods bound to it. It
 * is a simulation and says so: the container runtime is "vkube-sim", no container
 * runs, pods/log has no output. Loop thread only. */
#ifndef VK_CONTROLLERS_NODESIM_H
#define VK_CONTROLLERS_NODESIM_H

#include "controllers/informer.h"

struct vk_server;
typedef struct vk_nodesim vk_nodesim;

/* Registers n nodes (<cluster>-node-1 ... n; kept across restarts) and simulates them,
 * reading pods through the shared pods informer. 0 or -ENOMEM. */
int vk_nodesim_start(struct vk_server *s, int n, vk_informer *pods, vk_nodesim **out);
void vk_nodesim_free(vk_nodesim *sim);

/* The name of simulated node i (0-based) into out. */
void vk_nodesim_name(const struct vk_server *s, int i, char *out, size_t n);

#endif
