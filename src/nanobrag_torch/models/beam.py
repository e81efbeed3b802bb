"""Incident beam: wavelength, fluence, polarization and the list of sources (divergence x dispersion).

The sources follow nanoBragg: a ``-sourcefile`` gives them directly (missing fields defaulted as in the
C); otherwise a grid of divergence angles (horizontal about the vertical axis, vertical about the
polarization axis) is cut to an ellipse unless ``round_div`` is off, and every kept direction is combined
with every wavelength of the dispersion sweep. Each source sits 10 m up-beam; only its direction matters
(``incident_unit`` is the C's ``-unit(source)``). The step/range/count rules and their sanity checks are
the C's, including its quirks (a range with a step size gives ``ceil(range/step)`` points, which is not a
symmetric grid).

Example:
    >>> import torch
    >>> from nanobrag_torch.config import BeamConfig
    >>> beam = Beam(BeamConfig(wavelength_A=1.0, hdivrange_mrad=2, vdivrange_mrad=2, hdivsteps=3, vdivsteps=3),
    ...             direction=torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64),
    ...             polarization_axis_default=(0.0, 0.0, 1.0))
    >>> beam.divsteps, beam.incident_unit.shape, float(beam.source_weights.sum())
    (5, torch.Size([5, 3]), 1.0)
"""

from __future__ import annotations

import math
from typing import List, Optional, Tuple

import torch

from .. import units
from .._c_numbers import c_div
from ..config import BeamConfig
from ..geometry import cross3, rotate_axis, unitize
from ..physics import R_E_SQR

__all__ = ["Beam"]

# Distance of the generated sources from the sample (m); the C's source_distance.
_SOURCE_DISTANCE_M = 10.0
# Water background: forward scattering factor of water, molar mass (g/mol) and Avogadro's number, with
# nanoBragg's literals.
_WATER_F = 2.57
_WATER_MW = 18.0
_AVOGADRO = 6.02214179e23


class Beam:
    """The incident beam and its sources.

    Tensors (``dtype`` on ``device``): ``wavelength_m`` (lambda0), ``direction`` (unit, towards the
    sample's far side), ``polarization_axis``, ``vertical_axis`` (unit(direction x polarization)),
    ``source_positions_m`` (S, 3, before unitising), ``incident_unit`` (S, 3), ``source_wavelengths_m``
    (S,), ``source_weights`` (S,). Numbers: ``fluence`` (photons/m^2), ``flux``, ``kahn_factor``,
    ``nopolar``, ``water_um``, the resolved ``hdivrange_rad``/``hdivstep_rad``/``hdivsteps``, ``vdiv*``
    likewise, ``dispersion`` (fraction), ``dispstep``, ``dispsteps``, ``round_div``, ``divsteps``
    (directions kept by the elliptical cut) and ``divergence_rad`` (their (hdiv, vdiv) pairs, in order).

    Example:
        >>> from nanobrag_torch.config import BeamConfig
        >>> beam = Beam(BeamConfig(wavelength_A=1.0, dispersion_percent=2.0, dispsteps=3),
        ...             direction=torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64),
        ...             polarization_axis_default=(0.0, 0.0, 1.0))
        >>> ["%.3g" % x for x in beam.source_wavelengths_m.tolist()], [x + 0.0 for x in beam.incident_unit[0].tolist()]
        (['9.9e-11', '1e-10', '1.01e-10'], [1.0, 0.0, 0.0])
    """

    def __init__(self, config: BeamConfig, *, direction, polarization_axis_default,
                 device: Optional[torch.device] = None, dtype: torch.dtype = torch.float64):
        self.config = config
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.dtype = dtype
        self.wavelength_m = units.angstrom_to_m(self._tensor(config.wavelength_A))
        self.direction = self._tensor(direction)
        self._read_dose(config)
        self.water_um = float(config.water_um)
        self.kahn_factor = float(config.kahn_factor)
        self.nopolar = bool(config.nopolar)
        axis = config.polarization_axis if config.polarization_axis is not None else polarization_axis_default
        self.polarization_axis, _ = unitize(self._tensor(axis))
        self.vertical_axis, _ = unitize(cross3(self.direction, self.polarization_axis))
        self._resolve_sampling(config)
        if config.source_points is not None:
            self._sources_from_file(config)
        else:
            self._sources_from_grid()
        self.incident_unit = -unitize(self.source_positions_m)[0]

    def _tensor(self, value) -> torch.Tensor:
        return torch.as_tensor(value, dtype=self.dtype, device=self.device)

    def _read_dose(self, config: BeamConfig) -> None:
        """Fluence (photons/m^2), from flux x exposure / beamsize^2 when a flux is given."""
        flux, exposure = float(config.flux), float(config.exposure_s)
        beamsize = units.mm_to_m(float(config.beamsize_mm))
        fluence = float(config.fluence)
        if flux != 0.0 and exposure > 0.0 and beamsize >= 0:
            if beamsize == 0:
                raise ValueError(f"BeamConfig: flux {flux:g} photons/s needs a positive beamsize_mm to give a "
                                 f"fluence, got {config.beamsize_mm!r}")
            fluence = flux * exposure / beamsize / beamsize
        if exposure > 0.0:
            # nanoBragg makes the flux consistent with the fluence it ends up using.
            flux = fluence / exposure * beamsize * beamsize
        self.fluence, self.flux, self.beamsize_m, self.exposure_s = fluence, flux, beamsize, exposure

    def _resolve_sampling(self, config: BeamConfig) -> None:
        """The C's divergence and dispersion defaults and sanity checks (-1 marks "not given")."""
        mrad = lambda v: units.mrad_to_rad(float(v)) if v is not None else -1.0
        count = lambda v: int(v) if v is not None else -1
        self.hdivsteps, self.hdivrange_rad, self.hdivstep_rad = _resolve_sweep(
            count(config.hdivsteps), mrad(config.hdivrange_mrad), mrad(config.hdivstep_mrad))
        self.vdivsteps, self.vdivrange_rad, self.vdivstep_rad = _resolve_sweep(
            count(config.vdivsteps), mrad(config.vdivrange_mrad), mrad(config.vdivstep_mrad))
        # Unlike the divergence, an absent dispersion is 0 (a given range), and its step is never given.
        dispersion = units.percent_to_fraction(float(config.dispersion_percent)) \
            if config.dispersion_percent is not None else 0.0
        self.dispsteps, self.dispersion, self.dispstep = _resolve_sweep(
            count(config.dispsteps), dispersion, -1.0)
        self.round_div = bool(config.round_div)

    def _divergence_grid(self) -> List[Tuple[float, float]]:
        """(hdiv, vdiv) of every grid point the elliptical cut keeps, h outer, v inner."""
        kept = []
        for h_tic in range(self.hdivsteps):
            for v_tic in range(self.vdivsteps):
                hdiv = self.hdivstep_rad * h_tic - self.hdivrange_rad / 2.0
                vdiv = self.vdivstep_rad * v_tic - self.vdivrange_rad / 2.0
                if self.round_div and _outside_ellipse(hdiv, self.hdivstep_rad, self.hdivsteps, self.hdivrange_rad,
                                                       vdiv, self.vdivstep_rad, self.vdivsteps, self.vdivrange_rad):
                    continue
                kept.append((hdiv, vdiv))
        return kept

    def _sources_from_grid(self) -> None:
        kept = self._divergence_grid()
        self.divsteps = len(kept)
        self.divergence_rad = self._tensor(kept).reshape(-1, 2)
        start = -_SOURCE_DISTANCE_M * self.direction
        vdiv = self.divergence_rad[:, 1]
        hdiv = self.divergence_rad[:, 0]
        tilted = rotate_axis(start.expand(len(kept), 3), self.polarization_axis, vdiv)
        directions = rotate_axis(tilted, self.vertical_axis, hdiv)
        factors = self._tensor([1.0 + self.dispstep * tic - self.dispersion / 2.0 for tic in range(self.dispsteps)])
        sources = len(kept) * self.dispsteps
        self.source_positions_m = directions.repeat_interleave(self.dispsteps, dim=0)
        self.source_wavelengths_m = (self.wavelength_m * factors).repeat(len(kept))
        weight = 1.0 / sources if sources else 0.0
        self.source_weights = torch.full((sources,), weight, dtype=self.dtype, device=self.device)

    def _sources_from_file(self, config: BeamConfig) -> None:
        """Sources as listed; a missing position component is the default source's (10 m up-beam), a
        missing weight is 1 and a missing wavelength is lambda0, as in the C."""
        if len(config.source_points) == 0:
            raise ValueError("BeamConfig.source_points is empty; give at least one source, or None for the "
                             "divergence/dispersion grid")
        default_position = -_SOURCE_DISTANCE_M * self.direction
        positions, weights, wavelengths = [], [], []
        for point in config.source_points:
            given = (point.x_m, point.y_m, point.z_m)
            positions.append(torch.stack([self._tensor(v) if v is not None else default_position[i]
                                          for i, v in enumerate(given)]))
            weights.append(1.0 if point.weight is None else float(point.weight))
            wavelengths.append(self.wavelength_m if point.wavelength_m is None else self._tensor(point.wavelength_m))
        self.source_positions_m = torch.stack(positions)
        self.source_weights = self._tensor(weights)
        self.source_wavelengths_m = torch.stack(wavelengths)
        self.divsteps = 0
        self.divergence_rad = torch.zeros((0, 2), dtype=self.dtype, device=self.device)

    @property
    def n_sources(self) -> int:
        """Number of sources.

        Example:
            >>> from nanobrag_torch.config import BeamConfig
            >>> Beam(BeamConfig(), direction=torch.tensor([1.0, 0, 0], dtype=torch.float64),
            ...      polarization_axis_default=(0.0, 0.0, 1.0)).n_sources
            1
        """
        return int(self.source_wavelengths_m.shape[0])

    def water_background_per_sr(self) -> torch.Tensor:
        """nanoBragg's ``I_bg``: forward scattering of a water layer ``water_um`` thick (the value the C
        starts every pixel's sum with, before the r_e^2 x fluence / steps scaling).

        Example:
            >>> from nanobrag_torch.config import BeamConfig
            >>> beam = Beam(BeamConfig(water_um=0.0), direction=torch.tensor([1.0, 0, 0], dtype=torch.float64),
            ...             polarization_axis_default=(0.0, 0.0, 1.0))
            >>> float(beam.water_background_per_sr())
            0.0
        """
        size = units.water_um_to_m(self.water_um)
        value = _WATER_F * _WATER_F * R_E_SQR * self.fluence * size * size * size * 1e6 * _AVOGADRO / _WATER_MW
        return self._tensor(value)


def _resolve_sweep(steps: int, span: float, step: float):
    """nanoBragg's rule for one sampled range: (steps, range, step) from whichever were given
    (negative = not given), followed by its sanity check (anything non-positive means one point)."""
    if steps <= 0:
        if span < 0.0:
            steps, span, step = (1, 0.0, 0.0) if step <= 0.0 else (2, step, step)
        elif step <= 0.0:
            steps, step = 2, span
        else:
            steps = int(math.ceil(span / step))
    elif span < 0.0:
        if step <= 0.0:
            span = 1.0
            step = span / steps
        else:
            steps, span = 2, step
    elif step <= 0.0:
        steps = max(steps, 2)
        step = span / (steps - 1)
    if span <= 0.0 or step <= 0.0 or steps <= 0:
        return 1, 0.0, 0.0
    return steps, span, step


def _outside_ellipse(hdiv, hstep, hsteps, hrange, vdiv, vstep, vsteps, vrange) -> bool:
    """The C's elliptical cut of the divergence grid (a zero range gives NaN, which keeps the point)."""
    test = c_div(c_div(hdiv * hdiv - hstep * hstep / 4.0 * (1 - hsteps % 2), hrange), hrange)
    test += c_div(c_div(vdiv * vdiv - vstep * vstep / 4.0 * (1 - vsteps % 2), vrange), vrange)
    return test * 4.0 > 1.1
