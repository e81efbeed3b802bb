"""Bare traces: every printable local then the result, or the spec a package registered for the method."""

from __future__ import annotations

import math
import sys
import textwrap

import numpy as np
import pytest

import tracehooks
from tracehooks import TraceSpec, TraceWarning, register_spec, trace
from tracehooks._specs import forget_loaded_entry_points


class Detector:
    def compute(self, distance):
        Fclose = distance * 2.177
        label = "not a number"
        pix0 = [Fclose, 0.0]
        pix0 = [-v for v in pix0]
        return Fclose


class Tilted(Detector):
    pass


@pytest.fixture
def registered():
    """Register specs for the test and remove them afterwards."""
    undos = []

    def register(owner, name, spec):
        undos.append(register_spec(owner, name, spec))

    yield register
    for undo in undos:
        undo()


def test_bare_trace_prints_printable_locals_in_order_then_the_result():
    """Without options or spec: numbers and vectors at return, in first-assignment order, then the result."""
    lines: list[str] = []
    with trace(Detector, "compute", sink=lines):
        Detector().compute(0.1)
    assert lines == ["TRACE_PY: distance 0.1", "TRACE_PY: Fclose 0.2177", "TRACE_PY: pix0 -0.2177 -0",
                     "TRACE_PY: result 0.2177"]


def test_locals_true_is_the_bare_trace_explicitly():
    """locals=True prints the same lines as a bare trace, with the options given."""
    lines: list[str] = []
    with trace(Detector, "compute", locals=True, style="equals", sink=lines):
        Detector().compute(1.0)
    assert lines == ["TRACE_PY:distance=1", "TRACE_PY:Fclose=2.177", "TRACE_PY:pix0=-2.177 -0",
                     "TRACE_PY:result=2.177"]


def test_bare_trace_of_a_builtin_prints_its_result():
    """A callable without Python code has no locals to read: the result alone."""
    lines: list[str] = []
    with trace(math, "hypot", sink=lines):
        math.hypot(3, 4)
    assert lines == ["TRACE_PY: result 5"]


def test_bare_trace_leaves_out_unprintable_values(torch):
    """Strings, objects, None and tensors of more than 2 dimensions are not printed by locals=True."""
    def work(n):
        cube = torch.zeros(2, 2, 2)
        matrix = torch.eye(2, dtype=torch.float64)
        nothing = None
        return None

    holder = type("Holder", (), {"work": staticmethod(work)})
    lines: list[str] = []
    with trace(holder, "work", sink=lines):
        holder.work(3)
    assert lines == ["TRACE_PY: n 3", "TRACE_PY: matrix [1 0; 0 1]"]


def test_registered_spec_decides_what_a_bare_trace_prints(registered):
    """register_spec(owner, name, spec): the bare trace prints the spec's names and style."""
    registered(Detector, "compute", TraceSpec(locals={"Fclose_m": "Fclose"}, style="equals",
                                              formats={"Fclose_m": "%.3e"}))
    lines: list[str] = []
    with trace(Detector, "compute", sink=lines):
        Detector().compute(0.1)
    assert lines == ["TRACE_PY:Fclose_m=2.177e-01"]


def test_explicit_output_options_win_over_the_spec(registered):
    """style= given to trace() replaces the spec's style; the spec still says what is printed."""
    registered(Detector, "compute", TraceSpec(locals={"Fclose_m": "Fclose"}, style="equals"))
    lines: list[str] = []
    with trace(Detector, "compute", style="space", prefix="TRACE_X", sink=lines):
        Detector().compute(1.0)
    assert lines == ["TRACE_X: Fclose_m 2.177"]


def test_explicit_content_options_replace_the_spec(registered):
    """locals= given to trace() replaces the spec's locals, watch, emit and block together."""
    registered(Detector, "compute", TraceSpec(locals={"Fclose_m": "Fclose"},
                                              block=lambda call: [("never", 1)], style="equals"))
    lines: list[str] = []
    with trace(Detector, "compute", locals=["pix0"], sink=lines):
        Detector().compute(1.0)
    assert lines == ["TRACE_PY:pix0=-2.177 -0"]


def test_spec_block_prints_entries_with_their_own_style(registered):
    """A block's (name, value, style) entries print in order, each in its style, from the call's locals."""
    registered(Detector, "compute", TraceSpec(
        watch={"pix0": ()}, style="equals",
        block=lambda call: [("first", call.unlabelled[0][1]), ("FINAL", call.result, "bare")]))
    lines: list[str] = []
    with trace(Detector, "compute", sink=lines):
        Detector().compute(1.0)
    assert lines == ["TRACE_PY:first=2.177 0", "FINAL 2.177"]


def test_spec_is_found_along_the_mro(registered):
    """A subclass traced bare uses the spec registered for the class that defines the method."""
    registered(Detector, "compute", TraceSpec(locals=["Fclose"]))
    lines: list[str] = []
    with trace(Tilted, "compute", sink=lines):
        Tilted().compute(1.0)
    assert lines == ["TRACE_PY: Fclose 2.177"]


def test_failing_block_switches_the_trace_off_with_a_warning(registered):
    """A block that raises does not break the traced call: a TraceWarning names the problem."""
    registered(Detector, "compute", TraceSpec(block=lambda call: [("x", 1 / 0)]))
    with pytest.warns(TraceWarning, match=r"block= callable raised ZeroDivisionError"):
        with trace(Detector, "compute", sink=[]):
            assert Detector().compute(1.0) == 2.177


def test_register_spec_rejects_what_is_not_a_spec():
    """register_spec takes a TraceSpec and says what it received."""
    with pytest.raises(TypeError, match=r"takes a tracehooks.TraceSpec, got dict"):
        register_spec(Detector, "compute", {"locals": ["Fclose"]})


def _install_distribution(tmp_path, monkeypatch, package, register_body):
    """A package and a dist-info folder declaring its tracehooks.specs entry point, on sys.path."""
    (tmp_path / package).mkdir()
    (tmp_path / package / "__init__.py").write_text(textwrap.dedent(register_body))
    dist = tmp_path / f"{package}-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        f"[tracehooks.specs]\n{package} = {package}:register\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    forget_loaded_entry_points()
    monkeypatch.setattr(sys, "dont_write_bytecode", True)


def test_entry_point_registers_specs_on_the_first_bare_trace(tmp_path, monkeypatch):
    """A tracehooks.specs entry point named after the target's package is loaded when it is traced bare."""
    _install_distribution(tmp_path, monkeypatch, "thdemo_ok", """
        import tracehooks
        LOADS = []
        def ratio(a, b):
            r = a / b
            return r
        def register():
            LOADS.append(1)
            global UNDO
            UNDO = tracehooks.register_spec(__name__, "ratio", tracehooks.TraceSpec(locals={"R": "r"}))
        """)
    import thdemo_ok

    try:
        lines: list[str] = []
        with trace(thdemo_ok, "ratio", sink=lines):
            thdemo_ok.ratio(1.0, 4.0)
        with trace(thdemo_ok, "ratio", sink=lines):
            thdemo_ok.ratio(1.0, 2.0)
        assert (lines, thdemo_ok.LOADS) == (["TRACE_PY: R 0.25", "TRACE_PY: R 0.5"], [1])
    finally:
        thdemo_ok.UNDO()
        del sys.modules["thdemo_ok"]
        forget_loaded_entry_points()


def test_entry_point_that_fails_warns_and_the_trace_prints_locals(tmp_path, monkeypatch):
    """A broken entry point gives a TraceWarning naming it; the bare trace falls back to locals=True."""
    _install_distribution(tmp_path, monkeypatch, "thdemo_broken", """
        def half(x):
            h = x / 2
            return h
        def register():
            raise RuntimeError("no specs today")
        """)
    import thdemo_broken

    try:
        lines: list[str] = []
        with pytest.warns(TraceWarning, match=r"entry point thdemo_broken = thdemo_broken:register .*"
                                              r"RuntimeError: no specs today"):
            with trace(thdemo_broken, "half", sink=lines):
                thdemo_broken.half(3)
        assert lines == ["TRACE_PY: x 3", "TRACE_PY: h 1.5", "TRACE_PY: result 1.5"]
    finally:
        del sys.modules["thdemo_broken"]
        forget_loaded_entry_points()


def test_spec_key_names_the_method_by_its_qualified_name():
    """Specs are keyed by module.Qualname.name."""
    assert tracehooks.spec_key(Detector, "compute") == f"{__name__}.Detector.compute"


def test_traced_and_capture_take_locals_true():
    """@traced(locals=True) prints every printable local and the result; capture(locals=True) keeps them."""
    lines: list[str] = []

    @tracehooks.traced(locals=True, sink=lines)
    def square(x):
        y = x * x
        return y

    with tracehooks.enabled():
        square(3)
    with tracehooks.capture(Detector, "compute", locals=True) as seen:
        Detector().compute(1.0)
    assert lines == ["TRACE_PY: x 3", "TRACE_PY: y 9", "TRACE_PY: result 9"]
    assert list(seen.calls[0].named) == ["distance", "Fclose", "pix0"]


class Batch:
    def run(self):
        rows = np.array([[1.0, 2.0], [3.0, 4.0]])
        return rows


def _first_row(call):
    return [("row", call.result[0])]


def _chosen_row(call, index=None):
    return [("row", call.result[0 if index is None else index[0]])]


@pytest.mark.parametrize("block, index, printed", [
    (_chosen_row, None, "TRACE_PY: row 1 2"),
    (_chosen_row, 1, "TRACE_PY: row 3 4"),  # the block takes index: it picks the row, printed whole
    (_first_row, 1, "TRACE_PY: row 2"),  # it does not: index applies to each value it returns
])
def test_a_block_that_takes_index_picks_the_element_itself(block, index, printed):
    undo = register_spec(Batch, "run", TraceSpec(block=block))
    lines: list[str] = []
    try:
        with trace(Batch, "run", index=index, sink=lines):
            Batch().run()
    finally:
        undo()
    assert lines == [printed]
