"""Locals capture: final locals, watched assignments, tracer hygiene, chaining, recursion."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from tracehooks import TraceWarning, capture, trace

THIS = sys.modules[__name__]
needs_monitoring = pytest.mark.skipif(sys.version_info < (3, 12), reason="sys.monitoring is 3.12+")
needs_settrace_backend = pytest.mark.skipif(sys.version_info >= (3, 12),
                                            reason="the settrace backend serves Python 3.11")


# The traced functions below are plain module functions: the tests never edit them.
def pixel(scale):
    pix0 = [0.1, 0.2]
    pix0 = [v * scale for v in pix0]
    Fclose = 0.217742295 * scale
    pix0 = [v + Fclose for v in pix0]
    scale = scale + 1
    return Fclose


def helper(x):
    y = x + 1
    return y


def uses_helper(x):
    z = helper(x)
    z = helper(z)
    return z


def same_object_twice():
    a = [1]
    b = a
    a = b
    del a
    a = b
    return a


def countdown(n):
    total = float(n)  # floats: each result is a new object, unlike cached small ints
    if n > 0:
        total = total + countdown(n - 1)
    return total


def factorial(n):
    result = 1
    if n > 1:
        result = n * _DIRECT_FACTORIAL(n - 1)
    return result


_DIRECT_FACTORIAL = factorial


def fails(x):
    before = x * 2
    raise ValueError(f"bad {before}")


def maybe_bound(flag):
    if flag:
        late = 1
    always = 2
    return always


def accumulate():
    acc = np.zeros(2)
    acc += 1
    acc = acc * 2
    acc += 5
    return acc


def numbers():
    for i in range(3):
        value = i * 10
    return value


def test_final_locals_under_emitted_names_in_order():
    """locals= mapping emitted->local gives the final values in the mapping's order."""
    with capture(THIS, "pixel", locals={"Fclose_m": "Fclose", "scale_after": "scale"}) as seen:
        pixel(2.0)
    assert list(seen.calls[0].named.items()) == [("Fclose_m", 0.43548459), ("scale_after", 3.0)]


def test_call_locals_holds_every_final_local():
    """Call.locals has every local of the frame as it ended."""
    with capture(THIS, "helper", locals=["y"]) as seen:
        helper(4)
    assert seen.calls[0].locals == {"x": 4, "y": 5}


def test_watch_labels_follow_assignments_in_order():
    """Each rebinding of a watched local takes the next label, with the value just bound."""
    labels = ["pix0_before_rotation", "pix0_after_rotz", "pix0_after_twotheta"]
    with capture(THIS, "pixel", watch={"pix0": labels}) as seen:
        pixel(10.0)
    assert seen.calls[0].watched == [
        ("pix0_before_rotation", [0.1, 0.2]),
        ("pix0_after_rotz", [1.0, 2.0]),
        ("pix0_after_twotheta", [1.0 + 2.17742295, 2.0 + 2.17742295]),
    ]


def test_string_label_applies_to_every_assignment():
    """A str label is used for each assignment, including those in a loop."""
    with capture(THIS, "numbers", watch={"value": "v"}) as seen:
        numbers()
    assert seen.calls[0].watched == [("v", 0), ("v", 10), ("v", 20)]


def test_assignments_beyond_labels_are_unlabelled():
    """With fewer labels than assignments, the extra ones go to Call.unlabelled."""
    with capture(THIS, "numbers", watch={"value": ["first"], "i": []}) as seen:
        numbers()
    call = seen.calls[0]
    assert (call.watched, call.unlabelled) == (
        [("first", 0)], [("i", 0), ("i", 1), ("value", 10), ("i", 2), ("value", 20)])


def test_parameters_are_the_baseline_not_assignments():
    """A parameter's value at entry is not an event; its rebinding is."""
    with capture(THIS, "pixel", watch=["scale"]) as seen:
        pixel(2.0)
    assert seen.calls[0].watched == [("scale", 3.0)]


def test_rebinding_to_the_same_object_is_not_an_assignment_but_del_resets():
    """a = b with the same object is silent; after del, binding it again counts."""
    with capture(THIS, "same_object_twice", watch=["a"]) as seen:
        same_object_twice()
    assert seen.calls[0].watched == [("a", [1]), ("a", [1])]


def test_watched_arrays_are_copied_when_seen():
    """In-place updates after an assignment do not change what capture recorded."""
    with capture(THIS, "accumulate", watch=["acc"], locals=["acc"]) as seen:
        accumulate()
    call = seen.calls[0]
    assert ([v.tolist() for _, v in call.watched], call.named["acc"].tolist()) == (
        [[0.0, 0.0], [2.0, 2.0]], [7.0, 7.0])


def test_call_records_instance_args_kwargs_result():
    """Call exposes the instance, args, kwargs and result of each call."""
    class Scaler:
        def scale(self, x, *, by):
            return x * by

    scaler = Scaler()
    with capture(Scaler, "scale") as seen:
        scaler.scale(3, by=4)
    call = seen.calls[0]
    assert (call.instance, call.args, call.kwargs, call.result, call.exception) == (
        scaler, (3,), {"by": 4}, 12, None)


def test_exception_is_recorded_with_locals_and_tracer_restored():
    """A raising call records the exception and the locals at that point; no tracer remains."""
    with capture(THIS, "fails", locals=["before"]) as seen:
        with pytest.raises(ValueError, match="bad 6"):
            fails(3)
    call = seen.calls[0]
    assert (type(call.exception), call.named, sys.gettrace()) == (ValueError, {"before": 6}, None)


def test_missing_local_warns_and_keeps_the_others():
    """A requested local never bound is reported by TraceWarning; the others are recorded."""
    with capture(THIS, "maybe_bound", locals=["late", "always"]) as seen:
        with pytest.warns(TraceWarning, match=r"local 'late' of .*maybe_bound was not bound when it "
                                              r"returned; 'late' not emitted"):
            maybe_bound(False)
    assert seen.calls[0].named == {"always": 2}


def test_unknown_local_name_is_rejected_with_the_known_ones():
    """A name that is not a local of the function raises ValueError listing its locals."""
    with pytest.raises(ValueError, match=r"local 'z' is not a local variable of "
                                         r"tests.tracehooks.test_capture.helper \(defined at "
                                         r".*test_capture.py:\d+\); its locals are: x, y$"):
        capture(THIS, "helper", locals=["z"]).start()


def test_builtin_cannot_capture_locals():
    """Capturing locals of a C function raises TypeError."""
    import math

    with pytest.raises(TypeError, match=r"cannot capture locals of math.floor: it is not a Python"):
        capture(math, "floor", locals=["x"]).start()


def test_generator_is_rejected():
    """Generator functions cannot have their locals captured."""
    def gen():
        item = 1
        yield item

    holder = type("Holder", (), {"gen": staticmethod(gen)})
    with pytest.raises(TypeError, match=r"generators and coroutines are not supported"):
        capture(holder, "gen", locals=["item"]).start()


def test_tracer_state_identical_before_and_after():
    """sys.gettrace() is the same object before and after capturing (none installed here)."""
    before = sys.gettrace()
    with capture(THIS, "pixel", watch=["pix0"], locals=["Fclose"]):
        pixel(1.0)
        during = sys.gettrace()
    assert (before, during, sys.gettrace()) == (None, None, None)


def _recording_tracer(events: list[tuple[str, str]]):
    names = {"uses_helper", "helper"}

    def tracer(frame, event, arg):
        if frame.f_code.co_name not in names:
            return None
        events.append((frame.f_code.co_name, event))

        def local(frame, event, arg):
            events.append((frame.f_code.co_name, event))
            return local

        return local

    return tracer


def _run_under(tracer, function):
    sys.settrace(tracer)
    try:
        return function()
    finally:
        sys.settrace(None)


def test_pre_installed_tracer_still_sees_all_its_events():
    """A tracer installed before (like coverage or pdb) gets exactly the events it got alone."""
    alone: list[tuple[str, str]] = []
    _run_under(_recording_tracer(alone), lambda: uses_helper(1))
    chained: list[tuple[str, str]] = []
    tracer = _recording_tracer(chained)
    with capture(THIS, "uses_helper", watch=["z"]) as seen:
        result = _run_under(tracer, lambda: uses_helper(1))
    assert (chained, seen.calls[0].watched, result) == (alone, [("z", 2), ("z", 3)], 3)
    assert ("helper", "line") in chained


def test_direct_recursion_captures_only_the_outer_frame():
    """Recursive frames of the same code (not via the patched name) are not mixed in."""
    with capture(THIS, "factorial", watch=["result"]) as seen:
        assert factorial(4) == 24
    assert (len(seen.calls), seen.calls[0].watched) == (1, [("result", 1), ("result", 24)])


def test_recursion_through_the_patched_name_captures_each_frame():
    """Each recursive call through the patched global is its own Call, with its own locals."""
    with capture(THIS, "countdown", watch=["total"], locals=["total"]) as seen:
        assert countdown(2) == 3.0
    assert [(c.args, c.watched, c.named) for c in seen.calls] == [
        ((0,), [("total", 0.0)], {"total": 0.0}),
        ((1,), [("total", 1.0), ("total", 1.0)], {"total": 1.0}),
        ((2,), [("total", 2.0), ("total", 3.0)], {"total": 3.0}),
    ]


def test_nested_captures_of_one_target_both_see_the_frame():
    """Two captures on the same function both record the same watched values."""
    with capture(THIS, "helper", watch=["y"]) as outer, capture(THIS, "helper", watch=["y"]) as inner:
        helper(1)
    assert (outer.calls[0].watched, inner.calls[0].watched) == ([("y", 2)], [("y", 2)])


def test_capture_of_requires_grad_tensor_is_detached_copy(torch):
    """A captured tensor is a detached copy of the one the function held."""
    def make(x):
        y = x * 2
        return y

    holder = type("Holder", (), {"make": staticmethod(make)})
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    with capture(holder, "make", watch=["y"]) as seen:
        result = holder.make(x)
    copied = seen.calls[0].watched[0][1]
    assert (copied.tolist(), copied.requires_grad, copied is result) == ([2.0, 4.0], False, False)


def test_trace_streams_watch_then_locals_then_emit():
    """trace() prints watched values as assigned, then locals, then emit entries."""
    lines: list[str] = []
    with trace(THIS, "pixel", watch={"pix0": ["p0", "p1", "p2"]}, locals={"F": "Fclose"},
               emit={"result": lambda call: call.result}, sink=lines, style="equals"):
        pixel(1.0)
    assert lines == ["TRACE_PY:p0=0.1 0.2", "TRACE_PY:p1=0.1 0.2",
                     "TRACE_PY:p2=0.317742295 0.417742295", "TRACE_PY:F=0.217742295",
                     "TRACE_PY:result=0.217742295"]


@needs_settrace_backend
def test_settrace_backend_gives_no_line_events_to_other_frames():
    """On 3.11 only the traced frame gets a local tracer; helper frames get none."""
    local_tracers: list[str] = []

    def probe(x):
        local_tracers.append(repr(sys._getframe().f_trace))
        return x

    holder = type("Holder", (), {"probe": staticmethod(probe)})

    def caller(x):
        w = holder.probe(x)
        return w

    holder.caller = staticmethod(caller)
    with capture(holder, "caller", watch=["w"]) as seen:
        holder.caller(1)
    assert (local_tracers, seen.calls[0].watched) == (["None"], [("w", 1)])


@needs_monitoring
def test_monitoring_tool_ids_and_events_are_left_as_found():
    """On 3.12+ the tool id is claimed during the block only, and no local events remain."""
    monitoring = sys.monitoring
    tools_before = [monitoring.get_tool(i) for i in range(6)]
    with capture(THIS, "pixel", watch=["pix0"]) as seen:
        pixel(1.0)
        tools_during = [monitoring.get_tool(i) for i in range(6)]
    tools_after = [monitoring.get_tool(i) for i in range(6)]
    local_events = [monitoring.get_local_events(i, pixel.__code__) for i in range(6)]
    assert ("tracehooks" in tools_during, tools_after, local_events, len(seen.calls[0].watched)) == (
        True, tools_before, [0] * 6, 3)


@needs_monitoring
def test_monitoring_coexists_with_another_tool():
    """A tool already watching LINE events of the same code keeps receiving them."""
    monitoring = sys.monitoring
    events = monitoring.events
    lines: list[int] = []
    monitoring.use_tool_id(3, "other")
    try:
        monitoring.register_callback(3, events.LINE, lambda code, line: lines.append(line))
        monitoring.set_local_events(3, helper.__code__, events.LINE)
        helper(1)
        alone = list(lines)
        lines.clear()
        with capture(THIS, "helper", watch=["y"]) as seen:
            helper(1)
        assert (lines, seen.calls[0].watched, monitoring.get_tool(3)) == (alone, [("y", 2)], "other")
    finally:
        monitoring.set_local_events(3, helper.__code__, 0)
        monitoring.register_callback(3, events.LINE, None)
        monitoring.free_tool_id(3)


@needs_monitoring
def test_no_free_tool_id_fails_at_start_and_patches_nothing():
    """With all six tool ids taken, start() raises RuntimeError and the target stays as it was."""
    monitoring = sys.monitoring
    original = vars(THIS)["helper"]
    blocked = [i for i in range(6) if monitoring.get_tool(i) is None]
    for tool in blocked:
        monitoring.use_tool_id(tool, "blocker")
    try:
        with pytest.raises(RuntimeError, match=r"no free sys.monitoring tool id for tracehooks"):
            capture(THIS, "helper", locals=["y"]).start()
        assert vars(THIS)["helper"] is original
    finally:
        for tool in blocked:
            monitoring.free_tool_id(tool)


@needs_monitoring
def test_traced_without_free_tool_id_runs_untraced_with_a_warning():
    """A @traced call that cannot claim a tool id warns and still returns its result."""
    from tracehooks import enabled, traced

    lines: list[str] = []
    watched = traced(locals=["y"], sink=lines)(helper)
    monitoring = sys.monitoring
    blocked = [i for i in range(6) if monitoring.get_tool(i) is None]
    for tool in blocked:
        monitoring.use_tool_id(tool, "blocker")
    try:
        with enabled(), pytest.warns(TraceWarning, match=r"helper runs untraced: no free"):
            assert watched(1) == 2
    finally:
        for tool in blocked:
            monitoring.free_tool_id(tool)
    assert lines == []
