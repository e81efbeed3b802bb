"""Bad numbers on the command line: every numeric flag's domain, the C's meanings kept with a note, the
checks that need several values, and the memory a run needs."""

import numpy as np
import pytest

from nanobrag_torch.cli import CommandLineError, main, parse_args
from nanobrag_torch.cli import _memory
from nanobrag_torch.cli._flags import FLAG_BY_NAME, FLAGS

SMALL = "-cell 100 100 100 90 90 90 -default_F 100 -N 5 -detpixels 16".split()

# One value outside each numeric flag's domain (None: every finite number is accepted, or given a meaning
# by nanoBragg, so only NaN and the infinities are refused). A numeric flag missing here fails
# test_every_numeric_flag_is_in_the_table.
OUT_OF_DOMAIN = {
    "-cell": "0", "-misset": None, "-misset_seed": "3000000000", "-N": "2.5", "-Na": "2.5", "-Nb": "2.5",
    "-Nc": "2.5", "-xtalsize": None, "-xtal_thick": None, "-xtal_width": None, "-xtal_height": None,
    "-default_F": None, "-fudge": "0", "-phi": None, "-osc": None, "-phistep": None, "-phisteps": "2.5",
    "-spindle_axis": None, "-mosaic": None, "-mosaic_domains": "1.5", "-mosaic_seed": "-3000000000",
    "-lambda": "-1", "-energy": "0", "-fluence": "-1", "-flux": "-1", "-exposure": "-1", "-beamsize": None,
    "-polar": "1.5", "-polar_vector": None, "-dispersion": "200", "-dispsteps": "2.5", "-divergence": None,
    "-hdivrange": None, "-vdivrange": None, "-hdivstep": None, "-vdivstep": None, "-hdivsteps": "0.5",
    "-vdivsteps": "0.5", "-divsteps": "0.5", "-water": "-1", "-fdet_vector": None, "-sdet_vector": None,
    "-odet_vector": None, "-beam_vector": None, "-twotheta_axis": None, "-pix0_vector": None,
    "-distance": "0", "-close_distance": "-5", "-Xbeam": None, "-Ybeam": None, "-Xclose": None, "-Yclose": None,
    "-ORGX": None, "-ORGY": None, "-twotheta": None, "-detector_rotx": None, "-detector_roty": None,
    "-detector_rotz": None, "-pixel": "0", "-detsize": "-1", "-detsize_f": "0", "-detsize_s": "0",
    "-detpixels": "-1", "-detpixels_f": "-16", "-detpixels_s": "16.5", "-detector_thick": "-1",
    "-detector_absorb": "-1", "-detector_thicksteps": "2.5", "-oversample": "2.5", "-roi": "1.5", "-dmin": None,
    "-scale": None, "-pgmscale": None, "-adc": None, "-seed": "1e10", "-trace_pixel": "-1",
}
# Values after the one under test, for flags that take several.
REST = {"-misset": ["0", "0"], "-roi": ["5", "0", "5"], "-trace_pixel": ["0"]}
NUMERIC = [flag.names[0] for flag in FLAGS if flag.numeric]
NON_FINITE = ["nan", "inf", "-inf"]


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """The current folder of a run of the command, which writes its outputs there, as nanoBragg does: the
    tests that refuse a run check that nothing was written in it."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def empty(tmp_path):
    """A folder to read input files from, without the Fdump.bin nanoBragg reads when -hkl is absent."""
    return tmp_path


def rest(name):
    flag = FLAG_BY_NAME[name]
    return REST.get(name, ["0", "1"] if flag.nvalues == 3 else [])


def refused(folder, capsys, argv):
    """Run the command; return its one error line after checking the status and that nothing was written."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("nanobrag-torch: error: "), err
    assert list(folder.iterdir()) == []
    return err.strip()


def test_every_flag_with_values_declares_their_domain():
    """A flag that takes values has a domain for each; numeric domains say what they accept."""
    for flag in FLAGS:
        assert (flag.nvalues != 0) == (flag.values is not None), flag.names
        for domain in flag.domains(abs(flag.nvalues)):
            assert domain.summary(), flag.names


def test_every_numeric_flag_is_in_the_table():
    """The table of out-of-domain values covers exactly the numeric flags of FLAGS."""
    assert sorted(OUT_OF_DOMAIN) == sorted(NUMERIC)


def test_domains_show_in_the_help_text():
    """Each numeric flag describes its values for the usage text."""
    assert FLAG_BY_NAME["-lambda"].value_help() == "a number > 0 (Angstrom)"
    assert FLAG_BY_NAME["-N"].value_help() == "an integer >= 1"
    assert FLAG_BY_NAME["-roi"].value_help() == ("xmin: an integer >= 0 (pixel); xmax: an integer >= 0 (pixel); "
                                                 "ymin: an integer >= 0 (pixel); ymax: an integer >= 0 (pixel)")
    assert FLAG_BY_NAME["-detector_absorb"].value_help() == "a number >= 0 or 'inf' (um)"
    assert all(FLAG_BY_NAME[name].value_help() for name in NUMERIC)


@pytest.mark.parametrize("name", NUMERIC)
@pytest.mark.parametrize("token", NON_FINITE)
def test_non_finite_values_are_refused(folder, capsys, name, token):
    """NaN and the infinities: exit 2, one line naming the flag and the value, no file written."""
    if name == "-detector_absorb" and token != "nan":
        # nanoBragg: an infinite attenuation depth is no sensor
        parsed = parse_args(SMALL + [name, token], base_dir=folder)
        assert parsed.simulation.detector.attenuation_depth_um == float("inf")
        return
    err = refused(folder, capsys, SMALL + [name, token] + rest(name))
    if name == "-cell" and token == "-inf":  # -cell stops at a token starting with '-', as in the C
        assert err == "nanobrag-torch: error: -cell: expected 1 to 6 numbers (a b c alpha beta gamma)"
        return
    assert err.startswith(f"nanobrag-torch: error: {name}") and f"got {token!r}" in err


@pytest.mark.parametrize("name", [name for name in NUMERIC if OUT_OF_DOMAIN.get(name)])
def test_out_of_domain_values_are_refused(folder, capsys, name):
    """A finite value outside the domain: exit 2, one line naming the flag, the value and the domain."""
    token = OUT_OF_DOMAIN[name]
    err = refused(folder, capsys, SMALL + [name, token] + rest(name))
    domain = FLAG_BY_NAME[name].domains(1)[0]
    assert err.startswith(f"nanobrag-torch: error: {name}") and f"got {token!r}" in err
    assert f"expected {domain.summary()}" in err


@pytest.mark.parametrize("argv,message", [
    ("-lambda 0", "-lambda: expected a number > 0 (Angstrom), got '0'"),
    ("-energy -12398", "-energy: expected a number > 0 (eV), got '-12398'"),
    ("-N nan", "-N: expected an integer >= 1, got 'nan'"),
    ("-phisteps 1e12", "-phisteps: expected an integer >= 1, got '1e12' (beyond the C's int, -2147483648 to "
                       "2147483647)"),
    ("-distance 1_000", "-distance: expected a number > 0 (mm), got '1_000'"),
    ("-cell 100 100 100 90 90 180", "-cell gamma: expected a number > 0 and < 180 (deg), got '180'"),
    ("-polar -1.01", "-polar: expected a number >= -1 and <= 1, got '-1.01'"),
    ("-beam_vector 0 0 0", "-beam_vector: expected a direction (three numbers, not all zero), got 0 0 0"),
])
def test_messages_name_the_flag_the_value_and_the_range(argv, message, empty):
    """The error is one line: flag, what is accepted, what was received."""
    with pytest.raises(CommandLineError) as error:
        parse_args(SMALL + argv.split(), base_dir=empty)
    assert str(error.value) == message


def value(parsed, path):
    """A field of the parsed command line, by dotted path (``simulation.crystal.Na``)."""
    for part in path.split("."):
        parsed = getattr(parsed, part)
    return parsed


@pytest.mark.parametrize("argv,note,path,used", [
    ("-N 0", "-N 0: nanoBragg uses 1 unit cell for a count below 1", "simulation.crystal.Na", 1),
    ("-detpixels 0", "0 pixels along fast means the detector size, as in nanoBragg: 102.4 mm, 1024 pixels",
     "simulation.detector.fpixels", 1024),
    ("-detpixels_s 0 -detsize_s 20", "0 pixels along slow means the detector size, as in nanoBragg: 20 mm, "
                                     "200 pixels", "simulation.detector.spixels", 200),
    ("-N -3", "-N -3: nanoBragg uses 1 unit cell for a count below 1", "simulation.crystal.Nc", 1),
    ("-Nb 0", "-Nb 0: nanoBragg uses 1 unit cell for a count below 1", "simulation.crystal.Nb", 1),
    ("-distance -100", "-distance -100: nanoBragg uses the distance's magnitude, 100 mm",
     "simulation.detector.distance_mm", 100.0),
    ("-osc -5", "-osc -5: nanoBragg takes a negative value as not given: derived from the other spindle flags",
     "simulation.crystal.osc_deg", None),
    ("-phistep -1", "-phistep -1: nanoBragg takes a negative value as not given: derived from the other spindle "
                    "flags", "simulation.crystal.phistep_deg", None),
    ("-phisteps 0", "-phisteps 0: nanoBragg uses 1 step for 0", "simulation.crystal.phisteps", 1),
    ("-phisteps -2", "-phisteps -2: nanoBragg takes a negative count as not given: derived from -osc/-phistep",
     "simulation.crystal.phisteps", None),
    ("-mosaic -1", "-mosaic -1: nanoBragg takes a negative spread as not given: no mosaic spread",
     "simulation.crystal.mosaic_spread_deg", None),
    ("-mosaic_domains 0", "-mosaic_domains 0: nanoBragg takes a count <= 0 as not given: chosen from the other "
                          "values, as by default", "simulation.crystal.mosaic_domains", None),
    ("-oversample -1", "-oversample -1: nanoBragg takes a count <= 0 as not given: chosen from the other values, "
                       "as by default", "simulation.detector.oversample", None),
    ("-detector_thicksteps 0", "-detector_thicksteps 0: nanoBragg takes a count <= 0 as not given: chosen from "
                               "the other values, as by default", "simulation.detector.thicksteps", None),
    ("-dispsteps 0", "-dispsteps 0: nanoBragg takes a count <= 0 as not given: chosen from the other values, "
                     "as by default", "simulation.beam.dispsteps", None),
    ("-divsteps -4", "-divsteps -4: nanoBragg takes a count <= 0 as not given: chosen from the other values, "
                     "as by default", "simulation.beam.vdivsteps", None),
    ("-divergence -1", "-divergence -1: nanoBragg takes a negative value as not given: derived from the other "
                       "divergence flags", "simulation.beam.hdivrange_mrad", None),
    ("-vdivstep -0.5", "-vdivstep -0.5: nanoBragg takes a negative value as not given: derived from the other "
                       "divergence flags", "simulation.beam.vdivstep_mrad", None),
    ("-xtalsize -1", "-xtalsize -1: nanoBragg ignores a negative crystal size: N comes from -N/-Na/-Nb/-Nc",
     "simulation.crystal.xtal_size_mm", (0.0, 0.0, 0.0)),
    ("-beamsize -1 -xtal_width 0.2", "-beamsize -1: nanoBragg takes a negative beam size as none: the crystal is "
                                     "not clipped to it and -flux is not turned into a fluence",
     "simulation.crystal.xtal_size_mm", (0.0, 0.2, 0.0)),
    ("-dmin -2", "-dmin -2: nanoBragg makes no resolution cut for a value <= 0, as by default",
     "simulation.dmin_A", 0.0),
    ("-scale -2", "-scale -2: nanoBragg scales automatically for a scale <= 0, as by default",
     "output.intfile_scale", 0.0),
    ("-pgmscale -1", "-pgmscale -1: nanoBragg scales automatically for a scale <= 0, as by default",
     "output.pgm_scale", 0.0),
    ("-cell 50 0 0 0 90 90", "-cell b 0: nanoBragg uses b = a for a length <= 0", "simulation.crystal.cell",
     (50.0, 50.0, 50.0, 90.0, 90.0, 90.0)),
    ("-cell 50 60 70 0 90 90", "-cell alpha 0: nanoBragg uses alpha = 90 deg for an angle <= 0",
     "simulation.crystal.cell", (50.0, 60.0, 70.0, 90.0, 90.0, 90.0)),
    ("-roi -1 -1 2 8", "-roi xmax -1: nanoBragg runs to the last pixel for a negative maximum",
     "simulation.detector.roi", (0, 15, 2, 8)),
    ("-roi -3 9 2 8", "-roi xmin -3: nanoBragg starts at pixel 0 for a negative minimum",
     "simulation.detector.roi", (0, 9, 2, 8)),
])
def test_values_the_c_reinterprets_are_kept_with_a_note(empty, argv, note, path, used):
    """nanoBragg's meaning is kept (the config holds the value it uses) and stderr says so."""
    parsed = parse_args(SMALL + argv.split(), base_dir=empty)
    assert note in parsed.notes
    assert value(parsed, path) == used


def test_notes_reach_stderr(folder, capsys):
    """A reinterpreted value is announced on stderr by the command, which then runs (status 0)."""
    assert main(SMALL + "-N 0 -nonoise -nopgm -floatfile f.bin -intfile i.img".split()) == 0
    assert "nanobrag-torch: note: -N 0: nanoBragg uses 1 unit cell for a count below 1\n" in capsys.readouterr().err


def test_detector_absorb_words_switch_the_sensor_off(empty):
    """'inf' (anything containing it, as the C's strstr) or 0 turns the sensor model off."""
    for token in ("inf", "-inf", "0"):
        argv = SMALL + ["-detector_thick", "100", "-detector_absorb", token]
        detector = parse_args(argv, base_dir=empty).simulation.detector
        assert (detector.thickness_um, detector.attenuation_depth_um) == (0.0, float("inf"))


@pytest.mark.parametrize("argv,message", [
    ("-cell 100 100 100 10 10 170", "-cell: the angles 10 10 170 do not make a cell (each must be less than the "
                                    "sum of the other two, and all three less than 360 deg)"),
    ("-cell 100 100 100 120 120 120", "-cell: the angles 120 120 120 do not make a cell"),
    ("-flux 1e12 -beamsize 0", "-flux 1e+12 with -beamsize 0: the fluence flux*exposure/beamsize^2 would be "
                               "infinite; give a beam size > 0 (mm)"),
    ("-detpixels 0 -detsize 0.01", "detector has 0 pixels along fast: -detpixels/-detsize must be positive"),
    ("-roi 20 30 0 5", "-roi: 20 30 0 5 selects no pixel of the 16x16 detector"),
])
def test_checks_that_need_several_values(empty, argv, message):
    """Combinations are checked once every flag is read, before anything runs."""
    with pytest.raises(CommandLineError) as error:
        parse_args(SMALL + argv.split(), base_dir=empty)
    assert str(error.value).startswith(message)


def write_header_image(path, values):
    from nanobrag_torch.io.smv import write_smv

    write_smv(path, np.ones((4, 6), np.uint16), values)


def test_header_values_go_through_the_flags_domains(empty):
    """An -img header value is checked like the flag it stands for: refused, or reinterpreted with a note."""
    write_header_image(empty / "zero.img", [("PIXEL_SIZE", 0.1), ("DISTANCE", 0.0)])
    with pytest.raises(CommandLineError) as error:
        parse_args(SMALL + ["-img", "zero.img"], base_dir=empty)
    assert str(error.value) == f"-img {empty / 'zero.img'}: header DISTANCE: expected a number > 0 (mm), got '0'"
    overridden = parse_args(SMALL + ["-img", "zero.img", "-distance", "90"], base_dir=empty)
    assert overridden.simulation.detector.distance_mm == 90.0
    write_header_image(empty / "minus.img", [("PIXEL_SIZE", 0.1), ("DISTANCE", -120.0)])
    parsed = parse_args(SMALL + ["-img", "minus.img"], base_dir=empty)
    assert parsed.simulation.detector.distance_mm == 120.0
    assert (f"-img {empty / 'minus.img'}: header DISTANCE -120: nanoBragg uses the distance's magnitude, 120 mm"
            in parsed.notes)


@pytest.mark.parametrize("text,message", [
    ("-10 0 0 1 0\n", "source 1: expected a wavelength > 0 (m), got 0"),
    ("-10 0 0 1 1e-10\n-10 0 0 inf 1e-10\n", "source 2: weight must be a finite number"),
    ("-10 0 0 -1\n", "source 1: expected a weight >= 0, got -1"),
    ("0 0 0 1 1e-10\n", "source 1: the position 0 0 0 is the sample itself"),
])
def test_sourcefile_values_are_checked(empty, text, message):
    """Each source's given values must make sense: finite, a weight >= 0, a wavelength > 0."""
    (empty / "src.txt").write_text(text)
    with pytest.raises(CommandLineError) as error:
        parse_args(SMALL + ["-sourcefile", "src.txt"], base_dir=empty)
    assert str(error.value).startswith(f"-sourcefile {empty / 'src.txt'}: {message}")


def test_singular_matrix_is_refused(empty):
    """A -mat whose reciprocal vectors are not independent has no cell."""
    (empty / "flat.mat").write_text("0.01 0 0\n0 0.01 0\n0 0 0\n")
    with pytest.raises(CommandLineError) as error:
        parse_args(["-mat", "flat.mat", "-default_F", "1", "-detpixels", "8"], base_dir=empty)
    assert str(error.value).startswith(f"-mat {empty / 'flat.mat'}: the matrix must be finite with three independent")


def test_non_finite_structure_factor_is_refused(empty):
    """A NaN or infinite F in the -hkl file would spread through the image: refused, naming the reflection."""
    (empty / "nan.hkl").write_text("0 0 1 10\n0 0 2 nan\n0 0 3 inf\n")
    with pytest.raises(CommandLineError) as error:
        parse_args(SMALL + ["-hkl", "nan.hkl"], base_dir=empty)
    assert str(error.value) == (f"-hkl {empty / 'nan.hkl'}: F of reflection 0 0 2 is nan: expected a finite number "
                                "(2 such value(s))")


# -- memory ------------------------------------------------------------------------------------------------


def test_an_image_larger_than_memory_is_refused_with_its_size(folder, capsys, monkeypatch):
    """-detpixels 200000 on a 23.4 GB machine: exit 2 at once, with the figure, nothing allocated."""
    monkeypatch.setattr(_memory, "physical_memory_bytes", lambda: 23.4e9)
    err = refused(folder, capsys, SMALL + ["-detpixels", "200000"])
    assert err == ("nanobrag-torch: error: -detpixels 200000: the 200000x200000-pixel image (with its outputs) "
                   "needs 2.24 TB (float64), more than this machine's 23.4 GB of memory")
    err = refused(folder, capsys, SMALL + ["-detpixels", "200000", "-dtype", "float32"])
    assert "needs 2.08 TB (float32)" in err


def test_this_machines_memory_is_the_limit(folder, capsys):
    """Without a stand-in: a 2000000 x 2000000 image needs 224 TB, which no machine here has."""
    assert _memory.physical_memory_bytes() > 0
    err = refused(folder, capsys, SMALL + ["-detpixels_f", "2000000", "-detpixels_s", "2000000"])
    assert "-detpixels_f 2000000 -detpixels_s 2000000: the 2000000x2000000-pixel image" in err and "224 TB" in err


def test_the_working_set_of_one_pixel_counts(empty, monkeypatch):
    """nanoBragg's automatic oversampling for a 1 mm crystal (30000 x 30000 sub-pixels) is refused."""
    monkeypatch.setattr(_memory, "physical_memory_bytes", lambda: 23.4e9)
    with pytest.raises(CommandLineError) as error:
        parse_args(SMALL + ["-xtalsize", "1"], base_dir=empty)
    assert str(error.value) == ("-N 5 -xtalsize 1: the working set of 900000000 evaluations per pixel (1 layers x "
                                "30000x30000 sub-pixels x 1 sources x 1 phi steps x 1 domains) needs 115 GB "
                                "(float64), more than this machine's 23.4 GB of memory")


def test_unknown_memory_refuses_nothing(empty, monkeypatch):
    """Where the system does not say how much memory it has, no run is refused for it."""
    monkeypatch.setattr(_memory, "physical_memory_bytes", lambda: None)
    assert parse_args(SMALL + ["-detpixels", "200000"], base_dir=empty).simulation.detector.fpixels == 200000


def test_hkl_table_figure():
    """The structure-factor box is (h range) x (k range) x (l range) float64 values."""
    assert _memory.hkl_table_bytes(-10, 10, -5, 5, 0, 3) == 21 * 11 * 4 * 8
    with pytest.raises(CommandLineError) as error:
        _memory.check_hkl_box("-hkl big.hkl", -1000000, 1000000, -1000000, 1000000, 0, 0, memory=23.4e9)
    assert str(error.value) == ("-hkl big.hkl: the structure-factor table (h -1000000..1000000, k -1000000..1000000, "
                                "l 0..0) needs 32 TB (float64), more than this machine's 23.4 GB of memory")
    _memory.check_hkl_box("-hkl small.hkl", -10, 10, -10, 10, -10, 10, memory=23.4e9)


def test_an_hkl_range_beyond_memory_is_refused(folder, capsys):
    """h and k from -1e8 to 1e8: a 320 PB box, beyond any address space: exit 2 with the figure."""
    (folder / "huge.hkl").write_text("-100000000 -100000000 0 1\n100000000 100000000 0 1\n")
    assert main(SMALL + ["-hkl", "huge.hkl"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nanobrag-torch: error: -hkl huge.hkl: the structure-factor table") and "320 PB" in err
    assert err.count("\n") == 1


def test_an_hkl_box_larger_than_memory_is_refused_before_it_is_allocated(folder, capsys, monkeypatch):
    """A 64 GB box (h, k, l from -1000 to 1000) on a 23.4 GB machine: refused by the reader before numpy
    allocates it (not after, as a MemoryError or an exhausted machine)."""
    monkeypatch.setattr(_memory, "physical_memory_bytes", lambda: 23.4e9)
    (folder / "wide.hkl").write_text("-1000 -1000 -1000 1\n1000 1000 1000 1\n")
    allocated = []
    monkeypatch.setattr(np, "full", lambda *args, **kwargs: allocated.append(args) or pytest.fail("allocated"))
    assert main(SMALL + ["-hkl", "wide.hkl"]) == 2
    err = capsys.readouterr().err
    assert err == ("nanobrag-torch: error: -hkl wide.hkl: the structure-factor table (h -1000..1000, k -1000..1000, "
                   "l -1000..1000) needs 64.1 GB (float64), more than this machine's 23.4 GB of memory\n")
    assert allocated == []


def test_format_bytes():
    """Three significant digits in decimal units."""
    assert [_memory.format_bytes(n) for n in (512, 23.4e9, 320e9, 2.24e12, 3.2e17)] == [
        "512 B", "23.4 GB", "320 GB", "2.24 TB", "320 PB"]


def test_batch_size_is_the_simulators():
    """The estimate's batch is the simulator's."""
    from nanobrag_torch.simulator import DEFAULT_BATCH_EVALUATIONS

    assert _memory.BATCH_EVALUATIONS == DEFAULT_BATCH_EVALUATIONS
