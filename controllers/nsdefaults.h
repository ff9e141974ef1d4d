/* Objects every namespace has, kept there by kube-controller-manager: the `default`
 * ServiceAccount (serviceaccounts-controller) and the `kube-root-ca.crt` ConfigMap
 * with the cluster CA (root-ca-cert-publisher). One generic mechanism: a table of
 * {resource, name, the object's content}; created when missing, restored when
 * deleted or changed, in every namespace that is not being deleted. */
#ifndef VK_CONTROLLERS_NSDEFAULTS_H
#define VK_CONTROLLERS_NSDEFAULTS_H

struct vk_server;
typedef struct vk_nsdefaults vk_nsdefaults;

/* Starts; existing namespaces are brought in line. 0 or negative. */
int vk_nsdefaults_start(struct vk_server *s, vk_nsdefaults **out);
/* Stops (after the store has closed). NULL is a no-op. */
void vk_nsdefaults_free(vk_nsdefaults *c);

#endif
