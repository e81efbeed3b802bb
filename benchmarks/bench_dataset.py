"""Frames per second of ``nanobrag-torch-dataset`` on each engine, with 1 and 2 workers (prints; asserts nothing).

Run: python benchmarks/bench_dataset.py [--quick] [--frames N] [--pixels N] [--json FILE]

The dataset: a rotation series of 16 frames of a 512x512 detector (noise images, bitshuffle/LZ4), the same
for every engine. Each configuration is one run of the command line in a fresh process, every worker with
one torch thread (``-threads 1``), so that 2 workers use 2 cores:

- local: one process (with 1 and with 2 torch threads: its only parallelism is torch's);
- dask: a LocalCluster of 1 or 2 worker processes (``-engine dask -workers N``);
- mpi: ``mpiexec -n 1`` or ``-n 2`` (``-engine mpi``).

``frames/s`` is the command's own figure: frames rendered and written over the time from the first frame
submitted to the last written (the cluster's start and the interpreter's are left out; the first frame of
each worker, which loads torch's kernels, is in). ``wall s`` is the whole process. ``efficiency`` is
frames/s with 2 workers over twice frames/s with 1, per engine. Each run writes to a temporary folder,
removed at the end. Exit status 0 unless a run failed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import List, NamedTuple, Optional

COMMAND = ("-cell 70 80 90 90 90 90 -default_F 100 -N 5 -lambda 1 -distance 60 -pixel 0.1 -oversample 2 "
           "-osc 0.5 -phisteps 2 -seed 1").split()
SUMMARY = re.compile(r"in ([0-9.]+) s, ([0-9.]+) frames/s")


class Result(NamedTuple):
    """One configuration's numbers (``error`` is set, and the numbers 0, when the run failed).

    Example:
        >>> Result("dask", 2, 1, 16, 4.0, 4.0, 9.5).frames_per_second
        4.0
    """

    engine: str
    workers: int
    threads: int
    frames: int
    seconds: float
    frames_per_second: float
    wall_seconds: float
    error: Optional[str] = None


def configurations() -> List[tuple]:
    """(engine, workers, torch threads per worker, the command's engine options) of each run.

    Example:
        >>> [c[:3] for c in configurations()][:2]
        [('local', 1, 1), ('local', 1, 2)]
    """
    return [("local", 1, 1, ["-threads", "1"]), ("local", 1, 2, ["-threads", "2"]),
            ("dask", 1, 1, ["-engine", "dask", "-workers", "1", "-threads", "1"]),
            ("dask", 2, 1, ["-engine", "dask", "-workers", "2", "-threads", "1"]),
            ("mpi", 1, 1, ["-engine", "mpi", "-threads", "1"]), ("mpi", 2, 1, ["-engine", "mpi", "-threads", "1"])]


def run(engine: str, workers: int, threads: int, options: List[str], frames: int, pixels: int,
        folder: Path) -> Result:
    """Run one configuration in a fresh process; read frames/s from its summary line."""
    argv = [sys.executable, "-m", "nanobrag_torch.datasets", *COMMAND, "-detpixels", str(pixels), "-frames",
            str(frames), "-o", f"{engine}{workers}x{threads}.h5", "-noprogress", *options]
    if engine == "mpi":
        mpiexec = shutil.which("mpiexec", path=str(Path(sys.executable).parent)) or shutil.which("mpiexec")
        if mpiexec is None:
            return Result(engine, workers, threads, frames, 0.0, 0.0, 0.0, "no mpiexec")
        argv = [mpiexec, "-n", str(workers), *argv]
    started = time.monotonic()
    done = subprocess.run(argv, cwd=folder, capture_output=True, text=True)
    wall = time.monotonic() - started
    found = SUMMARY.search(done.stdout)
    if done.returncode != 0 or found is None:
        error = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        return Result(engine, workers, threads, frames, 0.0, 0.0, wall, error)
    return Result(engine, workers, threads, frames, float(found.group(1)), float(found.group(2)), wall)


def efficiencies(results: List[Result]) -> dict:
    """Per engine: frames/s with 2 workers (or threads) over twice frames/s with 1.

    Example:
        >>> efficiencies([Result("mpi", 1, 1, 16, 8, 2.0, 9), Result("mpi", 2, 1, 16, 5, 3.0, 6)])
        {'mpi': 0.75}
    """
    found = {}
    for engine in dict.fromkeys(result.engine for result in results):
        rows = [r for r in results if r.engine == engine and not r.error]
        if len(rows) == 2 and rows[0].frames_per_second > 0:
            found[engine] = round(rows[1].frames_per_second / (2 * rows[0].frames_per_second), 3)
    return found


def table(results: List[Result], efficiency: dict) -> str:
    """The results as a text table."""
    lines = [f"{'engine':8}{'workers':>8}{'threads':>8}{'frames':>8}{'seconds':>9}{'frames/s':>10}{'wall s':>8}"
             f"{'efficiency':>12}"]
    for r in results:
        scaled = r.workers * r.threads > 1
        tail = f"{efficiency.get(r.engine, float('nan')):>12.2f}" if scaled else f"{'':>12}"
        if r.error:
            lines.append(f"{r.engine:8}{r.workers:>8}{r.threads:>8}  failed: {r.error}")
        else:
            lines.append(f"{r.engine:8}{r.workers:>8}{r.threads:>8}{r.frames:>8}{r.seconds:>9.2f}"
                         f"{r.frames_per_second:>10.2f}{r.wall_seconds:>8.1f}{tail}")
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8 frames of 128x128: a smoke run")
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--pixels", type=int, default=512)
    parser.add_argument("--json", help="also save the numbers as JSON")
    args = parser.parse_args(argv)
    frames, pixels = (8, 128) if args.quick else (args.frames, args.pixels)
    import torch

    print(f"nanobrag-torch-dataset: {frames} frames of {pixels}x{pixels}, torch {torch.__version__}, "
          f"{os.cpu_count()} cores")
    print("command: " + " ".join(COMMAND) + f" -detpixels {pixels}")
    folder = Path(tempfile.mkdtemp(prefix="bench-dataset-"))
    try:
        results = [run(*config, frames, pixels, folder) for config in configurations()]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    efficiency = efficiencies(results)
    print(table(results, efficiency))
    if args.json:
        Path(args.json).write_text(json.dumps({"frames": frames, "pixels": pixels, "efficiency": efficiency,
                                               "results": [r._asdict() for r in results]}, indent=2))
    return 1 if any(r.error for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
