"""The C's names for the detector's computations: the one home of the detector block's TRACE names.

Each section below turns one recorded call of ``Detector._rotate_axes`` or
``Detector._calculate_pix0_vector`` (a ``tracehooks.Call`` with its final locals) into ``(name, value)``
or ``(name, value, style)`` entries named as nanoBragg's detector block names them. ``register()`` registers
the two trace specs built from them, so that a bare ``tracehooks.trace(Detector, "_calculate_pix0_vector")``
prints that call's lines of the C's detector block; ``_detector.detector_block`` interleaves the same
sections in the C's order for a whole trace. ``register()`` is the ``tracehooks.specs`` entry point: it also
registers the specs of the simulator's stages (the pixel block's names, in ``_pixel_specs``). Every value is
one the detector computed (its locals, its attributes, its result): nothing is re-derived from the
configuration.

Example:
    >>> import tracehooks
    >>> from nanobrag_torch.config import DetectorConfig
    >>> undo = register()
    >>> with tracehooks.trace(Detector, "_calculate_pix0_vector", sink=print):
    ...     _ = Detector(DetectorConfig(fpixels=8, spixels=8))
    TRACE_PY:detector_convention=MOSFLM
    ...
    DETECTOR_PIX0_VECTOR 0.1 0.0005 -0.0005
    >>> undo()
"""

from __future__ import annotations

from typing import Any, Callable, List, Tuple

import torch

import tracehooks

from ..config import DetectorPivot
from ..geometry import matvec3
from ..models.conventions import BEAM_CENTRE_RULES
from ..models.detector import Detector
from ..units import m_to_mm
from ._pixel_specs import register as register_stages

__all__ = ["AXES_SPEC", "PIX0_SPEC", "axes_final", "axes_matrices", "axes_rotated", "pix0_header",
           "pix0_result", "pix0_terms", "register"]

Entries = List[Tuple[Any, ...]]

# Labels of the successive values of pix0 in each pivot, as the C names them.
_PIX0_LABELS = {
    DetectorPivot.SAMPLE: ("pix0_before_rotation", "pix0_after_rotz", "pix0_after_twotheta"),
    DetectorPivot.BEAM: ("pix0_vector",),
}
# C name -> local of _calculate_pix0_vector, per pivot.
_PIX0_LOCALS = {
    DetectorPivot.SAMPLE: (("Fclose_m", "Fclose"), ("Sclose_m", "Sclose"), ("close_distance_m", "close_distance"),
                           ("ratio", "ratio"), ("distance_m", "distance"),
                           ("term_fast_before_rot", "term_fast_before_rot"),
                           ("term_slow_before_rot", "term_slow_before_rot"),
                           ("term_close_before_rot", "term_close_before_rot")),
    DetectorPivot.BEAM: (("Fbeam_m", "Fbeam"), ("Sbeam_m", "Sbeam"), ("distance_m", "distance"),
                         ("term_fast", "term_fast"), ("term_slow", "term_slow"), ("term_beam", "term_beam")),
}
_ROTATED = (("fdet_after_rotz", "sdet_after_rotz", "odet_after_rotz"),
            ("fdet_after_twotheta", "sdet_after_twotheta", "odet_after_twotheta"))


def pix0_header(call: tracehooks.Call) -> Entries:
    """The pivot's header: convention, angles, beam centre, initial axes (the detector's attributes)."""
    det = call.instance
    if det.pivot is DetectorPivot.SAMPLE:
        centre = {"Xclose": det.xclose_m, "Yclose": det.yclose_m}
    else:
        centre = {"X": det.xbeam_m, "Y": det.ybeam_m}
    return [("detector_convention", det.convention.name),
            ("angles_rad", {"rotx": det.rotx_rad, "roty": det.roty_rad, "rotz": det.rotz_rad,
                            "twotheta": det.twotheta_rad}),
            ("beam_center_m", {**centre, "pixel_mm": m_to_mm(det.pixel_size_m)}),
            ("initial_fdet", det.initial_fdet), ("initial_sdet", det.initial_sdet),
            ("initial_odet", det.initial_odet)]


def pix0_terms(call: tracehooks.Call) -> Entries:
    """The pivot's terms (locals at return) and the successive values of ``pix0`` (BEAM: after the mapping)."""
    det = call.instance
    entries: Entries = []
    if det.pivot is DetectorPivot.BEAM:
        entries.append(("convention_mapping", f"{BEAM_CENTRE_RULES[det.convention].mapping},beam_vec=["
                                              f"{tracehooks.format_value(det.beam_vector)}]"))
    entries += [(name, call.locals[local]) for name, local in _PIX0_LOCALS[det.pivot]]
    labels = _PIX0_LABELS[det.pivot]
    values = [value for _, value in call.watched] + [value for _, value in call.unlabelled]
    entries += list(zip(labels, values))
    if len(values) > len(labels):
        # Only an explicit pix0 override rebinds pix0 once more.
        entries.append(("pix0_override", values[-1]))
    return entries


def pix0_result(call: tracehooks.Call) -> Entries:
    """The vector the computation returned."""
    return [("DETECTOR_PIX0_VECTOR", call.result, "bare")]


def axes_rotated(call: tracehooks.Call) -> Entries:
    """The axes after rotx/roty/rotz, the two-theta axis, the axes after two-theta (locals at return)."""
    after_rotz, after_twotheta = _ROTATED
    return [(name, call.locals[name]) for name in after_rotz] + \
        [("twotheta_axis", call.instance.twotheta_axis)] + \
        [(name, call.locals[name]) for name in after_twotheta]


def axes_final(call: tracehooks.Call) -> Entries:
    """The detector's fast, slow and normal axes: the result."""
    fast, slow, normal = call.result
    return [("DETECTOR_FAST_AXIS", fast, "bare"), ("DETECTOR_SLOW_AXIS", slow, "bare"),
            ("DETECTOR_NORMAL_AXIS", normal, "bare")]


def axes_matrices(call: tracehooks.Call) -> Entries:
    """Rx, Ry, Rz and their composition (x first), as the BEAM pivot's block prints them."""
    axes = call.locals
    return [("Rx", axes["rotation_x"]), ("Ry", axes["rotation_y"]), ("Rz", axes["rotation_z"]),
            ("R_total", _compose(axes["rotation_z"], axes["rotation_y"], axes["rotation_x"]))]


def _pix0_block(call: tracehooks.Call) -> Entries:
    return pix0_header(call) + pix0_terms(call) + pix0_result(call)


def _axes_block(call: tracehooks.Call) -> Entries:
    # The C's BEAM pivot prints the matrices, then the rotated axes once more.
    beam = axes_matrices(call) + axes_rotated(call) if call.instance.pivot is DetectorPivot.BEAM else []
    return axes_rotated(call) + axes_final(call) + beam


# watch={"pix0": ()}: each value of pix0 is recorded (Call.unlabelled), and printed by the block in order.
PIX0_SPEC = tracehooks.TraceSpec(watch={"pix0": ()}, block=_pix0_block, style="equals", origin=__name__)
# A block reads the call's final locals; it prints what the C names.
AXES_SPEC = tracehooks.TraceSpec(block=_axes_block, style="equals", origin=__name__)


def register() -> Callable[[], None]:
    """Register the detector's trace specs and the simulator stages' (``_pixel_specs.STAGES``): the
    ``tracehooks.specs`` entry point. Returns their undo."""
    undos = [tracehooks.register_spec(Detector, "_calculate_pix0_vector", PIX0_SPEC),
             tracehooks.register_spec(Detector, "_rotate_axes", AXES_SPEC), register_stages()]

    def undo() -> None:
        for each in undos:
            each()

    return undo


def _compose(*matrices):
    """Product of 3x3 matrices, left to right, each element summed in order."""
    result = matrices[-1]
    for matrix in reversed(matrices[:-1]):
        result = _matmul3(matrix, result)
    return result


def _matmul3(left, right):
    return torch.stack([matvec3(left, right[:, column]) for column in range(3)], dim=-1)
