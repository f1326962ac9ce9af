/* The plan of a deep copy: one machinery for snapshots, pins and replicate.
 *
 * Recording walks an object graph the way the engine's deep copy would (atoms as themselves,
 * the memo, then each object's handler) and writes down what that copy makes: the objects it
 * creates, what each holds, which originals it shares as they are. The parts whose copy is
 * fixed by the graph alone are recorded natively: exact list, dict, tuple, set, frozenset and
 * bytearray objects, instances on the engine's native object path (plain classes,
 * dataclasses, __slots__ classes), the datetime and uuid.UUID handlers' types, and pinned
 * objects (built from their own snapshots). Every other part (a __deepcopy__, a reduce, a
 * handler registered from Python, a plugin's handler) is an engine part: the engine copies it
 * while recording, and each build copies that private copy again through the engine, with the
 * plan's objects it can reach already in the build's memo, so that the identity pattern
 * between native and engine parts is the deep copy's. A plugin handler flagged
 * COPIUM_HANDLER_RECORDABLE is an engine part too, but one that runs no Python code.
 *
 * A build makes one copy from the plan: no memo, no dispatch and no address hashing for the
 * native parts, objects created and filled in the order the engine creates and fills them
 * (lists and dicts memoized before their items, tuples and sets after); an engine context
 * only when the plan has engine parts. A plan holds only atoms, types, immutable sources and
 * private copies: nothing a program can change after the recording. */
#ifndef COPIUM_PLAN_H
#define COPIUM_PLAN_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

typedef struct copium_plan copium_plan;

typedef enum {
    /* Every part is recorded; engine parts keep private copies made now (whatever the deep
     * copy raises is raised then). */
    COPIUM_PLAN_SNAPSHOT,
    /* Builds made while the original stays untouched (one replicate call): engine parts keep
     * the originals, and a part that may run Python code declines the plan. */
    COPIUM_PLAN_REPLICATE,
} copium_plan_mode;

/* Record the plan of a deep copy of obj. The caller has synchronised the handlers with
 * stdlib's tables (copium_handlers_sync). unpinned: an object whose pin, if it has one, is
 * not used (pin() re-recording a pinned object), or NULL. *first: when recording made a copy
 * (a plan with engine parts), a new reference to it, else NULL. Returns the plan; NULL with an
 * exception; NULL without one when a replicate plan declines (nothing done that the engine
 * would not do). */
copium_plan *copium_plan_record(PyObject *obj, copium_plan_mode mode, PyObject *unpinned,
                                PyObject **first);

/* One new deep copy from the plan. New reference, or NULL with an exception. */
PyObject *copium_plan_build(copium_plan *plan);

void copium_plan_free(copium_plan *plan);

/* The Python objects the plan holds, for the collector. */
int copium_plan_traverse(const copium_plan *plan, visitproc visit, void *arg);

/* 1 when a build runs no Python code (no engine part, every key and set element hashed in C). */
int copium_plan_quiet(const copium_plan *plan);

/* The bytes the plan's own tables take (its held objects aside). */
size_t copium_plan_sizeof(const copium_plan *plan);

/* A dict describing the plan (parts by kind, engine parts, seeds, bytes), for tests and
 * diagnostics. New reference or NULL. */
PyObject *copium_plan_info(const copium_plan *plan);

#endif
