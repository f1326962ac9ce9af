"""copium's run-time configuration: the few behaviours where a choice exists.

``apply(**options)`` changes them for the whole process (every thread, ``copium.deepcopy`` and
a patched ``copy.deepcopy`` alike); ``get()`` returns the current settings as a dict. Each
option has an environment variable, read once when copium is first imported:

``memo`` (``COPIUM_MEMO``)
    ``"native"`` (the default): a call without a memo runs on copium's own memo table, and a
    real dict mirroring it is made only when Python code needs to see the memo (a
    ``__deepcopy__`` method). ``"dict"``: such a call starts with a fresh dict as its memo, as
    ``copy.deepcopy`` does, so the memo a ``__deepcopy__`` receives holds exactly what
    stdlib's would at that point (full parity, at some cost in speed).

``on_memo_rejected`` (``COPIUM_ON_MEMO_REJECTED``)
    What happens when a ``__deepcopy__(memo)`` method raises ``TypeError`` because of the
    memo: ``"raise"`` (the default: the error propagates, as with stdlib), or ``"warn"``
    (a ``RuntimeWarning``, then the method is called once more with a plain dict copy of the
    memo, and what it added is copied back). copium always hands ``__deepcopy__`` a real
    dict, so this matters only when the caller passed a memo of its own that is not exactly a
    ``dict`` (a dict subclass or another mapping), which some C or Rust (PyO3) implementations
    refuse.

A value outside the accepted ones raises ``ValueError`` naming them (``TypeError`` for a value
that is not a str), from ``apply()``, and from ``import copium`` for an environment variable.
"""

from copium import _copium

__all__ = ["apply", "get"]

_CHOICES = {
    "memo": ("native", "dict"),
    "on_memo_rejected": ("raise", "warn"),
}
_ENVIRONMENT = {
    "memo": "COPIUM_MEMO",
    "on_memo_rejected": "COPIUM_ON_MEMO_REJECTED",
}


def _check(option, value, source):
    choices = _CHOICES[option]
    if not isinstance(value, str):
        raise TypeError(
            "%s must be a str, one of %s; not %s"
            % (source, ", ".join(map(repr, choices)), type(value).__name__)
        )
    if value not in choices:
        raise ValueError(
            "%s=%r is not valid: accepted values are %s"
            % (source, value, ", ".join(map(repr, choices)))
        )
    return value


def get() -> dict:
    """The current settings: {"memo": ..., "on_memo_rejected": ...}."""
    memo_dict, retry = _copium._configuration()
    return {
        "memo": "dict" if memo_dict else "native",
        "on_memo_rejected": "warn" if retry else "raise",
    }


def apply(*, memo=None, on_memo_rejected=None) -> None:
    """Change the given settings (None: leave as is). Every value is checked before any is
    applied."""
    current = get()
    if memo is not None:
        current["memo"] = _check("memo", memo, "memo")
    if on_memo_rejected is not None:
        current["on_memo_rejected"] = _check(
            "on_memo_rejected", on_memo_rejected, "on_memo_rejected"
        )
    _copium._configure(current["memo"] == "dict", current["on_memo_rejected"] == "warn")


def _from_environment(environ):
    """The settings the environment asks for (empty values ignored), checked."""
    options = {}
    for option, variable in _ENVIRONMENT.items():
        value = environ.get(variable, "")
        normalized = value.strip().lower()
        if normalized == "":
            continue
        if normalized not in _CHOICES[option]:
            raise ValueError(
                "environment variable %s=%r is not valid: accepted values are %s (or unset it)"
                % (variable, value, ", ".join(map(repr, _CHOICES[option])))
            )
        options[option] = normalized
    return options


def _apply_environment():
    import os

    options = _from_environment(os.environ)
    if options:
        apply(**options)


_apply_environment()
