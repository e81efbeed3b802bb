"""Overhead of tracehooks per call: the table of docs/tracehooks.md "Overhead" (no assertions).

Run: python benchmarks/bench_tracehooks.py [--quick]

The traced method takes about 3 µs (``a = v*2.0; b = a+1.0; c = float(b.sum()); return c`` on
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


if __name__ == "__main__":
    main()
