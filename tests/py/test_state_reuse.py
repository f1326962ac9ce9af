"""State reused between calls (a big copy, then small ones) and between threads (several
threads copying the same graph at once)."""

import copy
import gc
import sys
import threading
import time
import weakref

from compare import assert_same_copy
from conftest import DC, NT, DeepHook, DuckMemo, Nested, Plain, impl, using


# ---------------------------------------------------------------------------------------------
# State reuse between calls


def test_small_copies_after_a_big_copy_are_correct():
    big = [[i, Plain()] for i in range(50000)]
    impl.deepcopy(big)
    del big
    for round_ in range(300):
        # new objects, likely at addresses the big copy's originals had
        objs = [[round_, i] for i in range(20)] + [Plain() for _ in range(5)]
        y = impl.deepcopy(objs)
        assert len({id(v) for v in y}) == len(y)
        for orig, new in zip(objs, y):
            assert new is not orig and type(new) is type(orig)
            if type(orig) is list:
                assert new == orig
        del objs, y


def _time_small_copies(data, n=300):
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n):
            impl.deepcopy(data)
        best = min(best, time.perf_counter() - start)
    return best


def test_small_copies_stay_fast_after_a_big_copy():
    small = [[1, 2], {"a": 3}, (4, [5])]
    before = _time_small_copies(small)
    big = [[i] for i in range(300000)]
    impl.deepcopy(big)
    del big
    after = _time_small_copies(small)
    assert after < before * 10 + 0.002, (before, after)


def test_many_objects_shared_across_a_large_copy():
    """Sharing survives the memo growing to tens of thousands of entries."""
    n = 30000
    items = [[i] for i in range(n)]
    x = items + items[::-1] + [(item, i) for i, item in enumerate(items[:1000])]
    memo_a, memo_b = {}, {}
    ya = copy.deepcopy(x, memo_a)
    yb = impl.deepcopy(x, memo_b)
    assert len(yb) == len(ya)
    for i in range(n):
        assert yb[i] is yb[2 * n - 1 - i] and yb[i] == [i] and yb[i] is not x[i]
    for i in range(1000):
        assert yb[2 * n + i][0] is yb[i] and yb[2 * n + i][1] == i
    assert set(memo_a) - {id(memo_a)} == set(memo_b) - {id(memo_b)}
    assert all(memo_b[id(items[i])] is yb[i] for i in range(n))
    assert sorted(map(id, memo_a[id(memo_a)])) == sorted(map(id, memo_b[id(memo_b)]))


def test_caller_memo_is_not_kept():
    x = [[1], Plain(), (2, [3])]
    memo = {}
    before = sys.getrefcount(memo)
    impl.deepcopy(x, memo)
    impl.deepcopy(x, memo)
    gc.collect()
    assert sys.getrefcount(memo) == before
    duck = DuckMemo()
    ref = weakref.ref(duck)
    impl.deepcopy(x, duck)
    del duck
    gc.collect()
    assert ref() is None


def test_copy_of_copy_in_the_same_thread():
    x = [[1], {"a": [2]}]
    y = impl.deepcopy(x)
    z = impl.deepcopy(y)
    assert z == x and z[0] is not y[0] and z[0] is not x[0]


# ---------------------------------------------------------------------------------------------
# Threads


def _thread_graph(seed):
    shared = [seed, [seed + 1]]
    obj = Plain()
    obj.shared = shared
    obj.me = obj
    dh = DeepHook()
    dh.a = shared
    dh.b = obj
    x = [shared, obj, dh, {"k": (shared, seed)}, DC(shared, obj), NT(dh, shared),
         Nested(shared, False), Nested(shared, True), {seed, "s"}]
    x.append(x)
    return x


def test_threads_copy_concurrently():
    shared_graph = _thread_graph(-1)
    with using(copy):
        expected_shared = copy.deepcopy(shared_graph)
    errors = []
    barrier = threading.Barrier(8)

    def work(seed):
        try:
            private = _thread_graph(seed)
            with using(copy):
                expected_private = copy.deepcopy(private)
            barrier.wait()
            with using(impl):
                for _ in range(40):
                    got_shared = impl.deepcopy(shared_graph)
                    got_private = impl.deepcopy(private)
                    memo = {}
                    got_memo = impl.deepcopy(private, memo)
                    assert_same_copy(shared_graph, expected_shared, got_shared)
                    assert_same_copy(private, expected_private, got_private)
                    assert_same_copy(private, expected_private, got_memo)
                    assert memo[id(private)] is got_memo
                    shallow = impl.copy(private)
                    assert shallow == private and shallow is not private
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    if errors:
        raise errors[0]
