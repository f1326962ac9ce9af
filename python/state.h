/* The module's state (PEP 489 multi-phase initialisation: one per module object, so one per
 * interpreter that imports copium): it aggregates the core's state (registry, collector pause,
 * memo-mirror watcher), the protocol layer's (stdlib's tables, names, per-type caches,
 * configuration), the batch layer's (snapshot and pin types, the pin table and its lock) and
 * the glue's own (copy.Error, the patch of copy.deepcopy / copy.copy). It lives in a small
 * object the module points to (copium_state_holder, below); module functions reach it through
 * PyModule_GetState, C callers without a module through copium_core_current(). */
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

/* The object that holds the state. The module's own state is one pointer to it, and
 * copium.deepcopy is bound to it (its self), so the path of every copium.deepcopy(x) finds
 * the state at a constant offset from its first argument: no load stands between the call and
 * the loads the atom check depends on. It outlives the module while someone keeps
 * copium.deepcopy. */
typedef struct {
    PyObject ob_base; /* what PyObject_HEAD expands to */
    copium_module_state st;
} copium_state_holder;

static inline copium_module_state *copium_holder_state(PyObject *holder)
{
    return &((copium_state_holder *)holder)->st;
}

static inline copium_module_state *copium_module_state_of(PyObject *module)
{
    return copium_holder_state(*(PyObject **)PyModule_GetState(module));
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
