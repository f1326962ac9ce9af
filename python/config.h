/* copium's run-time configuration as the C entry points see it (set through copium.config,
 * which validates and documents it), and the one deep-copy entry every Python-facing function
 * goes through (copium.deepcopy, a patched copy.deepcopy, copium.extra.replicate's fallback). */
#ifndef COPIUM_CONFIG_H
#define COPIUM_CONFIG_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "../core/engine.h"
#include "../core/registry.h"
#include "../protocol/state.h"
#include "../protocol/stdlib.h"

/* deepcopy(x, memo) for every caller, Python (copium.deepcopy, a patched copy.deepcopy,
 * copium.extra.replicate's fallback) or C (the capsule's deepcopy): brings the handlers in
 * step with stdlib's tables, then runs the engine with the configured memo kind (P->memo_dict;
 * memo NULL or None: no memo given). New reference, or NULL with an exception set. */
PyObject *copium_config_deepcopy(copium_protocol *P, PyObject *x, PyObject *memo);

/* memo="dict": the call runs on a fresh dict from the start, as stdlib's does. */
PyObject *copium_config_deepcopy_on_dict(copium_protocol *P, PyObject *x);

/* copium_config_deepcopy_fresh past its atom fast path (config.c). */
PyObject *copium_config_deepcopy_rest(copium_protocol *P, copium_core *core, PyObject *x);

/* copium_config_deepcopy(P, x, NULL), inline: the commonest call copies an atom, which every
 * memo kind returns as itself (stdlib after one lookup in its empty memo), so the fast path
 * is a leaf: a probe of the registry's cache, then the check of the tables an atom's copy
 * reads (first the probe: its loads do not wait on the tables' pointers), all else (a miss
 * included) out of line. core is P->core, passed by a caller that has its address at hand
 * (the module state holds both), so that the registry's cache is not one more dependent load
 * away. */
static inline PyObject *copium_config_deepcopy_fresh(copium_protocol *P, copium_core *core,
                                                     PyObject *x)
{
    const copium_handler *h = copium_registry_cached(&core->registry, Py_TYPE(x));
    if (h != NULL && (h->flags & COPIUM_HANDLER_ATOMIC) && copium_stdlib_fresh_for_atoms(P))
        return Py_NewRef(x);
    return copium_config_deepcopy_rest(P, core, x);
}

/* copy(x) for every caller. */
PyObject *copium_config_copy(copium_protocol *P, PyObject *x);

/* copium._copium._configure(memo_dict, on_incompatible, suppress_warnings) and
 * _configuration() -> the same three: the private functions behind copium.config
 * (on_incompatible as an int: 0 raise, 1 warn, 2 silent; suppress_warnings a tuple of str). */
PyObject *copium_py_configure(PyObject *module, PyObject *const *args, Py_ssize_t nargs);
PyObject *copium_py_configuration(PyObject *module, PyObject *unused);

#endif
