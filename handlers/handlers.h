/* The builtin handlers: one vtable per builtin type, each in its own file (but the atoms' two,
 * which differ by a flag only: atomic.c), registered with the core's registry (by
 * protocol/install.c) through the same copium_handler type plugins use. They know their type and
 * the core's handler-facing API (core/engine.h), nothing of the protocol layer above them: what
 * they keep per interpreter is in their own state (state.h). */
#ifndef COPIUM_HANDLERS_H
#define COPIUM_HANDLERS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#include "../core/handler.h"
#include "state.h"

/* Atoms: deepcopy and copy return the object itself (atomic.c). */
extern const copium_handler copium_atomic_handler;
/* Atoms of stdlib's own deepcopy table (3.14: copy._atomic_types; atomic.c). */
extern const copium_handler copium_stdlib_atomic_handler;
/* Shallow copy returns itself, deep copy takes stdlib's protocol path (tuple-like: slice;
 * immutable.c). */
extern const copium_handler copium_immutable_handler;

extern const copium_handler copium_list_handler;      /* list.c */
extern const copium_handler copium_tuple_handler;     /* tuple.c */
extern const copium_handler copium_dict_handler;      /* dict.c */
extern const copium_handler copium_set_handler;       /* set.c */
extern const copium_handler copium_frozenset_handler; /* frozenset.c */
extern const copium_handler copium_bytearray_handler; /* bytearray.c */
extern const copium_handler copium_method_handler;    /* method.c */
#if PY_VERSION_HEX >= 0x030F0000
extern const copium_handler copium_frozendict_handler; /* frozendict.c */
#endif

/* The handler for one of the datetime module's C types, the C API imported on first use; NULL
 * for any other type. Never fails. The four vtables are in datetime.c, date.c, time.c and
 * timedelta.c; this function, the next and copium_datetime_recipe in datetime_capi.c. */
const copium_handler *copium_datetime_handler_for(copium_handlers_state *H, PyTypeObject *type);
/* 1 when h (a registry copy) is one of those handlers. */
int copium_datetime_is_handler(const copium_handler *h);

/* For the plan (batch/plan.c): value types whose copy a snapshot rebuilds natively. A
 * rebuild makes the copy from a source object (one that stays as the original is now) and the
 * copy of at most one child (NULL when there is none), given the handlers' state of the plan's
 * interpreter (looking up the current one per object would cost more than some copies): a new
 * reference, or NULL with an exception. A recipe function answers, for obj and h (obj's
 * handler from the registry): 1 with *rebuild, a new reference in *source and the child
 * (borrowed, or NULL) in *child when h would copy obj natively; 0 when h is not its handler
 * or obj takes stdlib's path; -1 with an exception when the source could not be made. */
typedef PyObject *(*copium_rebuild_fn)(copium_handlers_state *H, PyObject *source,
                                       PyObject *child_copy);
int copium_datetime_recipe(copium_handlers_state *H, const copium_handler *h, PyObject *obj,
                           copium_rebuild_fn *rebuild, PyObject **source, PyObject **child);

#endif
