"""copium.patch: stdlib's copy.deepcopy and copy.copy running copium, in place.

What is checked: enable/disable/enabled and their return values (idempotent, thread-safe); the
function objects keep their identity, code, defaults and signature, so a `from copy import
deepcopy` made before is accelerated too, also in a hot loop the interpreter has specialised;
arguments are parsed with stdlib's messages; disable() restores stdlib exactly; the autopatch
.pth file (COPIUM_PATCH at start-up, subprocesses); and CPython's own test_copy.py run against
the real, patched `copy` module, with the native memo and with a dict memo configured.
"""

import copy
import importlib.util
import os
import subprocess
import sys
import sysconfig
import threading
import unittest

import pytest

import copium
import copium.config
import copium.patch

# What the stdlib functions were before any test ran (never patched at import: the test
# environment does not set COPIUM_PATCH).
ORIGINAL_DEEPCOPY = copy.deepcopy
ORIGINAL_COPY = copy.copy
ORIGINAL_DEEPCOPY_CODE = copy.deepcopy.__code__
ORIGINAL_COPY_CODE = copy.copy.__code__
ORIGINAL_DEEPCOPY_DEFAULTS = copy.deepcopy.__defaults__

from copy import copy as early_copy  # noqa: E402  (bound before any patching)
from copy import deepcopy as early_deepcopy  # noqa: E402


@pytest.fixture(autouse=True)
def unpatched():
    """Every test starts and ends with stdlib unpatched and the default configuration."""
    copium.patch.disable()
    saved = copium.config.get()
    copium.config.apply(memo="native", on_memo_rejected="raise")
    yield
    copium.patch.disable()
    copium.config.apply(**saved)
    assert copy.deepcopy is ORIGINAL_DEEPCOPY and copy.copy is ORIGINAL_COPY


class Marker:
    """A type only copium knows a handler for: its copy shows which engine ran."""


@pytest.fixture
def marker_handler():
    copium.register_handler(Marker, lambda obj, memo: "copium")
    yield
    copium.unregister_handler(Marker)


def engine_of(fn, *args):
    result = fn(Marker(), *args)
    return "copium" if result == "copium" else "stdlib"


# ---- enable / disable / enabled --------------------------------------------------------------


def test_enable_disable_return_whether_state_changed():
    assert copium.patch.enabled() is False
    assert copium.patch.enable() is True
    assert copium.patch.enabled() is True
    assert copium.patch.enable() is False
    assert copium.patch.enabled() is True
    assert copium.patch.disable() is True
    assert copium.patch.enabled() is False
    assert copium.patch.disable() is False
    assert copium.patch.enabled() is False


def test_identity_is_kept(marker_handler):
    copium.patch.enable()
    assert copy.deepcopy is ORIGINAL_DEEPCOPY
    assert copy.copy is ORIGINAL_COPY
    assert copy.deepcopy.__defaults__ is ORIGINAL_DEEPCOPY_DEFAULTS
    assert copy.deepcopy.__name__ == "deepcopy" and copy.deepcopy.__module__ == "copy"
    assert copy.deepcopy.__qualname__ == "deepcopy"
    import inspect

    assert str(inspect.signature(copy.deepcopy)) == str(inspect.signature(ORIGINAL_DEEPCOPY))


def test_patched_functions_run_copium(marker_handler):
    assert engine_of(copy.deepcopy) == "stdlib"
    copium.patch.enable()
    assert engine_of(copy.deepcopy) == "copium"
    assert engine_of(early_deepcopy) == "copium"
    assert engine_of(copy.deepcopy, {}) == "copium"
    assert engine_of(copy.deepcopy, None) == "copium"
    # reached through other routes to the same function object
    assert engine_of(lambda x: ORIGINAL_DEEPCOPY(x)) == "copium"
    import functools

    assert engine_of(functools.partial(copy.deepcopy)) == "copium"
    copium.patch.disable()
    assert engine_of(copy.deepcopy) == "stdlib"
    assert engine_of(early_deepcopy) == "stdlib"


def test_patched_in_a_hot_loop(marker_handler):
    """Calls from a loop the adaptive interpreter specialises (3.11+) still reach copium, and
    once disabled, stdlib again."""

    def hot(fn, n=3000):
        return {type(fn(Marker())).__name__ for _ in range(n)}

    assert hot(early_deepcopy) == {"Marker"}
    copium.patch.enable()
    assert hot(early_deepcopy) == {"str"}
    copium.patch.disable()
    assert hot(early_deepcopy) == {"Marker"}
    copium.patch.enable()
    assert hot(early_deepcopy) == {"str"}


def test_copy_copy_engine_is_copium():
    """copy.copy is patched too. The engines are told apart by the traceback of an error
    raised inside a copy: stdlib's copy() runs Python code of copy.py, copium's does not."""

    class Uncopyable:
        def __reduce_ex__(self, proto):
            raise RuntimeError("nope")

    def frames(fn):
        try:
            fn(Uncopyable())
        except RuntimeError as e:
            tb = e.__traceback__
            names = []
            while tb is not None:
                names.append(tb.tb_frame.f_code.co_filename)
                tb = tb.tb_next
            return names
        raise AssertionError("no error")

    assert any(f == copy.__file__ for f in frames(early_copy))
    copium.patch.enable()
    assert not any(f == copy.__file__ for f in frames(early_copy))
    assert not any(f == copy.__file__ for f in frames(early_deepcopy))
    copium.patch.disable()
    assert any(f == copy.__file__ for f in frames(early_deepcopy))


def test_disable_restores_exactly():
    copium.patch.enable()
    copium.patch.disable()
    assert copy.deepcopy.__code__ is ORIGINAL_DEEPCOPY_CODE
    assert copy.copy.__code__ is ORIGINAL_COPY_CODE
    assert copy.deepcopy.__defaults__ is ORIGINAL_DEEPCOPY_DEFAULTS
    x = [1, {"a": (2, [3])}]
    memo = {}
    y = copy.deepcopy(x, memo)
    assert y == x and y is not x and id(x) in memo and id(memo) in memo


BAD_DEEPCOPY_CALLS = [
    ((), {}),
    ((1, None, [], 4), {}),
    ((), {"y": 1}),
    ((1,), {"x": 2}),
    ((1,), {"memo": None, "bogus": 3}),
    ((), {"memo": {}}),
]
BAD_COPY_CALLS = [((), {}), ((1, 2), {}), ((), {"y": 1}), ((1,), {"x": 1})]


def _error(fn, args, kwargs):
    try:
        fn(*args, **kwargs)
    except TypeError as e:
        return str(e)
    return None


@pytest.mark.parametrize("args,kwargs", BAD_DEEPCOPY_CALLS)
def test_deepcopy_argument_errors_match_stdlib(args, kwargs):
    expected = _error(copy.deepcopy, args, kwargs)
    assert expected is not None
    copium.patch.enable()
    assert _error(copy.deepcopy, args, kwargs) == expected


@pytest.mark.parametrize("args,kwargs", BAD_COPY_CALLS)
def test_copy_argument_errors_match_stdlib(args, kwargs):
    expected = _error(copy.copy, args, kwargs)
    assert expected is not None
    copium.patch.enable()
    assert _error(copy.copy, args, kwargs) == expected


def test_patched_deepcopy_arguments(marker_handler):
    copium.patch.enable()
    x = [[1], {"k": [2]}]
    for call in (
        lambda: copy.deepcopy(x),
        lambda: copy.deepcopy(x, None),
        lambda: copy.deepcopy(x, memo=None),
        lambda: copy.deepcopy(x=x),
        lambda: copy.deepcopy(memo=None, x=x),
    ):
        y = call()
        assert y == x and y is not x and y[0] is not x[0]
    # stdlib's private third parameter is accepted, as the Python function accepts it
    params = list(ORIGINAL_DEEPCOPY_CODE.co_varnames[: ORIGINAL_DEEPCOPY_CODE.co_argcount])
    if len(params) == 3:
        assert copy.deepcopy(x, None, []) == x
        assert copy.deepcopy(x, **{params[2]: []}) == x
    # a caller's memo is filled as stdlib fills it
    memo = {}
    y = copy.deepcopy(x, memo)
    assert memo[id(x)] is y and memo[id(x[0])] is y[0]
    assert any(k is x[0] for k in memo[id(memo)])
    assert copy.deepcopy(Marker(), memo={}) == "copium"


def test_memo_same_as_stdlib():
    from compare import assert_same_copy, assert_same_memo

    shared = [1, 2]
    x = {"a": shared, "b": (shared, "s"), "c": [shared, {1, 2}]}
    m1 = {}
    expected = copy.deepcopy(x, m1)
    copium.patch.enable()
    m2 = {}
    got = copy.deepcopy(x, m2)
    walker = assert_same_copy(x, expected, got)
    assert_same_memo(walker, m1, m2)


def test_enable_refuses_a_replaced_function(monkeypatch):
    monkeypatch.setattr(copy, "deepcopy", copium.deepcopy)
    with pytest.raises(TypeError, match="copy.deepcopy is not a Python function"):
        copium.patch.enable()
    assert copium.patch.enabled() is False
    monkeypatch.setattr(copy, "deepcopy", ORIGINAL_DEEPCOPY)

    def copy_with_other_signature(x, y):
        return x

    monkeypatch.setattr(copy, "copy", copy_with_other_signature)
    with pytest.raises(TypeError, match="unexpected signature"):
        copium.patch.enable()
    assert copium.patch.enabled() is False


def test_disable_restores_the_functions_patched_even_if_rebound(monkeypatch, marker_handler):
    copium.patch.enable()
    monkeypatch.setattr(copy, "deepcopy", lambda x, memo=None: x)
    assert copium.patch.disable() is True
    assert engine_of(ORIGINAL_DEEPCOPY) == "stdlib"
    assert ORIGINAL_DEEPCOPY.__code__ is ORIGINAL_DEEPCOPY_CODE


def test_enable_disable_from_threads(marker_handler):
    results = {"enable": [], "disable": []}
    barrier = threading.Barrier(8)

    def work(kind):
        barrier.wait()
        results[kind].append(getattr(copium.patch, kind)())

    threads = [threading.Thread(target=work, args=("enable",)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results["enable"]) == [False] * 7 + [True]
    assert copium.patch.enabled() and engine_of(copy.deepcopy) == "copium"
    barrier.reset()
    threads = [threading.Thread(target=work, args=("disable",)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results["disable"]) == [False] * 7 + [True]
    assert not copium.patch.enabled() and engine_of(copy.deepcopy) == "stdlib"


def test_patched_deepcopy_from_threads():
    copium.patch.enable()
    x = {"a": [1, 2, {"b": (3, [4])}]}
    errors = []

    def work():
        try:
            for _ in range(500):
                y = copy.deepcopy(x)
                assert y == x and y["a"] is not x["a"]
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_patched_deepcopy_honours_the_configuration():
    """With memo="dict", the memo a __deepcopy__ receives from the patched copy.deepcopy holds
    what stdlib's holds at that point: the same keys and the same keep-alive list."""
    seen = []

    class Hook:
        def __deepcopy__(self, memo):
            keep = memo.get(id(memo), [])
            seen.append((type(memo), set(memo) - {id(memo)}, [id(o) for o in keep]))
            return Hook()

    x = [[1], {"a": [2]}, (3, [4]), Hook()]
    copy.deepcopy(x)
    copium.patch.enable()
    copium.config.apply(memo="dict")
    copy.deepcopy(x)
    assert seen[0] == seen[1]
    assert seen[1][0] is dict


# ---- autopatch at start-up (subprocesses) ----------------------------------------------------


def _site_packages_pth():
    for key in ("purelib", "platlib"):
        path = os.path.join(sysconfig.get_paths()[key], "copium-autopatch.pth")
        if os.path.exists(path):
            return path
    raise AssertionError(
        "copium-autopatch.pth is not installed in %s: the package was not installed with "
        "`pip install .` (make build)" % sysconfig.get_paths()["purelib"]
    )


def _run(code, **env_changes):
    env = {k: v for k, v in os.environ.items() if not k.startswith("COPIUM_")}
    env.update(env_changes)
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )


def test_pth_file_is_installed_and_one_guarded_line():
    path = _site_packages_pth()
    with open(path) as f:
        lines = [line for line in f.read().splitlines() if line.strip()]
    assert len(lines) == 1
    line = lines[0]
    assert line.startswith("import os;")
    # nothing but os.environ is read before the guard lets the import run
    guard, _, action = line.partition(" and ")
    assert "__import__" not in guard and "os.environ" in guard
    assert "__import__(\"copium.patch\")" in action


CHECK_CODE = (
    "import sys\n"
    "loaded = sorted(m for m in sys.modules if m == 'copium' or m.startswith('copium.'))\n"
    "print(loaded)\n"
    "import copy, copium.patch\n"
    "print(copium.patch.enabled())\n"
)


def test_autopatch_unset_imports_nothing():
    r = _run(CHECK_CODE)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["[]", "False"]
    assert r.stderr == ""


@pytest.mark.parametrize("value", ["0", ""])
def test_autopatch_off_values(value):
    r = _run(CHECK_CODE, COPIUM_PATCH=value)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["[]", "False"]


@pytest.mark.parametrize("value", ["1", "true", "YES", " on "])
def test_autopatch_enables_at_startup(value):
    code = (
        CHECK_CODE
        + "class M: pass\n"
        + "copium.register_handler(M, lambda o, m: 'copium')\n"
        + "from copy import deepcopy\n"
        + "print(deepcopy(M()))\n"
    )
    r = _run(code, COPIUM_PATCH=value)
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines()
    assert "'copium'" in out[0] and "'copium.patch'" in out[0]
    assert out[1:] == ["True", "copium"]
    assert r.stderr == ""


def test_autopatch_bad_value_warns_and_starts():
    r = _run(CHECK_CODE, COPIUM_PATCH="maybe")
    assert r.returncode == 0
    assert r.stdout.splitlines()[1] == "False"
    assert "COPIUM_PATCH='maybe'" in r.stderr and "use 1" in r.stderr


def test_autopatch_with_bad_configuration_reports_and_starts():
    r = _run("print('started')", COPIUM_PATCH="1", COPIUM_MEMO="bogus")
    assert r.returncode == 0
    assert r.stdout == "started\n"
    assert "COPIUM_MEMO='bogus'" in r.stderr and "'native', 'dict'" in r.stderr


def test_autopatch_with_configuration():
    r = _run(
        "import copium.config, copium.patch; print(copium.patch.enabled(), copium.config.get())",
        COPIUM_PATCH="1",
        COPIUM_MEMO="dict",
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == (
        "True {'memo': 'dict', 'on_incompatible': 'raise', 'suppress_warnings': ()}"
    )


def test_pth_line_does_nothing_when_unset():
    """The line site executes at every start-up: with no patch variable set it reads the
    environment and stops there (no import, no patch). Checked in a fresh interpreter, where
    copium is not imported yet. (How long the line takes is the benchmark's business: a timed
    assertion fails on a loaded machine or under a sanitizer.)"""
    with open(_site_packages_pth()) as f:
        line = f.read().strip()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COPIUM_PATCH")}
    # -S: the .pth itself is not run at start-up; os is what site would have imported, and
    # the folder copium is in goes on the path so that an import the line made would work.
    probe = (
        "import os, sys\n"
        "sys.path.append(%r)\n"
        "before = set(sys.modules)\n"
        "exec(compile(%r, 'copium-autopatch.pth', 'exec'), {})\n"
        "print(sorted(set(sys.modules) - before))\n" % (os.path.dirname(_site_packages_pth()), line)
    )
    out = subprocess.run([sys.executable, "-S", "-c", probe], env=env, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == "[]", out


# ---- CPython's test_copy.py against the real, patched copy module ----------------------------


def _load_cpython_test_copy(name):
    spec = importlib.util.find_spec("test.test_copy")
    if spec is None or spec.origin is None:
        raise RuntimeError(
            "CPython's test suite (test.test_copy) is missing from %s: it is needed to run "
            "CPython's copy tests against the patched copy module" % sys.executable
        )
    spec = importlib.util.spec_from_file_location(name, spec.origin)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    assert module.copy is copy, "test_copy.py no longer does `import copy`"
    return module


CPYTHON_TEST_COPY = _load_cpython_test_copy("_copium_patched_test_copy")
CPYTHON_CLASSES = {
    name: obj
    for name, obj in vars(CPYTHON_TEST_COPY).items()
    if isinstance(obj, type) and issubclass(obj, unittest.TestCase)
}


def _patched_variant(cls, memo):
    """cls with every test run while copy is patched and the memo kind is memo."""

    def setUp(self):
        saved = copium.config.get()
        copium.config.apply(memo=memo)
        self.addCleanup(copium.config.apply, **saved)
        was_enabled = copium.patch.enable()
        if was_enabled:
            self.addCleanup(copium.patch.disable)
        assert copium.patch.enabled()
        cls.setUp(self)

    return type("Patched%s_%s" % (memo.capitalize(), cls.__name__), (cls,), {"setUp": setUp})


for _memo in ("native", "dict"):
    for _name, _cls in CPYTHON_CLASSES.items():
        _variant = _patched_variant(_cls, _memo)
        globals()[_variant.__name__] = _variant
del _memo, _name, _cls, _variant


def test_cpython_suite_loaded():
    assert "TestCopy" in CPYTHON_CLASSES
    methods = unittest.TestLoader().getTestCaseNames(CPYTHON_CLASSES["TestCopy"])
    assert len(methods) >= 70
