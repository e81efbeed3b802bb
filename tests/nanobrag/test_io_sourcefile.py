"""Tests for nanobrag_torch.io.sourcefile: the C's read_text_file rules for -sourcefile."""

import time

import numpy as np
import pytest

from nanobrag_torch.io import SourceFileError, read_sourcefile, read_text_columns

# Every rule of the C reader in one file: separators " \t,;:!", a blank line, a comment, text
# after numbers, hex/inf/nan, extra columns, a CRLF line and a last line without newline.
TRICKY = (
    "-10 0 0 1 1e-10\n\n  \t \n-10,0.01;0:2!1.5e-10\n# comment here\n1.5x 2abc 3\n"
    " 0x1p3 inf nan -.5e+2\n1 2 3 4 5 6 7\n1 2\r\n4 5\n7 8 9"
)

# C: read_text_file(TRICKY, 5, ...) copied from nanoBragg.c, compiled with gcc -O2, %.17g output.
TRICKY_C = [
    [-10, 0, 0, 1, 1e-10],
    [-10, 0.01, 0, 2, 1.5e-10],
    [0, 0, 0, 0, 0],
    [1.5, 2, 3, np.nan, np.nan],
    [8, np.inf, np.nan, -50, np.nan],
    [1, 2, 3, 4, 5],
    [1, 2, 0, 0, 0],
    [4, 5, np.nan, np.nan, np.nan],
    [7, 8, 9, 0, 0],
]


def test_tricky_file_matches_c_read_text_file(tmp_path):
    """Every C quirk (zeros after CRLF or at EOF, comments as zeros, hex) is reproduced."""
    path = tmp_path / "sources.txt"
    path.write_bytes(TRICKY.encode())
    assert np.array_equal(read_sourcefile(path), np.array(TRICKY_C), equal_nan=True)


def test_missing_columns_are_nan(tmp_path):
    """Lines with fewer than five numbers leave the rest NaN for the caller's defaults."""
    path = tmp_path / "sources.txt"
    path.write_text("-10 0 0\n-10 0.001 0 2\n")
    assert np.array_equal(
        read_sourcefile(path), np.array([[-10, 0, 0, np.nan, np.nan], [-10, 0.001, 0, 2, np.nan]]), equal_nan=True
    )


def test_read_text_columns_takes_the_requested_count(tmp_path):
    """read_text_columns(path, 2) keeps the first two columns, as for -stolfile."""
    path = tmp_path / "stol.txt"
    path.write_text("0.1 2.5 99\n0.2:3.5\n")
    assert read_text_columns(path, 2).tolist() == [[0.1, 2.5], [0.2, 3.5]]


@pytest.mark.parametrize("text", ["", "\n\n", " \t,\n;;\n"])
def test_file_without_data_is_an_error(tmp_path, text):
    """A file with only blank lines raises SourceFileError naming the file."""
    path = tmp_path / "empty.txt"
    path.write_text(text)
    with pytest.raises(SourceFileError, match=r"empty\.txt: no data lines; expected lines of up to 5 numbers"):
        read_sourcefile(path)


def test_long_digit_run_is_read_at_once(tmp_path):
    """A 200 KB run of digits in a column is read as atof reads it (infinity), without delay."""
    path = tmp_path / "long.txt"
    path.write_text("-10 0 " + "1" * 200_000 + "x 1 1e-10\n")
    started = time.perf_counter()
    assert read_sourcefile(path).tolist() == [[-10.0, 0.0, np.inf, 1.0, 1e-10]]
    assert time.perf_counter() - started < 2.0
