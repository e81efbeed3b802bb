"""Declarations about the reference trace: known quirks and declared tolerances.

Both come from a small text file written by the user.
One declaration per line; blank lines and lines starting with ``#`` are
skipped::

    SELECTOR: KIND [ARGUMENT] | REASON

``SELECTOR`` is ``[CHANNEL/]name[#occurrence][[field]]``. ``KIND`` is one of
``factor F``, ``c_value LITERAL``, ``same_as SELECTOR``, ``same_norm`` and
``ignore`` (a :class:`Quirk`), or ``tolerance rtol R atol A`` (a
:class:`DeclaredTolerance`: the value may differ by more than the default
tolerance, for the reason given). Whether a declaration holds is decided by
the diff (``_diff``); this module reads the file and finds the declarations
for a value.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from ._compare import Tolerance
from ._errors import SourceLineError, shown, text_lines
from ._values import Item, parse_value

__all__ = [
    "KINDS",
    "DeclaredTolerance",
    "Quirk",
    "QuirkSet",
    "QuirksError",
    "Selector",
    "load_quirks",
    "load_tolerances",
    "parse_factor",
    "parse_selector",
    "parse_tolerance",
]

#: Declaration kinds and whether each takes an argument.
KINDS = {
    "factor": True,
    "c_value": True,
    "same_as": True,
    "same_norm": False,
    "ignore": False,
    "tolerance": True,
}

_SELECTOR = re.compile(
    r"(?:(?P<channel>[A-Za-z0-9_]+)/)?(?P<name>[A-Za-z_][A-Za-z0-9_.]*)"
    r"(?:#(?P<occ>[0-9]+))?(?:\[(?P<field>[A-Za-z_][A-Za-z0-9_]*)\])?"
)
# Each optional part starts with a character that a digit is not: linear on long digit runs.
_DECIMAL = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_FACTOR_TERM = re.compile(rf"(?P<sign>[+-]?)(?:(?P<pi>pi)|(?P<num>{_DECIMAL}))")
_TOLERANCE_PART = re.compile(rf"(rtol|atol)\s+(\+?{_DECIMAL})(?=\s|$)")
_MAX_OCCURRENCE_DIGITS = 18


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
    occurrence: int | None = None
    field: str | None = None

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
            f"bad selector {shown(text.strip())}; expected [CHANNEL/]name[#occurrence][[field]]"
        )
    occ = match.group("occ")
    if occ is not None:
        digits = occ.lstrip("0") or "0"
        if len(digits) > _MAX_OCCURRENCE_DIGITS:
            raise ValueError(f"occurrence in {shown(text.strip())} is too large")
        if int(digits) < 1:
            raise ValueError(f"occurrence in {shown(text.strip())} must be 1 or more (1-based)")
        occ = digits
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
    factor: float | None = None
    literal: tuple[Item, ...] | None = None
    target: Selector | None = None

    def describe(self) -> str:
        """``kind argument`` as written, e.g. ``factor 1e-3``."""
        return f"{self.kind} {self.argument}".rstrip()


@dataclass(frozen=True)
class DeclaredTolerance:
    """A value that may differ by more than the default tolerance, and why.

    The value (or with a ``[field]`` selector, that field) is accepted when each of its
    numbers is within the larger of the default tolerance and ``tolerance``. A declaration
    read from a file also knows its ``source`` and ``line_no`` (neither is compared).

    >>> t = DeclaredTolerance(parse_selector("F_latt_c"), Tolerance(rtol=1e-10, atol=0.0),
    ...                       "sinc ratio near a lattice node")
    >>> t.describe()
    'tolerance rtol 1e-10'
    """

    selector: Selector
    tolerance: Tolerance
    reason: str
    source: str | None = field(default=None, compare=False)
    line_no: int | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.selector, Selector):
            raise TypeError(f"selector must be a Selector, got {self.selector!r}")
        if not isinstance(self.tolerance, Tolerance):
            raise TypeError(f"tolerance must be a Tolerance, got {self.tolerance!r}")
        if not (isinstance(self.reason, str) and self.reason.strip()):
            raise ValueError(f"a declared tolerance needs a reason, got {self.reason!r}")

    def describe(self) -> str:
        """``tolerance rtol R atol A``, leaving out a part that is 0."""
        rtol, atol = self.tolerance.rtol, self.tolerance.atol
        parts = ([f"rtol {rtol:g}"] if rtol or not atol else []) + ([f"atol {atol:g}"] if atol else [])
        return "tolerance " + " ".join(parts)

    def where(self) -> str:
        """``SOURCE line N`` for a declaration read from a file, else ``declared in code``."""
        return f"{self.source} line {self.line_no}" if self.source is not None else "declared in code"


@dataclass(frozen=True)
class QuirkSet:
    """All declarations of one quirks file, in file order: quirks and tolerances.

    >>> qs = load_quirks(["a: ignore | x", "a#2: ignore | y", "b: tolerance atol 1e-9 | z"])
    >>> [q.reason for q in qs.candidates("", "a", 2)], [t.reason for t in qs.tolerances]
    (['y', 'x'], ['z'])
    """

    entries: tuple[Quirk, ...]
    source: str = "<lines>"
    tolerances: tuple[DeclaredTolerance, ...] = ()
    _by_name: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name: dict[tuple[str, str], list[Quirk]] = {}
        for q in self.entries:
            by_name.setdefault((q.selector.channel, q.selector.name), []).append(q)
        object.__setattr__(self, "_by_name", by_name)

    def candidates(
        self, channel: str, name: str, occurrence: int, field: str | None = None
    ) -> list[Quirk]:
        """Declarations for this value; those naming the occurrence come first.

        ``field=None`` asks for declarations about the whole value.
        """
        found = [
            q
            for q in self._by_name.get((channel, name), ())
            if q.selector.occurrence in (None, occurrence) and q.selector.field == field
        ]
        return sorted(found, key=lambda q: q.selector.occurrence is None)

    def names(self, channel: str, name: str) -> bool:
        """True when some quirk is declared for ``(channel, name)``."""
        return (channel, name) in self._by_name


def load_quirks(
    source: str | os.PathLike | Iterable[str | bytes], *, name: str | None = None
) -> QuirkSet:
    """Read a quirks file (a path) or its lines; ``QuirksError`` names file and line.

    Its ``tolerance`` lines become the set's ``tolerances``.

    >>> load_quirks(["# comment", "", "detector_convention: c_value MOSFLM | hard-coded"]
    ...             ).entries[0].literal[0].value
    'MOSFLM'
    """
    label, declarations = _read(source, name)
    quirks = tuple(d for d in declarations if isinstance(d, Quirk))
    tolerances = tuple(d for d in declarations if isinstance(d, DeclaredTolerance))
    return QuirkSet(quirks, label, tolerances)


def load_tolerances(
    source: str | os.PathLike | Iterable[str | bytes], *, name: str | None = None
) -> tuple[DeclaredTolerance, ...]:
    """Read a file (a path) or lines of ``tolerance`` declarations only.

    >>> [t.describe() for t in load_tolerances(["F_latt: tolerance rtol 1e-10 atol 1e-14 | why"])]
    ['tolerance rtol 1e-10 atol 1e-14']
    """
    label, declarations = _read(source, name)
    for declaration in declarations:
        if isinstance(declaration, Quirk):
            raise QuirksError(
                label, declaration.line_no,
                f"only 'tolerance' declarations belong in a tolerances file, got "
                f"'{declaration.kind}' (put quirks in a quirks file)",
            )
    return tuple(declarations)


def _read(source, name: str | None) -> tuple[str, list]:
    if isinstance(source, (str, os.PathLike)):
        label = name or os.fspath(source)
        with open(source, "rb") as handle:
            return label, _load(handle, label)
    label = name or "<lines>"
    return label, _load(source, label)


def _load(lines: Iterable[str | bytes], label: str) -> list:
    declarations = []
    for line_no, raw in text_lines(lines, label, QuirksError):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            declarations.append(_parse_line(line, label, line_no))
        except ValueError as exc:
            raise QuirksError(label, line_no, str(exc)) from None
    return declarations


def _parse_line(line: str, label: str, line_no: int) -> Quirk | DeclaredTolerance:
    head, bar, reason = line.partition("|")
    if not bar or not reason.strip():
        raise ValueError(
            f"missing reason in {shown(line)}; expected SELECTOR: KIND [ARGUMENT] | REASON"
        )
    selector_text, colon, spec = head.partition(":")
    if not colon:
        raise ValueError(f"missing ':' after the selector in {shown(line)}")
    selector = parse_selector(selector_text)
    kind, argument = (spec.split(None, 1) + ["", ""])[:2]
    argument = argument.strip()
    if kind not in KINDS:
        raise ValueError(
            f"unknown kind {shown(kind)}; allowed: {', '.join(KINDS)}"
            if kind
            else f"missing kind after {shown(selector_text.strip())}:"
        )
    if KINDS[kind] and not argument:
        raise ValueError(f"'{kind}' needs an argument")
    if not KINDS[kind] and argument:
        raise ValueError(f"'{kind}' takes no argument, got {shown(argument)}")
    if kind == "tolerance":
        return DeclaredTolerance(selector, parse_tolerance(argument), reason.strip(), label, line_no)
    quirk = Quirk(selector, kind, argument, reason.strip(), label, line_no)
    return _with_argument(quirk)


def _with_argument(quirk: Quirk) -> Quirk:
    fields = dict(quirk.__dict__)
    if quirk.kind == "factor":
        fields["factor"] = parse_factor(quirk.argument)
    elif quirk.kind == "c_value":
        fields["literal"] = parse_value(quirk.argument)
    elif quirk.kind == "same_as":
        fields["target"] = parse_selector(quirk.argument)
    return Quirk(**fields)


def parse_tolerance(text: str) -> Tolerance:
    """Parse ``rtol R``, ``atol A`` or both (either order); the part not given is 0.

    >>> parse_tolerance("atol 1e-15")
    Tolerance(rtol=0.0, atol=1e-15)
    """
    found: dict[str, float] = {}
    rest = text.strip()
    while rest:
        match = _TOLERANCE_PART.match(rest)
        if match is None or match.group(1) in found:
            raise ValueError(
                f"bad tolerance {shown(text.strip())}; expected rtol R, atol A or rtol R atol A "
                f"(R, A finite numbers >= 0)"
            )
        value = float(match.group(2))
        if not math.isfinite(value):
            raise ValueError(f"{match.group(1)} in {shown(text.strip())} must be finite")
        found[match.group(1)] = value
        rest = rest[match.end():].lstrip()
    return Tolerance(rtol=found.get("rtol", 0.0), atol=found.get("atol", 0.0))


def parse_factor(text: str) -> float:
    """Parse ``NUMBER``, ``pi`` or ``A/B`` of those (with signs) into a float.

    >>> round(parse_factor("180/pi"), 6), parse_factor("-1"), parse_factor("1e-3")
    (57.29578, -1.0, 0.001)
    """
    parts = text.split("/")
    if len(parts) > 2:
        raise ValueError(f"bad factor {shown(text)}; expected NUMBER, pi or A/B")
    values = [_factor_term(part, text) for part in parts]
    if len(values) == 2 and values[1] == 0:
        raise ValueError(f"factor {shown(text)} divides by zero")
    try:
        result = values[0] / values[1] if len(values) == 2 else values[0]
    except OverflowError:
        result = math.inf
    if result == 0 or not math.isfinite(result):
        raise ValueError(f"factor {shown(text)} must be finite and non-zero")
    return result


def _factor_term(part: str, text: str) -> float:
    match = _FACTOR_TERM.fullmatch(part.strip())
    if match is None:
        raise ValueError(
            f"bad factor {shown(text)}; expected a number (1e-3), pi, or A/B such as 180/pi"
        )
    magnitude = math.pi if match.group("pi") else float(match.group("num"))
    return -magnitude if match.group("sign") == "-" else magnitude
