"""One implementation's measurements, in a process of its own (run by benchmarks/bench.py).

    python worker.py --role copium    # this project's copium: stdlib, copium, pickle, floors
    python worker.py --role peer      # the published copium 0.1.0 (its own venv): stdlib, peer

The two copiums share an import name, so each is measured in its own process, always against
stdlib in the same process: what is compared across processes is speedups, never times.

Protocol: one JSON command per line on stdin, one JSON answer per line on stdout (anything
else the process prints goes to stderr). Commands: hello, case, history, peak, kept, quit.
"""

import argparse
import copy
import gc
import json
import os
import pickle
import platform
import statistics
import sys
import threading
import time
import timeit
import traceback
import tracemalloc

import cases as C

# stdlib's deepcopy recurses twice per level: nested_500 needs more than the default 1000.
sys.setrecursionlimit(max(sys.getrecursionlimit(), 20_000))
# Every measurement runs in a thread of its own; give it a main-thread-sized stack (3.10
# recurses on the C stack too).
threading.stack_size(64 << 20)

_PROTO = sys.stdout
sys.stdout = sys.stderr  # a stray print must not corrupt the protocol

ROLE = None
copium = None
FEATURES = {}


def send(obj):
    _PROTO.write(json.dumps(obj) + "\n")
    _PROTO.flush()


def in_thread(fn, *args):
    """Run fn(*args) in a fresh thread and return its result (or raise its exception): each
    measurement starts with fresh per-thread state, so what one case leaves behind in an
    implementation's per-thread state does not weigh on the next (the history measurement
    looks at exactly that, on purpose)."""
    box = {}

    def run():
        try:
            box["result"] = fn(*args)
        except BaseException as e:  # noqa: BLE001 - handed back to the caller
            box["error"] = e

    t = threading.Thread(target=run, name="bench")
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["result"]


# ---------------------------------------------------------------------------------------------
# Implementations.


def pickle_copy(x, _loads=pickle.loads, _dumps=pickle.dumps):
    return _loads(_dumps(x, 5))


FLOORS = {"abs": abs, "list.copy": list.copy, "dict.copy": dict.copy, "set.copy": set.copy}


def containers_of(obj):
    """Every container and instance of obj's graph once, root first (a snapshot case's
    floor makes a shallow copy of each)."""
    out, seen, stack = [], set(), [obj]
    while stack:
        o = stack.pop()
        if id(o) in seen:
            continue
        seen.add(id(o))
        if type(o) in (list, dict):
            out.append(o)
            stack.extend(reversed(list(o.values() if type(o) is dict else o)))
        elif hasattr(type(o), "__dict__") and hasattr(o, "__dict__") and not isinstance(o, type):
            out.append(o)
            stack.extend(vars(o).values())
    return out


def shallow_copies(obj):
    """The floors of a snapshot case, two functions that shallow-copy each container (and
    instance) of obj once and return the root's copy: the first drops each copy as soon as it
    is made, from a Python loop (the bench's floor); the second keeps all until the last is
    made, from C loops (map), the collector paused, as a build of the whole copy holds its
    parts and a quiet build pauses the collector."""
    conts = containers_of(obj)
    copies = [c.copy for c in conts[1:] if type(c) in (list, dict)]
    instances = [(type(c), c.__dict__) for c in conts[1:] if type(c) not in (list, dict)]
    new, root = object.__new__, conts[0].copy
    dicts = [c for c in conts[1:] if type(c) is dict]
    lists = [c for c in conts[1:] if type(c) is list]

    def floor(_):
        for f in copies:
            f()
        for cls, d in instances:
            new(cls).__dict__.update(d)
        return root()

    def floor_held(_):
        was = gc.isenabled()
        gc.disable()
        try:
            parts = [list(map(dict.copy, dicts)), list(map(list.copy, lists))]
            for cls, d in instances:
                y = new(cls)
                y.__dict__.update(d)
                parts.append(y)
            return root()
        finally:
            if was:
                gc.enable()
    return floor, floor_held


def snapshot_implementations(case, obj):
    """A snapshot case: the snapshot's call (this role's), copium.deepcopy ("copium_loop"),
    the floor. A pinned case: copium.deepcopy of the state with its configuration pinned
    (this role's) and of an equal state with nothing pinned ("copium_loop")."""
    extra = copium.extra
    impls = {"stdlib": (copy.deepcopy, "strict")}
    if case.kind == "snapshot":
        snap = extra.snapshot(obj)
        impls[ROLE] = (lambda _x, _s=snap: _s(), "strict")
        impls["copium_loop"] = (copium.deepcopy, "strict")
        floor, floor_held = shallow_copies(obj)
        impls["floor"] = (floor, "relaxed")
        impls["floor_held"] = (floor_held, "relaxed")
    else:
        plain = copy.deepcopy(obj)  # equal, its own configuration, never pinned
        extra.pin(obj["config"])
        impls[ROLE] = (copium.deepcopy, "strict")
        impls["copium_loop"] = (lambda _x, _p=plain: copium.deepcopy(_p), "relaxed")
    return impls


def plan_memory(obj):
    """tracemalloc: what a snapshot of obj keeps (its plan, after a first call) and what one
    copy of obj takes."""
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        snap = copium.extra.snapshot(obj)
        snap()
        gc.collect()
        plan = tracemalloc.get_traced_memory()[0] - base
        y = copium.deepcopy(obj)
        one = tracemalloc.get_traced_memory()[0] - base - plan
        del y, snap
    finally:
        tracemalloc.stop()
    return {"plan_bytes": plan, "copy_bytes": one}


def implementations(case, obj=None):
    """name -> (callable, how its result is checked: 'strict', 'relaxed' or 'batch')."""
    if case.kind in ("snapshot", "pinned"):
        return snapshot_implementations(case, obj)
    impls = {}
    if case.kind == "batch":
        n = C.BATCH_N
        deepcopy, cdeepcopy = copy.deepcopy, copium.deepcopy
        replicate = copium.extra.replicate
        impls["stdlib"] = (lambda x: [deepcopy(x) for _ in range(n)], "batch")
        impls[ROLE] = (lambda x: replicate(x, n), "batch")
        if ROLE == "copium":
            impls["copium_loop"] = (lambda x: [cdeepcopy(x) for _ in range(n)], "batch")
        return impls
    impls["stdlib"] = (copy.deepcopy, "strict")
    impls[ROLE] = (copium.deepcopy, "strict")
    if ROLE == "copium":
        impls["pickle"] = (pickle_copy, "relaxed")
        if case.floor == "ndarray.copy":
            import numpy
            impls["floor"] = (numpy.ndarray.copy, "relaxed")
        elif case.floor:
            impls["floor"] = (FLOORS[case.floor], "relaxed")
    return impls


def available(case):
    """None when this process can run the case, else why not."""
    if case.kind == "workload":
        if not FEATURES.get("patch"):
            return "copium.patch is missing"
        if case.requires and not FEATURES.get(case.requires):
            return "%s is not installed here" % case.requires
        return None
    if case.requires == "numpy":
        if not FEATURES.get("numpy"):
            return "numpy is not installed here"
        if ROLE == "copium" and not FEATURES.get("copium_numpy"):
            return "the numpy plugin copium_numpy is not importable"
    if case.requires == "replicate" and not FEATURES.get("replicate"):
        return "copium.extra.replicate does not exist"
    if case.requires == "snapshot" and not FEATURES.get("snapshot"):
        return "copium.extra.snapshot does not exist"
    return None


# ---------------------------------------------------------------------------------------------
# Timing.


def make_timer(fn, obj):
    # fn and obj become locals of timeit's inner function (no global lookups in the loop);
    # timeit turns the garbage collector off while timing: turn it back on, copies allocate
    # container objects and the collector's work on them is part of what a user pays.
    return timeit.Timer("fn(obj)", setup="fn = _fn; obj = _obj; _gc.enable()",
                        globals={"_fn": fn, "_obj": obj, "_gc": gc})


def calibrate(timer, target):
    """Loop count (1, 2, 5, 10, 20, 50, ...) at which one timing takes at least `target` s."""
    number = 1
    while True:
        for mult in (1, 2, 5):
            n = number * mult
            if timer.timeit(n) >= target:
                return n
        number *= 10


def time_interleaved(fns, obj, rounds, target):
    """Time every implementation `rounds` times, alternating within each round (the order
    rotates from round to round, so drift hits all alike). Returns name -> list of seconds per
    call, in round order (so round r of every implementation can be paired)."""
    timers = {k: make_timer(fn, obj) for k, fn in fns.items()}
    loops = {k: calibrate(t, target) for k, t in timers.items()}
    names = list(fns)
    times = {k: [] for k in names}
    for r in range(rounds):
        shift = r % len(names)
        for k in names[shift:] + names[:shift]:
            times[k].append(timers[k].timeit(loops[k]) / loops[k])
    return times, loops


def summarise(times, base="stdlib"):
    out = {}
    for k, ts in times.items():
        ratios = [b / t for b, t in zip(times[base], ts)]  # paired, round by round
        q = statistics.quantiles(ratios, n=4) if len(ratios) >= 2 else [ratios[0]] * 3
        out[k] = {"median_s": statistics.median(ts), "min_s": min(ts), "times_s": ts,
                  "speedup": statistics.median(ratios), "speedup_q1": q[0], "speedup_q3": q[2]}
    return out


# ---------------------------------------------------------------------------------------------
# Commands.


def cmd_hello(_msg):
    import importlib.metadata as md
    try:
        dist_version = md.version("copium")
    except md.PackageNotFoundError:
        dist_version = None
    cases = {c.name: available(c) for c in C.CASES}
    return {"role": ROLE, "python": platform.python_version(),
            "implementation": platform.python_implementation(),
            "executable": sys.executable, "copium_file": copium.__file__,
            "copium_version": getattr(copium, "__version__", None) or dist_version,
            "dist_version": dist_version, "features": FEATURES, "unavailable": cases,
            "pid": os.getpid()}


def patched(on):
    if on:
        copium.patch.enable()
    else:
        copium.patch.disable()


def calibrate_timer(timer, target):
    number = 1
    while True:
        for mult in (1, 2, 5):
            n = number * mult
            if timer(n) >= target:
                return n
        number *= 10


def cmd_workload(case, msg):
    """A workload timed as users run it: stdlib (copium's patch off) against this process's
    copium patched (copy.deepcopy is copium's), rounds interleaved, the patch switched before
    each timing; the floor, when the workload has one, timed in the same rounds."""
    w = case.make()
    result = {"nodes": None, "errors": {}, "sizes": {}}
    if "check" in w:
        def verify():
            orig, fn = w["check"]()
            patched(False)
            std = fn(orig)
            for _ in range(2):
                patched(True)
                try:
                    got = fn(orig)
                finally:
                    patched(False)
                C.check_same(orig, std, got)
        try:
            in_thread(verify)
        except C.Mismatch as e:
            result["errors"][ROLE] = "wrong result: %s" % e
            return result
    names = ["stdlib", ROLE] + (["floor"] if "floor" in w and ROLE == "copium" else [])
    timers = {"stdlib": w["timer"], ROLE: w["timer"], "floor": w.get("floor")}

    def run(name, loops):
        patched(name == ROLE)
        try:
            return timers[name](loops)
        finally:
            patched(False)

    def timed():
        loops = {k: calibrate_timer(lambda n, k=k: run(k, n), msg["target"]) for k in names}
        times = {k: [] for k in names}
        for r in range(msg["rounds"]):
            shift = r % len(names)
            for k in names[shift:] + names[:shift]:
                times[k].append(run(k, loops[k]) / loops[k])
        return times, loops

    gc.collect()
    t0 = time.perf_counter()
    times, loops = in_thread(timed)
    result["timing_s"] = time.perf_counter() - t0
    result["loops"] = loops
    result["results"] = summarise(times)
    if "floor" in times:
        result["vs_floor"] = statistics.median(
            [t / f for t, f in zip(times[ROLE], times["floor"])])
    return result


def cmd_case(msg):
    case = C.CASES_BY_NAME[msg["name"]]
    why = available(case)
    if why:
        return {"skipped": why}
    if case.kind == "workload":
        return cmd_workload(case, msg)
    obj = case.make()
    try:
        return case_result(case, obj, msg)
    finally:
        if case.kind == "pinned":
            copium.extra.clear_pins()


def case_result(case, obj, msg):
    impls = implementations(case, obj)
    result = {"nodes": C.count_nodes(obj), "errors": {}, "sizes": {}}
    if case.kind == "snapshot":
        result.update(plan_memory(obj))

    # 1. Sizes, on copies nothing else has touched (checking reads __dict__s).
    if case.kind == "deepcopy":
        for k in ("stdlib", ROLE):
            try:
                result["sizes"][k] = C.graph_size(impls[k][0](obj))
            except Exception as e:  # noqa: BLE001 - reported below by the check
                result["errors"][k] = "%s: %s" % (type(e).__name__, e)

    # 2. Every copy against stdlib's, before anything is timed.
    # Each implementation twice: the second call runs on whatever state the first left.
    def verify():
        std = impls["stdlib"][0](obj)
        for k, (fn, how) in impls.items():
            if k in result["errors"]:
                continue
            try:
                for _ in range(2):
                    got = fn(obj)
                    if how == "batch":
                        C.check_batch(obj, C.BATCH_N, std, got)
                    else:
                        C.check_same(obj, std, got, strict=(how == "strict"))
            except C.Mismatch as e:
                result["errors"][k] = "wrong result: %s" % e
            except Exception as e:  # noqa: BLE001 - reported, the case goes on without it
                result["errors"][k] = "%s: %s" % (type(e).__name__, e)
    in_thread(verify)
    if "stdlib" in result["errors"]:
        return result
    fns = {k: fn for k, (fn, _) in impls.items() if k not in result["errors"]}

    # 3. Timing, interleaved, in a fresh thread.
    del impls
    gc.collect()
    t0 = time.perf_counter()
    times, loops = in_thread(time_interleaved, fns, obj, msg["rounds"], msg["target"])
    result["timing_s"] = time.perf_counter() - t0
    result["loops"] = loops
    result["results"] = summarise(times)
    if case.floor and "floor" in times and ROLE in times:
        ratios = [t / f for t, f in zip(times[ROLE], times["floor"])]
        result["vs_floor"] = statistics.median(ratios)
    if "copium_loop" in times and ROLE in times:
        ratios = [l / t for l, t in zip(times["copium_loop"], times[ROLE])]
        result["replicate_vs_loop"] = statistics.median(ratios)
    return result


def cmd_history(msg):
    """A 5-key dict copied right after a copy of 100k containers, against the same copy in a
    fresh thread: the ratio of the per-call times (each the mean of a batch of calls, as many as
    take `target` s in a fresh thread)."""
    big = C.history_big()
    small = C.small_dict()
    fns = {"stdlib": copy.deepcopy, ROLE: copium.deepcopy}

    def batch(fn, after_big, calls):
        if after_big:
            fn(big)        # the big copy; its result is dropped at once
        else:
            fn(small)      # a first call, so that the thread's state exists
        t0 = time.perf_counter()
        for _ in range(calls):
            fn(small)
        return (time.perf_counter() - t0) / calls

    calls = {}
    for k, fn in fns.items():
        fn(big)            # warm up, and the small copy after a big one checked once
        C.check_same(small, copy.deepcopy(small), fn(small))
        n = 100
        while in_thread(batch, fn, False, n) * n < msg["target"]:
            n *= 2
        calls[k] = n
    ratios = {k: [] for k in fns}
    fresh = {k: [] for k in fns}
    after = {k: [] for k in fns}
    for r in range(msg["rounds"]):
        for k, fn in (fns.items() if r % 2 == 0 else reversed(list(fns.items()))):
            res = {}
            for after_big in ((False, True) if r % 2 == 0 else (True, False)):
                res[after_big] = in_thread(batch, fn, after_big, calls[k])
            fresh[k].append(res[False])
            after[k].append(res[True])
            ratios[k].append(res[True] / res[False])
    return {k: {"ratio": statistics.median(ratios[k]), "ratios": ratios[k], "calls": calls[k],
                "fresh_s": statistics.median(fresh[k]), "after_s": statistics.median(after[k])}
            for k in fns}


def cmd_peak(msg):
    """Peak traced memory (tracemalloc) above the starting point while deep-copying the 10k-node
    document, and the size of the copy itself. Two conditions, each copy in a thread of its
    own: "warm", the thread's second copy of the document (the steady state of a thread that
    copies: per-thread state made by its first copy is already there, and is measured on its
    own by the "kept" command), and "fresh", the first copy in a fresh thread (which pays for
    that state inside the measurement)."""
    doc = C.api_document()
    fns = {"stdlib": copy.deepcopy, ROLE: copium.deepcopy}
    for fn in fns.values():
        fn(doc)

    def one(fn, warm):
        if warm:
            fn(doc)
        gc.collect()
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        y = fn(doc)
        current, peak = tracemalloc.get_traced_memory()
        del y
        return peak - base, current - base

    peaks = {(k, w): [] for k in fns for w in (True, False)}
    kept = {k: [] for k in fns}
    tracemalloc.start()
    try:
        for r in range(msg["rounds"]):
            for k, fn in (fns.items() if r % 2 == 0 else reversed(list(fns.items()))):
                for warm in (True, False):
                    p, c = in_thread(one, fn, warm)
                    peaks[k, warm].append(p)
                    if warm:
                        kept[k].append(c)
    finally:
        tracemalloc.stop()
    out = {k: {"peak_bytes": statistics.median(peaks[k, True]),
               "fresh_peak_bytes": statistics.median(peaks[k, False]),
               "copy_bytes": statistics.median(kept[k])} for k in fns}
    out["ratio"] = out[ROLE]["peak_bytes"] / out["stdlib"]["peak_bytes"]
    out["ratio_fresh"] = out[ROLE]["fresh_peak_bytes"] / out["stdlib"]["fresh_peak_bytes"]
    return out


def cmd_kept(msg):
    """Memory an implementation keeps in a thread between calls: tracemalloc's current size
    after a big copy (result dropped, garbage collected) minus before it, in a fresh thread, for
    a few big graphs; the maximum is reported."""
    graphs = {"100k_dicts": C.history_big(), "api_document_10k": C.api_document(),
              "instances_1000": C.CASES_BY_NAME["instances_1000"].make(),
              "nested_500": C.nested(), "small_dict_5": C.small_dict()}
    fns = {"stdlib": copy.deepcopy, ROLE: copium.deepcopy}
    for fn in fns.values():     # process-wide one-time costs (caches, interned names) first
        for g in graphs.values():
            fn(g)

    def one(fn, g):
        gc.collect()
        base = tracemalloc.get_traced_memory()[0]
        y = fn(g)
        del y
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - base

    out = {k: {} for k in fns}
    tracemalloc.start()
    try:
        for name, g in graphs.items():
            for k, fn in fns.items():
                out[k][name] = min(in_thread(one, fn, g) for _ in range(msg["rounds"]))
    finally:
        tracemalloc.stop()
    for k in fns:
        out[k]["max"] = max(out[k].values())
    return out


COMMANDS = {"hello": cmd_hello, "case": cmd_case, "history": cmd_history, "peak": cmd_peak,
            "kept": cmd_kept}


def main():
    global ROLE, copium
    ap = argparse.ArgumentParser()
    ap.add_argument("--role", choices=("copium", "peer"), required=True)
    ROLE = ap.parse_args().role
    try:
        import copium as mod
    except ImportError as e:
        send({"fatal": "copium is not importable: %s" % e})
        return 1
    copium = mod
    FEATURES["replicate"] = callable(getattr(getattr(copium, "extra", None), "replicate", None))
    FEATURES["snapshot"] = callable(getattr(getattr(copium, "extra", None), "snapshot", None))
    try:
        import copium.patch
        FEATURES["patch"] = callable(getattr(copium.patch, "enable", None))
    except ImportError:
        FEATURES["patch"] = False
    import importlib.metadata as md
    for mod, dist in (("pydantic", "pydantic"), ("django", "Django"),
                      ("pyperformance", "pyperformance")):
        try:
            FEATURES[mod] = md.version(dist)
        except md.PackageNotFoundError:
            FEATURES[mod] = None
    try:
        import numpy  # noqa: F401
        FEATURES["numpy"] = numpy.__version__
    except ImportError:
        FEATURES["numpy"] = None
    FEATURES["copium_numpy"] = False
    if ROLE == "copium" and FEATURES["numpy"]:
        try:
            import copium_numpy  # noqa: F401 - registers the ndarray handler
            FEATURES["copium_numpy"] = True
        except ImportError:
            pass
    for line in sys.stdin:
        msg = json.loads(line)
        if msg["cmd"] == "quit":
            break
        try:
            send({"ok": COMMANDS[msg["cmd"]](msg)})
        except Exception as e:  # noqa: BLE001 - the harness reports it and goes on
            send({"error": "%s: %s" % (type(e).__name__, e), "traceback": traceback.format_exc()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
