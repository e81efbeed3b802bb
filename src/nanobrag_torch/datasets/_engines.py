"""Where frames are rendered: this process, a Dask cluster, or the ranks of an MPI job.

Every engine runs ``task(spec, index, options)`` (``_render.frame_task``) for the requested frames and
yields the results to the one process that writes the file (the engines' ``is_root``), in the order they
finish. A frame is a pure function of the spec and its index, so neither the engine, nor the number of
workers, nor the order changes a byte.

- ``LocalEngine``: one process, frames in order, torch's own threads.
- ``DaskEngine``: one task per frame (key ``nanobrag-frame-<index>-<spec token>``), at most a few per
  worker in flight; a ``LocalCluster`` of worker processes (one torch thread each, or cores/workers), an
  existing cluster's ``scheduler`` address, or a ``Client`` you made. A worker that dies takes only its
  frames with it: the scheduler runs them again elsewhere (up to ``distributed.scheduler.allowed-failures``).
- ``MPIEngine``: under ``mpiexec -n N`` (or ``srun``) with mpi4py; rank r renders the frames at positions
  r, r + N, ... of the list, and each round is gathered to rank 0, which writes. With ``-device cuda`` each
  rank takes the GPU of its rank on the node (one rank per GPU).

Example:
    >>> from nanobrag_torch.datasets import DatasetSpec
    >>> from nanobrag_torch.datasets._render import frame_task
    >>> spec = DatasetSpec.series("-cell 100 100 100 90 90 90 -default_F 1 -detpixels 8 -oversample 1 -osc 1 "
    ...                           "-nonoise", 3)
    >>> with LocalEngine() as engine:
    ...     [frame.index for frame in engine.map(frame_task, spec, [2, 0])]
    [2, 0]
"""

from __future__ import annotations

import itertools
import logging
import os
from typing import Callable, Iterator, Optional, Sequence

from ._render import FrameFailed, TaskOptions
from ._spec import DatasetError

__all__ = ["DaskEngine", "ENGINES", "LocalEngine", "MPIEngine", "make_engine", "usable_cores"]


def usable_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class LocalEngine:
    """Every frame in this process, in the order asked; ``threads`` sets torch's (process-wide) thread count."""

    name, is_root, workers = "local", True, 1

    def __init__(self, threads: Optional[int] = None):
        self._threads = threads

    def __enter__(self) -> "LocalEngine":
        return self

    def __exit__(self, *exc) -> None:
        pass

    def share(self, make: Callable[[], object]) -> object:
        """``make()``, computed by the root process and handed to every process (here: just ``make()``)."""
        return make()

    def map(self, task, spec, indices: Sequence[int], options: TaskOptions = TaskOptions()) -> Iterator:
        """``task(spec, i, options)`` for each index, in order."""
        options = options._replace(threads=options.threads or self._threads)
        for index in indices:
            yield task(spec, index, options)


class DaskEngine:
    """Frames as tasks of a Dask distributed cluster (see the module notes).

    ``workers``: processes of the LocalCluster this engine starts (default: one per core); ``scheduler``:
    connect to that cluster instead; ``client``: use this ``distributed.Client`` (left open). ``threads``:
    torch threads per worker (default: the cores shared out among a LocalCluster's workers; elsewhere the
    workers' own setting).
    """

    name, is_root = "dask", True

    def __init__(self, workers: Optional[int] = None, scheduler: Optional[str] = None, client=None,
                 threads: Optional[int] = None):
        self._wanted, self._scheduler, self.client = workers, scheduler, client
        self._owned = []  # what __exit__ closes
        self.workers, self._threads = 0, threads

    def __enter__(self) -> "DaskEngine":
        try:
            import dask
            import distributed
        except ImportError:
            raise DatasetError("-engine dask: needs the 'distributed' package "
                               "(pip install 'nanobrag-torch[datasets]')") from None
        if self.client is None and self._scheduler is not None:
            try:
                self.client = distributed.Client(self._scheduler, timeout=30)
            except (OSError, TimeoutError, ValueError) as error:
                raise DatasetError(f"-scheduler {self._scheduler}: cannot connect ({error})") from None
            self._owned.append(self.client)
        elif self.client is None:
            self.workers = self._wanted or usable_cores()
            # Dask starts its workers with MALLOC_TRIM_THRESHOLD_=65536, which also freezes glibc's mmap
            # threshold: every tensor of a frame is then mapped and unmapped again, and frames render 2-4 times
            # slower (measured at 512x512). None unsets it (for these workers only, restarted ones included).
            with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
                cluster = distributed.LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                                   dashboard_address=":0", silence_logs=logging.ERROR)
            self.client = distributed.Client(cluster)
            self._owned += [self.client, cluster]
            # Each worker process gets its share of the cores for torch (which would otherwise take them all).
            self._threads = self._threads or max(1, usable_cores() // self.workers)
        self.workers = self.workers or len(self.client.scheduler_info()["workers"])
        return self

    def __exit__(self, *exc) -> None:
        for closable in self._owned:
            closable.close()
        self._owned.clear()

    def share(self, make: Callable[[], object]) -> object:
        return make()

    def map(self, task, spec, indices: Sequence[int], options: TaskOptions = TaskOptions()) -> Iterator:
        """Submit ``task`` for each index, a few per worker at a time; yield results as they finish."""
        from distributed import as_completed
        from distributed.scheduler import KilledWorker

        options = options._replace(threads=options.threads or self._threads)
        # One copy of the spec (configs, structure factors) per worker, not one per task.
        spec_on_cluster = self.client.scatter(spec, broadcast=True, hash=False)
        token, pending = spec.token(), iter(indices)
        running = as_completed()

        def submit(index: int) -> None:
            running.add(self.client.submit(task, spec_on_cluster, index, options,
                                           key=f"nanobrag-frame-{index}-{token}"))

        for index in itertools.islice(pending, max(4, 3 * self.workers)):
            submit(index)
        try:
            for future in running:
                try:
                    result = future.result()
                except KilledWorker as error:
                    raise FrameFailed(f"a frame killed every worker that ran it ({error})") from None
                future.release()
                for index in itertools.islice(pending, 1):
                    submit(index)
                yield result
        finally:
            running.clear()  # cancels what is still queued when the consumer stops early


class MPIEngine:
    """Frames dealt to the ranks of an MPI job by position, gathered to rank 0 (see the module notes).
    ``threads``: torch threads per rank (default: the node's cores shared out among its ranks)."""

    name = "mpi"

    def __init__(self, comm=None, threads: Optional[int] = None):
        self.comm, self._threads = comm, threads

    def __enter__(self) -> "MPIEngine":
        try:
            from mpi4py import MPI
        except (ImportError, RuntimeError) as error:  # RuntimeError: mpi4py found no MPI library to load
            raise DatasetError(f"-engine mpi: needs mpi4py and an MPI library (pip install "
                               f"'nanobrag-torch[mpi]'; {error})") from None
        self.comm = self.comm or MPI.COMM_WORLD
        self.rank, self.workers = self.comm.Get_rank(), self.comm.Get_size()
        self.is_root = self.rank == 0
        node = self.comm.Split_type(MPI.COMM_TYPE_SHARED)
        self.node_rank, node_size = node.Get_rank(), node.Get_size()
        node.Free()
        self._threads = self._threads or max(1, usable_cores() // node_size)
        return self

    def __exit__(self, *exc) -> None:
        pass

    def share(self, make: Callable[[], object]) -> object:
        """``make()`` on rank 0, broadcast to every rank; an ``Exception`` it raises is raised on every rank."""
        payload = None
        if self.is_root:
            try:
                payload = (make(), None)
            except Exception as error:
                payload = (None, error)
        value, error = self.comm.bcast(payload, root=0)
        if error is not None:
            raise error
        return value

    def map(self, task, spec, indices: Sequence[int], options: TaskOptions = TaskOptions()) -> Iterator:
        """Rounds of one frame per rank. Rank 0 opens each round (a broadcast True) and closes the job with
        False, also when it stops early, so that no rank is left waiting in a collective."""
        options = options._replace(threads=options.threads or self._threads, device=self._device(spec))
        if not self.is_root:
            for round_start in itertools.count(0, self.workers):
                if not self.comm.bcast(None, root=0):
                    return
                self.comm.gather(self._attempt(task, spec, indices, round_start, options), root=0)
        try:
            for round_start in range(0, len(indices), self.workers):
                self.comm.bcast(True, root=0)
                gathered = self.comm.gather(self._attempt(task, spec, indices, round_start, options), root=0)
                failures = [failure for _, failure in gathered if failure is not None]
                if failures:
                    raise FrameFailed(failures[0])
                yield from (result for result, _ in gathered if result is not None)
        finally:
            self.comm.bcast(False, root=0)

    def _attempt(self, task, spec, indices, round_start: int, options: TaskOptions):
        """(result, None), (None, None) when this rank has no frame this round, or (None, the error)."""
        position = round_start + self.rank
        if position >= len(indices):
            return None, None
        try:
            return task(spec, indices[position], options), None
        except Exception as error:  # reported by rank 0, which stops the job
            return None, f"rank {self.rank}: {error}"

    def _device(self, spec) -> Optional[str]:
        """One GPU per rank: a bare ``-device cuda`` becomes this rank's GPU on its node."""
        if spec.parsed.device != "cuda":
            return None
        import torch

        count = torch.cuda.device_count()
        return f"cuda:{self.node_rank % count}" if count else None


#: Engine names (the ``-engine`` option) and their classes.
ENGINES = {"local": LocalEngine, "dask": DaskEngine, "mpi": MPIEngine}


def make_engine(name: str, workers: Optional[int] = None, scheduler: Optional[str] = None, client=None,
                threads: Optional[int] = None):
    """The engine called ``name`` (``-engine``), checked against the other options.

    Example:
        >>> make_engine("spark")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        ...
        nanobrag_torch.datasets._spec.DatasetError: -engine: expected local, dask or mpi, got 'spark'
    """
    if name not in ENGINES:
        raise DatasetError(f"-engine: expected local, dask or mpi, got {name!r}")
    if (scheduler is not None or client is not None) and name != "dask":
        raise DatasetError(f"-scheduler: an existing cluster is a Dask one; it needs -engine dask, not {name}")
    for option, value in (("-workers", workers), ("-threads", threads)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise DatasetError(f"{option}: expected an integer >= 1, got {value!r}")
    if workers is not None and (name != "dask" or scheduler is not None or client is not None):
        where = {"local": "-engine local runs one process", "mpi": "with -engine mpi, mpiexec -n sets the ranks",
                 "dask": "an existing cluster has its own workers"}[name]
        raise DatasetError(f"-workers: {where}")
    if name == "dask":
        return DaskEngine(workers, scheduler, client, threads)
    return MPIEngine(threads=threads) if name == "mpi" else LocalEngine(threads)
