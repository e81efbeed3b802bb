"""Writing a dataset: check everything, open (or resume) the file, render what is missing, write it.

``write_dataset`` is what the ``nanobrag-torch-dataset`` command runs. Bad input (options, the command
line, an output that holds another job) raises ``DatasetError`` before any file is created. A new output
that ends with no complete frame (a failure in the first frame) is removed; otherwise an interrupted run
leaves a file that the same job, run again, completes: only its missing frames are rendered.

Example:
    >>> spec = DatasetSpec.series("-cell 100 100 100 90 90 90 -default_F 100 -N 5 -detpixels 16 -oversample 1 "
    ...                           "-osc 1 -seed 1", frames=3)
    >>> report = write_dataset(spec, "series.h5", compression="gzip")
    >>> report.frames, report.rendered, report.already_complete
    (3, 3, 0)
    >>> write_dataset(spec, "series.h5", compression="gzip").rendered
    0
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from dataclasses import dataclass
from typing import Callable, Iterator, Optional, Sequence

from ._chunks import COMPRESSIONS
from ._engines import make_engine
from ._nexus import DatasetFile, geometry_simulator
from ._render import Frame, TaskOptions, frame_task
from ._spec import DatasetError, DatasetSpec

__all__ = ["DatasetReport", "iter_frames", "smv_path", "write_dataset"]


@dataclass(frozen=True)
class DatasetReport:
    """What a run did: ``rendered`` frames now, ``already_complete`` ones found in the file, in ``seconds``,
    on ``engine`` with ``workers``; ``spec`` is the job as written (with the file's seeds when resumed).
    Processes other than an MPI job's rank 0 get ``path`` None."""

    path: Optional[str]
    frames: int
    rendered: int
    already_complete: int
    seconds: float
    engine: str
    workers: int
    spec: DatasetSpec

    @property
    def frames_per_second(self) -> float:
        """Frames rendered per second of this run (0 when none was rendered)."""
        return self.rendered / self.seconds if self.rendered and self.seconds > 0 else 0.0

    def summary(self) -> str:
        """One line for the end of a run.

        Example:
            >>> DatasetReport("a.h5", 10, 4, 6, 2.0, "dask", 2, None).summary()
            'a.h5: 10 frames complete (4 rendered now, 6 already there) in 2.0 s, 2.00 frames/s, engine dask, 2 workers'
        """
        return (f"{self.path}: {self.frames} frames complete ({self.rendered} rendered now, {self.already_complete} "
                f"already there) in {self.seconds:.1f} s, {self.frames_per_second:.2f} frames/s, engine "
                f"{self.engine}, {self.workers} worker{'s' if self.workers != 1 else ''}")


def smv_path(template: str, index: int) -> str:
    """Frame ``index``'s SMV file: the template's run of ``#`` replaced by the 1-based frame number.

    Example:
        >>> smv_path("frames/image_#####.img", 0)
        'frames/image_00001.img'
    """
    return re.sub(r"#+", lambda run: f"{index + 1:0{len(run.group())}d}", template, count=1)


def write_dataset(spec: DatasetSpec, path: str, *, engine: str = "local", workers: Optional[int] = None,
                  scheduler: Optional[str] = None, client=None, threads: Optional[int] = None,
                  compression: str = "bslz4", smv: Optional[str] = None, overwrite: bool = False,
                  progress: Optional[Callable[[int, int], None]] = None) -> DatasetReport:
    """Write ``spec``'s frames to the NXmx file ``path``, completing it if it holds the same job.

    ``engine``: "local", "dask" (``workers`` processes, or ``scheduler`` / ``client`` for an existing cluster)
    or "mpi" (call it on every rank); ``threads``: torch threads per worker process (see the engines).
    ``compression``: one of ``COMPRESSIONS``. ``smv``: also write each frame as nanoBragg's SMV file, named
    by this template (see :func:`smv_path`). ``overwrite``: start the file again whatever it holds.
    ``progress(done, total)`` is called once the file is open and after each frame. Raises ``DatasetError``
    for bad input (nothing is created), ``FrameFailed`` when a frame cannot be rendered, ``OSError`` when
    the file cannot be written.

    Example:
        >>> spec = DatasetSpec.series("-cell 100 100 100 90 90 90 -default_F 1 -N 5 -detpixels 8 -oversample 1 "
        ...                           "-osc 1 -nonoise", frames=2)
        >>> write_dataset(spec, "two.h5", engine="local", compression="none").summary()
        'two.h5: 2 frames complete (2 rendered now, 0 already there) in ... s, ... frames/s, engine local, 1 worker'
    """
    _check_options(compression, smv)
    runner = make_engine(engine, workers, scheduler, client, threads)
    with runner:
        opened = []  # rank 0's file: opened inside share() so that an error reaches every rank
        spec, missing = runner.share(lambda: _open(opened, spec, path, compression, overwrite))
        if not runner.is_root:
            for _ in runner.map(frame_task, spec, missing, TaskOptions(compression, smv is not None)):
                pass
            return DatasetReport(None, spec.frames, 0, 0, 0.0, runner.name, runner.workers, spec)
        out, created = opened[0]
        return _render_into(out, created, runner, spec, missing, compression, smv, progress)


def _check_options(compression: str, smv: Optional[str]) -> None:
    if compression not in COMPRESSIONS:
        raise DatasetError(f"-compression: expected {', '.join(COMPRESSIONS)}, got {compression!r}")
    if smv is not None:
        if "#" not in smv:
            raise DatasetError(f"-smv: the template needs a run of # for the frame number, e.g. "
                               f"frames/image_#####.img, got {smv!r}")
        _check_writable("-smv", smv_path(smv, 0))


def _check_writable(option: str, path: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    problem = ""
    if os.path.isdir(path):
        problem = "it is a folder"
    elif not os.path.isdir(folder):
        problem = f"its folder {folder} does not exist"
    elif not os.access(folder, os.W_OK | os.X_OK):
        problem = f"its folder {folder} is not writable"
    if problem:
        raise DatasetError(f"{option}: cannot write {path}: {problem}")


def _open(opened: list, spec: DatasetSpec, path: str, compression: str, overwrite: bool):
    """Open (resume) or create the file; return the job as the file holds it and its missing frames."""
    _check_writable("-o", path)
    if os.path.exists(path) and not overwrite:
        out, created = DatasetFile.resume(path, spec, compression), False
    else:
        out, created = DatasetFile.create(path, spec, geometry_simulator(spec), compression), True
    opened.append((out, created))
    return out.spec, out.missing()


def _render_into(out: DatasetFile, created: bool, runner, spec: DatasetSpec, missing: Sequence[int],
                 compression: str, smv: Optional[str], progress) -> DatasetReport:
    already = spec.frames - len(missing)
    started, rendered = time.monotonic(), 0
    try:
        with out:
            if progress is not None:
                progress(already, spec.frames)
            for frame in runner.map(frame_task, spec, missing, TaskOptions(compression, smv is not None)):
                if smv is not None:
                    _write_smv(smv_path(smv, frame.index), *frame.smv)
                out.write(frame)
                rendered += 1
                if progress is not None:
                    progress(already + rendered, spec.frames)
    except BaseException:
        if created and already + rendered == 0:
            os.remove(out.path)  # nothing to resume: leave no file behind
        raise
    return DatasetReport(out.path, spec.frames, rendered, already, time.monotonic() - started, runner.name,
                         runner.workers, spec)


def _write_smv(path: str, pixels, header) -> None:
    """One SMV file, written beside its target and renamed onto it: never half a file under its name."""
    from ..io import write_smv

    handle, temporary = tempfile.mkstemp(prefix=".nanobrag-", suffix=".tmp", dir=os.path.dirname(os.path.abspath(path)))
    os.close(handle)
    try:
        write_smv(temporary, pixels, header)
        os.replace(temporary, path)
    except BaseException:
        os.remove(temporary)
        raise


def iter_frames(spec: DatasetSpec, indices: Optional[Sequence[int]] = None, *, engine: str = "local",
                workers: Optional[int] = None, scheduler: Optional[str] = None, client=None,
                threads: Optional[int] = None) -> Iterator[Frame]:
    """Render frames of ``spec`` (default: all) on ``engine`` and yield each :class:`Frame` as it is done
    (in order locally, in the order they finish elsewhere; under MPI, on rank 0).

    Example:
        >>> spec = DatasetSpec.stills("-cell 100 100 100 90 90 90 -default_F 100 -N 5 -detpixels 16 "
        ...                           "-oversample 1 -misset_seed 2 -nonoise", shots=4)
        >>> [(frame.index, frame.image.shape) for frame in iter_frames(spec, [3, 1])]
        [(3, (16, 16)), (1, (16, 16))]
    """
    indices = list(range(spec.frames)) if indices is None else [int(i) for i in indices]
    for index in indices:
        spec.plan(index)  # an index outside the dataset is an IndexError here, not in a worker
    with make_engine(engine, workers, scheduler, client, threads) as runner:
        yield from runner.map(frame_task, spec, indices)
