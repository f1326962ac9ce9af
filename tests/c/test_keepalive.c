/* The keepalive vector (core/keepalive.h): the strong references to every memoized original
 * that stdlib keeps in the list at memo[id(memo)]. The tests push fresh Python lists and check
 * the reference counts at each step: a push takes one reference, a reset gives back exactly the
 * ones taken (the same object pushed twice included), growth keeps every item in order, a reset
 * after growing past COPIUM_KEEPALIVE_RETAIN_CAPACITY shrinks the vector back to its initial
 * capacity while one at the limit keeps its size, and as_list returns a new list holding the
 * same objects in the same order. */
#include "embed.h"

#include "../../core/keepalive.h"

static PyObject *new_object(void)
{
    PyObject *v = PyList_New(0);
    assert_non_null(v);
    return v;
}

static void ka_init(copium_keepalive *ka)
{
    assert_int_equal(copium_keepalive_init(ka), 0);
    assert_int_equal(ka->count, 0);
    assert_int_equal(ka->capacity, COPIUM_KEEPALIVE_INITIAL_CAPACITY);
}

static void test_push_and_reset(void **state)
{
    (void)state;
    copium_keepalive ka;
    ka_init(&ka);
    PyObject *a = new_object(), *b = new_object();
    assert_int_equal(copium_keepalive_push(&ka, a), 0);
    assert_int_equal(copium_keepalive_push(&ka, b), 0);
    assert_int_equal(copium_keepalive_push(&ka, a), 0); /* the same object twice */
    assert_int_equal(ka.count, 3);
    assert_ptr_equal(ka.items[0], a);
    assert_ptr_equal(ka.items[1], b);
    assert_ptr_equal(ka.items[2], a);
    assert_int_equal(Py_REFCNT(a), 3);
    assert_int_equal(Py_REFCNT(b), 2);
    copium_keepalive_reset(&ka);
    assert_int_equal(ka.count, 0);
    assert_int_equal(ka.capacity, COPIUM_KEEPALIVE_INITIAL_CAPACITY);
    assert_int_equal(Py_REFCNT(a), 1);
    assert_int_equal(Py_REFCNT(b), 1);
    /* Reset of an empty vector is a no-op. */
    copium_keepalive_reset(&ka);
    assert_int_equal(ka.count, 0);
    copium_keepalive_fini(&ka);
    Py_DECREF(a);
    Py_DECREF(b);
}

static void test_fini_releases(void **state)
{
    (void)state;
    copium_keepalive ka;
    ka_init(&ka);
    PyObject *a = new_object();
    for (int n = 0; n < 5; n++)
        assert_int_equal(copium_keepalive_push(&ka, a), 0);
    assert_int_equal(Py_REFCNT(a), 6);
    copium_keepalive_fini(&ka);
    assert_int_equal(Py_REFCNT(a), 1);
    assert_null(ka.items);
    assert_int_equal(ka.capacity, 0);
    Py_DECREF(a);
}

/* The vector holds the only reference of an original: it stays alive until the reset. */
static void test_keeps_alive(void **state)
{
    (void)state;
    run_exec("import weakref\n"
             "class Temp: pass\n"
             "temp = Temp()\n"
             "temp_ref = weakref.ref(temp)\n");
    PyObject *temp = run_eval("temp");
    run_exec("del temp\n");
    copium_keepalive ka;
    ka_init(&ka);
    assert_int_equal(copium_keepalive_push(&ka, temp), 0);
    Py_DECREF(temp);
    run_exec("import gc; gc.collect()\n");
    assert_py_true("temp_ref() is not None");
    copium_keepalive_reset(&ka);
    assert_py_true("temp_ref() is None");
    copium_keepalive_fini(&ka);
    run_exec("del temp_ref, Temp\n");
}

static void test_growth(void **state)
{
    (void)state;
    enum { N = 1000 };
    static PyObject *objs[N];
    copium_keepalive ka;
    ka_init(&ka);
    size_t capacity = ka.capacity;
    for (size_t n = 0; n < N; n++) {
        objs[n] = new_object();
        assert_int_equal(copium_keepalive_push(&ka, objs[n]), 0);
        if (ka.capacity != capacity) {
            assert_int_equal(ka.capacity, 2 * capacity); /* doubles */
            capacity = ka.capacity;
        }
        assert_true(ka.count <= ka.capacity);
    }
    assert_int_equal(ka.count, N);
    assert_int_equal(ka.capacity, 1024);
    for (size_t n = 0; n < N; n++) {
        assert_ptr_equal(ka.items[n], objs[n]); /* in push order */
        assert_int_equal(Py_REFCNT(objs[n]), 2);
    }
    copium_keepalive_reset(&ka);
    assert_int_equal(ka.capacity, 1024); /* within the retention limit: kept */
    for (size_t n = 0; n < N; n++) {
        assert_int_equal(Py_REFCNT(objs[n]), 1);
        Py_DECREF(objs[n]);
    }
    copium_keepalive_fini(&ka);
}

static void push_n(copium_keepalive *ka, PyObject *obj, size_t n)
{
    for (size_t i = 0; i < n; i++)
        assert_int_equal(copium_keepalive_push(ka, obj), 0);
}

static void test_shrink_past_retention(void **state)
{
    (void)state;
    PyObject *a = new_object();
    copium_keepalive ka;
    ka_init(&ka);

    /* At the limit: kept. */
    push_n(&ka, a, COPIUM_KEEPALIVE_RETAIN_CAPACITY);
    assert_int_equal(ka.capacity, COPIUM_KEEPALIVE_RETAIN_CAPACITY);
    copium_keepalive_reset(&ka);
    assert_int_equal(ka.capacity, COPIUM_KEEPALIVE_RETAIN_CAPACITY);
    assert_int_equal(Py_REFCNT(a), 1);

    /* One more: grown past it, shrunk back to the initial capacity. */
    push_n(&ka, a, COPIUM_KEEPALIVE_RETAIN_CAPACITY + 1);
    assert_true(ka.capacity > COPIUM_KEEPALIVE_RETAIN_CAPACITY);
    assert_int_equal(Py_REFCNT(a), 1 + COPIUM_KEEPALIVE_RETAIN_CAPACITY + 1);
    copium_keepalive_reset(&ka);
    assert_int_equal(ka.capacity, COPIUM_KEEPALIVE_INITIAL_CAPACITY);
    assert_int_equal(ka.count, 0);
    assert_int_equal(Py_REFCNT(a), 1);

    /* Still usable, and grows again as needed. */
    push_n(&ka, a, 100000);
    assert_int_equal(ka.count, 100000);
    copium_keepalive_reset(&ka);
    assert_int_equal(ka.capacity, COPIUM_KEEPALIVE_INITIAL_CAPACITY);
    assert_int_equal(Py_REFCNT(a), 1);
    push_n(&ka, a, 3);
    assert_int_equal(ka.count, 3);
    assert_ptr_equal(ka.items[2], a);

    copium_keepalive_fini(&ka);
    assert_int_equal(Py_REFCNT(a), 1);
    Py_DECREF(a);
}

static void test_as_list(void **state)
{
    (void)state;
    copium_keepalive ka;
    ka_init(&ka);

    PyObject *empty = copium_keepalive_as_list(&ka);
    assert_non_null(empty);
    assert_true(PyList_CheckExact(empty));
    assert_int_equal(PyList_GET_SIZE(empty), 0);
    Py_DECREF(empty);

    PyObject *a = new_object(), *b = new_object();
    assert_int_equal(copium_keepalive_push(&ka, a), 0);
    assert_int_equal(copium_keepalive_push(&ka, b), 0);
    assert_int_equal(copium_keepalive_push(&ka, a), 0);
    PyObject *list = copium_keepalive_as_list(&ka);
    assert_non_null(list);
    assert_true(PyList_CheckExact(list));
    assert_int_equal(PyList_GET_SIZE(list), 3);
    assert_ptr_equal(PyList_GET_ITEM(list, 0), a);
    assert_ptr_equal(PyList_GET_ITEM(list, 1), b);
    assert_ptr_equal(PyList_GET_ITEM(list, 2), a);
    /* The list holds references of its own; the vector is unchanged. */
    assert_int_equal(Py_REFCNT(a), 1 + 2 + 2);
    assert_int_equal(Py_REFCNT(b), 1 + 1 + 1);
    assert_int_equal(ka.count, 3);
    copium_keepalive_reset(&ka);
    assert_int_equal(Py_REFCNT(a), 1 + 2);
    assert_int_equal(PyList_GET_SIZE(list), 3); /* still valid after the reset */
    Py_DECREF(list);
    assert_int_equal(Py_REFCNT(a), 1);
    assert_int_equal(Py_REFCNT(b), 1);

    copium_keepalive_fini(&ka);
    Py_DECREF(a);
    Py_DECREF(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_push_and_reset),        cmocka_unit_test(test_fini_releases),
        cmocka_unit_test(test_keeps_alive),           cmocka_unit_test(test_growth),
        cmocka_unit_test(test_shrink_past_retention), cmocka_unit_test(test_as_list),
    };
    return cmocka_run_group_tests_name("keepalive", tests, embed_setup, embed_teardown);
}
