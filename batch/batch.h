/* The batch layer (batch/): features built on the engine, on one plan machinery (plan.h):
 * replicate (n copies at once), snapshots (copies built from a recorded plan) and pins. Its
 * mutable state is one struct, created when the module is initialised and reached through
 * copium_batch(): the heap types it defines and the pin table with its lock (the one place
 * to make per-interpreter later). */
#ifndef COPIUM_BATCH_H
#define COPIUM_BATCH_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "../core/memo.h"

typedef struct copium_pin_type copium_pin_type;

typedef struct {
    PyTypeObject *snapshot_type; /* copium.extra.Snapshot (strong) */
    PyTypeObject *pin_type;      /* copium.extra.Pin (strong) */
    /* The pins: pinned object's address -> Pin (strong values), in pinning order. */
    copium_memo pins;
    /* Per type with pinned objects (or once had some): the registry's wrapper. Each entry
     * is allocated once and kept until finalisation, since the registry's cache may point
     * into it. */
    copium_pin_type **types;
    Py_ssize_t ntypes, cap_types;
    /* Guards pins and types: held only around C code that runs no Python code and never
     * blocks while holding the GIL. */
#if PY_VERSION_HEX >= 0x030D0000
    PyMutex lock;
#else
    PyThread_type_lock lock;
#endif
    /* tp_traverse of Python classes (whose instances' traversal reaches every reference they
     * hold): what the plan trusts when it looks for the parts an engine part can reach. */
    traverseproc class_traverse;
} copium_batch_state;

/* The state, or NULL before copium_batch_init / after copium_batch_fini. */
copium_batch_state *copium_batch(void);

/* Create the state and the types, and add Snapshot and Pin to module. 0 or -1. */
int copium_batch_init(PyObject *module);
void copium_batch_fini(void);

#endif
