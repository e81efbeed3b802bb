"""Hostile and large inputs: numbers of any length, pathological tokens, empty logs, size limits."""

import io
import time
import tracemalloc
from pathlib import Path

import pytest

from tracehooks import EmptyTraceError, QuirksError, diff_traces, load_quirks, parse_trace
from tracehooks._report import write_text
from tracehooks._report_json import write_json

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "c_reference"
DIGITS = "7" * 200_000  # a 200 KB run of digits


class Discard:
    """A text stream that keeps nothing (to time and measure rendering, not the output)."""

    def write(self, text):
        return len(text)


def one_row(c_value, py_value):
    (row,) = diff_traces([f"TRACE_C: v {c_value}"], [f"TRACE_PY: v {py_value}"]).rows
    return row


@pytest.mark.parametrize("digits", [310, 4301, 20_000])
def test_long_int_against_itself_matches(digits):
    """An int of any length parses and matches itself (no OverflowError, no int() digit limit)."""
    row = one_row("9" * digits, "9" * digits)
    assert (row.verdict, row.abs_delta) == ("match", 0.0)


@pytest.mark.parametrize("digits", [310, 5000])
def test_long_ints_compare_exactly(digits):
    """Two long ints that differ in the last digit diverge as ints."""
    row = one_row("9" * digits, "9" * (digits - 1) + "8")
    assert [(m.where, m.kind) for m in row.mismatches] == [("", "int")]


def test_ints_beyond_4300_digits_compare_by_their_digits():
    """Leading zeros and a '+' do not change a long int; its value is the float inf."""
    row = one_row("+000" + "1" * 5000, "1" * 5000)
    assert (row.verdict, row.c.items[0].kind, row.c.items[0].value) == ("match", "int", float("inf"))


def test_long_int_against_a_float_compares_as_floats():
    """A 400-digit int against 1e400 (both inf as floats) matches; against 1e300 it diverges."""
    assert one_row("1" + "0" * 400, "1e400").verdict == "match"
    row = one_row("1" + "0" * 400, "1e300")
    assert (row.verdict, row.abs_delta) == ("diverge", float("inf"))


def test_non_ascii_digits_are_strings():
    """'٣' (ARABIC-INDIC DIGIT THREE) is a string, not the int 3."""
    (item,) = parse_trace(["TRACE_C: v ٣"]).records[0].items
    assert (item.kind, item.value) == ("str", "٣")


PATHOLOGICAL_VALUES = [
    DIGITS,  # an int
    DIGITS + "x",  # almost an int: the patterns must not retry every split of the run
    "." + DIGITS + "e",  # almost a float
    DIGITS + ".5e+" + DIGITS,  # a float with a long exponent
    "X:" + DIGITS + "x",  # a key:value group
    "[" + DIGITS + " 1; 2 3]",  # a matrix
    "a" * 200_000 + "=1",  # a long key
    " ".join(["1"] * 50_000),  # many tokens
]


def test_pathological_values_parse_in_linear_time():
    """A 200 KB digit run and other worst cases parse, compare and render well under a second each."""
    start = time.perf_counter()
    for value in PATHOLOGICAL_VALUES:
        report = diff_traces([f"TRACE_C: v {value}"], [f"TRACE_PY: v {value}"])
        assert report.ok
        write_text(report, Discard())
    assert time.perf_counter() - start < 5  # a guard only: benchmarks/bench_diff.py measures


def test_pathological_quirks_lines_parse_in_linear_time():
    """Long digit runs in a selector, factor or tolerance are rejected quickly, naming the line."""
    lines = [f"a#{DIGITS}: ignore | why", f"a: factor {DIGITS}x | why", f"a: tolerance rtol {DIGITS}x | why",
             f"a: factor {DIGITS} | why"]
    start = time.perf_counter()
    for line in lines:
        with pytest.raises(QuirksError, match=r"^q:1: "):
            load_quirks([line], name="q")
    assert time.perf_counter() - start < 5


def test_error_messages_quote_long_texts_briefly():
    """A malformed 200 KB value is quoted in the error by its first 60 characters."""
    with pytest.raises(ValueError) as err:
        parse_trace([f"TRACE_C: v [{DIGITS}"])
    assert str(err.value) == f"<lines>:1: v: unclosed '[' in '[{'7' * 59}'..."


def test_error_messages_leave_out_a_long_key():
    """A 200 KB key with no value is named KEY in the error, not repeated."""
    with pytest.raises(ValueError) as err:
        parse_trace(["TRACE_C: v " + "a" * 200_000 + "="])
    assert str(err.value) == f"<lines>:1: v: '{'a' * 60}'... has an empty value (expected KEY=VALUE)"


@pytest.mark.parametrize(
    "c_lines, py_lines, message",
    [
        ([], ["TRACE_PY: a 1"], "no trace lines in <lines> (no line starts with TRACE_)"),
        (["Segmentation fault"], ["TRACE_PY: a 1"], "no trace lines in <lines> (no line starts with TRACE_)"),
        (["TRACE_PY: a 1"], ["TRACE_PY: a 1"], "no trace lines in <lines> (prefix TRACE_C)"),
        (["TRACE_C: a 1"], [], "no trace lines in <lines> (no line starts with TRACE_)"),
    ],
)
def test_a_log_without_trace_lines_is_an_error(c_lines, py_lines, message):
    """Nothing compared is never a match: an empty side raises EmptyTraceError (a ValueError)."""
    prefix = "TRACE_C" if c_lines == ["TRACE_PY: a 1"] else None
    c = parse_trace(c_lines, prefix=prefix)
    with pytest.raises(EmptyTraceError) as err:
        diff_traces(c, py_lines)
    assert (str(err.value), isinstance(err.value, ValueError)) == (message, True)
    assert err.value.side == ("C" if not c.records else "Py")


def one_sided_logs(rows):
    c = [f"TRACE_C: c_value_{k} {k * 0.5}" for k in range(rows // 2)]
    py = [f"TRACE_PY: py_value_{k} {k * 0.5}" for k in range(rows // 2)]
    return c, py


def test_report_time_is_linear_in_one_sided_rows():
    """20,000 one-sided rows render as text and JSON in seconds (they took minutes)."""
    report = diff_traces(*one_sided_logs(20_000))
    start = time.perf_counter()
    write_text(report, Discard())
    write_json(report, Discard())
    assert (report.count("only_c"), report.count("only_py")) == (10_000, 10_000)
    assert time.perf_counter() - start < 10  # a guard only: benchmarks/bench_diff.py measures


def synthetic_pair(lines):
    """A C and a Py log of ``lines`` values each in several styles; every 50th value differs."""
    c, py = [], []
    for k in range(lines):
        value = f"{k * 1.25e-7:.15g} {-k:.15g} {k % 7}"
        other = value if k % 50 else f"{k * 1.25e-7 + 1:.15g} {-k:.15g} {k % 7}"
        shape = ("TRACE_{}: v_{} {}", "TRACE_{}:w_{}={}", "TRACE_{}_PHI k={} x={}")[k % 3]
        fill = (k % 97, value.replace(" ", "_")) if k % 3 == 2 else (k % 97, value)
        c.append(shape.format("C", *fill))
        py.append(shape.format("PY", *((fill[0], other.replace(" ", "_")) if k % 3 == 2 else (fill[0], other))))
    return "\n".join(c) + "\n", "\n".join(py) + "\n"


def test_memory_stays_within_a_few_times_the_input():
    """Parsing, diffing and writing both reports of a 0.7 MB pair allocates under 5x its size."""
    c_text, py_text = synthetic_pair(10_000)
    size = len(c_text) + len(py_text)
    tracemalloc.start()
    try:
        report = diff_traces(io.BytesIO(c_text.encode()), io.BytesIO(py_text.encode()))
        write_text(report, Discard())
        write_json(report, Discard())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report.count("diverge") == 200
    assert peak < 5 * size, f"peak {peak / 1e6:.1f} MB for {size / 1e6:.1f} MB of input"


def test_seed_trace_lines_fit_100_columns():
    """The nanoBragg seed trace against a perturbed copy: every line of the report fits 100 columns."""
    lines = (REFERENCE / "seed_supervisor_pix0" / "trace_c.log").read_text(encoding="utf-8").splitlines()
    py = [line.replace("TRACE_C", "TRACE_PY").replace("1", "2") for line in lines]
    out = io.StringIO()
    write_text(diff_traces(lines, py), out)
    widths = [len(line) for line in out.getvalue().splitlines()]
    assert max(widths) <= 100 and len(widths) > 50
