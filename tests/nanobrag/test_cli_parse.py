"""nanoBragg command lines -> configs: defaults, convention and pivot rules, flag order, bad input."""

import pytest

from nanobrag_torch.cli import CommandLineError, parse_args
from nanobrag_torch.config import CrystalShape, DetectorConvention, DetectorPivot

CRYSTAL = "-cell 100 100 100 90 90 90 -default_F 100".split()


@pytest.fixture(autouse=True)
def _empty_folder(tmp_path, monkeypatch):
    """nanoBragg reads ./Fdump.bin when -hkl is absent: parse where there is none."""
    monkeypatch.chdir(tmp_path)


def parse(text: str):
    return parse_args(CRYSTAL + text.split())


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
    crystal = parse_args("-cell 50 -default_F 1".split()).simulation.crystal
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
    ("-detpixels 0", "detector has 0 pixels along fast: -detpixels/-detsize must be positive"),
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
        parse_args(["-default_F", "1"])


def test_missing_structure_factors_is_an_error():
    """No -hkl, no Fdump.bin and no -default_F: every F would be zero."""
    with pytest.raises(CommandLineError, match="no structure factors"):
        parse_args("-cell 10 10 10 90 90 90".split())


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
