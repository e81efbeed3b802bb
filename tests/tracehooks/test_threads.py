"""Thread rules: the opening thread only by default, all_threads, whole lines under contention,
and traces of the same attributes started and undone concurrently from many threads."""

from __future__ import annotations

import queue
import random
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tracehooks import capture, enabled, trace, traced

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


def make_world() -> types.SimpleNamespace:
    """Fresh classes and module, one attribute of each kind, each binding a local y = 2 * x."""
    class Base:
        def __init__(self, value=0):
            self.value = value

        def method(self, x):
            y = x * 2
            return y

        @staticmethod
        def smethod(x):
            y = x * 2
            return y

        @classmethod
        def cmethod(cls, x):
            y = x * 2
            return y

        @property
        def prop(self):
            y = self.value * 2
            return y

        def inherited(self, x):
            y = x * 2
            return y

    class Child(Base):
        pass

    def func(x):
        y = x * 2
        return y

    module = types.ModuleType("stress_module")
    module.func = func
    return types.SimpleNamespace(Base=Base, Child=Child, module=module)


@dataclass(frozen=True)
class Kind:
    label: str
    owner: Callable[[Any], Any]
    name: str
    call: Callable[[Any, int], int]


KINDS = [
    Kind("method", lambda w: w.Base, "method", lambda w, x: w.Base().method(x)),
    Kind("staticmethod", lambda w: w.Base, "smethod", lambda w, x: w.Base.smethod(x)),
    Kind("classmethod", lambda w: w.Base, "cmethod", lambda w, x: w.Child.cmethod(x)),
    Kind("property", lambda w: w.Base, "prop", lambda w, x: w.Base(x).prop),
    Kind("inherited method", lambda w: w.Child, "inherited", lambda w, x: w.Child().inherited(x)),
    Kind("module function", lambda w: w.module, "func", lambda w, x: w.module.func(x)),
]


def state(world: types.SimpleNamespace) -> dict[str, dict[str, tuple[int, Any]]]:
    """Every entry of every owner's __dict__ as (id, object): equal only for the same object.

    The object is kept so that its id cannot be reused by another one.
    """
    return {label: {key: (id(value), value) for key, value in vars(owner).items()}
            for label, owner in (("Base", world.Base), ("Child", world.Child),
                                 ("module", world.module))}


def run_threads(body: Callable[[int, Iterator[int]], None]) -> list[str]:
    """Run body(worker, numbers) on THREADS threads at once, ROUNDS times, switching every 1 µs.

    Each round starts fresh threads together: a round falls into one
    interleaving pattern, so many short rounds meet more of them than one
    long one.  ``worker`` differs for every thread of every round;
    ``numbers`` yields ITERATIONS numbers no other worker gets, and stops
    early once a thread has failed.  Returns what the threads raised.
    """
    errors: list[str] = []

    def numbers(worker: int) -> Iterator[int]:
        for i in range(worker * ITERATIONS, (worker + 1) * ITERATIONS):
            if errors:
                return
            yield i

    def target(worker: int, barrier: threading.Barrier) -> None:
        try:
            barrier.wait()
            body(worker, numbers(worker))
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(f"worker {worker}: {type(exc).__name__}: {exc}")

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for first in range(0, ROUNDS * THREADS, THREADS):
            barrier = threading.Barrier(THREADS)
            threads = [threading.Thread(target=target, args=(worker, barrier))
                       for worker in range(first, first + THREADS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    finally:
        sys.setswitchinterval(interval)
    return errors


STYLES = ("trace locals", "trace emit", "capture locals", "capture")


class Opened:
    """One started trace() or capture() of a kind, in one of STYLES; ``with`` undoes it."""

    def __init__(self, world: types.SimpleNamespace, kind: Kind, style: str) -> None:
        self.kind = kind
        self.style = style
        self.lines: list[str] = []
        options: dict[str, Any] = {"locals": ["y"]} if style.endswith("locals") else {}
        if style.startswith("capture"):
            self.handle = capture(kind.owner(world), kind.name, **options)
        elif options:
            self.handle = trace(kind.owner(world), kind.name, sink=self.lines, **options)
        else:
            self.handle = trace(kind.owner(world), kind.name, sink=self.lines,
                                emit={"y": lambda call: call.result})
        self.handle.start()

    def __enter__(self) -> Opened:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.handle.undo()

    def seen(self) -> list[str]:
        """The lines printed, or for a capture the lines its calls would print."""
        if not self.style.startswith("capture"):
            return self.lines
        locals_wanted = self.style.endswith("locals")
        return [f"TRACE_PY: y {call.named['y'] if locals_wanted else call.result}"
                for call in self.handle.calls]


THREADS = 4
ROUNDS = 20
ITERATIONS = 250  # per thread and round


def test_same_method_traced_from_many_threads():
    """Threads tracing one method at once: no error, each sees just its own call, exact restore."""
    world = make_world()
    before = state(world)

    def body(worker: int, numbers: Iterator[int]) -> None:
        for x in numbers:
            with Opened(world, KINDS[0], STYLES[x % len(STYLES)]) as opened:
                result = world.Base().method(x)
            assert (opened.style, result, opened.seen()) == (opened.style, 2 * x,
                                                             [f"TRACE_PY: y {2 * x}"])

    assert run_threads(body) == []
    assert state(world) == before


def test_every_kind_traced_and_captured_from_many_threads():
    """Random kinds, trace() and capture() mixed, on several threads: each sees just its call."""
    world = make_world()
    before = state(world)

    def body(worker: int, numbers: Iterator[int]) -> None:
        rng = random.Random(worker)
        for x in numbers:
            kind = rng.choice(KINDS)
            with Opened(world, kind, rng.choice(STYLES)) as opened:
                result = kind.call(world, x)
            assert (kind.label, opened.style, result, opened.seen()) == (
                kind.label, opened.style, 2 * x, [f"TRACE_PY: y {2 * x}"])

    assert run_threads(body) == []
    assert state(world) == before


def test_overlapping_traces_undone_out_of_order_from_many_threads():
    """Each thread keeps two traces open and undoes the older first: each sees exactly its calls."""
    world = make_world()
    before = state(world)

    def body(worker: int, numbers: Iterator[int]) -> None:
        rng = random.Random(worker)
        opened: list[tuple[Opened, list[str]]] = []  # oldest first, with the lines each must see
        try:
            for x in numbers:
                kind = rng.choice(KINDS[:2]) if worker % 2 else rng.choice(KINDS)
                opened.append((Opened(world, kind, rng.choice(STYLES)), []))
                kind.call(world, x)
                for each, expected in opened:
                    if each.kind is kind:
                        expected.append(f"TRACE_PY: y {2 * x}")
                if len(opened) == 2:
                    older, expected = opened.pop(0)
                    older.handle.undo()
                    assert (older.kind.label, older.style, older.seen()) == (
                        older.kind.label, older.style, expected)
        finally:
            for each, _ in opened:
                each.handle.undo()
        assert [each.seen() for each, _ in opened] == [expected for _, expected in opened]

    assert run_threads(body) == []
    assert state(world) == before


class OtherThread:
    """A second thread that runs the functions handed to it, one at a time, and waits."""

    def __init__(self) -> None:
        self.requests: queue.Queue = queue.Queue()
        self.thread = threading.Thread(target=self._serve)
        self.thread.start()

    def _serve(self) -> None:
        while (request := self.requests.get()) is not None:
            function, done = request
            try:
                done.put(function())
            except BaseException as exc:  # noqa: BLE001 - re-raised by run()
                done.put(exc)

    def run(self, function: Callable[[], Any]) -> Any:
        """Run function() on the other thread and return its result (or raise its exception)."""
        done: queue.Queue = queue.Queue()
        self.requests.put((function, done))
        outcome = done.get(timeout=60)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def stop(self) -> None:
        self.requests.put(None)
        self.thread.join()


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.label)
def test_traces_from_two_threads_undone_first_in_first_out(kind):
    """Thread 1 enters, thread 2 enters, thread 1 exits, thread 2 exits: each sees its own calls."""
    world = make_world()
    before = state(world)
    other = OtherThread()
    try:
        first = Opened(world, kind, "trace locals")
        second = other.run(lambda: Opened(world, kind, "capture locals"))
        kind.call(world, 1)
        other.run(lambda: kind.call(world, 2))
        first.handle.undo()
        kind.call(world, 3)
        other.run(lambda: kind.call(world, 4))
        other.run(second.handle.undo)
    finally:
        other.stop()
    assert (first.seen(), second.seen(), state(world)) == (
        ["TRACE_PY: y 2"], ["TRACE_PY: y 4", "TRACE_PY: y 8"], before)


def test_all_threads_trace_sees_another_threads_calls_while_both_are_open():
    """An all_threads trace also records the calls another thread's trace of the method records."""
    world = make_world()
    before = state(world)
    everyone: list[str] = []
    mine: list[str] = []
    other = OtherThread()
    try:
        wide = trace(world.Base, "method", locals=["y"], sink=everyone, all_threads=True).start()
        narrow = other.run(lambda: trace(world.Base, "method", locals=["y"], sink=mine).start())
        other.run(lambda: world.Base().method(1))
        world.Base().method(2)
        wide.undo()
        other.run(lambda: world.Base().method(3))
        other.run(narrow.undo)
    finally:
        other.stop()
    assert (everyone, mine, state(world)) == (
        ["TRACE_PY: y 2", "TRACE_PY: y 4"], ["TRACE_PY: y 2", "TRACE_PY: y 6"], before)
