"""Dict copies built from a clone (handlers/dict.c, core/pending.h). copium may copy a dict by
cloning its table and replacing the values that are not atoms in place; until that is done the
copy holds original values where stdlib's copy, built one item at a time, has no item yet.
These tests make Python code run at every point where it can during such a copy (a
__deepcopy__ looking at the memo, a __setstate__ given the half-built parent, a key whose hash
is computed in Python) and check that it sees exactly what it sees under stdlib: the same
items in the parent's copy, no original value held by any copy, and in the end copies of
stdlib's exact size."""

import copy
import datetime
import gc
import sys

import pytest

from compare import assert_same_copy
from conftest import Plain, impl

IMPLS = {"stdlib": copy.deepcopy, "impl": impl.deepcopy}

seen = []  # what every piece of Python code below saw, in order


def describe(d, originals):
    """A dict under construction as Python code sees it: its items, each value as "original"
    (one of the original graph's values), a copy's type name, or the atom itself."""
    out = []
    for key, value in list(d.items()):
        if any(value is o for o in originals):
            out.append((key, "original"))
        elif isinstance(value, (int, str, float, type(None))):
            out.append((key, value))
        else:
            out.append((key, "copy of " + type(value).__name__))
    return out


class Watch:
    """What Python code run during the copy can see of the copy of `target` (found through the
    memo, or handed over by a parent cycle), and which of the original values any dict other
    than the originals holds."""

    def __init__(self, target, originals):
        self.target = target
        self.originals = originals

    def look(self, copy_of_target):
        record = describe(copy_of_target, self.originals) if copy_of_target is not None else None
        held = sorted(i for i, o in enumerate(self.originals)
                      if any(isinstance(r, dict) and r is not self.target
                             and not any(r is o2 for o2 in self.originals)
                             for r in gc.get_referrers(o)))
        seen.append((record, held))


class MemoHook:
    """A __deepcopy__ that looks at the memo's copy of the watched dict."""

    def __init__(self, watch):
        self.watch = watch

    def __deepcopy__(self, memo):
        self.watch.look(memo.get(id(self.watch.target)))
        return MemoHook(self.watch)


class MemoTZ(datetime.tzinfo):
    """A Python tzinfo whose __deepcopy__ looks at the memo: Python code below a datetime, whose
    handler is quiet (handlers/datetime_capi.h)."""

    def __init__(self, watch):
        self.watch = watch

    def utcoffset(self, d):
        return datetime.timedelta(hours=1)

    def __deepcopy__(self, memo):
        self.watch.look(memo.get(id(self.watch.target)))
        return MemoTZ(self.watch)


class Child:
    """Reduced with the watched dict in its state: __setstate__ gets the parent's copy. (The
    watch is not in the state: it would be copied with it.)"""

    watch = None

    def __init__(self, parent):
        self.parent = parent

    def __reduce_ex__(self, protocol):
        return (Child.__new__, (Child,), {"parent": self.parent})

    def __setstate__(self, state):
        Child.watch.look(state["parent"])
        self.__dict__.update(state)


class Meta(type):
    """Classes are atoms, hashed through their metaclass: Python code at the insertion of a key,
    with no handler that could run code before it."""

    watch = None

    def __hash__(cls):
        if Meta.watch is not None:
            Meta.watch.look(None)
        return id(cls) >> 4

    def __eq__(cls, other):
        return cls is other


class KeyA(metaclass=Meta):
    pass


class KeyB(metaclass=Meta):
    pass


def watched(build):
    """The graph build(watch) makes, with its watch: the watched dict is graph["d"] or the graph."""
    watch = Watch(None, [])
    graph = build(watch)
    target = graph if isinstance(graph, dict) else graph[0]
    watch.target = target
    watch.originals = [v for v in target.values() if not isinstance(v, (int, str))]
    return graph, watch


def in_the_middle_memo(watch):
    return {"a": [1], "b": {"x": [2]}, "c": [MemoHook(watch)], "d": [3], "e": 5, "f": {"y": 4}}


def at_the_start_memo(watch):
    return {"c": [MemoHook(watch)], "a": [1], "b": {"x": [2]}, "d": [3]}


def at_the_end_memo(watch):
    return {"a": [1], "b": {"x": [2]}, "d": [3], "c": [[MemoHook(watch)]]}


def deep_memo(watch):
    # The hook four dicts down: every dict on the way is pending when it runs.
    return {"a": [1], "b": {"x": {"y": {"z": [MemoHook(watch)], "w": [5]}, "v": [6]}}, "d": [3]}


def setstate_cycle(watch):
    d = {"a": [1], "b": {"x": [2]}, "d": [3]}
    Child.watch = watch
    d["c"] = [Child(d)]
    d["e"] = [4]
    return d


def python_hashed_key(watch):
    Meta.watch = watch
    return {"a": [1], "b": {KeyA: [2], KeyB: [3]}, "d": [4], "e": {"f": [5]}}


def tzinfo_below_a_datetime(watch):
    when = datetime.datetime(2026, 11, 24, 9, 30, tzinfo=MemoTZ(watch))
    return {"a": [1], "b": {"when": when, "day": when.date()}, "d": [3], "e": {"f": [4]}}


def many_items(watch):
    d = {"k%02d" % i: [i] for i in range(40)}
    d["k20"] = [MemoHook(watch)]
    return d


CASES = {
    "hook in the middle": in_the_middle_memo,
    "hook first": at_the_start_memo,
    "hook last": at_the_end_memo,
    "hook four dicts down": deep_memo,
    "__setstate__ given the parent": setstate_cycle,
    "key hashed in Python": python_hashed_key,
    "40 items, hook at the 21st": many_items,
    "tzinfo hook below a datetime": tzinfo_below_a_datetime,
}


@pytest.fixture(autouse=True)
def clean():
    seen.clear()
    yield
    Meta.watch = None
    Child.watch = None
    seen.clear()


@pytest.mark.parametrize("name", sorted(CASES))
def test_python_code_sees_what_it_sees_under_stdlib(name):
    results = {}
    for which, deepcopy in IMPLS.items():
        graph, watch = watched(CASES[name])
        deepcopy(graph)  # the first copy meets the types; the second is the one compared
        seen.clear()
        result = deepcopy(graph)
        results[which] = (graph, result, list(seen))
    graph, stdlib_copy, stdlib_seen = results["stdlib"]
    _, impl_copy, impl_seen = results["impl"]
    assert stdlib_seen, "no Python code ran: the case proves nothing"
    assert all(held == [] for _, held in stdlib_seen), stdlib_seen
    assert impl_seen == stdlib_seen
    assert_same_copy(graph, stdlib_copy, stdlib_copy)  # the harness itself
    graph2, _ = watched(CASES[name])
    assert_same_copy(graph2, copy.deepcopy(graph2), impl.deepcopy(graph2))


def _sizes(x):
    """sys.getsizeof of every dict in x (lists are left out: stdlib's grow by append and are
    over-allocated, copium's are exact, a documented difference)."""
    out = []
    stack, done = [x], set()
    while stack:
        o = stack.pop()
        if id(o) in done or isinstance(o, type):
            continue
        done.add(id(o))
        if isinstance(o, dict):
            out.append(sys.getsizeof(o))
            stack.extend(o.values())
        elif isinstance(o, list):
            stack.extend(o)
    return sorted(out)


def built(n, how):
    if how == "insertion":
        d = {}
        for i in range(n):
            d["k%d" % i] = [i]
        return d
    if how == "comprehension":
        return {"k%d" % i: [i] for i in range(n)}
    if how == "int keys":
        return {i: [i] for i in range(n)}
    if how == "mixed keys":
        return {(i if i % 2 else "k%d" % i): [i] for i in range(n)}
    if how == "after deletions":
        d = {"k%d" % i: [i] for i in range(2 * n)}
        for i in range(0, 2 * n, 2):
            del d["k%d" % i]
        return d
    if how == "copied":
        return dict({"k%d" % i: [i] for i in range(n)})
    if how == "fromkeys then set":
        d = dict.fromkeys(["k%d" % i for i in range(n)])
        for k in d:
            d[k] = [k]
        return d
    if how == "str keys after a non-str one left":
        d = {0: 0}
        d.update(("k%d" % i, [i]) for i in range(n))
        del d[0]
        return d
    raise AssertionError(how)


HOWS = ["insertion", "comprehension", "int keys", "mixed keys", "after deletions", "copied",
        "fromkeys then set", "str keys after a non-str one left"]


@pytest.mark.parametrize("how", HOWS)
def test_copies_have_stdlib_sizes(how):
    for n in list(range(0, 24)) + [40, 85, 86, 171, 341, 700]:
        x = built(n, how)
        assert _sizes(impl.deepcopy(x)) == _sizes(copy.deepcopy(x)), (n, how)
        assert list(impl.deepcopy(x)) == list(x)


@pytest.mark.parametrize("at", [0, 1, 5, 6, 10, 39])
def test_copies_settled_at_any_item_have_stdlib_sizes(at):
    watch = Watch(None, [])
    x = {"k%02d" % i: [i] for i in range(40)}
    x["k%02d" % at] = [MemoHook(watch)]
    watch.target = x
    a, b = copy.deepcopy(x), impl.deepcopy(x)
    assert _sizes(a) == _sizes(b)
    assert_same_copy(x, a, b)


class Mutate:
    """A __deepcopy__ that changes the dict being copied, or its copy through the memo."""

    def __init__(self, target, action):
        self.target = target
        self.action = action

    def __deepcopy__(self, memo):
        self.action(self.target, memo.get(id(self.target)))
        return "done"


MUTATIONS = {
    "original grows": lambda orig, cp: orig.__setitem__("new", 1),
    "original shrinks": lambda orig, cp: orig.pop("z"),
    "original key replaced": lambda orig, cp: (orig.pop("z"), orig.__setitem__("zz", 1)),
    "original value replaced": lambda orig, cp: orig.__setitem__("z", [99]),
    "copy grows": lambda orig, cp: cp.__setitem__("added", [7]),
    "copy cleared": lambda orig, cp: cp.clear(),
    "copy loses a copied key": lambda orig, cp: cp.pop("a"),
}


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_mutations_during_the_copy_behave_as_under_stdlib(name):
    def run(deepcopy):
        x = {"a": [1], "b": {"c": [2]}, "m": [None], "y": [3], "z": [4]}
        x["m"][0] = Mutate(x, MUTATIONS[name])
        try:
            result = deepcopy(x)
        except Exception as exc:  # noqa: BLE001 - the exception is what is compared
            return (type(exc), str(exc)), None
        return None, (x, result)

    expected, got = run(copy.deepcopy), run(impl.deepcopy)
    assert expected[0] == got[0]
    if expected[1] is not None:
        assert_same_copy(expected[1][0], expected[1][1], got[1][1])
        assert list(expected[1][1]) == list(got[1][1])
        assert _sizes(expected[1][1]) == _sizes(got[1][1])


class Boom:
    def __deepcopy__(self, memo):
        raise ValueError("boom")


def test_a_failure_while_pending_leaves_nothing_half_built():
    originals = [[1], [2], [3]]
    x = {"a": originals[0], "b": {"c": originals[1], "d": [Boom()]}, "e": originals[2]}
    for _ in range(3):
        with pytest.raises(ValueError, match="boom"):
            impl.deepcopy(x)
    gc.collect()
    for o in originals:
        holders = [r for r in gc.get_referrers(o) if isinstance(r, dict)]
        assert all(r is x or r is x["b"] for r in holders), holders


def test_a_call_whose_dicts_keep_settling_copies_as_stdlib():
    # Every dict here is settled by the instance below it: after the first few, the call stops
    # cloning (core/pending.h, copium_pending_worthwhile) and builds the rest the ordinary
    # way. Both halves must give stdlib's copy, sizes included; so must a dict-only tail.
    x = [{"a": i, "name": "x", "b": [Plain(i=i)], "c": [1, 2], "d": "y"} for i in range(50)]
    x += [{"k%d" % j: [j] for j in range(i % 12)} for i in range(50)]
    a, b = copy.deepcopy(x), impl.deepcopy(x)
    assert_same_copy(x, a, b)
    assert _sizes(a) == _sizes(b)
