/* The bound-method handler (types.MethodType). Deep copy is stdlib's _deepcopy_method,
 * `type(x)(x.__func__, deepcopy(x.__self__, memo))`: the function is shared, the instance is
 * copied, and the method is memoized only afterwards (deepcopy() stores it when the copier
 * returns), so a method reached again while its instance is being copied is rebuilt, as in
 * stdlib. Shallow copy is left to the generic handler: stdlib has no _copy_dispatch entry for
 * methods and goes through method.__reduce__, i.e. getattr(x.__self__, x.__func__.__name__),
 * which calls into the instance and the builtins module as bound at that moment. */
#include "handlers.h"

#include "../core/engine.h"

static PyObject *method_deepcopy(copium_ctx *ctx, PyObject *x, copium_hash_t hash, void *data)
{
    (void)data;
    PyObject *func = Py_NewRef(PyMethod_GET_FUNCTION(x));
    PyObject *self = copium_deepcopy_child(ctx, PyMethod_GET_SELF(x));
    PyObject *y = NULL;
    if (self == NULL)
        goto done;
    if (self == Py_None) { /* MethodType(func, None) refuses it */
#if PY_VERSION_HEX >= 0x030B0000
        PyErr_SetString(PyExc_TypeError, "instance must not be None");
#else
        PyErr_SetString(PyExc_TypeError, "self must not be None");
#endif
        goto done;
    }
    y = PyMethod_New(func, self);
    if (y != NULL && copium_memo_store(ctx, x, hash, y) < 0)
        Py_CLEAR(y);
done:
    Py_DECREF(func);
    Py_XDECREF(self);
    return y;
}

const copium_handler copium_method_handler = {
    .struct_size = sizeof(copium_handler),
    .name = "method",
    .deepcopy = method_deepcopy,
    .copy = NULL, /* the generic handler: stdlib's reduce path */
};
