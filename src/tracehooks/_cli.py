"""The ``tracehooks`` command line and the text/JSON views of a diff report.

``tracehooks diff C_LOG PY_LOG`` exits 0 when every value matches (declared
quirks allowed), 1 on any divergence or one-sided value, 2 on unreadable
input. See docs/diff.md.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any, TextIO, Union

from tracehooks._diff import (
    DEFAULT_ATOL,
    DEFAULT_RTOL,
    DIVERGE,
    MATCH,
    ONLY_C,
    NOT_TRACED,
    ONLY_PY,
    QUIRK,
    DiffReport,
    Mismatch,
    Row,
    diff_traces,
)
from tracehooks._parse import Trace, TraceParseError, parse_trace
from tracehooks._quirks import Quirk, QuirksError, load_quirks

__all__ = ["JSON_SCHEMA", "main", "render_json", "render_text", "report_as_dict"]

#: Value of the ``schema`` key of ``--json`` output; bumped on incompatible changes.
JSON_SCHEMA = "tracehooks.diff/1"

_VERDICT_TEXT = {
    MATCH: "match",
    QUIRK: "QUIRK",
    DIVERGE: "DIVERGE",
    ONLY_C: "C only",
    ONLY_PY: "Py only",
    NOT_TRACED: "not traced",
}
_HEADERS = ("name", "C/Py line", "C", "Py", "abs Δ", "rel Δ", "verdict", "note")


def _num(value: Union[float, None]) -> str:
    return "-" if value is None else f"{value:.3g}"


def _mismatch_text(mismatches: tuple[Mismatch, ...]) -> list[str]:
    plain = [m.where for m in mismatches if m.kind in ("numeric", "int", "string")]
    parts = []
    if plain == [""]:
        parts.append("value differs")
    elif plain:
        more = f" and {len(plain) - 3} more" if len(plain) > 3 else ""
        parts.append(f"differs at {', '.join(plain[:3])}{more}")
    for m in mismatches:
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


def _note(row: Row, report: DiffReport) -> str:
    if row.verdict == QUIRK:
        return _quirk_text(row.quirks)
    parts = list(row.hints) + list(row.notes)
    if row.verdict == DIVERGE:
        parts = _mismatch_text(row.mismatches) + parts
    elif row.verdict in (ONLY_C, ONLY_PY):
        other = report.py if row.verdict == ONLY_C else report.c
        if other.occurrences(row.channel, row.name) == 0:
            parts.insert(0, f"name absent from {'Py' if row.verdict == ONLY_C else 'C'}")
    return "; ".join(parts)


def _table(rows: list[Row], report: DiffReport) -> list[str]:
    cells = [
        (
            row.label,
            f"{row.c.line_no if row.c else '-'}/{row.py.line_no if row.py else '-'}",
            row.c.text if row.c else "-",
            row.py.text if row.py else "-",
            _num(row.abs_delta),
            _num(row.rel_delta),
            _VERDICT_TEXT[row.verdict],
            _note(row, report),
        )
        for row in rows
    ]
    widths = [max(len(str(c[i])) for c in [_HEADERS] + cells) for i in range(len(_HEADERS))]
    return [
        "  ".join(str(cell).ljust(width) for cell, width in zip(line, widths)).rstrip()
        for line in [_HEADERS] + cells
    ]


def _trace_line(side: str, trace: Trace) -> str:
    return (
        f"{side}: {trace.source} (prefix {trace.prefix or '-'}): {len(trace.records)} "
        f"record{'' if len(trace.records) == 1 else 's'}; "
        f"ignored {trace.ignored_other_side} other-side and {trace.ignored_untagged} "
        f"untagged lines"
    )


def _first_block(row: Row) -> list[str]:
    c_line = row.c.line_no if row.c else "-"
    py_line = row.py.line_no if row.py else "-"
    lines = [
        f"first divergence: {row.qualified_name} (occurrence {row.occurrence}, "
        f"C line {c_line}, Py line {py_line})",
        f"  C : {row.c.text if row.c else '(absent)'}",
        f"  Py: {row.py.text if row.py else '(absent)'}",
    ]
    for m in row.mismatches:
        detail = f" (abs Δ {_num(m.abs_delta)}, rel Δ {_num(m.rel_delta)})"
        measured = detail if m.abs_delta is not None else ""
        lines.append(f"  {m.where or 'value'}: C {m.c} vs Py {m.py} [{m.kind}]{measured}")
    lines += [f"  hint: {hint}" for hint in row.hints]
    lines += [f"  note: {note}" for note in row.notes]
    return lines


def render_text(report: DiffReport, *, show_all: bool = False) -> str:
    """The human-readable report: header, table, first divergence, one-sided names, verdict.

    The table lists rows that are not plain matches; ``show_all`` lists every row.

    >>> r = diff_traces(["TRACE_C: a 1"], ["TRACE_PY: a 2"])
    >>> render_text(r).splitlines()[-1][:40]
    'DIVERGE: first at a (occurrence 1, C lin'
    """
    out = [_trace_line("C ", report.c), _trace_line("Py", report.py), ""]
    rows = report.rows if show_all else [r for r in report.rows if r.verdict not in (MATCH, NOT_TRACED)]
    if rows:
        out += _table(rows, report)
    else:
        out.append(f"(no rows to show: all {report.count(MATCH)} values match; --all lists them)")
    first = report.first_divergence
    if first is not None:
        out += [""] + _first_block(first)
    for verdict, title in ((ONLY_C, "only in C"), (ONLY_PY, "only in Py")):
        one_sided = [r for r in report.rows if r.verdict == verdict]
        if one_sided:
            out += ["", f"{title} ({len(one_sided)}):"]
            out += [f"  {r.label} (line {(r.c or r.py).line_no})" for r in one_sided]
    if report.unused_quirks and show_all:
        out += ["", f"declared quirks not needed ({len(report.unused_quirks)}):"]
        out += [f"  {q.source} line {q.line_no}: {q.selector}: {q.describe()}"
                for q in report.unused_quirks]
    elif report.unused_quirks:
        out += ["", f"{len(report.unused_quirks)} declared quirks not needed here (--all lists them)"]
    out += ["", report.summary()]
    return "\n".join(out) + "\n"


def _finite(value: Union[float, None]) -> Union[float, None]:
    return value if value is not None and math.isfinite(value) else None


def _quirk_dict(q: Quirk) -> dict[str, Any]:
    return {
        "source": q.source,
        "line": q.line_no,
        "selector": str(q.selector),
        "kind": q.kind,
        "argument": q.argument,
        "reason": q.reason,
    }


def _row_dict(row: Row) -> dict[str, Any]:
    return {
        "label": row.label,
        "channel": row.channel,
        "name": row.name,
        "occurrence": row.occurrence,
        "verdict": row.verdict,
        "c_line": row.c.line_no if row.c else None,
        "py_line": row.py.line_no if row.py else None,
        "c": row.c.text if row.c else None,
        "py": row.py.text if row.py else None,
        "abs_delta": _finite(row.abs_delta),
        "rel_delta": _finite(row.rel_delta),
        "mismatches": [
            {
                "where": m.where,
                "kind": m.kind,
                "c": m.c,
                "py": m.py,
                "abs_delta": _finite(m.abs_delta),
                "rel_delta": _finite(m.rel_delta),
            }
            for m in row.mismatches
        ],
        "hints": list(row.hints),
        "notes": list(row.notes),
        "quirks": [_quirk_dict(q) for q in row.quirks],
    }


def _trace_dict(trace: Trace) -> dict[str, Any]:
    return {
        "source": trace.source,
        "prefix": trace.prefix,
        "records": len(trace.records),
        "ignored_other_side": trace.ignored_other_side,
        "ignored_untagged": trace.ignored_untagged,
    }


def report_as_dict(report: DiffReport) -> dict[str, Any]:
    """The report as plain JSON-ready data (the ``--json`` schema, docs/diff.md).

    >>> d = report_as_dict(diff_traces(["TRACE_C: a 1"], ["TRACE_PY: a 1"]))
    >>> d["verdict"], d["counts"]["match"], d["first_divergence"]
    ('MATCH', 1, None)
    """
    first = report.first_divergence
    return {
        "schema": JSON_SCHEMA,
        "verdict": "MATCH" if report.ok else "DIVERGE",
        "summary": report.summary(),
        "rtol": report.tolerance.rtol,
        "atol": report.tolerance.atol,
        "counts": {v: report.count(v) for v in (MATCH, QUIRK, DIVERGE, ONLY_C, ONLY_PY, NOT_TRACED)},
        "c": _trace_dict(report.c),
        "py": _trace_dict(report.py),
        "first_divergence": _row_dict(first) if first is not None else None,
        "rows": [_row_dict(row) for row in report.rows],
        "unused_quirks": [_quirk_dict(q) for q in report.unused_quirks],
    }


def render_json(report: DiffReport) -> str:
    """:func:`report_as_dict` as indented JSON text (non-finite deltas become ``null``).

    >>> render_json(diff_traces(["TRACE_C: a 1"], ["TRACE_PY: a 1"])).startswith('{')
    True
    """
    return json.dumps(report_as_dict(report), indent=2, ensure_ascii=False) + "\n"


def _tolerance(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tracehooks", description="Tools for C-to-Python trace parity work."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    diff = commands.add_parser(
        "diff",
        help="compare a C trace log with a Python trace log",
        description="Align two trace logs by (channel, name, occurrence) and name the first "
        "divergence. Exit 0: all values match; 1: divergence; 2: unreadable input.",
    )
    diff.add_argument("c_log", metavar="C_LOG", help="reference (C) trace; - for stdin")
    diff.add_argument("py_log", metavar="PY_LOG", help="Python trace; - for stdin")
    diff.add_argument("--rtol", type=_tolerance, default=DEFAULT_RTOL,
                      help=f"relative tolerance (default {DEFAULT_RTOL:g})")
    diff.add_argument("--atol", type=_tolerance, default=DEFAULT_ATOL,
                      help=f"absolute tolerance floor (default {DEFAULT_ATOL:g})")
    diff.add_argument("--quirks", metavar="FILE", help="declared quirks of the C trace")
    diff.add_argument("--json", action="store_true", help="print a JSON report")
    diff.add_argument("--all", action="store_true", help="list matching rows too")
    diff.add_argument("--py-subset", action="store_true",
                      help="PY_LOG traces part of C_LOG: C names absent from it are not compared")
    diff.add_argument("--c-prefix", metavar="P", help="tag of C records (default: detected)")
    diff.add_argument("--py-prefix", metavar="P", help="tag of Py records (default: detected)")
    return parser


def _write(stream: TextIO, text: str) -> None:
    # A console that cannot show '←' or 'Δ' must not turn a report into a traceback.
    encoding = getattr(stream, "encoding", None) or "utf-8"
    stream.write(text.encode(encoding, "backslashreplace").decode(encoding))


def _load_inputs(args: argparse.Namespace):
    if args.c_log == "-" and args.py_log == "-":
        raise ValueError("C_LOG and PY_LOG cannot both be '-' (stdin can be read only once)")
    c = parse_trace(args.c_log, prefix=args.c_prefix)
    py = parse_trace(args.py_log, prefix=args.py_prefix)
    quirks = load_quirks(args.quirks) if args.quirks else None
    return c, py, quirks


def main(argv: Union[list[str], None] = None) -> int:
    """Run the command line; returns the exit status instead of exiting.

    >>> main(["diff", "--rtol", "-1", "c.log", "py.log"])  # usage error, on stderr
    2
    """
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help (0) and on usage errors (2)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        c, py, quirks = _load_inputs(args)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return _fail(f"{exc.filename}: cannot read: {reason}" if exc.filename else reason)
    except (TraceParseError, QuirksError, ValueError) as exc:
        return _fail(str(exc))
    report = diff_traces(c, py, rtol=args.rtol, atol=args.atol, quirks=quirks, py_subset=args.py_subset)
    text = render_json(report) if args.json else render_text(report, show_all=args.all)
    _write(sys.stdout, text)
    return 0 if report.ok else 1


def _fail(message: str) -> int:
    _write(sys.stderr, f"tracehooks diff: error: {message}\n")
    return 2
