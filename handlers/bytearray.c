/* The bytearray handler. Stdlib deep-copies a bytearray through its __reduce_ex__(4):
 * bytearray(bytes(self)), memoized after construction; shallow copy is bytearray.copy(). Both
 * are a new bytearray with the same bytes. Only exact bytearray comes here (a subclass can
 * carry a __dict__, which the reduce path copies). */
#include "handlers.h"

#include "../core/engine.h"

static PyObject *bytearray_copy(PyObject *obj, void *data)
{
    (void)data;
    return PyByteArray_FromStringAndSize(PyByteArray_AS_STRING(obj), PyByteArray_GET_SIZE(obj));
}

static PyObject *bytearray_deepcopy(copium_ctx *ctx, PyObject *obj, copium_hash_t hash, void *data)
{
    PyObject *copy = bytearray_copy(obj, data);
    if (copy != NULL && copium_memo_store(ctx, obj, hash, copy) < 0)
        Py_CLEAR(copy);
    return copy;
}

const copium_handler copium_bytearray_handler = {
    .struct_size = sizeof(copium_handler),
    .name = "bytearray",
    .flags = COPIUM_HANDLER_QUIET,
    .deepcopy = bytearray_deepcopy,
    .copy = bytearray_copy,
};
