/* Per-call contexts and their per-thread reuse (see context.h). A thread's context is owned by
 * a capsule in the thread-state dict, so it is freed when the thread ends; a C11 thread-local
 * pointer finds it without a dict lookup. The contexts of a thread that handed Python code a
memo dict form a stack (innermost first), where a call given that dict back finds its context. */
#include "context.h"

#include "explain.h"
#include "guard.h"

static _Thread_local copium_ctx *thread_ctx;
static _Thread_local copium_ctx *mirroring; /* the innermost context with a mirror */

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
    if (thread_ctx == ctx)
        thread_ctx = NULL;
    if (ctx->in_use)
        ctx->owned_by_thread = 0; /* a call still runs on it: it frees itself on release */
    else
        ctx_free(ctx);
}

/* Create this thread's context and hand its ownership to the thread-state dict. */
static copium_ctx *thread_ctx_create(void)
{
    PyObject *tdict = PyThreadState_GetDict();
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
    return ctx;
}

copium_ctx *copium_ctx_acquire(void)
{
    copium_ctx *ctx = thread_ctx;
    if (ctx == NULL || ctx->in_use) {
        /* The thread's first call, or a nested top-level call. While copium.explain records
         * this thread it holds the thread's context, so that every call it makes comes here
         * and is recorded too (explain.h); copium_ctx_release clears the flag. */
        ctx = ctx == NULL ? thread_ctx_create() : ctx_new();
        if (ctx == NULL)
            return NULL;
        ctx->memo_observed = copium_explain_recording() ? COPIUM_OBSERVED_EXPLAIN : 0;
    }
    ctx->in_use = 1;
    ctx->quiet_countdown = -1;
    ctx->pending.begun = ctx->pending.settled = 0;
    ctx->loud_depth = -1;
    ctx->loud_obj = NULL;
    copium_guard_prepare(&ctx->guard);
    return ctx;
}

void copium_ctx_release(copium_ctx *ctx)
{
    /* Keep a pending exception across the releases below (they may run finalisers). */
    PyObject *type = NULL, *value = NULL, *tb = NULL;
    int failed = PyErr_Occurred() != NULL;
    if (failed)
        PyErr_Fetch(&type, &value, &tb);
    assert(ctx->pending.top == NULL); /* every handler takes its pending copy off the stack */
    ctx->pending.top = NULL;
    /* A dict kept by user code stays valid: it is simply not ours. Let go before the tables are
     * reset (which may run finalisers): a call given it from then on starts afresh. */
    if (ctx->memo_observed) {
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
    if (failed)
        PyErr_Restore(type, value, tb);
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
