"""Differential property tests: random object graphs (builtin containers, atoms, shared
references, cycles, instances of classes using each copy protocol) copied by stdlib `copy` and
by the implementation under test give results with the same types, values and identity
pattern (see compare.Walker)."""

import copy
import gc
import os
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compare import Walker, assert_same_copy, assert_same_memo, outcome, short
from conftest import (
    DC, NT, CopyHook, DeepHook, DeepHookStdlib, DictSub, FrozenDC, ListSub, Plain, Reducer,
    ReducerEx, Slotted, SlottedChild, WithState, impl, using,
)

SETTINGS = settings(
    max_examples=int(os.environ.get("COPIUM_TEST_EXAMPLES", "200")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# ---------------------------------------------------------------------------------------------
# Strategies

atoms = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-300, max_value=300),
    st.integers(),
    st.integers(min_value=2 ** 64, max_value=2 ** 200),
    st.floats(allow_nan=True, allow_infinity=True),
    st.just(float("nan")),
    st.just(-0.0),
    st.complex_numbers(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.binary(max_size=6),
)

IMMUTABLE = ("atom", "tuple", "frozenset", "namedtuple")
CONTAINERS = ("list", "dict", "set", "bytearray", "listsub", "dictsub")
INSTANCES = {
    "plain": Plain, "dataclass": DC, "frozen_dataclass": FrozenDC, "slotted": Slotted,
    "slotted_child": SlottedChild, "with_state": WithState, "reducer": Reducer,
    "reducer_ex": ReducerEx, "deep_hook": DeepHook, "deep_hook_stdlib": DeepHookStdlib,
    "copy_hook": CopyHook,
}
KINDS = IMMUTABLE + CONTAINERS + tuple(INSTANCES)
# weights: atoms and plain containers more often than the rest
KIND_WEIGHTS = {"atom": 5, "list": 3, "dict": 3, "tuple": 2}


def kind_strategy():
    pool = []
    for kind in KINDS:
        pool.extend([kind] * KIND_WEIGHTS.get(kind, 1))
    return st.sampled_from(pool)


class Graph:
    """A generated object graph: `nodes[i]` is the i-th object; `spec` describes it for error
    messages."""

    def __init__(self, nodes, spec, root):
        self.nodes = nodes
        self.spec = spec
        self.root = root

    def __repr__(self):
        return "Graph(root=%d, spec=%r)" % (self.root, self.spec)


@st.composite
def graphs(draw, max_nodes=12):
    n = draw(st.integers(1, max_nodes))
    kinds = [draw(kind_strategy()) for _ in range(n)]
    hashable = [False] * n
    spec = [None] * n

    def refs(candidates, max_size=4):
        if not candidates:
            return []
        return draw(st.lists(st.sampled_from(candidates), max_size=max_size))

    def ref(candidates):
        return draw(st.sampled_from(candidates)) if candidates else None

    # pass 1: immutables (children strictly lower), hashability
    for i, kind in enumerate(kinds):
        lower = list(range(i))
        lower_hashable = [j for j in lower if hashable[j]]
        if kind == "atom":
            spec[i] = ("atom", draw(atoms))
            hashable[i] = True
        elif kind == "tuple":
            children = refs(lower)
            spec[i] = ("tuple", children)
            hashable[i] = all(hashable[j] for j in children)
        elif kind == "namedtuple":
            children = [ref(lower), ref(lower)] if lower else [None, None]
            spec[i] = ("namedtuple", children)
            hashable[i] = all(j is None or hashable[j] for j in children)
        elif kind == "frozenset":
            spec[i] = ("frozenset", refs(lower_hashable))
            hashable[i] = True
        elif kind in INSTANCES:
            hashable[i] = True  # identity hash
    everything = list(range(n))
    keys = [j for j in everything if hashable[j]]

    # pass 2: containers and instances (may reference anything: cycles)
    for i, kind in enumerate(kinds):
        if spec[i] is not None:
            continue
        if kind in ("list", "listsub"):
            spec[i] = (kind, refs(everything), ref(everything) if kind == "listsub" else None)
        elif kind in ("dict", "dictsub"):
            items = [(ref(keys), ref(everything)) for _ in range(draw(st.integers(0, 4)))] \
                if keys else []
            spec[i] = (kind, items, ref(everything) if kind == "dictsub" else None)
        elif kind == "set":
            spec[i] = ("set", refs(keys))
        elif kind == "bytearray":
            spec[i] = ("bytearray", draw(st.binary(max_size=8)))
        elif kind == "reducer":
            # constructor arguments are copied before the copy is memoized, as set members
            # are: only lower hashable nodes, so that no cycle runs through such edges alone
            spec[i] = ("reducer", ref([j for j in range(i) if hashable[j]]), ref(everything))
        elif kind == "reducer_ex":
            items = refs(everything, 3)
            mapping = [(ref(keys), ref(everything)) for _ in range(draw(st.integers(0, 3)))] \
                if keys else []
            spec[i] = ("reducer_ex", items, mapping, ref(everything))
        elif kind in ("slotted", "slotted_child"):
            names = ["a", "b", "c"] + (["d", "e"] if kind == "slotted_child" else [])
            attrs = {}
            for name in names:
                if draw(st.booleans()):  # leave some slots unset
                    attrs[name] = ref(everything)
            spec[i] = (kind, attrs)
        else:
            attrs = {}
            for name in ("a", "b"):
                if draw(st.integers(0, 3)):
                    attrs[name] = ref(everything)
            spec[i] = (kind, attrs)

    root = draw(st.integers(0, n - 1))
    return Graph(build(spec), spec, root)


def build(spec):
    n = len(spec)
    nodes = [None] * n

    def get(j):
        return None if j is None else nodes[j]

    # pass 1, in index order: immutables from lower nodes, shells for everything else
    for i, s in enumerate(spec):
        kind = s[0]
        if kind == "atom":
            nodes[i] = s[1]
        elif kind == "tuple":
            nodes[i] = tuple(get(j) for j in s[1])
        elif kind == "namedtuple":
            nodes[i] = NT(get(s[1][0]), get(s[1][1]))
        elif kind == "frozenset":
            nodes[i] = frozenset(get(j) for j in s[1])
        elif kind == "list":
            nodes[i] = []
        elif kind == "listsub":
            nodes[i] = ListSub()
        elif kind == "dict":
            nodes[i] = {}
        elif kind == "dictsub":
            nodes[i] = DictSub()
        elif kind == "set":
            nodes[i] = set()
        elif kind == "bytearray":
            nodes[i] = bytearray(s[1])
        elif kind == "reducer":
            nodes[i] = Reducer(get(s[1]))
        elif kind == "dataclass":
            nodes[i] = DC(tag=i)
        elif kind == "frozen_dataclass":
            nodes[i] = FrozenDC(tag=i)
        elif kind == "reducer_ex":
            nodes[i] = ReducerEx()
        else:
            nodes[i] = INSTANCES[kind].__new__(INSTANCES[kind])

    # pass 2: fill containers and set attributes
    for i, s in enumerate(spec):
        kind, obj = s[0], nodes[i]
        if kind in ("list", "listsub"):
            obj.extend(get(j) for j in s[1])
            if kind == "listsub":
                obj.attr = get(s[2])
        elif kind in ("dict", "dictsub"):
            for k, v in s[1]:
                obj[get(k)] = get(v)
            if kind == "dictsub":
                obj.attr = get(s[2])
        elif kind == "set":
            obj.update(get(j) for j in s[1])
        elif kind == "reducer":
            obj.y = get(s[2])
            obj.tag = i
        elif kind == "reducer_ex":
            for j in s[1]:
                obj.append(get(j))
            for k, v in s[2]:
                obj[get(k)] = get(v)
            obj.z = get(s[3])
            obj.tag = i
        elif kind in ("dataclass", "frozen_dataclass"):
            for name, j in s[1].items():
                object.__setattr__(obj, name, get(j))
        elif kind in ("slotted", "slotted_child"):
            obj.tag = i
            for name, j in s[1].items():
                setattr(obj, name, get(j))
        elif kind in INSTANCES:
            obj.tag = i
            for name, j in s[1].items():
                setattr(obj, name, get(j))
    return nodes


# ---------------------------------------------------------------------------------------------
# Helpers


def stdlib_deepcopy(x, memo=None):
    with using(copy):
        return outcome(copy.deepcopy, x, memo)


def impl_deepcopy(x, memo=None, hooks_use=None):
    with using(hooks_use or impl):
        return outcome(impl.deepcopy, x, memo)


def check_ok(result, graph, what):
    assert result.error is None, "%s raised %r on %r" % (what, result.error, graph)
    return result.value


# ---------------------------------------------------------------------------------------------
# Tests


@SETTINGS
@given(graphs())
def test_deepcopy_matches_stdlib(graph):
    x = graph.nodes[graph.root]
    expected = check_ok(stdlib_deepcopy(x), graph, "copy.deepcopy")
    got = check_ok(impl_deepcopy(x), graph, "deepcopy under test")
    assert_same_copy(x, expected, got)
    # a second call (state reused from the first) gives the same result
    again = check_ok(impl_deepcopy(x), graph, "deepcopy under test, second call")
    assert_same_copy(x, expected, again)


@SETTINGS
@given(graphs())
def test_deepcopy_of_all_nodes_matches_stdlib(graph):
    x = list(graph.nodes)
    expected = check_ok(stdlib_deepcopy(x), graph, "copy.deepcopy")
    got = check_ok(impl_deepcopy(x), graph, "deepcopy under test")
    assert_same_copy(x, expected, got)


@SETTINGS
@given(graphs())
def test_hooks_calling_stdlib_deepcopy_with_our_memo(graph):
    """Every __deepcopy__ hook calls stdlib's copy.deepcopy(child, memo) with the memo the
    implementation under test gave it: sharing and cycles must survive the round trip."""
    x = list(graph.nodes)
    expected = check_ok(stdlib_deepcopy(x), graph, "copy.deepcopy")
    got = check_ok(impl_deepcopy(x, hooks_use=copy), graph, "deepcopy under test")
    assert_same_copy(x, expected, got)


@SETTINGS
@given(graphs())
def test_copy_matches_stdlib(graph):
    for i, x in enumerate(graph.nodes):
        expected = outcome(copy.copy, x)
        got = outcome(impl.copy, x)
        assert expected.error is None, "copy.copy raised %r on node %d of %r" % (
            expected.error, i, graph)
        assert got.error is None, "copy under test raised %r on node %d (%s) of %r" % (
            got.error, i, short(x), graph)
        assert_same_copy(x, expected.value, got.value)


@SETTINGS
@given(graphs())
def test_deepcopy_with_memo_matches_stdlib(graph):
    x = graph.nodes[graph.root]
    memo_a, memo_b = {}, {}
    expected = check_ok(stdlib_deepcopy(x, memo_a), graph, "copy.deepcopy")
    got = check_ok(impl_deepcopy(x, memo_b), graph, "deepcopy under test")
    walker = Walker()
    walker.walk(x, expected, got)
    assert_same_memo(walker, memo_a, memo_b)


@SETTINGS
@given(graphs(), st.data())
def test_deepcopy_with_preseeded_memo(graph, data):
    """Entries the caller puts in the memo replace the objects they name."""
    candidates = [i for i, node in enumerate(graph.nodes)
                  if not isinstance(node, (type(None), bool, int, float, complex, str, bytes))]
    seeded = data.draw(st.lists(st.sampled_from(candidates), max_size=3)) if candidates else []
    replacement = Plain()
    replacement.tag = -1
    x = list(graph.nodes)
    memo_a = {id(graph.nodes[i]): replacement for i in seeded}
    memo_b = dict(memo_a)
    expected = check_ok(stdlib_deepcopy(x, memo_a), graph, "copy.deepcopy")
    got = check_ok(impl_deepcopy(x, memo_b), graph, "deepcopy under test")
    for i in seeded:
        assert got[i] is replacement
    walker = Walker()
    walker.walk(x, expected, got)
    assert_same_memo(walker, memo_a, memo_b)


@SETTINGS
@given(graphs(), st.data())
def test_memo_shared_between_calls(graph, data):
    """deepcopy(a, memo) then deepcopy(b, memo): objects shared by a and b stay shared."""
    n = len(graph.nodes)
    i = data.draw(st.integers(0, n - 1))
    j = data.draw(st.integers(0, n - 1))
    a, b = graph.nodes[i], graph.nodes[j]
    memo_a, memo_b = {}, {}
    with using(copy):
        ea = copy.deepcopy(a, memo_a)
        eb = copy.deepcopy(b, memo_a)
    with using(impl):
        ga = impl.deepcopy(a, memo_b)
        gb = impl.deepcopy(b, memo_b)
    walker = Walker()
    walker.walk(a, ea, ga, "first")
    walker.walk(b, eb, gb, "second")
    assert_same_memo(walker, memo_a, memo_b)


@settings(SETTINGS, max_examples=min(SETTINGS.max_examples, 60))
@given(graphs())
def test_refcounts_unchanged(graph):
    x = list(graph.nodes)
    tracked = [node for node in graph.nodes
               if type(node) not in (type(None), bool, int, str, bytes)]
    with using(impl):
        impl.deepcopy(x)
        gc.collect()
        before = [sys.getrefcount(node) for node in tracked]
        for _ in range(3):
            impl.deepcopy(x)
            impl.deepcopy(x, {})
            for i in range(len(x)):
                impl.copy(x[i])
                impl.deepcopy(x[i])
        gc.collect()
        after = [sys.getrefcount(node) for node in tracked]
    assert before == after, [(short(n), b, a) for n, b, a in zip(tracked, before, after)
                             if a != b]
