"""The recorder that ``trace``, ``capture`` and ``@traced`` share.

A :class:`_Probe` runs the wrapped call under a FrameObserver when locals are wanted, fills a
:class:`Call`, and either prints it (trace, traced) or keeps it (capture). Instrumentation never raises
into the traced code: a failing formatter or ``emit=`` callable switches the probe off with a
:class:`TraceWarning`. A failing sink raises :class:`SinkError` from the traced call (streamed watch
lines: once the call has returned).
"""

from __future__ import annotations

import functools
import threading
import warnings
from typing import Any, NamedTuple

from ._capture import NOT_FUNCTIONS, Call, FrameObserver, check_code, code_of, run_observed, snapshot
from ._errors import SinkError, TraceWarning
from ._format import Renderer, pick, printable
from ._options import TraceOptions
from ._sinks import Sink

__all__ = ["_Output", "_Probe", "_Run"]


class _Output(NamedTuple):
    renderer: Renderer | None
    sink: Sink | None


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
        #: ``file:line`` of the traced function, for the json style (None: not a Python function).
        self.source: str | None = None
        self.ncalls = 0
        self.disabled_reason: str | None = None
        self._count_lock = threading.Lock()

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

    def _disable(self, reason: str, run: _Run) -> None:
        if self.disabled_reason is None:
            self.disabled_reason = reason
            run.warnings.append(f"tracehooks: trace of {self.where} disabled: {reason}")

    def _record(self, wrapped: Any, instance: Any, args: tuple, kwargs: dict,
                output: _Output) -> Any:
        with self._count_lock:
            self.ncalls += 1
            ordinal = self.ncalls
        run = _Run(Call(instance, args, kwargs), output, ordinal)
        observer = None
        if self.code is not None:
            observer = FrameObserver(self.options.watch, functools.partial(self._assigned, run))
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

    def _collect(self, run: _Run, observer: FrameObserver | None) -> None:
        if observer is None:
            return
        call = run.call
        if not observer.claimed:
            if call.exception is None:
                run.warnings.append(
                    f"tracehooks: the locals of {self.where} could not be read: no frame running its "
                    f"code ({self.source}) was seen during the call, so none of its locals is emitted; "
                    "compiled code (torch.compile runs a graph in its place) or a callable that does "
                    "not run that code cannot be observed (torch.compiler.disable keeps it eager)")
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
        try:
            entries = list(self.options.block(run.call))
        except Exception as exc:
            self._disable(f"block= callable raised {type(exc).__name__}: {exc}", run)
            return
        for entry in entries:
            if not self._line(run, *entry):
                return

    def _line(self, run: _Run, name: str, value: Any, style: str | None = None) -> bool:
        if self.disabled_reason is not None:
            return False
        renderer, sink = run.output
        try:
            if style is not None:
                renderer = renderer.restyled(style)
            options = self.options
            picked = value if options.index is None else pick(value, options.index_for(name))
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
            warnings.warn(message, TraceWarning, stacklevel=4)
        if run.sink_error is not None:
            if exc is None:
                raise run.sink_error
            if hasattr(exc, "add_note"):  # Python 3.11+
                exc.add_note(f"tracehooks: {run.sink_error}")

    def _switch_off(self) -> None:
        """Hook: stop calling the wrapper once disabled."""
