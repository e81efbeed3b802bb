"""The command lines bench_simulator.py times: its fixed cases, the reference cases (``--golden``), and the
memory case. Input paths are relative to ``../inputs``, which every benchmark run folder resolves to
tests/data/c_reference/inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

REPO = Path(__file__).resolve().parent.parent
REFERENCE = REPO / "tests" / "data" / "c_reference"
INPUTS = REFERENCE / "inputs"
SEED_CMD = REFERENCE / "seed_supervisor_pix0" / "cmd.txt"
# A 4x4 detector, for the examples in docstrings.
TINY = "-cell 100 100 100 90 90 90 -default_F 1 -N 1 -detpixels 4".split()
BASE = ("-cell 100 100 100 90 90 90 -misset 5 10 15 -hkl ../inputs/cubic.hkl -N 5 -lambda 1 "
        "-distance 100 -pixel 0.1").split()
ISSUE = "-cell 79 79 38 90 90 90 -default_F 100 -N 10 -lambda 1 -distance 150 -pixel 0.1".split()
# Flags of a reference case's cmd.txt that its benchmark leaves out, with their number of values: the trace
# of one pixel (the port would time its tracing harness too) and the float image's name (the benchmark names
# its own).
_NOT_TIMED = {"-trace_pixel": 2, "-floatfile": 1}


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


def without_flags(words: Sequence[str], dropped: Dict[str, int]) -> List[str]:
    """``words`` without each flag of ``dropped`` and its values (``dropped`` maps a flag to its count).

    Example:
        >>> without_flags(["-N", "5", "-roi", "0", "9", "0", "9", "-nopgm"], {"-roi": 4})
        ['-N', '5', '-nopgm']
    """
    kept: List[str] = []
    skip = 0
    for word in words:
        if skip:
            skip -= 1
        elif word in dropped:
            skip = dropped[word]
        else:
            kept.append(word)
    return kept


def seed_argv(roi: Optional[Sequence[int]] = None) -> List[str]:
    """The seed case's cmd.txt without its -roi and -trace_pixel; with ``roi`` given, that -roi instead.

    Example:
        >>> seed_argv()[:2], "-roi" in seed_argv(), seed_argv([0, 9, 0, 9])[-5:]
        (['-mat', '../inputs/A.mat'], False, ['-roi', '0', '9', '0', '9'])
    """
    kept = without_flags(SEED_CMD.read_text().split()[1:], {"-roi": 4, "-trace_pixel": 2})
    return kept + (["-roi", *map(str, roi)] if roi is not None else [])


def benchmark_cases(quick: bool) -> List[Case]:
    """The fixed case list, by growing number of evaluations; ``quick`` shrinks every detector.

    Example:
        >>> [case.name for case in benchmark_cases(quick=True)][:4]
        ['rotation_1024', 'rotation_mosaic', 'auto_oversample_512', 'default']
    """
    detector = ["-detpixels", "96" if quick else "1024", "-oversample"]
    # nanoBragg switches interpolation off for the rest of the run at the first pixel whose (h, k, l) lies
    # within 2 of the edge of the HKL table (quirk 20); at 1500 mm every |h|, |k|, |l| stays below 5.
    interpolate = ("-cell 100 100 100 90 90 90 -misset 5 10 15 -hkl ../inputs/cubic.hkl -N 2 -interpolate "
                   "-lambda 1 -distance 1500 -pixel 0.1").split()
    seed_note = "64x64 ROI of the full detector" if quick else "full 2463x2527 detector, no -roi"
    divergence = "-hdivrange 2 -vdivrange 2 -hdivsteps 3 -vdivsteps 3 -dispersion 2 -dispsteps 3".split()
    rotation = "-phi 0 -osc 1 -phisteps 10 -mosaic 0.5 -mosaic_domains 10".split()
    # The command lines of the speed issue: a 79x79x38 cell without HKL file, 2x2 sub-pixels, 4 phi steps.
    size = ["-detpixels", "96" if quick else "1024"]
    spindle = "-oversample 2 -phisteps 4 -osc 0.4".split()
    return [
        Case("rotation_1024", ISSUE + size + spindle),
        Case("rotation_mosaic", ISSUE + size + spindle + "-mosaic 0.2 -mosaic_domains 4".split()),
        Case("auto_oversample_512", ISSUE + ["-detpixels", "48" if quick else "512"], "oversample chosen by the C's rule"),
        Case("default", BASE + detector + ["1"]),
        Case("interpolate_N2", interpolate + detector + ["1"]),
        Case("oversample3", BASE + detector + ["3"]),
        Case("divergence_dispersion", BASE + detector + ["1"] + divergence),
        Case("seed_supervisor", seed_argv([670, 733, 1024, 1087] if quick else None), seed_note),
        Case("phi_mosaic", BASE + detector + ["1"] + rotation),
    ]


def golden_cases() -> List[Case]:
    """Every reference case of tests/data/c_reference, by folder name: its cmd.txt without -trace_pixel and
    -floatfile.

    Example:
        >>> cases = golden_cases()
        >>> len(cases), cases[0].name, "-trace_pixel" in cases[0].argv, "-floatfile" in cases[0].argv
        (27, 'geom_adxv_xybeam', False, False)
    """
    return [Case(path.parent.name, without_flags(path.read_text().split()[1:], _NOT_TIMED))
            for path in sorted(REFERENCE.glob("*/cmd.txt"))]


def memory_case(quick: bool) -> Case:
    """The default case on a 4096x4096 detector; 1024x1024 for a smoke run.

    Example:
        >>> memory_case(quick=True).name
        'default_1024'
    """
    n = 1024 if quick else 4096
    return Case(f"default_{n}", BASE + ["-detpixels", str(n), "-oversample", "1"])
