"""Tests for declared per-value tolerances: the file grammar, the 'tolerated' verdict, the reports."""

import json

import pytest

import tracehooks
from tracehooks import (
    DeclaredTolerance,
    QuirksError,
    Selector,
    Tolerance,
    diff_traces,
    load_quirks,
    load_tolerances,
    parse_selector,
    render_json,
    render_text,
)
from tracehooks._cli import main

SINC = "F_latt_c: tolerance rtol 1e-10 | sinc ratio near a lattice node"


def one_row(c_value, py_value, tolerances, **options):
    """Diff a single space-style value 'F_latt_c' and return the report."""
    return diff_traces([f"TRACE_C: F_latt_c {c_value}"], [f"TRACE_PY: F_latt_c {py_value}"],
                       tolerances=tolerances, **options)


def test_tolerance_line_becomes_a_declared_tolerance():
    """A 'tolerance' line gives selector, tolerance (the part not given is 0), reason and origin."""
    (declared,) = load_tolerances([SINC], name="c.tol")
    assert declared == DeclaredTolerance(
        Selector("", "F_latt_c"), Tolerance(rtol=1e-10, atol=0.0), "sinc ratio near a lattice node"
    )
    assert (declared.source, declared.line_no, declared.describe()) == (
        "c.tol", 1, "tolerance rtol 1e-10"
    )


@pytest.mark.parametrize(
    "argument, rtol, atol, described",
    [
        ("atol 1e-15", 0.0, 1e-15, "tolerance atol 1e-15"),
        ("rtol 1e-10 atol 1e-15", 1e-10, 1e-15, "tolerance rtol 1e-10 atol 1e-15"),
        ("atol 1e-15  rtol 2e-9", 2e-9, 1e-15, "tolerance rtol 2e-09 atol 1e-15"),
        ("rtol 0", 0.0, 0.0, "tolerance rtol 0"),
    ],
)
def test_tolerance_argument_forms(argument, rtol, atol, described):
    """rtol R, atol A, both in either order; describe() leaves out a part that is 0."""
    (declared,) = load_tolerances([f"v: tolerance {argument} | why"])
    assert (declared.tolerance, declared.describe()) == (Tolerance(rtol, atol), described)


BAD_TOLERANCE = "expected rtol R, atol A or rtol R atol A (R, A finite numbers >= 0)"


@pytest.mark.parametrize(
    "line, message",
    [
        ("v: tolerance | why", "'tolerance' needs an argument"),
        ("v: tolerance rtol | why", f"bad tolerance 'rtol'; {BAD_TOLERANCE}"),
        ("v: tolerance rtol x | why", f"bad tolerance 'rtol x'; {BAD_TOLERANCE}"),
        ("v: tolerance rtol -1 | why", f"bad tolerance 'rtol -1'; {BAD_TOLERANCE}"),
        ("v: tolerance rtol 1e-9x | why", f"bad tolerance 'rtol 1e-9x'; {BAD_TOLERANCE}"),
        ("v: tolerance rtol 1 rtol 2 | why", f"bad tolerance 'rtol 1 rtol 2'; {BAD_TOLERANCE}"),
        ("v: tolerance eps 1 | why", f"bad tolerance 'eps 1'; {BAD_TOLERANCE}"),
        ("v: tolerance rtol 1e999 | why", "rtol in 'rtol 1e999' must be finite"),
        ("v: tolerance rtol 1e-9", "missing reason in 'v: tolerance rtol 1e-9'; "
                                   "expected SELECTOR: KIND [ARGUMENT] | REASON"),
    ],
)
def test_bad_tolerance_lines(line, message):
    """A bad tolerance declaration is a QuirksError naming file and line, in a quirks file too."""
    with pytest.raises(QuirksError) as err:
        load_quirks(["# header", line], name="c.quirks")
    assert str(err.value) == f"c.quirks:2: {message}"


def test_tolerances_file_holds_tolerances_only():
    """load_tolerances rejects a quirk, naming the line."""
    with pytest.raises(QuirksError) as err:
        load_tolerances([SINC, "a: ignore | why"], name="c.tol")
    assert str(err.value) == (
        "c.tol:2: only 'tolerance' declarations belong in a tolerances file, got 'ignore' "
        "(put quirks in a quirks file)"
    )


def test_declared_tolerance_needs_a_reason():
    """DeclaredTolerance built in code also needs a reason; the error shows what it got."""
    with pytest.raises(ValueError, match=r"a declared tolerance needs a reason, got ' '"):
        DeclaredTolerance(parse_selector("F"), Tolerance(), " ")


def test_equality_ignores_where_a_declaration_was_read():
    """Two declarations of the same thing are equal whatever file and line they came from."""
    (a,), (b,) = load_tolerances([SINC], name="a.tol"), load_tolerances(["", SINC], name="b.tol")
    assert a == b and (a.source, b.line_no) == ("a.tol", 2)


def test_within_default_tolerance_is_a_match():
    """A value within the default tolerance is a plain match; the declaration was not needed."""
    report = one_row("1.5", "1.5", [SINC])
    assert (report.rows[0].verdict, report.count("tolerated")) == ("match", 0)
    assert [t.reason for t in report.unused_tolerances] == ["sinc ratio near a lattice node"]


def test_within_declared_tolerance_is_tolerated():
    """Outside the default, inside the declared tolerance: verdict 'tolerated', and the diff passes."""
    report = one_row("2.00000000001", "2", [SINC])
    row = report.rows[0]
    assert (row.verdict, [t.reason for t in row.tolerances]) == (
        "tolerated", ["sinc ratio near a lattice node"]
    )
    assert (report.ok, report.count("tolerated"), report.unused_tolerances) == (True, 1, ())


def test_beyond_declared_tolerance_diverges():
    """A difference beyond the declared tolerance is still a divergence."""
    row = one_row("2.000001", "2", [SINC]).rows[0]
    assert (row.verdict, row.tolerances) == ("diverge", ())


def test_the_wider_of_default_and_declared_applies_per_part():
    """atol 1e-12 declared adds to the default rtol 1e-12: |Δ| 1.5e-12 at 1 passes neither alone."""
    atol_only = ["F_latt_c: tolerance atol 1e-12 | near-cancellation"]
    assert one_row("1", "1.0000000000015", atol_only).rows[0].verdict == "tolerated"
    assert one_row("1", "1.0000000000015", atol_only, rtol=0.0).rows[0].verdict == "diverge"


def test_ints_are_never_tolerated():
    """Two ints compare exactly; a declared tolerance does not loosen that."""
    row = one_row("1000000", "1000001", ["F_latt_c: tolerance rtol 1e-3 | why"]).rows[0]
    assert row.verdict == "diverge"


def test_field_selector_covers_only_that_field():
    """beam[X] tolerates X; a failing Y keeps the value a divergence."""
    declared = ["beam: ignore_me", "beam[X]: tolerance rtol 1e-6 | rounding in X"][1:]
    c, py = ["TRACE_C:beam=X:1.0000001 Y:2"], ["TRACE_PY:beam=X:1 Y:2"]
    assert diff_traces(c, py, tolerances=declared).rows[0].verdict == "tolerated"
    c_y = ["TRACE_C:beam=X:1.0000001 Y:2.0000001"]
    assert diff_traces(c_y, py, tolerances=declared).rows[0].verdict == "diverge"


def test_field_selector_covers_a_keyed_matrix():
    """A field selector covers every element of a key=[matrix] field."""
    report = diff_traces(["TRACE_C_PHI rot=[1 0; 0 1.0000001]"], ["TRACE_PY_PHI rot=[1 0; 0 1]"],
                         tolerances=["PHI/record[rot]: tolerance rtol 1e-6 | why"])
    assert report.rows[0].verdict == "tolerated"


def test_occurrence_selector_covers_only_that_occurrence():
    """F_latt_c#2 covers the second occurrence only."""
    report = diff_traces(["TRACE_C: F_latt_c 1.0000001", "TRACE_C: F_latt_c 1.0000001"],
                         ["TRACE_PY: F_latt_c 1", "TRACE_PY: F_latt_c 1"],
                         tolerances=["F_latt_c#2: tolerance rtol 1e-6 | why"])
    assert [r.verdict for r in report.rows] == ["diverge", "tolerated"]


def test_tolerance_lines_in_the_quirks_file_are_used():
    """A quirks file's tolerance lines are declared tolerances too."""
    report = diff_traces(["TRACE_C: F_latt_c 2.00000000001"], ["TRACE_PY: F_latt_c 2"],
                         quirks=load_quirks([SINC], name="c.quirks"))
    assert (report.rows[0].verdict, report.rows[0].tolerances[0].source) == ("tolerated", "c.quirks")


def test_tolerances_from_a_path(tmp_path):
    """tolerances= takes the path of a tolerances file."""
    path = tmp_path / "c.tol"
    path.write_text(f"# tolerances\n{SINC}\n", encoding="utf-8")
    row = one_row("2.00000000001", "2", path).rows[0]
    assert (row.verdict, row.tolerances[0].where()) == ("tolerated", f"{path} line 2")


def test_tolerances_from_objects():
    """tolerances= takes DeclaredTolerance objects, as a port builds them in code."""
    declared = DeclaredTolerance(Selector("", "F_latt_c", 1), Tolerance(rtol=1e-10, atol=0.0), "why")
    row = one_row("2.00000000001", "2", [declared]).rows[0]
    assert (row.verdict, row.tolerances, declared.where()) == ("tolerated", (declared,), "declared in code")


def test_tolerances_of_another_type_are_refused():
    """Anything else is a TypeError naming the type received."""
    with pytest.raises(TypeError, match=r"DeclaredTolerance objects, got float"):
        one_row("1", "1", [1e-10])


SCATTERING_C = "-4016134701.82206 1483170371.49559 1.00000001"
SCATTERING_PY = "-0.401613470182206 0.148317037149559 1e-10"
FACTOR = "scattering_vec_A_inv: factor 1e10 | C prints 1/m under a 1/Angstrom name"
CANCELS = "scattering_vec_A_inv: tolerance atol 1e-7 | difference of near-equal components"


def test_quirk_is_judged_with_the_declared_tolerance():
    """A factor quirk whose third component is a near-cancellation holds with the value's atol."""
    c, py = [f"TRACE_C: scattering_vec_A_inv {SCATTERING_C}"], [f"TRACE_PY: scattering_vec_A_inv {SCATTERING_PY}"]
    held = diff_traces(c, py, quirks=load_quirks([FACTOR, CANCELS], name="c.quirks"))
    row = held.rows[0]
    assert (row.verdict, [q.kind for q in row.quirks], [t.line_no for t in row.tolerances]) == (
        "quirk", ["factor"], [2]
    )
    assert (held.ok, held.unused_tolerances) == (True, ())


def test_quirk_without_the_tolerance_does_not_hold():
    """The same quirk with the default tolerance alone leaves a divergence with a note."""
    c, py = [f"TRACE_C: scattering_vec_A_inv {SCATTERING_C}"], [f"TRACE_PY: scattering_vec_A_inv {SCATTERING_PY}"]
    row = diff_traces(c, py, quirks=load_quirks([FACTOR], name="c.quirks")).rows[0]
    assert (row.verdict, row.notes[0][:60]) == (
        "diverge", "declared quirk did not hold: scattering_vec_A_inv: factor 1e"
    )


def test_a_failing_quirk_notes_the_declared_tolerance_it_tried():
    """When a quirk fails even with the declared tolerance, the note says which tolerance it used."""
    c, py = ["TRACE_C: d 0.2"], ["TRACE_PY: d 100"]
    row = diff_traces(c, py, quirks=load_quirks(["d: factor 1e-3 | why", "d: tolerance rtol 1e-6 | w"],
                                                 name="q.txt")).rows[0]
    assert row.notes == (
        "declared quirk did not hold within the declared rtol 1e-06, atol 0: d: factor 1e-3 "
        "(q.txt line 1); C/Py = 0.002",
    )


def test_summary_states_the_tolerated_count():
    """With declarations, the verdict line has 'N within declared tolerances' after the matches."""
    report = diff_traces(["TRACE_C: a 1", "TRACE_C: F_latt_c 2.00000000001"],
                         ["TRACE_PY: a 1", "TRACE_PY: F_latt_c 2"], tolerances=[SINC])
    assert report.summary() == (
        "MATCH: 1 value agrees (rtol 1e-12, atol 0); 1 within declared tolerances; "
        "0 known reference quirks; 0 divergences"
    )


def test_summary_without_declarations_is_unchanged():
    """Without declared tolerances the verdict line does not mention them."""
    assert diff_traces(["TRACE_C: a 1"], ["TRACE_PY: a 1"]).summary() == (
        "MATCH: 1 value agrees (rtol 1e-12, atol 0); 0 known reference quirks; 0 divergences"
    )


def test_text_report_lists_tolerated_values():
    """The text report lists each tolerated value with its deltas, tolerance and reason."""
    report = one_row("2.00000000001", "2", load_tolerances([SINC], name="c.tol"))
    assert render_text(report).splitlines()[3:8] == [
        "(no rows to show: 0 values match, 1 within declared tolerances; --all lists them)",
        "",
        "within declared tolerances (1):",
        "  F_latt_c  rel Δ 5e-12     abs Δ 1e-11     rtol 1e-10 (c.tol line 1): sinc ratio near a lattice",
        "    node",
    ]


def test_table_notes_a_tolerated_row():
    """With --all the table shows a tolerated row, its note naming tolerance, selector and reason."""
    report = one_row("2.00000000001", "2", load_tolerances([SINC], name="c.tol"))
    assert render_text(report, show_all=True).splitlines()[3:6] == [
        "name      C/Py line  C              Py  abs Δ  rel Δ  verdict",
        "F_latt_c  1/1        2.00000000001  2   1e-11  5e-12  tolerated",
        "  within declared rtol 1e-10 (F_latt_c, c.tol line 1): sinc ratio near a lattice node",
    ]


def test_text_report_counts_unneeded_tolerances():
    """Declarations no value needed are counted; --all lists them, marking one that named nothing."""
    declared = load_tolerances([SINC, "F_latt_x: tolerance atol 1 | typo"], name="c.tol")
    report = one_row("1", "1", declared)
    assert render_text(report).splitlines()[5] == (
        "2 declared tolerances not needed here, 1 of them naming no compared value (--all lists them)"
    )
    assert render_text(report, show_all=True).splitlines()[6:9] == [
        "declared tolerances not needed (2):",
        "  c.tol line 1: F_latt_c: tolerance rtol 1e-10",
        "  c.tol line 2: F_latt_x: tolerance atol 1 (names no compared value)",
    ]


def test_json_report_has_tolerances():
    """JSON: a 'tolerated' count, each row's 'tolerances', and the unneeded declarations."""
    declared = load_tolerances([SINC, "F_latt_x: tolerance atol 1 | typo"], name="c.tol")
    data = json.loads(render_json(one_row("2.00000000001", "2", declared)))
    assert (data["schema"], data["counts"]["tolerated"], data["verdict"]) == (
        "tracehooks.diff/2", 1, "MATCH"
    )
    assert data["rows"][0]["tolerances"] == [{
        "source": "c.tol", "line": 1, "selector": "F_latt_c", "rtol": 1e-10, "atol": 0.0,
        "reason": "sinc ratio near a lattice node",
    }]
    assert data["unused_tolerances"] == [{
        "source": "c.tol", "line": 2, "selector": "F_latt_x", "rtol": 0.0, "atol": 1.0,
        "reason": "typo", "covers_values": False,
    }]


def test_cli_tolerances_option_may_be_repeated(tmp_path, capsys):
    """--tolerances FILE, given twice, declares both files' tolerances (exit 0)."""
    (tmp_path / "c.log").write_text("TRACE_C: F_latt_c 2.00000000001\nTRACE_C: G 3.0000001\n")
    (tmp_path / "py.log").write_text("TRACE_PY: F_latt_c 2\nTRACE_PY: G 3\n")
    (tmp_path / "a.tol").write_text(SINC + "\n")
    (tmp_path / "b.tol").write_text("G: tolerance rtol 1e-6 | rounding\n")
    args = ["diff", str(tmp_path / "c.log"), str(tmp_path / "py.log"), "--width", "0"]
    assert main(args + ["--tolerances", str(tmp_path / "a.tol")]) == 1
    capsys.readouterr()
    assert main(args + ["--tolerances", str(tmp_path / "a.tol"), "--tolerances", str(tmp_path / "b.tol")]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "MATCH: 0 values agree (rtol 1e-12, atol 0); 2 within declared tolerances; "
        "0 known reference quirks; 0 divergences"
    )


def test_cli_bad_tolerances_file_exits_2(tmp_path, capsys):
    """A tolerances file with a quirk in it exits 2 naming FILE:LINE."""
    (tmp_path / "c.log").write_text("TRACE_C: a 1\n")
    tol = tmp_path / "bad.tol"
    tol.write_text("a: factor 2 | why\n")
    assert main(["diff", str(tmp_path / "c.log"), str(tmp_path / "c.log"), "--tolerances", str(tol)]) == 2
    assert capsys.readouterr().err == (
        f"tracehooks diff: error: {tol}:1: only 'tolerance' declarations belong in a tolerances file, "
        "got 'factor' (put quirks in a quirks file)\n"
    )


def test_public_names():
    """The declaration types and helpers are importable from tracehooks."""
    names = ("DeclaredTolerance", "Selector", "parse_selector", "load_tolerances", "EmptyTraceError")
    assert all(name in tracehooks.__all__ for name in names)
