/* The engine (see engine.h): one object's path through a copy. The order follows the design
 * brief: the registry's answer first (an atomic handler returns the object itself with no
 * hashing), then one address hash used for both the memo lookup and the handler's insert,
 * then the handler under the interpreter's recursion guard. */
#include "engine.h"

#include "compat.h"
#include "context.h"
#include "explain.h"
#include "guard.h"
#include "mirror.h"
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
    return copium_dispatch(ctx, obj, copium_registry_default(&ctx->core->registry), hash);
}

/* ---- the mirror (mirror.h): when the dict is written up to date, and what it gives ------- */

/* The dict becomes the call's memo, what the native memo has that it lacks written to it the
 * way stdlib would write it. (The dict lacks nothing unless Python code changed it in the
 * middle of a native stretch, in a finaliser say.) 0, or -1 with an exception set. */
static int fall_back(copium_ctx *ctx)
{
    copium_mirror *m = &ctx->mirror;
    size_t from = m->entries_out, kept = m->kept_out;
    PyObject *dict = copium_mirror_detach(m);
    ctx->pymemo = dict;
    for (size_t i = from; i < ctx->memo.count; i++) {
        const copium_memo_slot *slot = &ctx->memo.slots[ctx->memo.used[i]];
        if (copium_pymemo_store(dict, (PyObject *)slot->key, slot->value, 0) < 0)
            return -1;
    }
    for (size_t j = kept; j < ctx->keepalive.count; j++) {
        if (copium_pymemo_keep_alive(dict, ctx->keepalive.items[j]) < 0)
            return -1;
    }
    return 0;
}

/* Take in what Python code changed in the dict since the last sync, if anything. known: a live
 * non-atom the caller is about to store (a key for it is no atom's), or NULL. 0, or -1 with an
 * exception set; ctx->mirror.dict is NULL afterwards when the dict became the call's memo. */
static int mirror_sync(copium_ctx *ctx, PyObject *known)
{
    copium_mirror *m = &ctx->mirror;
    if (!copium_mirror_changed(m))
        return 0;
    /* The object whose hook (or Python handler) is running is a live non-atom too: the key a
     * hook stores for itself (`memo[id(self)] = new`) is no atom's. */
    const void *live[2] = {ctx->loud_obj, known};
    int rc = copium_mirror_absorb(m, &ctx->memo, &ctx->keepalive, live, 2);
    if (rc < 0)
        return -1;
    /* Python code that fills the memo itself (stdlib's own deepcopy in the hooks, copy not
     * patched) makes most of its entries: taking each in costs more than what the native
     * operations save (a lookup or a store on the dict each), and the dict serves better as
     * the call's memo. A key taken in costs about one and a half dict operations (callgrind,
     * 3.11). */
    if (rc == 0 && (m->taken < 64 || m->taken * 3 <= m->native_ops * 2))
        return 0;
    return fall_back(ctx);
}

/* mirror_sync before a memo operation on orig. The memo dict itself as orig (stdlib looks up
 * memo[id(memo)], the keep-alive list, and may store a copy there): the dict becomes the memo. */
static int mirror_ready(copium_ctx *ctx, PyObject *orig, PyObject *known)
{
    if (mirror_sync(ctx, known) < 0)
        return -1;
    if (ctx->mirror.dict != NULL && orig == ctx->mirror.dict)
        return fall_back(ctx);
    return 0;
}

/* ---- native stretches ----------------------------------------------------------------
 * Once the dict is up to date and holds nothing Python code put there that the native memo
 * lacks, and the handler at work is quiet (it calls copium_before_python_code before any
 * Python code it may run), no Python code can look at the dict or change it until the next
 * settle point. Memo operations in between go to the native memo alone, as in a call with no
 * dict (engine.h's inline path); the settle point writes their entries into the dict, in their
 * order. The stretch ends there. Stretches start where a child is routed: at the top of a call
 * given a dict, and in a quiet handler whenever a child's route finds the dict settled. An atom
 * is still looked up in a stretch while a key Python code put in the dict may be its address
 * (COPIUM_OBSERVED_ATOMS). Python code can run in a stretch without a settle point only as a
 * finaliser or weakref callback: from 3.12 a change it makes to the dict ends the stretch at
 * once (the watcher sets COPIUM_OBSERVED_MEMO); before, the next settle point takes it in. */
static void stretch_begin(copium_ctx *ctx)
{
    const copium_mirror *m = &ctx->mirror;
    if (ctx->memo_observed != COPIUM_OBSERVED_MEMO || ctx->loud_depth == ctx->guard.depth ||
        m->values_unverified || copium_mirror_changed(m))
        return;
    ctx->stretch_from = ctx->memo.count;
    ctx->memo_observed = m->atoms_keyed ? COPIUM_OBSERVED_ATOMS : 0;
}

/* Every memo operation goes through the mirror again (the stretch's stores counted as native
 * operations, which the mirror weighs against what taking keys in costs). */
static void stretch_end(copium_ctx *ctx)
{
    if (ctx->stretch_from != COPIUM_NO_STRETCH) {
        ctx->mirror.native_ops += ctx->memo.count - ctx->stretch_from;
        ctx->stretch_from = COPIUM_NO_STRETCH;
    }
    ctx->memo_observed = (ctx->memo_observed & ~COPIUM_OBSERVED_ATOMS) | COPIUM_OBSERVED_MEMO;
}

int copium_ctx_mirror_settle(copium_ctx *ctx)
{
    stretch_end(ctx);
    if (mirror_sync(ctx, NULL) < 0)
        return -1;
    if (ctx->mirror.dict == NULL)
        return 0;
    return copium_mirror_flush(&ctx->mirror, &ctx->memo, &ctx->keepalive);
}

/* copium_ctx_mirror_settle after a copy (or NULL with an exception): a failure drops the copy;
 * a pending exception stays the one reported. */
static PyObject *settle_after(copium_ctx *ctx, PyObject *copy)
{
    if (copy != NULL) {
        if (copium_ctx_mirror_settle(ctx) < 0)
            Py_CLEAR(copy);
        return copy;
    }
    PyObject *exc = copium_err_take();
    if (copium_ctx_mirror_settle(ctx) < 0)
        PyErr_Clear();
    copium_err_give(exc);
    return NULL;
}

PyObject *copium_ctx_child_done(copium_ctx *ctx, PyObject *copy)
{
    if (ctx->loud_depth != ctx->guard.depth || ctx->mirror.dict == NULL)
        return copy;
    return settle_after(ctx, copy);
}

/* Run h->deepcopy as a handler that may run Python code at any point: the memo's dict is up to
 * date when it starts and whenever a child's copy returns to it (copium_ctx_child_done), or
 * its own store (mirror_store) comes back to it. */
PyObject *copium_continue_loud(copium_ctx *ctx, PyObject *obj, copium_hash_t hash,
                               copium_deepcopy_fn fn, void *data)
{
    int outer_depth = ctx->loud_depth;
    PyObject *outer_obj = ctx->loud_obj;
    ctx->loud_depth = ctx->guard.depth;
    ctx->loud_obj = obj;
    PyObject *copy = fn(ctx, obj, hash, data);
    ctx->loud_depth = outer_depth;
    ctx->loud_obj = outer_obj;
    return copy;
}

static PyObject *run_loud(copium_ctx *ctx, PyObject *obj, const copium_handler *h,
                          copium_hash_t hash)
{
    return copium_continue_loud(ctx, obj, hash, h->deepcopy, h->data);
}

PyObject *copium_dispatch_loud(copium_ctx *ctx, PyObject *obj, const copium_handler *h,
                               copium_hash_t hash)
{
    if (copium_before_python_code(ctx) < 0)
        return NULL;
    if (h->deepcopy == NULL)
        return copium_dispatch_default(ctx, obj, hash);
    if (copium_guard_enter(&ctx->guard) < 0)
        return NULL;
    PyObject *copy = run_loud(ctx, obj, h, hash);
    copium_guard_leave(&ctx->guard);
    if (copy == NULL && !PyErr_Occurred())
        return copium_null_without_error(h);
    if (ctx->mirror.dict != NULL)
        return copium_ctx_child_done(ctx, copy);
    return copy;
}

/* Is an atom of a handler with these flags returned before any look at the memo? On 3.14,
 * `if cls in _atomic_types: return x` comes before the memo; before, stdlib looks every atom
 * up in a Python memo. */
static inline int atom_before_memo(uint32_t flags)
{
#if PY_VERSION_HEX >= 0x030E0000
    return (flags & COPIUM_HANDLER_STDLIB_ATOM) != 0;
#else
    (void)flags;
    return 0;
#endif
}

int copium_ctx_atoms_plain(copium_ctx *ctx, uint32_t flags)
{
    if (ctx->memo_observed & COPIUM_OBSERVED_EXPLAIN)
        return 0;
    /* A caller's memo: its lookups may be observable (a defaultdict's __missing__, a mapping's
     * methods), so handlers make each one stdlib makes, around atoms too (a tuple's re-check). */
    const copium_mirror *m = &ctx->mirror;
    if (m->dict == NULL)
        return 0;
    if (atom_before_memo(flags))
        return 1;
    return !m->atoms_keyed && !copium_mirror_changed(m);
}

int copium_child_is_atom_observed(copium_ctx *ctx, copium_atom_cache *cache, PyObject *obj,
                                  uint32_t flags)
{
    cache->atomic = copium_ctx_atoms_plain(ctx, flags);
    if (cache->atomic || ctx->memo_observed != COPIUM_OBSERVED_ATOMS)
        return cache->atomic;
    cache->type = NULL;
    return !copium_mirror_suspect(&ctx->mirror, obj);
}

/* orig's copy as the memo has it, through the mirror: 1 and a borrowed reference in *found, 0
 * when absent, -1 on error. A native hit is confirmed in the dict once Python code may have
 * replaced a value there. */
static int mirror_find(copium_ctx *ctx, PyObject *orig, copium_hash_t hash, PyObject **found)
{
    ctx->mirror.native_ops++;
    PyObject *v = copium_memo_lookup(&ctx->memo, orig, hash);
    if (v != NULL && ctx->mirror.values_unverified) {
        v = copium_mirror_confirm(&ctx->mirror, &ctx->memo, orig, hash, v);
        if (v == NULL)
            return -1;
    }
    *found = v;
    return v != NULL;
}

/* copium_child_route through the mirror (its dict up to date). */
static int route_through_mirror(copium_ctx *ctx, PyObject *obj, const copium_handler *h,
                                copium_hash_t *hash, PyObject **copy)
{
    PyObject *found;
    if (h->flags & COPIUM_HANDLER_ATOMIC) {
        if (copium_ctx_atoms_plain(ctx, h->flags)) {
            *copy = Py_NewRef(obj);
            return 1;
        }
        int rc = mirror_find(ctx, obj, copium_hash_ptr(obj), &found);
        *copy = rc < 0 ? NULL : Py_NewRef(rc > 0 ? found : obj);
        return 1;
    }
    *hash = copium_hash_ptr(obj);
    int rc = mirror_find(ctx, obj, *hash, &found);
    if (rc == 0)
        return 0;
    *copy = rc > 0 ? Py_NewRef(found) : NULL;
    return 1;
}

/* Is the atom obj looked up on the native memo (in a stretch whose dict may have its address
 * as a key)? */
static inline int atom_looked_up(const copium_ctx *ctx, PyObject *obj, uint32_t flags)
{
    return (ctx->memo_observed & COPIUM_OBSERVED_ATOMS) && !atom_before_memo(flags) &&
           copium_mirror_suspect(&ctx->mirror, obj);
}

static inline int child_route(copium_ctx *ctx, PyObject *obj, const copium_handler **h,
                              copium_hash_t *hash, PyObject **copy)
{
    PyObject *found;
    if ((ctx->memo_observed & COPIUM_OBSERVED_MEMO) && ctx->mirror.dict != NULL) {
        if (mirror_ready(ctx, obj, NULL) < 0) {
            *copy = NULL;
            return 1;
        }
        if (ctx->mirror.dict != NULL) {
            stretch_begin(ctx);
            if (ctx->memo_observed & COPIUM_OBSERVED_MEMO)
                return route_through_mirror(ctx, obj, *h, hash, copy);
        }
    }
    if (!(ctx->memo_observed & COPIUM_OBSERVED_MEMO)) {
        /* The native memo alone (a native stretch, a call copium.explain records):
         * copium_deepcopy_child's steps. */
        uint32_t flags = (*h)->flags;
        if ((flags & COPIUM_HANDLER_ATOMIC) && !atom_looked_up(ctx, obj, flags)) {
            *copy = Py_NewRef(obj);
            return 1;
        }
        *hash = copium_hash_ptr(obj);
        found = copium_memo_lookup(&ctx->memo, obj, *hash);
        if (found == NULL && (flags & COPIUM_HANDLER_ATOMIC))
            found = obj;
        *copy = Py_XNewRef(found);
        return found != NULL;
    }
    /* A Python memo: stdlib consults it first, and before 3.14 even for atoms. */
    if (atom_before_memo((*h)->flags)) {
        *copy = Py_NewRef(obj);
        return 1;
    }
    int rc = copium_pymemo_lookup(ctx->pymemo, obj, &found);
    if (rc != 0) {
        *copy = rc > 0 ? found : NULL;
        return 1;
    }
    /* The lookup ran Python code, which may have changed the registry: ask again. */
    *h = copium_registry_lookup(&ctx->core->registry, Py_TYPE(obj));
    if ((*h)->flags & COPIUM_HANDLER_ATOMIC) {
        *copy = Py_NewRef(obj);
        return 1;
    }
    *hash = copium_hash_ptr(obj);
    return 0;
}

int copium_child_route(copium_ctx *ctx, PyObject *obj, const copium_handler **h,
                       copium_hash_t *hash, PyObject **copy)
{
    return child_route(ctx, obj, h, hash, copy);
}

PyObject *copium_deepcopy_child_slow(copium_ctx *ctx, PyObject *obj, const copium_handler *h)
{
    if (ctx->memo_observed & COPIUM_OBSERVED_EXPLAIN)
        return copium_explain_child(ctx, obj, h);
    copium_hash_t hash;
    PyObject *copy;
    if (child_route(ctx, obj, &h, &hash, &copy))
        return copy;
    return copium_dispatch(ctx, obj, h, hash);
}

/* ---- memo operations ------------------------------------------------------------------- */

/* memo[orig] = copy (and orig kept alive) on the native memo behind the mirror. */
static int mirror_store(copium_ctx *ctx, PyObject *orig, copium_hash_t hash, PyObject *copy,
                        int keep)
{
    ctx->mirror.native_ops++;
    PyObject *old = copium_memo_lookup(&ctx->memo, orig, hash);
    if (old != copy) {
        /* A value the dict holds already is replaced there first, while the native memo still
         * holds the old one (nothing is freed in the middle of the write). */
        if (old != NULL && copium_mirror_rewrite(&ctx->mirror, orig, copy) < 0)
            return -1;
        if (copium_memo_insert(&ctx->memo, orig, hash, copy) < 0)
            return -1;
    }
    if (keep && copium_memo_keep_alive(ctx, orig) < 0)
        return -1;
    /* Back in a handler that may run Python code next. */
    if (ctx->loud_depth == ctx->guard.depth && ctx->mirror.dict != NULL)
        return copium_ctx_mirror_settle(ctx);
    return 0;
}

/* A store once the memo is observable: through the mirror, or on the Python memo. */
int copium_memo_store_observed(copium_ctx *ctx, PyObject *orig, copium_hash_t hash, PyObject *copy,
                               int keep)
{
    if (ctx->mirror.dict != NULL && mirror_ready(ctx, orig, orig) < 0)
        return -1;
    if (ctx->mirror.dict != NULL)
        return mirror_store(ctx, orig, hash, copy, keep);
    return copium_pymemo_store(ctx->pymemo, orig, copy, keep);
}

int copium_memo_store(copium_ctx *ctx, PyObject *orig, copium_hash_t hash, PyObject *copy)
{
    if (ctx->memo_observed & COPIUM_OBSERVED_MEMO)
        return copium_memo_store_observed(ctx, orig, hash, copy, 1);
    if (copium_memo_insert(&ctx->memo, orig, hash, copy) < 0)
        return -1;
    return copium_memo_keep_alive(ctx, orig);
}

/* A lookup once the memo is observable; getitem: with the semantics of `memo[id(orig)]`. */
static COPIUM_NOINLINE int find_observed(copium_ctx *ctx, PyObject *orig, copium_hash_t hash,
                                         PyObject **copy, int getitem)
{
    if (ctx->mirror.dict != NULL && mirror_ready(ctx, orig, NULL) < 0)
        return -1;
    if (ctx->mirror.dict == NULL) {
        return getitem ? copium_pymemo_getitem(ctx->pymemo, orig, copy)
                       : copium_pymemo_lookup(ctx->pymemo, orig, copy);
    }
    PyObject *found;
    int rc = mirror_find(ctx, orig, hash, &found);
    *copy = rc > 0 ? Py_NewRef(found) : NULL;
    return rc;
}

int copium_memo_dict_met(copium_ctx *ctx, PyObject *dict, copium_hash_t hash, PyObject **copy)
{
    if (dict != ctx->mirror.dict || (ctx->memo_observed & COPIUM_OBSERVED_MEMO))
        return 0;
    /* Written up to date first, so that the dict becomes the memo as stdlib has it now. */
    if (copium_ctx_mirror_settle(ctx) < 0)
        return -1;
    return find_observed(ctx, dict, hash, copy, 0);
}

int copium_memo_find(copium_ctx *ctx, PyObject *orig, copium_hash_t hash, PyObject **copy)
{
    if (ctx->memo_observed & COPIUM_OBSERVED_MEMO)
        return find_observed(ctx, orig, hash, copy, 0);
    PyObject *found = copium_memo_lookup(&ctx->memo, orig, hash);
    *copy = found ? Py_NewRef(found) : NULL;
    return found != NULL;
}

int copium_memo_getitem(copium_ctx *ctx, PyObject *orig, copium_hash_t hash, PyObject **copy)
{
    if (ctx->memo_observed & COPIUM_OBSERVED_MEMO)
        return find_observed(ctx, orig, hash, copy, 1);
    return copium_memo_find(ctx, orig, hash, copy);
}

PyObject *copium_ctx_memo(copium_ctx *ctx)
{
    /* The memo is for Python code: everything is brought to stdlib's state first. */
    if (copium_before_python_code(ctx) < 0)
        return NULL;
    PyObject *memo = copium_ctx_python_memo(ctx);
    if (memo != NULL)
        return memo;
    int rc = copium_mirror_open(&ctx->mirror, &ctx->core->watcher, &ctx->memo, &ctx->keepalive);
    if (rc < 0)
        return NULL;
    if (ctx->memo_observed & COPIUM_OBSERVED_EXPLAIN)
        copium_explain_memo_handed(ctx);
    ctx->memo_observed |= COPIUM_OBSERVED_MEMO;
    if (rc == 0) { /* changes to the dict could not be seen: it is the memo from now on */
        ctx->pymemo = copium_mirror_detach(&ctx->mirror);
    } else {
        copium_mirror_notify(&ctx->mirror, &ctx->memo_observed, COPIUM_OBSERVED_MEMO);
        copium_ctx_list_mirror(ctx);
    }
    return copium_ctx_python_memo(ctx);
}

/* ---- top-level calls --------------------------------------------------------------------- */

/* Does anyone but the mirror hold its dict (or the keep-alive list in it)? */
static int mirror_held(const copium_mirror *m)
{
    return Py_REFCNT(m->dict) > 1 || (m->ka_list != NULL && Py_REFCNT(m->ka_list) > 2);
}

/* Out of line (also under LTO): inlined, they would make every caller of the inline
 * copium_deepcopy save registers for a path an atom never takes. */
COPIUM_NOINLINE PyObject *copium_deepcopy_fresh(copium_core *core, PyObject *obj,
                                                const copium_handler *h)
{
    copium_ctx *ctx = copium_ctx_acquire(core);
    if (ctx == NULL)
        return NULL;
#ifdef COPIUM_GC_CAN_PAUSE
    /* The collector pauses while builtin containers are copied (see gcpause.h). */
    if (h->flags & COPIUM_HANDLER_DISPATCH_QUIET) {
        ctx->quiet_countdown = COPIUM_GC_PAUSE_AFTER;
        ctx->code_events = core->gc.code_events;
    }
#endif
    /* A fresh memo is empty: no lookup for the top object (but for copium.explain's record). */
    PyObject *copy = ctx->memo_observed ? copium_explain_child(ctx, obj, h)
                                        : copium_dispatch(ctx, obj, h, copium_hash_ptr(obj));
    /* A memo dict someone kept holds stdlib's final state; one nobody holds is not filled. */
    if (ctx->mirror.dict != NULL && mirror_held(&ctx->mirror))
        copy = settle_after(ctx, copy);
    copium_gc_resume(&core->gc);
    copium_ctx_release(ctx);
    return copy;
}

/* Is memo, a caller's dict, worth making the mirror of the call's native memo? Taking its
 * entries in costs about a dict operation each, which the native memo earns back on a
 * container's copy, not on an atom's (one lookup); the bound keeps a memo that a loop of calls
 * fills from being taken in again and again. */
#define ADOPT_MAX_ENTRIES 16

static int adoptable(copium_core *core, PyObject *obj, PyObject *memo)
{
    return PyDict_CheckExact(memo) && PyDict_GET_SIZE(memo) <= ADOPT_MAX_ENTRIES &&
           !(copium_registry_lookup(&core->registry, Py_TYPE(obj))->flags & COPIUM_HANDLER_ATOMIC);
}

COPIUM_NOINLINE PyObject *copium_deepcopy_with_memo(copium_core *core, PyObject *obj,
                                                    PyObject *memo)
{
    copium_ctx *ctx = PyDict_CheckExact(memo) ? copium_ctx_mirroring(memo) : NULL;
    if (ctx != NULL) {
        /* The dict a call in progress handed to Python code, given back by it: the call goes
         * on, on its native memo (the child's slow path takes in what Python code changed in
         * the dict first), and the dict is up to date when Python code resumes. */
        PyObject *copy = copium_deepcopy_child(ctx, obj);
        return ctx->mirror.dict != NULL ? settle_after(ctx, copy) : copy;
    }
    ctx = copium_ctx_acquire(core);
    if (ctx == NULL)
        return NULL;
    ctx->memo_observed |= COPIUM_OBSERVED_MEMO;
    if (adoptable(core, obj, memo)) {
        int rc =
            copium_mirror_adopt(&ctx->mirror, &core->watcher, memo, &ctx->memo, &ctx->keepalive);
        if (rc > 0) {
            /* The caller's dict mirrors this call's native memo, and holds stdlib's state
             * whenever Python code may look at it: now, and once the call is over. */
            copium_mirror_notify(&ctx->mirror, &ctx->memo_observed, COPIUM_OBSERVED_MEMO);
            copium_ctx_list_mirror(ctx);
            PyObject *copy = copium_deepcopy_child(ctx, obj);
            if (ctx->mirror.dict != NULL)
                copy = settle_after(ctx, copy);
            copium_ctx_release(ctx);
            return copy;
        }
        copium_memo_reset(&ctx->memo); /* entries taken before the refusal */
        if (rc < 0) {
            copium_ctx_release(ctx);
            return NULL;
        }
    }
    ctx->pymemo = Py_NewRef(memo);
    PyObject *copy = copium_deepcopy_child(ctx, obj);
    copium_ctx_release(ctx);
    return copy;
}

PyObject *copium_copy(copium_core *core, PyObject *obj)
{
    const copium_handler *h = copium_registry_lookup(&core->registry, Py_TYPE(obj));
    if (h->flags & COPIUM_HANDLER_ATOMIC)
        return Py_NewRef(obj);
    if (h->copy == NULL)
        h = copium_registry_default(&core->registry);
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
    if (ctx->memo_observed & COPIUM_OBSERVED_EXPLAIN)
        copium_explain_deferred(ctx, obj);
    return run_loud(ctx, obj, copium_registry_default(&ctx->core->registry), hash);
}

PyObject *copium_copy_default(copium_core *core, PyObject *obj)
{
    const copium_handler *h = copium_registry_default(&core->registry);
    return h->copy(obj, h->data);
}
