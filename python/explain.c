/* copium._copium._explain (see explain.h): one recorded deep copy. The recorder (core/explain.h)
 * is made for the call, handed the handlers layer's classification of handlers, and let go
 * after its result is in the caller's list. */
#include "explain.h"

#include "../batch/pins.h"
#include "../core/compat.h"
#include "../core/explain.h"
#include "../core/registry.h"
#include "../protocol/install.h"
#include "config.h"
#include "state.h"

/* A handler's kind, through the wrapper the registry hands out for a type with pinned objects
 * (an object that is not pinned takes the wrapped handler's path). */
static int explain_kind(const copium_handler *h)
{
    return copium_handlers_explain_kind(copium_pins_unwrap(h));
}

PyObject *copium_py_explain(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    copium_protocol *P = copium_module_proto(module);
    if (nargs != 3 || !PyList_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "_explain(x, memo, sink) needs a list as sink");
        return NULL;
    }
    PyObject *x = args[0], *memo = args[1] == Py_None ? NULL : args[1], *sink = args[2];
    PyObject *copy = NULL;
    copium_recorder *rec = copium_recorder_new(explain_kind);
    if (rec == NULL)
        return NULL;
    if (copium_handlers_sync(P) < 0 || copium_explain_begin(P->core, rec, memo) < 0)
        goto done;
    /* An atom given without a memo never reaches the engine (copium.deepcopy returns it after
     * its registry lookup): counted here. */
    if (memo == NULL &&
        (copium_registry_lookup(&P->core->registry, Py_TYPE(x))->flags & COPIUM_HANDLER_ATOMIC))
        copy = copium_explain_atom(rec, Py_TYPE(x)) < 0 ? NULL : Py_NewRef(x);
    else
        copy = copium_config_deepcopy(P, x, memo);
    copium_explain_end(rec);
    /* The recording, whatever the outcome; the copy's exception stays the one raised. */
    PyObject *exc = copium_err_take();
    PyObject *result = copium_recorder_result(rec);
    int rc = result != NULL ? PyList_Append(sink, result) : -1;
    Py_XDECREF(result);
    if (exc != NULL) {
        PyErr_Clear();
        copium_err_give(exc);
    } else if (rc < 0) {
        Py_CLEAR(copy);
    }
done:
    copium_recorder_free(rec);
    return copy;
}
