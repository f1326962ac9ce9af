/* The plugin tests' stand-in for the module's state: the core and protocol states one
 * interpreter's copium._copium would hold, set up as its Py_mod_exec does (the capsule's
 * functions find them as the interpreter's current ones), and a look into the registry. Built
 * with the internal headers, which the plugin test files themselves do not include. */
#include "../../core/registry.h"
#include "../../core/state.h"
#include "../../handlers/handlers.h"

int copium_test_install(void);
void copium_test_fini(void);
const copium_handler *copium_test_registry_find(PyTypeObject *type);

static copium_core core;
static copium_protocol proto;

int copium_test_install(void)
{
    return copium_handlers_install(&proto, &core);
}

void copium_test_fini(void)
{
    copium_handlers_fini(&proto);
}

const copium_handler *copium_test_registry_find(PyTypeObject *type)
{
    return copium_registry_find(&core.registry, type);
}
