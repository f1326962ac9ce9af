"""copium's benchmark: copium.deepcopy against copy.deepcopy, pickle, the shallow-copy floor and
the published copium 0.1.0, on a suite of cases a user recognises.

    python benchmarks/bench.py               # the full run (a few minutes)
    python benchmarks/bench.py --quick       # a smoke run (well under a minute)
    python benchmarks/bench.py --case int --case api_document_10k
    python benchmarks/bench.py --section subinterpreters   # CPython 3.14+ only
    python benchmarks/bench.py --list

Run it with the interpreter of a venv that has this project's copium installed (`make bench`
does). Each implementation is measured in a process of its own (benchmarks/worker.py) against
copy.deepcopy in that same process: this project's copium with pickle and the floors in one,
the published copium 0.1.0 (same import name) in another, from its own venv
.venv-peer-3.X at the top of the repository, which this script makes when it is missing
(--no-setup: use what is there; --no-peer: leave it out). The two processes take turns case by
case. What is compared across them is speedups over stdlib, never absolute times. On CPython
3.14+ the subinterpreters section runs in this process: copium in isolated subinterpreters
(concurrent.futures.InterpreterPoolExecutor, concurrent.interpreters), 1 worker against 2, and
one copy's time in a subinterpreter against the main interpreter's (skipped, with a note, before
3.14).

Writes benchmarks/results/<python>-<date>.json always, and for a full run on the reference
interpreter (CPython 3.11; --publish for another, --no-publish to skip) the tracked
benchmarks/latest.json and the chart benchmarks/speedups.png that the README shows.
Exits 1 when a copy of copium's differs from stdlib's, or the harness fails; the targets are
reported PASS/FAIL but do not change the exit status (a benchmark, not a test).
"""

import argparse
import datetime
import json
import math
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import cases as C  # noqa: E402

PEER_SPEC = "copium==0.1.0"
PEER_VERSION = "0.1.0"
REFERENCE_PYTHON = (3, 11)
PY = "%d.%d" % sys.version_info[:2]

# sub_*: the subinterpreters section. sub_rounds interleaved rounds of sub_tasks tasks (of
# sub_copies copies of the 10k-node document each) on a 1-worker and a 2-worker pool;
# sub_copy_rounds interleaved timings of sub_copy_loops copies in a subinterpreter and here.
FULL = {"rounds": 41, "target": 0.015, "history_rounds": 11, "history_target": 0.01,
        "peak_rounds": 3, "kept_rounds": 2, "sub_rounds": 9, "sub_tasks": 96, "sub_copies": 50,
        "sub_copy_rounds": 21, "sub_copy_loops": 200}
QUICK = {"rounds": 3, "target": 0.005, "history_rounds": 2, "history_target": 0.002,
         "peak_rounds": 1, "kept_rounds": 1, "sub_rounds": 3, "sub_tasks": 24, "sub_copies": 50,
         "sub_copy_rounds": 5, "sub_copy_loops": 50}
SUBINTERPRETERS = "subinterpreters"   # the section's name for --section

# A speedup whose middle half of rounds spans more than this fraction of it is marked "~".
NOISY = 0.15

TARGETS = {"geomean_vs_peer": 1.5, "floor_list": 1.5, "floor_dict": 2.0, "floor_int": 1.15,
           "objects": 12.0, "history": 1.2, "peak": 0.8, "kept": 256 * 1024, "replicate": 1.5,
           # the snapshot issue: a snapshot's call / a pinned copy against copium.deepcopy
           "snapshot_api_document_10k": 1.6, "snapshot_dataclasses_1000": 1.3,
           "pinned_config_request": 1.5,
           # isolated subinterpreters (3.14+): 2 workers' throughput / 1 worker's; one copy's
           # time in a subinterpreter / in the main interpreter
           "sub_scaling": 1.8, "sub_copy": 1.05}


# ---------------------------------------------------------------------------------------------
# Output helpers.


class Progress:
    """One line on stderr, rewritten in place on a terminal (a line per step otherwise)."""

    def __init__(self):
        self.tty = sys.stderr.isatty()
        self.start = time.monotonic()
        self.shown = False

    def show(self, text):
        elapsed = time.monotonic() - self.start
        line = "[%d:%02d] %s" % (elapsed // 60, elapsed % 60, text)
        if self.tty:
            width = 100
            sys.stderr.write("\r\033[K" + line[:width])
            self.shown = True
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def clear(self):
        if self.tty and self.shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
            self.shown = False

    def note(self, text):
        self.clear()
        print(text, flush=True)


def fmt_time(seconds):
    if seconds is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)):
        if seconds >= scale or unit == "ns":
            return "%.3g %s" % (seconds / scale, unit)


def fmt_x(value, digits=2):
    return "-" if value is None else "%.*fx" % (digits, value)


def fmt_bytes(n):
    if n is None:
        return "-"
    if abs(n) >= 1 << 20:
        return "%.1f MiB" % (n / (1 << 20))
    if abs(n) >= 1 << 10:
        return "%.1f KiB" % (n / (1 << 10))
    return "%d B" % n


def geomean(values):
    values = [v for v in values if v]
    if not values:
        return None
    return math.exp(sum(math.log(v) for v in values) / len(values))


# ---------------------------------------------------------------------------------------------
# Setup: matplotlib here, copium 0.1.0's venv.


def pip_install(python, *specs, quiet=True):
    cmd = [python, "-m", "pip", "install", "--disable-pip-version-check", "--no-input"]
    if quiet:
        cmd.append("-q")
    proc = subprocess.run(cmd + list(specs), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
    if proc.returncode != 0:
        return proc.stdout.strip().splitlines()[-1:] or ["pip exited %d" % proc.returncode]
    return None


def ensure_matplotlib(setup, progress):
    try:
        import matplotlib  # noqa: F401
        return None
    except ImportError:
        pass
    if not setup:
        return "matplotlib is not installed (and --no-setup)"
    progress.show("installing matplotlib into %s" % sys.prefix)
    err = pip_install(sys.executable, "matplotlib")
    if err:
        return "could not install matplotlib: %s" % " ".join(err)
    try:
        import matplotlib  # noqa: F401
        return None
    except ImportError as e:
        return "matplotlib still not importable: %s" % e


def base_interpreter():
    exe = os.path.join(sys.base_prefix, "bin", "python%s" % PY)
    if os.path.exists(exe):
        return exe
    return os.path.realpath(sys.executable)


def peer_python_ok(python):
    """None when `python` runs, is this Python version and has copium 0.1.0, else why not."""
    probe = ("import sys, importlib.metadata as m; "
             "print('%d.%d' % sys.version_info[:2]); print(m.version('copium'))")
    try:
        out = subprocess.run([python, "-c", probe], capture_output=True, text=True, timeout=60)
    except OSError as e:
        return "cannot run %s: %s" % (python, e)
    lines = out.stdout.split()
    if out.returncode != 0 or not lines:
        return "copium is not installed in it"
    if lines[0] != PY:
        return "it is CPython %s, not %s" % (lines[0], PY)
    if len(lines) < 2 or lines[1] != PEER_VERSION:
        return "its copium is %s, not %s" % (lines[1:] or "?", PEER_VERSION)
    return None


def ensure_peer(args, progress):
    """(python of copium 0.1.0's venv, None) or (None, why the run goes on without copium 0.1.0)."""
    if args.no_peer:
        return None, "--no-peer"
    if args.peer_python:
        why = peer_python_ok(args.peer_python)
        return (None, "--peer-python %s: %s" % (args.peer_python, why)) if why \
            else (args.peer_python, None)
    venv = os.path.join(ROOT, ".venv-peer-%s" % PY)
    python = os.path.join(venv, "bin", "python")
    why = peer_python_ok(python) if os.path.exists(python) else "no venv %s" % venv
    if why is None:
        return python, None
    if not args.setup:
        return None, "%s (and --no-setup)" % why
    if os.path.exists(python) and "not installed" not in why and "its copium" not in why:
        progress.show("recreating %s (%s)" % (venv, why))
        import shutil
        shutil.rmtree(venv)
    if not os.path.exists(python):
        progress.show("creating %s" % venv)
        proc = subprocess.run([base_interpreter(), "-m", "venv", venv], capture_output=True,
                              text=True)
        if proc.returncode != 0:
            return None, "could not create %s: %s" % (venv, proc.stderr.strip()[-300:])
    progress.show("installing %s into %s" % (PEER_SPEC, venv))
    err = pip_install(python, PEER_SPEC)
    if err:
        return None, "could not install %s: %s" % (PEER_SPEC, " ".join(err))
    why = peer_python_ok(python)
    return (None, why) if why else (python, None)


def ensure_workload_packages(python, setup, progress, who):
    """pydantic, Django and pyperformance (C.WORKLOAD_PACKAGES) into a bench venv, when
    missing. Returns notes on what could not be installed (those workloads are skipped)."""
    probe = ("import importlib.metadata as m\n"
             "for d in %r:\n"
             "    try: print(d, m.version(d))\n"
             "    except m.PackageNotFoundError: print(d, '-')\n") % (
                 [spec.split("==")[0] for spec in C.WORKLOAD_PACKAGES.values()],)
    out = subprocess.run([python, "-c", probe], capture_output=True, text=True)
    have = dict(line.split() for line in out.stdout.splitlines() if line.strip())
    missing = []
    for spec in C.WORKLOAD_PACKAGES.values():
        name, _, version = spec.partition("==")
        if have.get(name) in (None, "-") or (version and have.get(name) != version):
            missing.append(spec)
    if not missing:
        return []
    if not setup:
        return ["%s: %s not installed (and --no-setup)" % (who, ", ".join(missing))]
    progress.show("installing %s into %s's venv" % (", ".join(missing), who))
    notes = []
    for spec in missing:
        err = pip_install(python, "--only-binary=pydantic-core", spec)
        if err:
            notes.append("%s: could not install %s: %s" % (who, spec, " ".join(err)))
    return notes


def ensure_peer_numpy(peer_python, numpy_version, setup, progress):
    """The peer's process copies the numpy cases too when it has the same numpy as ours."""
    probe = subprocess.run([peer_python, "-c", "import numpy; print(numpy.__version__)"],
                           capture_output=True, text=True)
    have = probe.stdout.strip() if probe.returncode == 0 else None
    if have == numpy_version:
        return None
    if not setup:
        return "numpy %s is not in copium 0.1.0's venv (and --no-setup)" % numpy_version
    progress.show("installing numpy==%s into copium 0.1.0's venv" % numpy_version)
    err = pip_install(peer_python, "numpy==%s" % numpy_version)
    return "could not install numpy into copium 0.1.0's venv: %s" % " ".join(err) if err else None


# ---------------------------------------------------------------------------------------------
# Workers.


class WorkerDied(Exception):
    pass


class Worker:
    def __init__(self, role, python):
        self.role = role
        self.python = python
        self.proc = None
        self.hello = None
        self.deaths = []

    def start(self):
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)  # the venv's copium, nothing else
        self.proc = subprocess.Popen(
            [self.python, os.path.join(HERE, "worker.py"), "--role", self.role],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=HERE, env=env,
            bufsize=1)
        self.hello = self.request({"cmd": "hello"})
        return self.hello

    def request(self, msg):
        try:
            self.proc.stdin.write(json.dumps(msg) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        except (BrokenPipeError, OSError):
            line = ""
        if not line:
            code = self.proc.wait()
            raise WorkerDied("the %s process died (exit status %s) during %s" % (
                self.role, code, msg.get("name") or msg["cmd"]))
        answer = json.loads(line)
        if "fatal" in answer:
            raise WorkerDied(answer["fatal"])
        if "error" in answer:
            raise RuntimeError("%s (%s): %s" % (self.role, msg["cmd"], answer["error"]))
        return answer["ok"]

    def ask(self, msg):
        """request(), but a crash of the process is recorded and the process restarted."""
        try:
            return self.request(msg)
        except WorkerDied as e:
            self.deaths.append(str(e))
            self.start()
            return {"crashed": str(e)}

    def stop(self):
        if self.proc and self.proc.poll() is None:
            try:
                self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


# ---------------------------------------------------------------------------------------------
# The run.


def run(args, settings, progress):
    info = {"python": platform.python_version(), "python_short": PY,
            "implementation": platform.python_implementation(), "machine": platform.machine(),
            "platform": platform.platform(), "cpus": os.cpu_count(),
            "load_average_at_start": os.getloadavg()[0],
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "mode": "quick" if args.quick else "full", "settings": settings, "notes": []}

    wants_workloads = any(c.kind == "workload" for c in C.CASES
                          if (not args.case or c.name in args.case) and
                          (not args.section or c.group == args.section))
    if wants_workloads:
        info["notes"].extend(ensure_workload_packages(sys.executable, args.setup, progress,
                                                      "copium"))
    ours = Worker("copium", sys.executable)
    hello = ours.start()
    info["copium"] = {"version": hello["copium_version"], "file": hello["copium_file"],
                      "features": hello["features"]}
    workers = [ours]

    peer_python, why = ensure_peer(args, progress)
    peer = None
    if peer_python:
        if hello["features"].get("copium_numpy") and hello["features"].get("numpy"):
            note = ensure_peer_numpy(peer_python, hello["features"]["numpy"], args.setup,
                                     progress)
            if note:
                info["notes"].append("peer: %s; the numpy cases are copium-only" % note)
        if wants_workloads:
            info["notes"].extend(ensure_workload_packages(peer_python, args.setup, progress,
                                                          "copium " + PEER_VERSION))
        peer = Worker("peer", peer_python)
        try:
            ph = peer.start()
            if os.path.realpath(ph["copium_file"]) == os.path.realpath(hello["copium_file"]):
                raise WorkerDied("copium 0.1.0's venv imports this project's copium")
            info["peer"] = {"available": True, "version": ph["dist_version"],
                            "file": ph["copium_file"], "python": peer_python,
                            "features": ph["features"]}
            workers.append(peer)
        except (WorkerDied, RuntimeError) as e:
            why, peer = str(e), None
    if peer is None:
        info["peer"] = {"available": False, "reason": why}
        progress.note("note: the published %s is left out of this run: %s" % (PEER_SPEC, why))

    selected = [c for c in C.CASES if (not args.case or c.name in args.case) and
                (not args.section or c.group == args.section)]
    results = []
    steps = len(selected) * len(workers) + (0 if args.case or args.section else 3 * len(workers))
    step = 0
    for i, case in enumerate(selected):
        row = {"name": case.name, "group": case.group, "description": case.description,
               "floor": case.floor, "kind": case.kind, "in_geomean": case.in_geomean}
        skip = hello["unavailable"].get(case.name)
        if skip:
            row["skipped"] = skip
            info["notes"].append("%s skipped: %s" % (case.name, skip))
            step += len(workers)
            results.append(row)
            continue
        order = workers if i % 2 == 0 else workers[::-1]
        for w in order:
            step += 1
            progress.show("%2d/%d  %-24s %s (%d/%d)" % (i + 1, len(selected), case.name,
                                                        "copium 0.1.0" if w.role == "peer"
                                                        else "copium, stdlib, pickle, floor",
                                                        step, steps))
            try:
                row[w.role] = w.ask({"cmd": "case", "name": case.name,
                                     "rounds": settings["rounds"],
                                     "target": settings["target"]})
            except RuntimeError as e:
                row[w.role] = {"harness_error": str(e)}
        results.append(row)

    extra = {}
    if not args.case and not args.section:
        for cmd, label, msg in (
                ("history", "history independence",
                 {"rounds": settings["history_rounds"], "target": settings["history_target"]}),
                ("peak", "peak traced memory", {"rounds": settings["peak_rounds"]}),
                ("kept", "memory kept per thread", {"rounds": settings["kept_rounds"]})):
            for w in workers:
                step += 1
                progress.show("%s: %s (%d/%d)" % (label, "copium 0.1.0" if w.role == "peer"
                                                  else "copium", step, steps))
                msg = dict(msg, cmd=cmd)
                try:
                    extra.setdefault(cmd, {})[w.role] = w.ask(msg)
                except RuntimeError as e:
                    extra.setdefault(cmd, {})[w.role] = {"harness_error": str(e)}
    for w in workers:
        for d in w.deaths:
            info["notes"].append(d)
        w.stop()
    if (not args.case and not args.section) or args.section == SUBINTERPRETERS:
        sub = run_subinterpreters(settings, progress)
        extra["subinterpreters"] = sub
        if sub.get("skipped"):
            info["notes"].append("subinterpreters skipped: %s" % sub["skipped"])
        elif sub.get("error"):
            info["notes"].append("subinterpreters failed: %s" % sub["error"])
    progress.clear()
    return info, results, extra


def median(values):
    v = sorted(values)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def run_subinterpreters(settings, progress):
    """copium in isolated subinterpreters (CPython 3.14+; the tasks are in cases.py, importable
    by name in every interpreter). Throughput: the same tasks (sub_copies deep copies of the
    10k-node document each) on a 1-worker and a 2-worker InterpreterPoolExecutor, both warmed
    first (interpreters started, document built, copium imported), then sub_rounds rounds of
    sub_tasks tasks each, the two pools taking turns (the order alternating); tasks per second,
    medians. One copy: sub_copy_seconds(sub_copy_loops) through Interpreter.call in one
    subinterpreter and called here, in the main interpreter, taking turns; medians."""
    try:
        from concurrent import interpreters
        from concurrent.futures import InterpreterPoolExecutor
    except ImportError:
        return {"skipped": "needs CPython 3.14+ (concurrent.interpreters, "
                           "InterpreterPoolExecutor); this is %s" % PY}
    out = {"settings": {k[4:]: v for k, v in settings.items() if k.startswith("sub_")},
           "cpus": os.cpu_count()}
    rounds, tasks, copies = settings["sub_rounds"], settings["sub_tasks"], settings["sub_copies"]
    pools = {}
    interp = None
    try:
        progress.show("subinterpreters: starting the pools")
        for n in (1, 2):
            pools[n] = InterpreterPoolExecutor(max_workers=n, initializer=C.sub_init)
            ids = set()
            for nodes, iid in pools[n].map(C.sub_check, range(4 * n)):
                ids.add(iid)
                out["nodes"] = nodes
            for f in [pools[n].submit(C.sub_copy_task, copies) for _ in range(2 * n)]:
                f.result()
            out.setdefault("interpreters_seen", {})[str(n)] = len(ids)
        per_s = {1: [], 2: []}
        for r in range(rounds):
            for n in ((1, 2) if r % 2 == 0 else (2, 1)):
                progress.show("subinterpreters: %d worker%s, round %d/%d" % (
                    n, "s" if n > 1 else "", r + 1, rounds))
                t0 = time.perf_counter()
                fs = [pools[n].submit(C.sub_copy_task, copies) for _ in range(tasks)]
                for f in fs:
                    f.result()
                per_s[n].append(tasks / (time.perf_counter() - t0))
        for n, ex in pools.items():
            ex.shutdown()
        pools = {}
        m1, m2 = median(per_s[1]), median(per_s[2])
        ratios = [b / a for a, b in zip(per_s[1], per_s[2])]
        out["throughput"] = {
            "tasks_per_round": tasks, "copies_per_task": copies,
            "tasks_per_s": {"1": m1, "2": m2},
            "copies_per_s": {"1": m1 * copies, "2": m2 * copies},
            "rounds_tasks_per_s": {"1": per_s[1], "2": per_s[2]},
            "scaling": m2 / m1, "scaling_by_round": {"min": min(ratios), "max": max(ratios)}}

        progress.show("subinterpreters: one copy, subinterpreter against main")
        loops = settings["sub_copy_loops"]
        interp = interpreters.create()
        interp.call(C.sub_init)
        interp.call(C.sub_copy_seconds, loops)
        C.sub_init()
        C.sub_copy_seconds(loops)
        sub_s, main_s = [], []
        for r in range(settings["sub_copy_rounds"]):
            if r % 2 == 0:
                sub_s.append(interp.call(C.sub_copy_seconds, loops))
                main_s.append(C.sub_copy_seconds(loops))
            else:
                main_s.append(C.sub_copy_seconds(loops))
                sub_s.append(interp.call(C.sub_copy_seconds, loops))
        ms, mm = median(sub_s), median(main_s)
        out["copy"] = {"loops": loops, "sub_s": ms, "main_s": mm, "ratio": ms / mm,
                       "rounds_sub_s": sub_s, "rounds_main_s": main_s}
    except Exception as e:  # noqa: BLE001 - reported as the section's failure
        out["error"] = "%s: %s" % (type(e).__name__, " ".join(str(e).split())[:300])
    finally:
        for ex in pools.values():
            ex.shutdown(cancel_futures=True)
        if interp is not None:
            interp.close()
    return out


# ---------------------------------------------------------------------------------------------
# Reading the results.


def case_figures(row):
    """The figures of one case for the table (None where there is none)."""
    f = {"nodes": None, "std_s": None, "cop_s": None, "speedup": None, "peer": None,
         "vs_peer": None, "pickle": None, "floor_s": None, "vs_floor": None, "floor_held_s": None,
         "error": None, "peer_error": None, "size_ratio": None, "peer_size_ratio": None,
         "replicate_vs_loop": None, "plan_bytes": None, "copy_bytes": None}
    ours = row.get("copium") or {}
    if "crashed" in ours or "harness_error" in ours:
        f["error"] = ours.get("crashed") or ours.get("harness_error")
        return f
    f["nodes"] = ours.get("nodes")
    errs = ours.get("errors", {})
    if "stdlib" in errs:
        f["error"] = "stdlib: " + errs["stdlib"]
        return f
    if "copium" in errs:
        f["error"] = errs["copium"]
    res = ours.get("results", {})
    if "stdlib" in res:
        f["std_s"] = res["stdlib"]["median_s"]
    if "copium" in res:
        f["cop_s"] = res["copium"]["median_s"]
        f["speedup"] = res["copium"]["speedup"]
    if "pickle" in res:
        f["pickle"] = res["pickle"]["speedup"]
    if "floor" in res:
        f["floor_s"] = res["floor"]["median_s"]
        f["vs_floor"] = ours.get("vs_floor")
    if "floor_held" in res:
        f["floor_held_s"] = res["floor_held"]["median_s"]
    f["replicate_vs_loop"] = ours.get("replicate_vs_loop")
    f["plan_bytes"], f["copy_bytes"] = ours.get("plan_bytes"), ours.get("copy_bytes")
    sizes = ours.get("sizes", {})
    if sizes.get("stdlib") and sizes.get("copium"):
        f["size_ratio"] = sizes["copium"] / sizes["stdlib"]
    peer = row.get("peer")
    if peer:
        if "crashed" in peer or "harness_error" in peer:
            f["peer_error"] = peer.get("crashed") or peer.get("harness_error")
        elif "skipped" in peer:
            f["peer_error"] = "skipped: " + peer["skipped"]
        elif "peer" in peer.get("errors", {}):
            f["peer_error"] = peer["errors"]["peer"]
        elif "peer" in peer.get("results", {}):
            f["peer"] = peer["results"]["peer"]["speedup"]
        ps = peer.get("sizes", {})
        if ps.get("stdlib") and ps.get("peer"):
            f["peer_size_ratio"] = ps["peer"] / ps["stdlib"]
    if f["speedup"] and f["peer"]:
        f["vs_peer"] = f["speedup"] / f["peer"]
    f["noisy"] = []
    for role, res, key in (("copium", ours.get("results", {}), "copium"),
                           ("peer", (peer or {}).get("results", {}), "peer")):
        r = res.get(key)
        if r and r["speedup"] and (r["speedup_q3"] - r["speedup_q1"]) / r["speedup"] > NOISY:
            f["noisy"].append(role)
    return f


def print_table(info, results, figures):
    peer_on = info["peer"]["available"]
    cols = [("case", 24, "<"), ("nodes", 6, ">"), ("stdlib", 9, ">"), ("copium", 9, ">"),
            ("speedup", 8, ">"), ("peer", 8, ">"), ("vs peer", 8, ">"), ("pickle", 7, ">"),
            ("floor", 9, ">"), ("/floor", 7, ">")]

    def line(values):
        return " ".join("%*s" % (-w if a == "<" else w, v) for (_, w, a), v in zip(cols, values))

    header = line([c[0] for c in cols])
    print(header)
    print("-" * len(header))
    footnotes = []
    noisy = []
    for row in results:
        if row.get("skipped"):
            print(line([row["name"], "", "", "", "skipped", "", "", "", "", ""]))
            footnotes.append("%s: skipped: %s" % (row["name"], row["skipped"]))
            continue
        f = figures[row["name"]]
        if f["error"]:
            print(line([row["name"], f["nodes"] or "", fmt_time(f["std_s"]), "WRONG", "", "",
                        "", "", "", ""]))
            footnotes.append("%s: copium: %s" % (row["name"], f["error"]))
            continue
        peer_cell = fmt_x(f["peer"]) if f["peer"] else ("n/a" if not peer_on else "-")
        if f["peer_error"]:
            peer_cell = "wrong" if f["peer_error"].startswith("wrong") else \
                ("crash" if "died" in f["peer_error"] else "n/a")
            footnotes.append("%s: peer: %s" % (row["name"], f["peer_error"]))
        if f["noisy"]:
            noisy.append(row["name"])
        print(line([row["name"], f["nodes"], fmt_time(f["std_s"]), fmt_time(f["cop_s"]),
                    fmt_x(f["speedup"]) + ("~" if "copium" in f["noisy"] else ""),
                    peer_cell + ("~" if "peer" in f["noisy"] and f["peer"] else ""), fmt_x(f["vs_peer"]), fmt_x(f["pickle"]),
                    fmt_time(f["floor_s"]) if f["floor_s"] else "",
                    fmt_x(f["vs_floor"]) if f["vs_floor"] else ""]))
    print("-" * len(header))
    g = info["geomean"]
    print(line(["geometric mean (%d)" % g["cases"], "", "", "", fmt_x(g["copium"]),
                fmt_x(g["peer"]) if g["peer"] else "n/a", fmt_x(g["vs_peer"]),
                fmt_x(g["pickle"]), "", ""]))
    if g["cases_all"] != g["cases"]:
        print(line(["  all copium cases (%d)" % g["cases_all"], "", "", "",
                    fmt_x(g["copium_all"]), "", "", "", "", ""]))
    print()
    print("stdlib, copium: median time of one call (a batch case's call makes %d copies); "
          "speedup:" % C.BATCH_N)
    print("median over rounds of stdlib's time / copium's time in the same round; peer: the "
          "same for")
    print("copium %s, measured in its own process; vs peer: speedup / peer's speedup; pickle: "
          "speedup" % PEER_VERSION)
    print("of pickle.loads(pickle.dumps(x, 5)); floor: the shallow copy (list.copy, dict.copy, "
          "set.copy,")
    print("ndarray.copy; abs(1) for int); /floor: copium's time / the floor's.")
    if noisy:
        print("~: noisy, the middle half of the rounds' speedups spans more than %d%% of it "
              "(a busy machine?)" % (NOISY * 100))
    for n in footnotes:
        print("  * " + n)


def summarise_extra(info, extra):
    out = {}
    h = extra.get("history", {})
    out["history"] = {k: v[k]["ratio"] for k, v in h.items() if isinstance(v, dict) and k in v}
    p = extra.get("peak", {})
    out["peak"] = {k: v["ratio"] for k, v in p.items() if isinstance(v, dict) and "ratio" in v}
    out["peak_fresh"] = {k: v["ratio_fresh"] for k, v in p.items()
                         if isinstance(v, dict) and "ratio_fresh" in v}
    kept = extra.get("kept", {})
    out["kept"] = {}
    for role, v in kept.items():
        if isinstance(v, dict) and role in v:
            out["kept"][role] = {"max": v[role]["max"], "stdlib_max": v["stdlib"]["max"],
                                 "by_graph": {g: b for g, b in v[role].items() if g != "max"}}
    sub = extra.get("subinterpreters")
    if sub and "throughput" in sub:
        t = sub["throughput"]
        out["subinterpreters"] = {"tasks_per_s_1": t["tasks_per_s"]["1"],
                                  "tasks_per_s_2": t["tasks_per_s"]["2"],
                                  "scaling": t["scaling"]}
        if "copy" in sub:
            out["subinterpreters"].update(copy_sub_s=sub["copy"]["sub_s"],
                                          copy_main_s=sub["copy"]["main_s"],
                                          copy_ratio=sub["copy"]["ratio"])
    return out


def print_extra(info, extra, summary):
    h = extra.get("history", {})
    if h:
        print()
        print("History independence: a 5-key dict copied right after a copy of 100k containers, "
              "against")
        print("the same copy in a fresh thread (median per call, ratio of the two):")
        for role in ("copium", "peer"):
            v = h.get(role, {}).get(role) if isinstance(h.get(role), dict) else None
            s = h.get(role, {}).get("stdlib") if isinstance(h.get(role), dict) else None
            if v:
                print("  %-14s fresh %9s  after %9s  ratio %7s    (stdlib in the same process: "
                      "%s)" % ("copium" if role == "copium" else "copium " + PEER_VERSION,
                               fmt_time(v["fresh_s"]), fmt_time(v["after_s"]),
                               fmt_x(v["ratio"]), fmt_x(s["ratio"]) if s else "-"))
    p = extra.get("peak", {})
    if p:
        print()
        print("Memory, while deep-copying the 10k-node document (tracemalloc peak above the start;")
        print("a thread's second copy, and in brackets the first copy in a fresh thread, which also")
        print("pays for the per-thread state measured below):")
        for role in ("copium", "peer"):
            v = p.get(role)
            if isinstance(v, dict) and role in v:
                fresh = v[role].get("fresh_peak_bytes")
                print("  %-14s peak %10s  stdlib's %10s  ratio %6s  (fresh thread: %s)   "
                      "the copy itself: %s, stdlib's %s" % (
                          "copium" if role == "copium" else "copium " + PEER_VERSION,
                          fmt_bytes(v[role]["peak_bytes"]), fmt_bytes(v["stdlib"]["peak_bytes"]),
                          fmt_x(v["ratio"]),
                          fmt_x(v["ratio_fresh"]) if "ratio_fresh" in v else "-",
                          fmt_bytes(v[role]["copy_bytes"]),
                          fmt_bytes(v["stdlib"]["copy_bytes"])))
        v = p.get("peer")
        if isinstance(v, dict) and "peer" in v and \
                v["peer"]["peak_bytes"] <= v["peer"]["copy_bytes"] * 1.01:
            print("  (copium %s's peak is the size of its copy: its memo is not allocated "
                  "through Python's" % PEER_VERSION)
            print("  allocators, so tracemalloc does not see it)")
    k = summary.get("kept", {})
    if k:
        print()
        print("Memory kept by a thread between calls (tracemalloc, after a copy, result "
              "dropped):")
        for role in ("copium", "peer"):
            v = k.get(role)
            if v:
                worst = max(v["by_graph"], key=v["by_graph"].get)
                print("  %-14s max %10s  (after %s; stdlib: %s)" % (
                    "copium" if role == "copium" else "copium " + PEER_VERSION,
                    fmt_bytes(v["max"]), worst, fmt_bytes(max(v["stdlib_max"], 0))))
    sizes = [(r["name"], info["figures"][r["name"]]["size_ratio"],
              info["figures"][r["name"]]["peer_size_ratio"]) for r in info["rows"]]
    sizes = [s for s in sizes if s[1] is not None]
    if sizes:
        print()
        print("Size of the copies (sys.getsizeof over the copied graph) against stdlib's copies:")
        for role, idx in (("copium", 1), ("copium " + PEER_VERSION, 2)):
            vals = [(s[0], s[idx]) for s in sizes if s[idx] is not None]
            if not vals:
                continue
            larger = ["%s %.3fx" % (n, r) for n, r in vals if r > 1.0]
            smaller = sorted((r, n) for n, r in vals if r < 1.0)
            print("  %-14s equal in %d of %d cases, smaller in %d%s, larger in %d%s" % (
                role, len(vals) - len(larger) - len(smaller), len(vals), len(smaller),
                " (down to %.3fx, %s)" % smaller[0] if smaller else "", len(larger),
                ": " + ", ".join(larger) if larger else ""))


def print_subinterpreters(sub):
    if not sub or sub.get("skipped"):
        return
    print()
    print("Isolated subinterpreters (each its own GIL), the %s-node document:" % sub.get(
        "nodes", "?"))
    if sub.get("error"):
        print("  failed: %s" % sub["error"])
    t = sub.get("throughput")
    if t:
        print("  InterpreterPoolExecutor, %d tasks of %d copium.deepcopy each per round, %d "
              "rounds (medians):" % (t["tasks_per_round"], t["copies_per_task"],
                                      sub["settings"]["rounds"]))
        for n in ("1", "2"):
            print("    %s worker%s  %8.1f tasks/s  (%.0f copies/s)" % (
                n, "s" if n != "1" else " ", t["tasks_per_s"][n], t["copies_per_s"][n]))
        print("    2 workers / 1: %.2fx (rounds: %.2fx to %.2fx; %s cpus)" % (
            t["scaling"], t["scaling_by_round"]["min"], t["scaling_by_round"]["max"],
            sub["cpus"]))
    c = sub.get("copy")
    if c:
        print("  One copy (median of %d timings of %d copies): in a subinterpreter %s, in the "
              "main interpreter %s: %.3fx" % (len(c["rounds_sub_s"]), c["loops"],
                                               fmt_time(c["sub_s"]), fmt_time(c["main_s"]),
                                               c["ratio"]))


def evaluate_targets(info, figures, summary):
    """[(status, description, figure)] for every performance target."""
    t = []
    g = info["geomean"]
    common = [n for n, f in figures.items() if f["speedup"] and f["peer"]]
    peer_on = info["peer"]["available"]

    def add(ok, desc, figure):
        t.append({"status": "SKIP" if ok is None else ("PASS" if ok else "FAIL"),
                  "target": desc, "figure": figure})

    if peer_on and g["peer"]:
        add(g["vs_peer"] >= TARGETS["geomean_vs_peer"],
            "geometric-mean speedup >= %.1fx copium 0.1.0's" % TARGETS["geomean_vs_peer"],
            "copium %.2fx, copium 0.1.0 %.2fx: %.2fx its speedup (%d cases)" % (
                g["copium"], g["peer"], g["vs_peer"], g["cases"]))
        worst = min(common, key=lambda n: figures[n]["vs_peer"])
        add(figures[worst]["vs_peer"] >= 1.0, "no case slower than copium 0.1.0",
            "worst: %s at %.2fx copium 0.1.0's speedup" % (worst, figures[worst]["vs_peer"]))
    else:
        add(None, "geometric-mean speedup >= %.1fx copium 0.1.0's" % TARGETS["geomean_vs_peer"],
            "copium 0.1.0 not measured")
        add(None, "no case slower than copium 0.1.0", "copium 0.1.0 not measured")
    ours = [n for n, f in figures.items() if f["speedup"]]
    if ours:
        worst = min(ours, key=lambda n: figures[n]["speedup"])
        add(figures[worst]["speedup"] >= 1.0, "no case slower than stdlib",
            "worst: %s at %.2fx" % (worst, figures[worst]["speedup"]))
    for name, key, floor in (("list_1000_ints", "floor_list", "list.copy()"),
                             ("dict_1000_str_int", "floor_dict", "dict.copy()"),
                             ("int", "floor_int", "abs(1)")):
        f = figures.get(name)
        desc = "%s within %gx of %s" % (name, TARGETS[key], floor)
        if f and f["vs_floor"]:
            add(f["vs_floor"] <= TARGETS[key], desc, "%.2fx" % f["vs_floor"])
        else:
            add(None, desc, "not measured")
    objs = [(n, figures[n]["speedup"]) for n in ("instances_1000", "dataclasses_1000",
                                                 "slots_1000")
            if n in figures and figures[n]["speedup"]]
    desc = "instances, dataclasses, __slots__ >= %gx stdlib" % TARGETS["objects"]
    if objs:
        add(min(s for _, s in objs) >= TARGETS["objects"], desc,
            ", ".join("%s %.2fx" % (n.split("_")[0], s) for n, s in objs))
    else:
        add(None, desc, "not measured")
    h = summary.get("history", {}).get("copium")
    desc = "history independence <= %.1fx" % TARGETS["history"]
    if h:
        peer_h = summary["history"].get("peer")
        add(h <= TARGETS["history"], desc, "%.2fx%s" % (
            h, " (peer %.1fx)" % peer_h if peer_h else ""))
    else:
        add(None, desc, "not measured")
    sizes = [(n, f["size_ratio"]) for n, f in figures.items() if f["size_ratio"] is not None]
    desc = "copies no larger than stdlib's"
    if sizes:
        larger = ["%s %.3fx" % s for s in sizes if s[1] > 1.0]
        add(not larger, desc, "larger in: " + ", ".join(larger) if larger else
            "none larger in %d cases (%d equal, %d smaller)" % (
                len(sizes), sum(1 for s in sizes if s[1] == 1.0),
                sum(1 for s in sizes if s[1] < 1.0)))
    else:
        add(None, desc, "not measured")
    p = summary.get("peak", {}).get("copium")
    pf = summary.get("peak_fresh", {}).get("copium")
    desc = "peak traced memory, 10k-node document <= %.1fx stdlib's" % TARGETS["peak"]
    add(None if p is None else p <= TARGETS["peak"], desc,
        "not measured" if p is None else "%.2fx (first copy in a fresh thread: %s)" % (
            p, "%.2fx" % pf if pf else "-"))
    k = summary.get("kept", {}).get("copium")
    desc = "memory kept per thread <= %s" % fmt_bytes(TARGETS["kept"])
    add(None if k is None else k["max"] <= TARGETS["kept"], desc,
        "not measured" if k is None else fmt_bytes(k["max"]))
    r = figures.get("batch_replicate_100", {}).get("replicate_vs_loop")
    desc = "replicate(x, %d) >= %.1fx faster per copy than a deepcopy loop" % (
        C.BATCH_N, TARGETS["replicate"])
    add(None if r is None else r >= TARGETS["replicate"], desc,
        "%.2fx" % r if r else "copium.extra.replicate does not exist: skipped")
    for name, what in (("snapshot_api_document_10k", "a snapshot call, 10k-node document"),
                       ("snapshot_dataclasses_1000", "a snapshot call, 1000 dataclasses"),
                       ("pinned_config_request", "a request copy with its configuration pinned")):
        f = figures.get(name, {})
        r = f.get("replicate_vs_loop")
        desc = "%s >= %.1fx faster than copium.deepcopy" % (what, TARGETS[name])
        floor = ""
        if f.get("floor_s") and f.get("cop_s") and r:
            loop_s = f["cop_s"] * r  # copium.deepcopy's time
            held = ", all held until the last: %.2fx" % (f["floor_held_s"] / loop_s) \
                if f.get("floor_held_s") else ""
            floor = " (the floor, each container copied once: %.2fx copium.deepcopy's time%s; "\
                    "the snapshot %.2fx)" % (f["floor_s"] / loop_s, held, 1 / r)
        add(None if r is None else r >= TARGETS[name], desc,
            "%.2fx%s" % (r, floor) if r else "not measured")
    plans = [(n, f["plan_bytes"], f["copy_bytes"]) for n, f in figures.items()
             if f.get("plan_bytes") and f.get("copy_bytes")]
    desc = "a snapshot's plan no larger than one copy (tracemalloc)"
    add(all(p <= c for _, p, c in plans) if plans else None, desc,
        ", ".join("%s %s against %s" % (n, fmt_bytes(p), fmt_bytes(c)) for n, p, c in plans)
        if plans else "not measured")
    sub = info.get("subinterpreters") or {}
    s = summary.get("subinterpreters", {})
    why = sub.get("skipped") and "skipped: needs CPython 3.14+" or \
        sub.get("error") and "failed: " + sub["error"] or "not measured"
    fail = False if sub.get("error") else None
    desc = "subinterpreters: 2 workers >= %.1fx the throughput of 1" % TARGETS["sub_scaling"]
    if "scaling" in s:
        add(s["scaling"] >= TARGETS["sub_scaling"], desc,
            "%.2fx (%.1f against %.1f tasks/s)" % (s["scaling"], s["tasks_per_s_2"],
                                                  s["tasks_per_s_1"]))
    else:
        add(fail, desc, why)
    desc = "a copy in a subinterpreter within %d%% of the main interpreter's" % round(
        (TARGETS["sub_copy"] - 1) * 100)
    if "copy_ratio" in s:
        add(s["copy_ratio"] <= TARGETS["sub_copy"], desc, "%.3fx (%s against %s)" % (
            s["copy_ratio"], fmt_time(s["copy_sub_s"]), fmt_time(s["copy_main_s"])))
    else:
        add(fail, desc, why)
    return t


def compute_geomeans(figures, rows):
    in_g = {r["name"] for r in rows if r.get("in_geomean")}
    common = [n for n, f in figures.items() if n in in_g and f["speedup"] and f["peer"]]
    ours = [n for n, f in figures.items() if n in in_g and f["speedup"]]
    base = common if common else ours
    g = {"cases": len(base), "cases_all": len(ours), "case_names": base,
         "copium": geomean([figures[n]["speedup"] for n in base]),
         "peer": geomean([figures[n]["peer"] for n in common]) if common else None,
         "pickle": geomean([figures[n]["pickle"] for n in base if figures[n]["pickle"]]),
         "copium_all": geomean([figures[n]["speedup"] for n in ours])}
    g["vs_peer"] = g["copium"] / g["peer"] if g["peer"] else None
    return g


# ---------------------------------------------------------------------------------------------
# The chart.


def draw_chart(info, figures, rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r["name"] for r in rows if figures.get(r["name"]) and figures[r["name"]]["speedup"]]
    ours = [figures[n]["speedup"] for n in names]
    peer = [figures[n]["peer"] for n in names]
    has_peer = any(peer)
    n = len(names)
    fig, ax = plt.subplots(figsize=(9, 0.36 * n + 1.8), dpi=110)
    height = 0.4 if has_peer else 0.6
    ys = list(range(n))
    g = info["geomean"]

    def label(who, mean):
        # A run of some cases only (--section, --case) may have no geometric mean.
        return "%s (geometric mean %.1fx)" % (who, mean) if mean else who

    ax.barh([y - (height / 2 if has_peer else 0) for y in ys], ours, height=height,
            color="#1f77b4", label=label("copium, this repository", g["copium"]))
    if has_peer:
        ax.barh([y + height / 2 for y in ys], [p or 0 for p in peer], height=height,
                color="#ff7f0e", label=label("copium %s from PyPI" % PEER_VERSION, g["peer"]))
    for y, v in zip(ys, ours):
        ax.text(v * 1.04, y - (height / 2 if has_peer else 0), "%.1fx" % v, va="center",
                fontsize=7)
    if has_peer:
        for y, v in zip(ys, peer):
            if v:
                ax.text(v * 1.04, y + height / 2, "%.1fx" % v, va="center", fontsize=7,
                        color="#555555")
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xscale("log")
    from matplotlib.ticker import FuncFormatter, LogLocator
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: "%gx" % v))
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
    ax.set_yticks(ys)
    ax.set_yticklabels(names, fontsize=8)
    ax.invert_yaxis()
    lo = min([v for v in ours + peer if v] + [1.0])
    hi = max([v for v in ours + peer if v] + [1.0])
    ax.set_xlim(lo / 1.5, hi * 2.2)
    ax.set_xlabel("speedup over copy.deepcopy (log scale; 1 = stdlib)")
    ax.set_title("deepcopy speedup over the standard library, CPython %s, %s" % (
        info["python"], info["date"][:10]), fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(axis="x", which="both", linewidth=0.3, alpha=0.5)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


# ---------------------------------------------------------------------------------------------


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="a smoke run: few rounds, short timings (numbers are rough)")
    ap.add_argument("--rounds", type=int, help="timings per implementation and case "
                    "(full %d, quick %d)" % (FULL["rounds"], QUICK["rounds"]))
    ap.add_argument("--target", type=float, help="seconds one timing takes at least "
                    "(full %g, quick %g)" % (FULL["target"], QUICK["target"]))
    ap.add_argument("--case", action="append", help="only this case (repeatable); the "
                    "history and memory measurements are left out")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    ap.add_argument("--section", help="only the cases of this group (e.g. workloads), or "
                    "only the subinterpreters section (CPython 3.14+) with --section %s; the "
                    "history and memory measurements are left out" % SUBINTERPRETERS)
    ap.add_argument("--no-peer", action="store_true", help="leave copium 0.1.0 out")
    ap.add_argument("--peer-python", help="the interpreter of a venv with copium 0.1.0 "
                    "(default: .venv-peer-3.X at the top of the repository, made if missing)")
    ap.add_argument("--no-setup", dest="setup", action="store_false",
                    help="install nothing (no peer venv, matplotlib, numpy for the peer)")
    pub = ap.add_mutually_exclusive_group()
    pub.add_argument("--publish", action="store_true", default=None,
                     help="write benchmarks/latest.json and speedups.png whatever the run")
    pub.add_argument("--no-publish", dest="publish", action="store_false",
                     help="write only benchmarks/results/")
    args = ap.parse_args(argv)

    if args.list:
        for c in C.CASES:
            print("%-24s %s" % (c.name, c.description))
        return 0
    unknown = set(args.case or ()) - set(C.CASES_BY_NAME)
    if unknown:
        ap.error("unknown case(s) %s; known: %s" % (", ".join(sorted(unknown)),
                                                   ", ".join(C.CASES_BY_NAME)))
    settings = dict(QUICK if args.quick else FULL)
    if args.rounds:
        settings["rounds"] = args.rounds
    if args.target:
        settings["target"] = args.target
    if args.publish is None:
        args.publish = (not args.quick and not args.case and not args.section and not args.rounds
                        and not args.target and sys.version_info[:2] == REFERENCE_PYTHON)

    progress = Progress()
    chart_problem = ensure_matplotlib(args.setup, progress)
    t0 = time.monotonic()
    try:
        info, rows, extra = run(args, settings, progress)
    except (KeyboardInterrupt, WorkerDied) as e:
        progress.clear()
        print("benchmark stopped: %s" % (e or "interrupted"), file=sys.stderr)
        return 1
    info["seconds"] = round(time.monotonic() - t0, 1)

    figures = {r["name"]: case_figures(r) for r in rows if not r.get("skipped")}
    info["rows"] = [r for r in rows if not r.get("skipped")]
    info["figures"] = figures
    info["geomean"] = compute_geomeans(figures, rows)
    summary = summarise_extra(info, extra)
    info["subinterpreters"] = extra.get("subinterpreters")
    targets = evaluate_targets(info, figures, summary)

    peer = info["peer"]
    print("copium %s (%s)" % (info["copium"]["version"], info["copium"]["file"]))
    print("peer:  %s" % ("copium %s (%s), in its own process" % (peer["version"], peer["file"])
                         if peer["available"] else "not measured: %s" % peer["reason"]))
    print("CPython %s on %s, %d cpus, load average %.2f at the start" % (
        info["python"], info["machine"], info["cpus"] or 0, info["load_average_at_start"]))
    print("%s run: %d rounds, >= %g s per timing, implementations interleaved, %.0f s" % (
        info["mode"], settings["rounds"], settings["target"], info["seconds"]))
    if rows:   # none with --section subinterpreters
        print()
        print_table(info, rows, figures)
    print_extra(info, extra, summary)
    print_subinterpreters(extra.get("subinterpreters"))
    print()
    print("Performance targets (CPython 3.11 is the reference%s%s):" % (
        "" if sys.version_info[:2] == REFERENCE_PYTHON else ", this is %s" % PY,
        "; a quick run's figures are rough" if args.quick else ""))
    for t in targets:
        print("  %-4s  %-62s %s" % (t["status"], t["target"], t["figure"]))
    for n in info["notes"]:
        print("note: " + n)

    # Files.
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = os.path.join(HERE, "results", "%s-%s%s" % (info["python"], stamp,
                                                       "-quick" if args.quick else ""))
    doc = {"info": {k: v for k, v in info.items()
                    if k not in ("rows", "figures", "subinterpreters")},
           "cases": [dict(r, figures=figures.get(r["name"])) for r in rows],
           "history": extra.get("history"), "peak": extra.get("peak"),
           "kept": extra.get("kept"), "subinterpreters": extra.get("subinterpreters"),
           "summary": summary, "targets": targets}
    written = []
    with open(base + ".json", "w") as fh:
        json.dump(doc, fh, indent=1)
    written.append(base + ".json")
    if chart_problem is None:
        try:
            draw_chart(info, figures, rows, base + ".png")
            written.append(base + ".png")
        except Exception as e:  # noqa: BLE001 - the chart is not worth failing the run
            chart_problem = "%s: %s" % (type(e).__name__, e)
    if args.publish:
        latest = os.path.join(HERE, "latest.json")
        with open(latest, "w") as fh:
            json.dump(doc, fh, indent=1)
        written.append(latest)
        if chart_problem is None:
            import shutil
            shutil.copyfile(base + ".png", os.path.join(HERE, "speedups.png"))
            written.append(os.path.join(HERE, "speedups.png"))
    print()
    if chart_problem:
        print("no chart: %s" % chart_problem)
    print("wrote %s" % ", ".join(os.path.relpath(p) for p in written))

    wrong = [n for n, f in figures.items() if f["error"]]
    if wrong:
        print("copium's result differs from stdlib's (or it failed) in: %s" % ", ".join(wrong))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
