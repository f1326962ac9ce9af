"""copium.explain: where the time of a deep copy goes, and why.

``copium.explain(obj, memo=None)`` makes one deep copy of obj, exactly as
``copium.deepcopy(obj, memo)`` would (configuration included), while it records every object
the copy meets: its type, the path it took (an atom, a builtin or value-type handler, a
plugin's handler, a Python handler from ``copium.register_handler``, the native object path,
or a step of stdlib's protocol: ``__deepcopy__`` in Python or in C, a
``copy._deepcopy_dispatch`` function, the reduce protocol through ``copyreg.dispatch_table``,
``__reduce_ex__`` or ``__reduce__``; or, for an object pinned with ``copium.extra.pin``, a
build from its snapshot), and the time spent in it. It returns a ``Report``:
``print(report)`` shows a table sorted by time under a one-line summary, ``report.rows`` holds
the same rows for programs (``Row``), ``report.copy`` is the copy that was made.

Times: an object's self time is the time of its own copy, less that of the objects copied
below it; a row's total time includes what is below its objects. The self times add up to
``report.total_time``. Atoms are counted but not timed: their cost, a reference, is in their
container's time (objects that only stdlib's protocol finds to be atoms, through
``copy._deepcopy_dispatch``, are timed). The recording itself (a clock read before and after
each other object) and a pass of the cyclic garbage collector fall in the time of the object
being copied then: the times show where a copy spends its time, not what it takes without the
recording (``python -m copium bench`` measures that). A hook's nested top-level
``copium.deepcopy`` of an atom returns before the engine, and is not counted.

When the copy raises, the exception propagates as it would from ``copium.deepcopy``, with the
report of the copy up to the error in its ``copium_report`` attribute (``report.error`` is the
exception, ``report.error_path`` the types from the top object to the one whose copy raised;
``report.copy`` is None). From Python 3.11 the exception also gets a note saying so.

Other threads' copies are never recorded; a hook's nested ``copium.deepcopy`` (or, with
``copium.patch`` enabled, ``copy.deepcopy``) on the same thread is, as part of the object whose
hook made it."""

import dataclasses
import textwrap
from typing import Any, Optional, Tuple

from copium import _copium, patch

__all__ = ["Report", "Row", "explain"]

# Paths that run Python code (or call into the interpreter) for every object.
SLOW_PATHS = frozenset({
    "deepcopy-python", "deepcopy-c", "deepcopy-dispatch", "reduce-copyreg", "reduce-ex",
    "reduce", "python-handler",
})

_LABELS = {
    "atom": "atom",
    "builtin": "builtin handler '{handler}'",
    "value-type": "value-type handler '{handler}'",
    "plugin": "plugin handler '{handler}'",
    "python-handler": "Python handler {handler}",
    "object": "native object path",
    "deepcopy-python": "__deepcopy__ in Python",
    "deepcopy-c": "__deepcopy__ in C",
    "deepcopy-dispatch": "copy._deepcopy_dispatch function",
    "reduce-copyreg": "reduce via copyreg.dispatch_table",
    "reduce-ex": "reduce via __reduce_ex__",
    "reduce": "reduce via __reduce__",
    "pinned": "built from its pin's snapshot",
}

_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: a class made by a class statement


def _type_name(t: type) -> str:
    module = getattr(t, "__module__", None)
    name = getattr(t, "__qualname__", t.__name__)
    return name if module in (None, "builtins") else "%s.%s" % (module, name)


def _owner(cls: type, name: str) -> str:
    """Who defines name for cls: 'its class', or 'its base X'."""
    for base in cls.__mro__:
        if name in vars(base):
            return "its class" if base is cls else "its base %s" % _type_name(base)
    return "its class"


def _builtin_base(cls: type) -> str:
    for base in cls.__mro__:
        if base is not object and not (base.__flags__ & _HEAPTYPE):
            return _type_name(base)
    return "object"


def _reason_text(cls: type, reason: str) -> str:
    """Why the native object path does not copy cls's instances (reason: core's name)."""
    defines = {
        "reduce-ex": "__reduce_ex__", "reduce": "__reduce__", "getstate": "__getstate__",
        "setstate": "__setstate__", "getnewargs-ex": "__getnewargs_ex__",
        "getnewargs": "__getnewargs__", "new": "__new__",
    }
    if reason in defines:
        return "%s defines %s" % (_owner(cls, defines[reason]), defines[reason])
    if reason == "no-reduce-ex":
        return "its __reduce_ex__ is None, so __reduce__ is called"
    if reason == "list-dict":
        return "it subclasses %s, whose items the reduce protocol copies" % _builtin_base(cls)
    if reason == "builtin-base":
        return "it derives from the builtin type %s, whose constructor makes its instances" % (
            _builtin_base(cls))
    if reason == "getattr":
        return "its class customises attribute lookup (__getattr__ or __getattribute__)"
    if reason == "metaclass":
        return "its metaclass %s customises attribute lookup" % _type_name(type(cls))
    if reason == "newobj":
        return "copyreg.__newobj__ was replaced"
    if reason == "tables":
        return "copy._deepcopy_dispatch or copyreg.dispatch_table is not a dict"
    if reason == "dict-descriptor":
        return "its __dict__ attribute is not the instance dict"
    if reason == "c-fields":
        return "its instances hold C-level fields beyond __dict__ and __slots__"
    if reason == "instance-dict":
        return "the instance's __dict__ holds __reduce_ex__, __getstate__ or __deepcopy__"
    if reason == "slot-names":
        return "its __slotnames__ is not a list of str"
    return "the native object path declined it"


_HANDLER = ("a handler for the type (copium.register_handler(type, fn), or natively a C "
            "plugin: docs/plugins.md)")
_HANDLER_CAP = _HANDLER[0].upper() + _HANDLER[1:]

_REDUCE_HINTS = {
    "getstate": "If __getstate__ and __setstate__ only return and restore the instance's "
                "__dict__, delete them: the native object path copies __dict__ and __slots__ "
                "directly. Otherwise %s copies it without the reduce." % _HANDLER,
    "reduce": "deepcopy follows __reduce__ (written for pickling, say): each copy calls it and "
              "rebuilds the object from its result with Python calls. If it only returns the "
              "class and the instance's __dict__, delete it; otherwise %s skips the reduce."
              % _HANDLER,
    "new": "The native object path makes instances with object.__new__; a class with a "
           "__new__ of its own is rebuilt through object.__reduce_ex__ and copyreg.__newobj__. "
           "%s copies it without them." % _HANDLER_CAP,
    "builtin-base": "Subclasses of builtin types are rebuilt through the reduce protocol; "
                    "%s copies them directly." % _HANDLER,
    "getattr": "With __getattr__ or __getattribute__, every lookup of the copy protocol runs "
               "Python code, so copium follows stdlib's lookups one by one; without them (or "
               "with %s) the instances take the native object path." % _HANDLER,
    "instance-dict": "Those names in an instance's __dict__ override its class's protocol; "
                     "without them the instance takes the native object path.",
}
_REDUCE_HINTS["setstate"] = _REDUCE_HINTS["getstate"]
_REDUCE_HINTS["reduce-ex"] = _REDUCE_HINTS["reduce"].replace("__reduce__", "__reduce_ex__")
_REDUCE_HINTS["list-dict"] = _REDUCE_HINTS["builtin-base"]
_REDUCE_HINTS["getnewargs"] = _REDUCE_HINTS["new"].replace("a __new__", "a __getnewargs__")
_REDUCE_HINTS["getnewargs-ex"] = _REDUCE_HINTS["getnewargs"].replace(
    "__getnewargs__", "__getnewargs_ex__")

_UNPATCHED = (" Its copy.deepcopy calls run the standard library's deepcopy, in this time: "
              "copium.patch.enable() makes them copium's.")


_MEMO_HANDED = (" It was also the first hook handed the memo in this copy: from then on copium "
                "keeps a dict memo in step with its own and makes stdlib's exact memo entries, "
                "which makes every later object of the copy slower too.")


def _hint(cls: type, path: str, reason: Optional[str], handler: Optional[str], patched: bool,
          memo_by: Optional[type]) -> Optional[str]:
    """What would make a slow path fast (None for a fast one)."""
    if path not in SLOW_PATHS:
        return None
    handed = _MEMO_HANDED if memo_by is cls else ""
    if path == "deepcopy-python":
        hint = ("Its __deepcopy__ runs Python code for every object, and is handed the memo as "
                "a dict. If it only deep-copies the attributes, delete it: copium copies plain "
                "instances, dataclasses and __slots__ classes natively. Otherwise %s copies it "
                "without the method call." % _HANDLER)
        return hint + ("" if patched else _UNPATCHED) + handed
    if path == "deepcopy-c":
        return ("A __deepcopy__ written in C, called through an attribute lookup and a bound "
                "method with the memo made into a dict: a plugin handler for the type "
                "(docs/plugins.md) copies it without either." + handed)
    if path == "deepcopy-dispatch":
        return ("copy._deepcopy_dispatch maps the type to a Python function, called for every "
                "object: %s takes its place." % _HANDLER) + ("" if patched else _UNPATCHED) + (
                    handed)
    if path == "reduce-copyreg":
        return ("copyreg.dispatch_table has a reducer for the type (for pickling, say): every "
                "copy calls it and rebuilds the object with Python calls; %s skips the reduce."
                % _HANDLER)
    if path == "python-handler":
        return ("A Python handler from copium.register_handler runs Python code for every "
                "object; a C plugin handler (docs/plugins.md) copies the type natively."
                + handed)
    # The reduce protocol, for a reason the native object path names.
    if handler is not None:
        why = ("here %s was handed the memo first" % _type_name(memo_by) if memo_by is not None
               else "or the memo was given to the copy")
        return ("The '%s' handler copies %s natively, but leaves an object to stdlib's "
                "protocol once Python code has had the memo in the copy (a __deepcopy__ or "
                "another hook: %s), or when it cannot copy the object exactly (a changed "
                "class, a copyreg entry)." % (handler, _type_name(cls), why))
    if not (cls.__flags__ & _HEAPTYPE):
        return ("%s is a type written in C that defines its own reduce: a plugin handler for "
                "it (docs/plugins.md) copies it natively." % _type_name(cls))
    return _REDUCE_HINTS.get(reason or "", "%s copies it natively." % _HANDLER_CAP)


@dataclasses.dataclass(frozen=True)
class Row:
    """One type and one path: how many objects of ``type`` took ``path``, and their times.

    ``path`` is one of "atom", "builtin", "value-type", "plugin", "python-handler", "object"
    (the native object path), "deepcopy-python", "deepcopy-c", "deepcopy-dispatch",
    "reduce-copyreg", "reduce-ex", "reduce", "pinned" (copium.extra.pin: built from the
    snapshot taken when it was pinned). ``handler`` names the handler of a handler path,
    or the handler that left these objects to stdlib's protocol. ``reason`` says why the
    native object path did not copy them (reduce paths), ``hint`` what would make a slow path
    fast. ``count`` counts the copies made (an object met again, through a shared reference
    or a cycle, is not copied again), or for atoms the times one was met. Times in seconds.
    """

    type: type
    path: str
    handler: Optional[str]
    reason: Optional[str]
    hint: Optional[str]
    count: int
    self_time: float
    total_time: float

    @property
    def slow(self) -> bool:
        """Whether the path runs Python code (or calls into the interpreter) per object."""
        return self.path in SLOW_PATHS

    @property
    def label(self) -> str:
        """The path in words."""
        label = _LABELS.get(self.path, self.path).format(handler=self.handler)
        if self.handler is not None and self.path not in (
                "builtin", "value-type", "plugin", "python-handler"):
            label += " (from the '%s' handler)" % self.handler
        return label


def _fmt_time(seconds: float) -> str:
    if seconds >= 1:
        return "%.2f s" % seconds
    if seconds >= 1e-3:
        return "%.2f ms" % (seconds * 1e3)
    if seconds >= 1e-6:
        return "%.1f us" % (seconds * 1e6)
    return "%.0f ns" % (seconds * 1e9)


def _percent(part: float, whole: float) -> str:
    return "%.1f%%" % (100.0 * part / whole) if whole > 0 else "-"


class Report:
    """What copium.explain recorded (see the module's documentation)."""

    rows: Tuple[Row, ...]
    copy: Any
    total_time: float
    shared: int
    error: Optional[BaseException]
    error_path: Tuple[type, ...]
    memo_handed_by: Optional[type]
    patched: bool

    def __init__(self, recording: Any, copy: Any, error: Optional[BaseException],
                 patched: bool) -> None:
        raw_rows, total_ns, shared, error_path, memo_by = recording
        rows = []
        for cls, path, handler, reason, count, self_ns, total_ns_row in raw_rows:
            hint = _hint(cls, path, reason, handler, patched, memo_by)
            rows.append(Row(cls, path, handler,
                            _reason_text(cls, reason) if reason is not None else None, hint,
                            count, self_ns / 1e9, total_ns_row / 1e9))
        # By self time, then total time and count; first met first among equals.
        rows.sort(key=lambda r: (-r.self_time, -r.total_time, -r.count))
        self.rows = tuple(rows)
        self.copy = copy
        self.total_time = total_ns / 1e9
        self.shared = shared
        self.error = error
        self.error_path = tuple(error_path) if error is not None and error_path else ()
        self.memo_handed_by = memo_by
        self.patched = patched

    @property
    def objects(self) -> int:
        """Objects copied (atoms met included)."""
        return sum(r.count for r in self.rows)

    @property
    def slow_time(self) -> float:
        """The self time of the rows whose path is slow."""
        return sum(r.self_time for r in self.rows if r.slow)

    @property
    def summary(self) -> str:
        """The first line of str(report)."""
        types = len({r.type for r in self.rows})
        head = "copium.explain: %s objects of %d types in %s" % (
            format(self.objects, ","), types, _fmt_time(self.total_time))
        if self.shared:
            head += " (%s met again)" % format(self.shared, ",")
        if self.error is not None:
            head += "; the copy raised %s: %s" % (type(self.error).__name__, self.error)
            if self.error_path:
                head += " (in %s)" % " > ".join(_type_name(t) for t in self.error_path)
            return head
        slow = [r for r in self.rows if r.slow]
        if not slow:
            return head + "; no slow paths"
        parts = ["%s %s (%s)" % (_type_name(r.type), _percent(r.self_time, self.total_time),
                                 r.label) for r in slow[:3]]
        more = " and %d more" % (len(slow) - 3) if len(slow) > 3 else ""
        return head + "; %s in slow paths: %s%s" % (
            _percent(self.slow_time, self.total_time), ", ".join(parts), more)

    def __str__(self) -> str:
        header = ("self", "%", "total", "count", "type", "path")
        table = [header]
        for r in self.rows:
            # atoms are not timed, but for those stdlib's protocol found to be atoms
            timed = r.path != "atom" or r.total_time > 0
            table.append((_fmt_time(r.self_time) if timed else "-",
                          _percent(r.self_time, self.total_time) if timed else "-",
                          _fmt_time(r.total_time) if timed else "-",
                          format(r.count, ","), _type_name(r.type), r.label))
        widths = [max(len(line[i]) for line in table) for i in range(4)]
        lines = [self.summary]
        for line in table:
            cells = [line[i].rjust(widths[i]) for i in range(4)]
            lines.append("  ".join(cells + [line[4].ljust(max(len(t[4]) for t in table)),
                                            line[5]]).rstrip())
        slow = [r for r in self.rows if r.slow or r.reason is not None]
        if slow:
            lines.append("")
            lines.append("Why, and what would make it faster:")
            for r in slow:
                lines.append("- %s, %s (%s of the time):" % (
                    _type_name(r.type), r.label, _percent(r.self_time, self.total_time)))
                text = (r.reason[0].upper() + r.reason[1:] + ". " if r.reason else "") + (
                    r.hint or "")
                lines.extend(textwrap.wrap(text, 96, initial_indent="  ",
                                           subsequent_indent="  "))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return "<copium.report.Report: %s>" % self.summary


def explain(obj: Any, memo: Optional[dict] = None) -> Report:
    """Deep-copy obj as copium.deepcopy(obj, memo) does, recording where the time goes (see
    copium.report). Returns the Report; the copy is its ``copy``."""
    sink: list = []
    patched = patch.enabled()
    try:
        copy = _copium._explain(obj, memo, sink)
    except BaseException as exc:
        if sink:
            report = Report(sink[0], None, exc, patched)
            try:
                exc.copium_report = report  # type: ignore[attr-defined]
            except Exception:  # an exception type that takes no attributes
                pass
            else:
                add_note = getattr(exc, "add_note", None)
                if add_note is not None:
                    add_note("copium.explain: the report of the copy up to this error is in "
                             "the exception's copium_report attribute")
        raise
    return Report(sink[0], copy, None, patched)
