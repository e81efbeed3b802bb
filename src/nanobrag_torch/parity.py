"""Check the port against one nanoBragg reference case: run its command line, diff the traces, compare images.

    python -m nanobrag_torch.parity CASE_DIR [--c-compat auto|on|off] [--rtol R] [--atol A] [--keep DIR]

A case folder holds ``cmd.txt`` (the nanoBragg command line), ``trace_c.log`` (the C trace of one pixel,
the pixel of ``-trace_pixel`` in cmd.txt), ``image.bin`` (the C's float image; or ``roi.bin`` with a
``roi`` entry in ``case.json``) and, beside it, the ``inputs/`` its ``../inputs/...`` paths refer to
(tests/data/c_reference has this layout). The command line runs with ``nanobrag-torch``'s ``run``: its
input files are read from the case folder, as the C read them when it ran there, and its outputs are
written in a scratch folder (``--keep DIR``: in DIR), never in the case folder or the current folder; the
traced pixel is rendered once, for the trace and its derived tolerances. With ``--c-compat auto`` (the
default) ``-c_compat`` is added when the port reports a C physics bug affecting this run. Exit status 0
when the trace matches (known reference quirks allowed) and every pixel is within 2 float32 ulps of the C's.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import shutil
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Optional, Sequence

from .cli._signals import quiet_when_stdout_closes

__all__ = ["main"]

PROGRAM = "python -m nanobrag_torch.parity"
# Rounding the float64 result to float32 can land one ulp apart when sums are reduced in another order.
MAX_ULPS = 2
MIN_CORRELATION = 0.9999999


class CaseError(ValueError):
    """A reference case folder that cannot be checked: the message names the file and what is wrong."""


def _arguments(argv):
    parser = argparse.ArgumentParser(prog=PROGRAM, description=__doc__.split("\n")[0])
    parser.add_argument("case", help="reference case folder (cmd.txt, trace_c.log, image.bin)")
    parser.add_argument("--c-compat", choices=("auto", "on", "off"), default="auto")
    parser.add_argument("--rtol", type=float, default=1e-12)
    parser.add_argument("--atol", type=float, default=1e-15,
                        help="absolute floor for components that are round-off around zero (default 1e-15)")
    parser.add_argument("--keep", metavar="DIR", help="keep the run folder (outputs, py trace) in DIR")
    parser.add_argument("--version", action="version", version=f"{PROGRAM} {_version()}")
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] in (["-h"], ["--help"]):
        print(parser.format_help(), end="")  # not parser's own printing, which hides a failed write
        raise SystemExit(0)
    return parser.parse_args(argv)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("nanobrag-torch")
    except PackageNotFoundError:  # a source tree that was not installed
        return "0+unknown"


def _read_case(case: Path):
    """(flags, region of interest or None, reference image file) of a case folder, or CaseError.

    The region is ``(slow, fast, height, width)`` when ``case.json`` has a ``roi`` entry (the C image is then
    stored as ``roi.bin``, that region only)."""
    def need(name: str) -> Path:
        path = case / name
        if not path.is_file():
            raise CaseError(f"{path}: missing (a case folder holds cmd.txt, trace_c.log and image.bin)")
        return path

    if not case.is_dir():
        raise CaseError(f"{case}: not a folder")
    flags = need("cmd.txt").read_text(encoding="utf-8", errors="replace").split()[1:]
    need("trace_c.log")
    roi = None
    if (case / "case.json").exists():
        try:
            entry = json.loads((case / "case.json").read_text(encoding="utf-8")).get("roi")
            if entry is not None:
                roi = (int(entry["offset"]["slow"]), int(entry["offset"]["fast"]), int(entry["shape"][0]),
                       int(entry["shape"][1]))
        except (ValueError, KeyError, TypeError, IndexError, AttributeError) as error:
            raise CaseError(f"{case / 'case.json'}: unreadable roi ({type(error).__name__}: {error})") from None
    return flags, roi, need("roi.bin" if roi else "image.bin")


def _scratch(keep: Optional[str]) -> Path:
    """The folder the run writes in: ``keep``, or a new temporary folder."""
    if not keep:
        return Path(tempfile.mkdtemp(prefix="nanobrag-parity-"))
    work = Path(keep)
    work.mkdir(parents=True, exist_ok=True)
    return work


def _parse_into(flags, case: Path, work: Path):
    """The case's command line parsed with its inputs read from the case folder and its outputs directed
    into ``work``; a command line that would write outside ``work`` is refused, whatever its cmd.txt says."""
    from .cli import parse_args
    from .cli._outputs import planned_outputs

    parsed = parse_args(flags, base_dir=case)
    for flag, path in planned_outputs(parsed.output).items():
        target = (work / path).resolve()
        if not target.is_relative_to(work.resolve()):
            raise CaseError(f"cmd.txt: {flag} would write {path}, outside the scratch folder; a case's outputs "
                            "must be plain file names")
    parsed.output.output_dir = str(work)
    return parsed


def _image_check(roi, reference_path: Path, work: Path, floatfile: str, shape) -> tuple:
    import numpy as np

    image = np.fromfile(work / floatfile, dtype="<f4").reshape(shape)
    if roi is not None:
        slow, fast, height, width = roi
        image = image[slow:slow + height, fast:fast + width]
    reference = np.fromfile(reference_path, dtype="<f4")
    if reference.size != image.size:
        raise CaseError(f"{reference_path}: {reference.size} pixels, the run wrote {image.size}")
    reference = reference.reshape(image.shape)
    ulps = np.abs(image.view(np.int32).astype(np.int64) - reference.view(np.int32).astype(np.int64))
    correlation = float(np.corrcoef(image.ravel(), reference.ravel())[0, 1]) if image.size > 1 else 1.0
    return int(ulps.max()), int((ulps > MAX_ULPS).sum()), correlation


def _run_case(case: Path, flags, c_compat_mode: str, work: Path, out):
    """Run the case's command line, reading its inputs from the case folder and writing in ``work``; returns
    (parsed command line, py trace text, derived tolerances of the traced pixel)."""
    from .cli import CommandLineError, run
    from .simulator import Simulator

    try:
        parsed = _parse_into(flags, case, work)
        differences = Simulator.from_config(parsed.simulation).c_compat_differences()
        c_compat = c_compat_mode == "on" or (c_compat_mode == "auto" and bool(differences))
        if c_compat:
            flags = flags + ["-c_compat"]
            parsed = _parse_into(flags, case, work)
        print(textwrap.fill(f"case {case.name}: nanobrag-torch {' '.join(flags)}", width=100,
                            subsequent_indent="    ", break_on_hyphens=False), file=out)
        for difference in differences:
            reproduced = " (reproduced: -c_compat)" if c_compat else ""
            print(textwrap.fill(f"C physics bug in effect: {difference}{reproduced}",
                                width=100, initial_indent="  ", subsequent_indent="    "), file=out)
        stdout, traced = io.StringIO(), []
        with contextlib.redirect_stderr(io.StringIO()):
            run(parsed, stdout=stdout, on_trace=traced.append)
        (work / "trace_py.log").write_text(stdout.getvalue())
        return parsed, stdout.getvalue(), traced[0].tolerances if traced else []
    except CommandLineError as error:
        raise CaseError(f"cmd.txt: {error}") from None


@quiet_when_stdout_closes
def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the parity check; returns the exit status (0 parity, 1 a difference, 2 an unusable case)."""
    args = _arguments(argv)
    case = Path(args.case).resolve()
    work = None
    try:
        flags, roi, reference = _read_case(case)
        work = _scratch(args.keep)
        parsed, py_trace, tolerances = _run_case(case, flags, args.c_compat, work, sys.stdout)
        shape = (parsed.simulation.detector.spixels, parsed.simulation.detector.fpixels)
        max_ulps, bad, correlation = _image_check(roi, reference, work, parsed.output.floatfile, shape)
    except (CaseError, OSError) as error:
        print(f"{PROGRAM}: error: {error}", file=sys.stderr)
        return 2
    finally:
        if work is not None and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return _report(case, py_trace, tolerances, args, (max_ulps, bad, correlation))


def _report(case: Path, py_trace: str, tolerances, args, image) -> int:
    """Print the trace diff's table, then ONE verdict line for trace and image together."""
    import tracehooks

    from .trace import QUIRKS_PATH

    max_ulps, bad, correlation = image
    try:
        report = tracehooks.diff_traces(case / "trace_c.log", py_trace.splitlines(), rtol=args.rtol,
                                        atol=args.atol, quirks=QUIRKS_PATH, tolerances=tolerances)
    except ValueError as error:  # nothing to compare: a C trace or a port trace without trace lines
        print(f"{PROGRAM}: error: {error}", file=sys.stderr)
        return 2
    print(tracehooks.render_text(report, summary=False), end="")
    image_ok = bad == 0 and correlation >= MIN_CORRELATION
    trace_text = "MATCH" if report.ok else f"DIVERGES at {report.first_divergence.label}"
    trace_text += (f" ({report.count('match')} exact, {report.count('tolerated')} within bounds, "
                   f"{report.count('quirk')} C quirks)")
    image_text = "MATCH (" if image_ok else f"DIFFERS ({bad} pixels beyond {MAX_ULPS} ulps, "
    image_text += f"max {max_ulps} ulps, r {correlation:.7f})"
    print(f"{'PARITY' if report.ok and image_ok else 'NO PARITY'}: trace {trace_text}; image {image_text}")
    return 0 if report.ok and image_ok else 1


if __name__ == "__main__":
    sys.exit(main())
