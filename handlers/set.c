/* The set and frozenset handlers. Stdlib copies both through their __reduce__, which is
 * (type, (list(self),), state): it snapshots the elements into a list, deep-copies them in
 * that order, builds a new set or frozenset from the copies, and memoizes it only then (so an
 * element that refers back to the set meets a second copy of it, exactly as in stdlib). A
 * frozenset is rebuilt too, never returned as is. Shallow copy: set.copy(), and the frozenset
 * itself. Only exact set/frozenset come here; their __dict__-less reduce has no state. While
 * only the native memo exists, the snapshot's copy is made in place, unmemoized: nothing can
 * observe the difference. */
#include "handlers.h"

#include "../core/engine.h"
#include "protocol.h"

static PyObject *deep_elements(copium_ctx *ctx, PyObject *obj)
{
    PyObject *snapshot = PySequence_List(obj);
    if (snapshot == NULL)
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(snapshot);
    for (Py_ssize_t i = 0; i < n; i++) {
        /* The snapshot is private: replace each element by its copy in place. */
        PyObject *item = PyList_GET_ITEM(snapshot, i);
        PyObject *item_copy = copium_deepcopy_child(ctx, item);
        if (item_copy == NULL) {
            copium_generator_stop(); /* stdlib copies the snapshot in _reconstruct's generator */
            Py_DECREF(snapshot);
            return NULL;
        }
        PyList_SET_ITEM(snapshot, i, item_copy);
        Py_DECREF(item);
    }
    return snapshot;
}

static PyObject *set_deepcopy_as(copium_ctx *ctx, PyObject *obj, copium_hash_t hash,
                                 PyObject *(*make)(PyObject *))
{
    PyObject *elements;
    if (copium_ctx_python_memo(ctx) != NULL) {
        /* The memo is observable: deep-copy the snapshot list as stdlib's reduce path does,
         * which memoizes it and keeps it alive. */
        PyObject *snapshot = PySequence_List(obj);
        elements = snapshot ? copium_deepcopy_child(ctx, snapshot) : NULL;
        if (snapshot != NULL && elements == NULL)
            copium_generator_stop();
        Py_XDECREF(snapshot);
    } else {
        elements = deep_elements(ctx, obj);
    }
    if (elements == NULL)
        return NULL;
    PyObject *copy = make(elements);
    Py_DECREF(elements);
    if (copy == NULL)
        return NULL;
    if (copium_memo_store(ctx, obj, hash, copy) < 0) {
        Py_DECREF(copy);
        return NULL;
    }
    return copy;
}

static PyObject *set_deepcopy(copium_ctx *ctx, PyObject *obj, copium_hash_t hash, void *data)
{
    (void)data;
    return set_deepcopy_as(ctx, obj, hash, PySet_New);
}

static PyObject *frozenset_deepcopy(copium_ctx *ctx, PyObject *obj, copium_hash_t hash, void *data)
{
    (void)data;
    return set_deepcopy_as(ctx, obj, hash, PyFrozenSet_New);
}

static PyObject *set_copy(PyObject *obj, void *data)
{
    (void)data;
    return PySet_New(obj);
}

static PyObject *frozenset_copy(PyObject *obj, void *data)
{
    (void)data;
    return Py_NewRef(obj);
}

const copium_handler copium_set_handler = {
    .struct_size = sizeof(copium_handler),
    .name = "set",
    .deepcopy = set_deepcopy,
    .copy = set_copy,
};

const copium_handler copium_frozenset_handler = {
    .struct_size = sizeof(copium_handler),
    .name = "frozenset",
    .deepcopy = frozenset_deepcopy,
    .copy = frozenset_copy,
};
