"""The fast path of a trace: the function installed in place of a traced plain function.

Most traces print watched assignments, locals at return and ``emit=`` values as plain text lines,
of plain functions and methods.  For those, everything that does not change from call to call --
which names, their line heads, their formats, the sink's write -- is looked up once when the trace
starts, and a traced call runs one function: the call itself, then one ``%`` and one write per
line.  The call runs an instrumented copy of the function (``_instrument``), which hands over the
locals at return and reports each watched assignment as it happens; where no copy can be made, the
frame is observed from outside (``_capture``), as the general path does.  It prints exactly what
the general path (``_probe``) prints, and fails the same way: a failing ``emit=`` callable or
formatter switches the trace off with a warning (never from inside the traced code), a failing
sink raises :class:`SinkError` from the traced call.  Staticmethods, classmethods, properties,
per-instance traces, ``@traced``, json lines, blocks and callable formats take the general path.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ._capture import Call, FrameObserver, locals_at_return, run_observed
from ._errors import SinkError
from ._format import line_function, pick, printable
from ._instrument import Instrumented, instrumented_copy

__all__ = ["FastTrace"]

Assigned = list[tuple[str | None, str, Any]]


class FastTrace:
    """The fast path of one trace into one output; ``install`` makes the replacement function.

    ``probe``, ``plan`` and ``output`` are ``_probe``'s ``_Probe``, ``_Plan`` and ``_Output`` (a
    layer above this one, hence untyped here); ``thread``: record only calls made on that thread
    (None: every call).  The replacement functions all start with the same check (switched off,
    no instance, another thread: straight through; else the call's ordinal), written out in each:
    shared, it would add a call to every traced call.
    """

    def __init__(self, probe: Any, plan: Any, output: Any, thread: int | None) -> None:
        self.probe, self.thread = probe, thread
        self.renderer, self.sink, self.write = output.renderer, output.sink, output.write
        self.default = self.renderer.spec
        self._lines: dict[tuple[str, Any], Callable[[Any], str]] = {}
        self.wanted = self._resolved(plan.locals)
        # An emitted float printed with a bare printf format needs only ``format % value``.
        self.emitters = tuple((*entry, entry[2].bare_float if entry[3] is None else None)
                              for entry in self._resolved(plan.emit))
        self.all_locals = plan.all_locals
        #: ``{label: (line function, index)}`` of the watched values.
        self.labels = {label: (self.line(label, spec), index) for label, (spec, index) in plan.watch.items()}
        self.keep_final = bool(self.wanted or self.emitters or self.all_locals)
        #: ``{thread id: first problem}`` of the instrumented copy's watched lines in a running call.
        self.problems: dict[int, BaseException | str] = {}

    def line(self, name: str, spec: Any) -> Callable[[Any], str]:
        """The function printing ``name``'s line with a format (None: the trace's)."""
        key = (name, spec or self.default)
        made = self._lines.get(key)
        if made is None:
            made = self._lines[key] = line_function(key[1], self.renderer.head(name))
        return made

    def _resolved(self, entries: tuple) -> tuple:
        return tuple((name, source, spec or self.default, index, self.renderer.head(name), self.line(name, spec))
                     for name, source, spec, index in entries)

    def put(self, name: str, value: Any, line_of: Callable[[Any], str], index: Any) -> bool:
        """Print one line; False once the trace switched itself off."""
        try:
            line = line_of(value if index is None else pick(value, index))
        except Exception as exc:
            self.probe._fail(f"formatting value {name!r} failed: {type(exc).__name__}: {exc}")
            return False
        try:
            self.write(line)
        except SinkError:  # a Sink's write raises it itself; a list's append anything
            raise
        except Exception as exc:
            raise SinkError(self.sink.describe(), exc) from exc
        return True

    def emit_all(self, call: Call) -> bool:
        """Print the ``emit=`` values of ``call``; False once the trace switched itself off."""
        for name, emitter, _, index, head, line_of, float_format in self.emitters:
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
            elif not self.put(name, value, line_of, index):
                return False
        return True

    def print_locals(self, final: dict[str, Any], named: dict[str, Any]) -> bool:
        """Print ``locals=`` (or every printable local) at return, keeping them in ``named``."""
        probe = self.probe
        entries = self.wanted
        if self.all_locals:
            entries = tuple((name, name, None, probe.options.index_for(name), None, self.line(name, None))
                            for name, value in final.items() if printable(value))
        for name, local, _, index, _, line_of in entries:
            if local not in final:
                probe._warn(f"tracehooks: local {local!r} of {probe.where} was not bound when it "
                            f"returned; {name!r} not emitted")
                continue
            value = named[name] = final[local]
            if not self.put(name, value, line_of, index):
                return False
        return True

    def observe(self, original: Any, args: tuple, kwargs: dict,
                assigned: Assigned) -> tuple[Any, dict[str, Any] | None]:
        """Run the call, printing each watched assignment as it happens (into ``assigned`` too)."""
        problems: list[BaseException | str] = []
        write, labels = self.write, self.labels
        keep = bool(self.emitters)

        def on_assign(label: str | None, name: str, value: Any) -> None:
            if keep:
                assigned.append((label, name, value))
            if label is None or problems:
                return
            line_of, index = labels[label]
            try:
                line = line_of(value if index is None else pick(value, index))
            except Exception as exc:  # reported once the call is over, never inside the tracer
                problems.append(f"formatting value {label!r} failed: {type(exc).__name__}: {exc}")
                return
            try:
                write(line)
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
        self.deferred(problems[0] if problems else None)
        return result, (observer.final if observer.claimed else None)

    def deferred(self, problem: BaseException | str | None) -> None:
        """Act on the first problem of a call's watched lines, now that the call is over."""
        if isinstance(problem, str):
            self.probe._fail(problem)
        elif problem is not None:
            raise problem

    def seen(self, names: tuple[str, ...]) -> Callable[[int, Any, int], int]:
        """The capture call of an instrumented copy: ``names[i]`` was bound to another object, its
        ``count``-th assignment; prints what ``observe``'s ``on_assign`` prints.  A problem is kept
        in ``self.problems`` under the thread's id, for the traced call to act on once it is over."""
        watch, lines, problems = self.probe.options.watch, self.labels, self.problems
        label_sets = tuple(watch[name] for name in names)
        # A name with one label for every assignment (the common case): its line known beforehand.
        fixed = tuple((labels, *lines[labels]) if isinstance(labels, str) else None for labels in label_sets)
        write, describe, get_ident = self.write, self.sink.describe, threading.get_ident

        def seen(i: int, value: Any, count: int) -> int:
            known = fixed[i]
            if known is None:
                labels = label_sets[i]
                label = labels[count] if count < len(labels) else None
                if label is None:
                    return count + 1
                known = (label, *lines[label])
            label, line_of, index = known
            if problems and get_ident() in problems:
                return count + 1
            try:
                line = line_of(value if index is None else pick(value, index))
            except Exception as exc:  # reported once the call is over, as observe() does
                problems[get_ident()] = f"formatting value {label!r} failed: {type(exc).__name__}: {exc}"
                return count + 1
            try:
                write(line)
            except Exception as exc:
                problems[get_ident()] = exc if isinstance(exc, SinkError) else SinkError(describe(), exc)
            return count + 1

        return seen

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

    def install(self, original: Any, on: list[bool], method: bool, alone: bool) -> Callable[..., Any]:
        """The function installed in place of ``original`` (``apply_patch(..., direct=)``): it
        passes straight through once the list ``on`` is empty.  It runs an instrumented copy of
        ``original`` when one can be made and, ``alone``, no other trace of the attribute looks
        for frames running the original code."""
        code = self.probe.code
        made = None
        if alone and code is not None and getattr(original, "__code__", None) is code:
            # Printed by the copy's caller itself (no dict of every local): named locals alone.
            names = () if self.emitters or self.all_locals else tuple(entry[1] for entry in self.wanted)
            watch = tuple(self.probe.options.watch)
            if not (watch and self.emitters):  # emit= reads the watched assignments of its call
                made = instrumented_copy(original, watch, self.keep_final, names,
                                         self.seen(watch) if watch else None)
        if made is None:
            if code is None and self.emitters and not self.all_locals:
                return self._emitting(original, on, method)
            return self._observing(original, on, method)
        return self._instrumented(original, made, on, method)

    def _instrumented(self, original: Any, made: Instrumented, on: list[bool],
                      method: bool) -> Callable[..., Any]:
        """``traced`` running the instrumented copy ``made`` in place of ``original``."""
        if made.watch or not isinstance(made.returned, tuple):
            return self._instrumented_general(original, made, on, method)
        thread, ordinals, get_ident = self.thread, self.probe._ordinals, threading.get_ident
        copied, printers = made.function, self._printers(made)
        write, describe, fail = self.write, self.sink.describe, self.probe._fail

        def traced(*args: Any, **kwargs: Any) -> Any:
            # The commonest trace, named locals at return, written out: its whole cost is here.
            if not on or (method and not args) or thread is not None and get_ident() != thread:
                return original(*args, **kwargs)
            next(ordinals)
            result, values = copied(*args, **kwargs)
            for line_of, index, name, at in printers:
                value = values[at]
                try:
                    line = line_of(value if index is None else pick(value, index))
                except Exception as exc:
                    fail(f"formatting value {name!r} failed: {type(exc).__name__}: {exc}")
                    return result
                try:
                    write(line)
                except SinkError:
                    raise
                except Exception as exc:
                    raise SinkError(describe(), exc) from exc
            return result

        return traced

    def _printers(self, made: Instrumented) -> tuple:
        """``(line function, index, name, position in the copy's returned values)`` per local."""
        return tuple((line_of, index, name, made.returned.index(local))
                     for name, local, _, index, _, line_of in self.wanted)

    def print_values(self, printers: tuple, values: tuple) -> None:
        """Print the locals the copy returned as values (``_printers``)."""
        for line_of, index, name, at in printers:
            value = values[at]
            if not self.put(name, value, line_of, index):
                return

    def _instrumented_general(self, original: Any, made: Instrumented, on: list[bool],
                              method: bool) -> Callable[..., Any]:
        """``traced`` running ``made`` when it reports watched assignments or returns every local."""
        thread, ordinals, get_ident = self.thread, self.probe._ordinals, threading.get_ident
        copied, probe, problems, returned = made.function, self.probe, self.problems, made.returned
        after_observed, deferred, print_values = self.after_observed, self.deferred, self.print_values
        printers = self._printers(made) if isinstance(returned, tuple) else None

        def traced(*args: Any, **kwargs: Any) -> Any:
            if not on or (method and not args):
                return original(*args, **kwargs)
            ident = get_ident()
            if thread is not None and ident != thread:
                return original(*args, **kwargs)
            next(ordinals)
            try:
                result = copied(*args, **kwargs)
            except BaseException as exc:
                if problems and ident in problems:
                    exc.add_note(f"tracehooks: {problems.pop(ident)}")
                raise
            if problems and ident in problems:
                deferred(problems.pop(ident))
            if returned is None:  # watched assignments only
                return result
            result, final = result
            if printers is not None:
                if probe.disabled_reason is None:
                    print_values(printers, final)
                return result
            for name in made.hidden:
                del final[name]
            after_observed(args, kwargs, result, final, [], method, ident)
            if self.all_locals and printable(result) and probe.disabled_reason is None:
                self.put("result", result, self.line("result", None), probe.options.index_for("result"))
            return result

        return traced

    def _emitting(self, original: Any, on: list[bool], method: bool) -> Callable[..., Any]:
        """``traced`` for ``emit=`` alone: no frame to read; the Call and the lines are the cost."""
        thread, ordinals, get_ident, new_call = self.thread, self.probe._ordinals, threading.get_ident, object.__new__
        write, describe, fail = self.write, self.sink.describe, self.probe._fail
        emitters = tuple((emitter, head, float_format, name, line_of, index)
                         for name, emitter, _, index, head, line_of, float_format in self.emitters)

        def traced(*args: Any, **kwargs: Any) -> Any:
            if not on or (method and not args):
                return original(*args, **kwargs)
            ident = get_ident()
            if thread is not None and ident != thread:
                return original(*args, **kwargs)
            next(ordinals)
            result = original(*args, **kwargs)
            # Filled here rather than by Call.__init__: a call frame fewer (Call makes its lists
            # when read).
            call = new_call(Call)
            if method:
                call.instance, call.args = args[0], args[1:]
            else:
                call.instance, call.args = None, args
            call.kwargs, call.result, call.exception, call.thread = kwargs, result, None, ident
            for emitter, head, float_format, name, line_of, index in emitters:
                try:
                    value = emitter(call)
                except Exception as exc:
                    fail(f"emit= callable for {name!r} raised {type(exc).__name__}: {exc}")
                    break
                if float_format is not None and value.__class__ is float and value - value == 0.0:
                    line = head + float_format % value
                else:
                    try:
                        line = line_of(value if index is None else pick(value, index))
                    except Exception as exc:
                        fail(f"formatting value {name!r} failed: {type(exc).__name__}: {exc}")
                        break
                try:
                    write(line)
                except SinkError:  # a Sink's write raises it itself; a list's append anything
                    raise
                except Exception as exc:
                    raise SinkError(describe(), exc) from exc
            return result

        return traced

    def _observing(self, original: Any, on: list[bool], method: bool) -> Callable[..., Any]:
        """``traced`` observing the frame of ``original`` from outside (a builtin under
        ``locals=True``: its result alone)."""
        thread, code, ordinals = self.thread, self.probe.code, self.probe._ordinals
        watch, emitters, emit_all = self.probe.options.watch, self.emitters, self.emit_all
        observe, after_observed, all_locals = self.observe, self.after_observed, self.all_locals
        get_ident = threading.get_ident

        def traced(*args: Any, **kwargs: Any) -> Any:
            # Passed straight through: an undone or disabled trace, another thread's call, and a
            # method reached without arguments (it fails in the original, with its message).
            if not on or (method and not args):
                return original(*args, **kwargs)
            ident = get_ident()
            if thread is not None and ident != thread:
                return original(*args, **kwargs)
            next(ordinals)
            if code is None:  # a builtin under locals=True (emit= alone: _emitting)
                result = original(*args, **kwargs)
                if emitters:
                    emit_all(Call(args[0] if method else None, args[1:] if method else args, kwargs,
                                  result, thread=ident))
            else:
                assigned: Assigned = []
                if watch:
                    result, final = observe(original, args, kwargs, assigned)
                else:
                    result, final = locals_at_return(code, original, args, kwargs)
                after_observed(args, kwargs, result, final, assigned, method, ident)
            if all_locals and printable(result) and self.probe.disabled_reason is None:
                self.put("result", result, self.line("result", None),
                         self.probe.options.index_for("result"))
            return result

        return traced
