/* The C API capsule of copium._copium (see include/copium/copium.h for what plugins see). */
#ifndef COPIUM_CAPI_H
#define COPIUM_CAPI_H

#include "../core/handler.h"
#include "../protocol/state.h"

/* The function table itself (for the embedding tests). */
const copium_api *copium_capi_table(void);

/* Register a handler that came from outside copium (a plugin's struct, a capsule), keeping
 * owner alive with it: copium's internal flag bits are refused. 0, or -1 with an error. */
int copium_capi_register(copium_protocol *P, PyTypeObject *type, const copium_handler *handler,
                         PyObject *owner);

/* Add the capsule as module._C_API. 0, or -1 with an exception set. */
int copium_capi_add(PyObject *module);

#endif
