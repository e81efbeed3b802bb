"""Multi-column text files read with the C's ``read_text_file`` (``-sourcefile``, ``-stolfile``).

The C rules, reproduced exactly (they differ from a plain whitespace split):

* fields are separated by any run of the characters `` \\t,;:!``;
* a line holding only separators and a newline is skipped (it is not a data line);
* each field is read with ``atof``, so a leading number is taken and anything else gives 0
  (``#`` comment lines therefore become a data line of zeros);
* after a field the reader skips characters from ``0123456789-+.EGeg``, then non-separators,
  then separators; a line whose rest is exactly ``"\\n"`` ends there and its missing columns
  stay NaN;
* a line that does not end in ``"\\n"`` (last line without newline, or ``"\\r\\n"``
  endings) never reaches that test, so ITS missing columns become 0, not NaN;
* columns beyond the requested number are ignored.

Lines longer than the C's 10239-character buffer (which the C splits) are read whole here.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .._c_numbers import c_atof

__all__ = ["SourceFileError", "read_sourcefile", "read_text_columns"]

_DELIMITERS = " \t,;:!"
_NUMBER_CHARS = "0123456789-+.EGeg"
_SOURCE_COLUMNS = ("X", "Y", "Z", "I", "lambda")


class SourceFileError(ValueError):
    """A column file with no data lines.

    Example:
        >>> issubclass(SourceFileError, ValueError)
        True
    """


def _span(text: str, pos: int, chars: str) -> int:
    """Index after the run of ``chars`` starting at ``pos`` (C ``strspn``)."""
    while pos < len(text) and text[pos] in chars:
        pos += 1
    return pos


def _cspan(text: str, pos: int, chars: str) -> int:
    """Index of the first of ``chars`` at or after ``pos`` (C ``strcspn``)."""
    while pos < len(text) and text[pos] not in chars:
        pos += 1
    return pos


def _parse_line(line: str, n_columns: int) -> list[float] | None:
    """One line as the C's inner loop reads it; None for a skipped (blank) line."""
    pos = _span(line, 0, _DELIMITERS)
    if line[pos:] == "\n":
        return None
    row = [math.nan] * n_columns
    column = 0
    while True:
        row[column] = c_atof(line[pos:])
        pos = _span(line, pos, _NUMBER_CHARS)
        if line[pos:] == "\n":
            break
        pos = _cspan(line, pos, _DELIMITERS)
        pos = _span(line, pos, _DELIMITERS)
        if line[pos:] == "\n":
            break
        column += 1
        if column >= n_columns:
            break
    return row


def _c_lines(text: str) -> list[str]:
    """Lines as ``fgets`` returns them: split after each ``"\n"`` only, newline kept."""
    pieces = text.split("\n")
    lines = [piece + "\n" for piece in pieces[:-1]]
    if pieces[-1]:
        lines.append(pieces[-1])
    return lines


def read_text_columns(path: str | Path, n_columns: int) -> np.ndarray:
    """Read a column file like the C's ``read_text_file``: (lines, n_columns) float64, NaN
    where a line has fewer columns (see the module notes for the exact rules).

    Raises:
        SourceFileError: the file has no data lines (the C stops with an error then).

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "cols.txt")
        >>> _ = open(p, "w").write("1,2;3\\n\\n  4\\t5\\n")
        >>> read_text_columns(p, 3).tolist()
        [[1.0, 2.0, 3.0], [4.0, 5.0, nan]]
    """
    if n_columns < 1:
        raise ValueError(f"n_columns is {n_columns}; expected at least 1")
    text = Path(path).read_bytes().decode("latin-1")
    rows = []
    for line in _c_lines(text):
        row = _parse_line(line, n_columns)
        if row is not None:
            rows.append(row)
    if not rows:
        raise SourceFileError(
            f"{path}: no data lines; expected lines of up to {n_columns} numbers separated by"
            f" any of {_DELIMITERS!r}"
        )
    return np.array(rows, dtype=np.float64)


def read_sourcefile(path: str | Path) -> np.ndarray:
    """Read a ``-sourcefile``: (sources, 5) float64 with columns X, Y, Z, I, lambda.

    X, Y, Z (source position) and lambda are in metres, as the C uses them. Missing columns are
    NaN; the caller applies the C's defaults (``-source_distance*beam`` for the position, 1.0
    for I, ``lambda0`` for lambda).

    Raises:
        SourceFileError: the file has no data lines.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "src.txt")
        >>> _ = open(p, "w").write("-10 0 0 1 1e-10\\n-10 0.01 0\\n")
        >>> read_sourcefile(p)[1].tolist()
        [-10.0, 0.01, 0.0, nan, nan]
    """
    return read_text_columns(path, len(_SOURCE_COLUMNS))
