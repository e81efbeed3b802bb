"""Overhead of tracehooks: prints median times per call and ratios (no assertions).

Run: python benchmarks/bench_tracehooks.py [--quick]

Each time includes the cost of calling the timed lambda, for the baseline
and the measured case alike; the ``+N ns`` column is the difference.

1. a @traced function while tracing is off vs the same undecorated function;
2. a traced method with locals capture (and with watched locals) vs the plain method;
3. unrelated code run while a trace is active vs with no trace, plus code
   called from inside a traced call (the frames a tracer sees but ignores).
"""

from __future__ import annotations

import statistics
import sys
import timeit
from collections.abc import Callable

import tracehooks


def kernel(x):
    y = x * 2.0 + 1.0
    return y


traced_kernel = tracehooks.traced(locals=["y"], sink=lambda line: None)(kernel)


class Geometry:
    def pixel(self, slow, fast):
        fdet = slow * 0.1 + 0.05
        sdet = fast * 0.1 + 0.05
        distance = (fdet * fdet + sdet * sdet + 0.01) ** 0.5
        scale = 1.0 / distance
        return scale


def helper(i):
    return i * 3 + 1


def unrelated_work():
    total = 0
    for i in range(1000):
        total += helper(i)
    return total


def traced_outer():
    total = unrelated_work()
    return total


def median_per_call(function: Callable[[], object], number: int, repeat: int) -> float:
    """Median over ``repeat`` runs of the time per call, in seconds."""
    runs = timeit.repeat(function, number=number, repeat=repeat)
    return statistics.median(runs) / number


def report(title: str, baseline: float, measured: float, labels: tuple[str, str]) -> None:
    print(f"{title}")
    print(f"  {labels[0]:<40} {baseline * 1e9:12.1f} ns/call")
    print(f"  {labels[1]:<40} {measured * 1e9:12.1f} ns/call   ratio {measured / baseline:6.2f}x"
          f"   ({(measured - baseline) * 1e9:+.0f} ns)")


def bench_traced_off(number: int, repeat: int) -> None:
    plain = median_per_call(lambda: kernel(1.5), number, repeat)
    off = median_per_call(lambda: traced_kernel(1.5), number, repeat)
    report("1. @traced while tracing is off", plain, off, ("undecorated function", "@traced, off"))
    with tracehooks.enabled():
        on = median_per_call(lambda: traced_kernel(1.5), number // 10, repeat)
    report("   (for reference) @traced while on, locals=['y'], null sink", plain, on,
           ("undecorated function", "@traced, on"))


def bench_locals_capture(number: int, repeat: int) -> None:
    geometry = Geometry()
    plain = median_per_call(lambda: geometry.pixel(3, 4), number, repeat)
    null = lambda line: None  # noqa: E731 - measure capture, not I/O
    with tracehooks.trace(Geometry, "pixel", locals=["fdet", "sdet", "scale"], sink=null):
        captured = median_per_call(lambda: geometry.pixel(3, 4), number // 10, repeat)
    report("2. traced method, locals capture (3 locals printed)", plain, captured,
           ("plain method", "trace(locals=...)"))
    with tracehooks.trace(Geometry, "pixel", watch=["fdet", "sdet", "distance", "scale"],
                          sink=null):
        watched = median_per_call(lambda: geometry.pixel(3, 4), number // 10, repeat)
    report("   traced method, 4 watched locals (line events)", plain, watched,
           ("plain method", "trace(watch=...)"))


def bench_unrelated(number: int, repeat: int) -> None:
    this = sys.modules[__name__]
    plain = median_per_call(unrelated_work, number, repeat)
    with tracehooks.trace(Geometry, "pixel", locals=["scale"], watch=["fdet"],
                          sink=lambda line: None):
        active = median_per_call(unrelated_work, number, repeat)
    report("3. unrelated code (1000 Python calls) while a trace is active", plain, active,
           ("no trace", "trace active on another target"))
    outer_plain = median_per_call(traced_outer, number, repeat)
    with tracehooks.trace(this, "traced_outer", locals=["total"], sink=lambda line: None):
        outer_traced = median_per_call(this.traced_outer, number, repeat)
    report("   the same work called from inside a traced call", outer_plain, outer_traced,
           ("untraced caller", "caller traced with locals="))
    with tracehooks.trace(this, "traced_outer", watch=["total"], sink=lambda line: None):
        outer_watched = median_per_call(this.traced_outer, number, repeat)
    report("   the same, caller traced with watch= (line events)", outer_plain, outer_watched,
           ("untraced caller", "caller traced with watch="))


def main() -> None:
    quick = "--quick" in sys.argv
    number, repeat = (20_000, 5) if quick else (200_000, 7)
    print(f"Python {sys.version.split()[0]}; timeit.repeat medians of {repeat} runs")
    bench_traced_off(number, repeat)
    bench_locals_capture(number, repeat)
    bench_unrelated(max(number // 1000, 20), repeat)


if __name__ == "__main__":
    main()
