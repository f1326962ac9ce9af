/* Per-call contexts and their per-thread reuse (see context.h). A thread's context is owned by
 * a capsule in the thread-state dict, which is per thread and interpreter, so it is freed when
 * the thread state is cleared; a C11 thread-local pointer finds it without a dict lookup, valid
 * while the thread state it was made for is the current one (compared by address, without
 * reading the context: the capsule's destructor forgets it when it runs on this thread). The
 * contexts of a thread that handed Python code a memo dict form a stack (innermost first),
 * where a call given that dict back finds its context: every one of them is in a call in
 * progress, whose dict is alive, so a dict of another interpreter is never mistaken for one. */
#include "context.h"

#include "compat.h"
#include "explain.h"
#include "guard.h"
#include "state.h"

static _Thread_local copium_ctx *thread_ctx;
static _Thread_local PyThreadState *thread_ctx_tstate; /* the thread state thread_ctx is for */
static _Thread_local copium_ctx *mirroring;            /* the innermost context with a mirror */

static const char CAPSULE_NAME[] = "copium.context";

static copium_ctx *ctx_new(void)
{
    copium_ctx *ctx = PyMem_Calloc(1, sizeof(*ctx));
    if (ctx == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    if (copium_memo_init(&ctx->memo) < 0)
        goto error;
    if (copium_keepalive_init(&ctx->keepalive) < 0)
        goto error;
    return ctx;
error:
    copium_memo_fini(&ctx->memo);
    PyMem_Free(ctx);
    return NULL;
}

static void ctx_free(copium_ctx *ctx)
{
    copium_memo_fini(&ctx->memo);
    copium_keepalive_fini(&ctx->keepalive);
    copium_mirror_close(&ctx->mirror);
    Py_CLEAR(ctx->pymemo);
    PyMem_Free(ctx);
}

static void capsule_destructor(PyObject *capsule)
{
    copium_ctx *ctx = PyCapsule_GetPointer(capsule, CAPSULE_NAME);
    if (ctx == NULL) {
        PyErr_Clear();
        return;
    }
    /* The thread-state dict may be cleared from another thread (at shutdown): only forget the
     * pointer when it is this thread's. */
    if (thread_ctx == ctx) {
        thread_ctx = NULL;
        thread_ctx_tstate = NULL;
    }
    if (ctx->in_use)
        ctx->owned_by_thread = 0; /* a call still runs on it: it frees itself on release */
    else
        ctx_free(ctx);
}

/* This thread's context in the current interpreter: found in the thread-state dict, or created
 * and handed to it. */
static COPIUM_NOINLINE copium_ctx *thread_ctx_find(PyThreadState *tstate)
{
    PyObject *tdict = PyThreadState_GetDict();
    if (tdict != NULL) {
        PyObject *capsule = PyDict_GetItemString(tdict, CAPSULE_NAME); /* borrowed */
        if (capsule != NULL && PyCapsule_IsValid(capsule, CAPSULE_NAME)) {
            thread_ctx = PyCapsule_GetPointer(capsule, CAPSULE_NAME);
            thread_ctx_tstate = tstate;
            return thread_ctx;
        }
    }
    copium_ctx *ctx = ctx_new();
    if (ctx == NULL)
        return NULL;
    if (tdict == NULL)
        return ctx; /* no thread state dict: a one-off context, freed on release */
    PyObject *capsule = PyCapsule_New(ctx, CAPSULE_NAME, capsule_destructor);
    if (capsule == NULL) {
        ctx_free(ctx);
        return NULL;
    }
    ctx->owned_by_thread = 1;
    int rc = PyDict_SetItemString(tdict, CAPSULE_NAME, capsule);
    Py_DECREF(capsule); /* on success the dict owns it; on failure this frees ctx */
    if (rc < 0)
        return NULL;
    thread_ctx = ctx;
    thread_ctx_tstate = tstate;
    return ctx;
}

copium_ctx *copium_ctx_acquire(copium_core *core)
{
    PyThreadState *tstate = PyThreadState_Get();
    copium_ctx *ctx = thread_ctx;
    if (ctx == NULL || thread_ctx_tstate != tstate)
        ctx = thread_ctx_find(tstate);
    if (ctx != NULL && ctx->in_use) {
        /* A nested top-level call. While copium.explain records this thread it holds the
         * thread's context, so that every call it makes comes here and is recorded too
         * (explain.h); copium_ctx_release clears the flag. */
        ctx = ctx_new();
        if (ctx != NULL)
            ctx->memo_observed = copium_explain_recording(core) ? COPIUM_OBSERVED_EXPLAIN : 0;
    }
    if (ctx == NULL)
        return NULL;
    ctx->core = core;
    ctx->upper = core->upper;
    ctx->in_use = 1;
    ctx->quiet_countdown = -1;
    ctx->pending.begun = ctx->pending.settled = 0;
    ctx->loud_depth = -1;
    ctx->loud_obj = NULL;
    ctx->stretch_from = COPIUM_NO_STRETCH;
    copium_guard_prepare(&ctx->guard);
    return ctx;
}

void copium_ctx_release(copium_ctx *ctx)
{
    /* Keep a pending exception across the releases below (they may run finalisers). */
    PyObject *exc = PyErr_Occurred() != NULL ? copium_err_take() : NULL;
    assert(ctx->pending.top == NULL); /* every handler takes its pending copy off the stack */
    ctx->pending.top = NULL;
    /* A dict kept by user code stays valid: it is simply not ours. Let go before the tables are
     * reset (which may run finalisers): a call given it from then on starts afresh. */
    if (ctx->memo_observed || ctx->mirror.dict != NULL) { /* (a call ending in a stretch) */
        copium_mirror_close(&ctx->mirror);
        Py_CLEAR(ctx->pymemo);
        ctx->memo_observed = 0;
    }
    copium_memo_reset(&ctx->memo);
    copium_keepalive_reset(&ctx->keepalive);
    ctx->in_use = 0;
    if (ctx->listed) {
        if (mirroring == ctx)
            mirroring = ctx->outer;
        ctx->outer = NULL;
        ctx->listed = 0;
    }
    if (!ctx->owned_by_thread)
        ctx_free(ctx);
    if (exc != NULL)
        copium_err_give(exc);
}

void copium_ctx_list_mirror(copium_ctx *ctx)
{
    if (ctx->listed)
        return;
    ctx->outer = mirroring;
    mirroring = ctx;
    ctx->listed = 1;
}

copium_ctx *copium_ctx_mirroring(PyObject *memo)
{
    for (copium_ctx *ctx = mirroring; ctx != NULL; ctx = ctx->outer) {
        if (ctx->mirror.dict == memo)
            return ctx;
    }
    return NULL;
}
