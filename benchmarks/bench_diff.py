"""Time and peak memory of ``tracehooks diff`` on large synthetic trace pairs (no assertions).

Run: python benchmarks/bench_diff.py [--mb 50] [--one-sided 20000] [--only pair|one-sided] [--quick]

Two cases, each diffed by a fresh ``python -m tracehooks diff`` process, once with the text report and
once with ``--json``, its output written to a file:

1. *pair*: a C log and a Python log of ``--mb`` MB together (half each), nanoBragg-like per-pixel blocks in
   every line style (space, equals, record, bare, matrices, ``key:value`` groups, strings). About 90 % of
   the Python lines are textually identical to the C's, 9 % differ within the default tolerance, 1 %
   diverge.
2. *one-sided*: a C log and a Python log of ``--one-sided / 2`` values each with no name in common, so
   every row is a "C only" or "Py only" row.

For each run: wall time, peak resident set of the process (``ru_maxrss`` from ``wait4``; MB = 10^6 bytes),
output size, and the ratios of the peak to the input size. The bare interpreter's peak (``python -c
"import tracehooks._cli"``) is printed first: it is part of every figure. The benchmark itself stays small
(the logs are written line by line), because Linux carries a parent's peak resident set into a child.

>>> lines = list(pixel_block("C", 1, [str(k) for k in range(32)]))
>>> lines[0].startswith("TRACE_C: pixel_pos_meters "), len(lines)
(True, 13)
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

# (chance, how a Python value is derived from the C value): identical, within 1e-12, diverging.
_IDENTICAL, _WITHIN = 0.97, 0.995


def _number(rng: random.Random) -> float:
    return rng.uniform(-1.0, 1.0) * 10.0 ** rng.randint(-12, 10)


def _py_number(c: float, rng: random.Random) -> float:
    roll = rng.random()
    if roll < _IDENTICAL:
        return c
    return c * (1.0 + (3e-15 if roll < _WITHIN else 1e-6))


def pixel_block(side: str, pixel: int, texts: list[str]) -> Iterator[str]:
    """The trace lines of one pixel of one side, its numbers taken from ``texts`` in order."""
    value = iter(texts)

    def v() -> str:
        return next(value)

    tag = f"TRACE_{side}"
    yield f"{tag}: pixel_pos_meters {v()} {v()} {v()}"
    yield f"{tag}:diffracted_vec={v()} {v()} {v()}"
    yield f"{tag}: scattering_vec_A_inv {v()} {v()} {v()}"
    yield f"{tag}: hkl_frac {v()} {v()} {v()}"
    yield f"{tag}: hkl_rounded {pixel % 7} {-(pixel % 5)} {pixel % 11}"
    yield f"{tag}_PHI phi_tic={pixel % 10} phi_deg={v()} k_frac={v()} F_latt={v()}"
    yield f"{tag}: F_latt {v()}"
    yield f"{tag}:rot_matrix=[{v()} {v()} {v()}; {v()} {v()} {v()}; {v()} {v()} {v()}]"
    yield f"{tag}:beam_center_m=X:{v()} Y:{v()} pixel_mm:0.1"
    yield f"{tag}:detector_convention=MOSFLM"
    yield f"DETECTOR_PIX0_VECTOR {v()} {v()} {v()}"
    yield f"{tag}_SOURCE2: F_cell {v()}"
    yield f"{tag}: omega_pixel {v()}"


_NUMBERS_PER_BLOCK = 32


def write_pair(folder: Path, megabytes: float, seed: int = 0) -> tuple[Path, Path]:
    """Write c.log and py.log of about ``megabytes`` MB together; return their paths."""
    c_path, py_path = folder / "c.log", folder / "py.log"
    rng = random.Random(seed)
    budget = megabytes * 1e6
    with open(c_path, "w", encoding="utf-8") as c_file, open(py_path, "w", encoding="utf-8") as py_file:
        pixel = 0
        while c_file.tell() + py_file.tell() < budget:
            numbers = [_number(rng) for _ in range(_NUMBERS_PER_BLOCK)]
            c_texts = ["%.15g" % x for x in numbers]
            py_texts = ["%.15g" % _py_number(x, rng) for x in numbers]
            c_file.write("\n".join(pixel_block("C", pixel, c_texts)) + "\n")
            py_file.write("\n".join(pixel_block("PY", pixel, py_texts)) + "\n")
            pixel += 1
    return c_path, py_path


def write_one_sided(folder: Path, rows: int) -> tuple[Path, Path]:
    """A C log and a Python log of ``rows // 2`` values each, no name in common: ``rows`` one-sided rows."""
    c_path, py_path = folder / "c_only.log", folder / "py_only.log"
    for path, side in ((c_path, "C"), (py_path, "PY")):
        with open(path, "w", encoding="utf-8") as log:
            log.writelines(f"TRACE_{side}: {side.lower()}_value_{k} {k * 0.5}\n" for k in range(rows // 2))
    return c_path, py_path


def measure(command: list[str], output: Path) -> dict:
    """Run ``command`` with stdout to ``output``: seconds, exit status, peak RSS (MB), output MB."""
    start = time.perf_counter()
    with open(output, "wb") as out:
        child = subprocess.Popen(command, stdout=out, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    error = child.stderr.read().decode(errors="replace").strip()
    child.stderr.close()
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: KiB on Linux, bytes on macOS
    return {"seconds": seconds, "status": os.waitstatus_to_exitcode(status),
            "rss_mb": usage.ru_maxrss * scale / 1e6, "out_mb": output.stat().st_size / 1e6,
            "error": error.splitlines()[-1] if error else ""}


def diff_runs(title: str, c_path: Path, py_path: Path, folder: Path) -> None:
    """Diff one pair as text and as JSON and print a line for each."""
    input_mb = (c_path.stat().st_size + py_path.stat().st_size) / 1e6
    print(f"{title}: {c_path.name} + {py_path.name} = {input_mb:.1f} MB")
    for label, extra in (("text", []), ("json", ["--json"])):
        command = [sys.executable, "-m", "tracehooks", "diff", str(c_path), str(py_path), *extra]
        found = measure(command, folder / f"out.{label}")
        print(f"  {label:<5} {found['seconds']:8.2f} s  exit {found['status']}  peak {found['rss_mb']:8.1f} MB"
              f"  ({found['rss_mb'] / input_mb:5.1f} x input)  output {found['out_mb']:8.1f} MB"
              + (f"  stderr: {found['error']}" if found["error"] else ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=float, default=50.0, help="size of the trace pair, both logs (MB)")
    parser.add_argument("--one-sided", type=int, default=20000, help="rows of the one-sided case")
    parser.add_argument("--quick", action="store_true", help="a 2 MB pair and 2,000 one-sided rows")
    parser.add_argument("--only", choices=("pair", "one-sided"), help="run one case only")
    args = parser.parse_args(argv)
    megabytes, one_sided = (2.0, 2000) if args.quick else (args.mb, args.one_sided)
    src = str(Path(__file__).resolve().parents[1] / "src")
    os.environ["PYTHONPATH"] = src + os.pathsep + os.environ.get("PYTHONPATH", "")
    with tempfile.TemporaryDirectory(prefix="bench_diff_") as tmp:
        folder = Path(tmp)
        bare = measure([sys.executable, "-c", "import tracehooks._cli"], folder / "bare.out")
        print(f"interpreter + import tracehooks._cli: {bare['seconds']:.2f} s, peak {bare['rss_mb']:.1f} MB")
        if args.only != "one-sided":
            start = time.perf_counter()
            pair = write_pair(folder, megabytes)
            print(f"(generated the pair in {time.perf_counter() - start:.1f} s)")
            diff_runs("pair", *pair, folder)
        if args.only != "pair":
            diff_runs(f"one-sided ({one_sided} one-sided rows)", *write_one_sided(folder, one_sided), folder)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
