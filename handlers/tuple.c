/* The tuple handler. Deep copy follows stdlib's _deepcopy_tuple: children first; then, if the
 * tuple got memoized meanwhile (it is part of a cycle through a mutable container), that copy
 * wins; a tuple whose children all copied to themselves is returned as is and not memoized.
 * Shallow copy returns the tuple itself. */
#include "handlers.h"

#include "../core/engine.h"

static PyObject *tuple_deepcopy(copium_ctx *ctx, PyObject *obj, copium_hash_t hash, void *data)
{
    (void)data;
    Py_ssize_t n = PyTuple_GET_SIZE(obj);
    /* A tuple of atoms copies to itself, unmemoized: find out before allocating anything. */
    copium_atom_cache atoms = {0};
    Py_ssize_t first = 0;
    while (first < n && copium_child_is_atom(ctx, &atoms, PyTuple_GET_ITEM(obj, first)))
        first++;
    if (first == n)
        return Py_NewRef(obj);
    PyObject *copy = PyTuple_New(n);
    if (copy == NULL)
        return NULL;
    int changed = 0;
    for (Py_ssize_t i = 0; i < first; i++)
        PyTuple_SET_ITEM(copy, i, Py_NewRef(PyTuple_GET_ITEM(obj, i)));
    for (Py_ssize_t i = first; i < n; i++) {
        PyObject *item = PyTuple_GET_ITEM(obj, i);
        PyObject *item_copy = copium_deepcopy_child(ctx, item);
        if (item_copy == NULL)
            goto error;
        changed |= item_copy != item;
        PyTuple_SET_ITEM(copy, i, item_copy);
    }
    PyObject *memoized;
    int found = copium_memo_getitem(ctx, obj, hash, &memoized);
    if (found != 0) {
        Py_DECREF(copy);
        if (found < 0)
            return NULL;
        /* deepcopy()'s tail stores whatever the copier returned. */
        if (memoized != obj && copium_memo_store(ctx, obj, hash, memoized) < 0)
            Py_CLEAR(memoized);
        return memoized;
    }
    if (!changed) {
        Py_DECREF(copy);
        return Py_NewRef(obj);
    }
    if (copium_memo_store(ctx, obj, hash, copy) < 0)
        goto error;
    return copy;
error:
    Py_DECREF(copy);
    return NULL;
}

static PyObject *tuple_copy(PyObject *obj, void *data)
{
    (void)data;
    return Py_NewRef(obj);
}

const copium_handler copium_tuple_handler = {
    .struct_size = sizeof(copium_handler),
    .name = "tuple",
    .flags = COPIUM_HANDLER_QUIET,
    .deepcopy = tuple_deepcopy,
    .copy = tuple_copy,
};
