"""Each nanoBragg physics bug: the default result differs from c_compat exactly as the bug predicts, and the
declaration of the bugs (nanobrag_torch.c_bugs) is the one the notes and docs/c_compat.md show.

Every expected image here is computed independently of the simulator: from closed-form geometry of a MOSFLM
detector, from separate simpler simulations, or from the published formulas.
"""

import ast
from pathlib import Path

import numpy as np
import pytest

from nanobrag_torch import c_bugs
from nanobrag_torch.cli import parse_args
from nanobrag_torch.physics import R_E_SQR
from nanobrag_torch.simulator import Simulator

from .reference import run_folder

TESTS = Path(__file__).resolve().parent
DOCS = TESTS.parents[1] / "docs" / "c_compat.md"

FLUENCE = 1.25932015286227e29  # nanoBragg's default, photons/m^2
# One unit cell (N = 1): F_latt = 1 everywhere, so every evaluation contributes F^2 = 100.
FLAT = "-cell 100 100 100 90 90 90 -default_F 10 -N 1 -lambda 1 -distance 100 -pixel 0.1 -detpixels 8 -nopolar"


@pytest.fixture(autouse=True)
def _run_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(run_folder(tmp_path))


def image(flags: str, c_compat: bool) -> np.ndarray:
    config = parse_args(flags.split()).simulation
    config.c_compat = c_compat
    return Simulator.from_config(config).run().numpy()


def mosflm_positions(pixel_mm=0.1, pixels=8, distance_mm=100.0, oversample=1, depth_m=0.0):
    """Sub-pixel centres of a default MOSFLM detector, (slow, fast, sub_s, sub_f, 3), from its definition:
    beam along x, fast along z, slow along -y, beam centre (size + pixel)/2 + pixel/2 from the origin."""
    px, d = pixel_mm / 1000, distance_mm / 1000
    beam_fs = (pixels * px + px) / 2 + 0.5 * px
    sub = (np.arange(pixels * oversample) + 0.5) * px / oversample
    fast = sub.reshape(pixels, oversample)
    slow = sub.reshape(pixels, oversample)
    x = np.full((pixels, pixels, oversample, oversample), d + depth_m)
    y = beam_fs - slow[:, None, :, None] + 0 * fast[None, :, None, :]
    z = -beam_fs + fast[None, :, None, :] + 0 * slow[:, None, :, None]
    return np.stack((x, y, z), axis=-1)


def solid_angle(positions, pixel_m=1e-4, close_m=0.1):
    r = np.linalg.norm(positions, axis=-1)
    return pixel_m * pixel_m / r ** 3 * close_m


def test_oversample_omega_multiplies_each_term_not_the_running_sum():
    """-oversample_omega: default sums F^2 * omega_k; the C multiplies the running sum by omega_k (quirk 17)."""
    flags = FLAT + " -oversample 2 -oversample_omega"
    omega = solid_angle(mosflm_positions(oversample=2)).reshape(8, 8, 4)
    scale = R_E_SQR * FLUENCE / 4  # steps = 2 x 2 sub-pixels
    expected_default = scale * 100 * omega.sum(axis=-1)
    running = np.zeros((8, 8))
    for k in range(4):  # C order: sub-pixel slow outer, fast inner
        running = (running + 100) * omega[..., k]
    np.testing.assert_allclose(image(flags, False), expected_default, rtol=1e-12)
    np.testing.assert_allclose(image(flags, True), scale * running, rtol=1e-12)


def capture(depth_m, step_m, mu, layer):
    positions = mosflm_positions(depth_m=depth_m)[:, :, 0, 0]
    parallax = positions[..., 0] / np.linalg.norm(positions, axis=-1)  # normal is +x
    return np.exp(-layer * step_m * mu / parallax) - np.exp(-(layer + 1) * step_m * mu / parallax)


def test_sensor_layers_use_their_own_capture_fraction():
    """Three layers of a 90 um sensor: default weighs each layer by its capture fraction, 30 um apart; the C
    spaces them 45 um apart and applies the last layer's fraction to all three (quirk 18)."""
    flags = FLAT + " -oversample 1 -detector_thick 90 -detector_absorb 30 -detector_thicksteps 3"
    mu = 1 / 30e-6
    omega = solid_angle(mosflm_positions()[:, :, 0, 0])
    correct = sum(capture(t * 30e-6, 30e-6, mu, t) for t in range(3))
    c_like = 3 * capture(2 * 45e-6, 45e-6, mu, 2)
    np.testing.assert_allclose(image(flags, False), R_E_SQR * FLUENCE * 100 * correct * omega, rtol=1e-12)
    np.testing.assert_allclose(image(flags, True), R_E_SQR * FLUENCE * 100 * c_like * omega, rtol=1e-12)


def test_water_background_is_scaled_once():
    """-water: the background is F_bg^2 r_e^2 fluence V rho N_A / MW photons per steradian, times the solid
    angle; the C scales it again by r_e^2 fluence / steps (quirk 19)."""
    water_m = 5e-6
    per_sr = 2.57 ** 2 * R_E_SQR * FLUENCE * water_m ** 3 * 1e6 * 6.02214179e23 / 18.0
    omega = solid_angle(mosflm_positions(oversample=2)[:, :, 0, 0])
    base = FLAT + " -oversample 2"
    for c_compat, expected in ((False, per_sr * omega), (True, R_E_SQR * FLUENCE * per_sr / 4 * omega)):
        background = image(base + " -water 5", c_compat) - image(base, c_compat)
        np.testing.assert_allclose(background, expected, rtol=1e-9)


def test_phi_zero_reuses_the_last_step_in_c_compat():
    """Three spindle steps from phi = 0: default averages the three orientations; the C uses the last
    step's orientation again at phi = 0, except for the very first pixel it renders (quirk 15)."""
    crystal = "-cell 100 100 100 90 90 90 -misset 5 10 15 -default_F 10 -N 5 -lambda 1 -distance 100 " \
              "-pixel 0.1 -detpixels 16 -oversample 1"
    step = 0.1
    single = [image(f"{crystal} -phi {k * step:.1f} -osc {step} -phisteps 1", False) for k in range(3)]
    sweep = f"{crystal} -phi 0 -osc {3 * step:.1f} -phisteps 3"
    # phi_k = k * (0.3/3) degrees in the sweep vs k*0.1 typed: equal up to the last bit of the angle.
    np.testing.assert_allclose(image(sweep, False), sum(single) / 3, rtol=1e-12)
    c_expected = (single[2] + single[1] + single[2]) / 3
    c_expected[0, 0] = sum(single)[0, 0] / 3
    np.testing.assert_allclose(image(sweep, True), c_expected, rtol=1e-12)


def test_source_weights_are_honoured(tmp_path):
    """-sourcefile weights 1 and 3: default weighs the two sources 1:3; the C ignores weights."""
    def sourcefile(name, rows):
        path = tmp_path / name
        path.write_text("".join(f"{x} {y} {z} {w} 1e-10\n" for x, y, z, w in rows))
        return path

    first, second = (-10.0, 0.0, 0.0), (-10.0, 0.02, 0.0)
    crystal = "-cell 100 100 100 90 90 90 -misset 5 10 15 -default_F 10 -N 5 -lambda 1 -distance 100 " \
              "-pixel 0.1 -detpixels 16 -oversample 1 -nopolar"
    alone = [image(f"{crystal} -sourcefile {sourcefile(f's{i}.txt', [(*pos, 1)])}", False)
             for i, pos in enumerate((first, second))]
    both = f"{crystal} -sourcefile {sourcefile('both.txt', [(*first, 1), (*second, 3)])}"
    np.testing.assert_allclose(image(both, False), (alone[0] + 3 * alone[1]) / 4, rtol=1e-12)
    np.testing.assert_allclose(image(both, True), (alone[0] + alone[1]) / 2, rtol=1e-12)


def miller_indices_of_pixels(pixels, pixel_mm, beam_mm, cell_A=100.0):
    """h, k, l at pixel centres for an unrotated cubic cell (a along x, b along y, c along z), MOSFLM."""
    px = pixel_mm / 1000
    centre = (np.arange(pixels) + 0.5) * px
    beam_f = beam_s = beam_mm / 1000 + 0.5 * px
    x = np.full((pixels, pixels), 0.1)
    y = beam_s - centre[:, None] + 0 * centre[None, :]
    z = -beam_f + centre[None, :] + 0 * centre[:, None]
    position = np.stack((x, y, z), axis=-1)
    diffracted = position / np.linalg.norm(position, axis=-1, keepdims=True)
    scattering = (diffracted - np.array([1.0, 0.0, 0.0])) / 1e-10
    return [cell_A * 1e-10 * scattering[..., i] for i in range(3)]


def test_interpolation_stops_for_good_in_c_compat():
    """Past the first pixel whose 4x4x4 neighbourhood leaves the HKL table, the C takes nearest structure
    factors for every later pixel (quirk 20); the default falls back per evaluation."""
    flags = "-cell 100 100 100 90 90 90 -hkl ../inputs/cubic.hkl -N 2 -lambda 1 -distance 100 -pixel 0.5 " \
            "-detpixels 24 -oversample 1 -Xbeam 0.5 -Ybeam 0.5 -nopolar"
    default, c_like = image(flags + " -interpolate", False), image(flags + " -interpolate", True)
    nearest = image(flags + " -nointerpolate", False)
    h, k, l = miller_indices_of_pixels(24, 0.5, 0.5)
    # cubic.hkl spans -7..7: the C's test (index - low + 3 > 15 or index - 2 < low) on each index.
    outside = np.zeros(h.shape, dtype=bool)
    for index in (h, k, l):
        outside |= (index + 7 + 3 > 15) | (index - 2 < -7)
    first = int(np.flatnonzero(outside.ravel())[0])
    assert 0 < first < outside.size // 2
    flat = lambda a: a.ravel()  # noqa: E731
    np.testing.assert_array_equal(flat(c_like)[:first], flat(default)[:first])
    np.testing.assert_array_equal(flat(c_like)[first:], flat(nearest)[first:])
    assert not np.array_equal(flat(default)[first:], flat(nearest)[first:])


def test_defaults_report_no_difference_for_plain_runs():
    """A run without any of these features has no C physics bug to report."""
    config = parse_args(FLAT.split()).simulation
    assert Simulator.from_config(config).c_compat_differences() == []


# One input per bug that brings it (and only the bugs listed with it) into effect. FLAT's F_latt = 1 hides the
# orientation and the source direction, so the bugs that act through them need N > 1.
TRIGGERS = {
    c_bugs.PHI_ZERO_CARRY_OVER: ("-phi 0 -osc 0.3 -phisteps 3 -misset 5 10 15 -N 5", []),
    c_bugs.OVERSAMPLE_RUNNING_SUM: ("-oversample 2 -oversample_omega -oversample_polar", []),
    c_bugs.LAST_LAYER_CAPTURE: ("-detector_thick 90", []),
    c_bugs.LAYER_SPACING: ("-detector_thick 90 -detector_thicksteps 3", [c_bugs.LAST_LAYER_CAPTURE]),
    c_bugs.WATER_SCALED_TWICE: ("-water 5", []),
    c_bugs.SOURCE_WEIGHTS_IGNORED: ("-sourcefile {sources} -misset 5 10 15 -N 5", []),
    c_bugs.TWOTHETA_AXIS_AS_TYPED: ("-twotheta_axis 0 0 -2 -twotheta 10", []),
    c_bugs.INTERPOLATION_SWITCH_OFF: ("-hkl ../inputs/cubic.hkl -N 2 -interpolate -pixel 0.5 -detpixels 24 "
                                      "-Xbeam 0.5 -Ybeam 0.5", []),
}


def test_every_bug_has_a_trigger_here():
    """The examples below cover the whole declaration."""
    assert set(TRIGGERS) == set(c_bugs.C_BUGS)


@pytest.mark.parametrize("bug", c_bugs.C_BUGS, ids=lambda bug: bug.quirk)
def test_each_bug_is_noted_exactly_when_its_input_is_given_and_c_compat_reproduces_it(bug, tmp_path):
    """The input that triggers a bug makes c_compat_differences() name it (and nothing else), and turning
    c_compat on changes the image: the declared predicate and the runtime switch agree."""
    sources = tmp_path / "sources.txt"
    sources.write_text("-10 0 0 1 1e-10\n-10 0.02 0 3 1e-10\n")
    flags, also = TRIGGERS[bug]
    config = parse_args(f"{FLAT} {flags.format(sources=sources)}".split()).simulation
    simulator = Simulator.from_config(config)
    expected = [b for b in c_bugs.C_BUGS if b is bug or b in also]
    assert simulator.c_compat_differences() == [b.message(simulator) for b in expected]
    config.c_compat = True
    assert not np.array_equal(Simulator.from_config(config).run().numpy(), simulator.run().numpy())


def test_notes_name_the_oversample_flags_in_effect():
    """The running-sum note names the -oversample_* flags given, in the C's order."""
    config = parse_args(f"{FLAT} -oversample 2 -oversample_omega -oversample_thick".split()).simulation
    assert Simulator.from_config(config).c_compat_differences() == [
        "-oversample_thick/omega: the C multiplies the running sum, not each term"]


def test_twotheta_axis_of_any_length_is_no_bug_at_zero_two_theta():
    """A turn by 0 leaves every vector as it is, so a non-unit axis changes nothing and is not noted."""
    config = parse_args(f"{FLAT} -twotheta 10 -twotheta_axis 0 0 -2".split()).simulation  # the axis sets 0
    simulator = Simulator.from_config(config)
    assert simulator.detector.twotheta_rad == 0 and simulator.c_compat_differences() == []
    config.c_compat = True
    assert np.array_equal(Simulator.from_config(config).run().numpy(), simulator.run().numpy())


def test_docs_table_is_the_declaration():
    """docs/c_compat.md shows the table generated from nanobrag_torch.c_bugs, row for row (regenerate it with
    python -m nanobrag_torch.c_bugs)."""
    table = c_bugs.markdown_table()
    assert len(table.splitlines()) == 2 + len(c_bugs.C_BUGS)
    assert table in DOCS.read_text()


@pytest.mark.parametrize("bug", c_bugs.C_BUGS, ids=lambda bug: bug.quirk)
def test_each_bug_names_a_test_that_exists(bug):
    """tested_by is file::function of a test function under tests/nanobrag."""
    file_name, function = bug.tested_by.split("::")
    tree = ast.parse((TESTS / file_name).read_text())
    assert function in {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
