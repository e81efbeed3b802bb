"""``trace``, ``capture``, ``@traced`` and ``emit``: the user-facing tracing API.

All three tracing entry points share one recorder, :class:`_Probe` (``_probe.py``),
which runs the call, fills a :class:`Call`, and prints or keeps it.
"""

from __future__ import annotations

import sys
import threading
import types
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import wrapt

from ._capture import Call, acquire_backend, release_backend
from ._config import CONFIGURED, Unset, config_version, thread_enabled, traced_enabled_test
from ._errors import TraceWarning
from ._fast import FastTrace
from ._format import Fmt, format_line, pick
from ._options import Emitters, Formats, Index, Locals, TraceOptions, Watch
from ._patch import Patch, apply_patch, resolve_path
from ._probe import _Output, _Probe, _Run
from ._sinks import Sink, resolve_sink
from ._specs import CONTENT, get_spec

__all__ = ["CaptureHandle", "TraceHandle", "capture", "emit", "trace", "traced"]


class TraceHandle(_Probe):
    """A trace of ``target.name``: a context manager, or ``start()`` / ``undo()``.

    ``ncalls`` counts the calls traced; ``disabled_reason`` says why the
    trace switched itself off (None while it works); ``patch`` is the
    underlying :class:`~tracehooks.Patch` while started.

    Example:
        >>> import math
        >>> handle = trace(math, "hypot", emit={"r": lambda call: call.result}, sink=print)
        >>> with handle:
        ...     _ = math.hypot(3, 4)
        TRACE_PY: r 5
        >>> handle.ncalls
        1
    """

    #: Reads the options of the older spelling ``TraceHandle(target, name, {option: value})``.
    _options_from = TraceOptions

    def __init__(self, target: Any, name: str, options: TraceOptions | Mapping[str, Any],
                 given: Mapping[str, Any] | None = None) -> None:
        if not isinstance(options, TraceOptions):
            options = self._options_from(**options)
        super().__init__(options, name)
        # The options given to trace(): with none of locals/watch/emit, a registered spec (or
        # locals=True) decides what is printed when the trace starts.
        self._given = dict(given) if given is not None else None
        self.target = target
        self.name = name
        self.patch: Patch | None = None
        self._state = "new"
        self._thread = 0
        self._output = _Output(None, None)
        self._owned = False
        self._holds_backend = False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.where} {self._state} calls={self.ncalls}>"

    @property
    def sink(self) -> Sink | None:
        """The resolved sink while started (None for a capture).

        Example:
            >>> import math
            >>> with trace(math, "floor", sink="stderr") as handle:
            ...     handle.sink
            <StreamSink stderr>
        """
        return self._output.sink

    @property
    def active(self) -> bool:
        """True while started, not undone and not disabled.

        Example:
            >>> import math
            >>> handle = trace(math, "floor")
            >>> handle.active, handle.start().active, handle.undo(), handle.active
            (False, True, None, False)
        """
        return self._state == "started" and self.patch is not None and self.patch.active

    def start(self) -> TraceHandle:
        """Patch the target now; calls on this thread (all, with all_threads) are traced.

        Example:
            >>> import math
            >>> handle = trace(math, "floor", sink=[]).start()
            >>> math.floor(1.5), handle.ncalls
            (1, 1)
            >>> handle.undo()
        """
        if self._state != "new":
            raise RuntimeError(f"{self!r} was already started; create a new one to trace again")
        parent, attribute, original = resolve_path(self.target, self.name)
        self.where = f"{_owner_name(parent)}.{attribute}"
        if self._given is not None:
            self._set_options(_spec_options(self.target, attribute, self._given,
                                            self.options) or self.options)
        self._prepare_code(original)
        if self.emitting:
            renderer, sink, self._owned = self.options.output()
            self._output = _Output(renderer, sink)
        # None: every thread's calls are recorded.
        self._thread = None if self.options.all_threads else threading.get_ident()
        try:
            if self.code is not None:
                acquire_backend(self.code, self.sites)
                self._holds_backend = True
            direct = None
            if self._plan is not None and self._output.simple:
                # A plain function's replacement runs the fast path itself: no layer in between.
                direct = FastTrace(self, self._plan, self._output, self._thread).install
            self.patch = apply_patch(self.target, self.name, self._wrapper, direct=direct)
        except BaseException:
            self._release()
            raise
        self._state = "started"
        return self

    def undo(self) -> None:
        """Restore the target exactly (idempotent); close a sink opened from a path.

        Example:
            >>> import math
            >>> handle = trace(math, "floor").start()
            >>> handle.undo(); handle.undo()
            >>> handle.active
            False
        """
        if self._state != "started":
            return
        self._state = "undone"
        try:
            self.patch.undo()
        finally:
            self._release()

    def _release(self) -> None:
        try:
            if self._holds_backend:
                self._holds_backend = False
                release_backend(self.code, self.sites)
        finally:
            if self._owned:
                self._owned = False
                self._output.sink.close()

    def __enter__(self) -> TraceHandle:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.undo()

    def _switch_off(self) -> None:
        if self.patch is not None:
            self.patch.disable()

    def _wrapper(self, wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
        if self._thread is not None and threading.get_ident() != self._thread:
            return wrapped(*args, **kwargs)
        return self._record(wrapped, instance, args, kwargs, self._output)


def _spec_options(target: Any, attribute: str, given: Mapping[str, Any],
                  options: TraceOptions) -> TraceOptions | None:
    """The options of a trace from its registered spec under those ``given``; ``locals=True`` for a
    bare trace without a spec; None: keep ``options``.  Entry points load only for a bare trace."""
    bare = not any(key in given for key in CONTENT)
    owner = sys.modules.get(target, target) if isinstance(target, str) else target
    spec = get_spec(owner, attribute, load=bare)
    if spec is not None:
        return spec.options(given, options.all_threads)
    if bare:
        return TraceOptions(locals=True, all_threads=options.all_threads, **given)
    return None


def _owner_name(parent: Any) -> str:
    if isinstance(parent, type):
        return parent.__qualname__
    if isinstance(parent, types.ModuleType):
        return parent.__name__
    return f"{type(parent).__qualname__} instance"


class CaptureHandle(TraceHandle):
    """A capture of ``target.name``: like a trace, but keeps :class:`Call` objects in ``calls``.

    Example:
        >>> import math
        >>> with capture(math, "hypot") as seen:
        ...     _ = math.hypot(3, 4)
        >>> seen.calls[0].args, seen.calls[0].result
        ((3, 4), 5.0)
    """

    emitting = False

    def __init__(self, target: Any, name: str, options: TraceOptions | Mapping[str, Any]) -> None:
        super().__init__(target, name, options)
        self.calls: list[Call] = []

    def _ended(self, run: _Run) -> None:
        self.calls.append(run.call)

    @staticmethod
    def _options_from(*, locals: Locals | None = None, watch: Watch | None = None,
                      all_threads: bool = False) -> TraceOptions:
        return TraceOptions(locals=locals, watch=watch, all_threads=all_threads)


def trace(target: Any, name: str, *, locals: Locals | None = None, watch: Watch | None = None,
          emit: Emitters | None = None, index: Index | None = None, formats: Formats | None = None,
          prefix: str | Unset | None = CONFIGURED, style: str | Unset | None = CONFIGURED,
          fmt: Fmt | Unset | None = CONFIGURED, sink: Any = CONFIGURED,
          all_threads: bool = False) -> TraceHandle:
    """Trace calls of ``target.name`` (class, instance or module attribute) in a ``with`` block.

    Given none of ``locals``, ``watch`` or ``emit``, it prints what the spec registered for the
    method says (:func:`register_spec`, entry point group ``tracehooks.specs``), else every
    printable local at return and the result, as ``locals=True`` does; options given win over a
    spec's.  ``style="json"`` writes JSON lines with the exact values.
    ``locals`` are printed at return, ``watch``ed locals as they are
    assigned, then each ``emit`` entry; ``index`` picks one element of a
    batched value and ``formats`` sets the format of one name; ``prefix``,
    ``style``, ``fmt`` and ``sink`` default to the ``configure()`` values
    (``CONFIGURED``); ``all_threads`` records calls made on every thread.
    See the user guide.  The attribute is restored exactly on exit.

    Example:
        >>> import math
        >>> with trace(math, "hypot", emit={"hyp": lambda c: c.result}, sink=print,
        ...            style="equals"):
        ...     _ = math.hypot(6, 8)
        TRACE_PY:hyp=10
    """
    given = {key: value for key, value in (
        ("locals", locals), ("watch", watch), ("emit", emit), ("index", index), ("formats", formats),
        ("prefix", prefix), ("style", style), ("fmt", fmt), ("sink", sink))
        if value is not None and value is not CONFIGURED}
    return TraceHandle(target, name, TraceOptions(all_threads=all_threads, **given), given)


def capture(target: Any, name: str, *, locals: Locals | None = None, watch: Watch | None = None,
            all_threads: bool = False) -> CaptureHandle:
    """Record calls of ``target.name`` as :class:`Call` objects instead of printing.

    ``locals``, ``watch`` and ``all_threads`` as for :func:`trace`.  Tensors
    and arrays among the watched and named values are copied when recorded.

    Example:
        >>> import math
        >>> with capture(math, "floor") as seen:
        ...     _ = math.floor(2.5)
        >>> [call.result for call in seen.calls]
        [2]
    """
    return CaptureHandle(target, name, TraceOptions(locals=locals, watch=watch,
                                                    all_threads=all_threads))


class _TracedFunction(_Probe):
    """The per-function state behind ``@traced``."""

    def __init__(self, function: Any, options: TraceOptions) -> None:
        super().__init__(options, getattr(function, "__qualname__", repr(function)))
        self._prepare_code(function)
        self._cache: tuple[int, _Output] | None = None

    def _output(self) -> tuple[_Output, bool]:
        version = config_version()
        cached = self._cache
        if cached is not None and cached[0] == version:
            return cached[1], False
        renderer, sink, owned = self.options.output()
        if not owned:
            self._cache = (version, _Output(renderer, sink))
        return _Output(renderer, sink), owned

    def wrapper(self, wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
        if self.disabled_reason is not None or not (
                self.options.all_threads or thread_enabled(threading.get_ident())):
            return wrapped(*args, **kwargs)
        if self.code is not None:
            try:
                acquire_backend()
            except RuntimeError as exc:
                warnings.warn(f"tracehooks: {self.where} runs untraced: {exc}", TraceWarning,
                              stacklevel=3)
                return wrapped(*args, **kwargs)
        try:
            output, owned = self._output()
            try:
                return self._record(wrapped, instance, args, kwargs, output)
            finally:
                if owned:
                    output.sink.close()
        finally:
            if self.code is not None:
                release_backend()


def traced(function: Callable[..., Any] | None = None, /, *, locals: Locals | None = None,
           watch: Watch | None = None, emit: Emitters | None = None, index: Index | None = None,
           formats: Formats | None = None, prefix: str | Unset | None = CONFIGURED,
           style: str | Unset | None = CONFIGURED, fmt: Fmt | Unset | None = CONFIGURED,
           sink: Any = CONFIGURED, all_threads: bool = False) -> Any:
    """Decorate code you own; it prints only while tracing is switched on.

    The options are :func:`trace`'s; the output options left to
    ``configure()`` are read at each call.  Switch on with ``with
    tracehooks.enabled():``, ``configure(enabled=True)`` or the environment
    variable ``TRACEHOOKS=1``.  While off, the call goes through wrapt
    straight to the function (no Python code of ours runs).

    Example:
        >>> import tracehooks
        >>> @traced(locals=["y"], sink=print)
        ... def square(x):
        ...     y = x * x
        ...     return y
        >>> square(3)
        9
        >>> with tracehooks.enabled():
        ...     square(4)
        TRACE_PY: y 16
        16
    """
    parsed = TraceOptions(locals=locals, watch=watch, emit=emit, index=index, formats=formats,
                          prefix=prefix, style=style, fmt=fmt, sink=sink, all_threads=all_threads)

    def decorate(func: Callable[..., Any]) -> Any:
        state = _TracedFunction(func, parsed)
        wrapper = wrapt.FunctionWrapper(func, state.wrapper, enabled=traced_enabled_test())
        return wrapper

    return decorate(function) if function is not None else decorate


def emit(name: str, value: Any, *, index: Index | None = None,
         prefix: str | Unset | None = CONFIGURED, style: str | Unset | None = CONFIGURED,
         fmt: Fmt | Unset | None = CONFIGURED, sink: Any = CONFIGURED) -> str:
    """Render one value with the configured renderer, write it to the sink, return the line.

    ``index``, ``prefix``, ``style``, ``fmt`` and ``sink`` as for
    :func:`trace`.  Errors raise directly here: ``emit`` is called by
    harness code, not traced code.

    Example:
        >>> emit("Fclose_m", 0.217742295, prefix="TRACE_C", style="equals", sink=print)
        TRACE_C:Fclose_m=0.217742295
        'TRACE_C:Fclose_m=0.217742295'
    """
    parsed = TraceOptions(index=index, prefix=prefix, style=style, fmt=fmt, sink=sink)
    merged = parsed.merged()
    line = format_line(name, pick(value, parsed.index_for(name)), prefix=merged["prefix"],
                       style=merged["style"], fmt=merged["fmt"])
    sink = resolve_sink(merged["sink"])
    try:
        sink.write(line)
    finally:
        if sink.owns_resource and not isinstance(merged["sink"], Sink):
            sink.close()
    return line
