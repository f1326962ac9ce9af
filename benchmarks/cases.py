"""The benchmark's cases, and the checks every copy passes before it is timed.

Imported by the worker processes (benchmarks/worker.py), one per implementation, so that both
the copium under test and the published peer (same import name, its own venv) copy exactly the
same objects. Standard library only (numpy only for the numpy cases). Nothing here imports
copium when imported (the subinterpreter tasks at the end import it when called, in the
interpreter that calls them): the classes below must be picklable and identical in every
process.
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


# ---------------------------------------------------------------------------------------------
# Workloads: what users run, measured as they run copium (copium.patch.enable(), so that
# copy.deepcopy itself is copium's) against the same code unpatched. Third-party packages
# (pydantic, Django, pyperformance) come from PyPI into the bench venvs (bench.py installs
# them); each workload is made here and timed by the worker. A workload's make() returns a
# dict: "timer": timer(loops) -> seconds spent in `loops` runs of the workload (pyperformance's
# own timers return their own figure); "check": optional () -> (original, copy function),
# whose copy is compared with stdlib's before anything is timed; "floor": optional
# timer(loops) -> seconds of the workload's unavoidable Python calls alone.

WORKLOAD_PACKAGES = {"pydantic": "pydantic==2.14.4", "django": "Django",
                     "pyperformance": "pyperformance==1.14.0"}


def _loop_timer(fn):
    import time

    def timer(loops):
        t0 = time.perf_counter()
        for _ in range(loops):
            fn()
        return time.perf_counter() - t0
    return timer


def _pyperformance_deepcopy():
    """pyperformance's bm_deepcopy module, as shipped in the installed package (its timers call
    copy.deepcopy, so that they run copium when it is patched)."""
    import importlib.util
    import os
    import pyperformance
    path = os.path.join(os.path.dirname(pyperformance.__file__), "data-files", "benchmarks",
                        "bm_deepcopy", "run_benchmark.py")
    spec = importlib.util.spec_from_file_location("copium_bench_bm_deepcopy", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def wl_pyperf_dict_dataclass():
    return {"timer": _pyperformance_deepcopy().benchmark}


def wl_pyperf_memo():
    return {"timer": _pyperformance_deepcopy().benchmark_memo}


def wl_pyperf_reduce():
    """The __reduce__ timer. Its floor: the three Python calls stdlib's route makes per object
    (the class's __reduce__, the class call, __setstate__ with a fresh state dict), each run
    from a C loop (map over itertools.repeat, drained by a zero-length deque)."""
    import collections
    import itertools
    import time
    bm = _pyperformance_deepcopy()

    class C(object):  # the class of bm.benchmark_reduce, which defines it inside the timer
        def __init__(self):
            self.a = 1
            self.b = 2

        def __reduce__(self):
            return (C, (), self.__dict__)

        def __setstate__(self, state):
            self.__dict__.update(state)

    def floor(loops):
        c = C()
        states = [dict(c.__dict__) for _ in range(loops)]
        ys = [C() for _ in range(loops)]
        drain = collections.deque
        t0 = time.perf_counter()
        drain(map(C.__reduce__, itertools.repeat(c, loops)), 0)
        t1 = time.perf_counter()
        drain(itertools.starmap(C, itertools.repeat((), loops)), 0)
        t2 = time.perf_counter()
        drain(map(C.__setstate__, ys, states), 0)
        t3 = time.perf_counter()
        return (t1 - t0) + (t2 - t1) + (t3 - t2)

    return {"timer": bm.benchmark_reduce, "floor": floor,
            "check": lambda: (C(), lambda x: copy.deepcopy(x))}


def _pydantic_models():
    import pydantic

    class Address(pydantic.BaseModel):
        street: str
        city: str
        zip: str
        tags: list[str] = []

    class Item(pydantic.BaseModel):
        sku: str
        quantity: int
        price: float
        address: Address
        attributes: dict[str, str] = {}

    class Order(pydantic.BaseModel):
        id: int
        customer: str
        items: list[Item]
        notes: list[str] = []
        meta: dict[str, int] = {}

    def order():
        return Order(id=1, customer="ada", notes=["gift"], meta={"v": 1}, items=[
            Item(sku="sku%02d" % i, quantity=i, price=1.5 * i,
                 address=Address(street="%d Main St" % i, city="Springfield", zip="%05d" % i,
                                 tags=["home", "day"]),
                 attributes={"color": "red", "size": "M"}) for i in range(10)])
    return order


def wl_pydantic_deepcopy():
    """A pydantic v2 order with 20 nested models (10 items, each with an address)."""
    x = _pydantic_models()()
    return {"timer": _loop_timer(lambda: copy.deepcopy(x)),
            "check": lambda: (x, lambda o: copy.deepcopy(o))}


def wl_pydantic_model_copy():
    """The same order, model_copy(deep=True)."""
    x = _pydantic_models()()
    return {"timer": _loop_timer(lambda: x.model_copy(deep=True)),
            "check": lambda: (x, lambda o: o.model_copy(deep=True))}


def wl_django_form():
    """A Django form of 20 fields instantiated: BaseForm.__init__ deep-copies base_fields."""
    import django
    from django.conf import settings
    if not settings.configured:
        settings.configure(USE_I18N=False, USE_TZ=True, SECRET_KEY="bench")
        django.setup()
    from django import forms

    choices = [("c%d" % i, "Choice %d" % i) for i in range(8)]
    attrs = {}
    for i in range(4):
        attrs["name%d" % i] = forms.CharField(max_length=100, required=False)
        attrs["email%d" % i] = forms.EmailField(required=False)
        attrs["count%d" % i] = forms.IntegerField(min_value=0, required=False)
        attrs["kind%d" % i] = forms.ChoiceField(choices=choices, required=False)
        attrs["when%d" % i] = forms.DateField(required=False)
    Form = type("BenchForm", (forms.Form,), attrs)
    return {"timer": _loop_timer(Form)}


def _agent_state():
    @dataclasses.dataclass
    class ToolCall:
        id: str
        name: str
        arguments: dict

    @dataclasses.dataclass
    class Message:
        role: str
        content: str
        tool_calls: list = dataclasses.field(default_factory=list)
        metadata: dict = dataclasses.field(default_factory=dict)

    messages = [Message("system", "You are a helpful assistant.")]
    for turn in range(12):
        messages.append(Message("user", "Question %d about the order history?" % turn,
                                metadata={"ts": 1700000000 + turn, "lang": "en"}))
        calls = [ToolCall("call_%d_%d" % (turn, k), ["search", "fetch", "compute"][k % 3],
                          {"query": "orders since %d" % turn, "limit": 10,
                           "filters": {"status": ["open", "shipped"], "min_total": 10.5}})
                 for k in range(2)]
        messages.append(Message("assistant", "", tool_calls=calls,
                                metadata={"model": "m-1", "tokens": {"in": 120, "out": 30}}))
        for call in calls:
            messages.append(Message("tool", '{"results": [1, 2, 3]}',
                                    metadata={"tool_call_id": call.id, "elapsed_ms": 12.5}))
        messages.append(Message("assistant", "Answer %d." % turn,
                                metadata={"citations": [{"doc": "d%d" % turn, "span": [0, 10]}]}))
    return {"thread_id": "t-1", "messages": messages,
            "scratchpad": {"plan": ["look up", "answer"], "step": 3},
            "config": {"temperature": 0.2, "tools": ["search", "fetch", "compute"]}}


def wl_agent_state():
    """An LLM agent's state: 61 messages (dataclasses) with nested tool calls, dict metadata."""
    x = _agent_state()
    return {"timer": _loop_timer(lambda: copy.deepcopy(x)),
            "check": lambda: (x, lambda o: copy.deepcopy(o))}


def wl_deepcopy_hook():
    """bench case deepcopy_hook_1000, patched: 1000 objects whose __deepcopy__ calls
    copy.deepcopy(part, memo)."""
    x = [Node("n%d" % i, [i, {"k": i}]) for i in range(1000)]
    return {"timer": _loop_timer(lambda: copy.deepcopy(x)),
            "check": lambda: (x, lambda o: copy.deepcopy(o))}


WORKLOADS = [
    Case("wl_pyperf_dict_dataclass", wl_pyperf_dict_dataclass, "workloads",
         "pyperformance deepcopy, its main timer (a small dict and a dataclass)",
         kind="workload", requires="pyperformance", in_geomean=False),
    Case("wl_pyperf_reduce", wl_pyperf_reduce, "workloads",
         "pyperformance deepcopy, its __reduce__ timer; floor: its 3 Python calls",
         kind="workload", requires="pyperformance", in_geomean=False),
    Case("wl_pyperf_memo", wl_pyperf_memo, "workloads",
         "pyperformance deepcopy, its memo timer (one list shared 103 times)",
         kind="workload", requires="pyperformance", in_geomean=False),
    Case("wl_pydantic_deepcopy", wl_pydantic_deepcopy, "workloads",
         "pydantic v2 order with 20 nested models, copy.deepcopy",
         kind="workload", requires="pydantic", in_geomean=False),
    Case("wl_pydantic_model_copy", wl_pydantic_model_copy, "workloads",
         "the same order, model_copy(deep=True)",
         kind="workload", requires="pydantic", in_geomean=False),
    Case("wl_django_form", wl_django_form, "workloads",
         "a 20-field Django form instantiated (deep-copies base_fields)",
         kind="workload", requires="django", in_geomean=False),
    Case("wl_agent_state", wl_agent_state, "workloads",
         "LLM agent state: 61 messages, nested tool calls (dataclasses, dicts, lists)",
         kind="workload", in_geomean=False),
    Case("wl_deepcopy_hook_1000", wl_deepcopy_hook, "workloads",
         "deepcopy_hook_1000 patched: __deepcopy__ calling copy.deepcopy(part, memo)",
         kind="workload", in_geomean=False),
]
CASES.extend(WORKLOADS)
CASES_BY_NAME = {c.name: c for c in CASES}


# ---------------------------------------------------------------------------------------------
# The subinterpreter tasks (bench.py's subinterpreters section, CPython 3.14+). bench.py hands
# them by name to concurrent.futures.InterpreterPoolExecutor and to Interpreter.call, so each
# runs in an isolated subinterpreter (its own GIL) that imports this module and copium itself;
# bench.py also calls sub_copy_seconds in the main interpreter, for the comparison. The
# document is built once per interpreter (a module global of that interpreter's copy of this
# module).

_SUB_DOC = None


def sub_document():
    global _SUB_DOC
    if _SUB_DOC is None:
        _SUB_DOC = api_document()
    return _SUB_DOC


def sub_init():
    """The pool's initializer: the document and copium, before any task is timed."""
    import copium  # noqa: F401
    sub_document()


def sub_check(_=None):
    """copium.deepcopy in this interpreter: a copy equal to the document, not the same
    object; returns the document's node count and the interpreter's id (the argument is
    ignored: for Executor.map)."""
    import copium
    from concurrent import interpreters
    doc = sub_document()
    got = copium.deepcopy(doc)
    if got is doc or got != doc or got["data"] is doc["data"]:
        raise AssertionError("copium.deepcopy's copy differs from the document")
    return count_nodes(doc), interpreters.get_current().id


def sub_copy_task(copies):
    """One task of the throughput measurement: `copies` deep copies of the document."""
    import copium
    doc = sub_document()
    deepcopy = copium.deepcopy
    n = 0
    for _ in range(copies):
        n += len(deepcopy(doc))
    return n


def sub_copy_seconds(loops):
    """The time of one copium.deepcopy of the document, over `loops` copies."""
    import time
    import copium
    doc = sub_document()
    deepcopy = copium.deepcopy
    t0 = time.perf_counter()
    for _ in range(loops):
        deepcopy(doc)
    return (time.perf_counter() - t0) / loops
