/* The generic handler (generic.c): the default of the registry. */
#ifndef COPIUM_PROTOCOL_GENERIC_H
#define COPIUM_PROTOCOL_GENERIC_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "../core/handler.h"

/* Stdlib's lookup order for every type without a handler of its own (generic.c):
 * copy._deepcopy_dispatch, classes as atoms, __deepcopy__ / __copy__, copyreg.dispatch_table,
 * __reduce_ex__(4), __reduce__, then the reduce protocol (reduce.c) or, for instances whose
 * type keeps the default protocol, the native object path (object.c). */
extern const copium_handler copium_generic_handler;

#endif
