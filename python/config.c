/* The configuration's C side (see config.h); copium/config.py holds the public API, the
 * environment variables and the validation. */
#include "config.h"

#include "../core/compat.h"
#include "../core/engine.h"
#include "../core/registry.h"
#include "../protocol/memo_rejected.h"
#include "state.h"

/* Out of line, to keep the default path of every call short. */
COPIUM_NOINLINE PyObject *copium_config_deepcopy_on_dict(copium_protocol *P, PyObject *x)
{
    /* An atom needs no memo (stdlib returns it after one lookup in the empty dict). */
    if (copium_is_atom(P->core, x))
        return Py_NewRef(x);
    PyObject *fresh = PyDict_New();
    if (fresh == NULL)
        return NULL;
    PyObject *copy = copium_deepcopy(P->core, x, fresh);
    Py_DECREF(fresh);
    return copy;
}

COPIUM_NOINLINE PyObject *copium_config_deepcopy_rest(copium_protocol *P, copium_core *core,
                                                      PyObject *x)
{
    if (copium_handlers_sync(P) < 0)
        return NULL;
    if (P->memo_dict)
        return copium_config_deepcopy_on_dict(P, x);
    return copium_deepcopy(core, x, NULL);
}

PyObject *copium_config_deepcopy(copium_protocol *P, PyObject *x, PyObject *memo)
{
    if (copium_handlers_sync(P) < 0)
        return NULL;
    if (P->memo_dict && (memo == NULL || memo == Py_None))
        return copium_config_deepcopy_on_dict(P, x);
    return copium_deepcopy(P->core, x, memo);
}

PyObject *copium_config_copy(copium_protocol *P, PyObject *x)
{
    if (copium_handlers_sync(P) < 0)
        return NULL;
    return copium_copy(P->core, x);
}

PyObject *copium_py_configure(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    copium_protocol *P = copium_module_proto(module);
    if (nargs != 3) {
        PyErr_Format(PyExc_TypeError,
                     "_configure() takes 3 positional arguments but %zd were "
                     "given",
                     nargs);
        return NULL;
    }
    int memo_dict = PyObject_IsTrue(args[0]);
    if (memo_dict < 0)
        return NULL;
    long mode = PyLong_AsLong(args[1]);
    if (mode == -1 && PyErr_Occurred())
        return NULL;
    if (mode < COPIUM_MEMO_REJECTED_RAISE || mode > COPIUM_MEMO_REJECTED_SILENT) {
        PyErr_Format(PyExc_ValueError, "_configure(): no mode %ld", mode);
        return NULL;
    }
    if (copium_memo_rejected_set(&P->memo_rejected, (copium_memo_rejected_mode)mode, args[2]) < 0)
        return NULL;
    P->memo_dict = memo_dict;
    Py_RETURN_NONE;
}

PyObject *copium_py_configuration(PyObject *module, PyObject *unused)
{
    (void)unused;
    copium_protocol *P = copium_module_proto(module);
    PyObject *suppressed = copium_memo_rejected_suppressed(&P->memo_rejected);
    if (suppressed == NULL)
        return NULL;
    return Py_BuildValue("(OiN)", P->memo_dict ? Py_True : Py_False, (int)P->memo_rejected.mode,
                         suppressed);
}
