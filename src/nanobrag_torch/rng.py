"""nanoBragg's random-number generator, reproduced bit for bit.

The C uses the Numerical Recipes generators: ``ran1`` (Park-Miller "minimal standard" with a
Bays-Durham shuffle), ``gaussdev`` (polar Box-Muller), ``poidev`` (Poisson) and ``gammln``.
They compute in C ``float`` in places; every such step is rounded to float32 here, and C
``exp``/``log``/``sqrt``/``tan`` of doubles are Python's ``math`` functions (the same C library
routines). What the C draws with them lives with its users: mosaic domains and random orientations
in ``models.mosaic``, the noise image in ``io.noise``.

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
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

# c_float is _f32 here: the Numerical Recipes code below rounds to float at almost every step.
from ._c_numbers import c_div, c_float as _f32, c_log

__all__ = [
    "CRandom",
    "Ran1Statics",
    "gammln",
]

_IA, _IM, _IQ, _IR, _NTAB = 16807, 2147483647, 127773, 2836, 32
_NDIV = 1 + (_IM - 1) // _NTAB
_AM = 1.0 / _IM
_RNMX = 1.0 - 1.2e-7
_GAMMLN_COF = (
    76.18009172947146, -86.50532032941677, 24.01409824083091,
    -1.231739572450155, 0.1208650973866179e-2, -0.5395239384953e-5,
)

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

    def poidev_each(self, means, block: int = 1 << 15) -> list[float]:
        """:meth:`poidev` of each mean in turn (rounded to float first), drawing ``ran1`` deviates in blocks of
        ``block`` (much faster than one call each); the stream is left up to one block further on than the
        C's, so use it for the last draws of a stream.

        Example:
            >>> CRandom(-12345).poidev_each([3.5, 3.5, 3.5, 3.5])
            [7.0, 3.0, 1.0, 6.0]
        """
        values: list[float] = []
        pos = 0

        def draw() -> float:
            """Next deviate of the stream, refilling the block when it runs out."""
            nonlocal values, pos
            if pos == len(values):
                values, pos = self.ran1_array(block).tolist(), 0
            pos += 1
            return values[pos - 1]

        # numpy rounds the whole array to float32 at once (what _f32 does one value at a time).
        rounded = np.asarray(means, dtype=np.float32).tolist()
        return [_poidev(xm, draw, self.statics) for xm in rounded]


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
    log, div = (math.log, _plain_div) if 0.0 < x < math.inf else (c_log, c_div)
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

