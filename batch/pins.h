/* Pins (copium.extra.pin): while an object is pinned, every deep copy that meets it builds
 * that part from the object's snapshot instead of walking the object. The pin table lives in
 * the batch layer's state (batch.h); the engine learns about pins through the registry: a
 * pinned object's type resolves to a wrapper of its handler that checks the table and
 * otherwise delegates, so types with no pinned object pay nothing, and atoms are never
 * checked. */
#ifndef COPIUM_PINS_H
#define COPIUM_PINS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "../core/handler.h"
#include "batch.h"

/* The Pin type's spec, for copium_batch_init. */
extern PyType_Spec copium_pin_spec;

/* Set up the pin table and install the registry's decorator; 0 or -1. */
int copium_pins_init(copium_batch_state *state);
/* Unpin everything and remove the decorator. */
void copium_pins_fini(copium_batch_state *state);

/* pin(obj): a new Pin (new reference), or NULL with an exception (TypeError for an atom, what
 * the snapshot raises). An earlier pin of obj is replaced. */
PyObject *copium_pins_pin(PyObject *obj);
/* unpin(obj): 1 when obj was pinned, 0 when not, -1 on error. */
int copium_pins_unpin(PyObject *obj);
/* pinned(): a new list of the Pins, oldest first. */
PyObject *copium_pins_list(void);
/* clear_pins(): how many pins were removed. */
Py_ssize_t copium_pins_clear(void);

/* For the plan: the handler a pin wrapper wraps (h itself when it is not one). */
const copium_handler *copium_pins_unwrap(const copium_handler *h);
/* The Pin of obj (new reference), or NULL (no exception) when obj is not pinned. */
PyObject *copium_pins_find(PyObject *obj, copium_hash_t hash);
/* A copy built from a Pin's snapshot, counted as a hit. New reference or NULL. */
PyObject *copium_pin_build(PyObject *pin);
/* 1 when building from the Pin runs no Python code. */
int copium_pin_quiet(PyObject *pin);

#endif
