"""The per-pixel block of a nanoBragg trace for one pixel, tapped from the simulator's own stages.

The pixel is rendered alone (``Simulator.render_pixels``) while each stage of the computation is
captured; the traced pixel's lines are then composed, in the C's order and with its repetitions, from the
sections of ``_pixel_specs`` (the C's names, also registered as the stages' trace specs): one block per
sensor layer and sub-pixel (for source 0, phi step 0, mosaic domain 0), a ``PHI`` line per spindle step, a
``SOURCE2`` block when there are three sources or more, then the closing lines. This module adds what the
C's order needs beyond the sections (which evaluation sees the unrotated cell, where nanoBragg skips F_cell)
and the derived tolerances of the ill-conditioned values (``_conditioning``).
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import Dict, List, NamedTuple, Optional, Tuple

import torch

import tracehooks

from ..simulator import Simulator
from ._conditioning import LatticeErrors
from ._pixel_specs import (FIRST, STAGES, Entries, cos_2theta, detector_factors, hkl_frac, lattice_factors,
                           phi_record, rotated_cell, rounded_indices, scale_factors, scale_result, scattering,
                           source_block, structure_factor, subpixel_position, unrotated_cell)

__all__ = ["PixelTrace", "tap_pixel", "trace_pixel"]


class PixelTrace(NamedTuple):
    """What tracing one pixel gives: the TRACE_PY lines, the pixel's value, and the declared tolerances of
    the traced values that are ill-conditioned at this pixel (see ``_conditioning``)."""

    lines: List[str]
    value: float
    tolerances: List[tracehooks.DeclaredTolerance]


def tap_pixel(simulator: Simulator, slow: int, fast: int, prefix: str = "TRACE_PY") -> PixelTrace:
    """Render pixel (slow, fast) alone, capturing each stage; return its trace lines, value and tolerances.

    Example:
        >>> from nanobrag_torch.config import SimulationConfig, DetectorConfig, CrystalConfig
        >>> config = SimulationConfig(detector=DetectorConfig(fpixels=8, spixels=8, oversample=1),
        ...     crystal=CrystalConfig(cell=(100, 100, 100, 90, 90, 90), Na=5, Nb=5, Nc=5, default_F=100))
        >>> traced = tap_pixel(Simulator.from_config(config), 2, 3)
        >>> traced.lines[-2] == f"TRACE_PY: I_pixel_final {tracehooks.format_value(traced.value)}"
        True
        >>> sorted({str(t.selector).split("#")[0] for t in traced.tolerances})[:3]
        ['F_latt', 'F_latt_a', 'F_latt_b']
    """
    if simulator.c_compat and simulator.crystal.interpolate:
        simulator.interpolation_cutoff()  # scans every pixel: do it before the stages are captured
    with ExitStack() as stack:
        handles = {stage.method: stack.enter_context(tracehooks.capture(stage.owner, stage.method,
                                                                        locals=[stage.bound]))
                   for stage in STAGES}
        value = simulator.render_pixels(torch.tensor([slow]), torch.tensor([fast]))
    calls = {name: handle.calls[-1] for name, handle in handles.items() if handle.calls}
    writer = _PixelWriter(simulator, calls, prefix)
    return PixelTrace(writer.lines(), float(value[0]), writer.tolerances)


def trace_pixel(simulator: Simulator, slow: int, fast: int, prefix: str = "TRACE_PY") -> Tuple[List[str], float]:
    """Render pixel (slow, fast) alone and return its trace lines and its value (see :func:`tap_pixel`).

    Example:
        >>> from nanobrag_torch.config import SimulationConfig, DetectorConfig, CrystalConfig
        >>> config = SimulationConfig(detector=DetectorConfig(fpixels=8, spixels=8, oversample=1),
        ...     crystal=CrystalConfig(cell=(100, 100, 100, 90, 90, 90), Na=5, Nb=5, Nc=5, default_F=100))
        >>> lines, value = trace_pixel(Simulator.from_config(config), 2, 3)
        >>> lines[-2] == f"TRACE_PY: I_pixel_final {tracehooks.format_value(value)}"
        True
    """
    traced = tap_pixel(simulator, slow, fast, prefix)
    return traced.lines, traced.value


class _PixelWriter:
    """Composes the sections of the captured stages of one pixel (index 0 of the batch) in the C's order,
    declaring the derived tolerances of the ill-conditioned values."""

    def __init__(self, simulator: Simulator, calls: Dict[str, tracehooks.Call], prefix: str):
        self.sim, self.calls, self.prefix = simulator, calls, prefix
        self.out: List[str] = []
        self.geometry = calls["_detector_factors"].locals
        self.beam = calls["_scattering_vectors"].locals
        self.hkl = calls["_miller_indices"].result
        self.lattice = calls["_lattice_factor"].locals
        self.F_cell = calls["_structure_factor"].result
        crystal = simulator.crystal
        self.errors = LatticeErrors.of_pixel(
            crystal.shape, (crystal.Na, crystal.Nb, crystal.Nc), self.hkl,
            (simulator.rotated_a, simulator.rotated_b, simulator.rotated_c), self.geometry["diffracted"],
            self.beam["incident"], self.beam["wavelength"])
        self.tolerances: List[tracehooks.DeclaredTolerance] = []
        self._occurrences: Dict[Tuple[str, str], int] = {}

    def put_all(self, entries: Entries, channel: str = "", tolerances: Optional[dict] = None) -> None:
        """Print a section's entries; ``tolerances`` maps a name the section prints to its tolerance."""
        tolerances = tolerances or {}
        names = {entry[0] for entry in entries}
        if not set(tolerances) <= names:
            # A tolerance keyed by a name the section no longer prints would silently go undeclared.
            raise KeyError(f"tolerances for {sorted(set(tolerances) - names)}, which the section does not print")
        for name, value, *style in entries:
            self.put(name, value, channel, *style, tolerance=tolerances.get(name))

    def put(self, name, value, channel: str = "", style: str = "space", tolerance=None) -> None:
        """Print one value; ``tolerance`` is ``(rtol, atol, reason)``, or for a record a dict field -> that."""
        prefix = f"{self.prefix}_{channel}" if channel else self.prefix
        self.out.append(tracehooks.format_line(name, value, prefix=prefix, style=style))
        # A record line (TRACE_PY_PHI k=v ...) parses as channel PHI, name "record".
        channel, selector_name = (name, "record") if style == "record" else (channel, name)
        key = (channel, selector_name)
        occurrence = self._occurrences[key] = self._occurrences.get(key, 0) + 1
        if tolerance is None:
            return
        per_field = tolerance.items() if isinstance(tolerance, dict) else [(None, tolerance)]
        for field, (rtol, atol, reason) in per_field:
            selector = tracehooks.Selector(channel, selector_name, occurrence, field)
            self.tolerances.append(tracehooks.DeclaredTolerance(
                selector, tracehooks.Tolerance(rtol=float(rtol), atol=float(atol)), reason))

    def lines(self) -> List[str]:
        layers, sub = self.geometry["diffracted"].shape[1:3]
        for layer in range(layers):
            for sub_s in range(sub):
                for sub_f in range(sub):
                    self._evaluation_block((0, layer, sub_s, sub_f))
        self._closing_block()
        return self.out

    def _evaluation_block(self, at: tuple) -> None:
        calls = self.calls
        self.put_all(subpixel_position(calls["_subpixel_positions"], at))
        self.put_all(detector_factors(calls["_detector_factors"], at))
        difference = self._difference_tolerance(self.geometry["diffracted"][at], self.beam["incident"][0])
        self.put_all(scattering(calls["_scattering_vectors"], at), tolerances={"scattering_vec_A_inv": difference})
        # Only the run's very first evaluation sees the unrotated cell (the C's phi = 0 carry-over).
        unrotated = calls.get("_first_evaluation_unrotated")
        self.put_all(unrotated_cell(unrotated) if at == FIRST and unrotated is not None
                     else rotated_cell(calls["_miller_indices"], at))
        here = at + (0, 0, 0)  # source 0, phi step 0, mosaic domain 0
        index_error = max(float(error[here]) for error in self.errors.index)
        self.put_all(hkl_frac(calls["_miller_indices"], at),
                     tolerances={"hkl_frac": (0.0, index_error, _INDEX_REASON)})
        self.put_all(rounded_indices(calls["structure_factor"], at))
        factors = lattice_factors(calls["_lattice_factor"], at)
        if factors:
            tolerances = {name: (0.0, float(error[here]), _GRATING_REASON)
                          for name, error in zip(("F_latt_a", "F_latt_b", "F_latt_c"), self.errors.factor)}
            tolerances["F_latt"] = (0.0, float(self.errors.F_latt[here]), _PRODUCT_REASON)
            self.put_all(factors, tolerances=tolerances)
            self._phi_line(at, 0)
        if self._reaches_F_cell(here):
            self.put_all(structure_factor(calls["_structure_factor"], at))
        if factors:
            for phi_tic in range(1, self.sim.crystal.phisteps):
                self._phi_line(at, phi_tic)
        if self.sim.sources >= 3 and self._reaches_F_cell(at + (2, 0, 0)):
            self._source2_block(at)

    def _reaches_F_cell(self, here: tuple) -> bool:
        """nanoBragg skips the rest of an evaluation whose lattice transform is exactly 0 (without water)."""
        return self.sim.beam.water_um != 0 or bool(self.lattice["F_latt"][here] != 0)

    def _phi_line(self, at: tuple, phi_tic: int) -> None:
        here = at + (0, phi_tic, 0)
        tolerance = {"k_frac": (0.0, float(self.errors.index[1][here]), _INDEX_REASON),
                     "F_latt_b": (0.0, float(self.errors.factor[1][here]), _GRATING_REASON),
                     "F_latt": (0.0, float(self.errors.F_latt[here]), _PRODUCT_REASON)}
        self.put_all(phi_record(self.calls["_lattice_factor"], at, phi_tic), tolerances={"PHI": tolerance})

    def _source2_block(self, at: tuple) -> None:
        here = at + (2, 0, 0)
        F_cell, F_latt = self.F_cell[here], self.lattice["F_latt"][here]
        error = float(self.errors.F_latt[here])
        tolerances = {"F_latt": (0.0, error, _PRODUCT_REASON),
                      "F_latt_squared": (0.0, 2 * abs(float(F_latt)) * error, _PRODUCT_REASON),
                      "I_contribution": (0.0, 2 * float(F_cell * F_cell * F_latt.abs()) * error, _PRODUCT_REASON)}
        self.put_all(source_block(self.calls, at, source=2), channel="SOURCE2", tolerances=tolerances)

    def _closing_block(self) -> None:
        scale = self.calls["_scale"]
        intensity_rtol = self._intensity_rtol()
        tolerances = {"I_before_scaling": (intensity_rtol, 0.0, _SUM_REASON),
                      "I_pixel_final": (intensity_rtol, 0.0, _SUM_REASON)}
        rounding = _float32_tolerance(scale.result[0], intensity_rtol)
        if rounding is not None:
            tolerances["floatimage_accumulated"] = rounding
        # The C prints cos(2 theta) between the pixel's factors and its intensity.
        self.put_all(scale_factors(scale) + cos_2theta(self.calls["_scattering_vectors"]) + scale_result(scale),
                     tolerances=tolerances)

    def _difference_tolerance(self, diffracted, incident):
        """(d - i) / lambda loses every digit the components of d and i share: its relative error is
        ``2 eps (|d_j| + |i_j|) / |d_j - i_j|`` for component j (the largest is declared)."""
        eps = torch.finfo(diffracted.dtype).eps
        difference = (diffracted - incident).abs()
        spread = (diffracted.abs() + incident.abs())[difference > 0]
        if spread.numel() == 0:
            return None
        return float((2 * eps * spread / difference[difference > 0]).max()), 0.0, _DIFFERENCE_REASON

    def _intensity_rtol(self) -> float:
        """Relative bound of a positive sum of F_cell^2 F_latt^2 terms: the terms' relative errors
        ``2 dF/|F|`` averaged with the terms' weights (sources may be weighted; the other per-term factors —
        solid angle, polarization, capture — change by far less than a percent across one pixel)."""
        F_latt, F_cell = self.lattice["F_latt"][0], self.F_cell[0]
        weight = F_cell * F_cell
        source_weights = self.sim._source_weights()
        if source_weights is not None:
            weight = weight * source_weights[:, None, None]
        total = (weight * F_latt * F_latt).sum()
        if float(total) == 0.0:
            return 0.0
        return float((weight * 2 * F_latt.abs() * self.errors.F_latt[0]).sum() / total)


_INDEX_REASON = "Miller index a.(d - i)/lambda: a few roundings of each term, 4 eps sum |a_j|(|d_j| + |i_j|)/lambda"
_GRATING_REASON = "sin(N pi h)/sin(pi h) near a node: argument error times |N cos(N x)/sin x| + |F cot x|"
_PRODUCT_REASON = "product of the grating factors: their error bounds propagated"
_DIFFERENCE_REASON = "(d - i)/lambda: difference of near-equal unit-vector components, 2 eps (|d|+|i|)/|d-i|"
_SUM_REASON = "positive sum of F_cell^2 F_latt^2 terms: the terms' bounds 2 dF/|F|, weighted as the sum"
_ROUNDING_REASON = "float32 rounding of I_pixel_final, whose own bound straddles a float32 rounding boundary"


def _float32_tolerance(value: torch.Tensor, rtol: float) -> Optional[tuple]:
    """The float32 image value may round the other way only if the float64 value's bound contains a float32
    rounding boundary; then one float32 ulp is allowed, else nothing beyond the default."""
    lower = (value * (1 - rtol)).to(torch.float32)
    upper = (value * (1 + rtol)).to(torch.float32)
    if bool(lower == upper):
        return None
    return 0.0, float((upper.double() - lower.double()).abs()), _ROUNDING_REASON
