/* Handlers written in Python: copium.register_handler(type, fn) with fn(obj, memo) -> copy.
 * The callable gets the memo as the dict a __deepcopy__ would get (it can store
 * memo[id(obj)] = copy itself before copying children, for cycles, and copy children with
 * copium.deepcopy(child, memo)); the engine stores its result afterwards as for __deepcopy__.
 * Shallow copies of the type keep stdlib's path. The registry owns the callable. */
#include "pycallable.h"

#include "../core/engine.h"
#include "../core/registry.h"

static PyObject *pycallable_deepcopy(copium_ctx *ctx, PyObject *obj, copium_hash_t hash, void *data)
{
    /* The callable may unregister itself while it runs: hold it for the call. */
    PyObject *fn = Py_NewRef((PyObject *)data);
    PyObject *copy = NULL;
    PyObject *memo = copium_ctx_memo(ctx);
    if (memo != NULL) {
        Py_INCREF(memo);
        copy = PyObject_CallFunctionObjArgs(fn, obj, memo, NULL);
        Py_DECREF(memo);
    }
    Py_DECREF(fn);
    if (copy != NULL && copy != obj && copium_memo_store(ctx, obj, hash, copy) < 0)
        Py_CLEAR(copy);
    return copy;
}

int copium_register_callable(copium_protocol *P, PyTypeObject *type, PyObject *fn)
{
    if (!PyCallable_Check(fn)) {
        PyErr_Format(PyExc_TypeError, "copium: a handler must be callable, not %.200s",
                     Py_TYPE(fn)->tp_name);
        return -1;
    }
    /* The registration owns (fn, name): the name's UTF-8 buffer lives as long as the str. */
    PyObject *name = PyObject_GetAttrString(fn, "__qualname__");
    if (name == NULL || !PyUnicode_Check(name)) {
        PyErr_Clear();
        Py_XDECREF(name);
        name = PyObject_Repr(fn);
        if (name == NULL)
            return -1;
    }
    PyObject *owner = PyTuple_Pack(2, fn, name);
    const char *utf8 = PyUnicode_AsUTF8(name);
    Py_DECREF(name);
    if (owner == NULL || utf8 == NULL) {
        Py_XDECREF(owner);
        return -1;
    }
    copium_handler handler = {
        .struct_size = sizeof(copium_handler),
        .name = utf8,
        .deepcopy = pycallable_deepcopy,
        .data = fn,
    };
    int rc = copium_registry_register_owned(&P->core->registry, type, &handler, owner);
    Py_DECREF(owner);
    return rc;
}

int copium_pycallable_is_handler(const copium_handler *h)
{
    return h->deepcopy == pycallable_deepcopy;
}
