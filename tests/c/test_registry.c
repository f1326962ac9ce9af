/* The registry (core/registry.h): exact type -> handler vtable, with a resolver for the types
 * nobody registered and a direct-mapped cache in front. Each test starts from an empty registry
 * with a resolver of its own (it answers a special handler for classes whose name starts with
 * "Special" and the default handler otherwise, and counts its calls), and works on fresh heap
 * types made with type(name, (), {}), so that reference counts can be checked: the registry
 * holds one reference per registered type and gives it back on unregister and fini. The tests
 * cover register/find/unregister, replacement, the cache being invalidated by every change,
 * the resolver's answers (a non-default one is registered, a default one only cached), the
 * rejection of malformed handlers with the documented exception, larger structs from newer
 * plugins, foreach, many types sharing cache slots, and the decorator. */
#include "embed.h"

#include <string.h>

#include "../../core/registry.h"

static PyObject *identity_deepcopy(copium_ctx *ctx, PyObject *obj, copium_hash_t hash, void *data)
{
    (void)ctx;
    (void)hash;
    (void)data;
    return Py_NewRef(obj);
}

static PyObject *identity_copy(PyObject *obj, void *data)
{
    (void)data;
    return Py_NewRef(obj);
}

#define HANDLER(NAME)                                                                              \
    {                                                                                              \
        .struct_size = sizeof(copium_handler), .name = NAME, .flags = 0,                           \
        .deepcopy = identity_deepcopy, .copy = identity_copy, .data = NULL,                        \
    }

static const copium_handler h_default = HANDLER("default");
static const copium_handler h_special = HANDLER("special");
static const copium_handler h_one = HANDLER("one");
static const copium_handler h_two = HANDLER("two");
static const copium_handler h_atomic = {
    .struct_size = sizeof(copium_handler),
    .name = "atomic",
    .flags = COPIUM_HANDLER_ATOMIC,
};

/* The registry under test (a module's core state holds one per interpreter). */
static copium_registry reg;

static int resolver_calls;

static const copium_handler *name_resolver(PyTypeObject *type, void *data)
{
    (void)data;
    resolver_calls++;
    if (strncmp(type->tp_name, "Special", 7) == 0)
        return &h_special;
    return &h_default;
}

static int registry_setup(void **state)
{
    (void)state;
    resolver_calls = 0;
    return copium_registry_init(&reg, name_resolver, NULL, &h_default, NULL);
}

static int registry_teardown(void **state)
{
    (void)state;
    copium_registry_fini(&reg);
    return 0;
}

/* The registry keeps its own copy of each vtable: the same handler has the same contents. */
static void assert_same_handler(const copium_handler *got, const copium_handler *want)
{
    assert_non_null(got);
    assert_ptr_equal(got->name, want->name);
    assert_int_equal(got->flags, want->flags);
    assert_true(got->deepcopy == want->deepcopy);
    assert_true(got->copy == want->copy);
    assert_ptr_equal(got->data, want->data);
}

/* A new heap type: type(name, (), {}). */
static PyTypeObject *new_type(const char *name)
{
    PyObject *t = PyObject_CallFunction((PyObject *)&PyType_Type, "s()N", name, PyDict_New());
    if (t == NULL)
        PyErr_Print();
    assert_non_null(t);
    return (PyTypeObject *)t;
}

static void test_register_find_unregister(void **state)
{
    (void)state;
    PyTypeObject *t = new_type("A");
    assert_null(copium_registry_find(&reg, t));
    assert_int_equal(copium_registry_register(&reg, t, &h_one), 0);
    assert_same_handler(copium_registry_find(&reg, t), &h_one);
    assert_same_handler(copium_registry_lookup(&reg, t), &h_one);
    assert_int_equal(resolver_calls, 0); /* a registered type never reaches the resolver */
    assert_int_equal(copium_registry_unregister(&reg, t), 1);
    assert_null(copium_registry_find(&reg, t));
    assert_int_equal(copium_registry_unregister(&reg, t), 0); /* nothing left to remove */
    assert_no_pyerr();
    Py_DECREF(t);
}

static void test_builtin_types(void **state)
{
    (void)state;
    /* Static types register like heap types. */
    assert_int_equal(copium_registry_register(&reg, &PyList_Type, &h_one), 0);
    assert_int_equal(copium_registry_register(&reg, &PyDict_Type, &h_two), 0);
    assert_int_equal(copium_registry_register(&reg, &PyLong_Type, &h_atomic), 0);
    assert_same_handler(copium_registry_lookup(&reg, &PyList_Type), &h_one);
    assert_same_handler(copium_registry_lookup(&reg, &PyDict_Type), &h_two);
    assert_same_handler(copium_registry_lookup(&reg, &PyLong_Type), &h_atomic);
    assert_null(copium_registry_find(&reg, &PyTuple_Type));
    assert_int_equal(resolver_calls, 0);
}

static void test_holds_type_reference(void **state)
{
    (void)state;
    PyTypeObject *t = new_type("A");
    Py_ssize_t before = Py_REFCNT(t);
    assert_int_equal(copium_registry_register(&reg, t, &h_one), 0);
    assert_int_equal(Py_REFCNT(t), before + 1);
    assert_int_equal(copium_registry_register(&reg, t, &h_two),
                     0); /* replacement: no new reference */
    assert_int_equal(Py_REFCNT(t), before + 1);
    assert_int_equal(copium_registry_unregister(&reg, t), 1);
    assert_int_equal(Py_REFCNT(t), before);

    /* The registry alone keeps a registered type alive. */
    bind("registered_type", (PyObject *)t);
    run_exec("import weakref\n"
             "registered_ref = weakref.ref(registered_type)\n"
             "del registered_type\n");
    assert_int_equal(copium_registry_register(&reg, t, &h_one), 0);
    Py_DECREF(t);
    run_exec("import gc; gc.collect()\n");
    assert_py_true("registered_ref() is not None");
    assert_same_handler(copium_registry_find(&reg, t), &h_one);
    copium_registry_fini(&reg); /* gives every reference back */
    run_exec("gc.collect()\n");
    assert_py_true("registered_ref() is None");
    run_exec("del registered_ref\n");
}

static void test_replace(void **state)
{
    (void)state;
    PyTypeObject *t = new_type("A");
    assert_int_equal(copium_registry_register(&reg, t, &h_one), 0);
    assert_int_equal(copium_registry_register(&reg, t, &h_two), 0);
    assert_same_handler(copium_registry_find(&reg, t), &h_two);
    assert_int_equal(copium_registry_unregister(&reg, t), 1);
    assert_null(copium_registry_find(&reg, t)); /* one registration, not two */
    Py_DECREF(t);
}

static void test_lookup_cache_invalidated(void **state)
{
    (void)state;
    PyTypeObject *t = new_type("A");
    assert_int_equal(copium_registry_register(&reg, t, &h_one), 0);
    assert_same_handler(copium_registry_lookup(&reg, t), &h_one); /* now cached */
    assert_same_handler(copium_registry_lookup(&reg, t), &h_one);

    assert_int_equal(copium_registry_register(&reg, t, &h_two), 0); /* replacement */
    assert_same_handler(copium_registry_lookup(&reg, t), &h_two);

    assert_int_equal(copium_registry_unregister(&reg, t), 1);
    assert_same_handler(copium_registry_lookup(&reg, t), &h_default); /* back to the resolver */
    assert_int_equal(resolver_calls, 1);

    /* A type first resolved (and cached) as default, then registered. */
    PyTypeObject *u = new_type("B");
    assert_same_handler(copium_registry_lookup(&reg, u), &h_default);
    assert_int_equal(copium_registry_register(&reg, u, &h_one), 0);
    assert_same_handler(copium_registry_lookup(&reg, u), &h_one);
    Py_DECREF(t);
    Py_DECREF(u);
}

static void test_resolver(void **state)
{
    (void)state;
    PyTypeObject *plain = new_type("Plain");
    PyTypeObject *special = new_type("SpecialThing");

    /* A default answer is cached but not registered: no reference taken. */
    Py_ssize_t plain_refs = Py_REFCNT(plain);
    assert_same_handler(copium_registry_lookup(&reg, plain), &h_default);
    assert_int_equal(resolver_calls, 1);
    assert_null(copium_registry_find(&reg, plain));
    assert_int_equal(Py_REFCNT(plain), plain_refs);
    assert_same_handler(copium_registry_lookup(&reg, plain), &h_default);
    assert_int_equal(resolver_calls, 1); /* served by the cache */

    /* A non-default answer is registered, which holds the type. */
    Py_ssize_t special_refs = Py_REFCNT(special);
    assert_same_handler(copium_registry_lookup(&reg, special), &h_special);
    assert_int_equal(resolver_calls, 2);
    assert_same_handler(copium_registry_find(&reg, special), &h_special);
    assert_int_equal(Py_REFCNT(special), special_refs + 1);
    assert_same_handler(copium_registry_lookup(&reg, special), &h_special);
    assert_int_equal(resolver_calls, 2);

    /* Invalidation forgets cached answers: the resolver is asked again for unregistered
     * types only. */
    copium_registry_invalidate(&reg);
    assert_same_handler(copium_registry_lookup(&reg, plain), &h_default);
    assert_int_equal(resolver_calls, 3);
    assert_same_handler(copium_registry_lookup(&reg, special), &h_special);
    assert_int_equal(resolver_calls, 3);

    /* Registration wins over the resolver. */
    PyTypeObject *special2 = new_type("SpecialOther");
    assert_int_equal(copium_registry_register(&reg, special2, &h_one), 0);
    assert_same_handler(copium_registry_lookup(&reg, special2), &h_one);
    assert_int_equal(resolver_calls, 3);

    assert_int_equal(copium_registry_unregister(&reg, special), 1);
    assert_int_equal(Py_REFCNT(special), special_refs);
    Py_DECREF(plain);
    Py_DECREF(special);
    Py_DECREF(special2);
}

static void test_no_resolver(void **state)
{
    (void)state;
    assert_int_equal(copium_registry_init(&reg, NULL, NULL, &h_default, NULL), 0);
    PyTypeObject *t = new_type("SpecialButNoResolver");
    assert_same_handler(copium_registry_lookup(&reg, t), &h_default);
    assert_null(copium_registry_find(&reg, t));
    assert_ptr_equal(copium_registry_default(&reg), &h_default);
    Py_DECREF(t);
}

static void test_default(void **state)
{
    (void)state;
    assert_ptr_equal(copium_registry_default(&reg), &h_default);
}

/* Registering handler for t must fail with exc and leave the registry and t unchanged. */
static void expect_rejected(PyTypeObject *t, const copium_handler *handler, PyObject *exc)
{
    Py_ssize_t refs = Py_REFCNT(t);
    assert_int_equal(copium_registry_register(&reg, t, handler), -1);
    assert_pyerr(exc);
    assert_null(copium_registry_find(&reg, t));
    assert_int_equal(Py_REFCNT(t), refs);
}

static void test_bad_handlers(void **state)
{
    (void)state;
    PyTypeObject *t = new_type("A");

    expect_rejected(t, NULL, PyExc_ValueError);

    copium_handler small = h_one;
    small.struct_size = COPIUM_HANDLER_MIN_SIZE - 1;
    expect_rejected(t, &small, PyExc_ValueError);
    small.struct_size = 0;
    expect_rejected(t, &small, PyExc_ValueError);

    copium_handler flags = h_one;
    flags.flags = 0x08000000u; /* no such flag, public or internal */
    expect_rejected(t, &flags, PyExc_ValueError);
    flags.flags = COPIUM_HANDLER_ATOMIC | 0x4u;
    expect_rejected(t, &flags, PyExc_ValueError);

    copium_handler unnamed = h_one;
    unnamed.name = NULL;
    expect_rejected(t, &unnamed, PyExc_ValueError);

    /* A rejected replacement keeps the existing registration. */
    assert_int_equal(copium_registry_register(&reg, t, &h_one), 0);
    assert_int_equal(copium_registry_register(&reg, t, &unnamed), -1);
    assert_pyerr(PyExc_ValueError);
    assert_same_handler(copium_registry_find(&reg, t), &h_one);
    assert_int_equal(copium_registry_unregister(&reg, t), 1);

    /* Not a type. */
    PyObject *not_a_type = PyList_New(0);
    assert_int_equal(copium_registry_register(&reg, (PyTypeObject *)not_a_type, &h_one), -1);
    assert_pyerr(PyExc_TypeError);
    assert_int_equal(Py_REFCNT(not_a_type), 1);
    assert_null(copium_registry_find(&reg, (PyTypeObject *)not_a_type));
    Py_DECREF(not_a_type);
    assert_int_equal(copium_registry_register(&reg, NULL, &h_one), -1);
    assert_pyerr(PyExc_TypeError);

    Py_DECREF(t);
}

/* A plugin built against a newer header passes a larger struct: accepted, its known fields
 * used. The smallest accepted size is the first published layout. */
static void test_struct_sizes(void **state)
{
    (void)state;
    static struct {
        copium_handler base;
        void *added_later[4];
    } newer;
    newer.base = h_one;
    newer.base.struct_size = sizeof(newer);
    PyTypeObject *t = new_type("A");
    assert_int_equal(copium_registry_register(&reg, t, &newer.base), 0);
    assert_same_handler(copium_registry_lookup(&reg, t), &h_one);
    /* normalised to this version's layout */
    assert_int_equal(copium_registry_lookup(&reg, t)->struct_size, sizeof(copium_handler));

    copium_handler minimal = h_two;
    minimal.struct_size = COPIUM_HANDLER_MIN_SIZE;
    assert_int_equal(copium_registry_register(&reg, t, &minimal), 0);
    /* the registry keeps its own copy: the caller's struct may change or go away */
    memset(&minimal, 0, sizeof(minimal));
    assert_same_handler(copium_registry_lookup(&reg, t), &h_two);
    assert_int_equal(copium_registry_unregister(&reg, t), 1);
    Py_DECREF(t);
}

struct seen {
    PyTypeObject *types[8];
    const copium_handler *handlers[8];
    int count;
    int stop_at; /* return non-zero on this call (1-based); 0: never */
};

static int collect(PyTypeObject *type, const copium_handler *h, void *arg)
{
    struct seen *s = arg;
    if (s->count < 8) {
        s->types[s->count] = type;
        s->handlers[s->count] = h;
    }
    s->count++;
    return s->count == s->stop_at ? 42 : 0;
}

static const copium_handler *seen_handler(const struct seen *s, PyTypeObject *t)
{
    for (int n = 0; n < s->count && n < 8; n++) {
        if (s->types[n] == t)
            return s->handlers[n];
    }
    return NULL;
}

static void test_foreach(void **state)
{
    (void)state;
    struct seen s = {.count = 0, .stop_at = 0};
    assert_int_equal(copium_registry_foreach(&reg, collect, &s), 0);
    assert_int_equal(s.count, 0); /* empty */

    PyTypeObject *a = new_type("A"), *b = new_type("B"), *c = new_type("C");
    assert_int_equal(copium_registry_register(&reg, a, &h_one), 0);
    assert_int_equal(copium_registry_register(&reg, b, &h_two), 0);
    assert_int_equal(copium_registry_register(&reg, c, &h_one), 0);
    assert_int_equal(copium_registry_register(&reg, b, &h_special), 0); /* replaced: still once */

    s = (struct seen){.count = 0, .stop_at = 0};
    assert_int_equal(copium_registry_foreach(&reg, collect, &s), 0);
    assert_int_equal(s.count, 3);
    assert_same_handler(seen_handler(&s, a), &h_one);
    assert_same_handler(seen_handler(&s, b), &h_special);
    assert_same_handler(seen_handler(&s, c), &h_one);

    /* A non-zero return stops the walk and is returned. */
    s = (struct seen){.count = 0, .stop_at = 2};
    assert_int_equal(copium_registry_foreach(&reg, collect, &s), 42);
    assert_int_equal(s.count, 2);

    assert_int_equal(copium_registry_unregister(&reg, b), 1);
    s = (struct seen){.count = 0, .stop_at = 0};
    assert_int_equal(copium_registry_foreach(&reg, collect, &s), 0);
    assert_int_equal(s.count, 2);
    assert_null(seen_handler(&s, b));
    Py_DECREF(a);
    Py_DECREF(b);
    Py_DECREF(c);
}

/* Far more types than cache slots: every lookup still answers for its own type. */
static void test_many_types_share_cache_slots(void **state)
{
    (void)state;
    enum { N = 2000 };
    static PyTypeObject *types[N];
    for (int n = 0; n < N; n++) {
        char name[32];
        snprintf(name, sizeof(name), n % 3 == 0 ? "Special%d" : "T%d", n);
        types[n] = new_type(name);
        if (n % 3 == 1)
            assert_int_equal(copium_registry_register(&reg, types[n], n % 2 ? &h_one : &h_two), 0);
    }
    for (int round = 0; round < 2; round++) {
        for (int n = 0; n < N; n++) {
            const copium_handler *want = n % 3 == 0   ? &h_special
                                         : n % 3 == 1 ? (n % 2 ? &h_one : &h_two)
                                                      : &h_default;
            assert_same_handler(copium_registry_lookup(&reg, types[n]), want);
        }
    }
    for (int n = 0; n < N; n++) {
        if (n % 3 != 2)
            assert_int_equal(copium_registry_unregister(&reg, types[n]), 1);
        Py_DECREF(types[n]);
    }
}

/* The decorator (batch/pins.c's hook): shown the handler found for a type before it is cached,
 * it may hand out another; the table keeps the registered one. */
static PyTypeObject *decorated_type;
static int decorator_calls;

static const copium_handler *decorate_one(PyTypeObject *type, const copium_handler *h, void *data)
{
    decorator_calls++;
    assert_ptr_equal(data, &decorated_type);
    return type == decorated_type ? &h_two : h;
}

static void test_decorator(void **state)
{
    (void)state;
    PyTypeObject *t = new_type("Decorated");
    PyTypeObject *other = new_type("Other");
    decorated_type = t;
    decorator_calls = 0;
    assert_int_equal(copium_registry_register(&reg, t, &h_one), 0);
    assert_same_handler(copium_registry_lookup(&reg, t), &h_one);

    copium_registry_set_decorator(&reg, decorate_one, &decorated_type); /* invalidates the cache */
    assert_ptr_equal(copium_registry_lookup(&reg, t), &h_two);
    assert_int_equal(decorator_calls, 1);
    assert_ptr_equal(copium_registry_lookup(&reg, t), &h_two); /* cached */
    assert_int_equal(decorator_calls, 1);
    assert_same_handler(copium_registry_find(&reg, t), &h_one); /* the table is untouched */
    assert_same_handler(copium_registry_lookup(&reg, other), &h_default); /* resolved, decorated */
    assert_int_equal(decorator_calls, 2);
    assert_null(copium_registry_find(&reg, other));

    /* A change to the registration: asked again, with the new handler. */
    assert_int_equal(copium_registry_register(&reg, t, &h_special), 0);
    assert_ptr_equal(copium_registry_lookup(&reg, t), &h_two);
    assert_int_equal(decorator_calls, 3);
    decorated_type = NULL;
    copium_registry_invalidate(&reg);
    assert_same_handler(copium_registry_lookup(&reg, t), &h_special);

    copium_registry_set_decorator(&reg, NULL, NULL);
    decorated_type = t;
    assert_same_handler(copium_registry_lookup(&reg, t), &h_special);
    assert_int_equal(decorator_calls, 4);
    assert_int_equal(copium_registry_unregister(&reg, t), 1);
    Py_DECREF(t);
    Py_DECREF(other);
}

#define REG_TEST(f) cmocka_unit_test_setup_teardown(f, registry_setup, registry_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        REG_TEST(test_register_find_unregister),
        REG_TEST(test_builtin_types),
        REG_TEST(test_holds_type_reference),
        REG_TEST(test_replace),
        REG_TEST(test_lookup_cache_invalidated),
        REG_TEST(test_resolver),
        REG_TEST(test_no_resolver),
        REG_TEST(test_default),
        REG_TEST(test_bad_handlers),
        REG_TEST(test_struct_sizes),
        REG_TEST(test_foreach),
        REG_TEST(test_many_types_share_cache_slots),
        REG_TEST(test_decorator),
    };
    return cmocka_run_group_tests_name("registry", tests, embed_setup, embed_teardown);
}
