/* The set handler, and the deep copy it shares with the frozenset handler (frozenset.c, through
 * set.h). Stdlib copies both through their __reduce__, which is (type, (list(self),), state): it
 * snapshots the elements into a list, deep-copies them in that order, builds a new set or
 * frozenset from the copies, and memoizes it only then (so an element that refers back to the
 * set meets a second copy of it, exactly as in stdlib). A frozenset is rebuilt too, never
 * returned as is. Shallow copy: set.copy(). Only exact set/frozenset come here; their
 * __dict__-less reduce has no state. While only the native memo exists, the snapshot's copy is
 * made in place, unmemoized: nothing can observe the difference. */
#include "handlers.h"

#include "../core/engine.h"
#include "chash.h"
#include "genstop.h"
#include "set.h"

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

/* The copy of a set whose elements are all such atoms, built without the snapshot list: the
 * elements are added to a new set in the original's iteration order (its table order), which
 * is what set(snapshot) does, so the copy has stdlib's exact table, size and order. Only while
 * the memo is native (an atom is then its own copy). *copy is NULL when some element is not
 * such an atom: the caller takes the general path. 0, or -1. */
static int atoms_only(copium_ctx *ctx, PyObject *obj, PyObject *(*make)(PyObject *),
                      PyObject **copy)
{
    *copy = NULL;
    PyObject *result = make(NULL);
    if (result == NULL)
        return -1;
    PyTypeObject *plain = NULL; /* last type found both atomic and plain-hashed */
    PySetObject *so = (PySetObject *)obj;
    /* The bound and the table are re-read at every step: a registry lookup can run a resolver,
     * and nothing else here runs code, but the loop must stay in bounds regardless. */
    for (Py_ssize_t i = 0; i <= so->mask; i++) {
        setentry *entry = &so->table[i];
        PyObject *key = entry->key;
        if (key == NULL || entry->hash == -1)
            continue; /* unused, or a dummy */
        if (Py_TYPE(key) != plain) {
            if (!copium_hashes_in_c(Py_TYPE(key)) ||
                !(copium_registry_lookup(&ctx->core->registry, Py_TYPE(key))->flags &
                  COPIUM_HANDLER_ATOMIC)) {
                Py_DECREF(result);
                return 0;
            }
            plain = Py_TYPE(key);
        }
        if (PySet_Add(result, key) < 0) {
            Py_DECREF(result);
            return -1;
        }
    }
    *copy = result;
    return 0;
}

PyObject *copium_set_deepcopy_as(copium_ctx *ctx, PyObject *obj, copium_hash_t hash,
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
        PyObject *copy;
        if (atoms_only(ctx, obj, make, &copy) < 0)
            return NULL;
        if (copy != NULL) {
            if (copium_memo_store(ctx, obj, hash, copy) < 0)
                Py_CLEAR(copy);
            return copy;
        }
        elements = deep_elements(ctx, obj);
    }
    if (elements == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(elements); i++) {
        if (copium_before_hashing(ctx, PyList_GET_ITEM(elements, i)) < 0) {
            Py_DECREF(elements);
            return NULL;
        }
    }
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
    return copium_set_deepcopy_as(ctx, obj, hash, PySet_New);
}

static PyObject *set_copy(PyObject *obj, void *data)
{
    (void)data;
    return PySet_New(obj);
}

const copium_handler copium_set_handler = {
    .struct_size = sizeof(copium_handler),
    .name = "set",
    .flags = COPIUM_HANDLER_QUIET,
    .deepcopy = set_deepcopy,
    .copy = set_copy,
};
