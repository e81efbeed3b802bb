"""nanobrag_torch's registered trace specs: a bare trace of the detector's computations and of the simulator's
stages prints the C's names."""

import sys

import pytest
import torch

import tracehooks
from nanobrag_torch.cli import parse_args
from nanobrag_torch.models.detector import Detector
from nanobrag_torch.simulator import Simulator
from nanobrag_torch.trace import QUIRKS_PATH, tap_pixel, trace_run
from nanobrag_torch.trace import _pixel
from nanobrag_torch.trace._pixel_specs import STAGES, stage_spec
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


@pytest.fixture
def entry_point(tmp_path, monkeypatch):
    """nanobrag_torch's tracehooks.specs entry point installed, and no spec registered yet."""
    dist = tmp_path / "nanobrag_torch_specs-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: nanobrag_torch_specs\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[tracehooks.specs]\nnanobrag_torch = nanobrag_torch.trace._specs:register\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    forget_loaded_entry_points()
    assert tracehooks.get_spec(Detector, "_calculate_pix0_vector", load=False) is None
    assert tracehooks.get_spec(Simulator, "_lattice_factor", load=False) is None
    yield
    register()()  # the same spec objects: removes what the entry point registered
    forget_loaded_entry_points()


def test_entry_point_registers_nanobrag_specs(entry_point):
    """With the tracehooks.specs entry point installed, a bare trace finds nanobrag_torch's spec by itself,
    and the simulator's stages are registered with the detector's."""
    lines, _ = bare_detector_lines(ReferenceCase("seed_supervisor_pix0"))
    assert lines[0] == "TRACE_PY:fdet_after_rotz=0.999982004873912 -0.00599800002923425 -0.000118000000575132"
    assert lines[-1] == "DETECTOR_PIX0_VECTOR -0.216475836204836 0.216343050492215 -0.230192414300537"
    assert all(tracehooks.get_spec(stage.owner, stage.method, load=False) is not None for stage in STAGES)


def test_entry_point_registers_the_stages_for_a_bare_trace_of_a_stage(entry_point):
    """A bare trace of a simulator stage loads the entry point by itself and prints the C's names."""
    simulator, pixel = stage_simulator("_scale")
    lines = []
    with tracehooks.trace(Simulator, "_scale", sink=lines):
        simulator.render_pixels(*pixel_tensors(pixel))
    assert lines == stage_lines(tap_pixel(simulator, *pixel).lines, lines)
    assert tracehooks.get_spec(Detector, "_rotate_axes", load=False) is not None


# -- the simulator's stages -------------------------------------------------------------------------------

# A small run with three spindle steps (PHI records) and the C's names everywhere; -c_compat at the run's
# first pixel is where the C's phi = 0 carry-over makes the first evaluation see the unrotated cell.
STAGE_FLAGS = ("-cell 100 100 100 90 90 90 -misset 5 10 15 -default_F 100 -N 5 -lambda 1 -distance 100 "
               "-pixel 0.1 -detpixels 16 -oversample 1 -osc 3 -phisteps 3")
# The stages the harness taps, by the name tracehooks keys them on.
TAPPED = ("Simulator._subpixel_positions", "Simulator._detector_factors", "Simulator._scattering_vectors",
          "Simulator._polarization", "Simulator._miller_indices", "Simulator._first_evaluation_unrotated",
          "Simulator._lattice_factor", "Crystal.structure_factor", "Simulator._structure_factor",
          "Simulator._scale")


def stage_simulator(method):
    """The simulator and pixel on which ``method`` runs and shows what it computes."""
    config = parse_args(STAGE_FLAGS.split()).simulation
    if method == "_first_evaluation_unrotated":
        config.c_compat = True
        return Simulator.from_config(config), (0, 0)
    return Simulator.from_config(config), (5, 9)


def pixel_tensors(*pixels):
    return torch.tensor([slow for slow, _ in pixels]), torch.tensor([fast for _, fast in pixels])


def line_name(line):
    """The name of a line of the pixel block's main channel or a PHI record; None for a SOURCE2 line."""
    if line.startswith("TRACE_PY: "):
        return line.split()[1]
    return "PHI" if line.startswith("TRACE_PY_PHI ") else None


def stage_lines(pixel_lines, bare_lines):
    """The lines of a whole pixel trace that carry the names a bare trace printed, in order."""
    names = {line_name(line) for line in bare_lines}
    return [line for line in pixel_lines if line_name(line) in names]


@pytest.mark.parametrize("stage", STAGES, ids=[stage.method for stage in STAGES])
def test_bare_trace_of_a_stage_prints_its_lines_of_the_pixel_trace(stage, specs):
    """A bare trace of each stage around a one-pixel render prints exactly the lines (names and values) the
    whole pixel trace prints under those names: the harness and the specs share one home for the names."""
    simulator, pixel = stage_simulator(stage.method)
    bare = []
    with tracehooks.trace(stage.owner, stage.method, sink=bare):
        simulator.render_pixels(*pixel_tensors(pixel))
    assert bare and None not in map(line_name, bare)
    assert bare == stage_lines(tap_pixel(simulator, *pixel).lines, bare)


def test_registered_specs_cover_every_stage_the_harness_taps(specs, monkeypatch):
    """Every stage tap_pixel captures has a registered spec with a block (the C's names, not raw locals)."""
    tapped, original = [], tracehooks.capture

    def capture(owner, method, **options):
        tapped.append(f"{owner.__name__}.{method}")
        return original(owner, method, **options)

    monkeypatch.setattr(_pixel.tracehooks, "capture", capture)
    simulator, pixel = stage_simulator("_scale")
    tap_pixel(simulator, *pixel)
    assert tuple(tapped) == TAPPED
    for stage in STAGES:
        assert tracehooks.get_spec(stage.owner, stage.method, load=False).block is not None


def test_a_stage_spec_prints_another_pixel_of_the_batch(specs):
    """stage_spec(at=...) prints the chosen pixel of a batch: the lines its own trace has."""
    simulator, first = stage_simulator("_scale")
    second = (7, 2)
    stage = next(stage for stage in STAGES if stage.method == "_lattice_factor")
    undo = tracehooks.register_spec(Simulator, stage.method, stage_spec(stage, at=(1, 0, 0, 0)))
    bare = []
    try:
        with tracehooks.trace(Simulator, stage.method, sink=bare):
            simulator.render_pixels(*pixel_tensors(first, second))
    finally:
        undo()
    assert bare == stage_lines(tap_pixel(simulator, *second).lines, bare)


@pytest.mark.parametrize("index", [1, (1,), (1, 0, 0, 0)])
def test_index_of_a_bare_stage_trace_picks_the_pixel_of_the_batch(index, specs):
    """trace(..., index=) of a stage picks the pixel (evaluation) of the batch: the lines of that pixel's own
    trace, not one component of each of the first pixel's vectors."""
    simulator, first = stage_simulator("_scale")
    second = (7, 2)
    for method in ("_detector_factors", "_lattice_factor"):
        stage = next(stage for stage in STAGES if stage.method == method)
        bare = []
        with tracehooks.trace(Simulator, method, index=index, sink=bare):
            simulator.render_pixels(*pixel_tensors(first, second))
        assert bare and bare == stage_lines(tap_pixel(simulator, *second).lines, bare)


def test_a_stage_trace_refuses_a_per_name_index(specs):
    """A mapping of indices has no meaning for a block that prints one evaluation: the trace switches off
    with a warning naming what it takes."""
    simulator, pixel = stage_simulator("_scale")
    with pytest.warns(tracehooks.TraceWarning, match=r"takes index=pixel or a tuple of at most 4 ints"):
        with tracehooks.trace(Simulator, "_scale", index={"I_pixel_final": 0}, sink=[]):
            simulator.render_pixels(*pixel_tensors(pixel))
