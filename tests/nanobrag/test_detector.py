"""Detector geometry against the C reference, and its API guarantees."""

import math

import numpy as np
import pytest
import torch

from nanobrag_torch.cli import parse_args
from nanobrag_torch.config import DetectorConfig, DetectorConvention, DetectorPivot
from nanobrag_torch.geometry import dot3
from nanobrag_torch.models.detector import Detector, nanobrag_odet_vector

from .reference import ReferenceCase, assert_close_to_c, case_names, run_folder

GEOMETRY_CASES = case_names("geom_") + ["seed_supervisor_pix0"]


@pytest.fixture(autouse=True)
def _in_run_folder(tmp_path, monkeypatch):
    """Parse where the case's ../inputs paths resolve and no Fdump.bin lies."""
    monkeypatch.chdir(run_folder(tmp_path))


def detector_for(case: ReferenceCase, **kwargs) -> Detector:
    return Detector(parse_args(case.argv).simulation.detector, **kwargs)


@pytest.mark.parametrize("name", GEOMETRY_CASES)
def test_axes_and_pix0_match_c(name):
    """DETECTOR_PIX0_VECTOR and the three axes agree with the C to the printed digits."""
    case = ReferenceCase(name)
    det = detector_for(case)
    for label, value in (("DETECTOR_PIX0_VECTOR", det.pix0_vector), ("DETECTOR_FAST_AXIS", det.fdet_vec),
                         ("DETECTOR_SLOW_AXIS", det.sdet_vec), ("DETECTOR_NORMAL_AXIS", det.odet_vec)):
        assert_close_to_c(value, case.numbers(label), what=f"{name} {label}")


@pytest.mark.parametrize("name", GEOMETRY_CASES + ["phys_point_pixel_curved_det"])
def test_traced_pixel_geometry_matches_c(name):
    """Pixel position, distance, solid angle and obliquity of the traced pixel agree with the C."""
    case = ReferenceCase(name)
    det = detector_for(case)
    slow, fast = case.meta["trace_pixel"]
    fast_m = det.subpixel_coordinates_m(torch.tensor([fast]), 1)[0, 0]
    slow_m = det.subpixel_coordinates_m(torch.tensor([slow]), 1)[0, 0]
    position = det.positions_m(fast_m, slow_m)
    assert_close_to_c(position, case.numbers("pixel_pos_meters"), what="pixel_pos_meters")
    assert_close_to_c(torch.sqrt(dot3(position, position)), case.numbers("R_distance_meters"), what="R")
    assert_close_to_c(det.solid_angle_sr(position), case.numbers("omega_pixel_sr"), what="omega")
    assert_close_to_c(det.obliquity(position), case.numbers("obliquity_factor"), what="obliquity")
    assert_close_to_c(det.close_distance_m, case.numbers("close_distance_meters"), what="close distance")


def test_pixel_positions_cover_the_detector():
    """pixel_positions_m is (slow, fast, 3) and steps by one pixel along each axis."""
    det = Detector(DetectorConfig(fpixels=6, spixels=4))
    positions = det.pixel_positions_m()
    assert positions.shape == (4, 6, 3)
    torch.testing.assert_close(positions[0, 1] - positions[0, 0], det.fdet_vec * 1e-4, rtol=0, atol=1e-18)
    torch.testing.assert_close(positions[1, 0] - positions[0, 0], det.sdet_vec * 1e-4, rtol=0, atol=1e-18)


def test_pix0_override_is_honoured_by_the_api():
    """DetectorConfig.pix0_override_m places the origin; axes are unaffected."""
    base = DetectorConfig(fpixels=8, spixels=8, rotz_deg=5.0)
    override = (0.11, 0.002, -0.003)
    det = Detector(DetectorConfig(fpixels=8, spixels=8, rotz_deg=5.0, pix0_override_m=override))
    plain = Detector(base)
    assert det.pix0_vector.tolist() == list(override)
    assert torch.equal(det.fdet_vec, plain.fdet_vec)
    assert math.isclose(float(det.close_distance_m), float(dot3(det.pix0_vector, det.odet_vec)), rel_tol=0)


def test_custom_vectors_require_custom_convention():
    """Axis vectors given with a non-CUSTOM convention are an error naming the field."""
    with pytest.raises(ValueError, match="fdet_vector is only honoured with convention CUSTOM"):
        DetectorConfig(convention=DetectorConvention.MOSFLM, fdet_vector=(1, 0, 0))


@pytest.mark.parametrize("convention,pivot", [
    (DetectorConvention.MOSFLM, DetectorPivot.BEAM), (DetectorConvention.ADXV, DetectorPivot.BEAM),
    (DetectorConvention.DENZO, DetectorPivot.BEAM), (DetectorConvention.XDS, DetectorPivot.SAMPLE),
    (DetectorConvention.DIALS, DetectorPivot.SAMPLE), (DetectorConvention.CUSTOM, DetectorPivot.BEAM)])
def test_each_convention_has_its_pivot(convention, pivot):
    """Without an explicit pivot, each convention uses nanoBragg's."""
    assert DetectorConfig(convention=convention).effective_pivot() is pivot


@pytest.mark.parametrize("pivot", [DetectorPivot.BEAM, DetectorPivot.SAMPLE])
def test_untilted_detector_is_at_distance(pivot):
    """With no rotation both pivots put the detector plane at the requested distance."""
    det = Detector(DetectorConfig(convention=DetectorConvention.CUSTOM, pivot=pivot, distance_mm=123.0,
                                  fpixels=16, spixels=16))
    assert float(det.close_distance_m) == pytest.approx(0.123, rel=1e-15)
    assert float(det.distance_m) == pytest.approx(0.123, rel=1e-15)


def beam_spot_fs(det):
    """Where the beam line meets the detector plane, in fast/slow metres from the origin."""
    along = dot3(det.pix0_vector, det.odet_vec) / dot3(det.beam_vector, det.odet_vec)
    hit = along * det.beam_vector - det.pix0_vector
    return float(dot3(hit, det.fdet_vec)), float(dot3(hit, det.sdet_vec))


def test_beam_pivot_keeps_the_beam_spot_when_rotating():
    """BEAM pivot: rotating the detector (two-theta included) leaves the beam spot where it was."""
    config = dict(fpixels=64, spixels=64, xbeam_mm=3.0, ybeam_mm=4.0)
    flat = beam_spot_fs(Detector(DetectorConfig(**config)))
    tilted = beam_spot_fs(Detector(DetectorConfig(roty_deg=7.0, rotz_deg=-3.0, twotheta_deg=12.0, **config)))
    assert tilted == pytest.approx(flat, abs=1e-15)
    assert flat == pytest.approx((0.00405, 0.00305), abs=1e-15)  # MOSFLM: fast = Ybeam+px/2, slow = Xbeam+px/2


def test_derived_beam_position_ignores_twotheta_like_the_c():
    """nanoBragg re-derives the beam spot with a ratio that excludes two-theta (quirk 8), so with two-theta
    its Fbeam/distance differ from the true beam spot; without two-theta they agree."""
    config = dict(fpixels=64, spixels=64, xbeam_mm=3.0, ybeam_mm=4.0, roty_deg=7.0)
    det = Detector(DetectorConfig(**config))
    assert (float(det.beam_fast_m), float(det.beam_slow_m)) == pytest.approx(beam_spot_fs(det), abs=1e-15)
    swung = Detector(DetectorConfig(twotheta_deg=12.0, **config))
    assert abs(float(swung.beam_fast_m) - beam_spot_fs(swung)[0]) > 1e-4


def test_sample_pivot_keeps_the_close_distance_when_rotating():
    """SAMPLE pivot: detector rotations (not two-theta's swing of the distance) keep the close distance."""
    config = dict(convention=DetectorConvention.XDS, close_distance_mm=110.0, orgx_px=20.5, orgy_px=30.0,
                  fpixels=64, spixels=64)
    flat = Detector(DetectorConfig(**config))
    tilted = Detector(DetectorConfig(rotx_deg=4.0, roty_deg=-6.0, twotheta_deg=20.0, **config))
    assert float(tilted.close_distance_m) == pytest.approx(float(flat.close_distance_m), rel=1e-14)
    assert float(tilted.near_fast_m) == pytest.approx(float(flat.near_fast_m), abs=1e-15)


def test_nanobrag_odet_rule():
    """A normal whose length is exactly 1 is kept; any other is replaced by unit(fdet x sdet)."""
    kept, replaced = nanobrag_odet_vector((0, 0, 1), (0, -1, 0), (1.0, 0.0, 0.0))
    assert (kept, replaced) == ((1.0, 0.0, 0.0), False)
    derived, replaced = nanobrag_odet_vector((0, 0, 2), (0, -3, 0), (0.999, 0.0, 0.0))
    assert (derived, replaced) == ((1.0, 0.0, 0.0), True)


def test_twotheta_axis_is_normalised_unless_c_compat():
    """A non-unit two-theta axis scales vectors in nanoBragg (quirk 10); the default normalises it."""
    config = DetectorConfig(convention=DetectorConvention.CUSTOM, twotheta_axis=(0, 0, -2), twotheta_deg=10.0,
                            fpixels=8, spixels=8)
    assert float(torch.linalg.norm(Detector(config).fdet_vec)) == pytest.approx(1.0, rel=1e-15)
    c_like = Detector(config, c_compat=True)
    assert float(c_like.fdet_vec[2]) == pytest.approx(1.04557674096338, rel=1e-14)  # golden README quirk 10


@pytest.mark.parametrize("c_compat,expected_step_um", [(False, 100 / 3), (True, 50.0)])
def test_sensor_layers(c_compat, expected_step_um):
    """N requested layers split the sensor in N (nanoBragg: spaced thick/(N-1), quirk 18a)."""
    det = Detector(DetectorConfig(thickness_um=100.0, thicksteps=3, fpixels=4, spixels=4), c_compat=c_compat)
    assert det.thicksteps == 3
    assert det.thickstep_m == pytest.approx(expected_step_um * 1e-6, rel=1e-15)


def test_capture_fractions_add_up_to_the_absorbed_fraction():
    """Layers covering the sensor absorb 1 - exp(-thickness * mu / cos) of the photons in total."""
    det = Detector(DetectorConfig(thickness_um=100.0, attenuation_depth_um=50.0, thicksteps=4,
                                  fpixels=4, spixels=4))
    ray = det.odet_vec * 0.8 + det.fdet_vec * 0.6
    total = sum(det.capture_fraction(ray, layer) for layer in range(det.thicksteps))
    assert float(total) == pytest.approx(1 - math.exp(-100e-6 / 50e-6 / 0.8), rel=1e-13)


def test_float32_and_float64_agree():
    """The same geometry in float32 agrees with float64 to float32 precision."""
    config = DetectorConfig(fpixels=32, spixels=32, rotx_deg=3.0, twotheta_deg=8.0)
    wide = Detector(config).pixel_positions_m()
    narrow = Detector(config, dtype=torch.float32).pixel_positions_m()
    assert narrow.dtype == torch.float32
    np.testing.assert_allclose(narrow.numpy(), wide.numpy(), rtol=0, atol=1e-8)


@pytest.mark.parametrize("pivot", [DetectorPivot.BEAM, DetectorPivot.SAMPLE])
def test_pixel_positions_are_differentiable(pivot):
    """Gradients flow from pixel positions to distance, beam centre, rotations and two-theta."""
    def positions(distance, xbeam, ybeam, rotx, roty, rotz, twotheta):
        config = DetectorConfig(convention=DetectorConvention.CUSTOM, pivot=pivot, distance_mm=distance,
                                xbeam_mm=xbeam, ybeam_mm=ybeam, rotx_deg=rotx, roty_deg=roty, rotz_deg=rotz,
                                twotheta_deg=twotheta, fpixels=3, spixels=2)
        det = Detector(config)
        return det.solid_angle_sr(det.pixel_positions_m()), det.pixel_positions_m()

    inputs = [torch.tensor(v, dtype=torch.float64, requires_grad=True)
              for v in (100.0, 0.2, 0.15, 1.5, -2.0, 3.0, 10.0)]
    assert torch.autograd.gradcheck(positions, inputs)


def test_seed_pix0_offset_comes_from_the_pivot_not_the_port(tmp_path, monkeypatch):
    """The seed command's -pix0_vector_mm is 1.146 mm from the C's pix0: the C ignores it and, because the
    trailing '-twotheta 0' selects the SAMPLE pivot, takes -Xbeam/-Ybeam as the near point. With the BEAM
    pivot the same command puts pix0 within 4 um of the given vector."""
    import dataclasses

    case = ReferenceCase("seed_supervisor_pix0")
    config = parse_args(case.argv).simulation.detector
    given = np.array([-216.336293, 215.205512, -230.200866]) / 1000
    sample = Detector(config).pix0_vector.numpy()
    assert config.effective_pivot() is DetectorPivot.SAMPLE
    assert np.linalg.norm(sample - given) == pytest.approx(1.146e-3, abs=1e-6)
    assert_close_to_c(sample, case.numbers("DETECTOR_PIX0_VECTOR"))
    beam = Detector(dataclasses.replace(config, pivot=DetectorPivot.BEAM)).pix0_vector.numpy()
    assert np.linalg.norm(beam - given) < 4e-6


def test_per_pixel_solid_angle_and_obliquity():
    """Without positions, solid angle and obliquity are per pixel (slow, fast), largest at the near point."""
    det = Detector(DetectorConfig(fpixels=9, spixels=7, roty_deg=4.0))
    omega, cosine = det.solid_angle_sr(), det.obliquity()
    assert omega.shape == cosine.shape == (7, 9)
    torch.testing.assert_close(omega, det.solid_angle_sr(det.pixel_positions_m()), rtol=0, atol=0)
    assert float(cosine.max()) <= 1.0 and float(cosine.min()) > 0.99
