"""Trace points for numeric code you cannot (or should not) edit.

Tap the values real Python code computes -- locals at return, locals as
they are assigned, anything reachable from the call -- by name, without
editing that code, and print them exactly as C's printf ``%.15g`` would,
so that a Python trace can be diffed line by line against a C trace.

Example:
    >>> import tracehooks
    >>> tracehooks.format_line("pix0", [0.1, -0.0], prefix="TRACE_C")
    'TRACE_C: pix0 0.1 -0'
"""

from __future__ import annotations

from ._capture import Call
from ._config import Config, configure, enabled, get_config, reset_defaults
from ._diff import DiffReport, EmptyTraceError, Mismatch, Row, Rows, Tolerance, diff_traces
from ._errors import PatchError, SinkError, TraceWarning
from ._format import Renderer, format_line, format_value
from ._parse import Record, Trace, TraceParseError, parse_trace
from ._patch import Patch, apply_patch, resolve_path
from ._quirks import (
    DeclaredTolerance,
    Quirk,
    QuirkSet,
    QuirksError,
    Selector,
    load_quirks,
    load_tolerances,
    parse_selector,
)
from ._report import render_text
from ._report_json import render_json
from ._sinks import LoggerSink, Sink, resolve_sink
from ._specs import ENTRY_POINT_GROUP, TraceSpec, get_spec, register_spec, spec_key
from ._trace import CaptureHandle, TraceHandle, capture, emit, trace, traced

__all__ = [
    "Call",
    "CaptureHandle",
    "Config",
    "DeclaredTolerance",
    "DiffReport",
    "ENTRY_POINT_GROUP",
    "EmptyTraceError",
    "LoggerSink",
    "Mismatch",
    "Patch",
    "PatchError",
    "Quirk",
    "QuirkSet",
    "QuirksError",
    "Record",
    "Renderer",
    "Row",
    "Rows",
    "Selector",
    "Sink",
    "SinkError",
    "Tolerance",
    "Trace",
    "TraceHandle",
    "TraceParseError",
    "TraceSpec",
    "TraceWarning",
    "apply_patch",
    "capture",
    "configure",
    "diff_traces",
    "emit",
    "enabled",
    "format_line",
    "format_value",
    "get_config",
    "get_spec",
    "load_quirks",
    "load_tolerances",
    "parse_selector",
    "parse_trace",
    "register_spec",
    "render_json",
    "render_text",
    "reset_defaults",
    "resolve_path",
    "resolve_sink",
    "spec_key",
    "trace",
    "traced",
]
