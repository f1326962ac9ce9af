/* The protocol layer's set-up (install.c), what the module glue calls: the protocol state and
 * the core's made ready with the resolver and every builtin handler registered; the builtin
 * handlers' registrations kept apart from the ones users make. */
#ifndef COPIUM_PROTOCOL_INSTALL_H
#define COPIUM_PROTOCOL_INSTALL_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "../core/state.h"
#include "state.h"

/* 1 when type is served by the handler copium installs for it (a builtin or a recognised
 * stdlib type), so that there is nothing a user registration would give back. */
int copium_handlers_is_builtin(copium_protocol *P, PyTypeObject *type);

/* For copium.explain (core/explain.h): the kind of path h gives its objects, a copium_path
 * (atom, builtin, value-type, plugin, Python handler, or the protocol's: COPIUM_PATH_OBJECT).
 * Reads only h (its flags and functions), no state. */
int copium_handlers_explain_kind(const copium_handler *h);

/* Remove a registration made for type (plugin or Python handler): 1 when one was removed, 0
 * when there was none. A builtin handler is never removed (0); one that was replaced is
 * restored by removing its replacement. */
int copium_handlers_unregister(copium_protocol *P, PyTypeObject *type);

/* Set up P and core (memory owned by the caller, the module's state): import what the
 * handlers need (copy, copyreg), make core the interpreter's with the resolver, and register
 * every builtin handler. Returns 0, or -1 with an exception set (copium_handlers_fini then
 * undoes what was done). */
int copium_handlers_install(copium_protocol *P, copium_core *core);
void copium_handlers_fini(copium_protocol *P);
/* Visit the Python objects P and its core hold (for the module's m_traverse). */
int copium_handlers_traverse(copium_protocol *P, visitproc visit, void *arg);

#endif
