/* The registry: exact type -> handler vtable. The engine asks it once per object, so a small
 * two-way set-associative cache (type pointer -> handler) sits in front of the uthash table.
 * Types with no registered handler resolve through a resolver the embedder installs (the
 * builtin handlers install one that recognises stdlib atoms and otherwise answers with the
 * generic handler, which follows stdlib's lookup order). The core never names a concrete type.
 * A registry is one interpreter's (a part of the core's state, state.h); all functions are
 * called with that interpreter's GIL held, which is what makes its cache safe. */
#ifndef COPIUM_REGISTRY_H
#define COPIUM_REGISTRY_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "gcpause.h"
#include "handler.h"

/* Decides the handler of a type that has none registered; must not return NULL or raise. data
 * is what was given to copium_registry_init. */
typedef const copium_handler *(*copium_resolver_fn)(PyTypeObject *type, void *data);

/* A decorator the embedder may install (batch/pins.c, for pinned objects): it is shown the
 * handler found for a type (registered or resolved) before that is cached, and may hand out
 * another in its place; the registration table itself never holds what it returns. It must
 * not fail or run Python code. copium_registry_invalidate() makes every type ask it again. */
typedef const copium_handler *(*copium_decorator_fn)(PyTypeObject *type, const copium_handler *h,
                                                     void *data);

/* Two-way set-associative: a pair of entries per set, the most recently resolved type first,
 * so two types whose addresses map to the same set (say list and a plugin's type in one hot
 * loop) do not evict each other on every object. */
#define COPIUM_REGISTRY_CACHE_SIZE 256

typedef struct {
    PyTypeObject *type;
    const copium_handler *handler;
} copium_registry_cache_entry;

typedef struct copium_registration copium_registration;

typedef struct copium_registry {
    /* First, so that a lookup reaches it at the registry's own address. */
    copium_registry_cache_entry cache[COPIUM_REGISTRY_CACHE_SIZE];
    /* How many lookups have missed the cache: a caller that must know whether its lookup may
     * have run code (a resolver's) compares it before and after. */
    uint64_t misses;
    copium_registration *table; /* uthash */
    copium_resolver_fn resolver;
    void *resolver_data;
    const copium_handler *default_handler;
    copium_decorator_fn decorator;
    void *decorator_data;
    copium_gcpause *gc; /* paused collector ended on a miss (a resolver may run code); or NULL */
    int oom;            /* uthash's allocation failure flag */
} copium_registry;

/* Make reg empty (its memory zeroed by the caller or not) with its resolver and the handler
 * used for a NULL deepcopy/copy function. gc may be NULL. 0. */
int copium_registry_init(copium_registry *reg, copium_resolver_fn resolver, void *resolver_data,
                         const copium_handler *default_handler, copium_gcpause *gc);
/* Drop every registration (and the references it holds). */
void copium_registry_fini(copium_registry *reg);
/* Visit the references registrations hold (for the module's m_traverse). */
int copium_registry_traverse(copium_registry *reg, visitproc visit, void *arg);

/* Register handler for exactly type (subclasses are not covered). An existing registration
 * for type is replaced. The registry keeps its own copy of the struct, normalised to this
 * version's layout (a smaller, older struct is zero-extended), so the caller's struct need not
 * outlive the call; the name it points to must. Returns 0, or -1 with TypeError, ValueError
 * or MemoryError set. */
int copium_registry_register(copium_registry *reg, PyTypeObject *type,
                             const copium_handler *handler);

/* The same, keeping a reference to owner (a Python handler's callable, say) for as long as the
 * registration lasts. owner may be NULL. */
int copium_registry_register_owned(copium_registry *reg, PyTypeObject *type,
                                   const copium_handler *handler, PyObject *owner);

/* Returns 1 if a registration was removed, 0 if there was none. */
int copium_registry_unregister(copium_registry *reg, PyTypeObject *type);

/* The handler registered for exactly type, or NULL (no cache, no resolver). The pointer is
 * valid until the registration changes (registration, unregistration, or any Python code
 * that might do either). */
const copium_handler *copium_registry_find(copium_registry *reg, PyTypeObject *type);

/* The handler used for a NULL deepcopy/copy function: stdlib's protocol. */
static inline const copium_handler *copium_registry_default(const copium_registry *reg)
{
    return reg->default_handler;
}

/* Calls fn for every registration until it returns non-zero (which is then returned). */
int copium_registry_foreach(copium_registry *reg,
                            int (*fn)(PyTypeObject *type, const copium_handler *h, void *arg),
                            void *arg);

/* Forget every cached resolution (after something the resolver depends on changed). */
void copium_registry_invalidate(copium_registry *reg);

/* Install the decorator (copium_decorator_fn); NULL removes it. */
void copium_registry_set_decorator(copium_registry *reg, copium_decorator_fn fn, void *data);
/* Forget the cached resolution of type alone (a SELF_CHECKED handler that found a type it
 * does not serve, so that the resolver is asked again). */
void copium_registry_forget(copium_registry *reg, PyTypeObject *type);

const copium_handler *copium_registry_resolve(copium_registry *reg, PyTypeObject *type);

/* The first entry of type's set: Fibonacci hashing of the address, top bits, even index. */
static inline copium_registry_cache_entry *copium_registry_cache_set(copium_registry *reg,
                                                                     PyTypeObject *type)
{
    uint64_t h = (uint64_t)(uintptr_t)type * 0x9E3779B97F4A7C15ULL;
    return &reg->cache[(size_t)(h >> 56) & (COPIUM_REGISTRY_CACHE_SIZE - 2)];
}

/* The handler the cache holds for type, or NULL when it holds none (nothing is resolved). */
static inline const copium_handler *copium_registry_cached(copium_registry *reg, PyTypeObject *type)
{
    copium_registry_cache_entry *set = copium_registry_cache_set(reg, type);
    if (set[0].type == type)
        return set[0].handler;
    if (set[1].type == type)
        return set[1].handler;
    return NULL;
}

/* The handler for type: registered, resolved, never NULL. */
static inline const copium_handler *copium_registry_lookup(copium_registry *reg, PyTypeObject *type)
{
    copium_registry_cache_entry *set = copium_registry_cache_set(reg, type);
    if (set[0].type == type)
        return set[0].handler;
    if (set[1].type == type)
        return set[1].handler;
    return copium_registry_resolve(reg, type);
}

#endif
