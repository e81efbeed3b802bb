"""One line grammar: what the renderer writes in any style, the parser reads back (tracehooks._grammar)."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tracehooks import Renderer, parse_trace
from tracehooks._grammar import LINE_STYLES, STYLES, tagged_pattern
from tracehooks._parse import Keyed, Matrix, Scalar

PREFIXES = st.sampled_from(["TRACE_PY", "TRACE_C", "DBG_C", "T"])
NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.]{0,10}", fullmatch=True)
KEYS = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)
CHANNELS = st.from_regex(r"[A-Za-z0-9]{1,5}(?:_[A-Za-z0-9]{1,4}){0,2}", fullmatch=True)
BARE_NAMES = st.from_regex(r"[A-Z][A-Z0-9]{0,5}(?:_[A-Z0-9]{1,4}){1,3}", fullmatch=True)
NUMBERS = st.one_of(st.integers(-10**30, 10**30), st.floats())
WORDS = st.from_regex(r"[A-Za-z][A-Za-z_]{0,8}", fullmatch=True).filter(
    lambda word: word.lower() not in ("inf", "infinity", "nan"))
SCALARS = st.one_of(NUMBERS, WORDS)
MATRICES = st.integers(1, 3).flatmap(
    lambda columns: st.lists(st.lists(SCALARS, min_size=columns, max_size=columns),
                             min_size=1, max_size=3))
VALUES = st.one_of(
    SCALARS,
    st.lists(SCALARS, min_size=1, max_size=5),
    MATRICES,
    st.dictionaries(KEYS, st.one_of(SCALARS, MATRICES), min_size=1, max_size=4),
)
FIELDS = st.dictionaries(KEYS, st.one_of(SCALARS, MATRICES), min_size=1, max_size=4)


@st.composite
def records(draw, prefix):
    """``(style, channel, name, value)`` and the line the Renderer writes for it."""
    style = draw(st.sampled_from(STYLES))
    if style == "record":
        channel, value = draw(CHANNELS), draw(FIELDS)
        line = Renderer(prefix, style, "%.17g")(channel, value)
        return (style, channel, "record", value), line
    if style == "bare":
        name, value = draw(BARE_NAMES), draw(st.lists(NUMBERS, min_size=1, max_size=5))
        family = prefix.rsplit("_", 1)[0]
        assume(name != family and not name.startswith(family + "_"))  # else a line of a side
        return (style, "", name, value), Renderer(prefix, style, "%.17g")(name, value)
    channel, name, value = draw(st.one_of(st.just(""), CHANNELS)), draw(NAMES), draw(VALUES)
    tag = f"{prefix}_{channel}" if channel else prefix
    return (style, channel, name, value), Renderer(tag, style, "%.17g")(name, value)


def assert_scalar(scalar, value):
    assert isinstance(scalar, Scalar)
    if isinstance(value, str):
        assert (scalar.kind, scalar.value) == ("str", value)
    elif isinstance(value, int):
        assert (scalar.kind, scalar.value) == ("int", value)
    else:  # "%.17g" gives the double back exactly, with the sign of a zero or of a NaN
        read = float(scalar.text)
        assert scalar.is_number and math.copysign(1, read) == math.copysign(1, value)
        assert read == value or (math.isnan(read) and math.isnan(value))


def assert_matrix(item, rows):
    assert isinstance(item, Matrix) and item.shape == (len(rows), len(rows[0]))
    for parsed_row, row in zip(item.rows, rows):
        for cell, value in zip(parsed_row, row):
            assert_scalar(cell, value)


def assert_items(items, value, sep=":"):
    """The parsed items are ``value`` as printed: scalars, one matrix, or keyed entries."""
    if isinstance(value, dict):
        assert [(i.key, i.sep) for i in items] == [(key, sep) for key in value]
        for item, entry in zip(items, value.values()):
            assert_items((item.value,), entry)
            assert isinstance(item, Keyed)
    elif isinstance(value, list) and isinstance(value[0], list):
        assert len(items) == 1
        assert_matrix(items[0], value)
    else:
        scalars = value if isinstance(value, list) else [value]
        assert len(items) == len(scalars)
        for item, scalar in zip(items, scalars):
            assert_scalar(item, scalar)


def assert_exact(items, value):
    """A JSON line's exact items: each number is the double written (a NaN stays a NaN)."""
    flat = [v for row in (value.values() if isinstance(value, dict) else [value]) for v in
            (row if isinstance(row, list) else [row])]
    flat = [v for cell in flat for v in (cell if isinstance(cell, list) else [cell])]
    read = [cell for item in items for cell in _cells(item)]
    assert len(read) == len(flat)
    for scalar, number in zip(read, flat):
        if isinstance(number, float) and math.isnan(number):
            assert math.isnan(scalar.value)
        elif isinstance(number, float):
            assert (scalar.value, math.copysign(1, scalar.value)) == (number, math.copysign(1, number))
        else:
            assert scalar.value == number


def _cells(item):
    item = item.value if isinstance(item, Keyed) else item
    if isinstance(item, Matrix):
        return [cell for row in item.rows for cell in row]
    return [item]


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_rendered_records_parse_back_in_every_style(data):
    """A log of records rendered in random styles parses to the same channels, names and values."""
    prefix = data.draw(PREFIXES)
    drawn = data.draw(st.lists(records(prefix), min_size=1, max_size=6))
    trace = parse_trace([line for _, line in drawn], prefix=prefix)
    assert (trace.ignored_other_side, trace.ignored_untagged) == (0, 0)
    assert len(trace.records) == len(drawn)
    for record, ((style, channel, name, value), line) in zip(trace.records, drawn):
        assert (record.channel, record.name) == (channel, name), line
        assert_items(record.items, value, "=" if style == "record" else ":")
        if style == "json":  # the exact values read back to the same numbers, signed zeros included
            assert_exact(record.exact, value)
        else:
            assert record.exact is None
        again = parse_trace([record.to_line(prefix)], prefix=prefix).records[0]
        assert (again.channel, again.name, again.text) == (channel, name, record.text)


@pytest.mark.parametrize("style, line", [
    ("space", "TRACE_C_PHI: hkl 1 2 3"),
    ("equals", "TRACE_C_PHI:hkl=1 2 3"),
    ("record", "TRACE_C_PHI h=1 k=2 l=3"),
])
def test_tagged_pattern_names_the_style(style, line):
    """The parser's one-match pattern says which style a line is in, and its channel."""
    match = tagged_pattern("TRACE_C").fullmatch(line)
    assert (match.lastgroup, match.group("channel")) == (style, "PHI")


def test_renderer_heads_come_from_the_grammar():
    """Each style's fixed text, as the renderer writes it."""
    assert [Renderer("TRACE_C", style)("x", 1 if style != "record" else {"k": 1})
            for style in STYLES] == ["TRACE_C: x 1", "TRACE_C:x=1", "TRACE_C_x k=1", "x 1",
                                     '{"tag": "TRACE_C", "name": "x", "text": "1", "values": 1, "dtype": "int"}']
    assert [LINE_STYLES[style].head("P") for style in LINE_STYLES] == ["P: ", "P:", "P_", ""]
