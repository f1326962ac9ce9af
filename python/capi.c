/* The C API capsule: the function table plugins fetch with copium_import()
 * (include/copium/copium.h). The table is static and never changes after start-up; registration
 * goes through the same registry functions the Python-level copium.register_handler uses. */
#include "capi.h"

#include "../core/engine.h"
#include "../core/registry.h"
#include "../protocol/install.h"
#include "config.h"

/* The current interpreter's protocol state, or NULL with RuntimeError: the table is one for
 * the process (a plugin keeps one pointer to it), its functions serve the interpreter they
 * are called in. */
static copium_protocol *current(void)
{
    copium_protocol *P = copium_proto_current();
    if (P == NULL)
        PyErr_SetString(PyExc_RuntimeError, "copium is not initialised in this interpreter");
    return P;
}

/* Plugins may not set copium's internal flag bits. */
static int check_public_flags(const copium_handler *handler)
{
    if (handler != NULL && handler->struct_size >= COPIUM_HANDLER_MIN_SIZE &&
        (handler->flags & COPIUM_HANDLER_INTERNAL_FLAGS)) {
        PyErr_Format(PyExc_ValueError,
                     "copium: handler '%s' has unknown flag bits 0x%x: it needs a newer copium",
                     handler->name ? handler->name : "?",
                     (unsigned)(handler->flags & COPIUM_HANDLER_INTERNAL_FLAGS));
        return -1;
    }
    return 0;
}

int copium_capi_register(copium_protocol *P, PyTypeObject *type, const copium_handler *handler,
                         PyObject *owner)
{
    if (check_public_flags(handler) < 0)
        return -1;
    return copium_registry_register_owned(&P->core->registry, type, handler, owner);
}

static int api_register_handler(PyTypeObject *type, const copium_handler *handler)
{
    copium_protocol *P = current();
    return P != NULL ? copium_capi_register(P, type, handler, NULL) : -1;
}

static int api_unregister_handler(PyTypeObject *type)
{
    copium_protocol *P = current();
    return P != NULL ? copium_handlers_unregister(P, type) : -1;
}

/* Top-level copies for C callers: the very entry copium.deepcopy / copium.copy take, with the
 * configuration applied (memo="dict" included). */
static PyObject *api_deepcopy(PyObject *obj, PyObject *memo)
{
    copium_protocol *P = current();
    return P != NULL ? copium_config_deepcopy(P, obj, memo) : NULL;
}

static PyObject *api_copy(PyObject *obj)
{
    copium_protocol *P = current();
    return P != NULL ? copium_config_copy(P, obj) : NULL;
}

static PyObject *api_copy_default(PyObject *obj)
{
    copium_protocol *P = current();
    return P != NULL ? copium_copy_default(P->core, obj) : NULL;
}

static copium_hash_t api_hash_object(PyObject *obj)
{
    return copium_hash_ptr(obj);
}

static const copium_api api = {
    .struct_size = sizeof(copium_api),
    .abi_version = COPIUM_ABI_VERSION,
    .api_level = COPIUM_API_LEVEL,
    .register_handler = api_register_handler,
    .unregister_handler = api_unregister_handler,
    .deepcopy_child = copium_deepcopy_child,
    .memo_remember = copium_memo_remember,
    .memo_store = copium_memo_store,
    .memo_find = copium_memo_find,
    .ctx_memo = copium_ctx_memo,
    .deepcopy_default = copium_deepcopy_default,
    .copy_default = api_copy_default,
    .deepcopy = api_deepcopy,
    .copy = api_copy,
    .hash_object = api_hash_object,
};

const copium_api *copium_capi_table(void)
{
    return &api;
}

int copium_capi_add(PyObject *module)
{
    PyObject *capsule = PyCapsule_New((void *)&api, COPIUM_CAPSULE_NAME, NULL);
    if (capsule == NULL)
        return -1;
    int rc = PyModule_AddObjectRef(module, "_C_API", capsule);
    Py_DECREF(capsule);
    return rc;
}
