"""Stateless per-reflection physics of nanoBragg: lattice transforms, structure factors, polarization.

Every function takes tensors, returns tensors on the inputs' device and dtype, broadcasts over any batch
shape and stays differentiable (masked branches use "safe" operands so that no NaN gradient leaks out of
the branch that is not taken). Arithmetic is written in the C's operation order so that float64 results
match nanoBragg bit for bit wherever libm agrees.

Example:
    >>> import torch
    >>> h = torch.tensor([0.0, 0.25], dtype=torch.float64)
    >>> [round(float(v), 12) for v in sincg(torch.pi * h, 5.0)]
    [5.0, -1.0]
"""

from __future__ import annotations

import functools
import math
from typing import Optional, Sequence

import torch

from .config import CrystalShape
from .geometry import cross3, dot3, unitize

__all__ = [
    "R_E_SQR",
    "broadcast_shape",
    "interpolate_structure_factor",
    "interpolation_in_range",
    "lattice_factor",
    "nearest_structure_factor",
    "polarization_factor",
    "sinc3",
    "sincg",
]

#: Thomson cross section of the electron, r_e^2 in m^2 (nanoBragg's literal).
R_E_SQR = 7.94079248018965e-30
# nanoBragg scales the sphere transform by sqrt of the cube/sphere volume ratio with this literal.
_ROUND_SCALE = 0.723601254558268
# Gaussian and top-hat spot widths chosen in nanoBragg to match the square crystal's spot volume.
_GAUSS_WIDTH = 0.63
_TOPHAT_RADIUS_SQR = 0.3969


def broadcast_shape(*shapes: Sequence[int]) -> tuple:
    """The shape that ``shapes`` broadcast to: ``torch.broadcast_shapes`` without its first call's import
    of ``torch.fx`` (most of a second of start-up).

    Example:
        >>> broadcast_shape((4, 1, 3), (2, 1), ())
        (4, 2, 3)
    """
    result = [1] * max((len(shape) for shape in shapes), default=0)
    for shape in shapes:
        for axis, size in enumerate(shape, len(result) - len(shape)):
            if size != 1 and result[axis] not in (1, size):
                raise ValueError(f"broadcast_shape: shapes {[tuple(s) for s in shapes]} do not broadcast: "
                                 f"axis {axis} has sizes {result[axis]} and {size}")
            if size != 1:
                result[axis] = size
    return tuple(result)


def sincg(x: torch.Tensor, n) -> torch.Tensor:
    """The grating function ``sin(n x) / sin(x)``, equal to ``n`` where ``x == 0`` (as the C).

    ``n`` is a number or a tensor broadcastable with ``x``.

    Example:
        >>> float(sincg(torch.tensor(0.0, dtype=torch.float64), 3.0))
        3.0
    """
    if isinstance(n, torch.Tensor) or (torch.is_grad_enabled() and x.requires_grad):
        zero = x == 0
        if torch.is_grad_enabled() and (x.requires_grad or (isinstance(n, torch.Tensor) and n.requires_grad)):
            # 0/0 in the discarded branch would still poison the gradient: divide by a safe x there.
            x = torch.where(zero, torch.ones_like(x), x)
        value = torch.sin(x * n) / torch.sin(x)
        return torch.where(zero, torch.as_tensor(n, dtype=value.dtype, device=value.device), value)
    return _grating(x.clone(), n)


def _grating(x: torch.Tensor, n: float) -> torch.Tensor:
    """``sincg`` for a plain number ``n`` and an ``x`` this function may overwrite (a temporary of the
    caller's, outside autograd): the same operations, done in place, so that a batch streams through
    memory fewer times."""
    value = torch.sin(x * n)
    zero = x == 0
    value /= x.sin_()
    return value.masked_fill_(zero, n)


def sinc3(x: torch.Tensor) -> torch.Tensor:
    """Fourier transform of a sphere, ``3 (sin x / x - cos x) / x^2``, equal to 1 where ``x == 0``.

    Example:
        >>> float(sinc3(torch.tensor(0.0, dtype=torch.float64)))
        1.0
    """
    zero = x == 0
    safe_x = torch.where(zero, torch.ones_like(x), x)
    value = 3.0 * (torch.sin(safe_x) / safe_x - torch.cos(safe_x)) / (safe_x * safe_x)
    return torch.where(zero, torch.ones_like(value), value)


def _nearest_index(x: torch.Tensor) -> torch.Tensor:
    """The C's ``ceil(x - 0.5)`` rounding (halves go down), as a float tensor."""
    return torch.ceil(x - 0.5)


def _reciprocal_distance_sqr(h, k, l, Na, Nb, Nc, a_star, b_star, c_star) -> torch.Tensor:
    """The C's ``rad_star_sqr``: squared distance to the nearest node in (static) 1/Angstrom units,
    scaled by (Na Nb Nc)^2, summed in the C's order."""
    dh, dk, dl = h - _nearest_index(h), k - _nearest_index(k), l - _nearest_index(l)
    dx = dh * a_star[..., 0] + dk * b_star[..., 0] + dl * c_star[..., 0]
    dy = dh * a_star[..., 1] + dk * b_star[..., 1] + dl * c_star[..., 1]
    dz = dh * a_star[..., 2] + dk * b_star[..., 2] + dl * c_star[..., 2]
    return (dx * dx + dy * dy + dz * dz) * Na * Na * Nb * Nb * Nc * Nc


def _grating_factor(index: torch.Tensor, n) -> torch.Tensor:
    """One factor of the parallelepiped's transform, ``sincg(pi * index, n)``; in place where nothing
    needs a gradient (``pi * index`` is a fresh tensor either way)."""
    x = math.pi * index
    if isinstance(n, torch.Tensor) or (torch.is_grad_enabled() and x.requires_grad):
        return sincg(x, n)
    return _grating(x, n)


def _round_transform(h, k, l, Na, Nb, Nc, fudge) -> torch.Tensor:
    """Ellipsoidal crystal: sinc3 of the scaled distance to the nearest node."""
    dh, dk, dl = h - _nearest_index(h), k - _nearest_index(k), l - _nearest_index(l)
    hrad_sqr = dh * dh * Na * Na + dk * dk * Nb * Nb + dl * dl * Nc * Nc
    scaled = hrad_sqr * fudge
    # sqrt has an infinite slope at 0, where sinc3 is flat: keep that branch out of the graph.
    at_node = scaled == 0
    radius = torch.sqrt(torch.where(at_node, torch.ones_like(scaled), scaled))
    transform = torch.where(at_node, torch.ones_like(scaled), sinc3(math.pi * radius))
    return Na * Nb * Nc * _ROUND_SCALE * transform


def lattice_factor(h: torch.Tensor, k: torch.Tensor, l: torch.Tensor, shape: CrystalShape,
                   Na: float, Nb: float, Nc: float, fudge: float = 1.0,
                   a_star: Optional[torch.Tensor] = None, b_star: Optional[torch.Tensor] = None,
                   c_star: Optional[torch.Tensor] = None):
    """Lattice transform ``F_latt`` at fractional Miller indices, per crystal shape, as nanoBragg.

    Returns ``(F_latt, (F_latt_a, F_latt_b, F_latt_c))`` for SQUARE (a factor is 1 when its N is not
    above 1, as in the C) and ``(F_latt, None)`` otherwise. GAUSS and TOPHAT need the static
    reciprocal vectors ``a_star``/``b_star``/``c_star`` (1/Angstrom, shape (..., 3)).

    Example:
        >>> h = torch.tensor(0.0, dtype=torch.float64)
        >>> F, parts = lattice_factor(h, h, h, CrystalShape.SQUARE, 5.0, 1.0, 2.0)
        >>> float(F), [float(p) for p in parts]
        (10.0, [5.0, 1.0, 2.0])
    """
    if shape is CrystalShape.SQUARE:
        # A factor whose N is not above 1 is exactly 1: a broadcast view, not a tensor of ones.
        one = torch.ones((), dtype=h.dtype, device=h.device).expand(broadcast_shape(h.shape, k.shape, l.shape))
        parts = [_grating_factor(index, n) if n > 1 else one for index, n in ((h, Na), (k, Nb), (l, Nc))]
        varying = [part for part, n in zip(parts, (Na, Nb, Nc)) if n > 1]
        if not varying:
            return one, tuple(parts)
        F_latt = varying[0] if len(varying) == 1 else varying[0] * varying[1]
        for part in varying[2:]:
            F_latt = F_latt * part if F_latt.requires_grad else F_latt.mul_(part)
        return F_latt, tuple(parts)
    if shape is CrystalShape.ROUND:
        return _round_transform(h, k, l, Na, Nb, Nc, fudge), None
    if a_star is None or b_star is None or c_star is None:
        raise ValueError(f"lattice_factor: shape {shape.name} needs a_star, b_star and c_star, got None")
    rad_star_sqr = _reciprocal_distance_sqr(h, k, l, Na, Nb, Nc, a_star, b_star, c_star)
    if shape is CrystalShape.GAUSS:
        return Na * Nb * Nc * torch.exp(-(rad_star_sqr / _GAUSS_WIDTH * fudge)), None
    if shape is CrystalShape.TOPHAT:
        inside = (rad_star_sqr * fudge < _TOPHAT_RADIUS_SQR).to(rad_star_sqr.dtype)
        return Na * Nb * Nc * inside, None
    raise ValueError(f"lattice_factor: unknown crystal shape {shape!r}; expected a CrystalShape member")


def polarization_factor(kahn_factor, incident: torch.Tensor, diffracted: torch.Tensor,
                        axis: torch.Tensor) -> torch.Tensor:
    """Polarization correction of nanoBragg for an incident beam of Kahn factor ``kahn_factor``.

    ``incident``, ``diffracted`` and ``axis`` (the E-vector direction) are (..., 3) and are made unit
    length first, as the C does. The azimuth psi enters only when the Kahn factor is non-zero.

    Example:
        >>> x = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)
        >>> y = torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64)
        >>> z = torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)
        >>> float(polarization_factor(0.0, x, y, z)), float(polarization_factor(1.0, x, y, z))
        (0.5, 1.0)
    """
    incident, _ = unitize(incident)
    diffracted, _ = unitize(diffracted)
    axis, _ = unitize(axis)
    cos2theta = dot3(incident, diffracted)
    cos2theta_sqr = cos2theta * cos2theta
    sin2theta_sqr = 1 - cos2theta_sqr
    kahn = torch.as_tensor(kahn_factor, dtype=cos2theta.dtype, device=cos2theta.device)
    if not torch.is_tensor(kahn_factor) and kahn_factor == 0:
        psi = torch.zeros_like(cos2theta)
    else:
        psi = torch.where(kahn != 0, _polarization_azimuth(incident, diffracted, axis), torch.zeros_like(cos2theta))
    return 0.5 * (1.0 + cos2theta_sqr - kahn * torch.cos(2 * psi) * sin2theta_sqr)


def _polarization_azimuth(incident, diffracted, axis) -> torch.Tensor:
    """psi: angle of the diffracted ray about the beam, measured from the incident E-vector."""
    B_in, _ = unitize(cross3(axis, incident))
    E_in, _ = unitize(cross3(incident, B_in))
    E_out = dot3(diffracted, E_in)
    B_out = dot3(diffracted, B_in)
    # atan2(0, 0) is 0 in the C; its gradient is undefined, so feed (0, 1) there instead.
    degenerate = (E_out == 0) & (B_out == 0)
    safe_E = torch.where(degenerate, torch.ones_like(E_out), E_out)
    return -torch.atan2(B_out, safe_E)


def interpolation_in_range(h: torch.Tensor, k: torch.Tensor, l: torch.Tensor, table) -> torch.Tensor:
    """True where nanoBragg can interpolate: all 4x4x4 neighbours of (h, k, l) lie inside ``table``.

    This is the negation of the C's test ``(h-h_min+3)>h_range || (h-2<h_min) || ...`` with
    ``h_range = h_max - h_min + 1``. ``table`` has integer attributes ``h_min ... l_max``.

    Example:
        >>> from types import SimpleNamespace
        >>> t = SimpleNamespace(h_min=-5, h_max=5, k_min=-5, k_max=5, l_min=-5, l_max=5)
        >>> x = torch.tensor([0.5, 3.5], dtype=torch.float64)
        >>> interpolation_in_range(x, x, x, t).tolist()
        [True, False]
    """
    inside = torch.ones_like(h * k * l, dtype=torch.bool)
    for index, low, high in ((h, table.h_min, table.h_max), (k, table.k_min, table.k_max),
                             (l, table.l_min, table.l_max)):
        span = high - low + 1
        outside = ((index - low + 3) > span) | (index - 2 < low)
        inside = inside & ~outside
    return inside


# Lagrange denominators (x_j - x_a)(x_j - x_b)(x_j - x_c) for four consecutive integer nodes: the C computes
# them from the nodes, and for consecutive integers the products are these integers exactly.
_POLINT_DENOMINATORS = (-6.0, 2.0, -2.0, 6.0)


def _lagrange_factors(x: torch.Tensor, nodes: Sequence[torch.Tensor]) -> tuple:
    """The numerators of the C's ``polint`` at ``x`` for four consecutive integer ``nodes``: for each node, the
    product of ``x`` minus the other three, in the C's order."""
    d = [x - node for node in nodes]
    return d[1] * d[2] * d[3], d[0] * d[2] * d[3], d[0] * d[1] * d[3], d[0] * d[1] * d[2]


def _polint(factors: Sequence[torch.Tensor], ya: torch.Tensor) -> torch.Tensor:
    """Four-point Lagrange interpolation over the first axis of ``ya`` (4, ..., N), term by term as the C's
    ``polint``: ``sum of factors[i] * ya[i] / denominator[i]`` with the point's ``_lagrange_factors`` (N,).

    With the interpolated axis first every ``ya[i]`` is contiguous, so each term is one pass over memory with
    the per-point factor broadcast over the leading axes.
    """
    if torch.is_grad_enabled() and (ya.requires_grad or factors[0].requires_grad):
        terms = [factor * ya[i] / denominator
                 for i, (factor, denominator) in enumerate(zip(factors, _POLINT_DENOMINATORS))]
        return terms[0] + terms[1] + terms[2] + terms[3]
    # The same operations in the same order (factor * ya, / denominator, then t0 + t1 + t2 + t3), in place:
    # fewer temporaries to allocate and stream through. Dividing by 2 or -2 is multiplying by 0.5 or -0.5
    # exactly (a power of two), and a multiplication is several times cheaper than a division.
    total = torch.mul(factors[0], ya[0]).div_(_POLINT_DENOMINATORS[0])
    total += torch.mul(factors[1], ya[1]).mul_(1.0 / _POLINT_DENOMINATORS[1])
    total += torch.mul(factors[2], ya[2]).mul_(1.0 / _POLINT_DENOMINATORS[2])
    total += torch.mul(factors[3], ya[3]).div_(_POLINT_DENOMINATORS[3])
    return total


def interpolate_structure_factor(F_table: torch.Tensor, h: torch.Tensor, k: torch.Tensor, l: torch.Tensor,
                                 h_min: int, k_min: int, l_min: int) -> torch.Tensor:
    """Tricubic (4x4x4 Lagrange) interpolation of ``F_table`` at fractional (h, k, l): nanoBragg's ``polin3``.

    ``F_table[i, j, m]`` holds F of (h_min + i, k_min + j, l_min + m). Interpolates along l, then k, then h,
    in the C's order. Valid only where :func:`interpolation_in_range` is true; elsewhere the neighbour
    indices are clamped to the table and the value is meaningless (mask it).

    Example:
        >>> F = torch.arange(6.0, dtype=torch.float64).reshape(6, 1, 1).expand(6, 6, 6).contiguous()
        >>> x = torch.tensor(2.25, dtype=torch.float64)
        >>> float(interpolate_structure_factor(F, x, x, x, 0, 0, 0))
        2.25
    """
    shape = broadcast_shape(h.shape, k.shape, l.shape)
    # h, k and l as the rows of one (3, N) tensor: each step below is one operation for the three of them.
    hkl = torch.stack([index.expand(shape).reshape(-1) for index in (h, k, l)])
    lows = torch.tensor((h_min, k_min, l_min), dtype=hkl.dtype, device=hkl.device).reshape(3, 1)
    parts = [_interpolate_points(F_table, hkl[:, start:start + _CHUNK], lows)
             for start in range(0, max(hkl.shape[1], 1), _CHUNK)]
    return (parts[0] if len(parts) == 1 else torch.cat(parts)).reshape(shape)


# Points interpolated at once: their 64 neighbours (4 MB in float64) stay a bounded temporary, whatever the
# size of the simulator's batch (measured: 2^13 to 2^15 within 10% on the interpolate_N2 benchmark; at 2^14
# and above, worker threads page-fault their temporaries in again).
_CHUNK = 1 << 13


def _interpolate_points(F_table: torch.Tensor, hkl: torch.Tensor, lows: torch.Tensor) -> torch.Tensor:
    """``interpolate_structure_factor`` at the points (h, k, l) that are the columns of ``hkl`` (3, N)."""
    size_h, size_k, size_l = F_table.shape
    corner = torch.floor(hkl).detach() - 1
    highest = torch.tensor((size_h - 4, size_k - 4, size_l - 4), dtype=hkl.dtype, device=hkl.device)
    rows = torch.minimum((corner - lows).clamp_(min=0), highest.reshape(3, 1)).to(torch.long)
    # One gather of the 64 neighbours through flat indices (index_select: several times faster than
    # advanced indexing), laid out (l step, k step, h step, point): each interpolation below runs along the
    # first axis, over contiguous rows.
    base = (rows[0] * size_k + rows[1]) * size_l + rows[2]
    neighbours = (_neighbour_offsets(size_k, size_l, hkl.device) + base).reshape(-1)
    cube = F_table.reshape(-1).index_select(0, neighbours).reshape(4, 4, 4, -1)
    factors = _lagrange_factors(hkl, [corner + i for i in range(4)])  # each (3, N): h, k, l
    along_l = _polint([factor[2] for factor in factors], cube)  # (k step, h step, point)
    along_k = _polint([factor[1] for factor in factors], along_l)  # (h step, point)
    return _polint([factor[0] for factor in factors], along_k)


@functools.lru_cache(maxsize=16)
def _neighbour_offsets(size_k: int, size_l: int, device: torch.device) -> torch.Tensor:
    """Flat-index offsets (64, 1) of the 4x4x4 neighbours from their first, ordered (l, k, h) step; the same
    for every chunk of points, so made once per table shape (and never written to)."""
    step = torch.arange(4, device=device)
    return ((step[None, None, :] * size_k + step[None, :, None]) * size_l + step[:, None, None]).reshape(64, 1)


def nearest_structure_factor(F_table: Optional[torch.Tensor], h0: torch.Tensor, k0: torch.Tensor,
                             l0: torch.Tensor, ranges: Optional[Sequence[int]], default_F) -> torch.Tensor:
    """F of the nearest reflection (integer h0, k0, l0), or ``default_F`` outside the table or without one.

    ``ranges`` is ``(h_min, h_max, k_min, k_max, l_min, l_max)``.

    Example:
        >>> F = torch.tensor([[[7.0]]], dtype=torch.float64)
        >>> idx = torch.tensor([0.0, 1.0], dtype=torch.float64)
        >>> nearest_structure_factor(F, idx, idx * 0, idx * 0, (0, 0, 0, 0, 0, 0), 1.5).tolist()
        [7.0, 1.5]
    """
    shape = broadcast_shape(h0.shape, k0.shape, l0.shape)
    dtype = F_table.dtype if F_table is not None else (h0.dtype if h0.is_floating_point() else torch.float64)
    if F_table is None:
        return torch.as_tensor(default_F, dtype=dtype, device=h0.device).expand(shape)
    # A border of default_F around the table turns "outside" into a clamp: one gather, no masks.
    padded = torch.nn.functional.pad(F_table, (1, 1, 1, 1, 1, 1), value=float(default_F))
    h_min, _, k_min, _, l_min, _ = ranges
    size_h, size_k, size_l = padded.shape
    # Integer index arithmetic: float32 indices would stop being exact past 2^24 table entries.
    rows = [(index.detach() - (low - 1)).clamp(0, size - 1).to(torch.long)
            for index, low, size in zip((h0, k0, l0), (h_min, k_min, l_min), padded.shape)]
    flat = (rows[0] * size_k + rows[1]) * size_l + rows[2]
    return padded.reshape(-1)[flat]
