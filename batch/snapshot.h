/* Snapshots (copium.extra.snapshot): an object's state recorded as a plan (plan.h) once; each
 * call of the snapshot builds a new deep copy of that state. */
#ifndef COPIUM_SNAPSHOT_H
#define COPIUM_SNAPSHOT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* The type's spec, and what copium_batch_init does once the type is made. */
extern PyType_Spec copium_snapshot_spec;
int copium_snapshot_type_ready(PyTypeObject *tp);

/* snapshot(obj): a new Snapshot of obj as it is now (new reference), or NULL with what a deep
 * copy of obj raises. unpinned: an object whose own pin is not used (pin() taking a new
 * snapshot of an object pinned already), or NULL. */
PyObject *copium_snapshot_new(PyObject *obj, PyObject *unpinned);

/* One new copy from a Snapshot. New reference or NULL. */
PyObject *copium_snapshot_build(PyObject *snapshot);

/* 1 when building from the Snapshot runs no Python code. */
int copium_snapshot_quiet(PyObject *snapshot);

#endif
