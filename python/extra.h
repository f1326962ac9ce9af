/* copium.extra's functions: replicate (n deep copies at once), repeatcall, snapshots and
 * pins. */
#ifndef COPIUM_EXTRA_H
#define COPIUM_EXTRA_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* Both take positional arguments only (METH_FASTCALL), with copium 0.1.0's signatures:
 * replicate(obj, n, /) and repeatcall(function, size, /). */
PyObject *copium_py_replicate(PyObject *module, PyObject *const *args, Py_ssize_t nargs);
PyObject *copium_py_repeatcall(PyObject *module, PyObject *const *args, Py_ssize_t nargs);

PyObject *copium_py_snapshot(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                             PyObject *kwnames);
PyObject *copium_py_pin(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                        PyObject *kwnames);
PyObject *copium_py_unpin(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                          PyObject *kwnames);
PyObject *copium_py_pinned(PyObject *module, PyObject *unused);
PyObject *copium_py_clear_pins(PyObject *module, PyObject *unused);

#define COPIUM_REPLICATE_DOC                                                                       \
    "replicate($module, obj, n, /)\n--\n\n"                                                        \
    "A list of n independent deep copies of obj: the same as [deepcopy(obj) for _ in "             \
    "range(n)], faster when obj's copy is fixed by the graph alone (containers, plain "            \
    "instances, dataclasses, datetimes, UUIDs, atoms)."
#define COPIUM_REPEATCALL_DOC                                                                      \
    "repeatcall($module, function, size, /)\n--\n\n"                                               \
    "A list of the results of size calls of function() with no arguments: the same as "            \
    "[function() for _ in range(size)]."

#define COPIUM_SNAPSHOT_DOC                                                                        \
    "snapshot($module, /, obj)\n--\n\n"                                                            \
    "Record obj's state now as the plan of one deep copy: calling the returned Snapshot "          \
    "returns a new deep copy of obj as it was, independent of later changes to obj."
#define COPIUM_PIN_DOC                                                                             \
    "pin($module, /, obj)\n--\n\n"                                                                 \
    "Pin obj: until it is unpinned, every deep copy that meets obj builds that part from a "       \
    "snapshot of obj taken now (an opt-in departure from copy.deepcopy). Returns the Pin."
#define COPIUM_UNPIN_DOC                                                                           \
    "unpin($module, /, obj)\n--\n\n"                                                               \
    "Unpin obj; True when it was pinned."
#define COPIUM_PINNED_DOC                                                                          \
    "pinned($module, /)\n--\n\n"                                                                   \
    "The current Pins, oldest first."
#define COPIUM_CLEAR_PINS_DOC                                                                      \
    "clear_pins($module, /)\n--\n\n"                                                               \
    "Unpin everything; returns how many pins were removed."

#endif
