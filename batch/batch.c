/* The batch layer's state (see batch.h): made at module initialisation, freed at its end. */
#include "batch.h"

#include "../core/state.h"
#include "../protocol/state.h"
#include "pins.h"
#include "snapshot.h"

copium_batch_state *copium_batch(void)
{
    copium_core *core = copium_core_current();
    return core != NULL ? core->batch : NULL;
}

/* The tp_traverse CPython gives Python classes: made once, from a class of our own. */
static traverseproc python_class_traverse(void)
{
    PyObject *cls = PyObject_CallFunction((PyObject *)&PyType_Type, "s(O){}", "probe",
                                          (PyObject *)&PyBaseObject_Type);
    if (cls == NULL) {
        PyErr_Clear();
        return NULL; /* the plan then trusts no class's traversal */
    }
    traverseproc traverse = ((PyTypeObject *)cls)->tp_traverse;
    Py_DECREF(cls);
    return traverse;
}

static void state_free(copium_batch_state *s)
{
    Py_CLEAR(s->snapshot_type);
    Py_CLEAR(s->pin_type);
#if PY_VERSION_HEX < 0x030D0000
    if (s->lock != NULL)
        PyThread_free_lock(s->lock);
#endif
    PyMem_Free(s);
}

copium_batch_state *copium_batch_init(PyObject *module, copium_protocol *P)
{
    copium_batch_state *s = PyMem_Calloc(1, sizeof(*s));
    if (s == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    s->proto = P;
    s->core = P->core;
#if PY_VERSION_HEX < 0x030D0000
    s->lock = PyThread_allocate_lock();
    if (s->lock == NULL) {
        PyErr_NoMemory();
        goto error;
    }
#endif
    s->snapshot_type = (PyTypeObject *)PyType_FromSpec(&copium_snapshot_spec);
    if (s->snapshot_type == NULL || copium_snapshot_type_ready(s->snapshot_type) < 0)
        goto error;
    s->pin_type = (PyTypeObject *)PyType_FromSpec(&copium_pin_spec);
    if (s->pin_type == NULL)
        goto error;
    if (PyModule_AddType(module, s->snapshot_type) < 0 || PyModule_AddType(module, s->pin_type) < 0)
        goto error;
    s->class_traverse = python_class_traverse();
    if (copium_pins_init(s) < 0)
        goto error;
    s->core->batch = s;
    return s;
error:
    state_free(s);
    return NULL;
}

void copium_batch_fini(copium_batch_state *s)
{
    if (s == NULL)
        return;
    copium_pins_fini(s);
    if (s->core->batch == s)
        s->core->batch = NULL;
    state_free(s);
}
