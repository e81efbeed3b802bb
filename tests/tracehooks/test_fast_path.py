"""The fast path (a traced plain function replaced by one plain function, ``_fast``) prints exactly what
the general path prints, fails the same way, and keeps the function's identity for introspection.

A per-instance trace goes through wrapt and the general path; a trace of the class's function takes the
fast path. Both are run on the same calls with the same options and must give the same lines.
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest

from tracehooks import SinkError, TraceWarning, capture, trace
from tracehooks._capture import store_sites


class Model:
    def step(self, v, scale=2.0):
        """Doubles, shifts and sums."""
        a = v * scale
        b = a + 1.0
        b = b * 1.0
        c = float(b.sum())
        return c

    def fails(self, v):
        a = v * 2.0
        raise ValueError("no")

    def partly(self, flag):
        if flag:
            late = 1.5
        return 0.5


OPTIONS = [
    {"locals": ["a", "c"]},
    {"locals": {"A": "a", "C": "c"}, "style": "equals"},
    {"locals": True},
    {"watch": ["a", "b"]},
    {"watch": {"b": ("b_first", "b_second")}, "locals": ["c"]},
    {"watch": {"b": "b_any"}, "style": "bare"},
    {"emit": {"c": lambda call: call.result, "n": lambda call: len(call.args[0])}},
    {"emit": {"first_watched": lambda call: call.watched[0][1]}, "watch": ["a"]},
    {"locals": ["a"], "index": 1, "formats": {"a": "%.3e"}},
    {"locals": ["a", "c"], "prefix": "TRACE_C", "fmt": "%.6g"},
]


def _lines(target, options, *calls):
    lines: list[str] = []
    with trace(target, "step", sink=lines, **options):
        for args in calls:
            Model.step(*args) if target is Model else target.step(*args[1:])
    return lines


@pytest.mark.parametrize("options", OPTIONS, ids=range(len(OPTIONS)))
def test_fast_path_prints_what_the_general_path_prints(options):
    """The class trace (fast path) and a per-instance trace (wrapt, general path) give the same lines."""
    model = Model()
    calls = [(model, np.arange(4.0)), (model, np.array([0.1, -2.5, 1e-300])), (model, np.arange(3.0), 3.0)]
    fast = _lines(Model, options, *calls)
    general = _lines(model, options, *calls)
    assert fast == general and len(fast) >= 3


def test_a_class_trace_installs_a_plain_function_that_keeps_the_name_signature_and_doc():
    """The replacement is a function (not a proxy) that introspects as the original and is restored."""
    original = Model.__dict__["step"]
    with trace(Model, "step", locals=["c"], sink=[]):
        installed = Model.__dict__["step"]
        assert inspect.isfunction(installed) and installed is not original
        assert (installed.__name__, installed.__qualname__, installed.__doc__, installed.__wrapped__) == (
            "step", "Model.step", "Doubles, shifts and sums.", original)
        assert str(inspect.signature(Model.step)) == "(self, v, scale=2.0)"
    assert Model.__dict__["step"] is original


def test_a_failing_call_prints_nothing_at_return_but_keeps_its_watched_lines():
    """An exception propagates unchanged; lines of assignments made before it stay, as in the general path."""
    lines: list[str] = []
    with trace(Model, "fails", watch=["a"], locals=["a"], sink=lines):
        with pytest.raises(ValueError, match="no"):
            Model().fails(np.arange(2.0))
    assert lines == ["TRACE_PY: a 0 2"]


def test_a_local_left_unbound_warns_and_the_others_print():
    lines: list[str] = []
    with trace(Model, "partly", locals=["late"], emit={"r": lambda call: call.result}, sink=lines):
        with pytest.warns(TraceWarning, match=r"local 'late' of Model.partly was not bound"):
            Model().partly(False)
    assert lines == ["TRACE_PY: r 0.5"]


def test_a_failing_emitter_switches_the_trace_off_with_one_warning():
    lines: list[str] = []
    with trace(Model, "step", emit={"boom": lambda call: 1 / 0}, sink=lines) as handle:
        with pytest.warns(TraceWarning, match=r"disabled: emit= callable for 'boom' raised ZeroDivisionError"):
            Model().step(np.arange(2.0))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert Model().step(np.arange(2.0)) == 4.0  # passes straight through now
    assert (lines, handle.ncalls) == ([], 1)


def test_a_watched_value_that_cannot_be_formatted_disables_after_the_call():
    """The failure is reported once the call returned (never inside the tracer), and the call's result stands."""
    lines: list[str] = []

    class Odd:
        def step(self):
            x = object()
            return 1

    with trace(Odd, "step", watch=["x"], sink=lines):
        with pytest.warns(TraceWarning, match=r"disabled: formatting value 'x' failed"):
            assert Odd().step() == 1
    assert lines == []


def test_a_failing_sink_raises_sink_error_from_the_call():
    class Full(list):
        def append(self, line):
            raise OSError("disk full")

    with trace(Model, "step", locals=["c"], sink=Full()):
        with pytest.raises(SinkError, match="disk full"):
            Model().step(np.arange(2.0))


def test_calls_are_counted_and_only_on_the_tracing_thread():
    import threading

    lines: list[str] = []
    with trace(Model, "step", locals=["c"], sink=lines) as handle:
        Model().step(np.arange(2.0))
        worker = threading.Thread(target=Model().step, args=(np.arange(2.0),))
        worker.start()
        worker.join()
    assert (handle.ncalls, lines) == (1, ["TRACE_PY: c 4"])


def test_store_sites_name_the_lines_that_bind_watched_names():
    """Only lines storing or deleting a watched name are read after; cell variables force every line."""
    first = Model.step.__code__.co_firstlineno
    sites = store_sites(Model.step.__code__, ["b"])
    assert (dict(sites.lines), sites.every_line, sites.bound_at_entry) == (
        {first + 3: ("b",), first + 4: ("b",)}, False, False)
    assert dict(store_sites(Model.step.__code__, ["a", "c"]).lines) == {first + 2: ("a",), first + 5: ("c",)}
    assert store_sites(Model.step.__code__, ["v"]).bound_at_entry

    def outer():
        shared = 1

        def bump():
            nonlocal shared
            shared = 2

        bump()
        return shared

    assert store_sites(outer.__code__, ["shared"]).every_line


def rebinds_through_a_closure():
    shared = 1

    def bump():
        nonlocal shared
        shared = 2

    bump()
    total = shared + 1
    return total


def test_a_cell_variable_rebound_by_a_nested_function_is_reported():
    import sys

    with capture(sys.modules[__name__], "rebinds_through_a_closure", watch=["shared"]) as seen:
        assert rebinds_through_a_closure() == 3
    assert seen.calls[0].watched == [("shared", 1), ("shared", 2)]
