"""Quick benchmark: copium.deepcopy against copy.deepcopy on a few realistic structures.

    python benchmarks/quick.py [--rounds 7] [--target 0.05] [--case NAME ...] [--list]

Before timing, each case is checked: copium's copy must equal stdlib's (== and the same type at
every node) and have the same identity pattern (the same sub-objects shared with each other and
with the original). The two implementations are then timed in alternation, `--rounds` times,
each timing a loop long enough to take about `--target` seconds (garbage collection on, as in
real programs); the table gives the median time of one copy and the ratio of the medians.
Standard library only. `make bench` runs it (the full benchmark harness has its own issue).
"""

import argparse
import copy
import dataclasses
import gc
import math
import platform
import random
import statistics
import sys
import time
import timeit

try:
    import copium
except ImportError as e:  # pragma: no cover - a clear message instead of a traceback
    sys.exit("copium is not importable (%s): run `make bench`, which builds and installs it" % e)


# ---------------------------------------------------------------------------------------------
# The structures.


def api_document(nodes=10_000, seed=1):
    """A JSON-like API response (nested dicts and lists of str/int/float/bool/None) of about
    `nodes` nodes, counting every container and every leaf value."""
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
        doc["data"].extend(user(i + k) for k in range(20))
        i += 20
    doc["meta"]["per_page"] = doc["meta"]["total"] = i
    return doc


def count_nodes(obj):
    if isinstance(obj, dict):
        return 1 + sum(count_nodes(v) for v in obj.values()) + len(obj)
    if isinstance(obj, (list, tuple)):
        return 1 + sum(count_nodes(v) for v in obj)
    if hasattr(obj, "__dict__") and not isinstance(obj, type):
        return count_nodes(vars(obj))
    return 1


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

    def __eq__(self, other):
        return type(self) is type(other) and self.__dict__ == other.__dict__

    __hash__ = None


@dataclasses.dataclass
class Item:
    id: int
    name: str
    price: float
    tags: list
    active: bool = True


def nested_list(depth=300):
    leaf = [1, "leaf", 2.5]
    for _ in range(depth):
        leaf = [leaf]
    return leaf


CASES = [
    ("api_document_10k", lambda: api_document()),
    ("list_1000_ints", lambda: list(range(1000))),
    ("dict_1000_str_int", lambda: {"key%04d" % i: i for i in range(1000)}),
    ("config_shared_defaults", shared_config),
    ("instances_1000", lambda: [Point(i, -i, "p%d" % i, [i, i + 1]) for i in range(1000)]),
    ("dataclasses_1000",
     lambda: [Item(i, "item%d" % i, i * 0.5, ["a", "b"], i % 2 == 0) for i in range(1000)]),
    ("small_dict_5", lambda: {"id": 7, "name": "x", "ok": True, "score": 1.5, "tags": ["a"]}),
    ("nested_list_300", nested_list),
]


# ---------------------------------------------------------------------------------------------
# Correctness: copium's result against stdlib's, node by node.


def check_same(orig, std, cop, path="x", seen=None):
    """Raise AssertionError unless `cop` is like `std` at every node: same type, equal atoms,
    and the same identity pattern (shared with each other and with `orig` exactly where stdlib's
    copy is)."""
    if seen is None:
        seen = {}
    if type(std) is not type(cop):
        raise AssertionError("%s: type %s, stdlib gives %s" % (path, type(cop), type(std)))
    if (std is orig) != (cop is orig):
        raise AssertionError("%s: stdlib %s the original, copium %s" % (
            path, "returns" if std is orig else "copies", "returns" if cop is orig else "copies"))
    if id(std) in seen:
        if seen[id(std)] is not cop:
            raise AssertionError("%s: shared in stdlib's copy, not in copium's" % path)
        return
    seen[id(std)] = cop
    if isinstance(std, dict):
        if list(std) != list(cop):
            raise AssertionError("%s: keys differ" % path)
        for k in std:
            check_same(orig[k], std[k], cop[k], "%s[%r]" % (path, k), seen)
    elif isinstance(std, (list, tuple)):
        if len(std) != len(cop):
            raise AssertionError("%s: length differs" % path)
        for i, (o, s, c) in enumerate(zip(orig, std, cop)):
            check_same(o, s, c, "%s[%d]" % (path, i), seen)
    elif hasattr(std, "__dict__") and not isinstance(std, type):
        check_same(orig.__dict__, std.__dict__, cop.__dict__, path + ".__dict__", seen)
    elif std != cop:
        raise AssertionError("%s: %r, stdlib gives %r" % (path, cop, std))


def verify(name, obj):
    std = copy.deepcopy(obj)
    cop = copium.deepcopy(obj)
    if not (type(cop) is type(std) and cop == std):
        raise AssertionError("%s: copium.deepcopy(x) != copy.deepcopy(x)" % name)
    check_same(obj, std, cop)


# ---------------------------------------------------------------------------------------------
# Timing.


def make_timer(fn, obj):
    # timeit turns the garbage collector off while timing; turn it back on: copies allocate
    # container objects, and the collector's work on them is part of what a user pays.
    return timeit.Timer("fn(obj)", setup="gc.enable()", globals={"fn": fn, "obj": obj, "gc": gc})


def calibrate(timer, target):
    """The smallest loop count (1, 2, 5, 10, 20, ...) whose run takes at least `target` s."""
    number = 1
    while True:
        for mult in (1, 2, 5):
            n = number * mult
            if timer.timeit(n) >= target:
                return n
        number *= 10


def bench_case(obj, rounds, target):
    timers = {"stdlib": make_timer(copy.deepcopy, obj), "copium": make_timer(copium.deepcopy, obj)}
    loops = {k: calibrate(t, target) for k, t in timers.items()}
    times = {"stdlib": [], "copium": []}
    for r in range(rounds):
        # Alternate which side runs first, so drift (frequency, other load) hits both alike.
        order = ("stdlib", "copium") if r % 2 == 0 else ("copium", "stdlib")
        for k in order:
            times[k].append(timers[k].timeit(loops[k]) / loops[k])
    return times


def fmt_time(seconds):
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)):
        if seconds >= scale or unit == "ns":
            return "%.3g %s" % (seconds / scale, unit)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7, help="timings per side and case (7)")
    ap.add_argument("--target", type=float, default=0.05,
                    help="seconds one timing should take at least (0.05)")
    ap.add_argument("--case", action="append", help="run only this case (repeatable)")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    args = ap.parse_args(argv)

    names = [n for n, _ in CASES]
    if args.list:
        print("\n".join(names))
        return 0
    selected = [(n, f) for n, f in CASES if not args.case or n in args.case]
    unknown = set(args.case or ()) - set(names)
    if unknown:
        ap.error("unknown case(s) %s; known: %s" % (", ".join(sorted(unknown)), ", ".join(names)))

    print("copium %s (%s)" % (getattr(copium, "__version__", "?"), copium.__file__))
    print("CPython %s on %s, %d rounds, >= %.3g s per timing; median time of one deepcopy"
          % (platform.python_version(), platform.machine(), args.rounds, args.target))
    print()
    header = "%-24s %8s %12s %12s %9s" % ("case", "nodes", "stdlib", "copium", "speedup")
    print(header)
    print("-" * len(header))
    failures = []
    speedups = []
    for name, factory in selected:
        obj = factory()
        try:
            verify(name, obj)
        except Exception as e:  # a wrong result or an exception from copium
            failures.append(name)
            print("%-24s WRONG RESULT: %s: %s" % (name, type(e).__name__, e))
            continue
        times = bench_case(obj, args.rounds, args.target)
        std = statistics.median(times["stdlib"])
        cop = statistics.median(times["copium"])
        speedups.append(std / cop)
        print("%-24s %8d %12s %12s %8.2fx" % (name, count_nodes(obj), fmt_time(std), fmt_time(cop),
                                              std / cop))
        sys.stdout.flush()
    print("-" * len(header))
    if speedups:
        geo = math.exp(sum(math.log(s) for s in speedups) / len(speedups))
        print("%-24s %8s %12s %12s %8.2fx" % ("geometric mean", "", "", "", geo))
    if failures:
        print("\ncopium's result differs from stdlib's in: %s" % ", ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
