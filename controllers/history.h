/* kube's controller history (pkg/controller/history) for the controllers that record
 * their templates as ControllerRevisions (DaemonSet, StatefulSet). Loop thread only.
 *
 * A revision's data is kube's getPatch of its owner: {"spec":{"template":<template>,
 * "$patch":"replace"}} with every object's keys in order, as Go marshals maps (history
 * compares revisions by these bytes). Creates, renumbering and deletes go through the
 * registry; a create whose name is taken by a revision of other data counts a collision
 * in the owner's status.collisionCount (which changes the next name), as kube's
 * CreateControllerRevision does. Each write is followed by a reconcile of the owner. */
#ifndef VK_CONTROLLERS_HISTORY_H
#define VK_CONTROLLERS_HISTORY_H

#include <jansson.h>
#include <stdbool.h>

#include "controllers/controller.h"
#include "controllers/informer.h"

struct vk_server;

typedef struct vk_history {
    struct vk_server *s;
    const vk_resource *owner_res, *revs_res;
    vk_informer *owners, *revs;
    vk_controller *ctl;    /* the owner's reconcile */
    const char *kind;      /* the owner's kind, e.g. "DaemonSet" */
    const char *component; /* for logs */
    const bool *stopping;  /* the owner controller's flag */
    json_t *creating;      /* owner uid -> true: a revision being created */
} vk_history;

/* kube's getPatch of owner (a new object). */
json_t *vk_history_patch(const json_t *owner);
/* A revision's number. */
long long vk_history_number(const json_t *rev);
/* The revisions in owner's namespace it controls, oldest first (kube's
 * SortControllerRevisions: by number, then creation, then name); a new array of borrowed
 * informer objects. */
json_t *vk_history_owned(const vk_history *h, const json_t *owner);
/* kube's HashControllerRevision: FNV-32 of the data's bytes, then of the collision count
 * in decimal (when collisions >= 0), written with SafeEncodeString's alphabet. */
void vk_history_hash(const json_t *data, long long collisions, char out[16]);
/* kube's ControllerRevisionName: the owner's name (at most 223 bytes), "-", hash. */
void vk_history_name(const char *owner, const char *hash, char out[300]);
/* Creates a revision of owner named name with labels (taken), data and number, the
 * owner's annotations copied; one at a time per owner (false: another is in flight). */
bool vk_history_create(vk_history *h, const json_t *owner, const char *name, json_t *labels,
                       const json_t *data, long long number);
/* kube's AdoptControllerRevision for the revisions in owner's namespace without a
 * controller that its selector matches (adopted by an edit; seen once the revisions
 * informer shows them). Returns how many were asked for. */
int vk_history_adopt(vk_history *h, const json_t *owner);
/* Gives rev a new number. */
void vk_history_renumber(vk_history *h, const json_t *rev, long long number);
void vk_history_delete(vk_history *h, const json_t *rev);
/* Releases what h holds (not h). */
void vk_history_free(vk_history *h);

#endif
