"""Compare two parsed values element by element under a tolerance.

Two ints compare exactly (as ints, whatever their length); any other pair of
numbers uses the tolerance rule ``|c - py| <= atol + rtol * max(|c|, |py|)``;
strings, keys and matrix shapes must be identical.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from ._values import Item, Keyed, Matrix, Scalar

__all__ = [
    "DEFAULT_ATOL",
    "DEFAULT_RTOL",
    "Comparison",
    "Mismatch",
    "Tolerance",
    "compare_values",
    "widest",
]

DEFAULT_RTOL = 1e-12
DEFAULT_ATOL = 0.0


@dataclass(frozen=True)
class Tolerance:
    """``|c - py| <= atol + rtol * max(|c|, |py|)``; NaN matches NaN, inf same-sign inf.

    >>> Tolerance(rtol=1e-12).close(1.0, 1.0 + 1e-13), Tolerance().close(6e-15, 0.0)
    (True, False)
    """

    rtol: float = DEFAULT_RTOL
    atol: float = DEFAULT_ATOL

    def __post_init__(self) -> None:
        for label, value in (("rtol", self.rtol), ("atol", self.atol)):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            if not (ok and math.isfinite(value) and value >= 0):
                raise ValueError(f"{label} must be a finite number >= 0, got {value!r}")

    def close(self, c: float, py: float) -> bool:
        """True when the two numbers agree under this tolerance."""
        if math.isnan(c) or math.isnan(py):
            return math.isnan(c) and math.isnan(py)
        if math.isinf(c) or math.isinf(py):
            return c == py
        return abs(c - py) <= self.atol + self.rtol * max(abs(c), abs(py))

    def __str__(self) -> str:
        return f"rtol {self.rtol:g}, atol {self.atol:g}"


def widest(tolerances: Iterable[Tolerance]) -> Tolerance:
    """The largest rtol and the largest atol of ``tolerances`` (which must not be empty).

    >>> widest([Tolerance(1e-12, 0.0), Tolerance(0.0, 1e-15)])
    Tolerance(rtol=1e-12, atol=1e-15)
    """
    tolerances = list(tolerances)
    return Tolerance(max(t.rtol for t in tolerances), max(t.atol for t in tolerances))


@dataclass(frozen=True)
class Mismatch:
    """One element that differs. ``where`` is ``""`` (the value), ``[2]``, ``X`` or ``[1,3]``.

    ``kind`` is ``numeric``, ``int``, ``string``, ``type``, ``key``, ``shape`` or
    ``length``; ``item`` is the index of the item in the value (``None`` for
    ``length``).
    """

    where: str
    kind: str
    c: str
    py: str
    abs_delta: float | None = None
    rel_delta: float | None = None
    item: int | None = None


@dataclass(frozen=True)
class Comparison:
    """Result of :func:`compare_values`: mismatches and the largest deltas seen."""

    mismatches: tuple[Mismatch, ...]
    abs_delta: float | None
    rel_delta: float | None


def _deltas(c: float, py: float) -> tuple[float, float]:
    if math.isnan(c) or math.isnan(py):
        return (0.0, 0.0) if math.isnan(c) and math.isnan(py) else (math.nan, math.nan)
    if c == py:
        return 0.0, 0.0
    if math.isinf(c) or math.isinf(py):
        return math.inf, math.inf
    diff = abs(c - py)
    return diff, diff / max(abs(c), abs(py))


def _int_text(text: str) -> str:
    # The canonical digits of an int token: "+007" and "7" are one number, "-0" and "0" too.
    digits = text.lstrip("+-").lstrip("0") or "0"
    return "-" + digits if text.startswith("-") and digits != "0" else digits


def _int_deltas(c: Scalar, py: Scalar) -> tuple[bool, float, float]:
    """Whether two int tokens are equal, and their exact deltas (as floats)."""
    if not (isinstance(c.value, int) and isinstance(py.value, int)):
        # Ints too long to convert (their value is a float); equal when their digits are.
        same = _int_text(c.text) == _int_text(py.text)
        return same, (0.0 if same else math.nan), (0.0 if same else math.nan)
    diff = abs(c.value - py.value)
    if diff == 0:
        return True, 0.0, 0.0
    try:
        abs_d = float(diff)
    except OverflowError:
        abs_d = math.inf
    return False, abs_d, diff / max(abs(c.value), abs(py.value))


class _Collector:
    def __init__(self, tol: Tolerance) -> None:
        self.tol = tol
        self.mismatches: list[Mismatch] = []
        self.abs: float | None = None
        self.rel: float | None = None

    def delta(self, abs_d: float, rel_d: float) -> None:
        # max() would silently drop a NaN; a NaN delta must stay visible.
        self.abs = abs_d if self.abs is None or math.isnan(abs_d) else max(self.abs, abs_d)
        self.rel = rel_d if self.rel is None or math.isnan(rel_d) else max(self.rel, rel_d)

    def item(self, idx: int, where: str, c: Item, py: Item) -> None:
        if isinstance(c, Keyed) or isinstance(py, Keyed):
            both = isinstance(c, Keyed) and isinstance(py, Keyed)
            if both and (c.key, c.sep) == (py.key, py.sep):
                self.item(idx, where, c.value, py.value)
            else:
                self.mismatches.append(Mismatch(where, "key", c.text, py.text, item=idx))
        elif isinstance(c, Matrix) and isinstance(py, Matrix):
            if c.shape != py.shape:
                self.mismatches.append(Mismatch(where, "shape", c.text, py.text, item=idx))
                return
            for r, (c_row, p_row) in enumerate(zip(c.rows, py.rows), start=1):
                for k, (cs, ps) in enumerate(zip(c_row, p_row), start=1):
                    self.scalar(idx, f"{where}[{r},{k}]", cs, ps)
        elif isinstance(c, Scalar) and isinstance(py, Scalar):
            self.scalar(idx, where, c, py)
        else:
            self.mismatches.append(Mismatch(where, "type", c.text, py.text, item=idx))

    def scalar(self, idx: int, where: str, c: Scalar, py: Scalar) -> None:
        if c.is_number and py.is_number:
            if c.kind == py.kind == "int":
                same, abs_d, rel_d = _int_deltas(c, py)
                kind = "int"
            else:
                c_num, py_num = c.number, py.number
                abs_d, rel_d = _deltas(c_num, py_num)
                same, kind = self.tol.close(c_num, py_num), "numeric"
            self.delta(abs_d, rel_d)
            if not same:
                self.mismatches.append(Mismatch(where, kind, c.text, py.text, abs_d, rel_d, idx))
        elif c.kind == py.kind == "str":
            if c.value != py.value:
                self.mismatches.append(Mismatch(where, "string", c.text, py.text, item=idx))
        else:
            self.mismatches.append(Mismatch(where, "type", c.text, py.text, item=idx))


def _where(items: tuple[Item, ...], idx: int) -> str:
    item = items[idx]
    if isinstance(item, Keyed):
        return item.key
    return f"[{idx + 1}]" if len(items) > 1 else ""


def compare_values(
    c_items: tuple[Item, ...], py_items: tuple[Item, ...], tol: Tolerance
) -> Comparison:
    """Compare two parsed values element by element.

    Two ints compare exactly; any other pair of numbers uses ``tol``; strings,
    keys and matrix shapes must be identical.

    >>> from tracehooks._parse import parse_value
    >>> cmp = compare_values(parse_value("1 2 3"), parse_value("1 2 4"), Tolerance())
    >>> [(m.where, m.kind, m.c, m.py) for m in cmp.mismatches]
    [('[3]', 'int', '3', '4')]
    """
    collector = _Collector(tol)
    if len(c_items) != len(py_items):
        collector.mismatches.append(
            Mismatch("", "length", f"{len(c_items)} values", f"{len(py_items)} values")
        )
    else:
        for idx, (c, py) in enumerate(zip(c_items, py_items)):
            collector.item(idx, _where(c_items, idx), c, py)
    return Comparison(tuple(collector.mismatches), collector.abs, collector.rel)
