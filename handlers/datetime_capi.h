/* What the handlers of the datetime module's C types share: datetime, date, time and
 * timedelta have a file each (datetime.c, date.c, time.c, timedelta.c) with its vtable, and
 * datetime_capi.c holds the rest, which needs all four: the C API's import, the tzinfo's copy,
 * the memo's entry, the resolver's lookup and the plan's recipes. For handlers/ only. */
#ifndef COPIUM_DATETIME_CAPI_H
#define COPIUM_DATETIME_CAPI_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <datetime.h>

#include "../core/engine.h"

/* Every function reads the interpreter's datetime C API (in the handlers' state) through a
 * local PyDateTimeAPI, which datetime.h's macros use; this names the header's static pointer
 * (never set, never read) once, for each file that includes it. */
static inline void copium_datetime_static_api_unused(void)
{
    (void)PyDateTimeAPI;
}

/* Shallow copies keep stdlib's protocol (copy is NULL): rare, and cheap enough there. Quiet:
 * the C API's constructors run no Python code for these exact types, the tzinfo goes through
 * the engine, and the default path takes care of itself (engine.h). */
extern const copium_handler copium_datetime_handler;  /* datetime.c */
extern const copium_handler copium_date_handler;      /* date.c */
extern const copium_handler copium_time_handler;      /* time.c */
extern const copium_handler copium_timedelta_handler; /* timedelta.c */

/* The tzinfo of a copy: None, or the deep copy of the original's, which must be a tzinfo (the
 * reduce path's constructor says so in these words otherwise). New reference or NULL. */
PyObject *copium_datetime_copy_tzinfo(copium_ctx *ctx, PyObject *tzinfo);

/* memo[obj] = copy; copy on success, NULL (and copy released) otherwise. */
PyObject *copium_datetime_remember(copium_ctx *ctx, PyObject *obj, copium_hash_t hash,
                                   PyObject *copy);

#endif
