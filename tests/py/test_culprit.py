"""Errors that name the culprit: when a malformed reduce value, state, __setstate__, copyreg
reducer or copyreg.__newobj__ arguments make a copy fail, copium raises exactly stdlib's
exception (type and message) and attaches a copy.Error naming the class and what was wrong as
its __cause__, the same text on every supported version, for deepcopy and copy, whatever the
memo. Errors raised by the program's own Python code, and errors of a child, get no cause of
the parent's."""

import copy
import copyreg
import threading

import pytest

import copium
import copium.config

CALLABLE_OF = "the callable (item 0) from {src}"


def reduce_returning(rv, name="Foo"):
    """An instance of a class `name` whose __reduce__ returns rv."""
    cls = type(name, (), {"__reduce__": lambda self: rv, "__module__": __name__})
    return cls()


class DictStateIntoSlots:
    __slots__ = ("a",)

    def __reduce__(self):
        return (DictStateIntoSlots, (), [1, 2])


class ListState:
    def __reduce__(self):
        return (ListState, (), [1, 2])


class ListSlotState:
    def __reduce__(self):
        return (ListSlotState, (), ({}, [1]))


class ListDictHalf:
    def __reduce__(self):
        return (ListDictHalf, (), ([1], None))


class IntListItems:
    def __reduce__(self):
        return (IntListItems, (), None, 5)


class NoAppend:
    def __reduce__(self):
        return (NoAppend, (), None, iter([1]))


class IntDictItem:
    def __reduce__(self):
        return (IntDictItem, (), None, None, iter([1]))


class TripleDictItem:
    def __reduce_ex__(self, protocol):
        return (TripleDictItem, (), None, None, iter([(1, 2, 3)]))


class ListTripleDictItem:
    def __reduce__(self):
        return (ListTripleDictItem, (), None, None, iter([[1, 2, 3]]))


class IntDictItems:
    def __reduce__(self):
        return (IntDictItems, (), None, None, 7)


class NoSetItem:
    def __reduce__(self):
        return (NoSetItem, (), None, None, iter([(1, 2)]))


class SetStateNotCallable:
    __setstate__ = 5

    def __reduce__(self):
        return (SetStateNotCallable, (), {"a": 1})


class SetStateNoArgument:
    def __setstate__(self):
        pass

    def __reduce__(self):
        return (SetStateNoArgument, (), {"a": 1})


class ReduceExNotCallable:
    __reduce_ex__ = 5


class ReduceNotCallable:
    __reduce_ex__ = None
    __reduce__ = "not callable but true"


class TableEntryNotCallable:
    pass


class TableReducerBadArgs:
    pass


def reduce_with_bad_args(obj):
    return (TableReducerBadArgs, 5)


class GetStateList:
    def __getstate__(self):
        return [1]


class SlotBase:
    __slots__ = ("a",)


class SlotShadowedByProperty(SlotBase):
    """Its slot 'a' reads through a property without a setter: the copy cannot set it."""

    @property
    def a(self):
        return 1


@pytest.fixture(autouse=True)
def registered_reducers():
    copyreg.dispatch_table[TableEntryNotCallable] = 5
    copyreg.pickle(TableReducerBadArgs, reduce_with_bad_args)
    saved = copium.config.get()
    yield
    del copyreg.dispatch_table[TableEntryNotCallable]
    del copyreg.dispatch_table[TableReducerBadArgs]
    copium.config.apply(**saved)


def _shadowed():
    x = SlotShadowedByProperty()
    SlotBase.a.__set__(x, 1)  # the slot's own descriptor: the property hides it
    return x


REDUCE_SHAPE = "(callable, args[, state[, listitems[, dictitems]]])"

# (id, make the object, the cause's message)
CASES = [
    (
        "value-int",
        lambda: reduce_returning(5),
        "Foo.__reduce__() returned an int: a reduce value must be a str or a tuple " + REDUCE_SHAPE,
    ),
    (
        "value-1-item",
        lambda: reduce_returning((list,)),
        "Foo.__reduce__() returned a tuple of 1 item: a reduce value has 2 to 5 items " + REDUCE_SHAPE,
    ),
    (
        "value-6-items",
        lambda: reduce_returning((list, (), None, None, None, None)),
        "Foo.__reduce__() returned a tuple of 6 items: a reduce value has 2 to 5 items " + REDUCE_SHAPE,
    ),
    (
        "value-list-1-item",
        lambda: reduce_returning([list]),
        "Foo.__reduce__() returned a list of 1 item: a reduce value has 2 to 5 items " + REDUCE_SHAPE,
    ),
    (
        "callable-int",
        lambda: reduce_returning((5, ())),
        "the callable (item 0) from Foo.__reduce__() is not callable: got an int",
    ),
    (
        "callable-refuses",
        lambda: reduce_returning((int, ("x",))),
        "calling int, the callable (item 0) from Foo.__reduce__(), with the arguments (item 1, "
        "1 item) failed",
    ),
    (
        "args-int",
        lambda: reduce_returning((list, 5)),
        "the arguments (item 1) from Foo.__reduce__() must be a tuple; got an int",
    ),
    (
        "newobj-empty",
        lambda: reduce_returning((copyreg.__newobj__, ())),
        "copyreg.__newobj__, the callable (item 0) from Foo.__reduce__(), needs the class to "
        "create as its first argument: the arguments (item 1) are empty",
    ),
    (
        "newobj-int",
        lambda: reduce_returning((copyreg.__newobj__, (5,))),
        "copyreg.__newobj__, the callable (item 0) from Foo.__reduce__(), needs the class to "
        "create as its first argument: the arguments (item 1) start with an int",
    ),
    (
        "newobj_ex-2",
        lambda: reduce_returning((copyreg.__newobj_ex__, (list, ()))),
        "copyreg.__newobj_ex__, the callable (item 0) from Foo.__reduce__(), takes (cls, args, "
        "kwargs): the arguments (item 1) are 2 items",
    ),
    (
        "newobj_ex-kwargs",
        lambda: reduce_returning((copyreg.__newobj_ex__, (list, (), [1]))),
        "copyreg.__newobj_ex__, the callable (item 0) from Foo.__reduce__(), takes (cls, args, "
        "kwargs): the arguments (item 1) have a list as kwargs, not a dict",
    ),
    (
        "state-no-dict",
        DictStateIntoSlots,
        "the state (item 2) from DictStateIntoSlots.__reduce__() is a dict state, but "
        "DictStateIntoSlots objects have no __dict__: give DictStateIntoSlots a __setstate__, "
        "or make the state (None, {slot: value})",
    ),
    (
        "state-list",
        ListState,
        "the state (item 2) from ListState.__reduce__() must be None, a dict or mapping of "
        "attribute names to values, or a (dict state, slot state) pair; got a list",
    ),
    (
        "dict-half-list",
        ListDictHalf,
        "the dict state (item 0 of the state) from ListDictHalf.__reduce__() must be None or a "
        "dict or mapping of attribute names to values; got a list",
    ),
    (
        "slot-state-list",
        ListSlotState,
        "the slot state (item 1 of the state) from ListSlotState.__reduce__() must be None or a "
        "dict or mapping of attribute names to values; got a list",
    ),
    (
        "getstate-list",
        GetStateList,
        "the state from GetStateList.__getstate__() must be None, a dict or mapping of "
        "attribute names to values, or a (dict state, slot state) pair; got a list",
    ),
    (
        "setstate-not-callable",
        SetStateNotCallable,
        "SetStateNotCallable.__setstate__ is not callable: got an int",
    ),
    (
        "setstate-refuses",
        SetStateNoArgument,
        "SetStateNoArgument.__setstate__ rejected the state (item 2) from "
        "SetStateNoArgument.__reduce__() (a dict)",
    ),
    (
        "slot-not-settable",
        _shadowed,
        "setting the attributes in the slot state (item 1 of the state) from "
        "object.__reduce_ex__(4) of SlotShadowedByProperty on the new SlotShadowedByProperty "
        "object failed",
    ),
    (
        "listitems-int",
        IntListItems,
        "the list items (item 3) from IntListItems.__reduce__() must be None or an iterator; "
        "got an int",
    ),
    (
        "listitems-no-append",
        NoAppend,
        "the list items (item 3) from NoAppend.__reduce__() are added with append(), which the "
        "new NoAppend object does not have",
    ),
    (
        "dictitems-int",
        IntDictItems,
        "the dict items (item 4) from IntDictItems.__reduce__() must be None or an iterator of "
        "(key, value) pairs; got an int",
    ),
    (
        "dictitem-int",
        IntDictItem,
        "each of the dict items (item 4) from IntDictItem.__reduce__() must be a (key, value) "
        "pair; got an int",
    ),
    (
        "dictitem-triple",
        TripleDictItem,
        "each of the dict items (item 4) from TripleDictItem.__reduce_ex__(4) must be a (key, "
        "value) pair; got a tuple of 3 items",
    ),
    (
        # 3.14+ says "(expected 2, got 3)" for an exact list, tuple or dict
        "dictitem-list-triple",
        ListTripleDictItem,
        "each of the dict items (item 4) from ListTripleDictItem.__reduce__() must be a (key, "
        "value) pair; got a list of 3 items",
    ),
    (
        "dictitems-no-setitem",
        NoSetItem,
        "the dict items (item 4) from NoSetItem.__reduce__() are stored with y[key] = value, "
        "which the new NoSetItem object does not support",
    ),
    (
        "reduce_ex-not-callable",
        ReduceExNotCallable,
        "ReduceExNotCallable.__reduce_ex__ is not callable: got an int",
    ),
    (
        "reduce-not-callable",
        ReduceNotCallable,
        "ReduceNotCallable.__reduce__ is not callable: got a str",
    ),
    (
        "table-not-callable",
        TableEntryNotCallable,
        "copyreg.dispatch_table[TableEntryNotCallable] is not callable: got an int",
    ),
    (
        "table-reducer-bad-args",
        TableReducerBadArgs,
        "the arguments (item 1) from copyreg.dispatch_table[TableReducerBadArgs] "
        "(reduce_with_bad_args) must be a tuple; got an int",
    ),
]


def outcome(fn, *args):
    try:
        fn(*args)
    except Exception as e:
        return e
    raise AssertionError("%r did not fail" % (fn,))


def check(make, message, copium_fn, stdlib_fn, *memo):
    expected = outcome(stdlib_fn, make(), *[type(m)() for m in memo])
    got = outcome(copium_fn, make(), *memo)
    assert type(got) is type(expected) and str(got) == str(expected)  # stdlib's, exactly
    assert expected.__cause__ is None
    assert type(got.__cause__) is copium.Error and copium.Error is copy.Error
    assert str(got.__cause__) == message
    assert got.__suppress_context__


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("memo", ["native", "dict"])
def test_deepcopy_names_the_culprit(case, memo):
    _, make, message = case
    copium.config.apply(memo=memo)
    check(make, message, copium.deepcopy, copy.deepcopy)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_deepcopy_with_a_memo_names_the_culprit(case):
    """A memo of the caller's: the memo is visible to Python code, copium takes the paths that
    keep stdlib's memo entries (the object path builds the state stdlib builds)."""
    _, make, message = case
    check(make, message, copium.deepcopy, copy.deepcopy, {})


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_copy_names_the_culprit(case):
    _, make, message = case
    check(make, message, copium.copy, copy.copy)


class Holder:
    def __init__(self, child):
        self.child = child


def test_a_child_names_itself_not_its_parent():
    x = Holder([Holder(reduce_returning((list, 5), name="Inner"))])
    e = outcome(copium.deepcopy, x)
    assert str(e.__cause__) == "the arguments (item 1) from Inner.__reduce__() must be a tuple; got an int"
    x = reduce_returning((list, (reduce_returning(5, name="InArgs"),)), name="Outer")
    e = outcome(copium.deepcopy, x)
    assert str(e) == "Value after * must be an iterable, not int"
    assert str(e.__cause__).startswith("InArgs.__reduce__() returned an int")


def test_an_uncopyable_child_gets_no_cause():
    """A lock in a slot (the object path copies children inline) or in the state: the child's
    own error, raised by C code, is not blamed on the parent's state."""
    lock = threading.Lock()
    for x in (Holder(lock), _slots_holding(lock)):
        expected = outcome(copy.deepcopy, x)
        got = outcome(copium.deepcopy, x)
        assert type(got) is type(expected) and str(got) == str(expected)
        assert got.__cause__ is None


class SlotsHolder:
    __slots__ = ("child",)


def _slots_holding(value):
    x = SlotsHolder()
    x.child = value
    return x


class RaisesInSetState:
    def __setstate__(self, state):
        raise ValueError("my own validation")

    def __reduce__(self):
        return (RaisesInSetState, (), {"a": 1})


class RaisesInReduce:
    def __reduce__(self):
        raise TypeError("my own reduce")


class RaisesInInit:
    def __init__(self, *args):
        if args:
            raise TypeError("my own constructor")

    def __reduce__(self):
        return (RaisesInInit, (1,))


class RaisingItem:
    def __iter__(self):
        raise TypeError("my own iterator")


class RaisesInDictItem:
    def __reduce__(self):
        return (RaisesInDictItem, (), None, None, iter([RaisingItem()]))


@pytest.mark.parametrize(
    "cls", [RaisesInSetState, RaisesInReduce, RaisesInInit, RaisesInDictItem]
)
@pytest.mark.parametrize("fn", ["deepcopy", "copy"])
def test_errors_of_the_programs_own_code_get_no_cause(cls, fn):
    """Raised inside Python code: its traceback already points at the culprit."""
    expected = outcome(getattr(copy, fn), cls())
    got = outcome(getattr(copium, fn), cls())
    assert type(got) is type(expected) and str(got) == str(expected)
    assert got.__cause__ is None and not got.__suppress_context__


def test_an_existing_cause_is_kept():
    """PEP 479's RuntimeError from StopIteration in the reduce arguments keeps its cause."""

    class StopsIteration:
        def __deepcopy__(self, memo):
            raise StopIteration("stop")

    x = reduce_returning((list, (StopsIteration(),)))
    expected = outcome(copy.deepcopy, x)
    got = outcome(copium.deepcopy, x)
    assert type(got) is type(expected) and str(got) == str(expected)
    assert type(got.__cause__) is type(expected.__cause__)


def test_the_context_is_kept():
    """Raised while another exception was handled: __context__ is what stdlib's is, and the
    cause carries it too, so that the printed chain still shows it."""
    try:
        raise KeyError("handled")
    except KeyError as exc:
        handled = exc
        e = outcome(copium.deepcopy, reduce_returning((list, 5)))
    assert e.__context__ is handled
    assert type(e.__cause__) is copium.Error and e.__cause__.__context__ is handled


def test_patched_copy_module_names_the_culprit():
    import copium.patch

    was = copium.patch.enabled()
    copium.patch.enable()
    try:
        e = outcome(copy.deepcopy, ListState())
        f = outcome(copy.copy, ListState())
    finally:
        if not was:
            copium.patch.disable()
    assert str(e.__cause__).startswith("the state (item 2) from ListState.__reduce__() must be")
    assert str(f.__cause__) == str(e.__cause__)


@pytest.mark.skipif(not hasattr(__import__("sys"), "gettotalrefcount"), reason="needs a debug build of CPython")
def test_no_reference_leaks():
    """The causes are made and attached on error paths only: every case, failing again and
    again with its cause (deepcopy, copy, a memo of the caller's), leaves the interpreter's
    total reference count where it was (test_refleaks' method)."""
    from test_refleaks import check_no_leak

    objects = [(make(), message) for _, make, message in CASES]  # a failed copy changes none

    def fail():
        for x, message in objects:
            for fn, args in ((copium.deepcopy, ()), (copium.deepcopy, ({},)), (copium.copy, ())):
                e = outcome(fn, x, *args)
                assert str(e.__cause__) == message
                del e

    check_no_leak(fail)
