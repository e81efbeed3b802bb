"""Float images against the C's, for every reference case."""

import numpy as np
import pytest
import torch

from nanobrag_torch.cli import parse_args
from nanobrag_torch.simulator import Simulator

from .reference import ReferenceCase, case_names, run_folder

ALL_CASES = case_names()
# Cases whose default (corrected) physics differs from the C: c_compat reproduces the C.
C_BUG_CASES = {"phys_detector_thick_absorb", "phys_oversample3_omega_polar", "phys_water_flux",
               "seed_supervisor_pix0"}


def float32_ulps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance in float32 ulps (both arrays non-negative float32)."""
    return np.abs(a.view(np.int32).astype(np.int64) - b.view(np.int32).astype(np.int64))


def simulate(case: ReferenceCase, tmp_path, monkeypatch, *, c_compat=None):
    monkeypatch.chdir(run_folder(tmp_path))
    config = parse_args(case.argv).simulation
    if c_compat is not None:
        config.c_compat = c_compat
    simulator = Simulator.from_config(config)
    image = simulator.run().to(torch.float32).numpy()
    if "roi" in case.meta:
        offset, shape = case.meta["roi"]["offset"], case.meta["roi"]["shape"]
        image = image[offset["slow"]:offset["slow"] + shape[0], offset["fast"]:offset["fast"] + shape[1]]
    return simulator, image


@pytest.mark.parametrize("name", ALL_CASES)
def test_image_matches_c(name, tmp_path, monkeypatch):
    """Computed in float64 and rounded to float32 (as the C stores it), every pixel is within 2 float32 ulps
    of the C's and the correlation is >= 0.9999999; c_compat where a C physics bug applies."""
    case = ReferenceCase(name)
    _, image = simulate(case, tmp_path, monkeypatch, c_compat=name in C_BUG_CASES)
    reference = case.image()
    # The C and the port do the same float64 operations in the same order; the sums over sub-pixels and
    # sources are reduced in a different order, which can move the float32 rounding by one ulp.
    assert float32_ulps(image, reference).max() <= 2
    assert np.corrcoef(image.ravel(), reference.ravel())[0, 1] >= 0.9999999


@pytest.mark.parametrize("name", ALL_CASES)
def test_c_bug_cases_are_exactly_those_the_simulator_reports(name, tmp_path, monkeypatch):
    """c_compat_differences() names a C physics bug exactly for the cases where the default differs."""
    case = ReferenceCase(name)
    simulator, image = simulate(case, tmp_path, monkeypatch, c_compat=False)
    differs = float32_ulps(image, case.image()).max() > 2
    assert bool(simulator.c_compat_differences()) == (name in C_BUG_CASES) == differs


def test_float32_simulation_is_close_to_float64(tmp_path, monkeypatch):
    """dtype=float32 runs the same code and agrees with float64 to float32 accuracy."""
    monkeypatch.chdir(run_folder(tmp_path))
    config = parse_args(ReferenceCase("phys_cubic_simple").argv).simulation
    wide = Simulator.from_config(config).run()
    narrow = Simulator.from_config(config, dtype=torch.float32).run()
    assert narrow.dtype == torch.float32
    # Lattice factors amplify float32 errors in h (~1e-7 * h) near their zeros; compare at the peaks.
    peak = wide > 0.1 * wide.max()
    np.testing.assert_allclose(narrow[peak].double().numpy(), wide[peak].numpy(), rtol=1e-3)


def test_batches_do_not_change_the_image(tmp_path, monkeypatch):
    """Rendering in small batches gives the same image bit for bit."""
    monkeypatch.chdir(run_folder(tmp_path))
    config = parse_args(ReferenceCase("phys_mosaic").argv).simulation
    whole = Simulator.from_config(config).run()
    batched = Simulator.from_config(config, batch_evaluations=7 * 5).run()
    assert torch.equal(whole, batched)


def test_render_pixels_equals_the_full_image(tmp_path, monkeypatch):
    """render_pixels() of a few pixels equals those pixels of run(), in both modes."""
    monkeypatch.chdir(run_folder(tmp_path))
    config = parse_args(ReferenceCase("seed_supervisor_pix0").argv).simulation
    for c_compat in (False, True):
        config.c_compat = c_compat
        simulator = Simulator.from_config(config)
        image = simulator.run()
        slow, fast = torch.tensor([1024, 1039, 1055]), torch.tensor([670, 685, 701])
        assert torch.equal(simulator.render_pixels(slow, fast), image[slow, fast])
