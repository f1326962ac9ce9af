/* The registry (see registry.h): a uthash table of registrations keyed by type pointer, each
 * holding a strong reference to its type so that the address cannot be reused while it is
 * registered, and a direct-mapped cache in front. */
#include "registry.h"

#include "compat.h"
#include "gcpause.h"

#include <string.h>

static int oom_flag;
#define HASH_NONFATAL_OOM        1
#define uthash_nonfatal_oom(obj) (oom_flag = 1)
#define uthash_malloc(sz)        PyMem_Malloc(sz)
#define uthash_free(ptr, sz)     PyMem_Free(ptr)
#include <uthash.h>

typedef struct {
    PyTypeObject *type; /* key; strong reference */
    copium_handler handler;
    PyObject *owner; /* strong reference or NULL */
    UT_hash_handle hh;
} registration;

copium_registry_cache_entry copium_registry_cache[COPIUM_REGISTRY_CACHE_SIZE];

static registration *table;
static copium_resolver_fn resolver;
static const copium_handler *default_handler;
static copium_decorator_fn decorator;
static void *decorator_data;

int copium_registry_init(copium_resolver_fn resolve, const copium_handler *dflt)
{
    resolver = resolve;
    default_handler = dflt;
    copium_registry_invalidate();
    return 0;
}

void copium_registry_fini(void)
{
    registration *r, *tmp;
    HASH_ITER(hh, table, r, tmp)
    {
        HASH_DEL(table, r);
        Py_DECREF(r->type);
        Py_XDECREF(r->owner);
        PyMem_Free(r);
    }
    resolver = NULL;
    copium_registry_invalidate();
}

void copium_registry_invalidate(void)
{
    memset(copium_registry_cache, 0, sizeof(copium_registry_cache));
}

void copium_registry_forget(PyTypeObject *type)
{
    copium_registry_cache_entry *set = copium_registry_cache_set(type);
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

int copium_registry_register_owned(PyTypeObject *type, const copium_handler *handler,
                                   PyObject *owner)
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
    HASH_FIND_PTR(table, &type, r);
    if (r != NULL) {
        old_owner = r->owner;
    } else {
        r = PyMem_Malloc(sizeof(*r));
        if (r == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        r->type = type;
        oom_flag = 0;
        HASH_ADD_PTR(table, type, r);
        if (oom_flag) {
            PyMem_Free(r);
            PyErr_NoMemory();
            return -1;
        }
        Py_INCREF(type);
    }
    r->handler = copy;
    r->owner = Py_XNewRef(owner);
    copium_registry_invalidate();
    Py_XDECREF(old_owner); /* last: it may run code that changes the registry */
    return 0;
}

int copium_registry_register(PyTypeObject *type, const copium_handler *handler)
{
    return copium_registry_register_owned(type, handler, NULL);
}

int copium_registry_unregister(PyTypeObject *type)
{
    registration *r;
    HASH_FIND_PTR(table, &type, r);
    if (r == NULL)
        return 0;
    HASH_DEL(table, r);
    copium_registry_invalidate();
    PyObject *owner = r->owner;
    PyMem_Free(r);
    Py_DECREF(type);
    Py_XDECREF(owner);
    return 1;
}

const copium_handler *copium_registry_find(PyTypeObject *type)
{
    registration *r;
    HASH_FIND_PTR(table, &type, r);
    return r ? &r->handler : NULL;
}

const copium_handler *copium_registry_default(void)
{
    return default_handler;
}

int copium_registry_foreach(int (*fn)(PyTypeObject *, const copium_handler *, void *), void *arg)
{
    registration *r, *tmp;
    HASH_ITER(hh, table, r, tmp)
    {
        int rc = fn(r->type, &r->handler, arg);
        if (rc != 0)
            return rc;
    }
    return 0;
}

void copium_registry_set_decorator(copium_decorator_fn fn, void *data)
{
    decorator = fn;
    decorator_data = data;
    copium_registry_invalidate();
}

uint64_t copium_registry_misses;

/* Out of line (also under LTO): the inline lookup's callers stay small. */
COPIUM_NOINLINE const copium_handler *copium_registry_resolve(PyTypeObject *type)
{
    copium_registry_misses++;
    copium_gc_resume(); /* a resolver may run Python code */
    const copium_handler *h = copium_registry_find(type);
    int cache = 1;
    if (h == NULL) {
        h = resolver ? resolver(type) : default_handler;
        /* A type the resolver claims is registered, so that the registry holds it alive: a
         * cache entry for a dead type whose address a new type reuses must only ever say
         * "default handler", which is right for any type. A SELF_CHECKED handler is right for
         * any type too (it recognises its own types and defers the rest to the default), so
         * its types are only cached, and may die (classes made at run time). */
        if (h != default_handler && !(h->flags & COPIUM_HANDLER_SELF_CHECKED) &&
            copium_registry_register(type, h) < 0) {
            PyErr_Clear(); /* out of memory: use it uncached this time */
            cache = 0;
        }
    }
    if (decorator != NULL)
        h = decorator(type, h, decorator_data);
    if (!cache)
        return h;
    copium_registry_cache_entry *set = copium_registry_cache_set(type);
    set[1] = set[0];
    set[0].type = type;
    set[0].handler = h;
    return h;
}
