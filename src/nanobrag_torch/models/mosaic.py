"""Random orientations as nanoBragg draws them: mosaic domain rotations and ``-misset random``.

Both come from the C's ``mosaic_rotation_umat``, fed by one :class:`~nanobrag_torch.rng.CRandom` stream, and
are plain float64 numpy matrices (the crystal turns them into tensors). ``powf`` is numpy's float32 *scalar*
power, which calls the C library's ``powf``; numpy's float32 *array* power uses SIMD code with different
last-bit results and must not be used for it. ``sin``/``cos``/``atan2`` of doubles are Python's ``math``
functions (the same C library routines).

Example:
    >>> u = mosaic_domain_umats(0.01, 2, CRandom(-12345678))
    >>> u.shape, bool(np.allclose(u[1] @ u[1].T, np.eye(3)))
    ((2, 3, 3), True)
"""

from __future__ import annotations

import math

import numpy as np

from ..rng import CRandom

__all__ = ["mosaic_domain_umats", "mosaic_rotation_umat", "umat2misset"]

_ONE_THIRD_F32 = np.float32(1.0 / 3.0)


def mosaic_rotation_umat(mosaicity: float, rng: CRandom) -> np.ndarray:
    """The C's random rotation on a spherical cap of "diameter" ``mosaicity`` (radians;
    90.0 gives a random orientation, as ``-misset random`` uses), as a (3, 3) float64 matrix.

    Draws three ``ran1`` deviates. ``mosaicity`` is rounded to float and the cap angle is
    ``mosaicity * powf(1 - r3*r3, 1/3)`` in float arithmetic, as in the C.

    Example:
        >>> u = mosaic_rotation_umat(0.01, CRandom(-12345678))
        >>> bool(np.allclose(u @ u.T, np.eye(3)))
        True
    """
    r1 = 2.0 * rng.ran1() - 1.0
    r2 = 2.0 * rng.ran1() - 1.0
    r3 = 2.0 * rng.ran1() - 1.0
    xyrad = math.sqrt(1.0 - r2 * r2)
    # numpy float32 scalars: the multiply is a float multiply and ** calls the C library's powf.
    rot = float(np.float32(mosaicity) * (np.float32(1.0 - r3 * r3) ** _ONE_THIRD_F32))
    v1 = xyrad * math.sin(math.pi * r1)
    v2 = xyrad * math.cos(math.pi * r1)
    v3 = r2
    t1 = math.cos(rot)
    t2 = 1.0 - t1
    t6 = t2 * v1
    t7 = t6 * v2
    t8 = math.sin(rot)
    t9 = t8 * v3
    t11 = t6 * v3
    t12 = t8 * v2
    t19 = t2 * v2 * v3
    t20 = t8 * v1
    return np.array(
        [
            [t1 + t2 * (v1 * v1), t7 - t9, t11 + t12],
            [t7 + t9, t1 + t2 * (v2 * v2), t19 - t20],
            [t11 - t12, t19 + t20, t1 + t2 * (v3 * v3)],
        ],
        dtype=np.float64,
    )


def mosaic_domain_umats(mosaic_spread_rad: float, n_domains: int, rng: CRandom) -> np.ndarray:
    """The C's mosaic domain rotations, (n_domains, 3, 3): one :func:`mosaic_rotation_umat`
    per domain, with the first replaced by the identity after its numbers are drawn.

    The C's stream is ``CRandom.from_option(mosaic_seed)``, or ``CRandom(-12345678)`` by default.

    Example:
        >>> u = mosaic_domain_umats(0.01, 3, CRandom(-12345678))
        >>> u.shape, u[0].tolist() == np.eye(3).tolist()
        ((3, 3, 3), True)
    """
    umats = np.empty((n_domains, 3, 3), dtype=np.float64)
    for domain in range(n_domains):
        umats[domain] = mosaic_rotation_umat(mosaic_spread_rad, rng)
    if n_domains > 0:
        umats[0] = np.eye(3)
    return umats


def _norm(row: list[float]) -> float:
    return math.sqrt(row[0] * row[0] + row[1] * row[1] + row[2] * row[2])


def _unit(row: list[float], length: float) -> list[float]:
    return [row[0] / length, row[1] / length, row[2] / length] if length > 0 else row


def _unit_cross(a: list[float], b: list[float]) -> list[float]:
    c = [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
    return _unit(c, _norm(c))


def umat2misset(umat: np.ndarray) -> tuple[float, float, float]:
    """The C's ``umat2misset``: rotation matrix to misset angles (rotx, roty, rotz), radians.

    Rows are normalised, empty rows are rebuilt from cross products of the others (twice, as
    in the C), and the angles come from the last row; the C's gimbal-lock branch is kept.

    Example:
        >>> c, s = math.cos(0.3), math.sin(0.3)
        >>> [round(a, 12) + 0.0 for a in umat2misset(np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]))]
        [0.0, 0.0, 0.3]
    """
    m = np.asarray(umat, dtype=np.float64).reshape(3, 3)
    x, y, z = (list(map(float, row)) for row in m)
    mx, my, mz = _norm(x), _norm(y), _norm(z)
    x, y, z = _unit(x, mx), _unit(y, my), _unit(z, mz)
    # The ">= 0" tests matter only for NaN rows, where the C skips the replacement.
    if mx >= 0 and my <= 0 and mz <= 0:
        y, z = [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]
    if mx <= 0 and my >= 0 and mz <= 0:
        x, z = [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]
    if mx <= 0 and my <= 0 and mz >= 0:
        x, y = [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]
    for _ in range(2):
        xcy, ycz, zcx = _unit_cross(x, y), _unit_cross(y, z), _unit_cross(z, x)
        x = ycz if mx <= 0 else x
        y = zcx if my <= 0 else y
        z = xcy if mz <= 0 else z
    x, y, z = _unit(x, _norm(x)), _unit(y, _norm(y)), _unit(z, _norm(z))
    (uxx, uxy, _), (uyx, uyy, _), (uzx, uzy, uzz) = x, y, z
    if uzx * uzx < 1.0:
        return (
            math.atan2(uzy, uzz),
            math.atan2(-uzx, math.sqrt(uzy * uzy + uzz * uzz)),
            math.atan2(uyx, uxx),
        )
    return (math.atan2(1, 1) * 4, math.atan2(1, 1) * 2, math.atan2(uxy, -uyy))
