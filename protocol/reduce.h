/* stdlib's _reconstruct (reduce.c), for the lookup order (generic.c) and the native object
 * path (object.c). */
#ifndef COPIUM_PROTOCOL_REDUCE_H
#define COPIUM_PROTOCOL_REDUCE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "../core/context.h"
#include "state.h"

/* stdlib's _reconstruct(x, memo, *rv): deep when ctx is not NULL (children through the
 * engine; memo[id(x)] = y right after construction), shallow when ctx is NULL (hash unused).
 * rv is the reduce value (anything but a str). New reference, or NULL with stdlib's error. */
PyObject *copium_reconstruct(copium_ctx *ctx, PyObject *x, copium_hash_t hash, PyObject *rv);

/* The same with rv already unpacked: func and args required, the others NULL when absent. */
PyObject *copium_reconstruct_parts(copium_ctx *ctx, PyObject *x, copium_hash_t hash, PyObject *func,
                                   PyObject *args, PyObject *state, PyObject *listiter,
                                   PyObject *dictiter);

/* `y.__dict__.update(state)`, the state step of _reconstruct for an object without
 * __setstate__ (also the object path's, which copies the state into y in the same way). */
int copium_update_dict(copium_protocol *P, PyObject *y, PyObject *state);

/* `a, b = seq` with Python's errors. New references in *a and *b; 0 or -1. */
int copium_unpack2(PyObject *seq, PyObject **a, PyObject **b);

#endif
