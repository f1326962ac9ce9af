/* The public C API, registering: replacement, of a builtin handler too, and unregistration
 * giving back the builtin; every bad plugin rejected with its documented exception and nothing
 * registered; a newer, larger struct; the caller's struct changing after registration; the
 * atomic flag; the reserved flag bits. */
#include "../../include/copium/copium.h"

#include "plugin_fixture.h"

/* ---------------------------------------------------------------------------------------------
 * Replacement and unregistration. */

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
    const copium_handler *now = copium_test_registry_find(type);
    assert_non_null(now);
    assert_string_equal(now->name, "second");
    assert_ptr_equal(now->data, &stats_b);

    /* One registration per type: one unregistration removes it, whatever it replaced. */
    assert_int_equal(copium_unregister_handler(type), 1);
    assert_int_equal(copium_unregister_handler(type), 0);
    assert_null(copium_test_registry_find(type));
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
    const copium_handler *builtin = copium_test_registry_find(&PyList_Type);
    assert_non_null(builtin);
    assert_true(builtin->deepcopy == copium_list_handler.deepcopy);
    assert_int_equal(copium_unregister_handler(&PyList_Type), 0);
    builtin = copium_test_registry_find(&PyList_Type);
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
    assert_true(copium_test_registry_find(&PyList_Type)->deepcopy == tagged_list_deepcopy);

    /* Unregistering removes the replacement and gives the builtin handler back at once. */
    assert_int_equal(copium_unregister_handler(&PyList_Type), 1);
    assert_no_pyerr();
    const copium_handler *back = copium_test_registry_find(&PyList_Type);
    assert_non_null(back);
    assert_true(back->deepcopy == copium_list_handler.deepcopy);
    assert_py_true("cdeepcopy([1, [2]]) == [1, [2]]");
    assert_py_true("ccopy([5, 6]) == [5, 6]");
    run_exec("cc = cdeepcopy(cyc)\n");
    assert_py_true("cc is not cyc and cc[0] == 7 and cc[1] is cc and len(cc) == 2");
    assert_int_equal(tagged_deep_calls, 4);
    assert_int_equal(tagged_copy_calls, 1);
    back = copium_test_registry_find(&PyList_Type);
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
    const copium_handler *h = copium_test_registry_find(&PyList_Type);
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
    const copium_handler *now = copium_test_registry_find(victim);
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

    h.flags = 0x4;
    assert_rejected(victim, &h, PyExc_ValueError,
                    "copium: handler 'bad' has unknown flag bits 0x4: it needs a newer copium",
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
    const copium_handler *kept = copium_test_registry_find(type);
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
    assert_string_equal(copium_test_registry_find(type)->name, "original");

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
    assert_string_equal(copium_test_registry_find(type)->name, "short-lived");
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

/* copium's internal flag bits are reserved by name in the public header: none is a public
 * flag, and a plugin that sets one is rejected as for any unknown bit. */
static void test_reserved_flags_rejected(void **state)
{
    (void)state;
    assert_int_equal(COPIUM_HANDLER_RESERVED_FLAGS & COPIUM_HANDLER_KNOWN_FLAGS, 0);
    assert_int_equal(COPIUM_HANDLER_RESERVED_FLAGS, 0xF0000000u);
    const uint32_t reserved[] = {COPIUM_HANDLER_RESERVED_STDLIB_ATOM, COPIUM_HANDLER_RESERVED_QUIET,
                                 COPIUM_HANDLER_RESERVED_SETTLES,
                                 COPIUM_HANDLER_RESERVED_SELF_CHECKED};
    PyTypeObject *type = new_class("Reserved");
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
        const copium_handler h = {
            .struct_size = sizeof(copium_handler),
            .name = "reserved",
            .flags = COPIUM_HANDLER_ATOMIC | reserved[i],
        };
        char want[128];
        snprintf(want, sizeof(want),
                 "copium: handler 'reserved' has unknown flag bits 0x%x: it needs a newer copium",
                 (unsigned)reserved[i]);
        assert_rejected(type, &h, PyExc_ValueError, want, type, NULL);
    }
    Py_DECREF(type);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replacement),
        cmocka_unit_test_teardown(test_replace_builtin_list, restore_list),
        cmocka_unit_test(test_unregister_returns),
        cmocka_unit_test(test_bad_plugins),
        cmocka_unit_test(test_newer_struct_accepted),
        cmocka_unit_test(test_caller_struct_modified),
        cmocka_unit_test(test_atomic_flag),
        cmocka_unit_test(test_reserved_flags_rejected),
    };
    return cmocka_run_group_tests_name("plugin_registration", tests, plugin_setup, plugin_teardown);
}
