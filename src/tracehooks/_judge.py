"""Judge one value: match, tolerated, known quirk or divergence.

A value is a *match* when every element agrees within the default tolerance,
*tolerated* when it does not but every failing element is within a declared
tolerance for that value, a *quirk* when a declared quirk of the reference
explains it (judged with the value's declared tolerance where one covers it),
and a *divergence* otherwise. Failing values get hints: a unit factor, a
sign, a permutation of components, or a rounding-level difference next to
zero.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from ._compare import Mismatch, Tolerance, compare_values, widest
from ._hints import paired_numbers, scaled_match, value_hints
from ._parse import Record, Trace
from ._quirks import DeclaredTolerance, Quirk, QuirkSet, Selector
from ._values import Item, Keyed

__all__ = [
    "ACCEPTED",
    "DIVERGE",
    "MATCH",
    "NOT_TRACED",
    "ONLY_C",
    "ONLY_PY",
    "QUIRK",
    "TOLERATED",
    "VERDICTS",
    "Declared",
    "Judge",
    "Row",
]

MATCH, QUIRK, DIVERGE, ONLY_C, ONLY_PY = "match", "quirk", "diverge", "only_c", "only_py"
#: A value outside the default tolerance but within the tolerance declared for it.
TOLERATED = "tolerated"
# A C value whose name the Python trace never prints, when the Python trace covers only part of the C's.
NOT_TRACED = "not_traced"
#: Every verdict, in the order of the report's counts; a row stores its verdict's index.
VERDICTS = (MATCH, TOLERATED, QUIRK, DIVERGE, ONLY_C, ONLY_PY, NOT_TRACED)
#: Verdicts that do not fail the diff.
ACCEPTED = (MATCH, TOLERATED, QUIRK, NOT_TRACED)


@dataclass(frozen=True)
class Row:
    """The verdict for one (channel, name, occurrence).

    ``verdict`` is ``match``, ``tolerated``, ``quirk``, ``diverge``, ``only_c``, ``only_py`` or
    ``not_traced``; ``c``/``py`` are the records (``None`` on the side that lacks it);
    ``quirks`` and ``tolerances`` the declarations applied.
    """

    channel: str
    name: str
    occurrence: int
    label: str
    verdict: str
    c: Record | None
    py: Record | None
    mismatches: tuple[Mismatch, ...] = ()
    abs_delta: float | None = None
    rel_delta: float | None = None
    hints: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    quirks: tuple[Quirk, ...] = ()
    tolerances: tuple[DeclaredTolerance, ...] = ()

    @property
    def qualified_name(self) -> str:
        """``CHANNEL/name`` or ``name``, without the occurrence."""
        return f"{self.channel}/{self.name}" if self.channel else self.name


class Declared:
    """Declared tolerances indexed by (channel, name)."""

    def __init__(self, declared: Iterable[DeclaredTolerance]) -> None:
        self.all = tuple(declared)
        self.by_name: dict[tuple[str, str], list[DeclaredTolerance]] = {}
        for d in self.all:
            self.by_name.setdefault((d.selector.channel, d.selector.name), []).append(d)

    def covering(self, channel: str, name: str, occurrence: int) -> list[DeclaredTolerance]:
        return [d for d in self.by_name.get((channel, name), ())
                if d.selector.occurrence in (None, occurrence)]


def _for_field(declared: list[DeclaredTolerance], key: str | None) -> list[DeclaredTolerance]:
    """The declarations that cover an element of field ``key`` (``None``: a plain element)."""
    return [d for d in declared if d.selector.field is None or d.selector.field == key]


def _distinct(declarations) -> tuple:
    """Each declaration once, in order; by identity (two lines may declare equal things)."""
    return tuple({id(d): d for d in declarations}.values())


def _text(items: tuple[Item, ...]) -> str:
    return " ".join(item.text for item in items)


def _same(a: tuple[Item, ...], b: tuple[Item, ...], tol: Tolerance) -> bool:
    return not compare_values(a, b, tol).mismatches


class Judge:
    """Judges one pair of records; shared by the diff's pass and by rows built on access."""

    def __init__(self, tol: Tolerance, quirks: QuirkSet, declared: Declared, py: Trace) -> None:
        self.tol = tol
        self.quirks = quirks
        self.declared = declared
        self.py = py
        self.used: set[int] = set()  # ids of the quirks and tolerances applied somewhere

    def row(self, c_rec: Record | None, py_rec: Record | None, label: str) -> Row:
        rec = c_rec or py_rec
        head = dict(channel=rec.channel, name=rec.name, occurrence=rec.occurrence,
                    label=label, c=c_rec, py=py_rec)
        declared = self.declared.covering(*rec.key)
        if c_rec is None or py_rec is None:
            quirks, notes, needed = self._apply_quirks(c_rec, py_rec, None, declared)
            verdict = QUIRK if quirks else (ONLY_C if py_rec is None else ONLY_PY)
            return Row(verdict=verdict, notes=tuple(notes), quirks=quirks, tolerances=needed, **head)
        # The exact values when both sides have them (JSON lines), else the printed ones.
        exact = c_rec.exact is not None and py_rec.exact is not None
        c_items, py_items = (c_rec.exact, py_rec.exact) if exact else (c_rec.items, py_rec.items)
        cmp = compare_values(c_items, py_items, self.tol)
        measured = dict(abs_delta=cmp.abs_delta, rel_delta=cmp.rel_delta, mismatches=cmp.mismatches)
        if not cmp.mismatches:
            return Row(verdict=MATCH, **head, **measured)
        remaining, accepted_by = self._tolerate(c_items, cmp.mismatches, declared)
        self.used.update(map(id, accepted_by))
        if not remaining:
            return Row(verdict=TOLERATED, tolerances=accepted_by, **head, **measured)
        hints = tuple(value_hints(c_items, py_items, cmp, self.tol))
        quirks, notes, needed = self._apply_quirks(c_rec, py_rec, remaining, declared)
        return Row(verdict=QUIRK if quirks else DIVERGE, hints=hints, notes=tuple(notes), quirks=quirks,
                   tolerances=_distinct(accepted_by + needed) if quirks else (), **head, **measured)

    def _tolerate(self, c_items, mismatches, declared):
        """The mismatches no declared tolerance accepts, and the declarations that accepted the others."""
        remaining: list[Mismatch] = []
        accepted_by: list[DeclaredTolerance] = []
        for m in mismatches:
            item = c_items[m.item] if m.item is not None else None
            covering = _for_field(declared, item.key if isinstance(item, Keyed) else None)
            if m.kind == "numeric" and covering:
                tol = widest([self.tol, *(d.tolerance for d in covering)])
                if tol.close(float(m.c), float(m.py)):
                    accepted_by.extend(covering)
                    continue
            remaining.append(m)
        return remaining, _distinct(accepted_by)

    def _apply_quirks(self, c_rec, py_rec, remaining, declared):
        notes: list[str] = []
        rec = c_rec or py_rec
        c_items = c_rec.items if c_rec else None
        py_items = py_rec.items if py_rec else None
        cands = self.quirks.candidates(*rec.key)
        whole = [d for d in declared if d.selector.field is None]
        quirk, needed = self._first_holding(cands, c_items, py_items, rec.occurrence, whole, notes)
        if quirk is not None or remaining is None:  # a one-sided value has no fields to compare
            return ((quirk,) if quirk else ()), notes, needed
        applied: list[Quirk] = []
        all_needed: list[DeclaredTolerance] = []
        for idx in sorted({m.item for m in remaining}, key=lambda i: -1 if i is None else i):
            c_item, py_item = (c_items[idx], py_items[idx]) if idx is not None else (None, None)
            if not isinstance(c_item, Keyed):
                return (), notes, ()
            same_key = isinstance(py_item, Keyed) and py_item.key == c_item.key
            part = (c_item.value,), ((py_item.value,) if same_key else None)
            cands = self.quirks.candidates(*rec.key, field=c_item.key)
            quirk, needed = self._first_holding(
                cands, *part, rec.occurrence, _for_field(declared, c_item.key), notes)
            if quirk is None:
                return (), notes, ()
            applied.append(quirk)
            all_needed.extend(needed)
        return _distinct(applied), notes, _distinct(all_needed)

    def _first_holding(self, cands, c_part, py_part, occurrence, declared, notes):
        """The first quirk that holds (with the declared tolerances it needed), or ``(None, ())``."""
        wider = widest([self.tol, *(d.tolerance for d in declared)]) if declared else self.tol
        for q in cands:
            ok, detail = _holds(q, c_part, py_part, occurrence, self.tol, self.py)
            needed: tuple[DeclaredTolerance, ...] = ()
            if not ok and wider != self.tol:
                ok, detail = _holds(q, c_part, py_part, occurrence, wider, self.py)
                needed = tuple(declared)
            if ok:
                self.used.update(map(id, (q, *needed)))
                return q, needed
            within = f" within the declared {wider}" if wider != self.tol else ""
            notes.append(
                f"declared quirk did not hold{within}: {q.selector}: {q.describe()} "
                f"({q.source} line {q.line_no})" + (f"; {detail}" if detail else "")
            )
        return None, ()


def _target(py: Trace, sel: Selector, occurrence: int):
    rec = py.find(sel.channel, sel.name, sel.occurrence or occurrence)
    if rec is None or sel.field is None:
        return None if rec is None else rec.items
    for item in rec.items:
        if isinstance(item, Keyed) and item.key == sel.field:
            return (item.value,)
    return None


def _holds(q: Quirk, c_part, py_part, occurrence: int, tol: Tolerance, py: Trace) -> tuple[bool, str]:
    """Whether the declared expectation holds under ``tol``, and a detail for when it does not."""
    if q.kind == "ignore":
        return True, ""
    if c_part is None:
        return False, "C has no value"
    if q.kind == "c_value":
        return _same(c_part, q.literal, tol), f"C prints {_text(c_part)}"
    if q.kind == "same_as":
        target = _target(py, q.target, occurrence)
        sel = q.target
        where = str(Selector(sel.channel, sel.name, sel.occurrence or occurrence, sel.field))
        if target is None:
            return False, f"Py has no {where}"
        return _same(c_part, target, tol), f"Py {where} is {_text(target)}"
    if py_part is None:
        return False, "needs Py's value of the same name"
    if q.kind == "factor":
        pair = paired_numbers(c_part, py_part)
        ratio = pair[0][0] / pair[1][0] if pair and len(pair[0]) == 1 and pair[1][0] else None
        detail = f"C/Py = {ratio:.6g}" if ratio is not None else ""
        return scaled_match(c_part, py_part, q.factor, tol), detail
    pair = paired_numbers(c_part, py_part) if len(c_part) == len(py_part) else None
    if pair is None:
        return False, "values are not numeric vectors of the same shape"
    norms = math.hypot(*pair[0]), math.hypot(*pair[1])
    return tol.close(*norms), f"|C| = {norms[0]:.15g}, |Py| = {norms[1]:.15g}"
