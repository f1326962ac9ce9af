"""Version information, where copium 0.1.0 kept it: ``__version__`` (copium.__version__, from
meson.build's project version) and ``__version_tuple__``, its parts as a named tuple.
"""

from typing import NamedTuple

from copium._copium import __version__

__all__ = ["VersionInfo", "__commit_id__", "__version__", "__version_tuple__"]


class VersionInfo(NamedTuple):
    major: int
    minor: int
    patch: int
    pre: "str | None"  # 'a1', 'b2', 'rc3'
    dev: "int | None"
    local: str


def _parse(version):
    import re

    m = re.fullmatch(r"(\d+)\.(\d+)(?:\.(\d+))?((?:a|b|rc)\d+)?(?:\.dev(\d+))?(?:\+(.*))?", version)
    if m is None:
        raise ValueError("copium: unexpected version %r" % version)
    major, minor, patch, pre, dev, local = m.groups()
    return VersionInfo(
        int(major), int(minor), int(patch or 0), pre, int(dev) if dev else None, local or ""
    )


__version_tuple__ = _parse(__version__)
# The commit the build was made from is not recorded.
__commit_id__ = None
