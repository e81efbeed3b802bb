"""``nanobrag-torch``: run a nanoBragg command line with the port.

stdout gets what nanoBragg prints that users rely on (the summary, and with ``-trace_pixel`` the TRACE_PY
lines of the detector and of the traced pixel); stderr gets notes about flags nanoBragg ignores or
overrides, physics that differs from the C unless ``-c_compat``, errors (one line, exit status 2) and
the progress bar.
"""

from __future__ import annotations

import math
import sys
import time
from typing import List, Optional, Sequence, TextIO

import torch

from ..simulator import Simulator
from ..trace import detector_block, record_detector, trace_pixel
from ._flags import FLAGS, CommandLineError
from ._outputs import default_seed, write_outputs, writable
from ._parse import ParsedCommandLine, parse_args

PROGRAM = "nanobrag-torch"


class ProgressBar:
    """A one-line progress bar on ``stream``, drawn only once a run has lasted ``delay_s``."""

    def __init__(self, stream: TextIO, delay_s: float = 2.0, width: int = 40):
        self.stream, self.delay_s, self.width = stream, delay_s, width
        self.started = time.monotonic()
        self.drawn = False

    def __call__(self, done: int, total: int) -> None:
        if time.monotonic() - self.started < self.delay_s and not self.drawn:
            return
        filled = self.width * done // max(total, 1)
        self.stream.write(f"\r[{'#' * filled}{' ' * (self.width - filled)}] {100 * done // max(total, 1):3d}%")
        self.drawn = True
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run ``nanobrag-torch`` with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "-help", "--help"):
        print(usage())
        return 0 if argv else 2
    try:
        parsed = parse_args(argv)
        return run(parsed)
    except CommandLineError as error:
        print(f"{PROGRAM}: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"{PROGRAM}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROGRAM}: interrupted", file=sys.stderr)
        return 130


def usage() -> str:
    """The list of flags, grouped as nanoBragg's usage text groups them."""
    lines = [f"usage: {PROGRAM} -cell a b c alpha beta gamma | -mat FILE  [-hkl FILE | -default_F F]  [flags ...]",
             "", "A nanoBragg command line means the same here (see docs/nanobrag_cli.md). Flags:"]
    for flag in FLAGS:
        names = ", ".join(flag.names)
        values = {0: "", -6: " a [b c alpha beta gamma]", -3: " x y z | random"}.get(flag.nvalues,
                                                                                  " " + " ".join(["V"] * flag.nvalues))
        lines.append(f"  {names}{values}".ljust(44) + f" {flag.help}")
    return "\n".join(lines)


def _device_and_dtype(parsed: ParsedCommandLine):
    dtype = {"float64": torch.float64, "float32": torch.float32}[parsed.dtype]
    try:
        device = torch.device(parsed.device)
    except RuntimeError:
        raise CommandLineError(f"-device: unknown device {parsed.device!r}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise CommandLineError(f"-device: {parsed.device} requested but CUDA is not available")
    return device, dtype


def _check_output_paths(parsed: ParsedCommandLine) -> None:
    output = parsed.output
    paths = [output.floatfile, output.intfile]
    paths += [output.pgmfile] if output.write_pgm else []
    paths += [output.noisefile] if output.write_noise else []
    for path in filter(None, paths):
        if not writable(path):
            raise CommandLineError(f"cannot write {path}: its folder does not exist or is not writable")


def run(parsed: ParsedCommandLine, stdout: TextIO = None, stderr: TextIO = None) -> int:
    """Simulate ``parsed`` and write its outputs; returns the exit status."""
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    for note in parsed.notes:
        print(f"{PROGRAM}: note: {note}", file=stderr)
    device, dtype = _device_and_dtype(parsed)
    _check_output_paths(parsed)
    config, output = parsed.simulation, parsed.output
    try:
        with record_detector() as recorded:
            simulator = Simulator.from_config(config, device=device, dtype=dtype)
    except ValueError as error:
        raise CommandLineError(str(error)) from None
    if not config.c_compat:
        for difference in simulator.c_compat_differences():
            print(f"{PROGRAM}: note: differs from nanoBragg: {difference} (-c_compat reproduces the C)",
                  file=stderr)
    _print_setup(simulator, stdout)
    if output.trace_pixel is not None:
        for line in detector_block(recorded):
            print(line, file=stdout)
        if _rendered(simulator, *output.trace_pixel):
            lines, _ = trace_pixel(simulator, *output.trace_pixel)
            for line in lines:
                print(line, file=stdout)
        else:
            print(f"{PROGRAM}: note: -trace_pixel {output.trace_pixel[0]} {output.trace_pixel[1]} is outside "
                  "-roi or masked: it is not rendered, so there is no pixel to trace (nanoBragg prints "
                  "nothing for it either)", file=stderr)
    show_progress = output.progress if output.progress is not None else stderr.isatty()
    image = simulator.run(progress=ProgressBar(stderr) if show_progress else None)
    solid_angle = simulator.solid_angle_sum_sr()
    print("solid angle subtended by detector = %g steradian ( %g%% sphere)"
          % (solid_angle, 100 * solid_angle / 4 / math.pi), file=stdout)
    seed = output.seed if output.seed is not None else default_seed()
    for line in write_outputs(simulator, image.detach().cpu().numpy(), output, seed,
                              hkl_table=config.crystal.hkl if output.hkl_path else None):
        print(line, file=stdout)
    return 0


def _rendered(simulator: Simulator, slow: int, fast: int) -> bool:
    """Whether pixel (slow, fast) is inside the ROI and not masked."""
    config = simulator.detector.config
    if config.roi is not None:
        xmin, xmax, ymin, ymax = config.roi
        if not (xmin <= fast <= xmax and ymin <= slow <= ymax):
            return False
    return config.mask is None or bool(config.mask[slow, fast] != 0)


def _print_setup(simulator: Simulator, stdout: TextIO) -> None:
    det, crystal, beam = simulator.detector, simulator.crystal, simulator.beam
    lines: List[str] = [
        "nanobrag-torch: PyTorch port of nanoBragg (James Holton and Ken Frankel)",
        f"{det.convention.value} convention selected.",
        "pivoting detector around " + ("sample" if det.pivot.value == "sample" else "direct beam spot"),
        "  created a total of %d sources" % simulator.sources,
        "  created a total of %d mosaic domains" % crystal.mosaic_domains,
        "  %dx%d pixel oversample steps" % (simulator.oversample, simulator.oversample),
        "  distance=%g detsize=%gx%g  pixel=%g meters (%dx%d pixels)"
        % (float(det.distance_m), det.detsize_f_m, det.detsize_s_m, det.pixel_size_m, det.fpixels, det.spixels),
        "  incident fluence: %g photons/m^2" % beam.fluence,
        "  steps: %d" % simulator.steps,
    ]
    for line in lines:
        print(line, file=stdout)
