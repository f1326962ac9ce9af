/* The native memo table (core/memo.h) on its own: keys are addresses, borrowed and never
 * dereferenced, so the tests take them from a large static char array, which also lets them
 * search for addresses whose hashes land on the same slot (copium_hash_ptr(key) & mask) and so
 * build the long probe chains, the wrap-around at the end of the table and the growth with
 * colliding keys that real object addresses would only hit by chance. Values are fresh Python
 * lists, so every test can check that the table holds exactly one reference per entry and
 * gives each back on overwrite, reset and fini; reset is checked to walk only the slots used
 * (O(entries), not O(capacity)) and to shrink a table that grew past the retention limit. */
#include "embed.h"

#include "../../core/memo.h"

/* Keys: addresses inside this array (one byte apart, so 1 MiB of candidates). */
#define ARENA_SIZE (1u << 20)
static char arena[ARENA_SIZE];

static PyObject *new_value(void)
{
    PyObject *v = PyList_New(0);
    assert_non_null(v);
    return v;
}

/* Fill keys[0..n) with distinct arena addresses whose hash & mask == target; returns how many
 * were found (the arena is large enough for every use below). */
static size_t colliding_keys(const void **keys, size_t n, size_t mask, size_t target)
{
    size_t found = 0;
    for (size_t off = 0; off < ARENA_SIZE && found < n; off++) {
        if (((size_t)copium_hash_ptr(&arena[off]) & mask) == target)
            keys[found++] = &arena[off];
    }
    return found;
}

static void memo_setup_table(copium_memo *memo)
{
    assert_int_equal(copium_memo_init(memo), 0);
    assert_int_equal(copium_memo_capacity(memo), COPIUM_MEMO_INITIAL_CAPACITY);
    assert_int_equal(memo->count, 0);
}

static PyObject *lookup(const copium_memo *memo, const void *key)
{
    return copium_memo_lookup(memo, key, copium_hash_ptr(key));
}

static int insert(copium_memo *memo, const void *key, PyObject *value)
{
    return copium_memo_insert(memo, key, copium_hash_ptr(key), value);
}

static void test_insert_lookup(void **state)
{
    (void)state;
    copium_memo memo;
    memo_setup_table(&memo);
    PyObject *v = new_value();
    assert_int_equal(insert(&memo, &arena[0], v), 1);
    assert_int_equal(memo.count, 1);
    assert_int_equal(Py_REFCNT(v), 2); /* the table holds one reference */
    assert_ptr_equal(lookup(&memo, &arena[0]), v);
    assert_int_equal(Py_REFCNT(v), 2); /* lookup returns a borrowed reference */
    copium_memo_fini(&memo);
    assert_int_equal(Py_REFCNT(v), 1);
    Py_DECREF(v);
}

static void test_miss(void **state)
{
    (void)state;
    copium_memo memo;
    memo_setup_table(&memo);
    assert_null(lookup(&memo, &arena[0])); /* empty table */
    PyObject *v = new_value();
    assert_int_equal(insert(&memo, &arena[0], v), 1);
    assert_null(lookup(&memo, &arena[1]));
    assert_null(lookup(&memo, &arena[ARENA_SIZE - 1]));
    assert_no_pyerr(); /* a miss never raises */
    copium_memo_fini(&memo);
    Py_DECREF(v);
}

static void test_overwrite(void **state)
{
    (void)state;
    copium_memo memo;
    memo_setup_table(&memo);
    PyObject *v1 = new_value(), *v2 = new_value();
    assert_int_equal(insert(&memo, &arena[8], v1), 1);
    assert_int_equal(insert(&memo, &arena[8], v2), 0); /* replaced, not added */
    assert_int_equal(memo.count, 1);
    assert_ptr_equal(lookup(&memo, &arena[8]), v2);
    assert_int_equal(Py_REFCNT(v1), 1); /* the old value's reference was given back */
    assert_int_equal(Py_REFCNT(v2), 2);
    /* Overwriting with the value already there keeps exactly one reference. */
    assert_int_equal(insert(&memo, &arena[8], v2), 0);
    assert_int_equal(Py_REFCNT(v2), 2);
    copium_memo_fini(&memo);
    assert_int_equal(Py_REFCNT(v2), 1);
    Py_DECREF(v1);
    Py_DECREF(v2);
}

/* Keys that all hash to the last slot: one probe chain that wraps around to slot 0. */
static void test_collisions_in_low_bits(void **state)
{
    (void)state;
    enum { N = 24 }; /* below the initial table's load limit of 32 */
    const size_t mask = COPIUM_MEMO_INITIAL_CAPACITY - 1;
    const void *keys[N + 1];
    assert_int_equal(colliding_keys(keys, N + 1, mask, mask), N + 1);
    copium_memo memo;
    memo_setup_table(&memo);
    PyObject *values[N];
    for (size_t n = 0; n < N; n++) {
        values[n] = new_value();
        assert_int_equal(insert(&memo, keys[n], values[n]), 1);
    }
    assert_int_equal(memo.count, N);
    assert_int_equal(copium_memo_capacity(&memo), COPIUM_MEMO_INITIAL_CAPACITY); /* no growth */
    for (size_t n = 0; n < N; n++)
        assert_ptr_equal(lookup(&memo, keys[n]), values[n]);
    /* A colliding key that was never inserted walks the whole chain and misses. */
    assert_null(lookup(&memo, keys[N]));
    /* The chain occupies the last slot and wraps around to the first ones. */
    assert_ptr_equal(memo.slots[mask].key, keys[0]);
    assert_ptr_equal(memo.slots[0].key, keys[1]);
    /* Overwriting in the middle of the chain finds the right slot. */
    PyObject *other = new_value();
    assert_int_equal(insert(&memo, keys[N / 2], other), 0);
    assert_ptr_equal(lookup(&memo, keys[N / 2]), other);
    assert_int_equal(Py_REFCNT(values[N / 2]), 1);
    copium_memo_fini(&memo);
    for (size_t n = 0; n < N; n++) {
        assert_int_equal(Py_REFCNT(values[n]), 1);
        Py_DECREF(values[n]);
    }
    assert_int_equal(Py_REFCNT(other), 1);
    Py_DECREF(other);
}

/* Keys colliding in their low 10 bits, enough of them to grow the table several times: every
 * growth re-places long chains, and every entry must survive it. */
static void test_collisions_survive_growth(void **state)
{
    (void)state;
    enum { N = 600 };
    static const void *keys[N];
    assert_int_equal(colliding_keys(keys, N, 1023, 5), N);
    copium_memo memo;
    memo_setup_table(&memo);
    PyObject *v = new_value();
    for (size_t n = 0; n < N; n++)
        assert_int_equal(insert(&memo, keys[n], v), 1);
    assert_int_equal(memo.count, N);
    assert_true(copium_memo_capacity(&memo) >= 2 * N);
    assert_int_equal(Py_REFCNT(v), 1 + N);
    for (size_t n = 0; n < N; n++)
        assert_ptr_equal(lookup(&memo, keys[n]), v);
    copium_memo_fini(&memo);
    assert_int_equal(Py_REFCNT(v), 1);
    Py_DECREF(v);
}

static void test_growth_keeps_entries(void **state)
{
    (void)state;
    enum { N = 10000 };
    static PyObject *values[N];
    copium_memo memo;
    memo_setup_table(&memo);
    size_t capacity = copium_memo_capacity(&memo);
    int grew = 0;
    for (size_t n = 0; n < N; n++) {
        values[n] = new_value();
        /* Keys 16 bytes apart, like small objects. */
        assert_int_equal(insert(&memo, &arena[16 * n], values[n]), 1);
        size_t now = copium_memo_capacity(&memo);
        if (now != capacity) {
            assert_int_equal(now, 2 * capacity); /* doubles */
            capacity = now;
            grew++;
        }
        assert_true(2 * memo.count <= capacity); /* load factor at most 1/2 */
    }
    assert_true(grew >= 8);
    assert_int_equal(memo.count, N);
    for (size_t n = 0; n < N; n++) {
        assert_ptr_equal(lookup(&memo, &arena[16 * n]), values[n]);
        assert_int_equal(Py_REFCNT(values[n]), 2);
    }
    assert_null(lookup(&memo, &arena[16 * N]));
    assert_null(lookup(&memo, &arena[8])); /* between two keys */
    /* The list of used slots names every entry exactly once. */
    for (size_t n = 0; n < memo.count; n++)
        assert_non_null(memo.slots[memo.used[n]].key);
    copium_memo_fini(&memo);
    for (size_t n = 0; n < N; n++) {
        assert_int_equal(Py_REFCNT(values[n]), 1);
        Py_DECREF(values[n]);
    }
}

static void test_reset_empties(void **state)
{
    (void)state;
    enum { N = 1000 };
    static PyObject *values[N];
    copium_memo memo;
    memo_setup_table(&memo);
    for (size_t n = 0; n < N; n++) {
        values[n] = new_value();
        assert_int_equal(insert(&memo, &arena[n * 8], values[n]), 1);
    }
    size_t capacity = copium_memo_capacity(&memo);
    assert_true(capacity <= COPIUM_MEMO_RETAIN_CAPACITY);
    copium_memo_reset(&memo);
    assert_int_equal(memo.count, 0);
    assert_int_equal(copium_memo_capacity(&memo), capacity); /* retained */
    for (size_t n = 0; n < N; n++) {
        assert_null(lookup(&memo, &arena[n * 8]));
        assert_int_equal(Py_REFCNT(values[n]), 1); /* the table's references are gone */
    }
    for (size_t i = 0; i < capacity; i++) {
        assert_null(memo.slots[i].key);
        assert_null(memo.slots[i].value);
    }
    copium_memo_fini(&memo);
    for (size_t n = 0; n < N; n++)
        Py_DECREF(values[n]);
}

/* Reset walks the list of used slots only: a marker planted in a slot no entry uses is still
 * there afterwards, which a sweep over the whole capacity would have cleared. */
static void test_reset_is_o_entries(void **state)
{
    (void)state;
    copium_memo memo;
    memo_setup_table(&memo);
    for (size_t n = 0; n < 200; n++) /* grow to 512 slots */
        assert_int_equal(insert(&memo, &arena[n * 8], Py_None), 1);
    size_t capacity = copium_memo_capacity(&memo);
    size_t free_slot = capacity;
    for (size_t i = 0; i < capacity && free_slot == capacity; i++) {
        if (memo.slots[i].key == NULL)
            free_slot = i;
    }
    assert_true(free_slot < capacity);
    static char marker;
    memo.slots[free_slot].key = &marker; /* value stays NULL: reset must never touch it */
    copium_memo_reset(&memo);
    assert_int_equal(memo.count, 0);
    assert_ptr_equal(memo.slots[free_slot].key, &marker);
    assert_null(memo.slots[free_slot].value);
    for (size_t i = 0; i < capacity; i++) {
        if (i != free_slot)
            assert_null(memo.slots[i].key);
    }
    memo.slots[free_slot].key = NULL;
    copium_memo_fini(&memo);
}

static void fill(copium_memo *memo, size_t count, PyObject *value)
{
    for (size_t n = 0; n < count; n++)
        assert_int_equal(insert(memo, &arena[n * 8], value), 1);
}

static void test_shrink_after_retention_limit(void **state)
{
    (void)state;
    PyObject *v = new_value();
    copium_memo memo;
    memo_setup_table(&memo);

    /* Exactly at the limit: kept at its size after a reset. */
    fill(&memo, COPIUM_MEMO_RETAIN_CAPACITY / 2, v);
    assert_int_equal(copium_memo_capacity(&memo), COPIUM_MEMO_RETAIN_CAPACITY);
    copium_memo_reset(&memo);
    assert_int_equal(copium_memo_capacity(&memo), COPIUM_MEMO_RETAIN_CAPACITY);
    assert_int_equal(Py_REFCNT(v), 1);

    /* One entry more grows it past the limit: given back at the initial size. */
    fill(&memo, COPIUM_MEMO_RETAIN_CAPACITY / 2 + 1, v);
    assert_true(copium_memo_capacity(&memo) > COPIUM_MEMO_RETAIN_CAPACITY);
    copium_memo_reset(&memo);
    assert_int_equal(copium_memo_capacity(&memo), COPIUM_MEMO_INITIAL_CAPACITY);
    assert_int_equal(memo.count, 0);
    assert_int_equal(Py_REFCNT(v), 1);
    for (size_t i = 0; i < COPIUM_MEMO_INITIAL_CAPACITY; i++)
        assert_null(memo.slots[i].key);

    /* Much larger: the same. */
    fill(&memo, 100000, v);
    copium_memo_reset(&memo);
    assert_int_equal(copium_memo_capacity(&memo), COPIUM_MEMO_INITIAL_CAPACITY);
    assert_int_equal(Py_REFCNT(v), 1);

    copium_memo_fini(&memo);
    Py_DECREF(v);
}

static void test_reuse_after_reset(void **state)
{
    (void)state;
    PyObject *a = new_value(), *b = new_value();
    copium_memo memo;
    memo_setup_table(&memo);
    for (int round = 0; round < 3; round++) {
        /* Each round: a big call that grows the table, then a small one; keys differ between
         * rounds so that leftovers of a previous round would show as wrong hits. */
        size_t base = (size_t)round * 100000;
        for (size_t n = 0; n < 5000; n++)
            assert_int_equal(insert(&memo, &arena[base + n * 8], a), 1);
        for (size_t n = 0; n < 5000; n++)
            assert_ptr_equal(lookup(&memo, &arena[base + n * 8]), a);
        copium_memo_reset(&memo);
        assert_int_equal(Py_REFCNT(a), 1);
        assert_int_equal(copium_memo_capacity(&memo), COPIUM_MEMO_INITIAL_CAPACITY);
        for (size_t n = 0; n < 20; n++)
            assert_int_equal(insert(&memo, &arena[base + n * 8 + 4], b), 1);
        for (size_t n = 0; n < 20; n++) {
            assert_ptr_equal(lookup(&memo, &arena[base + n * 8 + 4]), b);
            assert_null(lookup(&memo, &arena[base + n * 8]));
        }
        assert_int_equal(memo.count, 20);
        copium_memo_reset(&memo);
        assert_int_equal(Py_REFCNT(b), 1);
        assert_int_equal(memo.count, 0);
    }
    copium_memo_fini(&memo);
    Py_DECREF(a);
    Py_DECREF(b);
}

/* A value whose last reference the table holds is freed by reset (and by fini). */
/* The table as an address -> index map (the plan's recording): indices, not references, kept
 * through growth and collisions; fini releases nothing. */
static void test_index_map(void **state)
{
    (void)state;
    copium_memo memo;
    memo_setup_table(&memo);
    const void *keys[64];
    assert_int_equal(colliding_keys(keys, 8, memo.mask, 5), 8);
    for (size_t i = 0; i < 8; i++)
        assert_int_equal(
            copium_memo_insert_index(&memo, keys[i], copium_hash_ptr(keys[i]), (Py_ssize_t)i * 7),
            1);
    for (size_t i = 0; i < 1000; i++) { /* grows the table several times */
        const void *key = &arena[100000 + i];
        assert_int_equal(copium_memo_insert_index(&memo, key, copium_hash_ptr(key), (Py_ssize_t)i),
                         1);
    }
    assert_true(copium_memo_capacity(&memo) > COPIUM_MEMO_INITIAL_CAPACITY);
    for (size_t i = 0; i < 8; i++)
        assert_int_equal(copium_memo_lookup_index(&memo, keys[i], copium_hash_ptr(keys[i])),
                         (Py_ssize_t)i * 7);
    for (size_t i = 0; i < 1000; i++) {
        const void *key = &arena[100000 + i];
        assert_int_equal(copium_memo_lookup_index(&memo, key, copium_hash_ptr(key)), (Py_ssize_t)i);
    }
    assert_int_equal(
        copium_memo_lookup_index(&memo, &arena[500000], copium_hash_ptr(&arena[500000])), -1);
    /* index 0 is stored (as 1), and replacing keeps one entry */
    assert_int_equal(copium_memo_insert_index(&memo, keys[0], copium_hash_ptr(keys[0]), 0), 0);
    assert_int_equal(copium_memo_lookup_index(&memo, keys[0], copium_hash_ptr(keys[0])), 0);
    assert_int_equal(memo.count, 1008);
    copium_memo_fini_indices(&memo);
    assert_null(memo.slots);
}

static void test_reset_releases_last_reference(void **state)
{
    (void)state;
    run_exec("import weakref\n"
             "class Probe: pass\n"
             "probe = Probe()\n"
             "probe_ref = weakref.ref(probe)\n");
    PyObject *probe = run_eval("probe");
    run_exec("del probe\n");
    copium_memo memo;
    memo_setup_table(&memo);
    assert_int_equal(insert(&memo, &arena[0], probe), 1);
    Py_DECREF(probe); /* the table owns it now */
    assert_py_true("probe_ref() is not None");
    copium_memo_reset(&memo);
    assert_py_true("probe_ref() is None");
    copium_memo_fini(&memo);
    run_exec("del probe_ref, Probe\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_insert_lookup),
        cmocka_unit_test(test_miss),
        cmocka_unit_test(test_overwrite),
        cmocka_unit_test(test_collisions_in_low_bits),
        cmocka_unit_test(test_collisions_survive_growth),
        cmocka_unit_test(test_growth_keeps_entries),
        cmocka_unit_test(test_reset_empties),
        cmocka_unit_test(test_reset_is_o_entries),
        cmocka_unit_test(test_shrink_after_retention_limit),
        cmocka_unit_test(test_reuse_after_reset),
        cmocka_unit_test(test_reset_releases_last_reference),
        cmocka_unit_test(test_index_map),
    };
    return cmocka_run_group_tests_name("memo", tests, embed_setup, embed_teardown);
}
