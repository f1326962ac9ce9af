"""copium.config: apply() / get(), their validation, the environment variables read at import
(subprocesses), memo="dict" (stdlib's memo contents exactly) and on_memo_rejected."""

import copy
import os
import subprocess
import sys
import warnings

import pytest

import copium
import copium.config
from compare import assert_same_copy, assert_same_memo

DEFAULTS = {"memo": "native", "on_incompatible": "raise", "suppress_warnings": ()}


@pytest.fixture(autouse=True)
def restore_config():
    saved = copium.config.get()
    copium.config.apply(**DEFAULTS)
    yield
    copium.config.apply(**saved)


# ---- apply / get -------------------------------------------------------------------------------


def test_defaults():
    assert copium.config.get() == DEFAULTS


def test_get_returns_a_fresh_dict():
    a = copium.config.get()
    a["memo"] = "dict"
    assert copium.config.get()["memo"] == "native"


def test_apply_and_get():
    assert copium.config.apply(memo="dict") is None
    assert copium.config.get() == {**DEFAULTS, "memo": "dict"}
    copium.config.apply(on_memo_rejected="warn")  # the other name of on_incompatible
    assert copium.config.get() == {**DEFAULTS, "memo": "dict", "on_incompatible": "warn"}
    copium.config.apply(memo=None)  # no option given: the defaults, as copium 0.1.0's
    assert copium.config.get() == DEFAULTS
    copium.config.apply(memo="dict", on_memo_rejected="warn")
    copium.config.apply(memo="native", on_memo_rejected="raise")
    assert copium.config.get() == DEFAULTS


@pytest.mark.parametrize(
    "options,accepted",
    [
        ({"memo": "Dict"}, "'native', 'dict'"),
        ({"memo": "python"}, "'native', 'dict'"),
        ({"on_memo_rejected": "ignore"}, "'raise', 'warn', 'silent'"),
        ({"on_memo_rejected": ""}, "'raise', 'warn', 'silent'"),
    ],
)
def test_invalid_values_name_the_accepted_ones(options, accepted):
    with pytest.raises(ValueError) as info:
        copium.config.apply(**options)
    message = str(info.value)
    assert accepted in message and list(options)[0] in message
    assert copium.config.get() == DEFAULTS


@pytest.mark.parametrize("value", [1, True, b"dict", ["dict"]])
def test_non_str_values(value):
    with pytest.raises(TypeError, match="must be a str, one of 'native', 'dict'"):
        copium.config.apply(memo=value)
    assert copium.config.get() == DEFAULTS


def test_unknown_option():
    with pytest.raises(TypeError, match="unexpected keyword argument 'mem'"):
        copium.config.apply(mem="dict")
    with pytest.raises(TypeError):
        copium.config.apply("dict")


def test_nothing_applied_when_one_value_is_bad():
    with pytest.raises(ValueError):
        copium.config.apply(memo="dict", on_memo_rejected="bogus")
    assert copium.config.get() == DEFAULTS


def test_submodule_is_an_attribute_of_copium():
    assert copium.config is sys.modules["copium.config"]


# ---- memo="dict" -------------------------------------------------------------------------------


class Hook:
    """A __deepcopy__ that records what its memo holds when it is called."""

    seen = []
    reachable = set()

    def __init__(self, payload):
        self.payload = payload

    def __deepcopy__(self, memo):
        # Temporaries (the argument tuples of a reduce) have addresses that differ from run to
        # run: entries for them are counted, entries for the graph's own objects compared.
        keep = memo.get(id(memo), [])
        keys = set(memo) - {id(memo)}
        Hook.seen.append(
            (
                type(memo),
                len(keys),
                sorted(keys & Hook.reachable),
                len(keep),
                [id(o) for o in keep if id(o) in Hook.reachable],
            )
        )
        return Hook(copium.deepcopy(self.payload, memo))


def _reachable(x, seen=None):
    seen = set() if seen is None else seen
    if id(x) in seen:
        return seen
    seen.add(id(x))
    if isinstance(x, dict):
        for k, v in x.items():
            _reachable(k, seen)
            _reachable(v, seen)
    elif isinstance(x, (list, tuple, set, frozenset)):
        for v in x:
            _reachable(v, seen)
    elif isinstance(x, Hook):
        _reachable(x.payload, seen)
    return seen


def _graph():
    shared = [1, 2]
    return [
        {"a": shared, "b": (shared, "t"), "c": frozenset({1, 2})},
        [shared, {3, 4}, (5, 6)],
        Hook([shared, [7]]),
        ((8,), [9]),
        Hook({"k": shared}),
    ]


def test_dict_memo_matches_stdlib_memo_contents():
    x = _graph()
    Hook.reachable = _reachable(x)
    Hook.seen.clear()
    stdlib_memo = {}
    with _hooks_calling(copy.deepcopy):
        expected = copy.deepcopy(x, stdlib_memo)
    stdlib_seen = list(Hook.seen)
    Hook.seen.clear()
    copium.config.apply(memo="dict")
    got = copium.deepcopy(x)
    assert len(Hook.seen) == 2
    assert Hook.seen == stdlib_seen
    assert all(seen[0] is dict for seen in Hook.seen)
    assert_same_copy(x, expected, got)


class _hooks_calling:
    """Hooks copy their payload with copium.deepcopy; for the stdlib run, with copy.deepcopy."""

    def __init__(self, fn):
        self.fn = fn

    def __enter__(self):
        self.saved = copium.deepcopy
        copium.deepcopy = self.fn

    def __exit__(self, *exc):
        copium.deepcopy = self.saved


def test_dict_memo_with_a_caller_memo_is_the_caller_memo():
    copium.config.apply(memo="dict")
    x = [[1], (2, [3])]
    m1, m2 = {}, {}
    expected = copy.deepcopy(x, m1)
    got = copium.deepcopy(x, m2)
    walker = assert_same_copy(x, expected, got)
    assert_same_memo(walker, m1, m2)


@pytest.mark.parametrize("memo", ["native", "dict"])
def test_both_memo_kinds_copy_the_same(memo):
    copium.config.apply(memo=memo)
    x = _graph()
    Hook.reachable = _reachable(x)
    with _hooks_calling(copy.deepcopy):
        expected = copy.deepcopy(x)
    got = copium.deepcopy(x)
    assert_same_copy(x, expected, got)
    assert copium.deepcopy(len) is len
    assert copium.deepcopy(5) == 5
    cyclic = []
    cyclic.append(cyclic)
    c = copium.deepcopy(cyclic)
    assert c[0] is c and c is not cyclic


# ---- on_memo_rejected --------------------------------------------------------------------------


class StrictMemo:
    """A __deepcopy__ as some C/PyO3 types write it: the memo must be exactly a dict. It
    memoizes a child copy itself, so that merging back can be observed."""

    calls = []

    def __init__(self, child):
        self.child = child

    def __deepcopy__(self, memo):
        StrictMemo.calls.append(type(memo))
        if type(memo) is not dict:
            raise TypeError("argument 'memo': must be dict, not %s" % type(memo).__name__)
        child = copium.deepcopy(self.child, memo)
        return StrictMemo(child)


class MemoSubclass(dict):
    pass


def test_rejected_memo_raises_by_default():
    StrictMemo.calls.clear()
    obj = StrictMemo([1])
    with pytest.raises(TypeError, match="must be dict, not MemoSubclass"):
        copium.deepcopy(obj, MemoSubclass())
    assert StrictMemo.calls == [MemoSubclass]


def test_rejected_memo_warn_retries_with_a_dict():
    copium.config.apply(on_memo_rejected="warn")
    StrictMemo.calls.clear()
    child = [1, [2]]
    obj = [child, StrictMemo(child)]
    memo = MemoSubclass()
    with pytest.warns(RuntimeWarning, match="rejected the memo.*MemoSubclass.*dict copy"):
        y = copium.deepcopy(obj, memo)
    assert StrictMemo.calls == [MemoSubclass, dict]
    assert y[0] == child and y[0] is not child
    # the retry saw the copy of child made before it, and shares it
    assert y[1].child is y[0]
    # what the retry memoized is back in the caller's memo, and kept alive there
    assert memo[id(child)] is y[0]
    assert memo[id(obj[1])] is y[1]
    assert memo[id(child[1])] is y[0][1]
    assert any(type(k) is dict for k in memo[id(memo)])


def test_warn_does_not_retry_an_exact_dict():
    """copium's own memo (and a caller's dict) is exactly a dict: a TypeError from the hook is
    then the hook's own, and is raised, never retried."""
    copium.config.apply(on_memo_rejected="warn")

    class Broken:
        def __deepcopy__(self, memo):
            raise TypeError("broken hook")

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(TypeError, match="broken hook"):
            copium.deepcopy([Broken()])
        with pytest.raises(TypeError, match="broken hook"):
            copium.deepcopy(Broken(), {})


def test_warn_retry_failing_raises_the_new_error_with_context():
    copium.config.apply(on_memo_rejected="warn")

    class AlwaysRejects:
        def __deepcopy__(self, memo):
            raise TypeError("rejected %s" % type(memo).__name__)

    with pytest.warns(RuntimeWarning):
        with pytest.raises(TypeError, match="rejected dict") as info:
            copium.deepcopy(AlwaysRejects(), MemoSubclass())
    assert "rejected MemoSubclass" in str(info.value.__context__)


def test_warn_as_error_raises_the_warning():
    copium.config.apply(on_memo_rejected="warn")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(RuntimeWarning, match="rejected the memo"):
            copium.deepcopy(StrictMemo([1]), MemoSubclass())


def test_other_errors_are_not_retried():
    copium.config.apply(on_memo_rejected="warn")

    class ValueErrorHook:
        def __deepcopy__(self, memo):
            raise ValueError("no")

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError):
            copium.deepcopy(ValueErrorHook(), MemoSubclass())


# ---- environment variables (read when copium is imported) --------------------------------------


def _run(code, **env_changes):
    env = {k: v for k, v in os.environ.items() if not k.startswith("COPIUM_")}
    env.update(env_changes)
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )


GET = "import copium; print(copium.config.get())"


def test_environment_unset():
    r = _run(GET)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(DEFAULTS)


@pytest.mark.parametrize(
    "env,expected",
    [
        ({"COPIUM_MEMO": "dict"}, {**DEFAULTS, "memo": "dict"}),
        ({"COPIUM_MEMO": " DICT "}, {**DEFAULTS, "memo": "dict"}),
        ({"COPIUM_MEMO": "native"}, DEFAULTS),
        ({"COPIUM_MEMO": ""}, DEFAULTS),
        ({"COPIUM_ON_MEMO_REJECTED": "warn"}, {**DEFAULTS, "on_incompatible": "warn"}),
        (
            {"COPIUM_MEMO": "dict", "COPIUM_ON_MEMO_REJECTED": "Warn"},
            {**DEFAULTS, "memo": "dict", "on_incompatible": "warn"},
        ),
    ],
)
def test_environment_values(env, expected):
    r = _run(GET, **env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(expected)


@pytest.mark.parametrize(
    "variable,accepted",
    [("COPIUM_MEMO", "'native', 'dict'"), ("COPIUM_ON_MEMO_REJECTED", "'raise', 'warn', 'silent'")],
)
def test_environment_invalid_value_is_a_clear_import_error(variable, accepted):
    r = _run(GET, **{variable: "bogus"})
    assert r.returncode != 0
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("ValueError: environment variable %s='bogus' is not valid" % variable)
    assert accepted in last


def test_environment_dict_memo_takes_effect():
    code = (
        "import copium\n"
        "class H:\n"
        "    def __deepcopy__(self, memo):\n"
        "        print(sorted(k == id(x[0]) for k in memo if k != id(memo)))\n"
        "        return H()\n"
        "x = [[1], H()]\n"
        "copium.deepcopy(x)\n"
    )
    r = _run(code, COPIUM_MEMO="dict")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[False, True]"
