"""Beam model (sources, wavelengths, fluence, polarization axes, water background) against the C reference."""

import re

import numpy as np
import pytest
import torch

from nanobrag_torch.cli import parse_args
from nanobrag_torch.config import BeamConfig, SourcePoint
from nanobrag_torch.models.beam import Beam
from nanobrag_torch.models.conventions import CONVENTION_AXES
from nanobrag_torch.models.detector import Detector

from .reference import ReferenceCase, assert_close_to_c, run_folder

F64 = torch.float64
MOSFLM_BEAM = torch.tensor([1.0, 0.0, 0.0], dtype=F64)
MOSFLM_POLAR = (0.0, 0.0, 1.0)
DISPERSION_CASE = "phys_divergence_dispersion"


@pytest.fixture(autouse=True)
def _in_run_folder(tmp_path, monkeypatch):
    """Parse where the case's ../inputs paths resolve and no Fdump.bin lies."""
    monkeypatch.chdir(run_folder(tmp_path))


def beam_for(name):
    """The Beam of a reference case, from its own command line and detector."""
    simulation = parse_args(ReferenceCase(name).argv).simulation
    detector = Detector(simulation.detector)
    polar = CONVENTION_AXES[simulation.detector.convention].polarization
    return Beam(simulation.beam, direction=detector.beam_vector, polarization_axis_default=polar)


def mosflm_beam(**fields):
    return Beam(BeamConfig(**fields), direction=MOSFLM_BEAM, polarization_axis_default=MOSFLM_POLAR)


def stdout_of(name):
    return (ReferenceCase(name).folder / "stdout.log").read_text()


def printed_sources(name):
    """The 'X Y Z   I lambda' lines the C prints under 'created a total of N sources:'."""
    log = stdout_of(name)
    count = int(re.search(r"created a total of (\d+) sources:", log).group(1))
    block = log.split("sources:\n", 1)[1].splitlines()
    return block[:count]


# -- the divergence x dispersion case ---------------------------------------------------------------------


def test_divergence_points_match_c():
    """The elliptical cut keeps the same five (hdiv, vdiv) points, in the C's order and printed form."""
    beam = beam_for(DISPERSION_CASE)
    printed = re.findall(r"divergence deviation: (\S+ \S+)", stdout_of(DISPERSION_CASE))
    assert ["%g %g" % (h, v) for h, v in beam.divergence_rad.tolist()] == printed
    assert beam.divsteps == 5


def test_wavelengths_match_c():
    """The dispersion sweep gives the C's 'lambdaN = ...' values (printed %.15g) for every direction."""
    beam = beam_for(DISPERSION_CASE)
    printed = re.findall(r"lambda\d+ = (\S+)", stdout_of(DISPERSION_CASE))
    sweep = beam.source_wavelengths_m.reshape(beam.divsteps, beam.dispsteps)
    assert all(["%.15g" % x for x in row.tolist()] == printed for row in sweep)


def test_source_table_matches_c():
    """Positions, weights and wavelengths of all 15 sources print as the C's source table."""
    beam = beam_for(DISPERSION_CASE)
    rows = zip(beam.source_positions_m.tolist(), beam.source_weights.tolist(), beam.source_wavelengths_m.tolist())
    ours = ["%g %g %g   %g %g" % (x, y, z, weight, wavelength) for (x, y, z), weight, wavelength in rows]
    assert ours == printed_sources(DISPERSION_CASE)


def test_first_incident_vector_matches_trace():
    """incident_unit of source 0 is the traced incident_vec (-unit(source position))."""
    beam = beam_for(DISPERSION_CASE)
    assert_close_to_c(beam.incident_unit[0], ReferenceCase(DISPERSION_CASE).numbers("incident_vec"))


def test_weights_are_one_over_the_number_of_sources():
    """Generated sources all weigh 1/sources (1/15 here)."""
    beam = beam_for(DISPERSION_CASE)
    assert beam.source_weights.tolist() == [1.0 / 15] * 15


def test_polarization_plane_normal_matches_c():
    """vertical_axis is unit(beam x E-vector), which the C prints as POLARIZATION_PLANE_NORMAL."""
    beam = beam_for(DISPERSION_CASE)
    printed = re.search(r"POLARIZATION_PLANE_NORMAL= (.*)", stdout_of(DISPERSION_CASE)).group(1)
    assert "%g %g %g" % tuple(beam.vertical_axis.tolist()) == printed


# -- grid rules -------------------------------------------------------------------------------------------


def test_range_with_step_size_gives_ceil_points_not_a_symmetric_grid():
    """-hdivrange 1 -hdivstep 0.5 gives 2 points, -0.5 and 0 mrad (quirk 25)."""
    beam = mosflm_beam(hdivrange_mrad=1.0, hdivstep_mrad=0.5)
    assert ["%g %g" % (h, v) for h, v in beam.divergence_rad.tolist()] == ["-0.0005 0", "0 0"]


def test_square_div_keeps_the_whole_grid():
    """round_div off keeps all 3 x 3 grid points."""
    beam = mosflm_beam(hdivrange_mrad=2.0, vdivrange_mrad=2.0, hdivsteps=3, vdivsteps=3, round_div=False)
    assert beam.divsteps == 9 and beam.n_sources == 9


@pytest.mark.parametrize("fields,expected", [
    ({}, (1, 0.0, 0.0)),
    ({"hdivrange_mrad": 2.0}, (2, 0.002, 0.002)),
    ({"hdivstep_mrad": 0.5}, (2, 0.0005, 0.0005)),
    ({"hdivsteps": 4}, (4, 1.0, 0.25)),
    ({"hdivsteps": 1, "hdivrange_mrad": 2.0}, (2, 0.002, 0.002)),
    ({"hdivsteps": 5, "hdivrange_mrad": 2.0}, (5, 0.002, 0.0005)),
    ({"hdivsteps": 3, "hdivrange_mrad": 0.0}, (1, 0.0, 0.0)),
])
def test_divergence_defaults_follow_c(fields, expected):
    """Missing divergence numbers are derived, then sanity-checked, as in nanoBragg."""
    beam = mosflm_beam(**fields)
    assert (beam.hdivsteps, beam.hdivrange_rad, beam.hdivstep_rad) == expected


@pytest.mark.parametrize("fields,expected", [
    ({}, (1, 0.0, 0.0)),
    ({"dispsteps": 3}, (1, 0.0, 0.0)),
    ({"dispersion_percent": 2.0}, (2, 0.02, 0.02)),
    ({"dispersion_percent": 2.0, "dispsteps": 5}, (5, 0.02, 0.005)),
])
def test_dispersion_defaults_follow_c(fields, expected):
    """An absent dispersion is 0 (so -dispsteps alone gives one wavelength); a range alone gives 2."""
    beam = mosflm_beam(**fields)
    assert (beam.dispsteps, beam.dispersion, beam.dispstep) == expected


# -- source files -----------------------------------------------------------------------------------------


def test_source_file_defaults_fill_missing_fields():
    """Missing position components come from 10 m up-beam, weight 1, wavelength lambda0."""
    points = (SourcePoint(x_m=-5.0, y_m=1.0), SourcePoint(z_m=2.0, weight=0.5, wavelength_m=2e-10))
    beam = mosflm_beam(wavelength_A=1.5, source_points=points)
    assert beam.source_positions_m.tolist() == [[-5.0, 1.0, -0.0], [-10.0, -0.0, 2.0]]
    assert beam.source_weights.tolist() == [1.0, 0.5]
    assert beam.source_wavelengths_m.tolist() == [1.5e-10, 2e-10]
    length = float(np.sqrt(104.0))
    assert beam.incident_unit[1].tolist() == [10.0 / length, 0.0, -2.0 / length]


def test_empty_source_list_is_rejected():
    """An empty source list is an error (the C exits), naming the field."""
    with pytest.raises(ValueError, match="source_points is empty"):
        mosflm_beam(source_points=())


# -- dose and background ----------------------------------------------------------------------------------


def test_fluence_from_flux_matches_c():
    """-flux 1e16 -exposure 0.5 -beamsize 0.1 gives the C's traced fluence."""
    beam = beam_for("phys_water_flux")
    assert beam.fluence == ReferenceCase("phys_water_flux").numbers("fluence_photons_per_m2")[0]


def test_flux_without_beam_size_is_rejected():
    """A flux with a zero beam size gives no finite fluence: ValueError says what was received."""
    with pytest.raises(ValueError, match="flux 1e\\+16 photons/s needs a positive beamsize_mm"):
        mosflm_beam(flux=1e16, beamsize_mm=0.0)


def test_water_background_matches_c():
    """phys_water_flux: I_before_scaling minus the one Bragg term is the C's water background I_bg."""
    case = ReferenceCase("phys_water_flux")
    assert case.numbers("steps")[0] == 1.0
    F_cell, F_latt = case.numbers("F_cell")[0], case.numbers("F_latt")[0]
    background = case.numbers("I_before_scaling")[0] - F_cell * F_cell * F_latt * F_latt
    # Both printed terms are ~5e7 with 15 digits (~1e-7 absolute each); I_bg ~ 2.4e7, hence 1e-13.
    assert_close_to_c(beam_for("phys_water_flux").water_background_per_sr(), background, rtol=1e-13, atol=0)


# -- gradients, dtype, device -----------------------------------------------------------------------------


def test_gradcheck_wavelength_to_source_wavelengths():
    """Source wavelengths (dispersion sweep) are differentiable in the beam wavelength."""

    def wavelengths(wavelength_A):
        beam = mosflm_beam(wavelength_A=wavelength_A, dispersion_percent=2.0, dispsteps=3)
        return beam.source_wavelengths_m * 1e10

    assert torch.autograd.gradcheck(wavelengths, (torch.tensor(1.2, dtype=F64, requires_grad=True),))


def test_gradcheck_direction_to_incident_vectors():
    """Incident directions are differentiable in the beam direction."""

    def incident(direction):
        unit = direction / direction.norm()
        return Beam(BeamConfig(hdivrange_mrad=2.0, vdivrange_mrad=2.0, hdivsteps=3, vdivsteps=3),
                    direction=unit, polarization_axis_default=MOSFLM_POLAR).incident_unit

    direction = torch.tensor([1.0, 0.01, -0.02], dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(incident, (direction,))


def test_float32_on_a_device_matches_float64():
    """dtype float32 on an explicit device gives the float64 sources to float32 precision."""
    config = parse_args(ReferenceCase(DISPERSION_CASE).argv).simulation.beam
    beam64 = Beam(config, direction=MOSFLM_BEAM, polarization_axis_default=MOSFLM_POLAR)
    beam32 = Beam(config, direction=MOSFLM_BEAM.float(), polarization_axis_default=MOSFLM_POLAR, device="cpu",
                  dtype=torch.float32)
    assert beam32.incident_unit.dtype == beam32.source_wavelengths_m.dtype == torch.float32
    assert beam32.incident_unit.device == torch.device("cpu")
    # A handful of float32 operations per component: 1e-6 relative (of the unit length) bounds them.
    np.testing.assert_allclose(beam32.incident_unit.double(), beam64.incident_unit, rtol=0, atol=1e-6)
    np.testing.assert_allclose(beam32.source_wavelengths_m.double(), beam64.source_wavelengths_m, rtol=1e-6)
