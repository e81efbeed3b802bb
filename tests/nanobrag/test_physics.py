"""Physics kernels (lattice transforms, structure factors, polarization) against the C reference."""

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from nanobrag_torch import physics
from nanobrag_torch.cli import parse_args
from nanobrag_torch.config import CrystalShape
from nanobrag_torch.models.conventions import CONVENTION_AXES

from .reference import ReferenceCase, assert_close_to_c, run_folder

F64 = torch.float64

# hkl_frac is printed with 15 significant digits. Away from a lattice node the lattice factors amplify that
# rounding (<= 5e-15 relative) by at most |d ln F / d ln h| < 100 at these pixels, so 1e-12 bounds the
# difference with room to spare (the largest seen is 5e-14).
LATTICE_RTOL = 1e-12


@pytest.fixture(autouse=True)
def _in_run_folder(tmp_path, monkeypatch):
    """Parse where the case's ../inputs paths resolve and no Fdump.bin lies."""
    monkeypatch.chdir(run_folder(tmp_path))


def simulation_of(name):
    return parse_args(ReferenceCase(name).argv).simulation


def traced(name, label, occurrence=0):
    return torch.tensor(ReferenceCase(name).numbers(label, occurrence), dtype=F64)


def table_tensor(crystal_config):
    table = crystal_config.hkl
    ranges = (table.h_min, table.h_max, table.k_min, table.k_max, table.l_min, table.l_max)
    return torch.tensor(table.F, dtype=F64), ranges


# -- sincg / sinc3 ---------------------------------------------------------------------------------------


def test_sincg_at_zero_is_n():
    """sincg(0, n) is n, for a float n and a tensor n."""
    zero = torch.zeros(2, dtype=F64)
    assert physics.sincg(zero, 7.0).tolist() == [7.0, 7.0]
    assert physics.sincg(zero, torch.tensor([3.0, 4.0], dtype=F64)).tolist() == [3.0, 4.0]


def test_sincg_away_from_zero_is_sin_ratio():
    """sincg(x, n) is sin(x*n)/sin(x), computed exactly as the C computes it."""
    x = 0.3141592653589793 * 1.37
    assert float(physics.sincg(torch.tensor(x, dtype=F64), 5.0)) == math.sin(x * 5.0) / math.sin(x)


def test_sincg_gradient_is_finite_at_zero():
    """The masked x == 0 branch does not leak a NaN gradient."""
    x = torch.zeros(1, dtype=F64, requires_grad=True)
    physics.sincg(x, 5.0).sum().backward()
    assert x.grad.tolist() == [0.0]


def test_sinc3_at_zero_is_one_and_matches_formula_elsewhere():
    """sinc3(0) is 1; elsewhere 3 (sin x / x - cos x) / x^2."""
    x = torch.tensor([0.0, 0.7], dtype=F64)
    expected = 3.0 * (math.sin(0.7) / 0.7 - math.cos(0.7)) / (0.7 * 0.7)
    assert physics.sinc3(x).tolist() == [1.0, expected]


# -- lattice factors against the traces -----------------------------------------------------------------

SQUARE_CASES = [("phys_cubic_simple", occurrence) for occurrence in range(4)] + [
    ("phys_triclinic_misset_hkl", 0), ("phys_mat_hkl", 0), ("phys_interpolate_N2", 0),
    ("phys_polar_kahn0p5", 0), ("phys_phi_osc", 0)]


@pytest.mark.parametrize("name,occurrence", SQUARE_CASES)
def test_square_lattice_factors_match_c(name, occurrence):
    """F_latt_a/b/c and F_latt from the C's traced hkl_frac agree with the traced values."""
    crystal = simulation_of(name).crystal
    h, k, l = traced(name, "hkl_frac", occurrence)
    F_latt, parts = physics.lattice_factor(h, k, l, CrystalShape.SQUARE, float(crystal.Na), float(crystal.Nb),
                                           float(crystal.Nc))
    for label, value in zip(("F_latt_a", "F_latt_b", "F_latt_c"), parts):
        assert_close_to_c(value, traced(name, label, occurrence), rtol=LATTICE_RTOL, what=f"{name} {label}")
    assert_close_to_c(F_latt, traced(name, "F_latt", occurrence), rtol=LATTICE_RTOL, what=f"{name} F_latt")


@pytest.mark.parametrize("name,shape", [("phys_round_xtal", CrystalShape.ROUND),
                                        ("phys_gauss_xtal", CrystalShape.GAUSS)])
def test_round_and_gauss_intensity_matches_c(name, shape):
    """F_cell^2 F_latt^2 at the traced hkl equals the C's I_before_scaling (one step, no background)."""
    crystal = simulation_of(name).crystal
    assert float(traced(name, "steps")) == 1.0
    h, k, l = traced(name, "hkl_frac")
    stars = [traced(name, f"rot_{axis}_star_A_inv") for axis in "abc"]
    F_latt, parts = physics.lattice_factor(h, k, l, shape, 5.0, 5.0, 5.0, 1.0, *stars)
    F_table, ranges = table_tensor(crystal)
    F_cell = physics.nearest_structure_factor(F_table, *torch.ceil(torch.stack((h, k, l)) - 0.5), ranges, 0.0)
    assert parts is None
    intensity = F_cell * F_cell * F_latt * F_latt
    assert_close_to_c(intensity, traced(name, "I_before_scaling"), rtol=LATTICE_RTOL, what=name)


def test_square_factor_is_one_when_n_is_one():
    """With N <= 1 along an axis the C leaves that factor at 1 and keeps it out of F_latt."""
    h = torch.tensor(0.3, dtype=F64)
    F_latt, (F_a, F_b, F_c) = physics.lattice_factor(h, h, h, CrystalShape.SQUARE, 1.0, 4.0, 1.0)
    assert (float(F_a), float(F_c)) == (1.0, 1.0)
    assert float(F_latt) == float(F_b) == float(physics.sincg(math.pi * h, 4.0))


def test_round_lattice_factor_at_a_node_is_the_full_scaled_volume():
    """At integer hkl the sphere transform is Na Nb Nc times nanoBragg's 0.7236 volume ratio."""
    node = torch.tensor(2.0, dtype=F64)
    F_latt, _ = physics.lattice_factor(node, node, node, CrystalShape.ROUND, 2.0, 3.0, 4.0)
    assert float(F_latt) == 2.0 * 3.0 * 4.0 * 0.723601254558268


def test_tophat_is_flat_inside_its_radius_and_zero_outside():
    """Top-hat spots are Na Nb Nc within rad_star_sqr*fudge < 0.3969 and 0 beyond."""
    star = torch.eye(3, dtype=F64) * 0.01
    # rad_star_sqr = (0.01 dh)^2 * (Na Nb Nc)^2 with Na Nb Nc = 1000: inside for dh < 0.063.
    h = torch.tensor([0.05, 0.07], dtype=F64)
    zero = torch.zeros(2, dtype=F64)
    F_latt, _ = physics.lattice_factor(h, zero, zero, CrystalShape.TOPHAT, 10.0, 10.0, 10.0, 1.0, *star)
    assert F_latt.tolist() == [1000.0, 0.0]


def test_gauss_without_reciprocal_vectors_is_rejected():
    """GAUSS needs a_star/b_star/c_star; the error says which shape asked."""
    h = torch.zeros(1, dtype=F64)
    with pytest.raises(ValueError, match="shape GAUSS needs a_star, b_star and c_star"):
        physics.lattice_factor(h, h, h, CrystalShape.GAUSS, 5.0, 5.0, 5.0)


# -- structure factors -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["phys_triclinic_misset_hkl", "phys_mat_hkl", "phys_round_xtal",
                                  "phys_gauss_xtal", "phys_phi_osc"])
def test_nearest_structure_factor_matches_c(name):
    """The nearest reflection's F at the traced hkl is the C's F_cell, exactly."""
    F_table, ranges = table_tensor(simulation_of(name).crystal)
    h0, k0, l0 = traced(name, "hkl_rounded")
    F_cell = physics.nearest_structure_factor(F_table, h0, k0, l0, ranges, 0.0)
    assert float(F_cell) == float(traced(name, "F_cell"))


def test_nearest_structure_factor_without_table_is_default_F():
    """phys_cubic_simple has no hkl file: every F_cell is default_F (100)."""
    crystal = simulation_of("phys_cubic_simple").crystal
    h0, k0, l0 = traced("phys_cubic_simple", "hkl_rounded")
    F_cell = physics.nearest_structure_factor(None, h0, k0, l0, None, crystal.default_F)
    assert float(F_cell) == float(traced("phys_cubic_simple", "F_cell")) == 100.0


def test_nearest_structure_factor_outside_table_is_default_F():
    """Indices beyond the table on any axis give default_F; inside give the table entry."""
    F_table = torch.arange(8.0, dtype=F64).reshape(2, 2, 2)
    h0 = torch.tensor([0.0, 2.0, 1.0, -1.0], dtype=F64)
    k0 = torch.tensor([1.0, 0.0, 1.0, 0.0], dtype=F64)
    l0 = torch.tensor([1.0, 0.0, 2.0, 0.0], dtype=F64)
    F = physics.nearest_structure_factor(F_table, h0, k0, l0, (0, 1, 0, 1, 0, 1), -3.0)
    assert F.tolist() == [3.0, -3.0, -3.0, -3.0]


def test_interpolated_structure_factor_matches_c():
    """phys_interpolate_N2: tricubic interpolation at the traced hkl_frac gives the C's F_cell."""
    F_table, ranges = table_tensor(simulation_of("phys_interpolate_N2").crystal)
    h, k, l = traced("phys_interpolate_N2", "hkl_frac")
    F_cell = physics.interpolate_structure_factor(F_table, h, k, l, ranges[0], ranges[2], ranges[4])
    # Interpolation is smooth in h (|d ln F / d ln h| < 10 here), so the 15-digit input allows 1e-12.
    assert_close_to_c(F_cell, traced("phys_interpolate_N2", "F_cell"), rtol=1e-12)


def test_interpolation_reproduces_cubic_polynomials():
    """Four-point Lagrange interpolation is exact for a polynomial cubic in each index."""
    grid = torch.arange(-4.0, 5.0, dtype=F64)
    hh, kk, ll = torch.meshgrid(grid, grid, grid, indexing="ij")

    def poly(h, k, l):
        return 2.0 + h ** 3 - 0.5 * h * k + 0.25 * k ** 2 * l - 0.1 * l ** 3

    points = torch.tensor([[0.3, -1.7, 2.2], [-2.0, 0.5, 0.0], [1.9, 1.1, -1.4]], dtype=F64)
    h, k, l = points.unbind(-1)
    F = physics.interpolate_structure_factor(poly(hh, kk, ll), h, k, l, -4, -4, -4)
    # Exact in exact arithmetic; the rounding of ~30 products of O(10) numbers stays below 1e-13.
    assert torch.allclose(F, poly(h, k, l), rtol=0.0, atol=1e-13)


def test_interpolation_works_on_any_batch_shape():
    """A (2, 3) batch gives the same numbers as the points one by one."""
    F_table = torch.rand(9, 9, 9, dtype=F64, generator=torch.Generator().manual_seed(3))
    h = torch.linspace(-1.6, 1.7, 6, dtype=F64).reshape(2, 3)
    k, l = h.flip(-1) * 0.5, h * -0.7
    batched = physics.interpolate_structure_factor(F_table, h, k, l, -4, -4, -4)
    single = [float(physics.interpolate_structure_factor(F_table, a, b, c, -4, -4, -4))
              for a, b, c in zip(h.flatten(), k.flatten(), l.flatten())]
    assert batched.shape == (2, 3) and batched.flatten().tolist() == single


def test_interpolation_range_follows_the_c_test():
    """In range means h_min + 2 <= h <= h_max - 2 on every axis (the C's float test)."""
    table = SimpleNamespace(h_min=-5, h_max=5, k_min=-5, k_max=5, l_min=-5, l_max=5)
    inside = torch.tensor([3.0, -3.0, 0.0], dtype=F64)
    outside = torch.tensor([3.0000001, -3.0000001, 0.0], dtype=F64)
    assert physics.interpolation_in_range(inside, inside, inside, table).tolist() == [True, True, True]
    assert physics.interpolation_in_range(outside, inside, inside, table).tolist() == [False, False, True]
    assert physics.interpolation_in_range(inside, inside, outside, table).tolist() == [False, False, True]


def test_interpolation_in_range_at_traced_point():
    """The traced interpolating pixel is inside the table (the C printed no out-of-range warning)."""
    table = simulation_of("phys_interpolate_N2").crystal.hkl
    h, k, l = traced("phys_interpolate_N2", "hkl_frac")
    assert bool(physics.interpolation_in_range(h, k, l, table))


# -- polarization ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["phys_polar_kahn0p5", "phys_triclinic_misset_hkl", "seed_supervisor_pix0",
                                  "phys_oversample3_omega_polar"])
def test_polarization_factor_matches_c(name):
    """polar from the traced incident/diffracted vectors and the convention's E-vector equals the C's."""
    simulation = simulation_of(name)
    axis = simulation.beam.polarization_axis or CONVENTION_AXES[simulation.detector.convention].polarization
    # polar is taken at the first sub-pixel, or kept from the last one with -oversample_polar.
    which = -1 if simulation.detector.oversample_polar else 0
    polar = physics.polarization_factor(simulation.beam.kahn_factor, traced(name, "incident_vec", which),
                                        traced(name, "diffracted_vec", which), torch.tensor(axis, dtype=F64))
    # Smooth in its inputs (cos 2theta ~ 1 here), so the 15-digit vectors allow 1e-12.
    assert_close_to_c(polar, traced(name, "polar"), rtol=1e-12, what=name)


def test_polarization_unpolarized_is_half_one_plus_cos_squared():
    """Kahn factor 0 gives (1 + cos^2 2theta) / 2 whatever the E-vector."""
    incident = torch.tensor([1.0, 0.0, 0.0], dtype=F64)
    diffracted = torch.tensor([0.6, 0.8, 0.0], dtype=F64)
    for axis in ([0.0, 0.0, 1.0], [0.0, 1.0, 0.0]):
        polar = physics.polarization_factor(0.0, incident, diffracted, torch.tensor(axis, dtype=F64))
        assert float(polar) == 0.5 * (1.0 + 0.36)


def test_polarization_fully_polarized_depends_on_e_vector():
    """Kahn factor 1: scattering along the E-vector is suppressed, across it is not."""
    incident = torch.tensor([1.0, 0.0, 0.0], dtype=F64)
    along_e = torch.tensor([0.0, 0.0, 1.0], dtype=F64)
    across_e = torch.tensor([0.0, 1.0, 0.0], dtype=F64)
    assert float(physics.polarization_factor(1.0, incident, along_e, along_e)) == pytest.approx(0.0, abs=1e-16)
    assert float(physics.polarization_factor(1.0, incident, across_e, along_e)) == pytest.approx(1.0, abs=1e-16)


# -- gradients, dtypes -----------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [CrystalShape.SQUARE, CrystalShape.ROUND, CrystalShape.GAUSS])
def test_lattice_factor_gradcheck(shape):
    """lattice_factor is differentiable in h, k, l (finite differences agree)."""
    star = torch.eye(3, dtype=F64) * 0.02
    hkl = torch.tensor([[0.13, 1.9, -2.21], [3.4, -0.05, 0.6]], dtype=F64, requires_grad=True)

    def f(x):
        return physics.lattice_factor(x[:, 0], x[:, 1], x[:, 2], shape, 5.0, 3.0, 4.0, 1.0, *star)[0]

    assert torch.autograd.gradcheck(f, (hkl,))


def test_interpolation_gradcheck_in_hkl_and_table():
    """Interpolated F is differentiable in h, k, l and in the table entries."""
    F_table = torch.rand(7, 7, 7, dtype=F64, generator=torch.Generator().manual_seed(1)).requires_grad_(True)
    hkl = torch.tensor([[0.3, -0.6, 0.45], [-0.2, 0.9, -0.8]], dtype=F64, requires_grad=True)

    def f(table, x):
        return physics.interpolate_structure_factor(table, x[:, 0], x[:, 1], x[:, 2], -3, -3, -3)

    assert torch.autograd.gradcheck(f, (F_table, hkl))


def test_polarization_gradcheck():
    """The polarization factor is differentiable in the diffracted direction."""
    incident = torch.tensor([1.0, 0.0, 0.0], dtype=F64)
    axis = torch.tensor([0.0, 0.0, 1.0], dtype=F64)
    diffracted = torch.tensor([[0.9, 0.2, -0.3], [0.8, -0.1, 0.5]], dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda d: physics.polarization_factor(0.5, incident, d, axis), (diffracted,))


def test_kernels_keep_float32():
    """float32 inputs give float32 outputs, within float32 rounding of the float64 results."""
    # 5h is far from an integer at these h, so F_latt is far from its zeros (where relative error blows up).
    h = torch.tensor([0.13, 1.9, -2.3], dtype=F64)
    F_table = torch.rand(7, 7, 7, dtype=F64, generator=torch.Generator().manual_seed(2))
    results = []
    for dtype in (torch.float32, F64):
        x = h.to(dtype)
        F_latt, _ = physics.lattice_factor(x, x, x, CrystalShape.SQUARE, 5.0, 5.0, 5.0)
        F_cell = physics.interpolate_structure_factor(F_table.to(dtype), x * 0.5, x * 0.2, x * -0.3, -3, -3, -3)
        results.append((F_latt, F_cell))
    (F_latt32, F_cell32), (F_latt64, F_cell64) = results
    assert F_latt32.dtype == F_cell32.dtype == torch.float32
    # float32 carries ~6e-8 relative; the lattice factor amplifies input rounding by < 50 at these h.
    np.testing.assert_allclose(F_latt32.double(), F_latt64, rtol=5e-6)
    np.testing.assert_allclose(F_cell32.double(), F_cell64, rtol=5e-6)
