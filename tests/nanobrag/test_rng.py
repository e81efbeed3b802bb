"""Tests for nanobrag_torch.rng: bit-exact reproductions of nanoBragg's random numbers.

Reference numbers marked "C:" were produced by the functions ran1, gaussdev, poidev and gammln
copied unchanged from nanoBragg.c into a scratch program
outside this repository, compiled with gcc 12.2 -O2 -ffp-contract=off (glibc 2.36, x86-64).
Deviates are printed with %.9g (enough to identify a float exactly), doubles with %.17g.
"""

import numpy as np
import pytest

from nanobrag_torch.rng import CRandom, Ran1Statics, gammln

# C: ran1 with idum = -12345 and -42 (the streams of "-seed 12345" and "-seed 42").
RAN1_C = {
    12345: "0.923120558 0.333146602 0.197888419 0.949421704 0.783800364 0.983884633 0.914130032"
    " 0.583283305 0.209134087 0.177782878",
    42: "0.471973002 0.539009392 0.737019002 0.18827413 0.993509591 0.530449033 0.0783327818"
    " 0.769240439 0.247408122 0.0230257344",
}


def _floats32(text: str) -> list[float]:
    return [float(np.float32(v)) for v in text.split()]


@pytest.mark.parametrize("seed", sorted(RAN1_C))
def test_ran1_first_ten_match_c(seed):
    """ran1 reproduces the C's first ten deviates for a -seed option value."""
    rng = CRandom.from_option(seed)
    assert [rng.ran1() for _ in range(10)] == _floats32(RAN1_C[seed])


def test_ran1_array_matches_scalar_calls_and_state():
    """ran1_array gives the scalar sequence (across jump blocks) and leaves the same state."""
    bulk, scalar = CRandom(-987), CRandom(-987)
    values = bulk.ran1_array(10_000)
    assert values.tolist() == [scalar.ran1() for _ in range(10_000)]
    assert (bulk.idum, bulk.statics.iy, bulk.statics.iv) == (scalar.idum, scalar.statics.iy, scalar.statics.iv)


def test_ran1_zero_seed_is_replaced_by_one():
    """Like the C, a seed of 0 runs as idum = 1 (the same stream as seed -1)."""
    zero, one = CRandom(0), CRandom(-1)
    assert [zero.ran1() for _ in range(5)] == [one.ran1() for _ in range(5)]


def test_ran1_shared_statics_interleave_like_c():
    """Two streams sharing statics interleave as the C's static shuffle table does."""
    shared = Ran1Statics()
    a, b = CRandom(-1, shared), CRandom(-2, shared)
    got = [a.ran1(), a.ran1(), b.ran1(), a.ran1(), b.ran1()]
    # C: long a=-1, b=-2; ran1(&a), ran1(&a), ran1(&b), ran1(&a), ran1(&b)
    assert got == _floats32("0.415999353 0.091964893 0.342298776 0.402381182 0.307837933")


def test_gaussdev_first_four_match_c():
    """gaussdev reproduces the C's deviates, spare included."""
    rng = CRandom(-12345)
    # C: gaussdev with idum = -12345, four calls
    assert [rng.gaussdev() for _ in range(4)] == _floats32("-0.225761712 0.572505057 0.161911309 0.805111349")


def test_gaussdev_spare_is_shared_between_streams():
    """The spare deviate of one stream is returned to the next caller, as the C's static is."""
    shared = Ran1Statics()
    c, d = CRandom(-5, shared), CRandom(-6, shared)
    # C: gaussdev(&c), gaussdev(&d), gaussdev(&d) with c = -5, d = -6
    assert [c.gaussdev(), d.gaussdev(), d.gaussdev()] == _floats32("0.521413922 -0.945488513 -0.316965401")


def test_poidev_all_branches_match_c():
    """poidev matches the C in the direct (<12), rejection and Gaussian (>1e6) branches."""
    rng = CRandom(-2024)
    means = [0.0, 3.5, 11.99, 12.0, 50.0, 1234.5, 2.5e6, 1e6, 2.5e6]
    # C: poidev of these float means in turn, idum = -2024
    expected = _floats32("0 1 14 12 50 1230 2501018.75 1000733 2496350.25")
    assert [rng.poidev(m) for m in means] == expected


class _ScriptedRandom(CRandom):
    """A CRandom whose ran1 hands out given float deviates, to reach rare rounding cases."""

    def __init__(self, *values):
        super().__init__(-1)
        self.values = [float(np.float32(v)) for v in values]

    def ran1(self):
        return self.values.pop(0)


# C: poidev with ran1 replaced by a function returning these floats (read at run time);
# printed: the deviate and how many numbers it drew.
@pytest.mark.parametrize(
    "xm, deviates, expected, drawn, case",
    [
        # 0.60122561*0.13652945 exceeds g = exp(-2.5) in double but rounds to g as a float
        (2.5, (0.6012256145477295, 0.13652944564819336, 0.5), 1.0, 2, "float product t *= ran1"),
        # y = tan(pi*0.3) rounded to float moves t just below the acceptance deviate: rejected
        (50.0, (0.30000001192092896, 0.48781436681747437, 0.999, 0.01), 49.0, 4, "float y"),
        # y*y taken in float makes t equal the acceptance deviate: accepted at once
        (50.0, (0.3000360131263733, 0.48796629905700684, 0.999, 0.01), 63.0, 2, "float y*y"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_poidev_float_rounding_matches_c(xm, deviates, expected, drawn, case):
    """poidev rounds to float where the C does; each case flips if that rounding is skipped."""
    rng = _ScriptedRandom(*deviates)
    assert (rng.poidev(xm), len(deviates) - len(rng.values)) == (expected, drawn)


def test_gammln_matches_c():
    """gammln returns the C's float results."""
    # C: gammln(0.5f), gammln(5.0f), gammln(12.5f), gammln(1001.0f)
    expected = _floats32("0.572364926 3.17805386 18.7343483 5912.12842")
    assert [gammln(x) for x in (0.5, 5.0, 12.5, 1001.0)] == expected


def test_poidev_each_equals_one_poidev_call_per_mean():
    """poidev_each draws the same deviates as poidev called once per mean, in every branch of poidev."""
    means = [0.0, 3.5, 11.9, 12.0, 250.5, 2e6, 1e-3, 40.0]
    one_by_one = CRandom(-7)
    assert CRandom(-7).poidev_each(np.array(means), block=5) == [one_by_one.poidev(m) for m in means]
