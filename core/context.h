/* The per-call context: everything one top-level deepcopy owns (native memo, keepalive vector,
 * the dict Python code sees once it needs the memo). A thread reuses its context from call to
 * call so that the tables stay allocated; a nested top-level call (a __deepcopy__ calling
 * copium.deepcopy(x) without a memo) gets a fresh one, while a call given the dict a context of
 * this thread handed to Python code goes on in that context. One thread may run code in several
 * interpreters (one after another, or nested): its context is per thread and interpreter. Handlers
 * go through engine.h, whose inline fast path reads memo_observed; plugins see the struct as
 * opaque. */
#ifndef COPIUM_CONTEXT_H
#define COPIUM_CONTEXT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "guard.h"
#include "keepalive.h"
#include "memo.h"
#include "mirror.h"
#include "pending.h"

struct copium_core;

struct copium_ctx {
    /* The interpreter's core state (state.h), set by every acquire, and the embedder's state
     * the handlers read (core->upper, kept here to save them a load). */
    struct copium_core *core;
    void *upper;
    copium_memo memo;
    copium_keepalive keepalive;
    /* NULL while the native memo is authoritative. Otherwise the Python memo every memo
     * operation goes to: the caller's memo argument, or the mirror's dict once Python code
     * changed it in a way the native memo cannot follow (or where no change can be seen). */
    PyObject *pymemo;
    /* The dict Python code sees, kept up to date with the native memo (mirror.h). */
    copium_mirror mirror;
    /* Who watches the call: COPIUM_OBSERVED_MEMO once there is a Python memo (pymemo or the
     * mirror's dict) but in a native stretch (engine.c), COPIUM_OBSERVED_ATOMS in a stretch
     * whose atoms are looked up, COPIUM_OBSERVED_EXPLAIN while copium.explain records it
     * (explain.h). Nonzero: every child takes the engine's slow path (one test of the whole
     * int inline). */
    int memo_observed;
    /* memo.count when the current native stretch began; COPIUM_NO_STRETCH outside one. */
    size_t stretch_from;
    /* The guard depth of the innermost handler on the stack that may run Python code (not
     * dispatched as quiet, or gone on with copium_continue_loud) and the object it copies, -1
     * and NULL without one: when a child returns to it, the mirror is written up to date. */
    int loud_depth;
    PyObject *loud_obj;
    copium_guard guard;
    /* Copies a handler fills out of stdlib's order, settled before Python code runs. */
    copium_pending_stack pending;
    /* Quiet containers left to copy before the collector is paused; negative: not in this call
     * (see gcpause.h). It pauses only if the collector's code_events is still this. */
    int quiet_countdown;
    uint64_t code_events;
    int in_use;
    int owned_by_thread;      /* reused by later calls of its thread; else freed on release */
    int listed;               /* on the thread's stack of contexts with a mirror */
    struct copium_ctx *outer; /* the one below it there */
};

typedef struct copium_ctx copium_ctx;

/* memo_observed's bits. ATOMS comes only without MEMO: the native memo alone answers, but an
 * atom is looked up there, since a key Python code put in the dict may be its address. */
#define COPIUM_OBSERVED_MEMO    1
#define COPIUM_OBSERVED_EXPLAIN 2
#define COPIUM_OBSERVED_ATOMS   4

#define COPIUM_NO_STRETCH ((size_t)-1)

/* A context ready for a top-level call in core's interpreter: the thread's own (per thread
 * and interpreter) when it is free, otherwise a new one. Returns NULL with MemoryError set. */
copium_ctx *copium_ctx_acquire(struct copium_core *core);

/* Reset what the call used (O(entries)), shrink what grew, and hand it back (or free it). */
void copium_ctx_release(copium_ctx *ctx);

/* Put ctx, whose mirror was just opened, on its thread's stack of contexts with a mirror. */
void copium_ctx_list_mirror(copium_ctx *ctx);

/* The context of this thread whose mirror's dict is memo, or NULL. */
copium_ctx *copium_ctx_mirroring(PyObject *memo);

#endif
