"""Tests for nanobrag_torch.io.matrix: MOSFLM orientation matrix files."""

import re
import time
from pathlib import Path

import numpy as np
import pytest

from nanobrag_torch.io import MatrixFormatError, format_c_g, read_mosflm_matrix, reciprocal_vectors

DATA = Path(__file__).resolve().parents[1] / "data" / "c_reference"


def test_reads_reference_matrix_values():
    """A.mat's nine numbers come back as the (3, 3) array written in the file."""
    expected = np.loadtxt(DATA / "inputs" / "A.mat")
    assert np.array_equal(read_mosflm_matrix(DATA / "inputs" / "A.mat"), expected)


def test_columns_are_the_vectors_the_c_prints():
    """The columns equal the raw a*, b*, c* that the C's trace prints for A.mat (%g)."""
    log = (DATA / "phys_mat_hkl" / "stdout.log").read_text()
    printed = [re.search(rf"{name} \(raw\) = \[(.*)\]", log).group(1) for name in ("a_star", "b_star", "c_star")]
    vectors = reciprocal_vectors(read_mosflm_matrix(DATA / "inputs" / "A.mat"))
    assert [", ".join(format_c_g(v) for v in vec) for vec in vectors] == printed


def test_numbers_without_blanks_and_trailing_lines(tmp_path):
    """Numbers may touch (Fortran format) or wrap lines; text after the ninth is ignored."""
    path = tmp_path / "m.mat"
    path.write_text("-0.01-0.02 0.03\n 1e-2 2E-2\n3.0e-2 7 8 9\n  0.5 U matrix follows\ncell 10 20 30\n")
    assert read_mosflm_matrix(path).tolist() == [[-0.01, -0.02, 0.03], [0.01, 0.02, 0.03], [7.0, 8.0, 9.0]]


def test_too_few_numbers(tmp_path):
    """Fewer than nine numbers is an error saying how many were found."""
    path = tmp_path / "short.mat"
    path.write_text("1 2 3\n4 5 6\n7 8\n")
    with pytest.raises(MatrixFormatError, match=r"short\.mat: found 8 numbers, a MOSFLM matrix needs 9"):
        read_mosflm_matrix(path)


def test_non_number_names_the_line(tmp_path):
    """Text among the first nine numbers is an error naming the line and the text."""
    path = tmp_path / "bad.mat"
    path.write_text("1 2 3\n4 five 6\n7 8 9\n")
    with pytest.raises(MatrixFormatError,
                       match=r"bad\.mat, line 2: expected number 5 of the 9 matrix elements, got 'five'"):
        read_mosflm_matrix(path)


def test_reciprocal_vectors_rejects_wrong_shape():
    """reciprocal_vectors needs a 3x3 matrix."""
    with pytest.raises(ValueError, match=r"matrix has shape \(2, 3\), expected \(3, 3\)"):
        reciprocal_vectors(np.zeros((2, 3)))


def test_long_digit_run_is_read_at_once(tmp_path):
    """A 200 KB run of digits followed by text is one number (as strtod reads it), then an error, both at once."""
    path = tmp_path / "long.mat"
    path.write_text("1 0 0\n0 " + "1" * 200_000 + "x 0\n0 0 1\n")
    started = time.perf_counter()
    with pytest.raises(MatrixFormatError, match=r"long\.mat, line 2: expected number 6 of the 9 .*, got 'x'$"):
        read_mosflm_matrix(path)
    assert time.perf_counter() - started < 2.0
