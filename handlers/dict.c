/* The dict handler. Deep copy follows stdlib's _deepcopy_dict: the new dict is memoized first,
 * then for each item the value is copied before the key (the evaluation order of
 * `y[deepcopy(key)] = deepcopy(value)`), and the copy is built by insertion into an empty dict,
 * so it has exactly the size stdlib's copy has. Iteration reproduces a dict items iterator: a
 * size change between two steps raises "dictionary changed size during iteration", more items
 * than the dict had raises "dictionary keys changed during iteration", a value reassigned in
 * place is simply read when its turn comes. */
#include "handlers.h"

#include "../core/engine.h"

static PyObject *dict_deepcopy(copium_ctx *ctx, PyObject *obj, copium_hash_t hash, void *data)
{
    (void)data;
    PyObject *copy = PyDict_New();
    if (copy == NULL)
        return NULL;
    if (copium_memo_remember(ctx, obj, hash, copy) < 0)
        goto error;
    const Py_ssize_t size = PyDict_GET_SIZE(obj);
    Py_ssize_t remaining = size, pos = 0;
    PyObject *key, *value;
    for (;;) {
        if (PyDict_GET_SIZE(obj) != size) {
            PyErr_SetString(PyExc_RuntimeError, "dictionary changed size during iteration");
            goto error;
        }
        if (!PyDict_Next(obj, &pos, &key, &value))
            break;
        if (remaining == 0) {
            PyErr_SetString(PyExc_RuntimeError, "dictionary keys changed during iteration");
            goto error;
        }
        remaining--;
        Py_INCREF(key);
        Py_INCREF(value);
        PyObject *value_copy = copium_deepcopy_child(ctx, value);
        PyObject *key_copy = value_copy ? copium_deepcopy_child(ctx, key) : NULL;
        int rc = key_copy ? PyDict_SetItem(copy, key_copy, value_copy) : -1;
        Py_DECREF(key);
        Py_DECREF(value);
        Py_XDECREF(key_copy);
        Py_XDECREF(value_copy);
        if (rc < 0)
            goto error;
    }
    if (copium_memo_complete(ctx, obj, hash, copy) < 0)
        goto error;
    return copy;
error:
    Py_DECREF(copy);
    return NULL;
}

static PyObject *dict_copy(PyObject *obj, void *data)
{
    (void)data;
    return PyDict_Copy(obj);
}

const copium_handler copium_dict_handler = {
    .struct_size = sizeof(copium_handler),
    .name = "dict",
    .deepcopy = dict_deepcopy,
    .copy = dict_copy,
};
