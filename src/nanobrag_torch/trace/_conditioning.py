"""How far a traced value may legitimately differ from the C's: error bounds from condition numbers.

Most traced values are computed with the C's float64 operations in the C's order and agree to the last
printed digit. A few are ill-conditioned where they are evaluated, so that a last-bit difference in an
input — a sum of three products reduced in another order, the association of ``pi * N * h``, one ulp of
libm's ``sin`` on another CPU — shows in the printed digits:

- the Miller index ``h = a . (d - i) / lambda``: its absolute error is bounded by a few roundings of each
  term, ``4 eps sum_i |a_i| (|d_i| + |i_i|) / lambda`` (a difference of near-equal unit-vector components
  loses nothing absolute, but everything relative);
- the grating factor ``F = sin(N x) / sin(x)`` with ``x = pi h``: near a node of ``sin(x)`` or ``sin(N x)``
  a relative argument error ``dx/x`` becomes ``|N x cot(N x)| + |x cot(x)|`` times as large in ``F``. The
  argument error is the rounding of ``pi h`` and ``N x`` (``2 eps |h|``) plus the index's own error;
- products, squares and positive sums of such factors (``F_latt``, ``F_latt^2``, ``I_before_scaling``)
  carry the propagated bounds.

The bounds are evaluated from the values the port computed for the traced pixel (which agree with the C's
to the default tolerance wherever the C prints them) and become per-value declared tolerances for
``tracehooks diff``. Only the SQUARE crystal shape has an ill-conditioned transform; the others get none.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Tuple

import torch

from ..config import CrystalShape

__all__ = ["LatticeErrors"]

# Roundings in a Miller index: the scattering vector's difference and division (2), the dot product's
# three products and two additions in either order (2) — each at most eps relative to its operands.
_INDEX_ROUNDINGS = 4
# A value produced by a handful of correctly rounded operations (the quotient, the product of factors).
_VALUE_ROUNDINGS = 4


@dataclass
class LatticeErrors:
    """Absolute error bounds of the lattice factors of every evaluation of one pixel.

    Built from the pixel's Miller indices ``(P, T, O, O, S, Phi, M)``, the rotated real vectors
    ``(Phi, M, 3)`` in metres, the diffracted directions ``(P, T, O, O, 3)``, the incident directions
    ``(S, 3)`` and wavelengths ``(S,)`` in metres. ``index`` holds the bound of h, k, l; ``factor`` that of
    F_latt_a, F_latt_b, F_latt_c (``None`` for a shape without separate factors); ``F_latt`` that of their
    product.

    Example:
        >>> import torch
        >>> from nanobrag_torch.config import CrystalShape
        >>> h = torch.tensor([[[[[[[2.0012]]]]]]], dtype=torch.float64)
        >>> a = torch.tensor([[[30e-10, 0.0, 0.0]]], dtype=torch.float64)
        >>> d = torch.tensor([[[[[0.0, 0.6, 0.8]]]]], dtype=torch.float64)
        >>> i = torch.tensor([[0.0, 0.0, 1.0]], dtype=torch.float64)
        >>> errors = LatticeErrors.of_pixel(CrystalShape.SQUARE, (36, 1, 1), (h, h, h), (a, a, a), d, i,
        ...                                 torch.tensor([1e-10], dtype=torch.float64))
        >>> F = errors.F_latt.new_tensor(math.sin(36 * math.pi * 2.0012) / math.sin(math.pi * 2.0012))
        >>> 1e-14 < float(errors.F_latt.flatten()[0] / F) < 1e-11  # near the node: far above eps
        True
    """

    index: Tuple[torch.Tensor, torch.Tensor, torch.Tensor]
    factor: Optional[Tuple[torch.Tensor, torch.Tensor, torch.Tensor]]
    F_latt: torch.Tensor

    @classmethod
    def of_pixel(cls, shape: CrystalShape, N: Tuple[float, float, float], hkl, rotated, diffracted, incident,
                 wavelength_m) -> "LatticeErrors":
        eps = torch.finfo(hkl[0].dtype).eps
        # sum_i |a_i| (|d_i| + |i_i|) / lambda for every evaluation: (P, T, O, O, S, 3) against (Phi, M, 3).
        spread = (diffracted.abs().unsqueeze(-2) + incident.abs()) / wavelength_m.unsqueeze(-1)
        index = tuple(_INDEX_ROUNDINGS * eps * (spread[..., None, None, :] * vectors.abs()).sum(-1)
                      for vectors in rotated)
        if shape is not CrystalShape.SQUARE:
            return cls(index, None, torch.zeros_like(hkl[0]))
        values, errors = [], []
        for value, bound, n in zip(hkl, index, N):
            F, error = _grating_error(value, bound, n)
            values.append(F)
            errors.append(error)
        Fa, Fb, Fc = values
        ea, eb, ec = errors
        product = (Fa * Fb * Fc).abs()
        F_latt = ea * (Fb * Fc).abs() + eb * (Fa * Fc).abs() + ec * (Fa * Fb).abs() \
            + _VALUE_ROUNDINGS * eps * product
        return cls(index, tuple(errors), F_latt)


def _grating_error(index: torch.Tensor, index_error: torch.Tensor, n: float):
    """``sin(n x)/sin(x)`` at ``x = pi * index`` and the absolute bound of its error.

    ``dF = pi (n |cos(n x) / sin(x)| + |F cot(x)|) (2 eps |index| + index_error)``: the derivative of each
    sine times the error of its argument, written so that it stays finite where ``F`` crosses zero. Where
    ``sin(x)`` is exactly 0 both programs return ``n`` exactly.
    """
    eps = torch.finfo(index.dtype).eps
    if n <= 1:  # the C's factor is exactly 1
        one = torch.ones_like(index)
        return one, torch.zeros_like(index)
    x = math.pi * index
    sin_x, cos_x = torch.sin(x), torch.cos(x)
    at_node = sin_x == 0
    safe_sin = torch.where(at_node, torch.ones_like(sin_x), sin_x)
    F = torch.where(at_node, torch.full_like(x, n), torch.sin(n * x) / safe_sin)
    # N x is two roundings away from exact in either association ((pi N) h in the C, (pi h) N here).
    argument_error = math.pi * (2 * eps * index.abs() + index_error)
    slope = n * (torch.cos(n * x) / safe_sin).abs() + (F * cos_x / safe_sin).abs()
    error = slope * argument_error + _VALUE_ROUNDINGS * eps * F.abs()
    return F, torch.where(at_node, _VALUE_ROUNDINGS * eps * F.abs(), error)
