/* The plugin tests' stand-in for the module's state: the core and protocol states one
 * interpreter's copium._copium would hold, set up as its Py_mod_exec does (the capsule's
 * functions find them as the interpreter's current ones), and a look into the registry. Built
 * with the internal headers, which the plugin test files themselves do not include. */
#include "../../core/engine.h"
#include "../../core/registry.h"
#include "../../core/state.h"
#include "../../protocol/install.h"

int copium_test_install(void);
void copium_test_fini(void);
const copium_handler *copium_test_registry_find(PyTypeObject *type);
void copium_test_set_memo_dict(int on);
int copium_test_memo_has_dict(copium_ctx *ctx);

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

/* copium.config's memo="dict" on (1) or off (0), as copium._copium._configure sets it. */
void copium_test_set_memo_dict(int on)
{
    proto.memo_dict = on;
}

/* 1 when the call ctx belongs to has a memo dict of stdlib's kind already: one it runs on (a
 * Python memo), or the dict the native memo mirrors into (a caller's small dict it took in). */
int copium_test_memo_has_dict(copium_ctx *ctx)
{
    return !copium_ctx_memo_native(ctx) || ctx->mirror.dict != NULL;
}
