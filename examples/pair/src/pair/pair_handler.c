/* How copium copies a Pair: the two handler functions and the copium_handler struct that
 * _pair.c registers. Every copium_* macro here calls through copium's function table, the one
 * pointer _pair.c defined and filled with copium_import(): this file defines COPIUM_NO_IMPORT,
 * so it only declares that pointer (see pair.h). */
#define COPIUM_NO_IMPORT
#include "pair.h"

/* Deep copy. copium calls this for an object of exactly type Pair that is not in the memo yet;
 * hash is the object's address hash, handed back to the memo functions. The steps are the ones
 * of copium's own list handler:
 *   1. make the new, still empty Pair (of the object's own type: no global names the type);
 *   2. copium_memo_remember(obj -> copy), so that a child that leads back to obj (obj.first is
 *      obj, or a list holding obj) finds this copy instead of copying obj again forever;
 *   3. copy the children with copium_deepcopy_child (memo, cycles, recursion limit and
 *      keepalive then work as for builtin containers);
 *   4. copium_memo_store(obj -> copy) once the copy is complete.
 * On any error: release what we made and return NULL with the exception set. */
static PyObject *pair_deepcopy(copium_ctx *ctx, PyObject *obj, copium_hash_t hash, void *data)
{
    (void)data;
    PairObject *self = (PairObject *)obj;
    PairObject *copy = (PairObject *)pair_create(Py_TYPE(obj), Py_None, Py_None);
    if (copy == NULL)
        return NULL;
    if (copium_memo_remember(ctx, obj, hash, (PyObject *)copy) < 0)
        goto error;

    /* Copying a child can run Python code (a __deepcopy__ method) that reassigns obj.first:
     * hold a reference to the child while it is copied. */
    PyObject *child = Py_NewRef(self->first);
    PyObject *child_copy = copium_deepcopy_child(ctx, child);
    Py_DECREF(child);
    if (child_copy == NULL)
        goto error;
    Py_SETREF(copy->first, child_copy);

    child = Py_NewRef(self->second);
    child_copy = copium_deepcopy_child(ctx, child);
    Py_DECREF(child);
    if (child_copy == NULL)
        goto error;
    Py_SETREF(copy->second, child_copy);

    if (copium_memo_store(ctx, obj, hash, (PyObject *)copy) < 0)
        goto error;
    return (PyObject *)copy;
error:
    Py_DECREF(copy);
    return NULL;
}

/* Shallow copy: a new Pair holding the same two objects. */
static PyObject *pair_copy(PyObject *obj, void *data)
{
    (void)data;
    PairObject *self = (PairObject *)obj;
    return pair_create(Py_TYPE(obj), self->first, self->second);
}

/* The vtable: constant C data, no Python object in it, so one struct serves every module object
 * of every interpreter. copium keeps its own copy of it, so it need not be static, but the name
 * must stay valid for as long as the registration lasts (a string literal always does). */
const copium_handler pair_handler = {
    .struct_size = sizeof(copium_handler), /* always sizeof: copium checks it */
    .name = "pair.Pair",                   /* what copium.handlers()[pair.Pair] shows */
    /* Not COPIUM_HANDLER_ATOMIC: Pair is mutable. COPIUM_HANDLER_RECORDABLE: pair_deepcopy
     * runs no Python code of its own, reads nothing but the Pair and copies both children
     * through copium_deepcopy_child, so a snapshot may keep a private copy of a Pair and copy
     * that with it on every call, and replicate may copy it without copying it all anew. */
    .flags = COPIUM_HANDLER_RECORDABLE,
    .deepcopy = pair_deepcopy, /* NULL would mean: stdlib's protocol (__reduce__) */
    .copy = pair_copy,         /* idem */
    .data = NULL,              /* handed back to both functions as `data` */
};
