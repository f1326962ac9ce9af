/* Argument parsing shared by the module's functions (module.c, extra.c) and by the patched
 * stdlib functions (patch.c), so that every entry point reports bad arguments with the messages
 * a Python function with the same signature gives. */
#ifndef COPIUM_ARGS_H
#define COPIUM_ARGS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* Sort positional and keyword arguments (vectorcall convention) into the named parameters
 * names[0..nparams), of which the first nrequired are required; fname names the function in
 * the messages. out[i] stays NULL for a missing optional one. 0, or -1 with TypeError set. */
int copium_parse_args(const char *fname, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
                      const char *const *names, Py_ssize_t nparams, Py_ssize_t nrequired,
                      PyObject **out);

/* An argument that must be a non-negative integer (anything with __index__), as a count:
 * TypeError for another type, ValueError for a negative number, OverflowError past
 * PY_SSIZE_T_MAX. 0, or -1 with the error set. */
int copium_parse_count(const char *fname, const char *name, PyObject *arg, Py_ssize_t *count);

#endif
