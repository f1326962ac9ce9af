/* The batch layer's state (see batch.h): made at module initialisation, freed at its end. */
#include "batch.h"

#include "pins.h"
#include "snapshot.h"

/* The one pointer to the state (a per-interpreter home for it is the plan, see batch.h). */
static copium_batch_state *batch_state;

copium_batch_state *copium_batch(void)
{
    return batch_state;
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

int copium_batch_init(PyObject *module)
{
    copium_batch_state *s = PyMem_Calloc(1, sizeof(*s));
    if (s == NULL) {
        PyErr_NoMemory();
        return -1;
    }
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
    batch_state = s;
    return 0;
error:
    state_free(s);
    return -1;
}

void copium_batch_fini(void)
{
    copium_batch_state *s = batch_state;
    if (s == NULL)
        return;
    copium_pins_fini(s);
    batch_state = NULL;
    state_free(s);
}
