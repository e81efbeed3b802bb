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

import inspect
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import CodeType, FrameType
from typing import Any

__all__ = ["NOT_FUNCTIONS", "Call", "FrameObserver", "acquire_backend", "code_of", "normalize_locals",
           "normalize_watch", "release_backend", "run_observed", "snapshot"]

_UNBOUND = object()
NOT_FUNCTIONS = inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR
USE_MONITORING = sys.version_info >= (3, 12)

Labels = tuple[str, ...] | str


@dataclass(eq=False)
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

    instance: Any
    args: tuple
    kwargs: dict
    result: Any = None
    exception: BaseException | None = None
    locals: dict[str, Any] = field(default_factory=dict)
    named: dict[str, Any] = field(default_factory=dict)
    watched: list[tuple[str, Any]] = field(default_factory=list)
    unlabelled: list[tuple[str, Any]] = field(default_factory=list)
    thread: int = field(default_factory=threading.get_ident)


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

    __slots__ = ("watch", "on_assign", "wants_lines", "frame", "claimed", "final", "_last", "_counts",
                 "_returned")

    def __init__(self, watch: Mapping[str, Labels],
                 on_assign: Callable[[str | None, str, Any], None]) -> None:
        self.watch = watch
        self.on_assign = on_assign
        self.wants_lines = bool(watch)
        self.frame: FrameType | None = None
        #: True once a frame running the code was seen (False: compiled code, another path).
        self.claimed = False
        self.final: dict[str, Any] = {}
        self._last: dict[str, Any] = {}
        self._counts = dict.fromkeys(watch, 0)
        self._returned = False

    def claim(self, frame: FrameType) -> None:
        """Start following ``frame``; its current bindings are the baseline."""
        self.frame = frame
        self.claimed = True
        if self.watch:  # reading f_locals builds a dict: only when there is something to compare
            local = frame.f_locals
            self._last = {name: local.get(name, _UNBOUND) for name in self.watch}

    def line(self, frame: FrameType) -> None:
        """A new line is about to run: report what the previous one bound."""
        self._scan(frame.f_locals)

    def returned(self, frame: FrameType) -> None:
        """The frame returns: report the last bindings, keep the final locals."""
        if not self._returned:
            self._returned = True
            local = frame.f_locals
            self._scan(local)
            self.final = dict(local)

    def finish(self) -> None:
        """The call is over (maybe by an exception): complete what return did not."""
        if self.frame is not None:
            self.returned(self.frame)
            self.frame = None

    def _scan(self, local: Mapping[str, Any]) -> None:
        for name, labels in self.watch.items():
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
        if not observer.wants_lines:
            # Final locals are read from the frame object after the call, so
            # no more events are needed: stop paying for every nested call.
            sys.settrace(previous)
            return chained
        return local_tracer(chained)

    sys.settrace(global_tracer)
    try:
        return function(*args, **kwargs)
    finally:
        sys.settrace(previous)
        observer.finish()


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
    if USE_MONITORING:
        from ._monitor import MONITOR

        return MONITOR.run(code, observer, function, args, kwargs)
    return _run_settrace(code, observer, function, args, kwargs)


def acquire_backend(code: CodeType | None = None, lines: bool = False) -> None:
    """Keep the observation backend ready (claim the monitoring tool id on 3.12+).

    With ``code``, that code's monitoring events also stay installed until
    the matching :func:`release_backend` (``lines``: LINE events too).
    Raises RuntimeError when no ``sys.monitoring`` tool id is free.

    Example:
        >>> acquire_backend(); release_backend()
    """
    if USE_MONITORING:
        from ._monitor import MONITOR

        MONITOR.acquire(code, lines)


def release_backend(code: CodeType | None = None, lines: bool = False) -> None:
    """Undo one :func:`acquire_backend` with the same arguments.

    Example:
        >>> acquire_backend(); release_backend()
    """
    if USE_MONITORING:
        from ._monitor import MONITOR

        MONITOR.release(code, lines)
