/* The builtin handlers: one vtable per kind of object, each in its own file, registered with
 * the core's registry through the same copium_handler type plugins use. This header is what
 * the module glue needs: install them all, keep them in step with stdlib's tables, and the
 * vtables themselves (for tests and for copium.handlers()). */
#ifndef COPIUM_HANDLERS_H
#define COPIUM_HANDLERS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

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

/* Called before each top-level copy: if a program changed copy._deepcopy_dispatch,
 * copy._copy_dispatch or copyreg.dispatch_table for a type that has a builtin handler, stdlib
 * would now do something else for it, so that handler steps aside. Cheap when nothing changed.
 * Returns 0, or -1 with an exception set. */
int copium_handlers_sync(void);

#endif
