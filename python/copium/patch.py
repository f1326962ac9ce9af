"""Make the standard library's ``copy.deepcopy`` and ``copy.copy`` run copium.

``enable()`` patches the two function objects in place: they keep their identity, so code that
did ``from copy import deepcopy`` before (every library that copies, typically) is accelerated
too, and so is everything that calls them through ``copy.deepcopy``. ``disable()`` restores
them exactly. Both are idempotent and return whether they changed anything; ``enabled()`` says
whether the patch is on.

Setting the environment variable ``COPIUM_PATCH=1`` enables the patch at interpreter start-up
(through the ``copium-autopatch.pth`` file installed in site-packages), without any change to
the program. copium 0.1.0's variables work too: ``COPIUM_PATCH_ENABLE`` set to anything enables
it, unless ``COPIUM_PATCH_DISABLE`` is set to anything as well. When both families are set and
disagree, nothing is patched and stderr says why.

The patched functions behave as ``copium.deepcopy`` and ``copium.copy``: the same arguments
(``deepcopy(x, memo=None)``; stdlib's private third parameter is accepted and ignored), the
same results and errors as stdlib, the configuration of ``copium.config``.

How: from CPython 3.12, the function's vectorcall (the C function the interpreter calls to run
it) is replaced with ``PyFunction_SetVectorcall``; on 3.10 the same field is set directly (3.10
reads it on every call). On 3.11, whose eval loop runs Python functions without looking at that
field, the function's ``__code__`` is swapped for a two-line body that calls copium (its
``__defaults__``, ``__dict__``, name and signature stay as they are); a patched call then costs
one small Python frame more than ``copium.deepcopy``.

What ``disable()`` cannot give back: from 3.12, setting a function's vectorcall (like assigning
its ``__code__``) resets the version CPython's adaptive interpreter keys its call
specialisation on, so stdlib's function, once patched and restored, behaves exactly as before
but its calls are no longer specialised (a few ns each).
"""

import _thread
import copy as _copy
import os as _os
import sys as _sys

from copium import _copium

__all__ = ["disable", "enable", "enabled"]

# The values of COPIUM_PATCH that mean "patch at start-up" and "do not" (case-insensitive).
_ENV_VAR = "COPIUM_PATCH"
_ENV_ON = ("1", "true", "yes", "on")
_ENV_OFF = ("", "0", "false", "no", "off")
# copium 0.1.0's: set to anything (non-empty) they count, whatever the value.
_LEGACY_ENABLE = "COPIUM_PATCH_ENABLE"
_LEGACY_DISABLE = "COPIUM_PATCH_DISABLE"

_VECTORCALL = hasattr(_copium, "_patch_vectorcall")

_lock = _thread.allocate_lock()
# __code__ swap (3.11): [(function, original code)] while enabled, else None.
_swapped = None


def _functions():
    return _copy.deepcopy, _copy.copy


def _check(function, name, nargs):
    if type(function) is not type(_check):
        raise TypeError(
            "copium.patch: copy.%s is not a Python function (it is %r); only the standard "
            "library's function object can be patched" % (name, function)
        )
    code = function.__code__
    if (
        not 1 <= code.co_argcount <= nargs
        or code.co_kwonlyargcount
        or code.co_flags & 0x0C  # CO_VARARGS | CO_VARKEYWORDS
        or code.co_freevars
    ):
        raise TypeError(
            "copium.patch: copy.%s has an unexpected signature (%r): not the standard "
            "library's function" % (name, function)
        )


def _swap_code(function, target, nargs_passed):
    """A code object for function that calls target with its first nargs_passed parameters:
    the same parameters (so __defaults__ and the signature still fit), one call in the body.
    target sits in the code's constants: the function's globals are the copy module's and are
    not touched."""
    code = function.__code__
    params = code.co_varnames[: code.co_argcount]
    source = "def %s(%s):\n    return '__copium_target__'(%s)\n" % (
        code.co_name,
        ", ".join(params),
        ", ".join(params[:nargs_passed]),
    )
    import warnings as _warnings

    with _warnings.catch_warnings():
        # "'str' object is not callable": the placeholder is replaced below.
        _warnings.simplefilter("ignore", SyntaxWarning)
        module_code = compile(source, "<copium.patch>", "exec")
    (body,) = [c for c in module_code.co_consts if isinstance(c, type(code))]
    consts = tuple(target if c == "__copium_target__" else c for c in body.co_consts)
    if hasattr(code, "co_qualname"):  # 3.11+
        return body.replace(co_consts=consts, co_qualname=code.co_qualname)
    return body.replace(co_consts=consts)


def enable() -> bool:
    """Patch copy.deepcopy and copy.copy to run copium. True if they were not patched yet."""
    global _swapped
    deepcopy, copy = _functions()
    with _lock:
        if enabled():
            return False
        _check(deepcopy, "deepcopy", 3)
        _check(copy, "copy", 1)
        if _VECTORCALL:
            return _copium._patch_vectorcall(deepcopy, copy)
        swapped = [
            (deepcopy, deepcopy.__code__, _swap_code(deepcopy, _copium.deepcopy, 2)),
            (copy, copy.__code__, _swap_code(copy, _copium.copy, 1)),
        ]
        for function, _, new_code in swapped:
            function.__code__ = new_code
        _swapped = [(function, old_code) for function, old_code, _ in swapped]
        return True


def disable() -> bool:
    """Give copy.deepcopy and copy.copy back their own behaviour. True if they were patched."""
    global _swapped
    with _lock:
        if _VECTORCALL:
            return _copium._unpatch_vectorcall()
        if _swapped is None:
            return False
        for function, old_code in _swapped:
            function.__code__ = old_code
        _swapped = None
        return True


def enabled() -> bool:
    """Whether copy.deepcopy and copy.copy currently run copium."""
    if _VECTORCALL:
        return _copium._vectorcall_patched()
    return _swapped is not None


def _start_up_choice(environ):
    """What the environment asks for at start-up: (True: patch, False: do not, None: nothing
    asked; the message for stderr or None)."""
    value = environ.get(_ENV_VAR, "")
    normalized = value.strip().lower()
    message = None
    if normalized in _ENV_ON:
        ours = True
    elif normalized in _ENV_OFF:
        ours = False if normalized else None
    else:
        ours = None
        message = (
            "copium: ignoring %s=%r: use 1 to patch copy.deepcopy and copy.copy at start-up, "
            "0 (or unset) not to" % (_ENV_VAR, value)
        )
    enable_value = environ.get(_LEGACY_ENABLE, "")
    disable_value = environ.get(_LEGACY_DISABLE, "")
    if enable_value:
        legacy = not disable_value  # 0.1.0: COPIUM_PATCH_DISABLE wins
    elif disable_value:
        legacy = False
    else:
        legacy = None
    if ours is not None and legacy is not None and ours != legacy:
        return None, (
            "copium: not patching copy.deepcopy and copy.copy at start-up: %s=%r asks %s, but "
            "%s=%r and %s=%r (copium 0.1.0's variables) ask %s; set only one of them"
            % (
                _ENV_VAR,
                value,
                "for the patch" if ours else "for none",
                _LEGACY_ENABLE,
                enable_value,
                _LEGACY_DISABLE,
                disable_value,
                "for the patch" if legacy else "for none",
            )
        )
    return (ours if ours is not None else legacy), message


def _autopatch():
    """Called by copium-autopatch.pth at start-up when COPIUM_PATCH is set and not "0", or
    COPIUM_PATCH_ENABLE is set and COPIUM_PATCH_DISABLE is not: enable the patch when the environment asks for it (see
    _start_up_choice), and say on stderr what was ignored (start-up goes on either way)."""
    choice, message = _start_up_choice(_os.environ)
    if message is not None:
        _sys.stderr.write(message + "\n")
    if choice:
        enable()
