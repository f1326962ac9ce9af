/* pair._pair: an example copium plugin, and the module of it. The plugin is three C files:
 *   pair_type.c     the Pair type (plain CPython C API, nothing copium-specific);
 *   pair_handler.c  the two copy functions and the copium_handler struct;
 *   _pair.c         this file: the module, which imports copium and registers the handler.
 * They share one pointer to copium's function table: pair.h defines COPIUM_UNIQUE_SYMBOL for all
 * three, and this file, the only one without COPIUM_NO_IMPORT, defines the pointer and calls
 * copium_import() to fill it. The plugin never links against copium.
 *
 * The module is written as an isolated extension module: multi-phase initialisation (PEP 489:
 * PyInit__pair only returns the definition, the work is done in the Py_mod_exec function for
 * each module object), the Pair type a heap type kept in the module's state, and no C global
 * holding a Python object. copium's function table is process-wide C data (no Python object),
 * so one pointer to it serves every module object. */
#include "pair.h"

/* Everything the module keeps: per module object, released with it. */
typedef struct {
    PyObject *pair_type; /* the Pair type made for this module object */
} pair_state;

static pair_state *get_state(PyObject *module)
{
    return (pair_state *)PyModule_GetState(module);
}

static int pair_exec(PyObject *module)
{
    pair_state *state = get_state(module);

    /* First, before anything else can fail half-way: import copium and check that the
     * installed copium serves the API level this plugin was built for. On failure an
     * ImportError says what to rebuild or upgrade, and the import of pair fails with it. */
    if (copium_import() < 0)
        return -1;

    state->pair_type = pair_type_create(module);
    if (state->pair_type == NULL)
        return -1;
    if (PyModule_AddObjectRef(module, "Pair", state->pair_type) < 0)
        return -1;

    /* The same handler as a capsule, for copium.register_handler(pair.Pair, capsule) from
     * Python (to restore it after copium.unregister_handler, say). copium checks its name. */
    PyObject *capsule = PyCapsule_New((void *)&pair_handler, "copium.handler", NULL);
    if (capsule == NULL)
        return -1;
    int rc = PyModule_AddObjectRef(module, "handler", capsule);
    Py_DECREF(capsule);
    if (rc < 0)
        return -1;

    /* Last: once registered, copium.deepcopy and copium.copy use pair_handler for this module's
     * Pair type. copium's registry holds a reference to the type until it is unregistered. */
    return copium_register_handler((PyTypeObject *)state->pair_type, &pair_handler);
}

static int pair_traverse(PyObject *module, visitproc visit, void *arg)
{
    Py_VISIT(get_state(module)->pair_type);
    return 0;
}

static int pair_clear(PyObject *module)
{
    Py_CLEAR(get_state(module)->pair_type);
    return 0;
}

static void pair_free(void *module)
{
    (void)pair_clear((PyObject *)module);
}

static PyModuleDef_Slot pair_module_slots[] = {
    {Py_mod_exec, (void *)pair_exec},
/* Isolated: the type is a heap type in the module's state, and copium's registry, like the
 * capsule this module's copium_import() takes, is the importing interpreter's. So each
 * interpreter, with a GIL of its own too (3.12+), registers its own Pair type. The API
 * pointer copium_import() sets is process-wide, and may be: it points to copium's
 * constant table, whose functions act in the calling interpreter. */
#ifdef Py_mod_multiple_interpreters
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#endif
    {0, NULL},
};

static struct PyModuleDef pair_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "pair._pair",
    .m_doc = "An example copium plugin: a Pair type and its copy handler.",
    .m_size = sizeof(pair_state),
    .m_slots = pair_module_slots,
    .m_traverse = pair_traverse,
    .m_clear = pair_clear,
    .m_free = pair_free,
};

PyMODINIT_FUNC PyInit__pair(void)
{
    return PyModuleDef_Init(&pair_module);
}
