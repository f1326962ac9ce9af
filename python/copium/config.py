"""copium's run-time configuration: the few behaviours where a choice exists.

``apply(**options)`` changes them for the whole process (every thread, ``copium.deepcopy`` and
a patched ``copy.deepcopy`` alike); ``get()`` returns the current settings as a dict.
``copium.configure`` and ``copium.get_config`` are the same two functions (copium 0.1.0's
names). The options, with the environment variables read once when copium is first imported:

``memo`` (``COPIUM_MEMO``; ``COPIUM_USE_DICT_MEMO`` set to anything means ``"dict"``)
    ``"native"`` (the default): a call without a memo runs on copium's own memo table, and a
    real dict mirroring it is made only when Python code needs to see the memo (a
    ``__deepcopy__`` method). ``"dict"``: such a call starts with a fresh dict as its memo, as
    ``copy.deepcopy`` does, so the memo a ``__deepcopy__`` receives holds exactly what
    stdlib's would at that point (full parity, at some cost in speed).

``on_incompatible``, also spelled ``on_memo_rejected`` (``COPIUM_ON_MEMO_REJECTED``;
``COPIUM_NO_MEMO_FALLBACK`` set to anything means ``"raise"``)
    What happens when a ``__deepcopy__(memo)`` method raises ``TypeError`` because of the
    memo: ``"raise"`` (the default: the error propagates, as with stdlib), ``"warn"`` (a
    ``RuntimeWarning``, then the method is called once more with a plain dict copy of the
    memo, and what it added is copied back) or ``"silent"`` (the same retry, no warning).
    copium always hands ``__deepcopy__`` a real dict, so this matters only when the caller
    passed a memo of its own that is not exactly a ``dict`` (a dict subclass or another
    mapping), which some C or Rust (PyO3) implementations refuse.

``suppress_warnings`` (``COPIUM_NO_MEMO_FALLBACK_WARNING``: one entry)
    Errors whose ``"warn"`` retry is not announced: a sequence of str, each matched exactly
    against ``"TypeError: <message>"`` or the message alone. Stored as a tuple.

``None`` (every option's default) leaves an option as it is. A call that gives no option a
value other than None restores every default (``configure()``, as with copium 0.1.0). The two
spellings of ``on_incompatible`` may be given together only with the same value. A value
outside the accepted ones raises ``ValueError`` naming them (``TypeError`` for a value of the
wrong type), from ``apply()``, and from ``import copium`` for an environment variable; so do two
environment variables that set one option to different values.
"""

from copium import _copium

__all__ = ["apply", "get"]

_MEMO = ("native", "dict")
_ON_INCOMPATIBLE = ("raise", "warn", "silent")
_DEFAULTS = {"memo": "native", "on_incompatible": "raise", "suppress_warnings": ()}


def _check(option, value, choices):
    if not isinstance(value, str):
        raise TypeError(
            "%s must be a str, one of %s; not %s"
            % (option, ", ".join(map(repr, choices)), type(value).__name__)
        )
    if value not in choices:
        raise ValueError(
            "%s=%r is not valid: accepted values are %s"
            % (option, value, ", ".join(map(repr, choices)))
        )
    return value


def _check_suppressed(value):
    if isinstance(value, (str, bytes)):
        raise TypeError(
            "suppress_warnings must be a sequence of str (e.g. [%r]), not a single %s"
            % ("TypeError: message", type(value).__name__)
        )
    try:
        entries = tuple(value)
    except TypeError:
        raise TypeError(
            "suppress_warnings must be a sequence of str, not %s" % type(value).__name__
        ) from None
    for i, entry in enumerate(entries):
        if not isinstance(entry, str):
            raise TypeError(
                "suppress_warnings[%d] must be a str, not %s" % (i, type(entry).__name__)
            )
    return entries


def get() -> dict:
    """The current settings: {"memo": ..., "on_incompatible": ..., "suppress_warnings": ...}."""
    memo_dict, mode, suppressed = _copium._configuration()
    return {
        "memo": "dict" if memo_dict else "native",
        "on_incompatible": _ON_INCOMPATIBLE[mode],
        "suppress_warnings": suppressed,
    }


def apply(
    *, memo=None, on_incompatible=None, suppress_warnings=None, on_memo_rejected=None
) -> None:
    """Change the given settings (None: leave as is); with none given, restore the defaults.
    Every value is checked before any is applied."""
    if on_incompatible is not None and on_memo_rejected is not None:
        _check("on_incompatible", on_incompatible, _ON_INCOMPATIBLE)
        _check("on_memo_rejected", on_memo_rejected, _ON_INCOMPATIBLE)
        if on_incompatible != on_memo_rejected:
            raise ValueError(
                "on_incompatible=%r and on_memo_rejected=%r disagree: they are two names of "
                "one option; give one of them" % (on_incompatible, on_memo_rejected)
            )
    given = {
        "memo": memo,
        "on_incompatible": on_incompatible if on_incompatible is not None else on_memo_rejected,
        "suppress_warnings": suppress_warnings,
    }
    if all(value is None for value in given.values()):
        settings = dict(_DEFAULTS)
    else:
        settings = get()
        if memo is not None:
            settings["memo"] = _check("memo", memo, _MEMO)
        if on_incompatible is not None:
            settings["on_incompatible"] = _check(
                "on_incompatible", on_incompatible, _ON_INCOMPATIBLE
            )
        elif on_memo_rejected is not None:
            settings["on_incompatible"] = _check(
                "on_memo_rejected", on_memo_rejected, _ON_INCOMPATIBLE
            )
        if suppress_warnings is not None:
            settings["suppress_warnings"] = _check_suppressed(suppress_warnings)
    _copium._configure(
        settings["memo"] == "dict",
        _ON_INCOMPATIBLE.index(settings["on_incompatible"]),
        settings["suppress_warnings"],
    )


# Environment variables: (variable, option, how its value is read). The first of each option
# is this copium's own, read case-insensitively (empty means unset); the others are copium
# 0.1.0's, which mean their value when set to anything (as 0.1.0 reads them: "0" included).
_ENVIRONMENT = (
    ("COPIUM_MEMO", "memo", _MEMO),
    ("COPIUM_USE_DICT_MEMO", "memo", "dict"),
    ("COPIUM_ON_MEMO_REJECTED", "on_incompatible", _ON_INCOMPATIBLE),
    ("COPIUM_NO_MEMO_FALLBACK", "on_incompatible", "raise"),
    ("COPIUM_NO_MEMO_FALLBACK_WARNING", "suppress_warnings", None),
)


def _from_environment(environ):
    """The settings the environment asks for, checked: {option: value}."""
    options, source = {}, {}
    for variable, option, reading in _ENVIRONMENT:
        value = environ.get(variable, "")
        if isinstance(reading, tuple):
            normalized = value.strip().lower()
            if normalized == "":
                continue
            if normalized not in reading:
                raise ValueError(
                    "environment variable %s=%r is not valid: accepted values are %s "
                    "(or unset it)" % (variable, value, ", ".join(map(repr, reading)))
                )
        elif value == "":
            continue
        else:
            normalized = (value,) if reading is None else reading
        if option in options and options[option] != normalized:
            raise ValueError(
                "environment variables %s=%r and %s=%r set %s to different values (%r and "
                "%r): unset one of them"
                % (
                    source[option],
                    environ[source[option]],
                    variable,
                    value,
                    option,
                    options[option],
                    normalized,
                )
            )
        options[option] = normalized
        source.setdefault(option, variable)
    return options


def _apply_environment():
    import os

    options = _from_environment(os.environ)
    if options:
        apply(**options)


_apply_environment()
