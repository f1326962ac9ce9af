/* What the set handler (set.c) offers beyond its vtable: its deep copy, which builds either a
 * set or a frozenset, so that the frozenset handler (frozenset.c) shares it rather than a copy
 * of it. For handlers/ only. */
#ifndef COPIUM_SET_H
#define COPIUM_SET_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "../core/engine.h"

/* The deep copy of the exact set or frozenset obj (its hash for the memo), as stdlib's reduce
 * path makes it, built by make (PySet_New or PyFrozenSet_New) and memoized. New reference, or
 * NULL with an exception. */
PyObject *copium_set_deepcopy_as(copium_ctx *ctx, PyObject *obj, copium_hash_t hash,
                                 PyObject *(*make)(PyObject *));

#endif
