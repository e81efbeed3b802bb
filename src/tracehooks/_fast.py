"""The fast path of a trace: the function installed in place of a traced plain function.

Most traces print watched assignments, locals at return and ``emit=`` values as plain text lines,
of plain functions and methods.  For those, everything that does not change from call to call --
which names, their line heads, their formats, the sink's write -- is looked up once when the trace
starts, and a traced call runs one function: the call itself (observed only as much as the options
need), then one ``%`` and one write per line.  It prints exactly what the general path
(``_probe``) prints, and fails the same way: a failing ``emit=`` callable or formatter switches the
trace off with a warning (never from inside a tracer callback), a failing sink raises
:class:`SinkError` from the traced call.  Staticmethods, classmethods, properties, per-instance
traces, ``@traced``, json lines, blocks and callable formats take the general path.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ._capture import Call, FrameObserver, locals_at_return, run_observed
from ._errors import SinkError
from ._format import pick, printable, text_of

__all__ = ["FastTrace"]

Assigned = list[tuple[str | None, str, Any]]


class FastTrace:
    """The fast path of one trace into one output; ``install`` makes the replacement function.

    ``probe``, ``plan`` and ``output`` are ``_probe``'s ``_Probe``, ``_Plan`` and ``_Output`` (a
    layer above this one, hence untyped here); ``thread``: record only calls made on that thread
    (None: every call).
    """

    def __init__(self, probe: Any, plan: Any, output: Any, thread: int | None) -> None:
        self.probe, self.thread = probe, thread
        self.renderer, self.sink, self.write = output.renderer, output.sink, output.write
        self.default = self.renderer.spec
        self.wanted = self._resolved(plan.locals)
        # An emitted float printed with a bare printf format needs only ``format % value``.
        self.emitters = tuple((*entry, entry[2].bare_float if entry[3] is None else None)
                              for entry in self._resolved(plan.emit))
        self.all_locals, self.labels = plan.all_locals, plan.watch
        self.keep_final = bool(self.wanted or self.emitters or self.all_locals)

    def _resolved(self, entries: tuple) -> tuple:
        return tuple((name, source, spec or self.default, index, self.renderer.head(name))
                     for name, source, spec, index in entries)

    def put(self, name: str, head: str, value: Any, spec: Any, index: Any) -> bool:
        """Print one line; False once the trace switched itself off."""
        try:
            text = head + text_of(value if index is None else pick(value, index), spec)
        except Exception as exc:
            self.probe._fail(f"formatting value {name!r} failed: {type(exc).__name__}: {exc}")
            return False
        try:
            self.write(text)
        except SinkError:  # a Sink's write raises it itself; a list's append anything
            raise
        except Exception as exc:
            raise SinkError(self.sink.describe(), exc) from exc
        return True

    def emit_all(self, call: Call) -> bool:
        """Print the ``emit=`` values of ``call``; False once the trace switched itself off."""
        for name, emitter, spec, index, head, float_format in self.emitters:
            try:
                value = emitter(call)
            except Exception as exc:
                self.probe._fail(f"emit= callable for {name!r} raised {type(exc).__name__}: {exc}")
                return False
            if type(value) is float and float_format and value - value == 0.0:
                # put()'s first case written out: this is the whole cost of an emit= trace.
                try:
                    self.write(head + float_format % value)
                except SinkError:
                    raise
                except Exception as exc:
                    raise SinkError(self.sink.describe(), exc) from exc
            elif not self.put(name, head, value, spec, index):
                return False
        return True

    def print_locals(self, final: dict[str, Any], named: dict[str, Any]) -> bool:
        """Print ``locals=`` (or every printable local) at return, keeping them in ``named``."""
        probe = self.probe
        entries = self.wanted
        if self.all_locals:
            entries = tuple((name, name, self.default, probe.options.index_for(name),
                             self.renderer.head(name)) for name, value in final.items() if printable(value))
        for name, local, spec, index, head in entries:
            if local not in final:
                probe._warn(f"tracehooks: local {local!r} of {probe.where} was not bound when it "
                            f"returned; {name!r} not emitted")
                continue
            value = named[name] = final[local]
            if not self.put(name, head, value, spec, index):
                return False
        return True

    def observe(self, original: Any, args: tuple, kwargs: dict,
                assigned: Assigned) -> tuple[Any, dict[str, Any] | None]:
        """Run the call, printing each watched assignment as it happens (into ``assigned`` too)."""
        problems: list[BaseException | str] = []
        write, head, labels = self.write, self.renderer.head, self.labels
        keep = bool(self.emitters)

        def on_assign(label: str | None, name: str, value: Any) -> None:
            if keep:
                assigned.append((label, name, value))
            if label is None or problems:
                return
            spec, index = labels[label]
            try:
                text = head(label) + text_of(value if index is None else pick(value, index),
                                             spec or self.default)
            except Exception as exc:  # reported once the call is over, never inside the tracer
                problems.append(f"formatting value {label!r} failed: {type(exc).__name__}: {exc}")
                return
            try:
                write(text)
            except Exception as exc:
                problems.append(exc if isinstance(exc, SinkError) else SinkError(self.sink.describe(), exc))

        probe = self.probe
        observer = FrameObserver(probe.options.watch, on_assign, probe.sites, self.keep_final)
        try:
            result = run_observed(probe.code, observer, original, args, kwargs)
        except BaseException as exc:
            if problems and hasattr(exc, "add_note"):  # Python 3.11+
                exc.add_note(f"tracehooks: {problems[0]}")
            raise
        if problems and isinstance(problems[0], str):
            probe._fail(problems[0])
        elif problems:
            raise problems[0]
        return result, (observer.final if observer.claimed else None)

    def after_observed(self, args: tuple, kwargs: dict, result: Any, final: dict[str, Any] | None,
                       assigned: Assigned, method: bool, ident: int) -> None:
        """Everything printed once an observed call returned: locals, then ``emit=`` values."""
        probe = self.probe
        observed = final is not None
        if not observed:  # the call is still counted and emit= still runs
            probe._warn(probe._unobserved_message())
            final = {}
        if probe.disabled_reason is not None:  # a watched value could not be printed
            return
        named: dict[str, Any] = {}
        if observed and not self.print_locals(final, named) or not self.emitters:
            return
        call = Call(args[0] if method else None, args[1:] if method else args, kwargs, result,
                    locals=final, named=named, thread=ident)
        for label, name, value in assigned:
            if label is None:
                call.unlabelled.append((name, value))
            else:
                call.watched.append((label, value))
        self.emit_all(call)

    def install(self, original: Any, on: list[bool], method: bool) -> Callable[..., Any]:
        """The function installed in place of ``original`` (``apply_patch(..., direct=)``): it
        passes straight through once the list ``on`` is empty."""
        thread, code, ordinals = self.thread, self.probe.code, self.probe._ordinals
        watch, emitters, emit_all = self.probe.options.watch, self.emitters, self.emit_all
        observe, after_observed, all_locals = self.observe, self.after_observed, self.all_locals
        get_ident, new_call = threading.get_ident, object.__new__

        def traced(*args: Any, **kwargs: Any) -> Any:
            # Passed straight through: an undone or disabled trace, another thread's call, and a
            # method reached without arguments (it fails in the original, with its message).
            if not on or (method and not args):
                return original(*args, **kwargs)
            ident = get_ident()
            if thread is not None and ident != thread:
                return original(*args, **kwargs)
            next(ordinals)
            if code is None:  # emit= only, or a builtin under locals=True: nothing to observe
                result = original(*args, **kwargs)
                if emitters:
                    # Filled here rather than by Call.__init__: a call frame fewer, on the path
                    # whose whole cost is this Call and the lines (Call makes its lists when read).
                    call = new_call(Call)
                    if method:
                        call.instance, call.args = args[0], args[1:]
                    else:
                        call.instance, call.args = None, args
                    call.kwargs, call.result, call.exception, call.thread = kwargs, result, None, ident
                    emit_all(call)
            else:
                assigned: Assigned = []
                if watch:
                    result, final = observe(original, args, kwargs, assigned)
                else:
                    result, final = locals_at_return(code, original, args, kwargs)
                after_observed(args, kwargs, result, final, assigned, method, ident)
            if all_locals and printable(result) and self.probe.disabled_reason is None:
                self.put("result", self.renderer.head("result"), result, self.default,
                         self.probe.options.index_for("result"))
            return result

        return traced
