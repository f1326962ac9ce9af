/* Private header of the protocol handlers: stdlib.c (cached references to the copy and copyreg
 * modules and their tables, kept in step with the program), generic.c (stdlib's lookup order
 * for a type without a handler of its own), reduce.c (_reconstruct), object.c (the native path
 * for instances whose type keeps object's default reduce protocol) and method.c. install.c
 * uses the stdlib.c part: copium_stdlib_init/fini and copium_stdlib_is_overridden.
 *
 * Contract with install.c: copium_stdlib_init() runs before any handler is registered;
 * copium_stdlib_fini() after the registry is finalised. The resolver must answer the generic
 * handler for every type t with copium_stdlib_is_overridden(t) true. copium_handlers_sync()
 * (stdlib.c) unregisters every type served by a builtin handler whose stdlib route the program
 * changed, and invalidates the registry cache whenever the tables changed, so that the resolver
 * is asked again (and can hand a builtin handler back once the original entry is restored). */
#ifndef COPIUM_PROTOCOL_H
#define COPIUM_PROTOCOL_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#include "../core/compat.h"
#include "../core/context.h"
#include "../core/engine.h"
#include "../handlers/handlers.h"
#include "state.h"

/* ---- stdlib.c ---------------------------------------------------------------------------- */

int copium_stdlib_init(copium_protocol *P);
void copium_stdlib_fini(copium_protocol *P);

/* 1 when the program changed stdlib's route for exactly type t since copium was imported (an
 * entry in copy._deepcopy_dispatch, copy._copy_dispatch or copyreg.dispatch_table added,
 * replaced or removed where stdlib would consult it, or a table replaced by a non-dict), so
 * that a builtin handler must not serve t. Never raises. */
int copium_stdlib_is_overridden(copium_protocol *P, PyTypeObject *t);
#define copium_stdlib_overridden copium_stdlib_is_overridden

/* table.get(key) as stdlib calls it: 1 and a new reference, 0 when absent or None (a None
 * value is what .get returns for a missing key too), -1 on error. */
int copium_table_get(copium_protocol *P, PyObject *table, PyObject *key, PyObject **value);

/* ---- shared helpers ---------------------------------------------------------------------- */

/* tp's version tag (which any change to tp or its bases resets), 0 while it has none. */
static inline unsigned int copium_type_version(PyTypeObject *tp)
{
#if PY_VERSION_HEX < 0x030D0000 && defined(Py_TPFLAGS_VALID_VERSION_TAG)
    if (!PyType_HasFeature(tp, Py_TPFLAGS_VALID_VERSION_TAG))
        return 0;
#endif
    return tp->tp_version_tag;
}

/* The attribute `name` found on type's MRO, without calling descriptors (borrowed, or NULL;
 * never raises). */
static inline PyObject *copium_type_lookup(PyTypeObject *type, PyObject *name)
{
#if PY_VERSION_HEX < 0x030F0000
    return _PyType_Lookup(type, name);
#else
    /* Walk the MRO by hand where the private lookup may be gone. */
    PyObject *mro = type->tp_mro;
    if (mro == NULL || !PyTuple_Check(mro))
        return NULL;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(mro); i++) {
        PyObject *dict = PyType_GetDict((PyTypeObject *)PyTuple_GET_ITEM(mro, i));
        if (dict == NULL) {
            PyErr_Clear();
            continue;
        }
        PyObject *v = PyDict_GetItemWithError(dict, name); /* owned by the type: stays valid */
        Py_DECREF(dict);
        if (v != NULL)
            return v;
        PyErr_Clear();
    }
    return NULL;
#endif
}

/* A dict items iterator's semantics over PyDict_Next: a size change between two steps raises
 * "dictionary changed size during iteration" (also at the step that would end it), more items
 * than the dict had raises "dictionary keys changed during iteration". */
typedef struct {
    PyObject *dict;
    Py_ssize_t pos, used, remaining;
} copium_dictiter;

static inline void copium_dictiter_init(copium_dictiter *it, PyObject *dict)
{
    it->dict = dict;
    it->pos = 0;
    it->used = it->remaining = PyDict_GET_SIZE(dict);
}

/* 1 with borrowed key and value, 0 at the end, -1 with RuntimeError set. */
static inline int copium_dictiter_next(copium_dictiter *it, PyObject **key, PyObject **value)
{
    if (PyDict_GET_SIZE(it->dict) != it->used) {
        PyErr_SetString(PyExc_RuntimeError, "dictionary changed size during iteration");
        return -1;
    }
    if (!PyDict_Next(it->dict, &it->pos, key, value))
        return 0;
    if (it->remaining == 0) {
        PyErr_SetString(PyExc_RuntimeError, "dictionary keys changed during iteration");
        return -1;
    }
    it->remaining--;
    return 1;
}

/* `a, b = seq` with Python's errors. New references in *a and *b; 0 or -1. */
int copium_unpack2(PyObject *seq, PyObject **a, PyObject **b);

/* ---- reduce.c ---------------------------------------------------------------------------- */

/* stdlib's _reconstruct(x, memo, *rv): deep when ctx is not NULL (children through the
 * engine; memo[id(x)] = y right after construction), shallow when ctx is NULL (hash unused).
 * rv is the reduce value (anything but a str). New reference, or NULL with stdlib's error. */
PyObject *copium_reconstruct(copium_ctx *ctx, PyObject *x, copium_hash_t hash, PyObject *rv);

/* The same with rv already unpacked: func and args required, the others NULL when absent. */
PyObject *copium_reconstruct_parts(copium_ctx *ctx, PyObject *x, copium_hash_t hash, PyObject *func,
                                   PyObject *args, PyObject *state, PyObject *listiter,
                                   PyObject *dictiter);

/* Stdlib's _reconstruct deep-copies the reduce arguments in a generator expression
 * (`callable(*(deepcopy(arg, memo) for arg in args))`), so PEP 479 turns a StopIteration
 * raised while copying one of them into RuntimeError("generator raised StopIteration"), with
 * the StopIteration as its cause. Call after copying such an argument failed: converts a
 * pending StopIteration, leaves any other exception alone. (3.15 copies them in a list
 * comprehension instead: nothing to convert there.) */
void copium_generator_stop(void);

/* `y.__dict__.update(state)`, the state step of _reconstruct for an object without
 * __setstate__ (also the object path's, which copies the state into y in the same way). */
int copium_update_dict(copium_protocol *P, PyObject *y, PyObject *state);

/* ---- dict.c ------------------------------------------------------------------------------ */

/* d.__sizeof__() (sys.getsizeof(d) less the GC header; -1 with an error). */
Py_ssize_t copium_dict_sizeof(PyObject *d);

/* d.__sizeof__() of a dict built by inserting n keys (all exact str, or not) into an empty
 * dict, as stdlib's copies are built; -1 (no error set) when unknown. */
Py_ssize_t copium_dict_inserted_sizeof(copium_protocol *P, Py_ssize_t n, int str_keys);

/* ---- object.c ---------------------------------------------------------------------------- */

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
 * itself. */
int copium_object_deepcopy(copium_ctx *ctx, PyObject *obj, copium_hash_t hash, PyObject **result,
                           copium_reduce_route *route);
int copium_object_copy(copium_protocol *P, PyObject *obj, PyObject **result);

/* Forget the per-type facts (at finalisation). */
void copium_object_clear_cache(copium_protocol *P);

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
