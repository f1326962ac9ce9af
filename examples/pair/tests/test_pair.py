"""Tests of the example plugin: pair.Pair copied by copium through the plugin's C handler,
compared with copy.deepcopy (which copies Pair through Pair.__reduce__) wherever both should
give the same structure and the same pattern of shared objects."""

import copy
import copyreg
import gc
import pickle
import sys

import pytest

import copium
import pair
from pair import Pair


# -- helpers ---------------------------------------------------------------------------------


def shape(root):
    """A canonical description of the object graph under root: every container becomes
    (kind, index of its first visit, children...), so two graphs have the same shape exactly
    when they have the same structure, the same atoms and the same pattern of shared objects
    (cycles included)."""
    seen = {}

    def walk(obj):
        if id(obj) in seen:
            return ("ref", seen[id(obj)])
        if isinstance(obj, (Pair, list, tuple, dict)):
            seen[id(obj)] = len(seen)
            me = seen[id(obj)]
            if isinstance(obj, Pair):
                return ("Pair", me, walk(obj.first), walk(obj.second))
            if isinstance(obj, dict):
                return ("dict", me, tuple((k, walk(v)) for k, v in obj.items()))
            return (type(obj).__name__, me, tuple(walk(x) for x in obj))
        return ("atom", type(obj).__name__, repr(obj))

    return walk(root)


def ids(root):
    """id() of every Pair, list and dict reachable from root."""
    found = {}
    stack = [root]
    while stack:
        obj = stack.pop()
        if id(obj) in found or not isinstance(obj, (Pair, list, tuple, dict)):
            continue
        found[id(obj)] = obj
        if isinstance(obj, Pair):
            stack += [obj.first, obj.second]
        elif isinstance(obj, dict):
            stack += list(obj.values())
        else:
            stack += list(obj)
    return {k for k, v in found.items() if not isinstance(v, tuple)}


def check_deepcopy(original):
    """copium.deepcopy(original) has stdlib's shape and shares no mutable object with it."""
    ours = copium.deepcopy(original)
    theirs = copy.deepcopy(original)
    assert shape(ours) == shape(theirs) == shape(original)
    assert not ids(ours) & ids(original)
    return ours


@pytest.fixture
def restore_handler():
    """Put pair's handler back after a test that changes copium's registry."""
    yield
    copium.register_handler(Pair, pair.handler)
    assert copium.handlers()[Pair] == "pair.Pair"


# -- the type itself -------------------------------------------------------------------------


def test_pair_basics():
    p = Pair(1, "two")
    assert (p.first, p.second) == (1, "two")
    p.first = [3]
    assert p == Pair([3], "two") and p != Pair([3], "three")
    assert repr(p) == "Pair([3], 'two')"
    assert Pair(first=1, second=2) == Pair(1, 2)
    with pytest.raises(TypeError):
        Pair(1)
    with pytest.raises(AttributeError):
        del p.first
    with pytest.raises(TypeError):
        hash(p)


def test_pair_repr_of_a_cycle():
    p = Pair(1, None)
    p.second = p
    assert repr(p) == "Pair(1, Pair(...))"


def test_pickle_round_trip():
    lst = [1]
    p = Pair(lst, lst)
    q = pickle.loads(pickle.dumps(p))
    assert q == p and q.first is q.second


# -- registration ----------------------------------------------------------------------------


def test_handler_is_registered():
    assert copium.handlers()[Pair] == "pair.Pair"


def test_load_plugins_lists_pair():
    assert "pair" in copium.load_plugins()
    assert copium.handlers()[Pair] == "pair.Pair"


def test_handler_capsule():
    assert type(pair.handler).__name__ == "PyCapsule"
    assert "copium.handler" in repr(pair.handler)


def test_unregister_falls_back_to_reduce(restore_handler):
    """Without the handler, copium copies Pair as stdlib does, through __reduce__; with it, the
    handler comes first, even before an entry in copyreg.dispatch_table."""
    def reducer(p):
        return (Pair, ("reduced", "reduced"))

    p = Pair([1], [2])
    copyreg.dispatch_table[Pair] = reducer
    try:
        assert copium.deepcopy(p) == p
        assert copium.copy(p) == p
        assert copium.unregister_handler(Pair) is True
        assert Pair not in copium.handlers()
        assert copium.unregister_handler(Pair) is False
        assert copium.deepcopy(p) == Pair("reduced", "reduced") == copy.deepcopy(p)
        assert copium.copy(p) == Pair("reduced", "reduced") == copy.copy(p)
    finally:
        del copyreg.dispatch_table[Pair]
    c = check_deepcopy(p)
    assert c == p
    copium.register_handler(Pair, pair.handler)
    assert copium.handlers()[Pair] == "pair.Pair"
    assert check_deepcopy(p) == p


def test_python_handler_replaces_it(restore_handler):
    def python_copy(obj, memo):
        return "copied by Python"

    copium.register_handler(Pair, python_copy)
    assert copium.handlers()[Pair] == python_copy.__qualname__
    assert copium.deepcopy([Pair(1, 2)]) == ["copied by Python"]


# -- deep copies -----------------------------------------------------------------------------


def test_deepcopy_plain():
    p = Pair([1, 2], {"k": (3, [4])})
    c = check_deepcopy(p)
    assert c == p and c is not p
    assert c.first is not p.first and c.second is not p.second


def test_atoms_are_not_copied():
    s, n = "a string", 10**30
    c = copium.deepcopy(Pair(s, n))
    assert c.first is s and c.second is n


def test_pair_in_a_cycle():
    """A list holding a Pair whose second item is the list."""
    lst = ["head"]
    p = Pair("x", lst)
    lst.append(p)
    c = check_deepcopy(lst)
    assert c is not lst and c[1] is not p
    assert type(c[1]) is Pair and c[1].second is c
    # The same cycle, entered through the Pair.
    d = check_deepcopy(p)
    assert d.second[1] is d and d.second is not lst


def test_pair_holding_itself():
    p = Pair(1, None)
    p.second = p
    c = check_deepcopy(p)
    assert c is not p and c.second is c and c.first == 1

    q = Pair(None, None)
    q.first = q.second = q
    c = check_deepcopy(q)
    assert c.first is c and c.second is c


def test_pairs_in_a_longer_cycle():
    a, b = Pair(1, None), Pair(2, None)
    a.second, b.second = b, [a]
    c = check_deepcopy(a)
    assert c.second.second[0] is c


def test_shared_children_stay_shared():
    shared = [1, 2]
    p = Pair(shared, shared)
    c = check_deepcopy(p)
    assert c.first is c.second and c.first is not shared

    inner = Pair([0], None)
    outer = [Pair(shared, inner), Pair(inner, shared), inner]
    c = check_deepcopy(outer)
    assert c[0].first is c[1].second is not shared
    assert c[0].second is c[1].first is c[2] is not inner


def test_memo_argument():
    """With a caller's memo, the handler's remember/store write into it as stdlib would."""
    child = [1]
    p = Pair(child, child)
    memo = {}
    c = copium.deepcopy(p, memo)
    assert memo[id(p)] is c and memo[id(child)] is c.first is c.second
    assert any(x is p for x in memo[id(memo)])  # the keepalive list holds the original

    sentinel = ["already copied"]
    c = copium.deepcopy(p, {id(child): sentinel})
    assert c.first is sentinel and c.second is sentinel
    assert copy.deepcopy(p, {id(child): sentinel}).first is sentinel


class BackToPair:
    """A child whose __deepcopy__ copies the Pair it is in: it must get the Pair's copy that
    the handler remembered before copying its children."""

    def __init__(self, target=None):
        self.target = target

    def __deepcopy__(self, memo):
        return ("back", copium.deepcopy(self.target, memo))


class BackToPairStdlib(BackToPair):
    def __deepcopy__(self, memo):
        return ("back", copy.deepcopy(self.target, memo))


@pytest.mark.parametrize("cls", [BackToPair, BackToPairStdlib])
def test_remembered_copy_is_found_through_the_memo(cls):
    p = Pair(None, None)
    p.first = cls(p)
    c = copium.deepcopy(p)
    assert c.first[1] is c
    s = copy.deepcopy(p)
    assert s.first[1] is s


class Boom:
    def __deepcopy__(self, memo):
        raise ZeroDivisionError("boom")


def test_errors_propagate():
    kept = [1]
    p = Pair(kept, Boom())
    before = sys.getrefcount(kept), sys.getrefcount(p)
    for _ in range(100):
        with pytest.raises(ZeroDivisionError, match="boom"):
            copium.deepcopy(p)
        with pytest.raises(ZeroDivisionError, match="boom"):
            copium.deepcopy([p, p])
    assert (sys.getrefcount(kept), sys.getrefcount(p)) == before
    # A failed copy leaves nothing behind: the next one works.
    p.second = 2
    assert copium.deepcopy(p) == Pair([1], 2)


def test_deep_nesting():
    p = None
    for i in range(200):
        p = Pair(i, p)
    c = copium.deepcopy(p)
    assert c == p
    q = None
    for i in range(200_000):
        q = Pair(i, q)
    with pytest.raises(RecursionError):
        copium.deepcopy(q)
    assert copium.deepcopy(p) == p  # still usable afterwards
    del q  # the trashcan keeps this from recursing in C


# -- shallow copies --------------------------------------------------------------------------


def test_shallow_copy():
    first, second = [1], {"a": [2]}
    p = Pair(first, second)
    c = copium.copy(p)
    assert type(c) is Pair and c is not p
    assert c.first is first and c.second is second
    s = copy.copy(p)
    assert s.first is first and s.second is second
    c.first = "changed"
    assert p.first is first


def test_shallow_copy_of_a_self_reference():
    p = Pair(1, None)
    p.second = p
    c = copium.copy(p)
    assert c is not p and c.second is p


# -- references ------------------------------------------------------------------------------


def test_refcounts_unchanged_after_many_copies():
    first, second = [1, [2]], {"k": "v"}
    p = Pair(first, second)
    lst = [p, p]
    cyc = Pair(None, None)
    cyc.second = [cyc, first]
    objs = [first, second, p, lst, cyc]
    gc.collect()
    before = [sys.getrefcount(o) for o in objs]
    for _ in range(2000):
        copium.deepcopy(p)
        copium.deepcopy(lst)
        copium.deepcopy(cyc)
        copium.deepcopy(p, {})
        copium.copy(p)
    gc.collect()
    assert [sys.getrefcount(o) for o in objs] == before


def test_copies_are_collected():
    def count():
        gc.collect()
        return sum(1 for o in gc.get_objects() if type(o) is Pair)

    cyc = Pair(None, None)
    cyc.second = [cyc]
    start = count()
    for _ in range(500):
        copium.deepcopy(cyc)
        copium.deepcopy(Pair([1], [2]))
    assert count() == start


# -- registration while copies run -----------------------------------------------------------


class Unregisters:
    """Unregisters pair's handler from inside a copy that the handler is running."""

    def __deepcopy__(self, memo):
        copium.unregister_handler(Pair)
        return "unregistered"


class Replaces:
    def __deepcopy__(self, memo):
        copium.register_handler(Pair, lambda obj, memo: "replaced")
        return "replacing"


def test_handler_in_use_keeps_working(restore_handler):
    inner = Pair(1, 2)
    p = Pair(Unregisters(), [inner])
    c = copium.deepcopy(p)
    # The running copy of p finished with pair's handler; inner, copied after the
    # unregistration, went through stdlib's protocol (__reduce__), which copies it just as well.
    assert type(c) is Pair and c.first == "unregistered" and c.second == [Pair(1, 2)]
    assert Pair not in copium.handlers()

    copium.register_handler(Pair, pair.handler)
    c = copium.deepcopy(Pair(Replaces(), [inner]))
    assert type(c) is Pair and c.first == "replacing" and c.second == ["replaced"]


def test_registration_from_other_threads(restore_handler):
    import threading

    stop = threading.Event()
    errors = []

    def churn():
        while not stop.is_set():
            copium.unregister_handler(Pair)
            copium.register_handler(Pair, pair.handler)

    def copier():
        try:
            lst = [0]
            p = Pair(lst, lst)
            lst.append(p)
            for _ in range(2000):
                c = copium.deepcopy(p)
                assert c.first is c.second and c.first[1] is c
        except BaseException as e:  # reported below
            errors.append(e)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often, in the middle of copies
    try:
        churner = threading.Thread(target=churn)
        copiers = [threading.Thread(target=copier) for _ in range(4)]
        churner.start()
        for t in copiers:
            t.start()
        for t in copiers:
            t.join()
        stop.set()
        churner.join()
    finally:
        sys.setswitchinterval(interval)
    assert not errors
