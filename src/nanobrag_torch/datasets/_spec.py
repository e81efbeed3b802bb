"""What a dataset is: a nanoBragg command line plus what varies from frame to frame.

A rotation series turns the crystal by ``-osc`` per frame: frame ``i`` covers ``phi0 + i*osc`` to
``phi0 + (i+1)*osc`` with the command's ``-phisteps``. A set of stills gives each shot a uniformly random
crystal orientation (composed with the command's ``-misset``) and, optionally, a fluence drawn from a gamma
distribution of mean 1 (SASE pulse energies are gamma-distributed). Everything a frame needs is a pure
function of the spec and the frame's index, so any frame can be recomputed alone, by any process:

- shot ``i``'s orientation and fluence factor come from ``numpy``'s PCG64 seeded by
  ``SeedSequence(misset_seed, spawn_key=(i,))``;
- frame ``i``'s Poisson noise is nanoBragg's ``-noisefile`` image drawn with ``-seed noise_seed(i)``, where
  ``noise_seed(i)`` is derived from ``SeedSequence(seed, spawn_key=(i,))`` (recorded in the file).

``-seed`` and ``-misset_seed`` are the command line's. nanoBragg seeds from the clock when they are not
given; so does a dataset, once, when the spec is made, and the file records the seed so that re-running the
job resumes it with the same numbers.

Example:
    >>> spec = DatasetSpec.series("-cell 100 100 100 90 90 90 -default_F 100 -N 5 -detpixels 16 -osc 0.5 "
    ...                           "-phi 10 -nonoise", frames=3)
    >>> [(p.phi_start_deg, p.osc_deg) for p in map(spec.plan, range(3))]
    [(10.0, 0.5), (10.5, 0.5), (11.0, 0.5)]
    >>> spec.command_line(2)[-4:]
    ['-phi', '11.0', '-osc', '0.5']
"""

from __future__ import annotations

import dataclasses
import json
import math
import shlex
import time
from dataclasses import dataclass, field
from typing import Dict, FrozenSet, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from ..cli import CommandLineError, parse_args
from ._rotations import misset_deg_of, random_rotation, rotation_of_misset_deg

__all__ = ["DatasetError", "DatasetSpec", "FramePlan"]

# nanoBragg's ran1 takes a seed in 1 .. 2^31 - 2 (Park-Miller's modulus is 2^31 - 1).
_SEED_RANGE = 2**31 - 2


class DatasetError(ValueError):
    """Bad input for a dataset: the message is one line naming the flag or option at fault."""


class FramePlan(NamedTuple):
    """What frame ``index`` changes in the command line: the spindle range, the orientation (stills: misset
    angles in degrees, else None), the factor on the fluence and the noise image's ``-seed`` (None with
    ``-nonoise``).

    Example:
        >>> FramePlan(0, 0.0, 1.0, None, 1.0, None).osc_deg
        1.0
    """

    index: int
    phi_start_deg: float
    osc_deg: float
    misset_deg: Optional[Tuple[float, float, float]]
    fluence_factor: float
    noise_seed: Optional[int]


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset: the nanoBragg ``command`` (flags, as the ``nanobrag-torch`` command takes them), the
    number of ``frames`` and how they vary. Make one with :meth:`series` or :meth:`stills`.

    ``seed`` (the noise image's) and ``misset_seed`` (the stills' orientations) are the command's, or drawn
    from the clock when it gives none (``drawn_seeds`` names those). ``parsed`` holds the configs.

    Example:
        >>> spec = DatasetSpec.stills("-cell 100 100 100 90 90 90 -default_F 100 -detpixels 16 -misset_seed 3",
        ...                           shots=2, fluence_jitter=0.1)
        >>> plan = spec.plan(1)
        >>> [round(a, 6) for a in plan.misset_deg], round(plan.fluence_factor, 6)
        ([147.45252, 18.512334, 79.142423], 1.030773)
    """

    command: Tuple[str, ...]
    frames: int
    stills: bool = False
    fluence_jitter: float = 0.0
    seed: Optional[int] = None
    misset_seed: Optional[int] = None
    drawn_seeds: FrozenSet[str] = frozenset()
    parsed: object = field(default=None, compare=False, repr=False)

    # -- construction -------------------------------------------------------------------------------

    @classmethod
    def series(cls, command: Union[str, Sequence[str]], frames: int) -> "DatasetSpec":
        """A rotation series of ``frames`` frames, each turning the crystal by the command's ``-osc``.

        Example:
            >>> DatasetSpec.series("-cell 100 100 100 90 90 90 -default_F 1 -detpixels 8 -osc 1", 360).frames
            360
        """
        return cls._make(command, frames, stills=False, fluence_jitter=0.0)

    @classmethod
    def stills(cls, command: Union[str, Sequence[str]], shots: int, fluence_jitter: float = 0.0) -> "DatasetSpec":
        """``shots`` stills, each with a uniformly random crystal orientation; ``fluence_jitter`` is the
        relative rms of the per-shot fluence (0: every shot gets the command's fluence).

        Example:
            >>> DatasetSpec.stills("-cell 100 100 100 90 90 90 -default_F 1 -detpixels 8", 10).stills
            True
        """
        return cls._make(command, shots, stills=True, fluence_jitter=fluence_jitter)

    @classmethod
    def _make(cls, command, frames, *, stills: bool, fluence_jitter: float) -> "DatasetSpec":
        argv = tuple(shlex.split(command) if isinstance(command, str) else (str(token) for token in command))
        frames = _whole_number("-frames" if not stills else "-stills", frames)
        try:
            parsed = parse_args(list(argv))
        except CommandLineError as error:
            raise DatasetError(str(error)) from None
        crystal = parsed.simulation.crystal
        seed, misset_seed, drawn = parsed.output.seed, crystal.misset_seed, set()
        if seed is None and parsed.output.write_noise:
            seed, drawn = _clock_seed(), drawn | {"seed"}
        if misset_seed is None and (stills or crystal.misset_random):
            misset_seed, drawn = _clock_seed(), drawn | {"misset_seed"}
        spec = cls(argv, frames, stills, float(fluence_jitter), seed, misset_seed, frozenset(drawn), parsed)
        spec._check()
        return spec

    def _check(self) -> None:
        crystal = self.parsed.simulation.crystal
        if not (math.isfinite(self.fluence_jitter) and self.fluence_jitter >= 0):
            raise DatasetError(f"-fluence_jitter: expected a number >= 0 (relative rms), got {self.fluence_jitter!r}")
        if self.stills and crystal.misset_random:
            raise DatasetError("-misset random: a set of stills draws every shot's orientation (from -misset_seed); "
                               "give a fixed -misset or none")
        if not self.stills:
            if crystal.osc_deg is None or not crystal.osc_deg > 0:
                raise DatasetError("-osc: a rotation series needs the oscillation of each frame, -osc > 0 (deg)")
            if self.fluence_jitter:
                raise DatasetError("-fluence_jitter: only a set of stills (-stills N) varies the fluence")

    def with_seeds(self, seed: Optional[int], misset_seed: Optional[int]) -> "DatasetSpec":
        """This spec with the seeds it drew replaced by the given ones (those of a file being resumed).

        Example:
            >>> spec = DatasetSpec.series("-cell 100 100 100 90 90 90 -default_F 1 -detpixels 8 -osc 1", 2)
            >>> spec.with_seeds(42, None).seed, spec.with_seeds(42, None).drawn_seeds
            (42, frozenset())
        """
        seeds = {"seed": seed, "misset_seed": misset_seed}
        return dataclasses.replace(self, drawn_seeds=frozenset(),
                                   **{name: seeds[name] for name in self.drawn_seeds})

    # -- what the dataset holds ---------------------------------------------------------------------

    @property
    def noise(self) -> bool:
        """Whether frames hold nanoBragg's noise image (uint16 counts); else the float image (photons).

        Example:
            >>> DatasetSpec.series("-cell 100 100 100 90 90 90 -default_F 1 -detpixels 8 -osc 1 -nonoise", 1).noise
            False
        """
        return bool(self.parsed.output.write_noise)

    def identity(self) -> Dict[str, object]:
        """Everything that decides the frames' content, as JSON-able values: two specs with the same
        identity make the same frames, byte for byte.

        Example:
            >>> sorted(DatasetSpec.series("-cell 100 100 100 90 90 90 -default_F 1 -detpixels 8 -osc 1 "
            ...                           "-seed 1", 2).identity())
            ['command', 'fluence_jitter', 'frames', 'kind', 'misset_seed', 'seed']
        """
        return {"command": list(self.command), "frames": self.frames, "kind": "stills" if self.stills else "series",
                "fluence_jitter": self.fluence_jitter, "seed": self.seed, "misset_seed": self.misset_seed}

    def token(self) -> str:
        """A short name for this dataset's identity (it names the frames' tasks on a shared cluster).

        Example:
            >>> len(DatasetSpec.series("-cell 100 100 100 90 90 90 -default_F 1 -detpixels 8 -osc 1", 2).token())
            16
        """
        import hashlib

        text = json.dumps(self.identity(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    # -- one frame ----------------------------------------------------------------------------------

    def plan(self, index: int) -> FramePlan:
        """What frame ``index`` (0-based) changes in the command line. Pure: the same on every process.

        Example:
            >>> spec = DatasetSpec.series("-cell 100 100 100 90 90 90 -default_F 1 -detpixels 8 -osc 2 -seed 9", 4)
            >>> spec.plan(3).phi_start_deg, spec.plan(3).noise_seed == spec.plan(3).noise_seed
            (6.0, True)
        """
        if not 0 <= index < self.frames:
            raise IndexError(f"frame {index} is outside the dataset's {self.frames} frames (0..{self.frames - 1})")
        crystal = self.parsed.simulation.crystal
        phi0, osc = float(crystal.phi0_deg), float(crystal.osc_deg) if crystal.osc_deg is not None else 0.0
        misset, factor = None, 1.0
        if self.stills:
            misset, factor = self._shot(index)
        else:
            phi0 = phi0 + index * osc
        noise_seed = _derived_seed(self.seed, index) if self.noise else None
        return FramePlan(index, phi0, osc, misset, factor, noise_seed)

    def _shot(self, index: int) -> Tuple[Tuple[float, float, float], float]:
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(_entropy(self.misset_seed),
                                                                         spawn_key=(index,))))
        # The orientation is drawn first, so the jitter does not change which orientations a seed gives.
        shot = random_rotation(rng)
        base = self.parsed.simulation.crystal.misset_deg
        if base is not None:
            shot = shot @ rotation_of_misset_deg([float(angle) for angle in base])
        factor = 1.0
        if self.fluence_jitter > 0:
            shape = 1.0 / self.fluence_jitter**2  # a gamma of mean 1 and rms jitter
            factor = float(rng.gamma(shape, 1.0 / shape))
        return misset_deg_of(shot), factor

    def frame_config(self, index: int):
        """The ``SimulationConfig`` of frame ``index``: the command's, with the frame's plan applied.

        Example:
            >>> spec = DatasetSpec.series("-cell 100 100 100 90 90 90 -default_F 1 -detpixels 8 -osc 2", 4)
            >>> spec.frame_config(1).crystal.phi0_deg
            2.0
        """
        plan, simulation = self.plan(index), self.parsed.simulation
        crystal = dataclasses.replace(simulation.crystal, phi0_deg=plan.phi_start_deg)
        beam = simulation.beam
        if plan.misset_deg is not None:
            crystal = dataclasses.replace(crystal, misset_deg=plan.misset_deg, misset_random=False)
        elif crystal.misset_random:
            crystal = dataclasses.replace(crystal, misset_seed=self.misset_seed)
        if plan.fluence_factor != 1.0:
            name, value = self._fluence_flag(plan)
            beam = dataclasses.replace(beam, **{name: value})
        return dataclasses.replace(simulation, crystal=crystal, beam=beam)

    def _fluence_flag(self, plan: FramePlan) -> Tuple[str, float]:
        """The beam field the fluence factor scales: ``flux`` where the fluence is derived from it."""
        beam = self.parsed.simulation.beam
        if beam.flux != 0:
            return "flux", beam.flux * plan.fluence_factor
        return "fluence", beam.fluence * plan.fluence_factor

    def command_line(self, index: int) -> List[str]:
        """A ``nanobrag-torch`` command line whose images are frame ``index``'s: the dataset's command with
        the frame's flags appended (the last value of a flag wins, as in nanoBragg).

        Example:
            >>> spec = DatasetSpec.stills("-cell 100 100 100 90 90 90 -default_F 1 -detpixels 8 -misset_seed 1 "
            ...                           "-seed 5", 3)
            >>> added = spec.command_line(0)[len(spec.command):]
            >>> [token for token in added if token[:1] == "-" and not token[1:2].isdigit()]
            ['-phi', '-misset', '-seed']
        """
        plan = self.plan(index)
        extra = ["-phi", repr(plan.phi_start_deg)]
        if not self.stills:
            extra += ["-osc", repr(plan.osc_deg)]
        if plan.misset_deg is not None:
            extra += ["-misset", *map(repr, plan.misset_deg)]
        elif self.parsed.simulation.crystal.misset_random:
            extra += ["-misset_seed", str(self.misset_seed)]
        if plan.fluence_factor != 1.0:
            name, value = self._fluence_flag(plan)
            extra += [f"-{name}", repr(value)]
        if plan.noise_seed is not None:
            extra += ["-seed", str(plan.noise_seed)]
        return list(self.command) + extra


def _whole_number(option: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise DatasetError(f"{option}: expected an integer >= 1, got {value!r}")
    return int(value)


def _clock_seed() -> int:
    """nanoBragg's default seed: the clock, in seconds."""
    return int(time.time())


def _entropy(seed: int) -> int:
    """A SeedSequence takes non-negative entropy; nanoBragg's seeds may be negative."""
    return int(seed) % 2**64


def _derived_seed(seed: int, index: int) -> int:
    """Frame ``index``'s ``-seed`` for the noise image: a hash of (seed, index) in nanoBragg's seed range,
    so that neighbouring frames (and neighbouring seeds) get unrelated streams."""
    state = np.random.SeedSequence(_entropy(seed), spawn_key=(index,)).generate_state(1, np.uint64)[0]
    return 1 + int(state) % _SEED_RANGE
