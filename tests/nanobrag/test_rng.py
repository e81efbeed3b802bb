"""Tests for nanobrag_torch.rng: bit-exact reproductions of nanoBragg's random numbers.

Reference numbers marked "C:" were produced by the functions ran1, gaussdev, poidev, gammln,
mosaic_rotation_umat and umat2misset copied unchanged from nanoBragg.c into a scratch program
outside this repository, compiled with gcc 12.2 -O2 -ffp-contract=off (glibc 2.36, x86-64).
Deviates are printed with %.9g (enough to identify a float exactly), doubles with %.17g.
"""

import hashlib
import math
import re
from pathlib import Path

import numpy as np
import pytest

from nanobrag_torch.io import read_float_image, read_smv
from nanobrag_torch.rng import (
    CRandom,
    Ran1Statics,
    gammln,
    mosaic_domain_umats,
    mosaic_rotation_umat,
    poisson_noise_image,
    umat2misset,
)

CASE = Path(__file__).resolve().parents[1] / "data" / "c_reference" / "io_smv_int_noise"

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


# C: mosaic_rotation_umat(mosaicity, umat, &idum) followed by umat2misset(umat).
UMAT_C = [
    (
        -12345678,  # the default mosaic seed
        0.00872664625997165,  # 0.5 degree in radians
        "0.99996612375044724 0.0082266013279829672 -0.00027273081166300314 -0.0082272825073718553"
        " 0.99996277932151434 -0.002598421470118665 0.00025134448292042335 0.0026005772787805153"
        " 0.99999658690605941",
        "0.002600580292219185 -0.00025134448556683151 -0.0082273755850429883",
    ),
    (
        -12345,  # "-misset random" with "-seed 12345" uses mosaicity 90
        90.0,
        "-0.11157185802898434 -0.19336190353327237 -0.9747629941467566 -0.81200982706876235"
        " 0.58320038697461762 -0.022745315482872119 0.57288023289315815 0.78897939320025712"
        " -0.22208051662771988",
        "1.8451752577429177 -0.61001558335036155 -1.7073434076993237",
    ),
]


@pytest.mark.parametrize("idum, mosaicity, umat, missets", UMAT_C)
def test_mosaic_rotation_umat_matches_c(idum, mosaicity, umat, missets):
    """mosaic_rotation_umat reproduces the C's matrix bit for bit (float powf included)."""
    got = mosaic_rotation_umat(mosaicity, CRandom(idum))
    assert got.ravel().tolist() == [float(v) for v in umat.split()]


@pytest.mark.parametrize("idum, mosaicity, umat, missets", UMAT_C)
def test_umat2misset_matches_c(idum, mosaicity, umat, missets):
    """umat2misset reproduces the C's angles for the C's matrices."""
    matrix = np.array([float(v) for v in umat.split()]).reshape(3, 3)
    assert list(umat2misset(matrix)) == [float(v) for v in missets.split()]


@pytest.mark.parametrize(
    "matrix, expected",
    [
        # C: umat2misset of an all-zero matrix (rows replaced by the identity)
        (np.zeros((3, 3)), (0.0, -0.0, 0.0)),
        # C: umat2misset of rows (0,0,1), (0,1,0), (-1,0,0): the gimbal-lock branch
        (np.array([[0, 0, 1], [0, 1, 0], [-1, 0, 0]], float), (math.pi, math.pi / 2, math.pi)),
    ],
)
def test_umat2misset_degenerate_matrices_match_c(matrix, expected):
    """umat2misset keeps the C's handling of empty rows and of gimbal lock."""
    got = umat2misset(matrix)
    assert got == expected
    assert [math.copysign(1.0, v) for v in got] == [math.copysign(1.0, v) for v in expected]


class _FixedDeviates:
    """Stands in for CRandom: hands out given float deviates."""

    def __init__(self, *values):
        self.values = [float(np.float32(v)) for v in values]

    def ran1(self):
        return self.values.pop(0)


def test_mosaic_rotation_umat_uses_c_library_powf():
    """The cap angle uses the C library's powf: r3 = 2*0.93467128-1 is a case where numpy's
    float32 array power and a double pow rounded to float both differ from it by one ulp."""
    got = mosaic_rotation_umat(0.5, _FixedDeviates(0.25, 0.6, 0.9346712827682495))
    # C: mosaic_rotation_umat(0.5, ...) with ran1 replaced by a function returning these three
    # floats (read at run time, so gcc cannot fold powf at compile time)
    expected = (
        "0.99806217711369472 -0.061496072060810175 -0.0094933522089711408 0.061496072060810175"
        " 0.95155445094300783 0.30126792064812086 -0.0094933522089711789 -0.30126792064812086"
        " 0.95349227382931312"
    )
    assert got.ravel().tolist() == [float(v) for v in expected.split()]


def test_mosaic_domain_umats_first_is_identity_second_is_second_draw():
    """Domain 0 is forced to the identity after drawing; domain 1 is the C's second matrix."""
    umats = mosaic_domain_umats(0.00872664625997165, 2, CRandom(-12345678))
    # C: the second mosaic_rotation_umat call with idum = -12345678, mosaicity 0.5 degree
    second = (
        "0.99996592089784464 -0.0079751680914580177 0.0021339486494309119 0.0079761872189555976"
        " 0.99996807949662869 -0.0004694946988297568 -0.0021301362335746331 0.00048649947281547405"
        " 0.99999761291609557"
    )
    assert umats[0].tolist() == np.eye(3).tolist()
    assert umats[1].ravel().tolist() == [float(v) for v in second.split()]


def _photons_line(log: str) -> tuple[float, int]:
    match = re.search(r"^(\d+) photons on noise image \((\d+) overloads\)$", log, re.M)
    return float(match.group(1)), int(match.group(2))


def test_noise_image_reproduces_c_noise_img():
    """poisson_noise_image reproduces noise.img of the C run (-seed 12345 -adc 30) bit for bit."""
    image = read_float_image(CASE / "image.bin", (128, 128))
    noisy = poisson_noise_image(image, 12345, None, 30.0)
    assert np.array_equal(noisy.image, read_smv(CASE / "noise.img").data)
    assert (noisy.photons, noisy.overloads) == _photons_line((CASE / "stdout.log").read_text())


def test_noise_image_roi_draws_only_inside_roi():
    """With a ROI, only ROI pixels draw numbers (row-major) and the others are 0."""
    image = read_float_image(CASE / "image.bin", (128, 128))
    noisy = poisson_noise_image(image, 12345, (10, 100, 20, 90), 30.0)
    # C: the same command as this case plus "-roi 10 100 20 90" (its float image equals this
    # one inside the ROI); sha256 of its noise.img pixel bytes, and "9650 photons".
    digest = hashlib.sha256(noisy.image.astype("<u2").tobytes()).hexdigest()
    assert digest == "7644f27e224a90f1d617389e9427ef66a9c5b5ac5e7dd9c35a145b650e6ff49a"
    assert noisy.photons == 9650.0


def test_noise_image_counts_overloads_like_c():
    """Pixels above 65535 after the ADC offset are clipped and counted."""
    noisy = poisson_noise_image(np.full((4, 4), 65500.0, np.float32), 7, None, 40.0)
    # C: the noise loop of nanoBragg on a 4x4 image of 65500 with -seed 7 -adc 40
    expected = [65535, 65001, 65467, 65535, 65432, 65535, 65535, 65289,
                65535, 65535, 65305, 65336, 65267, 65535, 65535, 65535]
    assert noisy.image.ravel().tolist() == expected
    assert (noisy.photons, noisy.overloads) == (1048437.0, 9)


def test_noise_image_negative_adc_wraps_like_c():
    """A negative result of deviate + adc wraps modulo 65536, as gcc's cast does on x86-64."""
    noisy = poisson_noise_image(np.zeros((2, 2), np.float32), 7, None, -40.0)
    assert noisy.image.ravel().tolist() == [65496] * 4
