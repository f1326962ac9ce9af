"""Stdlib's lookup order: which hook or table wins for a type (dispatch tables,
__deepcopy__ / __copy__, copyreg, __reduce_ex__ / __reduce__), additions a program makes to
stdlib's tables, subclasses of builtin containers that override what the reduce protocol uses,
and lookups made through the instance. Everything is compared with stdlib `copy` run on the same
input."""

import copy
import copyreg
import sys

import pytest

from compare import NO_ORIGINAL, assert_same_outcome, outcome
from conftest import DC, ListSub, Plain, Slotted, check_deep, check_shallow, impl


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


def test_atom_after_each_table_change():
    """An atom's deep copy right after each change to stdlib's tables, copium's call the first
    since the change (its top-level fast path reads only the tables an atom's copy depends on):
    copyreg's table and _copy_dispatch change nothing for it, _deepcopy_dispatch and the copy
    module's binding of it do (before 3.14, where _atomic_types comes first), at once."""
    big = 10 ** 30
    calls = []

    def override(obj, memo):
        calls.append(obj)
        return "overridden"

    def same_as_stdlib():
        before = len(calls)
        expected = copy.deepcopy(big)
        stdlib_calls = len(calls) - before
        got = impl.deepcopy(big)
        assert len(calls) - before == 2 * stdlib_calls
        assert got is big if expected is big else got == expected

    def restore(table, saved):
        if saved is None:
            table.pop(int, None)
        else:
            table[int] = saved

    saved_dispatch = copy._deepcopy_dispatch
    saved_atomic = saved_dispatch.get(int)  # 3.14 has none: int is in _atomic_types
    copyreg.pickle(int, lambda obj: (str, ("from dispatch_table",)))
    try:
        same_as_stdlib()
        if hasattr(copy, "_copy_dispatch"):
            saved_copy = copy._copy_dispatch.get(int)
            copy._copy_dispatch[int] = lambda x: "shallow"
            try:
                same_as_stdlib()
            finally:
                restore(copy._copy_dispatch, saved_copy)
        copy._deepcopy_dispatch[int] = override
        try:
            same_as_stdlib()
        finally:
            restore(copy._deepcopy_dispatch, saved_atomic)
        same_as_stdlib()
        copy._deepcopy_dispatch = {int: override}
        try:
            same_as_stdlib()
        finally:
            copy._deepcopy_dispatch = saved_dispatch
        same_as_stdlib()
    finally:
        del copyreg.dispatch_table[int]
    same_as_stdlib()
    if sys.version_info < (3, 14):
        assert len(calls) == 4  # the override ran, for stdlib and for copium, twice


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
