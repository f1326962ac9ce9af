"""The command line, ``python -m copium``: explain or time the deep copy of an object that a
module of the program builds.

    python -m copium explain MODULE:EXPRESSION [--runs N] [--patch] [--traceback]
    python -m copium bench MODULE:EXPRESSION [--rounds N] [--patch] [--traceback]

MODULE is imported (the current directory is on the path) and EXPRESSION evaluated in its
namespace, e.g. ``python -m copium explain myapp.models:make_order()``. ``explain`` runs
copium.explain N times (--runs, default 5) and prints the report of median total time; the
runs follow a first copy, unrecorded (so that what only a process's first copy pays, per-type
caches and memory taken from the system, is left out), and a full collection. ``bench`` times copium.deepcopy against copy.deepcopy in interleaved rounds (the order
alternating from round to round), shows a progress line on stderr while it runs, and prints
the median time of a copy for each and their ratio.

``--patch`` enables copium.patch while copium copies (so that copy.deepcopy calls in hooks are
copium's too, and are recorded); the standard library's rounds of ``bench`` always run with
the patch off. A malformed MODULE:EXPRESSION, a module that fails to import, an expression
that raises and a copy that raises are reported in one line on stderr with a non-zero exit
status (2 for a usage error, 1 otherwise, 130 when interrupted); ``--traceback`` prints the
traceback too."""

import argparse
import contextlib
import copy as _stdlib_copy
import gc
import importlib
import os
import statistics
import sys
import time
import traceback
from typing import Any, Dict, Iterator, List, Optional, Sequence

import copium
from copium import patch

__all__ = ["main"]

PROG = "python -m copium"


class _Failure(Exception):
    """A failure to report in one line; cause is the exception behind it (for --traceback)."""

    def __init__(self, message: str, cause: Optional[BaseException] = None, status: int = 1):
        super().__init__(message)
        self.cause = cause
        self.status = status


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return type(exc).__name__ + (": " + text[0] if text else "")


def load(target: str) -> Any:
    """The object MODULE:EXPRESSION names: the module imported, the expression evaluated in its
    namespace. Raises _Failure with the message to print."""
    module_name, sep, expression = target.partition(":")
    if not sep or not module_name.strip() or not expression.strip():
        raise _Failure("expected MODULE:EXPRESSION (e.g. myapp.models:make_order()), got %r"
                       % target, status=2)
    module_name = module_name.strip()
    if not all(part.isidentifier() for part in module_name.split(".")):
        raise _Failure("%r is not a module name" % module_name, status=2)
    try:
        code = compile(expression.strip(), "<%s>" % target, "eval")
    except SyntaxError as exc:
        raise _Failure("%r is not a Python expression: %s" % (expression, exc.msg), exc, 2)
    # `python -m` puts the current directory first on the path; a `copium` run in another way
    # may not have it.
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except (Exception, SystemExit) as exc:
        raise _Failure("cannot import %s: %s" % (module_name, _one_line(exc)), exc)
    try:
        return eval(code, vars(module))
    except Exception as exc:
        raise _Failure("evaluating %s in %s raised %s" % (expression.strip(), module_name,
                                                          _one_line(exc)), exc)


@contextlib.contextmanager
def _patch_state(on: bool) -> Iterator[None]:
    """copium.patch enabled (on) or disabled for the block, as it was afterwards."""
    was = patch.enabled()
    if on:
        patch.enable()
    else:
        patch.disable()
    try:
        yield
    finally:
        if was:
            patch.enable()
        else:
            patch.disable()


def explain_command(target: str, use_patch: bool, runs: int = 5) -> int:
    obj = load(target)
    reports = []
    with _patch_state(use_patch or patch.enabled()):
        # One copy first, not recorded: what only a process's first copy pays (per-type
        # caches, memory the allocator takes from the system) is not in the report. A copy
        # that raises raises again in explain, which reports it. Then a full collection, so
        # that the collector's next pass over the whole program (the modules just imported)
        # does not land in one object's time.
        try:
            copium.deepcopy(obj)
        except Exception:
            pass
        gc.collect()
        # The run of median total time: a thread preempted on a busy machine puts its pause
        # in one object's time, in one run.
        for _ in range(runs):
            try:
                reports.append(copium.explain(obj))
            except Exception as exc:
                partial = getattr(exc, "copium_report", None)
                if partial is not None:
                    print(partial)
                    sys.stdout.flush()
                raise _Failure("the copy raised %s" % _one_line(exc), exc)
    reports.sort(key=lambda r: r.total_time)
    print(reports[len(reports) // 2])
    return 0


def _loops_for(fn: Any, obj: Any, seconds: float) -> int:
    """The number of calls of fn(obj) that take about `seconds` (1, 2, 5, 10, 20, 50, ...)."""
    loops = 1
    while True:
        for factor in (1, 2, 5):
            n = loops * factor
            start = time.perf_counter()
            for _ in range(n):
                fn(obj)
            if time.perf_counter() - start >= seconds:
                return n
        loops *= 10


def _time(fn: Any, obj: Any, loops: int) -> float:
    """Seconds per call of fn(obj), over `loops` calls, the collector off (as timeit does)."""
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(loops):
            fn(obj)
        return (time.perf_counter() - start) / loops
    finally:
        if enabled:
            gc.enable()


def _fmt(seconds: float) -> str:
    if seconds >= 1:
        return "%.3f s" % seconds
    if seconds >= 1e-3:
        return "%.3f ms" % (seconds * 1e3)
    if seconds >= 1e-6:
        return "%.2f us" % (seconds * 1e6)
    return "%.1f ns" % (seconds * 1e9)


def bench_command(target: str, rounds: int, use_patch: bool) -> int:
    obj = load(target)
    copium_patched = use_patch or patch.enabled()
    stdlib_deepcopy = _stdlib_copy.deepcopy  # the function object the patch changes in place
    for name, fn, patched in (("copium.deepcopy", copium.deepcopy, copium_patched),
                              ("copy.deepcopy", stdlib_deepcopy, False)):
        with _patch_state(patched):
            try:
                fn(obj)
            except Exception as exc:
                raise _Failure("%s raised %s" % (name, _one_line(exc)), exc)
    with _patch_state(False):
        loops = _loops_for(stdlib_deepcopy, obj, 0.05)
    times: Dict[str, List[float]] = {"copium": [], "stdlib": []}
    for i in range(rounds):
        order = ["copium", "stdlib"] if i % 2 == 0 else ["stdlib", "copium"]
        for which in order:
            if which == "copium":
                with _patch_state(copium_patched):
                    times["copium"].append(_time(copium.deepcopy, obj, loops))
            else:
                with _patch_state(False):
                    times["stdlib"].append(_time(stdlib_deepcopy, obj, loops))
        sys.stderr.write("\rround %d/%d: copium.deepcopy %s, copy.deepcopy %s per copy   " % (
            i + 1, rounds, _fmt(statistics.median(times["copium"])),
            _fmt(statistics.median(times["stdlib"]))))
        sys.stderr.flush()
    sys.stderr.write("\n")
    ours, theirs = statistics.median(times["copium"]), statistics.median(times["stdlib"])
    how = "median of %d interleaved rounds of %d copies" % (rounds, loops)
    print("copium.deepcopy  %10s per copy (%s%s; min %s, max %s)" % (
        _fmt(ours), how, ", copy.deepcopy patched" if copium_patched else "",
        _fmt(min(times["copium"])), _fmt(max(times["copium"]))))
    print("copy.deepcopy    %10s per copy (%s; min %s, max %s)" % (
        _fmt(theirs), how, _fmt(min(times["stdlib"])), _fmt(max(times["stdlib"]))))
    ratio = theirs / ours if ours > 0 else float("inf")
    print("copium.deepcopy is %.2fx %s than copy.deepcopy" % (
        ratio if ratio >= 1 else 1 / ratio, "faster" if ratio >= 1 else "slower"))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Explain or time copium's deep copy of an object a module builds.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    target_help = ("the object: MODULE is imported, EXPRESSION evaluated in its namespace "
                   "(e.g. myapp.models:make_order())")
    explain = commands.add_parser(
        "explain", help="print copium.explain's report: where the copy's time goes, and why")
    bench = commands.add_parser(
        "bench", help="time copium.deepcopy against copy.deepcopy, in interleaved rounds")
    for sub in (explain, bench):
        sub.add_argument("target", metavar="MODULE:EXPRESSION", help=target_help)
        sub.add_argument("--patch", action="store_true",
                         help="enable copium.patch while copium copies (copy.deepcopy calls in "
                              "hooks become copium's)")
        sub.add_argument("--traceback", action="store_true",
                         help="print the traceback of an error, not only its one-line message")
    explain.add_argument("--runs", type=int, default=5, metavar="N",
                         help="explain N copies, print the report of median total time "
                              "(default 5)")
    bench.add_argument("--rounds", type=int, default=15, metavar="N",
                       help="rounds of each (default 15)")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line with argv (sys.argv[1:] by default); returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "explain":
            if args.runs < 1:
                raise _Failure("--runs must be at least 1", status=2)
            return explain_command(args.target, args.patch, args.runs)
        if args.rounds < 1:
            raise _Failure("--rounds must be at least 1", status=2)
        return bench_command(args.target, args.rounds, args.patch)
    except _Failure as failure:
        if args.traceback and failure.cause is not None:
            traceback.print_exception(type(failure.cause), failure.cause,
                                      failure.cause.__traceback__)
        sys.stderr.write("%s: error: %s\n" % (PROG, failure))
        return failure.status
    except KeyboardInterrupt:
        sys.stderr.write("\n%s: interrupted\n" % PROG)
        return 130
