"""nanoBragg's detector conventions: a table of lab-frame axes plus thin beam-centre adapters.

A convention fixes the lab-frame directions of the beam, the detector's fast/slow/normal axes, the
two-theta axis, the polarization axis and the spindle, and says how the user's beam centre
(``-Xbeam``/``-Ybeam``, in mm) maps onto the detector's fast/slow coordinates. Everything else about the
geometry is shared by all conventions (see ``Detector``).

Example:
    >>> CONVENTION_AXES[DetectorConvention.MOSFLM].fdet
    (0.0, 0.0, 1.0)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, Tuple

from ..config import DetectorConvention

Vec = Tuple[float, float, float]

__all__ = ["BEAM_CENTRE_RULES", "BeamCentreRule", "CONVENTION_AXES", "ConventionAxes"]


@dataclass(frozen=True)
class ConventionAxes:
    """Unrotated lab-frame axes of one convention."""

    beam: Vec
    fdet: Vec
    sdet: Vec
    odet: Vec
    twotheta_axis: Vec
    polarization: Vec
    spindle: Vec


CONVENTION_AXES: Dict[DetectorConvention, ConventionAxes] = {
    DetectorConvention.ADXV: ConventionAxes(
        beam=(0.0, 0.0, 1.0), fdet=(1.0, 0.0, 0.0), sdet=(0.0, -1.0, 0.0), odet=(0.0, 0.0, 1.0),
        twotheta_axis=(-1.0, 0.0, 0.0), polarization=(1.0, 0.0, 0.0), spindle=(1.0, 0.0, 0.0)),
    DetectorConvention.MOSFLM: ConventionAxes(
        beam=(1.0, 0.0, 0.0), fdet=(0.0, 0.0, 1.0), sdet=(0.0, -1.0, 0.0), odet=(1.0, 0.0, 0.0),
        twotheta_axis=(0.0, 0.0, -1.0), polarization=(0.0, 0.0, 1.0), spindle=(0.0, 0.0, 1.0)),
    DetectorConvention.DENZO: ConventionAxes(
        beam=(1.0, 0.0, 0.0), fdet=(0.0, 0.0, 1.0), sdet=(0.0, -1.0, 0.0), odet=(1.0, 0.0, 0.0),
        twotheta_axis=(0.0, 0.0, -1.0), polarization=(0.0, 0.0, 1.0), spindle=(0.0, 0.0, 1.0)),
    DetectorConvention.XDS: ConventionAxes(
        beam=(0.0, 0.0, 1.0), fdet=(1.0, 0.0, 0.0), sdet=(0.0, 1.0, 0.0), odet=(0.0, 0.0, 1.0),
        twotheta_axis=(1.0, 0.0, 0.0), polarization=(1.0, 0.0, 0.0), spindle=(1.0, 0.0, 0.0)),
    DetectorConvention.DIALS: ConventionAxes(
        beam=(0.0, 0.0, 1.0), fdet=(1.0, 0.0, 0.0), sdet=(0.0, 1.0, 0.0), odet=(0.0, 0.0, 1.0),
        twotheta_axis=(0.0, 1.0, 0.0), polarization=(0.0, 1.0, 0.0), spindle=(0.0, 1.0, 0.0)),
    # CUSTOM starts from nanoBragg's built-in defaults; the user's vectors replace any of them.
    DetectorConvention.CUSTOM: ConventionAxes(
        beam=(1.0, 0.0, 0.0), fdet=(0.0, 0.0, 1.0), sdet=(0.0, -1.0, 0.0), odet=(1.0, 0.0, 0.0),
        twotheta_axis=(0.0, 1.0, 0.0), polarization=(0.0, 0.0, 1.0), spindle=(0.0, 0.0, 1.0)),
}


@dataclass(frozen=True)
class BeamCentreRule:
    """How one convention turns ``-Xbeam``/``-Ybeam`` (metres) into the beam's fast/slow position.

    ``default_x``/``default_y`` take (detsize_f, detsize_s, pixel_size, xclose, yclose) and give the centre
    used when the user gave none; ``fast``/``slow`` take (xbeam, ybeam, detsize_s, pixel_size).
    ``beam_is_near_point``: the beam centre also defines the SAMPLE-pivot near point (CUSTOM only).
    ``mapping`` says the same in words (traces print it as ``convention_mapping``).
    """

    default_x: Callable
    default_y: Callable
    fast: Callable
    slow: Callable
    mapping: str
    beam_is_near_point: bool = False


def _half_plus_pixel(size, pixel):
    return (size + pixel) / 2.0


BEAM_CENTRE_RULES: Dict[DetectorConvention, BeamCentreRule] = {
    # ADXV: origin at the first pixel's corner, y measured from the far edge.
    DetectorConvention.ADXV: BeamCentreRule(
        default_x=lambda f, s, px, xc, yc: _half_plus_pixel(f, px),
        default_y=lambda f, s, px, xc, yc: (s - px) / 2.0,
        fast=lambda x, y, s, px: x,
        slow=lambda x, y, s, px: s - y,
        mapping="Fbeam←Xbeam_mm,Sbeam←detsize_s-Ybeam_mm"),
    # MOSFLM: x runs along slow, y along fast, both offset by half a pixel.
    DetectorConvention.MOSFLM: BeamCentreRule(
        default_x=lambda f, s, px, xc, yc: _half_plus_pixel(s, px),
        default_y=lambda f, s, px, xc, yc: _half_plus_pixel(f, px),
        fast=lambda x, y, s, px: y + 0.5 * px,
        slow=lambda x, y, s, px: x + 0.5 * px,
        mapping="Fbeam←Ybeam_mm(+0.5px),Sbeam←Xbeam_mm(+0.5px)"),
    # DENZO: MOSFLM's axes without the half-pixel offset.
    DetectorConvention.DENZO: BeamCentreRule(
        default_x=lambda f, s, px, xc, yc: _half_plus_pixel(s, px),
        default_y=lambda f, s, px, xc, yc: _half_plus_pixel(f, px),
        fast=lambda x, y, s, px: y + 0.0 * px,
        slow=lambda x, y, s, px: x + 0.0 * px,
        mapping="Fbeam←Ybeam_mm,Sbeam←Xbeam_mm"),
    DetectorConvention.XDS: BeamCentreRule(
        default_x=lambda f, s, px, xc, yc: xc,
        default_y=lambda f, s, px, xc, yc: yc,
        fast=lambda x, y, s, px: x,
        slow=lambda x, y, s, px: y,
        mapping="Fbeam←Xbeam_mm,Sbeam←Ybeam_mm"),
    DetectorConvention.DIALS: BeamCentreRule(
        default_x=lambda f, s, px, xc, yc: xc,
        default_y=lambda f, s, px, xc, yc: yc,
        fast=lambda x, y, s, px: x,
        slow=lambda x, y, s, px: y,
        mapping="Fbeam←Xbeam_mm,Sbeam←Ybeam_mm"),
    DetectorConvention.CUSTOM: BeamCentreRule(
        default_x=lambda f, s, px, xc, yc: xc,
        default_y=lambda f, s, px, xc, yc: yc,
        fast=lambda x, y, s, px: x,
        slow=lambda x, y, s, px: y,
        mapping="Fbeam←Xbeam_mm,Sbeam←Ybeam_mm",
        beam_is_near_point=True),
}
