"""Crystal model (cell, misset, spindle, mosaic, size, structure factors) against the C reference."""

import math
import re

import numpy as np
import pytest
import torch

from nanobrag_torch import units
from nanobrag_torch.cli import parse_args
from nanobrag_torch.config import CrystalConfig
from nanobrag_torch.geometry import dot3, norm3
from nanobrag_torch.io.hkl import HKLTable
from nanobrag_torch.models.conventions import CONVENTION_AXES
from nanobrag_torch.models.crystal import Crystal
from nanobrag_torch.models.mosaic import mosaic_domain_umats
from nanobrag_torch.rng import CRandom

from .reference import ReferenceCase, assert_close_to_c, run_folder
from .test_mosaic import UMAT_C

# The C's mosaic_rotation_umat(90, idum) and umat2misset for "-misset random" (checked in test_rng).
RANDOM_ORIENTATION_C = next(entry for entry in UMAT_C if entry[1] == 90.0)

F64 = torch.float64
MOSFLM_SPINDLE = (0.0, 0.0, 1.0)
CUBIC = (100.0, 100.0, 100.0, 90.0, 90.0, 90.0)
VECTOR_CASES = ["phys_triclinic_misset_hkl", "phys_mat_hkl", "phys_cubic_simple", "phys_phi_osc", "phys_mosaic"]


@pytest.fixture(autouse=True)
def _in_run_folder(tmp_path, monkeypatch):
    """Parse where the case's ../inputs paths resolve and no Fdump.bin lies."""
    monkeypatch.chdir(run_folder(tmp_path))


def crystal_for(name, **kwargs):
    """The Crystal of a reference case, from its own command line."""
    simulation = parse_args(ReferenceCase(name).argv).simulation
    return Crystal(simulation.crystal, wavelength_A=simulation.beam.wavelength_A,
                   spindle_axis_default=CONVENTION_AXES[simulation.detector.convention].spindle, **kwargs)


def cubic(**fields):
    fields.setdefault("cell", CUBIC)
    fields.setdefault("default_F", 1.0)
    return Crystal(CrystalConfig(**fields), wavelength_A=1.0, spindle_axis_default=MOSFLM_SPINDLE)


def phi_records(name):
    """(phi_deg text, k_frac) of each TRACE_C_PHI line."""
    text = (ReferenceCase(name).folder / "trace_c.log").read_text()
    return re.findall(r"^TRACE_C_PHI phi_tic=\d+ phi_deg=(\S+) k_frac=(\S+)", text, flags=re.M)


def stdout_of(name):
    return (ReferenceCase(name).folder / "stdout.log").read_text()


def assert_vectors_match(name, vectors, labels, scale):
    case = ReferenceCase(name)
    for vector, label in zip(vectors, labels):
        # The C prints %.15g; rtol 1e-12 leaves room only for last-bit libm differences. atol (in the
        # printed unit) covers components that are 0 in exact arithmetic and print as round-off.
        assert_close_to_c(vector * scale, case.numbers(label), rtol=1e-12, atol=1e-15, what=f"{name} {label}")


# -- vectors against the traces ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", VECTOR_CASES + ["seed_supervisor_pix0"])
def test_reciprocal_vectors_match_c(name):
    """a*, b*, c* (1/Angstrom, after misset, re-generated) equal the traced rot_*_star (never rotated)."""
    xtal = crystal_for(name)
    labels = [f"rot_{axis}_star_A_inv" for axis in "abc"]
    assert_vectors_match(name, (xtal.a_star, xtal.b_star, xtal.c_star), labels, 1.0)


@pytest.mark.parametrize("name", VECTOR_CASES)
def test_real_vectors_at_first_phi_step_match_c(name):
    """a, b, c rotated to phi step 0, mosaic domain 0, equal the traced rot_*_angstroms."""
    xtal = crystal_for(name)
    rotated = [v[0] for v in xtal.rotated_real_vectors_m(xtal.phi_angles_rad[0])]
    assert_vectors_match(name, rotated, [f"rot_{axis}_angstroms" for axis in "abc"], 1e10)


def test_seed_case_traces_vectors_of_the_last_phi_step():
    """seed_supervisor_pix0 traces the phi = 0 step with the vectors left from the last step (quirk 15)."""
    xtal = crystal_for("seed_supervisor_pix0")
    rotated = [v[0] for v in xtal.rotated_real_vectors_m(xtal.phi_angles_rad[-1])]
    assert_vectors_match("seed_supervisor_pix0", rotated, [f"rot_{axis}_angstroms" for axis in "abc"], 1e10)


@pytest.mark.parametrize("name", ["phys_phi_osc", "seed_supervisor_pix0"])
def test_phi_angles_match_traced_phi_deg(name):
    """phi0 + phistep * tic, in degrees, prints exactly as the C's TRACE_C_PHI phi_deg."""
    xtal = crystal_for(name)
    printed = ["%.15g" % units.rad_to_deg(phi) for phi in xtal.phi_angles_rad.tolist()]
    assert printed == [deg for deg, _ in phi_records(name)]


def test_phi_osc_k_frac_follows_the_spindle():
    """k = b(phi) . S at every phi step reproduces the traced k_frac."""
    xtal = crystal_for("phys_phi_osc")
    scattering = torch.tensor(ReferenceCase("phys_phi_osc").numbers("scattering_vec_A_inv"), dtype=F64)
    _, b, _ = xtal.rotated_real_vectors_m(xtal.phi_angles_rad)
    k = dot3(b[:, 0], scattering)
    # S is printed to 15 digits (<= 5e-16 relative) and |k| ~ 5, so k is known to ~1e-14 absolute.
    np.testing.assert_allclose(k, [float(k_frac) for _, k_frac in phi_records("phys_phi_osc")], rtol=0, atol=1e-13)


@pytest.mark.parametrize("name", ["phys_mat_hkl", "phys_triclinic_misset_hkl", "phys_mosaic"])
def test_cell_summary_matches_c_printout(name):
    """Cell volume and crystal size print as the C's 'volume = ... A^3' and 'crystal is ... microns'."""
    xtal = crystal_for(name)
    log = stdout_of(name)
    assert "volume = %g A^3" % float(xtal.cell_volume_A3) in log
    sizes = [float(norm3(v)) * n * 1e6 for v, n in ((xtal.a, xtal.Na), (xtal.b, xtal.Nb), (xtal.c, xtal.Nc))]
    assert "crystal is %g x %g x %g microns" % tuple(sizes) in log
    assert float(xtal.xtal_size_max_m) == max(sizes) / 1e6


# -- size, interpolation choice, spindle and mosaic rules --------------------------------------------------


def test_crystal_size_sets_n_and_small_n_is_raised_to_one():
    """A crystal size gives N = ceil(size / |a|); N <= 1 becomes 1."""
    xtal = cubic(Na=7, Nb=0, Nc=-3, xtal_size_mm=(0.001051, 0.0, 0.0))
    assert (xtal.Na, xtal.Nb, xtal.Nc) == (106.0, 1.0, 1.0)


def test_auto_interpolation_uses_n_before_the_crystal_size():
    """Interpolation is auto-selected from the typed N (<= 2), even when a crystal size then raises N."""
    table = HKLTable(-3, 3, -3, 3, -3, 3, np.ones((7, 7, 7)), 343)
    small_n = cubic(Na=2, Nb=5, Nc=5, xtal_size_mm=(0.009951, 0.0, 0.0), hkl=table)
    large_n = cubic(Na=3, Nb=5, Nc=5, hkl=table)
    assert (small_n.Na, small_n.interpolate, large_n.interpolate) == (996.0, True, False)


def test_interpolation_is_off_without_a_table():
    """Asking for interpolation without structure factors leaves it off, as the C does."""
    assert cubic(Na=1, interpolate=True).interpolate is False


@pytest.mark.parametrize("fields,expected", [
    ({}, (1, 0.0, 0.0)),
    ({"osc_deg": 3.0}, (2, 3.0, 1.5)),
    ({"phistep_deg": 0.5}, (2, 0.5, 0.5)),
    ({"osc_deg": 1.0, "phistep_deg": 0.3}, (4, 1.0, 0.3)),
    ({"phisteps": 4}, (4, 1.0, 0.25)),
    ({"phisteps": 4, "phistep_deg": 0.2}, (2, 0.2, 0.2)),
    ({"phisteps": 3, "osc_deg": 3.0}, (3, 3.0, 1.0)),
    ({"phisteps": 0, "osc_deg": 2.0, "phistep_deg": 0.1}, (1, 2.0, 0.1)),
])
def test_phi_sampling_follows_c_defaults(fields, expected):
    """Missing spindle numbers are derived as in nanoBragg (steps, oscillation, step)."""
    xtal = cubic(**fields)
    got = (xtal.phisteps, units.rad_to_deg(xtal.osc_rad), units.rad_to_deg(xtal.phistep_rad))
    assert got[0] == expected[0]
    # Degrees -> radians -> degrees round trip: a few ulps.
    np.testing.assert_allclose(got[1:], expected[1:], rtol=1e-15, atol=0)


@pytest.mark.parametrize("fields,expected", [
    ({}, (0.0, 1)),
    ({"mosaic_spread_deg": 0.5}, (0.5, 10)),
    ({"mosaic_spread_deg": 0.0}, (0.0, 1)),
    ({"mosaic_domains": 4}, (0.0, 1)),
    ({"mosaic_domains": 4, "mosaic_spread_deg": 0.0}, (0.0, 1)),
    ({"mosaic_domains": 4, "mosaic_spread_deg": 0.2}, (0.2, 4)),
])
def test_mosaic_defaults_follow_c(fields, expected):
    """Mosaic spread and domain count are completed as nanoBragg does."""
    xtal = cubic(**fields)
    assert (round(units.rad_to_deg(xtal.mosaic_spread_rad), 12), xtal.mosaic_domains) == expected
    assert xtal.mosaic_umats.shape == (expected[1], 3, 3)


def test_mosaic_domain_zero_is_identity_and_all_are_rotations():
    """Domain 0 is the identity; every umat is orthonormal with determinant +1."""
    umats = cubic(mosaic_spread_deg=2.0, mosaic_domains=6).mosaic_umats
    assert umats[0].tolist() == torch.eye(3, dtype=F64).tolist()
    eye = torch.eye(3, dtype=F64).expand(6, 3, 3)
    # Products of nine O(1) terms: a few ulps.
    assert torch.allclose(umats @ umats.transpose(1, 2), eye, rtol=0, atol=1e-15)
    assert torch.allclose(torch.linalg.det(umats), torch.ones(6, dtype=F64), rtol=0, atol=1e-15)
    assert not torch.equal(umats[1], umats[0])


def test_mosaic_seed_reproduces_and_changes_umats():
    """The same mosaic seed gives the same domains; another seed gives others."""
    first = cubic(mosaic_spread_deg=1.0, mosaic_domains=3, mosaic_seed=42).mosaic_umats
    again = cubic(mosaic_spread_deg=1.0, mosaic_domains=3, mosaic_seed=42).mosaic_umats
    other = cubic(mosaic_spread_deg=1.0, mosaic_domains=3, mosaic_seed=43).mosaic_umats
    assert torch.equal(first, again) and not torch.equal(first[1:], other[1:])


def test_mosaic_seed_n_is_the_c_stream_minus_n():
    """-mosaic_seed N draws from the C's seed -N, with the spread in radians."""
    umats = cubic(mosaic_spread_deg=0.5, mosaic_domains=5, mosaic_seed=42).mosaic_umats
    expected = mosaic_domain_umats(units.deg_to_rad(0.5), 5, CRandom(-42))
    assert umats.numpy().tolist() == expected.tolist()


def test_mosaic_intensity_matches_c():
    """phys_mosaic: summing F_cell^2 F_latt^2 over the 5 seeded domains reproduces I_before_scaling."""
    case = ReferenceCase("phys_mosaic")
    xtal = crystal_for("phys_mosaic")
    scattering = torch.tensor(case.numbers("scattering_vec_A_inv"), dtype=F64)
    a, b, c = xtal.rotated_real_vectors_m(xtal.phi_angles_rad[0])
    hkl = [dot3(v, scattering) for v in (a, b, c)]
    F_latt, _ = xtal.lattice_factor(*hkl)
    F_cell = xtal.structure_factor(*hkl)
    terms = F_cell * F_cell * F_latt * F_latt
    total = 0.0
    for term in terms.tolist():
        total += term
    # Near a node sin(N pi h)/sin(pi h) is ill-conditioned: a last-bit change of pi h moves each factor by
    # ~eps (|pi h N / sin(pi h N)| + |pi h / sin(pi h)|) relative. Bound the squared product with that.
    rel = sum(4e-16 * (abs(x * n / math.sin(x * n)) + abs(x / math.sin(x)))
              for index, n in zip(hkl, (xtal.Na, xtal.Nb, xtal.Nc)) for x in (math.pi * index).tolist())
    allowed = 2 * rel * max(terms.tolist()) * len(terms)
    assert abs(total - case.numbers("I_before_scaling")[0]) <= allowed


# -- misset -----------------------------------------------------------------------------------------------


def test_random_misset_is_seeded():
    """-misset random with a seed is reproducible; another seed gives another orientation."""
    first = cubic(misset_random=True, misset_seed=7)
    again = cubic(misset_random=True, misset_seed=7)
    other = cubic(misset_random=True, misset_seed=8)
    assert torch.equal(first.a_star, again.a_star) and not torch.equal(first.a_star, other.a_star)


def test_random_misset_angles_match_c():
    """-misset random with seed N uses the C's angles for idum -N (as printed by the C, see test_rng)."""
    idum, cap, _, missets = RANDOM_ORIENTATION_C
    xtal = cubic(misset_random=True, misset_seed=-idum)
    assert cap == 90.0
    assert xtal.misset_rad.tolist() == [float(v) for v in missets.split()]


def test_random_misset_rotates_like_explicit_misset():
    """The random orientation is applied exactly like a -misset of the same angles."""
    xtal = cubic(misset_random=True, misset_seed=7)
    explicit = cubic(misset_deg=tuple(units.rad_to_deg(x) for x in xtal.misset_rad.tolist()))
    # Degrees -> radians round trip changes the angles by an ulp at most.
    assert torch.allclose(explicit.a_star, xtal.a_star, rtol=1e-14, atol=1e-18)


# -- structure factors ------------------------------------------------------------------------------------


def test_structure_factor_interpolates_like_c():
    """phys_interpolate_N2 (-interpolate): F at the traced hkl_frac equals the C's F_cell."""
    case = ReferenceCase("phys_interpolate_N2")
    xtal = crystal_for("phys_interpolate_N2")
    h, k, l = torch.tensor(case.numbers("hkl_frac"), dtype=F64)
    assert xtal.interpolate is True
    # Smooth in h; the 15-digit hkl_frac allows 1e-12.
    assert_close_to_c(xtal.structure_factor(h, k, l), case.numbers("F_cell"), rtol=1e-12)


def test_structure_factor_falls_back_to_nearest_outside_interpolation_range():
    """Within 2 of the table edge the nearest reflection is used; beyond it, default_F."""
    F = np.arange(7.0 ** 3).reshape(7, 7, 7)
    xtal = cubic(Na=1, interpolate=True, default_F=-1.0, hkl=HKLTable(-3, 3, -3, 3, -3, 3, F, 343))
    h = torch.tensor([2.6, 3.4, 5.0], dtype=F64)
    zero = torch.zeros(3, dtype=F64)
    assert xtal.structure_factor(h, zero, zero).tolist() == [F[6, 3, 3], F[6, 3, 3], -1.0]


def test_structure_factor_without_table_is_default_f():
    """No hkl table: F is default_F everywhere."""
    h = torch.tensor([0.2, 17.6], dtype=F64)
    assert cubic(default_F=12.5).structure_factor(h, h, h).tolist() == [12.5, 12.5]


# -- configuration errors ---------------------------------------------------------------------------------


def test_cell_and_matrix_together_are_rejected():
    """A cell and an orientation matrix together are ambiguous: ValueError names both."""
    with pytest.raises(ValueError, match="exactly one of cell and reciprocal_matrix, got both"):
        cubic(reciprocal_matrix=np.eye(3) * 0.01)


def test_short_cell_is_rejected():
    """A cell needs six numbers; the message says how many came."""
    with pytest.raises(ValueError, match="needs 6 numbers .* got 3"):
        cubic(cell=(100.0, 100.0, 100.0))


# -- gradients, dtype, device -----------------------------------------------------------------------------


def test_gradcheck_cell_lengths_to_real_and_reciprocal_vectors():
    """a/b/c (m) and a*/b*/c* are differentiable in the cell lengths (triclinic angles, misset on)."""

    def vectors(lengths):
        xtal = cubic(cell=(lengths[0], lengths[1], lengths[2], 75.0, 85.0, 95.0), misset_deg=(10.0, 20.0, 30.0))
        return torch.cat([xtal.a * 1e10, xtal.b * 1e10, xtal.c * 1e10, xtal.a_star, xtal.b_star, xtal.c_star])

    assert torch.autograd.gradcheck(vectors, (torch.tensor([70.0, 80.0, 90.0], dtype=F64, requires_grad=True),))


def test_gradcheck_misset_angle():
    """a* is differentiable in a misset angle given as a tensor."""

    def a_star(angle):
        return cubic(cell=(70.0, 80.0, 90.0, 75.0, 85.0, 95.0), misset_deg=(angle, 20.0, 30.0)).a_star

    assert torch.autograd.gradcheck(a_star, (torch.tensor(10.0, dtype=F64, requires_grad=True),))


def test_gradcheck_phi0_and_cell_angle():
    """Rotated real vectors are differentiable in phi0 and in a cell angle."""

    def rotated(phi0, gamma):
        xtal = cubic(cell=(70.0, 80.0, 90.0, 75.0, 85.0, gamma), phi0_deg=phi0, osc_deg=2.0, phisteps=2)
        return torch.stack(xtal.rotated_real_vectors_m(xtal.phi_angles_rad)) * 1e10

    inputs = (torch.tensor(5.0, dtype=F64, requires_grad=True), torch.tensor(95.0, dtype=F64, requires_grad=True))
    assert torch.autograd.gradcheck(rotated, inputs)


def test_gradcheck_phi0_at_zero():
    """At phi0 = 0 (where the C skips the rotation) the gradient is still the rotation's."""

    def rotated(phi0):
        xtal = cubic(cell=(70.0, 80.0, 90.0, 75.0, 85.0, 95.0), phi0_deg=phi0)
        return xtal.rotated_real_vectors_m(xtal.phi_angles_rad)[0] * 1e10

    assert torch.autograd.gradcheck(rotated, (torch.tensor(0.0, dtype=F64, requires_grad=True),))


def test_gradcheck_wavelength_for_a_matrix():
    """With an orientation matrix, a* is differentiable in the wavelength (the matrix is scaled by it)."""
    matrix = np.array([[-0.0283, -0.0031, 0.0254], [-0.0287, 0.0102, -0.0140], [0.0105, -0.0321, -0.0104]])

    def a_star(wavelength):
        xtal = Crystal(CrystalConfig(reciprocal_matrix=matrix, default_F=1.0), wavelength_A=wavelength,
                       spindle_axis_default=MOSFLM_SPINDLE)
        return torch.cat([xtal.a_star, xtal.c_star])

    assert torch.autograd.gradcheck(a_star, (torch.tensor(0.9768, dtype=F64, requires_grad=True),))


def test_float32_on_a_device_matches_float64():
    """dtype float32 and an explicit device give the float64 vectors to float32 precision."""
    config = parse_args(ReferenceCase("phys_triclinic_misset_hkl").argv).simulation.crystal
    xtal64 = Crystal(config, wavelength_A=1.0, spindle_axis_default=MOSFLM_SPINDLE)
    xtal32 = Crystal(config, wavelength_A=1.0, spindle_axis_default=MOSFLM_SPINDLE, device="cpu",
                     dtype=torch.float32)
    assert xtal32.a_star.dtype == xtal32.mosaic_umats.dtype == xtal32.F_table.dtype == torch.float32
    assert xtal32.a.device == torch.device("cpu")
    # ~20 float32 operations from the cell to a real vector: 1e-5 relative bounds their rounding.
    for v32, v64 in ((xtal32.a, xtal64.a), (xtal32.c_star, xtal64.c_star)):
        np.testing.assert_allclose(v32.double(), v64, rtol=1e-5, atol=1e-5 * float(norm3(v64)))
