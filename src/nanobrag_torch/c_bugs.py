"""nanoBragg's physics bugs, declared once: what the C does, what the port does, when it matters, where it is
checked.

The port computes the corrected physics by default; ``c_compat=True`` reproduces the C bit for bit. Everything
else about a bug is read from its :class:`CBug` here: the switches in the detector and the simulator test
membership in :func:`reproduced`; ``Simulator.c_compat_differences()`` lists the :func:`in_effect` ones (the
command line prints them as notes, ``python -m nanobrag_torch.parity`` as "C physics bug in effect"); and the
physics table of docs/c_compat.md is :func:`markdown_table` (``python -m nanobrag_torch.c_bugs`` prints it;
a test keeps the file equal to it).

The predicates read a built simulation (see :class:`Simulation`) and nothing else, so this module imports
nothing of the package: the models below the simulator can name the bugs they switch.

Example:
    >>> [bug.quirk for bug in C_BUGS]
    ['15', '17', '18b', '18a', '19', '—', '10', '20']
    >>> WATER_SCALED_TWICE in reproduced(True), WATER_SCALED_TWICE in reproduced(False)
    (True, False)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Optional, Protocol

__all__ = [
    "C_ACCUMULATION_BUGS",
    "C_BUGS",
    "CBug",
    "INTERPOLATION_SWITCH_OFF",
    "LAST_LAYER_CAPTURE",
    "LAYER_SPACING",
    "OVERSAMPLE_RUNNING_SUM",
    "PHI_ZERO_CARRY_OVER",
    "SOURCE_WEIGHTS_IGNORED",
    "Simulation",
    "TWOTHETA_AXIS_AS_TYPED",
    "WATER_SCALED_TWICE",
    "in_effect",
    "markdown_table",
    "reproduced",
]


class Simulation(Protocol):
    """What the predicates read: the simulator's models (crystal, detector, beam) and its interpolation
    cut-off. ``nanobrag_torch.simulator.Simulator`` is one."""

    crystal: Any
    detector: Any
    beam: Any

    def interpolation_cutoff(self) -> Optional[int]: ...


@dataclass(frozen=True)
class CBug:
    """One physics bug of nanoBragg.

    ``quirk`` is its number in tests/data/c_reference/README.md ("—" when the README has none); ``name`` what
    a note calls it (a flag or a feature); ``note`` what the C does, in the words of that note; ``the_c`` and
    ``the_port`` the full statements of the docs table; ``triggered_by`` in words and ``applies`` as a
    predicate: the inputs that make the C's result differ from the port's; ``tested_by`` the test that checks
    both behaviours (``file::function`` under tests/nanobrag/). ``label``, if given, names the bug in a note
    from the simulation (the flags in effect) instead of ``name``.

    Example:
        >>> WATER_SCALED_TWICE.name, WATER_SCALED_TWICE.tested_by
        ('-water', 'test_c_compat.py::test_water_background_is_scaled_once')
    """

    quirk: str
    name: str
    note: str
    the_c: str
    the_port: str
    triggered_by: str
    applies: Callable[[Simulation], bool]
    tested_by: str
    label: Optional[Callable[[Simulation], str]] = None

    def message(self, simulation: Simulation) -> str:
        """The one-line note for a simulation where this bug applies: "name: what the C does".

        Example:
            >>> SOURCE_WEIGHTS_IGNORED.message(None)
            '-sourcefile weights: the C ignores them'
        """
        name = self.label(simulation) if self.label is not None else self.name
        return f"{name}: {self.note}"


# -- the predicates -----------------------------------------------------------------------------------------


def _phi_carry_over(sim: Simulation) -> bool:
    """A sweep that starts at exactly phi = 0 and moves away from it."""
    angles = sim.crystal.phi_angles_rad
    return bool(angles.numel() > 1 and float(angles[0]) == 0.0 and float(angles[-1]) != 0.0)


def _oversample_flags(sim: Simulation) -> list:
    config = sim.detector.config
    return [name for name in ("thick", "polar", "omega") if getattr(config, f"oversample_{name}")]


def _layer_spacing(sim: Simulation) -> bool:
    requested = sim.detector.config.thicksteps
    return sim.detector.thickness_m > 0 and requested is not None and requested > 0


def _uneven_weights(sim: Simulation) -> bool:
    weights = sim.beam.source_weights
    return bool((weights != weights[0]).any())


def _twotheta_axis_not_unit(sim: Simulation) -> bool:
    axis = sim.detector.config.twotheta_axis
    if axis is None or float(sim.detector.twotheta_rad) == 0.0:
        return False  # a turn by 0 leaves every vector as it is, whatever the axis' length
    x, y, z = (float(v) for v in axis)
    # The length as the detector's unitize computes it (geometry.norm3: products summed in C order).
    return math.sqrt(x * x + y * y + z * z) != 1.0


def _interpolation_switched_off(sim: Simulation) -> bool:
    return bool(sim.crystal.interpolate) and sim.interpolation_cutoff() is not None


# -- the bugs, in the order notes list them ------------------------------------------------------------------

PHI_ZERO_CARRY_OVER = CBug(
    quirk="15", name="phi = 0 carry-over",
    note="the C reuses the last phi step's rotation at phi = 0",
    the_c="A spindle step at exactly phi = 0 skips the rotation and reuses the vectors left by the previous phi "
          "loop — the *last* step's rotation — except for the very first evaluation of the run.",
    the_port="Rotates to phi = 0, i.e. the unrotated cell.",
    triggered_by="a sweep of several phi steps from `-phi 0`",
    applies=_phi_carry_over, tested_by="test_c_compat.py::test_phi_zero_reuses_the_last_step_in_c_compat")

OVERSAMPLE_RUNNING_SUM = CBug(
    quirk="17", name="-oversample_thick/_polar/_omega",
    note="the C multiplies the running sum, not each term",
    the_c="With `-oversample_thick/_polar/_omega`, the factor multiplies the running sum `I` after every term, "
          "so earlier terms are multiplied again and again.",
    the_port="Each term is multiplied by its own factor.",
    triggered_by="any of `-oversample_thick`, `-oversample_polar`, `-oversample_omega`",
    applies=lambda sim: bool(_oversample_flags(sim)),
    tested_by="test_c_compat.py::test_oversample_omega_multiplies_each_term_not_the_running_sum",
    label=lambda sim: f"-oversample_{'/'.join(_oversample_flags(sim))}")

LAST_LAYER_CAPTURE = CBug(
    quirk="18b", name="sensor layers",
    note="the C applies the last layer's capture fraction to every layer",
    the_c="With a sensor (`-detector_thick`), the intensity summed over all layers is multiplied by the *last* "
          "layer's capture fraction.",
    the_port="Each layer's contribution is multiplied by that layer's capture fraction.",
    triggered_by="`-detector_thick` > 0",
    applies=lambda sim: sim.detector.thickness_m > 0,
    tested_by="test_c_compat.py::test_sensor_layers_use_their_own_capture_fraction")

LAYER_SPACING = CBug(
    quirk="18a", name="-detector_thicksteps N",
    note="the C spaces the layers by thick/(N-1)",
    the_c="`-detector_thicksteps N` spaces the layers by thick/(N-1), so N layers cover N/(N-1) of the sensor.",
    the_port="Spacing thick/N.",
    triggered_by="`-detector_thicksteps N` (N > 0) with a sensor",
    applies=_layer_spacing, tested_by="test_detector.py::test_sensor_layers")

WATER_SCALED_TWICE = CBug(
    quirk="19", name="-water",
    note="the C scales the background by r_e^2 * fluence / steps a second time",
    the_c="The water background `I_bg = F_bg^2 r_e^2 fluence V rho N_A/MW` (already photons per steradian) "
          "starts the accumulator and is then scaled again by `r_e^2 fluence / steps`: it grows with fluence "
          "squared and shrinks with the number of steps.",
    the_port="Added once: `I_bg * polar * omega * capture`.",
    triggered_by="`-water` ≠ 0",
    applies=lambda sim: sim.beam.water_um != 0,
    tested_by="test_c_compat.py::test_water_background_is_scaled_once")

SOURCE_WEIGHTS_IGNORED = CBug(
    quirk="—", name="-sourcefile weights",
    note="the C ignores them",
    the_c="`-sourcefile` weights (4th column) are read and ignored: every source counts 1/sources.",
    the_port="Sources are weighted by their weight (normalised).",
    triggered_by="a `-sourcefile` whose weights are not all equal",
    applies=_uneven_weights, tested_by="test_c_compat.py::test_source_weights_are_honoured")

TWOTHETA_AXIS_AS_TYPED = CBug(
    quirk="10", name="-twotheta_axis",
    note="the C rotates about the axis without normalising it",
    the_c="`-twotheta_axis` is used as typed: a non-unit axis scales the rotated vectors.",
    the_port="The axis is normalised.",
    triggered_by="a `-twotheta_axis` whose length is not 1, with two-theta ≠ 0",
    applies=_twotheta_axis_not_unit, tested_by="test_detector.py::test_twotheta_axis_is_normalised_unless_c_compat")

INTERPOLATION_SWITCH_OFF = CBug(
    quirk="20", name="interpolation",
    note="the C switches it off for all later pixels at the first reflection too close to the edge of the "
         "HKL table",
    the_c="Tricubic interpolation is switched off for *all later pixels* (all threads) at the first evaluation "
          "whose 4x4x4 neighbourhood leaves the HKL table.",
    the_port="Falls back to the nearest reflection for that evaluation only. (`-c_compat` reproduces the "
             "single-threaded C, deterministically.)",
    triggered_by="`-interpolate` (or N ≤ 2) and a reflection that needs one beyond the table's edge",
    applies=_interpolation_switched_off,
    tested_by="test_c_compat.py::test_interpolation_stops_for_good_in_c_compat")

C_BUGS = (PHI_ZERO_CARRY_OVER, OVERSAMPLE_RUNNING_SUM, LAST_LAYER_CAPTURE, LAYER_SPACING, WATER_SCALED_TWICE,
          SOURCE_WEIGHTS_IGNORED, TWOTHETA_AXIS_AS_TYPED, INTERPOLATION_SWITCH_OFF)

#: The bugs the C's accumulation loop makes together (``_c_compat_paths.c_pixel_intensity`` reproduces them in
#: one piece: they cannot be chosen one by one).
C_ACCUMULATION_BUGS = frozenset({OVERSAMPLE_RUNNING_SUM, LAST_LAYER_CAPTURE, WATER_SCALED_TWICE,
                                 SOURCE_WEIGHTS_IGNORED})


def reproduced(c_compat: bool) -> frozenset:
    """The bugs a model or simulator built with ``c_compat`` reproduces: all of them, or none.

    Example:
        >>> len(reproduced(True)), len(reproduced(False))
        (8, 0)
    """
    return frozenset(C_BUGS) if c_compat else frozenset()


def in_effect(simulation: Simulation) -> list:
    """The bugs that make this simulation's default result differ from the C's, in table order."""
    return [bug for bug in C_BUGS if bug.applies(simulation)]


def markdown_table() -> str:
    """The physics table of docs/c_compat.md, one row per bug.

    Example:
        >>> markdown_table().splitlines()[0]
        '| # | bug | the C | the port by default | in effect with | checked by |'
    """
    lines = ["| # | bug | the C | the port by default | in effect with | checked by |",
             "|---|---|---|---|---|---|"]
    for bug in C_BUGS:
        cells = (bug.quirk, bug.name, bug.the_c, bug.the_port, bug.triggered_by, f"`{bug.tested_by}`")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown_table(), end="")
