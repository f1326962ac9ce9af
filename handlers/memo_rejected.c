/* A __deepcopy__ that rejects its memo (see memo_rejected.h). */
#include "memo_rejected.h"

int copium_memo_rejected_retry;

/* memo[key] = value for every entry of copy that memo does not already map to the same object,
 * but the keep-alive entry copy has under its own id; then copy itself appended to memo's
 * keep-alive list (memo[id(memo)]), as stdlib's _keep_alive would, so that everything the
 * retry kept alive stays alive. 0, or -1 with an error. */
static int merge_back(PyObject *memo, PyObject *copy)
{
    PyObject *own_key = PyLong_FromVoidPtr(copy);
    if (own_key == NULL)
        return -1;
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    int rc = 0;
    while (rc == 0 && PyDict_Next(copy, &pos, &key, &value)) {
        int same = PyObject_RichCompareBool(key, own_key, Py_EQ);
        if (same != 0) {
            rc = same < 0 ? -1 : 0;
            continue;
        }
        Py_INCREF(key);
        Py_INCREF(value);
        PyObject *old = PyObject_GetItem(memo, key);
        if (old == NULL && PyErr_ExceptionMatches(PyExc_KeyError))
            PyErr_Clear();
        if (old == NULL && PyErr_Occurred())
            rc = -1;
        else if (old != value)
            rc = PyObject_SetItem(memo, key, value);
        Py_XDECREF(old);
        Py_DECREF(key);
        Py_DECREF(value);
    }
    Py_DECREF(own_key);
    if (rc < 0)
        return -1;
    /* _keep_alive(copy, memo) */
    PyObject *ka_key = PyLong_FromVoidPtr(memo);
    if (ka_key == NULL)
        return -1;
    PyObject *list = PyObject_GetItem(memo, ka_key);
    if (list != NULL) {
        PyObject *r = PyObject_CallMethod(list, "append", "(O)", copy);
        rc = r ? 0 : -1;
        Py_XDECREF(r);
        Py_DECREF(list);
    } else if (PyErr_ExceptionMatches(PyExc_KeyError)) {
        PyErr_Clear();
        list = PyList_New(1);
        if (list == NULL) {
            rc = -1;
        } else {
            PyList_SET_ITEM(list, 0, Py_NewRef(copy));
            rc = PyObject_SetItem(memo, ka_key, list);
            Py_DECREF(list);
        }
    } else {
        rc = -1;
    }
    Py_DECREF(ka_key);
    return rc;
}

PyObject *copium_call_deepcopy_method(PyObject *copier, PyObject *memo)
{
    PyObject *y = PyObject_CallOneArg(copier, memo);
    if (y != NULL || !copium_memo_rejected_retry || PyDict_CheckExact(memo) ||
        !PyErr_ExceptionMatches(PyExc_TypeError))
        return y;
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    PyObject *copy = PyDict_New();
    if (copy == NULL || PyDict_Merge(copy, memo, 1) < 0)
        goto fail;
    if (PyErr_WarnFormat(PyExc_RuntimeWarning, 1,
                         "%R rejected the memo it was given (a %.200s) with TypeError: %S; "
                         "calling it again with a dict copy of the memo "
                         "(copium.config on_memo_rejected='warn')",
                         copier, Py_TYPE(memo)->tp_name, value) < 0)
        goto fail;
    y = PyObject_CallOneArg(copier, copy);
    if (y == NULL)
        goto fail;
    if (merge_back(memo, copy) < 0) {
        Py_CLEAR(y);
        goto fail;
    }
    Py_DECREF(copy);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
    return y;
fail:
    Py_XDECREF(copy);
    /* The new error, with the rejection as its context. */
    if (value != NULL) {
        PyObject *t2, *v2, *tb2;
        PyErr_Fetch(&t2, &v2, &tb2);
        PyErr_NormalizeException(&t2, &v2, &tb2);
        if (tb != NULL)
            PyException_SetTraceback(value, tb);
        if (v2 != NULL && v2 != value)
            PyException_SetContext(v2, Py_NewRef(value));
        PyErr_Restore(t2, v2, tb2);
    }
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
    return NULL;
}
