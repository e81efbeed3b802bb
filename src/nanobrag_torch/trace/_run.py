"""Trace one run: the detector block of the simulator's construction and the block of one pixel.

``trace_run`` is the one place that composes a run's TRACE_PY trace. ``nanobrag-torch -trace_pixel``,
``python -m nanobrag_torch.trace`` and ``python -m nanobrag_torch.parity`` all go through it, so the
three print the same lines for the same configuration, check the pixel the same way and derive the same
tolerances. It takes a ``SimulationConfig`` rather than a built simulator because the detector block is
recorded while the simulator is built; the simulator comes back in the result, ready to render the image.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple

import torch

import tracehooks

from ..config import DetectorConfig, SimulationConfig
from ..simulator import Simulator
from ._detector import detector_block, record_detector
from ._pixel import PixelTrace, tap_pixel

__all__ = ["TracedRun", "trace_run"]

_NOT_RENDERED = "it is not rendered, so there is no pixel to trace (nanoBragg prints nothing for it either)"


@dataclass(frozen=True)
class TracedRun:
    """A simulator built while its detector was recorded, and the trace of that run.

    ``detector_lines`` is the detector block. ``pixel_trace`` is the traced pixel's block, value and derived
    tolerances; it is None without a pixel, and for a pixel the run does not render (outside the ROI, or
    masked), for which ``skipped`` says why: nanoBragg prints no pixel block for it either.
    """

    simulator: Simulator
    detector_lines: List[str]
    pixel: Optional[Tuple[int, int]] = None
    pixel_trace: Optional[PixelTrace] = None
    skipped: Optional[str] = None

    @property
    def lines(self) -> List[str]:
        """The whole trace: the detector block, then the pixel's block (if the pixel was traced)."""
        return self.detector_lines + (self.pixel_trace.lines if self.pixel_trace is not None else [])

    @property
    def tolerances(self) -> List[tracehooks.DeclaredTolerance]:
        """The derived tolerances of the traced pixel's ill-conditioned values (none without a pixel)."""
        return self.pixel_trace.tolerances if self.pixel_trace is not None else []


def trace_run(config: SimulationConfig, pixel: Optional[Tuple[int, int]] = None, *, device=None,
              dtype: torch.dtype = torch.float64, prefix: str = "TRACE_PY") -> TracedRun:
    """Build the simulator of ``config`` while recording its detector; trace pixel ``(slow, fast)`` too.

    The pixel is rendered alone while its stages are captured (one pixel's work). Raises ``ValueError`` for
    a pixel outside the detector (before anything is built) and for a config the simulator refuses.

    Example:
        >>> from nanobrag_torch.config import CrystalConfig, DetectorConfig, SimulationConfig
        >>> detector = DetectorConfig(fpixels=8, spixels=8, oversample=1, roi=(0, 3, 0, 7))
        >>> config = SimulationConfig(detector=detector,
        ...     crystal=CrystalConfig(cell=(100, 100, 100, 90, 90, 90), Na=5, Nb=5, Nc=5, default_F=100))
        >>> traced = trace_run(config, (2, 3))
        >>> value = tracehooks.format_value(traced.pixel_trace.value)
        >>> traced.detector_lines[-1].split()[0], traced.lines[-2] == f"TRACE_PY: I_pixel_final {value}"
        ('DETECTOR_PIX0_VECTOR', True)
        >>> outside = trace_run(config, (2, 5))
        >>> outside.lines == traced.detector_lines, outside.tolerances
        (True, [])
        >>> outside.skipped.split(":")[0]
        'pixel (slow 2, fast 5) is outside -roi 0 3 0 7'
        >>> trace_run(config, (8, 0))
        Traceback (most recent call last):
        ...
        ValueError: pixel (slow 8, fast 0) is outside the 8x8 (fast x slow) detector
    """
    if pixel is not None:
        config.detector.check_pixel(*pixel)
    with record_detector() as recorded:
        simulator = Simulator.from_config(config, device=device, dtype=dtype)
    lines = detector_block(recorded, prefix)
    if pixel is None:
        return TracedRun(simulator, lines)
    skipped = _not_rendered(simulator.detector.config, *pixel)
    if skipped is not None:
        return TracedRun(simulator, lines, pixel, None, skipped)
    return TracedRun(simulator, lines, pixel, tap_pixel(simulator, *pixel, prefix=prefix))


def _not_rendered(detector: DetectorConfig, slow: int, fast: int) -> Optional[str]:
    """Why pixel (slow, fast) is not rendered (outside the ROI, masked), or None when it is."""
    where = f"pixel (slow {slow}, fast {fast})"
    if detector.roi is not None:
        xmin, xmax, ymin, ymax = detector.roi
        if not (xmin <= fast <= xmax and ymin <= slow <= ymax):
            return f"{where} is outside -roi {xmin} {xmax} {ymin} {ymax}: {_NOT_RENDERED}"
    if detector.mask is not None and not detector.mask[slow, fast]:
        return f"{where} is masked (0 in -mask): {_NOT_RENDERED}"
    return None
