"""Align two traces by (channel, name, occurrence) and judge every value.

Values are paired by key, not by position; each pair is judged by
:class:`~tracehooks._judge.Judge` (match, tolerated, known quirk,
divergence). Time and memory are linear in the size of the logs: a value
whose printed text is the same on both sides is a match without being
parsed, and the report keeps one byte per row; a :class:`Row` is built,
and its value parsed and judged again, when it is asked for.
"""

from __future__ import annotations

import os
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple, overload

from ._compare import (
    DEFAULT_ATOL,
    DEFAULT_RTOL,
    Comparison,
    Mismatch,
    Tolerance,
    compare_values,
)
from ._judge import (
    ACCEPTED,
    DIVERGE,
    MATCH,
    NOT_TRACED,
    ONLY_C,
    ONLY_PY,
    QUIRK,
    TOLERATED,
    VERDICTS,
    Declared,
    Judge,
    Row,
)
from ._parse import Trace, parse_trace
from ._quirks import DeclaredTolerance, Quirk, QuirkSet, load_quirks, load_tolerances
from ._values import has_number

__all__ = [
    "DEFAULT_ATOL",
    "DEFAULT_RTOL",
    "Comparison",
    "DiffReport",
    "EmptyTraceError",
    "Mismatch",
    "NOT_TRACED",
    "Row",
    "RowView",
    "Rows",
    "TOLERATED",
    "Tolerance",
    "compare_values",
    "diff_traces",
]

_CODE = {verdict: code for code, verdict in enumerate(VERDICTS)}
# A match whose printed text is the same on both sides (stored apart: its row is cheap to show).
_SAME_TEXT = len(VERDICTS)


class RowView(NamedTuple):
    """What a row shows without judging it again: its key, verdict, lines and value texts.

    ``same_text``: the row is a match because both sides printed the same text.
    ``plain``: judging the row again would add nothing to this view (no mismatch, hint, note or
    declaration): a same-text match, or a one-sided value with no quirk declared for its name.
    """

    label: str
    channel: str
    name: str
    occurrence: int
    verdict: str
    c_line: int | None
    py_line: int | None
    c_text: str | None
    py_text: str | None
    same_text: bool
    plain: bool

    @property
    def delta(self) -> float | None:
        """The abs and rel delta of a plain row: 0 for a same-text match holding a number, else None.

        >>> diff_traces(["TRACE_C: a 1.5 x"], ["TRACE_PY: a 1.5 x"]).rows.view(0).delta
        0.0
        """
        return 0.0 if self.same_text and has_number(self.c_text) else None


_SUMMARY_VALUE = 60  # longest value text quoted in the verdict line


class EmptyTraceError(ValueError):
    """A log with no trace line of its side: nothing can be compared, which is never a match.

    ``side`` is ``"C"`` or ``"Py"``; ``source`` and ``prefix`` are the log's.

    >>> diff_traces(["TRACE_C: a 1"], ["crashed before tracing"])
    Traceback (most recent call last):
    ...
    tracehooks._diff.EmptyTraceError: no trace lines in <lines> (no line starts with TRACE_)
    """

    def __init__(self, side: str, trace: Trace) -> None:
        why = f"prefix {trace.prefix}" if trace.prefix else "no line starts with TRACE_"
        super().__init__(f"no trace lines in {trace.source} ({why})")
        self.side = side
        self.source = trace.source
        self.prefix = trace.prefix


class Rows(Sequence):
    """The rows of a report: every C record in C order, then the Py-only records in Py order.

    Each row is stored as its verdict (one byte) and the records it pairs; ``rows[i]`` judges
    the pair again and returns a :class:`Row`. ``verdict(i)`` and ``label(i)`` are cheap.

    >>> rows = diff_traces(["TRACE_C: a 1", "TRACE_C: b 2"], ["TRACE_PY: a 1"]).rows
    >>> len(rows), rows.verdict(1), rows[1].label
    (2, 'only_c', 'b')
    """

    def __init__(self, judge: Judge, c: Trace, py: Trace, verdicts: bytearray,
                 py_of_c: array, py_only: array) -> None:
        self._judge, self._c, self._py = judge, c, py
        self._verdicts, self._py_of_c, self._py_only = verdicts, py_of_c, py_only
        self._counts = {verdict: verdicts.count(_CODE[verdict]) for verdict in VERDICTS}
        self._counts[MATCH] += verdicts.count(_SAME_TEXT)
        failing = [verdicts.find(_CODE[v]) for v in (DIVERGE, ONLY_C, ONLY_PY)]
        self._first_failing = min((i for i in failing if i >= 0), default=None)

    def __len__(self) -> int:
        return len(self._verdicts)

    @overload
    def __getitem__(self, index: int) -> Row: ...

    @overload
    def __getitem__(self, index: slice) -> list[Row]: ...

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self._row(i) for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("row index out of range")
        return self._row(index)

    def __iter__(self) -> Iterator[Row]:
        return (self._row(i) for i in range(len(self)))

    def __eq__(self, other: object) -> bool:
        # Compares equal to a list of the same rows, as the list it replaces did.
        if isinstance(other, (list, tuple, Rows)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<{len(self)} rows>"

    def verdict(self, index: int) -> str:
        """The verdict of row ``index``, without building the row."""
        code = self._verdicts[index]
        return MATCH if code == _SAME_TEXT else VERDICTS[code]

    def tally(self, verdict: str) -> int:
        """How many rows have this verdict."""
        return self._counts.get(verdict, 0)

    def indices(self, verdicts: Iterable[str]) -> Iterator[int]:
        """The indices of the rows with one of ``verdicts``, in order."""
        codes = {_CODE[v] for v in verdicts}
        if _CODE[MATCH] in codes:
            codes.add(_SAME_TEXT)
        return (i for i, code in enumerate(self._verdicts) if code in codes)

    def first_failing(self) -> int | None:
        """The index of the first divergence or one-sided row, or ``None``."""
        return self._first_failing

    def line_no(self, index: int) -> int:
        """The line of row ``index``'s record in its log (the C log's, unless the row is Py-only)."""
        trace, at = self._locate(index)
        return trace._line_of[at]

    def view(self, index: int) -> RowView:
        """Row ``index`` as shown, without parsing or judging its values.

        >>> diff_traces(["TRACE_C: a 1.5"], ["TRACE_PY: a 1.5"]).rows.view(0)[:8]
        ('a', '', 'a', 1, 'match', 1, 1, '1.5')
        """
        c, py = self._c, self._py
        c_at, py_at = self._pair(index)
        trace, at = (c, c_at) if c_at >= 0 else (py, py_at)
        channel, name = trace._names[trace._key_of[at]]
        code = self._verdicts[index]
        one_sided = code in (_CODE[ONLY_C], _CODE[ONLY_PY])
        return RowView(
            self._label(trace, at), channel, name, trace._occurrence_of[at],
            MATCH if code == _SAME_TEXT else VERDICTS[code],
            c._line_of[c_at] if c_at >= 0 else None,
            py._line_of[py_at] if py_at >= 0 else None,
            c._value_text(c_at) if c_at >= 0 else None,
            py._value_text(py_at) if py_at >= 0 else None,
            code == _SAME_TEXT,
            code == _SAME_TEXT or (one_sided and not self._judge.quirks.names(channel, name)),
        )

    def label(self, index: int) -> str:
        """``[CHANNEL/]name``, with ``#occurrence`` when the name occurs more than once in either log."""
        return self._label(*self._locate(index))

    def _label(self, trace: Trace, at: int) -> str:
        channel, name = trace._names[trace._key_of[at]]
        base = f"{channel}/{name}" if channel else name
        repeated = self._c.occurrences(channel, name) > 1 or self._py.occurrences(channel, name) > 1
        return f"{base}#{trace._occurrence_of[at]}" if repeated else base

    def _pair(self, index: int) -> tuple[int, int]:
        """The C and the Py record of row ``index`` (-1 for the side that has none)."""
        n_c = len(self._py_of_c)
        return (index, self._py_of_c[index]) if index < n_c else (-1, self._py_only[index - n_c])

    def _locate(self, index: int) -> tuple[Trace, int]:
        c_at, py_at = self._pair(index)
        return (self._c, c_at) if c_at >= 0 else (self._py, py_at)

    def _row(self, index: int) -> Row:
        c_at, py_at = self._pair(index)
        c_rec = self._c._record(c_at) if c_at >= 0 else None
        py_rec = self._py._record(py_at) if py_at >= 0 else None
        label = self.label(index)
        if self._verdicts[index] == _CODE[NOT_TRACED]:
            return Row(c_rec.channel, c_rec.name, c_rec.occurrence, label, NOT_TRACED, c_rec, None)
        return self._judge.row(c_rec, py_rec, label)


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _brief(text: str) -> str:
    return text if len(text) <= _SUMMARY_VALUE else text[:_SUMMARY_VALUE - 1] + "…"


@dataclass
class DiffReport:
    """Every row of a diff, in C line order then Py-only rows in Py order.

    ``unused_quirks``/``unused_tolerances``: declarations no row needed;
    ``uncovered_tolerances``: those of them that named no compared value at all.

    >>> r = diff_traces(["TRACE_C: a 1.5"], ["TRACE_PY: a 1.5"])
    >>> r.ok, r.summary()
    (True, 'MATCH: 1 value agrees (rtol 1e-12, atol 0); 0 known reference quirks; 0 divergences')
    """

    c: Trace
    py: Trace
    tolerance: Tolerance
    rows: Rows
    quirks: QuirkSet | None = None
    unused_quirks: tuple[Quirk, ...] = ()
    py_subset: bool = False
    tolerances: tuple[DeclaredTolerance, ...] = ()
    unused_tolerances: tuple[DeclaredTolerance, ...] = ()
    uncovered_tolerances: tuple[DeclaredTolerance, ...] = ()

    def count(self, verdict: str) -> int:
        """Number of rows with this verdict (``match``, ``tolerated``, ``quirk``, ...)."""
        return self.rows.tally(verdict)

    @property
    def ok(self) -> bool:
        """True when every row is a match, tolerated, a known quirk or (with ``py_subset``) not
        traced, and at least one value was compared when the Python trace may cover only part of
        the C's."""
        compared = self.count(MATCH) + self.count(TOLERATED) + self.count(QUIRK)
        accepted = sum(self.count(v) for v in ACCEPTED)
        return (not self.py_subset or compared > 0) and accepted == len(self.rows)

    @property
    def first_divergence(self) -> Row | None:
        """First divergence or C-only row in C order; else the first Py-only row."""
        # Rows hold every C record in C order before the Py-only records.
        index = self.rows.first_failing()
        return None if index is None else self.rows[index]

    def summary(self) -> str:
        """The one-line verdict (``MATCH: ...`` or ``DIVERGE: first at ...``)."""
        agree = f"{_plural(self.count(MATCH), 'value agrees', 'values agree')} ({self.tolerance}); "
        if self.tolerances or self.count(TOLERATED):
            agree += f"{self.count(TOLERATED)} within declared tolerances; "
        agree += _plural(self.count(QUIRK), "known reference quirk", "known reference quirks")
        if self.count(NOT_TRACED):
            agree += f"; {_plural(self.count(NOT_TRACED), 'C value', 'C values')} not traced by Py"
        first = self.first_divergence
        if first is None and not self.ok:
            return f"DIVERGE: nothing compared (the Python trace has no value the C trace has); {agree}"
        if first is None:
            return f"MATCH: {agree}; 0 divergences"
        lines = (f"C line {first.c.line_no if first.c else '-'}, "
                 f"Py line {first.py.line_no if first.py else '-'}")
        exact = first.c is not None and first.py is not None and None not in (
            first.c.exact_text, first.py.exact_text)  # both exact (JSON lines): show what was compared
        c_text = f"C {_brief(first.c.exact_text if exact else first.c.text)}" if first.c else "C (absent)"
        py_text = f"Py {_brief(first.py.exact_text if exact else first.py.text)}" if first.py else "Py (absent)"
        hint = f" [{first.hints[0]}]" if first.hints else ""
        return (
            f"DIVERGE: first at {first.qualified_name} (occurrence {first.occurrence}, {lines}): "
            f"{c_text} vs {py_text}{hint}; {agree}; "
            f"{_plural(self.count(DIVERGE), 'divergence', 'divergences')}; "
            f"{self.count(ONLY_C)} only in C; {self.count(ONLY_PY)} only in Py"
        )


def _declared(tolerances) -> tuple[DeclaredTolerance, ...]:
    if tolerances is None:
        return ()
    if isinstance(tolerances, (str, os.PathLike)):
        return load_tolerances(tolerances)
    items = list(tolerances)
    if all(isinstance(t, DeclaredTolerance) for t in items):
        return tuple(items)
    if all(isinstance(t, (str, bytes)) for t in items):
        return load_tolerances(items)
    raise TypeError(
        "tolerances must be a path, the lines of a tolerances file or DeclaredTolerance objects, "
        f"got {type(next(t for t in items if not isinstance(t, (str, bytes)))).__name__}"
    )


def diff_traces(
    c: Trace | str | os.PathLike | Iterable[str],
    py: Trace | str | os.PathLike | Iterable[str],
    *,
    rtol: float = DEFAULT_RTOL,
    atol: float = DEFAULT_ATOL,
    quirks: QuirkSet | str | os.PathLike | Iterable[str] | None = None,
    tolerances: str | os.PathLike | Iterable[DeclaredTolerance] | Iterable[str] | None = None,
    py_subset: bool = False,
) -> DiffReport:
    """Align ``c`` and ``py`` by (channel, name, occurrence) and judge each value.

    ``c``/``py`` are parsed traces or anything :func:`parse_trace` reads;
    ``quirks`` is a :class:`QuirkSet` or anything :func:`load_quirks` reads (its
    ``tolerance`` lines are used too). ``tolerances`` is a path to a file of
    ``tolerance`` declarations, its lines, or :class:`DeclaredTolerance` objects.
    ``py_subset``: the Python trace covers part of the C's (e.g. only the detector block); C values
    whose name never appears in it are counted as ``not_traced`` instead of failing the diff. A name the
    Python trace does print must still match occurrence by occurrence.
    Raises :class:`EmptyTraceError` when either log has no trace line.

    >>> r = diff_traces(["TRACE_C: d 100"], ["TRACE_PY: d 0.1"])
    >>> r.rows[0].verdict, r.rows[0].hints
    ('diverge', ('C = 1e3 x Py (mm vs m?)',))
    >>> r = diff_traces(["TRACE_C: F 1.0000001"], ["TRACE_PY: F 1"],
    ...                 tolerances=["F: tolerance rtol 1e-6 | sinc ratio near a node"])
    >>> r.rows[0].verdict, r.ok
    ('tolerated', True)
    """
    tol = Tolerance(rtol, atol)
    c = c if isinstance(c, Trace) else parse_trace(c)
    py = py if isinstance(py, Trace) else parse_trace(py)
    for side, trace in (("C", c), ("Py", py)):
        if not trace.records:
            raise EmptyTraceError(side, trace)
    if quirks is not None and not isinstance(quirks, QuirkSet):
        quirks = load_quirks(quirks)
    quirk_set = quirks or QuirkSet(())
    declared = Declared(quirk_set.tolerances + _declared(tolerances))
    judge = Judge(tol, quirk_set, declared, py)
    verdicts, py_of_c, covered = _judge_c_rows(judge, c, py, py_subset)
    py_only = _judge_py_only_rows(judge, c, py, verdicts)
    unused = tuple(d for d in declared.all if id(d) not in judge.used)
    return DiffReport(
        c, py, tol, Rows(judge, c, py, verdicts, py_of_c, py_only), quirks,
        unused_quirks=tuple(q for q in quirk_set.entries if id(q) not in judge.used),
        py_subset=py_subset, tolerances=declared.all, unused_tolerances=unused,
        uncovered_tolerances=tuple(d for d in unused if id(d) not in covered),
    )


def _judge_c_rows(judge: Judge, c: Trace, py: Trace, py_subset: bool):
    """Verdict codes of the C rows, the Py record each pairs with (-1: none), the ids of the
    declared tolerances that named a compared value."""
    n = len(c._line_of)
    verdicts, py_of_c, covered = bytearray([_SAME_TEXT]) * n, array("q", [-1]) * n, set()
    py_key = [py._key_ids.get(name, -1) for name in c._names]
    quirked = [judge.quirks.names(*name) for name in c._names]
    declared = [name in judge.declared.by_name for name in c._names]
    key_of, occurrence_of, by_key = c._key_of, c._occurrence_of, py._by_key
    c_text, c_start, py_text, py_start = c._text, c._start, py._text, py._start
    c_exact, py_exact = c._exact, py._exact
    for i in range(n):
        key, occurrence = key_of[i], occurrence_of[i]
        if py_key[key] < 0 and py_subset:
            verdicts[i] = _CODE[NOT_TRACED]
            continue
        pairs = by_key[py_key[key]] if py_key[key] >= 0 else ()
        if occurrence > len(pairs):
            verdict = judge.row(c._record(i), None, "").verdict if quirked[key] else ONLY_C
            verdicts[i] = _CODE[verdict]
            continue
        j = py_of_c[i] = pairs[occurrence - 1]
        if declared[key]:
            covered.update(map(id, judge.declared.covering(*c._names[key], occurrence)))
        if c_text[c_start[i]:c_start[i + 1]] != py_text[py_start[j]:py_start[j + 1]] or (
                i in c_exact and j in py_exact and c_exact[i] != py_exact[j]):
            # (the same printed text, but both sides have exact values that differ)
            verdicts[i] = _CODE[judge.row(c._record(i), py._record(j), "").verdict]
    return verdicts, py_of_c, covered


def _judge_py_only_rows(judge: Judge, c: Trace, py: Trace, verdicts: bytearray) -> array:
    """The Py records no C record pairs with, in Py order; their verdict codes go to ``verdicts``."""
    py_only = array("q")
    c_count = [c.occurrences(*name) for name in py._names]
    quirked = [judge.quirks.names(*name) for name in py._names]
    key_of, occurrence_of = py._key_of, py._occurrence_of
    for j in range(len(py._line_of)):
        key = key_of[j]
        if occurrence_of[j] > c_count[key]:
            py_only.append(j)
            verdict = judge.row(None, py._record(j), "").verdict if quirked[key] else ONLY_PY
            verdicts.append(_CODE[verdict])
    return py_only
