/* The handler vtable, as the core sees it: the public plugin header (include/copium/copium.h) is
 * the one definition, so that builtin handlers and third-party plugins use the very same struct.
 * COPIUM_INTERNAL leaves out the plugin-side import function and macros, whose names the core
 * implements as real functions. */
#ifndef COPIUM_HANDLER_H
#define COPIUM_HANDLER_H

#define COPIUM_INTERNAL 1
#include "../include/copium/copium.h"

#include "hash.h"

/* Internal flag bits, reserved by name in the public header and never accepted from a plugin
 * (the public registration paths reject them). STDLIB_ATOM: an ATOMIC handler for one of the types
 * stdlib's own deepcopy returns before it looks at the memo (3.14's copy._atomic_types); other
 * atomic handlers, like stdlib before 3.14, consult a Python memo first. */
#define COPIUM_HANDLER_STDLIB_ATOM COPIUM_HANDLER_RESERVED_STDLIB_ATOM
/* QUIET: the handler runs no Python code itself (builtin containers, the datetime types), or
 * calls copium_before_python_code before it does: the collector may stay paused while it runs
 * (gcpause.h), the call's pending copies unsettled (pending.h), and the memo's dict is written
 * up to date only when Python code is about to run (mirror.h), not around every step. */
#define COPIUM_HANDLER_QUIET COPIUM_HANDLER_RESERVED_QUIET
/* SETTLES: dispatched as a QUIET handler (the same contract: copium_before_python_code before
 * any Python code it runs), by a handler that runs Python code for most objects but not all
 * (the generic handler: instances on the native object path run none). Where a caller judges
 * by a handler's flags whether a child's copy will run Python code (the dict handler), such a
 * handler counts as one that may. */
#define COPIUM_HANDLER_SETTLES COPIUM_HANDLER_RESERVED_SETTLES
/* The handlers dispatched without settling first. */
#define COPIUM_HANDLER_DISPATCH_QUIET (COPIUM_HANDLER_QUIET | COPIUM_HANDLER_SETTLES)
/* SELF_CHECKED: the handler checks per object that the type is one it serves and defers any
 * other to the default handler, so the resolver's answer is cached without the registry
 * holding the type alive (types made at run time, pydantic models, can still die). */
#define COPIUM_HANDLER_SELF_CHECKED   COPIUM_HANDLER_RESERVED_SELF_CHECKED
#define COPIUM_HANDLER_INTERNAL_FLAGS COPIUM_HANDLER_RESERVED_FLAGS

#endif
