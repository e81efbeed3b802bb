"""Tests for nanobrag_torch.io.images against the nanoBragg C program's outputs."""

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest

from nanobrag_torch.io import (
    c_cast_unsigned,
    float_to_int_image,
    float_to_pgm_image,
    format_c_g,
    image_statistics,
    read_float_image,
    read_smv,
    resolve_intfile_scale,
    resolve_pgm_scale,
    roi_mask,
    write_float_image,
    write_pgm,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "c_reference"
CASE = DATA / "io_smv_int_noise"
ROI = (10, 100, 20, 90)


def _case_image(case: Path) -> np.ndarray:
    meta = json.loads((case / "case.json").read_text())
    if (case / "image.bin").exists():
        return read_float_image(case / "image.bin", tuple(meta["detpixels"]))
    return read_float_image(case / "roi.bin", tuple(meta["roi"]["shape"]))


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_int_image_reproduces_c_image_img():
    """floorf(f*2.5 + 30 + 0.5) of image.bin equals the pixels of the C's image.img."""
    image = read_float_image(CASE / "image.bin", (128, 128))
    assert np.array_equal(float_to_int_image(image, 2.5, 30.0), read_smv(CASE / "image.img").data)


def test_int_image_rounds_test_plus_half_to_float_like_floorf():
    """test+0.5 = 43.99999999 rounds to the float 44 before floorf, so the pixel is 44 (not 43)."""
    pixels = float_to_int_image(np.ones((1, 1), np.float32), 1.0, 42.49999999)
    assert pixels.tolist() == [[44]]


def test_int_image_roi_matches_c_run():
    """With -roi 10 100 20 90 the pixels outside are 0 and the rest match the C's image.img."""
    image = np.where(roi_mask((128, 128), ROI), read_float_image(CASE / "image.bin", (128, 128)), 0)
    pixels = float_to_int_image(image, 2.5, 30.0, ROI)
    # C: this case's command plus "-roi 10 100 20 90"; sha256 of its image.img pixel bytes.
    # Its float image equals this case's image.bin inside the ROI and is 0 outside.
    assert _sha256(pixels.astype("<u2").tobytes()) == "c0b8ad9a3f6dc435906d07467b36210527422016969b61450a31a79893272c3f"


def test_pgm_reproduces_c_file(tmp_path):
    """The auto-scaled PGM (250/(5*rmsd)) is byte-identical to the C's -pgmfile output."""
    image = read_float_image(CASE / "image.bin", (128, 128))
    scale = resolve_pgm_scale(0.0, 2.5, image_statistics(image).rmsd)
    write_pgm(tmp_path / "image.pgm", float_to_pgm_image(image, scale), scale)
    # C: this case's command without -nopgm, plus "-pgmfile image.pgm"; sha256 of that file.
    expected = "ba7cd7701b24b01e4d09be136a89a7254c35258b177f3976b19b7a3391cd6a7d"
    assert _sha256((tmp_path / "image.pgm").read_bytes()) == expected


def test_pgm_with_roi_reproduces_c_file(tmp_path):
    """With a ROI the PGM scale uses ROI statistics and outside pixels are 0, as in the C."""
    image = np.where(roi_mask((128, 128), ROI), read_float_image(CASE / "image.bin", (128, 128)), 0)
    scale = resolve_pgm_scale(0.0, 2.5, image_statistics(image, ROI).rmsd)
    write_pgm(tmp_path / "image.pgm", float_to_pgm_image(image, scale, ROI), scale)
    # C: as above with "-roi 10 100 20 90" added.
    expected = "ca423d9b784f2296bb9169e5f6ce0823afa9044ecc610a4cdf37dfc70472e603"
    assert _sha256((tmp_path / "image.pgm").read_bytes()) == expected


CASES = sorted(p.parent for p in DATA.glob("*/case.json"))


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_statistics_and_intfile_scale_match_c_stdout(case):
    """max_I, mean, rms, rmsd and intfile_scale print as in the C's stdout (%g)."""
    log = (case / "stdout.log").read_text()
    stats = image_statistics(_case_image(case))
    given = re.search(r"-scale (\S+)", (case / "cmd.txt").read_text())
    scale = resolve_intfile_scale(float(given.group(1)) if given else 0.0, stats.max_I)
    printed = (
        re.search(r"^max_I = (\S+)  at", log, re.M).group(1),
        *re.search(r"^mean= (\S+) rms= (\S+) rmsd= (\S+)$", log, re.M).groups(),
        re.search(r"^intfile_scale = (\S+)$", log, re.M).group(1),
    )
    assert tuple(format_c_g(v) for v in (*stats, scale)) == printed


def test_statistics_mask_excluded_from_mean_but_not_from_rmsd():
    """Masked pixels leave max_I/mean/rms but still count in rmsd, as in the C."""
    image = np.array([[1.0, 3.0, 100.0]], np.float32)
    stats = image_statistics(image, mask=np.array([[1, 1, 0]]))
    # mean of (1, 3) = 2; rms = sqrt((1 + 9)/1); rmsd over all three about 2: sqrt((1+1+98^2)/2)
    assert stats == (3.0, 2.0, np.sqrt(10.0), np.sqrt((1.0 + 1.0 + 98.0**2) / 2.0))


def test_resolve_intfile_scale_rules():
    """A positive -scale wins; otherwise 55000/max_I, or 1 when max_I is 0."""
    assert (resolve_intfile_scale(2.5, 100.0), resolve_intfile_scale(0.0, 100.0), resolve_intfile_scale(-1.0, 0.0)) == (
        2.5, 550.0, 1.0
    )


def test_c_cast_unsigned_matches_gcc_x86_64():
    """Out-of-range and NaN casts behave as gcc's x86-64 code (32-bit truncation, low bits)."""
    values = np.array([np.nan, -1.5, -70000.3, 70000.7, 1e12, -3.7, 300.2])
    # C: (unsigned short)x and (unsigned char)x for these doubles, gcc 12.2 -O2 on x86-64
    assert c_cast_unsigned(values, 16).tolist() == [0, 65535, 61072, 4464, 0, 65533, 300]
    assert c_cast_unsigned(values, 8).tolist() == [0, 255, 144, 112, 0, 253, 44]


def test_roi_mask_limits_are_inclusive():
    """-roi xmin xmax ymin ymax selects fast columns xmin..xmax and slow rows ymin..ymax."""
    assert roi_mask((3, 4), (1, 2, 2, 5)).astype(int).tolist() == [[0, 0, 0, 0], [0, 0, 0, 0], [0, 1, 1, 0]]


def test_float_image_round_trip_keeps_c_bytes(tmp_path):
    """Reading the C's image.bin and writing it back gives identical bytes."""
    write_float_image(tmp_path / "copy.bin", read_float_image(CASE / "image.bin", (128, 128)))
    assert (tmp_path / "copy.bin").read_bytes() == (CASE / "image.bin").read_bytes()


def test_read_float_image_rejects_wrong_size():
    """A file whose size does not match the shape is an error naming both."""
    with pytest.raises(ValueError, match=r"image\.bin: file has 65536 bytes; a 100x128 \(slow x fast\) float32 image needs 51200"):
        read_float_image(CASE / "image.bin", (100, 128))


def test_write_pgm_header_and_pixels(tmp_path):
    """write_pgm writes the C's P5 header with the %g scale line, then the bytes."""
    write_pgm(tmp_path / "x.pgm", np.array([[0, 7], [255, 1]], np.uint8), 4.42463)
    assert (tmp_path / "x.pgm").read_bytes() == b"P5\n2 2\n# pixels scaled by 4.42463\n255\n\x00\x07\xff\x01"
