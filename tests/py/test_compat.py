"""Upgrading from copium 0.1.0 breaks nothing: every public name, option and environment
variable of copium 0.1.0 (from its stubs, README and measured behaviour) works here.

What is checked: copium.configure / get_config / memo and the package's __all__; the version
(above 0.1.0, written once in meson.build); the options memo, on_incompatible (and its other
name on_memo_rejected), suppress_warnings, with 0.1.0's rules for None and for a call with no
option; the environment variables of both families read at import, and the autopatch ones at
start-up (subprocesses); copium.extra's positional-only signatures; the autopatch extra."""

import copy
import inspect
import os
import re
import subprocess
import sys
import warnings
from importlib.metadata import metadata, version

import pytest

import copium
import copium.config
import copium.extra
import copium.patch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULTS = {"memo": "native", "on_incompatible": "raise", "suppress_warnings": ()}


@pytest.fixture(autouse=True)
def restore_config():
    saved = copium.config.get()
    copium.configure()
    yield
    copium.config.apply(**saved)


# ---- names -------------------------------------------------------------------------------------


def test_configure_and_get_config_are_the_config_functions():
    assert copium.configure is copium.config.apply
    assert copium.get_config is copium.config.get


def test_star_import_has_0_1_0_names():
    namespace = {}
    exec("from copium import *", namespace)
    for name in ("copy", "deepcopy", "Error", "patch", "config"):  # copium 0.1.0's __all__
        assert namespace[name] is getattr(copium, name), name
    assert namespace["Error"] is copy.Error
    if sys.version_info >= (3, 13):
        assert namespace["replace"] is copium.replace


def test_memo_is_the_type_hooks_receive():
    """copium.memo was copium 0.1.0's own memo type; here hooks get a real dict, and
    copium.memo says so: isinstance(memo, copium.memo) holds in every hook."""
    assert copium.memo is dict
    seen = []

    class Hook:
        def __deepcopy__(self, memo):
            seen.append((type(memo) is copium.memo, isinstance(memo, copium.memo)))
            return Hook()

    for kind in ("native", "dict"):
        copium.configure(memo=kind)
        copium.deepcopy([Hook(), {"k": Hook()}])
    copium.deepcopy(Hook(), {})
    assert seen == [(True, True)] * 5


def _meson_version():
    with open(os.path.join(ROOT, "meson.build")) as f:
        match = re.search(r"project\('copium',\s*'c',\s*version:\s*'([^']+)'", f.read())
    assert match, "no version in meson.build's project()"
    return match.group(1)


def test_version_is_above_0_1_0_and_written_once():
    assert copium.__version__ == version("copium")
    assert tuple(int(p) for p in copium.__version__.split(".")[:3]) > (0, 1, 0)
    assert copium.__version__ == _meson_version()
    # the other places derive it: no literal version in pyproject.toml or the package
    with open(os.path.join(ROOT, "pyproject.toml")) as f:
        pyproject = f.read()
    assert re.search(r'^dynamic = \["version"\]$', pyproject, re.M)
    assert not re.search(r"^version\s*=", pyproject, re.M)
    with open(os.path.join(ROOT, "python", "copium", "__init__.py")) as f:
        assert not re.search(r"__version__\s*=", f.read())


def test_about_module():
    """copium.__about__, where copium 0.1.0 kept its version."""
    import copium.__about__ as about

    assert about.__version__ == copium.__version__
    t = about.__version_tuple__
    assert isinstance(t, about.VersionInfo) and t._fields == ("major", "minor", "patch", "pre", "dev", "local")
    assert "%d.%d.%d" % t[:3] == copium.__version__ and t[:3] > (0, 1, 0)
    assert about.__commit_id__ is None


def test_autopatch_extra_exists_and_needs_nothing():
    md = metadata("copium")
    assert "autopatch" in md.get_all("Provides-Extra")
    requires = md.get_all("Requires-Dist") or []
    assert not [r for r in requires if "autopatch" in r], requires


# ---- copium.extra: copium 0.1.0's signatures -----------------------------------------------------


def test_extra_signatures_are_positional_only():
    assert str(inspect.signature(copium.extra.replicate)) == "(obj, n, /)"
    assert str(inspect.signature(copium.extra.repeatcall)) == "(function, size, /)"
    for fn, kwargs in (
        (copium.extra.replicate, {"obj": [1], "n": 2}),
        (copium.extra.repeatcall, {"function": list, "size": 2}),
    ):
        with pytest.raises(TypeError, match="takes no keyword arguments"):
            fn(**kwargs)
        first, second = kwargs.values()
        assert len(fn(first, second)) == 2
        with pytest.raises(TypeError, match="takes no keyword arguments"):
            fn(first, **{list(kwargs)[1]: second})
    with pytest.raises(ValueError, match=r"repeatcall\(\) argument 'size' must be >= 0"):
        copium.extra.repeatcall(list, -1)
    with pytest.raises(ValueError, match=r"replicate\(\) argument 'n' must be >= 0"):
        copium.extra.replicate([], -1)


# ---- configure / get_config ---------------------------------------------------------------------


def test_get_config_has_0_1_0_keys_and_defaults():
    assert copium.get_config() == DEFAULTS
    assert list(copium.get_config()) == ["memo", "on_incompatible", "suppress_warnings"]


def test_configure_without_options_restores_defaults():
    copium.configure(memo="dict", on_incompatible="silent", suppress_warnings=["TypeError: x"])
    assert copium.get_config() == {
        "memo": "dict",
        "on_incompatible": "silent",
        "suppress_warnings": ("TypeError: x",),
    }
    assert copium.configure() is None
    assert copium.get_config() == DEFAULTS


@pytest.mark.parametrize(
    "nones",
    [{"memo": None}, {"suppress_warnings": None}, {"on_incompatible": None, "memo": None}],
)
def test_only_nones_restore_defaults(nones):
    """As copium 0.1.0: a call giving no option a value restores the defaults (so
    suppress_warnings=None alone clears the list)."""
    copium.configure(memo="dict", on_incompatible="warn", suppress_warnings=["a"])
    copium.configure(**nones)
    assert copium.get_config() == DEFAULTS


def test_none_leaves_an_option_as_it_is():
    copium.configure(on_incompatible="warn", suppress_warnings=["a"])
    copium.configure(memo="dict", on_incompatible=None, suppress_warnings=None)
    assert copium.get_config() == {
        "memo": "dict",
        "on_incompatible": "warn",
        "suppress_warnings": ("a",),
    }
    copium.configure(suppress_warnings=())  # empties the list alone
    assert copium.get_config() == {"memo": "dict", "on_incompatible": "warn", "suppress_warnings": ()}


@pytest.mark.parametrize("value", ["raise", "warn", "silent"])
def test_on_incompatible_and_on_memo_rejected_are_one_option(value):
    copium.configure(on_incompatible=value)
    assert copium.get_config()["on_incompatible"] == value
    copium.configure()
    copium.config.apply(on_memo_rejected=value)
    assert copium.get_config()["on_incompatible"] == value
    copium.configure()
    copium.configure(on_incompatible=value, on_memo_rejected=value)  # the same value: fine
    assert copium.get_config()["on_incompatible"] == value


def test_two_spellings_with_different_values_are_an_error():
    copium.configure(memo="dict")
    with pytest.raises(ValueError) as info:
        copium.configure(memo="native", on_incompatible="warn", on_memo_rejected="silent")
    message = str(info.value)
    assert "on_incompatible='warn'" in message and "on_memo_rejected='silent'" in message
    assert "two names of one option" in message
    assert copium.get_config() == {**DEFAULTS, "memo": "dict"}  # nothing applied


def test_memo_dict_with_on_incompatible_is_accepted():
    """copium 0.1.0 refused on_incompatible with memo='dict' (its option concerned only its own
    memo); here it concerns a caller's memo, whatever the memo kind."""
    copium.configure(memo="dict", on_incompatible="silent")
    assert copium.get_config()["on_incompatible"] == "silent"


@pytest.mark.parametrize(
    "options,error,pattern",
    [
        ({"on_incompatible": "ignore"}, ValueError, "'raise', 'warn', 'silent'"),
        ({"on_incompatible": "WARN"}, ValueError, "'raise', 'warn', 'silent'"),
        ({"on_incompatible": 1}, TypeError, "on_incompatible must be a str"),
        ({"on_memo_rejected": "bogus"}, ValueError, "on_memo_rejected='bogus'"),
        ({"memo": "python"}, ValueError, "'native', 'dict'"),
        ({"suppress_warnings": "TypeError: x"}, TypeError, "sequence of str.*not a single str"),
        ({"suppress_warnings": 5}, TypeError, "sequence of str, not int"),
        ({"suppress_warnings": ["a", 2]}, TypeError, r"suppress_warnings\[1\] must be a str, not int"),
        ({"suppress_warnings": [b"a"]}, TypeError, r"suppress_warnings\[0\] must be a str"),
    ],
)
def test_invalid_values(options, error, pattern):
    copium.configure(on_incompatible="warn")
    with pytest.raises(error, match=pattern):
        copium.configure(**{"memo": "dict", **options})
    assert copium.get_config() == {**DEFAULTS, "on_incompatible": "warn"}


def test_suppress_warnings_takes_any_iterable_and_keeps_a_tuple():
    copium.configure(suppress_warnings=(s for s in ["TypeError: a", "b"]))
    assert copium.get_config()["suppress_warnings"] == ("TypeError: a", "b")


class StrictMemo:
    """A __deepcopy__ as C / PyO3 implementations write it: the memo must be exactly a dict."""

    calls = []

    def __deepcopy__(self, memo):
        StrictMemo.calls.append(type(memo))
        if type(memo) is not dict:
            raise TypeError("memo must be dict, not %s" % type(memo).__name__)
        return StrictMemo()


class MemoSubclass(dict):
    pass


def _copy_with_a_subclass_memo():
    StrictMemo.calls.clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = copium.deepcopy([StrictMemo()], MemoSubclass())
    return result, [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]


def test_copium_memo_is_never_rejected():
    """copium 0.1.0 retried (and warned) whenever a strict hook refused its own memo type; here
    the memo a call makes is a dict, so a strict hook is called once and nothing is retried."""
    StrictMemo.calls.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        copium.deepcopy([StrictMemo(), {"k": StrictMemo()}])
    assert StrictMemo.calls == [dict, dict]


def test_default_raises_like_stdlib_for_a_rejected_caller_memo():
    """The default is stdlib's behaviour (and copium 0.1.0's for a memo the caller passed,
    which it never retried either): the hook's TypeError, one call."""
    StrictMemo.calls.clear()
    with pytest.raises(TypeError, match="memo must be dict, not MemoSubclass"):
        copium.deepcopy([StrictMemo()], MemoSubclass())
    assert StrictMemo.calls == [MemoSubclass]
    StrictMemo.calls.clear()
    with pytest.raises(TypeError, match="memo must be dict, not MemoSubclass"):
        copy.deepcopy([StrictMemo()], MemoSubclass())
    assert StrictMemo.calls == [MemoSubclass]


def test_warn_retries_and_warns():
    copium.configure(on_incompatible="warn")
    result, warned = _copy_with_a_subclass_memo()
    assert type(result[0]) is StrictMemo
    assert StrictMemo.calls == [MemoSubclass, dict]
    assert len(warned) == 1 and "TypeError: memo must be dict, not MemoSubclass" in warned[0]


@pytest.mark.parametrize("spelling", ["on_incompatible", "on_memo_rejected"])
def test_silent_retries_without_warning(spelling):
    copium.configure(**{spelling: "silent"})
    result, warned = _copy_with_a_subclass_memo()
    assert type(result[0]) is StrictMemo
    assert StrictMemo.calls == [MemoSubclass, dict]
    assert warned == []


@pytest.mark.parametrize(
    "entries,shown",
    [
        (["TypeError: memo must be dict, not MemoSubclass"], False),  # "ExcType: message"
        (["memo must be dict, not MemoSubclass"], False),  # the message alone
        (["other", "TypeError: memo must be dict, not MemoSubclass"], False),
        (["TypeError: memo must be dict"], True),  # matched exactly, not as a prefix
        (["typeerror: memo must be dict, not MemoSubclass"], True),
        ([], True),
    ],
)
def test_suppress_warnings(entries, shown):
    copium.configure(on_incompatible="warn", suppress_warnings=entries)
    result, warned = _copy_with_a_subclass_memo()
    assert StrictMemo.calls == [MemoSubclass, dict]  # retried either way
    assert len(warned) == (1 if shown else 0)


# ---- environment variables, read at import (subprocesses) --------------------------------------


def _run(code, **env_changes):
    env = {k: v for k, v in os.environ.items() if not k.startswith("COPIUM_")}
    env.update(env_changes)
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )


GET = "import copium; print(copium.get_config())"


@pytest.mark.parametrize(
    "env,changes",
    [
        ({}, {}),
        ({"COPIUM_USE_DICT_MEMO": "1"}, {"memo": "dict"}),
        ({"COPIUM_USE_DICT_MEMO": "0"}, {"memo": "dict"}),  # set at all: as copium 0.1.0 reads it
        ({"COPIUM_USE_DICT_MEMO": ""}, {}),
        ({"COPIUM_NO_MEMO_FALLBACK": "1"}, {"on_incompatible": "raise"}),
        ({"COPIUM_NO_MEMO_FALLBACK_WARNING": "TypeError: x y"}, {"suppress_warnings": ("TypeError: x y",)}),
        ({"COPIUM_ON_MEMO_REJECTED": "silent"}, {"on_incompatible": "silent"}),
        ({"COPIUM_ON_MEMO_REJECTED": "Warn"}, {"on_incompatible": "warn"}),
        # both families, agreeing
        ({"COPIUM_MEMO": "dict", "COPIUM_USE_DICT_MEMO": "1"}, {"memo": "dict"}),
        ({"COPIUM_ON_MEMO_REJECTED": "raise", "COPIUM_NO_MEMO_FALLBACK": "1"}, {}),
        (
            {"COPIUM_USE_DICT_MEMO": "1", "COPIUM_ON_MEMO_REJECTED": "warn", "COPIUM_NO_MEMO_FALLBACK_WARNING": "m"},
            {"memo": "dict", "on_incompatible": "warn", "suppress_warnings": ("m",)},
        ),
    ],
)
def test_environment(env, changes):
    r = _run(GET, **env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str({**DEFAULTS, **changes})


@pytest.mark.parametrize(
    "env,option",
    [
        ({"COPIUM_MEMO": "native", "COPIUM_USE_DICT_MEMO": "1"}, "memo"),
        ({"COPIUM_ON_MEMO_REJECTED": "warn", "COPIUM_NO_MEMO_FALLBACK": "1"}, "on_incompatible"),
        ({"COPIUM_ON_MEMO_REJECTED": "silent", "COPIUM_NO_MEMO_FALLBACK": "yes"}, "on_incompatible"),
    ],
)
def test_environment_families_that_disagree_are_an_import_error(env, option):
    r = _run(GET, **env)
    assert r.returncode != 0
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("ValueError: environment variables ")
    for variable, value in env.items():
        assert "%s=%r" % (variable, value) in last
    assert "set %s to different values" % option in last and "unset one of them" in last


def test_environment_suppressed_warning_takes_effect():
    code = (
        "import copium, warnings\n"
        "warnings.simplefilter('error')\n"
        "class Strict:\n"
        "    def __deepcopy__(self, memo):\n"
        "        if type(memo) is not dict: raise TypeError('I want a dict')\n"
        "        return 'copied'\n"
        "class M(dict): pass\n"
        "print(copium.deepcopy(Strict(), M()))\n"
    )
    r = _run(code, COPIUM_ON_MEMO_REJECTED="warn", COPIUM_NO_MEMO_FALLBACK_WARNING="TypeError: I want a dict")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "copied\n"
    r = _run(code, COPIUM_ON_MEMO_REJECTED="warn")
    assert r.returncode != 0 and "RuntimeWarning" in r.stderr and "I want a dict" in r.stderr
    r = _run(code, COPIUM_NO_MEMO_FALLBACK="1")
    assert r.returncode != 0 and r.stderr.strip().endswith("TypeError: I want a dict")


# ---- autopatch at start-up: copium 0.1.0's COPIUM_PATCH_ENABLE / COPIUM_PATCH_DISABLE ----------

CHECK = (
    "import sys\n"
    "print(sorted(m for m in sys.modules if m == 'copium' or m.startswith('copium.')))\n"
    "import copy, copium, copium.patch\n"
    "print(copium.patch.enabled())\n"
    "class M: pass\n"
    "copium.register_handler(M, lambda o, m: 'copium')\n"
    "print(copy.deepcopy(M()) == 'copium')\n"
)


@pytest.mark.parametrize(
    "env,patched",
    [
        ({"COPIUM_PATCH_ENABLE": "1"}, True),
        ({"COPIUM_PATCH_ENABLE": "0"}, True),  # set at all: as copium 0.1.0 reads it
        ({"COPIUM_PATCH_ENABLE": "1", "COPIUM_PATCH_DISABLE": "1"}, False),  # 0.1.0: DISABLE wins
        ({"COPIUM_PATCH_ENABLE": ""}, False),
        ({"COPIUM_PATCH_DISABLE": "1"}, False),
        ({"COPIUM_PATCH": "1", "COPIUM_PATCH_ENABLE": "1"}, True),
        ({"COPIUM_PATCH": "0", "COPIUM_PATCH_DISABLE": "1"}, False),
    ],
)
def test_autopatch_0_1_0_variables(env, patched):
    r = _run(CHECK, **env)
    assert r.returncode == 0, r.stderr
    loaded, enabled, engine = r.stdout.splitlines()
    assert (enabled, engine) == (str(patched), str(patched))
    if not patched:
        assert loaded == "[]"  # no patch asked for: the .pth line imported nothing
    assert r.stderr == ""


@pytest.mark.parametrize(
    "env",
    [
        {"COPIUM_PATCH": "0", "COPIUM_PATCH_ENABLE": "1"},
        {"COPIUM_PATCH": "1", "COPIUM_PATCH_DISABLE": "1"},
        {"COPIUM_PATCH": "yes", "COPIUM_PATCH_ENABLE": "1", "COPIUM_PATCH_DISABLE": "1"},
    ],
)
def test_autopatch_families_that_disagree_say_so_and_do_not_patch(env):
    r = _run(CHECK, **env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[1:] == ["False", "False"]
    assert r.stderr.startswith("copium: not patching copy.deepcopy and copy.copy at start-up")
    assert "COPIUM_PATCH=%r" % env["COPIUM_PATCH"] in r.stderr
    assert "set only one of them" in r.stderr


# ---- typing: copium 0.1.0-style code type-checks against the stubs -----------------------------


@pytest.mark.skipif(
    bool(os.environ.get("COPIUM_SANITIZED")),
    reason="runs mypy in a subprocess, which the sanitizers' preloaded libraries would report "
    "(tests/py/test_typing.py is left out there for the same reason)",
)
def test_0_1_0_code_type_checks(tmp_path):
    from test_typing import _mypy

    source = (
        "import copium\n"
        "from copium.extra import replicate, repeatcall\n"
        "copium.configure(memo='native', on_incompatible='silent', suppress_warnings=['TypeError: x'])\n"
        "copium.configure(on_memo_rejected='warn')\n"
        "copium.configure()\n"
        "settings = copium.get_config()\n"
        "reveal_type(settings['on_incompatible'])\n"
        "reveal_type(settings['suppress_warnings'])\n"
        "def hook(memo: copium.memo) -> None: ...\n"
        "hook({})\n"
        "reveal_type(replicate([1], 2))\n"
        "reveal_type(repeatcall(lambda: 1.5, 2))\n"
    )
    r, notes = _mypy(tmp_path, source)
    assert not [line for line in r.stdout.splitlines() if ": error: " in line], r.stdout + r.stderr
    notes = [n.replace("builtins.", "") for n in notes]
    assert notes[0] in (
        "Revealed type is \"Literal['raise'] | Literal['warn'] | Literal['silent']\"",
        "Revealed type is \"Literal['raise', 'warn', 'silent']\"",
    ), notes
    assert notes[1:] == [
        'Revealed type is "tuple[str, ...]"',
        'Revealed type is "list[list[int]]"',
        'Revealed type is "list[float]"',
    ], notes
    r, _ = _mypy(tmp_path, "import copium\ncopium.configure(on_incompatible='ignore')\n")
    assert ": error: " in r.stdout
