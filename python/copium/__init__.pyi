import sys
from typing import Any, TypeVar

_T = TypeVar("_T")

__version__: str

class Error(Exception): ...

error = Error

def deepcopy(x: _T, memo: dict[int, Any] | None = None) -> _T: ...
def copy(x: _T) -> _T: ...

if sys.version_info >= (3, 13):
    def replace(obj: _T, /, **changes: Any) -> _T: ...
