/* copium.extra's functions (see extra.h): argument handling, and replicate's fallback to one
 * deep copy after another. The plans, snapshots and pins live in batch/. */
#include "extra.h"

#include "../batch/pins.h"
#include "../batch/replicate.h"
#include "../batch/snapshot.h"
#include "../core/listbuild.h"
#include "../handlers/handlers.h"
#include "args.h"
#include "config.h"

PyObject *copium_py_replicate(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    static const char *const names[] = {"obj", "n"};
    PyObject *params[2];
    Py_ssize_t n;
    if (copium_parse_args("replicate", args, nargs, NULL, names, 2, 2, params) < 0 ||
        copium_parse_count("replicate", "n", params[1], &n) < 0)
        return NULL;
    PyObject *obj = params[0];
    PyObject *result = copium_list_presized(n);
    if (result == NULL)
        return NULL;
    if (n == 0)
        return result;
    if (n >= 2) {
        if (copium_handlers_sync() < 0)
            goto error;
        int rc = copium_replicate(obj, n, result);
        if (rc < 0)
            goto error;
        if (rc > 0)
            return result;
    }
    /* One copy, or a graph the plan cannot express: deep copies one after another. */
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *copy = copium_config_deepcopy(obj, NULL);
        if (copy == NULL || copium_list_append_steal(result, copy) < 0)
            goto error;
    }
    return result;
error:
    Py_DECREF(result);
    return NULL;
}

PyObject *copium_py_repeatcall(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    static const char *const names[] = {"function", "size"};
    PyObject *params[2];
    Py_ssize_t n;
    if (copium_parse_args("repeatcall", args, nargs, NULL, names, 2, 2, params) < 0)
        return NULL;
    PyObject *function = params[0];
    if (!PyCallable_Check(function)) {
        PyErr_Format(PyExc_TypeError,
                     "repeatcall() argument 'function' must be callable, not "
                     "%.200s",
                     Py_TYPE(function)->tp_name);
        return NULL;
    }
    if (copium_parse_count("repeatcall", "size", params[1], &n) < 0)
        return NULL;
    PyObject *result = copium_list_presized(n);
    if (result == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PyObject_CallNoArgs(function);
        if (item == NULL || copium_list_append_steal(result, item) < 0) {
            Py_DECREF(result);
            return NULL;
        }
    }
    return result;
}

/* The functions taking one object: snapshot(obj), pin(obj), unpin(obj). */
static PyObject *one_object(const char *fname, PyObject *const *args, Py_ssize_t nargs,
                            PyObject *kwnames)
{
    static const char *const names[] = {"obj"};
    PyObject *obj;
    if (nargs == 1 && kwnames == NULL)
        return args[0];
    if (copium_parse_args(fname, args, nargs, kwnames, names, 1, 1, &obj) < 0)
        return NULL;
    return obj;
}

PyObject *copium_py_snapshot(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                             PyObject *kwnames)
{
    (void)module;
    PyObject *obj = one_object("snapshot", args, nargs, kwnames);
    return obj ? copium_snapshot_new(obj, NULL) : NULL;
}

PyObject *copium_py_pin(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                        PyObject *kwnames)
{
    (void)module;
    PyObject *obj = one_object("pin", args, nargs, kwnames);
    return obj ? copium_pins_pin(obj) : NULL;
}

PyObject *copium_py_unpin(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                          PyObject *kwnames)
{
    (void)module;
    PyObject *obj = one_object("unpin", args, nargs, kwnames);
    int rc = obj ? copium_pins_unpin(obj) : -1;
    return rc < 0 ? NULL : PyBool_FromLong(rc);
}

PyObject *copium_py_pinned(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    return copium_pins_list();
}

PyObject *copium_py_clear_pins(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    Py_ssize_t n = copium_pins_clear();
    return n < 0 ? NULL : PyLong_FromSsize_t(n);
}
