"""What each frame of a dataset is: spindle ranges, random orientations, fluence jitter, seeds, bad specs."""

import math

import numpy as np
import pytest
import torch

from nanobrag_torch.config import CrystalConfig
from nanobrag_torch.datasets import DatasetError, DatasetSpec
from nanobrag_torch.datasets._rotations import (lab_to_mcstas, misset_deg_of, random_rotation,
                                                 rotation_of_misset_deg)
from nanobrag_torch.models.conventions import CONVENTION_AXES
from nanobrag_torch.models.crystal import Crystal

from .commands import SERIES, STILLS, without


def test_series_frame_i_covers_phi0_plus_i_osc(series_spec):
    """Frame i starts at -phi + i*-osc and is -osc wide; -phisteps is the command's."""
    plans = [series_spec.plan(i) for i in range(4)]
    assert [(p.phi_start_deg, p.osc_deg) for p in plans] == [(3.0, 0.5), (3.5, 0.5), (4.0, 0.5), (4.5, 0.5)]
    config = series_spec.frame_config(2)
    assert (config.crystal.phi0_deg, config.crystal.osc_deg, config.crystal.phisteps) == (4.0, 0.5, 2)


def test_frame_command_line_is_the_command_plus_the_frames_flags(series_spec):
    """command_line(i) appends -phi, -osc and the frame's noise -seed to the dataset's command."""
    plan = series_spec.plan(1)
    assert series_spec.command_line(1) == SERIES + ["-phi", "3.5", "-osc", "0.5", "-seed", str(plan.noise_seed)]


def test_noise_seeds_differ_per_frame_and_depend_only_on_seed_and_index():
    """Each frame's noise seed is its own, in nanoBragg's range, and the same from a fresh spec."""
    seeds = [DatasetSpec.series(SERIES, 50).plan(i).noise_seed for i in range(50)]
    assert len(set(seeds)) == 50
    assert all(1 <= seed <= 2**31 - 2 for seed in seeds)
    assert DatasetSpec.series(SERIES, 200).plan(49).noise_seed == seeds[49]


def test_still_orientations_are_uniform_rotations():
    """Over 2000 shots the mean rotation matrix is ~0 and the mean trace ~0, as for the Haar measure."""
    spec = DatasetSpec.stills(STILLS, 2000)
    rotations = np.array([rotation_of_misset_deg(spec.plan(i).misset_deg) for i in range(2000)])
    assert np.allclose(np.einsum("nij,nkj->nik", rotations, rotations), np.eye(3), atol=1e-12)
    # Haar: E[R] = 0 and E[trace R] = 0; the rms of each element is 1/sqrt(3), so 4 sigma is 0.052.
    assert np.abs(rotations.mean(axis=0)).max() < 0.052
    assert abs(np.trace(rotations, axis1=1, axis2=2).mean()) < 0.09


def test_a_shot_is_the_same_alone_and_whatever_the_jitter():
    """Shot 7's orientation does not depend on the number of shots or on -fluence_jitter."""
    alone = DatasetSpec.stills(STILLS, 8).plan(7)
    jittered = DatasetSpec.stills(STILLS, 100, fluence_jitter=0.3).plan(7)
    assert alone.misset_deg == jittered.misset_deg
    assert alone.fluence_factor == 1.0 and jittered.fluence_factor != 1.0


def test_fluence_jitter_has_mean_one_and_the_given_rms():
    """The per-shot fluence factors (gamma) have mean 1 and relative rms 0.2 over 4000 shots."""
    spec = DatasetSpec.stills(STILLS, 4000, fluence_jitter=0.2)
    factors = np.array([spec.plan(i).fluence_factor for i in range(4000)])
    assert abs(factors.mean() - 1) < 0.02 and abs(factors.std() - 0.2) < 0.02 and factors.min() > 0
    assert spec.frame_config(3).beam.fluence == spec.parsed.simulation.beam.fluence * factors[3]


def test_shot_orientation_composes_with_the_commands_misset():
    """With -misset the shot's rotation is U_shot @ R_misset, U_shot being the one drawn without it."""
    plain = DatasetSpec.stills(STILLS, 3).plan(2).misset_deg
    tilted = DatasetSpec.stills(STILLS + "-misset 10 20 30".split(), 3).plan(2).misset_deg
    expected = rotation_of_misset_deg(plain) @ rotation_of_misset_deg((10, 20, 30))
    assert np.allclose(rotation_of_misset_deg(tilted), expected, atol=1e-13)


def test_misset_angles_rotate_the_crystal_as_the_matrix_says():
    """Crystal(misset_deg=misset_deg_of(U)) has the real vectors U @ (the unrotated crystal's)."""
    u = random_rotation(np.random.default_rng(3))
    kwargs = dict(wavelength_A=1.0, spindle_axis_default=(0.0, 0.0, 1.0))
    base = Crystal(CrystalConfig(cell=(70, 80, 90, 90, 95, 100), default_F=1), **kwargs)
    turned = Crystal(CrystalConfig(cell=(70, 80, 90, 90, 95, 100), default_F=1, misset_deg=misset_deg_of(u)),
                     **kwargs)
    for before, after in ((base.a, turned.a), (base.b, turned.b), (base.c, turned.c)):
        assert np.allclose(after.numpy(), u @ before.numpy(), rtol=0, atol=1e-22)


@pytest.mark.parametrize("convention", sorted(CONVENTION_AXES, key=lambda c: c.name), ids=lambda c: c.name)
def test_lab_to_mcstas_puts_each_conventions_beam_on_plus_z(convention):
    """The frame change is a proper rotation taking the convention's beam exactly onto +z."""
    rotation = lab_to_mcstas(CONVENTION_AXES[convention].beam)
    assert (rotation @ CONVENTION_AXES[convention].beam).tolist() == [0.0, 0.0, 1.0]
    assert np.allclose(rotation @ rotation.T, np.eye(3)) and math.isclose(np.linalg.det(rotation), 1.0)


def test_seeds_not_given_are_drawn_once_and_can_be_replaced():
    """Without -seed the spec draws one (noted in drawn_seeds); with_seeds puts a file's back."""
    command = without(SERIES, "-seed")
    spec = DatasetSpec.series(command, 2)
    assert spec.drawn_seeds == {"seed"} and isinstance(spec.seed, int)
    resumed = spec.with_seeds(1234, None)
    assert (resumed.seed, resumed.drawn_seeds) == (1234, frozenset())
    assert DatasetSpec.series(SERIES, 2).drawn_seeds == frozenset()


@pytest.mark.parametrize("make,message", [
    (lambda: DatasetSpec.series(without(SERIES, "-osc"), 2),
     "-osc: a rotation series needs the oscillation of each frame, -osc > 0 (deg)"),
    (lambda: DatasetSpec.series(SERIES, 0), "-frames: expected an integer >= 1, got 0"),
    (lambda: DatasetSpec.stills(STILLS, 2, fluence_jitter=-0.1),
     "-fluence_jitter: expected a number >= 0 (relative rms), got -0.1"),
    (lambda: DatasetSpec.stills(STILLS + ["-misset", "random"], 2),
     "-misset random: a set of stills draws every shot's orientation (from -misset_seed); give a fixed -misset "
     "or none"),
    (lambda: DatasetSpec.series(SERIES + ["-lambda", "0"], 2), "-lambda: expected a number > 0 (Angstrom), got '0'"),
])
def test_bad_specs_are_one_line_errors_naming_the_flag(make, message):
    """A spec nanoBragg or the dataset cannot take raises DatasetError with the flag's name."""
    with pytest.raises(DatasetError) as caught:
        make()
    assert str(caught.value) == message


def test_plan_refuses_a_frame_outside_the_dataset(series_spec):
    """Frame 4 of a 4-frame dataset is an IndexError that names the range."""
    with pytest.raises(IndexError, match=r"frame 4 is outside the dataset's 4 frames \(0..3\)"):
        series_spec.plan(4)


def test_the_spec_survives_pickling(series_spec):
    """Workers receive the spec pickled: its frames' configs are unchanged by the trip."""
    import pickle

    copy = pickle.loads(pickle.dumps(series_spec))
    assert copy == series_spec and copy.frame_config(3) == series_spec.frame_config(3)
    assert torch.equal(torch.as_tensor(copy.parsed.simulation.detector.distance_mm),
                       torch.as_tensor(series_spec.parsed.simulation.detector.distance_mm))
