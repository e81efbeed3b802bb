"""The C's own ways of computing, taken only to reproduce its physics bugs (``c_compat=True``).

The simulator holds the physics; what is here exists because nanoBragg computes some things in a way that
cannot be written as the corrected physics with a different factor (see ``nanobrag_torch.c_bugs``):

- :func:`c_pixel_intensity`, the C's accumulation loop, which makes four bugs at once
  (``c_bugs.C_ACCUMULATION_BUGS``);
- :class:`InterpolationCutoff`, the scan for the evaluation at which the C switches interpolation off for
  the rest of the run (``c_bugs.INTERPOLATION_SWITCH_OFF``).

Both work on a simulator and call its stages (``_scale``, ``_miller_indices`` ...) through it, so a trace that
taps those stages sees these paths too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import torch

from . import physics

if TYPE_CHECKING:
    from .simulator import PixelFactors, Simulator

__all__ = ["InterpolationCutoff", "c_pixel_intensity", "intensity_terms", "sum_per_pixel"]


def intensity_terms(F_cell: torch.Tensor, F_latt: torch.Tensor) -> torch.Tensor:
    """``F_cell * F_cell * F_latt * F_latt`` of every evaluation (the C's order), with each pixel's terms
    contiguous in memory (what :func:`sum_per_pixel` reads). A constant F_cell (-default_F without a table,
    a broadcast view) is squared once rather than at every evaluation: the same numbers."""
    if F_cell.dim() and not any(F_cell.stride()):
        F_cell = F_cell.as_strided((1,) * F_cell.dim(), (0,) * F_cell.dim())
    partial = F_cell * F_cell * F_latt
    if torch.is_grad_enabled() and (partial.requires_grad or F_latt.requires_grad):
        return partial * F_latt
    out = torch.empty(physics.broadcast_shape(partial.shape, F_latt.shape),
                      dtype=torch.result_type(partial, F_latt), device=partial.device)
    return torch.mul(partial, F_latt, out=out)


def sum_per_pixel(term: torch.Tensor) -> torch.Tensor:
    """Sum of each pixel's terms (P, ...) -> (P,), always over contiguous rows: the order in which torch adds
    a row depends on its memory layout, and the stages lay batches out differently with the batch size (a
    one-pixel batch is contiguous, a larger one is not), so a layout-independent order keeps the image
    independent of the batch size."""
    return term.flatten(1).contiguous().sum(dim=1)


def c_pixel_intensity(sim: "Simulator", F_cell, F_latt, visible, factors: "PixelFactors", polar) -> torch.Tensor:
    """nanoBragg's accumulation: I starts at the (already scaled) water background; with -oversample_* each
    factor multiplies the running sum after every term; the last layer's capture fraction scales the pixel;
    source weights are not read."""
    det = sim.detector.config
    term = intensity_terms(F_cell, F_latt)
    I = sim.beam.water_background_per_sr().to(sim.dtype).expand(term.shape[:1])
    skip = None if visible is None else ~visible[..., None, None]
    if not (det.oversample_thick or det.oversample_polar or det.oversample_omega):
        if skip is not None:
            term = torch.where(skip, torch.zeros_like(term), term)
        return sim._scale(I + sum_per_pixel(term), factors, polar, fold_capture=False)
    if sim.beam.water_um == 0:
        # The C skips the rest of an evaluation with F_latt == 0, multiplications included.
        skip = (F_latt == 0) if skip is None else skip | (F_latt == 0)
    factor = sim._term_factors(factors, polar, capture=det.oversample_thick).expand_as(term).flatten(1)
    skip = None if skip is None else skip.expand_as(term).flatten(1)
    term = term.flatten(1)
    for index in range(term.shape[1]):
        step = (I + term[:, index]) * factor[:, index]
        I = step if skip is None else torch.where(skip[:, index], I, step)
    return sim._scale(I, factors, polar, fold_capture=False)


class InterpolationCutoff:
    """Where nanoBragg stops interpolating: the rendering-order index of the first evaluation (over the whole
    run, in the C's loop order) whose 4x4x4 neighbourhood leaves the HKL table; every later evaluation takes
    the nearest reflection.

    Finding it needs h, k, l of every earlier pixel. ``run()`` renders batches in order, so each batch extends
    the scan by itself; any other request (one traced pixel) scans the whole image first. The result is
    cached on this object, one per simulator.
    """

    def __init__(self, simulator: "Simulator"):
        self._sim = simulator
        self._cutoff: Optional[int] = None  # unknown until scanned; -1: never
        self._scanned_pixels = 0  # pixels, in rendering order, known to keep interpolation on

    def whole_run(self) -> Optional[int]:
        """The cut-off evaluation index, None if interpolation stays on for the whole run."""
        if self._cutoff is None:
            self._cutoff = self._scan()
        return None if self._cutoff < 0 else self._cutoff

    def allowed(self, order, h, k, l, F_latt, visible) -> Optional[torch.Tensor]:
        """Which evaluations of a batch (pixels at render positions ``order``) may still interpolate; None:
        all of them."""
        cutoff = self._for_batch(order, h, k, l, F_latt, visible)
        if cutoff is None:
            return None
        return self._evaluation_index(order, h.shape) < cutoff

    def _for_batch(self, order, h, k, l, F_latt, visible) -> Optional[int]:
        """The cut-off as far as this batch needs it."""
        if self._cutoff is not None or F_latt is None:
            return self.whole_run()
        start, count = int(order[0]), order.numel()
        in_sequence = start == self._scanned_pixels and bool((order == torch.arange(start, start + count)).all())
        if not in_sequence:
            return self.whole_run()
        first = self._first_outside(h, k, l, F_latt, visible)
        if first is not None:
            self._cutoff = start * self._sim.evaluations_per_pixel + first
        else:
            self._scanned_pixels = start + count
            if self._scanned_pixels == self._rendered_count():
                self._cutoff = -1
        return self.whole_run() if self._cutoff is not None else None

    def _evaluation_index(self, order, shape) -> torch.Tensor:
        """Position of every evaluation of a batch in nanoBragg's loop order over the whole run."""
        sim = self._sim
        local = torch.arange(sim.evaluations_per_pixel, device=sim.device).reshape(shape[1:])
        return order.to(sim.device).reshape((-1,) + (1,) * (len(shape) - 1)) * sim.evaluations_per_pixel + local

    def _first_outside(self, h, k, l, F_latt, visible) -> Optional[int]:
        """Index (in the batch's flattened C order) of the first evaluation whose interpolation neighbourhood
        leaves the HKL table; the C reaches that test only for evaluations it does not skip."""
        checked = torch.ones_like(h, dtype=torch.bool) if visible is None else visible[..., None, None]
        if self._sim.beam.water_um == 0:
            checked = checked & (F_latt != 0)
        outside = (checked & ~physics.interpolation_in_range(h, k, l, self._sim.crystal.hkl_table)).reshape(-1)
        return int(torch.nonzero(outside)[0]) if bool(outside.any()) else None

    def _rendered_count(self) -> int:
        xmin, xmax, ymin, ymax = self._sim._roi_rectangle()
        kept = self._sim._kept_flat_indices()
        return (ymax - ymin + 1) * (xmax - xmin + 1) if kept is None else kept.numel()

    def _scan(self) -> int:
        """Scan the whole run in rendering order; the cut-off index, or -1."""
        sim = self._sim
        for start, _, batch_slow, batch_fast in sim._batches():
            factors = sim._detector_factors(sim._subpixel_positions(batch_slow, batch_fast))
            _, _, scattering = sim._scattering_vectors(factors.diffracted)
            first = torch.arange(start, start + batch_slow.numel()) == 0
            h, k, l = sim._miller_indices(scattering, first_of_run=first)
            outside = self._first_outside(h, k, l, sim._lattice_factor(h, k, l), sim._visible(scattering))
            if outside is not None:
                return start * sim.evaluations_per_pixel + outside
        return -1
