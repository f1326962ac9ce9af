"""The cyclic collector's pause (core/gcpause.h): while copium copies builtin containers and
instances on the native object path it keeps the collector paused, and no Python code may ever
see that. Every place where Python code can
run during a copy is checked to see the collector enabled, and so is every way a copy ends;
on 3.10 and 3.11 (whose collector runs in the middle of an allocation) the pause is also shown
to happen, so that these tests cannot pass with the feature silently gone."""

import copy
import copyreg
import datetime
import gc
import sys
import threading

import pytest

from compare import IMPL_NAME
from conftest import impl

pytestmark = pytest.mark.skipif(IMPL_NAME != "copium", reason="copium's own collector pause")

seen = []  # gc.isenabled() as every piece of Python code below saw it


def look():
    seen.append(gc.isenabled())


def copy_warm(x):
    """The last of four copies is the one checked: the first ones meet types for the first time,
    and a registry miss ends the pause by itself, which would hide a missing end elsewhere."""
    for _ in range(3):
        impl.deepcopy(x)
    seen.clear()
    return impl.deepcopy(x)


@pytest.fixture(autouse=True)
def collector_on():
    assert gc.isenabled()
    seen.clear()
    yield
    was = gc.isenabled()
    gc.enable()
    assert was, "the collector was left paused"


def builtin_graph(n=50):
    return {"rows": [{"id": i, "tags": ["a", "b"], "pair": (i, [i])} for i in range(n)],
            "set": {1, 2, 3}, "frozen": frozenset({"x"}), "bytes": bytearray(b"ab")}


class Hook:
    def __deepcopy__(self, memo):
        look()
        return Hook()


class Reduced:
    def __reduce_ex__(self, protocol):
        look()
        return (Reduced, ())


class WithState:
    def __getstate__(self):
        look()
        return {"v": 1}

    def __setstate__(self, state):
        look()
        self.__dict__.update(state)


class LookTZ(datetime.tzinfo):
    """A Python tzinfo: copied through its reduce below a datetime, whose handler is quiet."""

    def utcoffset(self, d):
        return datetime.timedelta(hours=2)

    def __reduce_ex__(self, protocol):
        look()
        return (LookTZ, ())


class Key:
    """A dict key / set element whose copy hashes and compares in Python."""

    def __hash__(self):
        look()
        return 1

    def __eq__(self, other):
        look()
        return isinstance(other, Key)


class Meta(type):
    def __hash__(cls):
        look()
        return 7

    def __eq__(cls, other):
        look()
        return cls is other


class ClassKey(metaclass=Meta):
    """Classes are atoms: copied as themselves, but hashed through their metaclass."""


class ClassKey2(metaclass=Meta):
    pass


class Registered:
    pass


copyreg.pickle(Registered, lambda obj: (look(), (Registered, ()))[1])


class Plain:
    """On the native object path: the generic handler runs no Python code for it."""

    def __init__(self, i):
        self.i = i
        self.tags = ["a", "b"]


def plain_graph(n=100):
    """More plain instances (and lists) than the pause waits for: it starts among them."""
    return [Plain(i) for i in range(n)]


class SlotBase:
    __slots__ = ("v",)


class PropertySlot(SlotBase):
    """A slot name that getattr and setattr reach through a Python property: the object path
    reads and writes it as stdlib does, by getattr and setattr."""

    __slots__ = ()

    @property
    def v(self):
        look()
        return SlotBase.v.__get__(self)

    @v.setter
    def v(self, value):
        look()
        SlotBase.v.__set__(self, value)


def property_slot():
    p = PropertySlot()
    p.v = [1]
    return p


class SetattrSlot:
    """A plain slot read as a field, written through a Python __setattr__ (as stdlib's setattr
    writes it)."""

    __slots__ = ("v",)

    def __setattr__(self, name, value):
        look()
        object.__setattr__(self, name, value)


def setattr_slot():
    s = SetattrSlot()
    s.v = [1]
    return s


class CollidesWithDeepcopyName:
    """An instance-dict key hashed like "__deepcopy__", with Python __hash__ and __eq__: looking
    the name up in that dict compares with it, and the copy's dict hashes its copy."""

    def __hash__(self):
        look()
        return hash("__deepcopy__")

    def __eq__(self, other):
        look()
        return self is other


def colliding_instance():
    p = Plain(0)
    p.__dict__[CollidesWithDeepcopyName()] = 1
    return p


def each_python_entry():
    """Graphs where Python code runs after builtin containers were copied (and before more)."""
    return {
        "__deepcopy__": lambda: builtin_graph() | {"hook": [Hook()], "after": builtin_graph()},
        "__reduce_ex__": lambda: [builtin_graph(), Reduced(), builtin_graph()],
        "__getstate__/__setstate__": lambda: [builtin_graph(), WithState(), builtin_graph()],
        "copyreg": lambda: [builtin_graph(), Registered(), builtin_graph()],
        "dict key __hash__": lambda: [builtin_graph(), {Key(): 1, Key(): 2}, builtin_graph()],
        "set element __hash__": lambda: [builtin_graph(), {Key(), Key()}, builtin_graph()],
        "frozenset element __hash__": lambda: [builtin_graph(), frozenset({Key()})],
        "class key, metaclass __hash__": lambda: [builtin_graph(),
                                                  {ClassKey: 1, ClassKey2: 2}],
        "tuple key holding an instance": lambda: [builtin_graph(), {(1, Key()): 1}],
        "datetime's Python tzinfo": lambda: [builtin_graph(), [datetime.datetime(
            2026, 11, 24, tzinfo=LookTZ())], builtin_graph()],
        "__deepcopy__ after instances": lambda: [plain_graph(), Hook(), plain_graph()],
        "__setstate__ after instances": lambda: [plain_graph(), WithState(), plain_graph()],
        "slot through a property, after instances": lambda: [plain_graph(), property_slot(),
                                                             plain_graph()],
        "slot set by a Python __setattr__": lambda: [plain_graph(), setattr_slot(),
                                                     plain_graph()],
        "instance dict key with Python __eq__": lambda: [plain_graph(), colliding_instance(),
                                                         plain_graph()],
    }


@pytest.mark.parametrize("name", sorted(each_python_entry()))
def test_python_code_during_a_copy_sees_the_collector_on(name):
    x = each_python_entry()[name]()
    copy_warm(x)
    assert seen, "the graph ran no Python code: the test would prove nothing"
    assert all(seen), seen
    assert gc.isenabled()


def test_a_replaced_builtin_handler_sees_the_collector_on():
    def list_handler(obj, memo):
        look()
        return [impl.deepcopy(item, memo) for item in obj]

    impl.register_handler(list, list_handler)
    try:
        # Enough quiet containers first for the pause to start (it starts after 64).
        copy_warm([builtin_graph(), {"a": {"b": [1, {"c": 2}]}}])
    finally:
        impl.unregister_handler(list)
    assert seen and all(seen), seen


def test_a_nested_copy_leaves_the_collector_on_for_its_caller():
    class Nested:
        def __deepcopy__(self, memo):
            impl.deepcopy(builtin_graph())  # a top-level call of its own
            look()
            return Nested()

    copy_warm([builtin_graph(), Nested(), builtin_graph()])
    assert seen == [True]


# Allocation failures at every point of such copies: test_faults.py's sweep checks the collector
# after each one.
class CopiesToAList:
    def __deepcopy__(self, memo):
        return []


@pytest.mark.parametrize("case", ["unhashable key copy", "recursion"])
def test_a_failing_copy_leaves_the_collector_on(case):
    if case == "unhashable key copy":
        x = [builtin_graph(), {(1, CopiesToAList()): 3}, builtin_graph()]
        with pytest.raises(TypeError):
            impl.deepcopy(x)
    else:
        x = []
        for _ in range(100_000):
            x = [x]
        with pytest.raises(RecursionError):
            impl.deepcopy(x)
    assert gc.isenabled()


class CollidingKey:
    """A memo key with the hash of id(target): a later lookup of target in that memo compares
    it with this key, which runs __eq__ (Python code)."""

    def __init__(self, target):
        self.target_id = id(target)

    def __hash__(self):
        return self.target_id

    def __eq__(self, other):
        look()
        return False


def test_python_code_in_the_memo_sees_the_collector_on():
    # After a hook leaves such keys in the memo, the call's memo lookups can run Python code:
    # a pause started by the many quiet containers that follow would be seen by __eq__.
    later = builtin_graph(200)
    targets = [row["tags"] for row in later["rows"][-20:]]

    class Planter:
        def __deepcopy__(self, memo):
            for target in targets:
                memo[CollidingKey(target)] = None
            return Planter()

    copy_warm([Planter(), later])
    assert seen, "no lookup compared with a planted key: the test would prove nothing"
    assert all(seen), seen


class CollidesWithZzz:
    """A dict key hashed like the str "zzz", whose __eq__ is Python code."""

    def __hash__(self):
        return hash("zzz")

    def __eq__(self, other):
        look()
        return self is other


def test_a_key_with_python_eq_in_a_dict_being_built_sees_the_collector_on():
    # The key's copy is in the new dict before the many quiet containers of the next value;
    # inserting "zzz" then compares with it (same hash), so no pause may start in between.
    x = {CollidesWithZzz(): 1, "big": builtin_graph(200), "zzz": 2}
    copy_warm(x)
    assert seen, "no comparison with the key ran: the test would prove nothing"
    assert all(seen), seen


def test_a_collector_disabled_by_the_program_stays_disabled():
    gc.disable()
    try:
        copy_warm([builtin_graph(), Hook()])
        assert not gc.isenabled()
    finally:
        gc.enable()
    assert seen == [False]  # what stdlib's copy would show the hook too


def test_other_threads_never_see_the_collector_paused():
    stop = threading.Event()
    states = set()

    def watch():
        while not stop.is_set():
            states.add(gc.isenabled())

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        x = builtin_graph(500)
        for _ in range(200):
            impl.deepcopy(x)
    finally:
        stop.set()
        watcher.join()
    assert states == {True}


@pytest.mark.skipif(sys.version_info >= (3, 12),
                    reason="3.12+ collects only between bytecodes, never inside a C call")
@pytest.mark.parametrize("graph", ["builtin containers", "plain instances"])
@pytest.mark.parametrize("copier", ["stdlib", "copium"])
def test_no_collection_runs_while_builtin_containers_are_copied(copier, graph):
    # The pause is real: with stdlib (the control) the same copy triggers collections.
    deepcopy = copy.deepcopy if copier == "stdlib" else impl.deepcopy
    if graph == "builtin containers":
        x = builtin_graph(3000)
    else:
        x = plain_graph(3000)
        deepcopy(plain_graph(1))  # Plain met once: a registry miss ends the pause by itself
    state = {"copying": False, "collections": 0}

    def callback(phase, info):
        if phase == "start" and state["copying"]:
            state["collections"] += 1

    gc.collect()
    gc.callbacks.append(callback)
    try:
        state["copying"] = True
        deepcopy(x)
        state["copying"] = False
    finally:
        gc.callbacks.remove(callback)
    if copier == "stdlib":
        assert state["collections"] > 0
    else:
        assert state["collections"] == 0
