"""The JSON view of a diff report (``tracehooks diff --json``), schema ``tracehooks.diff/2``.

One key per line and one row per line, written a few rows at a time, so that
a report on large logs streams out. See docs/diff.md for the schema.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterator
from typing import Any, TextIO

from ._diff import DiffReport, Row, RowView
from ._judge import VERDICTS
from ._parse import Trace
from ._quirks import DeclaredTolerance, Quirk
from ._report import write_lines

__all__ = ["JSON_SCHEMA", "render_json", "report_as_dict", "write_json"]

#: Value of the ``schema`` key of ``--json`` output; bumped on incompatible changes.
JSON_SCHEMA = "tracehooks.diff/2"


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _quirk_dict(q: Quirk) -> dict[str, Any]:
    return {"source": q.source, "line": q.line_no, "selector": str(q.selector), "kind": q.kind,
            "argument": q.argument, "reason": q.reason}


def _tolerance_dict(t: DeclaredTolerance) -> dict[str, Any]:
    return {"source": t.source, "line": t.line_no, "selector": str(t.selector),
            "rtol": t.tolerance.rtol, "atol": t.tolerance.atol, "reason": t.reason}


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
            {"where": m.where, "kind": m.kind, "c": m.c, "py": m.py,
             "abs_delta": _finite(m.abs_delta), "rel_delta": _finite(m.rel_delta)}
            for m in row.mismatches
        ],
        "hints": list(row.hints),
        "notes": list(row.notes),
        "quirks": [_quirk_dict(q) for q in row.quirks],
        "tolerances": [_tolerance_dict(t) for t in row.tolerances],
    }


def _plain_dict(view: RowView) -> dict[str, Any]:
    # What _row_dict gives for a plain row (RowView.plain), without judging it again.
    delta = view.delta
    return {
        "label": view.label, "channel": view.channel, "name": view.name, "occurrence": view.occurrence,
        "verdict": view.verdict, "c_line": view.c_line, "py_line": view.py_line, "c": view.c_text,
        "py": view.py_text, "abs_delta": delta, "rel_delta": delta, "mismatches": [], "hints": [],
        "notes": [], "quirks": [], "tolerances": [],
    }


def _row_json(report: DiffReport, index: int) -> dict[str, Any]:
    view = report.rows.view(index)
    return _plain_dict(view) if view.plain else _row_dict(report.rows[index])


def _trace_dict(trace: Trace) -> dict[str, Any]:
    return {"source": trace.source, "prefix": trace.prefix, "records": len(trace.records),
            "ignored_other_side": trace.ignored_other_side, "ignored_untagged": trace.ignored_untagged}


def _head(report: DiffReport) -> dict[str, Any]:
    first = report.first_divergence
    return {
        "schema": JSON_SCHEMA,
        "verdict": "MATCH" if report.ok else "DIVERGE",
        "summary": report.summary(),
        "rtol": report.tolerance.rtol,
        "atol": report.tolerance.atol,
        "counts": {verdict: report.count(verdict) for verdict in VERDICTS},
        "c": _trace_dict(report.c),
        "py": _trace_dict(report.py),
        "first_divergence": _row_dict(first) if first is not None else None,
    }


def _tail(report: DiffReport) -> dict[str, Any]:
    uncovered = {id(t) for t in report.uncovered_tolerances}
    return {
        "unused_quirks": [_quirk_dict(q) for q in report.unused_quirks],
        "unused_tolerances": [dict(_tolerance_dict(t), covers_values=id(t) not in uncovered)
                              for t in report.unused_tolerances],
    }


def report_as_dict(report: DiffReport) -> dict[str, Any]:
    """The report as plain JSON-ready data (the ``--json`` schema, docs/diff.md).

    >>> from tracehooks._diff import diff_traces
    >>> d = report_as_dict(diff_traces(["TRACE_C: a 1"], ["TRACE_PY: a 1"]))
    >>> d["verdict"], d["counts"]["match"], d["first_divergence"]
    ('MATCH', 1, None)
    """
    rows = [_row_json(report, i) for i in range(len(report.rows))]
    return {**_head(report), "rows": rows, **_tail(report)}


_dump = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode  # built once: dumps() builds one per call


def _json_lines(report: DiffReport) -> Iterator[str]:
    yield "{"
    for key, value in _head(report).items():
        yield f"  {_dump(key)}: {_dump(value)},"
    yield '  "rows": ['
    last = len(report.rows) - 1
    for i in range(last + 1):
        yield f"    {_dump(_row_json(report, i))}{',' if i < last else ''}"
    yield "  ],"
    tail = list(_tail(report).items())
    for k, (key, value) in enumerate(tail):
        yield f"  {_dump(key)}: {_dump(value)}{',' if k < len(tail) - 1 else ''}"
    yield "}"


def write_json(report: DiffReport, stream: TextIO) -> None:
    """Write :func:`render_json`'s text to ``stream``, a few rows at a time."""
    write_lines(_json_lines(report), stream)


def render_json(report: DiffReport) -> str:
    """:func:`report_as_dict` as JSON text: one key per line, one row per line.

    Deltas that are NaN or infinite are written as ``null``, so the output is strict JSON.

    >>> from tracehooks._diff import diff_traces
    >>> print(render_json(diff_traces(["TRACE_C: a 1"], ["TRACE_PY: a 1"])).splitlines()[1])
      "schema": "tracehooks.diff/2",
    """
    out = io.StringIO()
    write_json(report, out)
    return out.getvalue()
