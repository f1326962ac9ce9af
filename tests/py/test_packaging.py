"""Packaging: the installed distribution's metadata is complete, and an sdist made from the
source tree builds into a wheel holding everything the package installs (the modules, stubs,
py.typed, the autopatch .pth, the plugin header).

The build runs what `python -m build --no-isolation` runs, through meson-python's PEP 517 hooks
(already in the venv: no network, no extra package): build_sdist on a snapshot of the working
tree (meson dist packs a git commit, so the snapshot is committed in a scratch repository: the
files git tracks plus the untracked ones it does not ignore), then build_wheel inside the
unpacked sdist. It takes a few seconds."""

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from importlib.metadata import metadata

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_metadata():
    md = metadata("copium")
    assert md["Name"] == "copium"
    assert "deepcopy" in md["Summary"]
    assert md["Requires-Python"] == ">=3.10"
    assert md.get("License") == "MIT" or md.get("License-Expression") == "MIT"
    classifiers = md.get_all("Classifier")
    for minor in range(10, 16):
        assert "Programming Language :: Python :: 3.%d" % minor in classifiers
    assert "Typing :: Typed" in classifiers
    assert "License :: OSI Approved :: MIT License" in classifiers
    assert md["Description-Content-Type"] == "text/markdown"
    # the README is the long description (the body of METADATA)
    assert "# copium" in md.json.get("description", ""), sorted(md.json)


def _snapshot(dest):
    """The working tree as `git add -A` would commit it, committed in a new repository."""
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode().split("\0")
    for f in filter(None, files):
        src = os.path.join(ROOT, f)
        if not os.path.isfile(src):
            continue  # deleted in the working tree
        os.makedirs(os.path.join(dest, os.path.dirname(f)), exist_ok=True)
        shutil.copy2(src, os.path.join(dest, f))
    git = ["git", "-c", "user.name=copium tests", "-c", "user.email=tests@invalid"]
    for cmd in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "snapshot"]):
        subprocess.run(git + cmd, cwd=dest, check=True, capture_output=True)


BUILD = r"""
import os, sys, tarfile
import mesonpy
out, what = sys.argv[1], sys.argv[2]
if what == "sdist":
    print(mesonpy.build_sdist(out))
else:
    print(mesonpy.build_wheel(out))
"""


def _hook(what, cwd, out):
    env = {k: v for k, v in os.environ.items() if not k.startswith("COPIUM_")}
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    r = subprocess.run(
        [sys.executable, "-c", BUILD, out, what],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, "build_%s failed:\n%s\n%s" % (what, r.stdout[-3000:], r.stderr[-3000:])
    return os.path.join(out, r.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(shutil.which("git") is None, reason="meson dist needs git")
def test_sdist_builds_a_wheel(tmp_path):
    if not os.path.exists(os.path.join(ROOT, ".git")):  # a directory, or a worktree's file
        pytest.skip("not a git checkout: no sdist to make")
    tree, dist = tmp_path / "tree", tmp_path / "dist"
    tree.mkdir()
    dist.mkdir()
    _snapshot(str(tree))
    sdist = _hook("sdist", str(tree), str(dist))
    assert sdist.endswith(".tar.gz")
    with tarfile.open(sdist) as tar:
        names = tar.getnames()
        top = names[0].split("/")[0]
        for needed in (
            "pyproject.toml",
            "README.md",
            "meson.build",
            "python/copium-autopatch.pth",
            "python/patch.c",
            "batch/replicate.c",
            "include/copium/copium.h",
            "include/copium/copium.pc.in",
        ):
            assert "%s/%s" % (top, needed) in names, needed
        tar.extractall(str(tmp_path / "unpacked"))
    wheel = _hook("wheel", str(tmp_path / "unpacked" / top), str(dist))
    with zipfile.ZipFile(wheel) as whl:
        names = set(whl.namelist())
    for needed in (
        "copium-autopatch.pth",
        "copium/py.typed",
        "copium/include/copium.h",
        "copium/lib/pkgconfig/copium.pc",
    ):
        assert needed in names, needed
    for module in ("__init__", "config", "extra", "patch"):
        assert "copium/%s.py" % module in names and "copium/%s.pyi" % module in names
    assert any(n.startswith("copium/_copium.") and n.endswith(".so") for n in names)
