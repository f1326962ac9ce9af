/* The fixture of the public C API tests (test_plugin_*.c): each of those files includes copium's
 * public header (without COPIUM_INTERNAL, so it sees only copium_import(), the copium_API table
 * pointer and the copium_* macros, exactly as a plugin does), then this file. No test links
 * against a copium symbol to drive a copy.
 *
 * How the capsule is found: the engine is linked statically into each test binary and the
 * interpreter is embedded, so there is no installed copium._copium extension to import. The
 * group setup installs the builtin handlers as the module's init does, then creates a module
 * object "copium._copium" carrying the real capsule (python/capi.c's copium_capi_add, the same
 * function the module init calls) and a parent package module "copium" with it as attribute
 * _copium, and puts both into sys.modules. PyCapsule_Import("copium._copium._C_API") then
 * walks the same path it walks in an installed copium. The import failure tests swap fake
 * modules and fake capsules into those places and put the real ones back
 * (restore_real_copium).
 *
 * A handful of engine functions are declared by hand below (the set-up needs the internal
 * headers, which cannot be included next to the public one: the public macros have the names
 * of the engine's functions). copium_test_registry_find and the builtin list vtable are used only
 * to check what the registry holds, never to register or copy.
 *
 * Also here: the plugin's own test type, Pair(first, second), a mutable GC'd heap type made from
 * a spec, so each test gets a type of its own (pairs_alive counts live instances: leaks show
 * there), its handler functions counting their calls in a pair_stats, handler functions that
 * must never run, and outcome() in __main__. Everything is static (inline), one copy per test
 * binary. */
#ifndef COPIUM_TEST_PLUGIN_FIXTURE_H
#define COPIUM_TEST_PLUGIN_FIXTURE_H

#ifndef COPIUM_H
#error "include copium's public header before plugin_fixture.h"
#endif

#include "embed.h"

#include <string.h>

#if PY_VERSION_HEX < 0x030C0000
#include <structmember.h>
#define Py_T_OBJECT_EX T_OBJECT_EX
#endif

/* From the engine (python/capi.h) and plugin_state.c: for the set-up and for looking into the
 * registry. */
int copium_capi_add(PyObject *module);
const copium_api *copium_capi_table(void);
int copium_test_install(void);
void copium_test_fini(void);
const copium_handler *copium_test_registry_find(PyTypeObject *type);
void copium_test_set_memo_dict(int on);
int copium_test_memo_has_dict(copium_ctx *ctx);
extern const copium_handler copium_list_handler;

/* ---------------------------------------------------------------------------------------------
 * The fake "installed copium": a package module and its _copium submodule with the capsule. */

static PyObject *real_package; /* "copium" */
static PyObject *real_module;  /* "copium._copium", with the real _C_API */
static const copium_api *real_api;

/* sys.modules["copium"] = package, sys.modules["copium._copium"] = module and
 * package._copium = module; a NULL argument removes that piece. */
static inline void install_copium(PyObject *package, PyObject *module)
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

static inline PyObject *new_package(void)
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
static inline PyObject *new_module_with(PyObject *capsule)
{
    PyObject *module = PyModule_New("copium._copium");
    assert_non_null(module);
    if (capsule != NULL)
        assert_int_equal(PyObject_SetAttrString(module, "_C_API", capsule), 0);
    return module;
}

/* cdeepcopy(x, memo=None) and ccopy(x) in __main__: copium_deepcopy / copium_copy through the
 * table, as a C caller of the API makes them, for checks written as Python expressions. */
static inline PyObject *api_deepcopy_py(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *x, *memo = NULL;
    if (!PyArg_ParseTuple(args, "O|O:cdeepcopy", &x, &memo))
        return NULL;
    return copium_deepcopy(x, memo);
}

static inline PyObject *api_copy_py(PyObject *self, PyObject *x)
{
    (void)self;
    return copium_copy(x);
}

static PyMethodDef api_methods[] = {
    {"cdeepcopy", api_deepcopy_py, METH_VARARGS, NULL},
    {"ccopy", api_copy_py, METH_O, NULL},
    {NULL, NULL, 0, NULL},
};

static inline int plugin_setup(void **state)
{
    if (embed_setup(state) < 0)
        return -1;
    /* What PyInit__copium does: the builtin handlers, then the capsule on the module. */
    if (copium_test_install() < 0)
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

static inline int plugin_teardown(void **state)
{
    Py_CLEAR(real_package);
    Py_CLEAR(real_module);
    copium_test_fini();
    return embed_teardown(state);
}

/* Assert that the pending exception is an instance of exc, copy its message into buf, clear. */
static inline void take_error(PyObject *exc, char *buf, size_t size)
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

static inline void assert_error_message(PyObject *exc, const char *want)
{
    char got[1024];
    take_error(exc, got, sizeof(got));
    if (strcmp(got, want) != 0)
        fail_msg("message\n  got:  %s\n  want: %s", got, want);
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

static inline PyObject *pair_alloc(PyTypeObject *type, PyObject *first, PyObject *second)
{
    PairObject *p = (PairObject *)type->tp_alloc(type, 0);
    if (p == NULL)
        return NULL;
    p->first = Py_NewRef(first);
    p->second = Py_NewRef(second);
    pairs_alive++;
    return (PyObject *)p;
}

static inline PyObject *pair_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
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

static inline int pair_traverse(PyObject *self, visitproc visit, void *arg)
{
    PairObject *p = (PairObject *)self;
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(p->first);
    Py_VISIT(p->second);
    return 0;
}

static inline int pair_clear(PyObject *self)
{
    PairObject *p = (PairObject *)self;
    Py_CLEAR(p->first);
    Py_CLEAR(p->second);
    return 0;
}

static inline void pair_dealloc(PyObject *self)
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
static inline PyTypeObject *new_pair_type(void)
{
    PyObject *type = PyType_FromSpec(&pair_spec);
    assert_non_null(type);
    bind("Pair", type);
    return (PyTypeObject *)type;
}

/* A new plain class: type(name, (), {}). */
static inline PyTypeObject *new_class(const char *name)
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
static inline PyObject *pair_deepcopy(copium_ctx *ctx, PyObject *obj, copium_hash_t hash,
                                      void *data)
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

static inline PyObject *pair_copy(PyObject *obj, void *data)
{
    pair_stats *stats = data;
    stats->shallow++;
    PairObject *src = (PairObject *)obj;
    return pair_alloc(Py_TYPE(obj), src->first, src->second);
}

/* The stats two handlers at a time count into (not every test binary uses both). */
#if defined(__GNUC__) || defined(__clang__)
#define FIXTURE_MAYBE_UNUSED __attribute__((unused))
#else
#define FIXTURE_MAYBE_UNUSED
#endif
static pair_stats stats_a FIXTURE_MAYBE_UNUSED, stats_b FIXTURE_MAYBE_UNUSED;

static inline copium_handler pair_handler(const char *name, pair_stats *stats)
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

static inline PyObject *never_deepcopy(copium_ctx *ctx, PyObject *obj, copium_hash_t hash,
                                       void *data)
{
    (void)ctx;
    (void)obj;
    (void)hash;
    (void)data;
    never_calls++;
    PyErr_SetString(PyExc_AssertionError, "this handler must not be called");
    return NULL;
}

static inline PyObject *never_copy(PyObject *obj, void *data)
{
    (void)obj;
    (void)data;
    never_calls++;
    PyErr_SetString(PyExc_AssertionError, "this handler must not be called");
    return NULL;
}

/* After a failure half-way, the real capsule must be back for the tests after it. */

static inline int restore_real_copium(void **state)
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

/* ---------------------------------------------------------------------------------------------
 * Shared by several files. */

/* outcome(f, x): the type name of f(x)'s result, or of the exception it raised. */
static inline void define_outcome(void)
{
    run_exec("def outcome(f, x):\n"
             "    try:\n"
             "        return type(f(x)).__name__\n"
             "    except Exception as e:\n"
             "        return type(e).__name__\n");
}

#endif
