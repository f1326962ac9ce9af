"""copium.extra.snapshot: each call of a snapshot returns a new deep copy of the object as it
was when the snapshot was taken. Differential (hypothesis) graphs of every kind of object the
engine copies, compared with copy.deepcopy taken at snapshot time, before and after the graph
is mutated; the identity pattern (shared sub-objects, cycles, objects returned as themselves);
copies independent of each other; what the plan records natively and what it keeps as engine
parts (private copies); engine parts' hooks meeting native parts; errors; the Snapshot type."""

import copy
import dataclasses
import datetime
import gc
import inspect
import os
import sys
import threading
import uuid

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import copium  # noqa: E402
import copium.extra  # noqa: E402
from copium.extra import Snapshot, snapshot  # noqa: E402
from compare import ATOM_TYPES, NO_ORIGINAL, Walker, assert_same_copy  # noqa: E402
from conftest import DC, DeepHook, Plain, Slotted, using  # noqa: E402
from test_differential import graphs  # noqa: E402

SETTINGS = settings(
    max_examples=int(os.environ.get("COPIUM_TEST_EXAMPLES", "200")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def kinds(snap):
    return snap._info()["kinds"]


# ---- differential ------------------------------------------------------------------------------


def mutate(nodes, marker):
    """Change every mutable object of a graph in place (what a snapshot must not see)."""
    for node in nodes:
        t = type(node)
        try:
            if isinstance(node, list):
                node.append(marker)
            elif isinstance(node, dict):
                node[("new", id(node))] = marker
            elif isinstance(node, set):
                node.add(("new", id(node)))
            elif isinstance(node, bytearray):
                node += b"!"
            if hasattr(node, "__dict__") and not isinstance(node, type):
                object.__setattr__(node, "mutated", marker)
            if t is Slotted or isinstance(node, Slotted):
                object.__setattr__(node, "a", marker)
        except (AttributeError, TypeError):
            pass


def check_against(original_walker, expected, got):
    """got is like expected (stdlib's copy at snapshot time) in types, values and sharing, and
    returns exactly the objects stdlib returned as themselves (atoms aside) as themselves."""
    w = Walker()
    w.walk(NO_ORIGINAL, expected, got)
    originals = original_walker.originals
    for a, b, path in w.pairs:
        if type(a) in ATOM_TYPES:
            continue
        a_is_original = originals.get(id(a)) is a
        assert (a is b) == a_is_original, "%s: returned as itself in one copy only" % path


def edges(spec_entry):
    """The nodes a generated node refers to (test_differential's spec)."""
    out = []

    def add(v):
        if isinstance(v, int) and not isinstance(v, bool):
            out.append(v)
        elif isinstance(v, (list, tuple)):
            for w in v:
                add(w)
        elif isinstance(v, dict):
            for w in v.values():
                add(w)

    if spec_entry[0] not in ("atom", "bytearray"):
        for part in spec_entry[1:]:
            add(part)
    return out


def copied_twice_by_stdlib(graph):
    """An object memoized only after its parts are copied (a reduce's constructor arguments, a
    namedtuple's fields, a set's or frozenset's members) and reachable from those parts: stdlib
    copies it twice (once while copying its own parts), and which of the two copies each
    reference gets depends on the order the copy meets them. An engine part is a copy of a
    private copy, whose sets of objects hashed by identity iterate in another order than the
    original's: there the identity pattern may differ (README: what a snapshot keeps as a
    private copy)."""
    spec = graph.spec
    for i, entry in enumerate(spec):
        if entry[0] == "reducer":
            parts = [entry[1]] if entry[1] is not None else []
        elif entry[0] in ("namedtuple", "set", "frozenset"):
            parts = [j for j in entry[1] if j is not None]
        else:
            continue
        stack, seen = list(parts), set()
        while stack:
            j = stack.pop()
            if j == i:
                return True
            if j in seen:
                continue
            seen.add(j)
            stack.extend(edges(spec[j]))
    return False


@SETTINGS
@given(graphs())
def test_snapshot_matches_stdlib_at_snapshot_time(graph):
    assume(not copied_twice_by_stdlib(graph))
    x = list(graph.nodes)
    with using(copy):
        expected = copy.deepcopy(x)
    with using(copium):
        snap = snapshot(x)
        first = snap()
    w = assert_same_copy(x, expected, first)
    marker = Plain()
    mutate(graph.nodes, marker)
    with using(copium):
        again = snap()
        also = snap()
    check_against(w, expected, again)
    check_against(w, expected, also)
    assert again is not also
    # nothing mutable is shared between two copies but what the original shares with them
    mutate(Walker_reachable(again), marker)
    with using(copium):
        check_against(w, expected, snap())


def Walker_reachable(x):
    """Every object reachable from x through containers and instance state."""
    w = Walker()
    w.walk(NO_ORIGINAL, x, x)
    out, seen = [], set()
    for a, _, _ in w.pairs:
        if id(a) not in seen and type(a) not in ATOM_TYPES:
            seen.add(id(a))
            out.append(a)
    return out


@SETTINGS
@given(graphs())
def test_snapshot_of_one_node(graph):
    assume(not copied_twice_by_stdlib(graph))
    x = graph.nodes[graph.root]
    with using(copy):
        expected = copy.deepcopy(x)
    with using(copium):
        got = snapshot(x)()
    assert_same_copy(x, expected, got)


# ---- shapes ------------------------------------------------------------------------------------


@dataclasses.dataclass
class Item:
    id: int
    tags: list
    when: object = None


class Vec:
    __slots__ = ("x", "y", "parts")

    def __init__(self, x, y, parts):
        self.x, self.y, self.parts = x, y, parts


class Hooked:
    """A __deepcopy__ that copies its state through the memo (an engine part)."""

    calls = 0

    def __init__(self, state):
        self.state = state

    def __deepcopy__(self, memo):
        Hooked.calls += 1
        new = Hooked.__new__(Hooked)
        memo[id(self)] = new
        new.state = copium.deepcopy(self.state, memo)
        return new


class Reduced:
    """A user __reduce__ (an engine part)."""

    def __init__(self, items):
        self.items = items

    def __reduce__(self):
        return (Reduced, (self.items,))


def test_native_parts():
    tz = datetime.timezone(datetime.timedelta(hours=2))
    shared = [1, "s"]
    x = {
        "list": [1, 2.5, None, True, "s", b"b"],
        "tuple": (1, [2]),
        "atoms tuple": (1, "a"),
        "set": {1, (2, 3)},
        "frozenset": frozenset({"a", (1, 2)}),
        "bytearray": bytearray(b"xyz"),
        "plain": Plain(),
        "dataclass": Item(1, shared, datetime.datetime(2026, 1, 1, tzinfo=tz)),
        "slots": Vec(1, 2, shared),
        "dates": [datetime.date(2026, 1, 2), datetime.time(1, 2, tzinfo=tz),
                  datetime.timedelta(seconds=5), datetime.datetime(2026, 1, 1)],
        "uuid": uuid.UUID(int=5),
        "shared": shared,
    }
    x["plain"].a = shared
    snap = snapshot(x)
    k = kinds(snap)
    assert k["object"] == 3 and k["value"] == 6 and k["bytearray"] == 1
    assert k["set"] == 1 and k["frozenset"] == 1 and k["tuple"] == 1
    assert k["engine"] == 1  # the timezone (its reduce) is kept as a private copy
    got = snap()
    assert_same_copy(x, copy.deepcopy(x), got)
    assert got["dataclass"].tags is got["shared"] and got["slots"].parts is got["shared"]
    assert got["dataclass"].when.tzinfo is got["dates"][1].tzinfo
    assert got["atoms tuple"] is x["atoms tuple"]


def test_engine_parts_share_with_native_parts():
    shared = {"k": [1]}
    h = Hooked(shared)
    x = [shared, h, shared["k"], Reduced([shared])]
    Hooked.calls = 0
    snap = snapshot(x)
    assert Hooked.calls == 1
    assert kinds(snap)["engine"] >= 2
    for _ in range(3):
        got = snap()
        assert_same_copy(x, copy.deepcopy(x), got)
        assert got[1].state is got[0] and got[2] is got[0]["k"]
        assert got[3].items[0] is got[0]
    assert Hooked.calls == 1 + 3 + 3  # snapshot, three snapshot calls, three stdlib copies


def test_hook_sees_complete_siblings_and_partial_ancestors():
    seen = []

    class Looks:
        def __init__(self, ref):
            self.ref = ref

        def __deepcopy__(self, memo):
            ref = memo.get(id(self.ref))
            seen.append(None if ref is None else list(ref))
            return Looks(copium.deepcopy(self.ref, memo))

    sibling = [1, 2, 3]
    root = [sibling, "a", None]
    root[2] = Looks(root)  # the hook looks at its ancestor, as stdlib's partial copy
    first = Looks(sibling)
    graph = [sibling, first, root]
    seen.clear()
    copy.deepcopy(graph)
    expected = list(seen)
    assert expected == [[1, 2, 3], [[1, 2, 3], "a"]]
    seen.clear()
    snap = snapshot(graph)  # recording copies the hooks' objects once
    assert seen == expected
    for _ in range(2):
        seen.clear()
        got = snap()
        # a complete sibling; the ancestor as stdlib's copy holds it at that point
        assert seen == expected
    assert_same_copy(graph, copy.deepcopy(graph), got)


def test_cycles_and_sharing():
    a = []
    a.append(a)
    d = {}
    d["self"] = d
    t_list = []
    t = (t_list, 1)
    t_list.append(t)
    p = Plain()
    p.me = p
    p.items = [p, d]
    x = [a, d, t, t_list, p, (a,), {"t": t}]
    got = snapshot(x)()
    assert_same_copy(x, copy.deepcopy(x), got)
    assert got[0][0] is got[0] and got[1]["self"] is got[1]
    assert got[2][0][0] is got[2] and got[3] is got[2][0]
    assert got[4].me is got[4] and got[4].items[1] is got[1]


def held_counts(root):
    """For each object a copy made but its root, sys.getrefcount minus the references to it
    from within the copy: one number when nothing else holds them."""
    parents, seen, stack = {}, {}, [root]
    while stack:
        o = stack.pop()
        if id(o) in seen:
            continue
        seen[id(o)] = o
        if isinstance(o, dict):
            children = list(o.values())
        elif isinstance(o, (list, tuple)):
            children = list(o)
        elif isinstance(o, Slotted):
            children = [getattr(o, name) for name in Slotted.__slots__ if hasattr(o, name)]
        elif isinstance(o, (Plain, DC)):
            children = list(vars(o).values())
        else:
            continue
        for c in children:
            if isinstance(c, (dict, list, tuple, Plain, DC, Slotted)):
                parents[id(c)] = parents.get(id(c), 0) + 1
                stack.append(c)
    del seen[id(root)], stack, o, children
    return sorted({sys.getrefcount(v) - parents.get(k, 0) for k, v in seen.items()})


def test_copies_hold_their_parts_once():
    # The references a build hands to each container (each part held by its holder alone, a
    # shared part by each of its holders): the same as in stdlib's copy, one build after
    # another. A reference the build kept, or handed on twice, shows as a different count.
    shared = [1, 2]
    ring = [3]
    ring.append(ring)
    slotted = Slotted()
    slotted.a, slotted.b = [4, {"k": [5]}], shared
    x = {"tree": [[6, [7, [8]]], {"a": {"b": [9]}}], "shared": shared, "again": shared,
         "ring": ring, "tuple": ([10], (shared, [11])), "plain": Plain(v=[12], w={"u": [13]}),
         "dc": DC(a=[14], b=shared), "slotted": slotted}
    snap = snapshot(x)
    expected = held_counts(copy.deepcopy(x))
    assert len(expected) == 1
    for _ in range(3):
        assert held_counts(snap()) == expected


def test_objects_hashed_by_their_state():
    @dataclasses.dataclass(frozen=True)
    class Key:
        a: int
        b: tuple

    k1, k2 = Key(1, (2,)), Key(3, ())
    x = {k1: [1], "s": {k2, k1}, "f": frozenset({k1}), "l": [k2]}
    snap = snapshot(x)
    for _ in range(2):
        got = snap()
        assert_same_copy(x, copy.deepcopy(x), got)
        assert got == x


def test_later_changes_are_not_seen():
    item = Item(1, ["a"])
    x = {"items": [item], "n": 1, "u": uuid.UUID(int=1)}
    snap = snapshot(x)
    x["items"].append(Item(2, []))
    item.tags.append("b")
    item.id = 9
    x["n"] = 2
    object.__setattr__(x["u"], "int", 7)  # even a UUID's slots
    got = snap()
    assert got["items"] == [Item(1, ["a"])] and got["n"] == 1 and got["u"].int == 1


def test_copies_are_independent():
    x = {"a": [1, {"b": [2]}], "o": Item(1, [3])}
    snap = snapshot(x)
    c1 = snap()
    c1["a"][1]["b"].append(99)
    c1["o"].tags.append(99)
    c2 = snap()
    assert c2 == {"a": [1, {"b": [2]}], "o": Item(1, [3])}


def test_copies_in_cycles_are_collected():
    import weakref

    class Node:
        pass

    n = Node()
    n.d = {"node": n, "items": [n], "k": 1}
    snap = snapshot({"n": n})
    got = snap()
    assert gc.is_tracked(got) and gc.is_tracked(got["n"].d)
    ref = weakref.ref(got["n"])
    del got
    gc.collect()
    assert ref() is None


def test_atoms_and_atom_tuples_are_themselves():
    for x in (1, "s", None, (1, "a"), int, len):
        assert snapshot(x)() is x


def test_list_changed_by_a_hook_while_recorded():
    """An engine part's code that changes a list being recorded: its items are read as stdlib
    reads them (the length at every step)."""

    class Grows:
        def __init__(self, target):
            self.target = target

        def __deepcopy__(self, memo):
            if self.target is not None:
                self.target.append(len(self.target))
            return Grows(None)

    def make():
        lst = []
        lst.extend([Grows(lst), 1])
        return lst

    x1, x2 = make(), make()
    expected = copy.deepcopy(x1)
    got = snapshot(x2)()
    assert len(expected) == 3 and len(got) == 3 and got[1:] == expected[1:] == [1, 2]


def test_dict_changed_by_a_hook_while_recorded_raises_as_stdlib():
    class Mutates:
        def __init__(self, d):
            self.d = d

        def __deepcopy__(self, memo):
            self.d["extra"] = 1
            return Mutates(None)

    d1, d2 = {}, {}
    d1["m"], d2["m"] = Mutates(d1), Mutates(d2)
    d1["z"] = d2["z"] = 0
    with pytest.raises(RuntimeError) as stdlib_error:
        copy.deepcopy(d1)
    with pytest.raises(RuntimeError) as got:
        snapshot(d2)
    assert str(got.value) == str(stdlib_error.value)


# ---- what cannot be copied -----------------------------------------------------------------------


@pytest.mark.parametrize("make", [
    lambda: threading.Lock(),
    lambda: [1, {"lock": threading.Lock()}],
    lambda: {"module": [sys]},
], ids=["lock", "lock inside", "module inside"])
def test_uncopyable_raises_stdlibs_error_at_snapshot(make):
    with pytest.raises(Exception) as expected:
        copy.deepcopy(make())
    with pytest.raises(type(expected.value)) as got:
        snapshot(make())
    assert str(got.value) == str(expected.value)


def test_hook_error_raises_at_snapshot():
    class Bad:
        def __deepcopy__(self, memo):
            raise KeyError("bad")

    with pytest.raises(KeyError, match="bad"):
        snapshot({"a": [1], "b": Bad()})


def test_too_deep_is_the_engines_recursion_error():
    deep = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(RecursionError):
        copium.deepcopy(deep)
    with pytest.raises(RecursionError):
        snapshot(deep)


# ---- handlers and stdlib tables ----------------------------------------------------------------


def test_registered_python_handler_is_an_engine_part():
    class Box:
        def __init__(self, v):
            self.v = v

    calls = []

    def handler(obj, memo):
        calls.append(obj)
        return Box(copium.deepcopy(obj.v, memo))

    copium.register_handler(Box, handler)
    try:
        shared = [1]
        x = [shared, Box(shared)]
        snap = snapshot(x)
        got = snap()
        assert len(calls) == 2 and got[1].v is got[0]
    finally:
        copium.unregister_handler(Box)


def test_stdlib_dispatch_change_is_honoured_when_recording():
    saved = copy._deepcopy_dispatch.get(dict)
    copy._deepcopy_dispatch[dict] = lambda x, memo: {"patched": True}
    try:
        snap = snapshot([{"a": 1}])
    finally:
        copy._deepcopy_dispatch[dict] = saved
    assert snap() == [{"patched": True}]


# ---- the Snapshot type -------------------------------------------------------------------------


def test_snapshot_type():
    snap = snapshot({"a": [1]})
    assert type(snap) is Snapshot and Snapshot.__module__ == "copium.extra"
    assert str(inspect.signature(snap)) == "()"
    assert copium.extra.snapshot is copium._copium.snapshot
    assert str(inspect.signature(snapshot)) == "(obj)"
    with pytest.raises(TypeError, match="takes no arguments"):
        snap(1)
    with pytest.raises(TypeError, match="takes no arguments"):
        snap(x=1)
    with pytest.raises(TypeError):
        Snapshot()
    with pytest.raises(TypeError):
        snapshot()
    with pytest.raises(TypeError):
        snapshot(1, 2)
    assert snapshot(obj=[1])() == [1]
    assert Snapshot[int] is not None
    assert "Snapshot of dict" in repr(snap)
    assert sys.getsizeof(snap) > 0
    info = snap._info()
    assert info["nodes"] == 2 and info["quiet"] is True


def test_snapshot_in_a_cycle_is_collected():
    import weakref

    class Node:
        pass

    snap = snapshot([Node()])  # the class is one of the plan's constants
    Node.held = snap  # a cycle: Node -> snap -> its plan -> Node
    ref = weakref.ref(Node)
    del snap, Node
    gc.collect()
    assert ref() is None


def test_plan_holds_no_original_container():
    import weakref

    class Thing:
        pass

    obj = {"a": [1, 2], "t": Thing()}
    refs = [weakref.ref(obj["t"])]
    lst = obj["a"]
    before = sys.getrefcount(lst)
    snap = snapshot(obj)
    assert sys.getrefcount(lst) == before
    del obj
    gc.collect()
    assert refs[0]() is None  # the instance is rebuilt from its layout, not kept
    assert snap()["a"] == [1, 2]


def test_memory_of_a_plan_is_below_one_copy():
    import tracemalloc

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks"))
    import cases

    doc = cases.api_document(nodes=3000)
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        snap = snapshot(doc)
        snap()  # its first build keeps a buffer for the next
        gc.collect()
        plan = tracemalloc.get_traced_memory()[0] - base
        copy_ = copium.deepcopy(doc)
        one_copy = tracemalloc.get_traced_memory()[0] - base - plan
    finally:
        tracemalloc.stop()
    del snap, copy_
    assert plan < one_copy, (plan, one_copy)


# ---- threads -----------------------------------------------------------------------------------


def test_threads_build_one_snapshot():
    x = {"a": [1, {"b": [2, 3]}], "o": Item(1, ["t"]), "h": Hooked([1])}
    snap = snapshot(x)
    expected = copy.deepcopy(x)
    errors = []

    def run():
        try:
            for _ in range(200):
                check_against(assert_same_copy(x, expected, snap()), expected, snap())
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:1]


# ---- replicate on the same plan ----------------------------------------------------------------


def test_replicate_builds_instances_natively():
    items = [Item(i, ["a"], datetime.date(2026, 1, 1)) for i in range(5)]
    copies = copium.extra.replicate(items, 3)
    for c in copies:
        assert_same_copy(items, copy.deepcopy(items), c)
    assert copies[0][0] is not copies[1][0] and copies[0][0].tags is not copies[1][0].tags


def test_snapshot_with_a_recordable_plugin_part():
    pair = pytest.importorskip("pair")
    assert copium.handlers()[pair.Pair] == "pair.Pair"
    shared = [1]
    inner = pair.Pair(shared, None)
    x = [shared, inner, pair.Pair(inner, {"k": shared})]
    snap = snapshot(x)
    # each recorded with the plugin's handler (flagged recordable), privately
    assert kinds(snap)["engine"] == 2 and snap._info()["recordable"] == 2
    shared.append(2)
    inner.second = "changed"
    for _ in range(2):
        got = snap()
        assert got[0] == [1] and got[2].first is got[1] and got[1].first is got[0]
        assert got[2].second["k"] is got[0] and got[1].second is None


def test_replicate_with_a_recordable_plugin_part():
    pair = pytest.importorskip("pair")
    shared = [1]
    x = [shared, pair.Pair(shared, {"k": shared})]
    copies = copium.extra.replicate(x, 3)
    for c in copies:
        assert c[1].first is c[0] and c[1].second["k"] is c[0]
    assert len({id(c[1]) for c in copies}) == 3


@given(st.integers(0, 3))
@settings(max_examples=5, deadline=None)
def test_replicate_counts(n):
    x = [Item(1, [2])]
    assert [c == x for c in copium.extra.replicate(x, n)] == [True] * n
