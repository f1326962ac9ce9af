"""Typing: every public module ships a stub and the package is marked typed (PEP 561); mypy's
stubtest finds the stubs consistent with the installed runtime; and a small program using the
public API type-checks with the types a user expects (and a wrong use is reported).

mypy comes from PyPI into each venv (the Makefile's VENV_PACKAGES); a missing mypy is an error,
not a skip."""

import importlib
import os
import subprocess
import sys
import textwrap

import pytest

import copium

PUBLIC_MODULES = [
    "copium", "copium.cli", "copium.config", "copium.extra", "copium.patch", "copium.report",
]


def _run_mypy_tool(args, cwd):
    try:
        import mypy  # noqa: F401
    except ImportError:  # pragma: no cover - a broken venv
        raise AssertionError(
            "mypy is not installed in %s: `make venv-3.X` installs it (VENV_PACKAGES)"
            % sys.prefix
        )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COPIUM_", "MYPY"))}
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_package_is_typed():
    package_dir = os.path.dirname(copium.__file__)
    assert os.path.isfile(os.path.join(package_dir, "py.typed"))
    for name in PUBLIC_MODULES:
        module = importlib.import_module(name)
        stub = os.path.splitext(module.__file__)[0] + ".pyi"
        assert os.path.isfile(stub), "no stub for %s next to %s" % (name, module.__file__)


def test_version():
    assert isinstance(copium.__version__, str)
    from importlib.metadata import version

    assert copium.__version__ == version("copium")


def test_stubtest(tmp_path):
    # copium and, through its stubs, every submodule (run where no mypy config is found)
    r = _run_mypy_tool(["mypy.stubtest", "copium"], cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Success" in r.stdout, r.stdout


SAMPLE = '''
import copy
from typing import Any

import copium
import copium.cli
import copium.config
import copium.extra
import copium.patch

x: dict[str, list[int]] = {"a": [1]}
reveal_type(copium.deepcopy(x))
reveal_type(copium.deepcopy(x, {}))
reveal_type(copium.copy(x))
reveal_type(copium.extra.replicate(x, 3))
reveal_type(copium.extra.repeatcall(lambda: 1.5, 3))
reveal_type(copium.patch.enable())
reveal_type(copium.patch.disable())
reveal_type(copium.patch.enabled())
settings = copium.config.get()
reveal_type(settings["memo"])
copium.config.apply(memo="dict", on_memo_rejected="warn")
copium.config.apply(**settings)
reveal_type(copium.__version__)
report = copium.explain(x)
reveal_type(report)
reveal_type(report.copy)
reveal_type(report.rows[0].count)
reveal_type(report.rows[0].handler)
reveal_type(copium.cli.main(["explain", "m:x"]))
'''

EXPECTED = [
    'Revealed type is "dict[str, list[int]]"',
    'Revealed type is "dict[str, list[int]]"',
    'Revealed type is "dict[str, list[int]]"',
    'Revealed type is "list[dict[str, list[int]]]"',
    'Revealed type is "list[float]"',
    'Revealed type is "bool"',
    'Revealed type is "bool"',
    'Revealed type is "bool"',
    "Revealed type is \"Literal['native'] | Literal['dict']\"",
    'Revealed type is "str"',
    'Revealed type is "copium.report.Report"',
    'Revealed type is "Any"',
    'Revealed type is "int"',
    'Revealed type is "str | None"',
    'Revealed type is "int"',
]


def _mypy(tmp_path, source):
    path = tmp_path / "sample.py"
    path.write_text(textwrap.dedent(source))
    r = _run_mypy_tool(
        [
            "mypy",
            "--no-incremental",
            "--cache-dir",
            os.devnull,
            "--strict",
            "--hide-error-context",
            "--no-error-summary",
            "--no-pretty",
            "--no-color-output",
            str(path),
        ],
        cwd=tmp_path,
    )
    return r, [line.split(": note: ", 1)[1] for line in r.stdout.splitlines() if ": note: " in line]


def test_public_api_types(tmp_path):
    r, notes = _mypy(tmp_path, SAMPLE)
    errors = [line for line in r.stdout.splitlines() if ": error: " in line]
    assert not errors, r.stdout + r.stderr
    # mypy spells types with or without their module, a union of literals either way
    notes = [
        n.replace("builtins" + ".", "").replace(
            "Literal['native', 'dict']", "Literal['native'] | Literal['dict']"
        )
        for n in notes
    ]
    assert notes == EXPECTED, r.stdout


@pytest.mark.parametrize(
    "line",
    [
        'copium.config.apply(memo="python")',
        'copium.config.apply(mem="dict")',
        "copium.extra.replicate([1], 2.5)",
        "copium.extra.repeatcall(5, 2)",
        "copium.patch.enable(True)",
    ],
)
def test_wrong_uses_are_reported(tmp_path, line):
    r, _ = _mypy(tmp_path, "import copium.config, copium.extra, copium.patch\n" + line + "\n")
    assert ": error: " in r.stdout, r.stdout + r.stderr
