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
#include "handlers.h"

/* ---- stdlib.c ---------------------------------------------------------------------------- */

/* Interned attribute names, created once. */
typedef struct {
    PyObject *deepcopy;      /* "__deepcopy__" */
    PyObject *copy;          /* "__copy__" */
    PyObject *reduce_ex;     /* "__reduce_ex__" */
    PyObject *reduce;        /* "__reduce__" */
    PyObject *setstate;      /* "__setstate__" */
    PyObject *getstate;      /* "__getstate__" */
    PyObject *dict;          /* "__dict__" */
    PyObject *new_;          /* "__new__" */
    PyObject *getnewargs;    /* "__getnewargs__" */
    PyObject *getnewargs_ex; /* "__getnewargs_ex__" */
    PyObject *slotnames;     /* "__slotnames__" */
    PyObject *qualname;      /* "__qualname__" */
    PyObject *module;        /* "__module__" */
    PyObject *builtins;      /* "builtins" */
    PyObject *append;        /* "append" */
    PyObject *update;        /* "update" */
    PyObject *items;         /* "items" */
    PyObject *get;           /* "get" */
    PyObject *copy_method;   /* "copy" (list.copy and friends in copy._copy_dispatch) */
    /* pydantic.c: the names pydantic's BaseModel.__deepcopy__ / __copy__ read. */
    PyObject *pydantic_extra;      /* "__pydantic_extra__" */
    PyObject *pydantic_fields_set; /* "__pydantic_fields_set__" */
    PyObject *pydantic_private;    /* "__pydantic_private__" */
    PyObject *deepcopy_func;       /* "deepcopy" (a module global) */
    PyObject *object_setattr;      /* "_object_setattr" */
    PyObject *pydantic_undefined;  /* "PydanticUndefined" */
    PyObject *version;             /* "VERSION" */
    PyObject *root;                /* "root" */
    PyObject *getattribute;        /* "__getattribute__" */
    PyObject *setattr;             /* "__setattr__" */
    /* pydantic.c: the modules and classes a type is checked against (interned: the check
     * allocates nothing). */
    PyObject *pydantic_main;       /* "pydantic.main" */
    PyObject *pydantic_root_model; /* "pydantic.root_model" */
    PyObject *pydantic_version;    /* "pydantic.version" */
    PyObject *base_model;          /* "BaseModel" */
    PyObject *root_model;          /* "RootModel" */
} copium_names_t;

/* What stdlib's copy functions see, as bound right now (strong references, refreshed by
 * copium_handlers_sync when the program rebinds or changes them). */
typedef struct {
    PyObject *copy_module, *copyreg_module;
    PyObject *copy_dict, *copyreg_dict; /* the modules' __dict__ */
    PyObject *error;                    /* copy.Error */
    PyObject *deepcopy_dispatch;        /* copy._deepcopy_dispatch */
    PyObject *copy_dispatch;            /* copy._copy_dispatch (gone in 3.14) */
    /* 3.14+: the sets copy()/deepcopy() test first (NULL before 3.14). */
    PyObject *atomic_types;            /* copy._atomic_types */
    PyObject *copy_atomic_types;       /* copy._copy_atomic_types */
    PyObject *copy_builtin_containers; /* copy._copy_builtin_containers */
    PyObject *dispatch_table;          /* copy.dispatch_table: copyreg.dispatch_table */
    PyObject *newobj;                  /* copyreg.__newobj__ */
    PyObject *newobj_ex;               /* copyreg.__newobj_ex__ */
    PyObject *slotnames_func;          /* copyreg._slotnames */
    /* Fixed at install: the functions whose behaviour copium reproduces natively when it
     * meets them (compared by identity, never called through these references). */
    PyObject *orig_newobj;          /* copyreg.__newobj__ */
    PyObject *orig_deepcopy_atomic; /* copy._deepcopy_atomic */
    PyObject *orig_error;           /* copy.Error (copium.Error): the class of culprit.c's causes */
    /* object's own protocol entries (from object's type dict). */
    PyObject *object_reduce_ex, *object_reduce, *object_getstate /* NULL before 3.11 */;
    PyObject *object_new; /* object.__new__ */
    PyObject *empty_tuple;
    PyObject *protocol4; /* the int 4 stdlib passes to __reduce_ex__ */
    /* Bumped whenever a watched table or module binding changed: per-type facts computed from
     * the tables (object.c's cache) are valid only for the epoch they were computed in. */
    uint64_t epoch;
} copium_stdlib_t;

extern copium_names_t copium_names;
extern copium_stdlib_t copium_stdlib;

int copium_stdlib_init(void);
void copium_stdlib_fini(void);

/* 1 when the program changed stdlib's route for exactly type t since copium was imported (an
 * entry in copy._deepcopy_dispatch, copy._copy_dispatch or copyreg.dispatch_table added,
 * replaced or removed where stdlib would consult it, or a table replaced by a non-dict), so
 * that a builtin handler must not serve t. Never raises. */
int copium_stdlib_is_overridden(PyTypeObject *t);
#define copium_stdlib_overridden copium_stdlib_is_overridden

/* table.get(key) as stdlib calls it: 1 and a new reference, 0 when absent or None (a None
 * value is what .get returns for a missing key too), -1 on error. */
int copium_table_get(PyObject *table, PyObject *key, PyObject **value);

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
int copium_update_dict(PyObject *y, PyObject *state);

/* ---- dict.c ------------------------------------------------------------------------------ */

/* d.__sizeof__() (sys.getsizeof(d) less the GC header; -1 with an error). */
Py_ssize_t copium_dict_sizeof(PyObject *d);

/* d.__sizeof__() of a dict built by inserting n keys (all exact str, or not) into an empty
 * dict, as stdlib's copies are built; -1 (no error set) when unknown. */
Py_ssize_t copium_dict_inserted_sizeof(Py_ssize_t n, int str_keys);

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
int copium_object_copy(PyObject *obj, PyObject **result);

/* Forget the per-type facts (at finalisation). */
void copium_object_clear_cache(void);

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
int copium_object_layout_of(PyObject *x, copium_object_layout *layout);
void copium_object_layout_clear(copium_object_layout *layout);

#endif
