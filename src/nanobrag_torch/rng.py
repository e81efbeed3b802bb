"""nanoBragg's random numbers, reproduced bit for bit.

The C uses the Numerical Recipes generators: ``ran1`` (Park-Miller "minimal standard" with a
Bays-Durham shuffle), ``gaussdev`` (polar Box-Muller), ``poidev`` (Poisson) and ``gammln``.
They compute in C ``float`` in places; every such step is rounded to float32 here, and C
``exp``/``log``/``sqrt``/``tan``/``sin``/``cos``/``atan2`` of doubles are Python's ``math``
functions (the same C library routines). ``powf`` is numpy's float32 *scalar* power, which
calls the C library's ``powf``; numpy's float32 *array* power uses SIMD code with different
last-bit results and must not be used for it.

State model. In the C, ``ran1``'s shuffle table (``iy``, ``iv``) and ``gaussdev``'s spare deviate
are function-static: one copy per process, shared by every seed variable (``seed``,
``mosaic_seed``, ``misset_seed``). Each seed variable is a separate ``long`` passed by pointer.
Here a :class:`CRandom` holds one seed variable (``idum``) plus a reference to a
:class:`Ran1Statics` holding the static variables. By default every ``CRandom`` gets its own
statics. That reproduces the C program exactly: each of its streams starts from a negative
seed, which makes ``ran1`` rebuild the shuffle table before the first number, and ``gaussdev``
is only reached from the noise stream. To reproduce any other interleaving, hand one
``Ran1Statics`` to several ``CRandom`` objects. ``poidev``'s static cache (``oldm``, ``g``,
``sq``, ``alxm``) only avoids recomputing functions of ``xm`` and is not modelled.
"""

from __future__ import annotations

import functools
import math
import struct
from dataclasses import dataclass, field
from typing import Callable, NamedTuple

import numpy as np

from ._c_arithmetic import c_div
from .io.images import c_cast_unsigned, roi_mask

__all__ = [
    "CRandom",
    "NoiseImage",
    "Ran1Statics",
    "gammln",
    "mosaic_domain_umats",
    "mosaic_rotation_umat",
    "poisson_noise_image",
    "umat2misset",
]

_IA, _IM, _IQ, _IR, _NTAB = 16807, 2147483647, 127773, 2836, 32
_NDIV = 1 + (_IM - 1) // _NTAB
_AM = 1.0 / _IM
_RNMX = 1.0 - 1.2e-7
_F32 = struct.Struct("f")
_GAMMLN_COF = (
    76.18009172947146, -86.50532032941677, 24.01409824083091,
    -1.231739572450155, 0.1208650973866179e-2, -0.5395239384953e-5,
)
_ONE_THIRD_F32 = np.float32(1.0 / 3.0)


def _f32(x: float, _pack=_F32.pack, _unpack=_F32.unpack) -> float:
    """Round a double to the nearest float32 (what assigning to a C float does)."""
    try:
        return _unpack(_pack(x))[0]
    except OverflowError:  # struct refuses what C rounds to infinity
        return math.copysign(math.inf, x)


_RNMX_F32 = _f32(_RNMX)


@dataclass
class Ran1Statics:
    """The C's function-static random-number state: ``ran1``'s ``iy`` and shuffle table ``iv``,
    and ``gaussdev``'s spare deviate (None when it has none).

    Example:
        >>> shared = Ran1Statics()
        >>> a, b = CRandom(-1, shared), CRandom(-2, shared)
        >>> a.statics is b.statics
        True
    """

    iy: int = 0
    iv: list[int] = field(default_factory=lambda: [0] * _NTAB)
    gauss_spare: float | None = None


def _schrage(idum: int) -> int:
    """One Park-Miller step, ``16807*idum mod (2^31-1)``, written as the C writes it."""
    k = idum // _IQ  # idum is never negative here, so this equals C's truncating division
    idum = _IA * (idum - k * _IQ) - _IR * k
    return idum + _IM if idum < 0 else idum


class CRandom:
    """One C seed variable (``long idum``) and the generators that draw from it.

    ``idum`` is the value the C stores: ``-seed`` for the command-line ``-seed``, ``-mosaic_seed``
    and ``-misset_seed`` options (use :meth:`from_option`); ``-12345678`` for the default mosaic
    seed. ``statics`` is the shared static state (see the module notes).

    Example:
        >>> r = CRandom.from_option(12345)
        >>> r.idum, round(r.ran1(), 6)
        (-12345, 0.923121)
    """

    def __init__(self, idum: int, statics: Ran1Statics | None = None) -> None:
        self.idum = int(idum)
        self.statics = Ran1Statics() if statics is None else statics

    @classmethod
    def from_option(cls, seed: int, statics: Ran1Statics | None = None) -> "CRandom":
        """The stream for a command-line seed option: the C stores ``-atoi(value)``.

        Example:
            >>> CRandom.from_option(42).idum
            -42
        """
        return cls(-int(seed), statics)

    def _reseed(self) -> None:
        """The C's first-call branch: make idum positive and refill the shuffle table."""
        state = self.statics
        idum = 1 if -self.idum < 1 else -self.idum
        for j in range(_NTAB + 7, -1, -1):
            idum = _schrage(idum)
            if j < _NTAB:
                state.iv[j] = idum
        state.iy = state.iv[0]
        self.idum = idum

    def ran1(self) -> float:
        """Next uniform deviate in (0, 1) as the C's float (returned as a Python float).

        Example:
            >>> r = CRandom(-42)
            >>> [round(r.ran1(), 6) for _ in range(2)]
            [0.471973, 0.539009]
        """
        state = self.statics
        if self.idum <= 0 or not state.iy:
            self._reseed()
        self.idum = _schrage(self.idum)
        j = state.iy // _NDIV
        state.iy = state.iv[j]
        state.iv[j] = self.idum
        value = _f32(_AM * state.iy)
        return _RNMX_F32 if value > _RNMX else value

    def ran1_array(self, n: int) -> np.ndarray:
        """The next ``n`` deviates of :meth:`ran1` as float32, computed in bulk.

        The Park-Miller sequence is produced by jumping ahead in numpy; only the shuffle runs
        in a Python loop. The stream is left exactly where ``n`` calls to ``ran1`` leave it.

        Example:
            >>> a, b = CRandom(-7), CRandom(-7)
            >>> a.ran1_array(5).tolist() == [b.ran1() for _ in range(5)]
            True
        """
        out = np.empty(n, dtype=np.float32)
        done = 0
        # The C re-seeds on any call that finds idum <= 0 or iy == 0; take such calls one at a
        # time so the bulk path only ever sees a running generator.
        while done < n and (self.idum <= 0 or not self.statics.iy):
            out[done] = self.ran1()
            done += 1
        if done < n:
            out[done:] = self._bulk(n - done)
        return out

    def _bulk(self, n: int) -> np.ndarray:
        idums = _park_miller_sequence(self.idum, n)
        state = self.statics
        iv = state.iv
        iy = state.iy
        shuffled = [0] * n
        for i, idum in enumerate(idums.tolist()):
            j = iy // _NDIV
            iy = iv[j]
            iv[j] = idum
            shuffled[i] = iy
        state.iy = iy
        self.idum = int(idums[-1])
        values = (np.array(shuffled, dtype=np.float64) * _AM).astype(np.float32)
        values[values > _RNMX] = np.float32(_RNMX_F32)
        return values

    def gaussdev(self) -> float:
        """Next normal deviate (mean 0, rms 1), the C's float arithmetic, spare kept in statics.

        Example:
            >>> round(CRandom(-12345).gaussdev(), 6)
            -0.225762
        """
        return _gaussdev(self.ran1, self.statics)

    def poidev(self, xm: float) -> float:
        """Poisson deviate with mean ``xm`` (rounded to float first, as the C's argument is).

        Example:
            >>> r = CRandom(-12345)
            >>> [r.poidev(3.5) for _ in range(4)]
            [7.0, 3.0, 1.0, 6.0]
        """
        return _poidev(_f32(xm), self.ran1, self.statics)


def _jump_powers(count: int) -> np.ndarray:
    powers = np.empty(count, dtype=np.int64)
    p = 1
    for k in range(count):
        p = p * _IA % _IM
        powers[k] = p
    return powers


_JUMP = _jump_powers(4096)  # 16807^k mod (2^31-1) for k = 1..4096


def _park_miller_sequence(idum: int, n: int) -> np.ndarray:
    """``idum`` advanced 1..n steps (``idum * 16807^k mod (2^31-1)``), for 0 < idum < 2^31-1."""
    out = np.empty(n, dtype=np.int64)
    start = idum
    for first in range(0, n, len(_JUMP)):
        count = min(len(_JUMP), n - first)
        # Both factors are below 2^31, so the product fits in int64 exactly.
        out[first : first + count] = _JUMP[:count] * start % _IM
        start = int(out[first + count - 1])
    return out


def _gaussdev(draw: Callable[[], float], statics: Ran1Statics) -> float:
    if statics.gauss_spare is not None:
        spare, statics.gauss_spare = statics.gauss_spare, None
        return spare
    while True:
        v1 = _f32(2.0 * draw() - 1.0)
        v2 = _f32(2.0 * draw() - 1.0)
        rsq = _f32(_f32(v1 * v1) + _f32(v2 * v2))
        if rsq < 1.0 and rsq != 0.0:
            break
    fac = _f32(math.sqrt(-2.0 * math.log(rsq) / rsq))
    statics.gauss_spare = _f32(v1 * fac)
    return _f32(v2 * fac)


def gammln(xx: float) -> float:
    """The C's ``gammln``: ln(Gamma(xx)) in double, from a float argument, returned as float.

    Example:
        >>> round(gammln(5.0), 5)  # ln(4!) = ln 24
        3.17805
    """
    x = y = _f32(xx)
    # Python raises where C returns inf/NaN; the guarded operations are only needed outside
    # 0 < x < inf, so the common case keeps plain arithmetic.
    log, div = (math.log, _plain_div) if 0.0 < x < math.inf else (_c_log, c_div)
    tmp = x + 5.5
    tmp -= (x + 0.5) * log(tmp)
    ser = 1.000000000190015
    for cof in _GAMMLN_COF:
        y += 1.0
        ser += div(cof, y)
    return _f32(-tmp + log(div(2.5066282746310005 * ser, x)))


# poidev's rejection loop evaluates gammln(em + 1) for integer em over and over.
_gammln_cached = functools.lru_cache(maxsize=1 << 16)(gammln)


def _plain_div(a: float, b: float) -> float:
    return a / b


def _c_log(x: float) -> float:
    """C ``log``, which returns -inf at zero and NaN below zero where ``math.log`` raises."""
    if x > 0.0:
        return math.log(x)
    return -math.inf if x == 0.0 else math.nan


def _poidev(xm: float, draw: Callable[[], float], statics: Ran1Statics) -> float:
    """The C's ``poidev`` for a float32 ``xm``; float products and sums rounded as the C's."""
    if xm > 1.0e6:
        return _f32(xm + math.sqrt(xm) * _gaussdev(draw, statics))
    if xm < 12.0:
        # exp overflows for xm < -709.78, where the C's float g is inf anyway
        g = _f32(math.exp(-xm)) if xm > -700.0 else math.inf
        em = 0.0
        t = draw()  # the C's first product, 1.0f * u, is exactly u
        while t > g:
            em += 1.0
            t = _f32(t * draw())
        return em
    sq = _f32(math.sqrt(2.0 * xm))
    alxm = _f32(math.log(xm))
    g = _f32(_f32(xm * alxm) - gammln(xm + 1.0))
    while True:
        while True:
            y = _f32(math.tan(math.pi * draw()))
            em = _f32(_f32(sq * y) + xm)
            if not em < 0.0:
                break
        em = float(math.floor(em)) if math.isfinite(em) else em
        exponent = _f32(_f32(_f32(em * alxm) - _gammln_cached(em + 1.0)) - g)
        t = _f32(0.9 * (1.0 + _f32(y * y)) * math.exp(exponent))
        if not draw() > t:
            return em


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


class NoiseImage(NamedTuple):
    """Result of :func:`poisson_noise_image`: the uint16 ``image``, the ``photons`` sum the C
    prints ("%.0f photons on noise image") and the number of ``overloads`` (pixels clipped).

    Example:
        >>> NoiseImage(np.zeros((1, 1), np.uint16), 0.0, 0).overloads
        0
    """

    image: np.ndarray
    photons: float
    overloads: int


def _poisson_deviates(means: list[float], stream: CRandom, block: int = 1 << 15) -> list[float]:
    """``poidev`` of each float32 mean in turn, drawing from ``stream`` in blocks of ``block``
    deviates (``ran1_array`` is much faster than single calls); the stream is left up to one
    block further on than the C's."""
    values: list[float] = []
    pos = 0

    def draw() -> float:
        """Next deviate of the stream, refilling the block when it runs out."""
        nonlocal values, pos
        if pos == len(values):
            values, pos = stream.ran1_array(block).tolist(), 0
        pos += 1
        return values[pos - 1]

    statics = stream.statics
    return [_poidev(xm, draw, statics) for xm in means]


def poisson_noise_image(
    float_image: np.ndarray,
    seed: int,
    roi: tuple[int, int, int, int] | None = None,
    adc_offset: float = 40.0,
) -> NoiseImage:
    """The C's ``-noisefile`` image: ``poidev`` of every ROI pixel (row-major), plus
    ``adc_offset``, clipped at 65535 (counted as overloads), cast to unsigned short.

    ``seed`` is the ``-seed`` option value (the C uses the stream ``-seed``). Pixels outside
    ``roi`` (the C's ``-roi xmin xmax ymin ymax``) draw no numbers and are 0. The photon sum is
    accumulated in double in pixel order, as in the C.

    Example:
        >>> noisy = poisson_noise_image(np.full((2, 2), 3.0, np.float32), seed=12345, adc_offset=10.0)
        >>> noisy.image.tolist(), noisy.photons, noisy.overloads
        ([[14, 14], [12, 12]], 12.0, 0)
    """
    image = np.asarray(float_image, dtype=np.float32)
    if image.ndim != 2:
        raise ValueError(f"float_image has {image.ndim} dimensions, expected 2 (slow, fast)")
    inside = roi_mask(image.shape, roi)
    deviates = _poisson_deviates(image[inside].tolist(), CRandom.from_option(seed))
    photons = 0.0
    for value in deviates:
        photons += value
    test = np.array(deviates, dtype=np.float64) + adc_offset
    with np.errstate(invalid="ignore"):
        clipped = test > 65535.0
    test[clipped] = 65535.0
    noisy = np.zeros(image.shape, dtype=np.uint16)
    noisy[inside] = c_cast_unsigned(test, 16)
    return NoiseImage(noisy, photons, int(np.count_nonzero(clipped)))
