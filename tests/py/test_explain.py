"""copium.explain: the report of one recorded deep copy. For graphs whose make-up is known,
every path copium can take shows up, attributed to the right type, with exact counts; the
times add up (the self times sum to the total, a row's total is never less than its self
time); the reasons and hints match the path; report.copy is the deep copy stdlib would make.
Also: a caller's memo, the patch, a plugin, hooks that call deepcopy again (with the memo, and
as a nested top-level copy), a copy that raises, and threads (another thread's copy is never
recorded)."""

import array
import copy
import copyreg
import dataclasses
import datetime
import sys
import threading
import uuid

import pytest

import copium
from compare import assert_same_copy
from copium.report import Report, Row

# --------------------------------------------------------------------------------------------
# Classes for each path.


class Plain:
    def __init__(self, v):
        self.v = v


@dataclasses.dataclass
class Point:
    x: object
    y: object


class PyHook:
    """__deepcopy__ in Python, with the memo (copium's when patched)."""

    def __init__(self, payload):
        self.payload = payload

    def __deepcopy__(self, memo):
        new = PyHook.__new__(PyHook)
        memo[id(self)] = new
        new.payload = copy.deepcopy(self.payload, memo)
        return new


class CopiumHook:
    """__deepcopy__ that calls copium back with the memo (the same call goes on)."""

    def __init__(self, payload):
        self.payload = payload

    def __deepcopy__(self, memo):
        new = CopiumHook.__new__(CopiumHook)
        memo[id(self)] = new
        new.payload = copium.deepcopy(self.payload, memo)
        return new


class NestedHook:
    """__deepcopy__ that starts a nested top-level copy (no memo)."""

    def __init__(self, payload):
        self.payload = payload

    def __deepcopy__(self, memo):
        return NestedHook(copium.deepcopy(self.payload))


class Reduced:
    def __init__(self, v):
        self.v = v

    def __reduce__(self):
        return (Reduced, (self.v,))


class ReducedEx:
    def __init__(self, v):
        self.v = v

    def __reduce_ex__(self, protocol):
        return (ReducedEx, (self.v,))


class WithState:
    def __init__(self, v):
        self.v = v

    def __getstate__(self):
        return {"v": self.v}

    def __setstate__(self, state):
        self.__dict__.update(state)


class WithNew:
    def __new__(cls, *args):
        return super().__new__(cls)

    def __init__(self, v):
        self.v = v


class ByTable:
    def __init__(self, v):
        self.v = v


def reduce_by_table(obj):
    return (ByTable, (obj.v,))


class ByDispatch:
    def __init__(self, v):
        self.v = v


def deepcopy_by_dispatch(obj, memo):
    return ByDispatch(copy.deepcopy(obj.v, memo))


class ByHandler:
    def __init__(self, v):
        self.v = v


def handler_fn(obj, memo):
    return ByHandler(copium.deepcopy(obj.v, memo))


class Boom:
    def __deepcopy__(self, memo):
        raise ValueError("boom")


@pytest.fixture
def tables():
    """ByTable in copyreg.dispatch_table, ByDispatch in copy._deepcopy_dispatch, ByHandler
    registered with copium, for the test only."""
    copyreg.pickle(ByTable, reduce_by_table)
    copy._deepcopy_dispatch[ByDispatch] = deepcopy_by_dispatch
    copium.register_handler(ByHandler, handler_fn)
    try:
        yield
    finally:
        del copyreg.dispatch_table[ByTable]
        del copy._deepcopy_dispatch[ByDispatch]
        copium.unregister_handler(ByHandler)


@pytest.fixture
def unpatched():
    was = copium.patch.enabled()
    copium.patch.disable()
    try:
        yield
    finally:
        if was:
            copium.patch.enable()


@pytest.fixture
def patched():
    was = copium.patch.enabled()
    copium.patch.enable()
    try:
        yield
    finally:
        if not was:
            copium.patch.disable()


def by_key(report):
    """{(type, path): row}, each key once."""
    rows = {}
    for r in report.rows:
        key = (r.type, r.path)
        assert key not in rows, "two rows for %r: %r" % (key, report.rows)
        rows[key] = r
    return rows


def counts(report):
    return {(r.type, r.path): r.count for r in report.rows}


def check_times(report):
    """The self times add up to the total; a row's total is never less than its self time;
    atoms are not timed (none of these graphs has an atom that only stdlib's tables know)."""
    total_ns = round(report.total_time * 1e9)
    self_ns = sum(round(r.self_time * 1e9) for r in report.rows)
    assert self_ns == total_ns, (self_ns, total_ns)
    for r in report.rows:
        assert r.self_time >= 0 and r.total_time >= r.self_time, r
        if r.path == "atom":
            assert r.self_time == r.total_time == 0, r
    # each row's total is at most the whole copy's
    assert all(r.total_time <= report.total_time for r in report.rows)


# --------------------------------------------------------------------------------------------
# Known graphs


def test_every_path_attributed_to_its_type(tables, unpatched):
    """One graph through every path but the plugin's (test_plugin_handler): the rows and their
    exact counts."""
    # The objects whose hooks are handed the memo come last: from the first of them on, the
    # copy makes stdlib's exact memo entries (an instance's state dict copied as a dict, ...).
    graph = {
        "plain": [Plain(i) for i in range(3)],
        "points": (Point(1, 2.5), Point(3, 4.5)),
        "reduced": [Reduced(1), Reduced(2)],
        "reduced_ex": ReducedEx("x"),
        "state": WithState(7),
        "new": WithNew(8),
        "table": ByTable(9),
        "set": {12, 13},
        "array": array.array("i", [1, 2]),
        "dispatch": ByDispatch(10),
        "handler": ByHandler(11),
        "hooks": [PyHook([1, 2])],
    }
    report = copium.explain(graph)
    assert isinstance(report, Report)
    assert all(isinstance(r, Row) for r in report.rows)
    c = counts(report)
    assert c.pop((dict, "builtin")) == 3  # the graph, and WithState's and WithNew's states
    assert c.pop((list, "builtin")) == 3  # plain, reduced and hooks (the hook's is stdlib's)
    assert c.pop((tuple, "builtin")) == 1
    assert c.pop((set, "builtin")) == 1
    assert c.pop((Plain, "object")) == 3
    assert c.pop((Point, "object")) == 2
    assert c.pop((PyHook, "deepcopy-python")) == 1
    assert c.pop((Reduced, "reduce")) == 2
    assert c.pop((ReducedEx, "reduce-ex")) == 1
    assert c.pop((WithState, "reduce-ex")) == 1
    assert c.pop((WithNew, "reduce-ex")) == 1
    assert c.pop((ByTable, "reduce-copyreg")) == 1
    assert c.pop((ByDispatch, "deepcopy-dispatch")) == 1
    assert c.pop((ByHandler, "python-handler")) == 1
    assert c.pop((array.array, "deepcopy-c")) == 1
    # The atoms, as the engine meets them: the keys (12), the Plain values 0-2, Point's 1, 2.5,
    # 3, 4.5, the reduce arguments 1, 2, "x", 9 (and the reduce values' own items), the values
    # of state and new (in their state dicts)...: counted, not timed. Only their presence and
    # types are checked here; test_atom_counts checks exact atom counts.
    assert c.pop((str, "atom")) >= 12
    assert c.pop((int, "atom")) >= 10
    assert c.pop((float, "atom")) == 2
    leftover = {k: v for k, v in c.items() if k[1] != "atom"}
    assert not leftover, leftover
    check_times(report)
    assert_same_copy(graph, copy.deepcopy(graph), report.copy)


def test_reasons_and_hints_match_the_path(tables, unpatched):
    graph = [PyHook([1]), Reduced(1), ReducedEx(2), WithState(3), WithNew(4), ByTable(5),
             ByDispatch(6), ByHandler(7), array.array("b", [1]), Plain(8)]
    rows = by_key(copium.explain(graph))
    hook = rows[PyHook, "deepcopy-python"]
    assert hook.slow and hook.reason is None
    assert "delete it" in hook.hint and "copium.patch.enable()" in hook.hint
    assert "handed the memo" in hook.hint  # the first hook handed the memo in this copy
    assert rows[Reduced, "reduce"].reason == "its class defines __reduce__"
    assert "__reduce__" in rows[Reduced, "reduce"].hint
    assert rows[ReducedEx, "reduce-ex"].reason == "its class defines __reduce_ex__"
    assert rows[WithState, "reduce-ex"].reason == "its class defines __getstate__"
    assert "delete them" in rows[WithState, "reduce-ex"].hint
    assert rows[WithNew, "reduce-ex"].reason == "its class defines __new__"
    assert "object.__new__" in rows[WithNew, "reduce-ex"].hint
    assert "copyreg.dispatch_table" in rows[ByTable, "reduce-copyreg"].hint
    assert "copy._deepcopy_dispatch" in rows[ByDispatch, "deepcopy-dispatch"].hint
    assert "C plugin" in rows[ByHandler, "python-handler"].hint
    assert rows[ByHandler, "python-handler"].handler == "handler_fn" or (
        rows[ByHandler, "python-handler"].handler is not None)
    assert "written in C" in rows[array.array, "deepcopy-c"].hint
    for fast in (rows[Plain, "object"], rows[list, "builtin"]):
        assert not fast.slow and fast.hint is None and fast.reason is None
    assert rows[list, "builtin"].handler == "list"


def test_inherited_hooks_name_the_base(unpatched):
    class Child(WithState):
        pass

    (row,) = [r for r in copium.explain(Child(1)).rows if r.type is Child]
    assert row.reason == "its base %s.WithState defines __getstate__" % __name__


def test_atom_counts():
    """Atoms: counted each time the engine meets one, the top-level one too."""
    report = copium.explain([1, 2, "a", "a", None, (3, 4.0)])
    assert counts(report) == {(list, "builtin"): 1, (tuple, "builtin"): 1, (int, "atom"): 3,
                              (str, "atom"): 2, (type(None), "atom"): 1, (float, "atom"): 1}
    top = copium.explain(5)
    assert counts(top) == {(int, "atom"): 1} and top.copy == 5 and top.total_time == 0
    assert copium.explain(5, {}).copy == 5
    assert counts(copium.explain(5, {})) == {(int, "atom"): 1}


class AtomByStdlib:
    pass


def test_atoms_by_stdlibs_table_are_timed():
    """A class that copy._deepcopy_dispatch maps to _deepcopy_atomic is found an atom by the
    protocol handler: its row is an atom row, timed, and shown with its time."""
    if not hasattr(copy, "_deepcopy_atomic"):
        pytest.skip("no copy._deepcopy_atomic from 3.14 (atoms are copy._atomic_types)")
    copy._deepcopy_dispatch[AtomByStdlib] = copy._deepcopy_atomic
    try:
        a = AtomByStdlib()
        report = copium.explain([a, a, AtomByStdlib()])
    finally:
        del copy._deepcopy_dispatch[AtomByStdlib]
    assert report.copy[0] is a
    row = by_key(report)[AtomByStdlib, "atom"]
    # met three times, each time through the protocol (stdlib memoizes no object that is its
    # own copy)
    assert row.count == 3 and report.shared == 0
    assert row.total_time > 0
    line = [ln for ln in str(report).splitlines() if "AtomByStdlib" in ln][0]
    assert not line.lstrip().startswith("-"), line


def test_shared_and_cycles_counted_once():
    shared = [1]
    cyc = [shared, shared]
    cyc.append(cyc)
    report = copium.explain(cyc)
    assert counts(report) == {(list, "builtin"): 2, (int, "atom"): 1}
    assert report.shared == 2  # shared met again, and the cycle's back reference
    assert report.copy[2] is report.copy and report.copy[0] is report.copy[1]
    check_times(report)


def test_value_types_and_deferral(unpatched):
    """datetime and uuid take their value-type handlers; after a Python hook had the memo, they
    defer to the protocol, and the row names the handler they came from."""
    when = datetime.datetime(2026, 1, 2, 3, 4)
    ident = uuid.UUID(int=5)
    rows = by_key(copium.explain([when, ident]))
    assert rows[datetime.datetime, "value-type"].handler == "datetime"
    assert rows[uuid.UUID, "value-type"].count == 1
    rows = by_key(copium.explain([PyHook([]), datetime.datetime(2026, 1, 2)]))
    deferred = rows[datetime.datetime, "reduce-ex"]
    assert deferred.handler == "datetime"
    assert "(from the 'datetime' handler)" in deferred.label
    assert "The 'datetime' handler copies" in deferred.hint
    assert rows[PyHook, "deepcopy-python"].count == 1


def test_times_add_up_in_a_deep_graph():
    graph = [[Plain([Point(i, [i])]) for i in range(20)] for _ in range(5)]
    report = copium.explain(graph)
    check_times(report)
    rows = by_key(report)
    # the outer list's total is the whole copy; Plain's total holds Point's and its lists'
    assert rows[list, "builtin"].total_time == report.total_time
    assert rows[Plain, "object"].total_time >= rows[Point, "object"].total_time
    assert rows[Plain, "object"].count == 100 and rows[Point, "object"].count == 100
    assert rows[list, "builtin"].count == 1 + 5 + 100 + 100


def test_str_is_a_table_sorted_by_time(unpatched):
    report = copium.explain({"a": [Plain(i) for i in range(50)], "h": PyHook([1])})
    text = str(report)
    lines = text.splitlines()
    assert lines[0] == report.summary
    assert lines[0].startswith("copium.explain: %d objects of " % report.objects)
    assert "in slow paths: %s.PyHook" % __name__ in lines[0]
    assert lines[1].split() == ["self", "%", "total", "count", "type", "path"]
    timed = [r for r in report.rows if r.path != "atom"]
    assert [r.self_time for r in timed] == sorted((r.self_time for r in timed), reverse=True)
    assert "Why, and what would make it faster:" in lines
    assert "- %s.PyHook, __deepcopy__ in Python" % __name__ in text
    assert repr(report).startswith("<copium.report.Report: copium.explain:")


def test_no_slow_paths_summary():
    report = copium.explain({"a": [1, (2, 3)]})
    assert report.summary.endswith("; no slow paths")
    assert "Why, and what" not in str(report)


def test_plugin_handler():
    pair = pytest.importorskip("pair")
    report = copium.explain([pair.Pair([1], 2)])
    rows = by_key(report)
    assert rows[pair.Pair, "plugin"].handler == "pair.Pair"
    assert rows[pair.Pair, "plugin"].label == "plugin handler 'pair.Pair'"
    assert rows[list, "builtin"].count == 2
    check_times(report)


def test_pinned_objects():
    """A pinned object is built from its snapshot ("pinned"); another object of its type takes
    its usual path (the registry's wrapper for the type is seen through)."""
    defaults = {"retries": [1, 2]}
    other = {"x": 1}
    copium.extra.pin(defaults)
    try:
        report = copium.explain([defaults, other, Plain(1)])
    finally:
        copium.extra.unpin(defaults)
    rows = by_key(report)
    assert rows[dict, "pinned"].count == 1
    assert rows[dict, "pinned"].label == "built from its pin's snapshot"
    assert not rows[dict, "pinned"].slow and rows[dict, "pinned"].hint is None
    assert rows[dict, "builtin"].count == 1 and rows[dict, "builtin"].handler == "dict"
    assert rows[Plain, "object"].count == 1
    assert report.copy[0] == defaults and report.copy[0] is not defaults
    check_times(report)


# --------------------------------------------------------------------------------------------
# Memo, patch, hooks that call deepcopy again


def test_callers_memo():
    shared = [1]
    memo = {}
    report = copium.explain([shared, Plain(shared)], memo)
    assert memo[id(shared)] is report.copy[0]
    assert report.copy[1].v is report.copy[0]
    assert counts(report)[list, "builtin"] == 2
    # given back: what is already in the memo is met again, not copied
    again = copium.explain(shared, memo)
    assert again.copy is report.copy[0] and again.shared == 1
    assert not any(r.count for r in again.rows if r.path != "atom")


def test_hook_with_memo_recorded_inside(unpatched):
    """copium.deepcopy(part, memo) from a hook goes on with the same call, and is recorded."""
    shared = [1, 2]
    graph = [shared, CopiumHook([shared, [3], Plain(4)])]
    report = copium.explain(graph)
    rows = by_key(report)
    assert rows[CopiumHook, "deepcopy-python"].count == 1
    assert rows[list, "builtin"].count == 4  # graph, shared, the payload, [3]
    assert rows[Plain, "object"].count == 1
    # the hook's total includes its payload
    assert rows[CopiumHook, "deepcopy-python"].total_time >= rows[Plain, "object"].total_time
    assert report.copy[1].payload[0] is report.copy[0]
    check_times(report)


def test_patched_stdlib_calls_recorded(patched):
    """With the patch on, copy.deepcopy in a hook is copium's, and recorded; the hint no longer
    suggests the patch."""
    report = copium.explain([PyHook([[1], Plain(2)])])
    rows = by_key(report)
    assert rows[list, "builtin"].count == 3
    assert rows[Plain, "object"].count == 1
    assert "copium.patch.enable()" not in rows[PyHook, "deepcopy-python"].hint
    assert report.patched
    check_times(report)


def test_unpatched_stdlib_calls_are_the_hooks_own_time(unpatched):
    report = copium.explain([PyHook([[1], Plain(2)])])
    rows = by_key(report)
    assert rows[list, "builtin"].count == 1  # stdlib copied the payload
    assert (Plain, "object") not in rows
    assert not report.patched


def test_nested_top_level_copy_recorded():
    report = copium.explain([NestedHook([[1], Plain(2)])])
    rows = by_key(report)
    assert rows[NestedHook, "deepcopy-python"].count == 1
    assert rows[list, "builtin"].count == 3
    assert rows[Plain, "object"].count == 1
    check_times(report)
    hook = rows[NestedHook, "deepcopy-python"]
    assert hook.total_time >= rows[Plain, "object"].total_time


def test_explain_inside_a_hook():
    """copium.explain called by a hook while a copy runs: the inner report has the inner copy
    only, and the outer copy goes on unrecorded and correct."""
    inner = []

    class Explains:
        def __init__(self, payload):
            self.payload = payload

        def __deepcopy__(self, memo):
            r = copium.explain(self.payload)
            inner.append(r)
            return Explains(r.copy)

    x = [Explains([Plain(1), [2]]), [3]]
    y = copium.deepcopy(x)
    assert y[0].payload[0].v == 1 and y[0].payload[0] is not x[0].payload[0]
    (r,) = inner
    # (the native object path copies Plain's __dict__ items: its key is met too)
    assert counts(r) == {(list, "builtin"): 2, (Plain, "object"): 1, (int, "atom"): 2,
                         (str, "atom"): 1}


# --------------------------------------------------------------------------------------------
# Errors


def test_copy_that_raises_carries_the_partial_report():
    x = {"ok": [Plain(1), Plain(2)], "bad": [Boom()]}
    with pytest.raises(ValueError, match="boom") as info:
        copium.explain(x)
    report = info.value.copium_report
    assert report.error is info.value and report.copy is None
    assert report.error_path == (dict, list, Boom)
    c = counts(report)
    assert c[Plain, "object"] == 2 and c[Boom, "deepcopy-python"] == 1
    assert "the copy raised ValueError: boom (in dict > list > %s.Boom)" % __name__ in (
        report.summary)
    check_times(report)
    if sys.version_info >= (3, 11):
        assert any("copium_report" in n for n in info.value.__notes__)
    # the thread's next copies are neither recorded nor broken
    assert copium.deepcopy(x["ok"])[1].v == 2


def test_error_caught_by_a_hook_is_no_error_path():
    class Catches:
        def __deepcopy__(self, memo):
            try:
                copium.deepcopy(Boom(), memo)
            except ValueError:
                pass
            return Catches()

    report = copium.explain([Catches()])
    assert report.error is None and report.error_path == ()
    assert counts(report)[Boom, "deepcopy-python"] == 1


# --------------------------------------------------------------------------------------------
# Threads


def test_other_threads_are_not_recorded():
    """While a hook of the explained copy waits, another thread copies: its objects are not in
    the report, and its copy is correct."""
    started, done = threading.Event(), threading.Event()
    other = {}

    class Waits:
        def __deepcopy__(self, memo):
            started.set()
            assert done.wait(10)
            return Waits()

    def worker():
        assert started.wait(10)
        try:
            src = [Plain(i) for i in range(200)]
            other["copy"] = copium.deepcopy(src)
            other["src"] = src
        finally:
            done.set()

    t = threading.Thread(target=worker)
    t.start()
    report = copium.explain([Waits(), Plain(0)])
    t.join()
    # After the hook had the memo, Plain's state is copied as stdlib copies it: a dict (and
    # the class, an atom, is met as the reduce's argument).
    assert counts(report) == {(list, "builtin"): 1, (Waits, "deepcopy-python"): 1,
                              (Plain, "object"): 1, (dict, "builtin"): 1, (type, "atom"): 1,
                              (str, "atom"): 1, (int, "atom"): 1}
    assert_same_copy(other["src"], copy.deepcopy(other["src"]), other["copy"])


def test_concurrent_explains_keep_their_own_reports():
    reports = {}
    barrier = threading.Barrier(4)

    def run(n):
        barrier.wait()
        for _ in range(20):
            reports[n] = copium.explain([Plain([i]) for i in range(n)])

    threads = [threading.Thread(target=run, args=(n,)) for n in (10, 20, 30, 40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for n, report in reports.items():
        assert counts(report) == {(list, "builtin"): 1 + n, (Plain, "object"): n,
                                  (int, "atom"): n, (str, "atom"): n}
        check_times(report)
