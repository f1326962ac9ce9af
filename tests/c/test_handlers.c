/* Each builtin handler (handlers/handlers.h) on real objects, through copium_deepcopy and
 * copium_copy, with stdlib's copy module as the reference wherever the expected answer is
 * stdlib's own behaviour: atoms (which come back as themselves from both copies), list, tuple
 * (an unchanged tuple is returned as is and not memoized, one with a changed child is rebuilt),
 * dict (keys deep-copied, order kept, stdlib's errors when the dict changes size during the
 * copy), set, frozenset (rebuilt by deepcopy as stdlib does, itself for copy), bytearray and
 * bound methods, plus subclasses of the containers, which leave the exact-type handlers to the
 * generic path. For every handler the tests also check that an exception raised by a child
 * propagates and that the originals' reference counts are unchanged after the copies are
 * dropped, and that copies are no larger in memory than stdlib's. */
#include "engine_fixture.h"

static void test_atoms(void **state)
{
    (void)state;
    run_exec("import re, decimal, fractions\n"
             "class Meta(type): pass\n"
             "class WithMeta(metaclass=Meta): pass\n"
             "def function(): pass\n"
             "atoms = [None, 0, -5, 10**50, 0.5, float('nan'), 'str', '', b'bytes', True, False,\n"
             "         3+4j, ..., NotImplemented, len, function, function.__code__, int, type,\n"
             "         WithMeta, Meta, range(10), property(), weakref.ref(Meta),\n"
             "         re.compile('a+'), decimal.Decimal('1.25'), fractions.Fraction(1, 3)]\n");
    /* stdlib returns every one of these as itself from both copies. */
    assert_py_empty("[a for a in atoms if copy.deepcopy(a) is not a or copy.copy(a) is not a]");
    assert_py_empty("[a for a in atoms if cdeepcopy(a) is not a]");
    assert_py_empty("[a for a in atoms if ccopy(a) is not a]");
    assert_py_empty("[a for a in atoms if cdeepcopy([a])[0] is not a]");
    /* Atoms are never memoized (stdlib does not memoize what copies to itself). */
    run_exec("memo = {}\n"
             "cdeepcopy(atoms, memo)\n");
    assert_py_true("set(memo) == {id(atoms), id(memo)}");
    /* Something stdlib rebuilds stays rebuilt: slice is copied to itself only by copy(). */
    run_exec("sl = slice(1, [2])\n");
    assert_py_true("ccopy(sl) is sl");
    assert_py_true("(cdeepcopy(sl) is sl) == (copy.deepcopy(sl) is sl)");
    assert_py_true("cdeepcopy(sl) == copy.deepcopy(sl)");
    run_exec("del Meta, WithMeta, function, atoms, memo, sl\n");
}

static void test_list(void **state)
{
    (void)state;
    run_exec("inner = [2, 3]\n"
             "x = [1, 'a', inner, (4, [5]), (6, 7)]\n"
             "c = cdeepcopy(x)\n"
             "s = ccopy(x)\n");
    assert_py_true("type(c) is list and c == x and c is not x");
    assert_py_true("c[0] is x[0] and c[1] is x[1] and c[4] is x[4]");
    assert_py_true("c[2] is not inner and c[3] is not x[3] and c[3][1] is not x[3][1]");
    assert_py_true("type(s) is list and s == x and s is not x");
    assert_py_true("all(a is b for a, b in zip(s, x))");
    assert_py_true("cdeepcopy([]) == [] and ccopy([]) == []");
    assert_py_true("cdeepcopy(x) is not cdeepcopy(x)");
    /* No larger than stdlib's copy. */
    assert_py_true("sys.getsizeof(cdeepcopy(x)) <= sys.getsizeof(copy.deepcopy(x))");
    run_exec("big = list(range(1000))\n");
    assert_py_true("sys.getsizeof(cdeepcopy(big)) <= sys.getsizeof(copy.deepcopy(big))");
    assert_py_true("sys.getsizeof(ccopy(big)) <= sys.getsizeof(copy.copy(big))");

    /* A list that an item's __deepcopy__ changes copies as stdlib's iteration does. */
    run_exec("class Grow:\n"
             "    def __deepcopy__(self, memo):\n"
             "        if len(target) < 6:\n"
             "            target.append(len(target))\n"
             "        return 'grown'\n"
             "class Shrink:\n"
             "    def __deepcopy__(self, memo):\n"
             "        del target[2:]\n"
             "        return 'shrunk'\n"
             "cases = [lambda: [1, Grow(), 2], lambda: [Shrink(), 1, 2, 3, 4]]\n");
    assert_py_empty("[(outcome(m, cdeepcopy), outcome(m, copy.deepcopy)) for m in cases"
                    " if outcome(m, cdeepcopy) != outcome(m, copy.deepcopy)]");

    /* A subclass keeps its type and attributes (generic path, as stdlib). */
    run_exec("class L(list): pass\n"
             "sub = L([1, [2]])\n"
             "sub.attr = [3]\n"
             "csub = cdeepcopy(sub)\n");
    assert_py_true("type(csub) is L and csub == sub and csub[1] is not sub[1]");
    assert_py_true("csub.attr == [3] and csub.attr is not sub.attr");
    assert_py_true("type(ccopy(sub)) is L and ccopy(sub).attr is sub.attr");

    PyObject *x = run_eval("x");
    assert_copies_keep_refcounts(x);
    Py_DECREF(x);
    run_exec("del inner, x, c, s, big, Grow, Shrink, cases, target, L, sub, csub\n");
}

static void test_tuple(void **state)
{
    (void)state;
    run_exec("atoms_only = (1, 'a', None, (2, 3), range(2))\n"
             "with_list = (1, [2], 'b')\n"
             "nested = ((1,), [2])\n");
    /* Nothing inside changes: the tuple itself, and nothing memoized (as stdlib). */
    assert_py_true("cdeepcopy(atoms_only) is atoms_only");
    run_exec("empty = ()\n");
    assert_py_true("cdeepcopy(empty) is empty");
    run_exec("memo = {}\n"
             "smemo = {}\n"
             "cdeepcopy(atoms_only, memo)\n"
             "copy.deepcopy(atoms_only, smemo)\n");
    assert_py_true("(id(atoms_only) in memo) == (id(atoms_only) in smemo)");
    /* A changed child: a new tuple, the unchanged children shared. */
    run_exec("c = cdeepcopy(with_list)\n");
    assert_py_true("type(c) is tuple and c == with_list and c is not with_list");
    assert_py_true("c[0] is with_list[0] and c[2] is with_list[2] and c[1] is not with_list[1]");
    run_exec("c = cdeepcopy(nested)\n");
    assert_py_true("c is not nested and c[0] is nested[0] and c[1] is not nested[1]");
    /* Shallow copy: the tuple itself. */
    assert_py_true("ccopy(with_list) is with_list and ccopy(empty) is empty");
    /* Shared: the same rebuilt tuple wherever the original appeared. */
    run_exec("c = cdeepcopy([with_list, with_list])\n");
    assert_py_true("c[0] is c[1] and c[0] is not with_list");
    /* A tuple subclass (namedtuple) goes the generic way and keeps its type. */
    run_exec("import collections\n"
             "P = collections.namedtuple('P', 'a b')\n"
             "p = P(1, [2])\n"
             "cp = cdeepcopy(p)\n");
    assert_py_true("type(cp) is P and cp == p and cp.b is not p.b");
    assert_py_true("(cdeepcopy(P(1, 2)) is P(1, 2)) == (copy.deepcopy(P(1, 2)) is P(1, 2))");

    PyObject *t = run_eval("with_list");
    assert_copies_keep_refcounts(t);
    Py_DECREF(t);
    t = run_eval("atoms_only");
    assert_copies_keep_refcounts(t);
    Py_DECREF(t);
    run_exec("del empty, atoms_only, with_list, nested, memo, smemo, c, P, p, cp\n");
}

static void test_dict(void **state)
{
    (void)state;
    run_exec("d = {'a': [1], 2: (3, [4]), (5, 6): 'x', None: {'n': [7]}}\n"
             "c = cdeepcopy(d)\n"
             "s = ccopy(d)\n");
    assert_py_true("type(c) is dict and c == d and c is not d");
    assert_py_true("list(c) == list(d)");                /* insertion order kept */
    assert_py_true("all(a is b for a, b in zip(c, d))"); /* atom keys: the same objects */
    assert_py_true("c['a'] is not d['a'] and c[2] is not d[2] and c[None]['n'] is not "
                   "d[None]['n']");
    assert_py_true("c[(5, 6)] is d[(5, 6)]");
    assert_py_true("type(s) is dict and s == d and s is not d and s['a'] is d['a']");
    assert_py_true("cdeepcopy({}) == {} and ccopy({}) == {}");

    /* Keys are deep-copied too: a key object stdlib rebuilds is rebuilt. */
    run_exec("class Key:\n"
             "    pass\n"
             "k = Key()\n"
             "ck = next(iter(cdeepcopy({k: 1})))\n");
    assert_py_true("type(ck) is Key and ck is not k");
    run_exec("dk = {k: k}\n"
             "cdk = cdeepcopy(dk)\n");
    assert_py_true("list(cdk)[0] is list(cdk.values())[0]"); /* shared key and value */

    /* No larger than stdlib's copy. */
    run_exec("big = {i: i for i in range(1000)}\n");
    assert_py_true("sys.getsizeof(cdeepcopy(d)) <= sys.getsizeof(copy.deepcopy(d))");
    assert_py_true("sys.getsizeof(cdeepcopy(big)) <= sys.getsizeof(copy.deepcopy(big))");

    /* Changes made while the dict is being copied: stdlib's result or stdlib's exception. */
    run_exec("class AddKey:\n"
             "    def __deepcopy__(self, memo):\n"
             "        target['added'] = 1\n"
             "        return 'add'\n"
             "class DelKey:\n"
             "    def __deepcopy__(self, memo):\n"
             "        target.pop('z', None)\n"
             "        return 'del'\n"
             "class Reassign:\n"
             "    def __deepcopy__(self, memo):\n"
             "        target['z'] = 'reassigned'\n"
             "        return 're'\n"
             "cases = [lambda: {'a': AddKey(), 'z': 0}, lambda: {'a': DelKey(), 'z': 0},\n"
             "         lambda: {'a': Reassign(), 'z': 0}, lambda: {'z': 0, 'a': AddKey()}]\n");
    assert_py_empty("[(outcome(m, cdeepcopy), outcome(m, copy.deepcopy)) for m in cases"
                    " if outcome(m, cdeepcopy) != outcome(m, copy.deepcopy)]");

    /* Subclasses keep their type (generic path). */
    run_exec("import collections\n"
             "od = collections.OrderedDict([('b', [1]), ('a', [2])])\n"
             "dd = collections.defaultdict(list, {'x': [1]})\n");
    assert_py_true("type(cdeepcopy(od)) is collections.OrderedDict and cdeepcopy(od) == od");
    assert_py_true("cdeepcopy(dd).default_factory is list and cdeepcopy(dd) == dd");
    assert_py_true("cdeepcopy(dd)['x'] is not dd['x']");

    PyObject *x = run_eval("d");
    assert_copies_keep_refcounts(x);
    Py_DECREF(x);
    x = run_eval("dk");
    assert_copies_keep_refcounts(x);
    Py_DECREF(x);
    run_exec("del d, c, s, Key, k, ck, dk, cdk, big, AddKey, DelKey, Reassign, cases\n"
             "del target, od, dd\n");
}

static void test_set(void **state)
{
    (void)state;
    run_exec("class H:\n"
             "    pass\n"
             "h = H()\n"
             "st = {1, 'a', (2, 3), frozenset({4}), h}\n"
             "c = cdeepcopy(st)\n"
             "s = ccopy(st)\n");
    assert_py_true("type(c) is set and c is not st and len(c) == len(st)");
    assert_py_true("c - {next(e for e in c if type(e) is H)} == st - {h}");
    assert_py_true("h not in c"); /* the instance was rebuilt, as stdlib does */
    assert_py_true("type(s) is set and s == st and s is not st and h in s");
    assert_py_true("cdeepcopy(set()) == set() and ccopy(set()) == set()");
    assert_py_true("cdeepcopy({1, 2}) == {1, 2}");
    /* Shared set: one copy. */
    run_exec("cc = cdeepcopy([st, st])\n");
    assert_py_true("cc[0] is cc[1] and cc[0] is not st");

    PyObject *x = run_eval("st");
    assert_copies_keep_refcounts(x);
    Py_DECREF(x);
    run_exec("del H, h, st, c, s, cc\n");
}

static void test_frozenset(void **state)
{
    (void)state;
    run_exec("fs = frozenset({1, 'a', (2, 3)})\n"
             "c = cdeepcopy(fs)\n");
    assert_py_true("type(c) is frozenset and c == fs");
    /* stdlib rebuilds a frozenset on deepcopy (its reduce path) and returns it from copy. */
    assert_py_true("(c is fs) == (copy.deepcopy(fs) is fs)");
    run_exec("e = frozenset()\n");
    assert_py_true("(cdeepcopy(e) is e) == (copy.deepcopy(e) is e)");
    assert_py_true("ccopy(fs) is fs and ccopy(e) is e");
    /* As a dict key and inside a tuple. */
    run_exec("cd = cdeepcopy({fs: [1]})\n");
    assert_py_true("cd == {fs: [1]}");
    run_exec("t = (fs,)\n");
    assert_py_true("(cdeepcopy(t) is t) == (copy.deepcopy(t) is t)");
    /* Shared: one copy. */
    run_exec("cc = cdeepcopy([fs, fs])\n");
    assert_py_true("cc[0] is cc[1]");

    PyObject *x = run_eval("fs");
    assert_copies_keep_refcounts(x);
    Py_DECREF(x);
    run_exec("del fs, e, c, cd, t, cc\n");
}

static void test_bytearray(void **state)
{
    (void)state;
    run_exec("b = bytearray(b'abc')\n"
             "c = cdeepcopy(b)\n"
             "s = ccopy(b)\n");
    assert_py_true("type(c) is bytearray and c == b and c is not b");
    assert_py_true("type(s) is bytearray and s == b and s is not b");
    run_exec("c[0] = 0\n"
             "s[1] = 0\n");
    assert_py_true("b == bytearray(b'abc')");
    assert_py_true("cdeepcopy(bytearray()) == bytearray()");
    run_exec("cc = cdeepcopy([b, b])\n");
    assert_py_true("cc[0] is cc[1] and cc[0] is not b");
    /* A subclass carries its attributes (generic path, as stdlib). */
    run_exec("class BA(bytearray): pass\n"
             "sub = BA(b'xy')\n"
             "sub.attr = [1]\n"
             "csub = cdeepcopy(sub)\n");
    assert_py_true("type(csub) is BA and csub == sub and csub.attr == [1]");
    assert_py_true("csub.attr is not sub.attr");

    PyObject *x = run_eval("b");
    assert_copies_keep_refcounts(x);
    Py_DECREF(x);
    run_exec("del b, c, s, cc, BA, sub, csub\n");
}

static void test_method(void **state)
{
    (void)state;
    run_exec("class C:\n"
             "    def __init__(self):\n"
             "        self.data = [1]\n"
             "    def get(self):\n"
             "        return self.data\n"
             "    @classmethod\n"
             "    def cm(cls):\n"
             "        return cls\n"
             "obj = C()\n"
             "m = obj.get\n"
             "c = cdeepcopy(m)\n");
    assert_py_true("type(c) is type(m) and c.__func__ is m.__func__");
    assert_py_true("c.__self__ is not obj and type(c.__self__) is C");
    assert_py_true("c() == [1] and c() is not obj.data");
    /* Shared self: the method's copy is bound to the copy of the instance. */
    run_exec("cc = cdeepcopy([obj, m])\n");
    assert_py_true("cc[1].__self__ is cc[0]");
    /* Shallow copy: as stdlib, bound to the same instance. */
    run_exec("s = ccopy(m)\n");
    assert_py_true("s.__self__ is obj and s.__func__ is m.__func__");
    assert_py_true("(s is m) == (copy.copy(m) is m)");
    /* A classmethod bound to its class: the class is an atom. */
    run_exec("bcm = C.cm\n");
    assert_py_true("cdeepcopy(bcm).__self__ is C and cdeepcopy(bcm)() is C");
    /* A builtin bound method is a builtin function: an atom in stdlib. */
    run_exec("lst = []\n"
             "ap = lst.append\n");
    assert_py_true("(cdeepcopy(ap) is ap) == (copy.deepcopy(ap) is ap)");

    PyObject *x = run_eval("m");
    assert_copies_keep_refcounts(x);
    Py_DECREF(x);
    run_exec("del C, obj, m, c, cc, s, bcm, lst, ap\n");
}

/* Entries a program adds to stdlib's tables win over the builtin handlers, even for types
 * copied (and so resolved and cached) before, and the handlers come back once they are gone. */
static void test_stdlib_tables_honoured(void **state)
{
    (void)state;
    /* 3.14 replaced copy._copy_dispatch by sets of types: there is no shallow table to override. */
    run_exec("import copyreg\n"
             "copy_table = getattr(copy, '_copy_dispatch', None)\n"
             "class Custom:\n"
             "    pass\n"
             "class Reduced:\n"
             "    def __init__(self, v):\n"
             "        self.v = v\n"
             "cobj = Custom()\n"
             "robj = Reduced([1])\n"
             "def overridden(dc, cp):\n"
             "    dc(cobj), dc([1]), dc(robj), cp([1])  # resolved and cached first\n"
             "    copy._deepcopy_dispatch[Custom] = lambda x, memo: 'custom'\n"
             "    copy._deepcopy_dispatch[list] = lambda x, memo: 'list'\n"
             "    if copy_table is not None: copy_table[list] = lambda x: 'shallow list'\n"
             "    copyreg.pickle(Reduced, lambda r: (Reduced, ('reduced',)))\n"
             "    try:\n"
             "        return (dc(cobj), dc([1]), dc({'a': [1]}), dc(robj).v, cp([1]))\n"
             "    finally:\n"
             "        del copy._deepcopy_dispatch[Custom], copy._deepcopy_dispatch[list]\n"
             "        del copyreg.dispatch_table[Reduced]\n"
             "        if copy_table is not None: del copy_table[list]\n"
             "ours = overridden(cdeepcopy, ccopy)\n"
             "theirs = overridden(copy.deepcopy, copy.copy)\n");
    assert_py_true("theirs == ('custom', 'list', {'a': 'list'}, 'reduced', "
                   "'shallow list' if copy_table is not None else [1])");
    assert_py_empty("[] if ours == theirs else [ours]");
    /* Removed again: the builtin behaviour is back. */
    assert_py_true("cdeepcopy([1]) == [1] and ccopy([1]) == [1]");
    assert_py_true("type(cdeepcopy(cobj)) is Custom and cdeepcopy(cobj) is not cobj");
    assert_py_true("cdeepcopy(robj).v == [1]");
    run_exec("del Custom, Reduced, cobj, robj, overridden, ours, theirs, copy_table\n");
}

/* An exception raised while copying a child leaves every handler, with the originals'
 * reference counts unchanged. */
static void test_errors_propagate(void **state)
{
    (void)state;
    run_exec("class Boom:\n"
             "    def __deepcopy__(self, memo):\n"
             "        raise ValueError('boom')\n"
             "    def explode(self):\n"
             "        pass\n"
             "boom = Boom()\n"
             "error_cases = [[1, boom], (1, boom), {'k': boom}, {boom: 1}, {1, boom},\n"
             "               frozenset({boom}), boom.explode, [[[boom]]], ({'a': (boom,)},)]\n");
    PyObject *cases = run_eval("error_cases");
    PyObject *boom = run_eval("boom");
    Py_ssize_t boom_refs = Py_REFCNT(boom);
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(cases); i++) {
        PyObject *item = PyList_GET_ITEM(cases, i);
        Py_ssize_t refs = Py_REFCNT(item);
        PyObject *copy = copium_deepcopy(&fixture_core, item, NULL);
        if (copy != NULL) {
            PyObject_Print(item, stderr, 0);
            fail_msg("copied without an error");
        }
        assert_pyerr(PyExc_ValueError);
        assert_int_equal(Py_REFCNT(item), refs);
        assert_int_equal(Py_REFCNT(boom), boom_refs);
        /* Shallow copies do not reach the child's __deepcopy__. */
        copy = copium_copy(&fixture_core, item);
        assert_no_pyerr();
        assert_non_null(copy);
        Py_DECREF(copy);
        assert_int_equal(Py_REFCNT(item), refs);
    }
    Py_DECREF(cases);
    Py_DECREF(boom);
    run_exec("del Boom, boom, error_cases\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_atoms),
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_tuple),
        cmocka_unit_test(test_dict),
        cmocka_unit_test(test_set),
        cmocka_unit_test(test_frozenset),
        cmocka_unit_test(test_bytearray),
        cmocka_unit_test(test_method),
        cmocka_unit_test(test_stdlib_tables_honoured),
        cmocka_unit_test(test_errors_propagate),
    };
    return cmocka_run_group_tests_name("handlers", tests, engine_setup, engine_teardown);
}
