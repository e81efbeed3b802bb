"""The C's names for the simulator's stages: the one home of the pixel block's TRACE names.

Each section below turns one recorded call of a stage of ``Simulator.render_pixels`` (a ``tracehooks.Call``
with its arguments, final locals and result) into ``(name, value)`` or ``(name, value, style)`` entries named
as nanoBragg's per-pixel block names them, for one evaluation of the batch: ``at`` is (pixel, sensor layer,
sub-pixel slow, sub-pixel fast), by default ``FIRST``, the first evaluation of the batch's first pixel; the
source, phi step and mosaic domain are the first, as in the C's block, unless a section says otherwise.

``STAGES`` lists the stages; ``register()`` (called by ``_specs.register``, the ``tracehooks.specs`` entry
point) registers a spec for each, so that a bare trace of a stage prints that stage's lines of the C's pixel
block for the first evaluation of the batch's first pixel. ``_pixel`` composes the same sections in the C's
order, with its repetitions (sub-pixels, layers, phi steps, the third source), for a whole trace.

A printed value is one the stage computed, or a unit conversion or combination of such values
(``lambda_angstroms``, ``scattering_vec_A_inv`` in 1/Angstrom, the rotated reciprocal vectors,
``cos_2theta``); none is recomputed from the configuration.

Example:
    >>> import tracehooks
    >>> from nanobrag_torch.config import CrystalConfig, DetectorConfig, SimulationConfig
    >>> config = SimulationConfig(detector=DetectorConfig(fpixels=8, spixels=8, oversample=1),
    ...     crystal=CrystalConfig(cell=(100, 100, 100, 90, 90, 90), Na=5, Nb=5, Nc=5, default_F=100))
    >>> sim = Simulator.from_config(config)
    >>> undo = register()
    >>> with tracehooks.trace(Simulator, "_subpixel_positions", sink=print):
    ...     _ = sim.render_pixels(torch.tensor([2]), torch.tensor([3]))
    TRACE_PY: pix0_vector_meters 0.1 0.0005 -0.0005
    TRACE_PY: fdet_vec 0 0 1
    TRACE_PY: sdet_vec 0 -1 0
    TRACE_PY: pixel_pos_meters 0.1 0.00025 -0.00015
    >>> undo()
"""

from __future__ import annotations

import math
from typing import Any, Callable, Dict, List, NamedTuple, Tuple

import torch

import tracehooks

from ..geometry import dot3
from ..models.crystal import Crystal
from ..physics import R_E_SQR
from ..simulator import Simulator
from ..units import rad_to_deg

__all__ = ["FIRST", "STAGES", "Stage", "cos_2theta", "detector_factors", "hkl_frac", "lattice_factors",
           "phi_record", "polarization", "register", "rotated_cell", "rounded_indices", "scale_factors",
           "scale_result", "scattering", "source_block", "stage_spec", "structure_factor", "subpixel_position",
           "unrotated_cell"]

Entries = List[Tuple[Any, ...]]

#: (pixel, sensor layer, sub-pixel slow, sub-pixel fast) of the batch's first evaluation.
FIRST = (0, 0, 0, 0)

_REAL = ("rot_a_angstroms", "rot_b_angstroms", "rot_c_angstroms")
_RECIPROCAL = ("rot_a_star_A_inv", "rot_b_star_A_inv", "rot_c_star_A_inv")
_GRATING = ("F_latt_a", "F_latt_b", "F_latt_c")
_OVERSAMPLE_FLAGS = ("oversample_thick", "oversample_polar", "oversample_omega")


def _here(at: tuple, source: int = 0, phi_tic: int = 0) -> tuple:
    """The index of one evaluation in a (pixel, layer, sub_s, sub_f, source, phi, mosaic) tensor (domain 0)."""
    return at + (source, phi_tic, 0)


# -- sections, one or more per stage, in the C's order --------------------------------------------------


def subpixel_position(call: tracehooks.Call, at: tuple = FIRST) -> Entries:
    """``_subpixel_positions``: the detector's frame, then the position of the sub-pixel ``at``."""
    det = call.instance.detector
    return [("pix0_vector_meters", det.pix0_vector), ("fdet_vec", det.fdet_vec), ("sdet_vec", det.sdet_vec),
            ("pixel_pos_meters", call.result[at])]


def detector_factors(call: tracehooks.Call, at: tuple = FIRST) -> Entries:
    """``_detector_factors``: distance, solid angle, obliquity and diffracted direction of the sub-pixel."""
    close_distance, airpath = call.instance.detector.close_distance_m, call.locals["airpath"][at]
    factors = call.result
    return [("R_distance_meters", airpath), ("omega_pixel_sr", factors.omega_pixel[at]),
            ("close_distance_meters", close_distance), ("obliquity_factor", close_distance / airpath),
            ("diffracted_vec", factors.diffracted[at])]


def scattering(call: tracehooks.Call, at: tuple = FIRST, source: int = 0) -> Entries:
    """``_scattering_vectors``: the source's direction and wavelength, the scattering vector (1/Angstrom)."""
    incident, wavelength, vectors = call.result
    return [("incident_vec", incident[source]), ("lambda_meters", wavelength[source]),
            ("lambda_angstroms", wavelength[source] * 1e10),
            ("scattering_vec_A_inv", vectors[at + (source,)] / 1e10)]


def cos_2theta(call: tracehooks.Call, pixel: int = 0) -> Entries:
    """``_scattering_vectors``: the closing block's cos(2 theta), of the pixel's last source and sub-pixel
    (the C prints the values its loops left behind)."""
    incident = call.result[0]
    return [("cos_2theta", dot3(incident[-1], _argument(call, 0, "diffracted")[pixel, -1, -1, -1]))]


def polarization(call: tracehooks.Call, at: tuple = FIRST, source: int = 0) -> Entries:
    """``_polarization``: the polarization factor of the sub-pixel and source."""
    return [("polar", call.result[at + (source,)])]


def rotated_cell(call: tracehooks.Call, at: tuple = FIRST) -> Entries:
    """``_miller_indices``: the cell turned to phi step 0 (domain 0), real and reciprocal vectors. (At the
    run's very first evaluation with the C's phi = 0 carry-over the C used the unrotated cell instead, which
    ``unrotated_cell`` prints.)"""
    sim = call.instance
    vectors = tuple(call.locals[name] for name in ("rot_a", "rot_b", "rot_c"))
    return _cell(sim.crystal, vectors, sim.phi_steps_rad()[:1])


def unrotated_cell(call: tracehooks.Call, at: tuple = FIRST) -> Entries:
    """``_first_evaluation_unrotated``: the unrotated cell the C's very first evaluation of a run sees."""
    crystal = call.instance.crystal
    return _cell(crystal, call.locals["unrotated"], torch.zeros(1, dtype=crystal.dtype))


def _cell(crystal: Crystal, real_vectors, phi) -> Entries:
    entries: Entries = [(name, vector[0, 0] * 1e10) for name, vector in zip(_REAL, real_vectors)]
    # The reciprocal vectors turned like the real ones were at this step (phi step 0, domain 0).
    return entries + [(name, crystal.rotate(vector, phi)[0, 0])
                      for name, vector in zip(_RECIPROCAL, (crystal.a_star, crystal.b_star, crystal.c_star))]


def hkl_frac(call: tracehooks.Call, at: tuple = FIRST) -> Entries:
    """``_miller_indices``: the fractional Miller indices of the evaluation."""
    here = _here(at)
    return [("hkl_frac", torch.stack([index[here] for index in call.result]))]


def rounded_indices(call: tracehooks.Call, at: tuple = FIRST) -> Entries:
    """``Crystal.structure_factor`` (called by the simulator, batched): the nearest reflection's indices."""
    here = _here(at)
    return [("hkl_rounded", torch.stack([call.locals[name][here] for name in ("h0", "k0", "l0")]).to(torch.long))]


def lattice_factors(call: tracehooks.Call, at: tuple = FIRST) -> Entries:
    """``_lattice_factor``: the grating factors along a, b, c and their product F_latt; nothing for a crystal
    shape without grating factors (the C prints none)."""
    parts = call.locals["F_latt_abc"]
    if parts is None:
        return []
    here = _here(at)
    return [(name, part[here]) for name, part in zip(_GRATING, parts)] + [("F_latt", call.locals["F_latt"][here])]


def phi_record(call: tracehooks.Call, at: tuple = FIRST, phi_tic: int = 0) -> Entries:
    """``_lattice_factor``: the C's ``PHI`` record of one spindle step (its k index is the stage's argument)."""
    here = _here(at, phi_tic=phi_tic)
    crystal = call.instance.crystal
    return [("PHI", {"phi_tic": phi_tic, "phi_deg": rad_to_deg(crystal.phi_angles_rad[phi_tic]),
                     "k_frac": _argument(call, 1, "k")[here], "F_latt_b": call.locals["F_latt_abc"][1][here],
                     "F_latt": call.locals["F_latt"][here]}, "record")]


def structure_factor(call: tracehooks.Call, at: tuple = FIRST, source: int = 0) -> Entries:
    """``_structure_factor``: F_cell of the evaluation (nanoBragg skips it where F_latt is exactly 0 without
    water; a whole trace leaves it out there, see ``_pixel``)."""
    return [("F_cell", call.result[_here(at, source)])]


def scale_factors(call: tracehooks.Call, pixel: int = 0) -> Entries:
    """``_scale``: the closing block up to the pixel's factors (sum, constants, steps, switches, factors)."""
    sim, scale = call.instance, call.locals
    config = sim.detector.config
    return [("I_before_scaling", scale["I_before_scaling"][pixel]), ("r_e_meters", math.sqrt(R_E_SQR)),
            ("r_e_sqr", R_E_SQR), ("fluence_photons_per_m2", sim.beam.fluence), ("steps", scale["steps"])] + \
        [(name, int(getattr(config, name))) for name in _OVERSAMPLE_FLAGS] + \
        [(name, scale[name][pixel]) for name in ("capture_fraction", "polar", "omega_pixel")]


def scale_result(call: tracehooks.Call, pixel: int = 0) -> Entries:
    """``_scale``: the pixel's intensity, and the float32 value the image holds."""
    I_pixel_final = call.result[pixel]
    return [("I_pixel_final", I_pixel_final), ("floatimage_accumulated", I_pixel_final.to(torch.float32))]


def source_block(calls: Dict[str, tracehooks.Call], at: tuple = FIRST, source: int = 2) -> Entries:
    """The C's ``SOURCE2`` block of the evaluation ``at`` (a combination of five stages' values), from the
    calls keyed by method name: F_cell, F_latt and their intensity, polar, cos(2 theta), wavelength."""
    here = _here(at, source)
    F_cell, F_latt = calls["_structure_factor"].result[here], calls["_lattice_factor"].locals["F_latt"][here]
    scattered = calls["_scattering_vectors"]
    incident, wavelength, _ = scattered.result
    return [("F_cell", F_cell), ("F_latt", F_latt), ("F_cell_squared", F_cell * F_cell),
            ("F_latt_squared", F_latt * F_latt), ("I_contribution", F_cell * F_cell * F_latt * F_latt)] + \
        polarization(calls["_polarization"], at, source) + \
        [("cos2theta", dot3(incident[source], _argument(scattered, 0, "diffracted")[at])),
         ("lambda_angstroms", wavelength[source] * 1e10), ("source_index", source)]


def _argument(call: tracehooks.Call, position: int, name: str):
    """An argument of the recorded call, passed by position or by name."""
    return call.args[position] if len(call.args) > position else call.kwargs[name]


# -- the stages and their specs ---------------------------------------------------------------------------


def _scattering_block(call: tracehooks.Call, at: tuple = FIRST) -> Entries:
    return scattering(call, at) + cos_2theta(call, at[0])


def _miller_block(call: tracehooks.Call, at: tuple = FIRST) -> Entries:
    return rotated_cell(call, at) + hkl_frac(call, at)


def _lattice_block(call: tracehooks.Call, at: tuple = FIRST) -> Entries:
    entries = lattice_factors(call, at)
    if not entries:
        return entries
    for phi_tic in range(call.instance.crystal.phisteps):
        entries += phi_record(call, at, phi_tic)
    return entries


def _scale_block(call: tracehooks.Call, at: tuple = FIRST) -> Entries:
    return scale_factors(call, at[0]) + scale_result(call, at[0])


class Stage(NamedTuple):
    """One traced stage of the render: where it is, a local bound at every return (capturing it records all
    the stage's locals), and what a bare trace of it prints: ``block(call, at)``."""

    owner: type
    method: str
    bound: str
    block: Callable[..., Entries]


STAGES = (
    Stage(Simulator, "_subpixel_positions", "pixel_pos", subpixel_position),
    Stage(Simulator, "_detector_factors", "airpath", detector_factors),
    Stage(Simulator, "_scattering_vectors", "scattering", _scattering_block),
    Stage(Simulator, "_polarization", "shape", polarization),
    Stage(Simulator, "_miller_indices", "rot_a", _miller_block),
    Stage(Simulator, "_first_evaluation_unrotated", "unrotated", unrotated_cell),
    Stage(Simulator, "_lattice_factor", "F_latt", _lattice_block),
    Stage(Crystal, "structure_factor", "h0", rounded_indices),
    Stage(Simulator, "_structure_factor", "F_cell", structure_factor),
    Stage(Simulator, "_scale", "I_pixel_final", _scale_block),
)


def stage_spec(stage: Stage, at: tuple = FIRST) -> tracehooks.TraceSpec:
    """The spec of a stage that prints the evaluation ``at`` of each call (its pixel: ``at[0]``), or the one
    that ``trace(..., index=...)`` names: ``index=p`` is pixel ``p`` of the batch (first sub-pixel), a tuple
    ``(pixel, layer, sub_slow, sub_fast)`` or a prefix of it one evaluation.

    Example:
        >>> spec = stage_spec(STAGES[-1], at=(1, 0, 0, 0))
        >>> undo = tracehooks.register_spec(Simulator, "_scale", spec)
        >>> undo()
    """
    def block(call: tracehooks.Call, index: Any = None) -> Entries:
        return stage.block(call, at=at if index is None else _evaluation(index))

    return tracehooks.TraceSpec(block=block, style="space", origin=__name__)


def _evaluation(index: Any) -> tuple:
    """``at`` from a trace's ``index``: an int tuple of at most four, zeros for the rest."""
    if not isinstance(index, tuple) or len(index) > len(FIRST):
        raise TypeError(f"a simulator stage's spec takes index=pixel or a tuple of at most {len(FIRST)} ints "
                        f"(pixel, layer, sub_slow, sub_fast), got {index!r}")
    return index + FIRST[len(index):]


_SPECS = tuple((stage, stage_spec(stage)) for stage in STAGES)


def register() -> Callable[[], None]:
    """Register the spec of every stage in ``STAGES``; return their undo."""
    undos = [tracehooks.register_spec(stage.owner, stage.method, spec) for stage, spec in _SPECS]

    def undo() -> None:
        for each in undos:
            each()

    return undo
