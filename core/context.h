/* The per-call context: everything one top-level deepcopy owns (native memo, keepalive vector,
 * the Python-level memo once one is needed). A thread reuses its context from call to call so
 * that the tables stay allocated; a nested top-level call (a __deepcopy__ calling
 * copium.deepcopy(x) without a memo) gets a fresh one. Handlers go through engine.h, whose inline
 * fast path reads pymemo; plugins see the struct as opaque. */
#ifndef COPIUM_CONTEXT_H
#define COPIUM_CONTEXT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "guard.h"
#include "keepalive.h"
#include "memo.h"
#include "pending.h"

struct copium_ctx {
    copium_memo memo;
    copium_keepalive keepalive;
    /* NULL while the native memo is authoritative. Otherwise the Python memo every memo
     * operation goes to: the caller's memo argument, or the dict made the first time Python
     * code needed one (a __deepcopy__ hook), filled from the native memo at that moment. */
    PyObject *pymemo;
    copium_guard guard;
    /* Copies a handler fills out of stdlib's order, settled before Python code runs. */
    copium_pending_stack pending;
    /* Quiet containers left to copy before the collector is paused; negative: not in this call
     * (see gcpause.h). It pauses only if copium_gc_code_events is still code_events. */
    int quiet_countdown;
    uint64_t code_events;
    int in_use;
    int owned_by_thread; /* reused by later calls of its thread; else freed on release */
};

typedef struct copium_ctx copium_ctx;

/* A context ready for a top-level call: the thread's own when it is free, otherwise a new one.
 * Returns NULL with MemoryError set. */
copium_ctx *copium_ctx_acquire(void);

/* Reset what the call used (O(entries)), shrink what grew, and hand it back (or free it). */
void copium_ctx_release(copium_ctx *ctx);

/* The Python memo of this call, created from the native memo on first use. Borrowed. Handlers
 * call engine.h's copium_ctx_memo, which first readies the call for Python code. */
PyObject *copium_ctx_pymemo(copium_ctx *ctx);

#endif
