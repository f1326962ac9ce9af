/* Python callables as handlers (pycallable.c): copium.register_handler(type, fn). */
#ifndef COPIUM_PROTOCOL_PYCALLABLE_H
#define COPIUM_PROTOCOL_PYCALLABLE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "state.h"

/* Register a Python callable fn(obj, memo) -> copy for exactly type (pycallable.c).
 * 0, or -1 with TypeError set. */
int copium_register_callable(copium_protocol *P, PyTypeObject *type, PyObject *fn);
/* 1 when h (a registry copy) is a handler copium_register_callable made. */
int copium_pycallable_is_handler(const copium_handler *h);

#endif
