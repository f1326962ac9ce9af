"""How the tests compare a copy made by the implementation under test with stdlib's copy of
the same original: value by value and identity by identity (Walker, assert_same_copy), and
outcomes that may be exceptions (outcome, assert_same_outcome). The helper classes and graph
builders the tests copy are in conftest.py.

IMPL_NAME names the implementation under test: `copium` unless the environment variable
COPIUM_TEST_IMPL names another module with the same API (conftest.py imports it as `impl`);
`COPIUM_TEST_IMPL=copy` runs the whole suite against stdlib itself, which shows that the tests
are consistent with the reference they compare to. Here it only labels failure messages.
"""

import collections
import collections.abc
import math
import os
import reprlib
import types

IMPL_NAME = os.environ.get("COPIUM_TEST_IMPL", "copium")

# Exact types that both deepcopy and copy return as themselves; equal values of these may or
# may not be the same object depending on the interpreter's caches, so identity between two
# fresh atoms is never compared, only identity with the original.
ATOM_TYPES = (type(None), bool, int, float, complex, str, bytes)

_repr = reprlib.Repr()
_repr.maxstring = 60
_repr.maxother = 60
_repr.maxlevel = 3


def short(obj):
    try:
        return _repr.repr(obj)
    except Exception as exc:  # a half-built object may not repr
        return "<%s, repr failed: %r>" % (type(obj).__name__, exc)


# --------------------------------------------------------------------------------------------
# Outcomes: a result or an exception, compared by exception type.


class Outcome:
    __slots__ = ("value", "error")

    def __init__(self, value=None, error=None):
        self.value = value
        self.error = error

    def __repr__(self):
        if self.error is not None:
            return "raised %s(%s)" % (type(self.error).__name__, short(str(self.error)))
        return "returned %s" % short(self.value)


def outcome(fn, *args, **kwargs):
    try:
        return Outcome(value=fn(*args, **kwargs))
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: B902 - any exception is an outcome to compare
        return Outcome(error=exc)


def assert_same_outcome(expected, got, original=None, what=""):
    """Both raised exceptions of the same type, or both returned copies that match."""
    if expected.error is not None or got.error is not None:
        assert expected.error is not None and got.error is not None and type(
            expected.error) is type(got.error), "%s: stdlib %r, %s %r" % (
            what, expected, IMPL_NAME, got)
        return
    assert_same_copy(original, expected.value, got.value)


# --------------------------------------------------------------------------------------------
# assert_same_copy


class _No:
    """No corresponding original (the copy's shape differs from the original's)."""

    def __repr__(self):
        return "<no original>"


NO_ORIGINAL = _No()


def _floats_same(x, y):
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    return x == y and math.copysign(1.0, x) == math.copysign(1.0, y)


def _atoms_same(a, b):
    if isinstance(a, float):
        return _floats_same(a, b)
    if isinstance(a, complex):
        return _floats_same(a.real, b.real) and _floats_same(a.imag, b.imag)
    return a == b


def canon(x, depth=0):
    """A string naming x by value, stable between an object and its copies: used to match
    members of sets. Instances are named by their class and tag."""
    t = type(x)
    if depth > 20:
        return "..."
    if t in ATOM_TYPES:
        if t is float and math.isnan(x):
            return "float:nan"
        return "%s:%r" % (t.__name__, x)
    if _is(x, tuple):
        return "%s(%s)" % (t.__name__, ",".join(canon(c, depth + 1) for c in x))
    if _is(x, frozenset):
        return "%s{%s}" % (t.__name__, ",".join(sorted(canon(c, depth + 1) for c in x)))
    tag = _get_attr(x, "tag")
    return "%s#%r" % (t.__name__, tag)


def _get_attr(x, name, default=None):
    try:
        return object.__getattribute__(x, name)
    except AttributeError:
        return default
    except Exception:
        return default


def _instance_dict(x):
    try:
        d = object.__getattribute__(x, "__dict__")
    except Exception:
        return None
    return d if type(d) is dict else None


def _slot_descriptors(t):
    out = []
    for klass in t.__mro__:
        slots = klass.__dict__.get("__slots__", ())
        if isinstance(slots, str):
            slots = (slots,)
        for name in slots:
            if name in ("__dict__", "__weakref__"):
                continue
            desc = klass.__dict__.get(name)
            if desc is not None and hasattr(desc, "__get__"):
                out.append((name, desc))
    return out


_UNSET = object()
_HEAPTYPE = 1 << 9


def _reduced(x):
    """x.__reduce_ex__(4) with iterators made into lists, or None when x does not reduce."""
    try:
        rv = x.__reduce_ex__(4)
    except Exception:
        return None
    if not isinstance(rv, tuple):
        return None
    return tuple(list(item) if isinstance(item, collections.abc.Iterator) else item
                 for item in rv)


def _slot_value(desc, x):
    try:
        return desc.__get__(x, type(x))
    except AttributeError:
        return _UNSET


def _is(x, types_):
    """isinstance by the real type (an object's __class__ may lie)."""
    return issubclass(type(x), types_)


def _has_value_eq(t):
    return getattr(t, "__eq__", object.__eq__) is not object.__eq__


class Walker:
    """Walks an original and two copies of it in parallel.

    Checks at every position: same type; same value for atoms and bytearrays; same length
    and, position by position, the same structure for containers and instance state; the copy
    is the original object there in both copies or in neither. Across positions: the pairing
    of sub-objects of the two copies is one to one (a sub-object shared by two positions in
    one copy is shared by the same positions in the other, cycles included), and the same
    original sub-object met twice maps to the same copy sub-object twice in both copies or in
    neither. At the end: a sub-object of one copy is an original object iff the corresponding
    sub-object of the other copy is that same original object.
    """

    def __init__(self):
        self.a2b = {}          # id(a) -> (a, b)
        self.b2a = {}          # id(b) -> (b, a)
        self.o2ab = {}         # id(o) -> (o, a, b)
        self.originals = {}    # id(o) -> o, every original reached
        self.pairs = []        # every (a, b, path) visited

    def fail(self, path, message, o, a, b):
        raise AssertionError(
            "%s: %s\n  original: %s\n  stdlib:   %s\n  %s: %s" % (
                path, message, short(o), short(a), IMPL_NAME, short(b)))

    def walk(self, o, a, b, path="x"):
        stack = [(o, a, b, path)]
        while stack:
            o, a, b, path = stack.pop()
            children = self._visit(o, a, b, path)
            if children:
                stack.extend(reversed(children))

    def _visit(self, o, a, b, path):
        ta = type(a)
        if ta is not type(b):
            self.fail(path, "types differ: %s vs %s" % (ta.__name__, type(b).__name__), o, a, b)
        if o is not NO_ORIGINAL:
            self.originals[id(o)] = o
            if (a is o) != (b is o):
                self.fail(path, "the copy is the original in one copy only (stdlib: %s, %s: %s)"
                          % (a is o, IMPL_NAME, b is o), o, a, b)
            seen = self.o2ab.get(id(o))
            if seen is None:
                self.o2ab[id(o)] = (o, a, b)
            elif (seen[1] is a) != (seen[2] is b):
                self.fail(path, "this original was met before and copied to the same object "
                          "again in one copy only", o, a, b)
        self.pairs.append((a, b, path))
        if ta in ATOM_TYPES:
            if not _atoms_same(a, b):
                self.fail(path, "values differ", o, a, b)
            return None
        seen = self.a2b.get(id(a))
        if seen is not None:
            if seen[1] is not b:
                self.fail(path, "shared in the stdlib copy but not in the other", o, a, b)
            return None
        if id(b) in self.b2a:
            self.fail(path, "shared in the %s copy but not in stdlib's" % IMPL_NAME, o, a, b)
        self.a2b[id(a)] = (a, b)
        self.b2a[id(b)] = (b, a)
        return self._children(o, a, b, path)

    def _children(self, o, a, b, path):
        children = []
        same_type_o = o is not NO_ORIGINAL and type(o) is type(a)
        compared = False
        if _is(a, (int, float, complex, str, bytes)):  # subclasses of atoms
            compared = True
            if not _atoms_same(a, b):
                self.fail(path, "values differ", o, a, b)
        if _is(a, bytearray):
            compared = True
            if bytes(a) != bytes(b):
                self.fail(path, "values differ", o, a, b)
        if _is(a, (list, tuple)):
            compared = True
            if len(a) != len(b):
                self.fail(path, "lengths differ: %d vs %d" % (len(a), len(b)), o, a, b)
            os_ = list(o) if same_type_o and len(o) == len(a) else None
            for i in range(len(a)):
                children.append((os_[i] if os_ else NO_ORIGINAL, a[i], b[i], "%s[%d]" % (path, i)))
        if _is(a, dict):
            compared = True
            if len(a) != len(b):
                self.fail(path, "lengths differ: %d vs %d" % (len(a), len(b)), o, a, b)
            ia, ib = list(a.items()), list(b.items())
            io = list(o.items()) if same_type_o and len(o) == len(a) else None
            for i in range(len(ia)):
                ko, vo = io[i] if io else (NO_ORIGINAL, NO_ORIGINAL)
                children.append((ko, ia[i][0], ib[i][0], "%s.key(%d)" % (path, i)))
                children.append((vo, ia[i][1], ib[i][1], "%s[%s]" % (path, short(ia[i][0]))))
        if _is(a, (set, frozenset)):
            compared = True
            if len(a) != len(b):
                self.fail(path, "lengths differ: %d vs %d" % (len(a), len(b)), o, a, b)
            children.extend(self._set_children(o if same_type_o else NO_ORIGINAL, a, b, path))
        if _is(a, collections.deque):
            compared = True
            if len(a) != len(b) or a.maxlen != b.maxlen:
                self.fail(path, "deques differ", o, a, b)
            os_ = list(o) if same_type_o and len(o) == len(a) else None
            for i in range(len(a)):
                children.append((os_[i] if os_ else NO_ORIGINAL, a[i], b[i], "%s[%d]" % (path, i)))
        if _is(a, types.MethodType):
            compared = True
            children.append((o.__func__ if same_type_o else NO_ORIGINAL, a.__func__, b.__func__,
                             path + ".__func__"))
            children.append((o.__self__ if same_type_o else NO_ORIGINAL, a.__self__, b.__self__,
                             path + ".__self__"))
        if _is(a, BaseException):
            compared = True
            oargs = o.args if same_type_o else NO_ORIGINAL
            children.append((oargs, a.args, b.args, path + ".args"))
        da, db = _instance_dict(a), _instance_dict(b)
        if (da is None) != (db is None):
            self.fail(path, "__dict__ present in one copy only", o, a, b)
        if da is not None and not _is(a, type):
            compared = True
            if list(da) != list(db):
                self.fail(path, "attributes differ: %s vs %s" % (list(da), list(db)), o, a, b)
            do = _instance_dict(o) if same_type_o else None
            for key in da:
                vo = do.get(key, NO_ORIGINAL) if do is not None else NO_ORIGINAL
                children.append((vo, da[key], db[key], "%s.%s" % (path, key)))
        for name, desc in _slot_descriptors(type(a)):
            compared = True
            va, vb = _slot_value(desc, a), _slot_value(desc, b)
            if (va is _UNSET) != (vb is _UNSET):
                self.fail(path, "slot %r set in one copy only" % name, o, a, b)
            if va is not _UNSET:
                vo = _slot_value(desc, o) if same_type_o else NO_ORIGINAL
                children.append((NO_ORIGINAL if vo is _UNSET else vo, va, vb,
                                 "%s.%s" % (path, name)))
        if not compared and _has_value_eq(type(a)):
            compared = True
            if not (a == b):
                self.fail(path, "values differ", o, a, b)
        if (not compared and a is not b and not _is(a, type)
                and not type(a).__flags__ & _HEAPTYPE):
            # an extension type without value equality (functools.partial, ...): compare what
            # its reduce protocol says it is made of
            ra, rb = _reduced(a), _reduced(b)
            if ra is not None or rb is not None:
                if ra is None or rb is None:
                    self.fail(path, "reducible in one copy only", o, a, b)
                ro = _reduced(o) if same_type_o else None
                children.append((NO_ORIGINAL if ro is None else ro, ra, rb, path + ".__reduce__"))
        return children

    def _set_children(self, o, a, b, path):
        def groups(s):
            g = {}
            for item in s:
                g.setdefault(canon(item), []).append(item)
            return g

        ga, gb = groups(a), groups(b)
        go = groups(o) if o is not NO_ORIGINAL and len(o) == len(a) else None
        if sorted(ga) != sorted(gb):
            self.fail(path, "members differ", o, a, b)
        out = []
        for key in sorted(ga):
            la, lb = ga[key], gb[key]
            lo = go.get(key) if go is not None else None
            if len(la) != len(lb) or (lo is not None and len(lo) != len(la)):
                self.fail(path, "members differ", o, a, b)
            if lo is None:
                lo = [NO_ORIGINAL] * len(la)
            else:
                lo = sorted(lo, key=id)
            # members that are originals line up with themselves; the rest in any order
            la, lb = _align(lo, la), _align(lo, lb)
            for oo, xa, xb in zip(lo, la, lb):
                out.append((oo, xa, xb, "%s{%s}" % (path, key)))
        return out

    def finish(self):
        for a, b, path in self.pairs:
            a_orig = id(a) in self.originals and self.originals[id(a)] is a
            b_orig = id(b) in self.originals and self.originals[id(b)] is b
            if a_orig != b_orig or (a_orig and a is not b):
                self.fail(path, "is an original object in one copy only", NO_ORIGINAL, a, b)


def _align(originals, items):
    rest = list(items)
    out = [_UNSET] * len(originals)
    for i, o in enumerate(originals):
        for j, item in enumerate(rest):
            if item is o:
                out[i] = item
                del rest[j]
                break
    for i in range(len(out)):
        if out[i] is _UNSET:
            out[i] = rest.pop(0)
    return out


def assert_same_copy(original, stdlib_copy, copium_copy, walker=None):
    """Assert that `copium_copy` matches `stdlib_copy`, both copies of `original` (pass
    NO_ORIGINAL when there is no original to compare identities with). See Walker."""
    w = walker if walker is not None else Walker()
    w.walk(original, stdlib_copy, copium_copy)
    if walker is None:
        w.finish()
    return w


def assert_same_structure(a, b):
    """Same types, values and sharing pattern, with no original to compare to."""
    assert_same_copy(NO_ORIGINAL, a, b)


def assert_same_memo(walker, memo_a, memo_b):
    """The two memos hold entries for the same reachable originals, their values match (walked
    with the walker that walked the results), and the keep-alive lists hold the same reachable
    originals."""
    keep_a = memo_a.get(id(memo_a), [])
    keep_b = memo_b.get(id(memo_b), [])
    assert type(keep_a) is list and type(keep_b) is list
    kept_a = {id(x) for x in keep_a}
    kept_b = {id(x) for x in keep_b}
    for oid, orig in list(walker.originals.items()):
        in_a, in_b = oid in memo_a, oid in memo_b
        assert in_a == in_b, "memo entry for %s: stdlib %s, %s %s" % (
            short(orig), in_a, IMPL_NAME, in_b)
        assert (oid in kept_a) == (oid in kept_b), "keep-alive of %s: stdlib %s, %s %s" % (
            short(orig), oid in kept_a, IMPL_NAME, oid in kept_b)
        if in_a:
            walker.walk(orig, memo_a[oid], memo_b[oid], "memo[id(%s)]" % short(orig))
    walker.finish()
