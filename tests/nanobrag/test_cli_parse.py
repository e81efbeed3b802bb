"""nanoBragg command lines -> configs: defaults, convention and pivot rules, flag order, bad input."""

import dataclasses
import os

import pytest

from nanobrag_torch.cli import CommandLineError, parse_args
from nanobrag_torch.cli._flags import FLAGS, FlagState
from nanobrag_torch.cli._resolve import RESOLVED_KEYS, ParsedCommandLine
from nanobrag_torch.config import (BeamConfig, CrystalConfig, CrystalShape, DetectorConfig, DetectorConvention,
                                   DetectorPivot, OutputConfig, SimulationConfig)

from .reference import REFERENCE_DIR

CRYSTAL = "-cell 100 100 100 90 90 90 -default_F 100".split()
# nanoBragg reads ./Fdump.bin when -hkl is absent: these parse with a base folder that has none.
NO_FDUMP = REFERENCE_DIR / "inputs"


def parse(text: str):
    return parse_args(CRYSTAL + text.split(), base_dir=NO_FDUMP)


def detector(text: str):
    return parse(text).simulation.detector


def test_defaults_are_nanobraggs():
    """No detector flag: MOSFLM, BEAM pivot, 100 mm, 0.1 mm pixels, 1024x1024."""
    det = detector("")
    assert (det.convention, det.effective_pivot()) == (DetectorConvention.MOSFLM, DetectorPivot.BEAM)
    assert (det.distance_mm, det.pixel_size_mm, det.fpixels, det.spixels) == (100.0, 0.1, 1024, 1024)


def test_last_convention_flag_wins():
    """Convention flags apply in order; the last one is used."""
    assert detector("-xds -adxv").convention is DetectorConvention.ADXV
    assert detector("-adxv -xds").convention is DetectorConvention.XDS


@pytest.mark.parametrize("flags,pivot", [
    ("-mosflm -twotheta 10", DetectorPivot.BEAM),
    ("-mosflm -close_distance 90", DetectorPivot.BEAM),
    ("-xds -distance 90", DetectorPivot.SAMPLE),
    ("-dials -Xbeam 5", DetectorPivot.SAMPLE),
    ("-denzo -pivot sample", DetectorPivot.BEAM),
])
def test_convention_forces_the_pivot(flags, pivot):
    """MOSFLM/DENZO/ADXV always pivot about the beam spot, XDS/DIALS about the sample (quirk 2)."""
    assert detector(flags).effective_pivot() is pivot


def test_ignored_pivot_flag_is_reported():
    """An explicit -pivot that the convention overrides gets a note."""
    notes = parse("-mosflm -pivot sample").notes
    assert "-pivot sample is ignored: the MOSFLM convention always pivots about the beam spot" in notes


@pytest.mark.parametrize("flags,pivot", [
    ("-fdet_vector 0 0 1 -distance 100", DetectorPivot.BEAM),
    ("-fdet_vector 0 0 1 -distance 100 -twotheta 5", DetectorPivot.SAMPLE),
    ("-fdet_vector 0 0 1 -twotheta 5 -distance 100", DetectorPivot.BEAM),
    ("-fdet_vector 0 0 1 -close_distance 90", DetectorPivot.SAMPLE),
    ("-fdet_vector 0 0 1 -close_distance 90 -Xbeam 3", DetectorPivot.BEAM),
    ("-fdet_vector 0 0 1 -Xclose 3 -pivot beam", DetectorPivot.BEAM),
    ("-fdet_vector 0 0 1 -pivot beam -ORGX 30", DetectorPivot.SAMPLE),
])
def test_custom_pivot_follows_the_last_pivoting_flag(flags, pivot):
    """In CUSTOM the last of -distance/-Xbeam (beam) and -close_distance/-Xclose/-ORGX/-twotheta (sample)
    or -pivot wins."""
    det = detector(flags)
    assert det.convention is DetectorConvention.CUSTOM
    assert det.effective_pivot() is pivot


def test_twotheta_axis_after_twotheta_resets_twotheta():
    """'-twotheta 15 -twotheta_axis 0 0.6 -0.8' runs with two-theta 0: the axis flag also sets -twotheta
    (quirk 9), and the port says so."""
    parsed = parse("-twotheta 15 -twotheta_axis 0 0.6 -0.8")
    assert parsed.simulation.detector.twotheta_deg == 0.0
    assert parsed.simulation.detector.twotheta_axis == (0.0, 0.6, -0.8)
    assert any("-twotheta_axis also sets two-theta to its first component (0 deg)" in n for n in parsed.notes)


def test_twotheta_after_twotheta_axis_is_kept():
    """'-twotheta_axis ... -twotheta 15' keeps 15 degrees and needs no note about it."""
    parsed = parse("-twotheta_axis 0 0.6 -0.8 -twotheta 15")
    assert parsed.simulation.detector.twotheta_deg == 15.0
    assert not any("also sets two-theta" in n for n in parsed.notes)


def test_curved_det_as_last_argument_is_ignored():
    """-curved_det needs a following argument in nanoBragg (quirk 11)."""
    last = parse("-curved_det")
    assert last.simulation.detector.curved is False
    assert "-curved_det is ignored: nanoBragg only honours it when it is not the last argument" in last.notes
    assert parse("-curved_det -nopgm").simulation.detector.curved is True


def test_pix0_vector_selects_custom_and_is_ignored():
    """-pix0_vector(_mm) switches to CUSTOM but does not place the detector (quirk 3)."""
    parsed = parse("-pix0_vector_mm 104.9 -5.5 -6.3")
    det = parsed.simulation.detector
    assert det.convention is DetectorConvention.CUSTOM and det.pix0_override_m is None
    assert any(n.startswith("-pix0_vector is ignored") for n in parsed.notes)


def test_non_unit_odet_is_replaced_like_the_c():
    """-odet_vector not exactly unit length is replaced by fdet x sdet (quirk 4)."""
    parsed = parse("-fdet_vector 0 0 1 -sdet_vector 0 -1 0 -odet_vector 0.99 0.01 0")
    assert parsed.simulation.detector.odet_vector == (1.0, 0.0, 0.0)
    assert any(n.startswith("-odet_vector is replaced") for n in parsed.notes)


def test_vectors_given_before_a_convention_flag_are_dropped():
    """A later -mosflm overrides custom axes; the port names the dropped flags."""
    parsed = parse("-fdet_vector 1 0 0 -mosflm")
    assert parsed.simulation.detector.convention is DetectorConvention.MOSFLM
    assert parsed.simulation.detector.fdet_vector is None
    assert "-fdet_vector ignored: the MOSFLM convention (from -mosflm) defines its own axes" in parsed.notes


def test_spindle_axis_selects_custom_with_a_note():
    """-spindle_axis (like -polar_vector) switches nanoBragg to the CUSTOM convention."""
    parsed = parse("-spindle_axis -1 0 0")
    assert parsed.simulation.detector.convention is DetectorConvention.CUSTOM
    assert parsed.simulation.crystal.spindle_axis == (-1.0, 0.0, 0.0)
    assert any(n.startswith("-spindle_axis selects nanoBragg's CUSTOM convention") for n in parsed.notes)


def test_detsize_rounds_to_whole_pixels():
    """-detsize without -detpixels gives ceil(size/pixel - 0.5) pixels and keeps the size for the centre."""
    det = detector("-detsize 100 -pixel 0.3")
    assert (det.fpixels, det.spixels, det.detsize_f_mm) == (333, 333, 100.0)
    assert detector("-detsize 100 -detpixels 50").detsize_f_mm is None


def test_detpixels_axes():
    """-detpixels_x/-detpixels_y set fast/slow counts."""
    det = detector("-detpixels_x 20 -detpixels_y 30")
    assert (det.fpixels, det.spixels) == (20, 30)


def test_noise_flags_follow_the_c_order():
    """-noisefile after -nonoise turns noise back on (quirk 21)."""
    assert parse("-nonoise -noisefile n.img").output.write_noise is True
    assert parse("-noisefile n.img -nonoise").output.write_noise is False


def test_energy_and_lambda_last_wins():
    """-energy and -lambda both set the wavelength; the last one counts."""
    assert parse("-lambda 1.5 -energy 12398.42").simulation.beam.wavelength_A == pytest.approx(1.0, rel=1e-15)
    assert parse("-energy 12398.42 -lambda 1.5").simulation.beam.wavelength_A == 1.5


def test_crystal_flags():
    """-N, -Na, shape and spindle flags reach the crystal config."""
    crystal = parse("-N 5 -Nc 7 -round_xtal -phi 5 -osc 3 -phisteps 3 -mosaic 0.5 -mosaic_domains 5 "
                    "-mosaic_seed 42").simulation.crystal
    assert (crystal.Na, crystal.Nb, crystal.Nc, crystal.shape) == (5, 5, 7, CrystalShape.ROUND)
    assert (crystal.phi0_deg, crystal.osc_deg, crystal.phisteps) == (5.0, 3.0, 3)
    assert (crystal.mosaic_spread_deg, crystal.mosaic_domains, crystal.mosaic_seed) == (0.5, 5, 42)


def test_partial_cell_is_padded():
    """-cell with fewer than six numbers stops at the next flag; the rest default later."""
    crystal = parse_args("-cell 50 -default_F 1".split(), base_dir=NO_FDUMP).simulation.crystal
    assert crystal.cell == (50.0, 0.0, 0.0, 0.0, 0.0, 0.0)


def test_crystal_size_is_clipped_to_the_beam():
    """nanoBragg clips the crystal's y/z size to the beam size; the port reports it."""
    parsed = parse("-xtalsize 0.3 -beamsize 0.1 -oversample 1")
    assert parsed.simulation.crystal.xtal_size_mm == (0.3, 0.1, 0.1)
    assert any("clipped to the beam size" in n for n in parsed.notes)


@pytest.mark.parametrize("argv,message", [
    ("-distanse 100", "unknown flag '-distanse' (did you mean -distance?)"),
    ("-distance", "-distance: expected 1 value, got 0"),
    ("-distance far", "-distance: expected a number > 0 (mm), got 'far'"),
    ("-N 2.5", "-N: expected an integer >= 1, got '2.5'"),
    ("-pivot middle", "-pivot: expected 'sample' or 'beam', got 'middle'"),
    ("-detsize 0.01", "detector has 0 pixels along fast: -detpixels/-detsize must be positive"),
    ("-pixel -0.1", "-pixel: expected a number > 0 (mm), got '-0.1'"),
    ("-detpixels 10 -trace_pixel 3 10", "-trace_pixel: pixel (slow 3, fast 10) is outside the 10x10"),
    ("-detpixels 10 -roi 5 4 0 9", "-roi: 5 4 0 9 selects no pixel of the 10x10 detector"),
    ("-fdet_vector 0 0", "-fdet_vector: expected 3 values, got 2"),
    ("100", "unexpected value '100'"),
])
def test_bad_input_is_a_clear_error(argv, message):
    """Each kind of bad input raises CommandLineError naming the flag."""
    with pytest.raises(CommandLineError) as error:
        parse(argv)
    assert str(error.value).startswith(message)


def test_missing_crystal_is_an_error():
    """Without -cell or -mat there is nothing to simulate."""
    with pytest.raises(CommandLineError, match="no crystal: give -cell"):
        parse_args(["-default_F", "1"], base_dir=NO_FDUMP)


def test_missing_structure_factors_is_an_error():
    """No -hkl, no Fdump.bin and no -default_F: every F would be zero."""
    with pytest.raises(CommandLineError) as error:
        parse_args("-cell 10 10 10 90 90 90".split(), base_dir=NO_FDUMP)
    assert str(error.value) == ("no structure factors: give -hkl FILE or -default_F (there is no "
                                f"{NO_FDUMP / 'Fdump.bin'})")


def test_port_flags():
    """-c_compat, -device and -dtype are the port's own flags."""
    parsed = parse("-c_compat -device cpu -dtype float32")
    assert (parsed.simulation.c_compat, parsed.device, parsed.dtype) == (True, "cpu", "float32")
    with pytest.raises(CommandLineError, match="-dtype: expected float64 or float32"):
        parse("-dtype float16")


def write_header_image(path, values, shape=(4, 6)):
    from nanobrag_torch.io.smv import write_smv
    import numpy as np

    image = np.ones(shape, np.uint16)
    image[0, 0] = 0
    write_smv(path, image, values)


def test_img_header_sets_the_camera(tmp_path):
    """-img takes pixel size, distance, wavelength and beam centre from an SMV header; flags override it."""
    write_header_image(tmp_path / "h.img", [("PIXEL_SIZE", 0.2), ("DISTANCE", 150.0), ("WAVELENGTH", 1.5),
                                            ("BEAM_CENTER_X", 0.3), ("BEAM_CENTER_Y", 0.5)])
    parsed = parse(f"-img {tmp_path / 'h.img'} -distance 120")
    det, beam = parsed.simulation.detector, parsed.simulation.beam
    assert (det.fpixels, det.spixels, det.pixel_size_mm) == (6, 4, 0.2)
    assert (det.distance_mm, beam.wavelength_A, det.xbeam_mm, det.ybeam_mm) == (120.0, 1.5, 0.3, 0.5)


def test_mask_header_flips_beam_y_and_masks_pixels(tmp_path):
    """-mask also sets the camera (BEAM_CENTER_Y measured from the far edge, as nanoBragg reads it) and its
    zero pixels are not rendered."""
    write_header_image(tmp_path / "m.img", [("PIXEL_SIZE", 0.1), ("BEAM_CENTER_Y", 0.1)])
    det = detector(f"-mask {tmp_path / 'm.img'}")
    assert det.ybeam_mm == pytest.approx(0.4 - 0.1, rel=1e-15)
    assert det.mask.shape == (4, 6) and det.mask[0, 0] == 0 and det.mask.sum() == 23


# -- defaults from the config dataclasses; files read from a base folder -----------------------------------


def test_defaults_are_the_config_dataclasses_defaults():
    """With only a crystal on the line, every config equals its dataclass built with the same crystal: the
    command line states no default of its own (the C's 102.4 mm detector is 1024 default pixels)."""
    parsed = parse("")
    default = DetectorConfig()
    size_mm = default.fpixels * default.pixel_size_mm
    assert parsed.simulation.detector == DetectorConfig(pivot=DetectorPivot.BEAM, detsize_f_mm=size_mm,
                                                        detsize_s_mm=size_mm)
    assert parsed.simulation.beam == BeamConfig()
    assert parsed.simulation.crystal == CrystalConfig(cell=(100.0, 100.0, 100.0, 90.0, 90.0, 90.0), default_F=100.0)
    assert parsed.output == OutputConfig()
    assert (parsed.simulation.dmin_A, parsed.simulation.c_compat) == (SimulationConfig().dmin_A, False)
    defaults = {f.name: f.default for f in dataclasses.fields(ParsedCommandLine)}
    assert (parsed.device, parsed.dtype) == (defaults["device"], defaults["dtype"])


def test_pixel_size_alone_keeps_the_default_detector_size():
    """-pixel without -detpixels or -detsize: nanoBragg keeps its 102.4 mm detector and derives the count."""
    det = detector("-pixel 0.2")
    assert (det.fpixels, det.spixels, det.detsize_f_mm) == (512, 512, 102.4)


def keys_set_by(flag) -> set:
    """The FlagState keys ``flag`` sets when given ordinary values."""
    state = FlagState()
    count = {-6: 6, -3: 3}.get(flag.nvalues, flag.nvalues)
    token = {"-pivot": "beam"}.get(flag.names[0], "1")
    values, _ = flag.convert(flag.names[0], [token] * count)
    state.given[flag.names[0]] = tuple([token] * count)
    flag.apply(state, flag.names[0], values)
    return set(state.values)


def test_every_flag_key_names_one_config_field_or_a_rule():
    """Each value a flag stores is a field of exactly one config, or is resolved by a rule (RESOLVED_KEYS, which
    names no field): so a field's default can only come from its dataclass."""
    configs = (DetectorConfig, BeamConfig, CrystalConfig, OutputConfig, SimulationConfig, ParsedCommandLine)
    owners = {}
    for config in configs:
        for field in dataclasses.fields(config):
            owners.setdefault(field.name, []).append(config.__name__)
    keys = set().union(*(keys_set_by(flag) for flag in FLAGS))
    assert RESOLVED_KEYS <= keys
    for key in keys - RESOLVED_KEYS:
        assert len(owners.get(key, [])) == 1, (key, owners.get(key))
    assert not RESOLVED_KEYS & set(owners)


def test_a_later_convention_drops_spindle_and_polarization_vectors():
    """-spindle_axis and -polar_vector followed by -xds: the C's XDS block sets its own spindle and E-vector,
    so neither reaches the configs, and the note names both."""
    parsed = parse("-spindle_axis 0 1 0 -polar_vector 0 1 0 -xds")
    assert (parsed.simulation.crystal.spindle_axis, parsed.simulation.beam.polarization_axis) == (None, None)
    assert "-polar_vector, -spindle_axis ignored: the XDS convention (from -xds) defines its own axes" in parsed.notes
    custom = parse("-polar_vector 0 1 0").simulation.beam
    assert custom.polarization_axis == (0.0, 1.0, 0.0)


@pytest.fixture
def case_folder(tmp_path):
    """A folder with every kind of input file, and a current folder elsewhere."""
    import shutil

    from nanobrag_torch.io.smv import write_smv
    import numpy as np

    folder = tmp_path / "case"
    folder.mkdir()
    for name in ("A.mat", "cubic.hkl"):
        shutil.copy(NO_FDUMP / name, folder / name)
    (folder / "sources.txt").write_text("-10 0 0 1 1e-10\n-10 0.01 0 1 1e-10\n")
    write_smv(folder / "camera.img", np.ones((4, 6), np.uint16), [("PIXEL_SIZE", 0.2), ("DISTANCE", 150.0)])
    write_smv(folder / "mask.img", np.ones((4, 6), np.uint16), [("PIXEL_SIZE", 0.2)])
    assert os.getcwd() != str(folder)
    return folder


def test_every_input_file_is_read_from_the_base_folder(case_folder):
    """-hkl, -mat, -sourcefile, -img and -mask given as relative paths are read from base_dir."""
    with_matrix = parse_args("-mat A.mat -hkl cubic.hkl".split(), base_dir=case_folder).simulation.crystal
    assert with_matrix.reciprocal_matrix is not None and with_matrix.hkl is not None
    parsed = parse_args(CRYSTAL + "-sourcefile sources.txt -img camera.img -mask mask.img".split(),
                        base_dir=str(case_folder))
    assert len(parsed.simulation.beam.source_points) == 2
    det = parsed.simulation.detector
    assert (det.pixel_size_mm, det.distance_mm, det.fpixels, det.mask.shape) == (0.2, 150.0, 6, (4, 6))


def test_fdump_is_read_from_the_base_folder(case_folder):
    """Without -hkl, nanoBragg's cache Fdump.bin is read from base_dir (and says so)."""
    from nanobrag_torch.io.hkl import read_hkl, write_fdump

    write_fdump(case_folder / "Fdump.bin", read_hkl(case_folder / "cubic.hkl"))
    parsed = parse_args("-cell 100 100 100 90 90 90".split(), base_dir=case_folder)
    assert parsed.simulation.crystal.hkl is not None
    assert parsed.notes == [f"reading structure factors from {case_folder / 'Fdump.bin'} (the cache of an earlier "
                            "-hkl run), as nanoBragg does when -hkl is absent"]


def test_absolute_paths_ignore_the_base_folder(case_folder):
    """An absolute -hkl path is read where it is, whatever base_dir says."""
    parsed = parse_args(CRYSTAL + ["-hkl", str(case_folder / "cubic.hkl")], base_dir="/no/such/folder")
    assert parsed.simulation.crystal.hkl is not None
