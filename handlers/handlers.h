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
#include "../protocol/state.h"

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
const copium_handler *copium_datetime_handler_for(copium_protocol *P, PyTypeObject *type);
/* 1 when h (a registry copy) is one of those handlers. */
int copium_datetime_is_handler(const copium_handler *h);

/* The handler for uuid.UUID (uuid.c) when the uuid module defines its copy route as stdlib
 * ships it; NULL otherwise. Never fails. */
const copium_handler *copium_uuid_handler_for(copium_protocol *P, PyTypeObject *type);
int copium_uuid_is_handler(const copium_handler *h);

/* For the plan (batch/plan.c): value types whose copy a snapshot rebuilds natively. A
 * rebuild makes the copy from a source object (one that stays as the original is now) and the
 * copy of at most one child (NULL when there is none): a new reference, or NULL with an
 * exception. A recipe function answers, for obj and h (obj's handler from the registry): 1
 * with *rebuild, a new reference in *source and the child (borrowed, or NULL) in *child when
 * h would copy obj natively; 0 when h is not its handler or obj takes stdlib's path; -1 with
 * an exception when the source could not be made. */
typedef PyObject *(*copium_rebuild_fn)(PyObject *source, PyObject *child_copy);
int copium_datetime_recipe(copium_protocol *P, const copium_handler *h, PyObject *obj,
                           copium_rebuild_fn *rebuild, PyObject **source, PyObject **child);
int copium_uuid_recipe(copium_protocol *P, const copium_handler *h, PyObject *obj,
                       copium_rebuild_fn *rebuild, PyObject **source, PyObject **child);
/* The handler for pydantic v2 model classes (pydantic.c) that keep pydantic's own
 * __deepcopy__ / __copy__, for the pydantic versions it knows; NULL for any other type.
 * Never fails, never imports pydantic. Its types are cached, not registered (SELF_CHECKED). */
const copium_handler *copium_pydantic_handler_for(copium_protocol *P, PyTypeObject *type);
int copium_pydantic_is_handler(const copium_handler *h);
/* The per-interpreter caches of pydantic.c, object.c, uuid.c and dict.c, made at install and freed
 * at finalisation. 0, or -1 with MemoryError. */
int copium_pydantic_cache_init(copium_protocol *P);
void copium_pydantic_cache_fini(copium_protocol *P);
int copium_object_cache_init(copium_protocol *P);
void copium_object_cache_fini(copium_protocol *P);
int copium_uuid_facts_init(copium_protocol *P);
void copium_uuid_facts_fini(copium_protocol *P);
int copium_dict_sizes_init(copium_protocol *P);
void copium_dict_sizes_fini(copium_protocol *P);

/* Stdlib's lookup order for every type without a handler of its own (generic.c):
 * copy._deepcopy_dispatch, classes as atoms, __deepcopy__ / __copy__, copyreg.dispatch_table,
 * __reduce_ex__(4), __reduce__, then the reduce protocol (reduce.c) or, for instances whose
 * type keeps the default protocol, the native object path (object.c). */
extern const copium_handler copium_generic_handler;

/* Register a Python callable fn(obj, memo) -> copy for exactly type (pycallable.c).
 * 0, or -1 with TypeError set. */
int copium_register_callable(copium_protocol *P, PyTypeObject *type, PyObject *fn);

/* 1 when type is served by the handler copium installs for it (a builtin or a recognised
 * stdlib type), so that there is nothing a user registration would give back. */
int copium_handlers_is_builtin(copium_protocol *P, PyTypeObject *type);

/* Remove a registration made for type (plugin or Python handler): 1 when one was removed, 0
 * when there was none. A builtin handler is never removed (0); one that was replaced is
 * restored by removing its replacement. */
int copium_handlers_unregister(copium_protocol *P, PyTypeObject *type);

/* Set up P and core (memory owned by the caller, the module's state): import what the
 * handlers need (copy, copyreg), make core the interpreter's with the resolver, and register
 * every builtin handler. Returns 0, or -1 with an exception set (copium_handlers_fini then
 * undoes what was done). */
int copium_handlers_install(copium_protocol *P, copium_core *core);
void copium_handlers_fini(copium_protocol *P);
/* Visit the Python objects P and its core hold (for the module's m_traverse). */
int copium_handlers_traverse(copium_protocol *P, visitproc visit, void *arg);

/* 1 when nothing stdlib's copy functions look at changed since the last sync. */
static inline int copium_stdlib_fresh(const copium_protocol *P)
{
#if PY_VERSION_HEX >= 0x030C0000
    return !P->watch.dirty;
#else
    const copium_stdlib_watch_t *w = &P->watch;
    return ((*w->live[0] ^ w->seen[0]) | (*w->live[1] ^ w->seen[1]) | (*w->live[2] ^ w->seen[2]) |
            (*w->live[3] ^ w->seen[3]) | (*w->live[4] ^ w->seen[4])) == 0;
#endif
}

/* The work of copium_handlers_sync once something changed (stdlib.c). */
int copium_handlers_resync(copium_protocol *P);

/* Called before each top-level copy: if a program changed copy._deepcopy_dispatch,
 * copy._copy_dispatch or copyreg.dispatch_table for a type that has a builtin handler, stdlib
 * would now do something else for it, so that handler steps aside. Cheap when nothing changed.
 * Returns 0, or -1 with an exception set. */
static inline int copium_handlers_sync(copium_protocol *P)
{
    return copium_stdlib_fresh(P) ? 0 : copium_handlers_resync(P);
}

#endif
