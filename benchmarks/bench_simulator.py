"""Speed and memory of the nanobrag_torch port against the nanoBragg C program (prints; asserts nothing).

Run: NANOBRAGG_BIN=/path/to/nanoBragg python benchmarks/bench_simulator.py [--quick] [--cases NAME ...]
     [--repeats N] [--device cpu] [--dtype float64] [--no-memory] [--json FILE]

For each case (a nanoBragg command line, printed before the table) the port is timed from parsing the
command line (which reads the HKL file) to the finished image: one warm-up run, then ``--repeats``
timed runs, median reported. The port runs in ``c_compat`` mode, the mode meant to reproduce the C's
image bit for bit. With ``NANOBRAGG_BIN`` set, the C binary is timed on the same command line as a whole
process (it reads the HKL file too), with ``OMP_NUM_THREADS`` equal to ``torch.get_num_threads()``, and
the images are compared in float32 ulps: against the last timed C run, and against one extra C run with
``OMP_NUM_THREADS=1``, because some C code paths give thread-count-dependent images (quirks 15, 20 and
26 in tests/data/c_reference/README.md) and the port follows the single-thread C.

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

REPO = Path(__file__).resolve().parent.parent
INPUTS = REPO / "tests" / "data" / "c_reference" / "inputs"
SEED_CMD = REPO / "tests" / "data" / "c_reference" / "seed_supervisor_pix0" / "cmd.txt"
# Appended to every C run: no noise image, no PGM, no progress bar, and the float image we compare.
C_QUIET = ("-nonoise", "-nopgm", "-noprogress", "-floatfile", "image.bin")
MEMORY_TARGET_MB = 4000.0
# A 4x4 detector, for the examples in docstrings.
TINY = "-cell 100 100 100 90 90 90 -default_F 1 -N 1 -detpixels 4".split()
BASE = ("-cell 100 100 100 90 90 90 -misset 5 10 15 -hkl ../inputs/cubic.hkl -N 5 -lambda 1 "
        "-distance 100 -pixel 0.1").split()


@dataclass
class Case:
    """One benchmark command line (nanoBragg flags; input paths relative to ``../inputs``).

    Example:
        >>> Case("tiny", ["-default_F", "100", "-detpixels", "8"]).command
        'nanoBragg -default_F 100 -detpixels 8'
    """

    name: str
    argv: List[str]
    note: str = ""

    @property
    def command(self) -> str:
        return " ".join(["nanoBragg", *self.argv])


def seed_argv(roi: Optional[Sequence[int]] = None) -> List[str]:
    """The seed case's cmd.txt without its -roi and -trace_pixel; with ``roi`` given, that -roi instead.

    Example:
        >>> seed_argv()[:2], "-roi" in seed_argv(), seed_argv([0, 9, 0, 9])[-5:]
        (['-mat', '../inputs/A.mat'], False, ['-roi', '0', '9', '0', '9'])
    """
    words, kept = SEED_CMD.read_text().split()[1:], []
    skip = 0
    for word in words:
        if skip:
            skip -= 1
        elif word in ("-roi", "-trace_pixel"):
            skip = 4 if word == "-roi" else 2
        else:
            kept.append(word)
    return kept + (["-roi", *map(str, roi)] if roi is not None else [])


def benchmark_cases(quick: bool) -> List[Case]:
    """The fixed case list, by growing number of evaluations; ``quick`` shrinks every detector.

    Example:
        >>> [case.name for case in benchmark_cases(quick=True)][:3]
        ['default', 'interpolate_N2', 'oversample3']
    """
    detector = ["-detpixels", "96" if quick else "1024", "-oversample"]
    # nanoBragg switches interpolation off for the rest of the run at the first pixel whose (h, k, l) lies
    # within 2 of the edge of the HKL table (quirk 20); at 1500 mm every |h|, |k|, |l| stays below 5.
    interpolate = ("-cell 100 100 100 90 90 90 -misset 5 10 15 -hkl ../inputs/cubic.hkl -N 2 -interpolate "
                   "-lambda 1 -distance 1500 -pixel 0.1").split()
    seed_note = "64x64 ROI of the full detector" if quick else "full 2463x2527 detector, no -roi"
    divergence = "-hdivrange 2 -vdivrange 2 -hdivsteps 3 -vdivsteps 3 -dispersion 2 -dispsteps 3".split()
    rotation = "-phi 0 -osc 1 -phisteps 10 -mosaic 0.5 -mosaic_domains 10".split()
    return [
        Case("default", BASE + detector + ["1"]),
        Case("interpolate_N2", interpolate + detector + ["1"]),
        Case("oversample3", BASE + detector + ["3"]),
        Case("divergence_dispersion", BASE + detector + ["1"] + divergence),
        Case("seed_supervisor", seed_argv([670, 733, 1024, 1087] if quick else None), seed_note),
        Case("phi_mosaic", BASE + detector + ["1"] + rotation),
    ]


def _memory_case(quick: bool) -> Case:
    # The default case on a 4096x4096 detector; 1024x1024 for a smoke run.
    n = 1024 if quick else 4096
    return Case(f"default_{n}", BASE + ["-detpixels", str(n), "-oversample", "1"])


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
    seconds: List[float]
    image: np.ndarray  # the last image, as float32
    pixels: int
    evaluations_per_pixel: int


def _time_port(case: Case, folder: Path, device: str, dtype: torch.dtype, repeats: int) -> _PortResult:
    seconds: List[float] = []
    with _working_directory(folder):
        for attempt in range(repeats + 1):
            start = time.perf_counter()
            simulator = build_simulator(case.argv, device, dtype)
            image = simulator.run()
            _synchronize(device)
            elapsed = time.perf_counter() - start
            if attempt > 0:  # attempt 0 is the warm-up
                seconds.append(elapsed)
    pixels = int(simulator.rendered_pixels()[0].numel())
    as_float32 = image.detach().to("cpu", torch.float32).numpy()
    return _PortResult(seconds, as_float32, pixels, int(simulator.evaluations_per_pixel))


# -- the C program -----------------------------------------------------------------------------------


@dataclass
class _CRun:
    seconds: float
    returncode: int
    image: Optional[np.ndarray]  # None when the run failed or wrote an image of another size
    log_tail: str


def _run_c(binary: str, argv: Sequence[str], space: Workspace, threads: int, shape: Tuple[int, int]) -> _CRun:
    folder = space.fresh_folder()
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), LC_ALL="C")
    with open(folder / "stdout.log", "wb") as log:
        start = time.perf_counter()
        done = subprocess.run([binary, *argv, *C_QUIET], cwd=folder, stdout=log, stderr=subprocess.STDOUT,
                              env=env)
        seconds = time.perf_counter() - start
    image = None
    if done.returncode == 0 and (folder / "image.bin").exists():
        image = np.fromfile(folder / "image.bin", dtype="<f4")
        image = image.reshape(shape) if image.size == shape[0] * shape[1] else None
    tail = "\n".join((folder / "stdout.log").read_text(errors="replace").splitlines()[-5:])
    shutil.rmtree(folder, ignore_errors=True)
    return _CRun(seconds, done.returncode, image, tail)


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
    found["port_over_c"] = statistics.median(port.seconds) / found["c_median_s"]
    found["agreement_c_threads"] = ulp_difference(port.image, timed[-1].image)
    found["agreement_c_1thread"] = ulp_difference(port.image, reference.image)
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

    @property
    def dtype(self) -> torch.dtype:
        return getattr(torch, self.dtype_name)


def benchmark_case(case: Case, space: Workspace, settings: Settings) -> dict:
    """Time the port and (with a binary) the C on one case: a row of the table, as a dict; a crash is
    recorded in ``row["error"]`` and the run goes on.

    Example:
        >>> with Workspace() as space:
        ...     row = benchmark_case(Case("t", TINY), space, Settings("cpu", "float64", 1, None, 1))
        >>> row["pixels"], row["evaluations_per_pixel"], len(row["port_seconds"])
        (16, 1, 1)
    """
    row: dict = {"name": case.name, "command": case.command, "note": case.note}
    try:
        port = _time_port(case, space.port_folder, settings.device, settings.dtype, settings.repeats)
    except Exception as error:  # report and go on with the other cases
        traceback.print_exc()
        row["error"] = f"port crashed: {type(error).__name__}: {error}"
        return row
    row.update(pixels=port.pixels, evaluations_per_pixel=port.evaluations_per_pixel,
               port_seconds=port.seconds, port_median_s=statistics.median(port.seconds))
    if settings.binary:
        row.update(_compare_with_c(case, space, settings, port))
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
                  "max_rss": usage.ru_maxrss}))
"""


def _rss_mb(max_rss: int) -> float:
    # ru_maxrss is in KiB on Linux and in bytes on macOS; MB here are 10^6 bytes.
    return max_rss * (1 if sys.platform == "darwin" else 1024) / 1e6


def run_measured(command: Sequence[str], space: Workspace, env: Optional[dict] = None, stdin: str = "") -> dict:
    """Run ``command`` in a fresh folder through the launcher: seconds, returncode, max_rss_mb, output.

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

_COLUMNS = [("case", "name", "s", 22), ("pixels", "pixels", "d", 9), ("evals/px", "evaluations_per_pixel", "d", 9),
            ("port (s)", "port_median_s", ".3f", 10), ("C (s)", "c_median_s", ".3f", 8),
            ("port/C", "port_over_c", ".1f", 8), ("ulps C-NT", "agreement_c_threads", "d", 10),
            ("ulps C-1T", "agreement_c_1thread", "d", 10)]


def format_table(rows: Sequence[dict]) -> str:
    """The results table; "-" marks what was not measured (no C binary, or a crash).

    Example:
        >>> print(format_table([{"name": "a", "pixels": 4, "evaluations_per_pixel": 1,
        ...                      "port_median_s": 0.5}]).splitlines()[2])
        a                              4         1      0.500        -        -          -          -
    """
    def cell(row: dict, key: str, fmt: str) -> str:
        value = row.get(key)
        value = value.get("max_ulps") if isinstance(value, dict) else value
        return "-" if value is None else format(value, fmt)

    header = " ".join(title.ljust(width) if key == "name" else title.rjust(width)
                      for title, key, _, width in _COLUMNS)
    lines = [header, "-" * len(header)]
    for row in rows:
        lines.append(" ".join(row["name"].ljust(width) if key == "name" else cell(row, key, fmt).rjust(width)
                              for _, key, fmt, width in _COLUMNS))
    return "\n".join(lines)


def _format_memory(found: dict, threads: int) -> str:
    lines = [f"Memory, {found['case']}: {found['command']}",
             f"  peak resident set (ru_maxrss), MB = 10^6 bytes; target: whole rendering process < "
             f"{found['target_mb']:.0f} MB"]
    for key, label in (("port_run", "port, build + render"), ("port_build_only", "port, build only")):
        probe = found[key]
        text = probe.get("error") or f"{probe['max_rss_mb']:9.1f} MB   ({probe['seconds']:.1f} s)"
        if "cuda_peak_allocated_mb" in probe:
            text += f"   CUDA peak allocated {probe['cuda_peak_allocated_mb']:.1f} MB"
        lines.append(f"  {label:<30}{text}")
    if "port_run_minus_build_mb" in found:
        within = "within" if found["port_run"]["max_rss_mb"] < found["target_mb"] else "OVER"
        lines.append(f"  {'port, render minus build':<30}{found['port_run_minus_build_mb']:9.1f} MB"
                     f"   (whole process {within} target)")
    c = found.get("c")
    if c is None:
        lines.append("  C: skipped (NANOBRAGG_BIN is not set)")
    else:
        lines.append(f"  {'C, OMP_NUM_THREADS=' + str(threads):<30}{c['max_rss_mb']:9.1f} MB   "
                     f"({c['seconds']:.1f} s, exit status {c['returncode']})")
    return "\n".join(lines)


def _progress_line(row: dict) -> str:
    text = f"[{row['name']}]"
    if "port_median_s" in row:
        text += f" port {row['port_median_s']:.3f} s"
    if "c_median_s" in row:
        text += f", C {row['c_median_s']:.3f} s, port/C {row['port_over_c']:.1f}"
    return text + (f"; {row['error']}" if "error" in row else "")


def _environment(settings: Settings) -> dict:
    return {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
            "machine": platform.platform(), "cpu_count": os.cpu_count(), "device": settings.device,
            "dtype": settings.dtype_name, "torch_threads": settings.threads, "repeats": settings.repeats,
            "nanobragg_bin": settings.binary, "c_omp_num_threads": settings.threads, "port_mode": "c_compat"}


def _print_header(settings: Settings, cases: Sequence[Case]) -> None:
    env = _environment(settings)
    print(f"python {env['python']}, torch {env['torch']}, {env['machine']}, {env['cpu_count']} CPUs")
    print(f"port: device {settings.device}, dtype {settings.dtype_name}, c_compat mode, torch.get_num_threads() "
          f"= {settings.threads}; parse + build + run, one warm-up, median of {settings.repeats}")
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
    names = [case.name for case in benchmark_cases(quick=False)]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="torch device of the port (default cpu)")
    parser.add_argument("--dtype", default="float64", choices=["float32", "float64"])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per case, after one warm-up")
    parser.add_argument("--cases", nargs="+", choices=names, metavar="NAME",
                        help=f"run only these cases (of: {', '.join(names)})")
    parser.add_argument("--quick", action="store_true", help="smaller detectors, for a smoke run")
    parser.add_argument("--no-memory", action="store_true", help="skip the 4096x4096 memory measurement")
    parser.add_argument("--json", metavar="FILE", help="also save the numbers as JSON")
    parser.add_argument("--memory-probe", choices=["build", "run"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats: expected a positive count, got {args.repeats}")
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the selected cases and the memory measurement and print the results; 1 if a run crashed, else 0.

    Example:
        >>> with contextlib.redirect_stdout(None):
        ...     status = main(["--quick", "--cases", "default", "--repeats", "1", "--no-memory"])
        >>> status
        0
    """
    args = _parse_options(argv)
    if args.memory_probe:
        return _memory_probe(args.memory_probe, args.device, args.dtype)
    binary = os.environ.get("NANOBRAGG_BIN") or None
    if binary is not None:
        # The C runs in temporary folders, so a relative path must be resolved here.
        binary = os.path.abspath(binary)
        if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
            print(f"NANOBRAGG_BIN={binary}: not an executable file; expected the path of a nanoBragg binary "
                  "(or leave NANOBRAGG_BIN unset to time the port alone)", file=sys.stderr)
            return 2
    settings = Settings(args.device, args.dtype, args.repeats, binary, torch.get_num_threads())
    cases = [case for case in benchmark_cases(args.quick) if not args.cases or case.name in args.cases]
    _print_header(settings, cases)
    rows, memory = [], None
    with Workspace() as space:
        for case in cases:
            rows.append(benchmark_case(case, space, settings))
            print(_progress_line(rows[-1]), flush=True)
        if not args.no_memory:
            memory = measure_memory(_memory_case(args.quick), space, settings)
    print("\n" + format_table(rows))
    if memory is not None:
        print("\n" + _format_memory(memory, settings.threads))
    if args.json:
        report = {"environment": _environment(settings), "cases": rows, "memory": memory}
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    memory_parts = [memory.get(key) or {} for key in ("port_run", "port_build_only", "c")] if memory else []
    crashed = any("error" in part for part in rows + memory_parts)
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
