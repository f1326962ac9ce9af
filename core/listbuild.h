/* Building a list whose final length is known: allocated at that length but empty, then
 * filled by appends that never reallocate. The list is a valid, growing list at every step, so
 * code that sees it meanwhile (a __deepcopy__ reading the memo) sees what stdlib's appends
 * would show. Used by the list handler, replicate and the glue's batch functions. */
#ifndef COPIUM_LISTBUILD_H
#define COPIUM_LISTBUILD_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* A new empty list with room for n items (n >= 0), or NULL with an error. */
static inline PyObject *copium_list_presized(Py_ssize_t n)
{
    PyObject *list = PyList_New(n);
    if (list != NULL)
        Py_SET_SIZE(list, 0);
    return list;
}

/* Append item, stealing the reference (also on failure). 0, or -1 with an error. */
static inline int copium_list_append_steal(PyObject *list, PyObject *item)
{
    PyListObject *l = (PyListObject *)list;
    Py_ssize_t size = Py_SIZE(l);
    if (size < l->allocated) {
        l->ob_item[size] = item;
        Py_SET_SIZE(l, size + 1);
        return 0;
    }
    int rc = PyList_Append(list, item);
    Py_DECREF(item);
    return rc;
}

#endif
