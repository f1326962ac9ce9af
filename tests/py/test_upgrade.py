"""The upgrade from copium 0.1.0: a virtual environment gets copium==0.1.0 from PyPI, then this
copium installed over it, as `pip install .` does (the wheel built from this tree with this
interpreter, then installed by pip). Afterwards exactly one autopatch .pth is left
(copium-autopatch.pth), COPIUM_PATCH_ENABLE=1 (0.1.0's variable) patches at start-up, and
nothing of 0.1.0 remains: not its _copium.pth, not its compiled copium/__init__*.so (which would
shadow copium/__init__.py), not its dist-info.

Needs PyPI (through pip as configured on the machine): skipped, saying so, when PyPI cannot be
reached or copium 0.1.0 has no wheel for this interpreter (CPython 3.15); run on release builds
only (a debug or sanitizer run adds nothing to a packaging check). Cost: about 10-20 s per
interpreter, most of it building the wheel (a venv without pip, one small download, two
installs, a few interpreter start-ups)."""

import os
import re
import subprocess
import sys

import pytest

import copium

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

pytestmark = pytest.mark.skipif(
    hasattr(sys, "gettotalrefcount"),
    reason="the upgrade from copium 0.1.0 is checked on release builds (a packaging check)",
)


def _env():
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("COPIUM_", "PYTHON")) and k not in ("VIRTUAL_ENV", "LD_PRELOAD")
    }
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _run(args, timeout=600, **env_changes):
    env = _env()
    env.update(env_changes)
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout)


def _pip(*args, timeout=600):
    return _run([sys.executable, "-m", "pip", *args], timeout=timeout)


def _fetch_0_1_0(dest):
    """copium 0.1.0's wheel for this interpreter, downloaded from PyPI; skips when there is
    none to have (saying why)."""
    r = _pip("download", "--no-deps", "--only-binary=:all:", "-d", dest, "copium==0.1.0")
    if r.returncode == 0:
        wheels = [f for f in os.listdir(dest) if f.startswith("copium-0.1.0-") and f.endswith(".whl")]
        assert len(wheels) == 1, os.listdir(dest)
        return os.path.join(dest, wheels[0])
    said = (r.stderr.strip().splitlines() or ["no output"])[-1]
    index = _pip("index", "versions", "copium", timeout=300)
    available = re.search(r"Available versions: (.*)", index.stdout)
    if available and "0.1.0" in available.group(1).split(", "):
        pytest.skip(
            "copium 0.1.0 publishes no wheel for CPython %d.%d (pip: %s)"
            % (sys.version_info[0], sys.version_info[1], said)
        )
    pytest.skip("PyPI cannot be reached to fetch copium 0.1.0 (pip: %s)" % said)


def _site_packages(venv):
    r = _run([os.path.join(venv, "bin", "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def _record(site, dist_info):
    with open(os.path.join(site, dist_info, "RECORD")) as f:
        return {line.split(",")[0] for line in f if line.strip()}


def _dist_infos(site):
    return sorted(f for f in os.listdir(site) if f.startswith("copium-") and f.endswith(".dist-info"))


def _autopatch_pth_files(site):
    """.pth files whose lines mention copium."""
    found = []
    for name in sorted(os.listdir(site)):
        if name.endswith(".pth"):
            with open(os.path.join(site, name)) as f:
                if "copium" in f.read():
                    found.append(name)
    return found


PROBE = (
    "import sys\n"
    "loaded = sorted(m for m in sys.modules if m == 'copium' or m.startswith('copium.'))\n"
    "import copy, copium, copium.patch\n"
    "print(loaded != [], copium.patch.enabled())\n"
)

AFTER = (
    "import copy, copium, copium.patch\n"
    "class M: pass\n"
    "copium.register_handler(M, lambda o, m: 'copium')\n"
    "print(copium.__version__, copium.__file__.endswith('__init__.py'), copy.deepcopy(M()))\n"
    "print(copium.get_config(), copium.memo is dict)\n"
)


def test_install_over_copium_0_1_0(tmp_path):
    venv = str(tmp_path / "venv")
    wheel_0_1_0 = _fetch_0_1_0(str(tmp_path / "dl"))
    r = _run([sys.executable, "-m", "venv", "--without-pip", venv])
    assert r.returncode == 0, r.stderr
    python = os.path.join(venv, "bin", "python")
    r = _pip("--python", python, "install", "--no-deps", "--no-index", wheel_0_1_0)
    assert r.returncode == 0, r.stdout + r.stderr
    site = _site_packages(venv)

    # copium 0.1.0 as its users have it: its .pth patches with COPIUM_PATCH_ENABLE
    assert _dist_infos(site) == ["copium-0.1.0.dist-info"]
    old_files = _record(site, "copium-0.1.0.dist-info")
    assert "_copium.pth" in old_files
    assert any(re.fullmatch(r"copium/__init__\..*\.so", f) for f in old_files), sorted(old_files)
    r = _run([python, "-c", PROBE], COPIUM_PATCH_ENABLE="1")
    assert r.returncode == 0 and r.stdout.split() == ["True", "True"], r.stdout + r.stderr

    # this copium over it: `pip install .` is this wheel build, then its installation (with the
    # autopatch extra, which must exist and need nothing)
    wheels = str(tmp_path / "wheels")
    r = _pip("wheel", "--no-build-isolation", "--no-deps", "--no-index", "-w", wheels, ROOT, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    (ours,) = [os.path.join(wheels, f) for f in os.listdir(wheels) if f.endswith(".whl")]
    r = _pip("--python", python, "install", "--no-deps", "--no-index", ours + "[autopatch]")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "does not provide the extra" not in r.stdout + r.stderr
    assert "Successfully uninstalled copium-0.1.0" in r.stdout, r.stdout

    # nothing of 0.1.0 left behind
    assert _dist_infos(site) == ["copium-%s.dist-info" % copium.__version__]
    new_files = _record(site, "copium-%s.dist-info" % copium.__version__)
    left = sorted(f for f in old_files - new_files if os.path.lexists(os.path.join(site, f)))
    assert left == [], "files of copium 0.1.0 left behind: %s" % left
    assert not [f for f in os.listdir(os.path.join(site, "copium")) if f.startswith("__init__.") and f.endswith(".so")]
    assert _autopatch_pth_files(site) == ["copium-autopatch.pth"]

    # this copium runs, and 0.1.0's start-up variable still patches
    r = _run([python, "-c", AFTER], COPIUM_PATCH_ENABLE="1")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "%s True copium" % copium.__version__,
        "{'memo': 'native', 'on_incompatible': 'raise', 'suppress_warnings': ()} True",
    ]
    assert r.stderr == ""
    for env, expected in (
        ({"COPIUM_PATCH_ENABLE": "1"}, ["True", "True"]),
        ({"COPIUM_PATCH": "1"}, ["True", "True"]),
        ({}, ["False", "False"]),  # nothing set: the .pth line imports nothing
        ({"COPIUM_PATCH_ENABLE": "1", "COPIUM_PATCH_DISABLE": "1"}, ["False", "False"]),
    ):
        r = _run([python, "-c", PROBE], **env)
        assert r.returncode == 0 and r.stdout.split() == expected, (env, r.stdout, r.stderr)
