"""Leaks, on every interpreter: every case below deep-copied (with and without a memo) and
shallow-copied thousands of times, and then

- the interpreter's allocated blocks (sys.getallocatedblocks) are back at their baseline,
- the memory tracemalloc traces (copium allocates through PyMem_*, so its tables count) is back
  at its baseline,
- the reference counts of the originals and of everything they hold are what they were,
- on a debug interpreter, the total reference count (sys.gettotalrefcount) is back too,

also for the cases whose copy raises half-way (a hook, a reduce iterator, a __setstate__, a
key's __hash__ raising after part of the graph was copied, RecursionError, a dict changed
during the copy). tests/test_refleaks.py checks a few graphs with the total reference count
on debug builds only; this file covers every kind of case on every build.

Method: a warm-up fills the interpreter's caches (and the thread's reusable context); then
rounds of COPIES copies each are measured. A leak of one block or one reference per copy adds
COPIES to every round; a cache that fills later adds a few once. So a case passes when one of
the rounds (at most ROUNDS) stays within a small slack.

COPIUM_LEAK_COPIES sets the copies per round (default 1000, 300 on a debug interpreter)."""

import array
import collections
import copy
import dataclasses
import datetime
import decimal
import enum
import fractions
import functools
import gc
import os
import pathlib
import re
import sys
import tracemalloc
import uuid

import pytest

import copium
import copium.extra
from conftest import (
    NT, CopyHook, Data, DictSub, HookMemo, HookNoMemo, ListSub, Plain, Reduced, Registered,
    Slots, WithState, mirror_graph, plain_holding,
)

# (A debug interpreter is several times slower, and counts every reference exactly.)
COPIES = int(os.environ.get("COPIUM_LEAK_COPIES",
                            "300" if hasattr(sys, "gettotalrefcount") else "1000"))
# A leak adds blocks every round alike (a leaked object per copy: COPIES blocks or more); the
# allocator's own bookkeeping adds a few dozen in an odd round (measured: a dict of 20 atoms,
# steady at 2 blocks per 1000 copies over 40 rounds, with single rounds of 36-41), which three
# rounds in a row could still all show.
ROUNDS = 6
WARMUP = 30
BLOCK_SLACK = 16  # blocks a round may add without a leak (free lists, caches)
TRACED_SLACK = 8192  # bytes, idem (a leaked object per copy adds 32 bytes or more each)
REF_SLACK = 16  # total references, idem (debug builds)

CHECKED = {"cases": 0, "copies": 0}


# --------------------------------------------------------------------------------------------
# The cases


# Plain (plain_holding), Data, Slots, ListSub, DictSub, NT and the hooks are conftest's.


@dataclasses.dataclass(frozen=True)
class Frozen:
    a: object
    b: object = None


class SlotsDict(Slots):
    __slots__ = ("c", "__dict__")


class Color(enum.Enum):
    RED = 1


# Failing cases: each raises part-way through, after copying something.


class RaisingHook:
    def __init__(self, exc):
        self.exc = exc

    def __deepcopy__(self, memo):
        copium.deepcopy([1, [2]], memo)  # something copied first
        raise self.exc("deepcopy hook")

    def __copy__(self):
        raise self.exc("copy hook")


class RaisingReduce:
    def __init__(self, where):
        self.where = where

    def __reduce_ex__(self, protocol):
        if self.where == "reduce":
            raise ValueError("reduce")
        if self.where == "listitems":
            return (list, (), None, raising_iter([[1], [2]]))
        if self.where == "dictitems":
            return (dict, (), None, None, raising_iter([("a", [1])]))
        if self.where == "state":
            return (RaisingState, (), {"x": [1, 2]})
        if self.where == "callable":
            return (raising_callable, ([1],))
        raise AssertionError(self.where)


def raising_iter(items):
    yield from items
    raise KeyError("iterator")


def raising_callable(arg):
    raise TypeError("callable")


class RaisingState:
    def __setstate__(self, state):
        raise RuntimeError("setstate")


class KeyHashRaisesWhenCopied:
    def __init__(self, copied=False):
        self.copied = copied

    def __hash__(self):
        if self.copied:
            raise ValueError("hash of a copy")
        return 1

    def __reduce_ex__(self, protocol):
        return (KeyHashRaisesWhenCopied, (True,))


class Uncopyable:
    def __reduce_ex__(self, protocol):
        raise copy.Error("no")


class MutatesParent:
    def __init__(self, parent):
        self.parent = parent

    def __deepcopy__(self, memo):
        # toggle a key: the dict changes size every time, and does not grow
        if "extra" in self.parent:
            del self.parent["extra"]
        else:
            self.parent["extra"] = 1
        return MutatesParent(None)


def deep_nesting(depth):
    root = cur = []
    for _ in range(depth):
        nxt = []
        cur.append(nxt)
        cur = nxt
    return root


def cyclic():
    a = [1]
    a.append(a)
    d = {"a": a}
    d["d"] = d
    p = plain_holding()
    p.v = p
    return [a, d, p]


def big():
    return [[i, {"i": (i, [i])}] for i in range(3000)]  # grows the memo past retention


def mutating_dict():
    d = {"a": [1]}
    d["hook"] = MutatesParent(d)
    return d


def red():
    r = Reduced([1])
    r.append([2])
    r["k"] = {"v": [3]}
    return r


CASES = {
    # atoms and builtin containers
    "atoms": lambda: [10 ** 30, 1.5, "text", b"bytes", 2j, None, True, ..., NotImplemented],
    "list": lambda: [[1, 2], [3, [4, [5]]], "s"],
    "tuple": lambda: ((1, [2]), (3, (4, [5]))),
    "tuple_of_atoms": lambda: (1, "a", 2.5, None),
    "dict": lambda: {"a": [1], "b": {"c": (2, [3])}, 1: 2},
    "dict_of_atoms": lambda: {str(i): i for i in range(20)},
    "set": lambda: {1, 2, (3, 4), frozenset({5})},
    "frozenset": lambda: frozenset({(1, 2), "a", frozenset({3})}),
    "bytearray": lambda: [bytearray(b"abc"), bytearray()],
    "shared": lambda: (lambda s: [s, s, {"s": s}, (s,)])([1, [2]]),
    "cycles": cyclic,
    "big": big,
    "deep": lambda: deep_nesting(200),
    # instances
    "plain": lambda: [plain_holding([1]), plain_holding({"a": plain_holding()})],
    "dataclass": lambda: [Data([1], {"b": 2}), Frozen((1, [2]))],
    "slots": lambda: [Slots([1], (2,)), SlotsDict([1], 2)],
    "namedtuple": lambda: NT([1], {"b": 2}),
    "subclasses": lambda: (lambda ls, ds: [ls, ds])(ListSub([1, [2]]), DictSub(a=[1])),
    "hooks": lambda: [HookMemo([1, {"a": [2]}]), HookNoMemo({"b": [3]}), CopyHook(v=[4])],
    "memo_dict_uses": mirror_graph,
    "reduce": red,
    "state": lambda: WithState(v=[1, {2: 3}]),
    "registered": lambda: Registered([5]),
    # the standard library
    "stdlib": lambda: [decimal.Decimal("1.5"), fractions.Fraction(1, 3),
                       datetime.datetime(2020, 1, 2, 3, 4, 5), datetime.timedelta(3),
                       collections.deque([1, [2]], maxlen=5),
                       collections.OrderedDict(a=[1]), collections.defaultdict(list, a=[1]),
                       collections.Counter("abc"), re.compile("a+"), range(10), slice(1, 5),
                       functools.partial(Plain, v=[1]), Color.RED, uuid.UUID(int=5),
                       pathlib.PurePosixPath("/a/b"), array.array("i", [1, 2, 3])],
    "callables": lambda: [Plain.__init__, plain_holding([1]).__init__, len, Plain, big,
                          lambda: 1],
    # failing half-way
    "fail_hook_value": lambda: [[1], {"a": [2]}, RaisingHook(ValueError)],
    "fail_hook_key": lambda: [[1], RaisingHook(KeyError)],
    "fail_reduce": lambda: [[1, [2]], RaisingReduce("reduce")],
    "fail_listitems": lambda: [[1], RaisingReduce("listitems")],
    "fail_dictitems": lambda: [[1], RaisingReduce("dictitems")],
    "fail_setstate": lambda: [[1], RaisingReduce("state")],
    "fail_callable": lambda: [[1], RaisingReduce("callable")],
    "fail_key_hash": lambda: [[1], {KeyHashRaisesWhenCopied(): [1, 2]}],
    "fail_uncopyable": lambda: [[1], {"a": Uncopyable()}],
    "fail_recursion": lambda: deep_nesting(100_000),
    "fail_dict_changed": mutating_dict,
}

try:
    import pydantic
except ImportError:  # the pydantic cases run where the Makefile could install it
    pydantic = None

if pydantic is not None:
    class PydAddress(pydantic.BaseModel):
        street: str
        tags: list = []

    class PydUser(pydantic.BaseModel):
        model_config = pydantic.ConfigDict(extra="allow", arbitrary_types_allowed=True)
        name: str
        address: PydAddress
        meta: dict = {}
        _cache: dict = pydantic.PrivateAttr(default_factory=dict)

    class PydRoot(pydantic.RootModel[list]):
        pass

    def pydantic_models():
        a = PydAddress(street="s", tags=["t"])
        u = PydUser(name="n", address=a, meta={"a": a, "b": PydAddress(street="b")}, more=[1])
        u._cache["self"] = u
        return [u, PydRoot([a, {"k": [1]}]), u]

    CASES["pydantic"] = pydantic_models
    CASES["fail_pydantic"] = lambda: [
        PydUser(name="n", address=PydAddress(street="s"), meta={"x": [1], "y": RaisingHook(ValueError)})]


def snapshot_twice(x):
    snap = copium.extra.snapshot(x)  # recording (the first build, for engine parts)
    snap()
    snap()


def pinned_copies(x):
    copium.extra.pin(x)  # recording, and the type's wrapper in the registry
    try:
        copium.deepcopy([x, {"again": x}])
        copium.deepcopy([x], {})
    finally:
        copium.extra.unpin(x)


OPS = {
    "deepcopy": lambda x: copium.deepcopy(x),
    "deepcopy_memo": lambda x: copium.deepcopy(x, {}),
    "deepcopy_memo_filled": lambda x: copium.deepcopy(x, filled_memo()),
    "copy": lambda x: copium.copy(x),
    # copium.explain's recorder (core/explain.c), its report and, for a copy that raises, the
    # report the exception carries: on the cases below only (EXPLAIN_CASES), which take every
    # path the recorder attributes and its error path.
    "explain": lambda x: copium.explain(x),
    "explain_memo": lambda x: copium.explain(x, {}),
    # batch/: the plan, its builds, pins (on the cases below only)
    "snapshot": snapshot_twice,
    "pinned": pinned_copies,
    "replicate": lambda x: copium.extra.replicate(x, 3),
}

EXPLAIN_CASES = {
    "atoms", "cycles", "plain", "dataclass", "slots", "hooks", "memo_dict_uses", "reduce",
    "state", "registered", "stdlib", "fail_hook_value", "fail_reduce", "fail_setstate",
    "fail_recursion", "pydantic",
}
BATCH_OPS = ("snapshot", "pinned", "replicate")
BATCH_CASES = ("atoms", "list", "dict_of_atoms", "shared", "cycles", "plain", "dataclass",
               "slots", "hooks", "reduce", "stdlib", "fail_hook_value", "fail_uncopyable",
               "fail_setstate", "fail_recursion")


def filled_memo():
    """A memo with entries, taken into the native memo (core/mirror.h): pydantic's
    {id(self): new}, a keep-alive list, a deleted entry before them."""
    memo = {1: None}
    memo[id(OPS)] = Plain(v=1)
    memo[id(memo)] = [Plain(v=2)]
    del memo[1]
    return memo


# --------------------------------------------------------------------------------------------
# Measuring


def reachable(root):
    """Everything reachable from root (gc referents), without what the whole program shares
    (types, modules, functions, and atoms the interpreter may cache)."""
    seen = {}
    stack = [root]
    shared = (type, type(sys), type(len), type(reachable), type(Plain.__init__))
    while stack:
        o = stack.pop()
        if id(o) in seen or isinstance(o, shared):
            continue
        seen[id(o)] = o
        stack.extend(gc.get_referents(o))
    out = []
    for o in seen.values():
        if o is None or o is True or o is False or o is ... or o is NotImplemented:
            continue
        if type(o) is int and -5 <= o <= 256:
            continue
        if type(o) is str and (len(o) <= 1 or o.isidentifier()):
            continue
        out.append(o)
    return out


def run(op, x, n):
    fn = OPS[op]
    raised = None
    for _ in range(n):
        try:
            fn(x)
        except (Exception, RecursionError) as e:  # noqa: BLE001 - the failing cases
            raised = type(e)
    return raised


def measure(op, x, n, traced):
    gc.collect()
    blocks = sys.getallocatedblocks()
    total = sys.gettotalrefcount() if hasattr(sys, "gettotalrefcount") else 0
    mem = tracemalloc.get_traced_memory()[0] if traced else 0
    run(op, x, n)
    gc.collect()
    return (sys.getallocatedblocks() - blocks,
            (sys.gettotalrefcount() if hasattr(sys, "gettotalrefcount") else 0) - total,
            (tracemalloc.get_traced_memory()[0] - mem) if traced else 0)


def within_slack(d):
    return d[0] <= BLOCK_SLACK and d[1] <= REF_SLACK and d[2] <= TRACED_SLACK


# Every case with every operation, but for the one that cannot apply (a shallow copy does not
# recurse, so the recursion failure is a deep-copy case only), the batch operations (on
# BATCH_CASES only) and copium.explain (on EXPLAIN_CASES only).
CASE_OPS = [(case, op) for case in sorted(CASES) for op in sorted(OPS)
            if not (case == "fail_recursion" and op == "copy")
            and (op not in BATCH_OPS or case in BATCH_CASES)
            and (not op.startswith("explain") or case in EXPLAIN_CASES)]


@pytest.mark.parametrize("case,op", CASE_OPS)
def test_no_leak(case, op):
    x = CASES[case]()
    n = COPIES // 20 if case in ("big", "fail_recursion", "stdlib") else COPIES
    raised = run(op, x, WARMUP)
    # only the failing cases may raise (a case that fails otherwise measures nothing)
    assert raised is None or case.startswith("fail_"), (case, op, raised)
    objs = reachable(x)
    gc.collect()
    before_refs = [sys.getrefcount(o) for o in objs]
    deltas = []
    # blocks (and total references) first, then the same under tracemalloc
    for traced in (False, True):
        if traced:
            tracemalloc.start()
            run(op, x, n)  # what the first copies allocate under tracemalloc is traced too
        try:
            for _ in range(ROUNDS):
                deltas.append(measure(op, x, n, traced))
                if within_slack(deltas[-1]):
                    break
        finally:
            if traced:
                tracemalloc.stop()
        if not within_slack(deltas[-1]):
            break
    gc.collect()
    after_refs = [sys.getrefcount(o) for o in objs]
    changed = [(repr(o)[:60], b, a) for o, b, a in zip(objs, before_refs, after_refs)
               if a != b]
    assert not changed, "reference counts of the originals changed: %r" % changed[:10]
    assert within_slack(deltas[-1]), (
        "%d copies per round: (allocated blocks, total references, traced bytes) added by each "
        "round: %r" % (n, deltas))
    CHECKED["cases"] += 1
    CHECKED["copies"] += WARMUP + n * len(deltas)


def test_failing_cases_do_fail():
    """The failing cases raise (as stdlib does), so that the leak checks cover error paths."""
    for name, make in CASES.items():
        if not name.startswith("fail_"):
            continue
        x = make()
        for op in ("deepcopy", "deepcopy_memo", "deepcopy_memo_filled"):
            assert run(op, x, 1) is not None, (name, op)
            y = make()
            try:
                copy.deepcopy(y)
            except (Exception, RecursionError):
                pass
            else:
                raise AssertionError("stdlib copied %s" % name)


def test_zz_report():
    print("\nleak checks: %(cases)d cases, %(copies)d copies" % CHECKED)
    report = os.environ.get("COPIUM_LEAK_REPORT")
    if report:
        with open(report, "w") as f:
            f.write("%(cases)d %(copies)d\n" % CHECKED)
