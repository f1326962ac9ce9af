"""Reference counts and leaks: copies, failed copies and a caller's memo leave every
reference count as it was; copies and partial copies are freed; originals are not kept
alive."""

import gc
import sys
import weakref

import pytest

from conftest import (
    DC, NT, R, REDUCE_RESULTS, CopyHook, DeepHook, DeepHookStdlib, DictSub, GetstateRaises, ListSub,
    Methods, Mutator, Plain, Raiser, Reducer, ReducerEx, SlottedChild, WithState, impl, using,
)


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
