"""Align two traces by (channel, name, occurrence) and judge every value.

A value is a *match* when every element agrees within tolerance, a *quirk*
when it does not but a declared quirk of the reference explains it, and a
*divergence* otherwise. Failing values get hints: a unit factor, a sign, a
permutation of components, or a rounding-level difference next to zero.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Union

from tracehooks._parse import (
    Item,
    Keyed,
    Matrix,
    Record,
    Scalar,
    Trace,
    parse_trace,
)
from tracehooks._quirks import (
    Quirk,
    QuirkSet,
    Selector,
    load_quirks,
    paired_numbers,
    scaled_match,
    value_hints,
)

__all__ = [
    "DEFAULT_ATOL",
    "DEFAULT_RTOL",
    "Comparison",
    "DiffReport",
    "Mismatch",
    "NOT_TRACED",
    "Row",
    "Tolerance",
    "compare_values",
    "diff_traces",
]

DEFAULT_RTOL = 1e-12
DEFAULT_ATOL = 0.0

MATCH, QUIRK, DIVERGE, ONLY_C, ONLY_PY = "match", "quirk", "diverge", "only_c", "only_py"
# A C value whose name the Python trace never prints, when the Python trace covers only part of the C's.
NOT_TRACED = "not_traced"


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
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
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
    abs_delta: Union[float, None] = None
    rel_delta: Union[float, None] = None
    item: Union[int, None] = None


@dataclass(frozen=True)
class Comparison:
    """Result of :func:`compare_values`: mismatches and the largest deltas seen."""

    mismatches: tuple[Mismatch, ...]
    abs_delta: Union[float, None]
    rel_delta: Union[float, None]


def _deltas(c: float, py: float) -> tuple[float, float]:
    if math.isnan(c) or math.isnan(py):
        return (0.0, 0.0) if math.isnan(c) and math.isnan(py) else (math.nan, math.nan)
    if c == py:
        return 0.0, 0.0
    if math.isinf(c) or math.isinf(py):
        return math.inf, math.inf
    diff = abs(c - py)
    return diff, diff / max(abs(c), abs(py))


class _Collector:
    def __init__(self, tol: Tolerance) -> None:
        self.tol = tol
        self.mismatches: list[Mismatch] = []
        self.abs: Union[float, None] = None
        self.rel: Union[float, None] = None

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
            abs_d, rel_d = _deltas(float(c.value), float(py.value))
            self.delta(abs_d, rel_d)
            if c.kind == py.kind == "int":
                same, kind = c.value == py.value, "int"
            else:
                same, kind = self.tol.close(float(c.value), float(py.value)), "numeric"
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


@dataclass(frozen=True)
class Row:
    """The verdict for one (channel, name, occurrence).

    ``verdict`` is ``match``, ``quirk``, ``diverge``, ``only_c``, ``only_py`` or ``not_traced``;
    ``c``/``py`` are the records (``None`` on the side that lacks it).
    """

    channel: str
    name: str
    occurrence: int
    label: str
    verdict: str
    c: Union[Record, None]
    py: Union[Record, None]
    mismatches: tuple[Mismatch, ...] = ()
    abs_delta: Union[float, None] = None
    rel_delta: Union[float, None] = None
    hints: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    quirks: tuple[Quirk, ...] = ()

    @property
    def qualified_name(self) -> str:
        """``CHANNEL/name`` or ``name``, without the occurrence."""
        return f"{self.channel}/{self.name}" if self.channel else self.name


class _Context:
    def __init__(self, tol: Tolerance, quirks: QuirkSet, py: Trace) -> None:
        self.tol = tol
        self.quirks = quirks
        self.py_index = {rec.key: rec for rec in py.records}
        self.used: set[int] = set()

    def same(self, a: tuple[Item, ...], b: tuple[Item, ...]) -> bool:
        return not compare_values(a, b, self.tol).mismatches

    def target(self, sel: Selector, occurrence: int):
        rec = self.py_index.get((sel.channel, sel.name, sel.occurrence or occurrence))
        if rec is None or sel.field is None:
            return None if rec is None else rec.items
        for item in rec.items:
            if isinstance(item, Keyed) and item.key == sel.field:
                return (item.value,)
        return None


def _holds(q: Quirk, c_part, py_part, occurrence: int, ctx: _Context) -> tuple[bool, str]:
    """Whether the declared expectation holds, and a detail for when it does not."""
    if q.kind == "ignore":
        return True, ""
    if c_part is None:
        return False, "C has no value"
    if q.kind == "c_value":
        return ctx.same(c_part, q.literal), f"C prints {_text(c_part)}"
    if q.kind == "same_as":
        target = ctx.target(q.target, occurrence)
        sel = q.target
        where = str(Selector(sel.channel, sel.name, sel.occurrence or occurrence, sel.field))
        if target is None:
            return False, f"Py has no {where}"
        return ctx.same(c_part, target), f"Py {where} is {_text(target)}"
    if py_part is None:
        return False, "needs Py's value of the same name"
    if q.kind == "factor":
        pair = paired_numbers(c_part, py_part)
        ratio = pair[0][0] / pair[1][0] if pair and len(pair[0]) == 1 and pair[1][0] else None
        detail = f"C/Py = {ratio:.6g}" if ratio is not None else ""
        return scaled_match(c_part, py_part, q.factor, ctx.tol), detail
    pair = paired_numbers(c_part, py_part) if len(c_part) == len(py_part) else None
    if pair is None:
        return False, "values are not numeric vectors of the same shape"
    norms = math.hypot(*pair[0]), math.hypot(*pair[1])
    return ctx.tol.close(*norms), f"|C| = {norms[0]:.15g}, |Py| = {norms[1]:.15g}"


def _text(items: tuple[Item, ...]) -> str:
    return " ".join(item.text for item in items)


def _first_holding(cands, c_part, py_part, occurrence, ctx, notes) -> Union[Quirk, None]:
    for q in cands:
        ok, detail = _holds(q, c_part, py_part, occurrence, ctx)
        if ok:
            ctx.used.add(id(q))
            return q
        notes.append(
            f"declared quirk did not hold: {q.selector}: {q.describe()} "
            f"({q.source} line {q.line_no})" + (f"; {detail}" if detail else "")
        )
    return None


def _apply_quirks(c_rec, py_rec, cmp, ctx) -> tuple[tuple[Quirk, ...], list[str]]:
    notes: list[str] = []
    rec = c_rec or py_rec
    c_items = c_rec.items if c_rec else None
    py_items = py_rec.items if py_rec else None
    whole = _first_holding(
        ctx.quirks.candidates(*rec.key), c_items, py_items, rec.occurrence, ctx, notes
    )
    if whole is not None or cmp is None:  # a one-sided value has no fields to compare
        return ((whole,) if whole else ()), notes
    applied: list[Quirk] = []
    for idx in sorted({m.item for m in cmp.mismatches}):
        c_item, py_item = (c_items[idx], py_items[idx]) if idx is not None else (None, None)
        if not isinstance(c_item, Keyed):
            return (), notes
        same_key = isinstance(py_item, Keyed) and py_item.key == c_item.key
        part = (c_item.value,), ((py_item.value,) if same_key else None)
        cands = ctx.quirks.candidates(*rec.key, field=c_item.key)
        quirk = _first_holding(cands, *part, rec.occurrence, ctx, notes)
        if quirk is None:
            return (), notes
        applied.append(quirk)
    return tuple(dict.fromkeys(applied)), notes


def _judge(c_rec, py_rec, label: str, ctx: _Context) -> Row:
    rec = c_rec or py_rec
    head = dict(
        channel=rec.channel, name=rec.name, occurrence=rec.occurrence,
        label=label, c=c_rec, py=py_rec,
    )
    if c_rec is None or py_rec is None:
        quirks, notes = _apply_quirks(c_rec, py_rec, None, ctx)
        verdict = QUIRK if quirks else (ONLY_C if py_rec is None else ONLY_PY)
        return Row(verdict=verdict, notes=tuple(notes), quirks=quirks, **head)
    cmp = compare_values(c_rec.items, py_rec.items, ctx.tol)
    measured = dict(abs_delta=cmp.abs_delta, rel_delta=cmp.rel_delta, mismatches=cmp.mismatches)
    if not cmp.mismatches:
        return Row(verdict=MATCH, **head, **measured)
    hints = tuple(value_hints(c_rec.items, py_rec.items, cmp, ctx.tol))
    quirks, notes = _apply_quirks(c_rec, py_rec, cmp, ctx)
    verdict = QUIRK if quirks else DIVERGE
    return Row(verdict=verdict, hints=hints, notes=tuple(notes), quirks=quirks, **head, **measured)


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


@dataclass
class DiffReport:
    """Every row of a diff, in C line order then Py-only rows in Py order.

    >>> r = diff_traces(["TRACE_C: a 1.5"], ["TRACE_PY: a 1.5"])
    >>> r.ok, r.summary()
    (True, 'MATCH: 1 value agrees (rtol 1e-12, atol 0); 0 known reference quirks; 0 divergences')
    """

    c: Trace
    py: Trace
    tolerance: Tolerance
    rows: list[Row]
    quirks: Union[QuirkSet, None] = None
    unused_quirks: tuple[Quirk, ...] = field(default=())
    py_subset: bool = False

    def count(self, verdict: str) -> int:
        """Number of rows with this verdict (``match``, ``quirk``, ...)."""
        return sum(1 for row in self.rows if row.verdict == verdict)

    @property
    def ok(self) -> bool:
        """True when every row is a match, a known quirk or (with ``py_subset``) not traced, and at least
        one value was compared when the Python trace may cover only part of the C's."""
        compared = self.count(MATCH) + self.count(QUIRK)
        return (not self.py_subset or compared > 0) and \
            all(row.verdict in (MATCH, QUIRK, NOT_TRACED) for row in self.rows)

    @property
    def first_divergence(self) -> Union[Row, None]:
        """First divergence or C-only row in C order; else the first Py-only row."""
        # Rows hold every C record in C order before the Py-only records.
        return next((r for r in self.rows if r.verdict in (DIVERGE, ONLY_C, ONLY_PY)), None)

    def summary(self) -> str:
        """The one-line verdict (``MATCH: ...`` or ``DIVERGE: first at ...``)."""
        agree = (
            f"{_plural(self.count(MATCH), 'value agrees', 'values agree')} ({self.tolerance}); "
            f"{_plural(self.count(QUIRK), 'known reference quirk', 'known reference quirks')}"
        )
        if self.count(NOT_TRACED):
            agree += f"; {_plural(self.count(NOT_TRACED), 'C value', 'C values')} not traced by Py"
        first = self.first_divergence
        if first is None and not self.ok:
            return f"DIVERGE: nothing compared (the Python trace has no value the C trace has); {agree}"
        if first is None:
            return f"MATCH: {agree}; 0 divergences"
        lines = (f"C line {first.c.line_no if first.c else '-'}, "
                 f"Py line {first.py.line_no if first.py else '-'}")
        c_text = f"C {first.c.text}" if first.c else "C (absent)"
        py_text = f"Py {first.py.text}" if first.py else "Py (absent)"
        hint = f" [{first.hints[0]}]" if first.hints else ""
        return (
            f"DIVERGE: first at {first.qualified_name} (occurrence {first.occurrence}, {lines}): "
            f"{c_text} vs {py_text}{hint}; {agree}; "
            f"{_plural(self.count(DIVERGE), 'divergence', 'divergences')}; "
            f"{self.count(ONLY_C)} only in C; {self.count(ONLY_PY)} only in Py"
        )


def diff_traces(
    c: Union[Trace, str, os.PathLike, Iterable[str]],
    py: Union[Trace, str, os.PathLike, Iterable[str]],
    *,
    rtol: float = DEFAULT_RTOL,
    atol: float = DEFAULT_ATOL,
    quirks: Union[QuirkSet, str, os.PathLike, Iterable[str], None] = None,
    py_subset: bool = False,
) -> DiffReport:
    """Align ``c`` and ``py`` by (channel, name, occurrence) and judge each value.

    ``c``/``py`` are parsed traces or anything :func:`parse_trace` reads;
    ``quirks`` is a :class:`QuirkSet` or anything :func:`load_quirks` reads.
    ``py_subset``: the Python trace covers part of the C's (e.g. only the detector block); C values
    whose name never appears in it are counted as ``not_traced`` instead of failing the diff. A name the
    Python trace does print must still match occurrence by occurrence.

    >>> r = diff_traces(["TRACE_C: d 100"], ["TRACE_PY: d 0.1"])
    >>> r.rows[0].verdict, r.rows[0].hints
    ('diverge', ('C = 1e3 x Py (mm vs m?)',))
    """
    tol = Tolerance(rtol, atol)
    c = c if isinstance(c, Trace) else parse_trace(c)
    py = py if isinstance(py, Trace) else parse_trace(py)
    if quirks is not None and not isinstance(quirks, QuirkSet):
        quirks = load_quirks(quirks)
    ctx = _Context(tol, quirks or QuirkSet(()), py)
    repeated = {
        (r.channel, r.name) for trace in (c, py) for r in trace.records if r.occurrence > 1
    }

    def label(rec: Record) -> str:
        base = f"{rec.channel}/{rec.name}" if rec.channel else rec.name
        return f"{base}#{rec.occurrence}" if (rec.channel, rec.name) in repeated else base

    c_keys = {rec.key for rec in c.records}
    py_names = {(rec.channel, rec.name) for rec in py.records}

    def judge_c(rec: Record) -> Row:
        if py_subset and (rec.channel, rec.name) not in py_names:
            return Row(verdict=NOT_TRACED, channel=rec.channel, name=rec.name, occurrence=rec.occurrence,
                       label=label(rec), c=rec, py=None)
        return _judge(rec, ctx.py_index.get(rec.key), label(rec), ctx)

    rows = [judge_c(rec) for rec in c.records]
    rows += [_judge(None, rec, label(rec), ctx) for rec in py.records if rec.key not in c_keys]
    unused = tuple(q for q in ctx.quirks.entries if id(q) not in ctx.used)
    return DiffReport(c, py, tol, rows, quirks, unused, py_subset)
