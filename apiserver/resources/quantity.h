/* resource.Quantity: kube's grammar, its canonical form and the arithmetic quota and
 * scheduling need. Values are kept in thousandths (kube's MilliValue, rounded up). */
#ifndef VK_RESOURCES_QUANTITY_H
#define VK_RESOURCES_QUANTITY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum { VK_Q_DECIMAL_SI, VK_Q_BINARY_SI, VK_Q_DECIMAL_EXP } vk_qformat;

typedef struct vk_qty {
    __int128 milli; /* the value in thousandths, rounded up (kube's RoundUp(-3)) */
    vk_qformat fmt;
    bool exact; /* the value had no digits below milli */
} vk_qty;

/* Parses kube's quantity grammar; false when s is not a quantity. */
bool vk_qty_parse(const char *s, vk_qty *q);
/* The quantity in a JSON value (string or number); false when it is none. */
bool vk_qty_of(const json_t *v, vk_qty *q);
/* kube's canonical form of q (Quantity.String()). */
void vk_qty_format(const vk_qty *q, char *out, size_t n);
/* The canonical form as a new JSON string. */
json_t *vk_qty_json(const vk_qty *q);
/* a += b as kube's Quantity.Add: a zero a takes b's format. */
void vk_qty_add(vk_qty *a, const vk_qty *b);

/* A resource.Quantity ("500m", "1Gi", "2") in thousandths, rounded up as kube's
 * MilliValue; false when it does not parse. */
bool vk_quantity_milli(const char *s, long long *milli);
/* A ResourceList's quantities in kube's canonical form, rounded up to milli
 * (SetDefaults_ResourceList), in place; values that do not parse are left. */
void vk_quantities_canonical(json_t *list);
/* True when v (string or number) is a quantity in kube's grammar. */
bool vk_quantity_valid(const json_t *v);

/* A ResourceList with its quantities parsed (kube's v1.ResourceList arithmetic), in
 * the order names were first added. */
typedef struct vk_rentry {
    char *name;
    vk_qty q;
} vk_rentry;
typedef struct vk_rlist {
    vk_rentry *v;
    size_t n, cap;
} vk_rlist;

void vk_rlist_free(vk_rlist *l);
/* l[name], or NULL when absent. */
vk_qty *vk_rlist_get(const vk_rlist *l, const char *name);
/* l[name] += q (kube's quota.Add). 0 or -ENOMEM. */
int vk_rlist_add(vk_rlist *l, const char *name, const vk_qty *q);
/* l[name] = q. 0 or -ENOMEM. */
int vk_rlist_set(vk_rlist *l, const char *name, const vk_qty *q);
/* Adds every quantity of a JSON ResourceList (values that do not parse are left out). */
int vk_rlist_add_json(vk_rlist *l, const json_t *list);
/* l[name] = max(l[name], o[name]) for every name of o. */
int vk_rlist_max(vk_rlist *l, const vk_rlist *o);
/* {name: canonical quantity} in name order (a Go map's JSON), a new object. */
json_t *vk_rlist_json(const vk_rlist *l);

#endif
