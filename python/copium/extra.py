"""Batch helpers.

``replicate(obj, n)`` returns n independent deep copies of obj: the same result as
``[copium.deepcopy(obj) for _ in range(n)]`` (each copy with the identity pattern, shared
sub-objects and cycles of a deep copy, no mutable object shared between two copies), made
faster for graphs of exact ``dict``, ``list``, ``tuple``, ``set`` and ``frozenset`` objects and
atoms: copium records the shape of one copy and builds the others from it without a memo or
type dispatch (pausing the cyclic garbage collector while it builds them, when no Python code
can run meanwhile; it runs as usual right after). A graph holding anything else (class
instances, say) is copied one deep copy after another, with the same result.

``repeatcall(function, size)`` returns ``[function() for _ in range(size)]``, the loop run in
C.

Both take their arguments by position only (copium 0.1.0's signatures: ``replicate(obj, n,
/)``, ``repeatcall(function, size, /)``); n and size must be integers >= 0 (``TypeError`` /
``ValueError`` otherwise).
"""

from copium._copium import repeatcall, replicate

__all__ = ["repeatcall", "replicate"]
