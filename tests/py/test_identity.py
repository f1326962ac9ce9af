"""What comes back as itself and what is a new object: atoms, their subclasses, classes,
functions and methods, modules, code, the objects stdlib's dispatch tables name, and objects of
every copy protocol. Everything is compared with stdlib `copy` run on the same input."""

import array
import collections
import ctypes
import copy
import dataclasses
import datetime
import decimal
import enum
import fractions
import functools
import io
import itertools
import json
import operator
import os
import pathlib
import re
import sys
import threading
import time
import types
import uuid
import weakref

import pytest

from conftest import (
    DC, FIXED_TIME, NT, Abstract, CopyHook, DeepHook, DictSub, ListSub, Methods, Plain, StrSub,
    check_deep, check_shallow, gen, impl,
)


class Color(enum.Enum):
    RED = 1
    BLUE = [2]


class Meta(type):
    pass


class WithMeta(metaclass=Meta):
    pass


class IntSub(int):
    pass


class FloatSub(float):
    pass


class TupleSub(tuple):
    pass


class ClassProxy:
    """An object whose __class__ lies: stdlib dispatches on type(x)."""

    @property
    def __class__(self):
        return list

    def __init__(self):
        self.payload = [1]


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


KEEP_ALIVE = Plain()


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


class FreshEachTime:
    """A copy hook that does not store itself in the memo (stdlib's deepcopy stores what it
    returns)."""

    def __deepcopy__(self, memo):
        return [0]


class ItselfHook:
    """A copy hook that returns the object itself (stdlib then stores nothing)."""

    def __deepcopy__(self, memo):
        return self


def test_runs_of_one_object_in_a_list():
    # handlers/list.c takes the copy of an object repeated next to itself from the first
    # occurrence's lookup: the sharing (and the copies made anew) must be stdlib's.
    row = [1, [2]]
    t = (1, "a")
    changed = (row, 2)
    plain = Plain(v=[3])
    x = ([row] * 4 + [t] * 3 + [changed] * 2 + [plain, plain, row, row] + [[row] * 3] * 2
         + [FreshEachTime()] * 3 + [ItselfHook()] * 2 + [row] * 2)
    x.append(x)
    x.append(x)
    expected, got = check_deep(x)
    y = got.value
    assert all(r is y[0] for r in y[1:4]) and y[11] is y[0] and y[-4] is y[0]
    assert y[4] is t and y[7] is y[8] and y[9] is y[10] and y[13] is y[14]
    assert y[15] is y[16] is y[17] and y[18] is x[18] and y[-1] is y and y[-2] is y


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
