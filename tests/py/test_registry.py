"""The Python-level handler registry: copium.register_handler / unregister_handler / handlers,
handlers written in Python (fn(obj, memo) -> copy) and capsules made the way a C plugin makes
them (here with ctypes), replacement of user and builtin handlers, bad input, handlers that
change the registry while they run, a threaded smoke test, load_plugins() with a fake
installed plugin, and the installed header and pkg-config file. Runs against the installed
copium (run pytest from outside the source tree)."""

import copy
import ctypes
import gc
import os
import re
import shutil
import subprocess
import sys
import textwrap
import threading
import time
import types

import pytest

import copium


@pytest.fixture
def registered():
    """register(type, handler): copium.register_handler, undone after the test (so a failing
    test leaves no handler behind for the next ones)."""
    types_seen = []

    def register(cls, handler):
        types_seen.append(cls)
        copium.register_handler(cls, handler)

    yield register
    for cls in types_seen:
        copium.unregister_handler(cls)


class Box:
    """A plain class: without a handler, stdlib's path copies it (its __dict__)."""

    def __init__(self, value=None):
        self.value = value


def box_handler(obj, memo):
    """A well-behaved Python handler: memoizes its new copy first, copies children with the
    memo, so cycles and shared children work."""
    y = Box.__new__(Box)
    y.via = "handler"
    memo[id(obj)] = y
    y.value = copium.deepcopy(obj.value, memo)
    return y


# --- handlers written in Python ---------------------------------------------------------------


def test_handler_called_with_dict_memo_and_result_used(registered):
    calls = []
    result = object()

    def fn(obj, memo):
        calls.append((obj, isinstance(memo, dict), id(obj) in memo))
        return result

    registered(Box, fn)
    b = Box([1])
    assert copium.deepcopy(b) is result
    assert calls == [(b, True, False)]
    # Inside containers too: a list, a dict value, a tuple.
    out = copium.deepcopy([b, {"k": b}, (b,)])
    assert out == [result, {"k": result}, (result,)]
    assert len(calls) == 2  # the other occurrences came from the memo


def test_engine_stores_result_in_user_memo(registered):
    seen = []

    def fn(obj, memo):
        seen.append(memo)
        assert id(obj) not in memo  # the engine stores it afterwards
        return ["copy of", obj.value]

    registered(Box, fn)
    b = Box(7)
    memo = {}
    c = copium.deepcopy(b, memo)
    assert c == ["copy of", 7]
    assert seen[0] is memo  # the caller's dict itself, as a __deepcopy__ gets it
    assert memo[id(b)] is c
    # Kept alive as stdlib keeps the originals a __deepcopy__ copied.
    assert any(o is b for o in memo[id(memo)])
    # A pre-filled memo is honoured: the handler is not called.
    other = object()
    assert copium.deepcopy(b, {id(b): other}) is other
    assert len(seen) == 1


def test_handler_returning_the_object_itself_is_not_memoized(registered):
    registered(Box, lambda obj, memo: obj)
    b = Box([1])
    memo = {}
    assert copium.deepcopy(b, memo) is b
    assert id(b) not in memo  # stdlib stores only `y is not x`
    out = copium.deepcopy([b, b])
    assert out[0] is b and out[1] is b


def test_shared_children_and_cycles_through_memo(registered):
    registered(Box, box_handler)
    shared = [1, [2]]
    a = Box(shared)
    x = [a, a, Box(shared)]
    c = copium.deepcopy(x)
    assert c[0] is c[1] and c[0] is not a and c[0].via == "handler"
    assert c[0].value is c[2].value and c[0].value == shared and c[0].value is not shared

    # A cycle through an instance: memo[id(obj)] = y inside fn makes it work.
    loop = Box()
    loop.value = [loop, {"me": loop}]
    lc = copium.deepcopy(loop)
    assert lc is not loop and lc.via == "handler"
    assert lc.value[0] is lc and lc.value[1]["me"] is lc
    # The same shape as stdlib gives with a __deepcopy__ doing the same.
    class Hooked(Box):
        def __deepcopy__(self, memo):
            y = Hooked.__new__(Hooked)
            memo[id(self)] = y
            y.value = copy.deepcopy(self.value, memo)
            return y

    h = Hooked()
    h.value = [h, {"me": h}]
    hc = copy.deepcopy(h)
    assert hc.value[0] is hc and hc.value[1]["me"] is hc


def test_handler_exceptions_propagate(registered):
    def fn(obj, memo):
        memo[id(obj)] = "partial"
        raise LookupError("from the handler")

    registered(Box, fn)
    b = Box([1])
    x = [[2], {"k": b}]
    refs = sys.getrefcount(b), sys.getrefcount(x), sys.getrefcount(x[0])
    for _ in range(3):
        with pytest.raises(LookupError) as info:
            copium.deepcopy(x)
        assert str(info.value) == "from the handler"
        with pytest.raises(LookupError):
            copium.deepcopy(b, {})
    del info
    gc.collect()
    assert (sys.getrefcount(b), sys.getrefcount(x), sys.getrefcount(x[0])) == refs
    # A handler that is not a valid callable for two arguments: TypeError from the call.
    copium.register_handler(Box, lambda obj: obj)
    with pytest.raises(TypeError):
        copium.deepcopy(b)


def test_subclasses_are_not_handled(registered):
    calls = []

    def fn(obj, memo):
        calls.append(obj)
        return "handled"

    class Sub(Box):
        pass

    class SubHooked(Box):
        def __deepcopy__(self, memo):
            return "sub-hook"

    registered(Box, fn)
    s = Sub([1])
    c = copium.deepcopy(s)
    assert type(c) is Sub and c is not s and c.value == [1] and c.value is not s.value
    assert copium.deepcopy(SubHooked()) == "sub-hook"
    assert copium.deepcopy([Sub(), Box()])[1] == "handled"
    assert len(calls) == 1


def test_shallow_copy_takes_stdlib_path(registered):
    calls = []

    def fn(obj, memo):
        calls.append(obj)
        return "handled"

    class WithCopy(Box):
        def __copy__(self):
            return "copy-hook"

    registered(Box, fn)
    registered(WithCopy, fn)
    b = Box([1])
    s = copium.copy(b)
    assert type(s) is Box and s is not b and s.value is b.value
    assert copium.copy(WithCopy()) == "copy-hook"
    assert copium.copy([b])[0] is b
    assert calls == []


def test_replacement(registered):
    def first(obj, memo):
        return "first"

    def second(obj, memo):
        return "second"

    registered(Box, first)
    assert copium.deepcopy(Box()) == "first"
    registered(Box, second)
    assert copium.deepcopy(Box()) == "second"
    assert copium.handlers()[Box] == second.__qualname__
    # One registration, whatever it replaced: one unregistration removes it.
    assert copium.unregister_handler(Box) is True
    assert copium.unregister_handler(Box) is False
    assert type(copium.deepcopy(Box())) is Box


def test_unregister_returns_true_then_false():
    class Fresh:
        pass

    def fn(obj, memo):
        return "fresh"

    assert copium.unregister_handler(Fresh) is False  # never registered
    fn_refs, type_refs = sys.getrefcount(fn), sys.getrefcount(Fresh)
    copium.register_handler(Fresh, fn)
    assert sys.getrefcount(fn) > fn_refs  # the registry holds the callable
    assert copium.deepcopy(Fresh()) == "fresh"
    assert copium.unregister_handler(Fresh) is True
    assert copium.unregister_handler(Fresh) is False
    gc.collect()
    assert sys.getrefcount(fn) == fn_refs
    assert sys.getrefcount(Fresh) == type_refs
    assert type(copium.deepcopy(Fresh())) is Fresh


def test_unregister_builtin_is_false():
    assert copium.unregister_handler(list) is False
    assert copium.unregister_handler(int) is False
    assert copium.handlers()[list] == "list"
    x = [1, [2], {"k": [3]}]
    x.append(x)
    c = copium.deepcopy(x)
    assert c is not x and c[3] is c and c[1] == [2] and c[1] is not x[1]
    assert copium.copy(x)[1] is x[1]


def test_replace_builtin_and_restore():
    def fn(obj, memo):
        return ("D", len(obj))

    builtin_name = copium.handlers()[dict]
    copium.register_handler(dict, fn)
    try:
        assert copium.handlers()[dict] == fn.__qualname__
        assert copium.deepcopy({"a": 1}) == ("D", 1)
        assert copium.deepcopy([{}, {"k": 1}]) == [("D", 0), ("D", 1)]
        # Shallow copies keep stdlib's path (the dict's own copy).
        d = {"k": [1]}
        s = copium.copy(d)
        assert s == d and s is not d and s["k"] is d["k"]
    finally:
        assert copium.unregister_handler(dict) is True
    # The builtin behaviour is back, and stays (unregistering again removes nothing).
    d = {"k": [1]}
    d["self"] = d
    c = copium.deepcopy(d)
    assert c is not d and c["self"] is c and c["k"] == [1] and c["k"] is not d["k"]
    assert copium.unregister_handler(dict) is False
    assert copium.handlers()[dict] == builtin_name


def test_replace_builtin_atom():
    def fn(obj, memo):
        return ("I", obj)

    copium.register_handler(int, fn)
    try:
        assert copium.deepcopy(5) == ("I", 5)
        assert copium.deepcopy([5, (6,)]) == [("I", 5), (("I", 6),)]
        assert copium.copy(5) == 5  # shallow copies keep stdlib's path: the int itself
    finally:
        assert copium.unregister_handler(int) is True
    x = [5, 10**30]
    c = copium.deepcopy(x)
    assert c == x and c[1] is x[1]
    assert copium.deepcopy(7) == 7
    assert copium.handlers()[int] == "atomic"


def test_handlers_lists_restored_builtin_at_once():
    # Removing a replacement gives the builtin back at once, before any copy of the type.
    copium.register_handler(dict, lambda obj, memo: "D")
    assert copium.unregister_handler(dict) is True
    try:
        assert copium.handlers().get(dict) == "dict"
    finally:
        copium.deepcopy({})  # resolves dict again, for the tests after this one
    assert copium.unregister_handler(dict) is False


# --- handlers() -------------------------------------------------------------------------------


def test_handlers_mapping(registered):
    view = copium.handlers()
    assert isinstance(view, types.MappingProxyType)
    with pytest.raises(TypeError):
        view[Box] = "x"
    with pytest.raises(TypeError):
        del view[list]
    assert view[list] == "list"
    assert view[dict] == "dict"
    assert view[tuple] == "tuple"
    for atom in (int, str, bytes, float, bool, complex, type(None), type):
        assert view[atom] == "atomic", atom
    assert all(isinstance(k, type) and isinstance(v, str) for k, v in view.items())
    assert Box not in view

    def named_handler(obj, memo):
        return obj

    class CallableWithoutQualname:
        def __call__(self, obj, memo):
            return obj

        def __repr__(self):
            return "<callable object>"

    class Other:
        pass

    class Third:
        pass

    registered(Box, named_handler)
    registered(Other, lambda obj, memo: obj)
    registered(Third, CallableWithoutQualname())
    view = copium.handlers()
    assert view[Box] == named_handler.__qualname__
    assert view[Box].endswith("test_handlers_mapping.<locals>.named_handler")
    assert view[Other] == "test_handlers_mapping.<locals>.<lambda>"
    assert view[Third] == "<callable object>"  # no __qualname__: its repr
    assert view[list] == "list"


# --- bad input --------------------------------------------------------------------------------


class _Handler(ctypes.Structure):
    """struct copium_handler (include/copium/copium.h), level 1 layout."""

    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("name", ctypes.c_char_p),
        ("flags", ctypes.c_uint32),
        ("deepcopy", ctypes.c_void_p),
        ("copy", ctypes.c_void_p),
        ("data", ctypes.c_void_p),
    ]


_capsule_new = ctypes.pythonapi.PyCapsule_New
_capsule_new.restype = ctypes.py_object
_capsule_new.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]

# Capsules and the structs and names they point to must outlive every registration.
_KEEP = []
_HANDLER_CAPSULE_NAME = b"copium.handler"
_OTHER_CAPSULE_NAME = b"someone.else"


def make_capsule(name=b"ctypes-atomic", flags=1, struct_size=ctypes.sizeof(_Handler),
                 capsule_name=_HANDLER_CAPSULE_NAME):
    handler = _Handler(struct_size, name, flags, None, None, None)
    capsule = _capsule_new(ctypes.addressof(handler), capsule_name, None)
    _KEEP.append((handler, capsule))
    return capsule


def test_capsule_handler(registered):
    class Frozen:
        pass

    capsule = make_capsule()
    refs = sys.getrefcount(capsule)
    registered(Frozen, capsule)
    f = Frozen()
    assert copium.deepcopy(f) is f and copium.copy(f) is f
    assert copium.deepcopy([f])[0] is f
    assert copium.handlers()[Frozen] == "ctypes-atomic"
    assert copium.unregister_handler(Frozen) is True
    assert sys.getrefcount(capsule) == refs
    assert copium.deepcopy(f) is not f


def test_bad_input():
    class Target:
        pass

    def fn(obj, memo):
        return obj

    with pytest.raises(TypeError):
        copium.register_handler(5, fn)
    with pytest.raises(TypeError):
        copium.register_handler(Target(), fn)
    with pytest.raises(TypeError):
        copium.register_handler(Target, 5)
    with pytest.raises(TypeError):
        copium.register_handler(Target, "not callable")
    with pytest.raises(TypeError):
        copium.register_handler(Target, None)
    # A capsule, but not a copium.handler capsule.
    with pytest.raises(ValueError, match="copium.handler.*someone.else"):
        copium.register_handler(Target, make_capsule(capsule_name=_OTHER_CAPSULE_NAME))
    # A copium.handler capsule holding a malformed handler.
    with pytest.raises(ValueError):
        copium.register_handler(Target, make_capsule(struct_size=0))
    with pytest.raises(ValueError):
        copium.register_handler(Target, make_capsule(flags=0x4))
    # copium's internal flags: STDLIB_ATOM, and QUIET (runs no Python code, so the collector
    # may stay paused), which no plugin can promise for copium.
    for internal in (0x80000000, 0x40000000):
        with pytest.raises(ValueError, match="unknown flag bits 0x%x" % internal):
            copium.register_handler(Target, make_capsule(flags=1 | internal))
    with pytest.raises(ValueError):
        copium.register_handler(Target, make_capsule(name=None))
    # Argument counts and keywords.
    with pytest.raises(TypeError):
        copium.register_handler()
    with pytest.raises(TypeError):
        copium.register_handler(Target)
    with pytest.raises(TypeError):
        copium.register_handler(Target, fn, None)
    with pytest.raises(TypeError):
        copium.register_handler(type=Target, handler=fn)
    with pytest.raises(TypeError):
        copium.unregister_handler()
    with pytest.raises(TypeError):
        copium.unregister_handler(Target, Target)
    with pytest.raises(TypeError):
        copium.unregister_handler(5)
    with pytest.raises(TypeError):
        copium.handlers(1)
    # Nothing was registered by any of it.
    assert Target not in copium.handlers()
    assert copium.unregister_handler(Target) is False
    t = Target()
    assert type(copium.deepcopy(t)) is Target and copium.deepcopy(t) is not t


# --- the registry changing while a handler runs ------------------------------------------------


def test_handler_unregisters_itself():
    class Node:
        def __deepcopy__(self, memo):
            return "hook"

    results = []

    def make():
        # The registry holds the only reference to this closure.
        def fn(obj, memo):
            results.append(copium.unregister_handler(Node))
            return "handler"

        return fn

    copium.register_handler(Node, make())
    assert copium.deepcopy([Node(), Node(), {"k": Node()}]) == ["handler", "hook", {"k": "hook"}]
    assert results == [True]
    assert Node not in copium.handlers()
    copium.register_handler(Node, make())
    assert copium.deepcopy(Node()) == "handler"
    assert copium.deepcopy(Node()) == "hook"
    assert results == [True, True]


def test_handler_replaces_itself_and_registers_others():
    class Node:
        pass

    extra = [type("Extra%d" % i, (), {}) for i in range(50)]

    def second(obj, memo):
        return "second"

    def first(obj, memo):
        for cls in extra:  # the table grows and shrinks under the running copy
            copium.register_handler(cls, second)
        for cls in extra:
            copium.unregister_handler(cls)
        copium.register_handler(Node, second)
        return "first"

    copium.register_handler(Node, first)
    try:
        assert copium.deepcopy([Node(), Node(), Node()]) == ["first", "second", "second"]
        assert copium.handlers()[Node] == second.__qualname__
        assert not any(cls in copium.handlers() for cls in extra)
    finally:
        copium.unregister_handler(Node)


def test_threads_copy_while_registry_changes():
    class Item:
        def __init__(self, v):
            self.v = v

    def fn(obj, memo):
        return ("H", obj.v)

    stop = threading.Event()
    errors = []
    seen = {"handler": 0, "stdlib": 0}
    toggles = [0]

    def copier(k):
        try:
            while not stop.is_set():
                data = [Item(i) for i in range(k, k + 20)]
                out = copium.deepcopy({"items": data, "k": [k]})
                assert out["k"] == [k]
                for orig, c in zip(data, out["items"]):
                    if type(c) is tuple:
                        assert c == ("H", orig.v)
                        seen["handler"] += 1
                    else:
                        assert type(c) is Item and c is not orig and c.v == orig.v
                        seen["stdlib"] += 1
                s = copium.copy(data[0])  # never the handler: shallow copies take stdlib's path
                assert type(s) is Item and s is not data[0] and s.v == data[0].v
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    def toggler():
        try:
            while not stop.is_set():
                copium.register_handler(Item, fn)
                time.sleep(0.0005)
                assert copium.unregister_handler(Item) is True
                time.sleep(0.0005)
                toggles[0] += 1
                copium.handlers()
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        threads = [threading.Thread(target=copier, args=(k * 100,)) for k in range(4)]
        threads.append(threading.Thread(target=toggler))
        for t in threads:
            t.start()
        time.sleep(1.5)
        stop.set()
        for t in threads:
            t.join(30)
    finally:
        stop.set()
        sys.setswitchinterval(old_interval)
        copium.unregister_handler(Item)
    assert not errors, errors
    assert toggles[0] > 0
    assert seen["handler"] > 0 and seen["stdlib"] > 0, seen


# --- plugins: load_plugins, header, pkg-config --------------------------------------------------


def test_load_plugins_returns_list():
    loaded = copium.load_plugins()
    assert isinstance(loaded, list)
    assert all(isinstance(name, str) for name in loaded)


def test_load_plugins_imports_entry_points(tmp_path, monkeypatch):
    module_name = "copium_fake_plugin_for_tests"
    (tmp_path / (module_name + ".py")).write_text(
        textwrap.dedent(
            """\
            import copium

            IMPORTED = True

            class Thing:
                pass

            def copy_thing(obj, memo):
                return "copied by the fake plugin"

            copium.register_handler(Thing, copy_thing)
            """
        )
    )
    dist = tmp_path / "copium_fake_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: copium-fake-plugin\nVersion: 1.0\n"
    )
    (dist / "entry_points.txt").write_text(
        "[copium.plugins]\nfake = %s\n\n[other.group]\nnot_this = nonexistent_module\n"
        % module_name
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, module_name, raising=False)
    try:
        loaded = copium.load_plugins()
        assert "fake" in loaded
        assert "not_this" not in loaded
        plugin = sys.modules[module_name]
        assert plugin.IMPORTED is True
        assert copium.deepcopy(plugin.Thing()) == "copied by the fake plugin"
        assert copium.handlers()[plugin.Thing] == "copy_thing"
    finally:
        plugin = sys.modules.pop(module_name, None)
        if plugin is not None:
            copium.unregister_handler(plugin.Thing)


def test_import_copium_scans_nothing():
    code = (
        "import sys\n"
        "before = 'importlib.metadata' in sys.modules\n"
        "import copium\n"
        "print(before, 'importlib.metadata' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        cwd=os.path.dirname(os.path.dirname(copium.__file__)),
    ).stdout.split()
    assert out[0] == "True" or out[1] == "False", out


def test_get_include_has_header():
    include = copium.get_include()
    header = os.path.join(include, "copium.h")
    assert os.path.isfile(header)
    text = open(header, encoding="utf-8").read()
    assert "#define COPIUM_ABI_VERSION" in text
    assert "copium_import" in text


def parse_pc(path):
    """Variables and keywords of a pkg-config file, ${var} expanded (pcfiledir included)."""
    variables = {"pcfiledir": os.path.dirname(os.path.abspath(path))}
    keywords = {}

    def expand(value):
        for _ in range(20):
            new = re.sub(r"\$\{(\w+)\}", lambda m: variables[m.group(1)], value)
            if new == value:
                return new
            value = new
        raise AssertionError("unresolved variables in " + value)

    for line in open(path, encoding="utf-8"):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.match(r"^([A-Za-z_][\w.]*)\s*([:=])\s*(.*)$", line)
        assert m, line
        key, sep, value = m.groups()
        if sep == "=":
            variables[key] = expand(value)
        else:
            keywords[key] = expand(value)
    return variables, keywords


def test_pkgconfig_points_at_include():
    pc = os.path.join(copium.get_pkgconfig_dir(), "copium.pc")
    assert os.path.isfile(pc)
    _, keywords = parse_pc(pc)
    assert keywords["Name"] == "copium"
    assert keywords["Version"] == copium.__version__
    flags = keywords["Cflags"].split()
    includes = [f[2:] for f in flags if f.startswith("-I")]
    assert len(includes) == 1, flags
    assert os.path.samefile(includes[0], copium.get_include())


@pytest.mark.skipif(shutil.which("pkg-config") is None, reason="pkg-config not installed")
def test_pkgconfig_tool_agrees():
    env = dict(os.environ, PKG_CONFIG_PATH=copium.get_pkgconfig_dir())
    out = subprocess.run(
        ["pkg-config", "--cflags", "copium"], capture_output=True, text=True, env=env, check=True
    ).stdout.split()
    includes = [f[2:] for f in out if f.startswith("-I")]
    assert len(includes) == 1 and os.path.samefile(includes[0], copium.get_include())
