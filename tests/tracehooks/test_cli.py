"""Tests for the ``tracehooks diff`` command line (tracehooks._cli, __main__)."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tracehooks._cli import main

C_LOG = (
    "TRACE_C:detector_convention=MOSFLM\n"
    "TRACE_C:pix0_vector=0.1 0.0065 -0.0065\n"
    "TRACE_C: steps 4\n"
    "TRACE_C: F_latt 28.1\n"
)
PY_LOG = (
    "TRACE_PY:detector_convention=ADXV\n"
    "TRACE_PY:pix0_vector=100 6.5 -6.5\n"
    "TRACE_PY: steps 4\n"
)
QUIRKS = "detector_convention: c_value MOSFLM | C hard-codes this label\n"

EXPECTED_TEXT = """\
C : c.log (prefix TRACE_C): 4 records; ignored 0 other-side and 0 untagged lines
Py: py.log (prefix TRACE_PY): 3 records; ignored 0 other-side and 0 untagged lines

name                 C/Py line  C                   Py            abs Δ  rel Δ  verdict
detector_convention  1/1        MOSFLM              ADXV          -      -      QUIRK
  known quirk: C hard-codes this label (detector_convention: c_value MOSFLM, q.txt line 1)
pix0_vector          2/2        0.1 0.0065 -0.0065  100 6.5 -6.5  99.9   0.999  DIVERGE
  differs at [1], [2], [3]; C = 1e-3 x Py (m vs mm?)
F_latt               4/-        28.1                -             -      -      C only
  name absent from Py

first divergence: pix0_vector (occurrence 1, C line 2, Py line 2)
  C : 0.1 0.0065 -0.0065
  Py: 100 6.5 -6.5
  [1]: C 0.1 vs Py 100 [numeric] (abs Δ 99.9, rel Δ 0.999)
  [2]: C 0.0065 vs Py 6.5 [numeric] (abs Δ 6.49, rel Δ 0.999)
  [3]: C -0.0065 vs Py -6.5 [numeric] (abs Δ 6.49, rel Δ 0.999)
  hint: C = 1e-3 x Py (m vs mm?)

only in C (1):
  F_latt (line 4)

DIVERGE: first at pix0_vector (occurrence 1, C line 2, Py line 2): C 0.1 0.0065 -0.0065 vs Py 100
  6.5 -6.5 [C = 1e-3 x Py (m vs mm?)]; 1 value agrees (rtol 1e-12, atol 0); 1 known reference quirk;
  1 divergence; 1 only in C; 0 only in Py
"""
SUMMARY = (
    "DIVERGE: first at pix0_vector (occurrence 1, C line 2, Py line 2): C 0.1 0.0065 -0.0065 vs Py 100 "
    "6.5 -6.5 [C = 1e-3 x Py (m vs mm?)]; 1 value agrees (rtol 1e-12, atol 0); 1 known reference quirk; "
    "1 divergence; 1 only in C; 0 only in Py"
)


@pytest.fixture(autouse=True)
def no_columns(monkeypatch):
    """Run every test with the default width of 100 columns, whatever the terminal."""
    monkeypatch.delenv("COLUMNS", raising=False)


@pytest.fixture
def logs(tmp_path, monkeypatch):
    """Write the example logs and quirks into tmp_path and chdir there."""
    (tmp_path / "c.log").write_text(C_LOG, encoding="utf-8")
    (tmp_path / "py.log").write_text(PY_LOG, encoding="utf-8")
    (tmp_path / "q.txt").write_text(QUIRKS, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_text_report(logs, capsys):
    """The text report has header, table, first divergence, one-sided names and verdict."""
    assert main(["diff", "c.log", "py.log", "--quirks", "q.txt"]) == 1
    out, err = capsys.readouterr()
    assert (out, err) == (EXPECTED_TEXT, "")


def test_all_lists_matching_rows(logs, capsys):
    """--all adds the matching rows, which the default table leaves out."""
    main(["diff", "c.log", "py.log", "--quirks", "q.txt"])
    default = capsys.readouterr().out
    main(["diff", "c.log", "py.log", "--quirks", "q.txt", "--all"])
    every = capsys.readouterr().out
    steps_row = "steps                3/3        4                   4             0      0      match"
    assert steps_row not in default.splitlines()
    assert steps_row in every.splitlines()


def test_table_note_for_a_scalar(logs, capsys):
    """A differing single value is noted as 'value differs', on the line under its row."""
    write(logs / "c1.log", "TRACE_C:detector_convention=MOSFLM\n")
    write(logs / "py1.log", "TRACE_PY:detector_convention=XDS\n")
    main(["diff", "c1.log", "py1.log"])
    assert capsys.readouterr().out.splitlines()[4:6] == [
        "detector_convention  1/1        MOSFLM  XDS  -      -      DIVERGE",
        "  value differs",
    ]


def test_exit_0_when_everything_matches(tmp_path, capsys):
    """Matching logs exit 0 and end with the MATCH line."""
    c = write(tmp_path / "c.log", "TRACE_C: a 1.5\nTRACE_C: b 2\n")
    py = write(tmp_path / "py.log", "TRACE_PY: a 1.5\nTRACE_PY: b 2\n")
    assert main(["diff", c, py]) == 0
    assert capsys.readouterr().out.splitlines()[-3:] == [
        "(no rows to show: all 2 values match; --all lists them)",
        "",
        "MATCH: 2 values agree (rtol 1e-12, atol 0); 0 known reference quirks; 0 divergences",
    ]


def test_exit_0_with_quirks_only(tmp_path, capsys):
    """Known quirks alone do not fail the diff."""
    c = write(tmp_path / "c.log", "TRACE_C:detector_convention=MOSFLM\n")
    py = write(tmp_path / "py.log", "TRACE_PY:detector_convention=ADXV\n")
    quirks = write(tmp_path / "q.txt", QUIRKS)
    assert main(["diff", c, py, "--quirks", quirks]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "MATCH: 0 values agree (rtol 1e-12, atol 0); 1 known reference quirk; 0 divergences"
    )


def test_exit_1_for_one_sided_names_only(tmp_path):
    """A name present on one side only fails the diff even when all shared values match."""
    c = write(tmp_path / "c.log", "TRACE_C: a 1\n")
    py = write(tmp_path / "py.log", "TRACE_PY: a 1\nTRACE_PY: b 1\n")
    assert main(["diff", c, py]) == 1


def test_atol_option(tmp_path):
    """--atol lets a near-zero component pass."""
    c = write(tmp_path / "c.log", "TRACE_C: v 0 6.12323399573677e-15 1\n")
    py = write(tmp_path / "py.log", "TRACE_PY: v 0 0 1\n")
    assert main(["diff", c, py]) == 1
    assert main(["diff", c, py, "--atol", "1e-14"]) == 0


def test_rtol_option(tmp_path):
    """--rtol widens the relative tolerance."""
    c = write(tmp_path / "c.log", "TRACE_C: a 1.0\n")
    py = write(tmp_path / "py.log", "TRACE_PY: a 1.001\n")
    assert (main(["diff", c, py]), main(["diff", c, py, "--rtol", "1e-3"])) == (1, 0)


def test_prefix_options(logs, capsys):
    """--c-prefix/--py-prefix pick the sides of logs that hold several prefixes."""
    write(logs / "both.log", "DBG_PY: a 2\nDBG_C: a 1\nDBG_C: b 5\nDBG_PY: b 5\n")
    assert main(["diff", "both.log", "both.log", "--c-prefix", "DBG_C", "--py-prefix", "DBG_PY",
                 "--width", "0"]) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[0] == (
        "C : both.log (prefix DBG_C): 2 records; ignored 2 other-side and 0 untagged lines"
    )
    assert out.splitlines()[-1].startswith(
        "DIVERGE: first at a (occurrence 1, C line 2, Py line 1): C 1 vs Py 2; "
    )


def test_stdin_dash(logs, monkeypatch, capsys):
    """'-' reads the Py log from standard input."""
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"TRACE_PY: a 1\n")))
    assert main(["diff", write(logs / "a.log", "TRACE_C: a 1\n"), "-", "--width", "0"]) == 0
    assert capsys.readouterr().out.splitlines()[1] == (
        "Py: <stdin> (prefix TRACE_PY): 1 record; ignored 0 other-side and 0 untagged lines"
    )


def test_json_report(logs, capsys):
    """--json prints the documented schema with counts, first divergence and rows."""
    assert main(["diff", "c.log", "py.log", "--quirks", "q.txt", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert list(report) == [
        "schema", "verdict", "summary", "rtol", "atol", "counts", "c", "py",
        "first_divergence", "rows", "unused_quirks", "unused_tolerances",
    ]
    assert (report["schema"], report["verdict"]) == ("tracehooks.diff/2", "DIVERGE")
    assert report["counts"] == {"match": 1, "tolerated": 0, "quirk": 1, "diverge": 1, "only_c": 1,
                                "only_py": 0, "not_traced": 0}
    assert report["c"] == {
        "source": "c.log", "prefix": "TRACE_C", "records": 4,
        "ignored_other_side": 0, "ignored_untagged": 0,
    }
    first = report["first_divergence"]
    assert list(first) == [
        "label", "channel", "name", "occurrence", "verdict", "c_line", "py_line", "c", "py",
        "abs_delta", "rel_delta", "mismatches", "hints", "notes", "quirks", "tolerances",
    ]
    assert (first["name"], first["c_line"], first["py_line"]) == ("pix0_vector", 2, 2)
    assert first["mismatches"][0] == {
        "where": "[1]", "kind": "numeric", "c": "0.1", "py": "100",
        "abs_delta": 100 - 0.1, "rel_delta": (100 - 0.1) / 100,
    }
    assert first["hints"] == ["C = 1e-3 x Py (m vs mm?)"]
    assert [r["verdict"] for r in report["rows"]] == ["quirk", "diverge", "match", "only_c"]
    assert report["rows"][0]["quirks"] == [{
        "source": "q.txt", "line": 1, "selector": "detector_convention", "kind": "c_value",
        "argument": "MOSFLM", "reason": "C hard-codes this label",
    }]
    assert report["summary"] == SUMMARY


def test_json_non_finite_delta_is_null(tmp_path, capsys):
    """A NaN delta is written as null so the output stays strict JSON."""
    c = write(tmp_path / "c.log", "TRACE_C: a nan\n")
    py = write(tmp_path / "py.log", "TRACE_PY: a 1\n")
    main(["diff", c, py, "--json"])
    row = json.loads(capsys.readouterr().out)["rows"][0]
    assert (row["abs_delta"], row["mismatches"][0]["rel_delta"]) == (None, None)


def test_exit_2_missing_file(tmp_path, capsys):
    """A missing log exits 2 with one error line on stderr."""
    c = write(tmp_path / "c.log", "TRACE_C: a 1\n")
    missing = str(tmp_path / "nope.log")
    assert main(["diff", c, missing]) == 2
    assert capsys.readouterr() == (
        "", f"tracehooks diff: error: {missing}: cannot read: No such file or directory\n"
    )


def test_exit_2_malformed_line(tmp_path, capsys):
    """A malformed line exits 2 naming FILE:LINE, with no traceback."""
    c = write(tmp_path / "c.log", "TRACE_C: a 1\nTRACE_C:Rx=[1 0 0; 0 1 0\n")
    assert main(["diff", c, c]) == 2
    assert capsys.readouterr() == (
        "", f"tracehooks diff: error: {c}:2: Rx: unclosed '[' in '[1 0 0; 0 1 0'\n"
    )


def test_exit_2_bad_quirks_file(tmp_path, capsys):
    """An invalid quirks file exits 2 naming FILE:LINE."""
    c = write(tmp_path / "c.log", "TRACE_C: a 1\n")
    quirks = write(tmp_path / "q.txt", "# ok\na: factor 1e3\n")
    assert main(["diff", c, c, "--quirks", quirks]) == 2
    assert capsys.readouterr().err == (
        f"tracehooks diff: error: {quirks}:2: missing reason in 'a: factor 1e3'; "
        "expected SELECTOR: KIND [ARGUMENT] | REASON\n"
    )


def test_exit_2_both_logs_on_stdin(capsys):
    """Both logs cannot come from stdin."""
    assert main(["diff", "-", "-"]) == 2
    assert capsys.readouterr().err == (
        "tracehooks diff: error: C_LOG and PY_LOG cannot both be '-' "
        "(stdin can be read only once)\n"
    )


def test_exit_2_bad_tolerance(capsys):
    """A negative --rtol is a usage error (exit 2) that quotes the value."""
    assert main(["diff", "a", "b", "--rtol", "-1"]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "tracehooks diff: error: argument --rtol: expected a finite number >= 0, got '-1'"
    )


def test_exit_2_bad_prefix(tmp_path, capsys):
    """A prefix that is not a tag exits 2 with the value received."""
    c = write(tmp_path / "c.log", "TRACE_C: a 1\n")
    assert main(["diff", c, c, "--py-prefix", "TRACE PY"]) == 2
    assert capsys.readouterr().err == (
        "tracehooks diff: error: prefix must be letters/digits separated by single "
        "underscores (e.g. TRACE_PY), got 'TRACE PY'\n"
    )


def test_python_dash_m_subprocess(logs):
    """'python -m tracehooks diff' runs the same command, exit code included."""
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    args = [sys.executable, "-m", "tracehooks", "diff", "c.log", "py.log", "--quirks", "q.txt"]
    done = subprocess.run(args, capture_output=True, env=env, cwd=Path(logs), check=False)
    assert (done.returncode, done.stderr) == (1, b"")
    assert done.stdout.decode("utf-8").replace("\r\n", "\n") == EXPECTED_TEXT


def test_py_subset_accepts_a_partial_python_trace(tmp_path, capsys):
    """--py-subset: C names the Python trace never prints are 'not traced', not failures (exit 0)."""
    c_log = tmp_path / "c.log"
    c_log.write_text("TRACE_C:pix0_vector=0.1 0 0\nTRACE_C: F_cell 100\nTRACE_C: F_cell 90\n")
    py_log = tmp_path / "py.log"
    py_log.write_text("TRACE_PY:pix0_vector=0.1 0 0\n")
    assert main(["diff", str(c_log), str(py_log)]) == 1
    capsys.readouterr()
    assert main(["diff", "--py-subset", "--width", "0", str(c_log), str(py_log)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == \
        "MATCH: 1 value agrees (rtol 1e-12, atol 0); 0 known reference quirks; 2 C values not traced by Py; " \
        "0 divergences"
