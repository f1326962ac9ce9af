/* Batch deep copies (copium.extra.replicate): n independent deep copies of one object graph,
 * built from one plan (plan.h) recorded in replicate mode. The plan covers what it records
 * natively and the engine parts whose handlers run no Python code; a graph with any other
 * part (a __deepcopy__, a reduce, a Python handler, a builtin handler that stepped aside
 * because the program changed stdlib's tables) or nested deeper than the engine's recursion
 * guard allows makes it report that the plan cannot be used, before anything was built: the
 * caller then makes n ordinary deep copies, each exactly what deepcopy returns. */
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
