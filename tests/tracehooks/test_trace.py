"""trace(), @traced, emit() and capture() as a harness: output, options, failure policy."""

from __future__ import annotations

import doctest
import sys
from pathlib import Path

import numpy as np
import pytest

import tracehooks
from tracehooks import SinkError, TraceWarning, capture, emit, enabled, trace, traced

THIS = sys.modules[__name__]


class Detector:
    """A stand-in for code the tests must not edit."""

    def __init__(self) -> None:
        self.pix0_vector = [0.1, 0.0033, -0.0033]

    def compute(self, distance):
        Fclose = distance * 2.177
        pix0 = [Fclose, 0.0]
        pix0 = [v * -1 for v in pix0]
        return Fclose


def batched(slow, fast):
    image = np.arange(slow * fast * 3, dtype=np.float64).reshape(slow, fast, 3)
    scalar_map = image[..., 0] / 10
    rotation = np.eye(3)
    return image


def test_locals_mapping_mirrors_c_names_in_equals_style():
    """locals={'Fclose_m': 'Fclose'} prints the C name with the Python value."""
    lines: list[str] = []
    with trace(Detector, "compute", locals={"Fclose_m": "Fclose"}, prefix="TRACE_PY",
               style="equals", sink=lines):
        Detector().compute(0.1)
    assert lines == ["TRACE_PY:Fclose_m=0.2177"]


def test_emit_reads_the_instance_in_space_style():
    """emit= callables get the Call (instance, result...) and print in the given order."""
    lines: list[str] = []
    with trace(Detector, "compute", sink=lines, emit={
            "pix0_vector_meters": lambda call: call.instance.pix0_vector,
            "distance": lambda call: call.args[0]}):
        Detector().compute(0.1)
    assert lines == ["TRACE_PY: pix0_vector_meters 0.1 0.0033 -0.0033", "TRACE_PY: distance 0.1"]


def test_watch_labels_are_streamed_before_locals():
    """Watched assignments appear as they happen, locals at return, emit last."""
    lines: list[str] = []
    with trace(Detector, "compute", watch={"pix0": ["pix0_raw", "pix0_flipped"]},
               locals=["Fclose"], emit={"n": lambda call: 1}, sink=lines):
        Detector().compute(1.0)
    assert lines == ["TRACE_PY: pix0_raw 2.177 0", "TRACE_PY: pix0_flipped -2.177 -0",
                     "TRACE_PY: Fclose 2.177", "TRACE_PY: n 1"]


def test_fmt_and_per_name_formats():
    """fmt= sets the default format; formats= overrides it for one name."""
    lines: list[str] = []
    with trace(Detector, "compute", locals=["Fclose", "distance"], fmt="%.2e",
               formats={"distance": "%d"}, sink=lines):
        Detector().compute(3.7)
    assert lines == ["TRACE_PY: Fclose 8.05e+00", "TRACE_PY: distance 3"]


def test_index_picks_one_pixel_of_batched_values_only():
    """index=(1, 2) applies to values with ndim >= 2 whose dims can take it; others print whole."""
    lines: list[str] = []
    with trace(THIS, "batched", locals=["image", "scalar_map", "slow"], index=(1, 2), sink=lines):
        batched(2, 4)
    assert lines == ["TRACE_PY: image 18 19 20", "TRACE_PY: scalar_map 1.8", "TRACE_PY: slow 2"]


def test_index_leaves_values_whose_dims_are_too_small():
    """An index out of a value's range (a 3x3 matrix here) leaves the value whole."""
    lines: list[str] = []
    with trace(THIS, "batched", locals=["rotation"], index=(1, 5), sink=lines):
        batched(2, 6)
    assert lines == ["TRACE_PY: rotation [1 0 0; 0 1 0; 0 0 1]"]


def test_index_mapping_is_per_name():
    """index={'image': (0, 1)} indexes that name only; the 3x3 matrix stays whole."""
    lines: list[str] = []
    with trace(THIS, "batched", locals=["image", "rotation"], index={"image": (0, 1)}, sink=lines):
        batched(2, 2)
    assert lines == ["TRACE_PY: image 3 4 5", "TRACE_PY: rotation [1 0 0; 0 1 0; 0 0 1]"]


def test_bad_index_is_rejected():
    """index must be ints: TypeError naming what was given."""
    with pytest.raises(TypeError, match=r"index must be an int or a tuple of ints, got 'a'"):
        trace(THIS, "batched", index="a")


def test_unknown_option_is_rejected():
    """An unknown keyword raises Python's own TypeError naming it."""
    with pytest.raises(TypeError, match=r"trace\(\) got an unexpected keyword argument 'local'"):
        trace(Detector, "compute", local=["x"])


def test_requires_grad_tensor_prints_its_values(torch):
    """A CPU tensor requiring grad prints without error and with float32 values as doubles."""
    def energy(weights):
        scaled = weights * 2
        return scaled.sum()

    holder = type("Holder", (), {"energy": staticmethod(energy)})
    lines: list[str] = []
    weights = torch.tensor([0.1, 0.25], requires_grad=True)
    with trace(holder, "energy", locals=["scaled"], sink=lines):
        holder.energy(weights).backward()
    assert (lines, weights.grad.tolist()) == (["TRACE_PY: scaled 0.200000002980232 0.5"], [2.0, 2.0])


def test_batched_tensor_index(torch):
    """index= picks one element of a batched tensor's leading dims."""
    def render(image):
        pixel_pos = image * 1.5
        return pixel_pos

    holder = type("Holder", (), {"render": staticmethod(render)})
    lines: list[str] = []
    with trace(holder, "render", locals=["pixel_pos"], index=(1, 0), sink=lines):
        holder.render(torch.arange(12, dtype=torch.float64).reshape(2, 2, 3))
    assert lines == ["TRACE_PY: pixel_pos 9 10.5 12"]


def test_failing_formatter_warns_and_disables_the_trace():
    """A formatter that raises gives a TraceWarning naming the value; later calls print nothing."""
    lines: list[str] = []

    def broken(value):
        raise ZeroDivisionError("oops")

    with trace(Detector, "compute", locals=["Fclose", "pix0"], formats={"pix0": broken},
               sink=lines) as handle:
        with pytest.warns(TraceWarning, match=r"trace of Detector.compute disabled: formatting value "
                                              r"'pix0' failed: ZeroDivisionError: oops"):
            first = Detector().compute(1.0)
        second = Detector().compute(2.0)
    assert (first, second, lines, handle.disabled_reason is not None) == (
        2.177, 4.354, ["TRACE_PY: Fclose 2.177"], True)


def test_failing_emit_callable_warns_naming_the_value():
    """An emit= callable that raises does not reach the traced code; it warns instead."""
    with trace(Detector, "compute", emit={"missing": lambda call: call.instance.nope}, sink=[]):
        with pytest.warns(TraceWarning, match=r"emit= callable for 'missing' raised AttributeError"):
            assert Detector().compute(1.0) == 2.177


def test_failing_sink_raises_and_restores_the_target():
    """A sink that fails raises SinkError out of the call; the with block still restores."""
    original = vars(Detector)["compute"]

    def broken(line):
        raise OSError("disk full")

    with pytest.raises(SinkError, match=r"sink callable .*broken failed: OSError: disk full"):
        with trace(Detector, "compute", locals=["Fclose"], sink=broken):
            Detector().compute(1.0)
    assert vars(Detector)["compute"] is original


def test_failing_sink_during_watch_raises_after_the_call_completes():
    """A sink failure on a streamed line is raised once the call has returned, not mid-call."""
    finished: list[float] = []

    def record(distance):
        d = distance + 1
        finished.append(d)
        return d

    holder = type("Holder", (), {"record": staticmethod(record)})

    def broken(line):
        raise OSError("gone")

    with trace(holder, "record", watch=["d"], sink=broken):
        with pytest.raises(SinkError, match="OSError: gone"):
            holder.record(1.0)
    assert finished == [2.0]


def test_sink_failure_during_a_raising_call_is_noted_on_its_exception():
    """If the call raises after a streamed line failed, its own exception propagates, noted."""
    def doomed(x):
        y = x + 1
        raise LookupError(y)

    holder = type("Holder", (), {"doomed": staticmethod(doomed)})

    def broken(line):
        raise OSError("gone")

    with trace(holder, "doomed", watch=["y"], sink=broken):
        with pytest.raises(LookupError) as info:
            holder.doomed(1)
    if sys.version_info < (3, 11):  # no exception notes before 3.11: the exception alone
        assert not hasattr(info.value, "__notes__")
        return
    assert info.value.__notes__ == ["tracehooks: sink callable test_sink_failure_during_a_raising_"
                                    "call_is_noted_on_its_exception.<locals>.broken failed: "
                                    "OSError: gone"]


def test_path_sink_is_closed_when_the_trace_ends(tmp_path):
    """A path sink gets the lines and its file is closed on exit."""
    path = tmp_path / "py.log"
    with trace(Detector, "compute", locals=["Fclose"], sink=str(path)) as handle:
        Detector().compute(1.0)
    assert (path.read_text(), handle.sink.stream.closed) == ("TRACE_PY: Fclose 2.177\n", True)


def test_missing_local_warns_each_call_and_keeps_tracing():
    """A local unbound at return is skipped with a TraceWarning; the trace stays on."""
    def maybe(flag):
        if flag:
            late = 1
        return flag

    holder = type("Holder", (), {"maybe": staticmethod(maybe)})
    lines: list[str] = []
    with trace(holder, "maybe", locals=["late"], sink=lines) as handle:
        with pytest.warns(TraceWarning, match=r"local 'late' of Holder.maybe was not bound"):
            holder.maybe(False)
        holder.maybe(True)
    assert (lines, handle.disabled_reason) == (["TRACE_PY: late 1"], None)


def test_handle_counts_calls():
    """ncalls counts the traced calls."""
    with trace(Detector, "compute") as handle:
        for distance in (1.0, 2.0, 3.0):
            Detector().compute(distance)
    assert handle.ncalls == 3


def test_configured_defaults_apply_to_trace():
    """configure() prefix/style/sink are used when trace() does not set them."""
    lines: list[str] = []
    tracehooks.configure(prefix="TRACE_CFG", style="equals", sink=lines)
    with trace(Detector, "compute", locals=["Fclose"]):
        Detector().compute(1.0)
    assert lines == ["TRACE_CFG:Fclose=2.177"]


def test_keyboard_interrupt_in_traced_call_restores_tracer_and_target():
    """KeyboardInterrupt raised inside the traced function leaves nothing behind."""
    original = vars(Detector)["compute"]

    def interrupt(distance):
        partial = distance
        raise KeyboardInterrupt

    holder = type("Holder", (), {"interrupt": staticmethod(interrupt)})
    original_holder = vars(holder)["interrupt"]
    with pytest.raises(KeyboardInterrupt):
        with trace(holder, "interrupt", watch=["partial"], sink=[]):
            holder.interrupt(1.0)
    assert (vars(holder)["interrupt"], sys.gettrace(), vars(Detector)["compute"]) == (
        original_holder, None, original)


@traced(locals={"y_out": "y"}, emit={"result": lambda call: call.result}, sink="stdout")
def squared_plus_one(x):
    y = x * x
    return y + 1


def test_traced_is_silent_while_off(capsys):
    """A @traced function prints nothing while tracing is off."""
    assert squared_plus_one(3) == 10
    assert capsys.readouterr().out == ""


def test_traced_prints_inside_enabled(capsys):
    """Inside enabled() a @traced function prints its locals and emit values."""
    with enabled():
        squared_plus_one(3)
    assert capsys.readouterr().out == "TRACE_PY: y_out 9\nTRACE_PY: result 10\n"


def test_traced_method_receives_the_instance():
    """@traced on a method passes the instance to emit callables (configure(enabled=True))."""
    lines: list[str] = []
    tracehooks.configure(sink=lines, enabled=True)

    class Counter:
        step = 2

        @traced(emit={"step": lambda call: call.instance.step})
        def bump(self, n):
            return n + self.step

    assert (Counter().bump(1), lines) == (3, ["TRACE_PY: step 2"])


def test_bare_traced_decorator_wraps_the_function():
    """@traced without parentheses returns a wrapper of the function itself."""
    @traced
    def double(x):
        return 2 * x

    with enabled():
        result = double(4)
    assert (result, double.__wrapped__.__name__) == (8, "double")


def test_traced_validates_locals_at_decoration():
    """A misspelled local fails when decorating, not later."""
    with pytest.raises(ValueError, match=r"local 'yy' is not a local variable of .*<locals>.f"):
        @traced(locals=["yy"])
        def f(x):
            y = x
            return y


def test_emit_writes_and_returns_the_line(tmp_path):
    """emit() renders with the given options, appends to a path sink and returns the line."""
    path = tmp_path / "harness.log"
    line = emit("pix0_vector_meters", [0.1, 0.0033], prefix="TRACE_PY", sink=path)
    emit("hkl", 2.6, fmt="%d", style="equals", sink=path)
    assert (line, path.read_text()) == ("TRACE_PY: pix0_vector_meters 0.1 0.0033",
                                        "TRACE_PY: pix0_vector_meters 0.1 0.0033\nTRACE_PY:hkl=2\n")


def test_emit_index_picks_an_element():
    """emit(index=...) applies the same index rule as trace()."""
    lines: list[str] = []
    emit("row", np.arange(6).reshape(2, 3), index=(1,), sink=lines)
    assert lines == ["TRACE_PY: row 3 4 5"]


def test_harness_reorders_captured_values_with_emit():
    """capture() + emit() prints values in an order the function never produced."""
    lines: list[str] = []
    with capture(Detector, "compute", locals=["Fclose"], watch={"pix0": ["raw", "flipped"]}) as seen:
        Detector().compute(1.0)
    call = seen.calls[0]
    emit("Fclose_m", call.named["Fclose"], sink=lines, style="equals")
    for label, value in reversed(call.watched):
        emit(label, value, sink=lines, style="equals")
    assert lines == ["TRACE_PY:Fclose_m=2.177", "TRACE_PY:flipped=-2.177 -0", "TRACE_PY:raw=2.177 0"]


def test_capture_rejects_printing_options():
    """capture() accepts only locals, watch and all_threads."""
    with pytest.raises(TypeError, match=r"capture\(\) got an unexpected keyword argument 'sink'"):
        capture(Detector, "compute", sink=[])


def test_trace_cannot_start_twice():
    """A handle that has been started cannot be started again."""
    handle = trace(Detector, "compute").start()
    try:
        with pytest.raises(RuntimeError, match=r"was already started"):
            handle.start()
    finally:
        handle.undo()


def test_user_guide_examples_produce_the_output_shown():
    """Every example in docs/tracehooks.md runs and prints what the guide shows."""
    guide = Path(__file__).resolve().parents[2] / "docs" / "tracehooks.md"
    result = doctest.testfile(str(guide), module_relative=False, verbose=False)
    assert (result.failed, result.attempted >= 20) == (0, True)


def test_public_names_are_sorted_and_importable():
    """tracehooks.__all__ is sorted and each name exists on the package."""
    missing = [name for name in tracehooks.__all__ if not hasattr(tracehooks, name)]
    assert (tracehooks.__all__ == sorted(tracehooks.__all__), missing) == (True, [])
