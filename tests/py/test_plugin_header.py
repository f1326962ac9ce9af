"""The installed plugin header's compile-time rules, checked with the C compiler on small
plugins: a plugin of one C file compiles warning-free as C11 (and as C++ when a C++ compiler is
there); a plugin of two C files with COPIUM_UNIQUE_SYMBOL / COPIUM_NO_IMPORT links into one
shared object with one, hidden, API pointer, while two files that both define it do not link;
COPIUM_NO_IMPORT alone, a target API level outside 1..COPIUM_API_LEVEL, and copium_import()
called in a COPIUM_NO_IMPORT file are compile errors. (What the import then checks at run time is
tested in tests/c/test_plugin_import.c and test_plugin_docs.py.)

About 10 compiler runs, a few seconds. The compiler runs without the sanitizers' LD_PRELOAD."""

import ctypes
import os
import shutil
import subprocess
import sys
import sysconfig

import pytest

import copium

CC = (sysconfig.get_config_var("CC") or "cc").split()[0]
CXX = shutil.which("g++") or shutil.which("c++")

pytestmark = pytest.mark.skipif(shutil.which(CC) is None, reason="no C compiler (%s)" % CC)


def _env():
    """The environment without the sanitizer settings (make test-sanitize preloads ASan)."""
    drop = ("LD_PRELOAD", "ASAN_OPTIONS", "LSAN_OPTIONS", "UBSAN_OPTIONS", "PYTHONMALLOC")
    return {k: v for k, v in os.environ.items() if k not in drop}


def _includes():
    paths = [copium.get_include(), sysconfig.get_paths()["include"],
             sysconfig.get_paths()["platinclude"]]
    return ["-I" + p for p in dict.fromkeys(paths)]


def compile_c(tmp_path, sources, *flags, cc=None, link=False):
    """Compile (and with link=True, link into a shared object) the given {name: text} sources.
    Returns (returncode, compiler output, path of the object or shared object)."""
    files = []
    for name, text in sources.items():
        path = tmp_path / name
        path.write_text(text)
        files.append(str(path))
    out = tmp_path / ("plugin.so" if link else "plugin.o")
    cmd = [cc or CC, *_includes(), "-Wall", "-Wextra", "-Werror", "-fPIC", *flags]
    cmd += ["-shared", "-o", str(out)] if link else ["-c", "-o", str(out)]
    r = subprocess.run(cmd + files, capture_output=True, text=True, env=_env(), timeout=120)
    return r.returncode, r.stdout + r.stderr, out


ONE_FILE = r"""
#include <copium.h>

static PyObject *deep(copium_ctx *ctx, PyObject *obj, copium_hash_t hash, void *data)
{
    (void)data;
    PyObject *copy = copium_deepcopy_default(ctx, obj, hash);
    if (copy != NULL && copium_has_api_level(1) && copium_memo_store(ctx, obj, hash, copy) < 0)
        Py_CLEAR(copy);
    return copy;
}

static const copium_handler handler = {
    .struct_size = sizeof(copium_handler), .name = "one", .deepcopy = deep,
};

int plugin_init(PyTypeObject *type)
{
    if (copium_import() < 0)
        return -1;
    return copium_register_handler(type, &handler);
}
"""

CPP_FILE = r"""
#include <copium.h>

static PyObject *deep(copium_ctx *ctx, PyObject *obj, copium_hash_t hash, void *)
{
    return copium_deepcopy_default(ctx, obj, hash);
}

extern "C" int plugin_init(PyTypeObject *type)
{
    static copium_handler handler;
    handler.struct_size = sizeof(copium_handler);
    handler.name = "cpp";
    handler.deepcopy = deep;
    if (copium_import() < 0)
        return -1;
    return copium_register_handler(type, &handler);
}
"""

MAIN_FILE = r"""
#define COPIUM_UNIQUE_SYMBOL twofile_copium_API
#include <copium.h>

int twofile_register(PyTypeObject *type);

int plugin_init(PyTypeObject *type)
{
    if (copium_import() < 0)
        return -1;
    return twofile_register(type);
}

const void *plugin_pointer_address(void)
{
    return &copium_API;
}
"""

OTHER_FILE = r"""
#define COPIUM_UNIQUE_SYMBOL twofile_copium_API
#define COPIUM_NO_IMPORT
#include <copium.h>

static const copium_handler handler = {
    .struct_size = sizeof(copium_handler), .name = "two", .flags = COPIUM_HANDLER_ATOMIC,
};

int twofile_register(PyTypeObject *type)
{
    return copium_register_handler(type, &handler);
}

const void *other_pointer_address(void)
{
    return &twofile_copium_API;
}
"""


def test_one_file_plugin_compiles(tmp_path):
    rc, out, _ = compile_c(tmp_path, {"one.c": ONE_FILE}, "-std=c11")
    assert rc == 0, out


@pytest.mark.skipif(CXX is None, reason="no C++ compiler")
def test_header_compiles_as_cpp(tmp_path):
    rc, out, _ = compile_c(tmp_path, {"one.cpp": CPP_FILE}, "-std=c++11", cc=CXX)
    assert rc == 0, out


def test_two_files_share_one_hidden_pointer(tmp_path):
    rc, out, so = compile_c(tmp_path, {"main.c": MAIN_FILE, "other.c": OTHER_FILE}, "-std=c11",
                            link=True)
    assert rc == 0, out
    lib = ctypes.CDLL(str(so))
    main_view = ctypes.CFUNCTYPE(ctypes.c_void_p)(("plugin_pointer_address", lib))
    other_view = ctypes.CFUNCTYPE(ctypes.c_void_p)(("other_pointer_address", lib))
    assert main_view() == other_view()  # one object for both files
    with pytest.raises(AttributeError):
        lib.twofile_copium_API  # hidden: not exported from the shared object # noqa: B018


def test_two_definitions_do_not_link(tmp_path):
    """Without COPIUM_NO_IMPORT in the second file, both define the pointer."""
    other = OTHER_FILE.replace("#define COPIUM_NO_IMPORT\n", "")
    rc, out, _ = compile_c(tmp_path, {"main.c": MAIN_FILE, "other.c": other}, "-std=c11",
                           link=True)
    assert rc != 0
    assert "twofile_copium_API" in out, out


def test_no_import_needs_unique_symbol(tmp_path):
    source = "#define COPIUM_NO_IMPORT\n#include <copium.h>\n"
    rc, out, _ = compile_c(tmp_path, {"bad.c": source}, "-std=c11")
    assert rc != 0
    assert "COPIUM_NO_IMPORT needs COPIUM_UNIQUE_SYMBOL" in out, out


def test_no_import_file_has_no_copium_import(tmp_path):
    source = OTHER_FILE + "\nint again(void) { return copium_import(); }\n"
    rc, out, _ = compile_c(tmp_path, {"bad.c": source}, "-std=c11",
                           "-Werror=implicit-function-declaration")
    assert rc != 0
    assert "copium_import" in out, out


@pytest.mark.parametrize("target", ["0", "-1", "the header's level + 1"])
def test_target_level_out_of_range(tmp_path, target):
    level = _header_level() + 1 if target.startswith("the header") else int(target)
    source = "#define COPIUM_TARGET_API_LEVEL (%d)\n#include <copium.h>\n" % level
    rc, out, _ = compile_c(tmp_path, {"bad.c": source}, "-std=c11")
    assert rc != 0
    assert "COPIUM_TARGET_API_LEVEL must be at least 1" in out, out


def test_target_level_in_range(tmp_path):
    source = "#define COPIUM_TARGET_API_LEVEL 1\n" + ONE_FILE
    rc, out, _ = compile_c(tmp_path, {"one.c": source}, "-std=c11")
    assert rc == 0, out


def _header_level():
    with open(os.path.join(copium.get_include(), "copium.h"), encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if parts[:2] == ["#define", "COPIUM_API_LEVEL"]:
                return int(parts[2])
    raise AssertionError("no COPIUM_API_LEVEL in the installed copium.h")


def test_installed_header_is_the_source_header():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    source = os.path.join(root, "include", "copium", "copium.h")
    if not os.path.exists(source):
        pytest.skip("not run from copium's source tree")
    with open(source, "rb") as a, open(os.path.join(copium.get_include(), "copium.h"), "rb") as b:
        assert a.read() == b.read(), sys.prefix
