"""``nanobrag-torch``: run a nanoBragg command line with the port.

stdout gets what nanoBragg prints that users rely on (the summary, and with ``-trace_pixel`` the TRACE_PY
lines of the detector and of the traced pixel); stderr gets notes about flags nanoBragg ignores or
overrides, physics that differs from the C unless ``-c_compat``, errors (one line) and the progress bar.
Exit status: 0 success, 1 the run failed after its input was accepted (an output could not be written, the
image is not finite; nothing is written), 2 bad input, 128+N on signal N (130 for Ctrl-C).

This module imports only the standard library when it is loaded, and each step loads what it needs:
``--version`` nothing more, ``--help`` and argument errors the parser (which imports no torch), a run
torch and the simulator, ``-trace_pixel`` the tracing harness (``nanobrag_torch.trace.trace_run``, the one
place that composes a run's trace).
"""

from __future__ import annotations

import math
import signal
import sys
import time

from ._signals import quiet_when_stdout_closes, signals_deferred, terminate_by_exception

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up
if TYPE_CHECKING:
    from typing import Callable, List, Optional, Sequence, TextIO

    from ..simulator import Simulator
    from ..trace import TracedRun
    from ._parse import ParsedCommandLine

PROGRAM = "nanobrag-torch"
_HELP = ("-h", "-help", "--help")


class RunFailed(RuntimeError):
    """The run could not produce its outputs although its input was accepted (exit status 1)."""


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


@quiet_when_stdout_closes
def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run ``nanobrag-torch`` with ``argv`` (default: ``sys.argv[1:]``); return the exit status.

    Ctrl-C (and SIGTERM, SIGHUP) anywhere — while torch is imported, while parsing, simulating or writing —
    prints ``nanobrag-torch: interrupted`` and returns 128 + the signal number, leaving no temporary file
    and the old outputs (or, once their commit has begun, all the new ones).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        with terminate_by_exception():
            return _command(argv)
    except KeyboardInterrupt as interrupt:
        print(f"{PROGRAM}: interrupted", file=sys.stderr)
        return 128 + getattr(interrupt, "signum", signal.SIGINT)


def _command(argv: List[str]) -> int:
    if argv[:1] == ["--version"]:
        from .. import __version__

        print(f"{PROGRAM} {__version__}")
        return 0
    with signals_deferred():  # should parsing import torch: see run()
        from ._flags import CommandLineError
        from ._parse import parse_args

    if not argv or argv[0] in _HELP:
        print(usage())
        return 0 if argv else 2
    try:
        return run(parse_args(argv))
    except CommandLineError as error:
        print(f"{PROGRAM}: error: {error}", file=sys.stderr)
        return 2
    except (OSError, RunFailed) as error:
        print(f"{PROGRAM}: error: {error}", file=sys.stderr)
        return 1


def usage() -> str:
    """The list of flags, grouped as nanoBragg's usage text groups them."""
    from ._flags import FLAGS

    lines = [f"usage: {PROGRAM} -cell a b c alpha beta gamma | -mat FILE  [-hkl FILE | -default_F F]  [flags ...]",
             f"       {PROGRAM} --help | --version",
             "", "A nanoBragg command line means the same here (see docs/nanobrag_cli.md). Flags:"]
    for flag in FLAGS:
        names = ", ".join(flag.names)
        values = {0: "", -6: " a [b c alpha beta gamma]", -3: " x y z | random"}.get(flag.nvalues,
                                                                                  " " + " ".join(["V"] * flag.nvalues))
        domains = flag.value_help()
        lines.append(f"  {names}{values}".ljust(44) + f" {flag.help}" + (f" [{domains}]" if domains else ""))
    return "\n".join(lines)


def _device_and_dtype(parsed: ParsedCommandLine):
    import torch

    from ._flags import CommandLineError

    dtype = {"float64": torch.float64, "float32": torch.float32}[parsed.dtype]
    try:
        device = torch.device(parsed.device)
    except RuntimeError:
        raise CommandLineError(f"-device: unknown device {parsed.device!r}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise CommandLineError(f"-device: {parsed.device} requested but CUDA is not available")
    return device, dtype


def run(parsed: ParsedCommandLine, stdout: TextIO = None, stderr: TextIO = None, *,
        on_trace: Optional[Callable[[TracedRun], object]] = None) -> int:
    """Simulate ``parsed`` and write its outputs; returns the exit status.

    Relative output paths are written in ``parsed.output.output_dir`` (None: the current folder). With
    ``-trace_pixel`` the trace is printed on ``stdout`` and, when ``on_trace`` is given, handed to it as the
    ``nanobrag_torch.trace.TracedRun`` (whose ``tolerances`` a parity check needs), so the pixel is traced
    once. Raises ``CommandLineError`` for bad input (before anything is simulated or written), ``RunFailed``
    for an image that is not finite and ``OSError`` for an output that cannot be written (nothing is written).
    """
    # This loads torch and the simulator. A Ctrl-C inside torch's import can abort the process (a Python
    # exception inside a C++ call during the import ends in std::terminate), so it is handled just after.
    with signals_deferred():
        from ._outputs import check_output_paths, default_seed, write_outputs

    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    for note in parsed.notes:
        print(f"{PROGRAM}: note: {note}", file=stderr)
    device, dtype = _device_and_dtype(parsed)
    check_output_paths(parsed.output)
    config, output = parsed.simulation, parsed.output
    simulator = _simulator(parsed, device, dtype, stdout, stderr, on_trace)
    show_progress = output.progress if output.progress is not None else stderr.isatty()
    image = simulator.run(progress=ProgressBar(stderr) if show_progress else None)
    _check_finite(image)
    solid_angle = simulator.solid_angle_sum_sr()
    print("solid angle subtended by detector = %g steradian ( %g%% sphere)"
          % (solid_angle, 100 * solid_angle / 4 / math.pi), file=stdout)
    seed = output.seed if output.seed is not None else default_seed()
    for line in write_outputs(simulator, image.detach().cpu().numpy(), output, seed,
                              hkl_table=config.crystal.hkl if output.hkl_path else None):
        print(line, file=stdout)
    return 0


def _simulator(parsed: ParsedCommandLine, device, dtype, stdout: TextIO, stderr: TextIO,
               on_trace: Optional[Callable[[TracedRun], object]]) -> Simulator:
    """Build the simulator, print the set-up (and, with -trace_pixel, the traced detector and pixel)."""
    from ..simulator import Simulator
    from ._flags import CommandLineError

    config, pixel = parsed.simulation, parsed.output.trace_pixel
    try:
        if pixel is None:  # an untraced run does not load the tracing harness
            simulator, traced = Simulator.from_config(config, device=device, dtype=dtype), None
        else:
            from ..trace import trace_run

            traced = trace_run(config, pixel, device=device, dtype=dtype)
            simulator = traced.simulator
    except ValueError as error:
        raise CommandLineError(str(error)) from None
    if not config.c_compat:
        for difference in simulator.c_compat_differences():
            print(f"{PROGRAM}: note: differs from nanoBragg: {difference} (-c_compat reproduces the C)",
                  file=stderr)
    _print_setup(simulator, stdout)
    if traced is not None:
        for line in traced.lines:
            print(line, file=stdout)
        if traced.skipped:
            print(f"{PROGRAM}: note: -trace_pixel: {traced.skipped}", file=stderr)
        if on_trace is not None:
            on_trace(traced)
    return simulator


def _check_finite(image) -> None:
    """Raise ``RunFailed`` if the image holds a NaN or an infinity: a last line of defence behind the
    validation of the flags, at the cost of one reduction and one device-to-host sync."""
    import torch

    finite = torch.isfinite(image)
    if bool(finite.all()):
        return
    bad = (~finite).nonzero()
    slow, fast = (int(i) for i in bad[0])
    raise RunFailed(f"the simulated image holds {len(bad)} non-finite pixel(s) (NaN or inf; the first at slow "
                    f"{slow}, fast {fast}): nothing was written; check the values given to the flags")


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
