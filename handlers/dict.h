/* What the dict handler (dict.c) offers beyond its vtable: the sizes of dicts as stdlib's
 * copies build them (the native object path compares an instance dict's with them). */
#ifndef COPIUM_DICT_H
#define COPIUM_DICT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "state.h"

/* d.__sizeof__() (sys.getsizeof(d) less the GC header; -1 with an error). */
Py_ssize_t copium_dict_sizeof(PyObject *d);

/* d.__sizeof__() of a dict built by inserting n keys (all exact str, or not) into an empty
 * dict, as stdlib's copies are built; -1 (no error set) when unknown. Measured in H. */
Py_ssize_t copium_dict_inserted_sizeof(copium_handlers_state *H, Py_ssize_t n, int str_keys);

#endif
