/* The public C API (plugins/copium.h) used exactly as a plugin uses it: this file includes the
 * header without COPIUM_INTERNAL, so it sees only copium_import(), the copium_API table pointer
 * and the copium_* macros, and never links against a copium symbol to drive a copy.
 *
 * How the capsule is found: the engine is linked statically into this binary and the
 * interpreter is embedded, so there is no installed copium._copium extension to import. The
 * group setup installs the builtin handlers as the module's init does, then creates a module
 * object "copium._copium" carrying the real capsule (python/capi.c's copium_capi_add, the same
 * function the module init calls) and a parent package module "copium" with it as attribute
 * _copium, and puts both into sys.modules. PyCapsule_Import("copium._copium._C_API") then
 * walks the same path it walks in an installed copium. The failure tests swap fake modules and
 * fake capsules (modified copies of the real table, under the same capsule name) into those
 * places and put the real ones back.
 *
 * A handful of engine functions are declared by hand below (the header set-up needs the
 * internal headers, which cannot be included next to the public one: the public macros have
 * the names of the engine's functions). copium_registry_find and the builtin list vtable are
 * used only to check what the registry holds, never to register or copy.
 *
 * Cases: import and the table's versions; every import failure mode with its message; a
 * handler for a new heap type (a GC'd C type Pair(first, second)) copying cycles and shared
 * children through copium_deepcopy_child / copium_memo_remember / copium_memo_store with
 * reference counts unchanged, with and without a caller's memo dict; replacement, of a
 * builtin handler too, and unregistration giving back the builtin; every bad plugin; a newer,
 * larger struct; the caller's struct changing after registration; the atomic flag; NULL
 * functions taking stdlib's path; the handler-facing defaults and memo functions;
 * copium_hash_object agreeing with the engine's memo; a raising handler leaking nothing; a
 * handler returning NULL without an exception; (un)registration from inside a running handler;
 * the recursion limit for plugin types. */
#include "embed.h"

#include <string.h>

#include "../../plugins/copium.h"

#if PY_VERSION_HEX < 0x030C0000
#include <structmember.h>
#define Py_T_OBJECT_EX T_OBJECT_EX
#endif

/* From the engine (python/capi.h, handlers/handlers.h, core/registry.h): for the set-up and
 * for looking into the registry. */
int copium_capi_add(PyObject *module);
const copium_api *copium_capi_table(void);
int copium_handlers_install(void);
void copium_handlers_fini(void);
const copium_handler *copium_registry_find(PyTypeObject *type);
extern const copium_handler copium_list_handler;

/* ---------------------------------------------------------------------------------------------
 * The fake "installed copium": a package module and its _copium submodule with the capsule. */

static PyObject *real_package; /* "copium" */
static PyObject *real_module;  /* "copium._copium", with the real _C_API */
static const copium_api *real_api;

/* sys.modules["copium"] = package, sys.modules["copium._copium"] = module and
 * package._copium = module; a NULL argument removes that piece. */
static void install_copium(PyObject *package, PyObject *module)
{
    PyObject *modules = PyImport_GetModuleDict(); /* borrowed */
    assert_non_null(modules);
    if (package != NULL)
        assert_int_equal(PyDict_SetItemString(modules, "copium", package), 0);
    else if (PyDict_GetItemString(modules, "copium") != NULL)
        assert_int_equal(PyDict_DelItemString(modules, "copium"), 0);
    if (module != NULL)
        assert_int_equal(PyDict_SetItemString(modules, "copium._copium", module), 0);
    else if (PyDict_GetItemString(modules, "copium._copium") != NULL)
        assert_int_equal(PyDict_DelItemString(modules, "copium._copium"), 0);
    if (package != NULL && module != NULL)
        assert_int_equal(PyObject_SetAttrString(package, "_copium", module), 0);
    assert_no_pyerr();
}

static PyObject *new_package(void)
{
    PyObject *package = PyModule_New("copium");
    assert_non_null(package);
    PyObject *path = PyList_New(0); /* a package: submodules may be imported from it */
    assert_non_null(path);
    assert_int_equal(PyObject_SetAttrString(package, "__path__", path), 0);
    Py_DECREF(path);
    return package;
}

/* A module "copium._copium" whose _C_API is capsule (none when NULL). */
static PyObject *new_module_with(PyObject *capsule)
{
    PyObject *module = PyModule_New("copium._copium");
    assert_non_null(module);
    if (capsule != NULL)
        assert_int_equal(PyObject_SetAttrString(module, "_C_API", capsule), 0);
    return module;
}

/* cdeepcopy(x, memo=None) and ccopy(x) in __main__: copium_deepcopy / copium_copy through the
 * table, as a C caller of the API makes them, for checks written as Python expressions. */
static PyObject *api_deepcopy_py(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *x, *memo = NULL;
    if (!PyArg_ParseTuple(args, "O|O:cdeepcopy", &x, &memo))
        return NULL;
    return copium_deepcopy(x, memo);
}

static PyObject *api_copy_py(PyObject *self, PyObject *x)
{
    (void)self;
    return copium_copy(x);
}

static PyMethodDef api_methods[] = {
    {"cdeepcopy", api_deepcopy_py, METH_VARARGS, NULL},
    {"ccopy", api_copy_py, METH_O, NULL},
    {NULL, NULL, 0, NULL},
};

static int plugin_setup(void **state)
{
    if (embed_setup(state) < 0)
        return -1;
    /* What PyInit__copium does: the builtin handlers, then the capsule on the module. */
    if (copium_handlers_install() < 0)
        goto error;
    real_package = PyModule_New("copium");
    real_module = PyModule_New("copium._copium");
    if (real_package == NULL || real_module == NULL)
        goto error;
    PyObject *path = PyList_New(0);
    if (path == NULL || PyObject_SetAttrString(real_package, "__path__", path) < 0) {
        Py_XDECREF(path);
        goto error;
    }
    Py_DECREF(path);
    if (copium_capi_add(real_module) < 0)
        goto error;
    PyObject *modules = PyImport_GetModuleDict();
    if (PyDict_SetItemString(modules, "copium", real_package) < 0 ||
        PyDict_SetItemString(modules, "copium._copium", real_module) < 0 ||
        PyObject_SetAttrString(real_package, "_copium", real_module) < 0)
        goto error;
    /* The plugin's module init. */
    if (copium_import() < 0)
        goto error;
    real_api = copium_API;
    for (PyMethodDef *m = api_methods; m->ml_name != NULL; m++) {
        PyObject *f = PyCFunction_New(m, NULL);
        if (f == NULL || PyDict_SetItemString(embed_globals, m->ml_name, f) < 0) {
            Py_XDECREF(f);
            goto error;
        }
        Py_DECREF(f);
    }
    PyObject *r =
        PyRun_String("import gc, sys, copy\n", Py_file_input, embed_globals, embed_globals);
    if (r == NULL)
        goto error;
    Py_DECREF(r);
    return 0;
error:
    PyErr_Print();
    return -1;
}

static int plugin_teardown(void **state)
{
    Py_CLEAR(real_package);
    Py_CLEAR(real_module);
    copium_handlers_fini();
    return embed_teardown(state);
}

/* Assert that the pending exception is an instance of exc, copy its message into buf, clear. */
static void take_error(PyObject *exc, char *buf, size_t size)
{
    assert_non_null(PyErr_Occurred());
    if (!PyErr_ExceptionMatches(exc)) {
        PyErr_Print();
        fail_msg("wrong exception type, expected %s", ((PyTypeObject *)exc)->tp_name);
    }
#if PY_VERSION_HEX >= 0x030C0000
    PyObject *value = PyErr_GetRaisedException();
#else
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    Py_XDECREF(type);
    Py_XDECREF(tb);
#endif
    assert_non_null(value);
    PyObject *text = PyObject_Str(value);
    Py_DECREF(value);
    assert_non_null(text);
    const char *utf8 = PyUnicode_AsUTF8(text);
    assert_non_null(utf8);
    snprintf(buf, size, "%s", utf8);
    Py_DECREF(text);
}

static void assert_error_message(PyObject *exc, const char *want)
{
    char got[1024];
    take_error(exc, got, sizeof(got));
    if (strcmp(got, want) != 0)
        fail_msg("message\n  got:  %s\n  want: %s", got, want);
}

/* ---------------------------------------------------------------------------------------------
 * Importing. */

static void test_import_succeeds(void **state)
{
    (void)state;
    assert_non_null(copium_API);
    assert_ptr_equal(copium_API, copium_capi_table()); /* the capsule holds the real table */
    assert_int_equal(copium_API->abi_version, COPIUM_ABI_VERSION);
    assert_int_equal(copium_API->api_level, COPIUM_API_LEVEL);
    assert_int_equal(copium_API->struct_size, sizeof(copium_api));
    assert_true(copium_API->struct_size >= COPIUM_API_LEVEL_1_SIZE);
    /* Every function of level 1 is there. */
    assert_non_null(copium_API->register_handler);
    assert_non_null(copium_API->unregister_handler);
    assert_non_null(copium_API->deepcopy_child);
    assert_non_null(copium_API->memo_remember);
    assert_non_null(copium_API->memo_store);
    assert_non_null(copium_API->memo_find);
    assert_non_null(copium_API->ctx_memo);
    assert_non_null(copium_API->deepcopy_default);
    assert_non_null(copium_API->copy_default);
    assert_non_null(copium_API->deepcopy);
    assert_non_null(copium_API->copy);
    assert_non_null(copium_API->hash_object);
    /* Importing again (a plugin of several files does it once per file) is harmless. */
    const copium_api *before = copium_API;
    assert_int_equal(copium_import(), 0);
    assert_ptr_equal(copium_API, before);
    assert_no_pyerr();
    /* And the table is usable at once. */
    PyObject *x = run_eval("[1, [2, 3], {'k': (4,)}]");
    PyObject *c = copium_deepcopy(x, NULL);
    assert_non_null(c);
    bind("x", x);
    bind("c", c);
    assert_py_true("c == x and c is not x and c[1] is not x[1]");
    Py_DECREF(c);
    c = copium_copy(x);
    bind("c", c);
    assert_py_true("c == x and c is not x and c[1] is x[1]");
    Py_DECREF(c);
    Py_DECREF(x);
    run_exec("del x, c\n");
}

#define MSG_MISSING                                                                                \
    "this plugin needs copium, whose C API (copium._copium._C_API) could not be imported: "        \
    "install copium"

/* copium_import() fails with ImportError(want) and leaves copium_API as it was (NULL). */
static void assert_import_fails(const char *want)
{
    copium_API = NULL;
    assert_int_equal(copium_import(), -1);
    assert_error_message(PyExc_ImportError, want);
    assert_null(copium_API);
}

/* A table like the real one but for the fields a test changes; lives in a bigger struct so
 * that it can pose as a newer copium's table too. */
typedef struct {
    copium_api api;
    void *newer_functions[4];
} bigger_api;

static void install_fake_table(const bigger_api *table)
{
    PyObject *capsule = PyCapsule_New((void *)table, COPIUM_CAPSULE_NAME, NULL);
    assert_non_null(capsule);
    PyObject *package = new_package();
    PyObject *module = new_module_with(capsule);
    install_copium(package, module);
    Py_DECREF(capsule);
    Py_DECREF(package);
    Py_DECREF(module);
}

static void test_import_failures(void **state)
{
    (void)state;
    const copium_api *saved = copium_API;
    PyObject *modules = PyImport_GetModuleDict();

    /* No copium at all: the import system's "no such module" (None in sys.modules). */
    install_copium(NULL, NULL);
    assert_int_equal(PyDict_SetItemString(modules, "copium", Py_None), 0);
    assert_import_fails(MSG_MISSING);
    assert_int_equal(PyDict_DelItemString(modules, "copium"), 0);

    /* A package without the extension module. */
    PyObject *package = new_package();
    install_copium(package, NULL);
    assert_import_fails(MSG_MISSING);

    /* The extension module without a capsule (a copium older than its C API). */
    PyObject *module = new_module_with(NULL);
    install_copium(package, module);
    assert_import_fails(MSG_MISSING);
    Py_DECREF(module);

    /* Something else under the capsule's attribute name. */
    PyObject *not_capsule = PyLong_FromLong(42);
    module = new_module_with(not_capsule);
    Py_DECREF(not_capsule);
    install_copium(package, module);
    assert_import_fails(MSG_MISSING);
    Py_DECREF(module);

    /* A capsule holding the real table under another name. */
    PyObject *wrong_name = PyCapsule_New((void *)copium_capi_table(), "someone.else._C_API", NULL);
    assert_non_null(wrong_name);
    module = new_module_with(wrong_name);
    Py_DECREF(wrong_name);
    install_copium(package, module);
    assert_import_fails(MSG_MISSING);
    Py_DECREF(module);
    Py_DECREF(package);

    /* Fake tables: copies of the real one with one thing changed. */
    static bigger_api fake;
    memset(&fake, 0, sizeof(fake));
    fake.api = *copium_capi_table();

    fake.api.abi_version = COPIUM_ABI_VERSION + 1;
    install_fake_table(&fake);
    assert_import_fails("this plugin was built against copium C ABI version 1, but the "
                        "installed copium has ABI version 2: rebuild the plugin against the "
                        "installed copium");
    fake.api.abi_version = 0;
    install_fake_table(&fake);
    assert_import_fails("this plugin was built against copium C ABI version 1, but the "
                        "installed copium has ABI version 0: rebuild the plugin against the "
                        "installed copium");
    fake.api.abi_version = COPIUM_ABI_VERSION;

    /* An older copium: a lower level, or a table that ends before this header's. */
    fake.api.api_level = COPIUM_API_LEVEL - 1;
    install_fake_table(&fake);
    assert_import_fails("this plugin needs copium C API level 1, but the installed copium "
                        "provides level 0: upgrade copium");
    fake.api.api_level = COPIUM_API_LEVEL;
    fake.api.struct_size = offsetof(copium_api, copy);
    install_fake_table(&fake);
    char want[512];
    snprintf(want, sizeof(want),
             "the installed copium's C API table is %zu bytes, smaller than API level 1's %zu: "
             "the copium installation is broken, reinstall it",
             (size_t)offsetof(copium_api, copy), (size_t)COPIUM_API_LEVEL_1_SIZE);
    assert_import_fails(want);
    fake.api.struct_size = COPIUM_API_LEVEL_1_SIZE - 1;
    install_fake_table(&fake);
    copium_API = NULL;
    assert_int_equal(copium_import(), -1);
    assert_pyerr(PyExc_ImportError);
    assert_null(copium_API);

    /* A newer copium (a higher level, a longer table) serves this older plugin. */
    fake.api.api_level = COPIUM_API_LEVEL + 1;
    fake.api.struct_size = sizeof(fake);
    install_fake_table(&fake);
    copium_API = NULL;
    assert_int_equal(copium_import(), 0);
    assert_ptr_equal(copium_API, &fake.api);
    assert_no_pyerr();

    /* The real one back. */
    install_copium(real_package, real_module);
    copium_API = NULL;
    assert_int_equal(copium_import(), 0);
    assert_ptr_equal(copium_API, saved);
    assert_no_pyerr();
}

/* ---------------------------------------------------------------------------------------------
 * A plugin's own type: Pair(first, second), a mutable GC'd heap type made from a spec, so each
 * test gets a type of its own. pairs_alive counts live instances (leaks show there). */

typedef struct {
    PyObject ob_base;
    PyObject *first;
    PyObject *second;
} PairObject;

static Py_ssize_t pairs_alive;

static PyObject *pair_alloc(PyTypeObject *type, PyObject *first, PyObject *second)
{
    PairObject *p = (PairObject *)type->tp_alloc(type, 0);
    if (p == NULL)
        return NULL;
    p->first = Py_NewRef(first);
    p->second = Py_NewRef(second);
    pairs_alive++;
    return (PyObject *)p;
}

static PyObject *pair_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    PyObject *first = Py_None, *second = Py_None;
    if (kwds != NULL && PyDict_GET_SIZE(kwds) != 0) {
        PyErr_SetString(PyExc_TypeError, "Pair() takes no keyword arguments");
        return NULL;
    }
    if (!PyArg_UnpackTuple(args, "Pair", 0, 2, &first, &second))
        return NULL;
    return pair_alloc(type, first, second);
}

static int pair_traverse(PyObject *self, visitproc visit, void *arg)
{
    PairObject *p = (PairObject *)self;
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(p->first);
    Py_VISIT(p->second);
    return 0;
}

static int pair_clear(PyObject *self)
{
    PairObject *p = (PairObject *)self;
    Py_CLEAR(p->first);
    Py_CLEAR(p->second);
    return 0;
}

static void pair_dealloc(PyObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    pair_clear(self);
    type->tp_free(self);
    Py_DECREF(type);
    pairs_alive--;
}

static PyMemberDef pair_members[] = {
    {"first", Py_T_OBJECT_EX, offsetof(PairObject, first), 0, NULL},
    {"second", Py_T_OBJECT_EX, offsetof(PairObject, second), 0, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot pair_slots[] = {
    {Py_tp_new, (void *)pair_new},           {Py_tp_dealloc, (void *)pair_dealloc},
    {Py_tp_traverse, (void *)pair_traverse}, {Py_tp_clear, (void *)pair_clear},
    {Py_tp_members, (void *)pair_members},   {0, NULL},
};

static PyType_Spec pair_spec = {
    .name = "plugtest.Pair",
    .basicsize = sizeof(PairObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_BASETYPE,
    .slots = pair_slots,
};

/* A new Pair type, also bound as __main__.Pair. */
static PyTypeObject *new_pair_type(void)
{
    PyObject *type = PyType_FromSpec(&pair_spec);
    assert_non_null(type);
    bind("Pair", type);
    return (PyTypeObject *)type;
}

/* A new plain class: type(name, (), {}). */
static PyTypeObject *new_class(const char *name)
{
    PyObject *t = PyObject_CallFunction((PyObject *)&PyType_Type, "s()N", name, PyDict_New());
    assert_non_null(t);
    return (PyTypeObject *)t;
}

/* What a handler saw: its data pointer is one of these. */
typedef struct {
    int deep;
    int shallow;
    int find_ok; /* memo_find said "absent" on entry and found the copy after remember */
    int memo_was_dict;
} pair_stats;

/* The plugin's deep copy: an empty copy remembered first (cycles), the children through the
 * engine (shared children stay shared), then stored. */
static PyObject *pair_deepcopy(copium_ctx *ctx, PyObject *obj, copium_hash_t hash, void *data)
{
    pair_stats *stats = data;
    stats->deep++;
    PairObject *src = (PairObject *)obj;
    PyObject *found = NULL;
    int before = copium_memo_find(ctx, obj, hash, &found);
    Py_XDECREF(found);
    PyObject *copy = pair_alloc(Py_TYPE(obj), Py_None, Py_None);
    if (copy == NULL)
        return NULL;
    PairObject *dst = (PairObject *)copy;
    if (copium_memo_remember(ctx, obj, hash, copy) < 0)
        goto error;
    int after = copium_memo_find(ctx, obj, hash, &found);
    if (before == 0 && after == 1 && found == copy)
        stats->find_ok++;
    Py_XDECREF(found);
    PyObject *first = copium_deepcopy_child(ctx, src->first);
    if (first == NULL)
        goto error;
    Py_SETREF(dst->first, first);
    PyObject *second = copium_deepcopy_child(ctx, src->second);
    if (second == NULL)
        goto error;
    Py_SETREF(dst->second, second);
    if (copium_memo_store(ctx, obj, hash, copy) < 0)
        goto error;
    return copy;
error:
    Py_DECREF(copy);
    return NULL;
}

static PyObject *pair_copy(PyObject *obj, void *data)
{
    pair_stats *stats = data;
    stats->shallow++;
    PairObject *src = (PairObject *)obj;
    return pair_alloc(Py_TYPE(obj), src->first, src->second);
}

static pair_stats stats_a, stats_b;
static PyObject *look; /* the Python function test_handler_running_python_code_sees_the_memo's
                        * handler calls */

static copium_handler pair_handler(const char *name, pair_stats *stats)
{
    copium_handler h = {
        .struct_size = sizeof(copium_handler),
        .name = name,
        .flags = 0,
        .deepcopy = pair_deepcopy,
        .copy = pair_copy,
        .data = stats,
    };
    memset(stats, 0, sizeof(*stats));
    return h;
}

/* A handler function that must never run (the atomic flag, bad registrations). */
static int never_calls;

static PyObject *never_deepcopy(copium_ctx *ctx, PyObject *obj, copium_hash_t hash, void *data)
{
    (void)ctx;
    (void)obj;
    (void)hash;
    (void)data;
    never_calls++;
    PyErr_SetString(PyExc_AssertionError, "this handler must not be called");
    return NULL;
}

static PyObject *never_copy(PyObject *obj, void *data)
{
    (void)obj;
    (void)data;
    never_calls++;
    PyErr_SetString(PyExc_AssertionError, "this handler must not be called");
    return NULL;
}

/* After a failure half-way, the real capsule must be back for the tests after it. */

static int restore_real_copium(void **state)
{
    (void)state;
    PyObject *modules = PyImport_GetModuleDict();
    if (PyDict_SetItemString(modules, "copium", real_package) < 0 ||
        PyDict_SetItemString(modules, "copium._copium", real_module) < 0 ||
        PyObject_SetAttrString(real_package, "_copium", real_module) < 0) {
        PyErr_Print();
        return -1;
    }
    copium_API = real_api;
    return 0;
}

static void test_copy_plugin_type(void **state)
{
    (void)state;
    PyTypeObject *type = new_pair_type();
    copium_handler h = pair_handler("pair", &stats_a);
    assert_int_equal(copium_register_handler(type, &h), 0);
    assert_no_pyerr();

    /* Shared children stay shared; the second occurrence of the pair comes from the memo. */
    run_exec("shared = [1, [2]]\n"
             "p = Pair(shared, shared)\n"
             "outer = [p, p, (p, shared)]\n"
             "c = cdeepcopy(outer)\n"
             "s = ccopy(p)\n");
    assert_int_equal(stats_a.deep, 1);
    assert_int_equal(stats_a.shallow, 1);
    assert_int_equal(stats_a.find_ok, 1);
    assert_py_true("type(c[0]) is Pair and c[0] is not p and c[0] is c[1] is c[2][0]");
    assert_py_true("c[0].first is c[0].second is c[2][1]");
    assert_py_true("c[0].first == shared and c[0].first is not shared");
    assert_py_true("c[0].first[1] is not shared[1]");
    assert_py_true("type(s) is Pair and s is not p and s.first is p.first and "
                   "s.second is p.second");

    /* Copies dropped at once leave every reference count as it was. */
    run_exec("del c, s\n");
    PyObject *outer = run_eval("outer");
    PyObject *p = run_eval("p");
    PyObject *shared = run_eval("shared");
    Py_ssize_t outer_refs = Py_REFCNT(outer), p_refs = Py_REFCNT(p);
    Py_ssize_t shared_refs = Py_REFCNT(shared), type_refs = Py_REFCNT(type);
    Py_ssize_t alive = pairs_alive;
    for (int round = 0; round < 3; round++) {
        PyObject *c = copium_deepcopy(outer, NULL);
        assert_non_null(c);
        Py_DECREF(c);
        c = copium_copy(p);
        assert_non_null(c);
        Py_DECREF(c);
    }
    assert_no_pyerr();
    assert_int_equal(stats_a.deep, 4);
    assert_int_equal(stats_a.shallow, 4);
    assert_int_equal(Py_REFCNT(outer), outer_refs);
    assert_int_equal(Py_REFCNT(p), p_refs);
    assert_int_equal(Py_REFCNT(shared), shared_refs);
    assert_int_equal(Py_REFCNT(type), type_refs);
    assert_int_equal(pairs_alive, alive);
    Py_DECREF(outer);
    Py_DECREF(p);
    Py_DECREF(shared);

    /* Cycles through an instance: itself, and through a list and a dict. */
    run_exec("loop = Pair()\n"
             "loop.first = loop\n"
             "loop.second = [loop, {'me': loop}]\n"
             "gc.collect()\n");
    PyObject *loop = run_eval("loop");
    Py_ssize_t loop_refs = Py_REFCNT(loop);
    alive = pairs_alive;
    run_exec("lc = cdeepcopy(loop)\n");
    assert_py_true("type(lc) is Pair and lc is not loop and lc.first is lc");
    assert_py_true("lc.second is not loop.second and lc.second[0] is lc and "
                   "lc.second[1]['me'] is lc");
    /* The copy is a cycle of its own, collected with nothing left over. */
    run_exec("del lc\n"
             "gc.collect()\n");
    assert_int_equal(pairs_alive, alive);
    assert_int_equal(Py_REFCNT(loop), loop_refs);
    Py_DECREF(loop);

    /* A subclass is not covered by the registration: stdlib's path (its own hooks). */
    int deep_before = stats_a.deep, shallow_before = stats_a.shallow;
    run_exec("class SubPair(Pair):\n"
             "    def __deepcopy__(self, memo):\n"
             "        return 'deep-hook'\n"
             "    def __copy__(self):\n"
             "        return 'copy-hook'\n");
    assert_py_true("cdeepcopy(SubPair(1, 2)) == 'deep-hook'");
    assert_py_true("ccopy(SubPair(1, 2)) == 'copy-hook'");
    assert_py_true("cdeepcopy([SubPair(1, 2)]) == ['deep-hook']");
    assert_int_equal(stats_a.deep, deep_before);
    assert_int_equal(stats_a.shallow, shallow_before);

    assert_int_equal(copium_unregister_handler(type), 1);
    Py_DECREF(type);
    run_exec("del shared, p, outer, loop, SubPair, Pair\n"
             "gc.collect()\n");
    assert_int_equal(pairs_alive, 0);
}

static void test_caller_memo(void **state)
{
    (void)state;
    PyTypeObject *type = new_pair_type();
    copium_handler h = pair_handler("pair", &stats_a);
    assert_int_equal(copium_register_handler(type, &h), 0);
    run_exec("inner = [1]\n"
             "p = Pair(inner, inner)\n"
             "inner.append(p)\n"
             "memo = {}\n"
             "c = cdeepcopy(p, memo)\n");
    assert_int_equal(stats_a.deep, 1);
    assert_int_equal(stats_a.find_ok, 1);
    /* The handler's memo functions went to the caller's dict, as stdlib's would. */
    assert_py_true("memo[id(p)] is c and memo[id(inner)] is c.first");
    assert_py_true("c.first is c.second and c.first[1] is c");
    assert_py_true("any(o is p for o in memo[id(memo)])");
    /* A pre-filled memo is honoured for the plugin type: the handler is not called. */
    run_exec("other = Pair(0, 0)\n"
             "memo2 = {id(p): other}\n");
    assert_py_true("cdeepcopy(p, memo2) is other");
    assert_py_true("cdeepcopy([p, p], memo2) == [other, other]");
    assert_int_equal(stats_a.deep, 1);
    assert_int_equal(copium_unregister_handler(type), 1);
    Py_DECREF(type);
    run_exec("del inner, p, memo, c, other, memo2, Pair\n"
             "gc.collect()\n");
    assert_int_equal(pairs_alive, 0);
}

/* ---------------------------------------------------------------------------------------------
 * Replacement and unregistration. */

/* outcome(f, x): the type name of f(x)'s result, or of the exception it raised. */
static void define_outcome(void)
{
    run_exec("def outcome(f, x):\n"
             "    try:\n"
             "        return type(f(x)).__name__\n"
             "    except Exception as e:\n"
             "        return type(e).__name__\n");
}

static void test_replacement(void **state)
{
    (void)state;
    PyTypeObject *type = new_pair_type();
    copium_handler first = pair_handler("first", &stats_a);
    copium_handler second = pair_handler("second", &stats_b);
    assert_int_equal(copium_register_handler(type, &first), 0);
    run_exec("p = Pair([1], 2)\n"
             "c = cdeepcopy(p)\n");
    assert_int_equal(stats_a.deep, 1);
    assert_int_equal(copium_register_handler(type, &second), 0); /* replaces */
    assert_no_pyerr();
    run_exec("c = cdeepcopy(p)\n"
             "s = ccopy(p)\n");
    assert_py_true("type(c) is Pair and c.first == [1] and c.first is not p.first");
    assert_py_true("type(s) is Pair and s.first is p.first");
    assert_int_equal(stats_a.deep, 1);
    assert_int_equal(stats_a.shallow, 0);
    assert_int_equal(stats_b.deep, 1);
    assert_int_equal(stats_b.shallow, 1);
    const copium_handler *now = copium_registry_find(type);
    assert_non_null(now);
    assert_string_equal(now->name, "second");
    assert_ptr_equal(now->data, &stats_b);

    /* One registration per type: one unregistration removes it, whatever it replaced. */
    assert_int_equal(copium_unregister_handler(type), 1);
    assert_int_equal(copium_unregister_handler(type), 0);
    assert_null(copium_registry_find(type));
    /* Back to stdlib's path, which has no way to copy this C type without a handler. */
    define_outcome();
    run_exec("want_deep = outcome(copy.deepcopy, p)\n"
             "want_copy = outcome(copy.copy, p)\n");
    assert_py_true("outcome(cdeepcopy, p) == want_deep");
    assert_py_true("outcome(ccopy, p) == want_copy");
    assert_int_equal(stats_b.deep, 1);
    Py_DECREF(type);
    run_exec("del p, c, s, want_deep, want_copy, Pair\n"
             "gc.collect()\n");
}

/* A replacement for the builtin list handler, easy to tell apart: ['tagged', *copied items]
 * for a deep copy, ['shallow', *items] for a shallow one. */
static int tagged_deep_calls, tagged_copy_calls;

static PyObject *tagged_list_deepcopy(copium_ctx *ctx, PyObject *obj, copium_hash_t hash,
                                      void *data)
{
    (void)data;
    tagged_deep_calls++;
    PyObject *copy = Py_BuildValue("[s]", "tagged");
    if (copy == NULL)
        return NULL;
    if (copium_memo_remember(ctx, obj, hash, copy) < 0)
        goto error;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(obj); i++) {
        PyObject *item = PyList_GET_ITEM(obj, i);
        Py_INCREF(item);
        PyObject *item_copy = copium_deepcopy_child(ctx, item);
        Py_DECREF(item);
        if (item_copy == NULL)
            goto error;
        int rc = PyList_Append(copy, item_copy);
        Py_DECREF(item_copy);
        if (rc < 0)
            goto error;
    }
    if (copium_memo_store(ctx, obj, hash, copy) < 0)
        goto error;
    return copy;
error:
    Py_DECREF(copy);
    return NULL;
}

static PyObject *tagged_list_copy(PyObject *obj, void *data)
{
    (void)data;
    tagged_copy_calls++;
    PyObject *copy = Py_BuildValue("[s]", "shallow");
    if (copy == NULL)
        return NULL;
    if (PyList_SetSlice(copy, 1, 1, obj) < 0) { /* copy[1:1] = obj */
        Py_DECREF(copy);
        return NULL;
    }
    return copy;
}

static void test_replace_builtin_list(void **state)
{
    (void)state;
    const copium_handler tagged = {
        .struct_size = sizeof(copium_handler),
        .name = "tagged-list",
        .deepcopy = tagged_list_deepcopy,
        .copy = tagged_list_copy,
    };
    tagged_deep_calls = tagged_copy_calls = 0;
    /* Before: the builtin handler serves list, and cannot be unregistered (0, still there). */
    assert_py_true("cdeepcopy([1, [2]]) == [1, [2]]");
    const copium_handler *builtin = copium_registry_find(&PyList_Type);
    assert_non_null(builtin);
    assert_true(builtin->deepcopy == copium_list_handler.deepcopy);
    assert_int_equal(copium_unregister_handler(&PyList_Type), 0);
    builtin = copium_registry_find(&PyList_Type);
    assert_non_null(builtin);
    assert_true(builtin->deepcopy == copium_list_handler.deepcopy);

    assert_int_equal(copium_register_handler(&PyList_Type, &tagged), 0);
    assert_no_pyerr();
    assert_py_true("cdeepcopy([1, [2]]) == ['tagged', 1, ['tagged', 2]]");
    assert_py_true("cdeepcopy({'k': (3, [4])}) == {'k': (3, ['tagged', 4])}");
    assert_py_true("ccopy([5, 6]) == ['shallow', 5, 6]");
    /* Cycles through the replacement work as for any handler. */
    run_exec("cyc = [7]\n"
             "cyc.append(cyc)\n"
             "cc = cdeepcopy(cyc)\n");
    assert_py_true("cc[0] == 'tagged' and cc[1] == 7 and cc[2] is cc");
    assert_int_equal(tagged_deep_calls, 4);
    assert_int_equal(tagged_copy_calls, 1);
    assert_true(copium_registry_find(&PyList_Type)->deepcopy == tagged_list_deepcopy);

    /* Unregistering removes the replacement and gives the builtin handler back at once. */
    assert_int_equal(copium_unregister_handler(&PyList_Type), 1);
    assert_no_pyerr();
    const copium_handler *back = copium_registry_find(&PyList_Type);
    assert_non_null(back);
    assert_true(back->deepcopy == copium_list_handler.deepcopy);
    assert_py_true("cdeepcopy([1, [2]]) == [1, [2]]");
    assert_py_true("ccopy([5, 6]) == [5, 6]");
    run_exec("cc = cdeepcopy(cyc)\n");
    assert_py_true("cc is not cyc and cc[0] == 7 and cc[1] is cc and len(cc) == 2");
    assert_int_equal(tagged_deep_calls, 4);
    assert_int_equal(tagged_copy_calls, 1);
    back = copium_registry_find(&PyList_Type);
    assert_non_null(back);
    assert_true(back->deepcopy == copium_list_handler.deepcopy);
    assert_true(back->copy == copium_list_handler.copy);
    assert_string_equal(back->name, copium_list_handler.name);
    /* Nothing more to remove. */
    assert_int_equal(copium_unregister_handler(&PyList_Type), 0);
    assert_py_true("cdeepcopy([[1]]) == [[1]]");
    run_exec("del cyc, cc\n");
}

/* After a failure half-way, list must not keep the replacement for the tests after it. */
static int restore_list(void **state)
{
    (void)state;
    const copium_handler *h = copium_registry_find(&PyList_Type);
    if (h != NULL && h->deepcopy == tagged_list_deepcopy)
        copium_unregister_handler(&PyList_Type);
    return 0;
}

static void test_unregister_returns(void **state)
{
    (void)state;
    PyTypeObject *type = new_class("Unregistered");
    Py_ssize_t refs = Py_REFCNT(type);
    const copium_handler h = {
        .struct_size = sizeof(copium_handler),
        .name = "atomic-for-a-while",
        .flags = COPIUM_HANDLER_ATOMIC,
    };
    assert_int_equal(copium_unregister_handler(type), 0); /* never registered */
    assert_int_equal(copium_register_handler(type, &h), 0);
    assert_int_equal(Py_REFCNT(type), refs + 1); /* the registry holds the type */
    assert_int_equal(copium_register_handler(type, &h), 0);
    assert_int_equal(Py_REFCNT(type), refs + 1); /* once, however often registered */
    assert_int_equal(copium_unregister_handler(type), 1);
    assert_int_equal(Py_REFCNT(type), refs);
    assert_int_equal(copium_unregister_handler(type), 0);
    assert_int_equal(copium_unregister_handler(type), 0);
    assert_no_pyerr();
    Py_DECREF(type);
}

/* ---------------------------------------------------------------------------------------------
 * Bad plugins: -1 with the documented exception, and no registration made. */

/* register_handler(type, h) fails with exc (and a message containing want, when given), and
 * the registry's answer for victim is still expect (NULL: nothing registered). */
static void assert_rejected(PyTypeObject *type, const copium_handler *h, PyObject *exc,
                            const char *want, PyTypeObject *victim, const char *expect)
{
    assert_int_equal(copium_register_handler(type, h), -1);
    char got[1024];
    take_error(exc, got, sizeof(got));
    if (want != NULL && strstr(got, want) == NULL)
        fail_msg("message\n  got:  %s\n  want (a part): %s", got, want);
    const copium_handler *now = copium_registry_find(victim);
    if (expect == NULL) {
        assert_null(now);
    } else {
        assert_non_null(now);
        assert_string_equal(now->name, expect);
    }
}

static void check_bad_plugins(PyTypeObject *victim, const char *expect)
{
    copium_handler h = {
        .struct_size = sizeof(copium_handler),
        .name = "bad",
        .deepcopy = never_deepcopy,
        .copy = never_copy,
    };
    assert_rejected(victim, NULL, PyExc_ValueError, "copium: handler is NULL", victim, expect);

    h.struct_size = 0;
    assert_rejected(victim, &h, PyExc_ValueError, "struct_size 0 is smaller than the first", victim,
                    expect);
    h.struct_size = COPIUM_HANDLER_MIN_SIZE - 1;
    assert_rejected(victim, &h, PyExc_ValueError, "rebuild the plugin", victim, expect);
    h.struct_size = sizeof(void *);
    assert_rejected(victim, &h, PyExc_ValueError, "smaller than the first published layout", victim,
                    expect);
    h.struct_size = sizeof(copium_handler);

    h.flags = 0x2;
    assert_rejected(victim, &h, PyExc_ValueError,
                    "copium: handler 'bad' has unknown flag bits 0x2: it needs a newer copium",
                    victim, expect);
    h.flags = COPIUM_HANDLER_ATOMIC | 0x80000000u;
    assert_rejected(victim, &h, PyExc_ValueError, "unknown flag bits 0x80000000", victim, expect);
    h.flags = 0;

    h.name = NULL;
    assert_rejected(victim, &h, PyExc_ValueError, "copium: handler has no name", victim, expect);
    h.flags = 0x10; /* both wrong: one clear error, no crash on the missing name */
    assert_rejected(victim, &h, PyExc_ValueError, NULL, victim, expect);
    h.flags = 0;
    h.name = "bad";

    /* Not a type: a list object (and an instance, and NULL) cast to PyTypeObject *. */
    PyObject *not_type = Py_BuildValue("[ii]", 1, 2);
    assert_non_null(not_type);
    assert_rejected((PyTypeObject *)not_type, &h, PyExc_TypeError,
                    "copium: a handler can only be registered for a type", victim, expect);
    bind("not_type", not_type);
    assert_py_true("not_type == [1, 2]"); /* untouched */
    Py_DECREF(not_type);
    PyObject *instance = run_eval("object()");
    assert_rejected((PyTypeObject *)instance, &h, PyExc_TypeError, NULL, victim, expect);
    Py_DECREF(instance);
    assert_rejected(NULL, &h, PyExc_TypeError, NULL, victim, expect);
    /* Not a type and a bad handler: still an exception, no crash. */
    assert_int_equal(copium_register_handler((PyTypeObject *)Py_None, NULL), -1);
    assert_non_null(PyErr_Occurred());
    PyErr_Clear();
    assert_int_equal(never_calls, 0);
}

static void test_bad_plugins(void **state)
{
    (void)state;
    never_calls = 0;
    run_exec("class Victim:\n"
             "    pass\n"
             "v = Victim()\n"
             "v.items = [1]\n");
    PyTypeObject *victim = (PyTypeObject *)run_eval("Victim");
    Py_ssize_t refs = Py_REFCNT(victim);
    check_bad_plugins(victim, NULL);
    assert_int_equal(Py_REFCNT(victim), refs); /* no reference kept by a failed call */
    /* Nothing registered: the stdlib path copies it. */
    assert_py_true("type(cdeepcopy(v)) is Victim and cdeepcopy(v).items == [1] and "
                   "cdeepcopy(v).items is not v.items");
    assert_py_true("ccopy(v) is not v and ccopy(v).items is v.items");

    /* With a good registration in place, a bad one leaves it alone. */
    const copium_handler good = {
        .struct_size = sizeof(copium_handler),
        .name = "good",
        .flags = COPIUM_HANDLER_ATOMIC,
    };
    assert_int_equal(copium_register_handler(victim, &good), 0);
    check_bad_plugins(victim, "good");
    assert_py_true("cdeepcopy(v) is v and ccopy(v) is v");
    /* Builtin registrations too. */
    check_bad_plugins(&PyList_Type, copium_list_handler.name);
    assert_py_true("cdeepcopy([1, [2]]) == [1, [2]]");

    assert_int_equal(copium_unregister_handler(victim), 1);
    assert_int_equal(Py_REFCNT(victim), refs);
    assert_int_equal(never_calls, 0);
    Py_DECREF(victim);
    run_exec("del Victim, v, not_type\n");
}

/* A plugin built against a newer header: a longer struct, whose extra fields are ignored. */
static void test_newer_struct_accepted(void **state)
{
    (void)state;
    PyTypeObject *type = new_pair_type();
    struct {
        copium_handler base;
        uint64_t future_flags;
        void *future_function;
    } newer;
    memset(&newer, 0xAB, sizeof(newer));
    newer.base = pair_handler("newer", &stats_a);
    newer.base.struct_size = sizeof(newer);
    assert_int_equal(copium_register_handler(type, &newer.base), 0);
    assert_no_pyerr();
    run_exec("p = Pair([1], Pair())\n"
             "c = cdeepcopy(p)\n");
    assert_py_true("type(c) is Pair and c.first == [1] and c.first is not p.first and "
                   "type(c.second) is Pair and c.second is not p.second");
    assert_int_equal(stats_a.deep, 2);
    const copium_handler *kept = copium_registry_find(type);
    assert_non_null(kept);
    assert_int_equal(kept->struct_size, sizeof(copium_handler)); /* normalised */
    assert_string_equal(kept->name, "newer");

    /* The smallest accepted size: the first published layout. */
    copium_handler oldest = pair_handler("oldest", &stats_b);
    oldest.struct_size = COPIUM_HANDLER_MIN_SIZE;
    assert_int_equal(copium_register_handler(type, &oldest), 0);
    assert_py_true("type(cdeepcopy(p)) is Pair");
    assert_int_equal(stats_b.deep, 2);
    assert_int_equal(copium_unregister_handler(type), 1);
    Py_DECREF(type);
    run_exec("del p, c, Pair\n");
}

static void test_caller_struct_modified(void **state)
{
    (void)state;
    never_calls = 0;
    PyTypeObject *type = new_pair_type();
    copium_handler h = pair_handler("original", &stats_a);
    assert_int_equal(copium_register_handler(type, &h), 0);
    /* Everything the caller's struct says changes after the call. */
    h.struct_size = 0;
    h.name = "changed";
    h.flags = COPIUM_HANDLER_ATOMIC;
    h.deepcopy = never_deepcopy;
    h.copy = never_copy;
    h.data = &stats_b;
    run_exec("p = Pair([1], 2)\n");
    assert_py_true("cdeepcopy(p) is not p and cdeepcopy(p).first == [1]");
    assert_py_true("ccopy(p) is not p and ccopy(p).first is p.first");
    assert_int_equal(stats_a.deep, 2);
    assert_int_equal(stats_a.shallow, 2);
    assert_int_equal(never_calls, 0);
    assert_string_equal(copium_registry_find(type)->name, "original");

    /* A struct that dies right after the call (the name it points to stays valid). */
    copium_handler *heap = PyMem_Malloc(sizeof(copium_handler));
    assert_non_null(heap);
    *heap = pair_handler("short-lived", &stats_b);
    assert_int_equal(copium_register_handler(type, heap), 0);
    memset(heap, 0xFF, sizeof(*heap));
    PyMem_Free(heap);
    assert_py_true("cdeepcopy(p) is not p and cdeepcopy(p).first == [1]");
    assert_py_true("ccopy(p).first is p.first");
    assert_int_equal(stats_b.deep, 2);
    assert_int_equal(stats_b.shallow, 1);
    assert_string_equal(copium_registry_find(type)->name, "short-lived");
    assert_int_equal(copium_unregister_handler(type), 1);
    Py_DECREF(type);
    run_exec("del p, Pair\n");
}

static void test_atomic_flag(void **state)
{
    (void)state;
    never_calls = 0;
    PyTypeObject *type = new_pair_type();
    const copium_handler atomic = {
        .struct_size = sizeof(copium_handler),
        .name = "atomic-pair",
        .flags = COPIUM_HANDLER_ATOMIC,
        .deepcopy = never_deepcopy, /* set, yet never called */
        .copy = never_copy,
    };
    assert_int_equal(copium_register_handler(type, &atomic), 0);
    run_exec("p = Pair([1], 2)\n");
    PyObject *p = run_eval("p");
    Py_ssize_t refs = Py_REFCNT(p);
    PyObject *c = copium_deepcopy(p, NULL);
    assert_ptr_equal(c, p);
    Py_DECREF(c);
    c = copium_copy(p);
    assert_ptr_equal(c, p);
    Py_DECREF(c);
    assert_int_equal(Py_REFCNT(p), refs);
    Py_DECREF(p);
    assert_py_true("cdeepcopy([p, {'k': p}])[0] is p and cdeepcopy([p, {'k': p}])[1]['k'] is p");
    assert_py_true("cdeepcopy(p, {}) is p and cdeepcopy([p], {})[0] is p");
    assert_int_equal(never_calls, 0);
    assert_int_equal(copium_unregister_handler(type), 1);
    Py_DECREF(type);
    run_exec("del p, Pair\n");
}

/* ---------------------------------------------------------------------------------------------
 * NULL functions and the handler-facing defaults: stdlib's protocol. */

static PyObject *marker_deepcopy(copium_ctx *ctx, PyObject *obj, copium_hash_t hash, void *data)
{
    (void)data;
    PyObject *copy = PyUnicode_FromString("handler-deep");
    if (copy != NULL && copium_memo_store(ctx, obj, hash, copy) < 0)
        Py_CLEAR(copy);
    return copy;
}

static PyObject *marker_copy(PyObject *obj, void *data)
{
    (void)obj;
    (void)data;
    return PyUnicode_FromString("handler-copy");
}

static const char hooked_classes[] = "class Hooked:\n"
                                     "    log = []\n"
                                     "    def __deepcopy__(self, memo):\n"
                                     "        Hooked.log.append(('deep', type(memo) is dict))\n"
                                     "        return 'deep-hook'\n"
                                     "    def __copy__(self):\n"
                                     "        Hooked.log.append(('copy',))\n"
                                     "        return 'copy-hook'\n"
                                     "class Reduced:\n"
                                     "    calls = 0\n"
                                     "    def __init__(self, v):\n"
                                     "        self.v = v\n"
                                     "    def __reduce__(self):\n"
                                     "        Reduced.calls += 1\n"
                                     "        return (Reduced, (self.v,))\n";

static void test_null_functions_take_stdlib_path(void **state)
{
    (void)state;
    run_exec(hooked_classes);
    PyTypeObject *hooked = (PyTypeObject *)run_eval("Hooked");
    PyTypeObject *reduced = (PyTypeObject *)run_eval("Reduced");
    const copium_handler defaults = {
        .struct_size = sizeof(copium_handler), .name = "defaults", /* no functions at all */
    };
    assert_int_equal(copium_register_handler(hooked, &defaults), 0);
    assert_int_equal(copium_register_handler(reduced, &defaults), 0);
    assert_py_true("cdeepcopy(Hooked()) == 'deep-hook' and ccopy(Hooked()) == 'copy-hook'");
    assert_py_true("Hooked.log == [('deep', True), ('copy',)]");
    run_exec("r = Reduced([1])\n"
             "c = cdeepcopy(r)\n");
    assert_py_true("type(c) is Reduced and c.v == [1] and c.v is not r.v and Reduced.calls == 1");
    assert_py_true("ccopy(r).v is r.v and Reduced.calls == 2");

    /* One function given, the other NULL: each path on its own. */
    const copium_handler deep_only = {
        .struct_size = sizeof(copium_handler),
        .name = "deep-only",
        .deepcopy = marker_deepcopy,
    };
    const copium_handler copy_only = {
        .struct_size = sizeof(copium_handler),
        .name = "copy-only",
        .copy = marker_copy,
    };
    run_exec("Hooked.log.clear()\n");
    assert_int_equal(copium_register_handler(hooked, &deep_only), 0);
    assert_py_true("cdeepcopy(Hooked()) == 'handler-deep' and ccopy(Hooked()) == 'copy-hook'");
    assert_py_true("Hooked.log == [('copy',)]");
    run_exec("Hooked.log.clear()\n");
    assert_int_equal(copium_register_handler(hooked, &copy_only), 0);
    assert_py_true("cdeepcopy(Hooked()) == 'deep-hook' and ccopy(Hooked()) == 'handler-copy'");
    assert_py_true("Hooked.log == [('deep', True)]");

    assert_int_equal(copium_unregister_handler(hooked), 1);
    assert_int_equal(copium_unregister_handler(reduced), 1);
    Py_DECREF(hooked);
    Py_DECREF(reduced);
    run_exec("del Hooked, Reduced, r, c\n");
}

/* A handler that looks at the memo dict and then defers to stdlib's protocol. */
static PyObject *deferring_deepcopy(copium_ctx *ctx, PyObject *obj, copium_hash_t hash, void *data)
{
    pair_stats *stats = data;
    stats->deep++;
    PyObject *memo = copium_ctx_memo(ctx); /* borrowed */
    if (memo == NULL)
        return NULL;
    if (PyDict_Check(memo))
        stats->memo_was_dict++;
    return copium_deepcopy_default(ctx, obj, hash);
}

static PyObject *deferring_copy(PyObject *obj, void *data)
{
    pair_stats *stats = data;
    stats->shallow++;
    return copium_copy_default(obj);
}

static void test_handler_defaults(void **state)
{
    (void)state;
    run_exec(hooked_classes);
    PyTypeObject *hooked = (PyTypeObject *)run_eval("Hooked");
    PyTypeObject *reduced = (PyTypeObject *)run_eval("Reduced");
    memset(&stats_a, 0, sizeof(stats_a));
    const copium_handler deferring = {
        .struct_size = sizeof(copium_handler),
        .name = "deferring",
        .deepcopy = deferring_deepcopy,
        .copy = deferring_copy,
        .data = &stats_a,
    };
    assert_int_equal(copium_register_handler(hooked, &deferring), 0);
    assert_int_equal(copium_register_handler(reduced, &deferring), 0);
    assert_py_true("cdeepcopy(Hooked()) == 'deep-hook' and ccopy(Hooked()) == 'copy-hook'");
    assert_py_true("Hooked.log == [('deep', True), ('copy',)]");
    /* Through the reduce protocol, with the memo shared: a shared child stays shared. */
    run_exec("shared = [1]\n"
             "r = Reduced(shared)\n"
             "c = cdeepcopy([r, shared, r])\n");
    assert_py_true("type(c[0]) is Reduced and c[0] is c[2] and c[0].v is c[1] and "
                   "c[1] == [1] and c[1] is not shared");
    assert_py_true("ccopy(r).v is shared");
    assert_int_equal(stats_a.deep, 2);
    assert_int_equal(stats_a.shallow, 2);
    assert_int_equal(stats_a.memo_was_dict, 2);
    assert_int_equal(copium_unregister_handler(hooked), 1);
    assert_int_equal(copium_unregister_handler(reduced), 1);
    Py_DECREF(hooked);
    Py_DECREF(reduced);
    run_exec("del Hooked, Reduced, shared, r, c\n");
}

/* The pair handler again, with the memo turned into the Python dict first (as a handler that
 * hands it to Python code would): remember/store/find go through the dict, cycles still work. */
static PyObject *dict_memo_pair_deepcopy(copium_ctx *ctx, PyObject *obj, copium_hash_t hash,
                                         void *data)
{
    pair_stats *stats = data;
    PyObject *memo = copium_ctx_memo(ctx);
    if (memo == NULL)
        return NULL;
    if (PyDict_Check(memo))
        stats->memo_was_dict++;
    return pair_deepcopy(ctx, obj, hash, data);
}

static void test_handler_uses_ctx_memo(void **state)
{
    (void)state;
    PyTypeObject *type = new_pair_type();
    copium_handler h = pair_handler("dict-memo", &stats_a);
    h.deepcopy = dict_memo_pair_deepcopy;
    assert_int_equal(copium_register_handler(type, &h), 0);
    run_exec("shared = [0]\n"
             "a = Pair(shared, None)\n"
             "b = Pair(shared, a)\n"
             "a.second = b\n"
             "c = cdeepcopy([a, b, shared])\n");
    assert_py_true("type(c[0]) is Pair and c[0].second is c[1] and c[1].second is c[0]");
    assert_py_true("c[0].first is c[1].first is c[2] and c[2] == [0] and c[2] is not shared");
    assert_int_equal(stats_a.deep, 2);
    assert_int_equal(stats_a.memo_was_dict, 2);
    assert_int_equal(stats_a.find_ok, 2);
    assert_int_equal(copium_unregister_handler(type), 1);
    Py_DECREF(type);
    run_exec("del shared, a, b, c, Pair\n"
             "gc.collect()\n");
    assert_int_equal(pairs_alive, 0);
}

/* A plugin handler that may run Python code at any point (as every plugin handler may): the
 * memo dict a hook received earlier in the call, kept by Python code, must show what the
 * handler stored and what the copies of its children stored, in stdlib's order, whenever the
 * handler calls Python code: after its remember, after each child, after its store. */
static PyObject *looking_deepcopy(copium_ctx *ctx, PyObject *obj, copium_hash_t hash, void *data)
{
    (void)data;
    PairObject *src = (PairObject *)obj;
    PyObject *copy = pair_alloc(Py_TYPE(obj), Py_None, Py_None), *r;
    if (copy == NULL)
        return NULL;
    PairObject *dst = (PairObject *)copy;
    if (copium_memo_remember(ctx, obj, hash, copy) < 0)
        goto error;
    if ((r = PyObject_CallFunction(look, "sO", "remembered", obj)) == NULL)
        goto error;
    Py_DECREF(r);
    PyObject *first = copium_deepcopy_child(ctx, src->first);
    if (first == NULL)
        goto error;
    Py_SETREF(dst->first, first);
    if ((r = PyObject_CallFunction(look, "sO", "first copied", obj)) == NULL)
        goto error;
    Py_DECREF(r);
    if (copium_memo_store(ctx, obj, hash, copy) < 0)
        goto error;
    if ((r = PyObject_CallFunction(look, "sO", "stored", obj)) == NULL)
        goto error;
    Py_DECREF(r);
    return copy;
error:
    Py_DECREF(copy);
    return NULL;
}

static void test_handler_running_python_code_sees_the_memo(void **state)
{
    (void)state;
    PyTypeObject *type = new_pair_type();
    run_exec("kept = []\n"
             "seen = []\n"
             "class Keep:\n"
             "    def __deepcopy__(self, memo):\n"
             "        kept.append(memo)\n"
             "        return Keep()\n"
             "def look(when, obj):\n"
             "    m = kept[0]\n"
             "    seen.append((when, id(obj) in m, id(obj.first) in m,\n"
             "                 [o is obj.first for o in m.get(id(m), [])].count(True),\n"
             "                 [o is obj for o in m.get(id(m), [])].count(True)))\n");
    look = run_eval("look");
    const copium_handler h = {
        .struct_size = sizeof(copium_handler),
        .name = "looking",
        .deepcopy = looking_deepcopy,
    };
    assert_int_equal(copium_register_handler(type, &h), 0);
    run_exec("inner = [1, {'a': [2]}]\n"
             "c = cdeepcopy([Keep(), [3], Pair(inner, None)])\n");
    assert_py_true("seen == [('remembered', True, False, 0, 0), ('first copied', True, True, 1, 0),"
                   " ('stored', True, True, 1, 1)]");
    assert_py_true("c[2].first == inner and c[2].first is not inner");
    assert_int_equal(copium_unregister_handler(type), 1);
    Py_DECREF(type);
    Py_CLEAR(look);
    run_exec("del kept, seen, Keep, look, inner, c, Pair\n"
             "gc.collect()\n");
    assert_int_equal(pairs_alive, 0);
}

/* copium_hash_object gives the hash the engine's memo uses: a handler can memoize an object
 * other than its own (here: its second child, mapped to a substitute before it is copied), and
 * the engine finds that entry when it meets the child. */
static int hash_ok;

static PyObject *substituting_deepcopy(copium_ctx *ctx, PyObject *obj, copium_hash_t hash,
                                       void *data)
{
    pair_stats *stats = data;
    stats->deep++;
    PairObject *src = (PairObject *)obj;
    hash_ok += hash == copium_hash_object(obj) &&
               copium_hash_object(src->second) == copium_hash_object(src->second);
    PyObject *substitute = PyUnicode_FromString("substitute");
    if (substitute == NULL)
        return NULL;
    PyObject *copy = NULL;
    if (copium_memo_store(ctx, src->second, copium_hash_object(src->second), substitute) < 0)
        goto done;
    PyObject *found = NULL;
    if (copium_memo_find(ctx, src->second, copium_hash_object(src->second), &found) == 1 &&
        found == substitute)
        stats->find_ok++;
    Py_XDECREF(found);
    PyObject *first = copium_deepcopy_child(ctx, src->first);
    if (first == NULL)
        goto done;
    PyObject *second = copium_deepcopy_child(ctx, src->second); /* the memo's answer */
    if (second == NULL) {
        Py_DECREF(first);
        goto done;
    }
    copy = pair_alloc(Py_TYPE(obj), first, second);
    Py_DECREF(first);
    Py_DECREF(second);
    if (copy != NULL && copium_memo_store(ctx, obj, hash, copy) < 0)
        Py_CLEAR(copy);
done:
    Py_DECREF(substitute);
    return copy;
}

static void test_hash_object(void **state)
{
    (void)state;
    hash_ok = 0;
    PyTypeObject *type = new_pair_type();
    copium_handler h = pair_handler("substituting", &stats_a);
    h.deepcopy = substituting_deepcopy;
    assert_int_equal(copium_register_handler(type, &h), 0);
    run_exec("second = [2]\n"
             "p = Pair([1], second)\n"
             "x = [p, second, [second]]\n"
             "c = cdeepcopy(x)\n");
    assert_py_true("type(c[0]) is Pair and c[0].first == [1] and c[0].second == 'substitute'");
    assert_py_true("c[1] == 'substitute' and c[2] == ['substitute']");
    /* With a caller's memo, the entry is the dict's. */
    run_exec("memo = {}\n"
             "c = cdeepcopy(x, memo)\n");
    assert_py_true("c[1] == 'substitute' and memo[id(second)] == 'substitute'");
    assert_int_equal(stats_a.deep, 2);
    assert_int_equal(stats_a.find_ok, 2);
    assert_int_equal(hash_ok, 2);
    assert_int_equal(copium_unregister_handler(type), 1);
    Py_DECREF(type);
    run_exec("del second, p, x, c, memo, Pair\n"
             "gc.collect()\n");
    assert_int_equal(pairs_alive, 0);
}

/* ---------------------------------------------------------------------------------------------
 * Errors. */

/* Pair('boom', ...) fails after remembering its partial copy; other pairs copy normally. */
static PyObject *raising_deepcopy(copium_ctx *ctx, PyObject *obj, copium_hash_t hash, void *data)
{
    pair_stats *stats = data;
    PairObject *src = (PairObject *)obj;
    if (!PyUnicode_Check(src->first) || PyUnicode_CompareWithASCIIString(src->first, "boom"))
        return pair_deepcopy(ctx, obj, hash, data);
    stats->deep++;
    PyObject *partial = pair_alloc(Py_TYPE(obj), Py_None, Py_None);
    if (partial == NULL)
        return NULL;
    if (copium_memo_remember(ctx, obj, hash, partial) == 0)
        PyErr_SetString(PyExc_RuntimeError, "plugin failed");
    Py_DECREF(partial);
    return NULL;
}

static PyObject *raising_copy(PyObject *obj, void *data)
{
    (void)obj;
    (void)data;
    PyErr_SetString(PyExc_LookupError, "no shallow copy");
    return NULL;
}

static void test_raising_handler(void **state)
{
    (void)state;
    PyTypeObject *type = new_pair_type();
    copium_handler h = pair_handler("raising", &stats_a);
    h.deepcopy = raising_deepcopy;
    h.copy = raising_copy;
    assert_int_equal(copium_register_handler(type, &h), 0);
    run_exec("class Boom:\n"
             "    def __deepcopy__(self, memo):\n"
             "        raise ValueError('child failed')\n"
             "good = Pair([1], 2)\n"
             "bad = Pair('boom', [3])\n"
             "x = [good, {'k': bad}, good.first]\n"
             "y = [good, Pair(Boom(), good)]\n"
             "gc.collect()\n");
    PyObject *names[] = {run_eval("x"),   run_eval("y"),          run_eval("good"),
                         run_eval("bad"), run_eval("good.first"), run_eval("bad.second")};
    size_t n = sizeof(names) / sizeof(names[0]);
    Py_ssize_t refs[6];
    for (size_t i = 0; i < n; i++)
        refs[i] = Py_REFCNT(names[i]);
    Py_ssize_t alive = pairs_alive;
    PyObject *x = names[0], *y = names[1], *bad = names[3];
    for (int round = 0; round < 3; round++) {
        assert_null(copium_deepcopy(x, NULL));
        assert_error_message(PyExc_RuntimeError, "plugin failed");
        assert_null(copium_deepcopy(bad, NULL));
        assert_error_message(PyExc_RuntimeError, "plugin failed");
        /* An error from a child propagates through the handler. */
        assert_null(copium_deepcopy(y, NULL));
        assert_error_message(PyExc_ValueError, "child failed");
        assert_null(copium_copy(bad));
        assert_error_message(PyExc_LookupError, "no shallow copy");
        /* Through a caller's memo, which holds what was done until it goes. */
        PyObject *memo = PyDict_New();
        assert_non_null(memo);
        assert_null(copium_deepcopy(x, memo));
        assert_pyerr(PyExc_RuntimeError);
        assert_null(copium_deepcopy(y, memo));
        assert_pyerr(PyExc_ValueError);
        Py_DECREF(memo);
    }
    run_exec("gc.collect()\n");
    for (size_t i = 0; i < n; i++)
        assert_int_equal(Py_REFCNT(names[i]), refs[i]);
    assert_int_equal(pairs_alive, alive); /* every partial copy was freed */
    for (size_t i = 0; i < n; i++)
        Py_DECREF(names[i]);
    /* The next copy works. */
    assert_py_true("type(cdeepcopy(good)) is Pair and cdeepcopy(good).first == [1]");
    assert_int_equal(copium_unregister_handler(type), 1);
    Py_DECREF(type);
    run_exec("del Boom, good, bad, x, y, Pair\n"
             "gc.collect()\n");
    assert_int_equal(pairs_alive, 0);
}

/* A buggy plugin: NULL with no exception set. The header promises SystemError, not a crash. */
static PyObject *silent_null_deepcopy(copium_ctx *ctx, PyObject *obj, copium_hash_t hash,
                                      void *data)
{
    (void)ctx;
    (void)obj;
    (void)hash;
    (void)data;
    return NULL;
}

static PyObject *silent_null_copy(PyObject *obj, void *data)
{
    (void)obj;
    (void)data;
    return NULL;
}

static void test_null_without_exception(void **state)
{
    (void)state;
    PyTypeObject *type = new_pair_type();
    const copium_handler h = {
        .struct_size = sizeof(copium_handler),
        .name = "silent-null",
        .deepcopy = silent_null_deepcopy,
        .copy = silent_null_copy,
    };
    assert_int_equal(copium_register_handler(type, &h), 0);
    run_exec("p = Pair([1], 2)\n"
             "x = [[0], {'k': (p,)}]\n");
    PyObject *x = run_eval("x");
    PyObject *p = run_eval("p");
    Py_ssize_t x_refs = Py_REFCNT(x), p_refs = Py_REFCNT(p);
    for (int round = 0; round < 3; round++) {
        /* Called from C, the copy fails with NULL (whether an exception is set is not checked
         * here: the engine passes the handler's NULL on as it is). */
        assert_null(copium_deepcopy(x, NULL));
        PyErr_Clear();
        assert_null(copium_deepcopy(p, NULL));
        PyErr_Clear();
        PyObject *memo = PyDict_New();
        assert_non_null(memo);
        assert_null(copium_deepcopy(x, memo));
        PyErr_Clear();
        Py_DECREF(memo);
        assert_null(copium_copy(p));
        PyErr_Clear();
    }
    /* Called from Python, it is a SystemError. */
    define_outcome();
    assert_py_true("outcome(cdeepcopy, x) == 'SystemError'");
    assert_py_true("outcome(cdeepcopy, p) == 'SystemError'");
    assert_py_true("outcome(lambda v: cdeepcopy(v, {}), x) == 'SystemError'");
    assert_py_true("outcome(ccopy, p) == 'SystemError'");
    run_exec("gc.collect()\n");
    assert_int_equal(Py_REFCNT(x), x_refs);
    assert_int_equal(Py_REFCNT(p), p_refs);
    Py_DECREF(x);
    Py_DECREF(p);
    assert_py_true("cdeepcopy([[0]]) == [[0]]");
    assert_int_equal(copium_unregister_handler(type), 1);
    Py_DECREF(type);
    run_exec("del p, x, Pair\n"
             "gc.collect()\n");
}

/* ---------------------------------------------------------------------------------------------
 * The registry changing while a handler runs. */

static int inner_rc, churn_failures;

/* Unregisters its own type, registers and unregisters many other types (the table grows and
 * shrinks under the running copy), then returns its result. */
static PyObject *self_unregistering_deepcopy(copium_ctx *ctx, PyObject *obj, copium_hash_t hash,
                                             void *data)
{
    pair_stats *stats = data;
    stats->deep++;
    inner_rc = copium_unregister_handler(Py_TYPE(obj));
    const copium_handler other = {
        .struct_size = sizeof(copium_handler),
        .name = "churn",
        .flags = COPIUM_HANDLER_ATOMIC,
    };
    for (int i = 0; i < 64; i++) {
        PyObject *t =
            PyObject_CallFunction((PyObject *)&PyType_Type, "s()N", "Churn", PyDict_New());
        if (t == NULL)
            return NULL;
        if (copium_register_handler((PyTypeObject *)t, &other) != 0 ||
            copium_unregister_handler((PyTypeObject *)t) != 1)
            churn_failures++;
        Py_DECREF(t);
    }
    PyObject *copy = PyUnicode_FromString("handler");
    if (copy != NULL && copium_memo_store(ctx, obj, hash, copy) < 0)
        Py_CLEAR(copy);
    return copy;
}

static PyObject *first_of_two_deepcopy(copium_ctx *ctx, PyObject *obj, copium_hash_t hash,
                                       void *data);

static PyObject *second_of_two_deepcopy(copium_ctx *ctx, PyObject *obj, copium_hash_t hash,
                                        void *data)
{
    pair_stats *stats = data;
    stats->shallow++; /* counts the second handler's calls */
    PyObject *copy = PyUnicode_FromString("second");
    if (copy != NULL && copium_memo_store(ctx, obj, hash, copy) < 0)
        Py_CLEAR(copy);
    return copy;
}

/* Replaces its own registration with second_of_two_deepcopy while it runs. */
static PyObject *first_of_two_deepcopy(copium_ctx *ctx, PyObject *obj, copium_hash_t hash,
                                       void *data)
{
    pair_stats *stats = data;
    stats->deep++;
    const copium_handler second = {
        .struct_size = sizeof(copium_handler),
        .name = "second-of-two",
        .deepcopy = second_of_two_deepcopy,
        .data = data,
    };
    inner_rc = copium_register_handler(Py_TYPE(obj), &second);
    if (inner_rc < 0)
        return NULL;
    PyObject *copy = PyUnicode_FromString("first");
    if (copy != NULL && copium_memo_store(ctx, obj, hash, copy) < 0)
        Py_CLEAR(copy);
    return copy;
}

static void test_registry_changes_inside_handler(void **state)
{
    (void)state;
    run_exec("class Node:\n"
             "    def __deepcopy__(self, memo):\n"
             "        return 'hook'\n");
    PyTypeObject *node = (PyTypeObject *)run_eval("Node");
    Py_ssize_t refs = Py_REFCNT(node);
    memset(&stats_a, 0, sizeof(stats_a));
    inner_rc = -2;
    churn_failures = 0;
    const copium_handler self_unregistering = {
        .struct_size = sizeof(copium_handler),
        .name = "self-unregistering",
        .deepcopy = self_unregistering_deepcopy,
        .data = &stats_a,
    };
    assert_int_equal(copium_register_handler(node, &self_unregistering), 0);
    run_exec("c = cdeepcopy([Node(), Node(), {'k': Node()}])\n");
    assert_py_true("c == ['handler', 'hook', {'k': 'hook'}]");
    assert_int_equal(stats_a.deep, 1);
    assert_int_equal(inner_rc, 1);
    assert_int_equal(churn_failures, 0);
    assert_null(copium_registry_find(node));
    assert_int_equal(Py_REFCNT(node), refs);
    /* The same at the top level and with a caller's memo. */
    assert_int_equal(copium_register_handler(node, &self_unregistering), 0);
    assert_py_true("cdeepcopy(Node()) == 'handler' and cdeepcopy(Node()) == 'hook'");
    assert_int_equal(copium_register_handler(node, &self_unregistering), 0);
    assert_py_true("cdeepcopy([Node(), Node()], {}) == ['handler', 'hook']");
    assert_int_equal(stats_a.deep, 3);

    /* A handler that replaces itself: the next instance gets the new one. */
    memset(&stats_a, 0, sizeof(stats_a));
    const copium_handler first = {
        .struct_size = sizeof(copium_handler),
        .name = "first-of-two",
        .deepcopy = first_of_two_deepcopy,
        .data = &stats_a,
    };
    assert_int_equal(copium_register_handler(node, &first), 0);
    assert_py_true("cdeepcopy([Node(), Node(), Node()]) == ['first', 'second', 'second']");
    assert_int_equal(inner_rc, 0);
    assert_int_equal(stats_a.deep, 1);
    assert_int_equal(stats_a.shallow, 2);
    assert_string_equal(copium_registry_find(node)->name, "second-of-two");
    assert_int_equal(copium_unregister_handler(node), 1);
    assert_int_equal(Py_REFCNT(node), refs);
    Py_DECREF(node);
    run_exec("del Node, c\n");
}

/* Plugin types obey the recursion limit like builtins: RecursionError, no crash, no leak. */
static void test_recursion_limit(void **state)
{
    (void)state;
    PyTypeObject *type = new_pair_type();
    copium_handler h = pair_handler("pair", &stats_a);
    assert_int_equal(copium_register_handler(type, &h), 0);
    run_exec("deep = None\n"
             "for _ in range(5000):\n"
             "    deep = Pair(deep, [deep])\n"
             "shallow = None\n"
             "for _ in range(200):\n"
             "    shallow = Pair(shallow, None)\n"
             "gc.collect()\n");
    Py_ssize_t alive = pairs_alive;
    PyObject *deep = run_eval("deep");
    Py_ssize_t refs = Py_REFCNT(deep);
    for (int round = 0; round < 2; round++) {
        assert_null(copium_deepcopy(deep, NULL));
        assert_pyerr(PyExc_RecursionError);
    }
    run_exec("gc.collect()\n");
    assert_int_equal(Py_REFCNT(deep), refs);
    assert_int_equal(pairs_alive, alive);
    Py_DECREF(deep);
    run_exec("c = cdeepcopy(shallow)\n"
             "n = 0\n"
             "while c is not None:\n"
             "    n += 1\n"
             "    c = c.first\n");
    assert_py_true("n == 200");
    assert_int_equal(copium_unregister_handler(type), 1);
    Py_DECREF(type);
    run_exec("del deep, shallow, c, n, Pair\n"
             "gc.collect()\n");
    assert_int_equal(pairs_alive, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_import_succeeds),
        cmocka_unit_test_teardown(test_import_failures, restore_real_copium),
        cmocka_unit_test(test_copy_plugin_type),
        cmocka_unit_test(test_caller_memo),
        cmocka_unit_test(test_replacement),
        cmocka_unit_test_teardown(test_replace_builtin_list, restore_list),
        cmocka_unit_test(test_unregister_returns),
        cmocka_unit_test(test_bad_plugins),
        cmocka_unit_test(test_newer_struct_accepted),
        cmocka_unit_test(test_caller_struct_modified),
        cmocka_unit_test(test_atomic_flag),
        cmocka_unit_test(test_null_functions_take_stdlib_path),
        cmocka_unit_test(test_handler_defaults),
        cmocka_unit_test(test_handler_uses_ctx_memo),
        cmocka_unit_test(test_handler_running_python_code_sees_the_memo),
        cmocka_unit_test(test_hash_object),
        cmocka_unit_test(test_raising_handler),
        cmocka_unit_test(test_null_without_exception),
        cmocka_unit_test(test_registry_changes_inside_handler),
        cmocka_unit_test(test_recursion_limit),
    };
    return cmocka_run_group_tests_name("plugin_api", tests, plugin_setup, plugin_teardown);
}
