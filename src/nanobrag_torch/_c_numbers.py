"""What C does with numbers, where Python does otherwise: the one home of the C's arithmetic in the port.

nanoBragg's results depend on a few behaviours of C and glibc that Python does not share: division and
``log`` give inf or NaN where Python raises; assigning to a ``float`` rounds to single precision;
``strtod``/``atof`` read the longest numeric prefix of a text; casting a double to ``unsigned short`` keeps
the low bits of a 32-bit int; ``printf("%g")`` prints ``-nan``; and the constants come from ``<float.h>`` and
``<math.h>`` with their own literals. Each is written once, here; everything else imports it. Standard library
only (numpy is imported by the one function that needs it), so the bottom layer stays light.

Example:
    >>> c_div(1.0, 0.0), c_atof("2.5e1 rest"), format_c_g(1e10), RTD == 180.0 * M_1_PI
    (inf, 25.0, '1e+10', True)
"""

from __future__ import annotations

import math
import re
import struct
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "C_SPACE",
    "DBL_MIN",
    "INT_MAX",
    "INT_MIN",
    "M_1_PI",
    "RTD",
    "c_atof",
    "c_cast_unsigned",
    "c_div",
    "c_float",
    "c_log",
    "c_strtod_prefix",
    "format_c_g",
]

#: ``<float.h>``'s DBL_MIN, the smallest normal double; nanoBragg's stand-in for an impossible zero.
DBL_MIN = sys.float_info.min
#: ``<limits.h>``'s range of a 32-bit ``int``.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
#: ``<math.h>``'s M_1_PI literal (1/pi).
M_1_PI = 0.31830988618379067154
#: nanoBragg's ``RTD = 180.0*M_1_PI``, degrees per radian; it converts angles by dividing or multiplying by it.
RTD = 180.0 * M_1_PI
#: The characters C's ``isspace`` accepts in the C locale.
C_SPACE = " \t\n\v\f\r"

_FLOAT32 = struct.Struct("f")


# -- arithmetic -------------------------------------------------------------------------------------------


def c_div(a: float, b: float) -> float:
    """``a / b`` as a C double division: inf or NaN where Python raises ZeroDivisionError.

    Example:
        >>> c_div(1.0, 0.0), c_div(-1.0, 0.0), c_div(0.0, 0.0) != c_div(0.0, 0.0)
        (inf, -inf, True)
    """
    if b != 0.0:
        return a / b
    if a == 0.0 or math.isnan(a):
        return math.nan
    return math.copysign(math.inf, a) * math.copysign(1.0, b)


def c_log(x: float) -> float:
    """C's ``log``: -inf at zero and NaN below zero, where ``math.log`` raises.

    Example:
        >>> c_log(1.0), c_log(0.0), c_log(-1.0) != c_log(-1.0)
        (0.0, -inf, True)
    """
    if x > 0.0:
        return math.log(x)
    return -math.inf if x == 0.0 else math.nan


def c_float(x: float, _pack=_FLOAT32.pack, _unpack=_FLOAT32.unpack) -> float:
    """A double assigned to a C ``float``: rounded to the nearest float32 (infinity beyond its range).

    Example:
        >>> c_float(0.1), c_float(1e39)
        (0.10000000149011612, inf)
    """
    # The packers are bound as defaults: the random-number code calls this millions of times.
    try:
        return _unpack(_pack(x))[0]
    except OverflowError:  # struct refuses what C rounds to infinity
        return math.copysign(math.inf, x)


def c_cast_unsigned(values: "np.ndarray", bits: int) -> "np.ndarray":
    """C's ``(unsigned short)`` (bits=16) or ``(unsigned char)`` (bits=8) cast of floats, as
    gcc compiles it on x86-64.

    gcc converts to a 32-bit int (truncating toward zero; NaN and out-of-range values give
    INT_MIN) and keeps the low bits, so -1.5 becomes 65535 and NaN becomes 0. The C standard
    leaves these cases undefined; this is what the reference binary does.

    Example:
        >>> import numpy as np
        >>> c_cast_unsigned(np.array([2.9, -1.5, np.nan, 70000.0]), 16).tolist()
        [2, 65535, 0, 4464]
    """
    import numpy as np  # here, not at the top: the rest of this module is needed where numpy is not

    if bits not in (8, 16):
        raise ValueError(f"bits is {bits}; expected 8 or 16")
    truncated = np.trunc(np.asarray(values, dtype=np.float64))
    with np.errstate(invalid="ignore"):
        fits = np.isfinite(truncated) & (truncated >= INT_MIN) & (truncated <= INT_MAX)
    as_int = np.where(fits, truncated, INT_MIN).astype(np.int64)
    return (as_int & ((1 << bits) - 1)).astype(np.uint16 if bits == 16 else np.uint8)


# -- parsing and formatting ---------------------------------------------------------------------------------

# nanoBragg reads numbers with fscanf("%lg"), atof and strtod; all three accept the longest prefix of the text
# that forms a number and ignore the rest. Python's float() is stricter in some ways (it rejects "1.5x" and
# hexadecimal) and looser in others (it accepts "1_000"). A digit run can match in only one way
# ([0-9]+(?:\.[0-9]*)?, not [0-9]+\.?[0-9]*, which can split it anywhere), so a match that fails after a long
# run backtracks in linear, not quadratic, time.
_NUMBER = re.compile(
    r"""
    (?P<hex>[+-]?0[xX](?:[0-9a-fA-F]+(?:\.[0-9a-fA-F]*)?|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?)
    | (?P<dec>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
    | (?P<inf>[+-]?inf(?:inity)?)
    | (?P<nan>[+-]?nan(?:\([0-9A-Za-z_]*\))?)
    """,
    re.VERBOSE | re.IGNORECASE,
)


def c_strtod_prefix(text: str, pos: int = 0) -> tuple[float, int] | None:
    """Parse the number that C's ``strtod`` would read from ``text[pos:]`` (C locale).

    Leading C whitespace is skipped. Returns ``(value, end)`` where ``end`` is the index just
    after the number, or ``None`` when no number starts there (``strtod`` would return 0 and
    consume nothing).

    Example:
        >>> c_strtod_prefix("  -0.5e1abc")
        (-5.0, 8)
        >>> c_strtod_prefix("x") is None
        True
    """
    n = len(text)
    while pos < n and text[pos] in C_SPACE:
        pos += 1
    match = _NUMBER.match(text, pos)
    if match is None:
        return None
    token = match.group(0)
    if match.group("hex") is not None:
        value = float.fromhex(token)
    elif match.group("nan") is not None:
        value = math.copysign(math.nan, -1.0 if token[0] == "-" else 1.0)
    else:
        # float() rounds decimal strings correctly, as glibc's strtod does; it also spells
        # "inf"/"infinity" the same way.
        value = float(token)
    return value, match.end()


def c_atof(text: str) -> float:
    """Return C's ``atof(text)``: the leading number, or 0.0 when there is none.

    Example:
        >>> c_atof("12.5;rest"), c_atof("abc")
        (12.5, 0.0)
    """
    parsed = c_strtod_prefix(text)
    return 0.0 if parsed is None else parsed[0]


def format_c_g(value: float) -> str:
    """Format like C's ``printf("%g")`` with glibc (which prints ``-nan`` for a negative NaN).

    Example:
        >>> format_c_g(0.1), format_c_g(100.0), format_c_g(1e-5), format_c_g(-0.0)
        ('0.1', '100', '1e-05', '-0')
    """
    if math.isnan(value):
        return "-nan" if math.copysign(1.0, value) < 0 else "nan"
    return "%g" % value
