/* The frozenset handler. Deep copy is the set's (set.c, which says how stdlib's reduce path
 * goes): the copies of the elements make a new frozenset, never the original returned as is.
 * Shallow copy returns the frozenset itself, as stdlib's copy does. */
#include "handlers.h"

#include "set.h"

static PyObject *frozenset_deepcopy(copium_ctx *ctx, PyObject *obj, copium_hash_t hash, void *data)
{
    (void)data;
    return copium_set_deepcopy_as(ctx, obj, hash, PyFrozenSet_New);
}

static PyObject *frozenset_copy(PyObject *obj, void *data)
{
    (void)data;
    return Py_NewRef(obj);
}

const copium_handler copium_frozenset_handler = {
    .struct_size = sizeof(copium_handler),
    .name = "frozenset",
    .flags = COPIUM_HANDLER_QUIET,
    .deepcopy = frozenset_deepcopy,
    .copy = frozenset_copy,
};
