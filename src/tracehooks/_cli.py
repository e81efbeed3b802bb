"""The ``tracehooks`` command line.

``tracehooks diff C_LOG PY_LOG`` exits 0 when every value matches (declared
tolerances and quirks allowed), 1 on any divergence or one-sided value, 2 on
unusable input or when the report cannot be written. It never ends in a
traceback. See docs/diff.md.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from typing import Any, TextIO

from ._compare import DEFAULT_ATOL, DEFAULT_RTOL
from ._diff import EmptyTraceError, diff_traces
from ._parse import TraceParseError, parse_trace
from ._quirks import QuirksError, load_quirks, load_tolerances
from ._report import DEFAULT_WIDTH, write_text
from ._report_json import write_json

__all__ = ["main"]

_MIN_WIDTH = 40  # narrower than this, the table has no room for its columns


def _tolerance(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return value


def _width(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value != 0 and value < _MIN_WIDTH:
        raise argparse.ArgumentTypeError(
            f"expected 0 (no limit) or a number of columns >= {_MIN_WIDTH}, got {text!r}")
    return value


class _Version(argparse.Action):
    """``--version``: looks the version up only when asked (importlib.metadata takes milliseconds)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, **kwargs) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        from importlib import metadata

        try:
            version = metadata.version("nanobrag-torch")  # the distribution tracehooks ships in
        except metadata.PackageNotFoundError:
            version = "unknown (not installed)"
        print(f"tracehooks {version}")
        parser.exit()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tracehooks", description="Tools for C-to-Python trace parity work."
    )
    parser.add_argument("--version", action=_Version, help="print the version and exit")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    diff = commands.add_parser(
        "diff",
        help="compare a C trace log with a Python trace log",
        description="Align two trace logs by (channel, name, occurrence) and name the first "
        "divergence. Exit 0: all values match; 1: divergence; 2: unusable input or output failure.",
    )
    diff.add_argument("c_log", metavar="C_LOG", help="reference (C) trace; - for stdin")
    diff.add_argument("py_log", metavar="PY_LOG", help="Python trace; - for stdin")
    diff.add_argument("--rtol", type=_tolerance, default=DEFAULT_RTOL,
                      help=f"relative tolerance (default {DEFAULT_RTOL:g})")
    diff.add_argument("--atol", type=_tolerance, default=DEFAULT_ATOL,
                      help=f"absolute tolerance floor (default {DEFAULT_ATOL:g})")
    diff.add_argument("--quirks", metavar="FILE",
                      help="declared quirks of the C trace (and tolerance declarations)")
    diff.add_argument("--tolerances", metavar="FILE", action="append", default=[],
                      help="declared per-value tolerances, each with a reason (may be repeated)")
    diff.add_argument("--json", action="store_true", help="print a JSON report")
    diff.add_argument("--all", action="store_true", help="list matching and tolerated rows too")
    diff.add_argument("--width", type=_width, metavar="N",
                      help=f"columns of the text report (default: $COLUMNS, else {DEFAULT_WIDTH}; "
                      f"0: no limit)")
    diff.add_argument("--py-subset", action="store_true",
                      help="PY_LOG traces part of C_LOG: C names absent from it are not compared")
    diff.add_argument("--c-prefix", metavar="P", help="tag of C records (default: detected)")
    diff.add_argument("--py-prefix", metavar="P", help="tag of Py records (default: detected)")
    return parser


class _Console:
    """A text stream that shows what its encoding cannot (``←``, ``Δ``) as escapes, not errors."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.encoding = getattr(stream, "encoding", None) or "utf-8"

    def write(self, text: str) -> None:
        self.stream.write(text.encode(self.encoding, "backslashreplace").decode(self.encoding))


def _report_width(args: argparse.Namespace) -> int | None:
    if args.width is not None:
        return args.width or None
    columns = os.environ.get("COLUMNS", "")
    return max(int(columns), _MIN_WIDTH) if columns.isdigit() and int(columns) > 0 else DEFAULT_WIDTH


def _diff(args: argparse.Namespace):
    if args.c_log == "-" and args.py_log == "-":
        raise ValueError("C_LOG and PY_LOG cannot both be '-' (stdin can be read only once)")
    c = parse_trace(args.c_log, prefix=args.c_prefix)
    py = parse_trace(args.py_log, prefix=args.py_prefix)
    quirks = load_quirks(args.quirks) if args.quirks else None
    tolerances = [t for path in args.tolerances for t in load_tolerances(path)]
    return diff_traces(c, py, rtol=args.rtol, atol=args.atol, quirks=quirks, tolerances=tolerances,
                       py_subset=args.py_subset)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status instead of exiting.

    >>> main(["diff", "--rtol", "-1", "c.log", "py.log"])  # usage error, on stderr
    2
    """
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help/--version (0) and on usage errors (2)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        report = _diff(args)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return _fail(f"{exc.filename}: cannot read: {reason}" if exc.filename else reason)
    except (TraceParseError, QuirksError, EmptyTraceError, ValueError) as exc:
        return _fail(str(exc))
    except Exception as exc:  # noqa: BLE001 - a crash must not read as exit 1, "the traces differ"
        return _fail(f"internal error: {type(exc).__name__}: {exc}")
    return _emit(report, args)


def _emit(report: Any, args: argparse.Namespace) -> int:
    if sys.stdout is None:
        return _fail("cannot write the report: standard output is closed")
    out = _Console(sys.stdout)
    try:
        if args.json:
            write_json(report, out)
        else:
            write_text(report, out, show_all=args.all, width=_report_width(args))
        sys.stdout.flush()
    except BrokenPipeError:  # the reader left (| head): nothing more to say, to anyone
        _discard_stdout()
        return 2
    except OSError as exc:
        _discard_stdout()
        return _fail(f"cannot write the report: {exc.strerror or exc}")
    except Exception as exc:  # noqa: BLE001 - as in main()
        return _fail(f"internal error: {type(exc).__name__}: {exc}")
    return 0 if report.ok else 1


def _discard_stdout() -> None:
    # What is still buffered would fail again when the interpreter flushes stdout at exit.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # not a real file (a test's capture)
        pass


def _fail(message: str) -> int:
    try:
        _Console(sys.stderr).write(f"tracehooks diff: error: {message}\n")
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):  # stderr closed or full: the status still tells
        pass
    return 2
