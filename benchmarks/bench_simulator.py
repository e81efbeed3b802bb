"""Speed and memory of the nanobrag_torch port against the nanoBragg C program (prints; asserts nothing).

Run: NANOBRAGG_BIN=/path/to/nanoBragg python benchmarks/bench_simulator.py [--quick | --golden]
     [--cases NAME ...] [--repeats N] [--device cpu] [--dtype float64] [--no-memory] [--no-process]
     [--json FILE]

The cases are the fixed list of bench_cases.py, or with ``--golden`` every reference case of
tests/data/c_reference (its cmd.txt without -trace_pixel). For each case (a nanoBragg command line,
printed before the table) the port is timed two ways, in
``c_compat`` mode (the mode meant to reproduce the C's image bit for bit): as a whole process
(``python -m nanobrag_torch``, the C's flags, median of ``--repeats``), and in this process, where the
render (``Simulator.run()``, after parsing and building) is timed after one warm-up run, median of
``--repeats``, with its user+system CPU time over wall time. A fresh process also reports the start-up:
``import torch``, then parsing, building and rendering the first batch of pixels. With ``NANOBRAGG_BIN``
set, the C binary is timed on the same command line as a whole process (it reads the HKL file too), with ``OMP_NUM_THREADS`` equal to ``torch.get_num_threads()``, and
the images are compared in float32 ulps: against the last timed C run, and against one extra C run with
``OMP_NUM_THREADS=1``, because some C code paths give thread-count-dependent images (quirks 15, 20 and
26 in tests/data/c_reference/README.md) and the port follows the single-thread C.

Every whole process (port and C) also reports its peak resident set and its CPU time over wall time.

Memory: peak resident set of a fresh process that renders a 4096x4096 image, minus that of a fresh
process that stops after building the simulator; same for the C binary. Exit status 0 unless a run
crashed.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch

from bench_cases import INPUTS, TINY, Case, benchmark_cases, golden_cases, memory_case
from bench_report import format_memory, format_table, progress_line

# Appended to every C run: no noise image, no PGM, no progress bar, and the float image we compare.
C_QUIET = ("-nonoise", "-nopgm", "-noprogress", "-floatfile", "image.bin")
MEMORY_TARGET_MB = 4000.0


class Workspace:
    """A temporary folder whose ``inputs`` links to the reference inputs; runs happen one level below,
    so that ``../inputs/NAME`` resolves. Each C run gets a fresh folder because nanoBragg writes
    ``intimage.img`` and ``Fdump.bin`` where it runs, and reads a stray ``Fdump.bin``.

    Example:
        >>> with Workspace() as space:
        ...     (space.fresh_folder() / ".." / "inputs" / "cubic.hkl").exists()
        True
    """

    def __enter__(self) -> "Workspace":
        self.root = Path(tempfile.mkdtemp(prefix="bench_simulator_"))
        (self.root / "inputs").symlink_to(INPUTS, target_is_directory=True)
        self.port_folder = self.fresh_folder()
        return self

    def __exit__(self, *exc) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def fresh_folder(self) -> Path:
        return Path(tempfile.mkdtemp(prefix="run_", dir=self.root))


@contextlib.contextmanager
def _working_directory(path: Path):
    previous = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


# -- the port ----------------------------------------------------------------------------------------


def build_simulator(argv: Sequence[str], device: str, dtype: torch.dtype):
    """Parse a nanoBragg command line (input paths relative to the current folder) and build the
    port's simulator in c_compat mode.

    Example:
        >>> build_simulator(TINY, "cpu", torch.float64).run().shape
        torch.Size([4, 4])
    """
    from nanobrag_torch.cli import parse_args
    from nanobrag_torch.simulator import Simulator

    parsed = parse_args(list(argv))
    config = dataclasses.replace(parsed.simulation, c_compat=True)
    return Simulator.from_config(config, device=device, dtype=dtype)


def _synchronize(device: str) -> None:
    # GPU kernels run asynchronously: without this a timer would stop before the work is done.
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


@dataclass
class _PortResult:
    seconds: List[float]  # render (run()) wall times
    cpu_over_wall: List[float]  # user + system CPU time of this process over wall time, per render
    image: np.ndarray  # the last image, as float32
    pixels: int
    evaluations_per_pixel: int


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _time_port(case: Case, folder: Path, device: str, dtype: torch.dtype, repeats: int) -> _PortResult:
    seconds: List[float] = []
    ratios: List[float] = []
    with _working_directory(folder):
        simulator = build_simulator(case.argv, device, dtype)
        for attempt in range(repeats + 1):
            cpu, start = _cpu_seconds(), time.perf_counter()
            image = simulator.run()
            _synchronize(device)
            elapsed = time.perf_counter() - start
            if attempt > 0:  # attempt 0 is the warm-up
                seconds.append(elapsed)
                ratios.append((_cpu_seconds() - cpu) / elapsed)
    pixels = int(simulator.rendered_pixels()[0].numel())
    as_float32 = image.detach().to("cpu", torch.float32).numpy()
    return _PortResult(seconds, ratios, as_float32, pixels, int(simulator.evaluations_per_pixel))


def _port_command(argv: Sequence[str], settings: "Settings") -> List[str]:
    return [sys.executable, "-m", "nanobrag_torch", *argv, *C_QUIET, "-c_compat", "-device", settings.device,
            "-dtype", settings.dtype_name]


def _time_port_process(case: Case, space: "Workspace", settings: "Settings") -> dict:
    """Whole-process runs of the port's command line: median seconds, CPU over wall, peak memory."""
    env = dict(os.environ, OMP_NUM_THREADS=str(settings.threads))
    runs = [run_measured(_port_command(case.argv, settings), space, env=env) for _ in range(settings.repeats)]
    failed = [run for run in runs if run["returncode"] != 0]
    if failed:
        return {"error": "port process failed: " + "\n".join(failed[0]["output"][-5:])}
    return {"process_seconds": [run["seconds"] for run in runs],
            "process_median_s": statistics.median(run["seconds"] for run in runs),
            "process_cpu_over_wall": statistics.median(run["cpu_seconds"] / run["seconds"] for run in runs),
            "process_max_rss_mb": max(run["max_rss_mb"] for run in runs)}


def _startup_probe(device: str, dtype_name: str) -> int:
    # Child process body (torch is imported already): parse + build + the first batch of pixels.
    argv = json.load(sys.stdin)
    start = time.perf_counter()
    simulator = build_simulator(argv, device, getattr(torch, dtype_name))
    first, _, slow, fast = next(iter(simulator._batches()))
    simulator._render_batch(slow, fast, first)
    _synchronize(device)
    print(json.dumps({"to_first_batch_s": time.perf_counter() - start}))
    return 0


def _measure_startup(case: Case, space: "Workspace", settings: "Settings") -> dict:
    """A fresh process: ``import torch`` (timed by a bare interpreter), then parse + build + first batch."""
    bare = run_measured([sys.executable, "-c", "import torch"], space)
    command = [sys.executable, str(Path(__file__).resolve()), "--startup-probe", "--device", settings.device,
               "--dtype", settings.dtype_name]
    found = run_measured(command, space, stdin=json.dumps(case.argv))
    if found["returncode"] != 0:
        return {"error": "start-up probe failed: " + "\n".join(found["output"][-5:])}
    probe = json.loads(found["output"][-1])
    return {"import_torch_s": bare["seconds"], "startup_s": probe["to_first_batch_s"]}


# -- the C program -----------------------------------------------------------------------------------


@dataclass
class _CRun:
    seconds: float
    returncode: int
    image: Optional[np.ndarray]  # None when the run failed or wrote an image of another size
    log_tail: str
    cpu_over_wall: float
    max_rss_mb: float


def _run_c(binary: str, argv: Sequence[str], space: Workspace, threads: int, shape: Tuple[int, int]) -> _CRun:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), LC_ALL="C")
    images: list = []
    done = run_measured([binary, *argv, *C_QUIET], space, env=env, keep=lambda folder: images.append(
        np.fromfile(folder / "image.bin", dtype="<f4") if (folder / "image.bin").exists() else None))
    image = images[0] if done["returncode"] == 0 else None
    if image is not None:
        image = image.reshape(shape) if image.size == shape[0] * shape[1] else None
    return _CRun(done["seconds"], done["returncode"], image, "\n".join(done["output"][-5:]),
                 done["cpu_seconds"] / done["seconds"], done["max_rss_mb"])


def _compare_with_c(case: Case, space: Workspace, settings: "Settings", port: _PortResult) -> dict:
    # The single-thread reference run comes first: it also warms the file cache for the timed runs.
    shape = port.image.shape
    runs = [_run_c(settings.binary, case.argv, space, 1, shape)]
    while len(runs) <= settings.repeats and runs[-1].image is not None:
        runs.append(_run_c(settings.binary, case.argv, space, settings.threads, shape))
    reference, timed = runs[0], runs[1:]
    found: dict = {"c_seconds": [run.seconds for run in timed]}
    failed = [run for run in runs if run.image is None]
    if failed:
        found["error"] = (f"C run failed (exit status {failed[0].returncode}, or no {shape[1]}x{shape[0]} "
                          f"float image); its last output lines:\n{failed[0].log_tail}")
        return found
    found["c_median_s"] = statistics.median(found["c_seconds"])
    found["c_cpu_over_wall"] = statistics.median(run.cpu_over_wall for run in timed)
    found["c_max_rss_mb"] = max(run.max_rss_mb for run in timed)
    found["render_over_c"] = statistics.median(port.seconds) / found["c_median_s"]
    found["agreement_c_threads"] = ulp_difference(port.image, timed[-1].image)
    found["agreement_c_1thread"] = ulp_difference(port.image, reference.image)
    found["correlation_c_1thread"] = float(np.corrcoef(port.image.ravel(), reference.image.ravel())[0, 1])
    return found


def _ordered_bits(values: np.ndarray) -> np.ndarray:
    # Sign-magnitude float32 patterns become integers that count ulps monotonically across zero.
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.int32).astype(np.int64)
    return np.where(bits < 0, -(bits & 0x7FFFFFFF), bits)


def ulp_difference(a: np.ndarray, b: np.ndarray) -> dict:
    """Largest float32 ulp distance between two images of one shape, and how many pixels differ.

    +0 and -0 count as equal; a NaN shows up as a huge distance.

    Example:
        >>> x = np.array([1.0, 0.0, -2.0], dtype=np.float32)
        >>> ulp_difference(x, np.nextafter(x, np.float32(3)))
        {'max_ulps': 1, 'pixels_differing': 3}
    """
    if a.shape != b.shape:
        raise ValueError(f"image shapes differ: {a.shape} and {b.shape}; expected one (slow, fast) shape")
    distance = np.abs(_ordered_bits(a) - _ordered_bits(b))
    return {"max_ulps": int(distance.max()) if distance.size else 0,
            "pixels_differing": int(np.count_nonzero(distance))}


@dataclass
class Settings:
    """What every case shares: the port's device and dtype, repeats, the C binary and its threads.

    Example:
        >>> Settings("cpu", "float32", 3, None, 2).dtype
        torch.float32
    """

    device: str
    dtype_name: str
    repeats: int
    binary: Optional[str]
    threads: int
    processes: bool = True  # also time the port as whole processes, and its start-up

    @property
    def dtype(self) -> torch.dtype:
        return getattr(torch, self.dtype_name)


def benchmark_case(case: Case, space: Workspace, settings: Settings) -> dict:
    """Time the port and (with a binary) the C on one case: a row of the table, as a dict; a crash is
    recorded in ``row["error"]`` and the run goes on.

    Example:
        >>> with Workspace() as space:
        ...     row = benchmark_case(Case("t", TINY), space, Settings("cpu", "float64", 1, None, 1))
        >>> row["pixels"], row["evaluations_per_pixel"], len(row["render_seconds"]), len(row["process_seconds"])
        (16, 1, 1, 1)
    """
    row: dict = {"name": case.name, "command": case.command, "note": case.note}
    try:
        port = _time_port(case, space.port_folder, settings.device, settings.dtype, settings.repeats)
    except Exception as error:  # report and go on with the other cases
        traceback.print_exc()
        row["error"] = f"port crashed: {type(error).__name__}: {error}"
        return row
    row.update(pixels=port.pixels, evaluations_per_pixel=port.evaluations_per_pixel,
               render_seconds=port.seconds, render_median_s=statistics.median(port.seconds),
               render_cpu_over_wall=statistics.median(port.cpu_over_wall))
    if settings.processes:
        row.update(_time_port_process(case, space, settings))
        row.update(_measure_startup(case, space, settings))
    if settings.binary:
        row.update(_compare_with_c(case, space, settings, port))
        if "process_median_s" in row and "c_median_s" in row:
            row["process_over_c"] = row["process_median_s"] / row["c_median_s"]
    return row


# -- memory ------------------------------------------------------------------------------------------

# Linux carries a process's peak resident set across fork and exec, so a child started from this (large)
# process would report at least our own peak. Measured processes are therefore started by this small
# interpreter, which imports nothing heavy; it prints the child's wall time, exit status and ru_maxrss.
_LAUNCHER = """
import json, os, subprocess, sys, time
with open(sys.argv[1], "wb") as log:
    start = time.perf_counter()
    child = subprocess.Popen(sys.argv[2:], stdout=log, stderr=subprocess.STDOUT)
    _, status, usage = os.wait4(child.pid, 0)
print(json.dumps({"seconds": time.perf_counter() - start, "returncode": os.waitstatus_to_exitcode(status),
                  "max_rss": usage.ru_maxrss, "cpu_seconds": usage.ru_utime + usage.ru_stime}))
"""


def _rss_mb(max_rss: int) -> float:
    # ru_maxrss is in KiB on Linux and in bytes on macOS; MB here are 10^6 bytes.
    return max_rss * (1 if sys.platform == "darwin" else 1024) / 1e6


def run_measured(command: Sequence[str], space: Workspace, env: Optional[dict] = None, stdin: str = "",
                 keep=None) -> dict:
    """Run ``command`` in a fresh folder through the launcher: seconds, cpu_seconds (user + system),
    returncode, max_rss_mb, output; ``keep(folder)``, if given, reads what it needs before the folder goes.

    Example:
        >>> with Workspace() as space:
        ...     found = run_measured([sys.executable, "-c", "print(6 * 7)"], space)
        >>> found["returncode"], found["output"][-1], 0 < found["max_rss_mb"] < 200
        (0, '42', True)
    """
    folder = space.fresh_folder()
    log_path = folder / "output.log"
    done = subprocess.run([sys.executable, "-c", _LAUNCHER, str(log_path), *command], cwd=folder, env=env,
                          input=stdin, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"memory launcher exited with status {done.returncode}: {done.stderr[-2000:]}")
    found = json.loads(done.stdout)
    found["max_rss_mb"] = _rss_mb(found.pop("max_rss"))
    found["output"] = log_path.read_text(errors="replace").splitlines()
    if keep is not None:
        keep(folder)
    shutil.rmtree(folder, ignore_errors=True)
    return found


def _memory_probe(stage: str, device: str, dtype_name: str) -> int:
    # Child process body: the command line comes as JSON on stdin; the result is the last stdout line.
    argv = json.load(sys.stdin)
    start = time.perf_counter()
    simulator = build_simulator(argv, device, getattr(torch, dtype_name))
    if stage == "run":
        simulator.run()
        _synchronize(device)
    found = {"max_rss_mb": _rss_mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss),
             "seconds": time.perf_counter() - start}
    if torch.device(device).type == "cuda":
        found["cuda_peak_allocated_mb"] = torch.cuda.max_memory_allocated() / 1e6
    print(json.dumps(found))
    return 0


def _run_probe(stage: str, case: Case, space: Workspace, settings: Settings) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--memory-probe", stage,
               "--device", settings.device, "--dtype", settings.dtype_name]
    found = run_measured(command, space, stdin=json.dumps(case.argv))
    if found["returncode"] != 0:
        tail = "\n".join(found["output"][-10:])
        return {"error": f"memory probe ({stage}) exited with status {found['returncode']}:\n{tail}"}
    return json.loads(found["output"][-1])


def measure_memory(case: Case, space: Workspace, settings: Settings) -> dict:
    """Peak resident set (MB) of the port rendering ``case``, of the port only building its simulator, their
    difference, and (with a binary) of the C; each in a fresh process.

    Example:
        >>> with Workspace() as space:
        ...     found = measure_memory(Case("t", TINY), space, Settings("cpu", "float64", 1, None, 1))
        >>> found["port_run"]["max_rss_mb"] >= found["port_build_only"]["max_rss_mb"] > 0
        True
    """
    found: dict = {"case": case.name, "command": case.command, "target_mb": MEMORY_TARGET_MB}
    found["port_build_only"] = _run_probe("build", case, space, settings)
    found["port_run"] = _run_probe("run", case, space, settings)
    if "error" not in found["port_build_only"] and "error" not in found["port_run"]:
        found["port_run_minus_build_mb"] = found["port_run"]["max_rss_mb"] - found["port_build_only"]["max_rss_mb"]
    if settings.binary:
        env = dict(os.environ, OMP_NUM_THREADS=str(settings.threads), LC_ALL="C")
        run = run_measured([settings.binary, *case.argv, *C_QUIET], space, env=env)
        found["c"] = {key: run[key] for key in ("max_rss_mb", "seconds", "returncode")}
        if run["returncode"] != 0:
            found["c"]["error"] = "C run failed: " + "\n".join(run["output"][-5:])
    return found


# -- output ------------------------------------------------------------------------------------------


def _environment(settings: Settings) -> dict:
    return {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
            "machine": platform.platform(), "cpu_count": os.cpu_count(), "device": settings.device,
            "dtype": settings.dtype_name, "torch_threads": settings.threads, "repeats": settings.repeats,
            "nanobragg_bin": settings.binary, "c_omp_num_threads": settings.threads, "port_mode": "c_compat"}


def _print_header(settings: Settings, cases: Sequence[Case]) -> None:
    env = _environment(settings)
    print(f"python {env['python']}, torch {env['torch']}, {env['machine']}, {env['cpu_count']} CPUs")
    print(f"port: device {settings.device}, dtype {settings.dtype_name}, c_compat mode, torch.get_num_threads() "
          f"= {settings.threads}; render: run() after one warm-up, median of {settings.repeats}"
          + (f"; whole process (python -m nanobrag_torch): median of {settings.repeats}" if settings.processes else ""))
    if settings.binary:
        print(f"C: {settings.binary}, OMP_NUM_THREADS={settings.threads}, median of {settings.repeats} "
              "whole-process runs; images also compared with one OMP_NUM_THREADS=1 run (ulps C-1T)")
    else:
        print("C: skipped, NANOBRAGG_BIN is not set (set it to a nanoBragg binary to compare)")
    print("\nCases (the C also gets: " + " ".join(C_QUIET) + "):")
    for case in cases:
        print(f"  {case.name}: {case.command}" + (f"   [{case.note}]" if case.note else ""))
    print(flush=True)


def _parse_options(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    names = [case.name for case in benchmark_cases(quick=False) + golden_cases()]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="torch device of the port (default cpu)")
    parser.add_argument("--dtype", default="float64", choices=["float32", "float64"])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per case, after one warm-up")
    parser.add_argument("--cases", nargs="+", choices=names, metavar="NAME",
                        help=f"run only these cases (of: {', '.join(names)})")
    parser.add_argument("--quick", action="store_true", help="smaller detectors, for a smoke run")
    parser.add_argument("--golden", action="store_true",
                        help="the reference cases of tests/data/c_reference instead of the fixed list")
    parser.add_argument("--no-memory", action="store_true", help="skip the 4096x4096 memory measurement")
    parser.add_argument("--no-process", action="store_true",
                        help="skip the port's whole-process runs and start-up measurement (each imports torch)")
    parser.add_argument("--json", metavar="FILE", help="also save the numbers as JSON")
    parser.add_argument("--memory-probe", choices=["build", "run"], help=argparse.SUPPRESS)
    parser.add_argument("--startup-probe", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats: expected a positive count, got {args.repeats}")
    if args.golden and args.quick:
        parser.error("--golden and --quick: the reference cases have one size; give one of the two")
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the selected cases and the memory measurement and print the results; 1 if a run crashed, else 0.

    Example:
        >>> with contextlib.redirect_stdout(None):
        ...     status = main(["--quick", "--cases", "default", "--repeats", "1", "--no-memory", "--no-process"])
        >>> status
        0
    """
    args = _parse_options(argv)
    if args.memory_probe:
        return _memory_probe(args.memory_probe, args.device, args.dtype)
    if args.startup_probe:
        return _startup_probe(args.device, args.dtype)
    binary = os.environ.get("NANOBRAGG_BIN") or None
    if binary is not None:
        # The C runs in temporary folders, so a relative path must be resolved here.
        binary = os.path.abspath(binary)
        if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
            print(f"NANOBRAGG_BIN={binary}: not an executable file; expected the path of a nanoBragg binary "
                  "(or leave NANOBRAGG_BIN unset to time the port alone)", file=sys.stderr)
            return 2
    settings = Settings(args.device, args.dtype, args.repeats, binary, torch.get_num_threads(), not args.no_process)
    listed = golden_cases() if args.golden else benchmark_cases(args.quick)
    cases = [case for case in listed if not args.cases or case.name in args.cases]
    _print_header(settings, cases)
    rows, memory = [], None
    with Workspace() as space:
        for case in cases:
            rows.append(benchmark_case(case, space, settings))
            print(progress_line(rows[-1]), flush=True)
        if not args.no_memory:
            memory = measure_memory(memory_case(args.quick), space, settings)
    print("\n" + format_table(rows))
    if memory is not None:
        print("\n" + format_memory(memory, settings.threads))
    if args.json:
        report = {"environment": _environment(settings), "cases": rows, "memory": memory}
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    memory_parts = [memory.get(key) or {} for key in ("port_run", "port_build_only", "c")] if memory else []
    crashed = any("error" in part for part in rows + memory_parts)
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
