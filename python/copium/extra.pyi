from typing import Callable, TypeVar

__all__ = ["repeatcall", "replicate"]


_T = TypeVar("_T")

def replicate(obj: _T, n: int, /) -> list[_T]: ...
def repeatcall(function: Callable[[], _T], size: int, /) -> list[_T]: ...
