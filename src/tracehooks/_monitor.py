"""Frame observation on Python 3.12+ through ``sys.monitoring``.

Events are switched on with ``set_local_events`` for the traced code
object only, so no other code pays anything.  One tool id is claimed when
the first observation starts and freed (callbacks unregistered, events
cleared) when the last one ends, leaving ``sys.monitoring`` as found.
Other tools -- and ``sys.settrace`` tracers, which CPython 3.12 runs as a
separate client of the same machinery -- keep receiving their own events.

A frame is claimed at PY_START by the observers waiting on that thread for
that code, so recursive frames of the same code are left alone.  LINE events
reach the claimed frame's observers, which read the locals only after a line
that stores a watched name.  (INSTRUCTION events right after each store would
spare the other lines' callbacks, but CPython 3.12 and 3.13 deliver none to a
code object that a ``sys.settrace`` tracer instrumented before.)  No event is taken at the exit: ``run``'s
``finally`` completes every call (return or exception; PY_UNWIND cannot be
enabled per code object anyway) from the frame object, which keeps its
locals after the frame finished -- one callback a call fewer.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from types import CodeType, FrameType
from typing import Any, Protocol

__all__ = ["MONITOR"]

_TOOL_NAME = "tracehooks"
# Ids 0-2 and 5 are conventionally reserved for debuggers, coverage,
# profilers and optimizers; prefer the unassigned ones.
_PREFERRED_IDS = (3, 4, 2, 1, 0, 5)
_EVENTS: Any = sys.monitoring.events if hasattr(sys, "monitoring") else None
_BASE_EVENTS = _EVENTS.PY_START if _EVENTS is not None else 0
_CALLBACKS = (_EVENTS.PY_START, _EVENTS.LINE) if _EVENTS is not None else ()


class Sites(Protocol):
    """Where a code object binds the watched names (see ``_capture.StoreSites``)."""

    every_line: bool
    lines: frozenset[int]


class Observer(Protocol):
    """What ``run`` needs from an observer (see ``_capture.FrameObserver``)."""

    wants_lines: bool
    sites: Sites | None
    frame: FrameType | None

    def claim(self, frame: FrameType) -> None: ...
    def line(self, frame: FrameType) -> None: ...
    def finish(self) -> None: ...


class _FrameCatcher:
    """The observer of ``locals_at_return``: keeps the claimed frame, wants no LINE events."""

    __slots__ = ("frame",)
    wants_lines = False
    sites = None

    def __init__(self) -> None:
        self.frame: FrameType | None = None

    def claim(self, frame: FrameType) -> None:
        self.frame = frame

    def line(self, frame: FrameType) -> None:
        pass

    def finish(self) -> None:
        pass


class _Monitor:
    """Dispatches monitoring events of traced code objects to observers.

    Example:
        >>> def work(n):
        ...     return n + 1
        >>> MONITOR.run(work.__code__, None, work, (1,), {}) if sys.version_info >= (3, 12) else 2
        2
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.tool: int | None = None
        self.users = 0
        # Keyed by id(code): hashing a code object hashes its whole content.
        self.codes: dict[int, list[Any]] = {}
        self.waiting: dict[tuple[int, int], list[Observer]] = {}
        self.frames: dict[FrameType, list[Observer]] = {}
        # Per (thread, code): the lists that ``locals_at_return`` waits on, filled with the frame.
        self.boxes: dict[tuple[int, int], list[list[FrameType]]] = {}

    def acquire(self, code: CodeType | None = None, sites: Sites | None = None) -> None:
        """Claim the tool id for one more user (RuntimeError if none is free).

        With ``code``, also keep that code's events on until ``release``, so
        that calls in between do not re-instrument it each time; with ``sites``
        (the watched names' ``StoreSites``), the events that report assignments too.
        """
        with self.lock:
            self._use(code, sites)

    def release(self, code: CodeType | None = None, sites: Sites | None = None) -> None:
        """Give back one use; the last one frees the tool id."""
        with self.lock:
            self._unuse(code, sites)

    def _use(self, code: CodeType | None, sites: Sites | None) -> None:
        if self.users == 0:
            self._claim_tool()
        self.users += 1
        if code is not None:
            self._count(code, 1, sites)

    def _unuse(self, code: CodeType | None, sites: Sites | None) -> None:
        if code is not None:
            self._count(code, -1, sites)
        self.users -= 1
        if self.users == 0:
            for event in _CALLBACKS:
                sys.monitoring.register_callback(self.tool, event, None)
            sys.monitoring.free_tool_id(self.tool)
            self.tool = None

    def _claim_tool(self) -> None:
        monitoring = sys.monitoring
        for tool in _PREFERRED_IDS:
            if monitoring.get_tool(tool) is None:
                monitoring.use_tool_id(tool, _TOOL_NAME)
                break
        else:
            taken = {i: monitoring.get_tool(i) for i in range(6)}
            raise RuntimeError(f"no free sys.monitoring tool id for tracehooks; all six are "
                               f"taken: {taken}")
        monitoring.register_callback(tool, _EVENTS.PY_START, self._on_start)
        monitoring.register_callback(tool, _EVENTS.LINE, self._on_line)
        self.tool = tool

    def run(self, code: CodeType, observer: Observer | None, function: Callable[..., Any],
            args: tuple, kwargs: dict) -> Any:
        """Call ``function`` while ``observer`` follows the first new frame running ``code``."""
        if observer is None:
            return function(*args, **kwargs)
        key = (threading.get_ident(), id(code))
        sites = observer.sites if observer.wants_lines else None
        with self.lock:
            # Cheap while a started trace holds the events: only counts change.
            self._use(code, sites)
            self.waiting.setdefault(key, []).append(observer)
        try:
            return function(*args, **kwargs)
        finally:
            with self.lock:
                self._forget(key, observer)
                self._unuse(code, sites)
            observer.finish()

    def locals_at_return(self, code: CodeType, function: Callable[..., Any], args: tuple,
                         kwargs: dict) -> tuple[Any, dict[str, Any] | None]:
        """``(result, final locals or None)`` of a call whose frame runs ``code``."""
        if id(code) not in self.codes:  # nobody holds the code's events: install them for this call
            catcher = _FrameCatcher()
            result = self.run(code, catcher, function, args, kwargs)
            frame, catcher.frame = catcher.frame, None
        else:
            # A started trace holds the events.  Only this thread's entry is touched, one atomic
            # dict operation at a time, so the lock is not needed; _on_start fills ``box``.
            key = (threading.get_ident(), id(code))
            box: list[FrameType] = []
            boxes = self.boxes.get(key)
            if boxes is None:
                self.boxes[key] = [box]
            else:
                boxes.append(box)
            try:
                result = function(*args, **kwargs)
            finally:
                if not box:  # never claimed (compiled code, an exception before the frame)
                    self._unbox(key, box)
            frame = box.pop() if box else None  # let go of it first: reading it is cheaper then
        if frame is None:
            return result, None
        local = frame.f_locals
        # 3.13 gives a live proxy of the frame: keep a dict of what it held at the end.
        return result, local if type(local) is dict else dict(local)

    def _unbox(self, key: tuple[int, int], box: list[FrameType]) -> None:
        boxes = self.boxes.get(key)
        if boxes is not None and any(entry is box for entry in boxes):
            boxes[:] = [entry for entry in boxes if entry is not box]
            if not boxes:
                del self.boxes[key]

    def _count(self, code: CodeType, step: int, sites: Sites | None) -> None:
        # counts: [users, users wanting LINE events, event set installed, the code kept alive]
        counts = self.codes.get(id(code))
        if counts is None:
            counts = self.codes[id(code)] = [0, 0, 0, code]
        counts[0] += step
        if sites is not None:
            counts[1] += step
        wanted = (_BASE_EVENTS | (_EVENTS.LINE if counts[1] else 0)) if counts[0] else 0
        if wanted != counts[2]:
            sys.monitoring.set_local_events(self.tool, code, wanted)
            counts[2] = wanted
        if not counts[0]:
            del self.codes[id(code)]

    def _forget(self, key: tuple[int, int], observer: Observer) -> None:
        pending = self.waiting.get(key)
        if pending and observer in pending:
            pending.remove(observer)
            if not pending:
                del self.waiting[key]
        live = self.frames.get(observer.frame) if observer.frame is not None else None
        if live is not None and observer in live:
            live.remove(observer)
            if not live:
                del self.frames[observer.frame]

    def _on_start(self, code: CodeType, offset: int) -> None:
        # This thread's key only: atomic pops, no lock.  Frame 1 is the frame that fired the
        # event; frame 0 is this callback.
        key = (threading.get_ident(), id(code))
        boxes = self.boxes.pop(key, None)
        if boxes:
            frame = sys._getframe(1)
            for box in boxes:
                box.append(frame)
        observers = self.waiting.pop(key, None)
        if not observers:
            return
        frame = sys._getframe(1)
        following = [observer for observer in observers if observer.wants_lines]
        if following:  # LINE events find their observers by frame
            with self.lock:
                self.frames.setdefault(frame, []).extend(following)
        for observer in observers:
            observer.claim(frame)

    def _on_line(self, code: CodeType, line: int) -> None:
        frame = sys._getframe(1)
        observers = self.frames.get(frame)
        if observers:
            for observer in tuple(observers):
                if observer.wants_lines:
                    observer.line(frame)


MONITOR = _Monitor()
