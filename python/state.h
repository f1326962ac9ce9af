/* The module's state (PEP 489 multi-phase initialisation: one per module object, so one per
 * interpreter that imports copium): it aggregates the core's state (registry, collector pause,
 * memo-mirror watcher), the protocol layer's (stdlib's tables, names, per-type caches,
 * configuration), the batch layer's (snapshot and pin types, the pin table and its lock) and
 * the glue's own (copy.Error, the patch of copy.deepcopy / copy.copy). It lives inside the
 * module object (below); C callers without a module reach it through copium_core_current(). */
#ifndef COPIUM_MODULE_STATE_H
#define COPIUM_MODULE_STATE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "../batch/batch.h"
#include "../core/state.h"
#include "../protocol/state.h"
#include "patch.h"

typedef struct {
    copium_core core;
    copium_protocol proto;
    copium_batch_state *batch;
    PyObject *error_type; /* copy.Error */
#ifdef COPIUM_PATCH_VECTORCALL
    copium_patch_state patch;
#endif
} copium_module_state;

/* The module object is an instance of a subclass of ModuleType that module.c makes for it
 * (Py_mod_create), with room for the state at a fixed offset: copium.deepcopy, a function of
 * the module as stdlib's is, then reaches the state with no load in front of the loads its
 * atom check needs. The offset is a bound on ModuleType's instance size, checked against
 * PyModule_Type.tp_basicsize when the module is made (its layout is not public API): 56 bytes
 * on 3.10-3.14, 104 on 3.15. */
#define COPIUM_MODULE_STATE_OFFSET 256

static inline copium_module_state *copium_module_state_of(PyObject *module)
{
    return (copium_module_state *)((char *)module + COPIUM_MODULE_STATE_OFFSET);
}

static inline copium_protocol *copium_module_proto(PyObject *module)
{
    return &copium_module_state_of(module)->proto;
}

/* The current interpreter's module state, or NULL (its core state is its first member). */
static inline copium_module_state *copium_module_state_current(void)
{
    return (copium_module_state *)copium_core_current();
}

#endif
