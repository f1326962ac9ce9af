/* The generic handler: the registry's default, serving every type without a handler of its own
 * with stdlib's lookup order (Lib/copy.py, deepcopy() and copy()). Deep: copy._deepcopy_dispatch
 * .get(cls), classes as atoms, the instance's __deepcopy__(memo), copyreg.dispatch_table.get(cls)
 * (tested for truth), __reduce_ex__(4), __reduce__, else copy.Error; a str reduce value means the
 * object itself; otherwise _reconstruct (reduce.c); then memo[id(x)] = y unless y is x. Shallow:
 * _copy_dispatch.get(cls) (truth), classes, the class's __copy__, dispatch_table (not None),
 * __reduce_ex__(4), __reduce__, shallow _reconstruct. Instances whose type keeps object's
 * default protocol go through object.c instead, which gives the same result without the
 * Python-level reduce. Python code always receives the memo Python would see
 * (copium_ctx_memo: the caller's memo or a real dict mirroring the native one). */
#include "generic.h"

#include "../core/compat.h"
#include "../core/engine.h"
#include "../core/explain.h"
#include "../handlers/handlers.h"
#include "culprit.h"
#include "memo_rejected.h"
#include "object.h"
#include "pydantic.h"
#include "reduce.h"
#include "stdlib.h"

/* A module global stdlib would read that the program deleted: Python's NameError. */
static int table_get(copium_protocol *P, PyObject *table, const char *name, PyObject *key,
                     PyObject **value)
{
    if (table == NULL) {
        *value = NULL;
        PyErr_Format(PyExc_NameError, "name '%s' is not defined", name);
        return -1;
    }
    return copium_table_get(P, table, key, value);
}

#if PY_VERSION_HEX >= 0x030E0000
/* `key in <module global set>`: 1, 0, or -1 with an error (NameError when the program
 * deleted the global, as stdlib would raise). */
static int set_contains(PyObject *set, const char *name, PyObject *key)
{
    if (set == NULL) {
        PyErr_Format(PyExc_NameError, "name '%s' is not defined", name);
        return -1;
    }
    return PySequence_Contains(set, key);
}
#endif

static PyObject *uncopyable(copium_protocol *P, const char *kind, PyTypeObject *cls)
{
    PyObject *error = P->stdlib.error;
    if (error == NULL) {
        PyErr_SetString(PyExc_NameError, "name 'Error' is not defined");
        return NULL;
    }
    PyObject *msg = PyUnicode_FromFormat("un(%s)copyable object of type %S", kind, cls);
    if (msg == NULL)
        return NULL;
    /* `raise Error(msg)`: whatever copy.Error is bound to is called. */
    PyObject *exc = PyObject_CallOneArg(error, msg);
    Py_DECREF(msg);
    if (exc == NULL)
        return NULL;
    if (PyExceptionInstance_Check(exc))
        PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
    else
        PyErr_SetString(PyExc_TypeError, "exceptions must derive from BaseException");
    Py_DECREF(exc);
    return NULL;
}

static PyObject *reduce_ex_value(copium_protocol *P, copium_ctx *ctx, PyObject *x, int deep);

/* The reduce value stdlib computes (dispatch_table, __reduce_ex__(4), __reduce__), or NULL.
 * dispatch_table's entry counts when true (deepcopy) or when not None (copy). ctx: the deep
 * copy's context (NULL for a shallow copy), for copium.explain's notes. */
static PyObject *reduce_value(copium_protocol *P, copium_ctx *ctx, PyObject *x, int deep)
{
    PyTypeObject *cls = Py_TYPE(x);
    PyObject *reductor, *rv;
    int rc = table_get(P, P->stdlib.dispatch_table, "dispatch_table", (PyObject *)cls, &reductor);
    if (rc < 0)
        return NULL;
    if (rc > 0) {
        int use = deep ? PyObject_IsTrue(reductor) : 1;
        if (use != 0) {
            COPIUM_EXPLAIN_NOTE(ctx, x, COPIUM_PATH_COPYREG, NULL);
            rv = use > 0 ? PyObject_CallOneArg(reductor, x) : NULL;
            if (rv == NULL && use > 0)
                copium_culprit(COPIUM_PART_TABLE, x, deep, NULL, reductor, NULL);
            Py_DECREF(reductor);
            return rv;
        }
        Py_DECREF(reductor);
    }
    return reduce_ex_value(P, ctx, x, deep);
}

/* reduce_value from its second step on: __reduce_ex__(4), __reduce__, else copy.Error. */
static PyObject *reduce_ex_value(copium_protocol *P, copium_ctx *ctx, PyObject *x, int deep)
{
    PyTypeObject *cls = Py_TYPE(x);
    PyObject *reductor, *rv;
    int rc = copium_get_optional_attr(x, P->names.reduce_ex, &reductor);
    if (rc < 0)
        return NULL;
    if (rc > 0 && reductor != Py_None) {
        COPIUM_EXPLAIN_NOTE(ctx, x, COPIUM_PATH_REDUCE_EX, copium_object_declined(P, x));
        rv = PyObject_CallOneArg(reductor, P->stdlib.protocol4);
        if (rv == NULL)
            copium_culprit(COPIUM_PART_REDUCE_EX, x, deep, NULL, reductor, NULL);
        Py_DECREF(reductor);
        return rv;
    }
    Py_XDECREF(reductor);
    rc = copium_get_optional_attr(x, P->names.reduce, &reductor);
    if (rc < 0)
        return NULL;
    int truth = rc > 0 ? PyObject_IsTrue(reductor) : 0;
    if (truth > 0) {
        COPIUM_EXPLAIN_NOTE(ctx, x, COPIUM_PATH_REDUCE, "no-reduce-ex");
        rv = PyObject_CallNoArgs(reductor);
        if (rv == NULL)
            copium_culprit(COPIUM_PART_REDUCE, x, deep, NULL, reductor, NULL);
        Py_DECREF(reductor);
        return rv;
    }
    Py_XDECREF(reductor);
    if (truth < 0)
        return NULL;
    return uncopyable(P, deep ? "deep" : "shallow", cls);
}

/* The copy stdlib makes from a reduce value (a new reference, taken; NULL passes an error on):
 * x itself for a str, else _reconstruct (deep with a ctx, shallow with NULL). */
static PyObject *from_reduce_value(copium_ctx *ctx, PyObject *x, copium_hash_t hash, PyObject *rv)
{
    if (rv == NULL)
        return NULL;
    PyObject *y = PyUnicode_Check(rv) ? Py_NewRef(x) : copium_reconstruct(ctx, x, hash, rv);
    Py_DECREF(rv);
    return y;
}

/* cls's handler, if the registry's cache answers this handler for it while the pydantic
 * handler serves it (pydantic.h: a cache entry of a dead class at the same address): asked of
 * the resolver again. NULL when not so, or when the answer is this handler still (a model's
 * own handler that defers to this one comes here with its own answer in the cache). */
static const copium_handler *reresolve(copium_protocol *P, PyTypeObject *cls)
{
    copium_registry *reg = &P->core->registry;
    const copium_handler *cached = copium_registry_cached(reg, cls);
    if (cached == NULL || cached->deepcopy != copium_generic_handler.deepcopy ||
        !copium_pydantic_claims(P, cls))
        return NULL;
    copium_registry_forget(reg, cls);
    const copium_handler *h = copium_registry_lookup(reg, cls);
    return h->deepcopy == copium_generic_handler.deepcopy ? NULL : h;
}

/* What generic_deepcopy's quiet part leaves to the rest: the object path's route, once asked
 * (its reduce_func a reference the rest takes). */
typedef struct {
    int asked;
    copium_reduce_route route;
} generic_known;

/* The lookup order, run as a handler that may run Python code at any point. */
static PyObject *generic_deepcopy_loud(copium_ctx *ctx, PyObject *x, copium_hash_t hash, void *data)
{
    copium_protocol *P = copium_proto(ctx);
    const generic_known *known = data;
    PyObject *y = NULL, *copier, *memo;
    copium_reduce_route route = known->route;
    /* A __deepcopy__ earlier in this call may have changed stdlib's tables. */
    if (copium_handlers_sync(P) < 0) {
        Py_XDECREF(route.reduce_func);
        return NULL;
    }
    if (!known->asked && copium_object_deepcopy(ctx, x, hash, &y, &route, 0))
        return y; /* memoized by object.c */
    PyTypeObject *cls = Py_TYPE(x);
    if (route.reduce_func != NULL) {
        /* `x.__reduce_ex__(4)` is object.__reduce_ex__, which calls the class's Python
         * __reduce__: called unbound, no bound methods, no int argument. */
        COPIUM_EXPLAIN_NOTE(ctx, x, COPIUM_PATH_REDUCE, "reduce");
        PyObject *rv = PyObject_Vectorcall(route.reduce_func, &x, 1, NULL);
        Py_DECREF(route.reduce_func);
        y = from_reduce_value(ctx, x, hash, rv);
        goto done;
    }
    if (route.deep_reduce) {
        /* Nothing in the tables, not a class, no __deepcopy__ (cached facts of the type). */
        y = from_reduce_value(ctx, x, hash, reduce_ex_value(P, ctx, x, 1));
        goto done;
    }
#if PY_VERSION_HEX >= 0x030E0000
    /* 3.14: `if cls in _atomic_types: return x` comes first. */
    int atomic = set_contains(P->stdlib.atomic_types, "_atomic_types", (PyObject *)cls);
    if (atomic > 0)
        COPIUM_EXPLAIN_NOTE(ctx, x, COPIUM_PATH_ATOM, NULL);
    if (atomic != 0)
        return atomic > 0 ? Py_NewRef(x) : NULL;
#endif
    int rc =
        table_get(P, P->stdlib.deepcopy_dispatch, "_deepcopy_dispatch", (PyObject *)cls, &copier);
    if (rc < 0)
        return NULL;
    if (rc > 0) {
        COPIUM_EXPLAIN_NOTE(ctx, x,
                            copier == P->stdlib.orig_deepcopy_atomic ? COPIUM_PATH_ATOM
                                                                     : COPIUM_PATH_DISPATCH,
                            NULL);
        if (copier == P->stdlib.orig_deepcopy_atomic) {
            y = Py_NewRef(x); /* what stdlib's _deepcopy_atomic returns */
        } else if ((memo = copium_ctx_memo(ctx)) != NULL) {
            Py_INCREF(memo);
            y = PyObject_CallFunctionObjArgs(copier, x, memo, NULL);
            Py_DECREF(memo);
        }
        Py_DECREF(copier);
    } else if (PyType_IsSubtype(cls, &PyType_Type)) {
        COPIUM_EXPLAIN_NOTE(ctx, x, COPIUM_PATH_ATOM, NULL);
        y = Py_NewRef(x);
    } else {
        rc = copium_get_optional_attr(x, P->names.deepcopy, &copier);
        if (rc < 0)
            return NULL;
        if (rc > 0 && copier != Py_None) {
            /* A model served here from a stale cache entry (pydantic.h): its own handler. */
            const copium_handler *own = reresolve(P, cls);
            if (own != NULL) {
                Py_DECREF(copier);
                return copium_dispatch(ctx, x, own, hash);
            }
            /* A method of a C type is a builtin method once bound; anything else runs Python. */
            COPIUM_EXPLAIN_NOTE(
                ctx, x,
                PyCFunction_Check(copier) ? COPIUM_PATH_DEEPCOPY_C : COPIUM_PATH_DEEPCOPY_PY, NULL);
            memo = copium_ctx_memo(ctx);
            if (memo != NULL) {
                Py_INCREF(memo);
                y = copium_call_deepcopy_method(&P->memo_rejected, copier,
                                                memo); /* memo_rejected.c */
                Py_DECREF(memo);
            }
            Py_DECREF(copier);
        } else {
            Py_XDECREF(copier);
            y = from_reduce_value(ctx, x, hash, reduce_value(P, ctx, x, 1));
        }
    }
done:
    /* `if y is not x: memo[d] = y; _keep_alive(x, memo)` */
    if (y != NULL && y != x && copium_memo_store(ctx, x, hash, y) < 0)
        Py_CLEAR(y);
    return y;
}

static PyObject *generic_copy(PyObject *x, void *data)
{
    copium_protocol *P = copium_proto_current();
    (void)data;
    PyObject *y = NULL, *copier;
    if (copium_handlers_sync(P) < 0)
        return NULL;
    if (copium_object_copy(P, x, &y))
        return y;
    PyTypeObject *cls = Py_TYPE(x);
#if PY_VERSION_HEX >= 0x030E0000
    /* 3.14: `if cls in _copy_atomic_types: return x`, then
     * `if cls in _copy_builtin_containers: return cls.copy(x)`. */
    int in = set_contains(P->stdlib.copy_atomic_types, "_copy_atomic_types", (PyObject *)cls);
    if (in != 0)
        return in > 0 ? Py_NewRef(x) : NULL;
    in = set_contains(P->stdlib.copy_builtin_containers, "_copy_builtin_containers",
                      (PyObject *)cls);
    if (in != 0)
        return in > 0 ? PyObject_CallMethod((PyObject *)cls, "copy", "(O)", x) : NULL;
    int rc;
#else
    int rc = table_get(P, P->stdlib.copy_dispatch, "_copy_dispatch", (PyObject *)cls, &copier);
    if (rc < 0)
        return NULL;
    if (rc > 0) {
        int truth = PyObject_IsTrue(copier);
        if (truth != 0) {
            y = truth > 0 ? PyObject_CallOneArg(copier, x) : NULL;
            Py_DECREF(copier);
            return y;
        }
        Py_DECREF(copier);
    }
#endif
    if (PyType_IsSubtype(cls, &PyType_Type))
        return Py_NewRef(x);
    /* stdlib looks __copy__ up on the class, not the instance. */
    rc = copium_get_optional_attr((PyObject *)cls, P->names.copy, &copier);
    if (rc < 0)
        return NULL;
    if (rc > 0 && copier != Py_None) {
        /* A model served here from a stale cache entry (pydantic.h): its own handler. */
        const copium_handler *own = reresolve(P, cls);
        if (own != NULL && own->copy != NULL) {
            Py_DECREF(copier);
            return own->copy(x, own->data);
        }
        y = PyObject_CallOneArg(copier, x);
        Py_DECREF(copier);
        return y;
    }
    Py_XDECREF(copier);
    return from_reduce_value(NULL, x, 0, reduce_value(P, NULL, x, 0));
}

/* Dispatched as quiet (COPIUM_HANDLER_SETTLES): an instance on the native object path runs no
 * Python code, or settles before the step that may (object.h), so that the collector's pause
 * goes on through a graph of plain instances. Asked only with stdlib's tables read (syncing
 * them may call a resolver) and no Python memo (the exact-memo route calls
 * copyreg.__newobj__); the rest of the lookup order runs as a loud handler. */
static PyObject *generic_deepcopy(copium_ctx *ctx, PyObject *x, copium_hash_t hash, void *data)
{
    (void)data;
    generic_known known = {0};
    if (copium_stdlib_fresh(copium_proto(ctx)) && copium_ctx_python_memo(ctx) == NULL) {
        PyObject *y;
        if (copium_object_deepcopy(ctx, x, hash, &y, &known.route, 1))
            return y; /* memoized by object.c */
        known.asked = 1;
    }
    if (copium_before_python_code(ctx) < 0) {
        Py_XDECREF(known.route.reduce_func);
        return NULL;
    }
    return copium_continue_loud(ctx, x, hash, generic_deepcopy_loud, &known);
}

const copium_handler copium_generic_handler = {
    .struct_size = sizeof(copium_handler),
    .name = "generic",
    .flags = COPIUM_HANDLER_SETTLES,
    .deepcopy = generic_deepcopy,
    .copy = generic_copy,
};
