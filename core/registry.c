/* The registry (see registry.h): a uthash table of registrations keyed by type pointer, each
 * holding a strong reference to its type so that the address cannot be reused while it is
 * registered, and a two-way set-associative cache in front. */
#include "registry.h"

#include "compat.h"
#include "gcpause.h"

#include <string.h>

/* Every function that adds to a table names its registry `reg`. */
#define HASH_NONFATAL_OOM        1
#define uthash_nonfatal_oom(obj) (reg->oom = 1)
#define uthash_malloc(sz)        PyMem_Malloc(sz)
#define uthash_free(ptr, sz)     PyMem_Free(ptr)
#include <uthash.h>

struct copium_registration {
    PyTypeObject *type; /* key; strong reference */
    copium_handler handler;
    PyObject *owner; /* strong reference or NULL */
    UT_hash_handle hh;
};
typedef copium_registration registration;

int copium_registry_init(copium_registry *reg, copium_resolver_fn resolve, void *resolver_data,
                         const copium_handler *dflt, copium_gcpause *gc)
{
    memset(reg, 0, sizeof(*reg));
    reg->resolver = resolve;
    reg->resolver_data = resolver_data;
    reg->default_handler = dflt;
    reg->gc = gc;
    return 0;
}

void copium_registry_fini(copium_registry *reg)
{
    registration *r, *tmp;
    HASH_ITER(hh, reg->table, r, tmp)
    {
        HASH_DEL(reg->table, r);
        Py_DECREF(r->type);
        Py_XDECREF(r->owner);
        PyMem_Free(r);
    }
    reg->resolver = NULL;
    reg->decorator = NULL;
    copium_registry_invalidate(reg);
}

int copium_registry_traverse(copium_registry *reg, visitproc visit, void *arg)
{
    registration *r, *tmp;
    HASH_ITER(hh, reg->table, r, tmp)
    {
        Py_VISIT(r->type);
        Py_VISIT(r->owner);
    }
    return 0;
}

void copium_registry_invalidate(copium_registry *reg)
{
    memset(reg->cache, 0, sizeof(reg->cache));
}

void copium_registry_forget(copium_registry *reg, PyTypeObject *type)
{
    copium_registry_cache_entry *set = copium_registry_cache_set(reg, type);
    if (set[1].type == type)
        set[1].type = NULL;
    if (set[0].type == type) {
        set[0] = set[1];
        set[1].type = NULL;
    }
}

static int check_handler(const copium_handler *h)
{
    if (h == NULL) {
        PyErr_SetString(PyExc_ValueError, "copium: handler is NULL");
        return -1;
    }
    if (h->struct_size < COPIUM_HANDLER_MIN_SIZE) {
        PyErr_Format(PyExc_ValueError,
                     "copium: handler struct_size %zu is smaller than the first published "
                     "layout (%zu bytes): rebuild the plugin against copium's header",
                     h->struct_size, (size_t)COPIUM_HANDLER_MIN_SIZE);
        return -1;
    }
    if (h->flags & ~(COPIUM_HANDLER_KNOWN_FLAGS | COPIUM_HANDLER_INTERNAL_FLAGS)) {
        PyErr_Format(
            PyExc_ValueError,
            "copium: handler '%s' has unknown flag bits 0x%x: it needs a newer copium",
            h->name ? h->name : "?",
            (unsigned)(h->flags & ~(COPIUM_HANDLER_KNOWN_FLAGS | COPIUM_HANDLER_INTERNAL_FLAGS)));
        return -1;
    }
    if (h->name == NULL) {
        PyErr_SetString(PyExc_ValueError, "copium: handler has no name");
        return -1;
    }
    return 0;
}

int copium_registry_register_owned(copium_registry *reg, PyTypeObject *type,
                                   const copium_handler *handler, PyObject *owner)
{
    if (type == NULL || !PyType_Check((PyObject *)type)) {
        PyErr_SetString(PyExc_TypeError, "copium: a handler can only be registered for a type");
        return -1;
    }
    if (check_handler(handler) < 0)
        return -1;
    copium_handler copy = {0};
    memcpy(&copy, handler,
           handler->struct_size < sizeof(copy) ? handler->struct_size : sizeof(copy));
    copy.struct_size = sizeof(copy);

    PyObject *old_owner = NULL;
    registration *r;
    HASH_FIND_PTR(reg->table, &type, r);
    if (r != NULL) {
        old_owner = r->owner;
    } else {
        r = PyMem_Malloc(sizeof(*r));
        if (r == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        r->type = type;
        reg->oom = 0;
        HASH_ADD_PTR(reg->table, type, r);
        if (reg->oom) {
            PyMem_Free(r);
            PyErr_NoMemory();
            return -1;
        }
        Py_INCREF(type);
    }
    r->handler = copy;
    r->owner = Py_XNewRef(owner);
    copium_registry_invalidate(reg);
    Py_XDECREF(old_owner); /* last: it may run code that changes the registry */
    return 0;
}

int copium_registry_register(copium_registry *reg, PyTypeObject *type,
                             const copium_handler *handler)
{
    return copium_registry_register_owned(reg, type, handler, NULL);
}

int copium_registry_unregister(copium_registry *reg, PyTypeObject *type)
{
    registration *r;
    HASH_FIND_PTR(reg->table, &type, r);
    if (r == NULL)
        return 0;
    HASH_DEL(reg->table, r);
    copium_registry_invalidate(reg);
    PyObject *owner = r->owner;
    PyMem_Free(r);
    Py_DECREF(type);
    Py_XDECREF(owner);
    return 1;
}

const copium_handler *copium_registry_find(copium_registry *reg, PyTypeObject *type)
{
    registration *r;
    HASH_FIND_PTR(reg->table, &type, r);
    return r ? &r->handler : NULL;
}

int copium_registry_foreach(copium_registry *reg,
                            int (*fn)(PyTypeObject *, const copium_handler *, void *), void *arg)
{
    registration *r, *tmp;
    HASH_ITER(hh, reg->table, r, tmp)
    {
        int rc = fn(r->type, &r->handler, arg);
        if (rc != 0)
            return rc;
    }
    return 0;
}

void copium_registry_set_decorator(copium_registry *reg, copium_decorator_fn fn, void *data)
{
    reg->decorator = fn;
    reg->decorator_data = data;
    copium_registry_invalidate(reg);
}

/* Out of line (also under LTO): the inline lookup's callers stay small. */
COPIUM_NOINLINE const copium_handler *copium_registry_resolve(copium_registry *reg,
                                                              PyTypeObject *type)
{
    reg->misses++;
    if (reg->gc != NULL)
        copium_gc_resume(reg->gc); /* a resolver may run Python code */
    const copium_handler *h = copium_registry_find(reg, type);
    const copium_handler *default_handler = reg->default_handler;
    int cache = 1;
    if (h == NULL) {
        h = reg->resolver ? reg->resolver(type, reg->resolver_data) : default_handler;
        /* A type the resolver claims is registered, so that the registry holds it alive: a
         * cache entry for a dead type whose address a new type reuses must only ever say
         * "default handler", which is right for any type. A SELF_CHECKED handler is right for
         * any type too (it recognises its own types and defers the rest to the default), so
         * its types are only cached, and may die (classes made at run time). */
        if (h != default_handler && !(h->flags & COPIUM_HANDLER_SELF_CHECKED) &&
            copium_registry_register(reg, type, h) < 0) {
            PyErr_Clear(); /* out of memory: use it uncached this time */
            cache = 0;
        }
    }
    if (reg->decorator != NULL)
        h = reg->decorator(type, h, reg->decorator_data);
    if (!cache)
        return h;
    copium_registry_cache_entry *set = copium_registry_cache_set(reg, type);
    set[1] = set[0];
    set[0].type = type;
    set[0].handler = h;
    return h;
}
