/* What stdlib's copy functions see, kept in step with the program (stdlib.c): the copy and
 * copyreg modules' tables and bindings (in the protocol state), read at install, and the sync
 * every top-level copy starts with. Contract with install.c: copium_stdlib_init() runs before
 * any handler is registered, copium_stdlib_fini() after the registry is finalised; the
 * resolver answers the generic handler for every type t with copium_stdlib_is_overridden(P, t)
 * true. copium_handlers_sync() unregisters every type served by a builtin handler whose stdlib
 * route the program changed, and invalidates the registry cache whenever the tables changed,
 * so that the resolver is asked again (and can hand a builtin handler back once the original
 * entry is restored). */
#ifndef COPIUM_PROTOCOL_STDLIB_H
#define COPIUM_PROTOCOL_STDLIB_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "state.h"

int copium_stdlib_init(copium_protocol *P);
void copium_stdlib_fini(copium_protocol *P);

/* 1 when the program changed stdlib's route for exactly type t since copium was imported (an
 * entry in copy._deepcopy_dispatch, copy._copy_dispatch or copyreg.dispatch_table added,
 * replaced or removed where stdlib would consult it, or a table replaced by a non-dict), so
 * that a builtin handler must not serve t. Never raises. */
int copium_stdlib_is_overridden(copium_protocol *P, PyTypeObject *t);

/* table.get(key) as stdlib calls it: 1 and a new reference, 0 when absent or None (a None
 * value is what .get returns for a missing key too), -1 on error. */
int copium_table_get(copium_protocol *P, PyObject *table, PyObject *key, PyObject **value);

/* 1 when nothing stdlib's copy functions look at changed since the last sync. */
static inline int copium_stdlib_fresh(const copium_protocol *P)
{
#if PY_VERSION_HEX >= 0x030C0000
    return !P->watch.dirty;
#else
    const copium_stdlib_watch_t *w = &P->watch;
    return ((*w->live[0] ^ w->seen[0]) | (*w->live[1] ^ w->seen[1]) | (*w->live[2] ^ w->seen[2]) |
            (*w->live[3] ^ w->seen[3]) | (*w->live[4] ^ w->seen[4])) == 0;
#endif
}

/* copium_stdlib_fresh as far as a deep copy of an atom can tell: before 3.12, the two tables
 * stdlib reads for one (the copy module's namespace, which binds _deepcopy_dispatch, and
 * _deepcopy_dispatch itself). An atom's copier is found there before copyreg's table or
 * _copy_dispatch could matter, so the fast path does not wait for a change to those; the next
 * call that is not an atom's syncs. */
static inline int copium_stdlib_fresh_for_atoms(const copium_protocol *P)
{
#if PY_VERSION_HEX >= 0x030C0000
    return copium_stdlib_fresh(P); /* the watcher's one flag */
#else
    const copium_stdlib_watch_t *w = &P->watch;
    return ((*w->live[0] ^ w->seen[0]) | (*w->live[2] ^ w->seen[2])) == 0;
#endif
}

/* The work of copium_handlers_sync once something changed (stdlib.c). */
int copium_handlers_resync(copium_protocol *P);

/* Called before each top-level copy: if a program changed copy._deepcopy_dispatch,
 * copy._copy_dispatch or copyreg.dispatch_table for a type that has a builtin handler, stdlib
 * would now do something else for it, so that handler steps aside. Cheap when nothing changed.
 * Returns 0, or -1 with an exception set. */
static inline int copium_handlers_sync(copium_protocol *P)
{
    return copium_stdlib_fresh(P) ? 0 : copium_handlers_resync(P);
}

#endif
