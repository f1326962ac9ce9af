/* The public C API, copying: a handler for a new heap type copying cycles and shared children
 * through copium_deepcopy_child / copium_memo_remember / copium_memo_store with reference
 * counts unchanged, with and without a caller's memo dict; NULL functions taking stdlib's path;
 * the handler-facing defaults and memo functions; copium_hash_object agreeing with the engine's
 * memo; a C caller's copy under memo="dict" running on a dict memo, as copium.deepcopy's does. */
#include "../../include/copium/copium.h"

#include "plugin_fixture.h"

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

/* The Python function test_handler_running_python_code_sees_the_memo's handler calls. */
static PyObject *look;

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

/* Whether each call of the probe had a memo dict already (1) or only the native memo (0). */
static int probe_seen[4];
static int probe_calls;

static PyObject *probe_deepcopy(copium_ctx *ctx, PyObject *obj, copium_hash_t hash, void *data)
{
    (void)hash;
    (void)data;
    if (probe_calls < 4)
        probe_seen[probe_calls] = copium_test_memo_has_dict(ctx);
    probe_calls++;
    return Py_NewRef(obj);
}

/* The capsule's deepcopy applies the configuration copium.deepcopy applies: with memo="dict"
 * configured, a C caller's copy without a memo has a fresh dict as its memo from the start
 * (the native memo mirrors into it, as into any small dict a caller passes), where the default
 * makes none until Python code asks; an atom still comes back as itself. */
static void test_c_caller_memo_dict(void **state)
{
    (void)state;
    PyTypeObject *type = new_pair_type();
    copium_handler h = {
        .struct_size = sizeof(copium_handler),
        .name = "probe",
        .deepcopy = probe_deepcopy,
    };
    assert_int_equal(copium_register_handler(type, &h), 0);
    run_exec("p = Pair(1, 2)\n"
             "outer = [p]\n");
    PyObject *p = run_eval("p");
    PyObject *outer = run_eval("outer");
    PyObject *one = PyLong_FromLong(1);
    probe_calls = 0;

    /* The default: the native memo. */
    PyObject *c = copium_deepcopy(p, NULL);
    assert_ptr_equal(c, p);
    Py_DECREF(c);
    /* memo="dict": a dict from the start, for the top-level object and for a child alike. */
    copium_test_set_memo_dict(1);
    c = copium_deepcopy(p, NULL);
    assert_ptr_equal(c, p);
    Py_DECREF(c);
    c = copium_deepcopy(outer, NULL);
    assert_non_null(c);
    assert_true(PyList_CheckExact(c) && c != outer && PyList_GET_ITEM(c, 0) == p);
    Py_DECREF(c);
    c = copium_deepcopy(one, NULL);
    assert_ptr_equal(c, one);
    Py_DECREF(c);
    /* Off again: back to the native memo. */
    copium_test_set_memo_dict(0);
    c = copium_deepcopy(p, NULL);
    assert_ptr_equal(c, p);
    Py_DECREF(c);
    assert_no_pyerr();
    assert_int_equal(probe_calls, 4);
    assert_int_equal(probe_seen[0], 0);
    assert_int_equal(probe_seen[1], 1);
    assert_int_equal(probe_seen[2], 1);
    assert_int_equal(probe_seen[3], 0);

    Py_DECREF(one);
    Py_DECREF(outer);
    Py_DECREF(p);
    assert_int_equal(copium_unregister_handler(type), 1);
    Py_DECREF(type);
    run_exec("del p, outer, Pair\n"
             "gc.collect()\n");
    assert_int_equal(pairs_alive, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy_plugin_type),
        cmocka_unit_test(test_caller_memo),
        cmocka_unit_test(test_null_functions_take_stdlib_path),
        cmocka_unit_test(test_handler_defaults),
        cmocka_unit_test(test_handler_uses_ctx_memo),
        cmocka_unit_test(test_handler_running_python_code_sees_the_memo),
        cmocka_unit_test(test_hash_object),
        cmocka_unit_test(test_c_caller_memo_dict),
    };
    return cmocka_run_group_tests_name("plugin_copy", tests, plugin_setup, plugin_teardown);
}
