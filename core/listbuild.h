/* Building a list whose final length is known: allocated at that length but empty, then
 * filled by appends that never reallocate. The list is a valid, growing list at every step, so
 * code that sees it meanwhile (a __deepcopy__ reading the memo) sees what stdlib's appends
 * would show. Used by the list handler, replicate and the glue's batch functions. */
#ifndef COPIUM_LISTBUILD_H
#define COPIUM_LISTBUILD_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* A new empty list with room for n items (n >= 0), or NULL with an error. The room is left
 * uninitialised, as list.copy() leaves it (PyList_New(n) would zero it only for the appends to
 * overwrite); nothing reads past the size. Free-threaded builds keep the items in an array
 * with a header of their own, which only PyList_New makes. */
static inline PyObject *copium_list_presized(Py_ssize_t n)
{
#ifndef Py_GIL_DISABLED
    PyObject *list = PyList_New(0);
    if (list == NULL || n == 0)
        return list;
    PyObject **items = PyMem_New(PyObject *, (size_t)n);
    if (items == NULL) {
        Py_DECREF(list);
        return PyErr_NoMemory();
    }
    ((PyListObject *)list)->ob_item = items;
    ((PyListObject *)list)->allocated = n;
    return list;
#else
    PyObject *list = PyList_New(n);
    if (list != NULL)
        Py_SET_SIZE(list, 0);
    return list;
#endif
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
