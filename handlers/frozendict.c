/* The frozendict handler (CPython 3.15+). Deep copy follows 3.15's _deepcopy_frozendict: the
 * items are copied into a plain dict first (value before key, as `y[deepcopy(key)] =
 * deepcopy(value)` evaluates them); then, if the frozendict got memoized meanwhile (a cycle
 * through a mutable child leads back to it), that copy wins; otherwise a new frozendict is
 * built, always (stdlib never returns the original), and memoized by deepcopy()'s tail.
 * Shallow copy returns the frozendict itself (it is in copy._copy_atomic_types). */
#include "handlers.h"

#include "../core/engine.h"

#if PY_VERSION_HEX >= 0x030F0000

static PyObject *frozendict_deepcopy(copium_ctx *ctx, PyObject *obj, copium_hash_t hash, void *data)
{
    (void)data;
    PyObject *items = PyDict_New();
    if (items == NULL)
        return NULL;
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (PyDict_Next(obj, &pos, &key, &value)) {
        /* The frozendict cannot change, and it holds its keys and values alive. */
        PyObject *value_copy = copium_deepcopy_child(ctx, value);
        PyObject *key_copy = value_copy ? copium_deepcopy_child(ctx, key) : NULL;
        int rc = key_copy ? PyDict_SetItem(items, key_copy, value_copy) : -1;
        Py_XDECREF(key_copy);
        Py_XDECREF(value_copy);
        if (rc < 0)
            goto error;
    }
    PyObject *copy;
    int found = copium_memo_getitem(ctx, obj, hash, &copy);
    if (found == 0)
        copy = PyFrozenDict_New(items);
    Py_DECREF(items);
    if (found < 0 || copy == NULL)
        return NULL;
    if (copy != obj && copium_memo_store(ctx, obj, hash, copy) < 0)
        Py_CLEAR(copy);
    return copy;
error:
    Py_DECREF(items);
    return NULL;
}

static PyObject *frozendict_copy(PyObject *obj, void *data)
{
    (void)data;
    return Py_NewRef(obj);
}

const copium_handler copium_frozendict_handler = {
    .struct_size = sizeof(copium_handler),
    .name = "frozendict",
    .deepcopy = frozendict_deepcopy,
    .copy = frozendict_copy,
};

#endif
