/* A plugin of two C files, as docs/plugins.md says to write one: both define COPIUM_UNIQUE_SYMBOL
 * to one name; this file, which calls copium_import() (in the fixture's group setup), defines
 * the pointer, and plugin_multifile_handler.c, with COPIUM_NO_IMPORT, only declares it. Checks:
 * both files see one pointer (one object, filled by the one import), the other file's macros
 * work through it (registration, a copy with cycles and shared children), and a failed import
 * leaves the pointer as it was for both. */
#define COPIUM_UNIQUE_SYMBOL multifile_copium_API
#include "../../include/copium/copium.h"

#include "plugin_fixture.h"
#include "plugin_multifile.h"

static void test_one_pointer(void **state)
{
    (void)state;
    /* The macro names the unique symbol, and the other file's pointer is this very object. */
    assert_ptr_equal(&copium_API, &multifile_copium_API);
    assert_ptr_equal(multifile_handler_api_address(), &copium_API);
    assert_ptr_equal(*multifile_handler_api_address(), copium_capi_table());

    /* A failed import changes it for neither file. */
    PyObject *modules = PyImport_GetModuleDict();
    assert_int_equal(PyDict_SetItemString(modules, "copium", Py_None), 0);
    assert_int_equal(copium_import(), -1);
    assert_pyerr(PyExc_ImportError);
    assert_ptr_equal(*multifile_handler_api_address(), copium_capi_table());
    assert_int_equal(restore_real_copium(NULL), 0);
}

static void test_other_file_copies(void **state)
{
    (void)state;
    multifile_handler_calls = 0;
    run_exec("class Box:\n"
             "    def __init__(self, items):\n"
             "        self.items = items\n"
             "shared = [1, [2]]\n"
             "b = Box([shared, shared])\n"
             "b.items.append(b)\n");
    PyTypeObject *box = (PyTypeObject *)run_eval("Box");
    assert_int_equal(multifile_register_box(box), 0);
    assert_string_equal(copium_test_registry_find(box)->name, "multifile-box");
    run_exec("c = cdeepcopy([b, b])\n");
    assert_py_true("type(c[0]) is Box and c[0] is c[1] and c[0] is not b");
    assert_py_true("c[0].items[2] is c[0] and c[0].items[0] is c[0].items[1]");
    assert_py_true("c[0].items[0] == shared and c[0].items[0] is not shared");
    assert_int_equal(multifile_handler_calls, 1);
    /* Unregistered from this file, through the same table. */
    assert_int_equal(copium_unregister_handler(box), 1);
    assert_null(copium_test_registry_find(box));
    Py_DECREF(box);
    run_exec("del Box, shared, b, c\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_one_pointer, restore_real_copium),
        cmocka_unit_test(test_other_file_copies),
    };
    return cmocka_run_group_tests_name("plugin_multifile", tests, plugin_setup, plugin_teardown);
}
