"""Memos: a caller's memo of other kinds than a dict (dict subclasses, duck-typed mappings,
bad ones), and the memo a __deepcopy__ hook receives (its entries, the keep-alive list, nested
calls with and without it). Everything is compared with stdlib `copy` run on the same input."""

import collections
import copy
import sys
import types

import pytest

from compare import (
    NO_ORIGINAL, Walker, assert_same_copy, assert_same_memo, assert_same_outcome, outcome,
)
from conftest import (
    DC, DuckMemo, Nested, Plain, Raiser, Reducer, check_deep, current_deepcopy, gen, impl,
)


# ---------------------------------------------------------------------------------------------
# Memos of other kinds


class RecordingMemo(dict):
    """A dict subclass overriding get and __setitem__."""

    def __init__(self):
        super().__init__()
        self.gets = []
        self.sets = []

    def get(self, key, default=None):
        self.gets.append(key)
        return super().get(key, default)

    def __setitem__(self, key, value):
        self.sets.append(key)
        super().__setitem__(key, value)


class RedirectingMemo(dict):
    """Answers for one key that is not in the dict, through get() (before 3.15) and through
    `in` / [] (3.15 asks `d in memo`, then `memo[d]`)."""

    def __init__(self, key, value):
        super().__init__()
        self.key = key
        self.value = value

    def get(self, key, default=None):
        if key == self.key:
            return self.value
        return super().get(key, default)

    def __contains__(self, key):
        return key == self.key or super().__contains__(key)

    def __getitem__(self, key):
        if key == self.key:
            return self.value
        return super().__getitem__(key)


class DuckMemoNoGetitem:
    def __init__(self):
        self.data = {}

    def get(self, key, default=None):
        return self.data.get(key, default)

    def __setitem__(self, key, value):
        self.data[key] = value


class DuckMemoNoSetitem:
    def get(self, key, default=None):
        return default

    def __getitem__(self, key):
        raise KeyError(key)


class DefaultMemo(collections.defaultdict):
    pass


def memo_graph():
    shared = [1, 2]
    obj = Plain()
    obj.a = shared
    obj.t = (shared, 3)
    x = [shared, obj, {"k": shared}, (1, 2), "s", Reducer(5)]
    x[-1].y = x
    return x


def _normalise_keys(keys, memo, originals):
    out = []
    for key in keys:
        if key == id(memo):
            out.append("keepalive")
        elif key in originals:
            out.append(originals[key])
        else:
            out.append("temporary")
    return out


def _originals(x):
    w = Walker()
    w.walk(x, x, x)
    return {oid: i for i, oid in enumerate(w.originals)}


def test_dict_subclass_memo_methods_are_used():
    x = memo_graph()
    memo_a, memo_b = RecordingMemo(), RecordingMemo()
    ya = copy.deepcopy(x, memo_a)
    yb = impl.deepcopy(x, memo_b)
    walker = Walker()
    walker.walk(x, ya, yb)
    assert_same_memo(walker, memo_a, memo_b)
    originals = _originals(x)
    # the same originals were written through the overridden __setitem__ ...
    assert set(_normalise_keys(memo_a.sets, memo_a, originals)) == \
        set(_normalise_keys(memo_b.sets, memo_b, originals))
    # ... and looked up through the overridden get (for the objects that are not atoms)
    atoms = {originals[id(o)] for o in walker.originals.values()
             if type(o) in (int, str, float, type(None))}
    gets_a = set(_normalise_keys(memo_a.gets, memo_a, originals)) - atoms
    gets_b = set(_normalise_keys(memo_b.gets, memo_b, originals)) - atoms
    assert gets_a == gets_b


def test_dict_subclass_memo_get_answers_are_used():
    inner = [1, 2]
    x = [inner, {"a": inner}]
    marker = Plain()
    ya = copy.deepcopy(x, RedirectingMemo(id(inner), marker))
    yb = impl.deepcopy(x, RedirectingMemo(id(inner), marker))
    assert ya[0] is marker and ya[1]["a"] is marker
    assert_same_copy(x, ya, yb)


def test_dict_subclass_memo_without_overrides_is_filled():
    class Sub(dict):
        pass

    x = memo_graph()
    memo_a, memo_b = Sub(), Sub()
    ya = copy.deepcopy(x, memo_a)
    yb = impl.deepcopy(x, memo_b)
    walker = Walker()
    walker.walk(x, ya, yb)
    assert_same_memo(walker, memo_a, memo_b)


def test_defaultdict_memo():
    x = memo_graph()
    memo_a, memo_b = DefaultMemo(list), DefaultMemo(list)
    ya = copy.deepcopy(x, memo_a)
    yb = impl.deepcopy(x, memo_b)
    walker = Walker()
    walker.walk(x, ya, yb)
    assert_same_memo(walker, memo_a, memo_b)


def test_duck_memo():
    x = memo_graph()
    memo_a, memo_b = DuckMemo(), DuckMemo()
    ya = copy.deepcopy(x, memo_a)
    yb = impl.deepcopy(x, memo_b)
    walker = Walker()
    walker.walk(x, ya, yb)
    originals = _originals(x)
    assert set(_normalise_keys(memo_a.data, memo_a, originals)) == \
        set(_normalise_keys(memo_b.data, memo_b, originals))
    for key in memo_a.data:
        if key in originals:
            walker.walk(NO_ORIGINAL, memo_a.data[key], memo_b.data[key])
    walker.finish()


BAD_MEMOS = {
    "object()": lambda: object(),
    "list": lambda: [],
    "int": lambda: 42,
    "str": lambda: "memo",
    "mappingproxy": lambda: types.MappingProxyType({}),
    "duck without __getitem__": DuckMemoNoGetitem,
    "duck without __setitem__": DuckMemoNoSetitem,
    "tuple": lambda: (),
}
BAD_MEMO_INPUTS = {
    "atom": lambda: 1,
    "str": lambda: "abc",
    "tuple of atoms": lambda: (1, 2),
    "list": lambda: [1, [2]],
    "tuple with list": lambda: ([1],),
    "instance": lambda: DC([1]),
    "dict": lambda: {"a": 1},
}


@pytest.mark.parametrize("memo_name", list(BAD_MEMOS))
@pytest.mark.parametrize("input_name", list(BAD_MEMO_INPUTS))
def test_memo_that_is_not_a_dict(memo_name, input_name):
    x = BAD_MEMO_INPUTS[input_name]()
    expected = outcome(copy.deepcopy, x, BAD_MEMOS[memo_name]())
    got = outcome(impl.deepcopy, x, BAD_MEMOS[memo_name]())
    assert_same_outcome(expected, got, x, "deepcopy with a %s memo" % memo_name)


@pytest.mark.parametrize("name", ["int", "str", "float", "None", "tuple of atoms", "function"])
def test_memo_entries_for_atoms_like_stdlib(name):
    """Up to 3.13 stdlib consults a caller's memo before anything else, atoms included; from
    3.14 on it returns atoms before looking at the memo (tuples are not atoms there)."""
    value = {"int": 10 ** 20, "str": "x" * 30, "float": 2.5, "None": None,
             "tuple of atoms": (1, 2), "function": gen}[name]
    x = [value, [value]]
    marker = Plain()
    ya = copy.deepcopy(x, {id(value): marker})
    yb = impl.deepcopy(x, {id(value): marker})
    if sys.version_info < (3, 14) or name == "tuple of atoms":
        assert ya[0] is marker and ya[1][0] is marker
    assert (yb[0] is marker) == (ya[0] is marker)
    assert_same_copy(x, ya, yb)


def test_memo_entry_for_the_argument_itself():
    x = [1, [2]]
    marker = Plain()
    assert copy.deepcopy(x, {id(x): marker}) is marker
    assert impl.deepcopy(x, {id(x): marker}) is marker


def test_memo_reused_across_calls_keeps_sharing():
    shared = [1, [2]]
    a = [shared, Plain()]
    b = {"s": shared, "a": a}
    memo_a, memo_b = {}, {}
    ea, eb = copy.deepcopy(a, memo_a), copy.deepcopy(b, memo_a)
    ga, gb = impl.deepcopy(a, memo_b), impl.deepcopy(b, memo_b)
    assert gb["s"] is ga[0] and gb["a"] is ga
    walker = Walker()
    walker.walk(a, ea, ga)
    walker.walk(b, eb, gb)
    assert_same_memo(walker, memo_a, memo_b)


# ---------------------------------------------------------------------------------------------
# The memo that __deepcopy__ receives


PROBES = []


class Probe:
    """Records what it sees in the memo it is given."""

    def __init__(self, watched):
        self.watched = watched

    def __deepcopy__(self, memo):
        keep = memo.get(id(memo))
        rec = {
            "is dict": isinstance(memo, dict),
            "keepalive is list": type(keep) is list,
            "kept": sorted(id(k) for k in keep) if keep is not None else None,
            "keys": sorted(k for k in memo if k != id(memo)),
            "keys()": sorted(k for k in memo.keys() if k != id(memo)),
            "items()": sorted(k for k, v in memo.items() if k != id(memo)),
            "dict(memo)": sorted(k for k in dict(memo) if k != id(memo)),
            "memo.copy()": sorted(k for k in memo.copy() if k != id(memo)),
            "{**memo}": sorted(k for k in {**memo} if k != id(memo)),
            "len": len(memo),
            "in": id(self.watched) in memo,
            "getitem": memo[id(self.watched)],
            "get": memo.get(id(self.watched)),
            "values()": [v for k, v in memo.items() if k == id(self.watched)],
            "self in": id(self) in memo,
            "memo[id(memo)] is keepalive": memo[id(memo)] is keep,
        }
        PROBES.append(rec)
        return Probe(None)


def _probe_records(caller_memo):
    watched = [1, [2]]
    d = {"w": watched}
    x = [watched, d, (watched, 3), Probe(watched), watched]
    del PROBES[:]
    ya = copy.deepcopy(x, {} if caller_memo else None)
    yb = impl.deepcopy(x, {} if caller_memo else None)
    assert len(PROBES) == 2
    ra, rb = PROBES
    del PROBES[:]
    assert ra["is dict"] and ra["keepalive is list"] and ra["in"]
    for rec, y in ((ra, ya), (rb, yb)):
        assert rec["getitem"] is y[0]
        assert rec["get"] is y[0]
        assert rec["values()"] == [y[0]] and rec["values()"][0] is y[0]
        del rec["getitem"], rec["get"], rec["values()"]
    assert_same_copy(x, ya, yb)
    return ra, rb


@pytest.mark.parametrize("caller_memo", [False, True])
def test_memo_seen_by_deepcopy_hook(caller_memo):
    ra, rb = _probe_records(caller_memo)
    kept_a, kept_b = ra.pop("kept"), rb.pop("kept")
    # every original stdlib keeps alive by then is kept alive
    assert set(kept_a) <= set(kept_b)
    assert ra == rb


@pytest.mark.parametrize("caller_memo", [False, True])
def test_keepalive_seen_by_deepcopy_hook_is_stdlib_s(caller_memo):
    """Stdlib appends an original to memo[id(memo)] when its copy is complete: a hook sees
    the originals copied so far, not the containers still being copied."""
    ra, rb = _probe_records(caller_memo)
    assert ra["kept"] == rb["kept"]


class Writer:
    """Writes into the memo through several dict APIs."""

    def __init__(self, how, target, replacement):
        self.how = how
        self.target = target
        self.replacement = replacement

    def __deepcopy__(self, memo):
        key = id(self.target)
        how = self.how
        if how == "setitem":
            memo[key] = self.replacement
        elif how == "update":
            memo.update({key: self.replacement})
        elif how == "setdefault":
            memo.setdefault(key, self.replacement)
        elif how == "dict.__setitem__":
            dict.__setitem__(memo, key, self.replacement)
        elif how == "dict.update":
            dict.update(memo, [(key, self.replacement)])
        elif how == "del":
            del memo[key]
        elif how == "pop":
            memo.pop(key)
        elif how == "popitem":
            memo.popitem()
        elif how == "clear":
            memo.clear()
        elif how == "del keepalive":
            del memo[id(memo)]
        elif how == "replace keepalive":
            memo[id(memo)] = []
        return Plain()


WRITE_HOWS = ["setitem", "update", "setdefault", "dict.__setitem__", "dict.update"]
DELETE_HOWS = ["del", "pop", "popitem", "clear", "del keepalive", "replace keepalive"]


@pytest.mark.parametrize("how", WRITE_HOWS)
def test_memo_writes_from_hook_are_honoured(how):
    later = [1, [2]]
    replacement = Plain()
    x = [[0], Writer(how, later, replacement), later, {"k": later}]
    expected, got = check_deep(x)
    assert expected.value[2] is replacement and expected.value[3]["k"] is replacement
    assert got.value[2] is replacement and got.value[3]["k"] is replacement


@pytest.mark.parametrize("how", DELETE_HOWS)
def test_memo_deletions_from_hook_are_honoured(how):
    earlier = [1, [2]]
    x = [earlier, Plain(), Writer(how, earlier, None), earlier, (earlier,)]
    expected, got = check_deep(x)
    if how in ("del", "pop", "clear"):
        assert expected.value[3] is not expected.value[0]
        assert got.value[3] is not got.value[0]


def test_memo_write_for_self_is_overwritten_by_result():
    class SelfWriter:
        def __deepcopy__(self, memo):
            memo[id(self)] = "written"
            return "returned"

    h = SelfWriter()
    x = [h, [h], h]
    expected, got = check_deep(x)
    assert got.value == ["returned", ["returned"], "returned"]


def test_memo_write_for_self_then_return_self():
    class SelfReturner:
        def __deepcopy__(self, memo):
            memo[id(self)] = "written"
            return self

    h = SelfReturner()
    check_deep([h, h, [h]])


KEPT = []


class Keeper:
    """Keeps the memo it is given."""

    def __deepcopy__(self, memo):
        KEPT.append(memo)
        return Keeper()


def test_kept_memo_stays_valid_and_is_not_reused():
    w = [1, [2]]
    x = [w, Keeper(), w, {"w": w}]
    del KEPT[:]
    ya = copy.deepcopy(x)
    yb = impl.deepcopy(x)
    ka, kb = KEPT
    # the kept memo holds what stdlib's holds after the call
    walker = Walker()
    walker.walk(x, ya, yb)
    assert_same_memo(walker, ka, kb)
    assert kb[id(x)] is yb and kb[id(w)] is yb[0]
    snapshot = list(kb.items())
    keep_snapshot = list(kb[id(kb)])
    # a second copy neither reuses nor changes it
    x2 = [w, Keeper(), [w]]
    y2 = impl.deepcopy(x2)
    assert KEPT[-1] is not kb
    assert y2[0] is not yb[0] and y2[2][0] is y2[0]
    assert list(kb.items()) == snapshot
    assert all(a is b for a, b in zip(kb.values(), (v for _, v in snapshot)))
    assert kb[id(kb)] == keep_snapshot
    # and it is still an ordinary, usable dict
    kb["extra"] = 1
    assert kb.pop("extra") == 1
    assert len(kb) == len(snapshot)
    del KEPT[:]


def test_kept_memo_survives_many_later_copies():
    del KEPT[:]
    w = [1]
    impl.deepcopy([w, Keeper()])
    kept = KEPT[0]
    items = dict(kept)
    for _ in range(100):
        impl.deepcopy([[1, 2], {"a": [3]}, Keeper()])
    assert dict(kept) == items
    assert kept[id(w)] == [1]
    del KEPT[:]


class CatchingNested:
    """A nested top-level call that fails; the outer copy goes on."""

    def __init__(self, bad, good):
        self.bad = bad
        self.good = good

    def __deepcopy__(self, memo):
        deepcopy = current_deepcopy()
        try:
            deepcopy(self.bad)
        except ValueError:
            pass
        try:
            deepcopy(self.bad, memo)
        except ValueError:
            pass
        return [deepcopy(self.good, memo), deepcopy(self.good)]


def test_nested_top_level_calls():
    w = [1, [2], {"a": (3, [4])}]
    x = [w, Nested(w, False), Nested(w, True), w, Nested(Nested(w, False), False),
         Nested(Nested(w, True), False), Nested(Nested(w, False), True)]
    expected, got = check_deep(x)
    y = got.value
    assert y[1].child is not y[0] and y[2].child is y[0]


def test_nested_call_that_fails_does_not_disturb_the_outer_copy():
    w = [1, [2]]
    x = [w, CatchingNested([w, Raiser()], w), w, {"w": w}]
    expected, got = check_deep(x)
    y = got.value
    assert y[1][0] is y[0] and y[1][1] is not y[0] and y[3]["w"] is y[0]


def test_nested_call_from_reduce():
    class ReduceNested:
        def __init__(self, child):
            self.child = child

        def __reduce__(self):
            return (list, (current_deepcopy()(self.child),))

    w = [1, [2]]
    check_deep([w, ReduceNested(w), w])
