/* The core's state: everything the engine keeps between calls, one per interpreter (the
 * module's state holds it, beside the protocol layer's and the glue's): the registry and its
 * cache, the collector's pause, the dict watcher of the memo mirror. A handler reaches it
 * through the call's context (ctx->core), a module function through its module, a C caller
 * without either (a plugin calling the capsule's deepcopy, a dict watcher's callback) through
 * copium_core_current(). `upper` is the embedder's own state, opaque to the core (the protocol
 * layer's, which handlers find through the context). */
#ifndef COPIUM_STATE_H
#define COPIUM_STATE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "gcpause.h"
#include "mirror.h"
#include "registry.h"

typedef struct copium_core {
    copium_registry registry; /* first: ctx->core is the registry's address */
    copium_gcpause gc;
    copium_mirror_watcher watcher;
    void *upper; /* the protocol layer's state (opaque here) */
    void *batch; /* the batch layer's state (opaque here), or NULL */
} copium_core;

/* Set up core (memory owned by the caller) with the registry's resolver and default handler,
 * and make it the current interpreter's (copium_core_current). 0, or -1 with an exception. */
int copium_core_init(copium_core *core, copium_resolver_fn resolver, void *resolver_data,
                     const copium_handler *default_handler, void *upper);
/* Undo copium_core_init: the registrations released, the watcher given back, and core no
 * longer the interpreter's current one. */
void copium_core_fini(copium_core *core);
int copium_core_traverse(copium_core *core, visitproc visit, void *arg);

/* The current interpreter's core state, or NULL (with no exception set) when copium is not
 * initialised in it. A C11 thread-local cache in front of the interpreter's dict: it holds the
 * interpreter's id (ids are never reused) and a generation bumped by every init and fini, so
 * it is validated without touching memory an ended interpreter or a freed module may have
 * given back. */
copium_core *copium_core_current(void);

#endif
