"""copium's native handlers of value types, checked against stdlib: dicts of atoms copied by
cloning the original's table, the datetime module's C types, uuid.UUID."""

import copy
import copyreg
import datetime
import sys
import uuid

import pytest

from compare import IMPL_NAME
from conftest import FIXED_TIME, StrSub, check_deep, impl


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
# The datetime module's C types, copied through the datetime C API (handlers/datetime_capi.c):
# the same objects, tzinfo sharing and memo entries as stdlib's reduce path.


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
# the one it ships (protocol/uuid.c); any change to that route is followed.


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
