"""copium in isolated subinterpreters (PEP 684: each with a GIL of its own), 3.12 and later.

copium declares Py_MOD_PER_INTERPRETER_GIL_SUPPORTED: its registry of handlers, configuration,
patch of stdlib, caches and per-thread contexts live in the module's state, one per
interpreter. These checks import copium in isolated subinterpreters, copy there (compared
with stdlib's copy in the same interpreter), run CPython's own test_copy.py there, copy from
several interpreters on several threads at once, check that no state leaks from one
interpreter to another, that 200 interpreters made and closed leak no memory, that closing an
interpreter while another copies is safe, and that the example plugin `pair` loads there
while numpy's plugin is refused (numpy has single-phase init).

Each check runs in a fresh process (`python -c`): a crash in the interpreter machinery fails
that one test, and no interpreter, handler or patch stays in the test run.

The API that creates an isolated interpreter differs by version; SHIM (prepended to every
check's code) hides it behind Interp().run(code) / .close():
  3.14+  concurrent.interpreters    3.13  _interpreters    3.12  _xxsubinterpreters
"""

import importlib.util
import os
import subprocess
import sys
import textwrap

import pytest

if sys.version_info < (3, 12):
    pytest.skip("isolated subinterpreters (own GIL) need Python 3.12+", allow_module_level=True)

if sys.version_info >= (3, 14):
    _API = "concurrent.interpreters"
elif sys.version_info >= (3, 13):
    _API = "_interpreters"
else:
    _API = "_xxsubinterpreters"
try:
    _found = importlib.util.find_spec(_API) is not None
except ImportError:
    _found = False
if not _found:
    pytest.skip("%s is missing from this Python" % _API, allow_module_level=True)

# KNOWN CPython BUG: on 3.12.1 and 3.13.0, `import datetime` in several isolated
# subinterpreters created concurrently from several threads crashes the process ("double free
# or corruption", "munmap_chunk(): invalid pointer"), copium or not. The concurrent checks
# below (THREADS, CLOSE_WHILE_COPYING) therefore never import datetime, nor a module that
# imports it, in their subinterpreters; copium itself imports datetime only when it copies a
# datetime object. One subinterpreter at a time is fine (the graph of GRAPH_CODE is not used
# concurrently with datetime in it).

SHIM = r'''
import sys, threading

if sys.version_info >= (3, 14):
    from concurrent import interpreters as _I

    class Interp:
        def __init__(self):
            self._i = _I.create()  # isolated: a GIL and an obmalloc of its own

        def run(self, code):
            try:
                self._i.exec(code)
            except _I.ExecutionFailed as e:
                raise AssertionError("in the subinterpreter: %s" % (e,)) from None

        def close(self):
            self._i.close()

elif sys.version_info >= (3, 13):
    import _interpreters as _I

    class Interp:
        def __init__(self):
            self._i = _I.create(_I.new_config("isolated"))

        def run(self, code):
            err = _I.exec(self._i, code)
            if err is not None:
                raise AssertionError("in the subinterpreter: %s" % (err,))

        def close(self):
            _I.destroy(self._i)

else:
    import _xxsubinterpreters as _I

    class Interp:
        def __init__(self):
            self._i = _I.create(isolated=True)

        def run(self, code):
            try:
                _I.run_string(self._i, code)
            except Exception as e:
                raise AssertionError("in the subinterpreter: %r" % (e,)) from None

        def close(self):
            _I.destroy(self._i)
'''

# A graph copied in the subinterpreters and its checks against stdlib's copy (code run in
# the subinterpreter; `n` copies). No datetime in it: it is used concurrently.
GRAPH_CODE = r'''
import copy, copium

class Plain:
    def __init__(self, **kw):
        self.__dict__.update(kw)
    def __repr__(self):
        return "Plain(%r)" % (sorted(self.__dict__.items()),)

def make_graph():
    shared = [1, "s", (2.5, None)]
    cyc = [0]
    cyc.append(cyc)
    d = {"shared": shared, "again": shared, "t": (shared, frozenset({1, 2})), "set": {3, 4}}
    d["self"] = d
    obj = Plain(a=shared, b={"k": [b"x", 1j]}, c=(1, (2, [3])))
    obj.me = obj
    return [shared, cyc, d, obj, (obj, shared), {"n": None, "b": True}, bytearray(b"ab")]

def structure(x, seen):
    """A repr of x that names each container by its first visit, so that identity
    patterns (cycles, shared sub-objects) are part of the comparison."""
    i = id(x)
    if i in seen:
        return "@%d" % seen[i]
    if isinstance(x, (int, float, complex, str, bytes, type(None), bool)):
        return repr(x)
    seen[i] = len(seen)
    tag = "#%d:%s" % (seen[i], type(x).__name__)
    if isinstance(x, (list, tuple)):
        return tag + "[" + ",".join(structure(e, seen) for e in x) + "]"
    if isinstance(x, (set, frozenset)):
        return tag + "{" + ",".join(sorted(repr(e) for e in x)) + "}"
    if isinstance(x, dict):
        return tag + "{" + ",".join(repr(k) + ":" + structure(v, seen) for k, v in x.items()) + "}"
    if isinstance(x, bytearray):
        return tag + repr(bytes(x))
    return tag + structure(vars(x), seen)

def check_graph(n):
    for _ in range(n):
        x = make_graph()
        got = copium.deepcopy(x)
        want = copy.deepcopy(x)
        assert structure(got, {}) == structure(want, {}), (structure(got, {}), structure(want, {}))
        assert structure(got, {}) == structure(x, {})
        # Fresh: no container of the copy is one of the original's.
        assert got is not x and got[0] is not x[0] and got[3] is not x[3]
        assert got[1][1] is got[1]                      # the cycle stays a cycle
        assert got[2]["shared"] is got[2]["again"] is got[0]  # shared stays shared
        assert got[2]["self"] is got[2] and got[3].me is got[3]
        assert got[4][0] is got[3] and got[3].a is got[0]
        assert type(got[3]) is Plain
        s = copium.copy(x)
        assert type(s) is list and s is not x and all(a is b for a, b in zip(s, x))
        o = copium.copy(x[3])
        assert type(o) is Plain and o is not x[3] and o.a is x[3].a and o.me is x[3]
        assert copium.copy(x[2]) == copy.copy(x[2]) and copium.copy(x[2])["self"] is x[2]
'''


def run(code, timeout=120):
    """Runs SHIM + code in a fresh process; returns its stdout, failing on a non-zero exit."""
    r = subprocess.run(
        [sys.executable, "-X", "faulthandler", "-c", SHIM + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert r.returncode == 0, "exit %s\n%s\n%s" % (r.returncode, r.stdout, r.stderr)
    return r.stdout


def sub(code):
    """Code for a subinterpreter, as a literal for the process's code."""
    return repr(textwrap.dedent(code))


def test_import_and_copy_in_a_subinterpreter():
    out = run(
        """
        i = Interp()
        i.run(%s)
        i.run("check_graph(20)\\nimport copium, copy, datetime\\n"
              "d = [datetime.datetime(2020, 1, 2), datetime.date(2021, 3, 4)]\\n"
              "assert copium.deepcopy(d) == copy.deepcopy(d) == d\\n"
              "print('sub ok', flush=True)")
        i.close()
        print("ok")
        """
        % sub(GRAPH_CODE)
    )
    assert out.split() == ["sub", "ok", "ok"]


SUITE_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "test_cpython_suite.py")


def test_cpython_test_copy_in_a_subinterpreter():
    # test_cpython_suite.py, loaded from its file inside the subinterpreter, substitutes copium
    # for the `copy` of CPython's test_copy.py exactly as the main suite does (it imports no
    # pytest); its module-level checks raise if the substitution cannot be made.
    out = run(
        """
        i = Interp()
        i.run(%s)
        i.close()
        """
        % sub(
            r'''
            import importlib.util, io, unittest
            import copium
            spec = importlib.util.spec_from_file_location("_copium_suite", %r)
            suite_module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(suite_module)  # an ImportError here fails the test
            tc = suite_module.CPYTHON_TEST_COPY
            assert tc.copy.deepcopy is copium.deepcopy

            suite = unittest.defaultTestLoader.loadTestsFromModule(tc)
            stream = io.StringIO()
            res = unittest.TextTestRunner(stream=stream, verbosity=1).run(suite)
            print("COUNTS", res.testsRun, len(res.failures), len(res.errors), len(res.skipped),
                  flush=True)
            if res.failures or res.errors:
                print(stream.getvalue(), flush=True)
            '''
            % SUITE_FILE
        )
    )
    line = [l for l in out.splitlines() if l.startswith("COUNTS")]
    assert line, out
    ran, failures, errors, skipped = map(int, line[0].split()[1:])
    print("test_copy in a subinterpreter: ran %d, failures %d, errors %d, skipped %d"
          % (ran, failures, errors, skipped))
    assert failures == 0 and errors == 0, out
    assert ran > 50, out


def test_four_interpreters_copy_on_four_threads():
    # No datetime in the subinterpreters: see KNOWN CPython BUG above.
    out = run(
        """
        GRAPH = %s
        errors, done = [], []
        start = threading.Barrier(4)

        def work(k):
            try:
                i = Interp()
                try:
                    i.run(GRAPH)
                    start.wait(timeout=60)
                    i.run("check_graph(300)")
                    done.append(k)
                finally:
                    i.close()
            except BaseException as e:
                errors.append((k, repr(e)))

        ts = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert not errors, errors
        print(sorted(done))
        """
        % sub(GRAPH_CODE)
    )
    assert out.strip() == "[0, 1, 2, 3]"


def test_state_is_per_interpreter():
    out = run(
        """
        import copium, copium.config, copium.patch, copy

        SEES_DEFAULTS = (
            "import copium, copium.config, copium.patch, copy\\n"
            "assert copium.deepcopy([1]) == [1], copium.deepcopy([1])\\n"
            "assert copium.deepcopy({'a': [2]}) == {'a': [2]}\\n"
            "assert not copium.patch.enabled()\\n"
            "assert copy.deepcopy is not copium.deepcopy\\n"
            "assert copium.config.get()['memo'] == 'native', copium.config.get()\\n"
        )
        a, b = Interp(), Interp()
        a.run(
            "import copium, copium.config, copium.patch, copy\\n"
            "copium.register_handler(list, lambda obj, memo: 'marker of A')\\n"
            "copium.patch.enable()\\n"
            "copium.config.apply(memo='dict')\\n"
            "assert copium.deepcopy([1]) == 'marker of A'\\n"
            "assert copium.patch.enabled()\\n"
            "assert copium.config.get()['memo'] == 'dict'\\n"
        )
        # Neither the main interpreter nor B (alive at the same time) sees A's state.
        exec(SEES_DEFAULTS)
        b.run(SEES_DEFAULTS)
        a.run("assert copium.deepcopy([1]) == 'marker of A' and copium.patch.enabled()")
        # And the other way: state set in main is not seen by B nor by a new interpreter C.
        copium.register_handler(dict, lambda obj, memo: "marker of main")
        copium.patch.enable()
        copium.config.apply(memo="dict")
        assert copium.deepcopy({}) == "marker of main" and copium.patch.enabled()
        b.run(SEES_DEFAULTS)
        c = Interp()
        c.run(SEES_DEFAULTS)
        # A still has its own, and not main's dict handler.
        a.run("assert copium.deepcopy([1]) == 'marker of A'\\n"
              "assert copium.deepcopy({'k': 1}) == {'k': 1}\\n"
              "assert copium.config.get()['memo'] == 'dict'\\n"
              "copium.unregister_handler(list)\\n"
              "copium.patch.disable()\\n"
              "assert copium.deepcopy([1]) == [1] and not copium.patch.enabled()")
        for i in (a, b, c):
            i.close()
        # Main's state survived the subinterpreters' lifetimes and closing.
        assert copium.deepcopy({}) == "marker of main"
        assert copium.patch.enabled() and copium.config.get()["memo"] == "dict"
        copium.unregister_handler(dict)
        copium.patch.disable()
        assert copium.deepcopy({"k": [1]}) == {"k": [1]} and not copium.patch.enabled()
        print("ok")
        """
    )
    assert out.strip() == "ok"


def _pair_available():
    return importlib.util.find_spec("pair") is not None


# The leak check. Each interpreter imports copium (and pair when installed), then runs BODY:
# copies, a registered handler, a Pair copied. From 3.14 on, an isolated interpreter's
# finalization frees every block of its own allocator, so sys.getallocatedblocks() in the main
# interpreter (which adds up what finalized interpreters left behind) stays flat unless
# something leaks. On 3.12 and 3.13, CPython itself leaves blocks behind for each finalized
# isolated interpreter (about 1500 for an empty one, more for each module imported: its
# interned names and code stay), so the raw count grows by thousands per interpreter with
# copium or without it. There the check compares two runs of 200 interpreters that import the
# same modules and compile the same BODY, one of them executing it, the other registering a
# class in stdlib's table (STDLIB_REGISTRY): copying, registering a handler and copying a
# Pair must leave nothing more behind.
LEAK_CODE = """
import gc
BODY = (
    "x = [1, {'a': (2, [3])}, {4}]\\n"
    "assert copium.deepcopy(x) == x and copium.deepcopy(x) is not x\\n"
    "class Tag:\\n"
    "    pass\\n"
    "copium.register_handler(Tag, lambda obj, memo: 'tag')\\n"
    "assert copium.deepcopy([Tag()]) == ['tag']\\n"
    + ("p = pair.Pair([1], {'b': 2})\\n"
       "q = copium.deepcopy(p)\\n"
       "assert q.first == [1] and q.first is not p.first\\n" if %(has_pair)r else "")
    # Many copies, so that a block lost per copy shows per interpreter above what 3.12 and
    # 3.13 themselves leave (see the test).
    + "for _ in range(100):\\n"
      "    copium.deepcopy(x); copium.deepcopy([Tag()])\\n"
    + ("    copium.deepcopy(p)\\n" if %(has_pair)r else "")
)
# What 3.12 and 3.13 themselves leave behind (about 150 blocks per interpreter) when a class
# is kept alive until teardown by a module's table: in the baseline, stdlib's own
# copy._deepcopy_dispatch stands for copium's registry.
STDLIB_REGISTRY = (
    "import copy\\n"
    "class Tag:\\n"
    "    pass\\n"
    "copy._deepcopy_dispatch[Tag] = lambda obj, memo: 'tag'\\n"
)
IMPORTS = "import copium\\n" + ("import pair\\n" if %(has_pair)r else "")

def cycle(n, execute):
    use = IMPORTS + "code = compile(%%r, 'body', 'exec')\\n" %% BODY + (
        "exec(code)\\n" if execute else STDLIB_REGISTRY)
    for _ in range(n):
        i = Interp()
        i.run(use)
        i.close()

def measure():
    gc.collect(); gc.collect()
    return sys.getallocatedblocks(), getattr(sys, "gettotalrefcount", lambda: 0)()

def grow(execute):
    cycle(20, execute)  # warm-up: caches and lazily made state of the main interpreter
    b0, r0 = measure()
    cycle(200, execute)
    b1, r1 = measure()
    return b1 - b0, r1 - r0

used = grow(True)
base = grow(False) if sys.version_info < (3, 14) else (0, 0)
print("LEAK", used[0], used[1], base[0], base[1])
"""


def test_two_hundred_interpreters_leak_nothing():
    out = run(LEAK_CODE % {"has_pair": _pair_available()}, timeout=300)
    line = [l for l in out.splitlines() if l.startswith("LEAK")]
    assert line, out
    blocks, refs, base_blocks, base_refs = map(int, line[0].split()[1:])
    print(
        "200 interpreters: allocated blocks %+d (baseline %+d), "
        "total refcount %+d (baseline %+d)" % (blocks, base_blocks, refs, base_refs)
    )
    if sys.version_info >= (3, 14):
        # A leak of one block (or one reference) per interpreter would show as >= 200.
        assert blocks - base_blocks < 150, (blocks, base_blocks)
        if hasattr(sys, "gettotalrefcount"):
            assert refs - base_refs < 150, (refs, base_refs)
    else:
        # 3.12 and 3.13 leave about 16 more blocks per interpreter after BODY than after the
        # baseline (3,200 over 200), which 3.14 and 3.15, whose finalisation frees what an
        # isolated interpreter allocated, do not show (+1 block over 200, and on 3.14's debug
        # build +2 blocks and +2 references). What this still catches there is a block lost
        # per copy (BODY makes 200-300 copies an interpreter). It cannot see what the import
        # itself keeps, which the baseline imports too: the check from 3.14 does.
        assert blocks - base_blocks < 50 * 200, (blocks, base_blocks)


def test_interpreter_closed_while_another_copies(tmp_path):
    # No datetime in the subinterpreters: see KNOWN CPython BUG above.
    started, stop = str(tmp_path / "started"), str(tmp_path / "stop")
    out = run(
        """
        import os, time
        GRAPH, STARTED, STOP = %s, %r, %r
        result = []

        def long_copy():
            try:
                a = Interp()
                a.run(GRAPH)
                a.run("import os\\n"
                      "n = 0\\n"
                      "while True:\\n"
                      "    check_graph(1)\\n"
                      "    n += 1\\n"
                      "    if n == 1:\\n"
                      "        open(%%r, 'w').close()\\n"
                      "    if os.path.exists(%%r):\\n"
                      "        break\\n"
                      "assert n >= 2\\n" %% (STARTED, STOP))
                a.close()
                result.append("A ok")
            except BaseException as e:
                result.append(repr(e))

        t = threading.Thread(target=long_copy)
        t.start()
        deadline = time.monotonic() + 60
        while not os.path.exists(STARTED):
            assert t.is_alive() and time.monotonic() < deadline, result
            time.sleep(0.01)
        for k in range(25):
            b = Interp()
            b.run("import copium\\n"
                  "x = [[1], {'b': (2, [3])}]\\n"
                  "for _ in range(50):\\n"
                  "    assert copium.deepcopy(x) == x\\n")
            b.close()
            # A is still copying: the 25 B's were made and closed during its loop.
            assert t.is_alive(), result
        open(STOP, "w").close()
        t.join(120)
        assert result == ["A ok"], result
        print("ok")
        """
        % (sub(GRAPH_CODE), started, stop)
    )
    assert out.strip() == "ok"


@pytest.mark.skipif(not _pair_available(), reason="the example plugin `pair` is not installed")
def test_pair_plugin_in_a_subinterpreter():
    out = run(
        """
        i = Interp()
        i.run(
            "import copium, pair\\n"
            "p = pair.Pair([1, [2]], {'k': 3})\\n"
            "q = copium.deepcopy(p)\\n"
            "assert type(q) is pair.Pair and q is not p\\n"
            "assert q.first == [1, [2]] and q.first is not p.first\\n"
            "assert q.first[1] is not p.first[1]\\n"
            "assert q.second == {'k': 3} and q.second is not p.second\\n"
            "print('pair ok', flush=True)\\n"
        )
        i.close()
        """
    )
    assert out.strip() == "pair ok"


def _numpy_available():
    try:
        import copium_numpy  # noqa: F401
        import numpy  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.skipif(not _numpy_available(), reason="numpy or copium_numpy is not importable")
def test_numpy_plugin_refused_in_a_subinterpreter():
    out = run(
        """
        i = Interp()
        i.run(
            "try:\\n"
            "    import copium_numpy\\n"
            "except ImportError as e:\\n"
            "    print('refused:', e, flush=True)\\n"
            "else:\\n"
            "    raise AssertionError('copium_numpy imported in an isolated subinterpreter')\\n"
        )
        i.close()
        """
    )
    assert out.startswith("refused:"), out
