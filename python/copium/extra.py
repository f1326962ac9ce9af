"""Batch helpers, snapshots and pins.

``replicate(obj, n)`` returns n independent deep copies of obj: the same result as
``[copium.deepcopy(obj) for _ in range(n)]`` (each copy with the identity pattern, shared
sub-objects and cycles of a deep copy, no mutable object shared between two copies). When obj's
copy is fixed by the graph alone (exact ``dict``, ``list``, ``tuple``, ``set``, ``frozenset``
and ``bytearray`` objects, plain instances, dataclasses and ``__slots__`` objects, datetimes,
UUIDs, atoms), copium records the plan of one copy and builds the others from it without a
memo or type dispatch (pausing the cyclic garbage collector while it builds them, when no
Python code can run meanwhile; it runs as usual right after). A graph holding anything else
(an object with ``__deepcopy__`` or ``__reduce__``, say) is copied one deep copy after another,
with the same result.

``repeatcall(function, size)`` returns ``[function() for _ in range(size)]``, the loop run in
C.

Both take their arguments by position only (copium 0.1.0's signatures: ``replicate(obj, n,
/)``, ``repeatcall(function, size, /)``); n and size must be integers >= 0 (``TypeError`` /
``ValueError`` otherwise).

``snapshot(obj)`` records obj's state now as the plan of one deep copy and returns a
``Snapshot``: each call ``snap()`` returns a new deep copy of obj as it was when the snapshot
was taken (what ``copy.deepcopy(obj)`` returned then: types, values, shared sub-objects,
cycles, atoms returned as themselves), independent of later changes to obj and of every other
copy. Parts whose copy may run Python code (a ``__deepcopy__``, a ``__reduce__``) are kept as
private deep copies made at snapshot time and deep-copied again on each call.

``pin(obj)`` pins obj (an opt-in departure from ``copy.deepcopy``): until ``unpin(obj)``, every
deep copy that meets obj (``copium.deepcopy``, a patched ``copy.deepcopy``, the C API,
``replicate``) builds that part from a snapshot of obj taken when it was pinned.
``pinned()`` lists the ``Pin`` objects, ``clear_pins()`` removes them all.
"""

from copium._copium import (
    Pin,
    Snapshot,
    clear_pins,
    pin,
    pinned,
    repeatcall,
    replicate,
    snapshot,
    unpin,
)

__all__ = [
    "Pin",
    "Snapshot",
    "clear_pins",
    "pin",
    "pinned",
    "repeatcall",
    "replicate",
    "snapshot",
    "unpin",
]
