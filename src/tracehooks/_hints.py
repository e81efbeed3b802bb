"""Undeclared explanations for a value that differs, shown as hints in the diff.

Unit factors (mm vs m, Å vs m, degrees vs radians), a flipped sign, permuted
components, a transposed matrix, and rounding-level differences next to zero.
"""

from __future__ import annotations

import itertools
import math

from ._compare import Comparison, Tolerance
from ._values import Item, Keyed, Matrix, Scalar, value_numbers, value_shape

__all__ = ["paired_numbers", "scaled_match", "value_hints"]

# (factor, as printed, what it usually means); C = factor x Py.
_FACTORS = (
    (1e3, "1e3", "mm vs m?"),
    (1e-3, "1e-3", "m vs mm?"),
    (1e6, "1e6", "µm vs m?"),
    (1e-6, "1e-6", "m vs µm?"),
    (1e10, "1e10", "Å vs m?"),
    (1e-10, "1e-10", "m vs Å?"),
    (180 / math.pi, "180/pi", "deg vs rad?"),
    (math.pi / 180, "pi/180", "rad vs deg?"),
    (-1.0, "-1", "sign flip?"),
)
_MAX_PERMUTED = 6  # 6! = 720 orderings is still instant; longer vectors are skipped


def paired_numbers(c_items, py_items) -> tuple[list[float], list[float]] | None:
    """Both values' numbers when the values have the same layout and are all numeric.

    >>> from tracehooks._parse import parse_value
    >>> paired_numbers(parse_value("X:1 Y:2"), parse_value("X:3 Y:4"))
    ([1.0, 2.0], [3.0, 4.0])
    """
    if value_shape(c_items) != value_shape(py_items):
        return None
    c, py = value_numbers(c_items), value_numbers(py_items)
    return None if c is None or py is None else (c, py)


def scaled_match(c_items, py_items, factor: float, tol: Tolerance) -> bool:
    """True when every number of C equals ``factor`` x the matching number of Py.

    >>> from tracehooks._compare import Tolerance
    >>> from tracehooks._parse import parse_value
    >>> scaled_match(parse_value("5.5e-06"), parse_value("0.0055"), 1e-3, Tolerance())
    True
    """
    pair = paired_numbers(c_items, py_items)
    return pair is not None and _scaled(*pair, factor, tol)


def _scaled(c: list[float], py: list[float], factor: float, tol: Tolerance) -> bool:
    return all(tol.close(a, factor * b) for a, b in zip(c, py))


def _part_hint(c_items, py_items, tol: Tolerance) -> str | None:
    pair = paired_numbers(c_items, py_items)
    if pair is None:
        return None
    c, py = pair
    for factor, text, meaning in _FACTORS:
        if _scaled(c, py, factor, tol):
            return f"C = {text} x Py ({meaning})"
    if all(isinstance(i, Scalar) for i in c_items) and 2 <= len(c) <= _MAX_PERMUTED:
        return _vector_hint(c, py, tol)
    if len(c_items) == 1 and isinstance(c_items[0], Matrix):
        rows, cols = c_items[0].shape
        if rows == cols > 1:
            transposed = [c[r * rows + k] for k in range(rows) for r in range(rows)]
            if all(tol.close(a, b) for a, b in zip(transposed, py)):
                return "C = Py transposed (row/column order?)"
    return None


def _signs(c: list[float], py: list[float], tol: Tolerance) -> list[int] | None:
    signs = []
    for a, b in zip(c, py):
        if tol.close(a, b):
            signs.append(1)
        elif tol.close(a, -b):
            signs.append(-1)
        else:
            return None
    return signs


def _vector_hint(c: list[float], py: list[float], tol: Tolerance) -> str | None:
    signs = _signs(c, py, tol)
    if signs is not None:
        return f"C = Py x [{_join(signs)}] (component sign flip?)"
    identity = tuple(range(len(c)))
    signed = None
    for order in itertools.permutations(identity):
        signs = _signs(c, [py[i] for i in order], tol)
        if signs is None or order == identity:
            continue
        picked = f"Py[{_join(i + 1 for i in order)}]"
        if -1 not in signs:
            return f"C = {picked} (components permuted?)"
        # Keep looking: a pure permutation is the simpler explanation.
        signed = signed or f"C = {picked} x [{_join(signs)}] (permuted and sign-flipped?)"
    return signed


def _join(values) -> str:
    return " ".join(str(v) for v in values)


def _near_zero_note(c_items, py_items, cmp: Comparison, tol: Tolerance) -> str | None:
    # Only vectors and matrices: a lone number has no larger scale to be small against.
    c_nums, py_nums = value_numbers(c_items), value_numbers(py_items)
    if any(isinstance(i, Keyed) for i in c_items) or c_nums is None or py_nums is None:
        return None
    failing = cmp.mismatches
    if len(c_nums) < 2 or not failing or any(m.kind != "numeric" for m in failing):
        return None
    worst = max(m.abs_delta for m in failing)
    scale = max((abs(x) for x in c_nums + py_nums if math.isfinite(x)), default=0.0)
    if any(not math.isfinite(m.abs_delta) for m in failing) or worst > tol.rtol * scale:
        return None
    suggestion = 10.0 ** math.ceil(math.log10(worst))
    wheres = ", ".join(m.where for m in failing[:3])
    return (
        f"near zero at {wheres}: |Δ| {worst:.3g} is within rtol of the value's scale "
        f"{scale:.3g}; --atol {suggestion:g} would accept it"
    )


def value_hints(
    c_items: tuple[Item, ...], py_items: tuple[Item, ...], cmp: Comparison, tol: Tolerance
) -> list[str]:
    """Explain a failed comparison: unit factor, sign, permutation, near-zero.

    >>> from tracehooks._compare import Tolerance, compare_values
    >>> from tracehooks._parse import parse_value
    >>> c, py = parse_value("100 6.5 -6.5"), parse_value("0.1 0.0065 -0.0065")
    >>> value_hints(c, py, compare_values(c, py, Tolerance()), Tolerance())
    ['C = 1e3 x Py (mm vs m?)']
    """
    if len(c_items) != len(py_items):
        return []
    hints = []
    if any(isinstance(i, Keyed) for i in c_items):
        for idx in sorted({m.item for m in cmp.mismatches}):
            hint = _part_hint(c_items[idx:idx + 1], py_items[idx:idx + 1], tol)
            if hint:
                item = c_items[idx]
                where = item.key if isinstance(item, Keyed) else f"[{idx + 1}]"
                hints.append(f"{where}: {hint}")
    else:
        hint = _part_hint(c_items, py_items, tol)
        hints.extend([hint] if hint else [])
    near = _near_zero_note(c_items, py_items, cmp, tol)
    return hints + ([near] if near else [])
