/* A dict items iterator's semantics over PyDict_Next, for the handlers and protocols that
 * iterate a dict as stdlib's Python code does (`for k, v in d.items()`). */
#ifndef COPIUM_DICTITER_H
#define COPIUM_DICTITER_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* The iterator: a size change between two steps raises
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

#endif
