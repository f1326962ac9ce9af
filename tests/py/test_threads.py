"""Threads: many threads copying at once, shared and private graphs, with __deepcopy__ hooks that
call back into copium (with the memo and without it, so that a thread runs nested top-level
copies), hooks that let other threads run in the middle of a copy, a thread registering and
unregistering handlers all the while, and threads that start, copy once and end (each leaves a
per-thread context behind, freed with the thread). Every copy is compared with stdlib's copy of
the same original (compare.assert_same_copy: values, types and the identity pattern); no thread
may raise, and every thread must finish in time (a deadlock fails the test instead of hanging
it). The GIL switch interval is made tiny so that threads interleave inside copies.

COPIUM_THREAD_ITERATIONS scales the rounds per thread (default 40)."""

import collections
import copy
import os
import sys
import threading
import time

import pytest

import copium
from compare import assert_same_copy
from conftest import Data, HookMemo, HookNoMemo, Plain, Reduced, Slots, mirror_graph

THREADS = 8
ITERATIONS = int(os.environ.get("COPIUM_THREAD_ITERATIONS", "40"))
JOIN_TIMEOUT = 300.0
COPIES = collections.Counter()  # copies made and checked, per test (printed at the end)


# Plain, Data, Slots, Reduced and the hooks that call copium back are conftest's.


class HookYields:
    """__deepcopy__ that lets other threads run in the middle of the copy."""

    def __init__(self, payload):
        self.payload = payload

    def __deepcopy__(self, memo):
        new = HookYields.__new__(HookYields)
        memo[id(self)] = new
        time.sleep(0)
        new.payload = copium.deepcopy(self.payload, memo)
        time.sleep(0)
        return new


class Churn:
    """A class whose handler a thread registers and unregisters while the others copy. The
    handler gives exactly stdlib's result, so every copy is comparable whichever ran."""

    def __init__(self, payload):
        self.payload = payload


def churn_handler(obj, memo):
    new = Churn.__new__(Churn)
    memo[id(obj)] = new
    new.__dict__.update(copium.deepcopy(obj.__dict__, memo))
    return new


def make_graph(seed):
    shared = [seed, str(seed), (seed, 2.5), {"k": [seed]}]
    cyc = [shared]
    cyc.append(cyc)
    d = {"self": None, "shared": shared}
    d["self"] = d
    red = Reduced([seed])
    red.append({"r": shared})
    return {
        "list": [[i, {"i": (i, [i])}] for i in range(20)],
        "shared": [shared, shared, (shared,)],
        "cycle": cyc,
        "dict": d,
        "set": {1, 2, frozenset({seed, (3, 4)})},
        "plain": [Plain(tag=i, payload=[shared, i]) for i in range(5)],
        "data": Data([seed], {"y": shared}),
        "slots": Slots([seed], (shared,)),
        "hook_memo": HookMemo([shared, {"h": [seed]}]),
        "hook_nomemo": HookNoMemo({"p": [seed, shared]}),
        "hook_yields": HookYields([shared, Plain(tag=seed, payload=[seed])]),
        "reduced": red,
        "churn": [Churn([seed, shared]), Churn({"c": Churn(seed)})],
        "bytes": [b"x" * 10, bytearray(b"abc"), 10 ** 40, 1.5, None, True],
        "deep": nested(30, seed),
        "memo_dict_uses": mirror_graph(),
    }


def nested(depth, seed):
    root = cur = []
    for i in range(depth):
        nxt = [i, {"s": seed}]
        cur.append(nxt)
        cur = nxt
    return root


@pytest.fixture
def fast_switching():
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


def run_threads(targets, name):
    """Start every target in a thread of its own; return the exceptions they raised. A thread
    still running after JOIN_TIMEOUT fails the test (it is a daemon: the run can end)."""
    errors = []
    start = threading.Barrier(len(targets))

    def wrap(fn):
        def body():
            try:
                start.wait()
                fn()
            except BaseException as e:  # noqa: B902 - reported to the test
                errors.append(e)
        return body

    threads = [threading.Thread(target=wrap(t), name="%s-%d" % (name, i), daemon=True)
               for i, t in enumerate(targets)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + JOIN_TIMEOUT
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    alive = [t.name for t in threads if t.is_alive()]
    assert not alive, "threads still running after %.0f s (a deadlock?): %s" % (
        JOIN_TIMEOUT, alive)
    return errors


def check_all(graph, expected, fn, counter):
    """Copy every value of graph with fn and compare with the expected copies."""
    for key, x in graph.items():
        got = fn(x)
        assert_same_copy(x, expected[key], got)
        counter[0] += 1


def test_threads_shared_and_private_graphs(fast_switching):
    shared = make_graph(0)
    expected_deep = {k: copy.deepcopy(v) for k, v in shared.items()}
    expected_shallow = {k: copy.copy(v) for k, v in shared.items()}
    counts = [[0] for _ in range(THREADS)]
    stop_churn = threading.Event()
    churned = [0]

    def worker(i):
        def body():
            mine = make_graph(i + 1)
            mine_deep = {k: copy.deepcopy(v) for k, v in mine.items()}
            for n in range(ITERATIONS):
                check_all(shared, expected_deep, copium.deepcopy, counts[i])
                check_all(mine, mine_deep, copium.deepcopy, counts[i])
                check_all(shared, expected_deep, lambda x: copium.deepcopy(x, {}), counts[i])
                check_all(shared, expected_shallow, copium.copy, counts[i])
                if n % 4 == 0:
                    # a big copy now and then: the thread's tables grow and shrink back
                    big = [[j] for j in range(5000)]
                    assert copium.deepcopy(big) == big
                    counts[i][0] += 1
        return body

    def churn():
        # register and unregister handlers while the others copy: the class in the graphs,
        # with a handler equal to stdlib's protocol, and classes made for the purpose
        while not stop_churn.is_set():
            copium.register_handler(Churn, churn_handler)
            kind = type("Temp%d" % churned[0], (), {})
            copium.register_handler(kind, lambda obj, memo: obj)
            time.sleep(0)
            assert copium.deepcopy(kind()) is not None
            copium.unregister_handler(kind)
            copium.unregister_handler(Churn)
            churned[0] += 1
            time.sleep(0)

    churner = threading.Thread(target=churn, daemon=True)
    churner.start()
    try:
        errors = run_threads([worker(i) for i in range(THREADS)], "copier")
    finally:
        stop_churn.set()
        churner.join(JOIN_TIMEOUT)
        copium.unregister_handler(Churn)
    assert not churner.is_alive(), "the registry thread did not stop"
    assert not errors, errors[:3]
    assert churned[0] > 0
    COPIES["shared_and_private"] += sum(c[0] for c in counts)


def test_threads_hooks_into_copium_with_and_without_memo(fast_switching):
    """Every thread copies graphs whose hooks re-enter copium (nested contexts), some of them
    yielding the GIL in the middle."""
    counts = [[0] for _ in range(THREADS)]

    def worker(i):
        def body():
            for n in range(ITERATIONS):
                payload = [i, {"n": n}, Plain(tag=n, payload=[i])]
                x = [HookMemo([payload, HookNoMemo(payload)]),
                     HookYields([payload, HookMemo(payload)]),
                     HookNoMemo([HookYields(payload), payload]), payload, mirror_graph(),
                     HookYields([mirror_graph(), payload])]
                expected = copy.deepcopy(x)
                assert_same_copy(x, expected, copium.deepcopy(x))
                assert_same_copy(x, expected, copium.deepcopy(x, {}))
                counts[i][0] += 2
        return body

    errors = run_threads([worker(i) for i in range(THREADS)], "hooks")
    assert not errors, errors[:3]
    COPIES["hooks"] += sum(c[0] for c in counts)


def test_short_lived_threads():
    """Threads that copy once and end: each context is freed with its thread."""
    x = make_graph(3)
    expected = {k: copy.deepcopy(v) for k, v in x.items()}
    done = [0]

    def once():
        for k, v in x.items():
            assert_same_copy(v, expected[k], copium.deepcopy(v))
        done[0] += 1

    for _ in range(10):
        errors = run_threads([once for _ in range(THREADS)], "short")
        assert not errors, errors[:3]
    assert done[0] == 10 * THREADS
    COPIES["short_lived"] += done[0] * len(x)


def test_copy_while_another_thread_mutates(fast_switching):
    """A graph that one thread keeps changing while others copy it: no crash, and every copy
    is a list of lists of ints (whatever moment it saw). Stdlib gives no stronger promise."""
    data = [[i] for i in range(200)]
    stop = threading.Event()
    counts = [[0] for _ in range(THREADS - 1)]

    def mutator():
        n = 0
        while not stop.is_set():
            n += 1
            i = n % len(data)
            data[i] = [n] if n % 2 else [n, [n]]
            if n % 50 == 0:
                time.sleep(0)

    def copier(i):
        def body():
            for _ in range(ITERATIONS * 5):
                c = copium.deepcopy(data)
                assert type(c) is list and len(c) == 200
                assert all(type(item) is list for item in c)
                counts[i][0] += 1
        return body

    m = threading.Thread(target=mutator, daemon=True)
    m.start()
    try:
        errors = run_threads([copier(i) for i in range(THREADS - 1)], "mutated")
    finally:
        stop.set()
        m.join(JOIN_TIMEOUT)
    assert not errors, errors[:3]
    COPIES["mutated"] += sum(c[0] for c in counts)


def test_zz_report():
    """Prints the number of copies the thread tests made and checked."""
    total = sum(COPIES.values())
    print("\nthread copies: %d by %d threads (%s)" % (
        total, THREADS, ", ".join("%s: %d" % kv for kv in sorted(COPIES.items()))))
    report = os.environ.get("COPIUM_THREAD_REPORT")
    if report:
        with open(report, "w") as f:
            f.write("%d %d\n" % (THREADS, total))
