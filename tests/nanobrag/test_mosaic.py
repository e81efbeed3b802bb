"""Tests for nanobrag_torch.models.mosaic: the C's random orientations, bit for bit.

Reference numbers marked "C:" were produced by the functions ran1, mosaic_rotation_umat and umat2misset
copied unchanged from nanoBragg.c into a scratch program outside this repository, compiled with gcc 12.2 -O2
-ffp-contract=off (glibc 2.36, x86-64). Doubles are printed with %.17g.
"""

import math

import numpy as np
import pytest

from nanobrag_torch.models.mosaic import mosaic_domain_umats, mosaic_rotation_umat, umat2misset
from nanobrag_torch.rng import CRandom

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
