/* The handlers' own state, one per interpreter: what the builtin handlers keep between calls
 * (the datetime C API, the measured sizes of insertion-built dicts). The embedder's state (the
 * protocol layer's, protocol/state.h) begins with it, so that a handler finds it at the
 * address the call's context holds for the embedder (ctx->upper), and code without a context
 * (a shallow copy, a snapshot's rebuild) through the current interpreter's core state. */
#ifndef COPIUM_HANDLERS_STATE_H
#define COPIUM_HANDLERS_STATE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "../core/context.h"
#include "../core/state.h"

typedef struct copium_dict_sizes copium_dict_sizes; /* dict.c */

typedef struct {
    void *datetime_api;            /* PyDateTime_CAPI of this interpreter, imported on first use */
    copium_dict_sizes *dict_sizes; /* dict.c's measured sizes (see dict.h) */
} copium_handlers_state;

static inline copium_handlers_state *copium_handlers_of(const copium_ctx *ctx)
{
    return (copium_handlers_state *)ctx->upper;
}

/* Make and free what H holds (dict.c's tables). 0, or -1 with MemoryError. */
int copium_handlers_state_init(copium_handlers_state *H);
void copium_handlers_state_fini(copium_handlers_state *H);

#endif
