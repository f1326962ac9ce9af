/* The configuration's C side (see config.h); copium/config.py holds the public API, the
 * environment variables and the validation. */
#include "config.h"

#include "../core/compat.h"
#include "../core/engine.h"
#include "../core/registry.h"
#include "../handlers/handlers.h"
#include "../handlers/memo_rejected.h"

int copium_config_memo_dict;

/* memo="dict": the call runs on a real dict from the start, as stdlib's does. Out of line, to
 * keep the default path of every call short. */
static COPIUM_NOINLINE PyObject *deepcopy_on_dict(PyObject *x)
{
    /* An atom needs no memo (stdlib returns it after one lookup in the empty dict). */
    if (copium_registry_lookup(Py_TYPE(x))->flags & COPIUM_HANDLER_ATOMIC)
        return Py_NewRef(x);
    PyObject *fresh = PyDict_New();
    if (fresh == NULL)
        return NULL;
    PyObject *copy = copium_deepcopy(x, fresh);
    Py_DECREF(fresh);
    return copy;
}

PyObject *copium_config_deepcopy(PyObject *x, PyObject *memo)
{
    if (copium_handlers_sync() < 0)
        return NULL;
    if (copium_config_memo_dict && (memo == NULL || memo == Py_None))
        return deepcopy_on_dict(x);
    return copium_deepcopy(x, memo);
}

PyObject *copium_config_copy(PyObject *x)
{
    if (copium_handlers_sync() < 0)
        return NULL;
    return copium_copy(x);
}

PyObject *copium_py_configure(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError,
                     "_configure() takes 2 positional arguments but %zd were "
                     "given",
                     nargs);
        return NULL;
    }
    int memo_dict = PyObject_IsTrue(args[0]);
    if (memo_dict < 0)
        return NULL;
    int retry = PyObject_IsTrue(args[1]);
    if (retry < 0)
        return NULL;
    copium_config_memo_dict = memo_dict;
    copium_memo_rejected_retry = retry;
    Py_RETURN_NONE;
}

PyObject *copium_py_configuration(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    return Py_BuildValue("(OO)", copium_config_memo_dict ? Py_True : Py_False,
                         copium_memo_rejected_retry ? Py_True : Py_False);
}
