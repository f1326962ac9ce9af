/* Batch deep copies (copium.extra.replicate): n independent deep copies of one object graph.
 *
 * A graph made only of exact list, dict, tuple, set and frozenset objects (served by the
 * builtin handlers) and atoms has a copy whose shape does not depend on anything but the graph
 * itself: no user code runs, so every deepcopy of it creates the same objects in the same
 * pattern. copium_replicate records that pattern once, as a compact plan (which objects are new,
 * what each holds, which originals are shared as they are), following the engine's rules exactly
 * (memo and identity within a copy, cycles, a tuple whose items all copy to themselves returned
 * as is, a tuple memoized during its own copy, dict values copied before their keys, sets and
 * frozensets rebuilt), then builds the n copies from the plan with no memo, no hashing of
 * addresses and no dispatch. Any other object in the graph (or a builtin handler that stepped
 * aside because the program changed stdlib's tables, or a graph nested deeper than the engine's
 * recursion guard allows) makes it report that the plan cannot be used, before anything was
 * built: the caller then makes n ordinary deep copies. */
#ifndef COPIUM_REPLICATE_H
#define COPIUM_REPLICATE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* Append n deep copies of obj to result (an empty list the caller owns; it must not be visible
 * to other code). Returns 1 when done, 0 when obj's graph holds something the plan cannot
 * express (result untouched, no error set), -1 with an exception set (result may hold some of
 * the copies). The caller has synchronised the handlers with stdlib's tables. */
int copium_replicate(PyObject *obj, Py_ssize_t n, PyObject *result);

#endif
