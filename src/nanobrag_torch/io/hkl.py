"""Structure-factor files: ``h k l F`` text tables and nanoBragg's binary ``Fdump.bin`` cache.

nanoBragg stores structure factors in a dense box spanning the smallest and largest h, k and l
found in the file; box cells with no line in the file hold ``default_F``. The C also writes that
box to ``Fdump.bin`` (and reads it back when no ``-hkl`` file is given), in this layout::

    "%d %d %d %d %d %d\\n\\f" % (h_min, h_max, k_min, k_max, l_min, l_max)
    (h_range+1)*(k_range+1)*(l_range+1) little-endian float64, l fastest

where ``h_range = h_max - h_min + 1`` (and so on). The extra ``+1`` plane in each direction is
allocation padding in the C; it is written as zeros and ignored on reading.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from .._c_numbers import INT_MAX, INT_MIN, c_strtod_prefix

__all__ = ["HKLFormatError", "HKLTable", "FdumpFormatError", "read_hkl", "read_fdump", "write_fdump"]


class HKLFormatError(ValueError):
    """An ``h k l F`` file that cannot be read (malformed line, no reflections).

    Example:
        >>> issubclass(HKLFormatError, ValueError)
        True
    """


class FdumpFormatError(ValueError):
    """An ``Fdump.bin`` file whose header or size does not match the C layout.

    Example:
        >>> issubclass(FdumpFormatError, ValueError)
        True
    """


@dataclass(frozen=True, eq=False)
class HKLTable:
    """Dense structure-factor box, indexed ``F[h - h_min, k - k_min, l - l_min]``.

    ``n_reflections`` is what the C reports as "initialized hkls": the number of data lines in
    the hkl file (duplicates included), or the number of box cells for a table read from
    ``Fdump.bin``.

    Example:
        >>> t = HKLTable(-1, 1, 0, 0, 0, 0, np.array([[[1.0]], [[2.0]], [[3.0]]]), 3)
        >>> t.shape, float(t.F[1 - t.h_min, 0, 0])
        ((3, 1, 1), 3.0)
    """

    h_min: int
    h_max: int
    k_min: int
    k_max: int
    l_min: int
    l_max: int
    F: np.ndarray
    n_reflections: int

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(h_range, k_range, l_range)``, the shape of ``F``.

        Example:
            >>> HKLTable(0, 1, 0, 2, 0, 0, np.zeros((2, 3, 1)), 6).shape
            (2, 3, 1)
        """
        return (self.h_max - self.h_min + 1, self.k_max - self.k_min + 1, self.l_max - self.l_min + 1)


# One data line: three integers and a number, separated by blanks. The fast path accepts only
# plain decimal F values; anything else (nan, inf, hexadecimal, errors) goes line by line.
_BLANK = rb"[ \t\r\f\v]"
_INT = rb"[+-]?[0-9]+"
_DEC = rb"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
# Each line can match in only one way (trailing blanks belong to the optional group, and a digit
# run cannot be split: not ``[0-9]+\.?[0-9]*``), so a failing match backtracks in linear time.
_LINE = rb"%s*(?:%s%s+%s%s+%s%s+%s%s*)?" % (_BLANK, _INT, _BLANK, _INT, _BLANK, _INT, _BLANK, _DEC, _BLANK)
_FAST_FILE = re.compile(rb"(?:%s\n)*%s" % (_LINE, _LINE))
_INT_TOKEN = re.compile(_INT)
# The C reads indices with "%d".


def read_hkl(path: str | Path, default_F: float = 0.0, *,
             check_box: Optional[Callable[[int, int, int, int, int, int], None]] = None) -> HKLTable:
    """Read an ``h k l F`` text file into a dense :class:`HKLTable`, as nanoBragg's ``-hkl``.

    Fields are separated by blanks; blank lines are skipped. Box cells without a line get
    ``default_F``; when a reflection appears twice the later line wins (as in the C).
    ``check_box(h_min, h_max, k_min, k_max, l_min, l_max)``, when given, runs before the dense box is
    allocated and may raise to refuse it (the command line refuses a box larger than memory).

    Raises:
        HKLFormatError: a line without exactly four fields, an h/k/l that is not an integer,
            an F that is not a number, or a file with no reflections. The message names the
            file and the 1-based line. (The C silently stops reading at such a line.)

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "x.hkl")
        >>> _ = open(p, "w").write("0 0 1 10.5\\n0 0 3 7\\n")
        >>> t = read_hkl(p, default_F=1.0)
        >>> t.F[0, 0, :].tolist(), t.l_min, t.n_reflections
        ([10.5, 1.0, 7.0], 1, 2)
    """
    data = Path(path).read_bytes()
    parsed = _parse_fast(data)
    hkl, F = parsed if parsed is not None else _parse_lines(data, path)
    if len(F) == 0:
        raise HKLFormatError(f"{path}: no reflections found; expected lines of 'h k l F'")
    return _build_table(hkl, F, default_F, check_box)


def _parse_fast(data: bytes) -> tuple[np.ndarray, np.ndarray] | None:
    """Vectorised parse of a well-formed file; None sends the caller to the line-by-line path."""
    if _FAST_FILE.fullmatch(data) is None:
        return None
    columns = np.array(data.split(), dtype=np.bytes_).reshape(-1, 4)
    try:
        hkl = columns[:, :3].astype(np.int64)
    except (OverflowError, ValueError):  # beyond int64, or more digits than Python converts
        return None
    if hkl.size and (hkl.min() < INT_MIN or hkl.max() > INT_MAX):
        return None
    return hkl, columns[:, 3].astype(np.float64)


def _parse_lines(data: bytes, path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Parse line by line (slow path): accepts any C number for F, reports the first bad line."""
    hkl: list[tuple[int, int, int]] = []
    values: list[float] = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        fields = raw.split()
        if not fields:
            continue
        where = f"{path}, line {number}"
        if len(fields) != 4:
            raise HKLFormatError(f"{where}: expected 4 fields 'h k l F', got {len(fields)}: {_show(raw)}")
        indices = [_c_int(name, token, where) for name, token in zip("hkl", fields[:3])]
        value = _full_c_number(fields[3])
        if value is None:
            raise HKLFormatError(f"{where}: F must be a number, got {_show(fields[3])}")
        hkl.append(tuple(indices))
        values.append(value)
    return np.array(hkl, dtype=np.int64).reshape(-1, 3), np.array(values, dtype=np.float64)


def _c_int(name: str, token: bytes, where: str) -> int:
    """The value of index ``name`` read with the C's "%d", or an HKLFormatError naming ``where``."""
    if _INT_TOKEN.fullmatch(token) is None:
        raise HKLFormatError(f"{where}: {name} must be an integer, got {_show(token)}")
    # Count the digits first: int() of a very long run is slow, and refused beyond 4300 digits.
    if len(token.lstrip(b"+-").lstrip(b"0")) > len(str(INT_MAX)) or not INT_MIN <= int(token) <= INT_MAX:
        raise HKLFormatError(f"{where}: {name} = {_show(token, quote=False)} is outside the C int range"
                             f" [{INT_MIN}, {INT_MAX}]")
    return int(token)


def _full_c_number(token: bytes) -> float | None:
    """The value of ``token`` if C's strtod reads all of it, else None."""
    text = token.decode("latin-1")
    parsed = c_strtod_prefix(text)
    if parsed is None or parsed[1] != len(text):
        return None
    return parsed[0]


def _show(raw: bytes, quote: bool = True, limit: int = 40) -> str:
    """``raw`` for an error message, cut short if long so that the message stays one short line."""
    text = raw.strip().decode("latin-1")
    shown = repr(text[:limit]) if quote else text[:limit]
    return shown if len(text) <= limit else f"{shown}... ({len(text)} characters)"


def _build_table(hkl: np.ndarray, F: np.ndarray, default_F: float, check_box=None) -> HKLTable:
    lows = hkl.min(axis=0)
    highs = hkl.max(axis=0)
    if check_box is not None:
        check_box(*(int(bound) for pair in zip(lows, highs) for bound in pair))
    shape = tuple(int(n) for n in highs - lows + 1)
    box = np.full(shape, float(default_F), dtype=np.float64)
    flat = np.ravel_multi_index(tuple((hkl - lows).T), shape)
    # Keep the last line for each reflection: unique() on the reversed list finds, for every
    # cell, its first occurrence from the end.
    cells, first_from_end = np.unique(flat[::-1], return_index=True)
    box.reshape(-1)[cells] = F[::-1][first_from_end]
    (h_min, k_min, l_min), (h_max, k_max, l_max) = lows.tolist(), highs.tolist()
    return HKLTable(h_min, h_max, k_min, k_max, l_min, l_max, box, len(F))


def write_fdump(path: str | Path, table: HKLTable) -> None:
    """Write ``table`` as nanoBragg's ``Fdump.bin`` (byte-identical to the C's cache file).

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "Fdump.bin")
        >>> write_fdump(p, HKLTable(0, 0, 0, 0, 0, 0, np.array([[[5.0]]]), 1))
        >>> open(p, "rb").read()[:13], os.path.getsize(p)
        (b'0 0 0 0 0 0\\n\\x0c', 77)
    """
    hr, kr, lr = table.shape
    if table.F.shape != (hr, kr, lr):
        raise ValueError(f"F has shape {table.F.shape}, expected {(hr, kr, lr)} from the index ranges")
    padded = np.zeros((hr + 1, kr + 1, lr + 1), dtype="<f8")
    padded[:hr, :kr, :lr] = table.F
    header = "%d %d %d %d %d %d\n\f" % (
        table.h_min, table.h_max, table.k_min, table.k_max, table.l_min, table.l_max
    )
    with open(path, "wb") as handle:
        handle.write(header.encode("ascii"))
        handle.write(padded.tobytes())


# The C writes each bound with "%d": at most 10 digits.
_FDUMP_HEADER = re.compile(rb" ".join([rb"(-?[0-9]{1,10})"] * 6) + rb"\n\f")


def read_fdump(path: str | Path) -> HKLTable:
    """Read nanoBragg's ``Fdump.bin`` cache into an :class:`HKLTable` (padding dropped).

    Raises:
        FdumpFormatError: the header is not six integers followed by newline and form feed,
            the ranges are empty, or the file size does not match the ranges.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "Fdump.bin")
        >>> write_fdump(p, HKLTable(1, 2, 0, 0, 0, 0, np.array([[[5.0]], [[6.0]]]), 2))
        >>> read_fdump(p).F.ravel().tolist()
        [5.0, 6.0]
    """
    data = Path(path).read_bytes()
    match = _FDUMP_HEADER.match(data)
    if match is None:
        raise FdumpFormatError(
            f"{path}: header is {data[:60]!r}; expected 'h_min h_max k_min k_max l_min l_max'"
            " as integers followed by '\\n\\f'"
        )
    h_min, h_max, k_min, k_max, l_min, l_max = (int(g) for g in match.groups())
    shape = (h_max - h_min + 1, k_max - k_min + 1, l_max - l_min + 1)
    if min(shape) < 1:
        raise FdumpFormatError(f"{path}: header gives empty index ranges {match.group(0)[:-2]!r}")
    padded_shape = tuple(n + 1 for n in shape)
    expected = match.end() + 8 * math.prod(padded_shape)
    if len(data) != expected:
        raise FdumpFormatError(
            f"{path}: file has {len(data)} bytes; the header's ranges need exactly {expected}"
            " (header plus (h_range+1)*(k_range+1)*(l_range+1) float64 values)"
        )
    padded = np.frombuffer(data, dtype="<f8", offset=match.end()).reshape(padded_shape)
    F = padded[: shape[0], : shape[1], : shape[2]].astype(np.float64)
    return HKLTable(h_min, h_max, k_min, k_max, l_min, l_max, F, math.prod(shape))
