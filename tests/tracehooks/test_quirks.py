"""Tests for declared quirks: the file format and how the diff applies them."""

import math

import pytest

from tracehooks._diff import diff_traces
from tracehooks._quirks import QuirksError, Selector, load_quirks, parse_factor, parse_selector


def judge(c_lines, py_lines, quirk_lines):
    """Diff with quirks given as lines; return the report."""
    return diff_traces(c_lines, py_lines, quirks=load_quirks(quirk_lines, name="q.txt"))


def row_of(report, label):
    (row,) = [r for r in report.rows if r.label == label]
    return row


@pytest.mark.parametrize(
    "text, selector",
    [
        ("pix0_vector", Selector("", "pix0_vector", None, None)),
        ("fdet_after_rotz#2", Selector("", "fdet_after_rotz", 2, None)),
        ("beam_center_m[X]", Selector("", "beam_center_m", None, "X")),
        ("PHI/record#3[k_frac]", Selector("PHI", "record", 3, "k_frac")),
        ("SOURCE2/F_cell", Selector("SOURCE2", "F_cell", None, None)),
    ],
)
def test_selector_forms(text, selector):
    """[CHANNEL/]name[#occurrence][[field]] parses into its four parts and prints back."""
    assert parse_selector(text) == selector
    assert str(selector) == text


@pytest.mark.parametrize(
    "text, value",
    [("1e-3", 1e-3), ("-1", -1.0), ("180/pi", 180 / math.pi), ("pi/180", math.pi / 180)],
)
def test_factor_forms(text, value):
    """A factor is a number, pi, or a quotient of those."""
    assert parse_factor(text) == value


def test_file_format_skips_comments_and_keeps_line_numbers(tmp_path):
    """Comments and blank lines are skipped; each entry keeps its kind, argument, reason, line."""
    path = tmp_path / "c.quirks"
    path.write_text(
        "# selector: kind [argument] | reason\n"
        "\n"
        "beam_center_m[X]: factor 1e-3 | C divides a value in metres by 1000 again\n"
        "convention_mapping: c_value a b | C label | with a bar\n",
        encoding="utf-8",
    )
    quirks = load_quirks(path)
    assert [(q.line_no, str(q.selector), q.kind, q.argument, q.reason) for q in quirks.entries] == [
        (3, "beam_center_m[X]", "factor", "1e-3", "C divides a value in metres by 1000 again"),
        (4, "convention_mapping", "c_value", "a b", "C label | with a bar"),
    ]
    assert quirks.entries[0].source == str(path)


@pytest.mark.parametrize(
    "line, message",
    [
        ("a: ignore", "missing reason in 'a: ignore'; expected SELECTOR: KIND [ARGUMENT] | REASON"),
        ("a: ignore |  ", "missing reason in 'a: ignore |'; expected SELECTOR: KIND [ARGUMENT] | REASON"),
        ("a ignore | why", "missing ':' after the selector in 'a ignore | why'"),
        ("a: fator 2 | why", "unknown kind 'fator'; allowed: factor, c_value, same_as, same_norm, ignore, tolerance"),
        ("a: | why", "missing kind after 'a':"),
        ("a: factor | why", "'factor' needs an argument"),
        ("a: same_norm 2 | why", "'same_norm' takes no argument, got '2'"),
        ("a b: ignore | why", "bad selector 'a b'; expected [CHANNEL/]name[#occurrence][[field]]"),
        ("a#0: ignore | why", "occurrence in 'a#0' must be 1 or more (1-based)"),
        ("a: factor 1e3x | why", "bad factor '1e3x'; expected a number (1e-3), pi, or A/B such as 180/pi"),
        ("a: factor 1/0 | why", "factor '1/0' divides by zero"),
        ("a: c_value [1 2 | why", "unclosed '[' in '[1 2'"),
        ("a: same_as b#x | why", "bad selector 'b#x'; expected [CHANNEL/]name[#occurrence][[field]]"),
    ],
)
def test_quirks_file_errors(line, message):
    """A bad quirks line raises QuirksError with source:line: and what was wrong."""
    with pytest.raises(QuirksError) as err:
        load_quirks(["# header", line], name="q.txt")
    assert str(err.value) == f"q.txt:2: {message}"


def test_quirks_file_that_is_not_utf8_names_the_line_and_byte():
    with pytest.raises(QuirksError) as err:
        load_quirks([b"# header\n", b"a: ignore | caf\xe9\n"], name="q.txt")
    assert str(err.value) == "q.txt:2: not valid UTF-8 (byte 16 of the line)"


def test_factor_holds():
    """factor F turns a failing value into a known quirk when C = F x Py."""
    report = judge(
        ["TRACE_C: scattering_vec_A_inv 4016134701.82206 0 -1"],
        ["TRACE_PY: scattering_vec_A_inv 0.401613470182206 0 -1e-10"],
        ["scattering_vec_A_inv: factor 1e10 | C prints 1/m under a 1/Angstrom name"],
    )
    row = report.rows[0]
    assert (row.verdict, [q.line_no for q in row.quirks]) == ("quirk", [1])
    assert report.summary() == (
        "MATCH: 0 values agree (rtol 1e-12, atol 0); 1 known reference quirk; 0 divergences"
    )


def test_factor_does_not_hold():
    """A declared factor that does not explain the value leaves a divergence with a note."""
    report = judge(["TRACE_C: d 0.2"], ["TRACE_PY: d 100"], ["d: factor 1e-3 | why"])
    row = report.rows[0]
    assert row.verdict == "diverge"
    assert row.notes == (
        f"declared quirk did not hold: d: factor 1e-3 (q.txt line 1); C/Py = {0.2 / 100:.6g}",
    )


def test_c_value_holds_and_does_not_hold():
    """c_value accepts the literal C prints whatever Py prints, and nothing else."""
    quirk = ["detector_convention: c_value MOSFLM | C hard-codes this label"]
    held = judge(["TRACE_C:detector_convention=MOSFLM"], ["TRACE_PY:detector_convention=ADXV"], quirk)
    failed = judge(["TRACE_C:detector_convention=XDS"], ["TRACE_PY:detector_convention=ADXV"], quirk)
    assert held.rows[0].verdict == "quirk"
    assert failed.rows[0].verdict == "diverge"
    assert failed.rows[0].notes == (
        "declared quirk did not hold: detector_convention: c_value MOSFLM (q.txt line 1); "
        "C prints XDS",
    )


def test_same_as_holds():
    """same_as compares C with Py's value of another name at the same occurrence."""
    c = ["TRACE_C:f=1 0 0", "TRACE_C:g=0 1 0", "TRACE_C:f=0 1 0"]
    py = ["TRACE_PY:f=1 0 0", "TRACE_PY:g=0 1 0", "TRACE_PY:f=0 0 1", "TRACE_PY:g=0 1 0"]
    report = judge(c, py, ["f#2: same_as g | C prints the other vector under this label"])
    assert [(r.label, r.verdict) for r in report.rows] == [
        ("f#1", "match"), ("g#1", "match"), ("f#2", "quirk"), ("g#2", "only_py")
    ]


def test_same_as_does_not_hold():
    """same_as fails when Py's other value differs or is missing, and says which."""
    c = ["TRACE_C:f=0 1 0"]
    differs = judge(c, ["TRACE_PY:f=0 0 1", "TRACE_PY:g=1 1 1"], ["f: same_as g | why"])
    missing = judge(c, ["TRACE_PY:f=0 0 1"], ["f: same_as g#2 | why"])
    assert differs.rows[0].notes == (
        "declared quirk did not hold: f: same_as g (q.txt line 1); Py g#1 is 1 1 1",
    )
    assert missing.rows[0].notes == (
        "declared quirk did not hold: f: same_as g#2 (q.txt line 1); Py has no g#2",
    )


def test_same_norm_holds_and_does_not_hold():
    """same_norm accepts vectors of equal Euclidean length only."""
    quirk = ["rot_a_star_A_inv: same_norm | C prints the unrotated vector"]
    held = judge(["TRACE_C: rot_a_star_A_inv 0.6 0.8 0"], ["TRACE_PY: rot_a_star_A_inv 0 0 1"], quirk)
    failed = judge(["TRACE_C: rot_a_star_A_inv 0.6 0.8 1"], ["TRACE_PY: rot_a_star_A_inv 0 0 1"], quirk)
    assert held.rows[0].verdict == "quirk"
    assert failed.rows[0].notes == (
        "declared quirk did not hold: rot_a_star_A_inv: same_norm (q.txt line 1); "
        f"|C| = {math.hypot(0.6, 0.8, 1):.15g}, |Py| = 1",
    )


def test_ignore_covers_a_differing_value():
    """ignore turns any difference into a counted, listed quirk."""
    report = judge(["TRACE_C: junk 1"], ["TRACE_PY: junk 2"], ["junk: ignore | not ported"])
    assert (report.rows[0].verdict, report.count("quirk"), report.ok) == ("quirk", 1, True)


def test_ignore_covers_one_sided_names():
    """ignore also covers a name printed by one side only."""
    report = judge(
        ["TRACE_C: c_only 1"], ["TRACE_PY: py_only 2"],
        ["c_only: ignore | C-only instrumentation", "py_only: ignore | Py-only instrumentation"],
    )
    assert [(r.label, r.verdict) for r in report.rows] == [("c_only", "quirk"), ("py_only", "quirk")]


def test_factor_cannot_cover_a_one_sided_name():
    """A factor needs Py's value; a C-only name stays only_c with a note."""
    report = judge(["TRACE_C: a 1"], ["TRACE_PY: b 1"], ["a: factor 2 | why"])
    assert report.rows[0].verdict == "only_c"
    assert report.rows[0].notes == (
        "declared quirk did not hold: a: factor 2 (q.txt line 1); needs Py's value of the same name",
    )


def test_field_quirks_must_cover_every_failing_field():
    """Field quirks apply per field: X and Y both declared gives a quirk, X alone does not."""
    c = ["TRACE_C:beam_center_m=X:5.5e-06 Y:7.2e-06 pixel_mm:0.1"]
    py = ["TRACE_PY:beam_center_m=X:0.0055 Y:0.0072 pixel_mm:0.1"]
    x_quirk = "beam_center_m[X]: factor 1e-3 | C divides a value in metres by 1000 again"
    y_quirk = "beam_center_m[Y]: factor 1e-3 | C divides a value in metres by 1000 again"
    assert judge(c, py, [x_quirk, y_quirk]).rows[0].verdict == "quirk"
    assert judge(c, py, [x_quirk]).rows[0].verdict == "diverge"


def test_whole_value_factor_does_not_scale_unrelated_fields():
    """A whole-value factor must hold for every number, so pixel_mm breaks it."""
    report = judge(
        ["TRACE_C:beam_center_m=X:5.5e-06 pixel_mm:0.1"],
        ["TRACE_PY:beam_center_m=X:0.0055 pixel_mm:0.1"],
        ["beam_center_m: factor 1e-3 | why"],
    )
    assert report.rows[0].verdict == "diverge"


def test_occurrence_specific_quirk():
    """A quirk on name#2 covers only the second occurrence."""
    report = judge(
        ["TRACE_C: v 1", "TRACE_C: v 1"], ["TRACE_PY: v 2", "TRACE_PY: v 2"], ["v#2: ignore | why"]
    )
    assert [(r.label, r.verdict) for r in report.rows] == [("v#1", "diverge"), ("v#2", "quirk")]


def test_occurrence_specific_quirk_is_tried_first():
    """name#k declarations are tried before name declarations, whatever the file order."""
    report = judge(
        ["TRACE_C: v 1", "TRACE_C: v 1"],
        ["TRACE_PY: v 2", "TRACE_PY: v 2"],
        ["v: factor 1e3 | general", "v#2: ignore | specific"],
    )
    second = report.rows[1]
    assert ([q.reason for q in second.quirks], second.notes) == (["specific"], ())


def test_channel_selector():
    """A selector with CHANNEL/ applies to that channel's records only."""
    report = judge(
        ["TRACE_C_PHI k_frac=1.5", "TRACE_C: record 1"],
        ["TRACE_PY_PHI k_frac=-1.5", "TRACE_PY: record -1"],
        ["PHI/record[k_frac]: factor -1 | sign convention of the phi step"],
    )
    assert [(r.label, r.verdict) for r in report.rows] == [
        ("PHI/record", "quirk"), ("record", "diverge")
    ]


def test_plain_match_wins_and_unused_quirks_are_reported():
    """A value that already matches stays a match; the unneeded quirk is listed."""
    report = judge(["TRACE_C: a 1"], ["TRACE_PY: a 1"], ["a: factor 1e3 | why"])
    assert report.rows[0].verdict == "match"
    assert [(q.line_no, q.kind) for q in report.unused_quirks] == [(1, "factor")]
