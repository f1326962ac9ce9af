/* The engine: the flow of one copy (atom check, memo lookup with one address hash, dispatch
 * through the registry, recursion guard) and the handler-facing API. A handler copies its
 * children with copium_deepcopy_child and records its result with copium_memo_store, so memo,
 * cycles, keepalive and recursion limits behave the same for every type. */
#ifndef COPIUM_ENGINE_H
#define COPIUM_ENGINE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "compat.h"
#include "context.h"
#include "gcpause.h"
#include "guard.h"
#include "handler.h"
#include "hash.h"
#include "memo.h"
#include "registry.h"
#include "state.h"

/* The part of copium_deepcopy_child after the registry's answer h for obj's type, once the
 * call is observed (a Python memo, or copium.explain recording it). */
PyObject *copium_deepcopy_child_slow(copium_ctx *ctx, PyObject *obj, const copium_handler *h);

/* The steps of a child's copy before its handler runs, for any call: 1 with *copy set (a memo
 * hit, an atom, or NULL with an exception), 0 when obj is to be dispatched to *h (the
 * registry's answer, asked again if Python code ran) with *hash. */
int copium_child_route(copium_ctx *ctx, PyObject *obj, const copium_handler **h,
                       copium_hash_t *hash, PyObject **copy);

/* The rare ends of copium_dispatch: no deepcopy in h (the default handler's), a handler that
 * returned NULL without an exception, the recursion guard's refusal. */
PyObject *copium_dispatch_default(copium_ctx *ctx, PyObject *obj, copium_hash_t hash);
PyObject *copium_null_without_error(const copium_handler *h);

/* Bring the mirror's dict up to date (what Python code changed in it taken in first): before
 * Python code may run. 0, or -1 with an exception set. */
int copium_ctx_mirror_settle(copium_ctx *ctx);

/* Before anything that may run Python code during a call: end the collector's pause, settle
 * the pending copies (pending.h) and write the mirror's dict up to date (mirror.h). Handlers
 * call it where their own work may run Python code (hashing a key whose hash is not computed
 * in C); copium_dispatch calls it before every handler without COPIUM_HANDLER_QUIET (and
 * writes the dict up to date again whenever a child's copy returns to such a handler), and
 * copium_ctx_memo before it hands the memo out. The registry's resolvers are the exception:
 * what Python code they may run is given types only, never a copy or the memo, so they only
 * end the pause. 0, or -1 with an exception set. */
static inline int copium_before_python_code(copium_ctx *ctx)
{
    copium_gc_resume(&ctx->core->gc);
    if (ctx->pending.top != NULL && copium_pending_settle_all(&ctx->pending) < 0)
        return -1;
    if (ctx->mirror.dict != NULL)
        return copium_ctx_mirror_settle(ctx);
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

/* copium_dispatch for a handler that may run Python code (neither COPIUM_HANDLER_QUIET nor
 * COPIUM_HANDLER_SETTLES). */
PyObject *copium_dispatch_loud(copium_ctx *ctx, PyObject *obj, const copium_handler *h,
                               copium_hash_t hash);

/* After a child's copy returned (copy, or NULL with an exception) while the call has a mirror:
 * to a handler that may run Python code next, the dict is written up to date. */
PyObject *copium_ctx_child_done(copium_ctx *ctx, PyObject *copy);

/* Run h's deepcopy for obj (not in the memo) one level deeper under the recursion guard. */
static inline PyObject *copium_dispatch(copium_ctx *ctx, PyObject *obj, const copium_handler *h,
                                        copium_hash_t hash)
{
    if (!(h->flags & COPIUM_HANDLER_DISPATCH_QUIET))
        return copium_dispatch_loud(ctx, obj, h, hash);
#ifdef COPIUM_GC_CAN_PAUSE
    if (ctx->quiet_countdown > 0 && --ctx->quiet_countdown == 0 &&
        ctx->code_events == ctx->core->gc.code_events)
        copium_gc_pause(&ctx->core->gc);
#endif
    if (h->deepcopy == NULL)
        return copium_dispatch_default(ctx, obj, hash);
    if (copium_guard_enter(&ctx->guard) < 0)
        return NULL;
    PyObject *copy = h->deepcopy(ctx, obj, hash, h->data);
    copium_guard_leave(&ctx->guard);
    if (copy == NULL && !PyErr_Occurred())
        return copium_null_without_error(h);
    if (ctx->mirror.dict != NULL)
        return copium_ctx_child_done(ctx, copy);
    return copy;
}

/* Deep-copy a child object within the current call. New reference, or NULL with an error.
 * Inline, because most children are atoms (one cache probe and a flag test, no call), and
 * because a container inside a container then costs one C frame per level of nesting (the
 * handler's), not two: fewer calls and returns, less stack, in the deepest recursions. */
static COPIUM_ALWAYS_INLINE PyObject *copium_deepcopy_child(copium_ctx *ctx, PyObject *obj)
{
    const copium_handler *h = copium_registry_lookup(&ctx->core->registry, Py_TYPE(obj));
    if (ctx->memo_observed)
        return copium_deepcopy_child_slow(ctx, obj, h);
    if (h->flags & COPIUM_HANDLER_ATOMIC)
        return Py_NewRef(obj);
    copium_hash_t hash = copium_hash_ptr(obj);
    PyObject *found = copium_memo_lookup(&ctx->memo, obj, hash);
    if (found != NULL)
        return Py_NewRef(found);
    return copium_dispatch(ctx, obj, h, hash);
}

/* The memo operations below once the call has a Python memo (or the mirror of one): keep is
 * 0 for copium_memo_remember, 1 for a store. */
int copium_memo_store_observed(copium_ctx *ctx, PyObject *orig, copium_hash_t hash, PyObject *copy,
                               int keep);

/* orig kept alive until the call ends (stdlib's _keep_alive), with the position the memo's
 * keep-alive list takes among its entries noted at the call's first. 0 or -1. */
static inline int copium_memo_keep_alive(copium_ctx *ctx, PyObject *orig)
{
    if (ctx->keepalive.count == 0)
        ctx->mirror.keepalive_at = ctx->memo.count;
    return copium_keepalive_push(&ctx->keepalive, orig);
}

/* memo[orig] = copy, and orig kept alive until the call ends: what stdlib's deepcopy() does
 * when a copier returns a result other than the object. 0, or -1 with an error. */
int copium_memo_store(copium_ctx *ctx, PyObject *orig, copium_hash_t hash, PyObject *copy);

/* memo[orig] = copy alone, for a container that must be found while its children are copied
 * (stdlib's `memo[id(x)] = y` in _deepcopy_list); call copium_memo_complete (or
 * copium_memo_store) once it is complete, so that the keepalive list records completed copies
 * in stdlib's order. 0 or -1. Inline: containers call it (and complete) once each. */
static inline int copium_memo_remember(copium_ctx *ctx, PyObject *orig, copium_hash_t hash,
                                       PyObject *copy)
{
    if (ctx->memo_observed & COPIUM_OBSERVED_MEMO)
        return copium_memo_store_observed(ctx, orig, hash, copy, 0);
    return copium_memo_insert(&ctx->memo, orig, hash, copy) < 0 ? -1 : 0;
}

/* copium_memo_store for a copy that copium_memo_remember recorded: the same effect, without
 * a second probe of the native memo while no Python code can have changed that entry (no
 * Python memo: with one, stdlib's store is made again). */
static inline int copium_memo_complete(copium_ctx *ctx, PyObject *orig, copium_hash_t hash,
                                       PyObject *copy)
{
    if (ctx->memo_observed & COPIUM_OBSERVED_MEMO)
        return copium_memo_store_observed(ctx, orig, hash, copy, 1);
    return copium_memo_keep_alive(ctx, orig);
}

/* Does the native memo, alone authoritative, hold copy for orig (so that a lookup made before
 * any code runs again finds it)? 0 with a Python memo, whose lookups stdlib makes each time. */
static inline int copium_memo_holds(const copium_ctx *ctx, PyObject *orig, PyObject *copy)
{
    return !ctx->memo_observed &&
           copium_memo_lookup(&ctx->memo, orig, copium_hash_ptr(orig)) == copy;
}

/* The memo's own dict met as an object to copy in a native stretch (Python code put it in the
 * graph; engine.c): stdlib looks it up in itself, where memo[id(memo)] is the keep-alive list.
 * Ends the stretch, makes the dict the call's memo and looks it up there: the returns of
 * copium_memo_find, 0 also when dict is not that dict or no stretch is on (nothing done).
 * For the handler of exact dicts, the one such a dict meets. */
int copium_memo_dict_met(copium_ctx *ctx, PyObject *dict, copium_hash_t hash, PyObject **copy);

/* 1 with a new reference in *copy when orig is memoized, 0 when not, -1 on error. */
int copium_memo_find(copium_ctx *ctx, PyObject *orig, copium_hash_t hash, PyObject **copy);

/* `memo[id(orig)]`, the re-check _deepcopy_tuple makes after copying its children (on a Python
 * memo, only a KeyError means absent). Same returns as copium_memo_find. */
int copium_memo_getitem(copium_ctx *ctx, PyObject *orig, copium_hash_t hash, PyObject **copy);

/* The memo as a Python object, for protocols that hand it to Python code (__deepcopy__): the
 * call's Python memo, or its mirror's dict (made now if need be), up to date. Borrowed
 * reference, or NULL with an exception set. */
PyObject *copium_ctx_memo(copium_ctx *ctx);

/* The Python memo of this call (the caller's memo, or the dict handed to Python code), or NULL
 * while only the native memo exists: once there is one, Python code may look at the memo, and
 * handlers reproduce stdlib's memo entries exactly. Borrowed. */
static inline PyObject *copium_ctx_python_memo(copium_ctx *ctx)
{
    return ctx->pymemo != NULL ? ctx->pymemo : ctx->mirror.dict;
}

/* Is an atom (a type with an ATOMIC handler, flags its handler's) its own copy, with nothing
 * around it to do? Always with the native memo alone (the caller checks memo_observed). Never
 * while copium.explain records the call (every atom is counted through the child path). With
 * a Python memo stdlib looks atoms up first (before 3.14, and from 3.14 those not in its
 * _atomic_types), and with a caller's memo every lookup a handler makes around its children
 * may be observable: not then. With the mirror's dict, yes unless Python code may have put an
 * atom's id in it: a key the native memo has not yet taken in, or one not known to be a live
 * non-atom's. */
int copium_ctx_atoms_plain(copium_ctx *ctx, uint32_t flags);

/* The native memo is authoritative (the mirror's dict, if there is one, follows it). */
static inline int copium_ctx_memo_native(const copium_ctx *ctx)
{
    return ctx->pymemo == NULL;
}

/* A container's loop over its children asks, for each child, whether it is an atom of this
 * call (see copium_ctx_atoms_plain: the copy is the child itself, nothing else to do).
 * Children of one container are mostly of one type, so the last answer is kept: one pointer
 * comparison per child. Forget it (copium_atom_cache_reset) after copying a child that is not
 * an atom, since that may have run Python code that changed the registry or the memo. */
typedef struct {
    PyTypeObject *type;
    int atomic;
} copium_atom_cache;

/* copium_child_is_atom for an atom's type once the call is observed: whether its objects are
 * atoms of the call (remembered for the type), or, in a native stretch whose atoms are looked
 * up (COPIUM_OBSERVED_ATOMS, engine.c), whether obj is (asked per object: the type is not
 * remembered). */
int copium_child_is_atom_observed(copium_ctx *ctx, copium_atom_cache *cache, PyObject *obj,
                                  uint32_t flags);

static inline int copium_child_is_atom(copium_ctx *ctx, copium_atom_cache *cache, PyObject *obj)
{
    PyTypeObject *type = Py_TYPE(obj);
    if (type != cache->type) {
        cache->type = type;
        uint32_t flags = copium_registry_lookup(&ctx->core->registry, type)->flags;
        cache->atomic = (flags & COPIUM_HANDLER_ATOMIC) != 0;
        if (cache->atomic && ctx->memo_observed)
            return copium_child_is_atom_observed(ctx, cache, obj, flags);
    }
    return cache->atomic;
}

static inline void copium_atom_cache_reset(copium_atom_cache *cache)
{
    cache->type = NULL;
}

/* The parts of copium_deepcopy after its atom check: a fresh memo and the registry's answer h
 * for obj's type, or the caller's memo (the dict a call in progress on this thread handed to
 * Python code: that call goes on, on its native memo). */
PyObject *copium_deepcopy_fresh(copium_core *core, PyObject *obj, const copium_handler *h);
PyObject *copium_deepcopy_with_memo(copium_core *core, PyObject *obj, PyObject *memo);

/* Is obj an atom (its type's handler ATOMIC): with a fresh memo, its deep copy is obj itself.
 * One cache probe and a flag test. */
static inline int copium_is_atom(copium_core *core, PyObject *obj)
{
    return (copium_registry_lookup(&core->registry, Py_TYPE(obj))->flags & COPIUM_HANDLER_ATOMIC) !=
           0;
}

/* Top-level calls in core's interpreter. memo: NULL or None for a fresh memo, else used as
 * stdlib uses it. Inline, because the commonest top-level call copies an atom: a fresh memo is
 * empty, so stdlib's one lookup finds nothing and the atom comes back after a cache probe and
 * a flag test. */
static inline PyObject *copium_deepcopy(copium_core *core, PyObject *obj, PyObject *memo)
{
    if (memo != NULL && memo != Py_None)
        return copium_deepcopy_with_memo(core, obj, memo);
    const copium_handler *h = copium_registry_lookup(&core->registry, Py_TYPE(obj));
    if (h->flags & COPIUM_HANDLER_ATOMIC)
        return Py_NewRef(obj);
    return copium_deepcopy_fresh(core, obj, h);
}
PyObject *copium_copy(copium_core *core, PyObject *obj);

/* For a handler dispatched as quiet that finds it must go on as one that may run Python code
 * at any point (it has called copium_before_python_code): fn(ctx, obj, hash, data) runs so
 * that the memo's dict is written up to date whenever a child's copy returns to it, as for a
 * handler dispatched without COPIUM_HANDLER_QUIET. */
PyObject *copium_continue_loud(copium_ctx *ctx, PyObject *obj, copium_hash_t hash,
                               copium_deepcopy_fn fn, void *data);

/* Default (stdlib protocol) paths, for a handler that wants to defer in some cases (the deep
 * one calls copium_before_python_code first). */
PyObject *copium_deepcopy_default(copium_ctx *ctx, PyObject *obj, copium_hash_t hash);
PyObject *copium_copy_default(copium_core *core, PyObject *obj);

#endif
