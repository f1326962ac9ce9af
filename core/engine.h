/* The engine: the flow of one copy (atom check, memo lookup with one address hash, dispatch
 * through the registry, recursion guard) and the handler-facing API. A handler copies its
 * children with copium_deepcopy_child and records its result with copium_memo_store, so memo,
 * cycles, keepalive and recursion limits behave the same for every type. */
#ifndef COPIUM_ENGINE_H
#define COPIUM_ENGINE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "context.h"
#include "gcpause.h"
#include "guard.h"
#include "handler.h"
#include "hash.h"
#include "memo.h"
#include "registry.h"

/* The part of copium_deepcopy_child after the registry's answer h for obj's type. */
PyObject *copium_deepcopy_child_slow(copium_ctx *ctx, PyObject *obj, const copium_handler *h);

/* The rare ends of copium_dispatch: no deepcopy in h (the default handler's), a handler that
 * returned NULL without an exception, the recursion guard's refusal. */
PyObject *copium_dispatch_default(copium_ctx *ctx, PyObject *obj, copium_hash_t hash);
PyObject *copium_null_without_error(const copium_handler *h);

/* Before anything that may run Python code during a call: end the collector's pause and
 * settle the pending copies (pending.h). Handlers call it where their own work may run Python
 * code (hashing a key whose hash is not computed in C); copium_dispatch calls it before every
 * handler without COPIUM_HANDLER_QUIET, and the Python memo's creation before it exists. The
 * registry's resolvers are the exception: what Python code they may run is given types only,
 * never a copy, so they only end the pause. 0, or -1 with an exception set. */
static inline int copium_before_python_code(copium_ctx *ctx)
{
    copium_gc_resume();
    if (ctx->pending.top != NULL)
        return copium_pending_settle_all(&ctx->pending);
    return 0;
}

/* A copy its handler fills out of stdlib's order (pending.h) is on the call's stack from
 * begin to end, on every path; a handler begins one only while it is worthwhile. */
static inline int copium_pending_worthwhile_in(copium_ctx *ctx)
{
    return copium_pending_worthwhile(&ctx->pending);
}

static inline void copium_pending_begin(copium_ctx *ctx, copium_pending *p)
{
    copium_pending_push(&ctx->pending, p);
}

static inline void copium_pending_end(copium_ctx *ctx, copium_pending *p)
{
    copium_pending_pop(&ctx->pending, p);
}

/* Run h's deepcopy for obj (not in the memo) one level deeper under the recursion guard. */
static inline PyObject *copium_dispatch(copium_ctx *ctx, PyObject *obj, const copium_handler *h,
                                        copium_hash_t hash)
{
    if (!(h->flags & COPIUM_HANDLER_QUIET)) {
        if (copium_before_python_code(ctx) < 0)
            return NULL;
    }
#ifdef COPIUM_GC_CAN_PAUSE
    else if (ctx->quiet_countdown > 0 && --ctx->quiet_countdown == 0 &&
             ctx->code_events == copium_gc_code_events)
        copium_gc_pause();
#endif
    if (h->deepcopy == NULL)
        return copium_dispatch_default(ctx, obj, hash);
    if (copium_guard_enter(&ctx->guard) < 0)
        return NULL;
    PyObject *copy = h->deepcopy(ctx, obj, hash, h->data);
    copium_guard_leave(&ctx->guard);
    if (copy == NULL && !PyErr_Occurred())
        return copium_null_without_error(h);
    return copy;
}

/* Deep-copy a child object within the current call. New reference, or NULL with an error.
 * Inline, because most children are atoms (one cache probe and a flag test, no call), and
 * because a container inside a container then costs one C frame per level of nesting (the
 * handler's), not two: fewer calls and returns, less stack, in the deepest recursions. */
static inline PyObject *copium_deepcopy_child(copium_ctx *ctx, PyObject *obj)
{
    const copium_handler *h = copium_registry_lookup(Py_TYPE(obj));
    if (ctx->pymemo != NULL)
        return copium_deepcopy_child_slow(ctx, obj, h);
    if (h->flags & COPIUM_HANDLER_ATOMIC)
        return Py_NewRef(obj);
    copium_hash_t hash = copium_hash_ptr(obj);
    PyObject *found = copium_memo_lookup(&ctx->memo, obj, hash);
    if (found != NULL)
        return Py_NewRef(found);
    return copium_dispatch(ctx, obj, h, hash);
}

/* memo[orig] = copy, and orig kept alive until the call ends: what stdlib's deepcopy() does
 * when a copier returns a result other than the object. 0, or -1 with an error. */
int copium_memo_store(copium_ctx *ctx, PyObject *orig, copium_hash_t hash, PyObject *copy);

/* memo[orig] = copy alone, for a container that must be found while its children are copied
 * (stdlib's `memo[id(x)] = y` in _deepcopy_list); call copium_memo_complete (or
 * copium_memo_store) once it is complete, so that the keepalive list records completed copies
 * in stdlib's order. 0 or -1. */
int copium_memo_remember(copium_ctx *ctx, PyObject *orig, copium_hash_t hash, PyObject *copy);

/* copium_memo_store for a copy that copium_memo_remember recorded: the same effect, without
 * a second probe of the native memo (no Python code can have changed that entry). */
int copium_memo_complete(copium_ctx *ctx, PyObject *orig, copium_hash_t hash, PyObject *copy);

/* 1 with a new reference in *copy when orig is memoized, 0 when not, -1 on error. */
int copium_memo_find(copium_ctx *ctx, PyObject *orig, copium_hash_t hash, PyObject **copy);

/* `memo[id(orig)]`, the re-check _deepcopy_tuple makes after copying its children (on a Python
 * memo, only a KeyError means absent). Same returns as copium_memo_find. */
int copium_memo_getitem(copium_ctx *ctx, PyObject *orig, copium_hash_t hash, PyObject **copy);

/* The memo as a Python object, for protocols that hand it to Python code (__deepcopy__).
 * From then on the call's memo operations go through it. Borrowed reference, or NULL. */
PyObject *copium_ctx_memo(copium_ctx *ctx);

/* The Python memo of this call (the caller's memo, or the dict a __deepcopy__ was given), or
 * NULL while only the native memo exists: where the memo is observable, handlers reproduce
 * stdlib's memo entries exactly. Borrowed. */
PyObject *copium_ctx_python_memo(copium_ctx *ctx);

/* A container's loop over its children asks, for each child, whether it is an atom of this
 * call (an atomic handler and no Python memo: the copy is the child itself, nothing else to
 * do). Children of one container are mostly of one type, so the last answer is kept: one
 * pointer comparison per child. Forget it (copium_atom_cache_reset) after copying a child
 * that is not an atom, since that may have run Python code that changed the registry or
 * created the Python memo. */
typedef struct {
    PyTypeObject *type;
    int atomic;
} copium_atom_cache;

static inline int copium_child_is_atom(copium_ctx *ctx, copium_atom_cache *cache, PyObject *obj)
{
    PyTypeObject *type = Py_TYPE(obj);
    if (type != cache->type) {
        cache->type = type;
        cache->atomic =
            (copium_registry_lookup(type)->flags & COPIUM_HANDLER_ATOMIC) && ctx->pymemo == NULL;
    }
    return cache->atomic;
}

static inline void copium_atom_cache_reset(copium_atom_cache *cache)
{
    cache->type = NULL;
}

/* The parts of copium_deepcopy after its atom check: a fresh memo and the registry's answer h
 * for obj's type, or the caller's memo. */
PyObject *copium_deepcopy_fresh(PyObject *obj, const copium_handler *h);
PyObject *copium_deepcopy_with_memo(PyObject *obj, PyObject *memo);

/* Top-level calls. memo: NULL or None for a fresh memo, else used as stdlib uses it. Inline,
 * because the commonest top-level call copies an atom: a fresh memo is empty, so stdlib's one
 * lookup finds nothing and the atom comes back after a cache probe and a flag test. */
static inline PyObject *copium_deepcopy(PyObject *obj, PyObject *memo)
{
    if (memo != NULL && memo != Py_None)
        return copium_deepcopy_with_memo(obj, memo);
    const copium_handler *h = copium_registry_lookup(Py_TYPE(obj));
    if (h->flags & COPIUM_HANDLER_ATOMIC)
        return Py_NewRef(obj);
    return copium_deepcopy_fresh(obj, h);
}
PyObject *copium_copy(PyObject *obj);

/* Default (stdlib protocol) paths, for a handler that wants to defer in some cases (the deep
 * one calls copium_before_python_code first). */
PyObject *copium_deepcopy_default(copium_ctx *ctx, PyObject *obj, copium_hash_t hash);
PyObject *copium_copy_default(PyObject *obj);

#endif
