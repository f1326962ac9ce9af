"""The memo a hook receives (core/mirror.h): copium keeps the memo natively and hands Python code
a real dict that mirrors it. Whatever Python code does with that dict, it must see exactly what
it sees under stdlib, and copium must see whatever it did: these tests run the same graphs
through stdlib and through copium (called directly, through the patched copy.deepcopy, and with
hooks calling stdlib's own deepcopy with the memo) and compare, at every hook, the memo as
Python code sees it (its keys in order, with memo[id(memo)] where stdlib creates it, each value
described, which values are the same object, the keep-alive list in order), the results, and a
memo kept after the call. Hooks read, write, replace, delete and clear entries through the dict
methods and the C API (ctypes), replace or change the keep-alive list, keep the memo, copy the
memo itself, nest, and call deepcopy with the memo several levels deep, or with another memo.
Python code that is not handed the memo but kept it (a __setstate__, a key's __hash__) sees it
up to date too."""

import copy
import ctypes
import gc
import os
import sys
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from compare import IMPL_NAME, Walker, assert_same_copy, assert_same_memo  # noqa: E402
from conftest import impl  # noqa: E402

import copium  # noqa: E402
import copium.config  # noqa: E402
import copium.patch  # noqa: E402

ATOM_IN_GRAPH = 10 ** 30 + 7  # one int object, found by id in the memo

pytestmark = pytest.mark.skipif(IMPL_NAME != "copium", reason="copium's memo mirror")

SETTINGS = settings(
    max_examples=int(os.environ.get("COPIUM_TEST_EXAMPLES", "200")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# ---------------------------------------------------------------------------------------------
# Running a graph both ways and recording what Python code sees.

state = threading.local()


def names_of(x):
    """id -> a name for every object reachable from x (by path), plus the markers."""
    names = {}
    stack = [(x, "x")]
    while stack:
        obj, name = stack.pop()
        if id(obj) in names or isinstance(obj, (int, str, float, type(None))):
            continue
        names[id(obj)] = name
        if isinstance(obj, (list, tuple)):
            stack.extend((v, "%s[%d]" % (name, i)) for i, v in enumerate(obj))
        elif isinstance(obj, dict):
            stack.extend((v, "%s[%r]" % (name, k)) for k, v in obj.items())
            stack.extend((k, "%s.key(%r)" % (name, k)) for k in obj)
        elif isinstance(obj, (set, frozenset)):
            stack.extend((v, "%s{%r}" % (name, v)) for v in obj)
        elif hasattr(obj, "__dict__"):
            stack.extend((v, "%s.%s" % (name, k)) for k, v in vars(obj).items())
    return names


def describe(value):
    """A value found in the memo, as comparable between two runs."""
    if isinstance(value, (int, str, float, type(None))):
        return repr(value)
    if isinstance(value, Marker):
        return "Marker(%s)" % value.tag
    if isinstance(value, (list, dict, tuple, set)):
        return "%s/%d" % (type(value).__name__, len(value))
    return type(value).__name__


def snapshot(memo, why=""):
    """The memo as Python code sees it, canonical: keys in order (by name), values described,
    the first key holding the same value object, and the keep-alive list."""
    names = state.names
    seen = {}
    out = [why, "len %d" % len(memo)]
    for key, value in list(memo.items()):
        if key == id(memo):
            keep = [names.get(id(o), "~" + type(o).__name__) for o in value] \
                if type(value) is list else describe(value)
            out.append(("KEEPALIVE", keep))
            continue
        name = names.get(key, "?") if isinstance(key, int) else repr(key)
        same = seen.setdefault(id(value), name) if not isinstance(
            value, (int, str, float, type(None))) else None
        out.append((name, describe(value), same if same != name else None))
    return out


def record(memo, why):
    state.records.append(snapshot(memo, why))


def nested_deepcopy(x, memo):
    """What a hook calls for its parts: the copier of the run in progress."""
    return state.inner(x, memo)


MODES = ["direct", "patched", "stdlib-inside"]


def run(x, mode, memo=None):
    """Copy x; returns (result or exception type, records, memo kept by Keeper hooks)."""
    state.records = []
    state.kept = []
    state.names = names_of(x)
    copium.patch.disable()
    if mode == "stdlib":
        outer = inner = copy.deepcopy
    elif mode == "direct":
        outer = inner = impl.deepcopy
    elif mode == "patched":
        copium.patch.enable()
        outer = inner = copy.deepcopy
    else:  # copium at the top, stdlib's own deepcopy (unpatched) in the hooks
        outer, inner = impl.deepcopy, copy.deepcopy
    state.inner = inner
    state.fresh = outer
    try:
        result = outer(x) if memo is None else outer(x, memo)
    except Exception as exc:
        result = type(exc)
    finally:
        copium.patch.disable()
    if memo is not None:
        record(memo, "the caller's memo after the call")
    kept = [snapshot(m, "kept") for m in state.kept]
    return result, state.records, kept


def compare(x, modes=MODES, memo_factory=None):
    ref_result, ref_records, ref_kept = run(x, "stdlib", memo_factory() if memo_factory else None)
    assert ref_records or ref_kept or isinstance(ref_result, type), "no hook ran"
    for mode in modes:
        result, records, kept = run(x, mode, memo_factory() if memo_factory else None)
        assert len(records) == len(ref_records), mode
        for i, (a, b) in enumerate(zip(ref_records, records)):
            assert a == b, "%s, record %d:\nstdlib %s\ncopium %s" % (mode, i, a, b)
        assert ref_kept == kept, mode
        if isinstance(ref_result, type):
            assert result is ref_result, (mode, result)
        else:
            assert not isinstance(result, type), (mode, result)
            assert_same_copy(x, ref_result, result)
    return ref_result


# ---------------------------------------------------------------------------------------------
# Hooks


class Marker:
    """A value Python code puts into the memo."""

    def __init__(self, tag):
        self.tag = tag

    def __eq__(self, other):
        return isinstance(other, Marker) and other.tag == self.tag

    __hash__ = object.__hash__


class Spy:
    """Records the memo, runs its actions on it, registers its copy (or not), copies its
    payload with the memo, records again."""

    def __init__(self, payload=None, actions=(), register=True, returns_self=False):
        self.payload = payload
        self.actions = list(actions)
        self.register = register
        self.returns_self = returns_self

    def __deepcopy__(self, memo):
        record(memo, "enter")
        for act in self.actions:
            act(self, memo)
        if self.returns_self:
            record(memo, "leave")
            return self
        new = Spy.__new__(Spy)
        if self.register:
            memo[id(self)] = new
        new.payload = nested_deepcopy(self.payload, memo)
        record(memo, "leave")
        return new


class Keeper:
    """Keeps the memo it is given (looked at after the call)."""

    def __init__(self, payload=None):
        self.payload = payload

    def __deepcopy__(self, memo):
        state.kept.append(memo)
        return Keeper(nested_deepcopy(self.payload, memo))


class KeepList:
    """Keeps only the keep-alive list (it is looked at after the call, through a dict made to
    hold it)."""

    def __deepcopy__(self, memo):
        memo.setdefault(id(memo), [])
        state.kept.append(KeptList(memo[id(memo)]))
        return KeepList()


class KeptList(dict):
    def __init__(self, keep):
        super().__init__()
        self[id(self)] = keep


class Settable:
    """Its __setstate__ (Python code not handed the memo) looks at a memo kept before."""

    def __init__(self, payload):
        self.payload = payload

    def __reduce__(self):
        return (Settable, (None,), {"payload": self.payload})

    def __setstate__(self, st):
        for m in state.kept:
            record(m, "setstate")
        self.payload = st["payload"]


class HashKey:
    """A dict key whose __hash__ (Python code run in the middle of a dict copy) looks at a memo
    kept before."""

    def __init__(self, tag):
        self.tag = tag

    def __hash__(self):
        for m in getattr(state, "kept", ()):
            record(m, "hash")
        return hash(self.tag)

    def __eq__(self, other):
        return isinstance(other, HashKey) and other.tag == self.tag


# Actions: what a Spy does with the memo. Targets are named by a path in the graph; the
# graph is x, reachable as self.graph (set by the test).


def target(self, path):
    obj = GRAPH[0]
    for step in path:
        obj = obj[step]
    return obj


GRAPH = [None]

ctypes.pythonapi.PyDict_SetItem.argtypes = (ctypes.py_object, ctypes.py_object, ctypes.py_object)
ctypes.pythonapi.PyDict_DelItem.argtypes = (ctypes.py_object, ctypes.py_object)
ctypes.pythonapi.PyDict_Clear.argtypes = (ctypes.py_object,)
ctypes.pythonapi.PyDict_Clear.restype = None


def write(path, how="setitem", tag="w"):
    def act(self, memo):
        key, value = id(target(self, path)), Marker(tag)
        if how == "setitem":
            memo[key] = value
        elif how == "update":
            memo.update({key: value})
        elif how == "update-kw-iter":
            memo.update([(key, value)])
        elif how == "setdefault":
            memo.setdefault(key, value)
        elif how == "dict.__setitem__":
            dict.__setitem__(memo, key, value)
        elif how == "C":
            ctypes.pythonapi.PyDict_SetItem(memo, key, value)
        elif how == "ior":
            memo |= {key: value}
        else:
            raise AssertionError(how)
    act.__name__ = "write_%s_%s" % (how, tag)
    return act


def delete(path, how="del"):
    def act(self, memo):
        key = id(target(self, path))
        if key not in memo:
            return
        if how == "del":
            del memo[key]
        elif how == "pop":
            memo.pop(key)
        elif how == "C":
            ctypes.pythonapi.PyDict_DelItem(memo, key)
        else:
            raise AssertionError(how)
    return act


def clear(how="clear"):
    def act(self, memo):
        if how == "clear":
            memo.clear()
        elif how == "C":
            ctypes.pythonapi.PyDict_Clear(memo)
        elif how == "popitem":
            if memo:
                memo.popitem()
        elif how == "clear-refill":  # the same items back, in the same order
            items = list(memo.items())
            memo.clear()
            memo.update(items)
        elif how == "clear-refill-other":  # as many keys back, one of them another
            items = list(memo.items())
            memo.clear()
            changed = id(GRAPH[0][0])
            for k, v in items:
                memo[k + 8 if k == changed else k] = v
        else:
            raise AssertionError(how)
    return act


def keepalive(how):
    def act(self, memo):
        k = id(memo)
        if how == "replace":
            memo[k] = list(memo.get(k, []))
        elif how == "replace-same":
            if k in memo:
                memo[k] = memo[k]
        elif how == "delete":
            memo.pop(k, None)
        elif how == "append":
            memo.setdefault(k, []).append(Marker("kept"))
        elif how == "clear-list":
            if k in memo:
                memo[k].clear()
        elif how == "not-a-list":
            memo[k] = (1, 2)
        else:
            raise AssertionError(how)
    return act


def other_key(key):
    def act(self, memo):
        memo[key] = Marker("other")
    return act


def read_all(self, memo):
    """Every way to read the dict (the snapshot records what they give)."""
    assert type(memo) is dict
    list(memo.keys()), list(memo.values()), dict(memo), memo.copy(), {**memo}, len(memo)
    for k in list(memo):
        assert memo.get(k) is memo[k] and k in memo


def keep(self, memo):
    state.kept.append(memo)


def copy_memo_itself(self, memo):
    """deepcopy(memo, memo): stdlib finds memo[id(memo)] (the keep-alive list) when it exists."""
    got = nested_deepcopy(memo, memo)
    state.records.append(["copy of memo", describe(got), got is memo.get(id(memo))])


def deepcopy_other_memo(path):
    def act(self, memo):
        other = {}
        got = nested_deepcopy(target(self, path), other)
        state.records.append(["other memo", describe(got), snapshot(other, "other")[1:]])
    return act


def deepcopy_fresh(path):
    """A nested top-level copy (no memo), whose own hooks may then use the outer memo."""
    def act(self, memo):
        state.outer_memo = memo
        got = state.fresh(target(self, path))
        state.records.append(["fresh", describe(got)])
    return act


class UsesOuterMemo:
    """Inside a nested top-level copy: copies its payload with the outer call's memo."""

    def __init__(self, payload):
        self.payload = payload

    def __deepcopy__(self, memo):
        record(state.outer_memo, "outer, from a nested call")
        got = nested_deepcopy(self.payload, state.outer_memo)
        record(state.outer_memo, "outer, after")
        return UsesOuterMemo(got)


# ---------------------------------------------------------------------------------------------
# Graphs


def base_graph(*spies):
    """Shared lists and dicts around the spies; the spies see the memo at different points."""
    shared = [1, [2, 3]]
    d = {"s": shared, "t": (shared, [4])}
    x = [shared, d]
    for s in spies:
        x.append(s)
        x.append([shared, {"again": d}, (shared,)])
    x.append(shared)
    x.append(d)
    GRAPH[0] = x
    return x


def test_keys_in_order_and_keepalive_where_stdlib_makes_it():
    x = base_graph(Spy([9]), Spy({"p": [8]}), Spy())
    compare(x)


def test_first_hook_before_any_keepalive():
    x = [Spy([1, [2]]), [3], Spy()]
    GRAPH[0] = x
    compare(x)


def test_first_hook_at_the_top():
    x = Spy([1, [2, {"a": [3]}]])
    GRAPH[0] = x
    compare(x)


def test_hook_reads_every_way():
    compare(base_graph(Spy([9], [read_all]), Spy([1], [read_all])))


WRITE_HOWS = ["setitem", "update", "update-kw-iter", "setdefault", "dict.__setitem__", "C", "ior"]


@pytest.mark.parametrize("how", WRITE_HOWS)
def test_write_for_a_later_object(how):
    # x[2 + 2k] are the spies, x[3 + 2k] lists after them; x[-2] is the shared list.
    later = [5, [6]]
    x = base_graph(Spy([1], [write((5,), how)]), Spy())
    x[5] = later
    x.append(later)
    x.append({"l": later})
    compare(x)


@pytest.mark.parametrize("how", WRITE_HOWS)
def test_replace_an_existing_entry(how):
    # x[0] (shared) is copied before the spy: its entry is replaced.
    compare(base_graph(Spy([1], [write((0,), how)]), Spy([2])))


@pytest.mark.parametrize("how", ["del", "pop", "C"])
def test_delete_an_entry(how):
    compare(base_graph(Spy([1], [delete((0,), how)]), Spy([2])))


# Strict where pymalloc hands the refilled table its old address back; with the C allocator
# (PYTHONMALLOC=malloc, as under the sanitizers) it may get another, and the change is seen.
REFILL_UNSEEN = pytest.mark.xfail(
    sys.version_info < (3, 12), strict=os.environ.get("PYTHONMALLOC", "") != "malloc",
    reason="before 3.12 (no dict watchers) a memo emptied by clear() and refilled with its own "
    "key objects, the last in its old place and the table at its old address, reads as "
    "unchanged (README, compatibility notes)")


@pytest.mark.parametrize("how", ["clear", "C", "popitem", "clear-refill",
                                 pytest.param("clear-refill-other", marks=REFILL_UNSEEN)])
def test_clear(how):
    compare(base_graph(Spy([1], [clear(how)]), Spy([2, [3]])))


FLOOD = []


def delete_then_flood(self, memo):
    """A deletion, then enough new keys that the table is rebuilt (without the hole)."""
    memo.pop(id(GRAPH[0][0]), None)
    for i in range(64):
        FLOOD.append(Marker(i))
        memo[id(FLOOD[-1])] = FLOOD[-1]


def test_delete_then_grow_the_table():
    compare(base_graph(Spy([1], [delete_then_flood]), Spy([2, [3]])))
    del FLOOD[:]


@pytest.mark.parametrize("how", ["replace", "replace-same", "delete", "append", "clear-list",
                                 "not-a-list"])
def test_keepalive_list_changed(how):
    compare(base_graph(Spy([1], [keepalive(how)]), Spy([2, [3]])))


@pytest.mark.parametrize("key", ["text", 1.5, 0, -1, 2 ** 64 - 1, 2 ** 70, (1, 2)])
def test_keys_that_are_not_addresses(key):
    compare(base_graph(Spy([1], [other_key(key)]), Spy([2])))


def test_key_for_an_atom():
    # stdlib (before 3.14) looks atoms up in the memo too: a key for one is honoured.
    x = [Spy(), [], 12345678901234567890, "a string", (12345678901234567890,)]
    big, text = x[2], x[3]

    def key_for_atoms(self, memo):
        memo[id(big)] = Marker("big")
        memo[id(text)] = Marker("text")

    x[0].actions.append(key_for_atoms)
    x[1].extend([big, text, big, text])
    x.append({"k": big, text: 1})
    GRAPH[0] = x
    compare(x)


def test_key_for_an_atom_not_seen_until_a_later_operation():
    # The hook returns itself: nothing is stored after it, and the next child is an atom.
    big = 98765432109876543210

    def key_for_atom(self, memo):
        memo[id(big)] = Marker("big")

    x = [[Spy(actions=[key_for_atom], returns_self=True), big, big], (big,), {"b": big}]
    GRAPH[0] = x
    compare(x)


def test_write_for_self_then_return_another():
    class Other:
        def __deepcopy__(self, memo):
            memo[id(self)] = Marker("written")
            record(memo, "written")
            return Marker("returned")

    o = Other()
    x = [o, [o], Spy([o]), o]
    GRAPH[0] = x
    compare(x)


def test_kept_memo_holds_stdlib_final_state():
    x = base_graph(Spy([1], [keep]), Spy({"p": [2]}))
    x.append(Keeper([5, [6]]))
    x.append([[7], {"z": (8, [9])}])
    compare(x)


def test_kept_keepalive_list_holds_stdlib_final_state():
    x = [KeepList(), [1, [2]], {"a": [3]}]
    GRAPH[0] = x
    compare(x)


def test_memo_kept_and_looked_at_by_setstate_and_hash():
    shared = [1, [2]]
    x = [Keeper(), [shared, {"k": [3]}], Settable([shared, [4]]), [5, [6]],
         {HashKey(1): [7], "x": [shared]}, Settable({"a": [8]})]
    GRAPH[0] = x
    compare(x)


def test_copy_of_the_memo_itself():
    compare(base_graph(Spy([1], [copy_memo_itself]), Spy([2])))
    x = [Spy([1], [copy_memo_itself])]  # before any keep-alive list exists
    GRAPH[0] = x
    compare(x)


def copy_memo_inside(self, memo):
    """The memo met inside a graph a hook copies, after parts copied natively: stdlib finds
    memo[id(memo)] (the keep-alive list) for it, with every item kept alive so far."""
    got = nested_deepcopy([[1, [2]], {"k": [3]}, memo, [4], memo], memo)
    state.records.append(["memo inside", describe(got[2]), got[2] is memo.get(id(memo)),
                          got[4] is got[2]])


def test_copy_of_the_memo_inside_a_graph():
    compare(base_graph(Spy([1], [copy_memo_inside]), Spy([2])))
    x = [[5, [6]], Spy([1], [copy_memo_inside])]
    GRAPH[0] = x
    compare(x)


def test_hook_with_another_memo():
    compare(base_graph(Spy([1], [deepcopy_other_memo((0,))]), Spy([2])))


def test_nested_call_uses_the_outer_memo():
    inner = [UsesOuterMemo([1, [2]]), [3]]
    x = base_graph(Spy([1], [deepcopy_fresh((3,))]), Spy())
    x[3] = inner
    x.append(inner)
    compare(x)


def test_hooks_nested_deep():
    payload = [1, [2]]
    node = payload
    for i in range(8):
        node = Spy([node, {"level": i}, payload], register=i % 2 == 0)
    x = [payload, node, [node, payload]]
    GRAPH[0] = x
    compare(x)


def test_hook_that_does_not_register_itself():
    s = Spy([1, [2]], register=False)
    x = [s, [s], s]
    GRAPH[0] = x
    compare(x)


def test_many_hooks_filling_the_memo_themselves():
    # With stdlib's own deepcopy in the hooks, Python code makes most entries; past a point
    # copium makes the dict the call's memo (core/engine.c, mirror_sync): the same records.
    shared = [0, [1]]
    x = [Spy([i, {"k": [i]}, shared], [keep] if i == 40 else []) for i in range(120)]
    x.append(shared)
    GRAPH[0] = x
    compare(x)


def test_exception_in_hook_leaves_memo_as_stdlib():
    class Raiser:
        def __deepcopy__(self, memo):
            nested_deepcopy([1, [2]], memo)
            raise ValueError("hook")

    x = base_graph(Spy([1], [keep]), Spy([Raiser()]))
    compare(x)


def test_caller_memo_is_used_as_given():
    # An empty dict the caller passes becomes the mirror of the call's native memo.
    x = base_graph(Spy([1], [write((0,))]), Spy([2]))
    compare(x, memo_factory=dict)


# A dict the caller passes with entries in it (pydantic's model_copy(deep=True) passes
# {id(self): new}): taken into the native memo when small and every key an address, the call's
# memo as given otherwise. Either way what Python code sees in it, during the call and after,
# is stdlib's.


class Held:
    """An object kept alive by the memo's keep-alive list before the call."""


def prefilled(kind):
    def make():
        x = GRAPH[0]
        memo = {}
        if kind == "entry":  # an object of the graph copied already: its copy is the marker
            memo[id(x[0])] = Marker("pre")
        elif kind == "self":  # pydantic's: the caller's own object, not in the graph
            memo[id(make)] = Marker("self")
        elif kind == "atom":  # an atom of the graph (stdlib looks atoms up before 3.14)
            memo[id(x[-3][0])] = Marker("atom")
        elif kind == "keepalive":
            memo[id(make)] = Marker("self")
            memo[id(memo)] = [Held()]
        elif kind == "keepalive-empty":
            memo[id(memo)] = []
        elif kind == "keepalive-first":  # then an entry after it
            memo[id(memo)] = [Held()]
            memo[id(x[0])] = Marker("pre")
        elif kind == "keepalive-not-a-list":  # stdlib's _keep_alive fails on it
            memo[id(memo)] = (Held(),)
        elif kind == "not-an-address":
            memo["key"] = Marker("str key")
        elif kind == "negative":
            memo[-5] = Marker("negative")
        elif kind == "deleted":  # deleted entries before the live ones: a gapped table
            for i in range(4):
                memo[i + 10 ** 6] = i
            del memo[10 ** 6], memo[10 ** 6 + 2]
            memo[id(x[0])] = Marker("pre")
        elif kind == "deleted-last":  # ... and after them
            memo[id(make)] = Marker("self")
            memo[10 ** 6] = 0
            del memo[10 ** 6]
        elif kind == "many":  # more than the native memo takes in
            for i in range(40):
                memo[10 ** 6 + i] = i
            memo[id(x[0])] = Marker("pre")
        else:
            assert kind == "empty", kind
        return memo
    return make


PREFILLED = ["empty", "entry", "self", "atom", "keepalive", "keepalive-empty", "keepalive-first",
             "keepalive-not-a-list", "not-an-address", "negative", "deleted", "deleted-last",
             "many"]


@pytest.mark.parametrize("kind", PREFILLED)
def test_caller_memo_with_entries(kind):
    x = base_graph(Spy([1], [read_all]), Spy([2], [write((0,)), keepalive("append")]))
    x.insert(-2, [ATOM_IN_GRAPH, [ATOM_IN_GRAPH]])
    compare(x, memo_factory=prefilled(kind))


@pytest.mark.parametrize("kind", PREFILLED)
def test_caller_memo_with_entries_no_hooks(kind):
    shared = [1, [2]]
    x = [shared, {"a": shared, "t": (shared, ATOM_IN_GRAPH)}, [ATOM_IN_GRAPH, shared], shared]
    x.insert(-2, [ATOM_IN_GRAPH, [ATOM_IN_GRAPH]])
    GRAPH[0] = x
    for mode in ("stdlib", "direct", "patched"):
        run(x, mode, prefilled(kind)())
    ref_result, ref_records, _ = run(x, "stdlib", prefilled(kind)())
    for mode in ("direct", "patched"):
        result, records, _ = run(x, mode, prefilled(kind)())
        assert records == ref_records, mode
        if isinstance(ref_result, type):
            assert result is ref_result
        else:
            assert_same_copy(x, ref_result, result)


@pytest.mark.parametrize("actions", [
    [delete((0,))], [clear()], [keepalive("replace")], [other_key("k")], [keep],
    [copy_memo_itself], [write((1,), "C")]], ids=lambda a: a[0].__name__)
@pytest.mark.parametrize("kind", ["entry", "keepalive", "deleted"])
def test_caller_memo_with_entries_changed_by_hooks(kind, actions):
    x = base_graph(Spy([1], actions), Spy([2], [read_all]))
    compare(x, memo_factory=prefilled(kind))


class AtomCopy:
    """What a caller's memo gives for an atom: hashable, so that it can become a dict key."""

    def __init__(self, tag):
        self.tag = tag

    def __eq__(self, other):
        return isinstance(other, AtomCopy) and other.tag == self.tag

    def __hash__(self):
        return hash(self.tag)


def canonical(value, memo=None, inside=()):
    """A copy's structure, comparable between two runs (identity of shared parts aside)."""
    if memo is not None and value is memo:
        return "MEMO"
    if isinstance(value, AtomCopy):
        return "AtomCopy(%s)" % value.tag
    if isinstance(value, (list, tuple, dict)):
        if id(value) in inside:
            return "CYCLE"
        inside = inside + (id(value),)
        if isinstance(value, dict):
            return ("dict", [(canonical(k, memo, inside), canonical(v, memo, inside))
                             for k, v in value.items()])
        return (type(value).__name__, [canonical(v, memo, inside) for v in value])
    return repr(value)


@pytest.mark.parametrize("nkeys", [1, 2, 3, 9])
def test_caller_memo_keyed_by_atoms(nkeys):
    # Keys for atoms in a caller's dict (stdlib looks atoms up in the memo before 3.14): each
    # honoured wherever its atom is met, in a list, a tuple, a dict's keys and values, the
    # dicts around them copied natively. Past four such keys, every atom is looked up.
    atoms = [10 ** 30 + i for i in range(nkeys)]
    texts = ["text %d %s" % (i, "x" * 20) for i in range(nkeys)]
    x = [[atoms[0], [atoms[-1], 7]], {"k": atoms[0], texts[0]: [1], "n": [atoms[-1]]},
         (atoms[0], [2]), {"plain": 1, "also": "y", "l": [3]}, [texts[-1], {texts[-1]: 2}],
         {"k%d" % i: [i, "v"] for i in range(12)}, atoms, texts,
         [7, 8, atoms[0], 9, atoms[-1]], ("a", "b", texts[-1]), [list(atoms)] * 3]
    GRAPH[0] = x

    def keyed():
        memo = {}
        for i in range(nkeys):
            memo[id(atoms[i])] = AtomCopy("atom %d" % i)
            memo[id(texts[i])] = AtomCopy("text %d" % i)
        return memo

    ref_result, ref_records, _ = run(x, "stdlib", keyed())
    for mode in ("direct", "patched"):
        result, records, _ = run(x, mode, keyed())
        assert records == ref_records, mode
        assert_same_copy(x, ref_result, result)


@pytest.mark.parametrize("kind", ["empty", "self", "keepalive"])
def test_caller_memo_met_inside_its_graph(kind):
    # The caller's own dict among the objects copied, after parts copied natively: stdlib
    # looks it up in itself (memo[id(memo)], the keep-alive list, once there is one). The graph
    # holds its memo, so each run has its own original: the copies are compared by structure.
    results = []
    for fn in (copy.deepcopy, impl.deepcopy):
        memo = {}
        if kind == "self":
            memo[id(results)] = AtomCopy("self")
        elif kind == "keepalive":
            memo[id(memo)] = ["held"]
        x = [[1, [2]], {"k": [3]}, memo, [4], memo]
        state.names = names_of(x)
        got = fn(x, memo)
        results.append((canonical(got, memo), got[2] is memo.get(id(memo)), got[4] is got[2],
                        snapshot(memo)))
    assert results[1] == results[0]


def test_caller_memo_passed_to_several_calls():
    # pydantic's __deepcopy__: deepcopy(self.__dict__, memo), then deepcopy(extra, memo), then
    # deepcopy(private, memo), the memo growing from call to call.
    x = base_graph(Spy([1], [read_all]))
    GRAPH[0] = x
    state.names = names_of(x)
    out = {}
    for mode in ("stdlib", "direct", "patched"):
        copium.patch.disable()
        if mode == "patched":
            copium.patch.enable()
        fn = copy.deepcopy if mode != "direct" else impl.deepcopy
        state.inner = fn
        state.records, state.kept = [], []
        try:
            memo = prefilled("self")()
            parts = [fn(part, memo) for part in (x[:2], None, x[2:], {"again": x[1]})]
            record(memo, "after")
        finally:
            copium.patch.disable()
        out[mode] = parts, state.records
    for mode in ("direct", "patched"):
        assert out[mode][1] == out["stdlib"][1], mode
        assert_same_copy(x, out["stdlib"][0], out[mode][0])


def test_memo_dict_configuration():
    try:
        copium.config.apply(memo="dict")
        compare(base_graph(Spy([1], [write((0,)), delete((1,))]), Spy([2])))
    finally:
        copium.config.apply(memo="native")


def test_instances_sets_and_values_after_the_first_hook():
    # Once the dict exists, temporary entries (a set's element list, an instance's state dict)
    # are stdlib's exactly.
    import dataclasses
    import datetime
    import uuid

    @dataclasses.dataclass
    class D:
        a: object
        b: object = None

    class P:
        def __init__(self, v):
            self.v = v

    shared = [1]
    x = [Spy([shared]), P([shared, {"k": 2}]), D({1, 2, (3,)}, frozenset({4})),
         datetime.datetime(2020, 1, 2), uuid.UUID(int=5), {6, (7, 8)}, Spy([shared])]
    GRAPH[0] = x
    compare(x)


# ---------------------------------------------------------------------------------------------
# Random graphs with random actions (hypothesis).

ACTIONS = [
    lambda p: write(p), lambda p: write(p, "C"), lambda p: write(p, "update"),
    lambda p: delete(p), lambda p: delete(p, "C"), lambda p: clear(),
    lambda p: keepalive("append"), lambda p: keepalive("replace"), lambda p: keep,
    lambda p: read_all, lambda p: copy_memo_itself, lambda p: other_key("k"),
]


@st.composite
def spy_graphs(draw):
    n = draw(st.integers(min_value=3, max_value=8))
    x = []
    for i in range(n):
        kind = draw(st.sampled_from(["list", "dict", "tuple", "spy", "shared", "atom"]))
        if kind == "list":
            x.append([i, [i + 1]])
        elif kind == "dict":
            x.append({"i": [i], "t": (i, [i])})
        elif kind == "tuple":
            x.append((i, [i]))
        elif kind == "shared" and x:
            x.append(x[draw(st.integers(min_value=0, max_value=len(x) - 1))])
        elif kind == "atom":
            x.append(10 ** 20 + i)
        else:
            acts = draw(st.lists(st.sampled_from(range(len(ACTIONS))), max_size=3))
            paths = [(draw(st.integers(min_value=0, max_value=n - 1)),) for _ in acts]
            payload = draw(st.sampled_from([None, "list", "earlier"]))
            x.append(Spy([], [], register=draw(st.booleans())))
            x[-1].pending = (acts, paths, payload)
    if not any(isinstance(item, Spy) for item in x):
        x[draw(st.integers(min_value=0, max_value=n - 1))] = Spy([], [], register=True)
    for i, item in enumerate(x):
        if isinstance(item, Spy) and hasattr(item, "pending"):
            acts, paths, payload = item.pending
            del item.pending
            item.actions = [ACTIONS[a](p) for a, p in zip(acts, paths)]
            item.payload = ([i, [i]] if payload == "list"
                            else [x[i - 1]] if payload == "earlier" and i else None)
    return x


@given(spy_graphs())
@SETTINGS
def test_random_graphs_with_random_actions(x):
    GRAPH[0] = x
    compare(x)


# ---------------------------------------------------------------------------------------------
# Threads


def test_threads_each_with_hooks_and_a_shared_graph():
    shared = [1, {"a": [2]}]
    graph = [shared, Spy([shared, [3]], [write((3,))]), [shared], Spy([4])]
    GRAPH[0] = graph
    state.records = []
    state.names = {}
    state.kept = []
    errors = []

    def work():
        try:
            state.records, state.kept, state.names = [], [], {}
            state.inner = impl.deepcopy
            for _ in range(200):
                y = impl.deepcopy(graph)
                assert y[0] is y[1].payload[0] and y[2][0] is y[0]
                assert isinstance(y[3], Marker) and y[3].tag == "w"
        except BaseException as exc:  # reported below
            errors.append(exc)

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    finally:
        sys.setswitchinterval(old)
    assert not errors, errors[0]


class OtherThread:
    """A hook that hands the memo to another thread, which writes to it and copies with it
    (that thread's call runs on the dict as given) while the hook waits for it."""

    def __init__(self, payload):
        self.payload = payload

    def __deepcopy__(self, memo):
        out = []
        inner = state.inner

        def other():
            state.records, state.names, state.kept = [], {}, []
            memo[id(self.payload[0])] = Marker("from thread")
            out.append(inner(self.payload, memo))

        t = threading.Thread(target=other)
        t.start()
        t.join()
        record(memo, "after thread")
        return out[0]


def test_memo_handed_to_another_thread():
    later = [5, [6]]
    x = base_graph(Spy([1]), OtherThread([later, [7]]), Spy([later]))
    x.append(later)
    compare(x)


def test_caller_memo_handed_to_another_thread():
    later = [5, [6]]
    x = base_graph(Spy([1]), OtherThread([later, [7]]), Spy([later]))
    x.append(later)
    compare(x, memo_factory=prefilled("self"))


# ---------------------------------------------------------------------------------------------
# The kept memo after the call, compared entry by entry (compare.assert_same_memo).


def test_kept_memo_entries_match_stdlib():
    w = [1, [2]]
    x = [w, Spy([w], [keep]), {"w": w, "t": (w, [3])}, Spy([[4]], [write((0,))]), w]
    GRAPH[0] = x
    state.names = names_of(x)
    state.records, state.kept = [], []
    state.inner = copy.deepcopy
    ya = copy.deepcopy(x)
    (ma,) = state.kept
    state.records, state.kept = [], []
    state.inner = impl.deepcopy
    yb = impl.deepcopy(x)
    (mb,) = state.kept
    walker = Walker()
    walker.walk(x, ya, yb)
    assert_same_memo(walker, ma, mb)
    assert list(map(type, ma.values())) == list(map(type, mb.values()))
    del state.kept[:]
    gc.collect()
