/* vk_resource: what the generic registry needs to know about one served resource.
 *
 * The facts of every built-in resource (names, kind, scope, verbs, short names,
 * categories, subresources) come from kube's own discovery documents at build time
 * (vk_api_facts). One resource's behaviour lives in one file
 * (apiserver/resources/<group>/<plural>.c) that defines its vk_resource with the group,
 * version and plural it serves and its rules; registry.c lists them and joins them to
 * the facts. A built-in resource without such a file is served with the generic rules.
 * Generic code never compares resource names: it reads these fields. */
#ifndef VK_REGISTRY_RESOURCE_H
#define VK_REGISTRY_RESOURCE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "apiserver/http/req.h"

enum {
    VK_NAMESPACED = 1u << 0, /* a fact: set from vk_api_facts */
    /* metadata.generation is 1 on create and counts changes outside metadata and
     * status (the kinds whose kube strategy does so). */
    VK_GENERATION = 1u << 1,
    /* A kind with a status subresource whose create keeps the status it is given
     * (nodes); the others start with an empty status. */
    VK_STATUS_ON_CREATE = 1u << 2,
    /* A built-in kind not served yet (the entry says why). */
    VK_NOT_SERVED = 1u << 3,
};

/* Field errors for a 422 Invalid (kube's field.ErrorList). */
typedef struct vk_errlist {
    json_t *causes; /* array of {reason, message, field} */
} vk_errlist;

/* Adds a cause; type is kube's CauseType ("FieldValueRequired", ...), message the full
 * text ("Required value", "Invalid value: \"x\": detail"). */
void vk_errlist_add(vk_errlist *e, const char *type, const char *field, const char *message);
/* Kube's common field errors. value may be NULL for Required. */
void vk_err_required(vk_errlist *e, const char *field, const char *detail);
void vk_err_invalid(vk_errlist *e, const char *field, const json_t *value, const char *detail);

struct vk_server;

/* What a strategy sees besides the object: the server and the resource's own state
 * (vk_resource.state_new), e.g. the Service IP allocator. */
typedef struct vk_ctx {
    struct vk_server *s;
    void *state;
    const vk_user *user;   /* who asks; NULL for the server's own writes */
    const json_t *options; /* prepare_delete: the request's DeleteOptions, or NULL */
} vk_ctx;

/* Per-resource rules, in kube's order (registry/handlers.c, registry/mutate.c):
 * create = defaults, prepare_create, validate_create, claim, store (release if the store
 * fails); update = defaults, prepare_update, validate_update, store; delete = prepare_delete,
 * store, release. Every hook is optional. */
typedef struct vk_strategy {
    /* kube's SetDefaults_*: runs on every object a client writes (a create, an update,
     * the result of a patch), before prepare_create or prepare_update. Idempotent. */
    void (*defaults)(json_t *obj);
    /* Defaults and system-owned fields of a new object (status reset, ...). */
    void (*prepare_create)(vk_ctx *c, json_t *obj);
    /* Adds causes for an invalid new object. */
    void (*validate_create)(vk_ctx *c, const json_t *obj, vk_errlist *errs);
    /* Takes what the object holds from a shared pool (IPs, ports), filling in what it
     * left empty; adds causes when it cannot. Runs once the object is valid. */
    void (*claim)(vk_ctx *c, json_t *obj, vk_errlist *errs);
    /* Gives back what claim took: the create was not stored, or the object is gone. */
    void (*release)(vk_ctx *c, const json_t *obj);
    /* Fields an update may not change are copied from old (status, for kinds whose
     * status has its own subresource). */
    void (*prepare_update)(vk_ctx *c, json_t *obj, const json_t *old);
    /* Adds causes for an invalid update. */
    void (*validate_update)(vk_ctx *c, const json_t *obj, const json_t *old, vk_errlist *errs);
    /* A delete of an object that exists: may turn it into an update (kube's graceful
     * deletion: a namespace becomes Terminating). Returns true when obj must stay; may
     * refuse the delete by setting *status (when status is not NULL). */
    bool (*prepare_delete)(vk_ctx *c, json_t *obj, json_t **status);
    /* A check of the writer beyond the request's authorization, once the new object is
     * valid (kube's RBAC escalation checks); runs only for clients (c->user), and not for
     * an update that changes only ownerReferences or finalizers (the garbage collector's
     * writes). Returns a Status to refuse the write, or NULL. */
    json_t *(*admit)(vk_ctx *c, const json_t *obj);
} vk_strategy;

/* A subresource that writes part of its parent object (status, finalize): an update
 * or patch through it takes the new object, then keep() copies back from the stored one
 * what this subresource may not change. GET answers the whole object. A resource file
 * gives name and keep; the rest are facts. */
typedef struct vk_subresource {
    const char *name;
    void (*keep)(json_t *obj, const json_t *old);
    /* A subresource that answers an object of another kind (scale) has instead view(),
     * which makes that object from the stored one (a new reference, with apiVersion and
     * kind), and set(), which writes a changed one back into obj or adds causes. */
    json_t *(*view)(const json_t *obj);
    void (*set)(json_t *obj, const json_t *view, vk_errlist *errs);
    /* A subresource that is an action (pods/eviction, pods/binding) has create(): body
     * (an object of the subresource's kind, decoded and owned by the call) acts on the
     * parent ns/name; cb gets the reply object (err 0) or a Status. */
    void (*create)(vk_ctx *c, const char *ns, const char *name, json_t *body, bool dry_run,
                   void (*cb)(void *ud, int err, json_t *reply), void *ud);
    const char *group, *version, *kind; /* of the object it answers */
    const char *verbs[8];
} vk_subresource;

enum { VK_MAX_SUBRESOURCES = 12 };

/* kube's discovery facts of one built-in resource (generated from api/discovery of the
 * pinned k8s.io/kubernetes by tools/openapi; build/gen/openapi/api_resources.c). */
typedef struct vk_api_facts {
    const char *group, *version, *plural, *singular, *kind;
    const char *short_names[4];
    const char *categories[4];
    const char *verbs[10];
    bool namespaced;
    const char *storage_hash;
    struct {
        const char *name, *group, *version, *kind;
        const char *verbs[8];
    } subresources[VK_MAX_SUBRESOURCES];
} vk_api_facts;

/* Every served group-version's resources in kube's discovery order; ends with a zero
 * entry. */
extern const vk_api_facts vk_api_facts_table[];

/* keep() of a status subresource: everything but metadata and status comes from old. */
void vk_keep_all_but_status(json_t *obj, const json_t *old);

/* view() and set() of a scale subresource (autoscaling/v1 Scale over spec.replicas,
 * status.replicas and the selector; registry/scale.c). */
json_t *vk_scale_view(const json_t *obj);
void vk_scale_set(json_t *obj, const json_t *view, vk_errlist *errs);

/* A Table column: cell() returns a new reference for one object's cell; without one,
 * the cell is the value at path (dotted), or the zero of type when absent. A
 * description "@<definition>/<property>" is that field's description in the served
 * OpenAPI definitions, as kube's printers take it from SwaggerDoc(). */
typedef struct vk_column {
    const char *name, *type, *format, *description;
    int priority;
    json_t *(*cell)(const json_t *obj);
    const char *path;
} vk_column;

typedef struct vk_resource {
    const char *group, *version, *plural;
    /* Facts, filled in from vk_api_facts. */
    const char *singular, *kind;
    const char *short_names[4];
    const char *categories[4];
    const char *verbs[10];
    const char *storage_hash;
    unsigned flags;
    const vk_strategy *strategy;
    const vk_column *columns; /* NULL: kube's default Name / Created At */
    size_t ncolumns;
    /* Field selector labels besides metadata.name and metadata.namespace; each is a
     * dotted path into the object. */
    const char *field_labels[12];
    /* Subresources; an entry with a NULL name ends the list. */
    vk_subresource subresources[VK_MAX_SUBRESOURCES + 1];
    /* State kept for the resource while the server runs (built from the store at
     * start), and its destructor. Both optional. */
    void *(*state_new)(struct vk_server *s);
    void (*state_free)(void *state);
    /* The rule names must follow (vk_name_rule; 0, the default, is a DNS-1123 subdomain). */
    int name_rule;
    /* A kind that is answered, never stored (access reviews): a create fills obj's
     * status for request r, or adds causes for a 422. */
    void (*review)(vk_ctx *c, const vk_req *r, json_t *obj, vk_errlist *errs);
    /* A custom resource: what its definition says (its hooks' vk_ctx.state), and its
     * list kind (NULL: the kind + "List", as every built-in kind's). */
    void *custom;
    const char *list_kind;
} vk_resource;

/* Name rules, as kube's ValidateObjectMeta is given them per kind. */
enum vk_name_rule {
    VK_NAME_SUBDOMAIN,    /* most kinds */
    VK_NAME_LABEL,        /* namespaces */
    VK_NAME_PATH_SEGMENT, /* RBAC objects: anything a URL path segment can hold */
    VK_NAME_OWN,          /* the kind's validate_create checks the name itself */
};

/* The storage id of a resource: FNV-1a of "group/plural", stable across versions and
 * restarts (storage keys begin with it). */
uint32_t vk_resource_id(const vk_resource *r);

/* Every served resource, in discovery order; NULL-terminated. Built before main from
 * the facts and the resource files (registry.c); the resources of custom resource
 * definitions follow while they are served. The array may move when one is added:
 * keep indices below vk_builtin_count(), not pointers into it. Loop thread only. */
extern const vk_resource *const *vk_resources;
/* How many of vk_resources are built in (they come first and never change). */
size_t vk_builtin_count(void);
/* Serves r (kept by the caller until the server is freed) after the others. 0 or
 * -ENOMEM. */
int vk_resource_add(const vk_resource *r);
/* Stops serving r (added by vk_resource_add); requests already running keep it. */
void vk_resource_remove(const vk_resource *r);

/* The subresource of res called name, or NULL. */
const vk_subresource *vk_subresource_find(const vk_resource *res, const char *name);

/* The context for res's hooks on server s. */
vk_ctx vk_resource_ctx(struct vk_server *s, const vk_resource *res);

/* The resource served at group/version/plural, or NULL. */
const vk_resource *vk_resource_find(const char *group, const char *version, const char *plural);

#endif
