/* Memo operations on a Python-level memo object, with stdlib's exact protocol: memo.get(id(x)),
 * memo[id(x)] = y, and the keepalive list at memo[id(memo)]. Used once a call has a Python memo
 * (the caller passed one, or a __deepcopy__ hook needed one). An exact dict goes through the
 * dict C API; any other object through its methods, as stdlib would call them. */
#ifndef COPIUM_PYMEMO_H
#define COPIUM_PYMEMO_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* deepcopy()'s own lookup, as the running version's stdlib makes it: 1 and a new reference in
 * *copy, 0 when absent, -1 on error. */
int copium_pymemo_lookup(PyObject *memo, PyObject *orig, PyObject **copy);

/* `memo[id(orig)]` with KeyError meaning absent (_deepcopy_tuple's re-check). Same returns. */
int copium_pymemo_getitem(PyObject *memo, PyObject *orig, PyObject **copy);

/* memo[id(orig)] = copy, then (with keepalive) orig appended to memo[id(memo)]. 0 or -1. */
int copium_pymemo_store(PyObject *memo, PyObject *orig, PyObject *copy, int keepalive);

/* `_keep_alive(orig, memo)`: orig appended to memo[id(memo)], made on first use. 0 or -1. */
int copium_pymemo_keep_alive(PyObject *memo, PyObject *orig);

#endif
