"""CPython's own Lib/test/test_copy.py, run against copium.

The test module is taken from the running interpreter's standard `test` package, loaded under a
private name, and its global `copy` (the stdlib module it imported) is replaced by a module
object that exposes copium's public API: copy, deepcopy, Error, error and, on 3.13+, replace.
Names copium does not define (none that test_copy uses today; private helpers of copy.py, say)
fall back to the stdlib copy module, so a new test touching such a name still runs.

Every unittest method of the module is collected by pytest as its own item, under the name of
its TestCase class (e.g. `test_cpython_suite.py::TestCopy::test_deepcopy_reflexive_list`).
A missing `test` package is an error, never a silent skip.
"""

import copy as stdlib_copy
import importlib.util
import sys
import types
import unittest

import copium

# The public names of the copy module that copium must provide itself, never through fallback.
PUBLIC_NAMES = ["copy", "deepcopy", "Error", "error"]
if sys.version_info >= (3, 13):
    PUBLIC_NAMES.append("replace")

LOADED_NAME = "_copium_cpython_test_copy"


class _ModuleName(str):
    """The namespace's __name__: "copy", and equal as well to the module names that copium's
    functions report in __module__ (e.g. "copium._copium"). CPython's test__all__ calls
    support.check__all__, which counts a public name as defined by the module under test when
    its __module__ equals that module's __name__: the namespace stands for both copy (whose
    Error copium re-exports) and copium."""

    def __new__(cls, name, aliases):
        self = super().__new__(cls, name)
        self.aliases = frozenset(aliases) | {name}
        return self

    def __eq__(self, other):
        return isinstance(other, str) and str(other) in self.aliases

    def __ne__(self, other):
        return not self.__eq__(other)

    __hash__ = str.__hash__


class CopiumAsCopy(types.ModuleType):
    """The `copy` seen by CPython's test_copy: copium's functions, stdlib's for the rest."""

    def __getattr__(self, name):
        # Only called for names not set on the namespace: what copium does not define.
        try:
            return getattr(stdlib_copy, name)
        except AttributeError:
            raise AttributeError("neither copium nor copy has %r" % (name,)) from None


def _make_namespace():
    missing = [n for n in PUBLIC_NAMES if not hasattr(copium, n)]
    if missing:
        raise RuntimeError("copium lacks public names of the copy module: %s" % missing)
    modules = {getattr(getattr(copium, n), "__module__", None) for n in PUBLIC_NAMES}
    modules.discard(None)
    ns = CopiumAsCopy(_ModuleName("copy", modules), "copium, standing in for the copy module")
    for n in PUBLIC_NAMES:
        setattr(ns, n, getattr(copium, n))
    ns.__all__ = list(stdlib_copy.__all__)
    return ns


def _load_cpython_test_copy():
    try:
        spec = importlib.util.find_spec("test.test_copy")
    except ImportError as e:
        spec = None
        why = e
    else:
        why = "no module test.test_copy"
    if spec is None or spec.origin is None:
        raise RuntimeError(
            "CPython's test suite (the `test` package with test_copy.py) is missing from %s "
            "(%s): this interpreter was built without it; install it (Debian: "
            "libpython3.X-testsuite) to run CPython's copy tests against copium"
            % (sys.executable, why)
        )
    spec = importlib.util.spec_from_file_location(LOADED_NAME, spec.origin)
    module = importlib.util.module_from_spec(spec)
    sys.modules[LOADED_NAME] = module
    spec.loader.exec_module(module)
    if module.copy is not stdlib_copy:
        raise RuntimeError("test_copy.py no longer does `import copy`: adapt %s" % __file__)
    module.copy = COPY_NAMESPACE
    return module


COPY_NAMESPACE = _make_namespace()
CPYTHON_TEST_COPY = _load_cpython_test_copy()
CPYTHON_TEST_CLASSES = {
    name: obj
    for name, obj in vars(CPYTHON_TEST_COPY).items()
    if isinstance(obj, type) and issubclass(obj, unittest.TestCase)
}

# Hand the TestCase classes to pytest's unittest collection: one item per test method.
globals().update(CPYTHON_TEST_CLASSES)


def _test_methods():
    loader = unittest.TestLoader()
    return [
        (cls_name, method)
        for cls_name, cls in CPYTHON_TEST_CLASSES.items()
        for method in loader.getTestCaseNames(cls)
    ]


def test_substitution_happened():
    ns = CPYTHON_TEST_COPY.copy
    assert ns is COPY_NAMESPACE
    assert isinstance(ns, CopiumAsCopy)
    for name in PUBLIC_NAMES:
        assert getattr(ns, name) is getattr(copium, name), name
    assert copium.deepcopy is not stdlib_copy.deepcopy
    assert copium.copy is not stdlib_copy.copy
    if sys.version_info >= (3, 13):
        assert copium.replace is not stdlib_copy.replace
    assert copium.Error is stdlib_copy.Error
    # The test methods read `copy` from the loaded module's globals, which now hold copium.
    cls = CPYTHON_TEST_CLASSES["TestCopy"]
    assert cls.test_copy_basic.__globals__ is vars(CPYTHON_TEST_COPY)
    assert cls.test_copy_basic.__globals__["copy"] is COPY_NAMESPACE
    # The stdlib module itself is untouched: other code still gets the real copy module.
    assert sys.modules["copy"] is stdlib_copy


def test_cpython_suite_is_complete():
    """Guard against the suite shrinking to nothing (a renamed class, a failed load)."""
    assert "TestCopy" in CPYTHON_TEST_CLASSES
    if sys.version_info >= (3, 13):
        assert "TestReplace" in CPYTHON_TEST_CLASSES
    methods = _test_methods()
    # test_copy.py has about 80 tests in TestCopy on 3.10-3.12, and more on 3.13.
    assert len(methods) >= 70, methods
