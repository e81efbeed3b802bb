"""SMV (ADSC) images as nanoBragg writes them (``-intfile``, ``-noisefile``) and reads them
(``-img``, ``-mask``).

An SMV file is an ASCII header of ``KEY=VALUE;`` lines between ``{`` and ``}``, padded to
``HEADER_BYTES`` (512 for nanoBragg), followed by unsigned 16-bit pixels, fast index first.
nanoBragg ends its header with ``}`` and a form feed, then blanks up to byte 512, and writes
its ``DIALS_ORIGIN=x,y,z`` line without the ``;`` every other line has.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from pathlib import Path

import numpy as np

from .._c_numbers import c_atof, format_c_g
from ..units import rad_to_deg

__all__ = [
    "SMVFormatError",
    "SMVImage",
    "machine_byte_order",
    "nanobragg_header_values",
    "read_smv",
    "value_of",
    "write_smv",
]

HEADER_BYTES = 512
_ORDER_CODES = {"little_endian": "<", "big_endian": ">"}


class SMVFormatError(ValueError):
    """An SMV file or header that cannot be read or written.

    Example:
        >>> issubclass(SMVFormatError, ValueError)
        True
    """


def machine_byte_order() -> str:
    """The ``BYTE_ORDER`` string the C writes on this machine.

    Example:
        >>> machine_byte_order() in ("little_endian", "big_endian")
        True
    """
    return "little_endian" if sys.byteorder == "little" else "big_endian"


def _format_value(key: str, value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        raise TypeError(f"header value for {key} is a bool; use an int, a float or a string")
    if isinstance(value, Integral):
        return "%d" % int(value)
    if isinstance(value, Real):
        return format_c_g(float(value))
    if isinstance(value, Iterable):
        return ",".join(_format_value(key, v) for v in value)
    raise TypeError(f"header value for {key} is {type(value).__name__}; expected str, int, float or a sequence")


def _header_text(
    shape: tuple[int, int],
    header_values: Iterable[tuple[str, object]],
    byte_order: str,
    unterminated_keys: Collection[str],
) -> bytes:
    """The header padded to HEADER_BYTES; a longer text gets the next multiple of 512 instead.

    nanoBragg keeps declaring 512 bytes and writes the pixels right after a longer header (a file
    no reader can open correctly, e.g. for the long DIALS origin of large detectors); the port
    declares the size it really used.
    """
    slow, fast = shape
    body = [f"{key}={_format_value(key, value)}{'' if key in unterminated_keys else ';'}"
            for key, value in header_values]
    size = HEADER_BYTES
    while True:
        lines = ["{", f"HEADER_BYTES={size};", "DIM=2;", f"BYTE_ORDER={byte_order};", "TYPE=unsigned_short;",
                 f"SIZE1={fast};", f"SIZE2={slow};", *body]
        text = ("\n".join(lines) + "\n}\f").encode("ascii")
        if len(text) <= size:
            return text.ljust(size, b" ")
        size += HEADER_BYTES


def write_smv(
    path: str | Path,
    image: np.ndarray,
    header_values: Iterable[tuple[str, object]],
    *,
    byte_order: str | None = None,
    unterminated_keys: Collection[str] = ("DIALS_ORIGIN",),
) -> None:
    """Write a 2-D unsigned 16-bit image as an SMV file with nanoBragg's header layout.

    The header starts with ``HEADER_BYTES``, ``DIM``, ``BYTE_ORDER``, ``TYPE``, ``SIZE1`` (fast
    pixels) and ``SIZE2`` (slow pixels), then ``header_values`` in the given order. Values are
    written as strings unchanged, ints with ``%d``, floats with C ``%g`` and sequences as
    comma-separated items. Keys in ``unterminated_keys`` get no ``;`` (the C's quirk).
    ``byte_order`` defaults to this machine's, as in the C.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "x.img")
        >>> write_smv(p, np.zeros((2, 3), np.uint16), [("PIXEL_SIZE", 0.1), ("DIALS_ORIGIN", (1.0, 2.5, -3.0))])
        >>> open(p, "rb").read().split(b"SIZE2=2;\\n")[1][:42]
        b'PIXEL_SIZE=0.1;\\nDIALS_ORIGIN=1,2.5,-3\\n}\\x0c  '
    """
    pixels = _as_uint16_image(image)
    order = machine_byte_order() if byte_order is None else byte_order
    if order not in _ORDER_CODES:
        raise SMVFormatError(f"byte_order is {order!r}; expected 'little_endian' or 'big_endian'")
    header = _header_text(pixels.shape, header_values, order, unterminated_keys)
    with open(path, "wb") as handle:
        handle.write(header)
        handle.write(pixels.astype(_ORDER_CODES[order] + "u2").tobytes())


def _as_uint16_image(image: np.ndarray) -> np.ndarray:
    pixels = np.asarray(image)
    if pixels.ndim != 2:
        raise ValueError(f"image has {pixels.ndim} dimensions, expected 2 (slow, fast)")
    if pixels.dtype == np.uint16:
        return pixels
    if pixels.dtype.kind not in "iu":
        raise TypeError(f"image dtype is {pixels.dtype}; expected uint16 (or integers in 0..65535)")
    if pixels.size and (pixels.min() < 0 or pixels.max() > 65535):
        raise ValueError(f"image values span {pixels.min()}..{pixels.max()}; SMV pixels must be in 0..65535")
    return pixels.astype(np.uint16)


def nanobragg_header_values(
    *,
    pixel_size_m: float,
    distance_m: float,
    wavelength_m: float,
    xbeam_m: float,
    ybeam_m: float,
    fbeam_m: float,
    sbeam_m: float,
    detsize_s_m: float,
    dials_origin_mm: Sequence[float],
    orgx_px: float,
    orgy_px: float,
    close_distance_m: float,
    phi0_rad: float,
    osc_rad: float,
    twotheta_rad: float,
    noise_image: bool = False,
) -> list[tuple[str, object]]:
    """The key/value pairs nanoBragg writes after ``SIZE2``, computed with the C's arithmetic.

    Inputs are the C's variables (metres, radians, pixels). ``noise_image`` selects the
    ``-noisefile`` variant, whose DENZO beam uses ``S + 0.0*pixel`` instead of ``S - 0.0*pixel``
    (different only in the sign of a zero).

    Example:
        >>> v = nanobragg_header_values(pixel_size_m=1e-4, distance_m=0.1, wavelength_m=1e-10,
        ...     xbeam_m=0.00645, ybeam_m=0.00645, fbeam_m=0.0065, sbeam_m=0.0065,
        ...     detsize_s_m=0.0128, dials_origin_mm=(-6.5, 6.5, -100.0), orgx_px=65.5,
        ...     orgy_px=65.5, close_distance_m=0.1, phi0_rad=0.0, osc_rad=0.0, twotheta_rad=0.0)
        >>> v[:2], v[-2:]
        ([('PIXEL_SIZE', 0.1), ('DISTANCE', 100.0)], [('DETECTOR_SN', '000'), ('BEAMLINE', 'fake')])
    """
    px, s, f = pixel_size_m, sbeam_m, fbeam_m
    zero_px = 0.0 * px
    denzo = (s + zero_px, f + zero_px) if noise_image else (s - zero_px, f - zero_px)
    return [
        ("PIXEL_SIZE", px * 1000.0),
        ("DISTANCE", distance_m * 1000.0),
        ("WAVELENGTH", wavelength_m * 1e10),
        ("BEAM_CENTER_X", xbeam_m * 1000.0),
        ("BEAM_CENTER_Y", ybeam_m * 1000),
        ("ADXV_CENTER_X", f * 1000.0),
        ("ADXV_CENTER_Y", (detsize_s_m - s) * 1000),
        ("MOSFLM_CENTER_X", (s - 0.5 * px) * 1000.0),
        ("MOSFLM_CENTER_Y", (f - 0.5 * px) * 1000),
        ("DENZO_X_BEAM", denzo[0] * 1000.0),
        ("DENZO_Y_BEAM", denzo[1] * 1000),
        ("DIALS_ORIGIN", tuple(float(v) for v in dials_origin_mm)),
        ("XDS_ORGX", float(orgx_px)),
        ("XDS_ORGY", float(orgy_px)),
        ("CLOSE_DISTANCE", close_distance_m * 1000.0),
        ("PHI", rad_to_deg(phi0_rad)),
        ("OSC_START", rad_to_deg(phi0_rad)),
        ("OSC_RANGE", rad_to_deg(osc_rad)),
        ("TWOTHETA", rad_to_deg(twotheta_rad)),
        ("DETECTOR_SN", "000"),
        ("BEAMLINE", "fake"),
    ]


def value_of(header_text: str, keyword: str) -> float:
    """The C's ``ValueOf``: the number after the ``=`` that follows the LAST ``keyword``.

    ``keyword`` is matched as a substring anywhere (so ``ORGX`` finds ``XDS_ORGX``). Returns NaN
    when the keyword is absent and 0.0 when no ``=`` follows it, as the C does.

    Example:
        >>> value_of("{\\nXDS_ORGX=65.5;\\nPHI=1;\\nPHI=2;\\n}", "PHI"), value_of("A=1;", "ORGX")
        (2.0, nan)
    """
    if not keyword:
        raise ValueError("keyword is empty; the C would loop forever on it")
    start = header_text.find(keyword)
    if start < 0:
        return math.nan
    while start >= 0:
        end = start + len(keyword)
        start = header_text.find(keyword, end)
    equals = header_text.find("=", end)
    if equals < 0:
        return 0.0
    return c_atof(header_text[equals + 1 :])


@dataclass(frozen=True, eq=False)
class SMVImage:
    """An SMV file: its header text, the parsed ``KEY -> raw value`` pairs and the pixels.

    ``header`` keeps the last instance of each key, with the trailing ``;`` removed; ``data``
    (named as in fabio) is a native-order uint16 array of shape ``(SIZE2, SIZE1)`` = (slow, fast).

    Example:
        >>> img = SMVImage("{\\nPHI=1;\\n}", {"PHI": "1"}, np.zeros((1, 1), np.uint16), 512, "little_endian")
        >>> img.value_of("PHI")
        1.0
    """

    header_text: str
    header: dict[str, str]
    data: np.ndarray
    header_bytes: int
    byte_order: str

    def value_of(self, keyword: str) -> float:
        """Number for ``keyword`` with the C's last-instance rule (see :func:`value_of`).

        Example:
            >>> SMVImage("{\\nX=1;\\nX=3;\\n}", {}, np.zeros((0, 0), np.uint16), 512, "big_endian").value_of("X")
            3.0
        """
        return value_of(self.header_text, keyword)


def _parse_header(text: str) -> dict[str, str]:
    body = text[text.find("{") + 1 :]
    closing = body.find("}")
    if closing >= 0:
        body = body[:closing]
    pairs: dict[str, str] = {}
    for line in body.split("\n"):
        if "=" not in line:
            continue
        key, value = line.split("=", 1)
        value = value.strip()
        pairs[key.strip()] = value[:-1].rstrip() if value.endswith(";") else value
    return pairs


def _c_string(raw: bytes) -> str:
    """The bytes up to the first NUL, as the C's string functions see them."""
    return raw.split(b"\0", 1)[0].decode("latin-1")


def read_smv(path: str | Path) -> SMVImage:
    """Read an SMV (ADSC) file: header and unsigned 16-bit pixels.

    Follows the C's ``GetFrame``: the file must start with ``{\\nHEADER_BYT``; the header size is
    ``HEADER_BYTES``; keyword values are the last instance in the header; ``SIZE1``/``SIZE2``
    give the fast/slow size (``DETECTOR_DIMENSIONS`` when ``SIZE1`` is 0). Unlike the C, pixels
    are byte-swapped when ``BYTE_ORDER`` differs from this machine's.

    Raises:
        SMVFormatError: not an SMV file, unsupported ``TYPE`` or ``BYTE_ORDER``, bad sizes, or
            fewer pixel bytes than the header promises.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "x.img")
        >>> write_smv(p, np.array([[1, 2, 3]], np.uint16), [("PHI", 0.0)])
        >>> img = read_smv(p)
        >>> img.data.tolist(), img.header["PHI"], img.value_of("SIZE1")
        ([[1, 2, 3]], '0', 3.0)
    """
    data = Path(path).read_bytes()
    if len(data) < HEADER_BYTES or not data.startswith(b"{\nHEADER_BYT"):
        raise SMVFormatError(
            f"{path}: does not look like an SMV frame: it starts with {data[:16]!r}, expected"
            f" '{{\\nHEADER_BYTES=' and at least {HEADER_BYTES} bytes"
        )
    header_bytes = _header_size(path, _c_string(data[:HEADER_BYTES]))
    text = _c_string(data[:header_bytes])
    order = _byte_order(path, text)
    kind = _parse_header(text).get("TYPE", "unsigned_short")
    if kind != "unsigned_short":
        raise SMVFormatError(f"{path}: TYPE={kind} is not supported; only unsigned_short")
    fast, slow = _dimensions(path, text)
    needed = header_bytes + 2 * fast * slow
    if len(data) < needed:
        raise SMVFormatError(
            f"{path}: file has {len(data)} bytes; header ({header_bytes}) plus"
            f" {fast}x{slow} 2-byte pixels need {needed}"
        )
    raw = np.frombuffer(data, dtype=_ORDER_CODES[order] + "u2", count=fast * slow, offset=header_bytes)
    pixels = raw.astype(np.uint16).reshape(slow, fast)
    return SMVImage(text, _parse_header(text), pixels, header_bytes, order)


def _header_size(path: str | Path, first_block: str) -> int:
    size = value_of(first_block, "HEADER_BYTES")
    if not math.isfinite(size) or int(size) <= 0:
        raise SMVFormatError(f"{path}: HEADER_BYTES is {size}; expected a positive byte count such as 512")
    return int(size)


def _byte_order(path: str | Path, text: str) -> str:
    start = text.rfind("BYTE_ORDER=")
    word = text[start + len("BYTE_ORDER=") :].split(";", 1)[0].strip() if start >= 0 else ""
    for name in _ORDER_CODES:
        if word.startswith(name):
            return name
    raise SMVFormatError(f"{path}: BYTE_ORDER is {word!r}; expected little_endian or big_endian")


def _dimensions(path: str | Path, text: str) -> tuple[int, int]:
    fast, slow = value_of(text, "SIZE1"), value_of(text, "SIZE2")
    if fast == 0:
        fast = slow = value_of(text, "DETECTOR_DIMENSIONS")
    if not (math.isfinite(fast) and math.isfinite(slow)) or int(fast) < 1 or int(slow) < 1:
        raise SMVFormatError(f"{path}: image size is SIZE1={fast}, SIZE2={slow}; expected positive integers")
    return int(fast), int(slow)
