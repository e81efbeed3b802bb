"""Number parsing with the C library's rules (``strtod``/``atof``, C locale).

nanoBragg reads numbers from text with ``fscanf("%lg")``, ``atof`` and ``strtod``; all three
accept the longest prefix of the text that forms a number and ignore the rest. Python's
``float()`` is stricter in some ways (it rejects ``"1.5x"`` and hexadecimal) and looser in
others (it accepts ``"1_000"``), so the file readers use these helpers instead.
"""

from __future__ import annotations

import math
import re

__all__ = ["C_SPACE", "c_atof", "c_strtod_prefix"]

#: The characters C's ``isspace`` accepts in the C locale.
C_SPACE = " \t\n\v\f\r"

# A digit run can match in only one way (``[0-9]+(?:\.[0-9]*)?``, not ``[0-9]+\.?[0-9]*``, which can split it
# anywhere), so a match that fails after a long run backtracks in linear, not quadratic, time.
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
    """Parse the number that C's ``strtod`` would read from ``text[pos:]``.

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
