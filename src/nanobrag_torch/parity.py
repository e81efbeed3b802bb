"""Check the port against one nanoBragg reference case: run its command line, diff the traces, compare images.

    python -m nanobrag_torch.parity CASE_DIR [--c-compat auto|on|off] [--rtol R] [--atol A] [--keep DIR]

A case folder holds ``cmd.txt`` (the nanoBragg command line), ``trace_c.log`` (the C trace of one pixel,
the pixel of ``-trace_pixel`` in cmd.txt), ``image.bin`` (the C's float image; or ``roi.bin`` with a
``roi`` entry in ``case.json``) and, beside it, the ``inputs/`` its ``../inputs/...`` paths refer to
(tests/data/c_reference has this layout). The command line runs with ``nanobrag-torch`` in a scratch copy
of that layout; with ``--c-compat auto`` (the default) ``-c_compat`` is added when the port reports a C
physics bug affecting this run. Exit status 0 when the trace matches (known reference quirks allowed) and
every pixel is within 2 float32 ulps of the C's.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

import tracehooks

from .cli import CommandLineError, parse_args, run
from .simulator import Simulator
from .trace import QUIRKS_PATH

__all__ = ["main"]

# Rounding the float64 result to float32 can land one ulp apart when sums are reduced in another order.
MAX_ULPS = 2


def _arguments(argv):
    parser = argparse.ArgumentParser(prog="python -m nanobrag_torch.parity", description=__doc__.split("\n")[0])
    parser.add_argument("case", help="reference case folder (cmd.txt, trace_c.log, image.bin)")
    parser.add_argument("--c-compat", choices=("auto", "on", "off"), default="auto")
    parser.add_argument("--rtol", type=float, default=1e-12)
    parser.add_argument("--atol", type=float, default=1e-15,
                        help="absolute floor for components that are round-off around zero (default 1e-15)")
    parser.add_argument("--keep", metavar="DIR", help="keep the run folder (outputs, py trace) in DIR")
    return parser.parse_args(argv)


def _scratch(case: Path, keep: Optional[str]) -> Path:
    root = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="nanobrag-parity-"))
    root.mkdir(parents=True, exist_ok=True)
    inputs = case.parent / "inputs"
    if inputs.is_dir() and not (root / "inputs").exists():
        (root / "inputs").symlink_to(inputs.resolve())
    work = root / "run"
    work.mkdir(exist_ok=True)
    return work


def _image_check(case: Path, work: Path, floatfile: str, shape) -> tuple:
    image = np.fromfile(work / floatfile, dtype="<f4").reshape(shape)
    meta_path = case / "case.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    if "roi" in meta:
        offset, size = meta["roi"]["offset"], meta["roi"]["shape"]
        image = image[offset["slow"]:offset["slow"] + size[0], offset["fast"]:offset["fast"] + size[1]]
        reference = np.fromfile(case / "roi.bin", dtype="<f4").reshape(size)
    else:
        reference = np.fromfile(case / "image.bin", dtype="<f4").reshape(shape)
    ulps = np.abs(image.view(np.int32).astype(np.int64) - reference.view(np.int32).astype(np.int64))
    correlation = float(np.corrcoef(image.ravel(), reference.ravel())[0, 1]) if image.size > 1 else 1.0
    return int(ulps.max()), int((ulps > MAX_ULPS).sum()), correlation


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the parity check; returns the exit status."""
    args = _arguments(argv)
    case = Path(args.case).resolve()
    try:
        flags = (case / "cmd.txt").read_text().split()[1:]
    except OSError as error:
        print(f"parity: error: cannot read {case / 'cmd.txt'}: {error.strerror}", file=sys.stderr)
        return 2
    work = _scratch(case, args.keep)
    previous = os.getcwd()
    os.chdir(work)
    try:
        parsed = parse_args(flags)
        differences = Simulator.from_config(parsed.simulation).c_compat_differences()
        c_compat = args.c_compat == "on" or (args.c_compat == "auto" and bool(differences))
        if c_compat:
            flags = flags + ["-c_compat"]
            parsed = parse_args(flags)
        print(f"case {case.name}: nanobrag-torch {' '.join(flags)}")
        for difference in differences:
            print(f"  C physics bug in effect: {difference}{' (reproduced: -c_compat)' if c_compat else ''}")
        stdout = io.StringIO()
        with contextlib.redirect_stderr(io.StringIO()):
            run(parsed, stdout=stdout)
        (work / "trace_py.log").write_text(stdout.getvalue())
        shape = (parsed.simulation.detector.spixels, parsed.simulation.detector.fpixels)
        max_ulps, bad, correlation = _image_check(case, work, parsed.output.floatfile, shape)
    except CommandLineError as error:
        print(f"parity: error: {error}", file=sys.stderr)
        return 2
    finally:
        os.chdir(previous)
        if not args.keep:
            shutil.rmtree(work.parent, ignore_errors=True)
    report = tracehooks.diff_traces(case / "trace_c.log", stdout.getvalue().splitlines(), rtol=args.rtol,
                                    atol=args.atol, quirks=QUIRKS_PATH)
    print(tracehooks.render_text(report), end="")
    image_ok = bad == 0 and correlation >= 0.9999999
    print(f"{'IMAGE MATCH' if image_ok else 'IMAGE DIFFERS'}: max {max_ulps} float32 ulps from the C image, "
          f"{bad} pixels beyond {MAX_ULPS} ulps, correlation {correlation:.10f}")
    return 0 if report.ok and image_ok else 1


if __name__ == "__main__":
    sys.exit(main())
