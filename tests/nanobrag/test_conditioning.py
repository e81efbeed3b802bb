"""The derived tolerances of ill-conditioned trace values: bounds that hold, and that are not blanket."""

import math
import random

import numpy as np
import pytest
import torch

import tracehooks
from nanobrag_torch.config import CrystalShape
from nanobrag_torch.trace import QUIRKS_PATH
from nanobrag_torch.trace._conditioning import LatticeErrors, _grating_error

from .reference import ReferenceCase
from .test_trace_parity import traced_pixel

EPS = np.finfo(np.float64).eps


def _sincg_variants(h: float, n: float):
    """sin(N pi h)/sin(pi h) as the C associates it, as the port does, and with each sine's argument one ulp
    off (what another libm's argument reduction may do)."""
    c_order = math.sin(math.pi * n * h) / math.sin(math.pi * h)
    port_order = math.sin((math.pi * h) * n) / math.sin(math.pi * h)
    x, nx = math.pi * h, (math.pi * h) * n
    shifted = [math.sin(a) / math.sin(b) for a in (math.nextafter(nx, -math.inf), math.nextafter(nx, math.inf))
               for b in (math.nextafter(x, -math.inf), math.nextafter(x, math.inf))]
    return [c_order, port_order] + shifted


def _near_nodes(count: int, seed: int = 7):
    rng = random.Random(seed)
    for _ in range(count):
        node = rng.randint(-30, 30)
        offset = 10 ** rng.uniform(-9, -0.5) * rng.choice((-1, 1))
        yield node + offset, float(rng.randint(2, 120))


def test_grating_bound_covers_every_rounding_of_its_argument():
    """|F(any association, any 1-ulp argument) - F| never exceeds the bound, over 3000 points near nodes."""
    worst = 0.0
    for h, n in _near_nodes(3000):
        F, bound = _grating_error(torch.tensor(h, dtype=torch.float64), torch.tensor(0.0, dtype=torch.float64), n)
        deviation = max(abs(value - float(F)) for value in _sincg_variants(h, n))
        assert deviation <= float(bound), (h, n, deviation, float(bound))
        worst = max(worst, deviation / float(bound))
    # Not a blanket: somewhere the bound is nearly reached (first-order analysis, factor 2 from the roundings).
    assert worst > 0.1


@pytest.mark.parametrize("h", [0.3, 3.3, 5.45])
@pytest.mark.parametrize("n", [5.0, 36.0, 47.0])
def test_grating_bound_stays_below_the_default_where_well_conditioned(h, n):
    """Away from the nodes of sin(x) and sin(N x) the bound (the argument's roundings, ~ 2 pi N |h| eps) is
    under rtol 1e-12."""
    F, bound = _grating_error(torch.tensor(h, dtype=torch.float64), torch.tensor(0.0, dtype=torch.float64), n)
    assert float(bound) / abs(float(F)) < 1e-12


def test_grating_bound_at_an_exact_node_is_rounding_only():
    """At an integer h both programs return N exactly: the bound is a few ulps of N, not infinite."""
    F, bound = _grating_error(torch.tensor(0.0, dtype=torch.float64), torch.tensor(0.0, dtype=torch.float64), 36.0)
    assert float(F) == 36.0 and 0 < float(bound) < 1e-13


def test_index_bound_covers_last_bit_changes_of_every_input():
    """h = a . (d - i)/lambda with each input moved by an ulp and the sum taken in every order stays within
    the bound, over 2000 random geometries (including near-equal d and i)."""
    rng = np.random.default_rng(3)
    for _ in range(2000):
        a = rng.normal(size=3) * 10 ** rng.uniform(-9.5, -8)
        i = rng.normal(size=3)
        i /= np.linalg.norm(i)
        d = i + rng.normal(size=3) * 10 ** rng.uniform(-6, 0)
        d /= np.linalg.norm(d)
        lam = 10 ** rng.uniform(-10.5, -9.5)
        errors = LatticeErrors.of_pixel(
            CrystalShape.ROUND, (1, 1, 1), (torch.zeros(1, 1, 1, 1, 1, 1, 1, dtype=torch.float64),) * 3,
            (torch.tensor(a).reshape(1, 1, 3),) * 3, torch.tensor(d).reshape(1, 1, 1, 1, 3),
            torch.tensor(i).reshape(1, 3), torch.tensor([lam]))
        bound = float(errors.index[0].flatten()[0])
        exact = float(np.dot(a, (d - i) / lam))
        for _ in range(4):
            nudged = [v * (1 + rng.choice((-1, 0, 1), size=3) * EPS) for v in (a, d, i)]
            s = (nudged[1] - nudged[2]) / lam
            products = list(nudged[0] * s)
            rng.shuffle(products)
            assert abs((products[0] + products[1]) + products[2] - exact) <= bound


def test_seed_case_declares_tolerances_only_where_ill_conditioned():
    """The seed pixel (h, k, l near nodes) declares finite, non-negative tolerances for the lattice chain
    only, and its grating factors' bounds are far above eps (this is why they are needed)."""
    _, tolerances = traced_pixel(ReferenceCase("seed_supervisor_pix0"))
    names = {(t.selector.channel, t.selector.name) for t in tolerances}
    assert names <= {("", n) for n in ("scattering_vec_A_inv", "hkl_frac", "F_latt_a", "F_latt_b", "F_latt_c",
                                       "F_latt", "I_before_scaling", "I_pixel_final", "floatimage_accumulated")} \
        | {("PHI", "record")}
    for declared in tolerances:
        assert math.isfinite(declared.tolerance.rtol) and math.isfinite(declared.tolerance.atol)
        assert declared.reason
    F_latt_c = next(t for t in tolerances if t.selector.name == "F_latt_c")
    assert F_latt_c.tolerance.atol / 25.7024842831081 > 1e-13


@pytest.mark.parametrize("name", ["F_latt_c", "I_pixel_final"])
def test_a_difference_beyond_the_derived_tolerance_diverges(name):
    """Moving one C value by 3x its derived tolerance turns the diff into a divergence at that value."""
    case = ReferenceCase("seed_supervisor_pix0")
    lines, tolerances = traced_pixel(case)
    declared = next(t for t in tolerances if t.selector.name == name)
    c_lines = []
    for line in (case.folder / "trace_c.log").read_text().splitlines():
        if line.startswith(f"TRACE_C: {name} "):
            value = float(line.split()[-1])
            allowed = declared.tolerance.atol + declared.tolerance.rtol * abs(value)
            line = f"TRACE_C: {name} {tracehooks.format_value(value + 3 * max(allowed, 1e-12 * abs(value)))}"
        c_lines.append(line)
    report = tracehooks.diff_traces(c_lines, lines, rtol=1e-12, quirks=QUIRKS_PATH, tolerances=tolerances)
    assert not report.ok
    assert report.first_divergence.name == name
