"""Targeted behaviour: what is returned as itself, argument errors, memo kinds, the memo seen
by __deepcopy__, nested calls, recursion limits, mutation during a copy, malformed reduce
results, dispatch-table additions, reference counts, state reuse between calls and threads.
Everything is compared with stdlib `copy` run on the same input."""

import abc
import array
import collections
import ctypes
import copy
import copyreg
import dataclasses
import datetime
import decimal
import enum
import fractions
import functools
import gc
import io
import itertools
import json
import operator
import os
import pathlib
import re
import subprocess
import sys
import threading
import time
import types
import uuid
import weakref

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from graphs import (  # noqa: E402
    DC, IMPL_NAME, NT, NO_ORIGINAL, CopyHook, DeepHook, DeepHookStdlib, DictSub, ListSub,
    Plain, Reducer, ReducerEx, Slotted, SlottedChild, Walker, WithState, assert_same_copy,
    assert_same_memo, assert_same_outcome, assert_same_structure, current_deepcopy, impl,
    outcome, using,
)

HERE = os.path.dirname(os.path.abspath(__file__))


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


# ---------------------------------------------------------------------------------------------
# Module surface


def test_implementation_under_test():
    assert impl.__name__ == IMPL_NAME
    if IMPL_NAME != "copy":
        assert impl.deepcopy is not copy.deepcopy and impl.copy is not copy.copy


def test_error_is_stdlib_error():
    assert impl.Error is copy.Error
    assert impl.error is copy.Error


def test_copyable_error_is_raised():
    class Uncopyable:
        __reduce_ex__ = None
        __reduce__ = None

    check_deep(Uncopyable(), expect_error=copy.Error)
    check_shallow(Uncopyable(), expect_error=copy.Error)
    with pytest.raises(impl.Error):
        impl.deepcopy([Uncopyable()])


# ---------------------------------------------------------------------------------------------
# What comes back as itself and what is a new object


class Color(enum.Enum):
    RED = 1
    BLUE = [2]


class Meta(type):
    pass


class WithMeta(metaclass=Meta):
    pass


class StrSub(str):
    pass


class IntSub(int):
    pass


class FloatSub(float):
    pass


class TupleSub(tuple):
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


class ClassProxy:
    """An object whose __class__ lies: stdlib dispatches on type(x)."""

    @property
    def __class__(self):
        return list

    def __init__(self):
        self.payload = [1]


class Abstract(abc.ABC):
    @abc.abstractmethod
    def f(self):
        pass


class NewArgs:
    """__getnewargs__: the reduce path passes (cls, *args) to copyreg.__newobj__."""

    def __new__(cls, a):
        obj = object.__new__(cls)
        obj.a = a
        return obj

    def __getnewargs__(self):
        return (self.a,)


class NewArgsEx:
    """__getnewargs_ex__: copyreg.__newobj_ex__ with keyword arguments."""

    def __new__(cls, a, *, b):
        obj = object.__new__(cls)
        obj.a = a
        obj.b = b
        return obj

    def __getnewargs_ex__(self):
        return ((self.a,), {"b": self.b})


class BytearraySub(bytearray):
    pass


class GetstateOnly:
    def __init__(self):
        self.a = [1]
        self.b = (2, [3])

    def __getstate__(self):
        return {"a": self.a, "extra": [4]}


class SetstateOnly:
    def __init__(self):
        self.a = [1]

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.set = True


@dataclasses.dataclass(slots=True)
class SlotsDC:
    a: object = None
    b: object = None


@dataclasses.dataclass(slots=True, frozen=True)
class FrozenSlotsDC:
    a: object = None
    b: object = None


class DatetimeSub(datetime.datetime):
    pass


class PropertySub(property):
    pass


def _datetime_sub():
    d = DatetimeSub(2020, 1, 2)
    d.extra = [1]
    return d


def _self_cycle(container):
    if isinstance(container, dict):
        container["self"] = container
    elif isinstance(container, types.SimpleNamespace):
        container.me = container
    else:
        container.append(container)
    return container


WEAK_TARGETS = [Plain() for _ in range(3)]


def _weak_value_dict():
    d = weakref.WeakValueDictionary()
    d["a"] = WEAK_TARGETS[0]
    return d


def _weak_key_dict():
    d = weakref.WeakKeyDictionary()
    d[WEAK_TARGETS[1]] = [1]
    return d


@functools.lru_cache(maxsize=None)
def cached_function(x):
    return x


def gen():
    yield 1


KEEP_ALIVE = Plain()
FIXED_TIME = datetime.datetime(2024, 5, 6, 7, 8, 9, 10)


def _code():
    return gen.__code__


IDENTITY_CASES = {
    "None": lambda: None,
    "True": lambda: True,
    "small int": lambda: 7,
    "big int": lambda: int("9" * 40),
    "float": lambda: float("1.25"),
    "nan": lambda: float("nan"),
    "-0.0": lambda: -0.0,
    "complex": lambda: complex(1, -2),
    "str": lambda: "abc" * 3,
    "empty str": lambda: "",
    "bytes": lambda: b"xyz" * 2,
    "Ellipsis": lambda: ...,
    "NotImplemented": lambda: NotImplemented,
    "builtin type": lambda: int,
    "class": lambda: Plain,
    "class with metaclass": lambda: WithMeta,
    "metaclass": lambda: Meta,
    "function": lambda: gen,
    "lambda": lambda: (lambda: 0),
    "builtin function": lambda: len,
    "builtin method": lambda: [].append,
    "code object": _code,
    "range": lambda: range(3, 10, 2),
    "property": lambda: property(lambda self: 1),
    "weakref.ref": lambda: weakref.ref(KEEP_ALIVE),
    "re.Pattern": lambda: re.compile(r"a+b"),
    "re.Match": lambda: re.match(r"a+", "aaab"),
    "Decimal": lambda: decimal.Decimal("1.10"),
    "Fraction": lambda: fractions.Fraction(1, 3),
    "tuple of atoms": lambda: (1, "a", None, 2.5, b"x"),
    "nested tuple of atoms": lambda: ((1, 2), (3, (4,)), ()),
    "empty tuple": lambda: (),
    "tuple with a list": lambda: (1, [2]),
    "tuple with a function": lambda: (gen, len, int),
    "frozenset": lambda: frozenset({1, 2, "a"}),
    "empty frozenset": lambda: frozenset(),
    "frozenset of tuples": lambda: frozenset({(1, 2), (3,)}),
    "slice": lambda: slice(1, 10, 2),
    "slice with list": lambda: slice([1], None),
    "list": lambda: [1, 2],
    "dict": lambda: {"a": [1]},
    "set": lambda: {1, 2},
    "bytearray": lambda: bytearray(b"ab"),
    "datetime": lambda: FIXED_TIME,
    "date": lambda: FIXED_TIME.date(),
    "time": lambda: FIXED_TIME.time(),
    "timedelta": lambda: datetime.timedelta(days=1, seconds=5),
    "timezone.utc": lambda: datetime.timezone.utc,
    "timezone": lambda: datetime.timezone(datetime.timedelta(hours=2), "X"),
    "aware datetime": lambda: FIXED_TIME.replace(tzinfo=datetime.timezone.utc),
    "enum member": lambda: Color.RED,
    "enum member with list value": lambda: Color.BLUE,
    "enum class": lambda: Color,
    "bound method": lambda: Methods().method,
    "classmethod bound to class": lambda: Methods.cm,
    "staticmethod function": lambda: Methods.sm,
    "staticmethod object": lambda: staticmethod(gen),
    "classmethod object": lambda: classmethod(gen),
    "str subclass": lambda: StrSub("abc"),
    "int subclass": lambda: IntSub(5),
    "float subclass": lambda: FloatSub(2.5),
    "tuple subclass": lambda: TupleSub((1, [2])),
    "object()": lambda: object(),
    "uuid": lambda: uuid.UUID(int=12345),
    "pure path": lambda: pathlib.PurePosixPath("a/b"),
    "OrderedDict": lambda: collections.OrderedDict([("a", [1]), ("b", 2)]),
    "defaultdict": lambda: collections.defaultdict(list, {"a": [1]}),
    "deque": lambda: collections.deque([1, [2]], maxlen=5),
    "Counter": lambda: collections.Counter("abca"),
    "ChainMap": lambda: collections.ChainMap({"a": 1}, {"b": [2]}),
    "array": lambda: array.array("i", [1, 2, 3]),
    "partial": lambda: functools.partial(max, [1], key=len),
    "SimpleNamespace": lambda: types.SimpleNamespace(a=[1], b=2),
    "exception": lambda: ValueError("x", [1]),
    "exception with attribute": lambda: _exception_with_note(),
    "namedtuple": lambda: NT(1, [2]),
    "namedtuple of atoms": lambda: NT(1, 2),
    "list subclass": lambda: ListSub([1, [2]]),
    "dict subclass": lambda: DictSub(a=[1]),
    "dataclass": lambda: DC([1], (2,)),
    "class with lying __class__": lambda: ClassProxy(),
    "class with __deepcopy__": lambda: DeepHook,
    "class with __copy__": lambda: CopyHook,
    "__getnewargs__": lambda: NewArgs([1, (2, [3])]),
    "__getnewargs_ex__": lambda: NewArgsEx([1], b={"k": [2]}),
    "bytearray subclass": lambda: BytearraySub(b"ab"),
    "__getstate__ only": lambda: GetstateOnly(),
    "__setstate__ only": lambda: SetstateOnly(),
    "slots dataclass": lambda: SlotsDC([1], (2, [3])),
    "frozen slots dataclass": lambda: FrozenSlotsDC([1], (2,)),
    "datetime subclass": _datetime_sub,
    "property subclass": lambda: PropertySub(lambda self: 1),
    "super object": lambda: super(Methods, Methods()),
    "method of a builtin": lambda: types.MethodType(len, [1, 2]),
    "weakref.proxy": lambda: weakref.proxy(WEAK_TARGETS[2]),
    "WeakValueDictionary": _weak_value_dict,
    "WeakKeyDictionary": _weak_key_dict,
    "WeakSet": lambda: weakref.WeakSet(WEAK_TARGETS),
    "UserDict": lambda: collections.UserDict({"a": [1]}),
    "UserList": lambda: collections.UserList([1, [2]]),
    "decimal context": lambda: decimal.Context(prec=5),
    "BytesIO": lambda: io.BytesIO(b"abc"),
    "lru_cache function": lambda: cached_function,
    "itemgetter": lambda: operator.itemgetter(1, "a"),
    "attrgetter": lambda: operator.attrgetter("a.b"),
    "itertools.count": lambda: itertools.count(3),
    "OrderedDict self-cycle": lambda: _self_cycle(collections.OrderedDict(a=[1])),
    "deque self-cycle": lambda: _self_cycle(collections.deque([1, [2]])),
    "SimpleNamespace self-cycle": lambda: _self_cycle(types.SimpleNamespace(a=[1])),
    "list self-cycle": lambda: _self_cycle([1, [2]]),
    "dict keys view": lambda: {"a": 1}.keys(),
    "ctypes c_int": lambda: ctypes.c_int(5),
    "NoneType": lambda: type(None),
    "GenericAlias": lambda: list[int],
    "memoryview": lambda: memoryview(b"abc"),
    "generator": lambda: gen(),
    "module": lambda: json,
    "lock": lambda: threading.Lock(),
    "mappingproxy": lambda: types.MappingProxyType({"a": 1}),
    "sys.flags": lambda: sys.flags,
    "os.stat_result": lambda: os.stat_result((1, 2, 3, 4, 5, 6, 7, 8, 9, 10)),
    "time.struct_time": lambda: time.localtime(0),
    "abstract class instance via __new__": lambda: _abstract_instance(),
    "cell": lambda: types.CellType([1]),
    "frame": lambda: sys._getframe(),
    "traceback": lambda: _traceback(),
    "iterator": lambda: iter([1, 2]),
}


def _exception_with_note():
    exc = KeyError("k")
    exc.extra = [1, 2]
    return exc


def _abstract_instance():
    return object.__new__(type("Concrete", (Abstract,), {"f": lambda self: 0}))


def _traceback():
    try:
        raise ValueError
    except ValueError as exc:
        return exc.__traceback__


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pickling itertools (3.12+)
@pytest.mark.parametrize("name", list(IDENTITY_CASES))
def test_deepcopy_identity_and_value_like_stdlib(name):
    x = IDENTITY_CASES[name]()
    expected, got = check_deep(x)
    if expected.error is None:
        assert (got.value is x) == (expected.value is x)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pickling itertools (3.12+)
@pytest.mark.parametrize("name", list(IDENTITY_CASES))
def test_copy_identity_and_value_like_stdlib(name):
    x = IDENTITY_CASES[name]()
    expected, got = check_shallow(x)
    if expected.error is None:
        assert (got.value is x) == (expected.value is x)


DEEP_SELF = [
    "None", "True", "small int", "big int", "float", "nan", "-0.0", "complex", "str", "bytes",
    "Ellipsis", "NotImplemented", "builtin type", "class", "class with metaclass", "metaclass",
    "function", "lambda", "builtin function", "builtin method", "code object", "range",
    "property", "weakref.ref", "re.Pattern", "Decimal", "Fraction", "tuple of atoms",
    "nested tuple of atoms", "empty tuple", "tuple with a function", "enum member",
    "enum member with list value", "enum class", "staticmethod function",
    "class with __deepcopy__", "class with __copy__",
]
DEEP_NEW = [
    "tuple with a list", "frozenset", "frozenset of tuples", "slice", "list", "dict", "set",
    "bytearray", "datetime", "date", "time", "timedelta", "bound method",
    "classmethod bound to class", "str subclass", "int subclass", "tuple subclass", "object()",
    "OrderedDict", "deque", "partial", "exception", "namedtuple", "namedtuple of atoms",
    "list subclass", "dict subclass", "dataclass",
]
SHALLOW_SELF = [
    "None", "big int", "float", "str", "bytes", "class", "function", "builtin function",
    "code object", "range", "property", "weakref.ref", "tuple with a list", "frozenset",
    "slice", "slice with list", "re.Pattern", "Decimal", "Fraction", "enum member",
]
SHALLOW_NEW = ["list", "dict", "set", "bytearray", "datetime", "namedtuple", "dataclass",
               "tuple subclass", "object()"]


@pytest.mark.parametrize("name", DEEP_SELF)
def test_deepcopy_returns_the_object_itself(name):
    x = IDENTITY_CASES[name]()
    assert copy.deepcopy(x) is x
    assert impl.deepcopy(x) is x
    assert impl.deepcopy(x, {}) is x


@pytest.mark.parametrize("name", DEEP_NEW)
def test_deepcopy_returns_a_new_object(name):
    x = IDENTITY_CASES[name]()
    assert copy.deepcopy(x) is not x
    y = impl.deepcopy(x)
    assert y is not x
    assert type(y) is type(x)


@pytest.mark.parametrize("name", SHALLOW_SELF)
def test_copy_returns_the_object_itself(name):
    x = IDENTITY_CASES[name]()
    assert copy.copy(x) is x
    assert impl.copy(x) is x


@pytest.mark.parametrize("name", SHALLOW_NEW)
def test_copy_returns_a_new_object(name):
    x = IDENTITY_CASES[name]()
    assert copy.copy(x) is not x
    y = impl.copy(x)
    assert y is not x and type(y) is type(x)


def test_unchanged_tuple_in_memo_is_not_stored():
    t = (1, "a", (2, 3))
    memo_a, memo_b = {}, {}
    copy.deepcopy([t, t], memo_a)
    impl.deepcopy([t, t], memo_b)
    assert id(t) not in memo_a and id(t) not in memo_b


def test_changed_tuple_is_memoized_and_shared():
    inner = [1]
    t = (inner, 2)
    x = [t, t, inner]
    expected, got = check_deep(x)
    assert got.value[0] is got.value[1]
    assert got.value[0][0] is got.value[2]


def test_tuple_recursion_through_list():
    t = ([],)
    t[0].append(t)
    expected, got = check_deep(t)
    y = got.value
    assert y[0][0] is y


class ValueKey:
    """A dict key hashed by value, whose copies may collide."""

    def __init__(self, value, copy_to):
        self.value = value
        self.copy_to = copy_to

    def __eq__(self, other):
        return isinstance(other, ValueKey) and self.value == other.value

    def __hash__(self):
        return hash(self.value)

    def __deepcopy__(self, memo):
        return ValueKey(self.copy_to, self.copy_to)


class UnhashableCopyKey:
    def __deepcopy__(self, memo):
        return [1]


def test_dict_keys_whose_copies_collide():
    d = {ValueKey(1, 0): "a", "x": [1], ValueKey(2, 0): "b", ValueKey(3, 3): "c"}
    expected, got = check_deep(d)
    assert len(got.value) == 3


def test_dict_key_whose_copy_is_unhashable():
    check_deep({"a": 1, UnhashableCopyKey(): 2}, expect_error=TypeError)
    check_deep({UnhashableCopyKey(), 1}, expect_error=TypeError)


def test_bound_method_of_instance_deep_copies_self():
    obj = Methods()
    x = [obj, obj.method]
    expected, got = check_deep(x)
    assert got.value[1].__self__ is got.value[0]
    assert got.value[1]() is got.value[0].data


# ---------------------------------------------------------------------------------------------
# Arguments


ARGUMENT_CALLS = {
    "deepcopy()": lambda m: m.deepcopy(),
    "deepcopy 4 args": lambda m: m.deepcopy([1], {}, [], 4),
    "deepcopy unknown keyword": lambda m: m.deepcopy([1], foo=2),
    "deepcopy memo and unknown keyword": lambda m: m.deepcopy([1], memo={}, foo=2),
    "deepcopy memo keyword only": lambda m: m.deepcopy(memo={}),
    "deepcopy memo twice": lambda m: m.deepcopy([1], {}, memo={}),
    "deepcopy x twice": lambda m: m.deepcopy([1], x=[2]),
    "deepcopy x keyword": lambda m: m.deepcopy(x=[1, [2]]),
    "deepcopy x and memo keywords": lambda m: m.deepcopy(x=[1, [2]], memo={}),
    "deepcopy memo keyword": lambda m: m.deepcopy([1, [2]], memo={}),
    "deepcopy memo None": lambda m: m.deepcopy([1, [2]], None),
    "deepcopy memo None keyword": lambda m: m.deepcopy([1, [2]], memo=None),
    "copy()": lambda m: m.copy(),
    "copy 2 args": lambda m: m.copy([1], [2]),
    "copy unknown keyword": lambda m: m.copy(y=[1]),
    "copy x keyword": lambda m: m.copy(x=[1, [2]]),
    "copy x twice": lambda m: m.copy([1], x=[1]),
    "copy memo": lambda m: m.copy([1], memo={}),
}


@pytest.mark.parametrize("name", list(ARGUMENT_CALLS))
def test_arguments_like_stdlib(name):
    call = ARGUMENT_CALLS[name]
    expected, got = outcome(call, copy), outcome(call, impl)
    assert_same_outcome(expected, got, NO_ORIGINAL, name)


def test_memo_keyword_is_filled():
    x = [[1], {"a": (2, [3])}]
    memo_a, memo_b = {}, {}
    ya = copy.deepcopy(x=x, memo=memo_a)
    yb = impl.deepcopy(x=x, memo=memo_b)
    assert memo_b[id(x)] is yb
    assert memo_b[id(x[0])] is yb[0]
    assert memo_b[id(x[1])] is yb[1]
    assert memo_b[id(x[1]["a"])] is yb[1]["a"]
    assert sorted(map(id, memo_b[id(memo_b)])) == sorted(
        map(id, [x[0], x[1]["a"][1], x[1]["a"], x[1], x]))
    walker = Walker()
    walker.walk(x, ya, yb)
    assert_same_memo(walker, memo_a, memo_b)


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


class Raiser:
    def __deepcopy__(self, memo):
        raise ValueError("no")

    def __reduce_ex__(self, protocol):
        raise ValueError("no")


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


# ---------------------------------------------------------------------------------------------
# Lookup order


class GetattrRecorder:
    looked_up = []

    def __init__(self):
        self.value = [1]

    def __getattr__(self, name):
        type(self).looked_up.append(name)
        raise AttributeError(name)


class GetattrAnything:
    calls = []

    def __getattr__(self, name):
        type(self).calls.append(name)
        return lambda *args: ("from __getattr__", name, len(args))


class GetattrRaising:
    def __getattr__(self, name):
        raise ValueError(name)


@pytest.mark.parametrize("cls", [GetattrRecorder, GetattrAnything])
@pytest.mark.parametrize("func", ["deepcopy", "copy"])
def test_attribute_lookups_like_stdlib(cls, func):
    x = [cls(), cls()]
    log = cls.looked_up if cls is GetattrRecorder else cls.calls
    del log[:]
    expected = outcome(getattr(copy, func), x)
    lookups_a = list(log)
    del log[:]
    got = outcome(getattr(impl, func), x)
    lookups_b = list(log)
    assert_same_outcome(expected, got, x, func)
    assert lookups_a == lookups_b


def test_getattr_raising_other_errors():
    check_deep([GetattrRaising()])
    check_shallow(GetattrRaising())


def test_deepcopy_hook_looked_up_on_instance_copy_hook_on_class():
    obj = Plain()
    obj.__deepcopy__ = lambda memo: "instance hook"
    obj.__copy__ = lambda: "instance hook"
    expected, got = check_deep([obj])
    assert got.value == ["instance hook"]
    expected, got = check_shallow(obj)
    assert got.value != "instance hook"


def test_hooks_set_to_none_fall_back_to_reduce():
    class NoHooks:
        __deepcopy__ = None
        __copy__ = None

        def __init__(self):
            self.a = [1]

    check_deep(NoHooks())
    check_shallow(NoHooks())


def test_reduce_ex_none_falls_back_to_reduce():
    class OnlyReduce:
        __reduce_ex__ = None

        def __reduce__(self):
            return (list, ([1, 2],))

    expected, got = check_deep(OnlyReduce())
    assert got.value == [1, 2]
    check_shallow(OnlyReduce())


def test_reduce_ex_gets_protocol_4():
    seen = []

    class Proto:
        def __reduce_ex__(self, protocol):
            seen.append(protocol)
            return (Proto, ())

    copy.deepcopy(Proto())
    copy.copy(Proto())
    stdlib_seen = list(seen)
    del seen[:]
    impl.deepcopy(Proto())
    impl.copy(Proto())
    assert seen == stdlib_seen == [4, 4]


def test_deepcopy_hook_precedes_dispatch_table():
    class Both:
        def __deepcopy__(self, memo):
            return "hook"

    copyreg.pickle(Both, lambda obj: (str, ("table",)))
    try:
        expected, got = check_deep(Both())
        assert got.value == "hook"
        expected, got = check_shallow(Both())
        assert got.value == "table"
    finally:
        del copyreg.dispatch_table[Both]


def test_copy_hook_precedes_dispatch_table():
    class Both:
        def __copy__(self):
            return "hook"

    copyreg.pickle(Both, lambda obj: (str, ("table",)))
    try:
        expected, got = check_shallow(Both())
        assert got.value == "hook"
        expected, got = check_deep(Both())
        assert got.value == "table"
    finally:
        del copyreg.dispatch_table[Both]


# ---------------------------------------------------------------------------------------------
# Additions to stdlib's tables


class Custom:
    def __init__(self):
        self.payload = [1]


class CustomChild(Custom):
    pass


def _custom_deepcopy(x, memo):
    return ("custom deepcopy", len(memo) >= 0)


def test_deepcopy_dispatch_addition_is_honoured():
    copy._deepcopy_dispatch[Custom] = _custom_deepcopy
    try:
        x = [Custom(), CustomChild()]
        expected, got = check_deep(x)
        assert got.value[0] == ("custom deepcopy", True)
        assert type(got.value[1]) is CustomChild  # exact type only
    finally:
        del copy._deepcopy_dispatch[Custom]
    expected, got = check_deep(Custom())
    assert type(got.value) is Custom


@pytest.mark.parametrize("cls", [Plain, DC, Slotted, list, dict, tuple, set, frozenset,
                                 bytearray, int, str, type(None)])
def test_deepcopy_dispatch_override_for_types_with_native_handling(cls):
    x = {Plain: Plain, DC: DC, Slotted: Slotted}.get(cls, cls)()
    calls = []

    def override(obj, memo):
        calls.append(obj)
        return ("overridden", cls.__name__)

    saved = copy._deepcopy_dispatch.get(cls)
    copy._deepcopy_dispatch[cls] = override
    try:
        expected = copy.deepcopy([x])
        got = impl.deepcopy([x])
    finally:
        if saved is None:
            del copy._deepcopy_dispatch[cls]
        else:
            copy._deepcopy_dispatch[cls] = saved
    assert got == expected
    if cls not in (int, str, type(None)):  # atoms skip the table from 3.14 on
        assert expected == (("overridden", "list") if cls is list
                            else [("overridden", cls.__name__)])
    # and back to normal afterwards
    check_deep([x, [x]])


if hasattr(copy, "_copy_dispatch"):
    # copy.copy consults copy._copy_dispatch where the module has one (up to 3.13)

    def test_copy_dispatch_addition_is_honoured():
        copy._copy_dispatch[Custom] = lambda x: "custom copy"
        try:
            expected, got = check_shallow(Custom())
            assert got.value == "custom copy"
        finally:
            del copy._copy_dispatch[Custom]
        expected, got = check_shallow(Custom())
        assert type(got.value) is Custom

    @pytest.mark.parametrize("cls", [Plain, list, dict])
    def test_copy_dispatch_override_for_types_with_native_handling(cls):
        saved = copy._copy_dispatch.get(cls)
        copy._copy_dispatch[cls] = lambda x: "overridden"
        try:
            assert copy.copy(cls()) == "overridden"
            assert impl.copy(cls()) == "overridden"
        finally:
            if saved is None:
                del copy._copy_dispatch[cls]
            else:
                copy._copy_dispatch[cls] = saved
        check_shallow(cls())


def _custom_reduce(obj):
    return (CustomChild, (), {"reduced": [2]})


@pytest.mark.parametrize("cls", [Custom, Plain, DC])
def test_copyreg_dispatch_table_addition_is_honoured(cls):
    copyreg.pickle(cls, _custom_reduce)
    try:
        x = [cls(), cls()]
        expected, got = check_deep(x)
        assert type(got.value[0]) is CustomChild and got.value[0].reduced == [2]
        expected, got = check_shallow(x[0])
        assert type(got.value) is CustomChild
    finally:
        del copyreg.dispatch_table[cls]
    expected, got = check_deep(cls())
    assert type(got.value) is cls


# ---------------------------------------------------------------------------------------------
# Subclasses of builtin containers that override the methods the reduce protocol uses


class ListIterOverride(list):
    def __iter__(self):
        return iter([x for x in list.__iter__(self)] * 2)


class ListAppendOverride(list):
    def append(self, item):
        list.append(self, ("appended", item))


class ListExtendOverride(list):
    def extend(self, items):
        list.extend(self, ["extended"])


class DictItemsOverride(dict):
    def items(self):
        return [(k, ("item", v)) for k, v in dict.items(self)]


class DictIterOverride(dict):
    def __iter__(self):
        return iter(["only"])


class DictSetitemOverride(dict):
    def __setitem__(self, key, value):
        dict.__setitem__(self, ("set", key), value)


class DictUpdateOverride(dict):
    def update(self, *args, **kwargs):
        dict.update(self, overridden=True)


class SetIterOverride(set):
    def __iter__(self):
        return iter(["only"])


CONTAINER_SUBCLASSES = [ListIterOverride, ListAppendOverride, ListExtendOverride,
                        DictItemsOverride, DictIterOverride, DictSetitemOverride,
                        DictUpdateOverride, SetIterOverride]


@pytest.mark.parametrize("cls", CONTAINER_SUBCLASSES, ids=lambda c: c.__name__)
def test_container_subclass_overrides(cls):
    if issubclass(cls, dict):
        x = cls()
        dict.__setitem__(x, "a", [1])
        dict.__setitem__(x, "b", (2, [3]))
    else:
        x = cls([1, (2, [3])] if issubclass(cls, list) else [1, (2,)])
    x.attr = [4]
    check_deep(x)
    check_deep([x, x])
    check_shallow(x)


# ---------------------------------------------------------------------------------------------
# Lookups through the instance


class GetattributeRecorder:
    log = []

    def __init__(self):
        self.a = [1]
        self.b = (2, [3])

    def __getattribute__(self, name):
        type(self).log.append(name)
        return object.__getattribute__(self, name)


class SlotsGetattributeRecorder:
    __slots__ = ("a", "b")
    log = []

    def __getattribute__(self, name):
        type(self).log.append(name)
        return object.__getattribute__(self, name)


@pytest.mark.parametrize("cls", [GetattributeRecorder, SlotsGetattributeRecorder],
                         ids=lambda c: c.__name__)
@pytest.mark.parametrize("func", ["deepcopy", "copy"])
def test_getattribute_lookups_like_stdlib(cls, func):
    x = cls()
    if cls is SlotsGetattributeRecorder:
        x.a = [1]
    del cls.log[:]
    expected = outcome(getattr(copy, func), [x, x] if func == "deepcopy" else x)
    lookups_a = list(cls.log)
    del cls.log[:]
    got = outcome(getattr(impl, func), [x, x] if func == "deepcopy" else x)
    lookups_b = list(cls.log)
    assert_same_outcome(expected, got, NO_ORIGINAL, func)
    assert lookups_a == lookups_b


def test_reduce_ex_on_the_instance_is_used():
    obj = Plain()
    obj.__reduce_ex__ = lambda protocol: (list, ([protocol],))
    expected, got = check_deep([obj])
    assert got.value == [[4]]
    expected, got = check_shallow(obj)
    assert got.value == [4]


def test_reduce_on_the_instance_is_used():
    class NoReduceEx:
        __reduce_ex__ = None

    obj = NoReduceEx()
    obj.__reduce__ = lambda: (list, (["instance"],))
    expected, got = check_deep(obj)
    assert got.value == ["instance"]
    check_shallow(obj)


@pytest.mark.parametrize("cls", [set, frozenset, bytearray, slice, list, dict, tuple, int,
                                 Plain, ListSub])
def test_copyreg_dispatch_table_for_builtin_types(cls):
    """Stdlib's deepcopy consults copyreg.dispatch_table for set, frozenset, bytearray, slice
    (absent from copy._deepcopy_dispatch); list, dict, tuple, int are dispatched before it."""
    x = {set: lambda: {1, 2}, frozenset: lambda: frozenset({1}),
         bytearray: lambda: bytearray(b"a"), slice: lambda: slice(1, 2),
         list: lambda: [1], dict: lambda: {"a": 1}, tuple: lambda: (1, [2]),
         int: lambda: 10 ** 30, Plain: Plain, ListSub: lambda: ListSub([1])}[cls]()
    copyreg.pickle(cls, lambda obj: (str, ("from dispatch_table",)))
    try:
        for y in ([x, x], x):
            check_deep(y)
            check_shallow(y)
    finally:
        del copyreg.dispatch_table[cls]
    check_deep([x, x])


# ---------------------------------------------------------------------------------------------
# Malformed reduce results and raising hooks


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


@pytest.mark.parametrize("name", list(REDUCE_RESULTS))
def test_malformed_reduce_deepcopy(name):
    x = R(REDUCE_RESULTS[name])
    check_deep(x)
    check_deep([[1], x, [2]])


@pytest.mark.parametrize("name", list(REDUCE_RESULTS))
def test_malformed_reduce_copy(name):
    check_shallow(R(REDUCE_RESULTS[name]))


def test_newobj_of_sys_flags_type_raises_type_error():
    class Flags:
        def __reduce__(self):
            return (copyreg.__newobj__, (type(sys.flags),))

    check_deep(Flags(), expect_error=TypeError)
    check_shallow(Flags(), expect_error=TypeError)


def test_sys_flags_itself():
    check_deep(sys.flags)
    check_shallow(sys.flags)


class HookRaises:
    def __deepcopy__(self, memo):
        raise ValueError("deepcopy hook")

    def __copy__(self):
        raise ValueError("copy hook")


class GetstateRaises:
    def __init__(self):
        self.a = [1]

    def __getstate__(self):
        raise ValueError("getstate")


class SetstateRaisesInstance:
    def __init__(self):
        self.a = [1]

    def __setstate__(self, state):
        raise ValueError("setstate")


class ReduceExRaises:
    def __reduce_ex__(self, protocol):
        raise ValueError("reduce_ex")


class ReduceRaises:
    def __reduce__(self):
        raise ValueError("reduce")


class HookNotCallable:
    __deepcopy__ = 42
    __copy__ = 42


class HookWrongSignature:
    def __deepcopy__(self):
        return "no memo parameter"

    def __copy__(self, extra):
        return "extra parameter"


class GetstateReturnsNone:
    setstate_calls = []

    def __init__(self):
        self.a = [1]

    def __getstate__(self):
        return None

    def __setstate__(self, state):
        type(self).setstate_calls.append(state)


class GetstateReturnsFalsy:
    setstate_calls = []

    def __init__(self):
        self.a = [1]

    def __getstate__(self):
        return {}

    def __setstate__(self, state):
        type(self).setstate_calls.append(state)


class GetstateReturnsInt:
    def __getstate__(self):
        return 42


class SlotsWithGetstate:
    __slots__ = ("a", "b")

    def __getstate__(self):
        return {"a": getattr(self, "a", None)}

    def __setstate__(self, state):
        self.a = state["a"]
        self.b = "set"


RAISING = [HookRaises, GetstateRaises, SetstateRaisesInstance, ReduceExRaises, ReduceRaises,
           HookNotCallable, HookWrongSignature, GetstateReturnsInt]


@pytest.mark.parametrize("cls", RAISING, ids=lambda c: c.__name__)
def test_raising_or_broken_hooks(cls):
    check_deep(cls())
    check_deep([[1], cls(), {"a": [2]}])
    check_shallow(cls())


@pytest.mark.parametrize("cls", [GetstateReturnsNone, GetstateReturnsFalsy],
                         ids=lambda c: c.__name__)
def test_setstate_called_whenever_state_is_not_none(cls):
    for func in ("deepcopy", "copy"):
        del cls.setstate_calls[:]
        expected = outcome(getattr(copy, func), cls())
        calls_a = list(cls.setstate_calls)
        del cls.setstate_calls[:]
        got = outcome(getattr(impl, func), cls())
        assert_same_outcome(expected, got, NO_ORIGINAL, func)
        assert cls.setstate_calls == calls_a


def test_slots_with_getstate():
    x = SlotsWithGetstate()
    x.a = [1]
    check_deep(x)
    check_shallow(x)


def test_slots_partly_unset():
    x = SlottedChild()
    x.b = [1]
    x.d = (2, [3])
    x.e = "dict attr"
    expected, got = check_deep(x)
    assert not hasattr(got.value, "a") and not hasattr(got.value, "c")
    check_shallow(x)


# ---------------------------------------------------------------------------------------------
# Mutation during a copy


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


class ReduceMutator(Mutator):
    """The same, from __reduce_ex__ (no __deepcopy__)."""

    __deepcopy__ = None

    def __reduce_ex__(self, protocol):
        self._run()
        return (str, ("reduced mutator",))


def mutator(action, via):
    return (Mutator if via == "deepcopy" else ReduceMutator)(action)


LIST_MUTATIONS = {
    "append": lambda: _mk_list(lambda lst, m: lst.append("appended")),
    "append many": lambda: _mk_list(lambda lst, m: lst.extend(range(50))),
    "append list": lambda: _mk_list(lambda lst, m: lst.append([1, [2]])),
    "remove first": lambda: _mk_list(lambda lst, m: lst.pop(0)),
    "remove self": lambda: _mk_list(lambda lst, m: lst.remove(m)),
    "remove next": lambda: _mk_list(lambda lst, m: lst.pop(lst.index(m) + 1)),
    "clear": lambda: _mk_list(lambda lst, m: lst.clear()),
    "truncate after": lambda: _mk_list(lambda lst, m: lst.__delitem__(
        slice(lst.index(m) + 1, None))),
    "insert front": lambda: _mk_list(lambda lst, m: lst.insert(0, "front")),
    "replace next": lambda: _mk_list(lambda lst, m: lst.__setitem__(lst.index(m) + 1, [9])),
    "replace previous": lambda: _mk_list(lambda lst, m: lst.__setitem__(0, [9])),
    "reverse": lambda: _mk_list(lambda lst, m: lst.reverse()),
}


def _mk_list(action, via="deepcopy"):
    lst = [[0], "a", None, [1]]
    m = mutator(lambda self: action(lst, self), via)
    lst[2] = m
    lst.append({"tail": [2]})
    return lst


@pytest.mark.parametrize("name", list(LIST_MUTATIONS))
def test_list_mutated_during_deepcopy(name):
    check_fresh(LIST_MUTATIONS[name], lambda m, x: m.deepcopy(x))


@pytest.mark.parametrize("name", ["append", "remove first", "clear", "insert front"])
def test_list_mutated_during_deepcopy_via_reduce(name):
    action = {
        "append": lambda lst, m: lst.append("appended"),
        "remove first": lambda lst, m: lst.pop(0),
        "clear": lambda lst, m: lst.clear(),
        "insert front": lambda lst, m: lst.insert(0, "front"),
    }[name]
    check_fresh(lambda: _mk_list(action, via="reduce"), lambda m, x: m.deepcopy(x))


def _mk_dict(action, position="middle", via="deepcopy", as_key=False):
    d = {"a": [1], "b": (2, [3])}
    m = mutator(lambda self: action(d, self), via)
    if as_key:
        d[m] = "mutator key"
    else:
        d["m"] = m
    if position == "middle":
        d["c"] = [4]
        d["d"] = "e"
    return d


DICT_ACTIONS = {
    "add key": lambda d, m: d.__setitem__("new", [5]),
    "delete earlier key": lambda d, m: d.pop("a"),
    "delete later key": lambda d, m: d.pop("c", None) if "c" in d else d.pop("a"),
    "delete own key": lambda d, m: d.pop("m", None),
    "reassign later value": lambda d, m: d.__setitem__("c", [40]) if "c" in d else None,
    "reassign earlier value": lambda d, m: d.__setitem__("a", [10]),
    "reassign own value": lambda d, m: d.__setitem__("m", "replaced"),
    "replace later key": lambda d, m: (d.pop("c"), d.__setitem__("c2", [44])) if "c" in d
    else (d.pop("a"), d.__setitem__("a2", [11])),
    "replace earlier key": lambda d, m: (d.pop("a"), d.__setitem__("a2", [11])),
    "move key to end": lambda d, m: d.__setitem__("a", d.pop("a")),
    "clear": lambda d, m: d.clear(),
    "clear and refill": lambda d, m: (d.clear(), d.update(x=1, y=2, z=3, w=4, v=5)),
    "update existing": lambda d, m: d.update(a=[0], b=1),
}


@pytest.mark.parametrize("position", ["middle", "last"])
@pytest.mark.parametrize("name", list(DICT_ACTIONS))
def test_dict_mutated_during_deepcopy(name, position):
    check_fresh(lambda: _mk_dict(DICT_ACTIONS[name], position), lambda m, x: m.deepcopy(x))


@pytest.mark.parametrize("name", ["add key", "delete earlier key", "reassign later value",
                                  "replace later key", "clear"])
def test_dict_mutated_during_deepcopy_via_reduce(name):
    check_fresh(lambda: _mk_dict(DICT_ACTIONS[name], "middle", via="reduce"),
                lambda m, x: m.deepcopy(x))


@pytest.mark.parametrize("name", ["add key", "delete earlier key", "reassign later value"])
def test_dict_mutated_by_a_key(name):
    check_fresh(lambda: _mk_dict(DICT_ACTIONS[name], "middle", as_key=True),
                lambda m, x: m.deepcopy(x))


def test_dict_delete_last_key_at_the_end_raises():
    def factory():
        d = {"a": [1]}
        d["m"] = Mutator(lambda self: d.pop("a"))
        return d

    check_fresh(factory, lambda m, x: m.deepcopy(x), expect_error=RuntimeError)


def test_dict_add_key_raises():
    def factory():
        d = {"a": [1]}
        d["m"] = Mutator(lambda self: d.__setitem__("z", 1))
        d["b"] = 2
        return d

    check_fresh(factory, lambda m, x: m.deepcopy(x), expect_error=RuntimeError)


def test_dict_reassign_value_does_not_raise():
    def factory():
        d = {"m": None, "a": [1]}
        d["m"] = Mutator(lambda self: d.__setitem__("a", [2]))
        return d

    expected, got = check_fresh(factory, lambda m, x: m.deepcopy(x))
    assert expected.error is None and got.value["a"] == [2]


INSTANCE_ACTIONS = {
    "add attribute": lambda o, m: setattr(o, "new", [1]),
    "delete attribute": lambda o, m: delattr(o, "first"),
    "reassign attribute": lambda o, m: setattr(o, "last", [2]),
    "replace __dict__": lambda o, m: setattr(o, "__dict__", {"other": 1}),
}


@pytest.mark.parametrize("name", list(INSTANCE_ACTIONS))
@pytest.mark.parametrize("cls", [Plain, DC, SlottedChild], ids=lambda c: c.__name__)
def test_instance_mutated_during_deepcopy(name, cls):
    def factory():
        o = cls()
        o.first = [0]
        o.m = Mutator(lambda self: INSTANCE_ACTIONS[name](o, self))
        o.last = (1, [1])
        return o

    check_fresh(factory, lambda m, x: m.deepcopy(x))


SLOT_ACTIONS = {
    "delete later slot": lambda o, m: delattr(o, "c"),
    "set unset slot": lambda o, m: setattr(o, "b", [5]),
    "reassign later slot": lambda o, m: setattr(o, "c", [6]),
    "delete later slot and dict attribute": lambda o, m: (delattr(o, "c"), delattr(o, "e")),
}


@pytest.mark.parametrize("name", list(SLOT_ACTIONS))
def test_slots_mutated_during_deepcopy(name):
    def factory():
        o = SlottedChild()
        o.a = Mutator(lambda self: SLOT_ACTIONS[name](o, self))
        o.c = [2]
        o.d = (3, [4])
        o.e = [7]
        return o

    check_fresh(factory, lambda m, x: m.deepcopy(x))


class Guarded:
    """`a` is a data descriptor; an instance may still hold "a" in its __dict__, which stdlib's
    `y.__dict__.update(state)` writes past the descriptor."""

    @property
    def a(self):
        return "property"

    @a.setter
    def a(self, value):
        raise AssertionError("a copy must not call the setter")


def test_instance_dict_key_shadowed_by_a_data_descriptor():
    def factory():
        o = Guarded()
        o.__dict__.update({"first": [1], "a": [2], "last": 3})
        return o

    expected, got = check_fresh(factory, lambda m, x: m.deepcopy(x))
    assert got.value.__dict__ == {"first": [1], "a": [2], "last": 3}
    assert list(got.value.__dict__) == list(expected.value.__dict__)


def test_instance_type_gains_a_data_descriptor_during_deepcopy():
    cls = type("Late", (), {})

    def add_property(m):
        cls.last = property(lambda self: "property", Guarded.a.fset)

    def factory():
        if "last" in cls.__dict__:
            del cls.last
        o = cls()
        o.first = [0]
        o.m = Mutator(add_property)
        o.last = [1]
        return o

    expected, got = check_fresh(factory, lambda m, x: m.deepcopy(x))
    assert got.value.__dict__["last"] == [1]


def test_instance_dict_with_non_str_keys():
    def factory():
        o = Plain()
        o.first = [0]
        o.__dict__[1] = "one"
        o.__dict__[("t",)] = [2]
        o.last = "z"
        return o

    expected, got = check_fresh(factory, lambda m, x: m.deepcopy(x))
    assert list(got.value.__dict__) == ["first", 1, ("t",), "last"]


@pytest.mark.parametrize("with_init", [True, False], ids=["init", "setattr"])
@pytest.mark.parametrize("nattrs", [1, 5, 29, 40])
def test_instance_dict_copies_are_no_larger_than_stdlib_s(nattrs, with_init):
    # Classes of their own: how CPython lays out an instance dict depends on the keys its
    # class shares (at most 30), and on whether __init__ told it which to expect.
    ns = {}
    exec("def __init__(self, i):\n" + "".join("    self.a%d = [i]\n" % k for k in range(nattrs)),
         ns)
    cls = type("Sized", (), {"__init__": ns["__init__"]} if with_init else {})

    def factory():
        if with_init:
            return cls(0)
        o = cls()
        for k in range(nattrs):
            setattr(o, "a%d" % k, [0])
        return o

    expected, got = check_fresh(factory, lambda m, x: m.deepcopy(x))
    assert list(got.value.__dict__) == list(expected.value.__dict__)
    assert sys.getsizeof(got.value.__dict__) <= sys.getsizeof(expected.value.__dict__)


class SlotReducer:
    """No instance dict, metaclass type, its own __reduce_ex__: the type whose lookup order
    copium remembers (straight to __reduce_ex__) until the type or stdlib's tables change."""

    __slots__ = ("v",)

    def __init__(self, v):
        self.v = v

    def __reduce_ex__(self, proto):
        return (SlotReducer, (self.v,))


ROUTE_CHANGES = {
    "__deepcopy__ on the class": (
        lambda: setattr(SlotReducer, "__deepcopy__", lambda self, memo: ["hook"]),
        lambda: delattr(SlotReducer, "__deepcopy__")),
    "copyreg.dispatch_table": (
        lambda: copyreg.pickle(SlotReducer, lambda o: (list, (["table"],))),
        lambda: copyreg.dispatch_table.pop(SlotReducer)),
    "copy._deepcopy_dispatch": (
        lambda: copy._deepcopy_dispatch.__setitem__(SlotReducer, lambda o, memo: ["dispatch"]),
        lambda: copy._deepcopy_dispatch.pop(SlotReducer)),
    "__reduce_ex__ replaced": (
        lambda: setattr(SlotReducer, "__reduce_ex__", lambda self, p: (list, (["replaced"],))),
        lambda: setattr(SlotReducer, "__reduce_ex__", _SLOT_REDUCER_REDUCE_EX)),
}
_SLOT_REDUCER_REDUCE_EX = SlotReducer.__dict__["__reduce_ex__"]


@pytest.mark.parametrize("name", list(ROUTE_CHANGES))
def test_remembered_reduce_route_follows_changes(name):
    change, undo = ROUTE_CHANGES[name]
    x = [SlotReducer([1]), SlotReducer([2])]
    for _ in range(3):
        check_deep(x)  # the route is remembered
    change()
    try:
        expected = copy.deepcopy(x)
        assert impl.deepcopy(x) == expected
        assert not isinstance(expected[0], SlotReducer)  # the change took effect
        check_deep(x)
    finally:
        undo()
    got = impl.deepcopy(x)
    assert type(got[0]) is SlotReducer and got[0].v == [1] and got[0].v is not x[0].v


def test_list_items_freed_during_deepcopy():
    def factory():
        lst = [[0], None, [1], [2], {"k": [3]}]

        def action(m):
            lst[:] = [[9] for _ in range(3)]
            gc.collect()

        lst[1] = Mutator(action)
        return lst

    check_fresh(factory, lambda m, x: m.deepcopy(x))


def test_dict_values_freed_during_deepcopy():
    def factory():
        d = {"a": [0], "m": None, "b": [1], "c": [2]}

        def action(m):
            d["b"] = [10]
            d["c"] = [20]
            gc.collect()

        d["m"] = Mutator(action)
        return d

    check_fresh(factory, lambda m, x: m.deepcopy(x))


def test_set_mutated_during_deepcopy():
    def factory():
        s = {1, 2, "a"}
        s.add(Mutator(lambda self: s.add("added")))
        return s

    check_fresh(factory, lambda m, x: m.deepcopy(x))


def test_list_subclass_mutated_during_deepcopy():
    def factory():
        lst = ListSub([[1], None, [2]])
        lst[1] = Mutator(lambda self: lst.append("appended"))
        lst.attr = [3]
        return lst

    check_fresh(factory, lambda m, x: m.deepcopy(x))


# ---------------------------------------------------------------------------------------------
# Recursion


DEEP_SCRIPT = r"""
import copy, importlib, json, sys
sys.path.insert(0, HERE)
impl = importlib.import_module(IMPL)


class Node:
    pass


def build(kind, n):
    x = None
    for i in range(n):
        if kind == "list":
            x = [x]
        elif kind == "dict":
            x = {"k": x}
        elif kind == "tuple":
            x = (x,)
        elif kind == "object":
            o = Node()
            o.next = x
            x = o
        elif kind == "mixed":
            x = [{"k": (x,)}] if i % 2 else (Node(), x)
        elif kind == "frozenset":
            x = frozenset([x])
    return x


def outcome(fn, *args):
    try:
        fn(*args)
        return "ok"
    except Exception as exc:
        return type(exc).__name__


def check_small():
    x = [1, {"a": (2, [3])}, Node()]
    y = impl.deepcopy(x)
    assert y == x[:2] + [y[2]] and y[1]["a"][1] is not x[1]["a"][1], y
    z = impl.copy(x)
    assert z == x and z is not x
    deep = build("list", 100)
    assert impl.deepcopy(deep) == deep


results = {}
for kind, n_stdlib, n_impl in CASES:
    # stdlib's outcome at n_stdlib (3.13.0's copy.deepcopy takes seconds to fail on a million
    # levels), the implementation's at both depths
    for n in sorted({n_stdlib, n_impl}):
        print("case", kind, n, flush=True)
        x = build(kind, n)
        for fname in ("deepcopy", "copy"):
            print(" ", fname, flush=True)
            key = "%s %s" % (fname, kind)
            if n == n_stdlib:
                results.setdefault(key, {})["stdlib"] = outcome(getattr(copy, fname), x)
                results[key]["impl at stdlib depth"] = outcome(getattr(impl, fname), x)
            if n == n_impl:
                results.setdefault(key, {})["impl"] = outcome(getattr(impl, fname), x)
            check_small()
        del x
print("RESULTS", json.dumps(results), flush=True)
"""


def run_deep_script(cases, recursion_limit=None):
    code = "HERE = %r\nIMPL = %r\nCASES = %r\n" % (HERE, IMPL_NAME, cases)
    if recursion_limit:
        code += "sys_limit = %d\nimport sys\nsys.setrecursionlimit(sys_limit)\n" % recursion_limit
    code += DEEP_SCRIPT
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, "subprocess died (%d); stdout tail:\n%s\nstderr tail:\n%s" % (
        proc.returncode, proc.stdout[-2000:], proc.stderr[-3000:])
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULTS ")][-1]
    return json.loads(line[len("RESULTS "):])


def test_million_levels_of_nesting_raise_recursion_error():
    kinds = ["list", "dict", "tuple", "object", "mixed", "frozenset"]
    results = run_deep_script([(kind, 20000, 1000000) for kind in kinds])
    assert len(results) == 2 * len(kinds)
    for key, res in results.items():
        assert res["impl at stdlib depth"] == res["stdlib"], (key, res)
        assert res["impl"] == res["stdlib"], (key, res)
        assert res["stdlib"] == ("RecursionError" if key.startswith("deepcopy") else "ok"), key


def test_deep_nesting_within_a_raised_recursion_limit_copies():
    """Structures that stdlib copies under a raised recursion limit copy too."""
    results = run_deep_script([("list", 2000, 2000), ("dict", 2000, 2000),
                               ("object", 1000, 1000)], recursion_limit=30000)
    assert len(results) == 6
    for key, res in results.items():
        assert res["stdlib"] == "ok", (key, res)
        assert res["impl"] == res["stdlib"], (key, res)


@pytest.mark.parametrize("kind", ["list", "dict", "tuple", "object"])
def test_moderate_nesting_copies_like_stdlib(kind):
    x = None
    for _ in range(120):
        if kind == "list":
            x = [x]
        elif kind == "dict":
            x = {"k": x}
        elif kind == "tuple":
            x = (x, [])
        else:
            o = Plain()
            o.next = x
            x = o
    expected, got = check_deep(x)
    assert expected.error is None


def test_recursion_error_inside_hook_then_normal_copies():
    class Deep:
        def __init__(self, depth):
            self.depth = depth

        def __deepcopy__(self, memo):
            return current_deepcopy()(Deep(self.depth + 1), memo)

    check_deep([Deep(0)], expect_error=RecursionError)
    check_deep([[1], {"a": (2, [3])}])


# ---------------------------------------------------------------------------------------------
# Reference counts and leaks


def refcount_graph():
    f = float("1.5") * 3
    big = int("7" * 30)
    s = "".join(["dyn", "amic"])
    shared = [f, big, s]
    obj = Plain()
    obj.shared = shared
    obj.me = obj
    dc = DC(shared, (shared, f))
    sl = SlottedChild()
    sl.a = shared
    sl.e = [s]
    ws = WithState()
    ws.x = {s: shared}
    red = Reducer((f, big))
    red.y = shared
    rex = ReducerEx()
    rex.append(shared)
    rex[s] = obj
    hook = DeepHook()
    hook.a = shared
    hook_std = DeepHookStdlib()
    hook_std.a = [shared]
    ch = CopyHook()
    ch.a = shared
    ls = ListSub([shared, obj])
    ls.attr = dc
    ds = DictSub(a=shared)
    ds.attr = sl
    t = (shared, f)
    fs = frozenset([t[1], s, (big,)])
    root = [shared, obj, dc, sl, ws, red, rex, hook, hook_std, ch, ls, ds, t, fs, {s: t},
            {1, 2, f}, bytearray(b"xy"), NT(shared, f), Methods().method, f, big, s]
    root.append(root)
    tracked = [f, big, s, shared, obj, dc, sl, ws, red, rex, hook, hook_std, ch, ls, ds, t, fs,
               root]
    return root, tracked


def _counts(objs):
    return [sys.getrefcount(o) for o in objs]


def _copy_everything(root, times=20):
    with using(impl):
        for _ in range(times):
            impl.deepcopy(root)
            impl.deepcopy(root, {})
            impl.copy(root)
            for item in root:
                impl.copy(item)
                impl.deepcopy(item)


def test_refcounts_unchanged_after_copies():
    root, tracked = refcount_graph()
    _copy_everything(root, 1)  # warm up whatever caches types
    gc.collect()
    before = _counts(tracked)
    _copy_everything(root)
    gc.collect()
    assert _counts(tracked) == before


def _failing_copies(root):
    failures = 0
    for make_bad in (lambda: Raiser(), lambda: R(REDUCE_RESULTS["listitems raising"]),
                     lambda: R(REDUCE_RESULTS["newobj of flags"]),
                     lambda: R(REDUCE_RESULTS["state int"]),
                     lambda: GetstateRaises()):
        for where in range(3):
            x = [root[0], root[1], root[2]]
            x.insert(where, make_bad())
            x.append({"tail": root[3]})
            try:
                impl.deepcopy(x)
            except (ValueError, TypeError):
                failures += 1
            try:
                impl.deepcopy({"a": root[0], "bad": make_bad(), "b": root[4]}, {})
            except (ValueError, TypeError):
                failures += 1
    # a dict changing size under the copy
    for _ in range(3):
        d = {"a": root[0], "b": root[1]}
        d["m"] = Mutator(lambda self: d.__setitem__("z", root[2]))
        d["c"] = root[3]
        try:
            impl.deepcopy(d)
        except RuntimeError:
            failures += 1
    return failures


def test_refcounts_unchanged_after_failed_copies():
    root, tracked = refcount_graph()
    _failing_copies(root)
    gc.collect()
    before = _counts(tracked)
    for _ in range(10):
        assert _failing_copies(root) == 33
    gc.collect()
    assert _counts(tracked) == before


class Tracked:
    """Every instance made through the reduce protocol is recorded by weak reference."""

    made = []

    def __reduce_ex__(self, protocol):
        return (make_tracked, (), dict(self.__dict__))


def make_tracked():
    obj = Tracked.__new__(Tracked)
    Tracked.made.append(weakref.ref(obj))
    return obj


def _tracked_graph():
    a = Tracked()
    a.items = [1, [2]]
    b = Tracked()
    b.peer = a
    a.peer = b
    return [a, b, Plain(), [a, b]]


def test_copies_are_freed():
    del Tracked.made[:]
    x = _tracked_graph()
    y = impl.deepcopy(x)
    assert len(Tracked.made) == 2 and all(r() is not None for r in Tracked.made)
    del y
    gc.collect()
    assert all(r() is None for r in Tracked.made)


def test_partial_copies_are_freed_after_a_failure():
    del Tracked.made[:]
    x = _tracked_graph() + [Raiser()]
    with pytest.raises(ValueError):
        impl.deepcopy(x)
    assert len(Tracked.made) == 2
    gc.collect()
    assert all(r() is None for r in Tracked.made)


def test_originals_are_not_kept_alive():
    x = _tracked_graph()
    refs = [weakref.ref(o) for o in x[:3]]
    impl.deepcopy(x)
    impl.deepcopy(x, {})
    try:
        impl.deepcopy(x + [Raiser()])
    except ValueError:
        pass
    del x
    gc.collect()
    assert all(r() is None for r in refs)


def test_user_memo_holds_the_only_extra_references():
    x = _tracked_graph()
    tracked = x[:3] + [x[3], x[0].items]
    before = _counts(tracked)
    memo = {}
    impl.deepcopy(x, memo)
    memo.clear()
    gc.collect()
    assert _counts(tracked) == before


# ---------------------------------------------------------------------------------------------
# State reuse between calls


def test_small_copies_after_a_big_copy_are_correct():
    big = [[i, Plain()] for i in range(50000)]
    impl.deepcopy(big)
    del big
    for round_ in range(300):
        # new objects, likely at addresses the big copy's originals had
        objs = [[round_, i] for i in range(20)] + [Plain() for _ in range(5)]
        y = impl.deepcopy(objs)
        assert len({id(v) for v in y}) == len(y)
        for orig, new in zip(objs, y):
            assert new is not orig and type(new) is type(orig)
            if type(orig) is list:
                assert new == orig
        del objs, y


def _time_small_copies(data, n=300):
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n):
            impl.deepcopy(data)
        best = min(best, time.perf_counter() - start)
    return best


def test_small_copies_stay_fast_after_a_big_copy():
    small = [[1, 2], {"a": 3}, (4, [5])]
    before = _time_small_copies(small)
    big = [[i] for i in range(300000)]
    impl.deepcopy(big)
    del big
    after = _time_small_copies(small)
    assert after < before * 10 + 0.002, (before, after)


def test_many_objects_shared_across_a_large_copy():
    """Sharing survives the memo growing to tens of thousands of entries."""
    n = 30000
    items = [[i] for i in range(n)]
    x = items + items[::-1] + [(item, i) for i, item in enumerate(items[:1000])]
    memo_a, memo_b = {}, {}
    ya = copy.deepcopy(x, memo_a)
    yb = impl.deepcopy(x, memo_b)
    assert len(yb) == len(ya)
    for i in range(n):
        assert yb[i] is yb[2 * n - 1 - i] and yb[i] == [i] and yb[i] is not x[i]
    for i in range(1000):
        assert yb[2 * n + i][0] is yb[i] and yb[2 * n + i][1] == i
    assert set(memo_a) - {id(memo_a)} == set(memo_b) - {id(memo_b)}
    assert all(memo_b[id(items[i])] is yb[i] for i in range(n))
    assert sorted(map(id, memo_a[id(memo_a)])) == sorted(map(id, memo_b[id(memo_b)]))


def test_caller_memo_is_not_kept():
    x = [[1], Plain(), (2, [3])]
    memo = {}
    before = sys.getrefcount(memo)
    impl.deepcopy(x, memo)
    impl.deepcopy(x, memo)
    gc.collect()
    assert sys.getrefcount(memo) == before
    duck = DuckMemo()
    ref = weakref.ref(duck)
    impl.deepcopy(x, duck)
    del duck
    gc.collect()
    assert ref() is None


def test_copy_of_copy_in_the_same_thread():
    x = [[1], {"a": [2]}]
    y = impl.deepcopy(x)
    z = impl.deepcopy(y)
    assert z == x and z[0] is not y[0] and z[0] is not x[0]


# ---------------------------------------------------------------------------------------------
# Threads


def _thread_graph(seed):
    shared = [seed, [seed + 1]]
    obj = Plain()
    obj.shared = shared
    obj.me = obj
    dh = DeepHook()
    dh.a = shared
    dh.b = obj
    x = [shared, obj, dh, {"k": (shared, seed)}, DC(shared, obj), NT(dh, shared),
         Nested(shared, False), Nested(shared, True), {seed, "s"}]
    x.append(x)
    return x


def test_threads_copy_concurrently():
    shared_graph = _thread_graph(-1)
    with using(copy):
        expected_shared = copy.deepcopy(shared_graph)
    errors = []
    barrier = threading.Barrier(8)

    def work(seed):
        try:
            private = _thread_graph(seed)
            with using(copy):
                expected_private = copy.deepcopy(private)
            barrier.wait()
            with using(impl):
                for _ in range(40):
                    got_shared = impl.deepcopy(shared_graph)
                    got_private = impl.deepcopy(private)
                    memo = {}
                    got_memo = impl.deepcopy(private, memo)
                    assert_same_copy(shared_graph, expected_shared, got_shared)
                    assert_same_copy(private, expected_private, got_private)
                    assert_same_copy(private, expected_private, got_memo)
                    assert memo[id(private)] is got_memo
                    shallow = impl.copy(private)
                    assert shallow == private and shallow is not private
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    if errors:
        raise errors[0]


# ---------------------------------------------------------------------------------------------
# replace


@dataclasses.dataclass
class Point:
    x: object
    y: object = None
    z: object = dataclasses.field(default=0, init=False)


@dataclasses.dataclass(frozen=True)
class FrozenPoint:
    x: object
    y: object = None


class CustomReplace:
    def __init__(self, a):
        self.a = a

    def __replace__(self, **changes):
        new = CustomReplace(changes.get("a", self.a))
        new.changes = sorted(changes)
        return new


class InstanceReplace:
    def __init__(self):
        self.__replace__ = lambda **kw: "instance attribute"


if sys.version_info >= (3, 13):
    # copy.replace exists from 3.13 on; before, only its absence is tested (below)

    def _replace_cases():
        shared = [1]
        return {
            "dataclass": lambda m: m.replace(Point(shared, [2]), y=[3]),
            "dataclass no changes": lambda m: m.replace(Point(shared, [2])),
            "dataclass unknown field": lambda m: m.replace(Point(shared), w=1),
            "dataclass init=False field": lambda m: m.replace(Point(shared), z=1),
            "frozen dataclass": lambda m: m.replace(FrozenPoint(shared), x=2),
            "namedtuple": lambda m: m.replace(NT(shared, 2), b=[5]),
            "namedtuple unknown field": lambda m: m.replace(NT(1, 2), c=3),
            "SimpleNamespace": lambda m: m.replace(types.SimpleNamespace(a=shared), b=2),
            "datetime": lambda m: m.replace(FIXED_TIME, year=2000),
            "date bad value": lambda m: m.replace(FIXED_TIME.date(), month=13),
            "custom": lambda m: m.replace(CustomReplace(shared), a=2, b=3),
            "instance attribute ignored": lambda m: m.replace(InstanceReplace()),
            "int": lambda m: m.replace(1),
            "list": lambda m: m.replace([1], a=1),
            "class": lambda m: m.replace(Point, x=1),
            "no args": lambda m: m.replace(),
            "obj keyword": lambda m: m.replace(obj=Point(1)),
            "two positional": lambda m: m.replace(Point(1), Point(2)),
            "positional and keyword": lambda m: m.replace(Point(1), x=2, y=3),
        }

    REPLACE_NAMES = list(_replace_cases())

    @pytest.mark.parametrize("name", REPLACE_NAMES)
    def test_replace_like_stdlib(name):
        call = _replace_cases()[name]
        expected, got = outcome(call, copy), outcome(call, impl)
        assert_same_outcome(expected, got, NO_ORIGINAL, name)

    def test_replace_keeps_unchanged_fields_identical():
        shared = [1]
        p = Point(shared, [2])
        q = impl.replace(p, y=[3])
        assert q.x is shared and q.y == [3] and type(q) is Point and q is not p


def test_replace_present_exactly_where_stdlib_has_it():
    if sys.version_info >= (3, 13):
        assert callable(impl.replace) and callable(copy.replace)
        assert "replace" in getattr(impl, "__all__", ["replace"])
    else:
        assert not hasattr(copy, "replace")
        assert not hasattr(impl, "replace")
        with pytest.raises(AttributeError):
            impl.replace  # noqa: B018


# --------------------------------------------------------------------------------------------
# Dicts of atoms: copied by cloning the original's table when that gives stdlib's size. The
# table is read in place (handlers/dict_table.c), so its shapes are what is tested here:
# deleted entries anywhere (first ones included), both key kinds, one- and two-byte indices.


def _atom_dicts():
    def without(d, keys):
        d = dict(d)
        for k in keys:
            del d[k]
        return d

    strs = {"k%d" % i: i for i in range(40)}
    ints = {i: float(i) for i in range(300)}
    return {
        "str_keys": strs,
        "str_keys_first_deleted": without(strs, ["k%d" % i for i in range(6)]),
        "str_keys_every_third_deleted": without(strs, ["k%d" % i for i in range(0, 40, 3)]),
        "str_keys_all_but_16_deleted": without(strs, ["k%d" % i for i in range(24)]),
        "int_keys": ints,
        "int_keys_first_deleted": without(ints, range(5)),
        "mixed_keys": {(i if i % 2 else "s%d" % i): None for i in range(64)},
        "str_subclass_key": dict(strs, **{StrSub("sub"): 1}),
        "fromkeys": dict.fromkeys(("k%d" % i for i in range(100)), 0),
        "zip": dict(zip(("k%d" % i for i in range(50)), range(50))),
        "merged": {**strs, **{"m%d" % i: b"x" for i in range(20)}},
        "copied": dict(ints),
        "large": {"k%d" % i: i for i in range(5000)},
        "not_all_atoms": dict(strs, last=[1]),
        "tuple_value": dict(strs, last=(1, 2)),
    }


class StrSub(str):
    pass


@pytest.mark.parametrize("name", sorted(_atom_dicts()))
def test_dict_of_atoms_copies_like_stdlib(name):
    original = _atom_dicts()[name]
    expected, got = check_deep(original)
    assert list(got.value.items()) == list(expected.value.items())
    assert [type(k) for k in got.value] == [type(k) for k in expected.value]
    assert sys.getsizeof(got.value) == sys.getsizeof(expected.value)
    got.value["new"] = 1
    assert "new" not in original


def test_dict_table_is_read_in_place():
    # Off only on a free-threaded build; anywhere else a mismatch means the mirrored layout of
    # CPython's dict table went stale and dicts of atoms silently lost their fast path.
    import sysconfig

    if IMPL_NAME != "copium" or sysconfig.get_config_var("Py_GIL_DISABLED"):
        pytest.skip("copium's own build only, and not free-threaded")
    assert impl._copium._dict_table_verified() is True


# --------------------------------------------------------------------------------------------
# The datetime module's C types, copied through the datetime C API (handlers/datetime.c): the
# same objects, tzinfo sharing and memo entries as stdlib's reduce path.


class CustomTZ(datetime.tzinfo):
    """A Python tzinfo with state: deep-copied to a new object, through its reduce."""

    def __init__(self, name="C", hours=1):
        self.name = name
        self.hours = hours
        self.notes = ["n"]

    def utcoffset(self, d):
        return datetime.timedelta(hours=self.hours)

    def dst(self, d):
        return datetime.timedelta(0)

    def tzname(self, d):
        return self.name

    def __repr__(self):
        return "CustomTZ(%r, %r, %r)" % (self.name, self.hours, self.notes)


class TZCopiesToAStr(datetime.tzinfo):
    def __deepcopy__(self, memo):
        return "not a tzinfo"


def _shared_tz():
    tz = CustomTZ()
    return [FIXED_TIME.replace(tzinfo=tz), datetime.time(1, tzinfo=tz), tz,
            FIXED_TIME.replace(tzinfo=tz, fold=1)]


DATETIME_VALUES = {
    "naive datetime": lambda: FIXED_TIME,
    "utc datetime": lambda: FIXED_TIME.replace(tzinfo=datetime.timezone.utc),
    "fixed-offset datetime": lambda: FIXED_TIME.replace(
        tzinfo=datetime.timezone(datetime.timedelta(hours=2), "X")),
    "custom tz datetime": lambda: FIXED_TIME.replace(tzinfo=CustomTZ()),
    "fold datetime": lambda: FIXED_TIME.replace(fold=1),
    "datetime.min": lambda: datetime.datetime.min,
    "datetime.max": lambda: datetime.datetime.max,
    "naive time": lambda: datetime.time(23, 59, 58, 999999),
    "aware time": lambda: datetime.time(1, 2, tzinfo=datetime.timezone.utc),
    "fold time": lambda: datetime.time(1, 2, fold=1),
    "date": lambda: datetime.date(2024, 2, 29),
    "date.min": lambda: datetime.date.min,
    "date.max": lambda: datetime.date.max,
    "timedelta": lambda: datetime.timedelta(days=3, seconds=4, microseconds=5),
    "negative timedelta": lambda: datetime.timedelta(microseconds=-1),
    "timedelta.min": lambda: datetime.timedelta.min,
    "timedelta.max": lambda: datetime.timedelta.max,
    "zero timedelta": lambda: datetime.timedelta(0),  # 3.13+: the constructor's shared zero
    "utc and zero timedelta": lambda: [datetime.timezone.utc, datetime.timedelta(0)],
    "shared custom tz": _shared_tz,
    "same datetime twice": lambda: [FIXED_TIME, FIXED_TIME],
    "in a dict": lambda: {"at": FIXED_TIME, "day": FIXED_TIME.date(), "ttl": datetime.timedelta(1)},
}


@pytest.mark.parametrize("name", sorted(DATETIME_VALUES))
def test_datetime_types_copy_like_stdlib(name):
    x = DATETIME_VALUES[name]()
    expected, got = check_deep(x)
    assert repr(got.value) == repr(expected.value)  # values, fold and tzinfo included


def test_datetime_handlers_are_in_use():
    if IMPL_NAME != "copium":
        pytest.skip("copium's own handlers")
    impl.deepcopy([FIXED_TIME, FIXED_TIME.date(), FIXED_TIME.time(), datetime.timedelta(1)])
    names = impl.handlers()
    assert [names.get(t) for t in (datetime.datetime, datetime.date, datetime.time,
                                   datetime.timedelta)] == ["datetime", "date", "time",
                                                            "timedelta"]


def test_datetime_tzinfo_that_copies_to_a_non_tzinfo():
    x = FIXED_TIME.replace(tzinfo=TZCopiesToAStr())
    expected, got = check_deep(x, TypeError)
    assert str(got.error) == str(expected.error)


class MemoCensus:
    """A hook that records what the memo holds when it runs (after the datetimes before it)."""

    records = []

    def __deepcopy__(self, memo):
        MemoCensus.records.append((
            sorted(type(v).__name__ for k, v in memo.items() if k != id(memo)),
            sorted(type(v).__name__ for v in memo.get(id(memo), [])),
        ))
        return MemoCensus()


def test_datetime_memo_entries_seen_by_a_later_hook_are_stdlib_s():
    tz = CustomTZ()
    x = [FIXED_TIME.replace(tzinfo=tz), FIXED_TIME.replace(tzinfo=datetime.timezone.utc),
         datetime.timedelta(0), datetime.timezone.utc,
         FIXED_TIME.replace(tzinfo=datetime.timezone(datetime.timedelta(hours=2), "X")),
         datetime.time(3, tzinfo=tz), FIXED_TIME.date(), datetime.timedelta(2), MemoCensus()]
    MemoCensus.records = []
    copy.deepcopy(x)
    impl.deepcopy(x)
    assert len(MemoCensus.records) == 2
    assert MemoCensus.records[0] == MemoCensus.records[1]


def test_datetime_route_changed_in_copyreg_is_followed():
    impl.deepcopy(FIXED_TIME)  # the handler is registered by now
    copyreg.pickle(datetime.datetime, lambda d: (str, ("reduced by copyreg",)))
    try:
        assert copy.deepcopy(FIXED_TIME) == "reduced by copyreg"
        assert impl.deepcopy(FIXED_TIME) == "reduced by copyreg"
    finally:
        del copyreg.dispatch_table[datetime.datetime]
    assert impl.deepcopy(FIXED_TIME) == FIXED_TIME


def test_datetime_handler_can_be_replaced_but_not_removed():
    if IMPL_NAME != "copium":
        pytest.skip("copium's own registry")
    impl.deepcopy(FIXED_TIME)
    assert impl.unregister_handler(datetime.datetime) is False
    impl.register_handler(datetime.datetime, lambda d, memo: "mine")
    try:
        assert impl.deepcopy(FIXED_TIME) == "mine"
    finally:
        assert impl.unregister_handler(datetime.datetime) is True
    assert impl.deepcopy(FIXED_TIME) == FIXED_TIME
    assert impl.handlers()[datetime.datetime] == "datetime"


# --------------------------------------------------------------------------------------------
# uuid.UUID, whose two slots copium writes directly while the uuid module's copy route is
# the one it ships (handlers/uuid.c); any change to that route is followed.


class UUIDSub(uuid.UUID):
    __slots__ = ("extra",)


def _uuid_with(**slots):
    u = uuid.UUID(int=7)
    for name, value in slots.items():
        object.__setattr__(u, name, value)
    return u


UUID_VALUES = {
    "uuid4": lambda: uuid.UUID("8c5b7a4e-8e0f-4f7e-9d0c-2a7f1f3b9e11"),
    "nil": lambda: uuid.UUID(int=0),
    "safe": lambda: uuid.UUID(int=1, is_safe=uuid.SafeUUID.safe),
    "unsafe": lambda: uuid.UUID(int=2, is_safe=uuid.SafeUUID.unsafe),
    "shared": lambda: (lambda u: [u, {"id": u}, (u,)])(uuid.UUID(int=3)),
    "subclass": lambda: (lambda u: (object.__setattr__(u, "extra", [1]), u)[1])(
        UUIDSub(int=4)),
    "int slot holding a list": lambda: _uuid_with(int=[1, 2]),
    "is_safe not a member": lambda: _uuid_with(is_safe=5),
    "slots unset": lambda: uuid.UUID.__new__(uuid.UUID),
}


@pytest.mark.parametrize("name", sorted(UUID_VALUES))
def test_uuid_copies_like_stdlib(name):
    x = UUID_VALUES[name]()
    expected, got = check_deep(x)
    if expected.error is None:
        e, g = (v[0] if isinstance(v, list) else v for v in (expected.value, got.value))
        assert type(g) is type(e)
        assert g.int == e.int
        assert g.is_safe is e.is_safe


def test_uuid_handler_is_in_use():
    if IMPL_NAME != "copium":
        pytest.skip("copium's own handlers")
    impl.deepcopy(uuid.UUID(int=1))
    assert impl.handlers().get(uuid.UUID) == "uuid"


def test_uuid_route_changes_are_followed():
    x = uuid.UUID(int=9)
    impl.deepcopy(x)  # the handler is registered by now
    original = uuid.UUID.__dict__["__getstate__"]

    def getstate(self):
        return {"int": self.int + 1}

    uuid.UUID.__getstate__ = getstate
    try:
        assert copy.deepcopy(x).int == 10
        assert impl.deepcopy(x).int == 10
    finally:
        uuid.UUID.__getstate__ = original
    assert impl.deepcopy(x).int == 9
    copyreg.pickle(uuid.UUID, lambda u: (str, ("reduced by copyreg",)))
    try:
        assert copy.deepcopy(x) == impl.deepcopy(x) == "reduced by copyreg"
    finally:
        del copyreg.dispatch_table[uuid.UUID]
    assert impl.deepcopy(x) == x
