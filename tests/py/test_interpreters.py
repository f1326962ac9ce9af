"""copium in more than one interpreter: the module's state (registry, stdlib's tables, caches,
configuration, pins) is per interpreter, so a subinterpreter imports a copium of its own. Each
check runs in a fresh process (a subinterpreter started with _testcapi.run_in_subinterp, a
legacy one sharing the main interpreter's GIL), so that nothing of it stays in the test run."""

import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("_testcapi")


def run(main_code):
    r = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(main_code)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def test_subinterpreter_has_its_own_state():
    out = run(
        '''
        import _testcapi, copium, copy
        import copium.config

        copium.register_handler(list, lambda obj, memo: "main's")
        copium.config.apply(memo="dict")
        sub = """
        import copium, copy, datetime
        import copium.config
        # A registry, a configuration and caches of its own: none of the main's.
        assert copium.config.get()["memo"] != "dict", copium.config.get()
        x = [1, {"a": (2, [3])}, datetime.datetime(2020, 1, 2), {4, 5}]
        assert copium.deepcopy(x) == x and copium.deepcopy(x) is not x
        class C:
            def __init__(self):
                self.v = [1, 2]
        c = copium.deepcopy(C())
        assert c.v == [1, 2]
        assert copium.copy([1, 2]) == [1, 2]
        copium.register_handler(tuple, lambda obj, memo: "sub's")
        assert copium.deepcopy((1, [2])) == "sub's"
        assert copium.deepcopy([1]) == [1]
        # A hook that sees the memo (the mirror and its dict watcher).
        class Hook:
            def __deepcopy__(self, memo):
                return ("hook", type(memo) is dict and len(memo) >= 1)
        assert copium.deepcopy([[1], Hook()])[1] == ("hook", True)
        # A change to stdlib's tables is seen (its dict watcher, or version tags).
        copy._deepcopy_dispatch[set] = lambda x, memo: "table's"
        assert copium.deepcopy({1}) == "table's"
        del copy._deepcopy_dispatch[set]
        assert copium.deepcopy({1}) == {1}
        """
        assert _testcapi.run_in_subinterp(sub) == 0
        # The main interpreter's state is as it was.
        assert copium.deepcopy([1]) == "main's"
        assert copium.deepcopy((1, 2)) == (1, 2)  # not the sub's tuple handler
        assert copium.config.get()["memo"] == "dict"
        copium.unregister_handler(list)
        assert copium.deepcopy([1, [2]]) == [1, [2]]
        # Twice more: an interpreter's state is made and released each time.
        assert _testcapi.run_in_subinterp("import copium; assert copium.deepcopy([[1]]) == [[1]]") == 0
        assert _testcapi.run_in_subinterp("import copium; assert copium.deepcopy([[1]]) == [[1]]") == 0
        assert copium.deepcopy({"k": [1]}) == {"k": [1]}
        print("ok")
        '''
    )
    assert out.strip() == "ok"
