/* Keys whose hash and equality are computed in C: inserting one into a dict or a set runs no
 * Python code. The dict and set handlers keep the collector's pause (core/gcpause.h) and the
 * call's pending copies (core/pending.h) only while every key they insert is one of these. */
#ifndef COPIUM_CHASH_H
#define COPIUM_CHASH_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "../core/engine.h"

static inline int copium_hashes_in_c(PyTypeObject *t)
{
    return t == &PyUnicode_Type || t == &PyLong_Type || t == &PyFloat_Type || t == &PyBytes_Type ||
           t == &PyBool_Type || t == Py_TYPE(Py_None);
}

/* Before inserting key into a new dict or set: copium_before_python_code unless key hashes in
 * C. 0, or -1 with an exception set. */
static inline int copium_before_hashing(copium_ctx *ctx, PyObject *key)
{
    if (!copium_hashes_in_c(Py_TYPE(key)))
        return copium_before_python_code(ctx);
    return 0;
}

#endif
