"""copium: a fast, drop-in replacement for the standard library's copy module.

``copium.deepcopy(x, memo=None)`` and ``copium.copy(x)`` behave as ``copy.deepcopy`` and
``copy.copy``; ``copium.replace`` exists where ``copy.replace`` does (Python 3.13+);
``copium.Error`` (alias ``copium.error``) is ``copy.Error`` itself.

``configure(**options)`` and ``get_config()`` are ``copium.config.apply`` and
``copium.config.get`` (see copium.config). ``copium.memo`` is the type of the memo a
``__deepcopy__`` method receives from copium: ``dict`` itself (copium 0.1.0 had a type of its
own there; this copium hands hooks a real dict).

``explain(obj, memo=None)`` makes the same deep copy while recording where its time goes, per
type and path, with what would make a slow path fast (see copium.report); ``python -m copium``
prints that report, or times copium against copy.deepcopy, for an object a module builds.

Handlers teach copium how to copy a type: ``register_handler(type, fn)`` with
``fn(obj, memo) -> copy``, or a capsule from a C plugin (see docs/plugins.md);
``unregister_handler(type)``; ``handlers()`` lists what is registered. C plugins compile
against the header in ``get_include()`` and announce themselves through the entry-point group
``copium.plugins``, which ``load_plugins()`` imports.
"""

import os as _os

from copium._copium import (
    Error,
    __version__,
    copy,
    deepcopy,
    error,
    handlers,
    register_handler,
    unregister_handler,
)

__all__ = [
    "Error",
    "config",
    "copy",
    "deepcopy",
    "error",
    "explain",
    "extra",
    "get_include",
    "get_pkgconfig_dir",
    "handlers",
    "load_plugins",
    "patch",
    "register_handler",
    "report",
    "unregister_handler",
]

try:
    from copium._copium import replace
except ImportError:  # Python < 3.13, where copy.replace does not exist either
    pass
else:
    __all__.append("replace")

# Submodules (see their docstrings): config applies its environment variables as copium is
# imported; patch, extra and report only define functions and classes.
from copium import config, extra, patch, report  # noqa: E402
from copium.report import explain  # noqa: E402

configure = config.apply
get_config = config.get

# The type of the memo copium hands a __deepcopy__ method: always a real dict.
memo = dict

PLUGIN_ENTRY_POINT_GROUP = "copium.plugins"


def get_include() -> str:
    """The folder holding copium.h, the header C plugins compile against."""
    return _os.path.join(_os.path.dirname(__file__), "include")


def get_pkgconfig_dir() -> str:
    """The folder holding copium.pc (add it to PKG_CONFIG_PATH)."""
    return _os.path.join(_os.path.dirname(__file__), "lib", "pkgconfig")


def load_plugins() -> "list[str]":
    """Import every installed plugin that advertises itself in the entry-point group
    ``copium.plugins``; importing a plugin registers its handlers. Returns the names of the
    entry points loaded. Importing copium itself scans nothing: this is the only place that
    does."""
    from importlib.metadata import entry_points

    loaded = []
    for ep in entry_points(group=PLUGIN_ENTRY_POINT_GROUP):
        ep.load()
        loaded.append(ep.name)
    return loaded
