"""The shapes of a trace line and of a printed value, stated once.

The renderer (``_format``) writes lines from these descriptions and the
parser (``_parse``, ``_values``) reads lines with patterns built from the
same descriptions, so that a line the renderer writes parses back to the
channel, name and value it was written from.

A *tagged* line starts with a tag: the side's prefix (``TRACE_C``), or
``PREFIX_CHANNEL`` for a record of a channel (``TRACE_C_PHI``: channel
``PHI``). The four styles:

=======  ==============================  ==========================================
style    written                         read as (channel, name, value text)
=======  ==============================  ==========================================
space    ``TAG: name v1 v2``             ``(CHANNEL, name, "v1 v2")``
equals   ``TAG:name=v1 v2``              ``(CHANNEL, name, "v1 v2")``
record   ``PREFIX_CHANNEL k1=v1 k2=v2``  ``(CHANNEL, "record", "k1=v1 k2=v2")``
bare     ``NAME v1 v2``                  ``("", NAME, "v1 v2")``, numbers only
=======  ==============================  ==========================================

``Renderer(prefix, style)(name, value)`` fills the tag with ``prefix`` and the
name with ``name``, except in the record style, whose line has no name: there
``name`` is the channel (the tag is ``PREFIX_name``).

Reading is a little wider than writing: right after the tag ``": "`` and
``" "`` are read alike, with any whitespace after them (``TRACE_C name 1`` is
a space line, ``TRACE_C_PHI: k=1`` a record line), and a run of whitespace
stands for the space between a name and its value (spaces and tabs, in a bare
line).

A fifth style, ``json``, writes one JSON object a line (JSON Lines, keys in :data:`JSON_KEYS`): the
tag, channel and name, ``text`` (the value as the other styles print it), ``values`` (the exact
value: numbers as JSON numbers, which Python writes with ``repr`` and reads back to the same double),
and the value's shape, dtype, device, the call's ordinal, thread and the traced function's source
location. :func:`json_line` writes it and :func:`read_json_line` reads it back; :func:`exact_text`
lays the exact values out as a value text, with every number as its ``repr``.

Inside a value, items are separated by spaces; a matrix is ``[a b; c d]``, a
group (a mapping's entry) ``key:value`` and a field (a record's entry)
``key=value``.

Example:
    >>> LINE_STYLES["equals"].line("TRACE_C", "Fclose_m", "0.2")
    'TRACE_C:Fclose_m=0.2'
    >>> LINE_STYLES["record"].head("TRACE_PY") + "PHI" + LINE_STYLES["record"].after_name
    'TRACE_PY_PHI '
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

__all__ = [
    "BARE_NAME",
    "CHANNEL",
    "CHANNEL_SEP",
    "FIELD_SEP",
    "GROUP_SEP",
    "ITEM_SEP",
    "JSON_KEYS",
    "KEY",
    "LINE_STYLES",
    "LineStyle",
    "MATRIX_CLOSE",
    "MATRIX_OPEN",
    "NAME",
    "PREFIX",
    "RECORD_NAME",
    "ROW_SEP",
    "SIDE",
    "STYLES",
    "TAG",
    "bare_pattern",
    "exact_text",
    "json_line",
    "read_json_line",
    "tagged_pattern",
]

# -- values -----------------------------------------------------------------------------------
ITEM_SEP = " "  #: between the items of a value (read: any whitespace)
ROW_SEP = "; "  #: between the rows of a matrix (read: ``;``)
MATRIX_OPEN, MATRIX_CLOSE = "[", "]"
GROUP_SEP = ":"  #: ``key:value``, the entry of a mapping
FIELD_SEP = "="  #: ``key=value``, the entry of a record line
#: The key of a group or a field.
KEY = r"[A-Za-z_][A-Za-z0-9_]*"

# -- lines ------------------------------------------------------------------------------------
#: A record's name: a letter or ``_``, then letters, digits, ``_`` or ``.``.
NAME = r"[A-Za-z_][A-Za-z0-9_.]*"
#: The first word of a line, which may be a tag.
TAG = r"[A-Za-z][A-Za-z0-9_]*"
#: A side's prefix: letters and digits in parts joined by single ``_``.
PREFIX = r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*"
#: The prefix detected from the first line that starts with ``TRACE_``.
SIDE = r"TRACE_[A-Za-z0-9]+"
#: Joins a prefix and a channel into a tag.
CHANNEL_SEP = "_"
CHANNEL = r"[A-Za-z0-9_]*"
#: The name of a bare line: ALL_CAPS with at least one ``_``.
BARE_NAME = r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+"
#: The name of every record-style line, which prints none.
RECORD_NAME = "record"

_AFTER_TAG = r"(?::\s|\s)\s*"  # ": " and " " read alike right after the tag


@dataclass(frozen=True)
class LineStyle:
    """One line shape: what the renderer writes and, beside it, what the parser reads.

    ``lead`` is written after the tag and ``sep`` between the name and the
    value; ``read_lead`` and ``read_sep`` are the patterns the parser reads
    for them, ``name`` and ``value`` the patterns of the name and of the value
    text. ``named`` is False for the record style (its name is
    :data:`RECORD_NAME`); ``fields``: the value is ``key=value`` fields;
    ``numbers_only``: every item of the value is a number.

    Example:
        >>> LINE_STYLES["space"].line("TRACE_PY_PHI", "hkl", "1 2 3")
        'TRACE_PY_PHI: hkl 1 2 3'
    """

    style: str
    tagged: bool
    named: bool
    lead: str
    sep: str
    read_lead: str
    read_sep: str
    name: str
    value: str
    fields: bool = False
    numbers_only: bool = False

    def head(self, prefix: str) -> str:
        """What a renderer writes before its ``name`` argument (``PREFIX_`` for a record).

        Example:
            >>> [LINE_STYLES[s].head("TRACE_C") for s in LINE_STYLES]
            ['TRACE_C: ', 'TRACE_C:', 'TRACE_C_', '']
        """
        if not self.tagged:
            return ""
        return prefix + (self.lead if self.named else CHANNEL_SEP)

    @property
    def after_name(self) -> str:
        """What a renderer writes between its ``name`` argument and the value text."""
        return self.sep if self.named else self.lead

    def line(self, tag: str, name: str, text: str) -> str:
        """A whole line from its parts; ``tag`` is unused when untagged, ``name`` when unnamed.

        Example:
            >>> LINE_STYLES["record"].line("TRACE_C_PHI", RECORD_NAME, "k=1")
            'TRACE_C_PHI k=1'
        """
        if not self.tagged:
            return f"{name}{self.sep}{text}"
        if not self.named:
            return f"{tag}{self.lead}{text}"
        return f"{tag}{self.lead}{name}{self.sep}{text}"

    def pattern(self) -> str:
        """The pattern of the line after the tag (the whole line, untagged).

        Its groups: ``<style>_name`` (the name, when ``named``), then
        ``<style>`` (the value text), always the last group.
        """
        name = f"(?P<{self.style}_name>{self.name}){self.read_sep}" if self.named else ""
        return f"{self.read_lead}{name}(?P<{self.style}>{self.value})"


#: Every line style by name, in the order error messages list them.
LINE_STYLES = {
    style.style: style
    for style in (
        LineStyle("space", tagged=True, named=True, lead=": ", sep=" ", read_lead=_AFTER_TAG,
                  read_sep=r"\s+", name=NAME, value=r"\S.*"),
        LineStyle("equals", tagged=True, named=True, lead=":", sep="=", read_lead=":",
                  read_sep="=", name=NAME, value=r".*"),
        LineStyle("record", tagged=True, named=False, lead=" ", sep=" ", read_lead=_AFTER_TAG,
                  read_sep="", name="", value=f"{KEY}{FIELD_SEP}.*", fields=True),
        LineStyle("bare", tagged=False, named=True, lead="", sep=" ", read_lead="",
                  read_sep=r"[ \t]+", name=BARE_NAME, value=r"\S.*", numbers_only=True),
    )
}
#: The style names accepted by ``style=``: the text styles, then ``json``.
STYLES = (*LINE_STYLES, "json")

#: The keys of a JSON line, in the order they are written; the first three are required to read it.
JSON_KEYS = ("tag", "name", "text", "values", "shape", "dtype", "device", "call", "thread",
             "where")


def json_line(record: dict) -> str:
    """One JSON line from a record's fields, in :data:`JSON_KEYS` order (``None`` fields left out).

    Example:
        >>> json_line({"name": "r", "tag": "TRACE_PY", "text": "0.1", "values": 0.1, "shape": None})
        '{"tag": "TRACE_PY", "name": "r", "text": "0.1", "values": 0.1}'
    """
    return json.dumps({key: record[key] for key in JSON_KEYS if record.get(key) is not None},
                      ensure_ascii=False)


def read_json_line(line: str) -> dict | None:
    """The fields of a JSON line, or None when the line is not one (a text line, other JSON).

    Example:
        >>> read_json_line('{"tag": "TRACE_C", "name": "x", "text": "1", "values": 1}')["values"]
        1
        >>> read_json_line("TRACE_C: x 1") is None
        True
    """
    if not line.startswith("{"):
        return None
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict) or not all(isinstance(record.get(key), str) for key in JSON_KEYS[:3]):
        return None
    return record


def exact_text(values: object) -> str:
    """The value text of exact values (as JSON holds them), every number written with ``repr``.

    Example:
        >>> exact_text([[0.1, -0.0], [1, float("nan")]])
        '[0.1 -0.0; 1 nan]'
        >>> exact_text({"rotx": 0.1})
        'rotx:0.1'
    """
    if isinstance(values, dict):
        return ITEM_SEP.join(f"{key}{GROUP_SEP}{exact_text(item)}" for key, item in values.items())
    if isinstance(values, list):
        if values and all(isinstance(row, list) for row in values):
            return MATRIX_OPEN + ROW_SEP.join(ITEM_SEP.join(map(exact_text, row)) for row in values) + \
                MATRIX_CLOSE
        return ITEM_SEP.join(map(exact_text, values))
    if isinstance(values, bool):
        return "1" if values else "0"
    if isinstance(values, (int, float)):
        return repr(values)
    return str(values)


def tagged_pattern(prefix: str) -> re.Pattern[str]:
    """A pattern matching a whole tagged line of ``prefix`` in any style.

    Groups: ``channel`` (None without one) and those of :meth:`LineStyle.pattern`;
    ``match.lastgroup`` is the style that matched.

    Example:
        >>> m = tagged_pattern("TRACE_C").fullmatch("TRACE_C_PHI k=1 h=2")
        >>> m.group("channel"), m.lastgroup, m.group(m.lastgroup)
        ('PHI', 'record', 'k=1 h=2')
    """
    shapes = "|".join(style.pattern() for style in LINE_STYLES.values() if style.tagged)
    return re.compile(f"{re.escape(prefix)}(?:{CHANNEL_SEP}(?P<channel>{CHANNEL}))?(?:{shapes})",
                      re.DOTALL)


def bare_pattern() -> re.Pattern[str]:
    """A pattern matching a whole bare line (with no trailing whitespace).

    Example:
        >>> bare_pattern().fullmatch("DETECTOR_PIX0_VECTOR 0.1 0.0065").group("bare")
        '0.1 0.0065'
    """
    return re.compile(LINE_STYLES["bare"].pattern(), re.DOTALL)
