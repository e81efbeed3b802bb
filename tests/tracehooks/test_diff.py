"""Tests for aligning and comparing traces (tracehooks._diff)."""

import math
from pathlib import Path

import pytest

from tracehooks._diff import Tolerance, diff_traces

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "c_reference"


def one_row(c_value, py_value, **options):
    """Diff a single space-style value 'v' and return its row."""
    report = diff_traces([f"TRACE_C: v {c_value}"], [f"TRACE_PY: v {py_value}"], **options)
    (row,) = report.rows
    return row


def kinds(row):
    return [(m.where, m.kind, m.c, m.py) for m in row.mismatches]


def test_identical_traces_match():
    """Equal values give MATCH and the documented one-line verdict."""
    report = diff_traces(
        ["TRACE_C:a=1 2 3", "TRACE_C: b MOSFLM"], ["TRACE_PY:a=1 2 3", "TRACE_PY: b MOSFLM"]
    )
    assert report.ok
    assert report.summary() == (
        "MATCH: 2 values agree (rtol 1e-12, atol 0); 0 known reference quirks; 0 divergences"
    )


def test_numeric_beyond_tolerance():
    """A float outside rtol is a numeric divergence with its absolute and relative delta."""
    row = one_row("1.0", "1.000001")
    assert row.verdict == "diverge"
    assert kinds(row) == [("", "numeric", "1.0", "1.000001")]
    assert row.abs_delta == abs(1.0 - 1.000001)
    assert row.rel_delta == abs(1.0 - 1.000001) / 1.000001


def test_rtol_accepts_relative_difference():
    """|c - py| <= rtol * max(|c|, |py|) is a match."""
    assert one_row("1.0", "1.000001", rtol=1e-6).verdict == "match"


def test_rtol_scales_with_the_larger_magnitude():
    """The relative bound uses max(|c|, |py|): 1 vs 2 passes rtol 0.5, 1 vs 2.01 does not."""
    assert one_row("1", "2.0", rtol=0.5).verdict == "match"
    assert one_row("1", "2.01", rtol=0.5).verdict == "diverge"


def test_atol_is_an_absolute_floor():
    """A near-zero component fails with atol 0 and passes with an atol above |c - py|."""
    assert one_row("6.12323399573677e-15", "0").verdict == "diverge"
    assert one_row("6.12323399573677e-15", "0", atol=1e-14).verdict == "match"


def test_int_mismatch_is_exact():
    """Two ints compare exactly: rtol does not excuse 1000000 vs 1000001."""
    row = one_row("1000000", "1000001", rtol=1e-3)
    assert kinds(row) == [("", "int", "1000000", "1000001")]


def test_int_against_float_uses_tolerance():
    """An int and a float are compared numerically within tolerance."""
    assert one_row("1", "1.0000000000000002").verdict == "match"


def test_string_mismatch():
    """Different strings diverge; no numeric delta is reported."""
    row = one_row("MOSFLM", "XDS")
    assert kinds(row) == [("", "string", "MOSFLM", "XDS")]
    assert (row.abs_delta, row.rel_delta) == (None, None)


def test_type_mismatch():
    """A number against a string is a type divergence."""
    assert kinds(one_row("1", "one")) == [("", "type", "1", "one")]


def test_key_value_field_divergence():
    """key:value groups are compared field by field; the failing field is named."""
    report = diff_traces(
        ["TRACE_C:beam_center_m=X:0.1 Y:0.2 pixel_mm:0.1"],
        ["TRACE_PY:beam_center_m=X:0.1 Y:0.25 pixel_mm:0.1"],
    )
    assert kinds(report.rows[0]) == [("Y", "numeric", "0.2", "0.25")]


def test_key_name_divergence():
    """A group whose key differs (X vs Xclose) is a key divergence."""
    report = diff_traces(["TRACE_C:b=X:1 Y:2"], ["TRACE_PY:b=Xclose:1 Y:2"])
    assert kinds(report.rows[0]) == [("X", "key", "X:1", "Xclose:1")]


def test_record_field_divergence():
    """Fields of a record-style line are compared by key."""
    report = diff_traces(["TRACE_C_PHI phi_tic=0 k_frac=1.5"], ["TRACE_PY_PHI phi_tic=0 k_frac=1.25"])
    (row,) = report.rows
    assert (row.label, kinds(row)) == ("PHI/record", [("k_frac", "numeric", "1.5", "1.25")])


def test_matrix_element_divergence():
    """Matrices are compared element-wise; the element is named [row,column], 1-based."""
    row = one_row("[1 0; 0 1]", "[1 0; 0.5 1]")
    assert kinds(row) == [("[2,1]", "numeric", "0", "0.5")]


def test_matrix_shape_divergence():
    """Matrices of different shapes are a shape divergence."""
    assert kinds(one_row("[1 0; 0 1]", "[1 0 0; 0 1 0]")) == [
        ("", "shape", "[1 0; 0 1]", "[1 0 0; 0 1 0]")
    ]


def test_vector_length_divergence():
    """Vectors of different lengths diverge with both lengths named."""
    assert kinds(one_row("1 2 3", "1 2")) == [("", "length", "3 values", "2 values")]


def test_vector_component_divergence():
    """A vector component is named by its 1-based index."""
    assert kinds(one_row("0.1 0.0065 -0.0065", "0.1 0.0065 -0.0066")) == [
        ("[3]", "numeric", "-0.0065", "-0.0066")
    ]


def test_nan_matches_nan_of_either_sign():
    """nan and -nan agree (the sign of a NaN is not compared)."""
    assert one_row("-nan", "nan").verdict == "match"


def test_nan_against_number_diverges():
    """NaN against a number diverges and its deltas are NaN."""
    row = one_row("nan", "1.5")
    assert kinds(row) == [("", "numeric", "nan", "1.5")]
    assert math.isnan(row.abs_delta) and math.isnan(row.rel_delta)


def test_infinities():
    """inf matches same-sign inf only, whatever atol is."""
    assert one_row("inf", "inf").verdict == "match"
    assert one_row("-inf", "inf").verdict == "diverge"
    assert one_row("inf", "1e308", atol=1e300).verdict == "diverge"


def test_tolerance_rejects_negative_values():
    """rtol/atol must be finite and >= 0; the error shows the value received."""
    with pytest.raises(ValueError, match=r"atol must be a finite number >= 0, got -1"):
        Tolerance(atol=-1)


SCATTERING_C = "-4016134701.82206 1483170371.49559 935911580.509501"
SCATTERING_PY = "-0.401613470182206 0.148317037149559 0.0935911580509501"


@pytest.mark.parametrize(
    "c_value, py_value, hint",
    [
        ("100 6.5 -6.5", "0.1 0.0065 -0.0065", "C = 1e3 x Py (mm vs m?)"),
        ("0.1 0.0065 -0.0065", "100 6.5 -6.5", "C = 1e-3 x Py (m vs mm?)"),
        ("2500", "0.0025", "C = 1e6 x Py (µm vs m?)"),
        (SCATTERING_C, SCATTERING_PY, "C = 1e10 x Py (Å vs m?)"),
        ("9.768e-11", "0.9768", "C = 1e-10 x Py (m vs Å?)"),
        ("90", "%.15g" % (math.pi / 2), "C = 180/pi x Py (deg vs rad?)"),
        ("%.15g" % (math.pi / 18), "10", "C = pi/180 x Py (rad vs deg?)"),
        ("0 -1 0.5", "0 1 -0.5", "C = -1 x Py (sign flip?)"),
        ("0.3 0.1 0.2", "0.1 0.2 0.3", "C = Py[3 1 2] (components permuted?)"),
        ("0.1 -0.2 0.3", "0.1 0.2 0.3", "C = Py x [1 -1 1] (component sign flip?)"),
        ("0.3 -0.1 0.2", "0.1 0.2 0.3", "C = Py[3 1 2] x [1 -1 1] (permuted and sign-flipped?)"),
        ("[1 2; 3 4]", "[1 3; 2 4]", "C = Py transposed (row/column order?)"),
    ],
)
def test_factor_hints(c_value, py_value, hint):
    """A recognisable factor, sign, permutation or transpose is named in the row."""
    row = one_row(c_value, py_value)
    assert row.verdict == "diverge"
    assert row.hints == (hint,)


def test_no_hint_for_unrelated_values():
    """Values with no recognisable relation get no hint."""
    assert one_row("1.0 2.0", "2.5 7.0").hints == ()


def test_factor_hint_per_field():
    """Each failing key:value field gets its own factor hint."""
    report = diff_traces(
        ["TRACE_C:beam_center_m=X:5.5e-06 Y:7.2e-06 pixel_mm:0.1"],
        ["TRACE_PY:beam_center_m=X:0.0055 Y:0.0072 pixel_mm:0.1"],
    )
    assert report.rows[0].hints == ("X: C = 1e-3 x Py (m vs mm?)", "Y: C = 1e-3 x Py (m vs mm?)")


def test_near_zero_hint_suggests_atol():
    """A rounding-level difference next to zero in a vector suggests an --atol."""
    row = one_row("0 6.12323399573677e-15 1", "0 0 1")
    assert row.hints == (
        "near zero at [2]: |Δ| 6.12e-15 is within rtol of the value's scale 1; "
        "--atol 1e-14 would accept it",
    )
    assert one_row("0 6.12323399573677e-15 1", "0 0 1", atol=1e-14).verdict == "match"


def test_occurrences_align_by_index_not_position():
    """Repeated names are matched by occurrence even when other lines interleave."""
    report = diff_traces(
        ["TRACE_C: a 1", "TRACE_C: b 5", "TRACE_C: a 2"],
        ["TRACE_PY: a 1", "TRACE_PY: a 2", "TRACE_PY: b 5"],
    )
    assert [(r.label, r.verdict) for r in report.rows] == [
        ("a#1", "match"), ("b", "match"), ("a#2", "match")
    ]


def test_divergence_in_a_repeated_name():
    """The first divergence names the occurrence and both line numbers."""
    report = diff_traces(
        ["TRACE_C: fdet_vec 1 0 0", "TRACE_C: x 0", "TRACE_C: fdet_vec 0 1 0"],
        ["TRACE_PY: fdet_vec 1 0 0", "TRACE_PY: fdet_vec 0 1 0.5", "TRACE_PY: x 0"],
    )
    first = report.first_divergence
    assert (first.label, first.occurrence, first.c.line_no, first.py.line_no) == (
        "fdet_vec#2", 2, 3, 2
    )
    assert report.summary() == (
        "DIVERGE: first at fdet_vec (occurrence 2, C line 3, Py line 2): C 0 1 0 vs Py 0 1 0.5; "
        "2 values agree (rtol 1e-12, atol 0); 0 known reference quirks; 1 divergence; "
        "0 only in C; 0 only in Py"
    )


def test_first_divergence_follows_c_order():
    """When two values differ, the first in C line order is reported."""
    report = diff_traces(["TRACE_C: a 1", "TRACE_C: b 1"], ["TRACE_PY: b 2", "TRACE_PY: a 2"])
    assert report.first_divergence.name == "a"


def test_summary_includes_the_hint():
    """The DIVERGE line shows the first hint of the first divergence."""
    report = diff_traces(["TRACE_C: d 100"], ["TRACE_PY: d 0.1"])
    assert report.summary() == (
        "DIVERGE: first at d (occurrence 1, C line 1, Py line 1): C 100 vs Py 0.1 "
        "[C = 1e3 x Py (mm vs m?)]; 0 values agree (rtol 1e-12, atol 0); "
        "0 known reference quirks; 1 divergence; 0 only in C; 0 only in Py"
    )


def test_name_missing_from_py():
    """A C name absent from Py is an only_c row and fails the diff."""
    report = diff_traces(["TRACE_C: a 1", "TRACE_C: F_latt 28.1"], ["TRACE_PY: a 1"])
    assert [(r.label, r.verdict) for r in report.rows] == [("a", "match"), ("F_latt", "only_c")]
    assert not report.ok
    assert report.summary().startswith(
        "DIVERGE: first at F_latt (occurrence 1, C line 2, Py line -): C 28.1 vs Py (absent); "
    )


def test_name_missing_from_c():
    """A Py name absent from C is an only_py row, listed after the C rows."""
    report = diff_traces(["TRACE_C: a 1"], ["TRACE_PY: extra 3", "TRACE_PY: a 1"])
    assert [(r.label, r.verdict, r.py.line_no) for r in report.rows] == [
        ("a", "match", 2), ("extra", "only_py", 1)
    ]
    assert (report.ok, report.first_divergence.name) == (False, "extra")


def test_extra_occurrences():
    """Occurrences beyond the other side's count are one-sided rows."""
    report = diff_traces(
        ["TRACE_C: s 1", "TRACE_C: s 2", "TRACE_C: s 3"], ["TRACE_PY: s 1", "TRACE_PY: s 2"]
    )
    assert [(r.label, r.verdict) for r in report.rows] == [
        ("s#1", "match"), ("s#2", "match"), ("s#3", "only_c")
    ]
    assert (report.count("only_c"), report.count("only_py")) == (1, 0)


def test_channels_are_part_of_the_key():
    """The same name on different channels is aligned separately."""
    report = diff_traces(
        ["TRACE_C: F_cell 1", "TRACE_C_SOURCE2: F_cell 2"],
        ["TRACE_PY_SOURCE2: F_cell 2", "TRACE_PY: F_cell 1"],
    )
    assert [(r.label, r.verdict) for r in report.rows] == [
        ("F_cell", "match"), ("SOURCE2/F_cell", "match")
    ]


def test_accepts_paths(tmp_path):
    """diff_traces parses paths itself."""
    (tmp_path / "c.log").write_text("TRACE_C: a 1\n", encoding="utf-8")
    (tmp_path / "py.log").write_text("TRACE_PY: a 1\n", encoding="utf-8")
    report = diff_traces(tmp_path / "c.log", tmp_path / "py.log")
    assert (report.ok, report.c.source) == (True, str(tmp_path / "c.log"))


def test_real_c_log_against_itself():
    """The seed reference trace diffed against itself matches, one value per trace line."""
    path = REFERENCE / "seed_supervisor_pix0" / "trace_c.log"
    lines = path.read_text(encoding="utf-8").splitlines()
    expected = sum(1 for ln in lines if ln.startswith(("TRACE_C", "DETECTOR_")))
    report = diff_traces(path, path)
    assert report.summary() == (
        f"MATCH: {expected} values agree (rtol 1e-12, atol 0); 0 known reference quirks; "
        "0 divergences"
    )


def test_py_subset_still_compares_every_occurrence_of_a_traced_name():
    """With py_subset, a name the Python trace prints must match in every occurrence."""
    report = diff_traces(["TRACE_C: F_cell 100", "TRACE_C: F_cell 90", "TRACE_C: steps 4"],
                         ["TRACE_PY: F_cell 100"], py_subset=True)
    assert [row.verdict for row in report.rows] == ["match", "only_c", "not_traced"]
    assert not report.ok


def test_py_subset_with_nothing_in_common_is_not_a_match():
    """An unrelated Python trace under py_subset compares nothing: that is a failure."""
    report = diff_traces(["TRACE_C: F_cell 100"], ["TRACE_PY: steps 4"], py_subset=True)
    assert [row.verdict for row in report.rows] == ["not_traced", "only_py"]
    assert not report.ok
