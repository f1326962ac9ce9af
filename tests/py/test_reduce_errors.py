"""Malformed reduce results and raising hooks: every shape of a bad __reduce_ex__ result,
__getstate__ / __setstate__ / __deepcopy__ that raise, and what is left behind. Everything is
compared with stdlib `copy` run on the same input."""

import copy
import copyreg
import sys

import pytest

from compare import NO_ORIGINAL, assert_same_outcome, outcome
from conftest import (
    R, REDUCE_RESULTS, GetstateRaises, SlottedChild, check_deep, check_shallow, impl,
)


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
