/* The handler for types that shallow copy returns as themselves but deepcopy rebuilds through
 * the stdlib protocol (slice): stdlib's copy lists them as immutable, its deepcopy does not.
 * The vtable has no deepcopy function, so deep copies take the protocol's path. */
#include "handlers.h"

static PyObject *immutable_copy(PyObject *obj, void *data)
{
    (void)data;
    return Py_NewRef(obj);
}

const copium_handler copium_immutable_handler = {
    .struct_size = sizeof(copium_handler),
    .name = "immutable",
    .copy = immutable_copy,
};
