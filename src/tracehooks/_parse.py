"""Read trace logs into records keyed by (channel, name, occurrence).

A trace line is one of the four shapes of ``_grammar`` (see docs/diff.md):

* space style   ``TRACE_C: name v1 v2 v3``
* equals style  ``TRACE_C:name=value``
* record style  ``TRACE_C_PHI k1=v1 k2=v2`` (the record's name is ``record``)
* bare line     ``DETECTOR_PIX0_VECTOR 0.1 0.0065 -0.0065`` (numbers only)

The text after the name is split into items (``_values``): numbers, strings,
``key:value`` groups, ``key=value`` fields and bracketed matrices ``[a b; c d]``.

Time is linear in the length of the log. A :class:`Trace` keeps each
record's value text (UTF-8) and a few integers; :class:`Record` objects and
their items are built when asked for.
"""

from __future__ import annotations

import os
import re
import sys
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import overload

from ._errors import SourceLineError, shown, text_lines
from ._grammar import (
    CHANNEL_SEP,
    FIELD_SEP,
    LINE_STYLES,
    NAME,
    PREFIX,
    RECORD_NAME,
    SIDE,
    TAG,
    bare_pattern,
    exact_text,
    read_json_line,
    tagged_pattern,
)
from ._values import (
    Item,
    Keyed,
    Matrix,
    Scalar,
    check_value,
    first_non_field,
    is_number_text,
    parse_value,
    value_numbers,
    value_shape,
)

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

_NAME = re.compile(NAME)
_TAG = re.compile(TAG)
_PREFIX = re.compile(PREFIX)
_AUTO_SIDE = re.compile(SIDE)
_BARE = bare_pattern()
_SPACE, _EQUALS, _RECORD = LINE_STYLES["space"], LINE_STYLES["equals"], LINE_STYLES["record"]


class TraceParseError(SourceLineError):
    """A trace line that looks like a record but cannot be read.

    ``str(error)`` is ``SOURCE:LINE: message``.

    >>> str(TraceParseError("c.log", 3, "no value"))
    'c.log:3: no value'
    """

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
    #: The exact values of a JSON line (numbers as written by ``repr``); None from a text line.
    exact: tuple[Item, ...] | None = None
    #: The text the exact values were read from (every number its ``repr``); None from a text line.
    exact_text: str | None = None

    @property
    def key(self) -> tuple[str, str, int]:
        """``(channel, name, occurrence)``, the alignment key."""
        return (self.channel, self.name, self.occurrence)

    def to_line(self, prefix: str) -> str:
        """The record as a trace line of side ``prefix``, which parses back to the same record.

        >>> parse_trace(["TRACE_C_PHI k=1 h=2"]).records[0].to_line("TRACE_PY")
        'TRACE_PY_PHI k=1 h=2'
        >>> parse_trace(["TRACE_C:pix0=0.1 0.2"]).records[0].to_line("TRACE_C")
        'TRACE_C: pix0 0.1 0.2'
        """
        tag = f"{prefix}{CHANNEL_SEP}{self.channel}" if self.channel else prefix
        fields = all(isinstance(i, Keyed) and i.sep == FIELD_SEP for i in self.items)
        style = _RECORD if self.name == RECORD_NAME and fields else _SPACE
        return style.line(tag, self.name, self.text)


class Trace:
    """All records of one log, in line order, plus counts of skipped lines.

    ``prefix`` is the side's tag (``TRACE_C``), detected or given; ``None``
    when the log had no tagged line at all. ``records`` is a sequence of
    :class:`Record`, built on access from compact storage (each record's
    value text and four integers), so that a large log costs little more
    memory than its size.

    >>> t = parse_trace(["TRACE_PY:a=1", "TRACE_C:a=2", "hello"])
    >>> (t.prefix, len(t.records), t.ignored_other_side, t.ignored_untagged)
    ('TRACE_PY', 1, 1, 1)
    """

    def __init__(
        self,
        source: str,
        prefix: str | None,
        records: Iterable[Record] = (),
        ignored_other_side: int = 0,
        ignored_untagged: int = 0,
    ) -> None:
        self.source = source
        self.prefix = prefix
        self.ignored_other_side = ignored_other_side
        self.ignored_untagged = ignored_untagged
        self._key_ids: dict[tuple[str, str], int] = {}
        self._names: list[tuple[str, str]] = []
        self._by_key: list[array] = []  # per key id: record indices, occurrence 1 first
        self._key_of = array("q")
        self._occurrence_of = array("q")
        self._line_of = array("q")
        self._start = array("q", [0])  # record i's text is _text[_start[i]:_start[i + 1]]
        self._text = bytearray()
        self._exact: dict[int, str] = {}  # record index -> exact value text (JSON lines)
        for rec in records:
            self._add(rec.channel, rec.name, rec.line_no, rec.text)

    def __repr__(self) -> str:
        return (f"Trace(source={self.source!r}, prefix={self.prefix!r}, records={len(self._line_of)}, "
                f"ignored_other_side={self.ignored_other_side}, "
                f"ignored_untagged={self.ignored_untagged})")

    @property
    def records(self) -> Sequence[Record]:
        """The records in line order (a read-only sequence)."""
        return _Records(self)

    def occurrences(self, channel: str, name: str) -> int:
        """How many records this trace has for ``(channel, name)``.

        >>> parse_trace(["TRACE_C: a 1", "TRACE_C: a 2"]).occurrences("", "a")
        2
        """
        key = self._key_ids.get((channel, name))
        return 0 if key is None else len(self._by_key[key])

    def find(self, channel: str, name: str, occurrence: int) -> Record | None:
        """The record with this key, or ``None``.

        >>> parse_trace(["TRACE_C: a 1", "TRACE_C: a 2"]).find("", "a", 2).text
        '2'
        """
        index = self._index(channel, name, occurrence)
        return None if index < 0 else self._record(index)

    def _add(self, channel: str, name: str, line_no: int, text: str,
             exact: str | None = None) -> None:
        if exact is not None:
            self._exact[len(self._line_of)] = exact
        key = self._key_ids.get((channel, name))
        if key is None:
            key = self._key_ids[(channel, name)] = len(self._names)
            self._names.append((sys.intern(channel), sys.intern(name)))
            self._by_key.append(array("q"))
        by_key = self._by_key[key]
        by_key.append(len(self._line_of))
        self._key_of.append(key)
        self._occurrence_of.append(len(by_key))
        self._line_of.append(line_no)
        self._text += text.encode("utf-8", "surrogatepass")
        self._start.append(len(self._text))

    def _index(self, channel: str, name: str, occurrence: int) -> int:
        key = self._key_ids.get((channel, name))
        if key is None or not 1 <= occurrence <= len(self._by_key[key]):
            return -1
        return self._by_key[key][occurrence - 1]

    def _raw(self, index: int) -> bytearray:
        return self._text[self._start[index]:self._start[index + 1]]

    def _value_text(self, index: int) -> str:
        return self._raw(index).decode("utf-8", "surrogatepass")

    def _record(self, index: int) -> Record:
        channel, name = self._names[self._key_of[index]]
        text = self._value_text(index)
        exact = self._exact.get(index)
        return Record(channel, name, self._occurrence_of[index], self._line_of[index],
                      parse_value(text), text, None if exact is None else parse_value(exact), exact)


class _Records(Sequence):
    """The records of a :class:`Trace`, built one at a time on access."""

    def __init__(self, trace: Trace) -> None:
        self._trace = trace

    def __len__(self) -> int:
        return len(self._trace._line_of)

    @overload
    def __getitem__(self, index: int) -> Record: ...

    @overload
    def __getitem__(self, index: slice) -> list[Record]: ...

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self._trace._record(i) for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("record index out of range")
        return self._trace._record(index)

    def __iter__(self) -> Iterator[Record]:
        return (self._trace._record(i) for i in range(len(self)))

    def __eq__(self, other: object) -> bool:
        # Compares equal to a list of the same records, as the list it replaces did.
        if isinstance(other, (list, tuple, _Records)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<{len(self)} records of {self._trace.source}>"

def parse_trace(
    source: str | os.PathLike | Iterable[str | bytes],
    *,
    prefix: str | None = None,
    name: str | None = None,
) -> Trace:
    """Parse a trace log: a path, ``"-"`` for stdin, or an iterable of lines.

    ``prefix`` fixes the side's tag (e.g. ``"TRACE_PY"``); by default it is
    ``TRACE_<SIDE>`` of the first line that starts with ``TRACE_``.
    ``name`` is used in error messages (default: the path, ``<stdin>`` or
    ``<lines>``). Raises ``TraceParseError`` for a malformed record line and
    ``OSError`` for an unreadable file. Time is linear in the size of the log.

    >>> t = parse_trace(["TRACE_C:pix0_vector=0.1 0.0065 -0.0065"])
    >>> [s.value for s in t.records[0].items]
    [0.1, 0.0065, -0.0065]
    """
    if prefix is not None and not _PREFIX.fullmatch(prefix):
        raise ValueError(
            f"prefix must be letters/digits separated by single underscores "
            f"(e.g. TRACE_PY), got {shown(prefix)}"
        )
    if isinstance(source, (str, os.PathLike)):
        if os.fspath(source) == "-":
            stream = getattr(sys.stdin, "buffer", sys.stdin)
            return _parse_lines(stream, name or "<stdin>", prefix)
        path = os.fspath(source)
        with open(path, "rb") as handle:
            return _parse_lines(handle, name or str(path), prefix)
    return _parse_lines(source, name or "<lines>", prefix)


def _parse_lines(lines: Iterable[str | bytes], source: str, prefix: str | None) -> Trace:
    trace = Trace(source, prefix)
    reader = _LineReader(prefix)
    for line_no, raw in text_lines(lines, source, TraceParseError):
        line = raw.rstrip("\r\n")
        try:
            parsed = reader.classify(line)
        except ValueError as exc:
            raise TraceParseError(source, line_no, str(exc)) from None
        if parsed is _OTHER:
            trace.ignored_other_side += 1
        elif parsed is None:
            trace.ignored_untagged += 1
        else:
            trace._add(*parsed[:2], line_no, *parsed[2:])
    trace.prefix = reader.prefix
    return trace


_OTHER = "other"  # a line of another side of the same family


class _LineReader:
    """Classifies the lines of one log; the side's prefix strings are prepared once."""

    def __init__(self, prefix: str | None) -> None:
        self.prefix: str | None = None
        if prefix is not None:
            self._set(prefix)

    def _set(self, prefix: str) -> None:
        self.prefix = prefix
        self.channel_start = prefix + CHANNEL_SEP
        self.family = prefix.rsplit(CHANNEL_SEP, 1)[0]
        self.family_start = self.family + CHANNEL_SEP
        self.common = tagged_pattern(prefix)

    def classify(self, line: str):
        """Return ``(channel, name, text[, exact])``, ``_OTHER`` or ``None``; the value is checked."""
        if line.startswith("{"):
            return self._json(line)
        if self.prefix is None:
            detected = _AUTO_SIDE.match(line)
            if detected:
                self._set(detected.group(0))
        if self.prefix is not None:
            common = self.common.fullmatch(line)
            if common is not None:
                return self._common(common)
        tag_match = _TAG.match(line)
        if tag_match is None:
            return None
        tag = tag_match.group(0)
        rest = line[tag_match.end():]
        if rest and rest[0] != ":" and not rest[0].isspace():
            return None
        if self.prefix is not None:
            if tag == self.prefix or tag.startswith(self.channel_start):
                return (tag[len(self.prefix) + 1:],) + _side_body(tag, rest)
            if tag == self.family or tag.startswith(self.family_start):
                return _OTHER
        return _bare(line)

    def _json(self, line: str):
        # A JSON line (the json style): its tag is read as a text line's would be.
        record = read_json_line(line)
        if record is None:
            return None
        tag = record["tag"]
        if self.prefix is None:
            detected = _AUTO_SIDE.match(tag)
            if detected:
                self._set(detected.group(0))
        if self.prefix is None:
            return None
        if tag == self.prefix or tag.startswith(self.channel_start):
            channel, name, text = tag[len(self.prefix) + 1:], record["name"], record["text"]
            _check_name(name, tag)
            _value(text, name)
            exact = exact_text(record["values"]) if "values" in record else None
            return channel, name, text, exact
        if tag == self.family or tag.startswith(self.family_start):
            return _OTHER
        return None

    def _common(self, match: re.Match) -> tuple[str, str, str]:
        # A line of one of the usual shapes of this side (the grammar's tagged pattern),
        # recognised in one match; each group is what the general path would take.
        channel = match.group("channel")
        style = match.lastgroup
        value = match.group(style)
        if style == _RECORD.style:
            tag = self.prefix if channel is None else f"{self.prefix}{CHANNEL_SEP}{channel}"
            body = value.strip()
            _record_items(tag, body)
            return channel or "", RECORD_NAME, body
        name = match.group(style + "_name")
        _value(value, name)
        return channel or "", name, value.strip()


def _side_body(tag: str, rest: str) -> tuple[str, str]:
    # The general path: reads every shape of the grammar, and names what is wrong.
    if rest.startswith(_EQUALS.lead) and rest[1:2] and not rest[1].isspace():
        rec_name, equals, value = rest[1:].partition(_EQUALS.sep)
        if not equals:
            raise ValueError(f"expected {tag}:NAME=VALUE, got {shown(tag + rest)} (no '=')")
        _check_name(rec_name, tag)
        _value(value, rec_name)
        return rec_name, value.strip()
    body = rest[1:].strip() if rest.startswith(":") else rest.strip()
    if not body:
        raise ValueError(f"{tag} line has no name and no value")
    first, *tail = body.split(None, 1)
    if FIELD_SEP in first:
        _record_items(tag, body)
        return RECORD_NAME, body
    value = tail[0] if tail else ""
    _check_name(first, tag)
    _value(value, first)
    return first, value.strip()


def _record_items(tag: str, body: str) -> None:
    bad = first_non_field(body)
    if bad is not None:
        raise ValueError(f"record-style {tag} line: {shown(bad)} is not KEY=VALUE")


def _check_name(rec_name: str, tag: str) -> None:
    if not _NAME.fullmatch(rec_name):
        raise ValueError(
            f"{tag} line has name {shown(rec_name)}; a name is a letter or '_' followed by "
            f"letters, digits, '_' or '.'"
        )


def _value(text: str, rec_name: str) -> None:
    try:
        check_value(text)
    except ValueError as exc:
        raise ValueError(f"{rec_name}: {exc}") from None


def _bare(line: str):
    match = _BARE.fullmatch(line.rstrip())
    if match is None:
        return None
    value = match.group("bare")
    if not all(is_number_text(t) for t in value.split()):  # the bare style's numbers_only
        return None
    return ("", match.group("bare_name"), value.strip())
