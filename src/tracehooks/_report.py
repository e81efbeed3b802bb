"""The text view of a diff report (the ``tracehooks diff`` output; JSON: ``_report_json``).

It is written a few lines at a time, so that a report on large logs needs no
more memory than the report itself; the table lists only the rows that need
attention unless ``show_all``. Lines fit in ``width`` columns (characters;
``None`` or ``0``: no limit): long values are cut with ``…`` in the table and
wrapped onto indented lines in the first-divergence block. Control characters
in values are shown escaped (``\\x1b``), never sent to the terminal.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator
from typing import TextIO

from ._diff import DiffReport, Row, RowView
from ._judge import (
    DIVERGE,
    MATCH,
    NOT_TRACED,
    ONLY_C,
    ONLY_PY,
    QUIRK,
    TOLERATED,
    VERDICTS,
)
from ._parse import Trace
from ._quirks import DeclaredTolerance, Quirk

__all__ = ["DEFAULT_WIDTH", "iter_text", "render_text", "write_lines", "write_text"]

#: Columns of the text report unless told otherwise.
DEFAULT_WIDTH = 100

_VERDICT_TEXT = {
    MATCH: "match",
    TOLERATED: "tolerated",
    QUIRK: "QUIRK",
    DIVERGE: "DIVERGE",
    ONLY_C: "C only",
    ONLY_PY: "Py only",
    NOT_TRACED: "not traced",
}
_HEADERS = ("name", "C/Py line", "C", "Py", "abs Δ", "rel Δ", "verdict", "note")
_FLEXIBLE = (0, 2, 3)  # name, C, Py: cut to fit the width, in that order of importance
_NOTE_LINES = 2  # wrapped lines of a row's note in the table
_MISMATCH_LINES = 20  # differing elements listed in the first-divergence block
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_HIDDEN = (MATCH, TOLERATED, NOT_TRACED)  # verdicts the table leaves out unless show_all


def _clean(text: str) -> str:
    """``text`` with control characters escaped, so that a value cannot drive the terminal."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def _cut(text: str, width: int | None) -> str:
    return text if width is None or len(text) <= width else text[:max(width - 1, 0)] + "…"


def _wrap(first: str, text: str, width: int | None, indent: int) -> Iterator[str]:
    """``first + text`` broken at spaces (or anywhere in a long word) into lines of ``width``."""
    if width is not None and len(first) >= width - 1:  # a label too long for its line: cut it
        yield _cut(first, width)
        first = " " * indent
    line, rest = first, text
    while width is not None and len(line) + len(rest) > width:
        room = width - len(line)
        cut = rest.rfind(" ", 0, room + 1)
        cut = cut if cut > 0 else room
        yield line + rest[:cut].rstrip()
        line, rest = " " * indent, rest[cut:].lstrip(" ")
        if not rest:
            return
    yield line + rest


def _mismatch_text(row: Row) -> list[str]:
    plain = [m.where for m in row.mismatches if m.kind in ("numeric", "int", "string")]
    parts = []
    if plain == [""]:
        parts.append("value differs")
    elif plain:
        more = f" and {len(plain) - 3} more" if len(plain) > 3 else ""
        parts.append(f"differs at {', '.join(plain[:3])}{more}")
    for m in row.mismatches:
        if m.kind == "length":
            parts.append(f"C has {m.c}, Py has {m.py}")
        elif m.kind in ("key", "shape", "type"):
            parts.append(f"{m.where or 'value'}: {m.kind} differs")
    return parts


def _quirk_text(quirks: tuple[Quirk, ...]) -> str:
    by_reason: dict[str, list[str]] = {}
    for q in quirks:
        where = f"{q.selector}: {q.describe()}, {q.source} line {q.line_no}"
        by_reason.setdefault(q.reason, []).append(where)
    return "; ".join(f"known quirk: {why} ({'; '.join(at)})" for why, at in by_reason.items())


def _tolerance_text(tolerances: tuple[DeclaredTolerance, ...], selector: bool = True) -> str:
    # "rtol 1e-10 (F_latt_c, c.tol line 4): sinc ratio near a node"; the reason last, as it is prose.
    return "; ".join(
        f"{t.describe()[len('tolerance '):]} ({f'{t.selector}, ' if selector else ''}{t.where()}): {t.reason}"
        for t in tolerances
    )


def _note(row: Row, report: DiffReport) -> str:
    if row.verdict == QUIRK:
        text = _quirk_text(row.quirks)
        return text + (f"; with declared {_tolerance_text(row.tolerances)}" if row.tolerances else "")
    if row.verdict == TOLERATED:
        return f"within declared {_tolerance_text(row.tolerances)}"
    parts = list(row.hints) + list(row.notes)
    if row.verdict == DIVERGE:
        parts = _mismatch_text(row) + parts
    elif row.verdict in (ONLY_C, ONLY_PY):
        other = report.py if row.verdict == ONLY_C else report.c
        if other.occurrences(row.channel, row.name) == 0:
            parts.insert(0, f"name absent from {'Py' if row.verdict == ONLY_C else 'C'}")
    return "; ".join(parts)


def _compared_text(row: Row, rec) -> str:
    """The value text compared: the exact values when both sides have them (JSON lines), else the printed."""
    exact = row.c is not None and row.py is not None and None not in (row.c.exact_text, row.py.exact_text)
    return rec.exact_text if exact else rec.text


def _cells(row: Row) -> tuple[str, ...]:
    return (
        _clean(row.label),
        f"{row.c.line_no if row.c else '-'}/{row.py.line_no if row.py else '-'}",
        _clean(_compared_text(row, row.c)) if row.c else "-",
        _clean(_compared_text(row, row.py)) if row.py else "-",
        _num(row.abs_delta),
        _num(row.rel_delta),
        _VERDICT_TEXT[row.verdict],
    )


def _plain_cells(report: DiffReport, view: RowView) -> tuple[tuple[str, ...], str]:
    # A row that judging would add nothing to: its cells come from the view, unparsed.
    delta = _num(view.delta)
    cells = (_clean(view.label), f"{view.c_line or '-'}/{view.py_line or '-'}",
             _clean(view.c_text) if view.c_text is not None else "-",
             _clean(view.py_text) if view.py_text is not None else "-",
             delta, delta, _VERDICT_TEXT[view.verdict])
    note = ""
    if view.verdict in (ONLY_C, ONLY_PY):
        other, side = (report.py, "Py") if view.verdict == ONLY_C else (report.c, "C")
        note = f"name absent from {side}" if other.occurrences(view.channel, view.name) == 0 else ""
    return cells, note


def _row_cells(report: DiffReport, index: int) -> tuple[tuple[str, ...], str]:
    """The table cells of row ``index`` and its note (cleaned)."""
    view = report.rows.view(index)
    if view.plain:
        return _plain_cells(report, view)
    row = report.rows[index]
    return _cells(row), _clean(_note(row, report))


def _widths(natural: list[int], width: int | None) -> list[int]:
    """Column widths: the natural ones, or with name, C and Py cut evenly so that a line fits."""
    if width is None:
        return natural
    budget = width - sum(w for i, w in enumerate(natural) if i not in _FLEXIBLE) - 2 * (len(natural) - 1)
    flexible = sorted(natural[i] for i in _FLEXIBLE)
    cap, remaining = flexible[-1], budget
    for k, w in enumerate(flexible):
        share = remaining // (len(flexible) - k)
        if w > share:
            cap = max(share, 4)
            break
        remaining -= w
    return [min(w, cap) if i in _FLEXIBLE else w for i, w in enumerate(natural)]


def _table(report: DiffReport, shown: list[int], width: int | None) -> Iterator[str]:
    columns = len(_HEADERS) - (0 if width is None else 1)  # the note goes under its row when cut
    natural = [len(h) for h in _HEADERS[:columns]]
    for i in shown:  # first pass: the widest cell of each column
        cells, note = _row_cells(report, i)
        natural = [max(n, len(c)) for n, c in zip(natural, cells + (note,))]
    widths = _widths(natural, width)

    def line(cells) -> str:
        return "  ".join(_cut(c, w).ljust(w) for c, w in zip(cells, widths)).rstrip()

    yield line(_HEADERS[:columns])
    for i in shown:
        cells, note = _row_cells(report, i)
        if width is None:
            yield line(cells + (note,))
            continue
        yield line(cells)
        if note:
            wrapped = list(_wrap("  ", note, width, 4))
            if len(wrapped) > _NOTE_LINES:
                wrapped = wrapped[:_NOTE_LINES - 1] + [_cut(wrapped[_NOTE_LINES - 1] + " …", width)]
            yield from wrapped


def _trace_line(side: str, trace: Trace) -> str:
    records = len(trace.records)
    return (
        f"{side}: {_clean(trace.source)} (prefix {trace.prefix or '-'}): {records} "
        f"record{'' if records == 1 else 's'}; "
        f"ignored {trace.ignored_other_side} other-side and {trace.ignored_untagged} "
        f"untagged lines"
    )


def _first_block(row: Row, width: int | None) -> Iterator[str]:
    c_line = row.c.line_no if row.c else "-"
    py_line = row.py.line_no if row.py else "-"
    yield from _wrap("", f"first divergence: {_clean(row.qualified_name)} (occurrence {row.occurrence}, "
                         f"C line {c_line}, Py line {py_line})", width, 2)
    yield from _wrap("  C : ", _clean(_compared_text(row, row.c)) if row.c else "(absent)", width, 6)
    yield from _wrap("  Py: ", _clean(_compared_text(row, row.py)) if row.py else "(absent)", width, 6)
    for m in row.mismatches[:_MISMATCH_LINES]:
        measured = f" (abs Δ {_num(m.abs_delta)}, rel Δ {_num(m.rel_delta)})" if m.abs_delta is not None else ""
        text = f"C {_clean(m.c)} vs Py {_clean(m.py)} [{m.kind}]{measured}"
        yield from _wrap(f"  {_clean(m.where) or 'value'}: ", text, width, 4)
    if len(row.mismatches) > _MISMATCH_LINES:
        yield f"  ... and {len(row.mismatches) - _MISMATCH_LINES} more differing elements (--json lists them)"
    for label, texts in (("hint", row.hints), ("note", row.notes)):
        for text in texts:
            yield from _wrap(f"  {label}: ", _clean(text), width, 4)


def _tolerated_block(report: DiffReport, width: int | None) -> Iterator[str]:
    rows = report.rows
    tolerated = list(rows.indices([TOLERATED]))
    if not tolerated:
        return
    yield ""
    yield f"within declared tolerances ({len(tolerated)}):"
    label_width = min(max(len(rows.label(i)) for i in tolerated), 30)
    for i in tolerated:
        row = rows[i]
        head = (f"  {_cut(_clean(row.label), label_width).ljust(label_width)}  rel Δ {_num(row.rel_delta):<8}  "
                f"abs Δ {_num(row.abs_delta):<8}  ")
        yield from _wrap(head, _clean(_tolerance_text(row.tolerances, selector=False)), width, 4)


def _one_sided_block(report: DiffReport, width: int | None) -> Iterator[str]:
    rows = report.rows
    for verdict, title in ((ONLY_C, "only in C"), (ONLY_PY, "only in Py")):
        if report.count(verdict):
            yield ""
            yield f"{title} ({report.count(verdict)}):"
            for i in rows.indices([verdict]):
                yield _cut(f"  {_clean(rows.label(i))} (line {rows.line_no(i)})", width)


def _unused_block(report: DiffReport, show_all: bool, width: int | None) -> Iterator[str]:
    uncovered = {id(t) for t in report.uncovered_tolerances}
    for title, unused in (("quirks", report.unused_quirks), ("tolerances", report.unused_tolerances)):
        if not unused:
            continue
        yield ""
        if not show_all:
            naming = sum(1 for d in unused if id(d) in uncovered)
            which = f", {naming} of them naming no compared value" if naming else ""
            counted = f"{len(unused)} declared {title if len(unused) > 1 else title[:-1]}"
            yield f"{counted} not needed here{which} (--all lists them)"
            continue
        yield f"declared {title} not needed ({len(unused)}):"
        for d in unused:
            where = d.where() if isinstance(d, DeclaredTolerance) else f"{d.source} line {d.line_no}"
            naming = " (names no compared value)" if id(d) in uncovered else ""
            yield _cut(_clean(f"  {where}: {d.selector}: {d.describe()}{naming}"), width)


def _nothing_shown(report: DiffReport) -> str:
    matches, tolerated = report.count(MATCH), report.count(TOLERATED)
    if tolerated:
        return (f"(no rows to show: {matches} {'value matches' if matches == 1 else 'values match'}, "
                f"{tolerated} within declared tolerances; --all lists them)")
    if matches == 1:
        return "(no rows to show: the 1 value matches; --all lists it)"
    return f"(no rows to show: all {matches} values match; --all lists them)"


def iter_text(report: DiffReport, *, show_all: bool = False, width: int | None = DEFAULT_WIDTH,
              summary: bool = True) -> Iterator[str]:
    """The lines of :func:`render_text`, one at a time (without line ends)."""
    width = width or None
    yield from _wrap("", _trace_line("C ", report.c), width, 4)
    yield from _wrap("", _trace_line("Py", report.py), width, 4)
    yield ""
    hidden = () if show_all else _HIDDEN
    shown = [i for i in report.rows.indices(v for v in VERDICTS if v not in hidden)]
    if shown:
        yield from _table(report, shown, width)
    else:
        yield _nothing_shown(report)
    first = report.first_divergence
    if first is not None:
        yield ""
        yield from _first_block(first, width)
    yield from _tolerated_block(report, width)
    yield from _one_sided_block(report, width)
    yield from _unused_block(report, show_all, width)
    if summary:
        yield ""
        yield from _wrap("", _clean(report.summary()), width, 2)


def write_text(report: DiffReport, stream: TextIO, *, show_all: bool = False,
               width: int | None = DEFAULT_WIDTH, summary: bool = True) -> None:
    """Write :func:`render_text`'s report to ``stream``, a few lines at a time."""
    write_lines(iter_text(report, show_all=show_all, width=width, summary=summary), stream)


def render_text(report: DiffReport, *, show_all: bool = False, width: int | None = DEFAULT_WIDTH,
                summary: bool = True) -> str:
    """The human-readable report: header, table, first divergence, tolerated and one-sided values, verdict.

    The table lists rows that are not plain matches or tolerated; ``show_all`` lists every row.
    Every line fits in ``width`` columns (``None`` or ``0``: no limit, values in full).
    ``summary=False`` leaves out the closing verdict line (``report.summary()``), for a caller
    that prints a verdict of its own.

    >>> from tracehooks._diff import diff_traces
    >>> r = diff_traces(["TRACE_C: a 1"], ["TRACE_PY: a 2"])
    >>> for line in render_text(r, width=60).splitlines()[-3:]:
    ...     print(line)
    DIVERGE: first at a (occurrence 1, C line 1, Py line 1): C 1
      vs Py 2; 0 values agree (rtol 1e-12, atol 0); 0 known
      reference quirks; 1 divergence; 0 only in C; 0 only in Py
    """
    out = io.StringIO()
    write_text(report, out, show_all=show_all, width=width, summary=summary)
    return out.getvalue()


def write_lines(lines: Iterable[str], stream: TextIO, batch: int = 500) -> None:
    """Write ``lines`` to ``stream``, each ended by a newline, ``batch`` lines per write.

    >>> import io
    >>> out = io.StringIO(); write_lines(["a", "b"], out); out.getvalue()
    'a\\nb\\n'
    """
    chunk: list[str] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) >= batch:
            stream.write("\n".join(chunk) + "\n")
            chunk = []
    if chunk:
        stream.write("\n".join(chunk) + "\n")
