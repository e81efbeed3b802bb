"""Tests for reading trace logs (tracehooks._parse)."""

import io
import math
from pathlib import Path

import pytest

from tracehooks._parse import (
    Keyed,
    Matrix,
    Scalar,
    TraceParseError,
    parse_trace,
    parse_value,
    value_numbers,
    value_shape,
)

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "c_reference"


def only_record(line):
    trace = parse_trace([line])
    assert len(trace.records) == 1
    return trace.records[0]


def test_equals_style_vector():
    """An equals-style line gives its name and three float items."""
    rec = only_record("TRACE_C:pix0_vector=0.1 0.0065 -0.0065")
    assert rec.key == ("", "pix0_vector", 1)
    assert [(s.kind, s.value) for s in rec.items] == [
        ("float", 0.1), ("float", 0.0065), ("float", -0.0065)
    ]
    assert rec.text == "0.1 0.0065 -0.0065"


def test_equals_style_matrix():
    """A bracketed matrix becomes one Matrix item, row-major, '-0' kept as text."""
    rec = only_record("TRACE_C:Rx=[1 0 0; 0 1 -0; 0 0 1]")
    (matrix,) = rec.items
    assert isinstance(matrix, Matrix)
    assert matrix.shape == (3, 3)
    assert [[s.value for s in row] for row in matrix.rows] == [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    assert matrix.rows[1][2].text == "-0"


def test_key_value_groups():
    """'key:value' tokens become Keyed items with ':' as separator."""
    rec = only_record("TRACE_C:beam_center_m=X:6.45e-06 Y:6.45e-06 pixel_mm:0.1")
    assert [(i.key, i.sep, i.value.value) for i in rec.items] == [
        ("X", ":", 6.45e-06), ("Y", ":", 6.45e-06), ("pixel_mm", ":", 0.1)
    ]


def test_string_value():
    """A word is a str item."""
    rec = only_record("TRACE_C:detector_convention=MOSFLM")
    assert rec.items == (Scalar("str", "MOSFLM", "MOSFLM"),)


def test_free_text_with_arrow_is_one_string():
    """The convention_mapping line (UTF-8 arrow, inner brackets) is one string item."""
    text = "Fbeam←Ybeam_mm(+0.5px),Sbeam←Xbeam_mm(+0.5px),beam_vec=[1 0 0]"
    rec = only_record(f"TRACE_C:convention_mapping={text}")
    assert rec.name == "convention_mapping"
    assert rec.items == (Scalar("str", text, text),)


def test_space_style_ints():
    """A space-style line gives int items."""
    rec = only_record("TRACE_C: hkl_rounded 0 -2 5")
    assert rec.key == ("", "hkl_rounded", 1)
    assert [(s.kind, s.value) for s in rec.items] == [("int", 0), ("int", -2), ("int", 5)]


def test_record_style_with_channel():
    """'TRACE_C_PHI k=v ...' is channel PHI, name 'record', key=value fields."""
    rec = only_record("TRACE_C_PHI phi_tic=0 phi_deg=0 k_frac=-1.92 F_latt=28.1")
    assert rec.key == ("PHI", "record", 1)
    assert [(i.key, i.sep, i.value.value) for i in rec.items] == [
        ("phi_tic", "=", 0), ("phi_deg", "=", 0), ("k_frac", "=", -1.92), ("F_latt", "=", 28.1)
    ]


def test_channel_with_space_style():
    """'TRACE_C_SOURCE2: F_cell 124.9' is channel SOURCE2, name F_cell."""
    rec = only_record("TRACE_C_SOURCE2: F_cell 124.9")
    assert rec.key == ("SOURCE2", "F_cell", 1)
    assert rec.items == (Scalar("float", 124.9, "124.9"),)


def test_bare_detector_line():
    """An ALL_CAPS_NAME followed only by numbers is a record of the default channel."""
    trace = parse_trace(["TRACE_C: a 1", "DETECTOR_PIX0_VECTOR 0.1 0.0065 -0.0065"])
    rec = trace.records[1]
    assert rec.key == ("", "DETECTOR_PIX0_VECTOR", 1)
    assert rec.line_no == 2


def test_bare_line_with_words_is_ignored():
    """An ALL_CAPS line followed by words is not a record; it is counted as untagged."""
    trace = parse_trace(["DETECTOR_NOTE see above", "plain text", ""])
    assert (trace.records, trace.ignored_untagged) == ([], 3)


def test_occurrences_count_per_channel_and_name():
    """Repeated names are numbered 1, 2, ... per (channel, name)."""
    trace = parse_trace([
        "TRACE_C: fdet_vec 1 0 0",
        "TRACE_C_SOURCE2: fdet_vec 9",
        "TRACE_C: steps 1",
        "TRACE_C: fdet_vec 0 1 0",
    ])
    assert [r.key for r in trace.records] == [
        ("", "fdet_vec", 1), ("SOURCE2", "fdet_vec", 1), ("", "steps", 1), ("", "fdet_vec", 2)
    ]
    assert [r.line_no for r in trace.records] == [1, 2, 3, 4]


def test_side_is_detected_and_other_sides_are_counted():
    """The first TRACE_<SIDE> line fixes the prefix; other sides and 'TRACE:' are skipped."""
    trace = parse_trace([
        "banner",
        "TRACE_PY:a=1",
        "TRACE_CONFIG: tracing pixel (spixel=1, fpixel=2)",
        "TRACE: crystal setup",
        "TRACE_C:a=2",
        "TRACE_PY_PHI phi_tic=0",
    ])
    assert trace.prefix == "TRACE_PY"
    assert [r.key for r in trace.records] == [("", "a", 1), ("PHI", "record", 1)]
    assert (trace.ignored_other_side, trace.ignored_untagged) == (3, 1)


def test_explicit_prefix_overrides_detection():
    """prefix='TRACE_PY' reads the PY records even when a TRACE_C line comes first."""
    trace = parse_trace(["TRACE_C:a=1", "TRACE_PY:a=2"], prefix="TRACE_PY")
    assert [(r.line_no, r.items[0].value) for r in trace.records] == [(2, 2)]
    assert trace.ignored_other_side == 1


def test_any_prefix_family_works():
    """A custom prefix DBG_C reads DBG_C lines and counts DBG_PY lines as another side."""
    trace = parse_trace(["DBG_PY: x 1", "DBG_C: x 2", "DBG_C_PHI k=1"], prefix="DBG_C")
    assert [r.key for r in trace.records] == [("", "x", 1), ("PHI", "record", 1)]
    assert trace.ignored_other_side == 1


def test_prefix_must_be_a_tag():
    """A prefix with characters outside a tag is rejected with the value received."""
    with pytest.raises(ValueError, match=r"got 'TRACE C'"):
        parse_trace([], prefix="TRACE C")


@pytest.mark.parametrize(
    "token, kind, check",
    [
        ("inf", "float", math.inf),
        ("-inf", "float", -math.inf),
        ("1e+24", "float", 1e24),
        ("-6.12323399573677e-15", "float", -6.12323399573677e-15),
        ("12", "int", 12),
        ("-0", "int", 0),
        ("abc", "str", "abc"),
    ],
)
def test_scalar_kinds(token, kind, check):
    """Tokens are typed as int, float (inf included) or str."""
    (scalar,) = parse_value(token)
    assert (scalar.kind, scalar.value) == (kind, check)


@pytest.mark.parametrize("token", ["nan", "-nan", "NaN"])
def test_nan_tokens_are_floats(token):
    """nan in any sign or case is a float NaN."""
    (scalar,) = parse_value(token)
    assert scalar.kind == "float" and math.isnan(scalar.value)


def test_value_numbers_and_shape():
    """value_numbers flattens numbers in print order; value_shape describes the layout."""
    items = parse_value("X:1 [2 3; 4 5] 6")
    assert value_numbers(items) == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert value_shape(items) == (("X", 1), (2, 2), 1)
    assert value_numbers(parse_value("1 two")) is None


def test_keyed_matrix_value():
    """'key=[...]' gives a Keyed item holding a Matrix."""
    (item,) = parse_value("beam=[1 0 0]")
    assert isinstance(item, Keyed) and isinstance(item.value, Matrix)
    assert item.value.shape == (1, 3)


@pytest.mark.parametrize(
    "line, message",
    [
        ("TRACE_C:pix0_vector", "<lines>:1: expected TRACE_C:NAME=VALUE, got 'TRACE_C:pix0_vector' (no '=')"),
        ("TRACE_C:pix0_vector=", "<lines>:1: pix0_vector: no value"),
        ("TRACE_C: steps", "<lines>:1: steps: no value"),
        ("TRACE_C:", "<lines>:1: TRACE_C line has no name and no value"),
        ("TRACE_C", "<lines>:1: TRACE_C line has no name and no value"),
        ("TRACE_C:Rx=[1 0 0; 0 1 0", "<lines>:1: Rx: unclosed '[' in '[1 0 0; 0 1 0'"),
        ("TRACE_C:Rx=1 0]", "<lines>:1: Rx: ']' without a matching '[' in '1 0]'"),
        ("TRACE_C:Rx=[[1]]", "<lines>:1: Rx: nested '[' in '[[1]]'"),
        ("TRACE_C:Rx=[1 2; 3]", "<lines>:1: Rx: matrix '[1 2; 3]' has rows of different lengths [2, 1]"),
        ("TRACE_C:Rx=[1 2;]", "<lines>:1: Rx: empty row in matrix '[1 2;]'"),
        ("TRACE_C:angles_rad=rotx: roty:0", "<lines>:1: angles_rad: 'rotx:' has an empty value (expected rotx:VALUE)"),
        ("TRACE_C: 5x 1",
         "<lines>:1: TRACE_C line has name '5x'; a name is a letter or '_' followed by letters, digits, '_' or '.'"),
        ("TRACE_C_PHI phi_tic=0 junk", "<lines>:1: record-style TRACE_C_PHI line: 'junk' is not KEY=VALUE"),
    ],
)
def test_malformed_lines(line, message):
    """A malformed TRACE line raises TraceParseError naming source, line and problem."""
    with pytest.raises(TraceParseError) as err:
        parse_trace([line])
    assert str(err.value) == message


def test_error_names_file_and_line(tmp_path):
    """Parsing a file reports the path and the 1-based line number."""
    path = tmp_path / "c.log"
    path.write_text("TRACE_C: a 1\nnoise\nTRACE_C:b\n", encoding="utf-8")
    with pytest.raises(TraceParseError) as err:
        parse_trace(path)
    assert (err.value.source, err.value.line_no) == (str(path), 3)
    assert str(err.value).startswith(f"{path}:3: ")


def test_invalid_utf8_is_an_error_with_line():
    """Undecodable bytes are reported with the line and byte position."""
    with pytest.raises(TraceParseError) as err:
        parse_trace([b"TRACE_C: a 1\n", b"TRACE_C: b \xff\n"])
    assert str(err.value) == "<lines>:2: not valid UTF-8 (byte 12 of the line)"


def test_file_with_crlf_and_arrow(tmp_path):
    """Files are read as UTF-8 and CRLF endings are stripped."""
    path = tmp_path / "c.log"
    path.write_bytes("TRACE_C:m=a←b\r\nTRACE_C: n 2\r\n".encode("utf-8"))
    trace = parse_trace(path)
    assert [(r.name, r.text) for r in trace.records] == [("m", "a←b"), ("n", "2")]
    assert trace.source == str(path)


def test_dash_reads_stdin(monkeypatch):
    """'-' reads standard input (bytes via .buffer) and names it <stdin>."""
    stdin = io.TextIOWrapper(io.BytesIO("TRACE_PY: a 1\nTRACE_PY: a 2\n".encode()))
    monkeypatch.setattr("sys.stdin", stdin)
    trace = parse_trace("-")
    assert (trace.source, trace.prefix, [r.key for r in trace.records]) == (
        "<stdin>", "TRACE_PY", [("", "a", 1), ("", "a", 2)]
    )


def test_every_line_of_a_reference_log_is_a_record():
    """Each line of a real C trace (TRACE_C*, DETECTOR_*) becomes exactly one record."""
    path = REFERENCE / "phys_divergence_dispersion" / "trace_c.log"
    lines = path.read_text(encoding="utf-8").splitlines()
    trace = parse_trace(path)
    assert len(trace.records) == len(lines)
    assert (trace.ignored_other_side, trace.ignored_untagged) == (0, 0)
    assert {r.channel for r in trace.records} == {"", "PHI", "SOURCE2"}


@pytest.mark.parametrize(
    "line, printed",
    [
        ("TRACE_C:pix0_vector=0.1 0.0065", "TRACE_PY: pix0_vector 0.1 0.0065"),
        ("TRACE_C_PHI phi_tic=0 k_frac=-1.92", "TRACE_PY_PHI phi_tic=0 k_frac=-1.92"),
        ("TRACE_C: record 1 2", "TRACE_PY: record 1 2"),
        ("DETECTOR_PIX0_VECTOR 0.1 0.0065", "TRACE_PY: DETECTOR_PIX0_VECTOR 0.1 0.0065"),
    ],
)
def test_record_prints_back_as_a_line(line, printed):
    """Record.to_line gives a line of the given side that parses to the same key and text."""
    record = parse_trace(["TRACE_C: x 1", line]).records[1]
    again = parse_trace([record.to_line("TRACE_PY")]).records[0]
    assert (record.to_line("TRACE_PY"), again.key, again.text) == (printed, record.key, record.text)


def test_find_a_record_by_key():
    """Trace.find returns the record of (channel, name, occurrence), or None."""
    trace = parse_trace(["TRACE_C: a 1", "TRACE_C_PHI: a 2", "TRACE_C: a 3"])
    assert (trace.find("", "a", 2).line_no, trace.find("PHI", "a", 1).text, trace.find("", "a", 3)) == (3, "2", None)


def test_records_build_on_access_and_compare_like_a_list():
    """records is a read-only sequence: len, index, negative index, slice, equality with a list."""
    records = parse_trace(["TRACE_C: a 1", "TRACE_C: b 2"]).records
    assert (len(records), records[-1].name, [r.name for r in records[:1]]) == (2, "b", ["a"])
    assert records == list(records)
    with pytest.raises(IndexError):
        records[2]


def test_long_int_keeps_its_digits():
    """An int beyond int()'s digit limit is still kind 'int', with the float value inf and its text."""
    (scalar,) = parse_value("9" * 5000)
    assert (scalar.kind, scalar.value, scalar.text == "9" * 5000, scalar.number) == ("int", math.inf, True, math.inf)
