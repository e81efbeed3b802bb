"""MOSFLM orientation matrix files (nanoBragg's ``-mat``).

The file starts with nine numbers, three per row::

    a*_x b*_x c*_x
    a*_y b*_y c*_y
    a*_z b*_z c*_z

so the columns are the reciprocal cell vectors, in inverse Angstrom multiplied by the
wavelength (nanoBragg divides them by ``lambda0`` in Angstrom afterwards). Anything after the
ninth number (MOSFLM writes the U matrix and the cell there) is ignored, as in the C. Numbers
are read like C's ``fscanf("%lg")``: line breaks do not matter, and numbers written without a
separating blank (``-0.01234567-0.02345678``, as Fortran formats produce) are split correctly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._c_numbers import C_SPACE, c_strtod_prefix

__all__ = ["MatrixFormatError", "read_mosflm_matrix", "reciprocal_vectors"]


class MatrixFormatError(ValueError):
    """A MOSFLM matrix file without nine leading numbers.

    Example:
        >>> issubclass(MatrixFormatError, ValueError)
        True
    """


def read_mosflm_matrix(path: str | Path) -> np.ndarray:
    """Read the first nine numbers of a MOSFLM matrix file as a (3, 3) float64 array.

    Row ``i`` holds the ``i``-th component (x, y, z) of ``a*``, ``b*`` and ``c*``, as in the file.

    Raises:
        MatrixFormatError: fewer than nine numbers, or something that is not a number before
            the ninth; the message names the file and the line.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "A.mat")
        >>> _ = open(p, "w").write("1 0 0\\n0 2 0\\n0 0 3\\nU matrix follows\\n")
        >>> read_mosflm_matrix(p).diagonal().tolist()
        [1.0, 2.0, 3.0]
    """
    text = Path(path).read_bytes().decode("latin-1")
    values: list[float] = []
    pos = 0
    while len(values) < 9:
        while pos < len(text) and text[pos] in C_SPACE:
            pos += 1
        line = text.count("\n", 0, pos) + 1
        if pos == len(text):
            raise MatrixFormatError(
                f"{path}: found {len(values)} numbers, a MOSFLM matrix needs 9"
                " (rows a*_x b*_x c*_x / a*_y b*_y c*_y / a*_z b*_z c*_z)"
            )
        parsed = c_strtod_prefix(text, pos)
        if parsed is None:
            found = text[pos:pos + 41].split(None, 1)[0]  # enough to show; a long token is cut short
            shown = repr(found) if len(found) <= 40 else f"{found[:40]!r}..."
            raise MatrixFormatError(
                f"{path}, line {line}: expected number {len(values) + 1} of the 9 matrix"
                f" elements, got {shown}"
            )
        value, pos = parsed
        values.append(value)
    return np.array(values, dtype=np.float64).reshape(3, 3)


def reciprocal_vectors(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split a MOSFLM matrix into its columns ``(a_star, b_star, c_star)`` (copies).

    Example:
        >>> a, b, c = reciprocal_vectors(np.arange(9.0).reshape(3, 3))
        >>> a.tolist(), c.tolist()
        ([0.0, 3.0, 6.0], [2.0, 5.0, 8.0])
    """
    m = np.asarray(matrix, dtype=np.float64)
    if m.shape != (3, 3):
        raise ValueError(f"matrix has shape {m.shape}, expected (3, 3)")
    return m[:, 0].copy(), m[:, 1].copy(), m[:, 2].copy()
