"""Tests for nanobrag_torch.io.hkl: hkl text files and the C's Fdump.bin cache."""

import hashlib
import math
import time
from pathlib import Path

import numpy as np
import pytest

from nanobrag_torch.io import FdumpFormatError, HKLFormatError, HKLTable, read_fdump, read_hkl, write_fdump

INPUTS = Path(__file__).resolve().parents[1] / "data" / "c_reference" / "inputs"


def _lines(name: str) -> np.ndarray:
    return np.loadtxt(INPUTS / name, ndmin=2)


@pytest.mark.parametrize("name", ["cubic.hkl", "P1_small.hkl", "scaled.hkl"])
def test_every_line_lands_in_its_cell(name):
    """Each h k l F line of the reference files is stored at F[h-h_min, k-k_min, l-l_min]."""
    rows = _lines(name)
    table = read_hkl(INPUTS / name)
    hkl = rows[:, :3].astype(int)
    cells = table.F[hkl[:, 0] - table.h_min, hkl[:, 1] - table.k_min, hkl[:, 2] - table.l_min]
    assert np.array_equal(cells, rows[:, 3])


def test_ranges_come_from_min_and_max_indices():
    """The box spans min..max of h, k and l (scaled.hkl: h -24..24, k -28..28, l -31..30)."""
    table = read_hkl(INPUTS / "scaled.hkl")
    assert (table.h_min, table.h_max, table.k_min, table.k_max, table.l_min, table.l_max) == (-24, 24, -28, 28, -31, 30)
    assert (table.shape, table.F.shape, table.n_reflections) == ((49, 57, 62), (49, 57, 62), 64333)


def test_missing_reflections_take_default_F():
    """Cells with no line get default_F; all others keep the file's F."""
    table = read_hkl(INPUTS / "scaled.hkl", default_F=7.5)
    plain = read_hkl(INPUTS / "scaled.hkl")
    listed = np.zeros(table.shape, bool)
    hkl = _lines("scaled.hkl")[:, :3].astype(int)
    listed[hkl[:, 0] + 24, hkl[:, 1] + 28, hkl[:, 2] + 31] = True
    assert np.all(table.F[~listed] == 7.5) and np.all(plain.F[~listed] == 0.0)
    assert np.array_equal(table.F[listed], plain.F[listed])


# C: sha256 of the Fdump.bin that nanoBragg (this repository's reference build, compiled with
# gcc -O2 -ffp-contract=off) wrote for "-hkl cubic.hkl" and for "-hkl scaled.hkl -default_F 7.5".
FDUMP_SHA256 = {
    ("cubic.hkl", 0.0): "c215d4a947e685a26c707ea1bad3d723595f89e05c115d5c41410bd3c591249d",
    ("scaled.hkl", 7.5): "d0ae46f5ccab7177bb6871578710fa61d4b97efe9ecbd25b7b51683a68ee5044",
}


@pytest.mark.parametrize("name, default_F", sorted(FDUMP_SHA256))
def test_write_fdump_is_byte_identical_to_c(tmp_path, name, default_F):
    """write_fdump produces exactly the C's Fdump.bin for the same hkl file and default_F."""
    write_fdump(tmp_path / "Fdump.bin", read_hkl(INPUTS / name, default_F=default_F))
    digest = hashlib.sha256((tmp_path / "Fdump.bin").read_bytes()).hexdigest()
    assert digest == FDUMP_SHA256[(name, default_F)]


def test_fdump_layout_has_header_and_zero_padding(tmp_path):
    """The header is '%d x6\\n\\f' and each index range carries one extra zero plane."""
    table = HKLTable(-1, 0, 2, 2, 0, 1, np.array([[[1.0, 2.0]], [[3.0, 4.0]]]), 4)
    write_fdump(tmp_path / "Fdump.bin", table)
    data = (tmp_path / "Fdump.bin").read_bytes()
    header = b"-1 0 2 2 0 1\n\f"
    values = np.frombuffer(data[len(header):], "<f8").reshape(3, 2, 3)
    assert data.startswith(header)
    assert values[:2, :1, :2].tolist() == table.F.tolist()
    assert values.sum() == table.F.sum()


def test_fdump_round_trip(tmp_path):
    """read_fdump(write_fdump(t)) gives back the same ranges and values."""
    table = read_hkl(INPUTS / "scaled.hkl", default_F=7.5)
    write_fdump(tmp_path / "Fdump.bin", table)
    back = read_fdump(tmp_path / "Fdump.bin")
    assert (back.h_min, back.h_max, back.k_min, back.k_max, back.l_min, back.l_max) == (-24, 24, -28, 28, -31, 30)
    assert np.array_equal(back.F, table.F)


def test_read_fdump_rejects_truncated_file(tmp_path):
    """A cut-off Fdump.bin reports its size and the size its header requires (16 + 8*16**3)."""
    write_fdump(tmp_path / "Fdump.bin", read_hkl(INPUTS / "cubic.hkl"))
    data = (tmp_path / "Fdump.bin").read_bytes()
    (tmp_path / "Fdump.bin").write_bytes(data[:1000])
    with pytest.raises(FdumpFormatError,
                       match=r"Fdump\.bin: file has 1000 bytes; the header's ranges need exactly 32784"):
        read_fdump(tmp_path / "Fdump.bin")


def test_read_fdump_rejects_garbled_header(tmp_path):
    """A header that is not six integers and newline + form feed is refused."""
    (tmp_path / "Fdump.bin").write_bytes(b"-7 7 -7 x 7\n\f" + bytes(64))
    with pytest.raises(FdumpFormatError, match=r"header is b'-7 7 -7 x 7\\n\\x0c"):
        read_fdump(tmp_path / "Fdump.bin")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "test.hkl"
    path.write_bytes(text.encode())
    return path


def test_blank_lines_crlf_and_trailing_spaces_are_accepted(tmp_path):
    """Blank lines, CRLF endings and surrounding blanks do not matter."""
    path = _write(tmp_path, "\n  0 0 0   1.5  \r\n\n\t0 0 1 2.5\t\r\n   \n")
    assert read_hkl(path).F.ravel().tolist() == [1.5, 2.5]


def test_later_duplicate_wins(tmp_path):
    """When a reflection appears twice, the later line wins, as in the C."""
    path = _write(tmp_path, "0 0 0 1\n0 0 1 2\n0 0 0 3\n")
    assert read_hkl(path).F.ravel().tolist() == [3.0, 2.0]


def test_slow_path_numbers_parse_like_fast_path(tmp_path):
    """A file needing the line-by-line parser (hex F) reads every other line identically."""
    text = (INPUTS / "cubic.hkl").read_text()
    path = _write(tmp_path, text + "7 7 7 0x1.4p3\n")
    fast, slow = read_hkl(INPUTS / "cubic.hkl"), read_hkl(path)
    assert slow.F[14, 14, 14] == 10.0
    slow.F[14, 14, 14] = fast.F[14, 14, 14]
    assert np.array_equal(slow.F, fast.F)


def test_nan_structure_factor_is_read_as_c_does(tmp_path):
    """F may be any number C's %lg reads, including nan."""
    assert math.isnan(read_hkl(_write(tmp_path, "1 2 3 nan\n")).F[0, 0, 0])


@pytest.mark.parametrize(
    "text, message",
    [
        ("0 0 0 1\n\n1 2 3\n", r"test\.hkl, line 3: expected 4 fields 'h k l F', got 3: '1 2 3'"),
        ("0 0 0 1 9\n", r"test\.hkl, line 1: expected 4 fields 'h k l F', got 5: '0 0 0 1 9'"),
        ("0 0 0 1\n0 1.5 0 2\n", r"test\.hkl, line 2: k must be an integer, got '1\.5'"),
        ("0 0 0 1\n0 0 x 2\n", r"test\.hkl, line 2: l must be an integer, got 'x'"),
        ("0 0 0 abc\n", r"test\.hkl, line 1: F must be a number, got 'abc'"),
        ("0 0 0 1.5x\n", r"test\.hkl, line 1: F must be a number, got '1\.5x'"),
        ("0 0 0 1_0\n", r"test\.hkl, line 1: F must be a number, got '1_0'"),
        ("3000000000 0 0 1\n", r"test\.hkl, line 1: h = 3000000000 is outside the C int range"),
        ("", r"test\.hkl: no reflections found; expected lines of 'h k l F'"),
        ("\n  \n", r"test\.hkl: no reflections found"),
    ],
)
def test_malformed_files_raise_with_file_and_line(tmp_path, text, message):
    """Malformed input raises HKLFormatError naming the file and the 1-based line."""
    with pytest.raises(HKLFormatError, match=message):
        read_hkl(_write(tmp_path, text))


DIGITS = "1" * 200_000


@pytest.mark.parametrize(
    "line, message",
    [
        (f"0 0 1 {DIGITS}x", r"line 2: F must be a number, got '1{40}'\.\.\. \(200001 characters\)$"),
        (f"0 0 1 1e{DIGITS}x", r"line 2: F must be a number, got '1e1{38}'\.\.\. \(200003 characters\)$"),
        (f"{DIGITS} 0 1 2", r"line 2: h = 1{40}\.\.\. \(200000 characters\) is outside the C int range"),
        (f"0 0 {DIGITS}", r"line 2: expected 4 fields 'h k l F', got 3: '0 0 1{36}'\.\.\. \(200004 characters\)$"),
    ],
    ids=["F", "exponent", "h", "fields"],
)
def test_long_digit_run_is_a_quick_one_line_error(tmp_path, line, message):
    """A 200 KB run of digits in a line is reported at once (no quadratic backtracking), in one short line."""
    path = _write(tmp_path, f"0 0 0 1\n{line}\n")
    started = time.perf_counter()
    with pytest.raises(HKLFormatError, match=r"test\.hkl, " + message) as raised:
        read_hkl(path)
    assert time.perf_counter() - started < 2.0
    assert "\n" not in str(raised.value) and len(str(raised.value)) < 300


def test_long_digit_run_as_f_reads_as_the_c_does(tmp_path):
    """A 200 KB run of digits is a number, as strtod reads it: infinity, without delay."""
    path = _write(tmp_path, f"0 0 0 1\n0 0 1 {DIGITS}\n")
    started = time.perf_counter()
    assert read_hkl(path).F.ravel().tolist() == [1.0, math.inf]
    assert time.perf_counter() - started < 2.0


def test_hkl_format_error_is_a_value_error():
    """HKLFormatError can be caught as ValueError."""
    assert issubclass(HKLFormatError, ValueError) and issubclass(FdumpFormatError, ValueError)
