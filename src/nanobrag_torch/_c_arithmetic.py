"""Arithmetic where Python raises but C computes: IEEE results for the few places nanoBragg relies on them."""

from __future__ import annotations

import math

__all__ = ["c_div"]


def c_div(a: float, b: float) -> float:
    """``a / b`` as a C double division: inf or NaN where Python raises ZeroDivisionError.

    Example:
        >>> c_div(1.0, 0.0), c_div(-1.0, 0.0), c_div(0.0, 0.0) != c_div(0.0, 0.0)
        (inf, -inf, True)
    """
    if b != 0.0:
        return a / b
    if a == 0.0 or math.isnan(a):
        return math.nan
    return math.copysign(math.inf, a) * math.copysign(1.0, b)
