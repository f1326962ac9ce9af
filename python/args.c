/* Argument parsing shared by the entry points (see args.h). */
#include "args.h"

int copium_parse_args(const char *fname, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
                      const char *const *names, Py_ssize_t nparams, Py_ssize_t nrequired,
                      PyObject **out)
{
    for (Py_ssize_t i = 0; i < nparams; i++)
        out[i] = NULL;
    if (nargs > nparams) {
        if (nparams == nrequired)
            PyErr_Format(PyExc_TypeError, "%s() takes %zd positional argument%s but %zd were given",
                         fname, nparams, nparams == 1 ? "" : "s", nargs);
        else
            PyErr_Format(PyExc_TypeError,
                         "%s() takes from %zd to %zd positional arguments but %zd were given",
                         fname, nrequired, nparams, nargs);
        return -1;
    }
    for (Py_ssize_t i = 0; i < nargs; i++)
        out[i] = args[i];
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    for (Py_ssize_t k = 0; k < nkw; k++) {
        PyObject *kw = PyTuple_GET_ITEM(kwnames, k);
        Py_ssize_t i = 0;
        for (; i < nparams; i++) {
            if (PyUnicode_CompareWithASCIIString(kw, names[i]) == 0)
                break;
        }
        if (i == nparams) {
            PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%U'", fname,
                         kw);
            return -1;
        }
        if (out[i] != NULL) {
            PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument '%s'", fname,
                         names[i]);
            return -1;
        }
        out[i] = args[nargs + k];
    }
    /* Python's wording: "missing 1 required positional argument: 'a'", "missing 2 required
     * positional arguments: 'a' and 'b'", "... 'a', 'b', and 'c'". */
    Py_ssize_t missing = 0;
    for (Py_ssize_t i = 0; i < nrequired; i++)
        missing += out[i] == NULL;
    if (missing == 0)
        return 0;
    PyObject *list = PyUnicode_FromString("");
    Py_ssize_t listed = 0;
    for (Py_ssize_t i = 0; i < nrequired && list != NULL; i++) {
        if (out[i] != NULL)
            continue;
        listed++;
        const char *sep = listed == 1        ? ""
                          : listed < missing ? ", "
                          : missing == 2     ? " and "
                                             : ", and ";
        PyObject *more = PyUnicode_FromFormat("%U%s'%s'", list, sep, names[i]);
        Py_SETREF(list, more);
    }
    if (list != NULL) {
        PyErr_Format(PyExc_TypeError, "%s() missing %zd required positional argument%s: %U", fname,
                     missing, missing == 1 ? "" : "s", list);
        Py_DECREF(list);
    }
    return -1;
}

int copium_parse_count(const char *fname, const char *name, PyObject *arg, Py_ssize_t *count)
{
    if (!PyIndex_Check(arg)) {
        PyErr_Format(PyExc_TypeError, "%s() argument '%s' must be an integer, not %.200s", fname,
                     name, Py_TYPE(arg)->tp_name);
        return -1;
    }
    Py_ssize_t n = PyNumber_AsSsize_t(arg, PyExc_OverflowError);
    if (n == -1 && PyErr_Occurred())
        return -1;
    if (n < 0) {
        PyErr_Format(PyExc_ValueError, "%s() argument '%s' must be >= 0, not %zd", fname, name, n);
        return -1;
    }
    *count = n;
    return 0;
}
