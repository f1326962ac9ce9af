/* The handler vtable, as the core sees it: the public plugin header (plugins/copium.h) is the
 * one definition, so that builtin handlers and third-party plugins use the very same struct.
 * COPIUM_INTERNAL leaves out the plugin-side import function and macros, whose names the core
 * implements as real functions. */
#ifndef COPIUM_HANDLER_H
#define COPIUM_HANDLER_H

#define COPIUM_INTERNAL 1
#include "../plugins/copium.h"

#include "hash.h"

/* Internal flag bits, never accepted from a plugin (the public registration paths reject
 * them). STDLIB_ATOM: an ATOMIC handler for one of the types stdlib's own deepcopy returns
 * before it looks at the memo (3.14's copy._atomic_types); other atomic handlers, like
 * stdlib before 3.14, consult a Python memo first. */
#define COPIUM_HANDLER_STDLIB_ATOM 0x80000000u
/* QUIET: the handler runs no Python code itself (builtin containers, the datetime types), or
 * calls copium_before_python_code before it does: the collector may stay paused while it runs
 * (gcpause.h), the call's pending copies unsettled (pending.h), and the memo's dict is written
 * up to date only when Python code is about to run (mirror.h), not around every step. */
#define COPIUM_HANDLER_QUIET          0x40000000u
#define COPIUM_HANDLER_INTERNAL_FLAGS (COPIUM_HANDLER_STDLIB_ATOM | COPIUM_HANDLER_QUIET)

#endif
