"""python -m copium: `explain` and `bench` on an object a module in a temporary folder builds
(each run a subprocess with that folder as its working directory), and their errors: one line
on stderr, a non-zero exit status, no traceback unless --traceback is given."""

import os
import re
import subprocess
import sys
import textwrap

import pytest

MODULE = textwrap.dedent("""
    import copy

    class Plain:
        def __init__(self, i):
            self.i = i
            self.tags = ["a", "b"]

    class Hooked:
        def __init__(self, data):
            self.data = data

        def __deepcopy__(self, memo):
            return Hooked(copy.deepcopy(self.data, memo))

    class Boom:
        def __deepcopy__(self, memo):
            raise ValueError("boom in a hook")

    def build(n=10):
        return {"plain": [Plain(i) for i in range(n)], "hooked": Hooked([1, [2]])}

    def failing():
        return [[1, 2], Plain(3), Boom()]

    def raises():
        raise KeyError("no such thing")
""")


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "cli_target.py").write_text(MODULE)
    (tmp_path / "broken_target.py").write_text("import this_module_does_not_exist_at_all\n")
    return tmp_path


def run(folder, *args):
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)  # the module is found through the working directory
    env.pop("COPIUM_PATCH_ENABLE", None)
    return subprocess.run([sys.executable, "-m", "copium", *args], cwd=str(folder), env=env,
                          capture_output=True, text=True, timeout=120)


def row_count(stdout, type_name, label):
    """The count column of the table row for type_name whose path starts with label."""
    found = re.findall(r"^.*\s([\d,]+)\s+%s\s+%s" % (re.escape(type_name), re.escape(label)),
                       stdout, re.M)
    assert len(found) == 1, (type_name, label, stdout)
    return int(found[0].replace(",", ""))


def one_line_error(proc, status, pattern):
    assert proc.returncode == status, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("python -m copium: error: "), lines[0]
    assert re.search(pattern, lines[0]), lines[0]
    assert "Traceback" not in proc.stderr


def test_explain_prints_the_report(folder):
    proc = run(folder, "explain", "cli_target:build(5)")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("copium.explain: ")
    assert "in slow paths: cli_target.Hooked" in lines[0]
    assert lines[1].split() == ["self", "%", "total", "count", "type", "path"]
    assert row_count(proc.stdout, "cli_target.Plain", "native object path") == 5
    assert row_count(proc.stdout, "cli_target.Hooked", "__deepcopy__ in Python") == 1
    # the 5 tag lists and the outer one (the hook's list is copied by stdlib, unpatched)
    assert row_count(proc.stdout, "list", "builtin handler 'list'") == 6
    assert "Why, and what would make it faster:" in lines


def test_explain_runs(folder):
    """--runs N: N recorded copies after one unrecorded (the hook counts its calls), one
    report printed."""
    (folder / "counting.py").write_text(textwrap.dedent("""
        import sys

        class Counts:
            def __deepcopy__(self, memo):
                sys.stderr.write("copied\\n")
                return Counts()
    """))
    proc = run(folder, "explain", "counting:[Counts()]", "--runs", "3")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("copied") == 4
    assert proc.stdout.count("copium.explain: ") == 1
    assert row_count(proc.stdout, "counting.Counts", "__deepcopy__ in Python") == 1


def test_explain_with_patch_records_the_hooks_copy(folder):
    proc = run(folder, "explain", "cli_target:build(2)", "--patch")
    assert proc.returncode == 0, proc.stderr
    # 1 outer + 2 tag lists + the hook's [1, [2]] and [2], copied by copium under the patch
    assert row_count(proc.stdout, "list", "builtin handler 'list'") == 5


def test_bench_prints_the_ratio(folder):
    proc = run(folder, "bench", "cli_target:build(3)", "--rounds", "3")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.splitlines()
    assert out[0].startswith("copium.deepcopy ") and "median of 3 interleaved rounds" in out[0]
    assert out[1].startswith("copy.deepcopy ")
    assert re.fullmatch(r"copium\.deepcopy is \d+\.\d\dx (faster|slower) than copy\.deepcopy",
                        out[-1]), out[-1]
    # the progress line, rewritten in place on stderr
    assert "round 3/3: copium.deepcopy " in proc.stderr


@pytest.mark.parametrize("target,status,pattern", [
    ("cli_target", 2, r"expected MODULE:EXPRESSION"),
    ("cli_target:", 2, r"expected MODULE:EXPRESSION"),
    ("not a module:build()", 2, r"is not a module name"),
    ("cli_target:build(", 2, r"is not a Python expression"),
    ("no_such_module_here:build()", 1, r"cannot import no_such_module_here: "
                                       r"ModuleNotFoundError"),
    ("broken_target:x", 1, r"cannot import broken_target: ModuleNotFoundError"),
    ("cli_target:raises()", 1, r"evaluating raises\(\) in cli_target raised KeyError"),
    ("cli_target:missing_name", 1, r"raised NameError"),
])
@pytest.mark.parametrize("command", ["explain", "bench"])
def test_errors_are_one_line(folder, command, target, status, pattern):
    one_line_error(run(folder, command, target), status, pattern)


def test_copy_that_raises(folder):
    proc = run(folder, "explain", "cli_target:failing()")
    one_line_error(proc, 1, r"the copy raised ValueError: boom in a hook")
    # the report up to the error is printed first
    assert proc.stdout.startswith("copium.explain: ")
    assert "the copy raised ValueError: boom in a hook (in list > cli_target.Boom)" in (
        proc.stdout.splitlines()[0])
    proc = run(folder, "bench", "cli_target:failing()", "--rounds", "1")
    one_line_error(proc, 1, r"copium\.deepcopy raised ValueError: boom in a hook")


def test_traceback_on_request(folder):
    proc = run(folder, "explain", "cli_target:raises()", "--traceback")
    assert proc.returncode == 1
    assert "Traceback (most recent call last)" in proc.stderr
    assert "KeyError: 'no such thing'" in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("python -m copium: error: ")


def test_usage(folder):
    proc = run(folder)
    assert proc.returncode == 2 and "usage: python -m copium" in proc.stderr
    proc = run(folder, "bench", "cli_target:build()", "--rounds", "0")
    one_line_error(proc, 2, r"--rounds must be at least 1")
    proc = run(folder, "explain", "cli_target:build()", "--runs", "0")
    one_line_error(proc, 2, r"--runs must be at least 1")
    proc = run(folder, "--help")
    assert proc.returncode == 0 and "explain" in proc.stdout and "bench" in proc.stdout
