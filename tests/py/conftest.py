"""What the tests in tests/py share: the implementation under test, the helper classes and the
graph builders they copy. pytest loads this file first; test modules import from it by name
(`from conftest import Plain, impl`). How a copy is compared with stdlib's is in compare.py.

- The implementation under test: `impl`, copium unless COPIUM_TEST_IMPL names another module
  with the same API (`COPIUM_TEST_IMPL=copy` runs the suite against stdlib itself); `using`
  and `current_deepcopy`, for hooks that call the deepcopy of the run in progress.
- Checking against stdlib: `check_deep`, `check_shallow`, `check_fresh` (and `both_deep`) run
  the same input through stdlib `copy` and `impl` and compare outcomes.
- Plain shapes: `Plain(**attrs)` (no copy protocol of its own), `Data` and `Slots`,
  `ListSub` / `DictSub`, `NT` (a namedtuple), and `plain_holding(v)`.
- Classes using each copy protocol, deep-copying their children with the copier in progress:
  `DC`, `FrozenDC`, `Slotted`, `SlottedChild`, `WithState`, `Reducer`, `ReducerEx`,
  `DeepHook`, `DeepHookStdlib`, `CopyHook` (`INSTANCE_CLASSES` lists them).
- Hooks that call copium itself, whatever COPIUM_TEST_IMPL says (for the reliability tests,
  which are about copium's C code): `HookMemo`, `HookNoMemo`; and `Reduced` (a five-item
  __reduce_ex__) and `Registered` (a copyreg.dispatch_table entry).
- Objects several semantics test files use: `StrSub`, `Methods`, `Abstract`, `gen`,
  `FIXED_TIME`, `DuckMemo` (a memo that is not a dict), `Nested` (a nested call of the
  copier), `Raiser`, `Mutator` (mutates a container while it is copied).
- Malformed reduce results: `R(factory)`, whose __reduce_ex__ returns what the factory gives,
  and `REDUCE_RESULTS`, every bad shape by name; `GetstateRaises`.
"""

import abc
import collections
import copy
import copyreg
import dataclasses
import datetime
import importlib
import sys
import threading
import types

import copium
from compare import IMPL_NAME, NO_ORIGINAL, assert_same_outcome, assert_same_structure, outcome

impl = importlib.import_module(IMPL_NAME)


# --------------------------------------------------------------------------------------------
# The deepcopy that a __deepcopy__ hook should call for its children: the copier of the run in
# progress (stdlib's for the reference run, the implementation's for the run under test), kept
# per thread so that concurrent tests do not mix them up.

_current = threading.local()


def current_deepcopy():
    return getattr(_current, "deepcopy", copy.deepcopy)


class using:
    """Context manager: hooks call `module.deepcopy` for their children while it is active."""

    def __init__(self, module):
        self.module = module

    def __enter__(self):
        self.saved = getattr(_current, "deepcopy", None)
        _current.deepcopy = self.module.deepcopy
        return self.module

    def __exit__(self, *exc):
        if self.saved is None:
            del _current.deepcopy
        else:
            _current.deepcopy = self.saved
        return False


# --------------------------------------------------------------------------------------------
# Checking against stdlib: the same input through stdlib `copy` and the implementation.


def both_deep(x, *args, **kwargs):
    """(stdlib outcome, outcome under test) of deepcopy(x, ...), hooks using each copier."""
    with using(copy):
        expected = outcome(copy.deepcopy, x, *args, **kwargs)
    with using(impl):
        got = outcome(impl.deepcopy, x, *args, **kwargs)
    return expected, got


def check_deep(x, expect_error=None):
    expected, got = both_deep(x)
    if expect_error is not None:
        assert isinstance(expected.error, expect_error), expected
    assert_same_outcome(expected, got, x, "deepcopy")
    return expected, got


def check_shallow(x, expect_error=None):
    expected, got = outcome(copy.copy, x), outcome(impl.copy, x)
    if expect_error is not None:
        assert isinstance(expected.error, expect_error), expected
    assert_same_outcome(expected, got, x, "copy")
    return expected, got


def check_fresh(factory, run, expect_error=None):
    """Run `run(module, original)` on a fresh original for each module: for inputs that the
    copy itself mutates. Compares outcomes, results, and what became of the originals."""
    orig_a, orig_b = factory(), factory()
    with using(copy):
        expected = outcome(run, copy, orig_a)
    with using(impl):
        got = outcome(run, impl, orig_b)
    if expect_error is not None:
        assert isinstance(expected.error, expect_error), expected
    assert_same_outcome(expected, got, NO_ORIGINAL, "copy of a fresh original")
    assert_same_structure(orig_a, orig_b)
    return expected, got


# --------------------------------------------------------------------------------------------
# Plain shapes: the objects of a graph that have no copy protocol of their own.


class Plain:
    """No copy protocol of its own: object.__reduce_ex__ with the instance __dict__.
    Plain(**attrs) sets the given attributes."""

    def __init__(self, **attrs):
        self.__dict__.update(attrs)


def plain_holding(v=None):
    """A Plain that holds v three times: as v, in a list and in a tuple."""
    return Plain(v=v, items=[v, (v, "x")])


@dataclasses.dataclass
class Data:
    a: object
    b: object = None


class Slots:
    """Only slots, one of them never set."""

    __slots__ = ("a", "b", "unset")

    def __init__(self, a=None, b=None):
        self.a = a
        self.b = b


class ListSub(list):
    """A list subclass with instance attributes."""


class DictSub(dict):
    """A dict subclass with instance attributes."""


NT = collections.namedtuple("NT", "a b")


# --------------------------------------------------------------------------------------------
# Classes using each copy protocol. Instances carry a `tag` (an int) so that members of sets can
# be matched between two copies without relying on identity.


@dataclasses.dataclass(eq=False)
class DC:
    a: object = None
    b: object = None
    tag: int = 0


@dataclasses.dataclass(eq=False, frozen=True)
class FrozenDC:
    a: object = None
    b: object = None
    tag: int = 0


class Slotted:
    """Only slots; some of them may be left unset."""

    __slots__ = ("a", "b", "c", "tag")


class SlottedChild(Slotted):
    """Slots on two levels of the hierarchy plus a __dict__."""

    __slots__ = ("d", "__dict__")


class WithState:
    """__getstate__ / __setstate__ of its own; __setstate__ marks the copy. WithState(**attrs)
    sets the given attributes."""

    def __init__(self, **attrs):
        self.__dict__.update(attrs)

    def __getstate__(self):
        return {"wrapped": dict(self.__dict__)}

    def __setstate__(self, state):
        self.__dict__.update(state["wrapped"])
        self.restored = True


class Reducer:
    """__reduce__ with constructor arguments (x) and a state dict (y)."""

    def __init__(self, x=None):
        self.x = x

    def __reduce__(self):
        return (Reducer, (self.x,), {"y": getattr(self, "y", None), "tag": getattr(self, "tag", 0)})


def make_reducer_ex():
    return ReducerEx()


class ReducerEx:
    """__reduce_ex__ returning all five items: listitems and dictitems iterators included."""

    def __init__(self):
        self.items = []
        self.mapping = {}

    def append(self, item):
        self.items.append(item)

    def __setitem__(self, key, value):
        self.mapping[key] = value

    def __reduce_ex__(self, protocol):
        state = {k: v for k, v in self.__dict__.items() if k not in ("items", "mapping")}
        state["protocol"] = protocol
        return (make_reducer_ex, (), state, iter(self.items), iter(self.mapping.items()))


class DeepHook:
    """__deepcopy__ that registers its copy in the memo first, then deep-copies its attributes
    with the deepcopy of the run in progress, passing the memo on."""

    def __deepcopy__(self, memo):
        new = DeepHook.__new__(DeepHook)
        memo[id(self)] = new
        deepcopy = current_deepcopy()
        for key, value in self.__dict__.items():
            setattr(new, key, deepcopy(value, memo))
        new.hooked = True
        return new


class DeepHookStdlib:
    """__deepcopy__ that always calls stdlib's copy.deepcopy with the memo it was given, as
    most real-world __deepcopy__ methods do (they `import copy`)."""

    def __deepcopy__(self, memo):
        new = DeepHookStdlib.__new__(DeepHookStdlib)
        memo[id(self)] = new
        for key, value in self.__dict__.items():
            setattr(new, key, copy.deepcopy(value, memo))
        return new


class CopyHook:
    """__copy__ of its own (used by copy); deepcopy takes the reduce path. CopyHook(**attrs) sets
    the given attributes."""

    def __init__(self, **attrs):
        self.__dict__.update(attrs)

    def __copy__(self):
        new = CopyHook.__new__(CopyHook)
        new.__dict__.update(self.__dict__)
        new.shallow_hooked = True
        return new


INSTANCE_CLASSES = (
    Plain, DC, FrozenDC, Slotted, SlottedChild, WithState, Reducer, ReducerEx, DeepHook,
    DeepHookStdlib, CopyHook,
)


# --------------------------------------------------------------------------------------------
# Objects with copy protocols of their own that call copium itself (with the memo, or as a
# nested top-level copy), a five-item __reduce_ex__ and a copyreg.dispatch_table entry: for the
# tests of copium's C code (faults, leaks, threads), whatever COPIUM_TEST_IMPL says.


class HookMemo:
    """__deepcopy__ that calls copium back with the memo it was given (a Python memo from
    then on)."""

    def __init__(self, payload):
        self.payload = payload

    def __deepcopy__(self, memo):
        new = HookMemo.__new__(HookMemo)
        memo[id(self)] = new
        new.payload = copium.deepcopy(self.payload, memo)
        return new


class HookWrites:
    """__deepcopy__ that adds entries to the memo (for itself, for its payload's first item
    and for an atom) and calls copium back with it: copium takes the entries in."""

    def __init__(self, payload):
        self.payload = payload

    def __deepcopy__(self, memo):
        new = HookWrites.__new__(HookWrites)
        memo[id(self)] = new
        memo[id(self.payload[0])] = self.payload[0]
        memo.setdefault(id(ATOM), "atom")
        new.payload = copium.deepcopy(self.payload, memo)
        return new


ATOM = 10 ** 40


class HookDeletes:
    """__deepcopy__ that deletes an entry (copium's mirror gives up: the dict becomes the memo)
    and calls copium back with the memo."""

    def __init__(self, payload):
        self.payload = payload

    def __deepcopy__(self, memo):
        for key in list(memo)[:1]:
            del memo[key]
        return HookDeletes(copium.deepcopy(self.payload, memo))


class HookStdlib:
    """__deepcopy__ that calls stdlib's own deepcopy with the memo (when copy is not patched):
    entries and the keep-alive list made by Python code, taken in by copium."""

    def __init__(self, payload):
        self.payload = payload

    def __deepcopy__(self, memo):
        return HookStdlib(copy.deepcopy(self.payload, memo))


KEPT_MEMO = [None]


class HookKeeps:
    """__deepcopy__ that keeps the memo (the last one only): copium fills it to its final
    state at the end of the call."""

    def __init__(self, payload):
        self.payload = payload

    def __deepcopy__(self, memo):
        KEPT_MEMO[0] = memo
        return HookKeeps(copium.deepcopy(self.payload, memo))


def mirror_graph():
    """Every use of the memo dict above, around shared and nested containers."""
    shared = [1, {"s": [2]}]
    return [shared, HookWrites([[3], shared, ATOM]), {"k": [4, shared]},
            HookStdlib([shared, [5], {"a": (6, [7])}]), HookKeeps({"p": [8, shared]}),
            HookMemo([HookWrites([[9]]), shared]), [10, ATOM], HookDeletes([shared, [11]]),
            {"after": [shared, [12]]}]


class HookNoMemo:
    """__deepcopy__ that starts a nested top-level copy (a context of its own)."""

    def __init__(self, payload):
        self.payload = payload

    def __deepcopy__(self, memo):
        return HookNoMemo(copium.deepcopy(self.payload))


class Reduced:
    """__reduce_ex__ with every item: args, state, listitems, dictitems."""

    def __init__(self, v=None):
        self.v = v
        self.items = []
        self.mapping = {}

    def append(self, item):
        self.items.append(item)

    def __setitem__(self, key, value):
        self.mapping[key] = value

    def __reduce_ex__(self, protocol):
        return (Reduced, (self.v,), {"tag": [self.v]}, iter(list(self.items)),
                iter(list(self.mapping.items())))


class Registered:
    """Copied through a copyreg.dispatch_table entry."""

    def __init__(self, v):
        self.v = v


def _reduce_registered(obj):
    return (Registered, (obj.v,))


copyreg.pickle(Registered, _reduce_registered)


# --------------------------------------------------------------------------------------------
# Objects several semantics test files use.


class StrSub(str):
    pass


class Methods:
    def __init__(self):
        self.data = [1, [2]]

    def method(self):
        return self.data

    @classmethod
    def cm(cls):
        return cls

    @staticmethod
    def sm():
        return 0


class Abstract(abc.ABC):
    @abc.abstractmethod
    def f(self):
        pass


def gen():
    yield 1


FIXED_TIME = datetime.datetime(2024, 5, 6, 7, 8, 9, 10)


class DuckMemo:
    """Not a dict: get, __contains__, __getitem__ and __setitem__ only (3.15's deepcopy asks
    `d in memo`, earlier versions `memo.get(d, _nil)`)."""

    def __init__(self):
        self.data = {}

    def get(self, key, default=None):
        return self.data.get(key, default)

    def __contains__(self, key):
        return key in self.data

    def __getitem__(self, key):
        return self.data[key]

    def __setitem__(self, key, value):
        self.data[key] = value


class Nested:
    """__deepcopy__ that copies its child with a nested call of the copier in progress,
    with or without passing the memo on."""

    def __init__(self, child, pass_memo):
        self.child = child
        self.pass_memo = pass_memo

    def __deepcopy__(self, memo):
        deepcopy = current_deepcopy()
        new = Nested.__new__(Nested)
        memo[id(self)] = new
        new.pass_memo = self.pass_memo
        new.child = deepcopy(self.child, memo) if self.pass_memo else deepcopy(self.child)
        return new


class Raiser:
    def __deepcopy__(self, memo):
        raise ValueError("no")

    def __reduce_ex__(self, protocol):
        raise ValueError("no")


class Mutator:
    """Runs an action (on the container being copied) the first time it is deep-copied."""

    def __init__(self, action):
        self.action = action
        self.done = False

    def _run(self):
        if not self.done:
            self.done = True
            self.action(self)

    def __deepcopy__(self, memo):
        self._run()
        return ("mutator copy", self.done)


# --------------------------------------------------------------------------------------------
# Malformed reduce results (test_reduce_errors.py; test_refcounts.py fails copies with some).


class R:
    """__reduce_ex__ returns what the factory gives."""

    def __init__(self, factory):
        self.factory = factory

    def __reduce_ex__(self, protocol):
        return self.factory(self)


def make_list():
    return []


def make_plain():
    return Plain()


def make_none():
    return None


def raising_gen():
    yield (1, 2)
    raise ValueError("iterator failed")


class SetstateRaises:
    def __setstate__(self, state):
        raise ValueError("setstate")


class SetstateNotCallable:
    __setstate__ = 42


def not_instantiable():
    return [type(sys.flags), type(iter([])), types.GeneratorType, types.FrameType,
            types.BuiltinFunctionType, type(sys.version_info)]


REDUCE_RESULTS = {
    "int": lambda s: 42,
    "None": lambda s: None,
    "str": lambda s: "global_name",
    "str subclass": lambda s: StrSub("name"),
    "empty tuple": lambda s: (),
    "1-tuple": lambda s: (Plain,),
    "6-tuple": lambda s: (Plain, (), None, None, None, None),
    "7-tuple": lambda s: (Plain, (), None, None, None, None, None),
    "list instead of tuple": lambda s: [Plain, ()],
    "iterator instead of tuple": lambda s: iter([make_list, ()]),
    "dict instead of tuple": lambda s: {make_list: 1, (): 2},
    "func not callable": lambda s: (42, ()),
    "func None": lambda s: (None, ()),
    "args int": lambda s: (Plain, 42),
    "args None": lambda s: (Plain, None),
    "args list": lambda s: (list, [[1, [2]]]),
    "args str": lambda s: (list, "ab"),
    "args wrong count": lambda s: (Plain, (1,)),
    "args generator": lambda s: (list, (x for x in [[1]])),
    "func raises": lambda s: (int, ("not a number",)),
    "func returns None with state": lambda s: (make_none, (), {"a": 1}),
    "state int": lambda s: (Plain, (), 42),
    "state pair of ints": lambda s: (Plain, (), (1, 2)),
    "state with bad slotstate": lambda s: (Plain, (), ({"a": 1}, 42)),
    "state slotstate only": lambda s: (Plain, (), (None, {"a": [1]})),
    "state slotstate non-str key": lambda s: (Plain, (), (None, {1: 2})),
    "state non-str keys": lambda s: (Plain, (), {1: [2]}),
    "state empty tuple": lambda s: (Plain, (), ()),
    "state empty dict": lambda s: (Plain, (), {}),
    "state 3-tuple": lambda s: (Plain, (), ({}, {}, {})),
    "state for object without __dict__": lambda s: (make_list, (), {"a": 1}),
    "state for int": lambda s: (int, (), {"a": 1}),
    "setstate raises": lambda s: (SetstateRaises, (), {"a": 1}),
    "setstate not callable": lambda s: (SetstateNotCallable, (), {"a": 1}),
    "setstate with falsy state": lambda s: (WithState, (), {"wrapped": {}}),
    "listitems int": lambda s: (make_list, (), None, 42),
    "listitems list": lambda s: (make_list, (), None, [1, [2]]),
    "listitems raising": lambda s: (make_list, (), None, raising_gen()),
    "listitems without append": lambda s: (make_plain, (), None, iter([1])),
    "listitems on tuple": lambda s: (tuple, (), None, iter([1])),
    "dictitems non-pairs": lambda s: (dict, (), None, None, iter([1, 2])),
    "dictitems triples": lambda s: (dict, (), None, None, iter([(1, 2, 3)])),
    "dictitems strings": lambda s: (dict, (), None, None, iter(["ab", "cd"])),
    "dictitems raising": lambda s: (dict, (), None, None, raising_gen()),
    "dictitems unhashable key": lambda s: (dict, (), None, None, iter([([1], 2)])),
    "dictitems without setitem": lambda s: (make_plain, (), None, None, iter([(1, 2)])),
    "dictitems int": lambda s: (dict, (), None, None, 42),
    "all five": lambda s: (ListSub, (), {"a": [1]}, iter([[2]]), None),
    "newobj no args": lambda s: (copyreg.__newobj__, ()),
    "newobj of int instance": lambda s: (copyreg.__newobj__, (42,)),
    "newobj extra args": lambda s: (copyreg.__newobj__, (Plain, 1)),
    "newobj of abstract class": lambda s: (copyreg.__newobj__, (Abstract,)),
    "newobj_ex bad kwargs": lambda s: (copyreg.__newobj_ex__, (Plain, (), 42)),
    "newobj_ex args not tuple": lambda s: (copyreg.__newobj_ex__, (list, 42, {})),
    "newobj_ex ok": lambda s: (copyreg.__newobj_ex__, (list, ([1],), {})),
    "reconstructor not instantiable": lambda s: (copyreg._reconstructor,
                                                 (Plain, type(sys.flags), ())),
    "reduce raises": lambda s: (_ for _ in ()).throw(ValueError("reduce")),
}
for _i, _t in enumerate(not_instantiable()):
    REDUCE_RESULTS["newobj of %s" % _t.__name__] = (lambda t: lambda s: (copyreg.__newobj__,
                                                                         (t,)))(_t)
    REDUCE_RESULTS["newobj_ex of %s" % _t.__name__] = (
        lambda t: lambda s: (copyreg.__newobj_ex__, (t, (), {})))(_t)


class GetstateRaises:
    def __init__(self):
        self.a = [1]

    def __getstate__(self):
        raise ValueError("getstate")
