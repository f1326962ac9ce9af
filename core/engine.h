/* The engine: the flow of one copy (atom check, memo lookup with one address hash, dispatch
 * through the registry, recursion guard) and the handler-facing API. A handler copies its
 * children with copium_deepcopy_child and records its result with copium_memo_store, so memo,
 * cycles, keepalive and recursion limits behave the same for every type. */
#ifndef COPIUM_ENGINE_H
#define COPIUM_ENGINE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "handler.h"

/* Deep-copy a child object within the current call. New reference, or NULL with an error. */
PyObject *copium_deepcopy_child(copium_ctx *ctx, PyObject *obj);

/* memo[orig] = copy (orig is kept alive until the call ends). 0, or -1 with an error. */
int copium_memo_store(copium_ctx *ctx, PyObject *orig, copium_hash_t hash, PyObject *copy);

/* 1 with a new reference in *copy when orig is memoized, 0 when not, -1 on error. */
int copium_memo_find(copium_ctx *ctx, PyObject *orig, copium_hash_t hash, PyObject **copy);

/* The memo as a Python object, for protocols that hand it to Python code (__deepcopy__).
 * From then on the call's memo operations go through it. Borrowed reference, or NULL. */
PyObject *copium_ctx_memo(copium_ctx *ctx);

/* Top-level calls. memo: NULL or None for a fresh memo, else used as stdlib uses it. */
PyObject *copium_deepcopy(PyObject *obj, PyObject *memo);
PyObject *copium_copy(PyObject *obj);

/* Default (stdlib protocol) paths, for a handler that wants to defer in some cases. */
PyObject *copium_deepcopy_default(copium_ctx *ctx, PyObject *obj, copium_hash_t hash);
PyObject *copium_copy_default(PyObject *obj);

#endif
