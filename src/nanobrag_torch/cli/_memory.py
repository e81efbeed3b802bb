"""The memory a run needs, estimated from its configs before anything is allocated, and the check against
this machine's memory.

What grows with the inputs is counted: the float image with what the outputs derive from it, the
simulator's working set for one batch of evaluations, the per-run tables (spindle steps x mosaic domains,
sources), and the structure-factor box of an HKL file. Counts the models derive (spindle steps, mosaic
domains, sources) come from the models' own rules; the automatic oversampling is nanoBragg's formula. The
total is compared with the machine's physical memory (not with what happens to be free now); where that is
unknown nothing is refused. On a GPU only the host's share is counted (the image copy, the outputs, the HKL box).

Example:
    >>> format_bytes(320e9), format_bytes(hkl_table_bytes(-10, 10, -10, 10, -10, 10))
    ('320 GB', '74.1 kB')
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple

from ._domains import CommandLineError

if TYPE_CHECKING:
    from ..config import SimulationConfig

__all__ = ["Need", "check_fits", "check_hkl_box", "format_bytes", "hkl_table_bytes", "physical_memory_bytes",
           "run_needs"]

ITEMSIZE = {"float64": 8, "float32": 4}
# Per pixel, besides the image itself: the float32 copy written to -floatfile, the rendering-order indices
# (two int64) and the float64 scratch arrays of the statistics and of the integer, PGM and noise images.
OUTPUT_BYTES_PER_PIXEL = 4 + 16 + 28
# The simulator's batch (simulator.DEFAULT_BATCH_EVALUATIONS; a test keeps the two equal). A batch holds at
# least one pixel, so a pixel with more evaluations than this is a batch of its own.
BATCH_EVALUATIONS = 1 << 17
# Values alive per evaluation while a batch is computed (measured: about 121 bytes per evaluation in
# float64, and 1.6 kB with tricubic interpolation, which gathers 4x4x4 neighbours; it divides the batch by 8).
VALUES_PER_EVALUATION = 16
VALUES_PER_INTERPOLATED_EVALUATION = 208
_DETECTOR_FLAGS = ("-detpixels", "-detpixels_f", "-detpixels_x", "-detpixels_s", "-detpixels_y", "-detsize",
                   "-detsize_f", "-detsize_s", "-pixel", "-img", "-mask")
_STEP_FLAGS = ("-phisteps", "-osc", "-phistep", "-mosaic_domains", "-mosaic_dom", "-mosaic", "-mosaic_spread",
               "-mosaicity")
_SOURCE_FLAGS = ("-divsteps", "-hdivsteps", "-vdivsteps", "-hdivstep", "-vdivstep", "-hdivrange", "-vdivrange",
                 "-divergence", "-dispsteps", "-sourcefile")
_SAMPLING_FLAGS = ("-oversample", "-detector_thicksteps", "-thicksteps") + _STEP_FLAGS + _SOURCE_FLAGS + (
    "-xtalsize", "-xtal_size", "-samplesize", "-sample_size", "-N", "-Na", "-Nb", "-Nc")


@dataclass(frozen=True)
class Need:
    """One thing a run allocates: what it is (a phrase taking "needs"), its size, and the flags that size it."""

    what: str
    nbytes: int
    flags: Tuple[str, ...] = ()


def physical_memory_bytes() -> Optional[int]:
    """This machine's physical memory, or None where the system does not say (then nothing is refused)."""
    try:
        size = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None
    return size if size > 0 else None


def format_bytes(nbytes: float) -> str:
    """Bytes in decimal units with three significant digits: ``320 GB``, ``23.4 GB``, ``2.24 TB``."""
    for unit in ("B", "kB", "MB", "GB", "TB", "PB", "EB"):
        if abs(nbytes) < 999.5 or unit == "EB":
            return f"{nbytes:.3g} {unit}"
        nbytes /= 1000.0
    raise AssertionError("unreachable")


def hkl_table_bytes(h_min: int, h_max: int, k_min: int, k_max: int, l_min: int, l_max: int) -> int:
    """Bytes of the dense float64 structure-factor box for these index ranges (inclusive), as read.

    Example:
        >>> hkl_table_bytes(0, 9, 0, 9, 0, 0)
        800
    """
    return (h_max - h_min + 1) * (k_max - k_min + 1) * (l_max - l_min + 1) * 8


def hkl_need(h_min: int, h_max: int, k_min: int, k_max: int, l_min: int, l_max: int, dtype: str = "float64",
             writes_fdump: bool = True) -> Need:
    """The structure-factor box, its copy in the simulator's dtype (none in float64: the tensor shares the
    array) and the padded copy written to Fdump.bin after an -hkl run."""
    box = hkl_table_bytes(h_min, h_max, k_min, k_max, l_min, l_max)
    cells = box // 8
    padded = (h_max - h_min + 2) * (k_max - k_min + 2) * (l_max - l_min + 2) * 8 if writes_fdump else 0
    copy = 0 if dtype == "float64" else cells * ITEMSIZE.get(dtype, 8)
    ranges = f"h {h_min}..{h_max}, k {k_min}..{k_max}, l {l_min}..{l_max}"
    return Need(f"the structure-factor table ({ranges})", box + padded + copy, ("-hkl",))


def check_hkl_box(source: str, h_min: int, h_max: int, k_min: int, k_max: int, l_min: int, l_max: int,
                  memory: Optional[int] = None) -> None:
    """Refuse an HKL index box that cannot fit in memory, before it is allocated (for the HKL reader).

    ``source`` names the input in the message (``-hkl big.hkl``). Raises ``CommandLineError``.
    """
    box = hkl_table_bytes(h_min, h_max, k_min, k_max, l_min, l_max)
    ranges = f"h {h_min}..{h_max}, k {k_min}..{k_max}, l {l_min}..{l_max}"
    check_fits([Need(f"the structure-factor table ({ranges})", box)], {}, "float64", memory=memory, subject=source)


def run_needs(simulation: "SimulationConfig", dtype: str = "float64", device: str = "cpu",
              writes_fdump: bool = False) -> List[Need]:
    """What a run of ``simulation`` allocates that grows with its inputs (see the module notes)."""
    itemsize = ITEMSIZE.get(dtype, 8)
    det, crystal = simulation.detector, simulation.crystal
    pixels = int(det.fpixels) * int(det.spixels)
    needs = [Need(f"the {det.fpixels}x{det.spixels}-pixel image (with its outputs)",
                  pixels * (itemsize + OUTPUT_BYTES_PER_PIXEL), _DETECTOR_FLAGS)]
    table = crystal.hkl
    if table is not None and hasattr(table, "h_min"):
        needs.append(hkl_need(table.h_min, table.h_max, table.k_min, table.k_max, table.l_min, table.l_max,
                              dtype, writes_fdump))
    if not str(device).startswith("cpu"):
        return needs
    phisteps, domains, sources = _phi_steps(crystal), _mosaic_domains(crystal), _sources(simulation.beam)
    needs.append(Need(f"the orientation table ({phisteps} spindle steps x {domains} mosaic domains, {sources} "
                      "sources)",
                      phisteps * domains * 9 * itemsize + domains * 9 * (8 + itemsize) + sources * 12 * itemsize,
                      _STEP_FLAGS + _SOURCE_FLAGS))
    layers, oversample = _layers(det), _oversample(simulation)
    per_pixel = layers * oversample ** 2 * sources * phisteps * domains
    interpolate = crystal.interpolate if crystal.interpolate is not None else \
        min(crystal.Na, crystal.Nb, crystal.Nc) <= 2
    interpolate = interpolate and table is not None
    batch = BATCH_EVALUATIONS // 8 if interpolate else BATCH_EVALUATIONS
    values = VALUES_PER_INTERPOLATED_EVALUATION if interpolate else VALUES_PER_EVALUATION
    needs.append(Need(f"the working set of {per_pixel} evaluations per pixel ({layers} layers x {oversample}x"
                      f"{oversample} sub-pixels x {sources} sources x {phisteps} phi steps x {domains} domains)",
                      max(per_pixel, batch) * values * itemsize, _SAMPLING_FLAGS))
    return needs


def check_fits(needs: Sequence[Need], given: Dict[str, Tuple[str, ...]], dtype: str,
               memory: Optional[int] = None, subject: str = "") -> None:
    """Raise ``CommandLineError`` when ``needs`` add up to more than ``memory`` (default: this machine's).

    The message names the largest need and the flags behind it, with the values given (``given``: flag ->
    tokens, in command-line order), e.g. ``-detpixels 200000: the 200000x200000-pixel image (with its outputs)
    needs 2.24 TB
    (float64), more than this machine's 23.4 GB of memory``.
    """
    memory = physical_memory_bytes() if memory is None else memory
    total = sum(need.nbytes for need in needs)
    if memory is None or total <= memory:
        return
    top = max(needs, key=lambda need: need.nbytes)
    if not subject:
        subject = " ".join(f"{flag} {' '.join(given[flag])}".strip() for flag in given if flag in top.flags)
    message = f"{subject or 'this run'}: {top.what} needs {format_bytes(top.nbytes)} ({dtype})"
    if top.nbytes < 0.9 * total:
        message += f", the whole run about {format_bytes(total)}"
    raise CommandLineError(f"{message}, more than this machine's {format_bytes(memory)} of memory")


# -- the counts the models derive, by the models' own rules (imported when needed: they import torch) ------


def _not_given(value) -> float:
    """nanoBragg's "not given" marker, -1, for None (the rules compare only with 0, so units do not matter)."""
    return -1.0 if value is None else float(value)


def _phi_steps(crystal) -> int:
    from ..models.crystal import _resolve_phi_sampling

    steps = int(crystal.phisteps) if crystal.phisteps is not None else -1
    return _resolve_phi_sampling(steps, _not_given(crystal.osc_deg), _not_given(crystal.phistep_deg))[0]


def _mosaic_domains(crystal) -> int:
    from ..models.crystal import _resolve_mosaic

    domains = int(crystal.mosaic_domains) if crystal.mosaic_domains is not None else -1
    return _resolve_mosaic(_not_given(crystal.mosaic_spread_deg), domains)[1]


def _sources(beam) -> int:
    if beam.source_points is not None:
        return max(len(beam.source_points), 1)
    from ..models.beam import _resolve_sweep

    count = lambda n: int(n) if n is not None else -1
    hsteps = _resolve_sweep(count(beam.hdivsteps), _not_given(beam.hdivrange_mrad), _not_given(beam.hdivstep_mrad))[0]
    vsteps = _resolve_sweep(count(beam.vdivsteps), _not_given(beam.vdivrange_mrad), _not_given(beam.vdivstep_mrad))[0]
    dispersion = float(beam.dispersion_percent) if beam.dispersion_percent is not None else 0.0
    # The elliptical cut keeps at most the whole grid: an upper bound.
    return hsteps * vsteps * _resolve_sweep(count(beam.dispsteps), dispersion, -1.0)[0]


def _layers(det) -> int:
    if float(det.thickness_um) <= 0:
        return 1
    return max(int(det.thicksteps or 2), 2)


def _oversample(simulation) -> int:
    """-oversample, or nanoBragg's choice: ceil(3 x largest crystal size / (lambda x distance / pixel))."""
    det, crystal = simulation.detector, simulation.crystal
    if det.oversample is not None and det.oversample > 0:
        return int(det.oversample)
    wavelength_A = float(simulation.beam.wavelength_A)
    lengths_A = _cell_lengths_A(crystal, wavelength_A)
    if lengths_A is None:
        return 1
    sizes_A = []
    for n, size_mm, length in zip((crystal.Na, crystal.Nb, crystal.Nc), crystal.xtal_size_mm, lengths_A):
        count = math.ceil(float(size_mm) * 1e7 / length) if float(size_mm) > 0 else max(float(n), 1.0)
        sizes_A.append(count * length)
    distance_mm = det.close_distance_mm if det.close_distance_mm is not None else abs(float(det.distance_mm))
    reciprocal_pixel_A = wavelength_A * float(distance_mm) / float(det.pixel_size_mm)
    return max(1, math.ceil(min(3.0 * max(sizes_A) / reciprocal_pixel_A, 1e9)))


def _cell_lengths_A(crystal, wavelength_A: float) -> Optional[Tuple[float, float, float]]:
    """|a|, |b|, |c| in Angstrom, from the cell (a length <= 0 is a) or from the MOSFLM matrix."""
    if crystal.cell is not None:
        a, b, c = (float(x) for x in crystal.cell[:3])
        return a, (b if b > 0 else a), (c if c > 0 else a)
    if crystal.reciprocal_matrix is None:
        return None
    import numpy as np

    # The matrix's columns are a*, b*, c* times the wavelength; the real vectors are the rows of the inverse.
    real = wavelength_A * np.linalg.inv(np.asarray(crystal.reciprocal_matrix, dtype=np.float64))
    return tuple(float(x) for x in np.linalg.norm(real, axis=1))
