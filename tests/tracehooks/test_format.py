"""Formatting: printf fidelity against the C library, and every supported value kind."""

from __future__ import annotations

import ctypes
import ctypes.util
import enum
import platform
import subprocess
import sys
from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tracehooks import Renderer, format_line, format_value
from tracehooks._format import compile_format, line_function

GLIBC = platform.libc_ver()[0] == "glibc"
needs_glibc = pytest.mark.skipif(not GLIBC, reason="the expected output is glibc's printf")

_LIBC = ctypes.CDLL(ctypes.util.find_library("c")) if GLIBC else None
_BUFFER = ctypes.create_string_buffer(1024)


def c_printf(fmt: str, value: float | int) -> str:
    """What glibc's snprintf prints for one double (or int for %d/%i)."""
    argument = ctypes.c_double(value) if isinstance(value, float) else ctypes.c_longlong(value)
    c_fmt = fmt.replace("%d", "%lld").replace("%i", "%lli") if isinstance(value, int) else fmt
    count = _LIBC.snprintf(_BUFFER, len(_BUFFER), c_fmt.encode(), argument)
    assert 0 <= count < len(_BUFFER)
    return _BUFFER.value.decode()


def bits_to_doubles(bits: np.ndarray) -> list[float]:
    """Reinterpret uint64 bit patterns as Python floats."""
    return bits.astype(np.uint64).view(np.float64).tolist()


def fidelity_values(count: int) -> list[float]:
    """Random doubles over the whole bit space plus every special class."""
    rng = np.random.default_rng(20240611)
    everywhere = rng.integers(0, 2**64, size=count, dtype=np.uint64, endpoint=False)
    subnormal = rng.integers(1, 2**52, size=count // 20, dtype=np.uint64)
    subnormal |= rng.integers(0, 2, size=subnormal.size, dtype=np.uint64) << np.uint64(63)
    # 16-digit integers ending in 5 are exact doubles that tie at the 15th digit.
    ties = (rng.integers(10**14, 9 * 10**14, size=count // 20) * 10 + 5).astype(np.float64)
    ties = np.concatenate([ties, -ties, ties * 2.0**-30, ties * 2.0**30])
    integers = rng.integers(-(2**53), 2**53, size=count // 20).astype(np.float64)
    specials = np.array([0x0, 1 << 63, 0x7FF0 << 48, 0xFFF0 << 48, 0x7FF8 << 48, 0xFFF8 << 48,
                         0x7FF0000000000001, 0xFFF0000000000001, 1, (1 << 52) - 1, 1 << 52,
                         0x7FEFFFFFFFFFFFFF], dtype=np.uint64)
    return (bits_to_doubles(everywhere) + bits_to_doubles(subnormal) + ties.tolist()
            + integers.tolist() + bits_to_doubles(specials))


@needs_glibc
def test_default_format_matches_glibc_snprintf_on_over_100000_doubles():
    """format_value(x) equals glibc's %.15g byte for byte over the whole double range."""
    values = fidelity_values(100_000)
    assert len(values) >= 100_000
    mismatches = [(v, format_value(v), c_printf("%.15g", v)) for v in values
                  if format_value(v) != c_printf("%.15g", v)]
    assert mismatches == []


@needs_glibc
@pytest.mark.parametrize("fmt", ["%g", "%.3f", "%e", "%.17g", "%+.6E", "%12.4G", "%-10.2e|",
                                 "%#.0f", "%010.3f", "% .0e", "%.0f", "%F", "%.20f"])
def test_other_formats_match_glibc_snprintf(fmt):
    """Other printf formats agree with glibc on random doubles, specials and ties."""
    values = fidelity_values(4_000)
    # Exact binary fractions like 2.5 and 0.125 tie when printed with few digits.
    values += [k / 8 for k in range(-40, 41)] + [k + 0.5 for k in range(-10, 10)]
    mismatches = [(v, format_value(v, fmt), c_printf(fmt, v)) for v in values
                  if format_value(v, fmt) != c_printf(fmt, v)]
    assert mismatches == []


@needs_glibc
@settings(max_examples=300, deadline=None)
@given(value=st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True),
       precision=st.integers(min_value=0, max_value=25), conversion=st.sampled_from("eEfgG"),
       flags=st.sampled_from(["", "+", "-", " ", "#", "0"]))
def test_random_printf_specs_match_glibc(value, precision, conversion, flags):
    """Any flag/precision/conversion combination prints like glibc."""
    fmt = f"%{flags}{precision}.{precision}{conversion}"
    assert format_value(value, fmt) == c_printf(fmt, value)


@needs_glibc
@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_integers_print_like_percent_d(number):
    """Python ints print as C's %lld does, whatever the float format."""
    assert format_value(number) == c_printf("%d", number)


def test_negative_nan_keeps_its_sign():
    """A NaN with the sign bit set prints -nan (glibc), also padded and uppercase."""
    negative_nan = bits_to_doubles(np.array([0xFFF8 << 48]))[0]
    assert (format_value(negative_nan), format_value(negative_nan, "%8.3F")) == ("-nan", "    -NAN")
    assert format_value(float("nan")) == "nan"


def test_signed_zero_infinity_and_subnormal():
    """-0.0, inf and the smallest subnormal print as C prints them."""
    assert format_value([-0.0, float("inf"), -float("inf"), 5e-324]) == "-0 inf -inf 4.94065645841247e-324"


def test_decimal_tie_rounds_half_to_even():
    """1000000000000005 (a tie at 15 digits) rounds to even, 1000000000000015 up."""
    assert (format_value(1000000000000005.0), format_value(1000000000000015.0)) == \
        ("1e+15", "1.00000000000002e+15")


def test_bools_print_as_ints():
    """True/False print as 1/0 (C has no bool type), also numpy bools."""
    assert format_value([True, False, np.bool_(True)]) == "1 0 1"


def test_strings_print_as_is():
    """A string is printed unchanged, even inside a sequence."""
    assert format_value(["MOSFLM", "x y"]) == "MOSFLM x y"


class Convention(enum.Enum):
    MOSFLM = 1
    XDS = 2


class Pivot(enum.IntEnum):
    BEAM = 0
    SAMPLE = 1


def test_enums_print_their_name():
    """Enum members (IntEnum included) print as their name."""
    assert format_value([Convention.MOSFLM, Pivot.SAMPLE]) == "MOSFLM SAMPLE"


def test_matrix_prints_in_brackets_with_semicolons():
    """A 3x3 nested list prints as [a b c; d e f; g h i]."""
    matrix = [[1.0, -0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    assert format_value(matrix) == "[1 -0 0; 0 1 0; 0 0 1]"


def test_mapping_prints_key_value_pairs_recursively():
    """A mapping prints key:value groups, values formatted recursively."""
    value = OrderedDict(X=5.5e-06, Y=7.2e-06, pixel_mm=0.1, axis=[1.0, 0.0])
    assert format_value(value) == "X:5.5e-06 Y:7.2e-06 pixel_mm:0.1 axis:1 0"


def test_numpy_float32_prints_as_promoted_double():
    """np.float32(0.1) prints as C prints (double)0.1f."""
    assert format_value(np.float32(0.1)) == "0.100000001490116"


def test_numpy_arrays_of_each_dimension():
    """0-d, 1-d and 2-d numpy arrays, float and int, print as scalars, rows and matrices."""
    assert format_value(np.array(2.5)) == "2.5"
    assert format_value(np.array([1, -2], dtype=np.int16)) == "1 -2"
    assert format_value(np.eye(2, dtype=np.float32)) == "[1 0; 0 1]"


def test_numpy_integer_scalar_prints_as_int():
    """np.int64 prints as %d even with a float format."""
    assert format_value(np.int64(-7), "%.3f") == "-7"


def test_three_dimensional_value_is_rejected_with_shape():
    """A 3-D array raises ValueError naming its shape and the index= remedy."""
    with pytest.raises(ValueError, match=r"ndarray of shape \(2, 2, 2\) nested deeper than 2 "
                                         r"levels.*use index="):
        format_value(np.zeros((2, 2, 2)))


def test_tensor_float32_with_grad_prints_exact_double(torch):
    """A float32 tensor requiring grad prints each element as its exact double."""
    tensor = torch.tensor([0.1, -0.0, 3.0], requires_grad=True)
    assert format_value(tensor * 1) == "0.100000001490116 -0 3"


@pytest.mark.parametrize("dtype, expected", [
    ("float16", "0.0999755859375 65504"),
    ("bfloat16", "0.10009765625 65536"),
    ("float64", "0.10000000000000001 65504"),
    ("int32", "0 65504"),
    ("bool", "1 1"),
])
def test_tensor_dtypes(torch, dtype, expected):
    """Each tensor dtype converts exactly: half/bfloat16 via double, ints as %d, bool as 1/0."""
    tensor = torch.tensor([0.1, 65504.0], dtype=getattr(torch, dtype))
    assert format_value(tensor, "%.17g") == expected


def test_tensor_zero_and_two_dimensional(torch):
    """0-d tensors print as a scalar and 2-D ones as a bracketed matrix."""
    assert format_value(torch.tensor(-2.5)) == "-2.5"
    assert format_value(torch.tensor([[1, 2], [3, 4]])) == "[1 2; 3 4]"


def test_complex_prints_as_parenthesised_pair(torch):
    """Complex values print as (re,im), for Python and torch alike."""
    assert format_value(complex(1.5, -0.0)) == "(1.5,-0)"
    assert format_value(torch.tensor([1 + 2j])) == "(1,2)"


def test_callable_format_receives_whole_value():
    """A callable fmt gets the value itself and its str result is used."""
    assert format_value([1, 2], fmt=lambda v: f"len={len(v)}") == "len=2"


def test_integer_format_truncates_floats_like_a_c_cast():
    """'%d' applied to 2.7 and -2.7 prints 2 and -2 (C's (int) cast)."""
    assert format_value([2.7, -2.7], "%d") == "2 -2"


def test_integer_format_rejects_nan():
    """'%d' cannot print nan: ValueError naming the value and format."""
    with pytest.raises(ValueError, match=r"cannot print nan with the integer format '%d'"):
        format_value(float("nan"), "%d")


@pytest.mark.parametrize("fmt, message", [
    ("%s", r"uses the conversion '%s'; allowed: %d %i %e"),
    ("%g %g", r"has 2 conversions; allowed: exactly one"),
    ("no conversion", r"has 0 conversions"),
])
def test_bad_formats_are_rejected(fmt, message):
    """Formats other than one numeric conversion raise ValueError saying what is allowed."""
    with pytest.raises(ValueError, match=message):
        compile_format(fmt)


def test_literal_text_and_length_modifier_are_kept():
    """Literal text, %% and an ignored 'l' modifier work as in C."""
    assert format_value(0.5, "%lf%% of 1") == "0.500000% of 1"


def test_unsupported_type_raises_type_error_naming_it():
    """An object that is not a number, sequence or mapping raises TypeError."""
    with pytest.raises(TypeError, match=r"cannot print a value of type builtins.object"):
        format_value(object())


def test_none_prints_as_none():
    """None prints as None so that a missing value is visible in a diff."""
    assert format_value(None) == "None"


def test_format_line_styles():
    """The space and equals styles produce the two C line shapes."""
    assert format_line("pix0_vector_meters", [0.1, 0.0033, -0.0033], prefix="TRACE_C") == \
        "TRACE_C: pix0_vector_meters 0.1 0.0033 -0.0033"
    assert format_line("Fclose_m", 0.217742295, prefix="TRACE_C", style="equals") == \
        "TRACE_C:Fclose_m=0.217742295"


def test_renderer_per_value_override():
    """Renderer's call-time fmt overrides its default for one value only."""
    render = Renderer(fmt="%.3f")
    assert (render("a", 1.23456), render("b", 2.6, "%d")) == ("TRACE_PY: a 1.235", "TRACE_PY: b 2")


def test_format_line_record_and_bare_styles():
    """record renders channel lines of key=value fields; bare drops the prefix."""
    assert format_line("PHI", {"phi_tic": 2, "phi_deg": 7.0, "k_frac": -5.00071874407889},
                       prefix="TRACE_C", style="record") == "TRACE_C_PHI phi_tic=2 phi_deg=7 k_frac=-5.00071874407889"
    assert format_line("DETECTOR_PIX0_VECTOR", [0.1, 0.0065, -0.0065], style="bare") == \
        "DETECTOR_PIX0_VECTOR 0.1 0.0065 -0.0065"


def test_record_style_needs_a_mapping():
    """A record line is made of named fields; anything else is a TypeError."""
    with pytest.raises(TypeError, match="style 'record' renders a mapping of fields, got list"):
        format_line("PHI", [1, 2], style="record")


def test_renderer_rejects_unknown_style():
    """style must be one of the four line shapes."""
    with pytest.raises(ValueError, match=r"style 'colon' is not supported; allowed: 'space', 'equals', 'record', "
                                         r"'bare'"):
        Renderer(style="colon")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(allow_nan=False), min_size=1, max_size=6))
def test_sequence_is_elements_joined_by_spaces(values):
    """A 1-D list prints as the space-joined texts of its elements."""
    assert format_value(values) == " ".join(format_value(v) for v in values)


def test_import_does_not_import_torch_or_numpy():
    """Importing tracehooks and formatting numbers leaves torch and numpy unimported."""
    code = ("import sys, tracehooks; tracehooks.format_value([1.5, 2]); "
            "print('torch' in sys.modules, 'numpy' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout == "False False\n"


_LINE_VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-10**20, max_value=10**20),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=70).map(np.array),
    st.lists(st.floats(allow_nan=False, allow_infinity=False, width=32), max_size=8).map(
        lambda values: np.array(values, dtype=np.float32)),
    st.lists(st.integers(min_value=-10**17, max_value=10**17), max_size=4).map(lambda v: np.array(v, dtype=np.int64)),
    st.lists(st.lists(st.floats(allow_nan=False), min_size=2, max_size=2), min_size=1, max_size=3).map(np.array),
    st.floats(allow_nan=False).map(np.array),  # 0-d
)


@settings(max_examples=300, deadline=None)
@given(value=_LINE_VALUES, fmt=st.sampled_from(["%.15g", "%.3e", "%10.4f", "%G", "%d", "x=%g;"]))
@example(value=np.array([1.0, -np.nan]), fmt="%.15g")  # glibc prints the sign of a NaN, Python's % not
@example(value=np.array([np.inf, -np.nan]), fmt="%G")
def test_a_line_function_prints_what_head_and_format_value_print(value, fmt):
    """The fast line of the trace's fast path is only a shortcut: same text for every value, the
    non-finite, float32, integer, 2-D, 0-d and long (> 64) arrays and non-bare formats included."""
    try:
        expected = "h% " + format_value(value, fmt)
    except (ValueError, TypeError) as exc:
        with pytest.raises(type(exc)):
            line_function(compile_format(fmt), "h% ")(value)
        return
    assert line_function(compile_format(fmt), "h% ")(value) == expected
