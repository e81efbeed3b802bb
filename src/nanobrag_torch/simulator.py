"""The diffraction simulator: per-pixel physics, vectorised over pixels and every loop of nanoBragg.

nanoBragg visits, for each pixel, every sensor layer t, sub-pixel (s, f), source, spindle step and mosaic
domain, and sums F_cell^2 F_latt^2. Here one batch of pixels is computed at once as tensors shaped
``(pixel, layer, sub_s, sub_f, source, phi, mosaic)``, in that (C loop) order; batches are sized to bound
memory. Each stage is a small method whose locals carry the names the C prints, so that a trace can tap
them from outside (see ``nanobrag_torch.trace``).

The default computes corrected physics; ``c_compat=True`` reproduces nanoBragg's physics bugs bit for bit.
The bugs are declared in ``nanobrag_torch.c_bugs`` (each switch here names its bug), and the C's own ways of
accumulating that reproduce some of them are in ``nanobrag_torch._c_compat_paths``.

Example:
    >>> from nanobrag_torch.config import SimulationConfig, DetectorConfig, CrystalConfig
    >>> config = SimulationConfig(detector=DetectorConfig(fpixels=16, spixels=16, oversample=1),
    ...                           crystal=CrystalConfig(cell=(100, 100, 100, 90, 90, 90), Na=5, Nb=5, Nc=5,
    ...                                                 default_F=100))
    >>> image = Simulator.from_config(config).run()
    >>> tuple(image.shape)
    (16, 16)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional

import torch

from . import physics, units
from ._cpu import keep_freed_memory, map_in_order, zero_image
from ._c_compat_paths import InterpolationCutoff, c_pixel_intensity, intensity_terms, sum_per_pixel
from .c_bugs import C_ACCUMULATION_BUGS, INTERPOLATION_SWITCH_OFF, PHI_ZERO_CARRY_OVER, in_effect, reproduced
from .config import SimulationConfig
from .geometry import dot3, outer_dot3_each, unitize
from .models.beam import Beam
from .models.conventions import CONVENTION_AXES
from .models.crystal import Crystal
from .models.detector import Detector
from .physics import R_E_SQR

# R_E_SQR is defined in physics; it stays importable from here because trace/_pixel.py imports it from here.
__all__ = ["R_E_SQR", "Simulator"]

# Default number of evaluations (pixel x layer x sub-pixel x source x phi x mosaic) per batch. Tensors of
# 1 MB stay in cache and are recycled by the allocator: measured fastest on CPU (2^16..2^18 within 10%;
# 2^21 is 30-40% slower, 2^14 pays per-operation overhead), and memory stays bounded at any detector size.
DEFAULT_BATCH_EVALUATIONS = 1 << 17


@dataclass
class PixelFactors:
    """Per-evaluation geometry of a batch: everything that depends on the sub-pixel but not on the crystal."""

    diffracted: torch.Tensor  # (P, T, O, O, 3) unit vectors
    omega_pixel: torch.Tensor  # (P, T, O, O) solid angle used for each sub-pixel
    capture_fraction: torch.Tensor  # (P, T, O, O) sensor absorption used for each sub-pixel


class Simulator:
    """Renders nanoBragg's float image from a crystal, a detector and a beam.

    ``run()`` renders the whole detector (zeros outside ``roi`` and masked pixels);
    ``render_pixels(slow, fast)`` renders any subset at the cost of those pixels alone.
    Device and dtype are the detector's. ``c_compat=True`` reproduces the C's physics bugs (``reproduced``,
    from ``nanobrag_torch.c_bugs``); ``c_compat_differences()`` names the ones that change this simulation.
    """

    def __init__(self, crystal: Crystal, detector: Detector, beam: Beam, *, c_compat: bool = False,
                 dmin_A: float = 0.0, batch_evaluations: int = DEFAULT_BATCH_EVALUATIONS):
        self.crystal, self.detector, self.beam = crystal, detector, beam
        self.c_compat = c_compat
        self.reproduced = reproduced(c_compat)
        self.dmin_m = units.length_angstrom_to_m(dmin_A)
        self.device, self.dtype = detector.device, detector.dtype
        self.oversample = self._resolve_oversample()
        self.sources = int(beam.incident_unit.shape[0])
        self.steps = self.sources * crystal.mosaic_domains * crystal.phisteps * self.oversample ** 2
        self.evaluations_per_pixel = detector.thicksteps * self.oversample ** 2 * self.sources \
            * crystal.phisteps * crystal.mosaic_domains
        self.batch_pixels = max(1, batch_evaluations // self.evaluations_per_pixel)
        self.rotated_a, self.rotated_b, self.rotated_c = crystal.rotated_real_vectors_m(self.phi_steps_rad())
        self._interpolation = InterpolationCutoff(self)
        # Read once here: comparing the weights is a device-to-host sync that the render loop must not pay.
        self._relative_weights = _relative_source_weights(beam.source_weights)
        self._solid_angle_total: Optional[float] = None  # summed by a complete run(), reused by solid_angle_sum_sr

    @classmethod
    def from_config(cls, config: SimulationConfig, *, device=None, dtype=torch.float64, **options) -> "Simulator":
        """Build detector, beam and crystal from a ``SimulationConfig``."""
        axes = CONVENTION_AXES[config.detector.convention]
        detector = Detector(config.detector, c_compat=config.c_compat, device=device, dtype=dtype)
        beam = Beam(config.beam, direction=detector.beam_vector, polarization_axis_default=axes.polarization,
                    device=device, dtype=dtype)
        crystal = Crystal(config.crystal, wavelength_A=config.beam.wavelength_A, spindle_axis_default=axes.spindle,
                          device=device, dtype=dtype)
        return cls(crystal, detector, beam, c_compat=config.c_compat, dmin_A=config.dmin_A, **options)

    # -- set-up ---------------------------------------------------------------------------------------

    def _resolve_oversample(self) -> int:
        """-oversample, or nanoBragg's rule: enough sub-pixels to sample the spot width 3 times."""
        requested = self.detector.config.oversample
        if requested is not None and requested > 0:
            return int(requested)
        # A count of sub-pixels is chosen, not differentiated: read the values off the graph.
        wavelength_m, distance_m, size_m = (float(torch.as_tensor(value).detach()) for value in (
            self.beam.wavelength_m, self.detector.distance_m, self.crystal.xtal_size_max_m))
        reciprocal_pixel_size = wavelength_m * distance_m / self.detector.pixel_size_m
        recommended = math.ceil(3.0 * size_m / reciprocal_pixel_size)
        return max(recommended, 1)

    def phi_steps_rad(self) -> torch.Tensor:
        """Spindle angle the crystal is turned to at each phi step. Reproducing the C's PHI_ZERO_CARRY_OVER, a
        step at exactly phi = 0 reuses the previous rotation, which (after the first evaluation of the run) is
        the last step's."""
        angles = self.crystal.phi_angles_rad
        if self._carries_phi_over():
            angles = torch.cat((angles[-1:], angles[1:]))
        return angles

    def _carries_phi_over(self) -> bool:
        """Whether this run reproduces the C's phi = 0 carry-over (c_compat, and a sweep from phi = 0)."""
        return PHI_ZERO_CARRY_OVER in self.reproduced and PHI_ZERO_CARRY_OVER.applies(self)

    def c_compat_differences(self) -> list:
        """The nanoBragg physics bugs that change this simulation: where the default (corrected) result
        differs from the C's, and ``c_compat=True`` would reproduce the C. One line per bug (see
        ``nanobrag_torch.c_bugs``).

        Example:
            >>> from nanobrag_torch.config import SimulationConfig, CrystalConfig, BeamConfig
            >>> config = SimulationConfig(crystal=CrystalConfig(cell=(100, 100, 100, 90, 90, 90), default_F=1),
            ...                           beam=BeamConfig(water_um=5.0))
            >>> Simulator.from_config(config).c_compat_differences()
            ['-water: the C scales the background by r_e^2 * fluence / steps a second time']
        """
        return [bug.message(self) for bug in in_effect(self)]

    def _roi_rectangle(self):
        det = self.detector
        xmin, xmax, ymin, ymax = det.config.roi if det.config.roi is not None else (0, det.fpixels, 0, det.spixels)
        return xmin, min(xmax, det.fpixels - 1), ymin, min(ymax, det.spixels - 1)

    def _kept_flat_indices(self) -> Optional[torch.Tensor]:
        """With a mask: rendering-order positions (in the ROI rectangle) of the unmasked pixels; else None."""
        mask = self.detector.config.mask
        if mask is None:
            return None
        xmin, xmax, ymin, ymax = self._roi_rectangle()
        window = torch.as_tensor(mask)[ymin:ymax + 1, xmin:xmax + 1]
        return torch.nonzero(window.reshape(-1) != 0).reshape(-1)

    def _batches(self):
        """Yield (first render position, total, slow, fast) for each batch of rendered pixels, in rendering
        order, without materialising index arrays for the whole detector."""
        xmin, xmax, ymin, ymax = self._roi_rectangle()
        width = xmax - xmin + 1
        kept = self._kept_flat_indices()
        total = (ymax - ymin + 1) * width if kept is None else kept.numel()
        for start in range(0, total, self.batch_pixels):
            stop = min(start + self.batch_pixels, total)
            flat = torch.arange(start, stop) if kept is None else kept[start:stop]
            yield start, total, ymin + torch.div(flat, width, rounding_mode="floor"), xmin + flat % width

    def rendered_pixels(self):
        """(slow, fast) indices of the rendered pixels, in nanoBragg's order (ROI and mask applied)."""
        parts = [(slow, fast) for _, _, slow, fast in self._batches()]
        if not parts:
            return torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.long)
        return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])

    # -- rendering ------------------------------------------------------------------------------------

    def run(self, progress: Optional[Callable[[int, int], None]] = None) -> torch.Tensor:
        """The float image, shape (spixels, fpixels), in the simulator's dtype. ``progress(done, total)``
        is called after each batch of pixels, if given."""
        det = self.detector
        image = zero_image((det.spixels, det.fpixels), self.dtype, self.device)
        rows = self._rendered_rows(image)
        omega_sums: list = []
        for (start, total, slow, fast), values in self._rendered_batches(omega_sums):
            if rows is not None:  # consecutive pixels in memory: a slice, not a scatter through two indices
                rows[start:start + values.numel()] = values
            else:
                image.index_put_((slow.to(self.device), fast.to(self.device)), values)
            if progress is not None:
                progress(start + slow.numel(), total)
        # One transfer after the loop; summed batch by batch in order, as solid_angle_sum_sr would.
        self._solid_angle_total = sum(torch.stack(omega_sums).tolist()) if omega_sums else 0.0
        return image

    def _rendered_rows(self, image: torch.Tensor) -> Optional[torch.Tensor]:
        """The rendered pixels of ``image`` as one flat view in rendering order, where they are whole rows
        (no mask, an ROI as wide as the detector); else None."""
        xmin, xmax, ymin, ymax = self._roi_rectangle()
        if self.detector.config.mask is not None or xmin != 0 or xmax != self.detector.fpixels - 1:
            return None
        return image[ymin:ymax + 1].view(-1)

    def _rendered_batches(self, omega_sums: list):
        """Yield ``(batch, values)`` for every batch of ``_batches()``, in rendering order, appending each
        batch's solid angle sum to ``omega_sums`` in that order."""
        if INTERPOLATION_SWITCH_OFF in self.reproduced and self.crystal.interpolate:
            self._interpolation.whole_run()  # found before any batch renders: the workers only read it
        for batch, (values, sums) in self._map_batches(self._render_one):
            omega_sums.extend(sums)
            yield batch, values

    def _render_one(self, batch):
        sums: list = []
        return self._render_batch(batch[2], batch[3], batch[0], sums), sums

    def _map_batches(self, work: Callable):
        """Yield ``(batch, work(batch))`` for every batch of ``_batches()``, in rendering order; on a CPU with
        several threads, one batch per worker thread (``_cpu.map_in_order``). Every batch computes the same
        numbers either way."""
        if self.device.type == "cpu":
            keep_freed_memory()  # else each batch faults its temporaries' pages in afresh
        return map_in_order(self._batches(), work, self._batch_workers())

    def _batch_workers(self) -> int:
        """How many batches render at once: torch's thread count on a CPU, 1 elsewhere (a GPU runs one
        stream)."""
        if self.device.type != "cpu":
            return 1
        return max(1, torch.get_num_threads())

    def render_pixels(self, slow, fast) -> torch.Tensor:
        """Intensities of the given pixels (1-D index tensors), computed alone."""
        slow = torch.as_tensor(slow).reshape(-1)
        fast = torch.as_tensor(fast).reshape(-1)
        order = self._render_positions(slow, fast)
        return self._render_batch(slow, fast, order)

    def _render_positions(self, slow, fast) -> torch.Tensor:
        """Each pixel's position in nanoBragg's rendering order (its first pixel matters in c_compat)."""
        all_slow, all_fast = self.rendered_pixels()
        position = torch.full((self.detector.spixels, self.detector.fpixels), -1, dtype=torch.long)
        position[all_slow, all_fast] = torch.arange(all_slow.numel())
        found = position[slow, fast]
        if bool((found < 0).any()):
            raise ValueError("render_pixels: a requested pixel is outside the ROI or masked")
        return found

    def _render_batch(self, slow, fast, order, omega_sums: Optional[list] = None) -> torch.Tensor:
        """Render a batch of pixels. ``order`` is the batch's render position: an int (consecutive pixels
        from there) or a tensor of positions. The batch's solid angle sum (a tensor) is appended to
        ``omega_sums`` when given."""
        order = torch.as_tensor(order).reshape(-1)
        if order.numel() == 1 and slow.numel() > 1:
            order = order + torch.arange(slow.numel())
        pixel_pos = self._subpixel_positions(slow.to(self.device), fast.to(self.device))
        factors = self._detector_factors(pixel_pos)
        if omega_sums is not None:
            omega_sums.append(factors.omega_pixel.detach().sum())
        incident, wavelength, scattering = self._scattering_vectors(factors.diffracted)
        polar = self._polarization(incident, factors.diffracted)
        h, k, l = self._miller_indices(scattering, first_of_run=order == 0)
        F_latt = self._lattice_factor(h, k, l)
        visible = self._visible(scattering)
        F_cell = self._structure_factor(h, k, l, order)
        return self._pixel_intensity(F_cell, F_latt, visible, factors, polar)

    def _subpixel_positions(self, slow, fast) -> torch.Tensor:
        """Lab positions (P, T, O, O, 3) of every sub-pixel centre at the front of every sensor layer."""
        det, n = self.detector, self.oversample
        Fdet = det.subpixel_coordinates_m(fast, n)
        Sdet = det.subpixel_coordinates_m(slow, n)
        Odet = det.layer_depths_m
        pixel_pos = det.positions_m(Fdet[:, None, None, :], Sdet[:, None, :, None], Odet[None, :, None, None])
        return pixel_pos

    def _detector_factors(self, pixel_pos) -> PixelFactors:
        """Diffracted directions, solid angles and sensor capture fractions of every sub-pixel.

        Without -oversample_omega/-oversample_thick nanoBragg evaluates the solid angle once per pixel (first
        sub-pixel, first layer) and the capture fraction once per layer (first sub-pixel); so does this.
        """
        det = self.detector
        airpath, diffracted = self._directions(pixel_pos)
        shape = airpath.shape
        # Evaluate the once-per-pixel factors at the first sub-pixel only, and broadcast them.
        at = (slice(None), slice(None), slice(None), slice(None))
        first = (slice(None), slice(0, 1), slice(0, 1), slice(0, 1))
        omega_at = at if det.config.oversample_omega else first
        omega_pixel = det.solid_angle_sr(pixel_pos[omega_at], airpath[omega_at]).expand(shape)
        per_layer = at[:2] + (at if det.config.oversample_thick else first)[2:]
        capture_fraction = torch.stack([det.capture_fraction(diffracted[per_layer][:, layer], layer)
                                        for layer in range(det.thicksteps)], dim=1).expand(shape)
        return PixelFactors(diffracted, omega_pixel, capture_fraction)

    @staticmethod
    def _directions(pixel_pos):
        """Distance (P, T, O, O) and unit direction (P, T, O, O, 3) from the sample to every sub-pixel."""
        airpath = torch.sqrt(dot3(pixel_pos, pixel_pos))
        return airpath, pixel_pos / airpath.unsqueeze(-1)  # a pixel is never at the sample: no 0/0 here

    def _scattering_vectors(self, diffracted):
        """Scattering vectors (P, T, O, O, S, 3) in 1/m: (diffracted - incident) / lambda for every source."""
        incident = self.beam.incident_unit
        wavelength = self.beam.source_wavelengths_m
        diffracted_per_source = self._diffracted_per_source(diffracted)
        scattering = (diffracted_per_source - incident) / wavelength.unsqueeze(-1)
        return incident, wavelength, scattering

    def _diffracted_per_source(self, diffracted) -> torch.Tensor:
        """The diffracted direction each source sees, (P, T, O, O, S, 3).

        nanoBragg's polarization routine normalises the diffracted vector in place each time it runs (after
        the scattering vector of that source is formed), so later sources of that sub-pixel see it
        normalised once more; that moves the last bit, which matters near a zero of the lattice transform.
        It runs for the first source of a pixel, or for every source with -oversample_polar."""
        sources = self.sources
        per_source = diffracted.unsqueeze(-2).expand(*diffracted.shape[:-1], sources, 3)
        if sources == 1 or self.beam.nopolar:
            return per_source
        if self.detector.config.oversample_polar:
            chain = [diffracted]
            for _ in range(sources - 1):
                chain.append(unitize(chain[-1])[0])
            return torch.stack(chain, dim=-2)
        first_again = unitize(diffracted[:, :1, :1, :1])[0].unsqueeze(-2)
        later = torch.zeros(per_source.shape[1:-1], dtype=torch.bool, device=self.device)
        later[0, 0, 0, 1:] = True
        return torch.where(later.unsqueeze(-1), first_again, per_source)

    def _polarization(self, incident, diffracted) -> torch.Tensor:
        """Polarization factor (P, T, O, O, S); once per pixel unless -oversample_polar, as nanoBragg."""
        beam = self.beam
        shape = diffracted.shape[:-1] + incident.shape[:1]
        if beam.nopolar:
            return torch.ones(shape, dtype=self.dtype, device=self.device)
        if self.detector.config.oversample_polar:
            return physics.polarization_factor(beam.kahn_factor, incident, self._diffracted_per_source(diffracted),
                                               beam.polarization_axis)
        first = physics.polarization_factor(beam.kahn_factor, incident[0], diffracted[:, 0, 0, 0],
                                            beam.polarization_axis)
        return first[:, None, None, None, None].expand(shape)

    def _miller_indices(self, scattering, first_of_run: torch.Tensor):
        """Fractional Miller indices (P, T, O, O, S, Phi, M): rotated cell vectors . scattering vector."""
        rot_a, rot_b, rot_c = self.rotated_a, self.rotated_b, self.rotated_c
        # Laid out with (Phi, M) outermost in memory: the elementwise stages after this one run over long
        # rows; the values are dot3(rot_a, s) exactly.
        h, k, l = outer_dot3_each((rot_a, rot_b, rot_c), scattering)
        if self._carries_phi_over() and bool(first_of_run.any()):
            s = scattering[..., None, None, :]
            h, k, l = self._first_evaluation_unrotated(s, first_of_run, (h, k, l))
        return h, k, l

    def _first_evaluation_unrotated(self, s, first_of_run, hkl):
        """nanoBragg's very first evaluation of a run (first pixel, layer, sub-pixel and source, phi step 0)
        still sees the unrotated cell; every later phi = 0 step reuses the last step's rotation."""
        crystal = self.crystal
        unrotated = crystal.rotated_real_vectors_m(torch.zeros(1, dtype=self.dtype, device=self.device))
        mask = torch.zeros(hkl[0].shape, dtype=torch.bool, device=self.device)
        mask[first_of_run.to(self.device), 0, 0, 0, 0, 0, :] = True
        return tuple(torch.where(mask, dot3(vectors[:1], s), value) for vectors, value in zip(unrotated, hkl))

    def _lattice_factor(self, h, k, l) -> torch.Tensor:
        """Lattice transform F_latt of the crystal's shape at (h, k, l) (and, for a parallelepiped, its
        factors along a, b and c in ``F_latt_abc``)."""
        F_latt, F_latt_abc = self.crystal.lattice_factor(h, k, l)
        return F_latt

    def _structure_factor(self, h, k, l, order) -> torch.Tensor:
        """F_cell at (h, k, l): nearest reflection, or tricubic interpolation where enabled (in c_compat, only
        before the run's cut-off)."""
        allowed = None
        if INTERPOLATION_SWITCH_OFF in self.reproduced and self.crystal.interpolate:
            allowed = self._interpolation.allowed(order, h.shape)
        F_cell = self.crystal.structure_factor(h, k, l, interpolate_where=allowed)
        return F_cell

    def interpolation_cutoff(self) -> Optional[int]:
        """Rendering-order index of the evaluation at which nanoBragg stops interpolating (None if it never
        does); reproduced with ``c_compat``. Needs h, k, l of every earlier pixel: scanned once, then cached."""
        return self._interpolation.whole_run()

    def _visible(self, scattering) -> Optional[torch.Tensor]:
        """False where -dmin skips the evaluation (resolution beyond dmin), shape (P, T, O, O, S); None
        without -dmin."""
        if self.dmin_m <= 0:
            return None
        stol = 0.5 * torch.sqrt(dot3(scattering, scattering))
        return ~((stol > 0) & (self.dmin_m > 0.5 / stol))

    def _pixel_intensity(self, F_cell, F_latt, visible, factors: PixelFactors, polar) -> torch.Tensor:
        """Photons per pixel: r_e^2 * fluence / steps * sum of F_cell^2 F_latt^2 with the pixel factors."""
        if C_ACCUMULATION_BUGS <= self.reproduced:
            return c_pixel_intensity(self, F_cell, F_latt, visible, factors, polar)
        beam = self.beam
        term = intensity_terms(F_cell, F_latt)
        if visible is not None:
            term = term * visible[..., None, None]
        if beam.water_um != 0:
            # The background in the units of F^2, so that r_e^2 * fluence / steps scales it once.
            term = term + beam.water_background_per_sr() / (R_E_SQR * beam.fluence)
        weights = self._source_weights()
        if weights is not None:
            term = term * weights[:, None, None]
        weight = self._term_factors(factors, polar, capture=self.detector.thickness_m > 0)
        if weight is not None:
            term = term * weight
        I_before_scaling = sum_per_pixel(term)
        return self._scale(I_before_scaling, factors, polar, fold_capture=True)

    def _term_factors(self, factors: PixelFactors, polar, *, capture: bool) -> Optional[torch.Tensor]:
        """Product of the factors that multiply each term rather than the pixel's sum (None: no such factor)."""
        det = self.detector.config
        chosen = []
        if capture:
            chosen.append(factors.capture_fraction[..., None, None, None])
        if det.oversample_polar:
            chosen.append(polar[..., None, None])
        if det.oversample_omega:
            chosen.append(factors.omega_pixel[..., None, None, None])
        weight = None
        for factor in chosen:
            weight = factor if weight is None else weight * factor
        return weight

    def _scale(self, I_before_scaling, factors: PixelFactors, polar, *, fold_capture: bool) -> torch.Tensor:
        det = self.detector.config
        steps = self.steps
        capture_fraction = factors.capture_fraction[:, -1, -1, -1]
        polar = polar[:, -1, -1, -1, -1]
        omega_pixel = factors.omega_pixel[:, -1, -1, -1]
        I_pixel_final = R_E_SQR * self.beam.fluence * I_before_scaling / steps
        if not (det.oversample_thick or fold_capture):
            I_pixel_final = I_pixel_final * capture_fraction
        if not det.oversample_polar:
            I_pixel_final = I_pixel_final * polar
        if not det.oversample_omega:
            I_pixel_final = I_pixel_final * omega_pixel
        return I_pixel_final

    def _source_weights(self) -> Optional[torch.Tensor]:
        """Relative weight of each source, None when they are all equal (nanoBragg ignores -sourcefile
        weights; corrected: honoured)."""
        return self._relative_weights

    def solid_angle_sum_sr(self) -> float:
        """nanoBragg's "solid angle subtended by detector": the sum of the solid angle used at every sub-pixel
        of every layer of the rendered pixels, divided by steps. After a complete ``run()`` this is the sum
        that run made (the same numbers, added in the same order); before one, it is computed here."""
        if self._solid_angle_total is not None:
            return self._solid_angle_total / self.steps
        total = 0.0
        for _, _, slow, fast in self._batches():
            positions = self._subpixel_positions(slow.to(self.device), fast.to(self.device))
            total += float(self._detector_factors(positions).omega_pixel.sum())
        return total / self.steps


def _relative_source_weights(weights: torch.Tensor) -> Optional[torch.Tensor]:
    """Each source's weight relative to the mean, None when they are all equal."""
    if bool((weights == weights[0]).all()):
        return None
    return weights * (weights.numel() / weights.sum())
