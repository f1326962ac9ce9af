/* The engine (see engine.h): one object's path through a copy. The order follows the design
 * brief: the registry's answer first (an atomic handler returns the object itself with no
 * hashing), then one address hash used for both the memo lookup and the handler's insert,
 * then the handler under the interpreter's recursion guard. */
#include "engine.h"

#include "compat.h"
#include "context.h"
#include "guard.h"
#include "pymemo.h"
#include "registry.h"

/* A handler broke its contract; say which, rather than let the caller find no exception. */
PyObject *copium_null_without_error(const copium_handler *h)
{
    PyErr_Format(PyExc_SystemError,
                 "copium: handler '%s' returned NULL without setting an exception", h->name);
    return NULL;
}

PyObject *copium_dispatch_default(copium_ctx *ctx, PyObject *obj, copium_hash_t hash)
{
    return copium_dispatch(ctx, obj, copium_registry_default(), hash);
}

PyObject *copium_deepcopy_child_slow(copium_ctx *ctx, PyObject *obj, const copium_handler *h)
{
    if (ctx->pymemo == NULL) {
        if (h->flags & COPIUM_HANDLER_ATOMIC)
            return Py_NewRef(obj);
        copium_hash_t hash = copium_hash_ptr(obj);
        PyObject *found = copium_memo_lookup(&ctx->memo, obj, hash);
        if (found != NULL)
            return Py_NewRef(found);
        return copium_dispatch(ctx, obj, h, hash);
    }
    /* A Python memo: stdlib consults it first, and before 3.14 even for atoms. */
#if PY_VERSION_HEX >= 0x030E0000
    if (h->flags & COPIUM_HANDLER_STDLIB_ATOM)
        return Py_NewRef(obj);
#endif
    PyObject *found;
    int rc = copium_pymemo_lookup(ctx->pymemo, obj, &found);
    if (rc != 0)
        return rc > 0 ? found : NULL;
    /* The lookup ran Python code, which may have changed the registry: ask again. */
    h = copium_registry_lookup(Py_TYPE(obj));
    if (h->flags & COPIUM_HANDLER_ATOMIC)
        return Py_NewRef(obj);
    return copium_dispatch(ctx, obj, h, copium_hash_ptr(obj));
}

int copium_memo_store(copium_ctx *ctx, PyObject *orig, copium_hash_t hash, PyObject *copy)
{
    if (ctx->pymemo != NULL)
        return copium_pymemo_store(ctx->pymemo, orig, copy, 1);
    if (copium_memo_insert(&ctx->memo, orig, hash, copy) < 0)
        return -1;
    return copium_keepalive_push(&ctx->keepalive, orig);
}

int copium_memo_complete(copium_ctx *ctx, PyObject *orig, copium_hash_t hash, PyObject *copy)
{
    if (ctx->pymemo != NULL)
        return copium_pymemo_store(ctx->pymemo, orig, copy, 1);
    (void)hash;
    (void)copy;
    return copium_keepalive_push(&ctx->keepalive, orig);
}

int copium_memo_remember(copium_ctx *ctx, PyObject *orig, copium_hash_t hash, PyObject *copy)
{
    if (ctx->pymemo != NULL)
        return copium_pymemo_store(ctx->pymemo, orig, copy, 0);
    return copium_memo_insert(&ctx->memo, orig, hash, copy) < 0 ? -1 : 0;
}

int copium_memo_find(copium_ctx *ctx, PyObject *orig, copium_hash_t hash, PyObject **copy)
{
    if (ctx->pymemo != NULL)
        return copium_pymemo_lookup(ctx->pymemo, orig, copy);
    PyObject *found = copium_memo_lookup(&ctx->memo, orig, hash);
    *copy = found ? Py_NewRef(found) : NULL;
    return found != NULL;
}

int copium_memo_getitem(copium_ctx *ctx, PyObject *orig, copium_hash_t hash, PyObject **copy)
{
    if (ctx->pymemo != NULL)
        return copium_pymemo_getitem(ctx->pymemo, orig, copy);
    return copium_memo_find(ctx, orig, hash, copy);
}

PyObject *copium_ctx_python_memo(copium_ctx *ctx)
{
    return ctx->pymemo;
}

PyObject *copium_ctx_memo(copium_ctx *ctx)
{
    /* The memo is for Python code, which may then leave in it keys whose __eq__ the call's
     * lookups run (the call must not pause the collector from here on), and the copies it
     * holds must look as stdlib's would. */
    if (ctx->pymemo == NULL && copium_before_python_code(ctx) < 0)
        return NULL;
    return copium_ctx_pymemo(ctx);
}

/* Out of line (also under LTO): inlined, they would make every caller of the inline
 * copium_deepcopy save registers for a path an atom never takes. */
COPIUM_NOINLINE PyObject *copium_deepcopy_fresh(PyObject *obj, const copium_handler *h)
{
    copium_ctx *ctx = copium_ctx_acquire();
    if (ctx == NULL)
        return NULL;
#ifdef COPIUM_GC_CAN_PAUSE
    /* The collector pauses while builtin containers are copied (see gcpause.h). */
    if (h->flags & COPIUM_HANDLER_QUIET) {
        ctx->quiet_countdown = COPIUM_GC_PAUSE_AFTER;
        ctx->code_events = copium_gc_code_events;
    }
#endif
    /* A fresh memo is empty: no lookup for the top object. */
    PyObject *copy = copium_dispatch(ctx, obj, h, copium_hash_ptr(obj));
    copium_gc_resume();
    copium_ctx_release(ctx);
    return copy;
}

COPIUM_NOINLINE PyObject *copium_deepcopy_with_memo(PyObject *obj, PyObject *memo)
{
    copium_ctx *ctx = copium_ctx_acquire();
    if (ctx == NULL)
        return NULL;
    ctx->pymemo = Py_NewRef(memo);
    PyObject *copy = copium_deepcopy_child(ctx, obj);
    copium_ctx_release(ctx);
    return copy;
}

PyObject *copium_copy(PyObject *obj)
{
    const copium_handler *h = copium_registry_lookup(Py_TYPE(obj));
    if (h->flags & COPIUM_HANDLER_ATOMIC)
        return Py_NewRef(obj);
    if (h->copy == NULL)
        h = copium_registry_default();
    PyObject *copy = h->copy(obj, h->data);
    if (copy == NULL && !PyErr_Occurred())
        return copium_null_without_error(h);
    return copy;
}

PyObject *copium_deepcopy_default(copium_ctx *ctx, PyObject *obj, copium_hash_t hash)
{
    /* The protocol runs Python code: a quiet handler deferring to it needs no care of its own. */
    if (copium_before_python_code(ctx) < 0)
        return NULL;
    const copium_handler *h = copium_registry_default();
    return h->deepcopy(ctx, obj, hash, h->data);
}

PyObject *copium_copy_default(PyObject *obj)
{
    const copium_handler *h = copium_registry_default();
    return h->copy(obj, h->data);
}
