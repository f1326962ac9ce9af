/* The pydantic v2 model handler (pydantic.c): BaseModel.__deepcopy__ / __copy__ reproduced
 * natively for the pydantic versions it knows. */
#ifndef COPIUM_PROTOCOL_PYDANTIC_H
#define COPIUM_PROTOCOL_PYDANTIC_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "../core/handler.h"
#include "state.h"

/* The handler for pydantic v2 model classes (pydantic.c) that keep pydantic's own
 * __deepcopy__ / __copy__, for the pydantic versions it knows; NULL for any other type.
 * Never fails, never imports pydantic. Its types are cached, not registered (SELF_CHECKED). */
const copium_handler *copium_pydantic_handler_for(copium_protocol *P, PyTypeObject *type);
int copium_pydantic_is_handler(const copium_handler *h);

/* Is type a pydantic model the pydantic handler serves, by the facts cached for it (computed
 * now if need be)? For the default handler: the registry's cache may answer it for a class
 * made at the address of a dead one (registry.c), and such a model finds its own handler so. */
int copium_pydantic_claims(copium_protocol *P, PyTypeObject *type);
/* Its facts' cache (per interpreter), made at install and freed at finalisation. 0, or -1. */
int copium_pydantic_cache_init(copium_protocol *P);
void copium_pydantic_cache_fini(copium_protocol *P);

#endif
