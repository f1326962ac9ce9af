/* The public C API, importing: copium_import() finds the real table and checks its versions; a
 * second import is harmless; every import failure mode gives its message and leaves copium_API
 * as it was; a newer copium (a higher level, a longer table) serves an older plugin; the size
 * constant of each level and copium_has_api_level(). */
#include "../../include/copium/copium.h"

#include "plugin_fixture.h"

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
    char want[512];
    snprintf(want, sizeof(want),
             "this plugin needs copium C API level %d, but the installed copium provides level "
             "%d: upgrade copium",
             COPIUM_API_LEVEL, COPIUM_API_LEVEL - 1);
    assert_import_fails(want);
    fake.api.api_level = COPIUM_API_LEVEL;
    fake.api.struct_size = offsetof(copium_api, copy);
    install_fake_table(&fake);
    snprintf(want, sizeof(want),
             "the installed copium's C API table is %zu bytes, smaller than API level %d's %zu: "
             "the copium installation is broken, reinstall it",
             (size_t)offsetof(copium_api, copy), COPIUM_API_LEVEL,
             (size_t)COPIUM_API_SIZE_FOR_LEVEL(COPIUM_API_LEVEL));
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

/* The size constants and the runtime level check a plugin uses for functions newer than its
 * target level. */
static void test_levels_and_sizes(void **state)
{
    (void)state;
    assert_int_equal(COPIUM_TARGET_API_LEVEL, COPIUM_API_LEVEL); /* the default target */
    /* Level 1's table ends with hash_object; a level this header does not know needs more
     * than any table can have, so a check against it fails. */
    assert_int_equal(COPIUM_API_LEVEL_1_SIZE, offsetof(copium_api, hash_object) + sizeof(void *));
    assert_int_equal(COPIUM_API_SIZE_FOR_LEVEL(1), COPIUM_API_LEVEL_1_SIZE);
    assert_true(COPIUM_API_SIZE_FOR_LEVEL(0) == SIZE_MAX);
    assert_true(COPIUM_API_SIZE_FOR_LEVEL(COPIUM_API_LEVEL + 1) == SIZE_MAX);
    assert_true(COPIUM_API_SIZE_FOR_LEVEL(COPIUM_API_LEVEL) <= sizeof(copium_api));
    assert_int_equal(COPIUM_HANDLER_MIN_SIZE, COPIUM_HANDLER_LEVEL_1_SIZE);
    assert_int_equal(COPIUM_HANDLER_LEVEL_1_SIZE, offsetof(copium_handler, data) + sizeof(void *));

    assert_true(copium_has_api_level(1));
    assert_true(copium_has_api_level(COPIUM_API_LEVEL));
    assert_false(copium_has_api_level(COPIUM_API_LEVEL + 1));

    /* A table that claims a higher level but is no longer than level 1's: the level check is not
     * enough on its own, the size says what is really there. */
    static bigger_api fake;
    memset(&fake, 0, sizeof(fake));
    fake.api = *copium_capi_table();
    fake.api.api_level = COPIUM_API_LEVEL + 1;
    fake.api.struct_size = COPIUM_API_LEVEL_1_SIZE;
    const copium_api *saved = copium_API;
    copium_API = &fake.api;
    assert_true(copium_has_api_level(1));
    assert_false(copium_has_api_level(COPIUM_API_LEVEL + 1));
    fake.api.api_level = 0; /* and the other way round: the level is checked too */
    assert_false(copium_has_api_level(1));
    copium_API = saved;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_import_succeeds),
        cmocka_unit_test_teardown(test_import_failures, restore_real_copium),
        cmocka_unit_test(test_levels_and_sizes),
    };
    return cmocka_run_group_tests_name("plugin_import", tests, plugin_setup, plugin_teardown);
}
