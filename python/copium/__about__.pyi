from typing import NamedTuple

__all__ = ["VersionInfo", "__commit_id__", "__version__", "__version_tuple__"]

class VersionInfo(NamedTuple):
    major: int
    minor: int
    patch: int
    pre: str | None
    dev: int | None
    local: str

__version__: str
__version_tuple__: VersionInfo
__commit_id__: str | None
