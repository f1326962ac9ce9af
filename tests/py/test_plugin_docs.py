"""The error messages the plugin documentation quotes are the ones the code gives: every
backticked message of docs/plugins.md's "Errors for bad plugins" table, every quoted
`ImportError: ...` of docs/plugins.md and examples/pair/README.md, produced here by the code
path the text describes and compared with the text.

- copium_import()'s messages come from the example plugin's real copium_import() (compiled into
  pair._pair from the installed header): a fresh module object of pair._pair is executed while
  copium._copium is swapped for a fake one (no capsule, or a copy of the real table with one
  field changed), so the import fails exactly as it would against such a copium.
- Registration messages come from copium.register_handler (a callable or a ctypes-built
  copium.handler capsule) and, for what only C can pass (a NULL handler, a non-type), from the
  capsule's register_handler function called through ctypes.

In a message, N, M and K stand for numbers (docs/plugins.md says which); everything else is
compared verbatim. A quoted message that no producer here knows fails the test, and so does a
producer whose message the docs no longer quote."""

import ctypes
import importlib.util
import os
import re
import sys
import types

import pytest

import copium

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLUGINS_MD = os.path.join(ROOT, "docs", "plugins.md")
PAIR_README = os.path.join(ROOT, "examples", "pair", "README.md")
CAPSULE_NAME = b"copium._copium._C_API"

pair = pytest.importorskip("pair", reason="the example plugin examples/pair is not installed "
                           "(make plugins-3.X builds it; make test-3.X always does)")


# --------------------------------------------------------------------------------------------
# What the documents quote


def _read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def _errors_table_messages(text):
    """The backticked messages of the Message column of the "Errors for bad plugins" table."""
    section = text.split("## Errors for bad plugins", 1)[1]
    found = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or cells[0] in ("Mistake", "---"):
            continue
        found += [m for m in re.findall(r"`([^`]+)`", cells[2])]
    return found


def _quoted_import_errors(text):
    return re.findall(r"`ImportError: ([^`]+)`", text)


def documented_messages():
    plugins_md, readme = _read(PLUGINS_MD), _read(PAIR_README)
    return set(_errors_table_messages(plugins_md)) | set(_quoted_import_errors(plugins_md)) | set(
        _quoted_import_errors(readme))


def matches(template, message):
    """message is template with each N, M and K (a whole word) a number, and each "..." (an
    excerpt's elision) any text."""
    pattern = re.sub(r"\b[NMK]\b", "[0-9]+", re.escape(template)).replace(re.escape("..."), ".*")
    return re.fullmatch(pattern, message) is not None


# --------------------------------------------------------------------------------------------
# copium_import(), as compiled into pair._pair


class _Api(ctypes.Structure):
    """The head of struct copium_api (include/copium/copium.h): the version fields and the first
    function."""

    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("abi_version", ctypes.c_uint32),
        ("api_level", ctypes.c_uint32),
        ("register_handler", ctypes.c_void_p),
    ]


ctypes.pythonapi.PyCapsule_GetPointer.restype = ctypes.c_void_p
ctypes.pythonapi.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
ctypes.pythonapi.PyCapsule_New.restype = ctypes.py_object
ctypes.pythonapi.PyCapsule_New.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]

_KEEP = []  # buffers and capsules that fake tables live in


def real_table():
    return ctypes.pythonapi.PyCapsule_GetPointer(copium._copium._C_API, CAPSULE_NAME)


def fake_copium(**changes):
    """A module posing as copium._copium whose _C_API is a copy of the real table with the given
    fields changed (no _C_API at all when changes is None)."""
    module = types.ModuleType("copium._copium")
    size = _Api.from_address(real_table()).struct_size
    buf = ctypes.create_string_buffer(size + 64)
    ctypes.memmove(buf, real_table(), size)
    head = _Api.from_buffer(buf)
    for field, value in changes.items():
        setattr(head, field, value)
    capsule = ctypes.pythonapi.PyCapsule_New(ctypes.addressof(buf), CAPSULE_NAME, None)
    _KEEP.append((buf, capsule))
    module._C_API = capsule
    return module


def pair_import_error(monkeypatch, fake):
    """The ImportError a fresh pair._pair module object raises while copium._copium is fake
    (None: no such module)."""
    spec = importlib.util.find_spec("pair._pair")
    with monkeypatch.context() as m:
        if fake is None:
            m.setitem(sys.modules, "copium", None)
        else:
            m.setitem(sys.modules, "copium._copium", fake)
            m.setattr(copium, "_copium", fake)
        module = importlib.util.module_from_spec(spec)
        with pytest.raises(ImportError) as info:
            spec.loader.exec_module(module)
    return str(info.value)


def import_error_no_copium(monkeypatch):
    return pair_import_error(monkeypatch, None)


def import_error_no_capsule(monkeypatch):
    return pair_import_error(monkeypatch, types.ModuleType("copium._copium"))


def import_error_abi(monkeypatch):
    return pair_import_error(monkeypatch, fake_copium(abi_version=2))


def import_error_level(monkeypatch):
    return pair_import_error(monkeypatch, fake_copium(api_level=0))


def import_error_table_size(monkeypatch):
    return pair_import_error(monkeypatch, fake_copium(struct_size=16))


# --------------------------------------------------------------------------------------------
# Registration


class _Handler(ctypes.Structure):
    """struct copium_handler, level 1 layout."""

    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("name", ctypes.c_char_p),
        ("flags", ctypes.c_uint32),
        ("deepcopy", ctypes.c_void_p),
        ("copy", ctypes.c_void_p),
        ("data", ctypes.c_void_p),
    ]


MIN_SIZE = _Handler.data.offset + ctypes.sizeof(ctypes.c_void_p)  # COPIUM_HANDLER_MIN_SIZE


class Target:
    pass


def handler_capsule(name=b"name", flags=0, struct_size=ctypes.sizeof(_Handler),
                    capsule_name=b"copium.handler"):
    handler = _Handler(struct_size, name, flags, None, None, None)
    capsule = ctypes.pythonapi.PyCapsule_New(ctypes.addressof(handler), capsule_name, None)
    _KEEP.append((handler, capsule))
    return capsule


def c_register(type_address, handler_address):
    """The table's register_handler(type, handler), called as a C plugin calls it."""
    fn = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)(
        _Api.from_address(real_table()).register_handler)
    return fn(type_address, handler_address)


def raised(exc_type, fn, *args):
    with pytest.raises(exc_type) as info:
        fn(*args)
    assert Target not in copium.handlers()
    return str(info.value)


def register_not_a_type(monkeypatch):
    handler = _Handler(ctypes.sizeof(_Handler), b"ok", 0, None, None, None)
    not_a_type = [1, 2]
    return raised(TypeError, c_register, id(not_a_type), ctypes.addressof(handler))


def register_not_a_type_python(monkeypatch):
    return raised(TypeError, copium.register_handler, 5, lambda obj, memo: obj)


def register_null_handler(monkeypatch):
    return raised(ValueError, c_register, id(Target), None)


def register_struct_size_0(monkeypatch):
    return raised(ValueError, copium.register_handler, Target, handler_capsule(struct_size=0))


def register_unknown_flags(monkeypatch):
    return raised(ValueError, copium.register_handler, Target, handler_capsule(flags=0x10))


def register_no_name(monkeypatch):
    return raised(ValueError, copium.register_handler, Target, handler_capsule(name=None))


def register_not_callable(monkeypatch):
    return raised(TypeError, copium.register_handler, Target, 5)


def register_other_capsule(monkeypatch):
    capsule = handler_capsule(capsule_name=b"someone.else")
    return raised(ValueError, copium.register_handler, Target, capsule)


# message as the docs quote it -> what produces it
PRODUCERS = {
    "this plugin needs copium, whose C API (copium._copium._C_API) could not be imported: "
    "install copium": [import_error_no_copium, import_error_no_capsule],
    "this plugin was built against copium C ABI version N, but the installed copium has ABI "
    "version M: rebuild the plugin against the installed copium": [import_error_abi],
    "this plugin was built against copium C ABI version 1, but the installed copium has ABI "
    "version 2: rebuild the plugin against the installed copium": [import_error_abi],
    "this plugin needs copium C API level N, but the installed copium provides level M: "
    "upgrade copium": [import_error_level],
    "the installed copium's C API table is N bytes, smaller than API level M's K: the copium "
    "installation is broken, reinstall it": [import_error_table_size],
    "copium: a handler can only be registered for a type": [register_not_a_type],
    "register_handler() needs a type, not int": [register_not_a_type_python],
    "copium: handler is NULL": [register_null_handler],
    "copium: handler struct_size 0 is smaller than the first published layout (%d bytes): "
    "rebuild the plugin against copium's header" % MIN_SIZE: [register_struct_size_0],
    "copium: handler 'name' has unknown flag bits 0x10: it needs a newer copium":
        [register_unknown_flags],
    "copium: handler has no name": [register_no_name],
    "copium: a handler must be callable, not int": [register_not_callable],
    "register_handler() needs a capsule named 'copium.handler' holding a copium_handler, not "
    "one named 'someone.else'": [register_other_capsule],
}


def _documented(message):
    """The struct_size message quotes 48 bytes (64-bit platforms): here, this platform's size."""
    return message.replace("(48 bytes)", "(%d bytes)" % MIN_SIZE)


def test_every_quoted_message_has_a_producer():
    documented = {_documented(m) for m in documented_messages()}
    assert documented, "no messages found in the documents: has their layout changed?"
    # An excerpt ("ImportError: ... upgrade copium") is checked against the messages it is cut
    # from: it must match one of them.
    excerpts = {m for m in documented if "..." in m}
    for excerpt in excerpts:
        assert any(matches(excerpt, full) for full in PRODUCERS), excerpt
    assert documented - excerpts - set(PRODUCERS) == set(), "quoted in the docs, never produced"
    assert set(PRODUCERS) - documented == set(), "produced here, no longer quoted in the docs"


@pytest.mark.parametrize("message", sorted(PRODUCERS))
def test_quoted_message_is_produced(message, monkeypatch):
    for produce in PRODUCERS[message]:
        got = produce(monkeypatch)
        assert matches(message, got), "%s gave\n  %s\nthe docs say\n  %s" % (
            produce.__name__, got, message)


def test_import_failures_leave_pair_working(monkeypatch):
    """The fresh module objects failed before registering anything: the real pair._pair still
    copies through its handler."""
    import_error_abi(monkeypatch)
    import_error_no_copium(monkeypatch)
    assert copium.handlers()[pair.Pair] == "pair.Pair"
    p = pair.Pair([1], None)
    p.second = p
    c = copium.deepcopy(p)
    assert c.second is c and c.first == [1] and c.first is not p.first
