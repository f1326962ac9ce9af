import builtins
from dataclasses import dataclass
from typing import Any

__all__ = ["Report", "Row", "explain"]

SLOW_PATHS: frozenset[str]

@dataclass(frozen=True)
class Row:
    type: builtins.type
    path: str
    handler: str | None
    reason: str | None
    hint: str | None
    count: int
    self_time: float
    total_time: float
    @property
    def slow(self) -> bool: ...
    @property
    def label(self) -> str: ...

class Report:
    rows: tuple[Row, ...]
    copy: Any
    total_time: float
    shared: int
    error: BaseException | None
    error_path: tuple[type, ...]
    memo_handed_by: type | None
    patched: bool
    def __init__(
        self, recording: Any, copy: Any, error: BaseException | None, patched: bool
    ) -> None: ...
    @property
    def objects(self) -> int: ...
    @property
    def slow_time(self) -> float: ...
    @property
    def summary(self) -> str: ...

def explain(obj: Any, memo: dict[int, Any] | None = None) -> Report: ...
