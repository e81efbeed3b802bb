"""Thread rules: the opening thread only by default, all_threads, whole lines under contention."""

from __future__ import annotations

import sys
import threading
import time

from tracehooks import enabled, trace, traced

THIS = sys.modules[__name__]


def work(x):
    doubled = x * 2
    doubled = doubled + 0.5
    return doubled


def run_in_thread(function, *args):
    """Run function(*args) on a new thread and return its result."""
    results = []
    thread = threading.Thread(target=lambda: results.append(function(*args)))
    thread.start()
    thread.join()
    return results[0]


def test_other_threads_are_not_traced_by_default():
    """Calls on a thread other than the opening one run untraced and uncounted."""
    lines: list[str] = []
    with trace(THIS, "work", locals=["doubled"], sink=lines) as handle:
        other = run_in_thread(lambda: THIS.work(1.0))
        mine = THIS.work(2.0)
    assert (other, mine, lines, handle.ncalls) == (2.5, 4.5, ["TRACE_PY: doubled 4.5"], 1)


def test_all_threads_traces_every_thread():
    """all_threads=True traces calls made on other threads too."""
    lines: list[str] = []
    with trace(THIS, "work", locals=["doubled"], sink=lines, all_threads=True):
        run_in_thread(lambda: THIS.work(1.0))
    assert lines == ["TRACE_PY: doubled 2.5"]


class SlowStream:
    """Writes one character at a time and yields to other threads at each space."""

    def __init__(self) -> None:
        self.chars: list[str] = []

    def write(self, text: str) -> None:
        for char in text:
            self.chars.append(char)
            if char == " ":
                time.sleep(0)


def test_concurrent_traced_calls_give_whole_correct_lines():
    """Eight threads tracing watched locals at once: each line whole, each value its own thread's."""
    stream = SlowStream()
    with trace(THIS, "work", watch={"doubled": ["first", "second"]}, sink=stream, all_threads=True):
        threads = [threading.Thread(target=lambda n=n: [THIS.work(float(n * 100 + i))
                                                        for i in range(20)])
                   for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    lines = "".join(stream.chars).splitlines()
    expected = [f"TRACE_PY: {label} {value:g}" for n in range(8) for i in range(20)
                for label, value in (("first", (n * 100 + i) * 2.0),
                                     ("second", (n * 100 + i) * 2.0 + 0.5))]
    assert sorted(lines) == sorted(expected)


@traced(locals=["doubled"], sink="stderr")
def traced_work(x):
    doubled = x * 2
    return doubled


def test_enabled_block_only_switches_its_own_thread(capsys):
    """enabled() on one thread leaves @traced silent on other threads."""
    with enabled():
        run_in_thread(traced_work, 1)
        traced_work(2)
    assert capsys.readouterr().err == "TRACE_PY: doubled 4\n"


def test_enabled_all_threads_switches_every_thread(capsys):
    """enabled(all_threads=True) makes @traced print on other threads as well."""
    with enabled(all_threads=True):
        run_in_thread(traced_work, 1)
    assert capsys.readouterr().err == "TRACE_PY: doubled 2\n"
