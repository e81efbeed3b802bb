"""Printed values: numbers, strings, ``key:value`` groups, ``key=value`` fields, matrices.

The text of a trace value is split on whitespace, except inside one level of
``[...]``, into :class:`Scalar`, :class:`Keyed` and :class:`Matrix` items.
Every step is linear in the length of the text: the patterns never backtrack
more than once over a run of digits, and ints too long for ``int()`` keep
their digits for an exact comparison.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ._errors import SHOWN_LENGTH, shown
from ._grammar import FIELD_SEP, GROUP_SEP, KEY, MATRIX_CLOSE, MATRIX_OPEN, ROW_SEP

__all__ = [
    "Item",
    "Keyed",
    "Matrix",
    "Scalar",
    "check_value",
    "first_non_field",
    "has_number",
    "is_number_text",
    "parse_value",
    "value_numbers",
    "value_shape",
]

# ASCII digits only: "٣" is a string, not the int 3. Each optional part starts with a character
# that a digit is not, so a failed match gives back a run of digits once, not once per split.
_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(
    r"[+-]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:e[+-]?[0-9]+)?|inf(?:inity)?|nan)",
    re.IGNORECASE | re.ASCII,
)
_KEYED = re.compile(f"({KEY})([{re.escape(GROUP_SEP + FIELD_SEP)}])(.*)", re.DOTALL)
_OPEN, _CLOSE = re.escape(MATRIX_OPEN), re.escape(MATRIX_CLOSE)
_BRACKET = re.compile(f"[{_OPEN}{_CLOSE}]")
_TOKEN = re.compile(rf"(?:[^\s{_OPEN}{_CLOSE}]|{_OPEN}[^{_OPEN}{_CLOSE}]*{_CLOSE})+")
_SPECIAL = frozenset(MATRIX_OPEN + MATRIX_CLOSE + GROUP_SEP + FIELD_SEP)
_ROW_MARK = ROW_SEP.strip()
# Longer ints keep their digits and the float value: Python's default int() limit, and where a
# conversion (quadratic in the length) would start to cost.
_MAX_INT_DIGITS = 4300


@dataclass(frozen=True)
class Scalar:
    """One printed token: ``kind`` is ``"int"``, ``"float"`` or ``"str"``.

    ``value`` is an ``int`` for ints, except for ints longer than Python
    converts (4300 digits), whose value is the float (``inf``); their digits
    are still compared exactly.

    >>> parse_value("-nan")[0].kind
    'float'
    """

    kind: str
    value: int | float | str
    text: str

    @property
    def is_number(self) -> bool:
        """True for ``int`` and ``float`` tokens.

        >>> parse_value("7")[0].is_number
        True
        """
        return self.kind != "str"

    @property
    def number(self) -> float:
        """The number as a float; an int beyond the float range is ``±inf``.

        >>> parse_value("-" + "9" * 400)[0].number
        -inf
        """
        try:
            return float(self.value)
        except OverflowError:
            return float("-inf") if self.value < 0 else float("inf")


@dataclass(frozen=True)
class Matrix:
    """A bracketed matrix ``[a b c; d e f]``, stored row-major.

    >>> [[s.value for s in row] for row in parse_value("[1 2; 3 4]")[0].rows]
    [[1, 2], [3, 4]]
    """

    rows: tuple[tuple[Scalar, ...], ...]
    text: str

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, columns)``.

        >>> parse_value("[1 2 3; 4 5 6]")[0].shape
        (2, 3)
        """
        return (len(self.rows), len(self.rows[0]))


@dataclass(frozen=True)
class Keyed:
    """A ``key:value`` group (``sep == ":"``) or ``key=value`` field (``sep == "="``).

    >>> item = parse_value("X:6.45e-06")[0]
    >>> (item.key, item.sep, item.value.value)
    ('X', ':', 6.45e-06)
    """

    key: str
    sep: str
    value: Scalar | Matrix
    text: str


Item = Scalar | Matrix | Keyed


def parse_value(text: str) -> tuple[Item, ...]:
    """Split a printed value into items; raise ``ValueError`` if malformed.

    >>> [type(i).__name__ for i in parse_value("rotx:0 [1 0; 0 1] MOSFLM 2.5")]
    ['Keyed', 'Matrix', 'Scalar', 'Scalar']
    """
    tokens = _split_tokens(text)
    if not tokens:
        raise ValueError("no value")
    return tuple(_item(token) for token in tokens)


def value_numbers(items: Iterable[Item]) -> list[float] | None:
    """All numbers of a value, flattened in print order; ``None`` if any is not a number.

    >>> value_numbers(parse_value("X:1 [2 3; 4 5]")), value_numbers(parse_value("1 a"))
    ([1.0, 2.0, 3.0, 4.0, 5.0], None)
    """
    out: list[float] = []
    for item in items:
        value = item.value if isinstance(item, Keyed) else item
        cells = [s for row in value.rows for s in row] if isinstance(value, Matrix) else [value]
        if not all(s.is_number for s in cells):
            return None
        out.extend(s.number for s in cells)
    return out


def value_shape(items: Iterable[Item]) -> tuple:
    """The layout of a value: keys, matrix shapes, ``1`` per plain token.

    >>> value_shape(parse_value("X:1 [2 3; 4 5] 6"))
    (('X', 1), (2, 2), 1)
    """

    def one(item: Item):
        if isinstance(item, Keyed):
            return (item.key, one(item.value))
        return item.shape if isinstance(item, Matrix) else 1

    return tuple(one(item) for item in items)


def _split_tokens(text: str) -> list[str]:
    # Whitespace separates tokens except inside one level of brackets, so a
    # matrix (or a string such as "beam_vec=[1 0 0]") stays in one token.
    if MATRIX_OPEN not in text and MATRIX_CLOSE not in text:
        return text.split()
    inside = False
    for bracket in _BRACKET.finditer(text):
        if bracket.group() == MATRIX_OPEN:
            if inside:
                raise ValueError(f"nested '[' in {shown(text.strip())}")
            inside = True
        elif not inside:
            raise ValueError(f"']' without a matching '[' in {shown(text.strip())}")
        else:
            inside = False
    if inside:
        raise ValueError(f"unclosed '[' in {shown(text.strip())}")
    return _TOKEN.findall(text)


def _keyed_parts(token: str) -> tuple[str, str, str] | None:
    """``(key, sep, value)`` of a ``key:value`` or ``key=value`` token, else ``None``."""
    keyed = _KEYED.fullmatch(token) if (":" in token or "=" in token) else None
    if keyed is None:
        return None
    key, sep, rest = keyed.groups()
    if not rest:
        shown_key = key if len(key) <= SHOWN_LENGTH else "KEY"
        raise ValueError(f"{shown(token)} has an empty value (expected {shown_key}{sep}VALUE)")
    return key, sep, rest


def _is_matrix(token: str) -> bool:
    return token.startswith(MATRIX_OPEN) and token.endswith(MATRIX_CLOSE)


def _item(token: str) -> Item:
    if _is_matrix(token):
        return _matrix(token)
    parts = _keyed_parts(token)
    if parts is None:
        return _scalar(token)
    key, sep, rest = parts
    value = _matrix(rest) if _is_matrix(rest) else _scalar(rest)
    return Keyed(key, sep, value, token)


def _scalar(token: str) -> Scalar:
    if _INT.fullmatch(token):
        if len(token) - (token[0] in "+-") <= _MAX_INT_DIGITS:
            try:
                return Scalar("int", int(token), token)
            except ValueError:  # this interpreter converts fewer digits (sys.set_int_max_str_digits)
                pass
        return Scalar("int", float(token), token)  # its digits are still compared exactly
    if _FLOAT.fullmatch(token):
        return Scalar("float", float(token), token)
    return Scalar("str", token, token)


def _matrix_cells(token: str) -> list[list[str]]:
    """The cell texts of a ``[a b; c d]`` token, row by row; ``ValueError`` if the rows differ."""
    rows = [row_text.split() for row_text in token[1:-1].split(_ROW_MARK)]
    if not all(rows):
        raise ValueError(f"empty row in matrix {shown(token)}")
    if any(len(row) != len(rows[0]) for row in rows):
        lengths = [len(r) for r in rows]
        listed = str(lengths) if len(lengths) <= 10 else str(lengths[:10])[:-1] + ", ...]"
        raise ValueError(f"matrix {shown(token)} has rows of different lengths {listed}")
    return rows


def _matrix(token: str) -> Matrix:
    rows = tuple(tuple(_scalar(cell) for cell in row) for row in _matrix_cells(token))
    return Matrix(rows, token)


def check_value(text: str) -> None:
    """Raise ``ValueError`` exactly when :func:`parse_value` would, building no item.

    >>> check_value("[1 2; 3]")
    Traceback (most recent call last):
    ...
    ValueError: matrix '[1 2; 3]' has rows of different lengths [2, 1]
    """
    tokens = _split_tokens(text)
    if not tokens:
        raise ValueError("no value")
    if _SPECIAL.isdisjoint(text):
        return  # every token is a scalar
    for token in tokens:  # the checks of _item, in its order
        if _is_matrix(token):
            _matrix_cells(token)
            continue
        parts = _keyed_parts(token)
        if parts is not None and _is_matrix(parts[2]):
            _matrix_cells(parts[2])


def first_non_field(text: str) -> str | None:
    """The first item of ``text`` that is not a ``key=value`` field, or ``None``.

    Raises ``ValueError`` as :func:`parse_value` does for a malformed value.

    >>> first_non_field("phi_tic=0 k=[1 2]"), first_non_field("k=1 2")
    (None, '2')
    """
    if MATRIX_OPEN not in text and MATRIX_CLOSE not in text:
        for token in text.split():
            keyed = _KEYED.fullmatch(token)
            if keyed is None or keyed.group(2) != FIELD_SEP or not keyed.group(3):
                break
        else:
            return None  # every token is KEY=VALUE with a plain value: nothing to build
    for token in _split_tokens(text):
        item = _item(token)
        if not (isinstance(item, Keyed) and item.sep == FIELD_SEP):
            return item.text
    return None


def has_number(text: str) -> bool:
    """True when the value ``text`` (already checked) holds at least one number.

    >>> has_number("MOSFLM"), has_number("X:1 Y:a"), has_number("[a b; c 1e-3]")
    (False, True, True)
    """
    if _SPECIAL.isdisjoint(text):
        return any(_FLOAT.fullmatch(token) for token in text.split())
    for token in _split_tokens(text):  # as _item reads a token, building nothing
        parts = None if _is_matrix(token) else _keyed_parts(token)
        value = token if parts is None else parts[2]
        cells = [c for row in _matrix_cells(value) for c in row] if _is_matrix(value) else [value]
        if any(_FLOAT.fullmatch(cell) for cell in cells):
            return True
    return False


def is_number_text(token: str) -> bool:
    """True when ``token`` is an int or a float as the grammar reads them.

    >>> is_number_text("-1.5e3"), is_number_text("nan"), is_number_text("1,5")
    (True, True, False)
    """
    return _FLOAT.fullmatch(token) is not None  # _FLOAT matches ints too
