/* copium._copium._explain, the C side of copium.explain (python/copium/report.py builds the
 * report; core/explain.h records). */
#ifndef COPIUM_PY_EXPLAIN_H
#define COPIUM_PY_EXPLAIN_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* _explain(x, memo, sink) -> copy: copium.deepcopy(x, memo) (memo None: none given) with the
 * thread's copies recorded meanwhile. The recording, (rows, total_ns, shared, error_path) as
 * core/explain.h describes it, is appended to the list sink whatever the outcome: when the copy
 * raises, the exception propagates after it. */
PyObject *copium_py_explain(PyObject *module, PyObject *const *args, Py_ssize_t nargs);

#endif
