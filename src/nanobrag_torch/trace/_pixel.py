"""The per-pixel block of a nanoBragg trace for one pixel, tapped from the simulator's own stages.

The pixel is rendered alone (``Simulator.render_pixels``) while each stage of the computation is
captured; the values of the traced pixel are then printed with the C's names, in its order and with its
repetitions: one block per sensor layer and sub-pixel (for source 0, phi step 0, mosaic domain 0), a
``PHI`` line per spindle step, a ``SOURCE2`` block when there are three sources or more, then the closing
lines. A few printed values are unit conversions or combinations of captured values (``lambda_angstroms``,
``scattering_vec_A_inv`` in 1/Angstrom, the rotated reciprocal vectors ``(b x c)/V`` of the rotated real
vectors, ``cos_2theta``); none is recomputed from the configuration.
"""

from __future__ import annotations

import math
from contextlib import ExitStack
from typing import Dict, List, NamedTuple, Optional, Tuple

import torch

import tracehooks

from ..geometry import dot3
from ..models.crystal import Crystal
from ..physics import R_E_SQR
from ..simulator import Simulator
from ..units import rad_to_deg
from ._conditioning import LatticeErrors

__all__ = ["PixelTrace", "tap_pixel", "trace_pixel"]

# (owner, method, one local that is always bound at return)
_STAGES = (
    (Simulator, "_subpixel_positions", "pixel_pos"),
    (Simulator, "_detector_factors", "airpath"),
    (Simulator, "_scattering_vectors", "scattering"),
    (Simulator, "_polarization", "shape"),
    (Simulator, "_miller_indices", "rot_a"),
    (Simulator, "_first_evaluation_unrotated", "unrotated"),
    (Simulator, "_lattice_factor", "F_latt"),
    (Crystal, "structure_factor", "h0"),
    (Simulator, "_structure_factor", "F_cell"),
    (Simulator, "_scale", "I_pixel_final"),
)


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
        handles = {name: stack.enter_context(tracehooks.capture(owner, name, locals=[always]))
                   for owner, name, always in _STAGES}
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
    """Formats the captured stages of one pixel (index 0 of the batch) in the C's order."""

    def __init__(self, simulator: Simulator, calls: Dict[str, tracehooks.Call], prefix: str):
        self.sim, self.calls, self.prefix = simulator, calls, prefix
        self.out: List[str] = []
        self.geometry = calls["_detector_factors"].locals
        self.beam = calls["_scattering_vectors"].locals
        self.polar = calls["_polarization"].result
        self.hkl = calls["_miller_indices"].result
        self.rotated = calls["_miller_indices"].locals
        self.lattice = calls["_lattice_factor"].locals
        self.rounded = calls["structure_factor"].locals
        self.F_cell = calls["_structure_factor"].result
        self.scale = calls["_scale"].locals
        self.unrotated = calls["_first_evaluation_unrotated"].locals["unrotated"] \
            if "_first_evaluation_unrotated" in calls else None
        crystal = simulator.crystal
        self.errors = LatticeErrors.of_pixel(
            crystal.shape, (crystal.Na, crystal.Nb, crystal.Nc), self.hkl,
            (simulator.rotated_a, simulator.rotated_b, simulator.rotated_c), self.geometry["diffracted"],
            self.beam["incident"], self.beam["wavelength"])
        self.tolerances: List[tracehooks.DeclaredTolerance] = []
        self._occurrences: Dict[Tuple[str, str], int] = {}

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
        det = self.sim.detector
        self.put("pix0_vector_meters", det.pix0_vector)
        self.put("fdet_vec", det.fdet_vec)
        self.put("sdet_vec", det.sdet_vec)
        self.put("pixel_pos_meters", self.calls["_subpixel_positions"].locals["pixel_pos"][at])
        airpath = self.geometry["airpath"][at]
        self.put("R_distance_meters", airpath)
        self.put("omega_pixel_sr", self.geometry["omega_pixel"][at])
        self.put("close_distance_meters", det.close_distance_m)
        self.put("obliquity_factor", det.close_distance_m / airpath)
        self.put("diffracted_vec", self.geometry["diffracted"][at])
        self.put("incident_vec", self.beam["incident"][0])
        self.put("lambda_meters", self.beam["wavelength"][0])
        self.put("lambda_angstroms", self.beam["wavelength"][0] * 1e10)
        self.put("scattering_vec_A_inv", self.beam["scattering"][at + (0,)] / 1e10,
                 tolerance=self._difference_tolerance(self.geometry["diffracted"][at], self.beam["incident"][0]))
        self._cell_lines(first_evaluation=at == (0, 0, 0, 0) and self.unrotated is not None)
        here = at + (0, 0, 0)  # source 0, phi step 0, mosaic domain 0
        index_error = max(float(error[here]) for error in self.errors.index)
        self.put("hkl_frac", torch.stack([index[here] for index in self.hkl]),
                 tolerance=(0.0, index_error, _INDEX_REASON))
        self.put("hkl_rounded", torch.stack([self.rounded[n][here] for n in ("h0", "k0", "l0")]).to(torch.long))
        parts = self.lattice["F_latt_abc"]
        if parts is not None:
            for name, part, error in zip(("F_latt_a", "F_latt_b", "F_latt_c"), parts, self.errors.factor):
                self.put(name, part[here], tolerance=(0.0, float(error[here]), _GRATING_REASON))
            self.put("F_latt", self.lattice["F_latt"][here],
                     tolerance=(0.0, float(self.errors.F_latt[here]), _PRODUCT_REASON))
            self._phi_line(at, 0)
        if self._reaches_F_cell(here):
            self.put("F_cell", self.F_cell[here])
        if parts is not None:
            for phi_tic in range(1, self.sim.crystal.phisteps):
                self._phi_line(at, phi_tic)
        if self.sim.sources >= 3 and self._reaches_F_cell(at + (2, 0, 0)):
            self._source2_block(at)

    def _reaches_F_cell(self, here: tuple) -> bool:
        """nanoBragg skips the rest of an evaluation whose lattice transform is exactly 0 (without water)."""
        return self.sim.beam.water_um != 0 or bool(self.lattice["F_latt"][here] != 0)

    def _cell_lines(self, first_evaluation: bool) -> None:
        vectors = self.unrotated if first_evaluation else \
            tuple(self.rotated[name] for name in ("rot_a", "rot_b", "rot_c"))
        for name, vector in zip(("rot_a_angstroms", "rot_b_angstroms", "rot_c_angstroms"), vectors):
            self.put(name, vector[0, 0] * 1e10)
        # The reciprocal vectors turned like the real ones were at this step (phi step 0, domain 0).
        crystal = self.sim.crystal
        phi = torch.zeros(1, dtype=crystal.dtype) if first_evaluation else self.sim.phi_steps_rad()[:1]
        for name, vector in zip(("rot_a_star_A_inv", "rot_b_star_A_inv", "rot_c_star_A_inv"),
                                (crystal.a_star, crystal.b_star, crystal.c_star)):
            self.put(name, crystal.rotate(vector, phi)[0, 0])

    def _phi_line(self, at: tuple, phi_tic: int) -> None:
        here = at + (0, phi_tic, 0)
        phi_deg = rad_to_deg(self.sim.crystal.phi_angles_rad[phi_tic])
        tolerance = {"k_frac": (0.0, float(self.errors.index[1][here]), _INDEX_REASON),
                     "F_latt_b": (0.0, float(self.errors.factor[1][here]), _GRATING_REASON),
                     "F_latt": (0.0, float(self.errors.F_latt[here]), _PRODUCT_REASON)}
        self.put("PHI", {"phi_tic": phi_tic, "phi_deg": phi_deg, "k_frac": self.hkl[1][here],
                         "F_latt_b": self.lattice["F_latt_abc"][1][here],
                         "F_latt": self.lattice["F_latt"][here]}, style="record", tolerance=tolerance)

    def _source2_block(self, at: tuple) -> None:
        here = at + (2, 0, 0)
        F_cell, F_latt = self.F_cell[here], self.lattice["F_latt"][here]
        error = float(self.errors.F_latt[here])
        tolerances = {"F_latt": (0.0, error, _PRODUCT_REASON),
                      "F_latt_squared": (0.0, 2 * abs(float(F_latt)) * error, _PRODUCT_REASON),
                      "I_contribution": (0.0, 2 * float(F_cell * F_cell * F_latt.abs()) * error, _PRODUCT_REASON)}
        for name, value in (("F_cell", F_cell), ("F_latt", F_latt), ("F_cell_squared", F_cell * F_cell),
                            ("F_latt_squared", F_latt * F_latt),
                            ("I_contribution", F_cell * F_cell * F_latt * F_latt),
                            ("polar", self.polar[at + (2,)]),
                            ("cos2theta", dot3(self.beam["incident"][2], self.geometry["diffracted"][at])),
                            ("lambda_angstroms", self.beam["wavelength"][2] * 1e10), ("source_index", 2)):
            self.put(name, value, channel="SOURCE2", tolerance=tolerances.get(name))

    def _closing_block(self) -> None:
        scale, config = self.scale, self.sim.detector.config
        intensity_rtol = self._intensity_rtol()
        self.put("I_before_scaling", scale["I_before_scaling"][0], tolerance=(intensity_rtol, 0.0, _SUM_REASON))
        self.put("r_e_meters", math.sqrt(R_E_SQR))
        self.put("r_e_sqr", R_E_SQR)
        self.put("fluence_photons_per_m2", self.sim.beam.fluence)
        self.put("steps", scale["steps"])
        for name in ("oversample_thick", "oversample_polar", "oversample_omega"):
            self.put(name, int(getattr(config, name)))
        self.put("capture_fraction", scale["capture_fraction"][0])
        self.put("polar", scale["polar"][0])
        self.put("omega_pixel", scale["omega_pixel"][0])
        self.put("cos_2theta", dot3(self.beam["incident"][-1], self.geometry["diffracted"][0, -1, -1, -1]))
        I_pixel_final = scale["I_pixel_final"][0]
        self.put("I_pixel_final", I_pixel_final, tolerance=(intensity_rtol, 0.0, _SUM_REASON))
        self.put("floatimage_accumulated", I_pixel_final.to(torch.float32),
                 tolerance=_float32_tolerance(I_pixel_final, intensity_rtol))

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
