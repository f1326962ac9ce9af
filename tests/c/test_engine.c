/* The engine (core/engine.h) end to end, with the builtin handlers installed: the things that
 * hold for every copy whatever the types involved. Atoms come back as themselves, cycles and
 * shared sub-objects keep their shape, a memo dict passed by the caller is filled as stdlib
 * fills it and a pre-filled one is honoured, the memo handed to a __deepcopy__ is a dict that
 * sees the entries made so far, the originals' reference counts are unchanged once the copies
 * are dropped, an exception raised deep inside propagates and leaves nothing behind, a
 * __deepcopy__ may start a nested top-level copy, deep nesting raises RecursionError, the
 * per-thread context is reused and shrunk between calls without leaking memory, and a handler
 * registered through the registry (the plugin path) is called with the right hash and can
 * build cyclic copies through copium_deepcopy_child and copium_memo_store. */
#include "engine_fixture.h"

#include "../../core/context.h"
#include "../../core/registry.h"

static void test_atoms_are_themselves(void **state)
{
    (void)state;
    run_exec("atoms = [None, 7, 10**100, 1.5, 'text', b'bytes', True, 2j, ..., NotImplemented,\n"
             "         len, (lambda: 0), int, range(3), (lambda: 0).__code__, property(),\n"
             "         weakref.ref(int)]\n");
    assert_py_empty("[a for a in atoms if cdeepcopy(a) is not a or ccopy(a) is not a]");
    /* As children too: a list of atoms copies to a new list of the very same objects. */
    assert_py_true("all(c is a for c, a in zip(cdeepcopy(atoms), atoms))");
    assert_py_true("cdeepcopy(atoms) is not atoms");
    run_exec("del atoms\n");
}

static void test_cycle(void **state)
{
    (void)state;
    run_exec("x = []\n"
             "x.append(x)\n"
             "c = cdeepcopy(x)\n");
    assert_py_true("c is not x and len(c) == 1 and c[0] is c");
    /* Through a dict and a tuple: the tuple is rebuilt around the new dict. */
    run_exec("d = {}\n"
             "d['t'] = (d, 1)\n"
             "cd = cdeepcopy(d)\n");
    assert_py_true("cd is not d and cd['t'] is not d['t'] and cd['t'][0] is cd");
    assert_py_true("cd['t'][1] == 1");
    /* A tuple at the top of a cycle: its copy is the one the list's copy points to. */
    run_exec("l = []\n"
             "t = (l,)\n"
             "l.append(t)\n"
             "ct = cdeepcopy(t)\n");
    assert_py_true("ct is not t and ct[0][0] is ct");
    run_exec("del x, c, d, cd, l, t, ct\n");
}

static void test_shared_children_stay_shared(void **state)
{
    (void)state;
    run_exec("a = [1, 2]\n"
             "x = [a, a, (a,), {'k': a}]\n"
             "c = cdeepcopy(x)\n");
    assert_py_true("c[0] is not a and c[0] == a");
    assert_py_true("c[0] is c[1] is c[2][0] is c[3]['k']");
    /* Shallow copy shares everything with the original. */
    assert_py_true("all(s is o for s, o in zip(ccopy(x), x))");
    run_exec("del a, x, c\n");
}

static void test_user_memo_filled(void **state)
{
    (void)state;
    run_exec("a = [1]\n"
             "x = [a, a, (a, 2), (a,)]\n"
             "memo = {}\n"
             "c = cdeepcopy(x, memo)\n"
             "smemo = {}\n"
             "s = copy.deepcopy(x, smemo)\n");
    assert_py_true("memo[id(x)] is c and memo[id(a)] is c[0] and memo[id(x[2])] is c[2]");
    /* The same keys as stdlib's memo, and the keepalive list holds the same objects. */
    assert_py_true("set(memo) - {id(memo)} == set(smemo) - {id(smemo)}");
    assert_py_true("sorted(map(id, memo[id(memo)])) == sorted(map(id, smemo[id(smemo)]))");
    /* The keepalive list holds the originals themselves, tuples included. */
    assert_py_true("any(o is x[2] for o in memo[id(memo)]) and any(o is x[3] for o in "
                   "memo[id(memo)])");
    /* None means a fresh memo. */
    assert_py_true("cdeepcopy(x, None) == x");
    run_exec("del a, x, memo, c, smemo, s\n");
}

static void test_user_memo_honoured(void **state)
{
    (void)state;
    run_exec("import copy, sys\n"
             "a = [1]\n"
             "x = [a, 'atom']\n"
             "memo = {id(a): 'replaced', id(x[1]): 'atom replaced too'}\n");
    /* stdlib consults the memo before anything else, atoms included before 3.14 (from 3.14
     * its atomic types are returned before the memo is looked at). */
    assert_py_true("cdeepcopy(x, memo) == (['replaced', 'atom replaced too'] "
                   "if sys.version_info < (3, 14) else ['replaced', 'atom'])");
    assert_py_true("cdeepcopy(x, memo) == copy.deepcopy(x, memo)");
    assert_py_true("cdeepcopy(a, {id(a): 42}) == 42");
    run_exec("del a, x, memo\n");
}

static void test_deepcopy_hook_sees_memo(void **state)
{
    (void)state;
    run_exec("class Spy:\n"
             "    def __deepcopy__(self, memo):\n"
             "        Spy.memo = memo\n"
             "        Spy.is_dict = isinstance(memo, dict)\n"
             "        Spy.parent_copy = memo.get(id(outer))\n"
             "        Spy.sibling_copy = memo.get(id(sibling))\n"
             "        return 'spied'\n"
             "sibling = [0]\n"
             "outer = [sibling, Spy()]\n"
             "c = cdeepcopy(outer)\n");
    assert_py_true("Spy.is_dict");
    assert_py_true("c == [[0], 'spied']");
    assert_py_true("Spy.parent_copy is c and Spy.sibling_copy is c[0]");
    /* The memo the hook kept stays valid and is not reused by a later call. */
    run_exec("kept = Spy.memo\n"
             "kept_len = len(kept)\n"
             "c2 = cdeepcopy(outer)\n");
    assert_py_true("Spy.memo is not kept and len(kept) == kept_len");
    assert_py_true("kept[id(outer)] is c");
    /* After the hook the memo is Python-level: tuples rebuilt later in the same call are
     * stored in it, and its keepalive list holds them (not their items). */
    run_exec("after_hook = [Spy(), ([1], 2), ([3],)]\n"
             "c3 = cdeepcopy(after_hook)\n");
    assert_py_true("c3 == ['spied', ([1], 2), ([3],)] and c3[1][0] is not after_hook[1][0]");
    assert_py_true("Spy.memo[id(after_hook[1])] is c3[1] and Spy.memo[id(after_hook[2])] is c3[2]");
    assert_py_true("any(o is after_hook[2] for o in Spy.memo[id(Spy.memo)])");
    run_exec("del Spy, sibling, outer, c, kept, kept_len, c2, after_hook, c3\n");
}

/* The dict a hook got, given back as memo (the C API's deepcopy, as a patched copy.deepcopy):
 * the call that made it goes on in its own context, on its native memo, one level deeper for
 * each level the copy goes; a dict of no call in progress gets a context of its own.
 * Afterwards the context is clean. mirroring(memo): the recursion depth of the call in
 * progress whose dict memo is, or None. */
static PyObject *fixture_mirroring(PyObject *self, PyObject *memo)
{
    (void)self;
    copium_ctx *ctx = copium_ctx_mirroring(memo);
    if (ctx == NULL || !ctx->in_use || ctx->pymemo != NULL)
        Py_RETURN_NONE;
    return PyLong_FromLong(ctx->guard.depth);
}

static PyMethodDef mirroring_def = {"mirroring", fixture_mirroring, METH_O, NULL};

static void assert_context_clean(int just_shrunk);

static void test_memo_dict_given_back_goes_on_natively(void **state)
{
    (void)state;
    PyObject *f = PyCFunction_New(&mirroring_def, NULL);
    assert_non_null(f);
    bind("mirroring", f);
    Py_DECREF(f);
    run_exec("seen = []\n"
             "class Back:\n"
             "    def __init__(self, part):\n"
             "        self.part = part\n"
             "    def __deepcopy__(self, memo):\n"
             "        seen.append(mirroring(memo))\n"
             "        new = Back(None)\n"
             "        memo[id(self)] = new\n"
             "        new.part = cdeepcopy(self.part, memo)\n"
             "        seen.append(mirroring({}))\n"
             "        return new\n"
             "shared = [1, {'a': [2]}]\n"
             "x = [shared, Back([shared, Back((shared, [3]))]), shared]\n"
             "c = cdeepcopy(x)\n");
    /* x (1), the outer Back (2); given back: its part (3), the inner Back (4). */
    assert_py_true("seen == [2, 4, None, None]");
    assert_py_true("c[0] is c[2] is c[1].part[0] is c[1].part[1].part[0] and c[0] == shared");
    assert_py_true("type(c[1].part[1]) is Back and c[1].part[1].part[1] == [3]");
    assert_context_clean(0);
    run_exec("del seen, Back, shared, x, c, mirroring\n");
}

static void test_refcounts_unchanged(void **state)
{
    (void)state;
    run_exec("shared = [1.5, 'x']\n"
             "graph = [shared, (shared, [shared]), {'a': shared, 'b': {1, 2}}, bytearray(b'z'),\n"
             "         frozenset({3}), {7, 8}]\n"
             "graph.append(graph)\n");
    PyObject *graph = run_eval("graph");
    PyObject *shared = run_eval("shared");
    Py_ssize_t shared_refs = Py_REFCNT(shared);
    assert_copies_keep_refcounts(graph);
    assert_int_equal(Py_REFCNT(shared), shared_refs);

    /* With a memo dict: once the memo is dropped too, nothing is left. */
    Py_ssize_t graph_refs = Py_REFCNT(graph);
    PyObject *memo = PyDict_New();
    PyObject *copy = copium_deepcopy(&fixture_core, graph, memo);
    assert_non_null(copy);
    Py_DECREF(copy);
    Py_DECREF(memo);
    assert_int_equal(Py_REFCNT(graph), graph_refs);
    assert_int_equal(Py_REFCNT(shared), shared_refs);
    Py_DECREF(graph);
    Py_DECREF(shared);
    run_exec("del graph, shared\n");
}

/* The thread's context after a call: free, empty, within the retention limits (at its initial
 * sizes when just_shrunk: the call grew it past them). Read first, released, then checked, so
 * that a failed check does not leave the context marked in use for the tests after it. */
static void assert_context_clean(int just_shrunk)
{
    copium_ctx *ctx = copium_ctx_acquire(&fixture_core);
    assert_non_null(ctx);
    size_t memo_count = ctx->memo.count, ka_count = ctx->keepalive.count;
    size_t memo_capacity = copium_memo_capacity(&ctx->memo);
    size_t ka_capacity = ctx->keepalive.capacity;
    PyObject *pymemo = ctx->pymemo, *mirror = ctx->mirror.dict;
    int observed = ctx->memo_observed, listed = ctx->listed;
    copium_ctx_release(ctx);
    assert_int_equal(memo_count, 0);
    assert_int_equal(ka_count, 0);
    assert_null(pymemo);
    assert_null(mirror);
    assert_int_equal(observed, 0);
    assert_int_equal(listed, 0);
    assert_true(memo_capacity <= COPIUM_MEMO_RETAIN_CAPACITY);
    assert_true(ka_capacity <= COPIUM_KEEPALIVE_RETAIN_CAPACITY);
    if (just_shrunk) {
        assert_int_equal(memo_capacity, COPIUM_MEMO_INITIAL_CAPACITY);
        assert_int_equal(ka_capacity, COPIUM_KEEPALIVE_INITIAL_CAPACITY);
    }
}

static void test_error_propagates(void **state)
{
    (void)state;
    run_exec("class Boom:\n"
             "    def __deepcopy__(self, memo):\n"
             "        raise ValueError('boom')\n"
             "inner = [1.5]\n"
             "bad = [inner, {'k': (inner, [Boom()])}]\n");
    PyObject *bad = run_eval("bad");
    PyObject *inner = run_eval("inner");
    Py_ssize_t bad_refs = Py_REFCNT(bad), inner_refs = Py_REFCNT(inner);
    for (int round = 0; round < 3; round++) {
        PyObject *copy = copium_deepcopy(&fixture_core, bad, NULL);
        assert_null(copy);
        assert_pyerr(PyExc_ValueError);
        assert_context_clean(0);
        /* Through a memo dict as well. */
        PyObject *memo = PyDict_New();
        copy = copium_deepcopy(&fixture_core, bad, memo);
        assert_null(copy);
        assert_pyerr(PyExc_ValueError);
        Py_DECREF(memo);
    }
    assert_int_equal(Py_REFCNT(bad), bad_refs);
    assert_int_equal(Py_REFCNT(inner), inner_refs);
    Py_DECREF(bad);
    Py_DECREF(inner);
    /* The message is the one raised. */
    run_exec("try:\n"
             "    cdeepcopy(bad)\n"
             "except ValueError as e:\n"
             "    message = str(e)\n");
    assert_py_true("message == 'boom'");
    /* The next copy works. */
    assert_py_true("cdeepcopy([inner, inner]) == [[1.5], [1.5]]");
    run_exec("del Boom, inner, bad, message\n");
}

static void test_nested_top_level_call(void **state)
{
    (void)state;
    run_exec("class Nested:\n"
             "    def __init__(self):\n"
             "        self.data = [1, [2]]\n"
             "    def __deepcopy__(self, memo):\n"
             "        n = Nested.__new__(Nested)\n"
             "        n.data = cdeepcopy(self.data)  # a top-level call of its own\n"
             "        return n\n"
             "obj = Nested()\n"
             "x = [obj.data, obj, obj.data]\n"
             "c = cdeepcopy(x)\n");
    assert_py_true("c[0] is c[2] and c[0] == [1, [2]] and c[0] is not x[0]");
    /* The nested call had a memo of its own: its copy is not the outer one's. */
    assert_py_true("c[1].data == [1, [2]] and c[1].data is not c[0]");
    assert_context_clean(0);
    run_exec("del Nested, obj, x, c\n");
}

static void test_deep_nesting_raises_recursion_error(void **state)
{
    (void)state;
    run_exec("deep = []\n"
             "for _ in range(1000000):\n"
             "    deep = [deep]\n"
             "deep_dict = {}\n"
             "for _ in range(100000):\n"
             "    deep_dict = {'k': deep_dict}\n");
    const char *names[] = {"deep", "deep_dict"};
    for (size_t i = 0; i < 2; i++) {
        PyObject *deep = run_eval(names[i]);
        PyObject *copy = copium_deepcopy(&fixture_core, deep, NULL);
        assert_null(copy);
        assert_pyerr(PyExc_RecursionError);
        Py_DECREF(deep);
        assert_context_clean(0);
    }
    run_exec("del deep, deep_dict\n");
    /* Nesting that stdlib copies is copied. */
    run_exec("nest = [1]\n"
             "for _ in range(100):\n"
             "    nest = [{'k': (nest, 2)}]\n"
             "copy.deepcopy(nest)\n");
    assert_py_true("cdeepcopy(nest) == nest");
    run_exec("del nest\n");
}

static void test_context_reused(void **state)
{
    (void)state;
    copium_ctx *first = copium_ctx_acquire(&fixture_core);
    assert_non_null(first);
    /* A nested top-level call while the thread's context is in use gets another one. */
    copium_ctx *nested = copium_ctx_acquire(&fixture_core);
    assert_non_null(nested);
    assert_ptr_not_equal(nested, first);
    copium_ctx_release(nested);
    copium_ctx_release(first);
    copium_ctx *again = copium_ctx_acquire(&fixture_core);
    assert_ptr_equal(again, first);
    copium_ctx_release(again);

    /* Copies go through it and leave it clean, however big they were. */
    assert_py_true("cdeepcopy([[i] for i in range(3)]) == [[0], [1], [2]]");
    again = copium_ctx_acquire(&fixture_core);
    assert_ptr_equal(again, first);
    copium_ctx_release(again);
    run_exec("big = [[i] for i in range(50000)]\n"
             "big_copy = cdeepcopy(big)\n");
    assert_py_true("big_copy == big and big_copy[0] is not big[0]");
    assert_context_clean(1);
    again = copium_ctx_acquire(&fixture_core);
    assert_ptr_equal(again, first);
    copium_ctx_release(again);
    run_exec("del big, big_copy\n");
}

static void test_no_leak_across_calls(void **state)
{
    (void)state;
    run_exec("import tracemalloc\n"
             "data = [[i, str(i), {'k': [i], 't': (i, [i])}, {i}, bytearray(b'x')]\n"
             "        for i in range(2000)]\n"
             "data.append(data)\n"
             "big = [[i] for i in range(20000)]\n"
             "def run(n):\n"
             "    for _ in range(n):\n"
             "        cdeepcopy(data)\n"
             "        cdeepcopy(big)  # grows the memo past retention each time\n"
             "        cdeepcopy([1, [2]])\n"
             "        ccopy(data)\n"
             "run(3)\n"
             "gc.collect()\n"
             "tracemalloc.start()\n"
             "run(2)\n"
             "gc.collect()\n"
             "blocks_before = sys.getallocatedblocks()\n"
             "traced_before = tracemalloc.get_traced_memory()[0]\n"
             "run(20)\n"
             "gc.collect()\n"
             "traced_after = tracemalloc.get_traced_memory()[0]\n"
             "blocks_after = sys.getallocatedblocks()\n"
             "tracemalloc.stop()\n");
    /* A leaked copy would be megabytes, a leaked context or table kilobytes per call. */
    assert_py_empty("[(traced_before, traced_after)] if traced_after - traced_before > 2048 "
                    "else []");
    assert_py_empty("[(blocks_before, blocks_after)] if blocks_after - blocks_before > 16 "
                    "else []");
    run_exec("del data, big, run, blocks_before, blocks_after, traced_before, traced_after\n");
}

/* A third-party-style handler for one Python class: a new instance memoized before its
 * __dict__ is copied through the engine, so cycles through it work. */
static int plugin_calls, plugin_copy_calls, plugin_hash_ok;

static PyObject *plugin_deepcopy(copium_ctx *ctx, PyObject *obj, copium_hash_t hash, void *data)
{
    plugin_calls++;
    plugin_hash_ok += hash == copium_hash_ptr(obj) && data == (void *)&plugin_calls;
    PyObject *type = (PyObject *)Py_TYPE(obj);
    PyObject *copy = PyObject_CallMethod(type, "__new__", "O", type);
    if (copy == NULL)
        return NULL;
    if (copium_memo_store(ctx, obj, hash, copy) < 0)
        goto error;
    PyObject *dict = PyObject_GetAttrString(obj, "__dict__");
    if (dict == NULL)
        goto error;
    PyObject *dict_copy = copium_deepcopy_child(ctx, dict);
    Py_DECREF(dict);
    if (dict_copy == NULL)
        goto error;
    int rc = PyObject_SetAttrString(copy, "__dict__", dict_copy);
    Py_DECREF(dict_copy);
    if (rc < 0)
        goto error;
    return copy;
error:
    Py_DECREF(copy);
    return NULL;
}

static PyObject *plugin_copy(PyObject *obj, void *data)
{
    (void)data;
    plugin_copy_calls++;
    return Py_NewRef(obj);
}

static const copium_handler plugin_handler = {
    .struct_size = sizeof(copium_handler),
    .name = "test-plugin",
    .deepcopy = plugin_deepcopy,
    .copy = plugin_copy,
    .data = &plugin_calls,
};

static const copium_handler plugin_defaults = {
    .struct_size = sizeof(copium_handler),
    .name = "test-plugin-defaults", /* NULL functions: stdlib's protocol */
};

static const copium_handler plugin_atomic = {
    .struct_size = sizeof(copium_handler),
    .name = "test-plugin-atomic", /* never called: would crash if it were */
    .flags = COPIUM_HANDLER_ATOMIC,
};

static void test_registered_handler(void **state)
{
    (void)state;
    run_exec("class Box:\n"
             "    def __deepcopy__(self, memo):\n"
             "        raise AssertionError('the registered handler comes first')\n"
             "class Plain:\n"
             "    pass\n"
             "class Frozen:\n"
             "    pass\n"
             "box = Box()\n"
             "box.me = box\n"
             "box.items = [1, [2]]\n"
             "pair = [box, box]\n"
             "plain = Plain()\n"
             "plain.items = [3]\n"
             "frozen = Frozen()\n");
    PyTypeObject *box_type = (PyTypeObject *)run_eval("Box");
    PyTypeObject *plain_type = (PyTypeObject *)run_eval("Plain");
    PyTypeObject *frozen_type = (PyTypeObject *)run_eval("Frozen");
    assert_int_equal(copium_registry_register(&fixture_core.registry, box_type, &plugin_handler),
                     0);
    assert_int_equal(copium_registry_register(&fixture_core.registry, plain_type, &plugin_defaults),
                     0);
    assert_int_equal(copium_registry_register(&fixture_core.registry, frozen_type, &plugin_atomic),
                     0);
    plugin_calls = plugin_copy_calls = plugin_hash_ok = 0;

    run_exec("c = cdeepcopy(pair)\n");
    assert_int_equal(plugin_calls, 1); /* the second occurrence came from the memo */
    assert_int_equal(plugin_hash_ok, 1);
    assert_py_true("c[0] is c[1] and type(c[0]) is Box and c[0] is not box");
    assert_py_true("c[0].me is c[0] and c[0].items == [1, [2]] and c[0].items is not box.items");
    assert_py_true("ccopy(box) is box");
    assert_int_equal(plugin_copy_calls, 1);

    /* NULL functions: the stdlib protocol, as for an unregistered class. */
    assert_py_true("type(cdeepcopy(plain)) is Plain and cdeepcopy(plain).items == [3]");
    assert_py_true("cdeepcopy(plain).items is not plain.items");
    assert_py_true("ccopy(plain) is not plain and ccopy(plain).items is plain.items");
    /* Atomic flag: the object itself, no function called. */
    assert_py_true("cdeepcopy(frozen) is frozen and ccopy(frozen) is frozen");
    assert_py_true("cdeepcopy([frozen])[0] is frozen");

    /* Unregistered: back to the class's own protocol. */
    assert_int_equal(copium_registry_unregister(&fixture_core.registry, box_type), 1);
    run_exec("try:\n"
             "    cdeepcopy(box)\n"
             "    hook_ran = False\n"
             "except AssertionError:\n"
             "    hook_ran = True\n");
    assert_py_true("hook_ran");
    assert_int_equal(plugin_calls, 1);
    assert_int_equal(copium_registry_unregister(&fixture_core.registry, plain_type), 1);
    assert_int_equal(copium_registry_unregister(&fixture_core.registry, frozen_type), 1);
    Py_DECREF(box_type);
    Py_DECREF(plain_type);
    Py_DECREF(frozen_type);
    run_exec("del Box, Plain, Frozen, box, pair, plain, frozen, c, hook_ran\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_atoms_are_themselves),
        cmocka_unit_test(test_cycle),
        cmocka_unit_test(test_shared_children_stay_shared),
        cmocka_unit_test(test_user_memo_filled),
        cmocka_unit_test(test_user_memo_honoured),
        cmocka_unit_test(test_deepcopy_hook_sees_memo),
        cmocka_unit_test(test_memo_dict_given_back_goes_on_natively),
        cmocka_unit_test(test_refcounts_unchanged),
        cmocka_unit_test(test_error_propagates),
        cmocka_unit_test(test_nested_top_level_call),
        cmocka_unit_test(test_deep_nesting_raises_recursion_error),
        cmocka_unit_test(test_context_reused),
        cmocka_unit_test(test_no_leak_across_calls),
        cmocka_unit_test(test_registered_handler),
    };
    return cmocka_run_group_tests_name("engine", tests, engine_setup, engine_teardown);
}
