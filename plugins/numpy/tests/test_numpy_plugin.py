"""Tests of copium_numpy: copium.deepcopy of numpy arrays and scalars against copy.deepcopy
(the standard library's, which calls numpy's own ndarray.__deepcopy__)."""

import copy
import importlib
import sys

import numpy as np
import pytest

import copium
import copium_numpy

FLAGS = ("C_CONTIGUOUS", "F_CONTIGUOUS", "WRITEABLE", "OWNDATA", "ALIGNED")


# ------------------------------------------------------------------------------------------
# Arrays to copy


def _values(dtype, n):
    """n values of dtype, including the awkward ones (nan, inf, NaT, empty strings)."""
    dt = np.dtype(dtype)
    kind = dt.kind
    if kind == "b":
        return np.arange(n) % 3 == 0
    if kind in "iu":
        info = np.iinfo(dt)
        vals = np.arange(n, dtype=np.int64) * 37 % 100
        out = vals.astype(dt)
        if n > 2:
            out[0], out[1] = info.min, info.max
        return out
    if kind == "f":
        out = (np.arange(n, dtype=np.float64) * 1.25 - 3).astype(dt)
        if n > 3:
            out[0], out[1], out[2] = np.nan, np.inf, -0.0
        return out
    if kind == "c":
        out = (np.arange(n) * (1 + 2j) - 5j).astype(dt)
        if n > 2:
            out[0] = complex(np.nan, 1)
        return out
    if kind == "M":
        out = (np.datetime64("2020-01-01", "s") + np.arange(n) * 86401).astype(dt)
        if n > 1:
            out[1] = np.datetime64("NaT", "s")
        return out
    if kind == "m":
        out = (np.arange(n) * np.timedelta64(7, "s")).astype(dt)
        if n > 1:
            out[1] = np.timedelta64("NaT", "s")
        return out
    if kind == "S":
        return np.array([b"", b"a", b"xyz\x00", b"hello"] * n, dtype=dt)[:n]
    if kind == "U":
        return np.array(["", "\u00e9", "snow \u2603", "abc"] * n, dtype=dt)[:n]
    if kind == "V" and dt.names is None:
        return np.frombuffer(bytes(range(256)) * (n * dt.itemsize // 256 + 1), dtype=dt, count=n)
    if kind == "V":
        out = np.zeros(n, dtype=dt)
        for name in dt.names:
            sub = dt.fields[name][0]
            if sub.kind == "O":
                out[name] = [[i, "x"] for i in range(n)] if sub.shape == () else None
            elif sub.shape == ():
                out[name] = _values(sub, n)
        return out
    if kind == "O":
        out = np.empty(n, dtype=object)
        for i in range(n):
            out[i] = [i, {"k": i}] if i % 2 else i
        return out
    raise AssertionError(dtype)


NUMERIC_DTYPES = [
    "?", "i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8", ">i4", "<u8",
    "f2", "f4", "f8", ">f8", np.longdouble,
    "c8", "c16", np.clongdouble, ">c16",
    "M8[s]", "M8[D]", "m8[ms]", ">M8[us]",
    "S1", "S7", "U1", "U9", ">U5", "V6",
    np.dtype("f8", metadata={"unit": "m"}),
]
STRUCT_DTYPES = [
    np.dtype([("a", "i4"), ("b", "f8")]),
    np.dtype([("a", "i4"), ("b", "f8")], align=True),
    np.dtype([("x", "u1"), ("y", ">i2", (2, 3)), ("z", "S3")]),
    np.dtype({"names": ["a", "b"], "formats": ["i2", "f4"], "titles": ["A title", None]}),
]
OBJECT_DTYPES = [
    np.dtype(object),
    np.dtype([("a", "i4"), ("o", "O")]),
    np.dtype([("o", "O"), ("p", "O"), ("f", "f8")], align=True),
    np.dtype([("n", [("o", "O"), ("i", "i2")]), ("s", "S2")]),
    np.dtype({"names": ["t", "u"], "formats": ["O", "i8"], "titles": ["Title of t", None]}),
]
ALL_DTYPES = NUMERIC_DTYPES + STRUCT_DTYPES + OBJECT_DTYPES


def _dtype_id(dt):
    dt = np.dtype(dt)
    return dt.str if dt.names is None else "struct" + str(len(dt.names)) + str(dt.isalignedstruct)


def layouts(dtype):
    """(name, array) for the shapes and layouts under test, all of the given dtype."""
    base = _values(dtype, 60)
    m = base[:48].reshape(6, 8)
    yield "0d", base[:1].reshape(())
    yield "empty", base[:0]
    yield "empty2d", base[:0].reshape(0, 5)
    yield "1d", base[:10].copy()
    yield "single", base[:1].copy()
    yield "2d-C", m.copy()
    yield "2d-F", np.asfortranarray(m)
    yield "3d-C", base[:48].reshape(2, 4, 6).copy()
    yield "3d-F", np.asfortranarray(base[:48].reshape(2, 4, 6))
    yield "transpose", m.T
    yield "swapaxes3d", base[:48].reshape(2, 4, 6).swapaxes(0, 2)
    yield "slice-step", base[::3]
    yield "slice-neg", base[::-2]
    yield "slice-2d", m[1:5, ::2]
    yield "slice-rows", m[::2]
    yield "slice-F-cols", np.asfortranarray(m)[:, 1:6]
    yield "newaxis", m[:, None, :]
    yield "broadcast", np.broadcast_to(base[:5], (4, 5))
    yield "broadcast-col", np.broadcast_to(base[:4, None], (4, 3))
    ro = m.copy()
    ro.flags.writeable = False
    yield "readonly", ro
    yield "readonly-view", ro[::2, 1:]
    if np.dtype(dtype).kind != "O" and not np.dtype(dtype).hasobject:
        raw = bytes(1) + base[:8].tobytes()
        yield "unaligned-readonly", np.frombuffer(raw, dtype=dtype, offset=1, count=8)


def all_cases():
    for dt in ALL_DTYPES:
        for name, arr in layouts(dt):
            yield pytest.param(arr, id=f"{_dtype_id(dt)}-{name}")


def assert_same_array(got, want, orig):
    """got (copium's copy) is what want (stdlib + numpy's copy) is, and a copy of orig."""
    assert type(got) is type(want)
    assert got is not orig
    assert got.dtype == want.dtype
    assert got.dtype.str == want.dtype.str
    assert got.dtype.metadata == want.dtype.metadata
    assert got.shape == want.shape
    assert got.strides == want.strides
    for flag in FLAGS:
        assert got.flags[flag] == want.flags[flag], flag
    assert got.base is None and want.base is None
    if not got.dtype.hasobject:
        assert_same_payload(got, want)
    if got.size and got.dtype.itemsize:
        assert not np.shares_memory(got, orig)


def assert_same_payload(got, want):
    """Equal items (padding bytes between the fields of an aligned struct are not items)."""
    if got.dtype.names is not None:
        for name in got.dtype.names:
            assert_same_payload(got[name], want[name])
    elif got.dtype.kind == "V" or got.dtype.subdtype is not None:
        assert got.tobytes() == want.tobytes()
    else:
        assert got.tobytes() == want.tobytes()
        assert np.array_equal(got, want, equal_nan=got.dtype.kind in "fcmM")


def object_identity_pattern(root_copy, root_orig):
    """Every object reachable through lists, dicts and arrays, as (path, id class), where the
    id class is the index of its first appearance: equal patterns mean equal sharing."""
    seen = {}
    out = []

    def walk(x, path, depth):
        if depth > 6:
            return
        key = id(x)
        if isinstance(x, (list, dict, np.ndarray)) or key in seen:
            out.append((path, seen.setdefault(key, len(seen))))
        if isinstance(x, list):
            for i, v in enumerate(x):
                walk(v, path + (i,), depth + 1)
        elif isinstance(x, dict):
            for k, v in x.items():
                walk(v, path + (k,), depth + 1)
        elif isinstance(x, np.ndarray) and x.dtype.hasobject:
            for idx in np.ndindex(x.shape):
                item = x[idx]
                if x.dtype.names is None:
                    walk(item, path + idx, depth + 1)
                else:
                    for name in x.dtype.names:
                        walk(item[name], path + idx + (name,), depth + 1)

    walk(root_copy, (), 0)
    return out


# ------------------------------------------------------------------------------------------
# Registration


def test_ndarray_handler_registered():
    assert copium.handlers()[np.ndarray] == copium_numpy.NDARRAY_HANDLER_NAME
    assert copium_numpy.NDARRAY_HANDLER_NAME == "copium_numpy.ndarray"


def test_importing_twice_is_harmless():
    before = dict(copium.handlers())
    again = importlib.import_module("copium_numpy")
    assert again is copium_numpy
    reloaded = importlib.reload(copium_numpy)
    assert dict(copium.handlers()) == before
    copium_numpy.register()
    copium_numpy.register()
    assert dict(copium.handlers()) == before
    a = np.arange(5.0)
    assert np.array_equal(copium.deepcopy(a), a)
    assert reloaded.ATOMIC_SCALAR_TYPES == copium_numpy.ATOMIC_SCALAR_TYPES


def test_unregister_and_register_again():
    a = np.empty(1, dtype=object)
    a[0] = a
    try:
        copium_numpy.unregister()
        assert np.ndarray not in copium.handlers()
        for t in copium_numpy.ATOMIC_SCALAR_TYPES:
            assert t not in copium.handlers()
        # Without the plugin copium follows stdlib: numpy's __deepcopy__ recurses.
        with pytest.raises(RecursionError):
            copium.deepcopy(a)
        b = np.arange(4.0)
        assert np.array_equal(copium.deepcopy(b), b)
    finally:
        copium_numpy.register()
    assert copium.handlers()[np.ndarray] == copium_numpy.NDARRAY_HANDLER_NAME
    c = copium.deepcopy(a)
    assert c[0] is c
    a[0] = None  # break the cycle


def test_load_plugins_finds_the_entry_point():
    assert "numpy" in copium.load_plugins()
    assert copium.handlers()[np.ndarray] == copium_numpy.NDARRAY_HANDLER_NAME


def test_subclasses_are_not_registered():
    handlers = copium.handlers()
    assert np.matrix not in handlers
    assert np.ma.MaskedArray not in handlers
    assert np.recarray not in handlers


# ------------------------------------------------------------------------------------------
# Arrays: same result as stdlib + numpy


@pytest.mark.parametrize("arr", list(all_cases()))
def test_array_matches_stdlib(arr):
    want = copy.deepcopy(arr)
    got = copium.deepcopy(arr)
    assert_same_array(got, want, arr)
    if arr.dtype.hasobject:
        assert object_identity_pattern(got, arr) == object_identity_pattern(want, arr)


@pytest.mark.parametrize("arr", list(all_cases()))
def test_array_with_memo_matches_stdlib(arr):
    memo_std, memo_cop = {}, {}
    want = copy.deepcopy(arr, memo_std)
    got = copium.deepcopy(arr, memo_cop)
    assert_same_array(got, want, arr)
    assert memo_cop[id(arr)] is got
    assert memo_std[id(arr)] is want
    assert len(memo_cop) == len(memo_std)
    # The keepalive list holds the same originals in the same order.
    assert [id(x) for x in memo_cop[id(memo_cop)]] == [id(x) for x in memo_std[id(memo_std)]]
    # Second call with the same memo: the memoized copy.
    assert copium.deepcopy(arr, memo_cop) is got


def test_dtype_object_is_kept():
    dt = np.dtype(">f8", metadata={"unit": "m"})
    a = np.zeros(3, dtype=dt)
    assert copium.deepcopy(a).dtype is copy.deepcopy(a).dtype


def test_copy_is_independent():
    a = np.arange(12.0).reshape(3, 4)
    b = copium.deepcopy(a)
    b[0, 0] = 100
    assert a[0, 0] == 0
    ro = np.arange(3)
    ro.flags.writeable = False
    c = copium.deepcopy(ro)
    assert c.flags.writeable
    c[0] = 5
    assert ro[0] == 0


def test_large_array():
    a = np.random.default_rng(0).random(1_000_003)
    b = copium.deepcopy(a)
    assert_same_array(b, copy.deepcopy(a), a)
    f = np.asfortranarray(a[:1_000_000].reshape(1000, 1000))
    assert_same_array(copium.deepcopy(f), copy.deepcopy(f), f)


def test_string_dtype():
    sdt = getattr(np.dtypes, "StringDType", None)
    if sdt is None:
        pytest.skip("numpy without StringDType")
    a = np.array(["a", "", "long string " * 10, "snow \u2603"], dtype=sdt())
    want = copy.deepcopy(a)
    got = copium.deepcopy(a)
    assert got.dtype == want.dtype
    assert list(got) == list(want) == list(a)
    got[0] = "changed"
    assert a[0] == "a"
    del a
    assert got[2] == "long string " * 10


# ------------------------------------------------------------------------------------------
# Arrays holding objects


def test_object_elements_are_deep_copied():
    inner = [1, 2]
    a = np.array([inner, "s", 3, None, (4, [5])], dtype=object)
    b = copium.deepcopy(a)
    assert b[0] == inner and b[0] is not inner
    assert b[1] is a[1] and b[2] is a[2] and b[3] is None
    assert b[4] == a[4] and b[4] is not a[4] and b[4][1] is not a[4][1]


def test_shared_elements_stay_shared():
    shared = {"x": [1]}
    a = np.array([shared, shared, [shared]], dtype=object)
    graph = [shared, a, a]
    for result in (copium.deepcopy(graph), copy.deepcopy(graph)):
        s, b, b2 = result
        assert b is b2
        assert b[0] is s and b[1] is s and b[2][0] is s
        assert s is not shared
    assert object_identity_pattern(copium.deepcopy(graph), graph) == object_identity_pattern(
        copy.deepcopy(graph), graph
    )


def test_same_array_twice_in_a_container_is_copied_once():
    a = np.arange(5.0)
    o = np.array([[1], [2]], dtype=object)
    for data in ([a, a, {"k": a}], [o, o, {"k": o}]):
        got = copium.deepcopy(data)
        assert got[0] is got[1] is got[2]["k"]
        assert got[0] is not data[0]
        want = copy.deepcopy(data)
        assert want[0] is want[1] is want[2]["k"]


def test_array_containing_itself():
    a = np.empty(3, dtype=object)
    a[0] = a
    a[1] = [a, 1]
    a[2] = {"me": a}
    try:
        with pytest.raises(RecursionError):
            copy.deepcopy(a)
        b = copium.deepcopy(a)
        assert b is not a
        assert b[0] is b
        assert b[1][0] is b and b[1] is not a[1]
        assert b[2]["me"] is b
    finally:
        a[:] = None  # numpy arrays are not tracked by the cycle collector
        if "b" in locals():
            b[:] = None


def test_list_containing_array_containing_list():
    lst = [1]
    a = np.empty(2, dtype=object)
    a[0] = lst
    a[1] = 2
    lst.append(a)
    try:
        c = copium.deepcopy(lst)
        assert c[1][0] is c
        c2 = copium.deepcopy(a)
        assert c2[0][1] is c2
    finally:
        a[:] = None
        c[1][:] = None
        c2[:] = None


def test_structured_array_with_objects():
    dt = np.dtype([("name", "U4"), ("obj", "O"), ("num", "f8"), ("pair", [("p", "O"), ("q", "i2")])])
    shared = [0]
    a = np.zeros(3, dtype=dt)
    a["name"] = ["a", "b", "c"]
    a["num"] = [1.5, np.nan, 3]
    for i in range(3):
        a[i]["obj"] = [i]
        a[i]["pair"]["p"] = shared
    b = copium.deepcopy(a)
    want = copy.deepcopy(a)
    assert_same_array(b, want, a)
    assert list(b["name"]) == list(a["name"])
    assert np.array_equal(b["num"], a["num"], equal_nan=True)
    for i in range(3):
        assert b[i]["obj"] == [i] and b[i]["obj"] is not a[i]["obj"]
        assert b[i]["pair"]["p"] is b[0]["pair"]["p"]
    assert b[0]["pair"]["p"] is not shared
    assert object_identity_pattern(b, a) == object_identity_pattern(want, a)


def test_object_subarray_field_is_deep_copied():
    # numpy's own __deepcopy__ leaves object subarray fields shared with the original; a deep
    # copy copies them (a deliberate difference, see README.md).
    dt = np.dtype([("v", "O", (2,)), ("i", "i4")])
    a = np.zeros(2, dtype=dt)
    for i in range(2):
        a[i]["v"][0] = [i]
        a[i]["v"][1] = {"k": i}
    b = copium.deepcopy(a)
    for i in range(2):
        assert b[i]["v"][0] == [i] and b[i]["v"][0] is not a[i]["v"][0]
        assert b[i]["v"][1] == {"k": i} and b[i]["v"][1] is not a[i]["v"][1]
    assert list(b["i"]) == list(a["i"])


def test_object_array_of_atoms_keeps_items():
    items = [1, "s", None, 2.5, (1, 2), frozenset({1})]
    a = np.array(items + [None], dtype=object)[:-1]
    b = copium.deepcopy(a)
    c = copy.deepcopy(a)
    for x, y, z in zip(a, b, c):
        assert (y is x) == (z is x)
    assert all(b[i] is a[i] for i in range(5))


def test_object_array_layouts_copy_in_numpy_order():
    # Elements with side effects see the same order of __deepcopy__ calls as numpy's.
    log = []

    class Tracer:
        def __init__(self, n):
            self.n = n

        def __deepcopy__(self, memo):
            log.append(self.n)
            return Tracer(self.n)

    base = np.empty(24, dtype=object)
    for i in range(24):
        base[i] = Tracer(i)
    m = base.reshape(4, 6)
    for arr in (m, m.T, np.asfortranarray(m), m[::2, ::-1], m[:, 1:4].T, np.broadcast_to(base[:3], (2, 3))):
        log.clear()
        copy.deepcopy(arr)
        want = list(log)
        log.clear()
        got = copium.deepcopy(arr)
        assert log == want
        assert [t.n for t in got.ravel(order="K")] == [t.n for t in copy.deepcopy(arr).ravel(order="K")]


def test_uninitialised_object_slots_read_as_none():
    a = np.empty(4, dtype=object)
    b = copium.deepcopy(a)
    assert list(b) == list(copy.deepcopy(a))


def test_errors_propagate_and_do_not_leak_state():
    class Boom:
        def __deepcopy__(self, memo):
            raise ValueError("boom")

    a = np.array([[1], Boom(), [2]], dtype=object)
    with pytest.raises(ValueError, match="boom"):
        copium.deepcopy(a)
    with pytest.raises(ValueError, match="boom"):
        copium.deepcopy({"a": a})

    class NoMem:
        def __deepcopy__(self, memo):
            raise MemoryError

    with pytest.raises(MemoryError):
        copium.deepcopy(np.array([NoMem()], dtype=object))
    # The engine still works afterwards.
    ok = np.array([[1]], dtype=object)
    assert copium.deepcopy(ok)[0] == [1]


def test_element_that_resizes_the_copy_is_an_error_not_a_crash():
    class Evil:
        def __deepcopy__(self, memo):
            for v in memo.values():
                if isinstance(v, np.ndarray):
                    v.resize(1000, refcheck=False)
            return 1

    a = np.array([Evil(), [1], [2]], dtype=object)
    with pytest.raises(RuntimeError):
        copium.deepcopy(a)


def test_element_that_replaces_items_of_the_copy():
    class Sneaky:
        def __deepcopy__(self, memo):
            for v in list(memo.values()):
                if isinstance(v, np.ndarray) and v.dtype == object:
                    v[2] = "replaced"
            return "copied"

    a = np.array([Sneaky(), [1], [2]], dtype=object)
    b = copium.deepcopy(a)
    assert b[0] == "copied"
    assert b[1] == [1] and b[1] is not a[1]
    assert b[2] == "replaced"  # each slot is read when its turn comes


def test_huge_allocation_fails_cleanly():
    a = np.broadcast_to(np.float64(1.0), (2**24, 2**24))
    with pytest.raises((MemoryError, ValueError)):
        copy.deepcopy(a)
    with pytest.raises((MemoryError, ValueError)):
        copium.deepcopy(a)


# ------------------------------------------------------------------------------------------
# Subclasses: numpy's own path, equal to stdlib


class Tagged(np.ndarray):
    def __new__(cls, data, tag=None):
        obj = np.asarray(data).view(cls)
        obj.tag = tag
        return obj

    def __array_finalize__(self, obj):
        self.tag = getattr(obj, "tag", None)


@pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")
@pytest.mark.parametrize(
    "make",
    [
        lambda: np.matrix([[1.0, 2.0], [3.0, 4.0]]),
        lambda: Tagged(np.arange(6.0).reshape(2, 3), tag=["t"]),
        lambda: Tagged(np.array([[1], [2]], dtype=object), tag="o"),
        lambda: np.ma.masked_array([1.0, 2.0, 3.0], mask=[0, 1, 0]),
        lambda: np.rec.fromrecords([(1, "a"), (2, "b")], names="x,y"),
    ],
    ids=["matrix", "tagged", "tagged-object", "masked", "recarray"],
)
def test_subclass_goes_through_numpy(make):
    a = make()
    want = copy.deepcopy(a)
    got = copium.deepcopy(a)
    assert type(got) is type(want) is type(a)
    assert got.dtype == want.dtype and got.shape == want.shape and got.strides == want.strides
    assert np.array_equal(np.asarray(got), np.asarray(want))
    if isinstance(a, Tagged):
        assert got.tag == want.tag
        assert (got.tag is a.tag) == (want.tag is a.tag)
    if isinstance(a, np.ma.MaskedArray):
        assert list(got.mask) == list(want.mask)


# ------------------------------------------------------------------------------------------
# Scalars


def _scalar_samples():
    yield np.True_
    yield np.False_
    for t in (np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64,
              np.uint64, np.longlong, np.ulonglong, np.intc):
        yield t(7)
    for t in (np.float16, np.float32, np.float64, np.longdouble):
        yield t(1.5)
        yield t("nan")
    for t in (np.complex64, np.complex128, np.clongdouble):
        yield t(1 - 2j)
    yield np.datetime64("2021-03-04T05:06")
    yield np.datetime64("NaT", "s")
    yield np.timedelta64(10, "ms")
    yield np.str_("text")
    yield np.bytes_(b"raw")
    yield np.void(b"\x01\x02")
    yield np.zeros(1, dtype=[("a", "i4"), ("b", "f8")])[0]
    yield np.zeros(1, dtype=[("a", "i4"), ("o", "O")])[0]


@pytest.mark.parametrize("x", list(_scalar_samples()), ids=lambda x: type(x).__name__)
def test_scalar_matches_stdlib(x):
    want = copy.deepcopy(x)
    got = copium.deepcopy(x)
    assert type(got) is type(want)
    assert (got is x) == (want is x)
    assert (copium.copy(x) is x) == (copy.copy(x) is x)
    if type(x) in copium_numpy.ATOMIC_SCALAR_TYPES:
        assert got is x and want is x
        assert copium.handlers()[type(x)] == copium_numpy.SCALAR_HANDLER_NAME
    else:
        assert copium.handlers().get(type(x)) != copium_numpy.SCALAR_HANDLER_NAME
    if isinstance(x, np.void):
        assert got.dtype == want.dtype
        if not x.dtype.hasobject:
            assert got.tobytes() == want.tobytes()
    elif np.asarray(x).dtype.kind in "fcmM" and np.isnan(x):
        assert np.isnan(got) and np.isnan(want)
    else:
        assert got == want


def test_atomic_scalar_types_are_exactly_those_numpy_returns_unchanged():
    for t in copium_numpy.ATOMIC_SCALAR_TYPES:
        assert issubclass(t, np.generic)
        assert t is not np.void and t is not np.object_
    for code in np.typecodes["All"]:
        t = np.dtype(code).type
        if t in (np.void, np.object_):
            assert t not in copium_numpy.ATOMIC_SCALAR_TYPES
            continue
        sample = np.zeros(1, dtype=code + "8[s]" if code in "mM" else code)[0]
        assert type(sample) is t
        returns_self = copy.deepcopy(sample) is sample and copy.copy(sample) is sample
        assert returns_self == (t in copium_numpy.ATOMIC_SCALAR_TYPES), t


def test_scalars_inside_containers():
    x, y = np.float64(2.5), np.int32(3)
    data = {"x": [x, x], "y": (y,)}
    got = copium.deepcopy(data)
    want = copy.deepcopy(data)
    assert (got["x"][0] is x) == (want["x"][0] is x)
    assert (got["x"][0] is got["x"][1]) == (want["x"][0] is want["x"][1])
    assert got == want


def test_scalar_with_memo():
    x = np.float64(1.0)
    replacement = object()
    # Before 3.14 stdlib consults the memo even for atoms.
    memo = {id(x): replacement}
    assert (copium.deepcopy(x, memo) is replacement) == (copy.deepcopy(x, memo) is replacement)


# ------------------------------------------------------------------------------------------
# Mixed graphs


def test_dict_of_arrays():
    rng = np.random.default_rng(1)
    shared = rng.random(4)
    data = {f"k{i}": rng.random((3, 2)) for i in range(50)}
    data["shared1"] = shared
    data["shared2"] = shared
    data["view"] = shared[::2]
    got = copium.deepcopy(data)
    want = copy.deepcopy(data)
    assert got.keys() == want.keys()
    for k in data:
        assert_same_array(got[k], want[k], data[k])
    assert got["shared1"] is got["shared2"]
    assert got["view"].base is None  # a view is copied as an array of its own, as stdlib does


def test_copies_are_not_kept_alive():
    import gc
    import weakref

    class Holder:
        pass

    b = np.array([Holder()], dtype=object)
    c = copium.deepcopy(b)
    r = weakref.ref(c[0])
    del c
    gc.collect()
    assert r() is None


def test_refcounts_are_balanced():
    if not hasattr(sys, "getrefcount"):
        pytest.skip("no sys.getrefcount")
    inner = [1]
    atom = "an atom string"
    a = np.array([inner, atom, atom], dtype=object)
    before = (sys.getrefcount(inner), sys.getrefcount(atom), sys.getrefcount(a))
    for _ in range(100):
        copium.deepcopy(a)
    assert (sys.getrefcount(inner), sys.getrefcount(atom), sys.getrefcount(a)) == before
    f = np.arange(10.0)
    before_f = sys.getrefcount(f), sys.getrefcount(f.dtype)
    for _ in range(100):
        copium.deepcopy(f)
    assert (sys.getrefcount(f), sys.getrefcount(f.dtype)) == before_f
