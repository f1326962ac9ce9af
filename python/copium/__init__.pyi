import sys
from types import MappingProxyType
from typing import Any, Callable, TypeAlias, TypeVar

from copium import config as config, extra as extra, patch as patch, report as report

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
if sys.version_info >= (3, 13):
    __all__ += ["replace"]

_T = TypeVar("_T")

__version__: str
PLUGIN_ENTRY_POINT_GROUP: str

class Error(Exception): ...

error = Error

# The type of the memo a __deepcopy__ method receives from copium: dict itself.
memo: TypeAlias = dict[int, Any]

configure = config.apply
get_config = config.get

def deepcopy(x: _T, memo: dict[int, Any] | None = None) -> _T: ...
def copy(x: _T) -> _T: ...
def explain(obj: Any, memo: dict[int, Any] | None = None) -> report.Report: ...

if sys.version_info >= (3, 13):
    def replace(obj: _T, /, **changes: Any) -> _T: ...

def register_handler(type: type, handler: Callable[[Any, dict[int, Any]], Any] | Any, /) -> None: ...
def unregister_handler(type: type, /) -> bool: ...
def handlers() -> MappingProxyType[type, str]: ...
def get_include() -> str: ...
def get_pkgconfig_dir() -> str: ...
def load_plugins() -> list[str]: ...
