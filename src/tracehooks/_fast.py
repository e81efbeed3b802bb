"""The fast path of a trace: the function installed in place of a traced plain function.

Most traces print a few locals at return and a few ``emit=`` values as plain text lines, of plain
functions and methods.  For those, everything that does not change from call to call -- which
names, their line heads, their formats, the sink's write -- is looked up once when the trace starts,
and a traced call runs one function: the call itself (observed at return when locals are wanted),
then one ``%`` and one write per line.  (Staticmethods, classmethods, properties, per-instance
traces and ``@traced`` go through wrapt and the general path.)  It prints
exactly what the general path (``_probe``) prints, and fails the same way: a failing ``emit=``
callable or formatter switches the trace off with a warning, a failing sink raises
:class:`SinkError` from the traced call.  Watched assignments, blocks, json lines and callable
formats take the general path.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ._capture import Call, FrameObserver, locals_at_return, run_observed
from ._errors import SinkError
from ._format import pick, printable, text_of

__all__ = ["Install", "compile_fast"]

#: ``install(original, on, method)``: the function that replaces a plain function (``_patch``).
Install = Callable[[Any, list, bool], Callable[..., Any]]


def compile_fast(probe: Any, plan: Any, output: Any, thread: int | None) -> Install:
    """What ``apply_patch(..., direct=)`` needs to install the fast path of ``probe``'s trace.

    ``probe``, ``plan`` and ``output`` are ``_probe``'s ``_Probe``, ``_Plan`` and ``_Output`` (a
    layer above this one, hence untyped here).
    ``thread``: record only calls made on that thread (None: every call).
    """
    renderer, sink, write = output.renderer, output.sink, output.write
    default = renderer.spec

    def resolved(entries: tuple) -> tuple:
        return tuple((name, source, spec or default, index, renderer.head(name))
                     for name, source, spec, index in entries)

    wanted = resolved(plan.locals)
    # An emitted float printed with a bare printf format needs only ``format % value``.
    emitters = tuple((*entry, entry[2].bare_float if entry[3] is None else None)
                     for entry in resolved(plan.emit))
    all_locals, code, ordinals = plan.all_locals, probe.code, probe._ordinals
    watch, labels, sites = probe.options.watch, plan.watch, probe.sites
    keep_final = bool(wanted or emitters or all_locals)
    result_index = probe.options.index_for("result")
    get_ident = threading.get_ident
    new_call = object.__new__

    def put(name: str, head: str, value: Any, spec: Any, index: Any) -> bool:
        try:
            text = head + text_of(value if index is None else pick(value, index), spec)
        except Exception as exc:
            probe._fail(f"formatting value {name!r} failed: {type(exc).__name__}: {exc}")
            return False
        try:
            write(text)
        except SinkError:  # a Sink's write raises it itself; a list's append anything
            raise
        except Exception as exc:
            raise SinkError(sink.describe(), exc) from exc
        return True

    def observe(original: Any, args: tuple, kwargs: dict,
                assigned: list[tuple[str | None, str, Any]]) -> tuple[Any, dict[str, Any] | None]:
        """Run the call, printing each watched assignment as it happens (into ``assigned`` too)."""
        problems: list[BaseException | str] = []

        def on_assign(label: str | None, name: str, value: Any) -> None:
            if emitters:
                assigned.append((label, name, value))
            if label is None or problems:
                return
            spec, index = labels[label]
            try:
                text = renderer.head(label) + text_of(value if index is None else pick(value, index),
                                                      spec or default)
            except Exception as exc:  # reported once the call is over, never inside the tracer
                problems.append(f"formatting value {label!r} failed: {type(exc).__name__}: {exc}")
                return
            try:
                write(text)
            except Exception as exc:
                problems.append(exc if isinstance(exc, SinkError) else SinkError(sink.describe(), exc))

        observer = FrameObserver(watch, on_assign, sites, keep_final)
        try:
            result = run_observed(code, observer, original, args, kwargs)
        except BaseException as exc:
            if problems and hasattr(exc, "add_note"):  # Python 3.11+
                exc.add_note(f"tracehooks: {problems[0]}")
            raise
        if problems and isinstance(problems[0], str):
            probe._fail(problems[0])
        elif problems:
            raise problems[0]
        return result, (observer.final if observer.claimed else None)

    def every_local(final: dict[str, Any]) -> tuple:
        return tuple((name, name, default, probe.options.index_for(name), renderer.head(name))
                     for name, value in final.items() if printable(value))

    def emit_all(call: Any) -> bool:
        """Print the ``emit=`` values of ``call``; False once the trace switched itself off."""
        for name, emitter, spec, index, head, float_format in emitters:
            # put() written out: this loop is the whole cost of an emit= trace.
            try:
                value = emitter(call)
            except Exception as exc:
                probe._fail(f"emit= callable for {name!r} raised {type(exc).__name__}: {exc}")
                return False
            try:
                if type(value) is float and float_format and value - value == 0.0:
                    text = head + float_format % value  # text_of's first case, without the call
                else:
                    text = head + text_of(value if index is None else pick(value, index), spec)
            except Exception as exc:
                probe._fail(f"formatting value {name!r} failed: {type(exc).__name__}: {exc}")
                return False
            try:
                write(text)
            except SinkError:
                raise
            except Exception as exc:
                raise SinkError(sink.describe(), exc) from exc
        return True

    def install(original: Any, on: list[bool], method: bool) -> Callable[..., Any]:
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
                assigned: list[tuple[str | None, str, Any]] = []
                if watch:
                    result, final = observe(original, args, kwargs, assigned)
                else:
                    result, final = locals_at_return(code, original, args, kwargs)
                if final is None:
                    probe._warn(probe._unobserved_message())
                    return result
                if probe.disabled_reason is not None:  # a watched value could not be printed
                    return result
                named: dict[str, Any] = {}
                for name, local, spec, index, head in every_local(final) if all_locals else wanted:
                    if local not in final:
                        probe._warn(f"tracehooks: local {local!r} of {probe.where} was not bound "
                                    f"when it returned; {name!r} not emitted")
                        continue
                    value = named[name] = final[local]
                    if not put(name, head, value, spec, index):
                        return result
                if emitters:
                    call = Call(args[0], args[1:], kwargs, result, locals=final, named=named,
                                thread=ident) if method else \
                        Call(None, args, kwargs, result, locals=final, named=named, thread=ident)
                    for label, name, value in assigned:
                        if label is None:
                            call.unlabelled.append((name, value))
                        else:
                            call.watched.append((label, value))
                    if not emit_all(call):
                        return result
            if all_locals and printable(result):
                put("result", renderer.head("result"), result, default, result_index)
            return result

        return traced

    return install
