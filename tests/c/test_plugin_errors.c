/* The public C API, when things go wrong: a raising handler leaking nothing; a handler
 * returning NULL without an exception; (un)registration from inside a running handler; the
 * recursion limit for plugin types. */
#include "../../include/copium/copium.h"

#include "plugin_fixture.h"

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
    assert_null(copium_test_registry_find(node));
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
    assert_string_equal(copium_test_registry_find(node)->name, "second-of-two");
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
        cmocka_unit_test(test_raising_handler),
        cmocka_unit_test(test_null_without_exception),
        cmocka_unit_test(test_registry_changes_inside_handler),
        cmocka_unit_test(test_recursion_limit),
    };
    return cmocka_run_group_tests_name("plugin_errors", tests, plugin_setup, plugin_teardown);
}
