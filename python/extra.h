/* copium.extra's functions: replicate (n deep copies at once) and repeatcall. */
#ifndef COPIUM_EXTRA_H
#define COPIUM_EXTRA_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* Both take positional arguments only (METH_FASTCALL), with copium 0.1.0's signatures:
 * replicate(obj, n, /) and repeatcall(function, size, /). */
PyObject *copium_py_replicate(PyObject *module, PyObject *const *args, Py_ssize_t nargs);
PyObject *copium_py_repeatcall(PyObject *module, PyObject *const *args, Py_ssize_t nargs);

#define COPIUM_REPLICATE_DOC                                                                       \
    "replicate($module, obj, n, /)\n--\n\n"                                                        \
    "A list of n independent deep copies of obj: the same as [deepcopy(obj) for _ in "             \
    "range(n)], faster when obj is made of dicts, lists, tuples, sets, frozensets and atoms."
#define COPIUM_REPEATCALL_DOC                                                                      \
    "repeatcall($module, function, size, /)\n--\n\n"                                               \
    "A list of the results of size calls of function() with no arguments: the same as "            \
    "[function() for _ in range(size)]."

#endif
