/* The builtin handlers: one vtable per kind of object, each in its own file, registered with
 * the core's registry through the same copium_handler type plugins use. This header is what
 * the module glue needs: install them all, keep them in step with stdlib's tables, and the
 * vtables themselves (for tests and for copium.handlers()). */
#ifndef COPIUM_HANDLERS_H
#define COPIUM_HANDLERS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#include "../core/handler.h"

/* Atoms: deepcopy and copy return the object itself (atomic.c). */
extern const copium_handler copium_atomic_handler;
/* Atoms of stdlib's own deepcopy table (3.14: copy._atomic_types). */
extern const copium_handler copium_stdlib_atomic_handler;
/* Shallow copy returns itself, deep copy takes stdlib's protocol path (tuple-like: slice). */
extern const copium_handler copium_immutable_handler;

extern const copium_handler copium_list_handler;      /* list.c */
extern const copium_handler copium_tuple_handler;     /* tuple.c */
extern const copium_handler copium_dict_handler;      /* dict.c */
extern const copium_handler copium_set_handler;       /* set.c */
extern const copium_handler copium_frozenset_handler; /* set.c */
extern const copium_handler copium_bytearray_handler; /* bytearray.c */
extern const copium_handler copium_method_handler;    /* method.c */
#if PY_VERSION_HEX >= 0x030F0000
extern const copium_handler copium_frozendict_handler; /* frozendict.c */
#endif

/* The handler for one of the datetime module's C types (datetime.c), imported on first use;
 * NULL for any other type. Never fails. */
const copium_handler *copium_datetime_handler_for(PyTypeObject *type);
/* 1 when h (a registry copy) is one of those handlers. */
int copium_datetime_is_handler(const copium_handler *h);

/* The handler for uuid.UUID (uuid.c) when the uuid module defines its copy route as stdlib
 * ships it; NULL otherwise. Never fails. */
const copium_handler *copium_uuid_handler_for(PyTypeObject *type);
int copium_uuid_is_handler(const copium_handler *h);

/* For the plan (batch/plan.c): value types whose copy a snapshot rebuilds natively. A
 * rebuild makes the copy from a source object (one that stays as the original is now) and the
 * copy of at most one child (NULL when there is none): a new reference, or NULL with an
 * exception. A recipe function answers, for obj and h (obj's handler from the registry): 1
 * with *rebuild, a new reference in *source and the child (borrowed, or NULL) in *child when
 * h would copy obj natively; 0 when h is not its handler or obj takes stdlib's path; -1 with
 * an exception when the source could not be made. */
typedef PyObject *(*copium_rebuild_fn)(PyObject *source, PyObject *child_copy);
int copium_datetime_recipe(const copium_handler *h, PyObject *obj, copium_rebuild_fn *rebuild,
                           PyObject **source, PyObject **child);
int copium_uuid_recipe(const copium_handler *h, PyObject *obj, copium_rebuild_fn *rebuild,
                       PyObject **source, PyObject **child);
/* The handler for pydantic v2 model classes (pydantic.c) that keep pydantic's own
 * __deepcopy__ / __copy__, for the pydantic versions it knows; NULL for any other type.
 * Never fails, never imports pydantic. Its types are cached, not registered (SELF_CHECKED). */
const copium_handler *copium_pydantic_handler_for(PyTypeObject *type);
int copium_pydantic_is_handler(const copium_handler *h);
void copium_pydantic_clear_cache(void);

/* Stdlib's lookup order for every type without a handler of its own (generic.c):
 * copy._deepcopy_dispatch, classes as atoms, __deepcopy__ / __copy__, copyreg.dispatch_table,
 * __reduce_ex__(4), __reduce__, then the reduce protocol (reduce.c) or, for instances whose
 * type keeps the default protocol, the native object path (object.c). */
extern const copium_handler copium_generic_handler;

/* Register a Python callable fn(obj, memo) -> copy for exactly type (pycallable.c).
 * 0, or -1 with TypeError set. */
int copium_register_callable(PyTypeObject *type, PyObject *fn);

/* 1 when type is served by the handler copium installs for it (a builtin or a recognised
 * stdlib type), so that there is nothing a user registration would give back. */
int copium_handlers_is_builtin(PyTypeObject *type);

/* Remove a registration made for type (plugin or Python handler): 1 when one was removed, 0
 * when there was none. A builtin handler is never removed (0); one that was replaced is
 * restored by removing its replacement. */
int copium_handlers_unregister(PyTypeObject *type);

/* Import what the handlers need (copy, copyreg), register every builtin handler and install
 * the resolver. Returns 0, or -1 with an exception set. */
int copium_handlers_install(void);
void copium_handlers_fini(void);

/* What copium_handlers_sync compares on every call (owned by stdlib.c): from 3.12 a flag the
 * dict watcher sets; before, the ma_version_tag of each watched dict, read through pointers
 * fixed at the last sync (to a constant when a binding is not a dict), so that the check is
 * five loads and compares with no type tests. */
typedef struct {
#if PY_VERSION_HEX >= 0x030C0000
    int dirty; /* a watched dict changed since the last sync (or no watcher could be had) */
#else
    const uint64_t *live[5]; /* &dict->ma_version_tag of each watched dict */
    uint64_t seen[5];        /* their values at the last sync */
#endif
} copium_stdlib_watch_t;
extern copium_stdlib_watch_t copium_stdlib_watch;

/* 1 when nothing stdlib's copy functions look at changed since the last sync. */
static inline int copium_stdlib_fresh(void)
{
#if PY_VERSION_HEX >= 0x030C0000
    return !copium_stdlib_watch.dirty;
#else
    const copium_stdlib_watch_t *w = &copium_stdlib_watch;
    return ((*w->live[0] ^ w->seen[0]) | (*w->live[1] ^ w->seen[1]) | (*w->live[2] ^ w->seen[2]) |
            (*w->live[3] ^ w->seen[3]) | (*w->live[4] ^ w->seen[4])) == 0;
#endif
}

/* The work of copium_handlers_sync once something changed (stdlib.c). */
int copium_handlers_resync(void);

/* Called before each top-level copy: if a program changed copy._deepcopy_dispatch,
 * copy._copy_dispatch or copyreg.dispatch_table for a type that has a builtin handler, stdlib
 * would now do something else for it, so that handler steps aside. Cheap when nothing changed.
 * Returns 0, or -1 with an exception set. */
static inline int copium_handlers_sync(void)
{
    return copium_stdlib_fresh() ? 0 : copium_handlers_resync();
}

#endif
