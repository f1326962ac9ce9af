"""Reference-leak checks: every kind of copy, repeated, must leave the interpreter's total
reference count where it was. Needs a debug interpreter (sys.gettotalrefcount exists only
there: Debian's python3.11-dbg, python3.14-dbg); on a release build these tests are reported
as skipped, never as passed. `make test-debug` runs them.

Method (as CPython's regrtest -R): run the case a few times to fill every cache (type caches,
interned strings, the thread's reusable context), then measure several rounds of many copies
each. A leak adds references in every round; an interpreter cache that is still filling adds
some in a few rounds, fewer each time. So, as regrtest decides, a case leaks when every round
adds more than the harness alone does."""

import copy
import decimal
import gc
import sys
import threading

import pytest

import copium
import copium.extra
from conftest import (
    Data, DictSub, HookMemo, ListSub, Plain, Reduced, Slots, mirror_graph, plain_holding,
)

pytestmark = pytest.mark.skipif(
    not hasattr(sys, "gettotalrefcount"), reason="needs a debug build of CPython")

ROUNDS = 8
COPIES_PER_ROUND = 50


# Plain (plain_holding), Data, Slots, Reduced, ListSub, DictSub and HookMemo are conftest's.


class Raising:
    def __deepcopy__(self, memo):
        raise ValueError("boom")

    def __reduce_ex__(self, proto):
        raise ValueError("boom")


def graph():
    shared = [1, 2.5, "s", None]
    doc = {"users": [{"id": i, "tags": ["a", "b"], "shared": shared} for i in range(20)]}
    cyc = [1]
    cyc.append(cyc)
    d = {}
    d["self"] = d
    l2 = ListSub([1, [2]])
    l2.attr = {"x": 1}
    # dicts copied from clones, settled when the hook below them runs (handlers/dict.c)
    pending = {"a": [1], "b": {"c": [2], "d": [HookMemo([3])], "e": {"f": [4]}}, "g": [5]}
    return [doc, cyc, d, pending, (1, [2]), {1, 2, frozenset({3})}, bytearray(b"ab"),
            plain_holding([1]), Data(1, [2]), Slots([1], {"k": (2, [3])}),
            HookMemo([1, {"a": [2]}]), Reduced([5]), l2, DictSub(a=[1]), decimal.Decimal("1.5"),
            Plain.__init__, plain_holding([0]).__init__, range(3), slice(1, 2),
            mirror_graph()]


def failing_graph():
    return [[1, 2], {"k": [3]}, plain_holding([4]), {"a": [5], "b": {"c": [Raising()]}, "d": [6]},
            Raising()]


def total_refs():
    gc.collect()
    return sys.gettotalrefcount()


def measure(fn):
    for _ in range(10):  # warm every cache
        fn()
    deltas = []
    for _ in range(ROUNDS):
        before = total_refs()
        for _ in range(COPIES_PER_ROUND):
            fn()
        deltas.append(total_refs() - before)
    return deltas


def check_no_leak(fn):
    # The measuring itself moves the total by a few references (its own locals and list):
    # the same harness around a function that does nothing gives that baseline. A leak of
    # one reference in every copy adds COPIES_PER_ROUND to every round. The interpreter's own
    # caches (3.14's debug build) may still take references in the first rounds, and in a
    # full run now and then in a later one ([2, 6, 5, 2] and [119, 36, 12, 4] were seen
    # against a baseline of 2), so no single round decides.
    baseline = max(measure(lambda: None))
    deltas = measure(fn)
    assert any(d <= baseline for d in deltas), (deltas, baseline)


def test_harness_finds_a_leak():
    # The check must fail for a leak of one reference every tenth copy (a few per round:
    # more than the harness's own baseline, which is a reference or two).
    kept = []
    calls = iter(range(10**9))
    with pytest.raises(AssertionError):
        check_no_leak(lambda: next(calls) % 10 or kept.append(object()))


def test_deepcopy_no_leak():
    x = graph()
    check_no_leak(lambda: copium.deepcopy(x))


def test_deepcopy_with_memo_no_leak():
    x = graph()
    check_no_leak(lambda: copium.deepcopy(x, {}))


def test_deepcopy_with_filled_memo_no_leak():
    # entries taken into the native memo, written back (core/mirror.h)
    x = graph()

    def run():
        memo = {id(run): Plain(v=1)}
        memo[id(memo)] = [Plain(v=2)]
        copium.deepcopy(x, memo)

    check_no_leak(run)


def test_copy_no_leak():
    items = graph()
    check_no_leak(lambda: [copium.copy(i) for i in items])


def test_failing_copy_no_leak():
    x = failing_graph()

    def fail():
        with pytest.raises(ValueError):
            copium.deepcopy(x)
        with pytest.raises(ValueError):
            copium.deepcopy(x, {})
        with pytest.raises(ValueError):
            copium.copy(x[-1])

    check_no_leak(fail)


def test_explain_no_leak():
    x = graph()
    check_no_leak(lambda: copium.explain(x))
    check_no_leak(lambda: copium.explain(x, {}))


def test_failing_explain_no_leak():
    x = failing_graph()

    def fail():
        with pytest.raises(ValueError) as info:
            copium.explain(x)
        assert info.value.copium_report.error is info.value
        del info  # the report holds the exception, which holds its traceback: a cycle

    check_no_leak(fail)


def test_snapshot_no_leak():
    x = graph()
    snap = copium.extra.snapshot(x)
    check_no_leak(lambda: snap())
    check_no_leak(lambda: copium.extra.snapshot(x)())


def test_pins_no_leak():
    x = graph()

    def pinned():
        copium.extra.pin(x[0])
        copium.extra.pin(x[7])
        copium.deepcopy(x)
        copium.deepcopy(x, {})
        copium.extra.replicate(x[:3], 2)
        copium.extra.unpin(x[0])
        copium.extra.clear_pins()

    check_no_leak(pinned)


def test_failing_snapshot_no_leak():
    x = failing_graph()

    def fail():
        with pytest.raises(ValueError):
            copium.extra.snapshot(x)
        with pytest.raises(ValueError):
            copium.extra.pin(x)

    check_no_leak(fail)


def test_recursion_error_no_leak():
    deep = []
    cur = deep
    for _ in range(100_000):
        nxt = []
        cur.append(nxt)
        cur = nxt

    def fail():
        with pytest.raises(RecursionError):
            copium.deepcopy(deep)

    check_no_leak(fail)


def test_threads_no_leak():
    x = graph()

    def run():
        threads = [threading.Thread(target=lambda: [copium.deepcopy(x) for _ in range(5)])
                   for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    check_no_leak(run)


def test_originals_refcounts_unchanged():
    x = graph()
    nodes = list(x)
    copium.deepcopy(x)  # fill the caches first (they may hold types, never instances)
    copium.deepcopy(x, {})
    gc.collect()
    before = [sys.getrefcount(n) for n in nodes]
    for _ in range(200):
        copium.deepcopy(x)
        copium.deepcopy(x, {})
    gc.collect()
    after = [sys.getrefcount(n) for n in nodes]
    assert after == before, [(repr(n)[:60], b, a) for n, b, a in zip(nodes, before, after)
                             if a != b]
