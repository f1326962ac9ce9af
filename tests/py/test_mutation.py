"""Mutation during a copy: containers, instance dicts and memos changed by hooks while they
are being copied. Everything is compared with stdlib `copy` run on the same input (a fresh
original for each)."""

import copy
import copyreg
import gc
import sys

import pytest

from conftest import DC, ListSub, Mutator, Plain, SlottedChild, check_deep, check_fresh, impl


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
