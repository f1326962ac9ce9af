"""Recursion: deep structures of every kind raise RecursionError or are copied as stdlib's are,
never crash (the deepest ones in a subprocess, with its own recursion limit), and copies go on
normally after a RecursionError inside a hook."""

import json
import os
import subprocess
import sys

import pytest

from compare import IMPL_NAME
from conftest import Plain, check_deep, current_deepcopy

HERE = os.path.dirname(os.path.abspath(__file__))


DEEP_SCRIPT = r"""
import copy, importlib, json, sys
sys.path.insert(0, HERE)
impl = importlib.import_module(IMPL)


class Node:
    pass


def build(kind, n):
    x = None
    for i in range(n):
        if kind == "list":
            x = [x]
        elif kind == "dict":
            x = {"k": x}
        elif kind == "tuple":
            x = (x,)
        elif kind == "object":
            o = Node()
            o.next = x
            x = o
        elif kind == "mixed":
            x = [{"k": (x,)}] if i % 2 else (Node(), x)
        elif kind == "frozenset":
            x = frozenset([x])
    return x


def outcome(fn, *args):
    try:
        fn(*args)
        return "ok"
    except Exception as exc:
        return type(exc).__name__


def check_small():
    x = [1, {"a": (2, [3])}, Node()]
    y = impl.deepcopy(x)
    assert y == x[:2] + [y[2]] and y[1]["a"][1] is not x[1]["a"][1], y
    z = impl.copy(x)
    assert z == x and z is not x
    deep = build("list", 100)
    assert impl.deepcopy(deep) == deep


results = {}
for kind, n_stdlib, n_impl in CASES:
    # stdlib's outcome at n_stdlib (3.13.0's copy.deepcopy takes seconds to fail on a million
    # levels), the implementation's at both depths
    for n in sorted({n_stdlib, n_impl}):
        print("case", kind, n, flush=True)
        x = build(kind, n)
        for fname in ("deepcopy", "copy"):
            print(" ", fname, flush=True)
            key = "%s %s" % (fname, kind)
            if n == n_stdlib:
                results.setdefault(key, {})["stdlib"] = outcome(getattr(copy, fname), x)
                results[key]["impl at stdlib depth"] = outcome(getattr(impl, fname), x)
            if n == n_impl:
                results.setdefault(key, {})["impl"] = outcome(getattr(impl, fname), x)
            check_small()
        del x
print("RESULTS", json.dumps(results), flush=True)
"""


def run_deep_script(cases, recursion_limit=None):
    code = "HERE = %r\nIMPL = %r\nCASES = %r\n" % (HERE, IMPL_NAME, cases)
    if recursion_limit:
        code += "sys_limit = %d\nimport sys\nsys.setrecursionlimit(sys_limit)\n" % recursion_limit
    code += DEEP_SCRIPT
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, "subprocess died (%d); stdout tail:\n%s\nstderr tail:\n%s" % (
        proc.returncode, proc.stdout[-2000:], proc.stderr[-3000:])
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULTS ")][-1]
    return json.loads(line[len("RESULTS "):])


def test_million_levels_of_nesting_raise_recursion_error():
    kinds = ["list", "dict", "tuple", "object", "mixed", "frozenset"]
    results = run_deep_script([(kind, 20000, 1000000) for kind in kinds])
    assert len(results) == 2 * len(kinds)
    for key, res in results.items():
        assert res["impl at stdlib depth"] == res["stdlib"], (key, res)
        assert res["impl"] == res["stdlib"], (key, res)
        assert res["stdlib"] == ("RecursionError" if key.startswith("deepcopy") else "ok"), key


def test_deep_nesting_within_a_raised_recursion_limit_copies():
    """Structures that stdlib copies under a raised recursion limit copy too."""
    results = run_deep_script([("list", 2000, 2000), ("dict", 2000, 2000),
                               ("object", 1000, 1000)], recursion_limit=30000)
    assert len(results) == 6
    for key, res in results.items():
        assert res["stdlib"] == "ok", (key, res)
        assert res["impl"] == res["stdlib"], (key, res)


@pytest.mark.parametrize("kind", ["list", "dict", "tuple", "object"])
def test_moderate_nesting_copies_like_stdlib(kind):
    x = None
    for _ in range(120):
        if kind == "list":
            x = [x]
        elif kind == "dict":
            x = {"k": x}
        elif kind == "tuple":
            x = (x, [])
        else:
            o = Plain()
            o.next = x
            x = o
    expected, got = check_deep(x)
    assert expected.error is None


def test_recursion_error_inside_hook_then_normal_copies():
    class Deep:
        def __init__(self, depth):
            self.depth = depth

        def __deepcopy__(self, memo):
            return current_deepcopy()(Deep(self.depth + 1), memo)

    check_deep([Deep(0)], expect_error=RecursionError)
    check_deep([[1], {"a": (2, [3])}])
