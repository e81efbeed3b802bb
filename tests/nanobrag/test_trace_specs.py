"""nanobrag_torch's registered trace specs: a bare trace of the detector's computations prints the C's names."""

import sys

import pytest

import tracehooks
from nanobrag_torch.cli import parse_args
from nanobrag_torch.models.detector import Detector
from nanobrag_torch.simulator import Simulator
from nanobrag_torch.trace import QUIRKS_PATH, trace_run
from nanobrag_torch.trace._specs import register
from tracehooks._specs import forget_loaded_entry_points

from .reference import ReferenceCase

RTOL = 1e-12
# SAMPLE pivot (custom vectors, close distance) and BEAM pivot (MOSFLM beam centre).
CASES = ("seed_supervisor_pix0", "geom_mosflm_beam_xybeam")


@pytest.fixture
def specs():
    """nanobrag_torch's specs registered for one test."""
    undo = register()
    yield
    undo()


def bare_detector_lines(case):
    """The lines of bare traces of the pix0 and axes computations while the case's simulator is built."""
    config = parse_args(case.argv, base_dir=case.folder).simulation
    lines = []
    with tracehooks.trace(Detector, "_calculate_pix0_vector", sink=lines), \
            tracehooks.trace(Detector, "_rotate_axes", sink=lines):
        Simulator.from_config(config)
    return lines, config


@pytest.mark.parametrize("name", CASES)
def test_bare_trace_of_the_detector_matches_the_c_detector_block(name, specs, trace_check):
    """Bare traces of _calculate_pix0_vector and _rotate_axes print C names whose values match the C's."""
    case = ReferenceCase(name)
    config = parse_args(case.argv, base_dir=case.folder).simulation
    with trace_check.trace(Detector, "_calculate_pix0_vector"), trace_check.trace(Detector, "_rotate_axes"):
        Simulator.from_config(config)
    trace_check.against(case.folder / "trace_c.log", rtol=RTOL, quirks=QUIRKS_PATH, py_subset=True)


@pytest.mark.parametrize("name", CASES)
def test_harness_block_is_built_from_the_same_specs(name, specs):
    """Every line a bare trace prints is a line of the harness's detector block (one home for the names)."""
    case = ReferenceCase(name)
    lines, config = bare_detector_lines(case)
    assert set(lines) <= set(trace_run(config).detector_lines)


def test_entry_point_registers_nanobrag_specs(tmp_path, monkeypatch):
    """With the tracehooks.specs entry point installed, a bare trace finds nanobrag_torch's spec by itself."""
    dist = tmp_path / "nanobrag_torch_specs-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: nanobrag_torch_specs\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[tracehooks.specs]\nnanobrag_torch = nanobrag_torch.trace._specs:register\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    forget_loaded_entry_points()
    try:
        assert tracehooks.get_spec(Detector, "_calculate_pix0_vector", load=False) is None
        lines, _ = bare_detector_lines(ReferenceCase("seed_supervisor_pix0"))
        assert lines[0] == "TRACE_PY:fdet_after_rotz=0.999982004873912 -0.00599800002923425 -0.000118000000575132"
        assert lines[-1] == "DETECTOR_PIX0_VECTOR -0.216475836204836 0.216343050492215 -0.230192414300537"
    finally:
        register()()  # the same spec objects: removes what the entry point registered
        forget_loaded_entry_points()
