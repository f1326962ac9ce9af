"""The benchmark's cases, and the checks every copy passes before it is timed.

Imported by the worker processes (benchmarks/worker.py), one per implementation, so that both
the copium under test and the published peer (same import name, its own venv) copy exactly the
same objects. Standard library only (numpy only for the numpy cases). Nothing here imports
copium: the classes below must be picklable and identical in every process.
"""

import copy
import dataclasses
import datetime
import decimal
import gc
import math
import random
import sys
import uuid

# ---------------------------------------------------------------------------------------------
# The structures.


def api_document(nodes=10_000, seed=1):
    """A JSON-like API response (nested dicts and lists of str/int/float/bool/None) of about
    `nodes` nodes, counting every container, every dict key and every leaf value."""
    rng = random.Random(seed)
    words = ["alpha", "beta", "gamma", "delta", "omega", "kappa", "sigma", "theta", "zeta"]

    def user(i):
        return {
            "id": i,
            "type": "user",
            "attributes": {
                "name": "%s %s" % (rng.choice(words).title(), rng.choice(words).title()),
                "email": "user%d@example.com" % i,
                "active": rng.random() < 0.8,
                "score": round(rng.uniform(0, 100), 2),
                "tags": rng.sample(words, 3),
                "address": {"city": rng.choice(words), "zip": "%05d" % rng.randrange(99999),
                            "geo": [round(rng.uniform(-90, 90), 4),
                                    round(rng.uniform(-180, 180), 4)]},
                "manager": None,
            },
            "relationships": {"groups": {"data": [{"id": rng.randrange(50), "type": "group"}
                                                  for _ in range(2)]}},
        }

    doc = {"data": [], "meta": {"page": 1, "per_page": 0, "total": 0, "generated": "2026-11-24"},
           "links": {"self": "/users?page=1", "next": "/users?page=2", "prev": None}}
    i = 0
    while count_nodes(doc) < nodes:
        doc["data"].extend(user(i + k) for k in range(5))
        i += 5
    doc["meta"]["per_page"] = doc["meta"]["total"] = i
    return doc


def shared_config():
    """A service configuration in which every service refers to the same default sub-dicts."""
    retry = {"attempts": 3, "backoff": [0.1, 0.5, 2.0], "on": ["timeout", "reset"]}
    tls = {"verify": True, "ca": "/etc/ssl/certs/ca.pem", "ciphers": ["TLS_AES_128_GCM_SHA256"]}
    defaults = {"timeout": 30.0, "retry": retry, "tls": tls, "headers": {"User-Agent": "svc/1.0"}}
    return {
        "version": 3,
        "defaults": defaults,
        "services": {
            "svc%03d" % i: {
                "host": "svc%03d.internal" % i,
                "port": 8000 + i,
                "defaults": defaults,
                "retry": retry if i % 3 else {"attempts": 5, "backoff": [1.0], "on": ["timeout"]},
                "tls": tls,
                "replicas": [{"zone": z, "weight": 1} for z in ("a", "b")],
            }
            for i in range(100)
        },
    }


class Point:
    """A plain class: attributes in __dict__, the default copy protocol."""

    def __init__(self, x, y, label, history):
        self.x = x
        self.y = y
        self.label = label
        self.history = history


@dataclasses.dataclass
class Item:
    id: int
    name: str
    price: float
    tags: list
    active: bool = True


class Vec:
    """A `__slots__` class (no __dict__)."""

    __slots__ = ("x", "y", "z", "label", "parts")

    def __init__(self, x, y, z, label, parts):
        self.x = x
        self.y = y
        self.z = z
        self.label = label
        self.parts = parts


class Node:
    """A class with a hand-written __deepcopy__, the way users write them: register the new
    object in the memo, copy the mutable parts through copy.deepcopy with the memo."""

    def __init__(self, name, values):
        self.name = name
        self.values = values

    def __deepcopy__(self, memo):
        new = Node.__new__(Node)
        memo[id(self)] = new
        new.name = self.name
        new.values = copy.deepcopy(self.values, memo)
        return new


def shared_and_cycles(n=300):
    """A graph: a doubly linked ring of dict nodes (cycles), an index and a list referring to the
    same nodes again (shared references), a list that contains itself."""
    nodes = [{"id": i, "payload": [i, "n%d" % i]} for i in range(n)]
    for i, node in enumerate(nodes):
        node["next"] = nodes[(i + 1) % n]
        node["prev"] = nodes[i - 1]
    root = {"nodes": nodes, "index": {node["id"]: node for node in nodes},
            "favourites": [nodes[i] for i in range(0, n, 7)], "selfref": []}
    root["selfref"].append(root["selfref"])
    root["root"] = root
    return root


def nested(depth=500):
    """A list nested `depth` deep, with a small leaf."""
    leaf = [1, "leaf", 2.5]
    for _ in range(depth):
        leaf = [leaf]
    return leaf


def datetimes(n=1000):
    start = datetime.datetime(2026, 11, 24, 9, 30)
    return [start + datetime.timedelta(minutes=7 * i) if i % 4 else
            datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(hours=i)
            for i in range(n)]


def decimals(n=1000):
    return [decimal.Decimal(i * 37 % 100003) / decimal.Decimal(100) for i in range(n)]


def uuids(n=1000, seed=3):
    rng = random.Random(seed)
    return [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(n)]


def numpy_small_arrays(n=1000):
    import numpy as np
    return [np.arange(8, dtype=np.float64) * i for i in range(n)]


def numpy_big_array(n=100_000):
    import numpy as np
    return np.linspace(0.0, 1.0, n)


def batch_structure():
    """The ~1k-node structure of the batch case (issue 5)."""
    return api_document(nodes=1000, seed=5)


def history_big():
    """The 'big copy' of the history-independence measurement: 100k containers."""
    return [{"i": i} for i in range(100_000)]


def small_dict():
    return {"id": 7, "name": "x", "ok": True, "score": 1.5, "tags": ["a", "b"]}


def app_defaults():
    """An application's default configuration: sections of settings (str, int, float, bool,
    None, lists of str), feature flags, per-locale messages, a few sections sharing a
    sub-dict. About 1,500 nodes."""
    rng = random.Random(7)
    words = ["alpha", "beta", "gamma", "delta", "omega", "kappa", "sigma", "theta", "zeta"]
    timeouts = {"connect": 2.0, "read": 10.0, "write": 10.0, "pool": 5.0}
    sections = {}
    for s in range(24):
        sections["section_%02d" % s] = {
            "enabled": s % 3 != 0,
            "name": "%s-%d" % (rng.choice(words), s),
            "level": rng.randrange(10),
            "ratio": round(rng.random(), 3),
            "owner": None,
            "tags": rng.sample(words, 4),
            "timeouts": timeouts if s % 4 == 0 else dict(timeouts, read=float(s)),
            "endpoints": [{"url": "https://svc%d.example/%s" % (s, w), "weight": i, "tls": True}
                          for i, w in enumerate(rng.sample(words, 3))],
        }
    return {"version": 7, "sections": sections,
            "features": {"flag_%03d" % i: i % 2 == 0 for i in range(120)},
            "messages": {loc: {"greeting": "hello %s" % loc, "bye": "bye %s" % loc,
                               "errors": ["e%d-%s" % (i, loc) for i in range(6)]}
                         for loc in ("en", "fr", "de", "es", "it", "pt", "nl", "pl")}}


def request_state(defaults, i=1):
    """A per-request state holding the application's default configuration."""
    return {"config": defaults,
            "request": {"id": i, "path": "/api/items/%d" % i, "headers": {"accept": "json"},
                        "params": {"page": 1, "size": 20}},
            "user": {"id": 100 + i, "name": "user%d" % i, "roles": ["reader", "writer"]},
            "items": [{"sku": "sku-%d" % j, "qty": j} for j in range(4)]}


def pinned_request():
    return request_state(app_defaults())


def dataclass_items(n=1000):
    return [Item(i, "item%d" % i, i * 0.5, ["a", "b"], i % 2 == 0) for i in range(n)]


BATCH_N = 100

# ---------------------------------------------------------------------------------------------
# The suite. floor: the shallow copy that is the lower bound for a deep copy of atoms (the name
# of a builtin the worker resolves, called as floor(obj)). kind "batch": every implementation
# makes BATCH_N copies per call (stdlib and the plain copium.deepcopy in a list comprehension,
# copium with copium.extra.replicate).


class Case:
    def __init__(self, name, make, group, description, floor=None, kind="deepcopy",
                 requires=None, in_geomean=True):
        self.name = name
        self.make = make
        self.group = group
        self.description = description
        self.floor = floor
        self.kind = kind
        self.requires = requires
        self.in_geomean = in_geomean


CASES = [
    Case("int", lambda: 1, "per call", "deepcopy(1): the cost of one call; floor: abs(1)",
         floor="abs"),
    Case("small_dict_5", small_dict, "per call",
         "a 5-key dict {id, name, ok, score, tags: [2 str]}"),
    Case("list_1000_ints", lambda: list(range(1000)), "flat",
         "a list of 1000 ints; floor: list.copy", floor="list.copy"),
    Case("dict_1000_str_int", lambda: {"key%04d" % i: i for i in range(1000)}, "flat",
         "a dict of 1000 str -> int; floor: dict.copy", floor="dict.copy"),
    Case("tuple_1000_atoms",
         lambda: tuple([i, "s%d" % i, i * 0.5, None, i % 2 == 0][i % 5] for i in range(1000)),
         "flat", "a tuple of 1000 mixed atoms (int, str, float, None, bool): returned as is"),
    Case("set_1000_ints", lambda: set(range(1000)), "flat",
         "a set of 1000 ints; floor: set.copy", floor="set.copy"),
    Case("api_document_10k", api_document, "documents",
         "a JSON-like API response of ~10k nodes (dicts, lists, str, int, float, bool, None)"),
    Case("config_shared_defaults", shared_config, "documents",
         "a service config: 100 services sharing default sub-dicts"),
    Case("shared_and_cycles", shared_and_cycles, "documents",
         "300 dict nodes in a doubly linked ring, an index and a list sharing them, a self-list"),
    Case("nested_500", nested, "documents", "a list nested 500 deep"),
    Case("instances_1000", lambda: [Point(i, -i, "p%d" % i, [i, i + 1]) for i in range(1000)],
         "objects", "1000 plain class instances (4 attributes, one a list)"),
    Case("dataclasses_1000",
         lambda: [Item(i, "item%d" % i, i * 0.5, ["a", "b"], i % 2 == 0) for i in range(1000)],
         "objects", "1000 dataclass instances (5 fields, one a list)"),
    Case("slots_1000", lambda: [Vec(i, i + 1, i + 2, "v%d" % i, [i]) for i in range(1000)],
         "objects", "1000 __slots__ instances (5 slots, one a list)"),
    Case("deepcopy_hook_1000", lambda: [Node("n%d" % i, [i, {"k": i}]) for i in range(1000)],
         "objects", "1000 objects with a hand-written __deepcopy__ (calls copy.deepcopy)"),
    Case("datetime_1000", datetimes, "value types", "1000 datetimes (naive and UTC)"),
    Case("decimal_1000", decimals, "value types", "1000 Decimals"),
    Case("uuid_1000", uuids, "value types", "1000 UUIDs"),
    Case("numpy_arrays_1000", numpy_small_arrays, "numpy",
         "1000 float64 arrays of 8 elements (copium: copium_numpy plugin)", requires="numpy"),
    Case("numpy_array_100k", numpy_big_array, "numpy",
         "one float64 array of 100k elements (800 KB); floor: ndarray.copy", floor="ndarray.copy",
         requires="numpy"),
    Case("snapshot_api_document_10k", api_document, "snapshots",
         "a snapshot of the 10k-node API document, called: snapshot(x)() against "
         "copium.deepcopy(x); floor: each container shallow-copied once (a Python loop)",
         floor="containers", kind="snapshot", requires="snapshot", in_geomean=False),
    Case("snapshot_dataclasses_1000", dataclass_items, "snapshots",
         "a snapshot of 1000 dataclass instances, called, against copium.deepcopy; floor: "
         "each instance and list shallow-copied once",
         floor="containers", kind="snapshot", requires="snapshot", in_geomean=False),
    Case("pinned_config_request", pinned_request, "snapshots",
         "a per-request state holding a ~1.5k-node default configuration: copium.deepcopy of "
         "it with the configuration pinned, against the same copy without the pin",
         kind="pinned", requires="snapshot", in_geomean=False),
    Case("batch_replicate_100", batch_structure, "batch",
         "%d copies of a ~1k-node document per call: copium.extra.replicate(x, %d) against "
         "[deepcopy(x) for _ in range(%d)]" % (BATCH_N, BATCH_N, BATCH_N),
         kind="batch", requires="replicate", in_geomean=False),
]

CASES_BY_NAME = {c.name: c for c in CASES}


# ---------------------------------------------------------------------------------------------
# Counting and sizing.

_NOT_DATA = (type, type(sys), type(len), type(lambda: 0), type((lambda: 0).__code__))


def count_nodes(obj):
    """Nodes of a structure: every container, dict key, instance and leaf value (an object
    reached twice counts twice, like the same value written twice in JSON; a cycle once)."""
    total = 0
    stack = [obj]
    on_path = set()
    while stack:
        o = stack.pop()
        total += 1
        if isinstance(o, dict):
            if id(o) in on_path:
                continue
            on_path.add(id(o))
            for k, v in o.items():
                stack.append(k)
                stack.append(v)
        elif isinstance(o, (list, tuple, set, frozenset)):
            if id(o) in on_path:
                continue
            on_path.add(id(o))
            stack.extend(o)
        elif hasattr(type(o), "__dict__") and not isinstance(o, _ATOM_TYPES + _VALUE_TYPES) \
                and not type(o).__module__ == "numpy":
            if id(o) in on_path:
                continue
            on_path.add(id(o))
            stack.extend(instance_state(o))
    return total


def graph_size(obj):
    """Bytes of the object graph reachable from obj: sys.getsizeof summed over every distinct
    object found through gc.get_referents (classes, modules, functions and code left out).
    Nothing in it touches an attribute, so no instance __dict__ is materialised by measuring."""
    seen = set()
    total = 0
    stack = [obj]
    while stack:
        o = stack.pop()
        if id(o) in seen or isinstance(o, _NOT_DATA):
            continue
        seen.add(id(o))
        total += sys.getsizeof(o)
        stack.extend(gc.get_referents(o))
    return total


# ---------------------------------------------------------------------------------------------
# Correctness: a copy against stdlib's, node by node.

_ATOM_TYPES = (type(None), int, float, complex, bool, str, bytes, type(Ellipsis),
               type(NotImplemented), range)
_VALUE_TYPES = (datetime.date, datetime.time, datetime.timedelta, datetime.tzinfo,
                decimal.Decimal, uuid.UUID)


def instance_state(o):
    """The attribute values of an instance: its __dict__'s, then its slots'."""
    values = []
    d = getattr(o, "__dict__", None)
    if isinstance(d, dict):
        values.extend(d.values())
    for name in slot_names(type(o)):
        try:
            values.append(object.__getattribute__(o, name))
        except AttributeError:
            pass
    return values


def slot_names(cls):
    names = []
    for klass in cls.__mro__:
        slots = klass.__dict__.get("__slots__", ())
        if isinstance(slots, str):
            slots = (slots,)
        names.extend(s for s in slots if s not in ("__dict__", "__weakref__"))
    return names


class Mismatch(AssertionError):
    pass


def _same_atom(a, b):
    if a == b:
        return True
    return isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b)


def check_same(orig, std, got, strict=True):
    """Raise Mismatch unless `got` is like `std` (stdlib's deep copy of `orig`) at every node:
    same type, equal values, and the same identity pattern: sub-objects shared with each other
    exactly where stdlib's copy shares them. strict: also returned as the original (or not)
    exactly where stdlib returns it (pickle and shallow floors are checked without this)."""
    seen_std = {}   # id(node of std) -> node of got
    seen_got = {}   # id(node of got) -> node of std
    stack = [(orig, std, got, "x")]
    while stack:
        o, s, g, path = stack.pop()
        if type(s) is not type(g):
            raise Mismatch("%s: type %s, stdlib gives %s" % (path, type(g).__name__,
                                                              type(s).__name__))
        t = type(s)
        if t in _ATOM_TYPES:
            if not _same_atom(s, g):
                raise Mismatch("%s: %r, stdlib gives %r" % (path, g, s))
            continue
        if strict and (s is o) != (g is o):
            raise Mismatch("%s: stdlib %s the original, this one %s" % (
                path, "returns" if s is o else "copies", "returns" if g is o else "copies"))
        if id(s) in seen_std:
            if seen_std[id(s)] is not g:
                raise Mismatch("%s: shared in stdlib's copy, not in this one" % path)
            continue
        if id(g) in seen_got:
            raise Mismatch("%s: shared in this copy, not in stdlib's" % path)
        seen_std[id(s)] = g
        seen_got[id(g)] = s
        if t is dict or isinstance(s, dict):
            if len(s) != len(g) or len(o) != len(s):
                raise Mismatch("%s: %d items, stdlib gives %d" % (path, len(g), len(s)))
            for (ok, ov), (sk, sv), (gk, gv) in zip(o.items(), s.items(), g.items()):
                stack.append((ok, sk, gk, "%s.key(%r)" % (path, sk)))
                stack.append((ov, sv, gv, "%s[%r]" % (path, sk)))
        elif isinstance(s, (list, tuple)):
            if len(s) != len(g) or len(o) != len(s):
                raise Mismatch("%s: length %d, stdlib gives %d" % (path, len(g), len(s)))
            for i in range(len(s)):
                stack.append((o[i], s[i], g[i], "%s[%d]" % (path, i)))
        elif isinstance(s, (set, frozenset)):
            if s != g:
                raise Mismatch("%s: set differs from stdlib's" % path)
        elif isinstance(s, _VALUE_TYPES):
            if s != g:
                raise Mismatch("%s: %r, stdlib gives %r" % (path, g, s))
        elif type(s).__module__ == "numpy" and type(s).__name__ == "ndarray":
            import numpy as np
            if s.dtype != g.dtype or s.shape != g.shape or not np.array_equal(s, g):
                raise Mismatch("%s: array differs from stdlib's" % path)
            if np.shares_memory(g, o):
                raise Mismatch("%s: the copy shares memory with the original" % path)
        else:
            sd, gd = getattr(s, "__dict__", None), getattr(g, "__dict__", None)
            if isinstance(sd, dict) or isinstance(gd, dict):
                stack.append((getattr(o, "__dict__", None), sd, gd, path + ".__dict__"))
            for name in slot_names(t):
                sv = getattr(s, name, Mismatch)
                gv = getattr(g, name, Mismatch)
                if (sv is Mismatch) != (gv is Mismatch):
                    raise Mismatch("%s.%s: set in one copy only" % (path, name))
                if sv is not Mismatch:
                    stack.append((getattr(o, name, None), sv, gv, "%s.%s" % (path, name)))
    return True


def check_batch(orig, n, std_list, got_list):
    """The batch case: n independent copies, each like stdlib's, none shared with another."""
    if type(got_list) is not list or len(got_list) != n:
        raise Mismatch("replicate returned %s of length %s, expected a list of %d" % (
            type(got_list).__name__, getattr(got_list, "__len__", lambda: "?")(), n))
    check_same([orig] * n, std_list, got_list)
