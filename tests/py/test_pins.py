"""copium.extra.pin: while an object is pinned, every deep copy that meets it (copium.deepcopy,
a patched copy.deepcopy, a plugin's child copy through the C API, replicate, a snapshot taken
meanwhile) builds that part from the object's snapshot taken when it was pinned; the memo
rules hold (one copy per pinned object in a copy, cycles); pins inside graphs, in cycles,
referenced twice; what references into a pinned object's interior get; unpin, pinned,
clear_pins; atoms refused; threads pinning and unpinning while others copy."""

import copy
import dataclasses
import gc
import os
import sys
import threading
import weakref

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import copium  # noqa: E402
import copium.extra  # noqa: E402
import copium.patch  # noqa: E402
from copium.extra import Pin, clear_pins, pin, pinned, replicate, snapshot, unpin  # noqa: E402
from compare import assert_same_copy  # noqa: E402


@pytest.fixture(autouse=True)
def no_pins_left():
    clear_pins()
    yield
    clear_pins()


@dataclasses.dataclass
class Settings:
    name: str
    limits: dict


class Hooked:
    def __init__(self, state):
        self.state = state

    def __deepcopy__(self, memo):
        new = Hooked.__new__(Hooked)
        memo[id(self)] = new
        new.state = copy.deepcopy(self.state, memo)
        return new


def defaults():
    return {"retry": {"attempts": 3, "backoff": [0.1, 0.5]}, "hosts": ["a", "b"],
            "settings": Settings("s", {"max": 10})}


def test_pin_builds_from_the_snapshot():
    cfg = defaults()
    p = pin(cfg)
    assert type(p) is Pin and p.obj is cfg and p.hits == 0
    assert p.snapshot() == defaults()
    cfg["hosts"].append("c")
    cfg["retry"]["attempts"] = 5
    state = {"config": cfg, "again": cfg, "user": [1]}
    got = copium.deepcopy(state)
    assert got["config"] == defaults() and got["config"] is got["again"]
    assert got["config"] is not cfg and got["user"] == [1]
    assert p.hits == 1
    assert copium.deepcopy(cfg) == defaults() and p.hits == 2


def test_every_entry_point_meets_the_pin():
    cfg = defaults()
    p = pin(cfg)
    cfg["hosts"].clear()
    memo = {}
    got = copium.deepcopy([cfg], memo)
    assert got[0] == defaults() and memo[id(cfg)] is got[0]
    assert copium.copy(cfg) is not cfg and copium.copy(cfg)["hosts"] == []  # shallow: as is
    was = copium.patch.enabled()
    copium.patch.enable()
    try:
        assert copy.deepcopy({"c": cfg})["c"] == defaults()
    finally:
        if not was:
            copium.patch.disable()
    assert [c["c"] for c in replicate({"c": cfg}, 3)] == [defaults()] * 3
    later = snapshot({"c": cfg})  # a snapshot taken while pinned builds the pin's state
    unpin(cfg)
    assert later()["c"] == defaults()
    assert copium.deepcopy(cfg)["hosts"] == []  # unpinned: the object as it is
    assert p.hits >= 6


def test_plugin_child_copy_meets_the_pin():
    pair = pytest.importorskip("pair")
    cfg = defaults()
    pin(cfg)
    cfg["hosts"].append("later")
    got = copium.deepcopy(pair.Pair(cfg, [cfg]))
    assert got.first == defaults() and got.second[0] is got.first


def test_pinned_object_in_a_cycle():
    cfg = {"name": "x"}
    cfg["self"] = cfg
    pin(cfg)
    cfg["name"] = "changed"
    got = copium.deepcopy(cfg)
    assert got["self"] is got and got["name"] == "x"
    root = [cfg]
    root.append(root)
    got = copium.deepcopy(root)
    assert got[1] is got and got[0]["self"] is got[0] and got[0]["name"] == "x"


def test_pinned_object_referenced_twice_and_shared_parts():
    shared = [1, 2]
    cfg = {"a": shared, "b": shared}
    pin(cfg)
    got = copium.deepcopy([cfg, cfg, {"inner": cfg}])
    assert got[0] is got[1] is got[2]["inner"]
    assert got[0]["a"] is got[0]["b"]


def test_references_into_the_interior():
    """A pinned object is built as a unit from its snapshot: an object inside it that the rest
    of the graph also refers to is copied on its own there (from its current state), not
    linked to the copy inside the pinned object (README, pins)."""
    inner = {"n": 1}
    cfg = {"inner": inner}
    pin(cfg)
    inner["n"] = 2
    got = copium.deepcopy([cfg, inner])
    assert got[0]["inner"] == {"n": 1} and got[1] == {"n": 2}
    assert got[0]["inner"] is not got[1]
    # with nothing pinned, stdlib's identity pattern
    unpin(cfg)
    got = copium.deepcopy([cfg, inner])
    assert got[0]["inner"] is got[1]


def test_pins_of_several_types():
    objs = [defaults(), [1, [2]], Settings("n", {}), {1, 2}, bytearray(b"x"), Hooked([1])]
    pins = [pin(o) for o in objs]
    expected = copy.deepcopy(objs)
    objs[0]["hosts"].append("z")
    objs[1][1].append(3)
    objs[2].limits["k"] = 1
    objs[3].add(3)
    objs[4] += b"y"
    objs[5].state.append(2)
    got = copium.deepcopy(objs)
    assert got[:5] == expected[:5] and type(got[5]) is Hooked and got[5].state == [1]
    assert all(p.hits == 1 for p in pins)


def test_pinning_an_atom_is_refused():
    for atom in (1, "s", None, 2.5, b"b", int, len, (1, 2)[0]):
        with pytest.raises(TypeError, match="cannot pin .* deepcopy returns them as themselves"):
            pin(atom)
        assert unpin(atom) is False
    assert pinned() == []


def test_pin_propagates_snapshot_errors():
    import threading as t

    with pytest.raises(TypeError, match="cannot pickle"):
        pin([t.Lock()])
    assert pinned() == []


def test_unpin_pinned_clear_pins():
    a, b, c = [1], {"b": 1}, Settings("c", {})
    pa, pb = pin(a), pin(b)
    pc = pin(c)
    assert pinned() == [pa, pb, pc]
    assert unpin(b) is True and unpin(b) is False
    assert pinned() == [pa, pc]
    b["b"] = 2
    assert copium.deepcopy(b) == {"b": 2}
    pa2 = pin(a)  # pinned again: a new snapshot, in place of the old one
    a.append(2)
    assert pa2 is not pa and pinned() == [pa2, pc]
    assert copium.deepcopy(a) == [1]
    pa3 = pin(a)
    assert copium.deepcopy(a) == [1, 2] and pa3.snapshot() == [1, 2]
    assert clear_pins() == 2 and pinned() == [] and clear_pins() == 0
    assert copium.deepcopy(a) == [1, 2] and copium.deepcopy(c) is not c


def test_pin_keeps_the_object_alive_until_unpinned():
    class Obj:
        pass

    o = Obj()
    o.v = [1]
    ref = weakref.ref(o)
    pin(o)
    del o
    gc.collect()
    assert ref() is not None
    assert copium.deepcopy([ref()])[0].v == [1]
    unpin(ref())
    gc.collect()
    assert ref() is None


def test_types_without_pins_are_not_wrapped():
    lst = [1]
    pin(lst)
    assert copium.handlers()[list] == "list"  # the registry's table is untouched
    assert copium.deepcopy({"d": [1]}) == {"d": [1]}
    unpin(lst)


def test_registered_handler_replaced_while_pinned():
    class Box:
        def __init__(self, v):
            self.v = v

    box = Box([1])
    pin(box)
    calls = []

    def handler(obj, memo):
        calls.append(obj)
        return Box(["by handler"])

    copium.register_handler(Box, handler)
    try:
        other = Box([2])
        got = copium.deepcopy([box, other])
        assert got[0].v == [1] and got[1].v == ["by handler"] and calls == [other]
    finally:
        copium.unregister_handler(Box)
    assert copium.deepcopy(box).v == [1]


def test_unpinned_by_another_thread_during_a_copy():
    cfg = {"v": [1]}
    pin(cfg)
    cfg["v"].append(2)  # the pinned state is [1], the live one [1, 2]

    class Unpins:
        def __deepcopy__(self, memo):
            t = threading.Thread(target=unpin, args=(cfg,))
            t.start()
            t.join()
            return Unpins()

    got = copium.deepcopy([cfg, Unpins(), cfg])
    assert got[0]["v"] == [1] and got[2] is got[0]  # met pinned, then the memo
    pin(cfg)
    got = copium.deepcopy([Unpins(), cfg, cfg])
    assert got[1]["v"] == [1, 2] and got[2] is got[1]  # met after the unpin: as it is


def test_threads_copy_while_another_pins_and_unpins():
    """Copies see the pin or not, for the whole copy (one copy per pinned object), and never
    anything but one of the object's two states: pins record one state or the other, and the
    object is rebound between them."""
    short, long_ = [1], [1, 2]
    cfg = {"v": short, "s": Settings("x", {"k": [0]})}
    states = [{"v": [1], "s": Settings("x", {"k": [0]})}, {"v": [1, 2], "s": Settings("x", {"k": [0]})}]
    stop = threading.Event()
    errors = []

    def toggle():
        while not stop.is_set():
            pin(cfg)
            cfg["v"] = long_ if cfg["v"] is short else short
            unpin(cfg)
            pin(cfg)
            cfg["v"] = long_ if cfg["v"] is short else short

    def copier():
        try:
            for _ in range(300):
                got = copium.deepcopy({"a": cfg, "b": [cfg, {"c": cfg}]})
                assert got["a"] is got["b"][0] is got["b"][1]["c"]
                assert got["a"] in states, got["a"]
                assert got["a"]["v"] is not short and got["a"]["v"] is not long_
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    t0 = threading.Thread(target=toggle)
    copiers = [threading.Thread(target=copier) for _ in range(4)]
    t0.start()
    for t in copiers:
        t.start()
    for t in copiers:
        t.join()
    stop.set()
    t0.join()
    assert not errors, errors[:1]


def test_pinned_snapshot_with_engine_parts_inside_a_copy():
    shared = [1]
    cfg = {"h": Hooked(shared), "s": shared}
    pin(cfg)
    shared.append(2)
    for memo in (None, {}):
        got = copium.deepcopy({"c": cfg, "x": [cfg]}, memo)
        assert got["c"]["h"].state is got["c"]["s"] and got["c"]["s"] == [1]
        assert got["x"][0] is got["c"]


def test_pin_of_a_pinned_object_inside():
    inner = {"i": [1]}
    pin(inner)
    inner["i"].append(2)
    outer = {"inner": inner, "o": [0]}
    po = pin(outer)  # its snapshot builds inner from inner's pin
    assert po.snapshot()["inner"] == {"i": [1]}
    unpin(inner)
    assert copium.deepcopy(outer)["inner"] == {"i": [1]}
    unpin(outer)
    assert copium.deepcopy(outer)["inner"] == {"i": [1, 2]}


def test_pin_type_and_signatures():
    import inspect

    p = pin([1])
    assert Pin.__module__ == "copium.extra" and "Pin of a list" in repr(p)
    with pytest.raises(TypeError):
        Pin()
    with pytest.raises(AttributeError):
        p.obj = 1
    assert str(inspect.signature(pin)) == "(obj)" and str(inspect.signature(unpin)) == "(obj)"
    assert str(inspect.signature(pinned)) == "()"
    assert str(inspect.signature(clear_pins)) == "()"
    with pytest.raises(TypeError):
        pin()
    with pytest.raises(TypeError):
        unpin()
    assert Pin[list] is not None
