from typing import Literal, Sequence, TypedDict

__all__ = ["apply", "get"]


_MemoKind = Literal["native", "dict"]
_OnIncompatible = Literal["raise", "warn", "silent"]

class _Settings(TypedDict):
    memo: _MemoKind
    on_incompatible: _OnIncompatible
    suppress_warnings: tuple[str, ...]

def get() -> _Settings: ...
def apply(
    *,
    memo: _MemoKind | None = None,
    on_incompatible: _OnIncompatible | None = None,
    suppress_warnings: Sequence[str] | None = None,
    on_memo_rejected: _OnIncompatible | None = None,
) -> None: ...
