"""The module's surface as stdlib's copy module has it: copy.Error, the arguments deepcopy and
copy accept (positional, keyword, bad ones), the memo keyword, and copy.replace exactly where
stdlib has it (3.13 and later). Everything is compared with stdlib `copy` run on the same
input."""

import copy
import dataclasses
import sys
import types

import pytest

from compare import IMPL_NAME, NO_ORIGINAL, Walker, assert_same_memo, assert_same_outcome, outcome
from conftest import FIXED_TIME, NT, check_deep, check_shallow, impl


# ---------------------------------------------------------------------------------------------
# Module surface


def test_implementation_under_test():
    assert impl.__name__ == IMPL_NAME
    if IMPL_NAME != "copy":
        assert impl.deepcopy is not copy.deepcopy and impl.copy is not copy.copy


@pytest.mark.parametrize("name", ["deepcopy", "copy"])
def test_functions_are_module_functions(name):
    """As stdlib's: named by the module, pickled by reference (multiprocessing sends them so),
    a plain function's repr."""
    import pickle

    fn = getattr(impl, name)
    assert fn.__qualname__ == name
    assert pickle.loads(pickle.dumps(fn)) is fn
    assert " of " not in repr(fn), repr(fn)


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
