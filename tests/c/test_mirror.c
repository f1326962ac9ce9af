/* The memo dict Python code sees (core/mirror.h) on its own, over a native memo and keep-alive
 * vector filled by hand (originals are Python lists bound in __main__ as o[0..], values too):
 * opening writes the entries in insertion order with memo[id(memo)] where the first keep-alive
 * push put it; flushing appends what was added since and nothing twice; copium's own writes are
 * not taken for changes; what Python code appends is imported (a key known to be a live
 * non-atom's or not), values it replaces are found by confirm; deletions, clears, keys that are
 * not exact ints or are aliases of an address already there, and a replaced keep-alive list
 * cannot be followed; keys that may be atoms' are recorded up to a bound; rewrite replaces only
 * what the dict holds; detach hands the dict over and every reference is given back. */
#include "embed.h"

#include <string.h>

#include "../../core/mirror.h"
#include "../../core/state.h"

/* The core state whose watcher the mirrors use: the watcher's callback finds it as the
 * interpreter's current one. */
static copium_core mirror_core;

static int mirror_setup(void **state)
{
    if (embed_setup(state) < 0)
        return -1;
    return copium_core_init(&mirror_core, NULL, NULL, NULL, NULL);
}

static int mirror_teardown(void **state)
{
    copium_core_fini(&mirror_core);
    return embed_teardown(state);
}

#define N 6

typedef struct {
    copium_memo memo;
    copium_keepalive ka;
    copium_mirror m;
    PyObject *orig[N], *copy[N];
} fixture;

static void fixture_init(fixture *f)
{
    memset(f, 0, sizeof(*f));
    assert_int_equal(copium_memo_init(&f->memo), 0);
    assert_int_equal(copium_keepalive_init(&f->ka), 0);
    run_exec("o = [[i] for i in range(6)]\n"
             "c = [['copy', i] for i in range(6)]\n");
    PyObject *o = run_eval("o"), *c = run_eval("c");
    for (int i = 0; i < N; i++) {
        f->orig[i] = PyList_GET_ITEM(o, i); /* kept alive by __main__ */
        f->copy[i] = PyList_GET_ITEM(c, i);
    }
    Py_DECREF(o);
    Py_DECREF(c);
}

static void fixture_fini(fixture *f)
{
    copium_mirror_close(&f->m);
    copium_memo_fini(&f->memo);
    copium_keepalive_fini(&f->ka);
    run_exec("memo = None\n");
    assert_no_pyerr();
}

/* memo[orig[i]] = copy[i], and keep orig[i] alive as the engine does (noting keepalive_at). */
static void store(fixture *f, int i, int keep)
{
    PyObject *o = f->orig[i];
    assert_true(copium_memo_insert(&f->memo, o, copium_hash_ptr(o), f->copy[i]) >= 0);
    if (keep) {
        if (f->ka.count == 0)
            f->m.keepalive_at = f->memo.count;
        assert_int_equal(copium_keepalive_push(&f->ka, o), 0);
    }
}

static void open_mirror(fixture *f)
{
    int rc = copium_mirror_open(&f->m, &mirror_core.watcher, &f->memo, &f->ka);
    assert_no_pyerr();
    assert_int_equal(rc, 1);
    bind("memo", f->m.dict);
    assert_false(copium_mirror_changed(&f->m));
}

static int absorb(fixture *f, const void *known)
{
    const void *live[1] = {known};
    return copium_mirror_absorb(&f->m, &f->memo, &f->ka, live, 1);
}

static void test_open_writes_entries_in_order_and_keepalive_in_place(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f);
    store(&f, 0, 0); /* remembered (a list being copied) */
    store(&f, 1, 1); /* complete: the first keep-alive push, after 2 entries */
    store(&f, 2, 1);
    store(&f, 0, 1); /* the first one completes */
    open_mirror(&f);
    assert_py_true("list(memo) == [id(o[0]), id(o[1]), id(memo), id(o[2])]");
    assert_py_true("[memo[id(o[i])] is c[i] for i in range(3)] == [True] * 3");
    assert_py_true("memo[id(memo)] == [o[1], o[2], o[0]] and "
                   "[a is b for a, b in zip(memo[id(memo)], [o[1], o[2], o[0]])] == [True] * 3");
    /* More, then a flush: appended in order, nothing twice. */
    store(&f, 3, 0);
    store(&f, 3, 1);
    assert_int_equal(copium_mirror_flush(&f.m, &f.memo, &f.ka), 0);
    assert_int_equal(copium_mirror_flush(&f.m, &f.memo, &f.ka), 0);
    assert_false(copium_mirror_changed(&f.m));
    assert_py_true("list(memo) == [id(o[0]), id(o[1]), id(memo), id(o[2]), id(o[3])]");
    assert_py_true("len(memo[id(memo)]) == 4 and memo[id(memo)][3] is o[3]");
    fixture_fini(&f);
}

static void test_keepalive_key_at_the_end_and_before_any(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f);
    open_mirror(&f); /* nothing yet: an empty dict */
    assert_py_true("memo == {}");
    store(&f, 0, 0);
    assert_int_equal(copium_mirror_flush(&f.m, &f.memo, &f.ka), 0);
    assert_py_true("list(memo) == [id(o[0])]"); /* no keep-alive list before the first push */
    store(&f, 1, 1);                            /* pushed after entry 2 */
    assert_int_equal(copium_mirror_flush(&f.m, &f.memo, &f.ka), 0);
    assert_py_true("list(memo) == [id(o[0]), id(o[1]), id(memo)] and memo[id(memo)] == [o[1]]");
    fixture_fini(&f);
}

static void test_appended_keys_are_imported(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f);
    store(&f, 0, 1);
    open_mirror(&f);
    run_exec("memo[id(o[1])] = 'one'\n");
    assert_true(copium_mirror_changed(&f.m));
    assert_int_equal(absorb(&f, f.orig[1]), 0); /* o[1] is known to be a live non-atom */
    assert_false(copium_mirror_changed(&f.m));
    assert_false(f.m.atoms_keyed);
    PyObject *v = copium_memo_lookup(&f.memo, f.orig[1], copium_hash_ptr(f.orig[1]));
    assert_non_null(v);
    assert_true(PyUnicode_Check(v));
    /* A key for something unknown may be an atom's. */
    run_exec("memo[id(o[2])] = 'two'\n");
    assert_int_equal(absorb(&f, NULL), 0);
    assert_true(f.m.atoms_keyed);
    assert_int_equal(f.m.entries_out, f.memo.count);
    /* What copium adds afterwards goes after them. */
    store(&f, 3, 1);
    assert_int_equal(copium_mirror_flush(&f.m, &f.memo, &f.ka), 0);
    assert_py_true("list(memo) == [id(o[0]), id(memo), id(o[1]), id(o[2]), id(o[3])]");
    assert_py_true("memo[id(memo)] == [o[0], o[3]]");
    fixture_fini(&f);
}

/* The keys that may be atoms' addresses are recorded one by one, up to
 * COPIUM_MIRROR_SUSPECTS; past that, every address is suspect. */
static void test_suspect_keys_are_recorded_up_to_a_bound(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f);
    open_mirror(&f);
    run_exec("memo[id(o[0])] = 'zero'\nmemo[id(o[1])] = 'one'\n");
    assert_int_equal(absorb(&f, f.orig[1]), 0); /* o[1] is known to be a live non-atom */
    assert_true(f.m.atoms_keyed);
    assert_true(copium_mirror_suspect(&f.m, f.orig[0]));
    assert_false(copium_mirror_suspect(&f.m, f.orig[1]));
    assert_false(copium_mirror_suspect(&f.m, f.orig[2]));
    run_exec("memo[id(o[2])] = 2\nmemo[id(o[3])] = 3\nmemo[id(o[4])] = 4\n");
    assert_int_equal(absorb(&f, NULL), 0);
    assert_true(copium_mirror_suspect(&f.m, f.orig[4])); /* the fourth: still recorded */
    assert_false(copium_mirror_suspect(&f.m, f.orig[5]));
    run_exec("memo[id(o[5])] = 5\n");
    assert_int_equal(absorb(&f, NULL), 0);
    assert_true(copium_mirror_suspect(&f.m, f.orig[1])); /* past the bound: any address */
    assert_true(copium_mirror_suspect(&f.m, f.copy[0]));
    fixture_fini(&f);
}

static void test_keepalive_list_made_by_python_code_is_adopted(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f);
    store(&f, 0, 0);
    open_mirror(&f);
    run_exec("memo[id(memo)] = [o[5]]\n"); /* stdlib's own deepcopy, in a hook */
    assert_int_equal(absorb(&f, NULL), 0);
    store(&f, 1, 1);
    assert_int_equal(copium_mirror_flush(&f.m, &f.memo, &f.ka), 0);
    assert_py_true("list(memo) == [id(o[0]), id(memo), id(o[1])] and "
                   "memo[id(memo)] == [o[5], o[1]]");
    fixture_fini(&f);
}

static void test_replaced_value_is_confirmed(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f);
    store(&f, 0, 1);
    store(&f, 1, 1);
    open_mirror(&f);
    run_exec("memo[id(o[0])] = 'replaced'\n");
    assert_int_equal(absorb(&f, NULL), 0);
    assert_true(f.m.values_unverified);
    PyObject *o = f.orig[0];
    copium_hash_t h = copium_hash_ptr(o);
    PyObject *native = copium_memo_lookup(&f.memo, o, h);
    PyObject *v = copium_mirror_confirm(&f.m, &f.memo, o, h, native);
    assert_non_null(v);
    assert_true(PyUnicode_Check(v));
    assert_ptr_equal(copium_memo_lookup(&f.memo, o, h), v); /* taken into the native memo */
    /* An entry not written yet: the native value stands. */
    store(&f, 2, 0);
    PyObject *o2 = f.orig[2];
    PyObject *n2 = copium_memo_lookup(&f.memo, o2, copium_hash_ptr(o2));
    assert_ptr_equal(copium_mirror_confirm(&f.m, &f.memo, o2, copium_hash_ptr(o2), n2), n2);
    fixture_fini(&f);
}

static void test_rewrite_only_what_the_dict_holds(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f);
    store(&f, 0, 1);
    open_mirror(&f);
    assert_int_equal(copium_mirror_rewrite(&f.m, f.orig[0], f.copy[4]), 0);
    assert_int_equal(copium_mirror_rewrite(&f.m, f.orig[1], f.copy[4]), 0); /* not in it */
    assert_false(copium_mirror_changed(&f.m));                              /* copium's own write */
    assert_py_true("memo[id(o[0])] is c[4] and id(o[1]) not in memo and len(memo) == 2");
    fixture_fini(&f);
}

/* Each change Python code may make that the native memo cannot follow. */
static const char *const unfollowable[] = {
    "del memo[id(o[0])]\n",
    "memo.pop(id(o[1]))\n",
    "memo.clear()\n",
    "memo.popitem()\n",
    "memo['text'] = 1\n",
    "memo[(1, 2)] = 1\n",
    "memo[0] = 1\n",
    "memo[2 ** 70] = 1\n",
    "memo[id(memo)] = []\n",
    "memo[id(o[0]) - 2 ** 64] = 1\n" /* the same address as a key there, another int */,
    "del memo[id(o[0])]; memo[id(o[3])] = 3\n",
    "del memo[id(o[0])]\nfor i in range(64): memo[id(c) + 16 * i + 8] = i\n",
    NULL,
};

static void test_changes_that_cannot_be_followed(void **state)
{
    (void)state;
    for (int i = 0; unfollowable[i] != NULL; i++) {
        fixture f;
        fixture_init(&f);
        store(&f, 0, 1);
        store(&f, 1, 1);
        open_mirror(&f);
        run_exec(unfollowable[i]);
        if (absorb(&f, NULL) != 1)
            fail_msg("followed: %s", unfollowable[i]);
        assert_no_pyerr();
        fixture_fini(&f);
    }
}

static void test_detach_and_close_give_references_back(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f);
    store(&f, 0, 1);
    Py_ssize_t before = Py_REFCNT(f.copy[0]);
    open_mirror(&f);
    assert_int_equal(Py_REFCNT(f.copy[0]), before + 1); /* the dict's */
    PyObject *dict = copium_mirror_detach(&f.m);
    assert_null(f.m.dict);
    assert_null(f.m.ka_list);
    assert_null(f.m.ka_key);
    assert_int_equal(Py_REFCNT(dict), 2); /* ours and __main__'s */
    run_exec("memo = None\n");
    Py_DECREF(dict);
    assert_int_equal(Py_REFCNT(f.copy[0]), before);
    copium_mirror_close(&f.m); /* closed already: nothing to do */
    fixture_fini(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_writes_entries_in_order_and_keepalive_in_place),
        cmocka_unit_test(test_keepalive_key_at_the_end_and_before_any),
        cmocka_unit_test(test_appended_keys_are_imported),
        cmocka_unit_test(test_suspect_keys_are_recorded_up_to_a_bound),
        cmocka_unit_test(test_keepalive_list_made_by_python_code_is_adopted),
        cmocka_unit_test(test_replaced_value_is_confirmed),
        cmocka_unit_test(test_rewrite_only_what_the_dict_holds),
        cmocka_unit_test(test_changes_that_cannot_be_followed),
        cmocka_unit_test(test_detach_and_close_give_references_back),
    };
    return cmocka_run_group_tests_name("mirror", tests, mirror_setup, mirror_teardown);
}
