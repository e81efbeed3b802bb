"""Tests for nanobrag_torch.io.smv against the SMV files written by the nanoBragg C program."""

import math
from pathlib import Path

import fabio
import numpy as np
import pytest

from nanobrag_torch.io import (
    SMVFormatError,
    format_c_g,
    nanobragg_header_values,
    read_smv,
    value_of,
    write_smv,
)

CASE = Path(__file__).resolve().parents[1] / "data" / "c_reference" / "io_smv_int_noise"

# The values visible in the header of the C's image.img (after SIZE2), in the C's order.
VISIBLE_HEADER = [
    ("PIXEL_SIZE", 0.1),
    ("DISTANCE", 100.0),
    ("WAVELENGTH", 1.0),
    ("BEAM_CENTER_X", 6.45),
    ("BEAM_CENTER_Y", 6.45),
    ("ADXV_CENTER_X", 6.5),
    ("ADXV_CENTER_Y", 6.3),
    ("MOSFLM_CENTER_X", 6.45),
    ("MOSFLM_CENTER_Y", 6.45),
    ("DENZO_X_BEAM", 6.5),
    ("DENZO_Y_BEAM", 6.5),
    ("DIALS_ORIGIN", (-6.5, 6.5, -100.0)),
    ("XDS_ORGX", 65.5),
    ("XDS_ORGY", 65.5),
    ("CLOSE_DISTANCE", 100.0),
    ("PHI", 0.0),
    ("OSC_START", 0.0),
    ("OSC_RANGE", 0.0),
    ("TWOTHETA", 0.0),
    ("DETECTOR_SN", "000"),
    ("BEAMLINE", "fake"),
]

# The C's variables for this run, as its stdout prints them (metres, radians, pixels).
SIMULATION = dict(
    pixel_size_m=0.0001,
    distance_m=0.1,
    wavelength_m=1e-10,
    xbeam_m=0.00645,
    ybeam_m=0.00645,
    fbeam_m=0.0065,
    sbeam_m=0.0065,
    detsize_s_m=0.0128,
    dials_origin_mm=(-6.5, 6.5, -100.0),
    orgx_px=65.5,
    orgy_px=65.5,
    close_distance_m=0.1,
    phi0_rad=0.0,
    osc_rad=0.0,
    twotheta_rad=0.0,
)


@pytest.mark.parametrize("name", ["image.img", "noise.img"])
def test_write_smv_reproduces_c_file_bytes(tmp_path, name):
    """Header rebuilt from the visible values plus the pixels gives the C's file byte for byte."""
    reference = (CASE / name).read_bytes()
    pixels = np.frombuffer(reference, dtype="<u2", offset=512).reshape(128, 128)
    write_smv(tmp_path / name, pixels, VISIBLE_HEADER, byte_order="little_endian")
    assert (tmp_path / name).read_bytes() == reference


@pytest.mark.parametrize("name, noise_image", [("image.img", False), ("noise.img", True)])
def test_nanobragg_header_values_reproduce_c_header(tmp_path, name, noise_image):
    """The header built from the simulation quantities equals the C's 512 header bytes."""
    values = nanobragg_header_values(**SIMULATION, noise_image=noise_image)
    write_smv(tmp_path / name, np.zeros((128, 128), np.uint16), values, byte_order="little_endian")
    assert (tmp_path / name).read_bytes()[:512] == (CASE / name).read_bytes()[:512]


def test_denzo_beam_zero_sign_differs_between_int_and_noise_headers():
    """The C writes S-0.0*pixel for the int image and S+0.0*pixel for the noise image."""
    values = dict(SIMULATION, sbeam_m=-0.0, fbeam_m=-0.0)
    int_header = dict(nanobragg_header_values(**values))
    noise_header = dict(nanobragg_header_values(**values, noise_image=True))
    assert (format_c_g(int_header["DENZO_X_BEAM"]), format_c_g(noise_header["DENZO_X_BEAM"])) == ("-0", "0")


@pytest.mark.parametrize("name", ["image.img", "noise.img"])
def test_read_smv_agrees_with_fabio(name):
    """read_smv gives the same header values and pixels as fabio for the C's files."""
    ours = read_smv(CASE / name)
    theirs = fabio.open(str(CASE / name))
    assert ours.header == dict(theirs.header)
    assert np.array_equal(ours.data, theirs.data)


def test_read_smv_pixels_are_the_raw_file_data():
    """Pixels come from the bytes after the 512-byte header, slow-major."""
    raw = np.frombuffer((CASE / "image.img").read_bytes(), dtype="<u2", offset=512).reshape(128, 128)
    assert np.array_equal(read_smv(CASE / "image.img").data, raw)


def test_value_of_uses_last_instance_and_substrings():
    """value_of takes the last instance, matches substrings and returns NaN/0.0 like ValueOf."""
    header = "{\nHEADER_BYTES=512;\nPHI=1.5;\nXDS_ORGX=65.5;\nPHI=2.5;\nLAST_KEY\n}"
    assert value_of(header, "PHI") == 2.5
    assert value_of(header, "ORGX") == 65.5
    assert math.isnan(value_of(header, "TWOTHETA"))
    assert value_of(header, "LAST_KEY") == 0.0


def test_smv_image_value_of_reads_the_file_header():
    """SMVImage.value_of reads numbers from the file's header text."""
    image = read_smv(CASE / "image.img")
    assert (image.value_of("DISTANCE"), image.value_of("ORGY"), image.value_of("DIALS_ORIGIN")) == (100.0, 65.5, -6.5)


def test_big_endian_file_round_trips_and_is_byte_swapped(tmp_path):
    """A big_endian file stores swapped bytes; read_smv and fabio both restore the values."""
    pixels = np.array([[1, 258, 65535], [4096, 0, 7]], np.uint16)
    path = tmp_path / "big.img"
    write_smv(path, pixels, [("PHI", 0.0)], byte_order="big_endian")
    assert path.read_bytes()[512:514] == b"\x00\x01"
    assert np.array_equal(read_smv(path).data, pixels)
    assert np.array_equal(fabio.open(str(path)).data, pixels)


def test_read_smv_honours_header_bytes_other_than_512(tmp_path):
    """Pixels start at HEADER_BYTES, here 1024, as fabio also reads them."""
    pixels = np.arange(6, dtype=np.uint16).reshape(2, 3) * 1000
    text = "{\nHEADER_BYTES=1024;\nDIM=2;\nBYTE_ORDER=little_endian;\nTYPE=unsigned_short;\nSIZE1=3;\nSIZE2=2;\n}\f"
    path = tmp_path / "h1024.img"
    path.write_bytes(text.encode().ljust(1024, b" ") + pixels.astype("<u2").tobytes())
    image = read_smv(path)
    assert (image.header_bytes, image.data.tolist()) == (1024, pixels.tolist())
    assert np.array_equal(fabio.open(str(path)).data, pixels)


def test_read_smv_rejects_a_non_smv_file(tmp_path):
    """A file not starting with the ADSC header is refused, naming the file."""
    path = tmp_path / "x.img"
    path.write_bytes(b"P5\n2 2\n255\n" + bytes(600))
    with pytest.raises(SMVFormatError, match=r"x\.img: does not look like an SMV frame: it starts with b'P5"):
        read_smv(path)


def test_read_smv_rejects_a_truncated_file(tmp_path):
    """A file with fewer pixel bytes than SIZE1*SIZE2 says how many bytes it needs."""
    path = tmp_path / "short.img"
    path.write_bytes((CASE / "image.img").read_bytes()[:20000])
    with pytest.raises(SMVFormatError, match=r"short\.img: file has 20000 bytes; .* 128x128 2-byte pixels need 33280"):
        read_smv(path)


def test_read_smv_rejects_other_pixel_types(tmp_path):
    """Only unsigned_short pixels are supported, as in the C."""
    path = tmp_path / "float.img"
    text = "{\nHEADER_BYTES=512;\nDIM=2;\nBYTE_ORDER=little_endian;\nTYPE=float;\nSIZE1=1;\nSIZE2=1;\n}\f"
    path.write_bytes(text.encode().ljust(512, b" ") + bytes(4))
    with pytest.raises(SMVFormatError, match="TYPE=float is not supported; only unsigned_short"):
        read_smv(path)


def test_write_smv_grows_a_header_longer_than_512_bytes(tmp_path):
    """Header text that does not fit in 512 bytes gets HEADER_BYTES=1024 (nanoBragg would write a corrupt
    file declaring 512), and readers find the pixels after it."""
    values = [(f"KEY{i}", "x" * 20) for i in range(30)]
    path = tmp_path / "x.img"
    write_smv(path, np.array([[7, 9]], np.uint16), values)
    assert path.read_bytes()[:19] == b"{\nHEADER_BYTES=1024"
    assert path.stat().st_size == 1024 + 4
    assert read_smv(path).data.tolist() == [[7, 9]]
    assert fabio.open(str(path)).data.tolist() == [[7, 9]]


def test_write_smv_refuses_pixels_out_of_range(tmp_path):
    """Integer images must hold values in 0..65535."""
    with pytest.raises(ValueError, match=r"image values span -1\.\.3; SMV pixels must be in 0\.\.65535"):
        write_smv(tmp_path / "x.img", np.array([[-1, 3]]), [])


def test_format_c_g_prints_negative_nan_like_glibc():
    """A NaN with the sign bit prints as -nan, as glibc's printf does."""
    assert (format_c_g(-math.nan), format_c_g(math.nan), format_c_g(1234567.0)) == ("-nan", "nan", "1.23457e+06")
