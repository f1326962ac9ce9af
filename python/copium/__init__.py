"""copium: a fast, drop-in replacement for the standard library's copy module.

``copium.deepcopy(x, memo=None)`` and ``copium.copy(x)`` behave as ``copy.deepcopy`` and
``copy.copy``; ``copium.replace`` exists where ``copy.replace`` does (Python 3.13+);
``copium.Error`` (alias ``copium.error``) is ``copy.Error`` itself.
"""

from copium._copium import Error, copy, deepcopy, error

__all__ = ["Error", "copy", "deepcopy", "error"]

try:
    from copium._copium import replace
except ImportError:  # Python < 3.13, where copy.replace does not exist either
    pass
else:
    __all__.append("replace")

__version__ = "0.1.0"
