"""``nanobrag-torch-dataset``: a nanoBragg command line plus a few options, rendered into one NXmx file.

    nanobrag-torch-dataset <nanoBragg flags> -frames 360 -o series.h5            # a rotation series
    nanobrag-torch-dataset <nanoBragg flags> -stills 10000 -o stills.h5 -engine dask

Every token that is not one of the options below is a ``nanobrag-torch`` flag, with its meaning. Options
take the C's single dash (a double dash is accepted too). Exit status: 0 done, 1 a frame or the file failed
(frames already complete stay so), 2 bad input (nothing is written), 128+N on signal N (130 for Ctrl-C: run
the same command again to complete the file). Under MPI only rank 0 prints.
"""

from __future__ import annotations

import difflib
import re
import signal
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, TextIO

__all__ = ["DatasetArgs", "OPTIONS", "ProgressBar", "main", "parse_dataset_args", "usage"]

PROGRAM = "nanobrag-torch-dataset"


@dataclass(frozen=True)
class Option:
    """One dataset option: its name, the config key it sets, its value's name (None: a switch) and help."""

    name: str
    key: str
    value: Optional[str]
    help: str


OPTIONS = (
    Option("-frames", "frames", "N", "a rotation series of N frames, frame i covering phi + i*osc .. + osc"),
    Option("-stills", "stills", "N", "N stills, each with a random crystal orientation (from -misset_seed)"),
    Option("-fluence_jitter", "fluence_jitter", "F", "stills: relative rms of each shot's fluence (gamma)"),
    Option("-o", "output", "FILE", "the NXmx HDF5 file to write, or to complete"),
    Option("-engine", "engine", "NAME", "local (default), dask or mpi"),
    Option("-workers", "workers", "N", "dask: worker processes of the local cluster (default: one per core)"),
    Option("-threads", "threads", "N", "torch threads per worker (default: the cores shared among the workers)"),
    Option("-scheduler", "scheduler", "ADDRESS", "dask: use that cluster (tcp://host:8786); implies -engine dask"),
    Option("-compression", "compression", "NAME", "bslz4 (default), gzip (no plugin needed) or none"),
    Option("-smv", "smv", "TEMPLATE", "also one SMV file per frame, e.g. frames/image_#####.img"),
    Option("-overwrite", "overwrite", None, "replace FILE instead of completing it"),
    Option("-progress", "progress", None, "show the progress bar even when stderr is not a terminal"),
    Option("-noprogress", "noprogress", None, "no progress bar"),
)
_BY_NAME = {option.name: option for option in OPTIONS}
# nanoBragg flags that name files a single-image run writes: a dataset writes its frames to -o instead.
_NOT_WRITTEN = ("-floatfile", "-intfile", "-pgmfile", "-noisefile", "-noiseimage", "-trace_pixel")


@dataclass
class DatasetArgs:
    """A dataset command line, split: the nanoBragg ``command`` and the dataset options."""

    command: List[str] = field(default_factory=list)
    frames: Optional[int] = None
    stills: Optional[int] = None
    fluence_jitter: float = 0.0
    output: Optional[str] = None
    engine: Optional[str] = None
    workers: Optional[int] = None
    threads: Optional[int] = None
    scheduler: Optional[str] = None
    compression: str = "bslz4"
    smv: Optional[str] = None
    overwrite: bool = False
    progress: Optional[bool] = None


def parse_dataset_args(argv: Sequence[str]) -> DatasetArgs:
    """Split ``argv`` into dataset options and the nanoBragg command; check the options' values.

    Example:
        >>> args = parse_dataset_args("-cell 100 100 100 90 90 90 -frames 3 -osc 1 --engine dask -o s.h5".split())
        >>> args.command, args.frames, args.engine, args.output
        (['-cell', '100', '100', '100', '90', '90', '90', '-osc', '1'], 3, 'dask', 's.h5')
    """
    args, i = DatasetArgs(), 0
    while i < len(argv):
        token = argv[i]
        name = token[1:] if token.startswith("--") else token
        option = _BY_NAME.get(name)
        if option is None:
            args.command.append(token)
            i += 1
            continue
        if option.value is None:
            _switch(args, option)
            i += 1
            continue
        if i + 1 >= len(argv):
            raise _error(f"{name}: expected a value ({option.value})")
        setattr(args, option.key, _convert(option, argv[i + 1]))
        i += 2
    try:
        _check(args)
    except ValueError:
        _check_command(args.command)  # a misspelt option is an unknown flag: say that first
        raise
    return args


def _check_command(command: List[str]) -> None:
    """Raise nanobrag-torch's error for the command's flags, if it has one (as a DatasetError)."""
    from ..cli import CommandLineError, parse_args

    try:
        parse_args(command)
    except CommandLineError as error:
        raise _error(_with_hint(str(error))) from None


def _switch(args: DatasetArgs, option: Option) -> None:
    if option.key == "overwrite":
        args.overwrite = True
    else:
        args.progress = option.key == "progress"


def _convert(option: Option, text: str):
    if option.key in ("frames", "stills", "workers", "threads"):
        try:
            value = int(text)
        except ValueError:
            value = 0
        if value < 1:
            raise _error(f"{option.name}: expected an integer >= 1, got {text!r}")
        return value
    if option.key == "fluence_jitter":
        try:
            value = float(text)
        except ValueError:
            value = -1.0
        if not 0 <= value < float("inf"):
            raise _error(f"{option.name}: expected a number >= 0 (relative rms of the fluence), got {text!r}")
        return value
    return text


def _check(args: DatasetArgs) -> None:
    if args.frames is not None and args.stills is not None:
        raise _error("-stills: give -frames N (a rotation series) or -stills N, not both")
    if args.frames is None and args.stills is None:
        raise _error("-frames: a dataset needs -frames N (a rotation series) or -stills N")
    if args.output is None:
        raise _error("-o: a dataset needs an output file, -o FILE.h5")
    if args.scheduler is not None and args.engine is None:
        args.engine = "dask"


def _error(message: str):
    from ._spec import DatasetError

    return DatasetError(message)


def usage() -> str:
    """The options, then a pointer to the nanoBragg flags."""
    lines = [f"usage: {PROGRAM} <nanobrag-torch flags> (-frames N | -stills N) -o FILE.h5 [options]", "",
             "Renders a nanoBragg command line as a rotation series or a set of stills into one NeXus NXmx file "
             "(docs/datasets.md). Options:"]
    for option in OPTIONS:
        lines.append(f"  {option.name} {option.value or ''}".ljust(30) + option.help)
    lines.append("Every other token is a nanobrag-torch flag, with the same meaning (nanobrag-torch --help).")
    return "\n".join(lines)


class ProgressBar:
    """A one-line bar on ``stream``: frames done / total and frames per second of this run.

    Example:
        >>> import io
        >>> bar = ProgressBar(stream := io.StringIO(), width=4)
        >>> bar(2, 4)
        >>> stream.getvalue()
        '\\r[##..] 2/4 frames 0.00 frames/s'
    """

    def __init__(self, stream: TextIO, width: int = 30):
        self.stream, self.width = stream, width
        self.started, self.first = None, 0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if self.started is None:  # the first call is the state of the file before this run
            self.started, self.first = now, done
        elapsed = now - self.started
        rate = (done - self.first) / elapsed if elapsed > 0 else 0.0
        filled = self.width * done // max(total, 1)
        self.stream.write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] {done}/{total} frames "
                          f"{rate:.2f} frames/s")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run ``nanobrag-torch-dataset`` with ``argv`` (default ``sys.argv[1:]``); return the exit status.

    Example (a series without -osc is bad input: one error line on stderr, status 2, no file):
        >>> main("-cell 100 100 100 90 90 90 -default_F 1 -detpixels 8 -frames 2 -o s.h5".split())
        2
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "-help", "--help"):
        print(usage())
        return 0 if argv else 2
    if argv[0] == "--version":
        from .. import __version__

        print(f"{PROGRAM} {__version__}")
        return 0
    root = _is_root(argv)
    say = (lambda line, stream: print(line, file=stream)) if root else (lambda line, stream: None)
    try:
        with _signals_as_interrupts():
            return _run(argv, say)
    except KeyboardInterrupt as interrupt:
        say(f"{PROGRAM}: interrupted: the frames complete so far are kept; run the same command again to "
            "complete the file", sys.stderr)
        return 128 + getattr(interrupt, "signum", signal.SIGINT)


def _run(argv: List[str], say) -> int:
    from ._render import FrameFailed
    from ._spec import DatasetError, DatasetSpec

    try:
        args = parse_dataset_args(argv)
        if args.stills is not None:
            spec = DatasetSpec.stills(args.command, args.stills, args.fluence_jitter)
        else:
            if args.fluence_jitter:
                raise DatasetError("-fluence_jitter: only a set of stills (-stills N) varies the fluence")
            spec = DatasetSpec.series(args.command, args.frames)
        for note in _notes(spec, args):
            say(f"{PROGRAM}: note: {note}", sys.stderr)
        report = _write(spec, args)
    except DatasetError as error:
        say(f"{PROGRAM}: error: {_with_hint(str(error))}", sys.stderr)
        return 2
    except (FrameFailed, OSError) as error:
        say(f"{PROGRAM}: error: {error}", sys.stderr)
        return 1
    if report.path is not None:
        for name in sorted(spec.drawn_seeds):
            say(f"{PROGRAM}: note: -{name} not given: {getattr(report.spec, name)} (recorded in the file, "
                "which a re-run resumes with it)", sys.stderr)
        say(report.summary(), sys.stdout)
    return 0


def _write(spec, args: DatasetArgs):
    from ._write import write_dataset

    show = args.progress if args.progress is not None else sys.stderr.isatty()
    return write_dataset(spec, args.output, engine=args.engine or "local", workers=args.workers,
                         scheduler=args.scheduler, threads=args.threads, compression=args.compression, smv=args.smv,
                         overwrite=args.overwrite, progress=ProgressBar(sys.stderr) if show else None)


def _notes(spec, args: DatasetArgs) -> List[str]:
    notes = list(spec.parsed.notes)
    for flag in _NOT_WRITTEN:
        if flag in spec.command:
            notes.append(f"{flag}: not written by a dataset: the frames go to {args.output}"
                         + (" (-smv TEMPLATE writes one SMV file per frame)" if flag != "-trace_pixel" else ""))
    return notes


def _with_hint(message: str) -> str:
    """nanobrag-torch's 'unknown flag' error, with the dataset option it may have meant."""
    found = re.match(r"unknown flag '([^']+)'", message)
    if found:
        close = difflib.get_close_matches(found.group(1).lstrip("-"), [o.name[1:] for o in OPTIONS], n=1)
        if close:
            return f"unknown flag or option '{found.group(1)}' (did you mean -{close[0]}?)"
    return message


def _is_root(argv: Sequence[str]) -> bool:
    """Whether this process prints: not under MPI, or MPI's rank 0."""
    try:
        engine = argv[[token.lstrip("-") for token in argv].index("engine") + 1]
    except (ValueError, IndexError):
        return True
    if engine != "mpi":
        return True
    try:
        from mpi4py import MPI
    except ImportError:
        return True  # the engine reports the missing package
    return MPI.COMM_WORLD.Get_rank() == 0


@contextmanager
def _signals_as_interrupts():
    """SIGTERM and SIGHUP end the run as Ctrl-C does (the file is closed; its complete frames stay)."""

    def interrupt(signum, frame):
        error = KeyboardInterrupt()
        error.signum = signum
        raise error

    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield
        return
    previous = {signum: signal.signal(signum, interrupt) for signum in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
