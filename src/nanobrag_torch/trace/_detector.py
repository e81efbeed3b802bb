"""The detector block of a nanoBragg trace, tapped from the real ``Detector`` computation.

Every value printed is a value the detector computed: the locals of ``Detector._rotate_axes`` and
``Detector._calculate_pix0_vector`` at return, the successive values of ``pix0`` as it is assigned, and
the detector's attributes. Nothing is re-derived from the configuration. Lines follow the C's names,
shapes and order (SAMPLE pivot: its block before the axes; BEAM pivot: after them), so that
``tracehooks diff`` can line them up with a C trace. The C's names live in ``_specs`` (the sections also
registered as the detector's trace specs); this module records the two calls and interleaves the sections.
"""

from __future__ import annotations

from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Iterator, List, Optional

import tracehooks

from ..config import DetectorPivot
from ..models.detector import Detector
from ._specs import axes_final, axes_matrices, axes_rotated, pix0_header, pix0_result, pix0_terms

__all__ = ["DetectorRecorder", "detector_block", "record_detector"]


@dataclass
class DetectorRecorder:
    """What one detector construction computed, as recorded by ``record_detector``."""

    axes: Optional[tracehooks.Call] = None
    pix0: Optional[tracehooks.Call] = None

    @property
    def detector(self) -> Detector:
        if self.pix0 is None:
            raise RuntimeError("no Detector was built while recording")
        return self.pix0.instance


@contextmanager
def record_detector() -> Iterator[DetectorRecorder]:
    """Record the geometry of the next ``Detector`` built inside the ``with`` block.

    Example:
        >>> from nanobrag_torch.config import DetectorConfig
        >>> with record_detector() as recorded:
        ...     _ = Detector(DetectorConfig(fpixels=8, spixels=8))
        >>> [line for line in detector_block(recorded) if "Fbeam_m" in line]
        ['TRACE_PY:Fbeam_m=0.0005']
    """
    recorder = DetectorRecorder()
    with ExitStack() as stack:
        axes = stack.enter_context(tracehooks.capture(Detector, "_rotate_axes", locals=["rotation_x"]))
        pix0 = stack.enter_context(tracehooks.capture(Detector, "_calculate_pix0_vector", locals=["ratio"],
                                                      watch=["pix0"]))
        yield recorder
    if axes.calls and pix0.calls:
        recorder.axes, recorder.pix0 = axes.calls[-1], pix0.calls[-1]


def detector_block(recorded: DetectorRecorder, prefix: str = "TRACE_PY") -> List[str]:
    """The detector block lines, in the C's order, from the sections of ``_specs`` (the C's names)."""
    det = recorded.detector
    axes, pix0 = recorded.axes, recorded.pix0
    if det.pivot is DetectorPivot.SAMPLE:
        entries = pix0_header(pix0) + pix0_terms(pix0) + axes_rotated(axes) + axes_final(axes)
    else:
        entries = axes_rotated(axes) + axes_final(axes) + pix0_header(pix0) + axes_matrices(axes) + \
            axes_rotated(axes) + pix0_terms(pix0)
    entries += pix0_result(pix0)
    return [tracehooks.format_line(name, value, prefix=prefix, style=style or "equals")
            for name, value, style in ((*entry, None)[:3] for entry in entries)]
