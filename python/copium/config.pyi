from typing import Literal, TypedDict

__all__ = ["apply", "get"]


_MemoKind = Literal["native", "dict"]
_OnMemoRejected = Literal["raise", "warn"]

class _Settings(TypedDict):
    memo: _MemoKind
    on_memo_rejected: _OnMemoRejected

def get() -> _Settings: ...
def apply(*, memo: _MemoKind | None = None, on_memo_rejected: _OnMemoRejected | None = None) -> None: ...
