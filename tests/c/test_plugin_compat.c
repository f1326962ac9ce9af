/* A plugin built against the public header as it was first published (compat/copium_level1.h,
 * ABI 1, API level 1), loaded into today's copium: the ABI promise that such a plugin keeps
 * working unrebuilt. Everything here is compiled with the old header's layouts, constants and
 * inline copium_import(): its import succeeds against today's table, its handler struct (the
 * old size) registers and copies cycles and shared children, its C caller functions and
 * copium_hash_object work through the old table offsets, its bad registrations and import
 * failures get the same messages as before. */
#include "compat/copium_level1.h"

#include "plugin_fixture.h"

static void test_old_plugin_imports(void **state)
{
    (void)state;
    assert_non_null(copium_API);
    assert_ptr_equal(copium_API, copium_capi_table());
    /* The header it was built with and today's copium agree on the versions it checks. */
    assert_int_equal(copium_API->abi_version, COPIUM_ABI_VERSION);
    assert_true(copium_API->api_level >= COPIUM_API_LEVEL);
    /* Today's table has at least every field the old layout has, at the same offsets: the
     * old header's size for level 1 fits in it, and the last level-1 function is the engine's
     * address hash. */
    assert_true(copium_API->struct_size >= COPIUM_API_LEVEL_1_SIZE);
    assert_true(copium_API->struct_size >= sizeof(copium_api));
    run_exec("probe = [1]\n");
    PyObject *probe = run_eval("probe");
    assert_true(copium_hash_object(probe) == copium_capi_table()->hash_object(probe));
    Py_DECREF(probe);
    run_exec("del probe\n");
    /* A second import (each file of an old multi-file plugin imported on its own) still works. */
    const copium_api *before = copium_API;
    assert_int_equal(copium_import(), 0);
    assert_ptr_equal(copium_API, before);
    assert_no_pyerr();
}

static void test_old_handler_copies(void **state)
{
    (void)state;
    PyTypeObject *type = new_pair_type();
    copium_handler h = pair_handler("old-pair", &stats_a);
    assert_int_equal(h.struct_size, COPIUM_HANDLER_MIN_SIZE); /* the first published layout */
    assert_int_equal(copium_register_handler(type, &h), 0);
    assert_no_pyerr();
    run_exec("shared = [1, [2]]\n"
             "p = Pair(shared, None)\n"
             "p.second = [p, shared]\n"
             "c = cdeepcopy([p, p])\n"
             "s = ccopy(p)\n");
    assert_py_true("type(c[0]) is Pair and c[0] is c[1] and c[0] is not p");
    assert_py_true("c[0].second[0] is c[0] and c[0].first is c[0].second[1]");
    assert_py_true("c[0].first == shared and c[0].first is not shared");
    assert_py_true("type(s) is Pair and s.first is shared and s.second is p.second");
    assert_int_equal(stats_a.deep, 1);
    assert_int_equal(stats_a.shallow, 1);
    assert_int_equal(stats_a.find_ok, 1);
    /* With a caller's memo, as stdlib's deepcopy would fill it. */
    run_exec("memo = {}\n"
             "c = cdeepcopy(p, memo)\n");
    assert_py_true("memo[id(p)] is c and c.second[0] is c");
    assert_int_equal(copium_unregister_handler(type), 1);
    assert_int_equal(copium_unregister_handler(type), 0);
    Py_DECREF(type);
    run_exec("del shared, p, c, s, memo, Pair\n"
             "gc.collect()\n");
    assert_int_equal(pairs_alive, 0);
}

static void test_old_plugin_errors(void **state)
{
    (void)state;
    run_exec("class Victim:\n"
             "    pass\n");
    PyTypeObject *victim = (PyTypeObject *)run_eval("Victim");
    copium_handler h = {
        .struct_size = sizeof(copium_handler),
        .name = "bad",
        .flags = 0x4,
    };
    assert_int_equal(copium_register_handler(victim, &h), -1);
    assert_error_message(
        PyExc_ValueError,
        "copium: handler 'bad' has unknown flag bits 0x4: it needs a newer copium");
    h.flags = 0;
    h.struct_size = 0;
    assert_int_equal(copium_register_handler(victim, &h), -1);
    char want[256];
    snprintf(want, sizeof(want),
             "copium: handler struct_size 0 is smaller than the first published layout (%zu "
             "bytes): rebuild the plugin against copium's header",
             (size_t)COPIUM_HANDLER_MIN_SIZE);
    assert_error_message(PyExc_ValueError, want);
    assert_null(copium_registry_find(victim));
    Py_DECREF(victim);
    run_exec("del Victim\n");

    /* The old copium_import() against a table of another ABI version, and of a lower level. */
    static struct {
        copium_api api;
        void *newer_functions[4];
    } fake;
    memset(&fake, 0, sizeof(fake));
    fake.api = *copium_capi_table();
    fake.api.abi_version = COPIUM_ABI_VERSION + 1;
    PyObject *capsule = PyCapsule_New((void *)&fake, COPIUM_CAPSULE_NAME, NULL);
    assert_non_null(capsule);
    PyObject *module = PyModule_New("copium._copium");
    assert_non_null(module);
    assert_int_equal(PyObject_SetAttrString(module, "_C_API", capsule), 0);
    Py_DECREF(capsule);
    PyObject *modules = PyImport_GetModuleDict();
    assert_int_equal(PyDict_SetItemString(modules, "copium._copium", module), 0);
    assert_int_equal(PyObject_SetAttrString(real_package, "_copium", module), 0);
    const copium_api *saved = copium_API;
    assert_int_equal(copium_import(), -1);
    assert_error_message(PyExc_ImportError,
                         "this plugin was built against copium C ABI version 1, but the installed "
                         "copium has ABI version 2: rebuild the plugin against the installed "
                         "copium");
    fake.api.abi_version = COPIUM_ABI_VERSION;
    fake.api.api_level = 0;
    assert_int_equal(copium_import(), -1);
    assert_error_message(PyExc_ImportError,
                         "this plugin needs copium C API level 1, but the installed copium "
                         "provides level 0: upgrade copium");
    assert_ptr_equal(copium_API, saved);
    Py_DECREF(module);
    assert_int_equal(restore_real_copium(NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_old_plugin_imports),
        cmocka_unit_test(test_old_handler_copies),
        cmocka_unit_test_teardown(test_old_plugin_errors, restore_real_copium),
    };
    return cmocka_run_group_tests_name("plugin_compat", tests, plugin_setup, plugin_teardown);
}
