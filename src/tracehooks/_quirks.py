"""Explanations for a value that differs: declared quirks and recognised factors.

Declared quirks come from a small text file written by the user.

One declaration per line; blank lines and lines starting with ``#`` are
skipped::

    SELECTOR: KIND [ARGUMENT] | REASON

``SELECTOR`` is ``[CHANNEL/]name[#occurrence][[field]]``. ``KIND`` is one of
``factor F``, ``c_value LITERAL``, ``same_as SELECTOR``, ``same_norm`` and
``ignore``. Whether an expectation holds is decided by the diff (``_diff``);
this module reads the file, finds the declarations for a value, and
recognises undeclared explanations (unit factors, signs, permutations,
rounding next to zero) that the diff shows as hints.
"""

from __future__ import annotations

import itertools
import math
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

from tracehooks._errors import SourceLineError
from tracehooks._parse import (
    Item,
    Keyed,
    Matrix,
    Scalar,
    parse_value,
    value_numbers,
    value_shape,
)

if TYPE_CHECKING:  # _diff imports this module; the types are only for annotations
    from tracehooks._diff import Comparison, Tolerance

__all__ = [
    "KINDS",
    "Quirk",
    "QuirkSet",
    "QuirksError",
    "Selector",
    "load_quirks",
    "parse_factor",
    "parse_selector",
    "paired_numbers",
    "scaled_match",
    "value_hints",
]

#: Quirk kinds and whether each takes an argument.
KINDS = {"factor": True, "c_value": True, "same_as": True, "same_norm": False, "ignore": False}

_SELECTOR = re.compile(
    r"(?:(?P<channel>[A-Za-z0-9_]+)/)?(?P<name>[A-Za-z_][A-Za-z0-9_.]*)"
    r"(?:#(?P<occ>\d+))?(?:\[(?P<field>[A-Za-z_][A-Za-z0-9_]*)\])?"
)
_FACTOR_TERM = re.compile(
    r"(?P<sign>[+-]?)(?:(?P<pi>pi)|(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?))"
)


class QuirksError(SourceLineError):
    """A quirks file line that cannot be read; ``str()`` is ``SOURCE:LINE: message``.

    >>> str(QuirksError("q.txt", 4, "unknown kind 'fator'"))
    "q.txt:4: unknown kind 'fator'"
    """



@dataclass(frozen=True)
class Selector:
    """Which values a declaration covers; ``occurrence``/``field`` ``None`` = all.

    >>> parse_selector("PHI/record#2[k_frac]")
    Selector(channel='PHI', name='record', occurrence=2, field='k_frac')
    """

    channel: str
    name: str
    occurrence: Union[int, None] = None
    field: Union[str, None] = None

    def __str__(self) -> str:
        text = f"{self.channel}/{self.name}" if self.channel else self.name
        if self.occurrence is not None:
            text += f"#{self.occurrence}"
        return text + (f"[{self.field}]" if self.field is not None else "")

    def covers(self, channel: str, name: str, occurrence: int) -> bool:
        """True when this selector names that record (ignoring ``field``).

        >>> parse_selector("fdet#2").covers("", "fdet", 2)
        True
        """
        return (
            self.channel == channel
            and self.name == name
            and self.occurrence in (None, occurrence)
        )


def parse_selector(text: str) -> Selector:
    """Parse ``[CHANNEL/]name[#occurrence][[field]]``; ``ValueError`` if invalid.

    >>> str(parse_selector("beam_center_m[X]"))
    'beam_center_m[X]'
    """
    match = _SELECTOR.fullmatch(text.strip())
    if match is None:
        raise ValueError(
            f"bad selector {text.strip()!r}; expected [CHANNEL/]name[#occurrence][[field]]"
        )
    occ = match.group("occ")
    if occ is not None and int(occ) < 1:
        raise ValueError(f"occurrence in {text.strip()!r} must be 1 or more (1-based)")
    return Selector(
        match.group("channel") or "",
        match.group("name"),
        int(occ) if occ is not None else None,
        match.group("field"),
    )


@dataclass(frozen=True)
class Quirk:
    """One declaration. ``factor``, ``literal`` and ``target`` hold the parsed argument.

    >>> q = load_quirks(["scattering_vec_A_inv: factor 1e10 | 1/m printed"]).entries[0]
    >>> (q.kind, q.factor, q.reason, q.line_no)
    ('factor', 10000000000.0, '1/m printed', 1)
    """

    selector: Selector
    kind: str
    argument: str
    reason: str
    source: str
    line_no: int
    factor: Union[float, None] = None
    literal: Union[tuple[Item, ...], None] = None
    target: Union[Selector, None] = None

    def describe(self) -> str:
        """``kind argument`` as written, e.g. ``factor 1e-3``."""
        return f"{self.kind} {self.argument}".rstrip()


@dataclass(frozen=True)
class QuirkSet:
    """All declarations of one quirks file, in file order.

    >>> qs = load_quirks(["a: ignore | x", "a#2: ignore | y"])
    >>> [q.reason for q in qs.candidates("", "a", 2)]
    ['y', 'x']
    """

    entries: tuple[Quirk, ...]
    source: str = "<lines>"

    def candidates(
        self, channel: str, name: str, occurrence: int, field: Union[str, None] = None
    ) -> list[Quirk]:
        """Declarations for this value; those naming the occurrence come first.

        ``field=None`` asks for declarations about the whole value.
        """
        found = [
            q
            for q in self.entries
            if q.selector.covers(channel, name, occurrence) and q.selector.field == field
        ]
        return sorted(found, key=lambda q: q.selector.occurrence is None)


def load_quirks(
    source: Union[str, os.PathLike, Iterable[str]], *, name: Union[str, None] = None
) -> QuirkSet:
    """Read a quirks file (a path) or its lines; ``QuirksError`` names file and line.

    >>> load_quirks(["# comment", "", "detector_convention: c_value MOSFLM | hard-coded"]
    ...             ).entries[0].literal[0].value
    'MOSFLM'
    """
    if isinstance(source, (str, os.PathLike)):
        label = name or os.fspath(source)
        with open(source, encoding="utf-8") as handle:
            return _load(handle, label)
    return _load(source, name or "<lines>")


def _load(lines: Iterable[str], label: str) -> QuirkSet:
    entries = []
    for line_no, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            entries.append(_parse_line(line, label, line_no))
        except ValueError as exc:
            raise QuirksError(label, line_no, str(exc)) from None
    return QuirkSet(tuple(entries), label)


def _parse_line(line: str, label: str, line_no: int) -> Quirk:
    head, bar, reason = line.partition("|")
    if not bar or not reason.strip():
        raise ValueError(
            f"missing reason in {line!r}; expected SELECTOR: KIND [ARGUMENT] | REASON"
        )
    selector_text, colon, spec = head.partition(":")
    if not colon:
        raise ValueError(f"missing ':' after the selector in {line!r}")
    selector = parse_selector(selector_text)
    kind, _, argument = spec.strip().partition(" ")
    argument = argument.strip()
    if kind not in KINDS:
        raise ValueError(
            f"unknown kind {kind!r}; allowed: {', '.join(KINDS)}"
            if kind
            else f"missing kind after {selector_text.strip()!r}:"
        )
    if KINDS[kind] and not argument:
        raise ValueError(f"'{kind}' needs an argument")
    if not KINDS[kind] and argument:
        raise ValueError(f"'{kind}' takes no argument, got {argument!r}")
    quirk = Quirk(selector, kind, argument, reason.strip(), label, line_no)
    return _with_argument(quirk)


def _with_argument(quirk: Quirk) -> Quirk:
    fields = quirk.__dict__.copy()
    if quirk.kind == "factor":
        fields["factor"] = parse_factor(quirk.argument)
    elif quirk.kind == "c_value":
        fields["literal"] = parse_value(quirk.argument)
    elif quirk.kind == "same_as":
        fields["target"] = parse_selector(quirk.argument)
    return Quirk(**fields)


def parse_factor(text: str) -> float:
    """Parse ``NUMBER``, ``pi`` or ``A/B`` of those (with signs) into a float.

    >>> round(parse_factor("180/pi"), 6), parse_factor("-1"), parse_factor("1e-3")
    (57.29578, -1.0, 0.001)
    """
    parts = text.split("/")
    if len(parts) > 2:
        raise ValueError(f"bad factor {text!r}; expected NUMBER, pi or A/B")
    values = [_factor_term(part, text) for part in parts]
    if len(values) == 2 and values[1] == 0:
        raise ValueError(f"factor {text!r} divides by zero")
    result = values[0] / values[1] if len(values) == 2 else values[0]
    if result == 0 or not math.isfinite(result):
        raise ValueError(f"factor {text!r} must be finite and non-zero")
    return result


def _factor_term(part: str, text: str) -> float:
    match = _FACTOR_TERM.fullmatch(part.strip())
    if match is None:
        raise ValueError(
            f"bad factor {text!r}; expected a number (1e-3), pi, or A/B such as 180/pi"
        )
    magnitude = math.pi if match.group("pi") else float(match.group("num"))
    return -magnitude if match.group("sign") == "-" else magnitude


# (factor, as printed, what it usually means); C = factor x Py.
_FACTORS = (
    (1e3, "1e3", "mm vs m?"),
    (1e-3, "1e-3", "m vs mm?"),
    (1e6, "1e6", "µm vs m?"),
    (1e-6, "1e-6", "m vs µm?"),
    (1e10, "1e10", "Å vs m?"),
    (1e-10, "1e-10", "m vs Å?"),
    (180 / math.pi, "180/pi", "deg vs rad?"),
    (math.pi / 180, "pi/180", "rad vs deg?"),
    (-1.0, "-1", "sign flip?"),
)
_MAX_PERMUTED = 6  # 6! = 720 orderings is still instant; longer vectors are skipped




def paired_numbers(c_items, py_items) -> Union[tuple[list[float], list[float]], None]:
    """Both values' numbers when the values have the same layout and are all numeric.

    >>> paired_numbers(parse_value("X:1 Y:2"), parse_value("X:3 Y:4"))
    ([1.0, 2.0], [3.0, 4.0])
    """
    if value_shape(c_items) != value_shape(py_items):
        return None
    c, py = value_numbers(c_items), value_numbers(py_items)
    return None if c is None or py is None else (c, py)


def scaled_match(c_items, py_items, factor: float, tol: Tolerance) -> bool:
    """True when every number of C equals ``factor`` x the matching number of Py.

    >>> from tracehooks._diff import Tolerance
    >>> scaled_match(parse_value("5.5e-06"), parse_value("0.0055"), 1e-3, Tolerance())
    True
    """
    pair = paired_numbers(c_items, py_items)
    return pair is not None and all(tol.close(a, factor * b) for a, b in zip(*pair))


def _part_hint(c_items, py_items, tol: Tolerance) -> Union[str, None]:
    pair = paired_numbers(c_items, py_items)
    if pair is None:
        return None
    for factor, text, meaning in _FACTORS:
        if scaled_match(c_items, py_items, factor, tol):
            return f"C = {text} x Py ({meaning})"
    c, py = pair
    if all(isinstance(i, Scalar) for i in c_items) and 2 <= len(c) <= _MAX_PERMUTED:
        return _vector_hint(c, py, tol)
    if len(c_items) == 1 and isinstance(c_items[0], Matrix):
        rows, cols = c_items[0].shape
        if rows == cols > 1:
            transposed = [c[r * rows + k] for k in range(rows) for r in range(rows)]
            if all(tol.close(a, b) for a, b in zip(transposed, py)):
                return "C = Py transposed (row/column order?)"
    return None


def _signs(c: list[float], py: list[float], tol: Tolerance) -> Union[list[int], None]:
    signs = []
    for a, b in zip(c, py):
        if tol.close(a, b):
            signs.append(1)
        elif tol.close(a, -b):
            signs.append(-1)
        else:
            return None
    return signs


def _vector_hint(c: list[float], py: list[float], tol: Tolerance) -> Union[str, None]:
    signs = _signs(c, py, tol)
    if signs is not None:
        return f"C = Py x [{_join(signs)}] (component sign flip?)"
    identity = tuple(range(len(c)))
    signed = None
    for order in itertools.permutations(identity):
        signs = _signs(c, [py[i] for i in order], tol)
        if signs is None or order == identity:
            continue
        picked = f"Py[{_join(i + 1 for i in order)}]"
        if -1 not in signs:
            return f"C = {picked} (components permuted?)"
        # Keep looking: a pure permutation is the simpler explanation.
        signed = signed or f"C = {picked} x [{_join(signs)}] (permuted and sign-flipped?)"
    return signed


def _join(values) -> str:
    return " ".join(str(v) for v in values)


def _near_zero_note(c_items, py_items, cmp: Comparison, tol: Tolerance) -> Union[str, None]:
    # Only vectors and matrices: a lone number has no larger scale to be small against.
    c_nums, py_nums = value_numbers(c_items), value_numbers(py_items)
    if any(isinstance(i, Keyed) for i in c_items) or c_nums is None or py_nums is None:
        return None
    failing = cmp.mismatches
    if len(c_nums) < 2 or not failing or any(m.kind != "numeric" for m in failing):
        return None
    worst = max(m.abs_delta for m in failing)
    scale = max((abs(x) for x in c_nums + py_nums if math.isfinite(x)), default=0.0)
    if any(not math.isfinite(m.abs_delta) for m in failing) or worst > tol.rtol * scale:
        return None
    suggestion = 10.0 ** math.ceil(math.log10(worst))
    wheres = ", ".join(m.where for m in failing[:3])
    return (
        f"near zero at {wheres}: |Δ| {worst:.3g} is within rtol of the value's scale "
        f"{scale:.3g}; --atol {suggestion:g} would accept it"
    )


def value_hints(
    c_items: tuple[Item, ...], py_items: tuple[Item, ...], cmp: Comparison, tol: Tolerance
) -> list[str]:
    """Explain a failed comparison: unit factor, sign, permutation, near-zero.

    >>> from tracehooks._diff import Tolerance, compare_values
    >>> c, py = parse_value("100 6.5 -6.5"), parse_value("0.1 0.0065 -0.0065")
    >>> value_hints(c, py, compare_values(c, py, Tolerance()), Tolerance())
    ['C = 1e3 x Py (mm vs m?)']
    """
    if len(c_items) != len(py_items):
        return []
    hints = []
    if any(isinstance(i, Keyed) for i in c_items):
        for idx in sorted({m.item for m in cmp.mismatches}):
            hint = _part_hint(c_items[idx:idx + 1], py_items[idx:idx + 1], tol)
            if hint:
                item = c_items[idx]
                where = item.key if isinstance(item, Keyed) else f"[{idx + 1}]"
                hints.append(f"{where}: {hint}")
    else:
        hint = _part_hint(c_items, py_items, tol)
        hints.extend([hint] if hint else [])
    near = _near_zero_note(c_items, py_items, cmp, tol)
    return hints + ([near] if near else [])
