"""Read the local variables of one running call, without editing its code.

A :class:`FrameObserver` follows the frame of one call: it notes the
objects bound to the watched names when the frame starts, reports each
rebinding (a name now bound to a different object, by identity) at the
next line event and at return, and keeps the final locals.  Parameters
bound at entry are the starting state, not assignments.  In-place changes
(``x += 1`` on a tensor, ``a[0] = 1``) keep the same object and are not
reported.

Two backends feed it.  Python 3.11: a ``sys.settrace`` function installed
just around the call, which claims the first new frame running the traced
code, answers None for every other frame (or defers to the tracer that was
installed before, if any), forwards the claimed frame's events to that
previous tracer too, and is replaced by the previous tracer afterwards.
Python 3.12+: ``sys.monitoring`` (see ``_monitor``).
"""

from __future__ import annotations

import dis
import inspect
import sys
import threading
import types
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import CodeType, FrameType
from typing import Any, NamedTuple

__all__ = ["NOT_FUNCTIONS", "Call", "FrameObserver", "StoreSites", "acquire_backend", "code_of",
           "locals_at_return", "normalize_locals", "normalize_watch", "release_backend", "run_observed",
           "snapshot", "store_sites"]

_UNBOUND = object()
NOT_FUNCTIONS = inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR
USE_MONITORING = sys.version_info >= (3, 12)
if USE_MONITORING:
    # Imported once here: an import statement in a function runs the import machinery per call.
    from ._monitor import MONITOR
else:
    MONITOR = None

Labels = tuple[str, ...] | str


class Call:
    """One call of a traced function, as recorded.

    ``locals`` holds every local of the frame when it ended (the objects
    themselves; empty unless ``locals=`` or ``watch=`` was given);
    ``named`` the ``locals=`` selection under the emitted names, in the
    requested order; ``watched`` the ``(label, value)`` assignments of
    watched locals in order; ``unlabelled`` the ``(local name, value)``
    assignments beyond the labels given.  Under ``capture()`` the tensors
    and arrays in ``named``, ``watched`` and ``unlabelled`` are copies taken
    when recorded, so later in-place updates do not change them.

    Example:
        >>> call = Call(instance=None, args=(2,), kwargs={}, result=4)
        >>> call.args, call.result, call.exception
        ((2,), 4, None)
    """

    # A plain slotted class, not a dataclass with default factories: one is built per traced
    # call, and its construction is a measurable part of what tracing a short method costs.
    # The four collections are made when first read (``__getattr__`` runs for an unset slot).
    __slots__ = ("instance", "args", "kwargs", "result", "exception", "thread", "locals", "named",
                 "watched", "unlabelled")
    _COLLECTIONS = {"locals": dict, "named": dict, "watched": list, "unlabelled": list}

    def __init__(self, instance: Any, args: tuple, kwargs: dict, result: Any = None,
                 exception: BaseException | None = None, locals: dict[str, Any] | None = None,
                 named: dict[str, Any] | None = None, watched: list[tuple[str, Any]] | None = None,
                 unlabelled: list[tuple[str, Any]] | None = None, thread: int | None = None) -> None:
        self.instance = instance
        self.args = args
        self.kwargs = kwargs
        self.result = result
        self.exception = exception
        self.thread = threading.get_ident() if thread is None else thread
        if locals is not None:
            self.locals = locals
        if named is not None:
            self.named = named
        if watched is not None:
            self.watched = watched
        if unlabelled is not None:
            self.unlabelled = unlabelled

    def __getattr__(self, name: str) -> Any:
        make = Call._COLLECTIONS.get(name)
        if make is None:
            raise AttributeError(f"'Call' object has no attribute {name!r}")
        value = make()
        setattr(self, name, value)
        return value

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"Call({fields})"


def normalize_locals(spec: Sequence[str] | Mapping[str, str] | None) -> dict[str, str]:
    """Return ``{emitted name: local name}`` from a list of names or a mapping.

    Example:
        >>> normalize_locals(["a", "b"])
        {'a': 'a', 'b': 'b'}
        >>> normalize_locals({"Fclose_m": "Fclose"})
        {'Fclose_m': 'Fclose'}
    """
    if spec is None:
        return {}
    if isinstance(spec, str):
        raise TypeError(f"locals= must be a sequence of names or a mapping, got the str {spec!r}; "
                        f"write locals=[{spec!r}]")
    pairs = spec.items() if isinstance(spec, Mapping) else ((name, name) for name in spec)
    result: dict[str, str] = {}
    for emitted, local in pairs:
        if not isinstance(emitted, str) or not isinstance(local, str):
            raise TypeError(f"locals= entries must be str, got {emitted!r}: {local!r}")
        result[emitted] = local
    return result


def normalize_watch(spec: Sequence[str] | Mapping[str, Any] | None) -> dict[str, Labels]:
    """Return ``{local name: labels}``; a str label applies to every assignment.

    Example:
        >>> normalize_watch({"pix0": ["before", "after"], "R": "R_step"})
        {'pix0': ('before', 'after'), 'R': 'R_step'}
        >>> normalize_watch(["x"])
        {'x': 'x'}
    """
    if spec is None:
        return {}
    if isinstance(spec, str):
        raise TypeError(f"watch= must be a sequence of names or a mapping, got the str {spec!r}; "
                        f"write watch=[{spec!r}]")
    if not isinstance(spec, Mapping):
        spec = {name: name for name in spec}
    result: dict[str, Labels] = {}
    for local, labels in spec.items():
        if isinstance(labels, str):
            result[local] = labels
        elif isinstance(labels, Sequence) and all(isinstance(x, str) for x in labels):
            result[local] = tuple(labels)
        else:
            raise TypeError(f"watch= labels for {local!r} must be a str or a sequence of str, "
                            f"got {labels!r}")
    return result


def code_of(obj: Any) -> CodeType | None:
    """Find the code object a callable (or descriptor, or wrapper) finally runs.

    Example:
        >>> def f():
        ...     pass
        >>> code_of(staticmethod(f)) is f.__code__
        True
    """
    for _ in range(64):
        if isinstance(obj, property):
            obj = obj.fget
        elif isinstance(obj, (classmethod, staticmethod)) or inspect.ismethod(obj):
            obj = obj.__func__
        elif inspect.isfunction(obj):
            return obj.__code__
        elif hasattr(obj, "__wrapped__"):
            obj = obj.__wrapped__
        elif hasattr(obj, "func") and callable(obj.func):  # functools.partial
            obj = obj.func
        else:
            return None
    return None


def check_code(code: CodeType | None, names: Sequence[str], where: str) -> None:
    """Check that ``code`` can be observed and defines every name in ``names``.

    Example:
        >>> def f(a):
        ...     b = a
        >>> check_code(f.__code__, ["b"], "f")
        >>> check_code(f.__code__, ["c"], "f")
        Traceback (most recent call last):
        ...
        ValueError: local 'c' is not a local variable of f (defined at ...); its locals are: a, b
    """
    if code is None:
        raise TypeError(f"cannot capture locals of {where}: it is not a Python function")
    place = f"{code.co_filename}:{code.co_firstlineno}"
    if code.co_flags & NOT_FUNCTIONS:
        raise TypeError(f"cannot capture locals of {where} ({place}): generators and coroutines "
                        "are not supported; allowed: plain functions and methods")
    known = tuple(dict.fromkeys(code.co_varnames + code.co_cellvars + code.co_freevars))
    missing = [name for name in names if name not in known]
    if missing:
        listed = ", ".join(repr(name) for name in missing)
        raise ValueError(f"local {listed} is not a local variable of {where} (defined at {place});"
                         f" its locals are: {', '.join(known)}")


def snapshot(value: Any) -> Any:
    """Copy tensors and arrays (detached), since later in-place updates would change them.

    Example:
        >>> import numpy
        >>> a = numpy.zeros(2); b = snapshot(a); a += 1
        >>> b.tolist()
        [0.0, 0.0]
    """
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        return value.detach().clone()
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, numpy.ndarray):
        return value.copy()
    return value


class StoreSites(NamedTuple):
    """Where a code object stores or deletes the watched names.

    ``lines``: the lines holding such an instruction, each with the watched names it binds; ``every_line``: a
    watched name is a cell
    variable, which nested functions can rebind anywhere, so every line must be checked;
    ``bound_at_entry``: a watched name is a parameter or a closure variable, bound when the
    frame starts (its first value there is no assignment).
    """

    lines: Mapping[int, tuple[str, ...]]
    every_line: bool
    bound_at_entry: bool


# Every instruction that binds or unbinds a local by name (3.11-3.13 spellings, superinstructions
# included); LOAD_FAST_AND_CLEAR hides a local inside a 3.12+ inlined comprehension.
_REBINDING = frozenset({"STORE_FAST", "DELETE_FAST", "STORE_DEREF", "DELETE_DEREF", "STORE_FAST_STORE_FAST",
                        "STORE_FAST_LOAD_FAST", "STORE_FAST_MAYBE_NULL", "LOAD_FAST_AND_CLEAR"})


def store_sites(code: CodeType, names: Sequence[str]) -> StoreSites:
    """Find where ``code`` stores or deletes any of ``names`` (read once per traced function).

    Example:
        >>> def f(x):
        ...     y = x + 1
        ...     z = y * 2
        ...     return z
        >>> sites = store_sites(f.__code__, ["y"])
        >>> dict(sites.lines) == {f.__code__.co_firstlineno + 1: ("y",)}, sites.every_line, sites.bound_at_entry
        (True, False, False)
    """
    wanted = set(names)
    parameters = code.co_argcount + code.co_kwonlyargcount + \
        bool(code.co_flags & inspect.CO_VARARGS) + bool(code.co_flags & inspect.CO_VARKEYWORDS)
    at_entry = bool(wanted & set(code.co_varnames[:parameters] + code.co_freevars))
    if wanted & set(code.co_cellvars + code.co_freevars):
        return StoreSites({}, True, at_entry)
    lines: dict[int, tuple[str, ...]] = {}
    for instruction in dis.get_instructions(code):
        if instruction.opname not in _REBINDING:
            continue
        argval = instruction.argval
        bound = wanted & ({argval} if isinstance(argval, str) else set(argval))
        if bound:
            line = instruction.positions.lineno if instruction.positions is not None else None
            if line is None:  # a store with no line of its own: check after every line
                return StoreSites({}, True, at_entry)
            lines[line] = tuple(dict.fromkeys(lines.get(line, ()) + tuple(sorted(bound))))
    return StoreSites(types.MappingProxyType(lines), False, at_entry)


class FrameObserver:
    """Follows one frame and reports rebinding of watched locals.

    ``on_assign(label, name, value)`` receives the label for this
    assignment: the next one of the label sequence, the fixed label for a
    str, or None once the sequence is used up.

    Example:
        >>> def compute():
        ...     v = 1
        ...     v = 2
        ...     return v
        >>> seen = []
        >>> observer = FrameObserver({"v": ("first", "second")},
        ...                          lambda label, name, value: seen.append((label, value)))
        >>> run_observed(compute.__code__, observer, compute, (), {}), seen
        (2, [('first', 1), ('second', 2)])
    """

    __slots__ = ("watch", "on_assign", "wants_lines", "sites", "frame", "claimed", "final", "keep_final",
                 "_last", "_counts", "_returned", "_store_lines", "_at")

    def __init__(self, watch: Mapping[str, Labels],
                 on_assign: Callable[[str | None, str, Any], None],
                 sites: StoreSites | None = None, keep_final: bool = True) -> None:
        self.watch = watch
        self.on_assign = on_assign
        self.wants_lines = bool(watch)
        #: Where the code binds the watched names (None: unknown, every line is checked).
        self.sites = sites
        self._store_lines = None if sites is None or sites.every_line else sites.lines
        self._at: int | None = None
        self.frame: FrameType | None = None
        #: True once a frame running the code was seen (False: compiled code, another path).
        self.claimed = False
        #: The locals when the frame ended, kept when ``keep_final`` (a trace that prints only
        #: watched assignments has no use for them).
        self.final: dict[str, Any] = {}
        self.keep_final = keep_final
        self._last = dict.fromkeys(watch, _UNBOUND)
        self._counts = dict.fromkeys(watch, 0)
        self._returned = False

    def claim(self, frame: FrameType) -> None:
        """Start following ``frame``; its current bindings are the baseline."""
        self.frame = frame
        self.claimed = True
        # Only parameters and closure variables are bound when a frame starts; reading f_locals
        # builds a dict, so it is read only when a watched name is one of those.
        if self.sites is None or self.sites.bound_at_entry:
            local = frame.f_locals
            self._last = {name: local.get(name, _UNBOUND) for name in self.watch}

    def line(self, frame: FrameType) -> None:
        """A new line is about to run: report what the previous one bound, if it binds a watched name."""
        previous, self._at = self._at, frame.f_lineno
        if self._store_lines is None:
            self._scan(frame.f_locals, self.watch)
        else:
            names = self._store_lines.get(previous)
            if names is not None:  # only the names that line binds
                self._scan(frame.f_locals, names)

    def returned(self, frame: FrameType) -> None:
        """The frame returns: report the last bindings, keep the final locals."""
        if not self._returned:
            self._returned = True
            if not self.keep_final and self._store_lines is not None \
                    and self._at not in self._store_lines:
                return  # the last line bound no watched name, and the locals are not wanted
            local = frame.f_locals
            self._scan(local, self.watch)
            if self.keep_final:
                self.final = dict(local)  # 3.11/3.12 reuse one dict per frame; 3.13 gives a proxy

    def finish(self) -> None:
        """The call is over (maybe by an exception): complete what return did not."""
        if self.frame is not None:
            frame, self.frame = self.frame, None  # let go of it first: reading it is cheaper then
            self.returned(frame)

    def _scan(self, local: Mapping[str, Any], names: Iterable[str]) -> None:
        watch = self.watch
        for name in names:
            labels = watch[name]
            value = local.get(name, _UNBOUND)
            if value is self._last[name]:
                continue
            self._last[name] = value
            if value is _UNBOUND:  # `del name`: a later binding counts again
                continue
            count = self._counts[name]
            self._counts[name] = count + 1
            if isinstance(labels, str):
                label: str | None = labels
            else:
                label = labels[count] if count < len(labels) else None
            self.on_assign(label, name, value)


def _no_tracer(frame: FrameType, event: str, arg: Any) -> None:
    """A global trace function that traces no new frame."""
    return None


def _run_settrace(code: CodeType, observer: FrameObserver, function: Callable[..., Any],
                  args: tuple, kwargs: dict) -> Any:
    previous = sys.gettrace()
    claimed = False

    def local_tracer(chained: Any) -> Any:
        def follow(frame: FrameType, event: str, arg: Any) -> Any:
            nonlocal chained
            if event == "line":
                observer.line(frame)
            elif event == "return":
                observer.returned(frame)
            if chained is not None:
                chained = chained(frame, event, arg)
            return follow

        return follow

    def global_tracer(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal claimed
        chained = previous(frame, event, arg) if previous is not None else None
        if claimed or frame.f_code is not code:
            return chained
        claimed = True
        observer.claim(frame)
        # No more frames to claim: nested calls go to the tracer found (or to one that ignores
        # them, which keeps tracing on for this frame's own events) instead of through this one.
        sys.settrace(previous if previous is not None or not observer.wants_lines else _no_tracer)
        if not observer.wants_lines:
            # Final locals are read from the frame object after the call: no more events needed.
            return chained
        return local_tracer(chained)

    sys.settrace(global_tracer)
    try:
        return function(*args, **kwargs)
    finally:
        sys.settrace(previous)
        observer.finish()


def _locals_at_return_settrace(code: CodeType, function: Callable[..., Any], args: tuple,
                               kwargs: dict) -> tuple[Any, dict[str, Any] | None]:
    previous = sys.gettrace()
    frames: list[FrameType] = []

    def claim(frame: FrameType, event: str, arg: Any) -> Any:
        chained = previous(frame, event, arg) if previous is not None else None
        if frame.f_code is code and not frames:
            frames.append(frame)
            # The locals are read from the frame object once it returned: no more events.
            sys.settrace(previous)
        return chained

    sys.settrace(claim)
    try:
        result = function(*args, **kwargs)
    finally:
        sys.settrace(previous)
    # pop(): the list lets go of the frame before its locals are read, which is measurably cheaper.
    return result, (_final_locals(frames.pop()) if frames else None)


def _final_locals(frame: FrameType) -> dict[str, Any]:
    local = frame.f_locals
    # 3.13 gives a live proxy of the frame: keep a dict of what it held at the end.
    return local if type(local) is dict else dict(local)


def locals_at_return(code: CodeType, function: Callable[..., Any], args: tuple,
                     kwargs: dict) -> tuple[Any, dict[str, Any] | None]:
    """``(result, locals)`` of ``function(*args, **kwargs)`` whose frame runs ``code``.

    The locals are those of the first new frame running ``code``, when it returned; None when no
    such frame ran (compiled code, a callable that runs other code).  An exception propagates.

    Example:
        >>> def f(x):
        ...     y = x * 2
        ...     return y
        >>> locals_at_return(f.__code__, f, (3,), {})
        (6, {'x': 3, 'y': 6})
    """
    if MONITOR is not None:
        return MONITOR.locals_at_return(code, function, args, kwargs)
    return _locals_at_return_settrace(code, function, args, kwargs)


def run_observed(code: CodeType, observer: FrameObserver | None, function: Callable[..., Any],
                 args: tuple, kwargs: dict) -> Any:
    """Call ``function(*args, **kwargs)`` while ``observer`` follows the frame running ``code``.

    Example:
        >>> def f(x):
        ...     y = x * 2
        ...     return y
        >>> observer = FrameObserver({}, lambda *event: None)
        >>> run_observed(f.__code__, observer, f, (3,), {}), observer.final
        (6, {'x': 3, 'y': 6})
    """
    if observer is None:
        return function(*args, **kwargs)
    if MONITOR is not None:
        return MONITOR.run(code, observer, function, args, kwargs)
    return _run_settrace(code, observer, function, args, kwargs)


def acquire_backend(code: CodeType | None = None, sites: StoreSites | None = None) -> None:
    """Keep the observation backend ready (claim the monitoring tool id on 3.12+).

    With ``code``, that code's monitoring events also stay installed until
    the matching :func:`release_backend` (``sites``: the events reporting
    the assignments of watched names too).
    Raises RuntimeError when no ``sys.monitoring`` tool id is free.

    Example:
        >>> acquire_backend(); release_backend()
    """
    if MONITOR is not None:
        MONITOR.acquire(code, sites)


def release_backend(code: CodeType | None = None, sites: StoreSites | None = None) -> None:
    """Undo one :func:`acquire_backend` with the same arguments.

    Example:
        >>> acquire_backend(); release_backend()
    """
    if MONITOR is not None:
        MONITOR.release(code, sites)
