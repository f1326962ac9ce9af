/* The C API capsule of copium._copium (see plugins/copium.h for what plugins see). */
#ifndef COPIUM_CAPI_H
#define COPIUM_CAPI_H

#include "../core/handler.h"

/* The function table itself (for the embedding tests). */
const copium_api *copium_capi_table(void);

/* Add the capsule as module._C_API. 0, or -1 with an exception set. */
int copium_capi_add(PyObject *module);

#endif
