"""copium_numpy: copium handlers for numpy.

Importing this package registers, with copium's handler registry:

- a handler for exactly ``numpy.ndarray`` (subclasses such as ``numpy.matrix`` keep numpy's
  own ``__deepcopy__``): arrays without Python objects are copied with numpy's keep-order
  layout at memory speed; arrays holding objects (object dtype, structured dtypes with object
  fields) have their elements deep-copied through copium with the shared memo, so shared
  elements stay shared and an array that contains itself can be copied;
- the "atomic" flag (copy returns the object itself) for every numpy scalar type whose own
  ``__deepcopy__`` and ``__copy__`` return the scalar unchanged. Which types do depends on the
  numpy version (numpy 2.3 and later return every scalar but ``numpy.void``; older versions
  return a new scalar, ``numpy.bool_`` excepted), so it is checked at import:
  ``ATOMIC_SCALAR_TYPES`` holds the answer.

Importing it again does nothing more; ``register()`` and ``unregister()`` add and remove the
handlers by hand. ``copium.load_plugins()`` imports it through the ``copium.plugins``
entry point.
"""

import numpy as _np

from copium_numpy import _native

__all__ = [
    "ATOMIC_SCALAR_TYPES",
    "NDARRAY_HANDLER_NAME",
    "SCALAR_HANDLER_NAME",
    "register",
    "unregister",
]

__version__ = "0.1.0"

NDARRAY_HANDLER_NAME = _native.NDARRAY_HANDLER_NAME
SCALAR_HANDLER_NAME = _native.SCALAR_HANDLER_NAME


def _samples(scalar_type):
    """A few instances of a numpy scalar type, or () when it has no instances of its own."""
    kind = _np.dtype(scalar_type).kind
    if kind == "b":
        values = (_np.True_, _np.False_)
    elif kind in "iu":
        values = (scalar_type(0), scalar_type(1), scalar_type(100))
    elif kind in "fc":
        values = (scalar_type(0), scalar_type(1.5), scalar_type("nan"))
    elif kind == "M":
        values = (_np.datetime64("2020-01-02"), _np.datetime64("NaT", "s"))
    elif kind == "m":
        values = (_np.timedelta64(3, "s"), _np.timedelta64("NaT", "s"))
    elif kind == "S":
        values = (scalar_type(b""), scalar_type(b"ab"))
    elif kind == "U":
        values = (scalar_type(""), scalar_type("ab"))
    else:  # "O" (no instances: object_(x) returns x) and "V" (mutable, copies)
        return ()
    return tuple(v for v in values if type(v) is scalar_type)


def _find_atomic_scalar_types():
    """The numpy scalar types whose __deepcopy__ and __copy__ (numpy's own, called directly
    rather than through copy.deepcopy, which may be patched) return the scalar itself."""
    found = []
    candidates = {_np.dtype(code).type for code in _np.typecodes["All"]}
    for scalar_type in sorted(candidates, key=lambda t: t.__name__):
        samples = _samples(scalar_type)
        if not samples:
            continue
        try:
            atomic = all(
                scalar_type.__deepcopy__(s, {}) is s and scalar_type.__copy__(s) is s
                for s in samples
            )
        except Exception:
            atomic = False
        if atomic:
            found.append(scalar_type)
    return tuple(found)


ATOMIC_SCALAR_TYPES = _find_atomic_scalar_types()


def register():
    """Register the handlers (idempotent: a registration replaces the previous one)."""
    _native.register_ndarray()
    for scalar_type in ATOMIC_SCALAR_TYPES:
        _native.register_atomic_scalar(scalar_type)


def unregister():
    """Remove this plugin's handlers (those still registered under its names)."""
    import copium

    current = copium.handlers()
    mine = (NDARRAY_HANDLER_NAME, SCALAR_HANDLER_NAME)
    for t in (_np.ndarray,) + ATOMIC_SCALAR_TYPES:
        if current.get(t) in mine:
            _native.unregister(t)


register()
