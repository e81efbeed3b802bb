"""The detector block of a nanoBragg trace, tapped from the real ``Detector`` computation.

Every value printed is a value the detector computed: the locals of ``Detector._rotate_axes`` and
``Detector._calculate_pix0_vector`` at return, the successive values of ``pix0`` as it is assigned, and
the detector's attributes. Nothing is re-derived from the configuration. Lines follow the C's names,
shapes and order (SAMPLE pivot: its block before the axes; BEAM pivot: after them), so that
``tracehooks diff`` can line them up with a C trace.
"""

from __future__ import annotations

from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator, List, Optional

import torch

import tracehooks

from ..config import DetectorPivot
from ..geometry import matvec3
from ..models.conventions import BEAM_CENTRE_RULES
from ..models.detector import Detector
from ..units import m_to_mm

__all__ = ["DetectorRecorder", "detector_block", "record_detector"]

# Labels of the successive values of pix0 in each pivot, as the C names them.
_PIX0_LABELS = {
    DetectorPivot.SAMPLE: ("pix0_before_rotation", "pix0_after_rotz", "pix0_after_twotheta"),
    DetectorPivot.BEAM: ("pix0_vector",),
}


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
    """The detector block lines, in the C's order."""
    det = recorded.detector
    axes, pix0 = recorded.axes.locals, recorded.pix0.locals
    lines: List[str] = []

    def put(name, value, style="equals"):
        lines.append(tracehooks.format_line(name, value, prefix=prefix, style=style))

    rotation_block = _rotation_block(det, axes)
    if det.pivot is DetectorPivot.SAMPLE:
        _pivot_header(put, det, "Xclose", det.xclose_m, "Yclose", det.yclose_m)
        for name, local in (("Fclose_m", "Fclose"), ("Sclose_m", "Sclose"), ("close_distance_m", "close_distance"),
                            ("ratio", "ratio"), ("distance_m", "distance"),
                            ("term_fast_before_rot", "term_fast_before_rot"),
                            ("term_slow_before_rot", "term_slow_before_rot"),
                            ("term_close_before_rot", "term_close_before_rot")):
            put(name, pix0[local])
        _watched_pix0(put, recorded.pix0, det.pivot)
    for name, value in rotation_block:
        put(name, value)
    put("DETECTOR_FAST_AXIS", det.fdet_vec, "bare")
    put("DETECTOR_SLOW_AXIS", det.sdet_vec, "bare")
    put("DETECTOR_NORMAL_AXIS", det.odet_vec, "bare")
    if det.pivot is DetectorPivot.BEAM:
        _pivot_header(put, det, "X", det.xbeam_m, "Y", det.ybeam_m)
        for name, local in (("Rx", "rotation_x"), ("Ry", "rotation_y"), ("Rz", "rotation_z")):
            put(name, axes[local])
        # The composition of the three matrices the code applied (x first), for comparison with the C's.
        put("R_total", _compose(axes["rotation_z"], axes["rotation_y"], axes["rotation_x"]))
        for name, value in rotation_block:
            put(name, value)
        put("convention_mapping", f"{BEAM_CENTRE_RULES[det.convention].mapping},beam_vec=["
                                  f"{tracehooks.format_value(det.beam_vector)}]")
        for name, local in (("Fbeam_m", "Fbeam"), ("Sbeam_m", "Sbeam"), ("distance_m", "distance"),
                            ("term_fast", "term_fast"), ("term_slow", "term_slow"), ("term_beam", "term_beam")):
            put(name, pix0[local])
        _watched_pix0(put, recorded.pix0, det.pivot)
    put("DETECTOR_PIX0_VECTOR", recorded.pix0.result, "bare")
    return lines


def _pivot_header(put: Callable, det: Detector, x_label: str, x_m, y_label: str, y_m) -> None:
    put("detector_convention", det.convention.name)
    put("angles_rad", {"rotx": det.rotx_rad, "roty": det.roty_rad, "rotz": det.rotz_rad,
                       "twotheta": det.twotheta_rad})
    put("beam_center_m", {x_label: x_m, y_label: y_m, "pixel_mm": m_to_mm(det.pixel_size_m)})
    put("initial_fdet", det.initial_fdet)
    put("initial_sdet", det.initial_sdet)
    put("initial_odet", det.initial_odet)


def _rotation_block(det: Detector, axes: dict):
    return [(name, axes[name]) for name in ("fdet_after_rotz", "sdet_after_rotz", "odet_after_rotz")] + \
        [("twotheta_axis", det.twotheta_axis)] + \
        [(name, axes[name]) for name in ("fdet_after_twotheta", "sdet_after_twotheta", "odet_after_twotheta")]


def _watched_pix0(put: Callable, call: tracehooks.Call, pivot: DetectorPivot) -> None:
    labels = _PIX0_LABELS[pivot]
    values = [value for _, value in call.watched] + [value for _, value in call.unlabelled]
    for label, value in zip(labels, values):
        put(label, value)
    if len(values) > len(labels):
        # Only an explicit pix0 override rebinds pix0 once more.
        put("pix0_override", values[-1])


def _compose(*matrices):
    """Product of 3x3 matrices, left to right, each element summed in order."""
    result = matrices[-1]
    for matrix in reversed(matrices[:-1]):
        result = _matmul3(matrix, result)
    return result


def _matmul3(left, right):
    return torch.stack([matvec3(left, right[:, column]) for column in range(3)], dim=-1)
