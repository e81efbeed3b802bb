"""Read trace logs into records keyed by (channel, name, occurrence).

A trace line is one of four shapes (see docs/diff.md for the full grammar):

* equals style  ``TRACE_C:name=value``
* space style   ``TRACE_C: name v1 v2 v3``
* record style  ``TRACE_C_PHI k1=v1 k2=v2`` (the record's name is ``record``)
* bare line     ``DETECTOR_PIX0_VECTOR 0.1 0.0065 -0.0065`` (numbers only)

The text after the name is split into items: numbers, strings, ``key:value``
groups, ``key=value`` fields and bracketed matrices ``[a b; c d]``.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Union

from tracehooks._errors import SourceLineError

__all__ = [
    "Keyed",
    "Matrix",
    "RECORD_NAME",
    "Record",
    "Scalar",
    "Trace",
    "TraceParseError",
    "parse_trace",
    "parse_value",
    "value_numbers",
    "value_shape",
]

#: Name given to record-style lines (``TRACE_C_PHI k=v ...``), which print no name.
RECORD_NAME = "record"

_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(
    r"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf(?:inity)?|nan)", re.IGNORECASE
)
_KEYED = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)([:=])(.*)", re.DOTALL)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_TAG = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_PREFIX = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*")
_AUTO_SIDE = re.compile(r"TRACE_[A-Za-z0-9]+")
_BARE = re.compile(r"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)[ \t]+(\S.*)")


class TraceParseError(SourceLineError):
    """A trace line that looks like a record but cannot be read.

    ``str(error)`` is ``SOURCE:LINE: message``.

    >>> str(TraceParseError("c.log", 3, "no value"))
    'c.log:3: no value'
    """



@dataclass(frozen=True)
class Scalar:
    """One printed token: ``kind`` is ``"int"``, ``"float"`` or ``"str"``.

    >>> parse_value("-nan")[0].kind
    'float'
    """

    kind: str
    value: Union[int, float, str]
    text: str

    @property
    def is_number(self) -> bool:
        """True for ``int`` and ``float`` tokens.

        >>> parse_value("7")[0].is_number
        True
        """
        return self.kind != "str"


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
    value: Union[Scalar, Matrix]
    text: str


Item = Union[Scalar, Matrix, Keyed]


@dataclass(frozen=True)
class Record:
    """One parsed trace line of one side.

    >>> rec = parse_trace(["TRACE_C: steps 4"]).records[0]
    >>> (rec.key, rec.line_no, rec.text)
    (('', 'steps', 1), 1, '4')
    """

    channel: str
    name: str
    occurrence: int
    line_no: int
    items: tuple[Item, ...]
    text: str

    @property
    def key(self) -> tuple[str, str, int]:
        """``(channel, name, occurrence)``, the alignment key."""
        return (self.channel, self.name, self.occurrence)


@dataclass
class Trace:
    """All records of one log, in line order, plus counts of skipped lines.

    ``prefix`` is the side's tag (``TRACE_C``), detected or given; ``None``
    when the log had no tagged line at all.

    >>> t = parse_trace(["TRACE_PY:a=1", "TRACE_C:a=2", "hello"])
    >>> (t.prefix, len(t.records), t.ignored_other_side, t.ignored_untagged)
    ('TRACE_PY', 1, 1, 1)
    """

    source: str
    prefix: Union[str, None]
    records: list[Record] = field(default_factory=list)
    ignored_other_side: int = 0
    ignored_untagged: int = 0

    def occurrences(self, channel: str, name: str) -> int:
        """How many records this trace has for ``(channel, name)``.

        >>> parse_trace(["TRACE_C: a 1", "TRACE_C: a 2"]).occurrences("", "a")
        2
        """
        return sum(1 for r in self.records if r.channel == channel and r.name == name)


def parse_value(text: str) -> tuple[Item, ...]:
    """Split a printed value into items; raise ``ValueError`` if malformed.

    >>> [type(i).__name__ for i in parse_value("rotx:0 [1 0; 0 1] MOSFLM 2.5")]
    ['Keyed', 'Matrix', 'Scalar', 'Scalar']
    """
    tokens = _split_tokens(text)
    if not tokens:
        raise ValueError("no value")
    return tuple(_item(token) for token in tokens)


def value_numbers(items: Iterable[Item]) -> Union[list[float], None]:
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
        out.extend(float(s.value) for s in cells)
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
    tokens: list[str] = []
    buf: list[str] = []
    inside = False
    for ch in text:
        if ch == "[":
            if inside:
                raise ValueError(f"nested '[' in {text.strip()!r}")
            inside = True
        elif ch == "]":
            if not inside:
                raise ValueError(f"']' without a matching '[' in {text.strip()!r}")
            inside = False
        elif ch.isspace() and not inside:
            if buf:
                tokens.append("".join(buf))
                buf = []
            continue
        buf.append(ch)
    if inside:
        raise ValueError(f"unclosed '[' in {text.strip()!r}")
    if buf:
        tokens.append("".join(buf))
    return tokens


def _item(token: str) -> Item:
    if token.startswith("[") and token.endswith("]"):
        return _matrix(token)
    keyed = _KEYED.fullmatch(token)
    if keyed is None:
        return _scalar(token)
    key, sep, rest = keyed.groups()
    if not rest:
        raise ValueError(f"{token!r} has an empty value (expected {key}{sep}VALUE)")
    value = _matrix(rest) if rest.startswith("[") and rest.endswith("]") else _scalar(rest)
    return Keyed(key, sep, value, token)


def _scalar(token: str) -> Scalar:
    if _INT.fullmatch(token):
        return Scalar("int", int(token), token)
    if _FLOAT.fullmatch(token):
        return Scalar("float", float(token), token)
    return Scalar("str", token, token)


def _matrix(token: str) -> Matrix:
    rows = []
    for row_text in token[1:-1].split(";"):
        cells = row_text.split()
        if not cells:
            raise ValueError(f"empty row in matrix {token!r}")
        rows.append(tuple(_scalar(cell) for cell in cells))
    widths = {len(row) for row in rows}
    if len(widths) != 1:
        raise ValueError(
            f"matrix {token!r} has rows of different lengths {[len(r) for r in rows]}"
        )
    return Matrix(tuple(rows), token)


def parse_trace(
    source: Union[str, os.PathLike, Iterable[Union[str, bytes]]],
    *,
    prefix: Union[str, None] = None,
    name: Union[str, None] = None,
) -> Trace:
    """Parse a trace log: a path, ``"-"`` for stdin, or an iterable of lines.

    ``prefix`` fixes the side's tag (e.g. ``"TRACE_PY"``); by default it is
    ``TRACE_<SIDE>`` of the first line that starts with ``TRACE_``.
    ``name`` is used in error messages (default: the path, ``<stdin>`` or
    ``<lines>``). Raises ``TraceParseError`` for a malformed record line and
    ``OSError`` for an unreadable file.

    >>> t = parse_trace(["TRACE_C:pix0_vector=0.1 0.0065 -0.0065"])
    >>> [s.value for s in t.records[0].items]
    [0.1, 0.0065, -0.0065]
    """
    if prefix is not None and not _PREFIX.fullmatch(prefix):
        raise ValueError(
            f"prefix must be letters/digits separated by single underscores "
            f"(e.g. TRACE_PY), got {prefix!r}"
        )
    if isinstance(source, (str, os.PathLike)):
        if os.fspath(source) == "-":
            stream = getattr(sys.stdin, "buffer", sys.stdin)
            return _parse_lines(stream, name or "<stdin>", prefix)
        path = os.fspath(source)
        with open(path, "rb") as handle:
            return _parse_lines(handle, name or str(path), prefix)
    return _parse_lines(source, name or "<lines>", prefix)


def _parse_lines(
    lines: Iterable[Union[str, bytes]], source: str, prefix: Union[str, None]
) -> Trace:
    trace = Trace(source, prefix)
    counts: dict[tuple[str, str], int] = {}
    for line_no, raw in enumerate(lines, start=1):
        line = _decode(raw, source, line_no).rstrip("\r\n")
        if trace.prefix is None:
            detected = _AUTO_SIDE.match(line)
            if detected:
                trace.prefix = detected.group(0)
        try:
            parsed = _classify(line, trace.prefix)
        except ValueError as exc:
            raise TraceParseError(source, line_no, str(exc)) from None
        if parsed == "other":
            trace.ignored_other_side += 1
        elif parsed is None:
            trace.ignored_untagged += 1
        else:
            channel, rec_name, items, text = parsed
            occurrence = counts.get((channel, rec_name), 0) + 1
            counts[(channel, rec_name)] = occurrence
            trace.records.append(
                Record(channel, rec_name, occurrence, line_no, items, text)
            )
    return trace


def _decode(raw: Union[str, bytes], source: str, line_no: int) -> str:
    if isinstance(raw, str):
        return raw
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TraceParseError(
            source, line_no, f"not valid UTF-8 (byte {exc.start + 1} of the line)"
        ) from None


def _classify(line: str, prefix: Union[str, None]):
    """Return ``(channel, name, items, text)``, ``"other"`` or ``None``."""
    tag_match = _TAG.match(line)
    if tag_match is None:
        return None
    tag = tag_match.group(0)
    rest = line[len(tag):]
    if rest and rest[0] != ":" and not rest[0].isspace():
        return None
    if prefix is not None:
        if tag == prefix or tag.startswith(prefix + "_"):
            channel = tag[len(prefix) + 1:]
            return (channel,) + _side_body(tag, rest)
        family = prefix.rsplit("_", 1)[0]
        if tag == family or tag.startswith(family + "_"):
            return "other"
    return _bare(line)


def _side_body(tag: str, rest: str) -> tuple[str, tuple[Item, ...], str]:
    if rest.startswith(":") and rest[1:2] and not rest[1].isspace():
        rec_name, equals, value = rest[1:].partition("=")
        if not equals:
            raise ValueError(f"expected {tag}:NAME=VALUE, got {tag + rest!r} (no '=')")
        _check_name(rec_name, tag)
        return rec_name, _value(value, rec_name), value.strip()
    body = rest[1:].strip() if rest.startswith(":") else rest.strip()
    if not body:
        raise ValueError(f"{tag} line has no name and no value")
    first, *tail = body.split(None, 1)
    if "=" in first:
        return RECORD_NAME, _record_items(tag, body), body
    value = tail[0] if tail else ""
    _check_name(first, tag)
    return first, _value(value, first), value.strip()


def _record_items(tag: str, body: str) -> tuple[Item, ...]:
    items = _value(body, RECORD_NAME)
    for item in items:
        if not (isinstance(item, Keyed) and item.sep == "="):
            raise ValueError(f"record-style {tag} line: {item.text!r} is not KEY=VALUE")
    return items


def _check_name(rec_name: str, tag: str) -> None:
    if not _NAME.fullmatch(rec_name):
        raise ValueError(
            f"{tag} line has name {rec_name!r}; a name is a letter or '_' followed by "
            f"letters, digits, '_' or '.'"
        )


def _value(text: str, rec_name: str) -> tuple[Item, ...]:
    try:
        return parse_value(text)
    except ValueError as exc:
        raise ValueError(f"{rec_name}: {exc}") from None


def _bare(line: str):
    match = _BARE.fullmatch(line.rstrip())
    if match is None:
        return None
    try:
        items = parse_value(match.group(2))
    except ValueError:
        return None
    if not all(isinstance(i, Scalar) and i.is_number for i in items):
        return None
    return ("", match.group(1), items, match.group(2).strip())
