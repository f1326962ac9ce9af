/* The module's state (PEP 489 multi-phase initialisation: one per module object, so one per
 * interpreter that imports copium): it aggregates the core's state (registry, collector pause,
 * memo-mirror watcher), the protocol layer's (stdlib's tables, names, per-type caches,
 * configuration), the batch layer's (snapshot and pin types, the pin table and its lock) and
 * the glue's own (copy.Error, the patch of copy.deepcopy / copy.copy). Module functions reach
 * it with PyModule_GetState; C callers without a module through copium_core_current(). */
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

static inline copium_module_state *copium_module_state_of(PyObject *module)
{
    return (copium_module_state *)PyModule_GetState(module);
}

/* Where CPython's module object keeps its state pointer: the pointer after md_dict and md_def
 * (3.10-3.14), after md_dict (3.15). The module object's layout is not public API: module.c
 * reads the state there only through a copium.deepcopy it installs once it has checked, for
 * that module object, that PyModule_GetState finds the same pointer (otherwise it installs
 * one that calls PyModule_GetState). It saves the call on the path of every
 * copium.deepcopy(x), where the state is the first of the loads the atom check depends on. */
#if PY_VERSION_HEX >= 0x030F0000
#define COPIUM_MODULE_STATE_SLOT 1
#else
#define COPIUM_MODULE_STATE_SLOT 2
#endif

static inline void *copium_module_state_at_slot(PyObject *module)
{
    return ((void *const *)((const char *)module + sizeof(PyObject)))[COPIUM_MODULE_STATE_SLOT];
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
