"""Access to the C reference cases in tests/data/c_reference (see its README.md)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List

import numpy as np

REFERENCE_DIR = Path(__file__).resolve().parent.parent / "data" / "c_reference"

_EQUALS = re.compile(r"^TRACE_C:([^=]+)=(.*)$")
_SPACE = re.compile(r"^TRACE_C: (\S+) ?(.*)$")
_BARE = re.compile(r"^(DETECTOR_[A-Z0-9_]+) (.*)$")


def case_names(prefix: str = "") -> List[str]:
    """Names of the reference cases whose name starts with ``prefix``."""
    return sorted(p.name for p in REFERENCE_DIR.iterdir()
                  if p.is_dir() and p.name != "inputs" and p.name.startswith(prefix))


@dataclass
class ReferenceCase:
    """One C run: its command line, trace and image."""

    name: str

    @property
    def folder(self) -> Path:
        return REFERENCE_DIR / self.name

    @property
    def argv(self) -> List[str]:
        """The nanoBragg flags (without the program name)."""
        return (self.folder / "cmd.txt").read_text().split()[1:]

    @property
    def meta(self) -> dict:
        return json.loads((self.folder / "case.json").read_text())

    def trace(self) -> Dict[str, List[str]]:
        """Every traced name -> the raw value text of each occurrence, in file order."""
        found: Dict[str, List[str]] = {}
        for line in (self.folder / "trace_c.log").read_text(encoding="utf-8").splitlines():
            match = _EQUALS.match(line) or _SPACE.match(line) or _BARE.match(line)
            if match:
                found.setdefault(match.group(1), []).append(match.group(2))
        return found

    def numbers(self, name: str, occurrence: int = 0) -> np.ndarray:
        """Numeric value(s) of ``name`` (``[a b c; d e f; ...]`` matrices flattened row by row)."""
        text = self.trace()[name][occurrence]
        return np.array([float(t) for t in text.replace("[", " ").replace("]", " ").replace(";", " ").split()])

    def image(self) -> np.ndarray:
        """The float32 image the C wrote, shape (slow, fast); for the seed case the stored ROI."""
        meta = self.meta
        if "roi" in meta:
            shape = meta["roi"]["shape"]
            return np.fromfile(self.folder / "roi.bin", dtype="<f4").reshape(shape)
        slow, fast = meta["detpixels"]
        return np.fromfile(self.folder / "image.bin", dtype="<f4").reshape(slow, fast)


def assert_close_to_c(actual, expected, *, rtol: float = 1e-12, atol: float = 1e-15, what: str = "") -> None:
    """The C prints %.15g, so its numbers carry at most ~5e-16 relative rounding; rtol 1e-12 leaves room only
    for last-bit differences of libm. ``atol`` covers components that are zero in exact arithmetic and
    print as round-off (e.g. 6.12e-17 from cos(pi/2))."""
    actual = np.atleast_1d(np.asarray(actual, dtype=np.float64))
    expected = np.atleast_1d(np.asarray(expected, dtype=np.float64))
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=what)


def run_folder(tmp_path: Path) -> Path:
    """A fresh folder laid out like a case folder: ``../inputs`` resolves to the reference inputs and no
    ``Fdump.bin`` is present (nanoBragg, and so the port, reads ./Fdump.bin when -hkl is absent)."""
    (tmp_path / "inputs").symlink_to(REFERENCE_DIR / "inputs")
    work = tmp_path / "run"
    work.mkdir()
    return work
