"""Overhead of tracehooks per call: the table of docs/tracehooks.md "Overhead" (no assertions).

Run: python benchmarks/bench_tracehooks.py [--quick]

The traced method takes about 2-3 µs (``a = v*2.0; b = a+1.0; c = float(b.sum()); return c`` on
an 8-element numpy array); every trace writes to a list sink, emptied between runs.  Each row
is the median over ``repeat`` runs of the time per call, taken with the baseline in the same
process and run; ``ratio`` is traced/plain and ``added`` the difference per call.  Times are
process CPU time, which a second busy process on the machine disturbs less than wall time.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable

import numpy

import tracehooks


class Model:
    def step(self, v):
        a = v * 2.0
        b = a + 1.0
        c = float(b.sum())
        return c


def kernel(x):
    y = x * 2.0 + 1.0
    return y


def helper(i):
    return i * 3 + 1


def unrelated_work():
    total = 0
    for i in range(1000):
        total += helper(i)
    return total


def per_call(function: Callable[[], object], number: int, repeat: int,
             lines: list[str] | None = None) -> float:
    """Median over ``repeat`` runs of the CPU time per call, in seconds."""
    runs = []
    for _ in range(repeat):
        if lines is not None:
            lines.clear()
        start = time.process_time()
        for _ in range(number):
            function()
        runs.append((time.process_time() - start) / number)
    return statistics.median(runs)


def traced_per_call(number: int, repeat: int, **options: object) -> tuple[float, float]:
    """(plain, traced) time per call of ``Model.step`` traced with ``options``, interleaved."""
    model, v, lines = Model(), numpy.arange(8.0), []
    call = lambda: model.step(v)  # noqa: E731
    plain, traced = [], []
    for _ in range(repeat):
        plain.append(per_call(call, number, 1))
        with tracehooks.trace(Model, "step", sink=lines, **options):
            traced.append(per_call(call, number, 1, lines))
    return statistics.median(plain), statistics.median(traced)


def hand_written(number: int, repeat: int, kind: str) -> tuple[float, float]:
    """(plain, floor): the same output from the fewest operations one could write by hand, no tracehooks.

    emit: a function in place of the method that formats and appends the result; locals: the same, the
    frame claimed by one ``sys.settrace`` call event and its locals read once it returned (3.11; on 3.12+
    ``sys.settrace`` instruments every frame, so this floor is 3.11's only); watch: a line tracer on the
    frame that reads the locals after each line that stores a watched name.  locals_copy and watch_copy:
    what tracehooks does, written by hand -- a copy of the method that returns ``(c, (a, c))``, or calls a
    function printing each watched value after the statement that binds it.
    """
    model, v, lines = Model(), numpy.arange(8.0), []
    original, code, append = Model.step, Model.step.__code__, lines.append
    row = "%.15g %.15g %.15g %.15g %.15g %.15g %.15g %.15g"
    frames: list = []

    def claim(frame, event, arg):
        if frame.f_code is code:
            frames.append(frame)
            sys.settrace(None)

    def emit_floor(*args, **kwargs):
        result = original(*args, **kwargs)
        append("TRACE_PY: c %.15g" % result)
        return result

    def locals_floor(*args, **kwargs):
        sys.settrace(claim)
        try:
            result = original(*args, **kwargs)
        finally:
            sys.settrace(None)
        local = frames.pop().f_locals
        append("TRACE_PY: a " + row % tuple(local["a"].tolist()))
        append("TRACE_PY: c %.15g" % local["c"])
        return result

    first = code.co_firstlineno
    stores = {first + 1: "a", first + 2: "b"}

    def follow(frame, event, arg):
        name = stores.get(previous[0])
        previous[0] = frame.f_lineno
        if name is not None:
            append(f"TRACE_PY: {name} " + row % tuple(frame.f_locals[name].tolist()))
        return follow

    def watcher(frame, event, arg):
        if frame.f_code is code:
            return follow
        return None

    previous = [0]

    def watch_floor(*args, **kwargs):
        previous[0] = 0
        sys.settrace(watcher)
        try:
            return original(*args, **kwargs)
        finally:
            sys.settrace(None)

    def step_returning(self, v):
        a = v * 2.0
        b = a + 1.0
        c = float(b.sum())
        return c, (a, c)

    def locals_copy_floor(*args, **kwargs):
        result, (a, c) = step_returning(*args, **kwargs)
        append("TRACE_PY: a " + row % tuple(a.tolist()))
        append("TRACE_PY: c %.15g" % c)
        return result

    def seen(head, value):
        append(head + row % tuple(value.tolist()))

    def step_reporting(self, v):
        a = v * 2.0
        seen("TRACE_PY: a ", a)
        b = a + 1.0
        seen("TRACE_PY: b ", b)
        c = float(b.sum())
        return c

    def watch_copy_floor(*args, **kwargs):
        return step_reporting(*args, **kwargs)

    floor = {"emit": emit_floor, "locals": locals_floor, "watch": watch_floor, "locals_copy": locals_copy_floor,
             "watch_copy": watch_copy_floor}[kind]
    call = lambda: model.step(v)  # noqa: E731
    plain, timed = [], []
    for _ in range(repeat):
        plain.append(per_call(call, number, 1))
        Model.step = floor
        try:
            timed.append(per_call(call, number, 1, lines))
        finally:
            Model.step = original
    return statistics.median(plain), statistics.median(timed)


def traced_off(number: int, repeat: int) -> tuple[float, float]:
    wrapped = tracehooks.traced(locals=["y"], sink=[])(kernel)
    plain, off = [], []
    for _ in range(repeat):
        plain.append(per_call(lambda: kernel(1.5), number, 1))
        off.append(per_call(lambda: wrapped(1.5), number, 1))
    return statistics.median(plain), statistics.median(off)


def unrelated(number: int, repeat: int) -> tuple[float, float]:
    plain, active = [], []
    for _ in range(repeat):
        plain.append(per_call(unrelated_work, number, 1))
        with tracehooks.trace(Model, "step", locals=["a"], watch=["b"], sink=[]):
            active.append(per_call(unrelated_work, number, 1))
    return statistics.median(plain), statistics.median(active)


def row(case: str, plain: float, traced: float, target: str) -> str:
    return (f"| {case} | {plain * 1e6:.2f} µs | {traced * 1e6:.2f} µs | {traced / plain:.2f}× | "
            f"{(traced - plain) * 1e6:+.3f} µs | {target} |")


def main() -> None:
    quick = "--quick" in sys.argv
    number, repeat = (2_000, 5) if quick else (10_000, 9)
    print(f"Python {sys.version.split()[0]}; medians of {repeat} runs of process CPU time, "
          "list sink")
    print()
    print("| traced with | plain | traced | ratio | added per call | target |")
    print("|---|---|---|---|---|---|")
    print(row('`emit={"c": lambda call: call.result}`',
              *traced_per_call(number, repeat, emit={"c": lambda call: call.result}), "≤ 1.5×"))
    print(row('`locals=["a", "c"]`', *traced_per_call(number, repeat, locals=["a", "c"]),
              "≤ 2×"))
    print(row('`watch=["a", "b"]`', *traced_per_call(number, repeat, watch=["a", "b"]), "≤ 3×"))
    print(row("`@traced` while tracing is off", *traced_off(number * 10, repeat), "≤ +0.1 µs"))
    print(row("unrelated code (1000 calls) while a trace is active",
              *unrelated(max(number // 100, 20), repeat), "≤ 1.02×"))
    print()
    print("The same lines written by hand, without tracehooks (the floor of each mechanism):")
    print()
    print("| written by hand | plain | traced | ratio | added per call | target |")
    print("|---|---|---|---|---|---|")
    print(row("a function in place of the method, printing c", *hand_written(number, repeat, "emit"),
              "≤ 1.5×"))
    print(row("a copy of the method returning (c, (a, c)), a and c printed",
              *hand_written(number, repeat, "locals_copy"), "≤ 2×"))
    print(row("a copy of the method printing a, b after the statements binding them",
              *hand_written(number, repeat, "watch_copy"), "≤ 3×"))
    if sys.version_info < (3, 12):
        print(row("the frame claimed by one settrace event, a and c read at return",
                  *hand_written(number, repeat, "locals"), "≤ 2×"))
        print(row("a line tracer reading a, b after the lines storing them",
                  *hand_written(number, repeat, "watch"), "≤ 3×"))


if __name__ == "__main__":
    main()
