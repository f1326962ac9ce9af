/* PEP 479 around a copy stdlib makes inside a generator expression. */
#ifndef COPIUM_GENSTOP_H
#define COPIUM_GENSTOP_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "../core/compat.h"

/* Stdlib's _reconstruct deep-copies the reduce arguments in a generator expression
 * (`callable(*(deepcopy(arg, memo) for arg in args))`), so PEP 479 turns a StopIteration
 * raised while copying one of them into RuntimeError("generator raised StopIteration"), with
 * the StopIteration as its cause. Call after copying such an argument failed: converts a
 * pending StopIteration, leaves any other exception alone. (3.15 copies them in a list
 * comprehension instead: nothing to convert there.) */
static inline void copium_generator_stop(void)
{
#if PY_VERSION_HEX < 0x030F0000
    if (!PyErr_ExceptionMatches(PyExc_StopIteration))
        return;
    PyObject *value = copium_err_take();
    PyErr_SetString(PyExc_RuntimeError, "generator raised StopIteration");
    PyObject *rvalue = copium_err_take();
    if (rvalue != NULL && value != NULL) {
        Py_INCREF(value);
        PyException_SetCause(rvalue, value);   /* steals a reference */
        PyException_SetContext(rvalue, value); /* steals the other */
    } else {
        Py_XDECREF(value);
    }
    copium_err_give(rvalue);
#endif
}

#endif
