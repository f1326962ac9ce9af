"""pydantic v2 models (protocol/pydantic.c): copium's deep and shallow copies compared with
stdlib's (which run pydantic's own BaseModel.__deepcopy__ / __copy__), value by value and
identity by identity, with the memo a caller passes compared entry by entry; the native path
is checked to be taken (a hook counting calls of pydantic's Python method), and to step aside
for a class that overrides the methods, a changed class, an unknown pydantic version.

Skipped when pydantic is not installed (the Makefile installs it from PyPI wheels into the
test venvs of the interpreters pydantic-core has wheels for)."""

import copy
import gc
import sys
import threading
import weakref
from typing import Dict, Generic, List, Optional, TypeVar

import pytest

pydantic = pytest.importorskip("pydantic", reason="pydantic is not installed in this venv")

import copium  # noqa: E402
import copium.patch  # noqa: E402
from compare import assert_same_copy, assert_same_memo  # noqa: E402
from pydantic import (BaseModel, ConfigDict, Field, PrivateAttr, RootModel,  # noqa: E402
                      field_validator, model_validator)

KNOWN = pydantic.VERSION in {
    "2.12.0", "2.12.2", "2.12.3", "2.12.4", "2.12.5", "2.13.0", "2.13.1", "2.13.2", "2.13.3",
    "2.13.4", "2.13.5", "2.14.0", "2.14.1", "2.14.2", "2.14.3", "2.14.4"}
native_only = pytest.mark.skipif(not KNOWN, reason="pydantic %s is not one copium knows: its "
                                 "models take pydantic's Python methods" % pydantic.VERSION)

T = TypeVar("T")


class Address(BaseModel):
    street: str
    tags: List[str] = []


class User(BaseModel):
    name: str
    age: int = 0
    address: Address
    friends: List["User"] = []
    meta: Dict[str, Address] = {}

    @field_validator("name")
    @classmethod
    def strip(cls, v):
        return v.strip()

    @model_validator(mode="after")
    def check(self):
        return self


class WithPrivate(BaseModel):
    value: List[int] = []
    _cache: dict = PrivateAttr(default_factory=dict)
    _peer: Optional["WithPrivate"] = PrivateAttr(default=None)
    _unset: int = PrivateAttr()


class Extra(BaseModel):
    model_config = ConfigDict(extra="allow")
    a: int = 1


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)
    items: tuple = ()
    data: Dict[str, List[int]] = Field(default_factory=dict)


class Box(BaseModel, Generic[T]):
    item: T
    items: List[T] = []


class Tree(RootModel[Dict[str, List[Address]]]):
    pass


class OwnDeepcopy(BaseModel):
    x: List[int] = []
    calls: int = 0

    def __deepcopy__(self, memo=None):
        new = super().__deepcopy__(memo)
        object.__setattr__(new, "calls", self.calls + 1)
        return new

    def __copy__(self):
        new = super().__copy__()
        object.__setattr__(new, "calls", self.calls + 100)
        return new


def sample_user():
    shared = Address(street="Main", tags=["a", "b"])
    bob = User(name=" bob ", address=shared, meta={"home": shared, "work": Address(street="W")})
    alice = User(name="alice", age=3, address=Address(street="Side"), friends=[bob],
                 meta={"bob": shared})
    bob.friends.append(alice)  # a cycle through a list field
    return alice


def samples():
    p = WithPrivate(value=[1, 2])
    p._cache["self"] = p  # a cycle through a private attribute
    p._cache["list"] = p.value
    q = WithPrivate(value=[3])
    q._peer = p
    p._peer = q
    e = Extra(a=2, b=[1, 2], c={"d": Address(street="x")})
    inner = Address(street="in", tags=["t"])
    return {
        "user": sample_user(),
        "private": p,
        "private_pair": [p, q],
        "extra": e,
        "frozen": Frozen(items=(1, [2]), data={"k": [1, 2]}),
        "generic": Box[Address](item=inner, items=[inner, Address(street="o")]),
        "generic_int": Box[int](item=1, items=[1, 2]),
        "root": Tree({"a": [inner], "b": [inner, Address(street="z")]}),
        "root_list": RootModel[List[int]]([1, 2, 3]),
        "model_in_dict_in_model": User(name="n", address=inner,
                                       meta={"x": inner, "y": Address(street="y")}),
        "own_deepcopy": OwnDeepcopy(x=[1, 2]),
        "mixed": [inner, {"m": inner}, (inner,), Extra(z=inner)],
    }


SAMPLES = sorted(samples())
CYCLIC = {"private", "private_pair", "user"}


def state(m):
    """What a model holds: the instance dict and the three slots (a missing slot as such)."""
    return (m.__dict__, getattr(m, "__pydantic_extra__", "unset"),
            getattr(m, "__pydantic_fields_set__", "unset"),
            object.__getattribute__(m, "__pydantic_private__")
            if hasattr(m, "__pydantic_private__") else "unset")


def models_in(x, seen=None):
    """Every model reachable from x (through containers and model state)."""
    seen = {} if seen is None else seen
    stack = [x]
    while stack:
        o = stack.pop()
        if id(o) in seen:
            continue
        if isinstance(o, BaseModel):
            seen[id(o)] = o
            stack.extend(v for v in state(o) if not isinstance(v, str))
        elif isinstance(o, dict):
            seen[id(o)] = o
            stack.extend(o.values())
        elif isinstance(o, (list, tuple, set, frozenset)):
            seen[id(o)] = o
            stack.extend(o)
    return [o for o in seen.values() if isinstance(o, BaseModel)]


def assert_models_same(orig, a, b):
    """Structure (compare.Walker), then every model's state, pairwise."""
    assert_same_copy(orig, a, b)
    for mo, ma, mb in zip(models_in(orig), models_in(a), models_in(b)):
        assert type(ma) is type(mb) is type(mo)
        sa, sb = state(ma), state(mb)
        assert_same_copy(state(mo), sa, sb)


@pytest.mark.parametrize("name", SAMPLES)
def test_deepcopy_same_as_stdlib(name):
    x = samples()[name]
    expected = copy.deepcopy(x)
    got = copium.deepcopy(x)
    assert_models_same(x, expected, got)
    if name not in CYCLIC:  # pydantic's __eq__ recurses through these cycles
        assert got == expected


@pytest.mark.parametrize("name", SAMPLES)
def test_deepcopy_memo_same_as_stdlib(name):
    x = samples()[name]
    memo_a, memo_b = {}, {}
    expected = copy.deepcopy(x, memo_a)
    got = copium.deepcopy(x, memo_b)
    w = assert_same_copy(x, expected, got)
    assert_same_memo(w, memo_a, memo_b)
    assert len(memo_a) == len(memo_b)


@pytest.mark.parametrize("name", SAMPLES)
def test_copy_same_as_stdlib(name):
    x = samples()[name]
    expected = copy.copy(x)
    got = copium.copy(x)
    assert type(got) is type(expected)
    if isinstance(x, BaseModel):
        for part_x, part_a, part_b in zip(state(x), state(expected), state(got)):
            assert part_a is part_x if part_b is part_x else part_a is not part_x
            if name not in CYCLIC:
                assert part_a == part_b
        if isinstance(x, RootModel):
            assert (expected.root is x.root) == (got.root is x.root)
    if name not in CYCLIC:
        assert got == expected


@pytest.mark.parametrize("name", SAMPLES)
def test_model_copy_deep_patched(name):
    """model_copy(deep=True) runs pydantic's __deepcopy__ itself, whose deepcopy of the fields
    is copium's once patched: same result as without the patch."""
    x = samples()[name]
    if not isinstance(x, BaseModel):
        pytest.skip("not a model")
    expected = x.model_copy(deep=True)
    with patched():
        got = x.model_copy(deep=True)
        got_update = x.model_copy(deep=True, update={"a": 5}) if name == "extra" else None
    assert_models_same(x, expected, got)
    if got_update is not None:
        assert got_update == x.model_copy(deep=True, update={"a": 5})


class patched:
    def __enter__(self):
        self.was = copium.patch.enabled()
        copium.patch.enable()

    def __exit__(self, *exc):
        if not self.was:
            copium.patch.disable()


@native_only
def test_native_path_taken():
    """No Python __deepcopy__ of a model runs under copium; under stdlib, one per model."""
    x = samples()["user"]
    traced = []

    def tracer(frame, event, arg):
        if event == "call" and frame.f_code is BaseModel.__deepcopy__.__code__:
            traced.append(frame.f_locals["self"])
        return None

    sys.setprofile(tracer)
    try:
        copium.deepcopy(x)
        native = len(traced)
        copy.deepcopy(x)
    finally:
        sys.setprofile(None)
    assert native == 0
    assert len(traced) == len(models_in(x))


def python_method_calls(fn, x):
    traced = []
    codes = {BaseModel.__deepcopy__.__code__, BaseModel.__copy__.__code__,
             RootModel.__deepcopy__.__code__, RootModel.__copy__.__code__}

    def tracer(frame, event, arg):
        if event == "call" and frame.f_code in codes:
            traced.append(type(frame.f_locals["self"]))
        return None

    sys.setprofile(tracer)
    try:
        fn(x)
    finally:
        sys.setprofile(None)
    return traced


@native_only
@pytest.mark.parametrize("fn", [copium.deepcopy, copium.copy], ids=["deepcopy", "copy"])
def test_native_path_for_every_kind(fn):
    for name in ("user", "private", "extra", "frozen", "generic", "root", "root_list"):
        assert python_method_calls(fn, samples()[name]) == [], name


def test_overridden_methods_kept():
    x = OwnDeepcopy(x=[1])
    assert copium.deepcopy(x).calls == 1
    assert copium.copy(x).calls == 100
    assert copy.deepcopy(x).calls == 1


def test_instance_dict_deepcopy_found_first():
    x = Address(street="s")
    object.__setattr__(x, "__deepcopy__", lambda memo: "from the instance")
    assert copy.deepcopy(x) == copium.deepcopy(x) == "from the instance"


def test_class_changed_after_first_copy():
    class M(BaseModel):
        v: List[int] = []

    m = M(v=[1])
    copium.deepcopy(m)
    M.__deepcopy__ = lambda self, memo: "replaced"
    try:
        assert copium.deepcopy(m) == copy.deepcopy(m) == "replaced"
    finally:
        del M.__deepcopy__
    assert copium.deepcopy(m) == m
    M.__copy__ = lambda self: "shallow"
    assert copium.copy(m) == copy.copy(m) == "shallow"


def test_unset_slots_take_the_python_method():
    """A model built without validation may lack slots: pydantic's own method decides."""
    m = User.model_construct(name="x")
    for fn in (copy.deepcopy, copium.deepcopy):
        r = fn(m)
        assert r.name == "x"
    bare = Address.__new__(Address)
    outcomes = []
    for fn in (copy.deepcopy, copium.deepcopy, copy.copy, copium.copy):
        try:
            fn(bare)
            outcomes.append(None)
        except Exception as e:  # noqa: BLE001 - compared with stdlib's
            outcomes.append((type(e), str(e)))
    assert outcomes[0] == outcomes[1] and outcomes[2] == outcomes[3]


def test_globals_changed_take_the_python_method(monkeypatch):
    """pydantic's method reads deepcopy, copy and _object_setattr from its module: a program
    that rebinds one gets its own function called, as with stdlib."""
    import pydantic.main as main
    seen = []

    def spy(x, memo=None):
        seen.append(type(x))
        return copy.deepcopy(x, memo)

    monkeypatch.setattr(main, "deepcopy", spy)
    x = User(name="a", address=Address(street="s"))
    got = copium.deepcopy(x)
    assert seen and got == x


def test_dispatch_table_entry_wins():
    class M(BaseModel):
        v: int = 1

    copy._deepcopy_dispatch[M] = lambda x, memo: "dispatched"
    try:
        assert copium.deepcopy(M()) == copy.deepcopy(M()) == "dispatched"
    finally:
        del copy._deepcopy_dispatch[M]
    assert copium.deepcopy(M()) == M()


def test_classes_made_at_run_time_can_die():
    """The registry caches a model class without holding it alive."""
    def make():
        class Temp(BaseModel):
            v: List[int] = []
        copium.deepcopy(Temp(v=[1]))
        copium.copy(Temp(v=[1]))
        return weakref.ref(Temp)

    ref = make()
    for _ in range(3):
        gc.collect()
    assert ref() is None


def test_recursion_through_models():
    class Node(BaseModel):
        child: Optional["Node"] = None

    n = Node()
    for _ in range(100):
        n = Node(child=n)
    assert copium.deepcopy(n) == copy.deepcopy(n)


def test_threads():
    x = samples()
    expected = copy.deepcopy(x)
    errors = []

    def work():
        try:
            for _ in range(50):
                assert_models_same(x, expected, copium.deepcopy(x))
                copium.copy(x["user"])
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]
