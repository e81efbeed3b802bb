"""The recorder that ``trace``, ``capture`` and ``@traced`` share.

A :class:`_Probe` runs the wrapped call under a FrameObserver when locals are wanted, fills a
:class:`Call`, and either prints it (trace, traced) or keeps it (capture). Instrumentation never raises
into the traced code: a failing formatter or ``emit=`` callable switches the probe off with a
:class:`TraceWarning`. A failing sink raises :class:`SinkError` from the traced call (streamed watch
lines: once the call has returned).
"""

from __future__ import annotations

import functools
import inspect
import itertools
import os
import sys
import warnings
from typing import Any

from ._capture import (NOT_FUNCTIONS, Call, FrameObserver, StoreSites, check_code, code_of, run_observed,
                       snapshot, store_sites)
from ._errors import SinkError, TraceWarning
from ._format import PrintfFormat, Renderer, compile_format, pick, printable
from ._options import TraceOptions
from ._sinks import ListSink, Sink

__all__ = ["_Output", "_Probe", "_Run"]

_PACKAGE = os.path.dirname(os.path.abspath(__file__))


class _Output:
    """Where a probe's lines go: the renderer, the sink, and what the fast path needs of them."""

    __slots__ = ("renderer", "sink", "write", "simple")

    def __init__(self, renderer: Renderer | None, sink: Sink | None) -> None:
        self.renderer = renderer
        self.sink = sink
        # A list sink's write is the list's own append (ListSink.write adds nothing but the
        # SinkError, which the fast path adds around it).
        self.write = sink.lines.append if isinstance(sink, ListSink) else getattr(sink, "write", None)
        #: True when lines are ``head + printf text``: not json, not record, a printf format.
        self.simple = renderer is not None and renderer.simple

    def __iter__(self):  # unpacks as (renderer, sink), as the NamedTuple it replaced did
        return iter((self.renderer, self.sink))


class _Plan:
    """What a trace prints per call, decided once: ``(emitted name, local or callable, format, index)``.

    Used by the fast path (``_fast``), which covers the traces that print watched assignments,
    ``locals=``/``locals=True`` at return and ``emit=`` values in the plain text styles; blocks,
    json lines and callable formats take the general path.
    """

    __slots__ = ("locals", "emit", "all_locals", "watch")

    def __init__(self, options: TraceOptions) -> None:
        def entry(name: str, source: Any) -> tuple[str, Any, PrintfFormat | None, Any]:
            fmt = options.formats.get(name)
            return name, source, None if fmt is None else compile_format(fmt), options.index_for(name)

        self.locals = tuple(entry(name, local) for name, local in options.locals.items())
        self.emit = tuple(entry(name, function) for name, function in options.emit.items())
        self.all_locals = options.all_locals
        #: ``{label: (format or None, index)}`` of the watched values' lines.
        self.watch = {label: (None if options.formats.get(label) is None
                              else compile_format(options.formats[label]), options.index_for(label))
                      for labels in options.watch.values()
                      for label in ((labels,) if isinstance(labels, str) else labels)}

    @staticmethod
    def applies(options: TraceOptions) -> bool:
        return (options.block is None
                and not any(callable(fmt) for fmt in options.formats.values())
                and (options.all_locals is False or not options.locals))


def _takes_index(block: Any) -> bool:
    """True when ``block`` accepts an ``index`` keyword (or any keyword)."""
    try:
        parameters = inspect.signature(block).parameters
    except (TypeError, ValueError):  # a builtin without a signature: call it the plain way
        return False
    return "index" in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())


class _Run:
    """State of one recorded call: the Call, the output, deferred problems."""

    __slots__ = ("call", "output", "warnings", "sink_error", "ordinal")

    def __init__(self, call: Call, output: _Output, ordinal: int = 0) -> None:
        self.call = call
        self.ordinal = ordinal
        self.output = output
        self.warnings: list[str] = []
        self.sink_error: SinkError | None = None


class _Probe:
    """Records calls; prints them when ``emitting`` (trace/traced), else keeps them."""

    emitting = True

    def __init__(self, options: TraceOptions, where: str) -> None:
        self.options = options
        self.where = where
        self.code: Any = None
        #: Where the code binds the watched names (None without watch=).
        self.sites: StoreSites | None = None
        #: ``file:line`` of the traced function, for the json style (None: not a Python function).
        self.source: str | None = None
        self.disabled_reason: str | None = None
        # next() on an itertools.count is one C call: no lock, and every call a distinct ordinal.
        self._ordinals = itertools.count(1)
        self._plan = _Plan(options) if self.emitting and _Plan.applies(options) else None
        self._block_takes_index = options.block is not None and _takes_index(options.block)

    @property
    def ncalls(self) -> int:
        """How many calls were recorded."""
        # The count's repr is "count(N)", N the next ordinal; reading it does not advance it.
        return int(repr(self._ordinals)[6:-1]) - 1

    def _set_options(self, options: TraceOptions) -> None:
        self.options = options
        self._plan = _Plan(options) if self.emitting and _Plan.applies(options) else None
        self._block_takes_index = options.block is not None and _takes_index(options.block)

    def _prepare_code(self, original: Any) -> None:
        found = code_of(original)
        if found is not None:
            self.source = f"{found.co_filename}:{found.co_firstlineno}"
        names = list(self.options.locals.values()) + list(self.options.watch)
        if (self.options.all_locals or self.options.block is not None) and not names:
            # Every local, for locals=True and for a block, when there are locals to read.
            code = code_of(original)
            if code is not None and not code.co_flags & NOT_FUNCTIONS:
                self.code = code
        elif names:
            self.code = code_of(original)
            check_code(self.code, names, self.where)
            if self.options.watch:
                self.sites = store_sites(self.code, list(self.options.watch))

    def _disable(self, reason: str, run: _Run) -> None:
        if self.disabled_reason is None:
            self.disabled_reason = reason
            run.warnings.append(f"tracehooks: trace of {self.where} disabled: {reason}")

    def _record(self, wrapped: Any, instance: Any, args: tuple, kwargs: dict,
                output: _Output) -> Any:
        run = _Run(Call(instance, args, kwargs), output, next(self._ordinals))
        observer = None
        if self.code is not None:
            observer = FrameObserver(self.options.watch, functools.partial(self._assigned, run),
                                     self.sites)
        try:
            if observer is None:
                run.call.result = wrapped(*args, **kwargs)
            else:
                run.call.result = run_observed(self.code, observer, wrapped, args, kwargs)
        except BaseException as exc:
            run.call.exception = exc
            self._collect(run, observer)
            self._ended(run)
            self._report(run, exc)
            raise
        self._collect(run, observer)
        try:
            self._ended(run)
        finally:
            self._report(run, None)
        return run.call.result

    def _fail(self, reason: str) -> None:
        """Switch the probe off with a warning (the fast path's ``_disable`` and ``_report``)."""
        if self.disabled_reason is None:
            self.disabled_reason = reason
            self._warn(f"tracehooks: trace of {self.where} disabled: {reason}")
        self._switch_off()

    @staticmethod
    def _warn(message: str) -> None:
        """Warn at the first frame outside tracehooks: the line that called the traced function."""
        frame, level = sys._getframe(0), 1  # stacklevel 1 is this frame
        while frame is not None and os.path.dirname(os.path.abspath(frame.f_code.co_filename)) \
                == _PACKAGE:
            frame, level = frame.f_back, level + 1
        warnings.warn(message, TraceWarning, stacklevel=level)

    def _unobserved_message(self) -> str:
        return (f"tracehooks: the locals of {self.where} could not be read: no frame running its "
                f"code ({self.source}) was seen during the call, so none of its locals is emitted; "
                "compiled code (torch.compile runs a graph in its place) or a callable that does "
                "not run that code cannot be observed (torch.compiler.disable keeps it eager)")

    def _collect(self, run: _Run, observer: FrameObserver | None) -> None:
        if observer is None:
            return
        call = run.call
        if not observer.claimed:
            if call.exception is None:
                run.warnings.append(self._unobserved_message())
            return
        call.locals = observer.final
        if self.options.all_locals:
            for local, value in call.locals.items():
                if local not in call.named and printable(value):
                    call.named[local] = value if self.emitting else snapshot(value)
        for emitted, local in self.options.locals.items():
            if local in call.locals:
                value = call.locals[local]
                call.named[emitted] = value if self.emitting else snapshot(value)
            elif call.exception is None:
                run.warnings.append(f"tracehooks: local {local!r} of {self.where} was not bound "
                                    f"when it returned; {emitted!r} not emitted")

    def _assigned(self, run: _Run, label: str | None, name: str, value: Any) -> None:
        kept = value if self.emitting else snapshot(value)
        if label is None:
            run.call.unlabelled.append((name, kept))
            return
        run.call.watched.append((label, kept))
        if self.emitting and self.disabled_reason is None and run.sink_error is None:
            try:
                self._line(run, label, value)
            except SinkError as exc:  # raised once the call is over, not inside the tracer
                run.sink_error = exc

    def _ended(self, run: _Run) -> None:
        if not self.emitting or run.call.exception is not None or run.sink_error is not None:
            return
        for emitted, value in run.call.named.items():
            if not self._line(run, emitted, value):
                return
        for name, function in self.options.emit.items():
            try:
                value = function(run.call)
            except Exception as exc:
                self._disable(f"emit= callable for {name!r} raised {type(exc).__name__}: {exc}",
                              run)
                return
            if not self._line(run, name, value):
                return
        result = run.call.result
        if self.options.all_locals and printable(result) and not self._line(run, "result", result):
            return
        if self.options.block is not None:
            self._block(run)

    def _block(self, run: _Run) -> None:
        block, index = self.options.block, self.options.index
        # A block that takes ``index`` picks the element itself (say, one pixel of a batch, whose
        # values are then vectors); the values it returns are printed whole.
        picks = index is not None and self._block_takes_index
        try:
            entries = list(block(run.call, index=index) if picks else block(run.call))
        except Exception as exc:
            self._disable(f"block= callable raised {type(exc).__name__}: {exc}", run)
            return
        for name, value, *style in entries:
            if not self._line(run, name, value, *style, whole=picks):
                return

    def _line(self, run: _Run, name: str, value: Any, style: str | None = None,
              whole: bool = False) -> bool:
        if self.disabled_reason is not None:
            return False
        renderer, sink = run.output
        try:
            if style is not None:
                renderer = renderer.restyled(style)
            options = self.options
            picked = value if options.index is None or whole else pick(value, options.index_for(name))
            if renderer.json:
                text = renderer(name, picked, options.formats.get(name), {
                    "call": run.ordinal, "thread": run.call.thread, "where": self.source})
            else:
                text = renderer(name, picked, options.formats.get(name))
        except Exception as exc:
            self._disable(f"formatting value {name!r} failed: {type(exc).__name__}: {exc}", run)
            return False
        sink.write(text)
        return True

    def _report(self, run: _Run, exc: BaseException | None) -> None:
        if self.disabled_reason is not None:
            self._switch_off()
        for message in run.warnings:
            self._warn(message)
        if run.sink_error is not None:
            if exc is None:
                raise run.sink_error
            if hasattr(exc, "add_note"):  # Python 3.11+
                exc.add_note(f"tracehooks: {run.sink_error}")

    def _switch_off(self) -> None:
        """Hook: stop calling the wrapper once disabled."""
