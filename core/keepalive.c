/* The keepalive vector (see keepalive.h). */
#include "keepalive.h"

int copium_keepalive_init(copium_keepalive *ka)
{
    ka->items = PyMem_Malloc(COPIUM_KEEPALIVE_INITIAL_CAPACITY * sizeof(PyObject *));
    if (ka->items == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    ka->count = 0;
    ka->capacity = COPIUM_KEEPALIVE_INITIAL_CAPACITY;
    return 0;
}

void copium_keepalive_fini(copium_keepalive *ka)
{
    copium_keepalive_reset(ka);
    PyMem_Free(ka->items);
    ka->items = NULL;
    ka->capacity = 0;
}

int copium_keepalive_grow(copium_keepalive *ka)
{
    size_t capacity = ka->capacity ? ka->capacity * 2 : COPIUM_KEEPALIVE_INITIAL_CAPACITY;
    if (capacity > PY_SSIZE_T_MAX / sizeof(PyObject *)) {
        PyErr_NoMemory();
        return -1;
    }
    PyObject **items = PyMem_Realloc(ka->items, capacity * sizeof(PyObject *));
    if (items == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    ka->items = items;
    ka->capacity = capacity;
    return 0;
}

void copium_keepalive_reset(copium_keepalive *ka)
{
    /* Never reentered while it runs: the owning context stays in use until its reset is done. */
    for (size_t n = 0; n < ka->count; n++)
        Py_DECREF(ka->items[n]);
    ka->count = 0;
    if (ka->capacity > COPIUM_KEEPALIVE_RETAIN_CAPACITY) {
        PyObject **items =
            PyMem_Realloc(ka->items, COPIUM_KEEPALIVE_INITIAL_CAPACITY * sizeof(PyObject *));
        if (items != NULL) {
            ka->items = items;
            ka->capacity = COPIUM_KEEPALIVE_INITIAL_CAPACITY;
        }
    }
}

PyObject *copium_keepalive_as_list(const copium_keepalive *ka)
{
    PyObject *list = PyList_New((Py_ssize_t)ka->count);
    if (list == NULL)
        return NULL;
    for (size_t n = 0; n < ka->count; n++)
        PyList_SET_ITEM(list, (Py_ssize_t)n, Py_NewRef(ka->items[n]));
    return list;
}
