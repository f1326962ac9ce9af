/* The native path for instances whose type keeps object's default reduce protocol (object.c):
 * for the lookup order (generic.c) and the plan (batch/plan.c). */
#ifndef COPIUM_PROTOCOL_OBJECT_H
#define COPIUM_PROTOCOL_OBJECT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "../core/context.h"
#include "state.h"

/* What object.c's per-type facts say about stdlib's route for an object it did not copy:
 * deep_reduce, stdlib's lookup order reaches getattr(obj, "__reduce_ex__") with nothing
 * before it to find; reduce_func (a new reference, or NULL), that `obj.__reduce_ex__(4)` is
 * object.__reduce_ex__ calling the class's own Python __reduce__, i.e. reduce_func(obj). */
typedef struct {
    int deep_reduce;
    PyObject *reduce_func;
} copium_reduce_route;

/* The native path for an instance whose type keeps object's default reduce protocol (see
 * object.c for the exact conditions). Returns 1 with the copy (or NULL and an exception) in
 * *result when it handled obj, 0 when obj must take stdlib's lookup order instead (nothing
 * was done that stdlib would not do), with *route filled from the cached per-type facts and
 * the instance dict (which getattr would look in first). The deep version stores memo[obj]
 * itself. quiet: called by a handler dispatched as quiet (COPIUM_HANDLER_SETTLES), for a call
 * without a Python memo: each step that may run Python code calls copium_before_python_code
 * first (computing a type's facts, a lookup in an instance dict with a key other than an
 * exact str, getattr of a slot, setattr, merging a state dict), and only those. */
int copium_object_deepcopy(copium_ctx *ctx, PyObject *obj, copium_hash_t hash, PyObject **result,
                           copium_reduce_route *route, int quiet);
int copium_object_copy(copium_protocol *P, PyObject *obj, PyObject **result);

/* The per-type facts' cache (per interpreter), made at install and freed at finalisation.
 * 0, or -1 with MemoryError. */
int copium_object_cache_init(copium_protocol *P);
void copium_object_cache_fini(copium_protocol *P);

/* For copium.explain: why the native object path declines x (a short stable name, "unknown"
 * when none of its conditions fails). Never raises; may run Python code. */
const char *copium_object_declined(copium_protocol *P, PyObject *x);

/* For the plan (batch/plan.c): what the native path copies of x. */
typedef struct {
    PyObject *name, *value;
    Py_ssize_t offset; /* the field a direct write sets, or 0: setattr is needed */
} copium_object_slot;

typedef struct {
    PyObject *dict;       /* x.__dict__ when not empty (strong), else NULL */
    int into_values;      /* the copy's attributes go into its own storage (see object.c) */
    unsigned int version; /* the type's version tag the facts hold for (0: none) */
    Py_ssize_t nslots;
    copium_object_slot *slots; /* the set slots in setting order, strong references (PyMem) */
} copium_object_layout;

/* 1 with *layout filled when a deep copy of x takes the native path (nothing done then that
 * stdlib would not do), 0 when x takes stdlib's lookup order, -1 with an exception. */
int copium_object_layout_of(copium_protocol *P, PyObject *x, copium_object_layout *layout);
void copium_object_layout_clear(copium_object_layout *layout);

#endif
