/* The dict handler. Deep copy follows stdlib's _deepcopy_dict: the new dict is memoized first,
 * then for each item the value is copied before the key (the evaluation order of
 * `y[deepcopy(key)] = deepcopy(value)`), and the copy is built by insertion into an empty dict,
 * so it has exactly the size stdlib's copy has. Iteration reproduces a dict items iterator: a
 * size change between two steps raises "dictionary changed size during iteration", more items
 * than the dict had raises "dictionary keys changed during iteration", a value reassigned in
 * place is simply read when its turn comes. */
#include "handlers.h"

#include "../core/engine.h"
#include "chash.h"
#include "dict_table.h"
#include "protocol.h"

/* The fast path for a dict of atoms only (no child to copy, so no code can run during the
 * copy): PyDict_Copy, which clones the original's table. That table has the size stdlib's
 * insertion-built copy gets whenever the original was itself built by insertion without
 * deletions (comprehensions, literals, json, dict(zip(...)), fromkeys); after deletions it may
 * be larger. So the clone is kept only when its size is exactly the size an insertion-built
 * dict of as many keys has, which is measured once per size class on reference dicts built by
 * insertion (one table for all-str keys, one for others: CPython sizes them differently). */
#define CLONE_MIN_ITEMS 16
#define CLONE_MAX_ITEMS (1 << 20)
#define MAX_STEPS       64

typedef struct {
    Py_ssize_t covered; /* sizes are known for every n <= covered */
    int nsteps;         /* from step_n[i] on, the size is step_size[i] */
    Py_ssize_t step_n[MAX_STEPS];
    Py_ssize_t step_size[MAX_STEPS];
} size_steps;

static size_steps steps_for[2]; /* [0]: keys of any type, [1]: all exact str */

Py_ssize_t copium_dict_sizeof(PyObject *dict)
{
    PyObject *size = PyObject_CallMethod(dict, "__sizeof__", NULL);
    if (size == NULL)
        return -1;
    Py_ssize_t n = PyLong_AsSsize_t(size);
    Py_DECREF(size);
    return n;
}

/* Build a reference dict by insertion up to upto keys, recording where its size changes. */
static int measure_steps(size_steps *st, int str_keys, Py_ssize_t upto)
{
    PyObject *ref = PyDict_New();
    if (ref == NULL)
        return -1;
    st->nsteps = 0;
    st->covered = -1;
    Py_ssize_t last = -1;
    for (Py_ssize_t n = 0; n <= upto; n++) {
        if (n > 0) {
            PyObject *key = str_keys ? PyUnicode_FromFormat("%zd", n) : PyLong_FromSsize_t(n);
            int rc = key ? PyDict_SetItem(ref, key, Py_None) : -1;
            Py_XDECREF(key);
            if (rc < 0)
                goto error;
        }
        Py_ssize_t size = copium_dict_sizeof(ref);
        if (size < 0)
            goto error;
        if (size != last) {
            if (st->nsteps == MAX_STEPS)
                break;
            st->step_n[st->nsteps] = n;
            st->step_size[st->nsteps++] = size;
            last = size;
        }
        st->covered = n;
    }
    Py_DECREF(ref);
    return 0;
error:
    Py_DECREF(ref);
    st->nsteps = 0;
    st->covered = -1;
    return -1;
}

Py_ssize_t copium_dict_inserted_sizeof(Py_ssize_t n, int str_keys)
{
    size_steps *st = &steps_for[str_keys];
    if (n > st->covered) {
        Py_ssize_t upto = st->covered > 0 ? st->covered : 64;
        while (upto < n)
            upto *= 2;
        if (measure_steps(st, str_keys, upto) < 0) {
            PyErr_Clear();
            return -1;
        }
        if (n > st->covered)
            return -1;
    }
    Py_ssize_t size = -1;
    for (int i = 0; i < st->nsteps && st->step_n[i] <= n; i++)
        size = st->step_size[i];
    return size;
}

/* copium_child_is_atom for a key or value read from obj's table e. A registry miss resolves the
 * type, which runs no Python code for any type copium knows of; should it ever have, and left
 * obj with another table, the answer is no. */
static inline int entry_is_atom(copium_ctx *ctx, copium_atom_cache *cache, PyObject *item,
                                PyObject *obj, const copium_dict_entries *e)
{
    if (Py_TYPE(item) == cache->type)
        return cache->atomic;
    return copium_child_is_atom(ctx, cache, item) && copium_dict_entries_unchanged(obj, e);
}

/* 1 when every key and value in obj's table e is an atom of this call; *str_keys cleared
 * unless every key is an exact str. Type checks only (see entry_is_atom). */
static int table_all_atoms(copium_ctx *ctx, PyObject *obj, const copium_dict_entries *e,
                           int *str_keys)
{
    copium_atom_cache key_atoms = {0}, value_atoms = {0};
    if (e->str_keys) { /* the values, and str once */
        int str_checked = 0;
        for (Py_ssize_t i = 0; i < e->count; i++) {
            PyObject *value = COPIUM_DICT_ENTRY_VALUE(e, i);
            if (value == NULL)
                continue; /* a deleted entry (its key is NULL too) */
            if (!entry_is_atom(ctx, &value_atoms, value, obj, e))
                return 0;
            if (!str_checked) {
                if (!entry_is_atom(ctx, &key_atoms, COPIUM_DICT_ENTRY_KEY(e, i), obj, e))
                    return 0;
                str_checked = 1;
            }
        }
        return 1;
    }
    for (Py_ssize_t i = 0; i < e->count; i++) {
        PyObject *value = COPIUM_DICT_ENTRY_VALUE(e, i);
        if (value == NULL)
            continue; /* a deleted entry */
        PyObject *key = COPIUM_DICT_ENTRY_KEY(e, i);
        if (!entry_is_atom(ctx, &value_atoms, value, obj, e) ||
            !entry_is_atom(ctx, &key_atoms, key, obj, e))
            return 0;
        *str_keys &= PyUnicode_CheckExact(key);
    }
    return 1;
}

/* table_all_atoms through the public API, where the table cannot be read in place. */
static int next_all_atoms(copium_ctx *ctx, PyObject *obj, int *str_keys)
{
    copium_atom_cache key_atoms = {0}, value_atoms = {0};
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (PyDict_Next(obj, &pos, &key, &value)) {
        if (!copium_child_is_atom(ctx, &value_atoms, value) ||
            !copium_child_is_atom(ctx, &key_atoms, key))
            return 0;
        *str_keys &= PyUnicode_CheckExact(key);
    }
    return 1;
}

/* A clone of obj if every key and value is an atom of this call and the clone has exactly
 * the size of stdlib's copy; NULL otherwise (with an exception only on a real error). */
static PyObject *clone_atoms(copium_ctx *ctx, PyObject *obj)
{
    Py_ssize_t n = PyDict_GET_SIZE(obj);
    if (n < CLONE_MIN_ITEMS || n > CLONE_MAX_ITEMS)
        return NULL;
    int str_keys = 1;
    copium_dict_entries e;
    if (copium_dict_entries_of(obj, &e) ? !table_all_atoms(ctx, obj, &e, &str_keys)
                                        : !next_all_atoms(ctx, obj, &str_keys))
        return NULL;
    Py_ssize_t want = copium_dict_inserted_sizeof(n, str_keys);
    if (want < 0)
        return NULL;
    PyObject *copy = PyDict_Copy(obj);
    if (copy == NULL)
        return NULL;
    Py_ssize_t got = copium_dict_sizeof(copy);
    if (got != want) {
        Py_DECREF(copy);
        if (got < 0)
            PyErr_Clear();
        return NULL;
    }
    return copy;
}

static PyObject *dict_deepcopy(copium_ctx *ctx, PyObject *obj, copium_hash_t hash, void *data)
{
    (void)data;
    PyObject *copy = clone_atoms(ctx, obj);
    if (copy != NULL) {
        if (copium_memo_store(ctx, obj, hash, copy) < 0)
            Py_CLEAR(copy);
        return copy;
    }
    copy = PyDict_New();
    if (copy == NULL)
        return NULL;
    if (copium_memo_remember(ctx, obj, hash, copy) < 0)
        goto error;
    const Py_ssize_t size = PyDict_GET_SIZE(obj);
    Py_ssize_t remaining = size, pos = 0;
    PyObject *key, *value;
    copium_atom_cache key_atoms = {0}, value_atoms = {0};
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
        int rc;
        if (copium_child_is_atom(ctx, &value_atoms, value) &&
            copium_child_is_atom(ctx, &key_atoms, key)) {
            /* Nothing runs between here and the insertion: no references needed. */
            copium_gc_resume_before_hashing(key);
            rc = PyDict_SetItem(copy, key, value);
        } else {
            Py_INCREF(key);
            Py_INCREF(value);
            PyObject *value_copy = copium_deepcopy_child(ctx, value);
            PyObject *key_copy = value_copy ? copium_deepcopy_child(ctx, key) : NULL;
            if (key_copy != NULL)
                copium_gc_resume_before_hashing(key_copy);
            rc = key_copy ? PyDict_SetItem(copy, key_copy, value_copy) : -1;
            Py_DECREF(key);
            Py_DECREF(value);
            Py_XDECREF(key_copy);
            Py_XDECREF(value_copy);
            copium_atom_cache_reset(&key_atoms);
            copium_atom_cache_reset(&value_atoms);
        }
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
    .flags = COPIUM_HANDLER_QUIET,
    .deepcopy = dict_deepcopy,
    .copy = dict_copy,
};
