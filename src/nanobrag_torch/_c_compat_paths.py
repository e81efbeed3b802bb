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

from typing import TYPE_CHECKING, Optional, Union

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

    Finding it needs h, k, l of every earlier evaluation but none of the rest of the physics, so it is found
    before any batch renders, by a scan of the Miller indices alone (batches scanned concurrently like a
    render, read in order up to the first that holds the cut-off); the batches can then render in any order,
    each knowing which of its evaluations interpolate. The result is cached on this object, one per simulator.
    """

    def __init__(self, simulator: "Simulator"):
        self._sim = simulator
        self._cutoff: Optional[int] = None  # unknown until scanned; -1: never

    def whole_run(self) -> Optional[int]:
        """The cut-off evaluation index, None if interpolation stays on for the whole run."""
        if self._cutoff is None:
            self._cutoff = self._scan()
        return None if self._cutoff < 0 else self._cutoff

    def allowed(self, order: torch.Tensor, shape) -> Union[None, bool, torch.Tensor]:
        """Which evaluations (shaped ``shape``) of a batch of pixels at render positions ``order`` may still
        interpolate: None for all of them, False for none, else a boolean tensor."""
        cutoff = self.whole_run()
        if cutoff is None:
            return None
        per_pixel = self._sim.evaluations_per_pixel
        # order is a host tensor (render positions): reading its range waits for no device.
        if (int(order.max()) + 1) * per_pixel <= cutoff:
            return None
        if int(order.min()) * per_pixel >= cutoff:
            return False
        return self._evaluation_index(order, shape) < cutoff

    def _evaluation_index(self, order, shape) -> torch.Tensor:
        """Position of every evaluation of a batch in nanoBragg's loop order over the whole run."""
        sim = self._sim
        local = torch.arange(sim.evaluations_per_pixel, device=sim.device).reshape(shape[1:])
        return order.to(sim.device).reshape((-1,) + (1,) * (len(shape) - 1)) * sim.evaluations_per_pixel + local

    def _scan(self) -> int:
        """The cut-off index over the whole run, or -1. Leaving the loop early stops the batch workers."""
        sim = self._sim
        for (start, _, _, _), first in sim._map_batches(self._first_outside_of_batch):
            if first is not None:
                return start * sim.evaluations_per_pixel + first
        return -1

    def _first_outside_of_batch(self, batch) -> Optional[int]:
        """The batch's first evaluation (index in its flattened C order) that leaves the table, or None; the
        stages of the render up to the Miller indices, and F_latt only for a batch that needs it."""
        sim = self._sim
        start, _, slow, fast = batch
        _, diffracted = sim._directions(sim._subpixel_positions(slow.to(sim.device), fast.to(sim.device)))
        _, _, scattering = sim._scattering_vectors(diffracted)
        h, k, l = sim._miller_indices(scattering, first_of_run=torch.arange(start, start + slow.numel()) == 0)
        if not _may_leave_table(sim.crystal.hkl_table, h, k, l):
            return None
        # The C reaches its test only for evaluations it does not skip: visible ones, with F_latt != 0
        # unless -water adds a background.
        outside = ~physics.interpolation_in_range(h, k, l, sim.crystal.hkl_table)
        visible = sim._visible(scattering)
        if visible is not None:
            outside &= visible[..., None, None]
        if sim.beam.water_um == 0 and bool(outside.any()):
            outside &= sim._lattice_factor(h, k, l) != 0
        outside = outside.reshape(-1)
        return int(torch.nonzero(outside)[0]) if bool(outside.any()) else None


def _may_leave_table(table, h, k, l) -> bool:
    """False only if no (h, k, l) of the batch leaves the table in the C's test. The test's expressions
    (``index - low + 3 > span``, ``index - 2 < low``) are monotonic in the index, so the test at each index's
    smallest and largest value decides it for all values: a few reductions instead of the elementwise test.
    A NaN hides the extremes (and is never outside), so it sends the batch to the elementwise test."""
    extremes = [torch.stack(torch.aminmax(index)) for index in (h, k, l)]  # (min, max) of each index
    if bool(torch.stack(extremes).isnan().any()):
        return True
    return not bool(physics.interpolation_in_range(*extremes, table).all())
