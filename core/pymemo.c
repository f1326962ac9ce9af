/* Memo operations on a Python memo object (see pymemo.h), following Lib/copy.py. */
#include "pymemo.h"

#if PY_VERSION_HEX < 0x030F0000
/* memo.get(key, sentinel) as stdlib calls it (3.15 tests `key in memo` instead). */
static PyObject *sentinel_get(PyObject *memo, PyObject *key, int *found)
{
    if (PyDict_CheckExact(memo)) {
        PyObject *v = PyDict_GetItemWithError(memo, key);
        *found = v != NULL;
        if (v == NULL)
            return PyErr_Occurred() ? NULL : Py_None;
        return Py_NewRef(v);
    }
    /* A sentinel nobody else can hold, like stdlib's private _nil list. */
    PyObject *nil = PyList_New(0);
    if (nil == NULL)
        return NULL;
    PyObject *v = PyObject_CallMethod(memo, "get", "OO", key, nil);
    if (v == NULL) {
        Py_DECREF(nil);
        return NULL;
    }
    *found = v != nil;
    Py_DECREF(nil);
    if (!*found) {
        Py_DECREF(v);
        return Py_None;
    }
    return v;
}

#endif

int copium_pymemo_lookup(PyObject *memo, PyObject *orig, PyObject **copy)
{
    PyObject *key = PyLong_FromVoidPtr(orig);
    if (key == NULL)
        return -1;
    int found = 0;
#if PY_VERSION_HEX >= 0x030F0000
    /* 3.15: `if d in memo: return memo[d]` */
    PyObject *v = NULL;
    found = PySequence_Contains(memo, key);
    if (found > 0) {
        v = PyObject_GetItem(memo, key);
        if (v == NULL)
            found = -1;
    }
    Py_DECREF(key);
    *copy = found > 0 ? v : NULL;
    return found;
#else
    /* `y = memo.get(d, _nil); if y is not _nil: return y` */
    PyObject *v = sentinel_get(memo, key, &found);
    Py_DECREF(key);
    if (v == NULL)
        return -1;
    *copy = found ? v : NULL;
    return found;
#endif
}

int copium_pymemo_getitem(PyObject *memo, PyObject *orig, PyObject **copy)
{
    PyObject *key = PyLong_FromVoidPtr(orig);
    if (key == NULL)
        return -1;
    *copy = PyObject_GetItem(memo, key);
    Py_DECREF(key);
    if (*copy != NULL)
        return 1;
    if (!PyErr_ExceptionMatches(PyExc_KeyError))
        return -1;
    PyErr_Clear();
    return 0;
}

int copium_pymemo_keep_alive(PyObject *memo, PyObject *orig)
{
    PyObject *key = PyLong_FromVoidPtr(memo);
    if (key == NULL)
        return -1;
    int rc = -1;
    PyObject *list = PyObject_GetItem(memo, key);
    if (list != NULL) {
        if (PyList_CheckExact(list)) {
            rc = PyList_Append(list, orig);
        } else {
            PyObject *r = PyObject_CallMethod(list, "append", "(O)", orig);
            rc = r ? 0 : -1;
            Py_XDECREF(r);
        }
        Py_DECREF(list);
    } else if (PyErr_ExceptionMatches(PyExc_KeyError)) {
        PyErr_Clear();
        list = PyList_New(1);
        if (list != NULL) {
            PyList_SET_ITEM(list, 0, Py_NewRef(orig));
            rc = PyObject_SetItem(memo, key, list);
            Py_DECREF(list);
        }
    }
    Py_DECREF(key);
    return rc;
}

int copium_pymemo_store(PyObject *memo, PyObject *orig, PyObject *copy, int keepalive)
{
    PyObject *key = PyLong_FromVoidPtr(orig);
    if (key == NULL)
        return -1;
    int rc = PyDict_CheckExact(memo) ? PyDict_SetItem(memo, key, copy)
                                     : PyObject_SetItem(memo, key, copy);
    Py_DECREF(key);
    if (rc < 0 || !keepalive)
        return rc;
    return copium_pymemo_keep_alive(memo, orig);
}
