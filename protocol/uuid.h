/* The uuid.UUID handler (uuid.c): the uuid module's own copy route (object's reduce protocol
 * with the class's __getstate__ / __setstate__), recognised and reproduced natively. */
#ifndef COPIUM_PROTOCOL_UUID_H
#define COPIUM_PROTOCOL_UUID_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "../handlers/handlers.h"
#include "state.h"

/* The handler for uuid.UUID (uuid.c) when the uuid module defines its copy route as stdlib
 * ships it; NULL otherwise. Never fails. */
const copium_handler *copium_uuid_handler_for(copium_protocol *P, PyTypeObject *type);
int copium_uuid_is_handler(const copium_handler *h);

/* For the plan (batch/plan.c): see copium_rebuild_fn (handlers.h). */
int copium_uuid_recipe(copium_protocol *P, const copium_handler *h, PyObject *obj,
                       copium_rebuild_fn *rebuild, PyObject **source, PyObject **child);
/* The facts (per interpreter), made at install and freed at finalisation. 0, or -1. */
int copium_uuid_facts_init(copium_protocol *P);
void copium_uuid_facts_fini(copium_protocol *P);

#endif
