"""Fuzzing the diff: 10,000 generated logs of valid lines in every style, huge numbers and junk.

The generator is a seeded ``random.Random``: under CI (the ``CI`` environment variable) the seed is
fixed, so a run is reproducible; locally each run draws a new seed, which a failure message names
(set ``TRACEHOOKS_FUZZ_SEED`` to replay it). Properties:

* parsing raises nothing but ``TraceParseError``; a parsed log diffed against itself is a match,
  unless it has no trace lines (``EmptyTraceError``, exit 2);
* a log against a mutated copy (with random declarations) raises nothing, and the reports render:
  strict JSON, text lines within 100 columns, exit status 0 when ``ok`` else 1;
* every record prints back (``Record.to_line``) to a line that parses to the same record;
* a row shown without judging (``RowView.plain``) shows what judging it gives.
"""

import io
import json
import os
import random
import string
import time

import pytest

from tracehooks import EmptyTraceError, QuirksError, TraceParseError, diff_traces, load_quirks, parse_trace
from tracehooks._cli import main
from tracehooks._report import _cells, _clean, _note, _plain_cells, write_text
from tracehooks._report_json import _plain_dict, _row_dict, write_json

CASES = 10_000
CLI_EVERY = 40  # every 40th case also goes through the command line (in-process)
# Fixed under CI (reproducible), new on each local run; TRACEHOOKS_FUZZ_SEED replays a failure.
SEED = int(os.environ.get("TRACEHOOKS_FUZZ_SEED")
           or (20261129 if os.environ.get("CI") else random.randrange(2**32)))

WORDS = ["MOSFLM", "XDS", "Fbeam←Ybeam_mm(+0.5px)", "Δ", "٣", "na\u00efve", "🙂", "a:b", "=y", "-", "#2", "x=1=2"]
NAMES = ["pix0_vector", "F_latt", "hkl_frac", "k_frac", "omega.pixel", "_x", "record", "DETECTOR_PIX0_VECTOR"]
FLOATS = ["inf", "-inf", "nan", "-nan", "NaN", "Infinity", "+1.5", ".5", "5.", "1e+24", "-0.0", "6.1e-17", "1e400"]


def number(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.4:
        return f"{rng.uniform(-1, 1) * 10.0 ** rng.randint(-20, 20):.15g}"
    if roll < 0.7:
        return str(rng.randint(-1000, 1000))
    if roll < 0.88:
        return rng.choice(FLOATS)
    if roll < 0.92:  # ints beyond the float range and beyond int()'s 4300 digits
        return rng.choice(["", "+", "-"]) + "9" * rng.choice([309, 310, 400, 4300, 4301, 5000])
    return "7" * rng.choice([1, 20, 300, 3000]) + rng.choice(["", ".", "e", "x", ".5e+3", "e-"])


def token(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.55:
        return number(rng)
    if roll < 0.7:
        return rng.choice(WORDS)
    if roll < 0.8:
        return f"{rng.choice('XYZ')}:{number(rng)}"
    rows, cols = rng.randint(1, 3), rng.randint(1, 3)
    return "[" + "; ".join(" ".join(number(rng) for _ in range(cols)) for _ in range(rows)) + "]"


def value(rng: random.Random) -> str:
    return " ".join(token(rng) for _ in range(rng.randint(1, 4)))


def trace_line(rng: random.Random, side: str) -> str:
    tag = f"TRACE_{side}" + (rng.choice(["_PHI", "_SOURCE2"]) if rng.random() < 0.2 else "")
    name = rng.choice(NAMES)
    style = rng.randrange(4)
    if style == 0:
        return f"{tag}:{name}={value(rng)}"
    if style == 1:
        return f"{tag}: {name} {value(rng)}"
    if style == 2:
        fields = " ".join(f"{rng.choice(['phi_tic', 'k', 'F'])}={number(rng)}" for _ in range(rng.randint(1, 3)))
        return f"{tag} {fields}"
    return f"DETECTOR_{rng.choice(['PIX0', 'BEAM'])}_VECTOR " + " ".join(number(rng) for _ in range(3))


def junk_line(rng: random.Random) -> bytes:
    roll = rng.random()
    if roll < 0.1:
        return bytes(rng.randrange(256) for _ in range(rng.randint(0, 30)))
    if roll < 0.6:
        alphabet = string.printable + "←Δ٣🙂\u2028\x85\x00\x1b"
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))).encode("utf-8")
    return rng.choice([b"", b"   ", b"TRACE_C", b"TRACE_C:", b"TRACE_C: x [1 2", b"TRACE_C:x", b"TRACE_CONFIG: on",
                       b"WARNING: nothing", b"TRACE_C: a]", b"TRACE_C_PHI k=", b"\r", b"TRACE_C: 5x 1"])


def log_lines(rng: random.Random, side: str = "C") -> list[bytes]:
    """One generated log: empty, junk only, or trace lines mixed with some junk."""
    roll = rng.random()
    if roll < 0.03:
        return []
    count = rng.randint(1, 12)
    junk = 1.0 if roll < 0.13 else rng.choice([0.0, 0.0, 0.05, 0.3])
    return [junk_line(rng) if rng.random() < junk else trace_line(rng, side).encode("utf-8") for _ in range(count)]


def mutated(rng: random.Random, lines: list[bytes]) -> list[bytes]:
    """A Python-side copy of a C log: sides renamed, digits or values changed, lines dropped or repeated."""
    out = []
    for line in lines:
        line = line.replace(b"TRACE_C", b"TRACE_PY")
        roll = rng.random()
        if roll < 0.08:
            continue
        at = rng.randrange(len(line) // 2, len(line)) if line else 0
        if roll < 0.4 and line[at:at + 1].isdigit():  # a digit changed: a near-equal number, or a new int
            line = line[:at] + rng.choice(b"0123456789").to_bytes(1, "big") + line[at + 1:]
        elif roll < 0.5 and b" " in line and b"]" not in line.rsplit(b" ", 1)[1]:
            head, last = line.rsplit(b" ", 1)
            key = last.split(b"=", 1)[0] + b"=" if b"=" in last else b""  # a record keeps its fields
            line = head + b" " + key + number(rng).encode()
        out.append(line)
        if roll > 0.95:
            out.append(line)
    return out


DECLARATIONS = ["{n}: factor 1e3 | unit", "{n}: c_value {v} | label", "{n}: same_as F_latt | moved",
                "{n}: same_norm | v",
                "{n}: ignore | skip", "{n}: tolerance rtol 1e-6 | rounding", "{n}[X]: tolerance atol 1e-3 | x",
                "{n}[X]: factor -1 | sign", "{n}#2: tolerance rtol 1e-3 atol 1e-9 | second"]


def quirks(rng: random.Random) -> list[str]:
    return [rng.choice(DECLARATIONS).format(n=rng.choice(NAMES), v=value(rng).replace("|", ""))
            for _ in range(rng.randint(0, 3))]


def parsed(lines: list[bytes]):
    try:
        return parse_trace(io.BytesIO(b"\n".join(lines)))
    except TraceParseError:
        return None


def check_self_diff(lines: list[bytes]) -> None:
    """A log against itself is a match; with no trace lines it is an EmptyTraceError."""
    trace = parsed(lines)
    if trace is None:
        return
    if not trace.records:
        with pytest.raises(EmptyTraceError):
            diff_traces(trace, trace)
        return
    report = diff_traces(trace, trace)
    assert report.ok and report.count("match") == len(report.rows) == len(trace.records)


def check_round_trip(trace) -> None:
    prefix = trace.prefix or "TRACE_C"
    records = list(trace.records)
    again = parse_trace([record.to_line(prefix) for record in records], prefix=prefix).records

    def described(rec):  # items by type and text: items holding NaN are not == to themselves
        return rec.key, rec.text, [(type(item).__name__, item.text) for item in rec.items]

    assert [described(r) for r in again] == [described(r) for r in records]


def check_pair(rng: random.Random, c_lines: list[bytes]) -> None:
    """The C log against a mutated copy, with random declarations: reports render, rows agree."""
    c, py = parsed(c_lines), parsed(mutated(rng, c_lines))
    if c is None or py is None or not c.records or not py.records:
        return
    try:
        declared = load_quirks(quirks(rng))
    except QuirksError:
        return
    report = diff_traces(c, py, quirks=declared)
    text, data = io.StringIO(), io.StringIO()
    write_text(report, text)
    write_json(report, data)
    assert max(len(line) for line in text.getvalue().splitlines()) <= 100
    loaded = json.loads(data.getvalue(), parse_constant=lambda name: pytest.fail(f"non-strict JSON {name}"))
    assert loaded["verdict"] == ("MATCH" if report.ok else "DIVERGE")
    for i in range(len(report.rows)):
        view = report.rows.view(i)
        if view.plain:
            row = report.rows[i]
            assert _plain_dict(view) == _row_dict(row)
            assert _plain_cells(report, view) == (_cells(row), _clean(_note(row, report)))


def check_cli(tmp_path, capsys, c_lines: list[bytes], py_lines: list[bytes]) -> None:
    """The command line answers 0, 1 or 2; 2 comes with one error line and nothing on stdout."""
    (tmp_path / "c.log").write_bytes(b"\n".join(c_lines))
    (tmp_path / "py.log").write_bytes(b"\n".join(py_lines))
    status = main(["diff", str(tmp_path / "c.log"), str(tmp_path / "py.log")])
    out, err = capsys.readouterr()
    assert status in (0, 1, 2)
    if status == 2:
        assert (out, err.count("\n"), err.startswith("tracehooks diff: error: ")) == ("", 1, True)
    else:
        assert err == "" and out.rstrip().splitlines()[-1].startswith(("MATCH", "DIVERGE", "  "))


def test_fuzz_diff(tmp_path, capsys, monkeypatch):
    """10,000 generated logs: documented errors only, self-diffs match, reports render, round trips hold."""
    monkeypatch.delenv("COLUMNS", raising=False)
    rng = random.Random(SEED)
    start = time.perf_counter()
    for case in range(CASES):
        lines = log_lines(rng)
        try:
            check_self_diff(lines)
            trace = parsed(lines)
            if trace is not None:
                check_round_trip(trace)
            check_pair(rng, lines)
            if case % CLI_EVERY == 0:
                check_cli(tmp_path, capsys, lines, mutated(rng, lines))
        except Exception as exc:
            shown = repr(lines)[:300]
            raise AssertionError(f"case {case} of TRACEHOOKS_FUZZ_SEED={SEED}: {shown}") from exc
    assert time.perf_counter() - start < 120  # a guard; about 10 s on two cores
