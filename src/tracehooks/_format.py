"""Text for traced values, identical to what C's printf prints for them.

Python's ``%`` operator and glibc's printf agree on every finite double,
signed zeros and subnormals for the conversions accepted here.  They differ
in two places, both repaired below: glibc prints the sign of a NaN
(``-nan``), which Python drops, and glibc pads inf/nan with spaces under
the ``0`` flag, where Python pads with zeros.  Everything else is delegated
to ``%`` (the tests compare both byte for byte through ctypes).

torch and numpy are never imported by this module: a value can only be a
tensor or an array if its library is already in ``sys.modules``.
"""

from __future__ import annotations

import enum
import functools
import math
import re
import sys
from collections.abc import Callable, Mapping
from typing import Any

from ._grammar import (
    FIELD_SEP,
    GROUP_SEP,
    ITEM_SEP,
    LINE_STYLES,
    json_line,
    MATRIX_CLOSE,
    MATRIX_OPEN,
    ROW_SEP,
    STYLES,
)

__all__ = ["Fmt", "Renderer", "STYLES", "compile_format", "describe", "format_line", "format_value",
           "line_function", "pick", "plain", "printable", "text_of"]

Fmt = str | Callable[[Any], str]

_FLOAT_CONVERSIONS = frozenset("eEfFgG")
_INT_CONVERSIONS = frozenset("di")
_CONVERSION = re.compile(
    r"%(?P<flags>[-+ #0]*)(?P<width>\d*)(?P<precision>\.\d*)?"
    r"(?P<length>hh|ll|[hlLqjzt])?(?P<conv>.?)"
)


class PrintfFormat:
    """One printf conversion (plus literal text) compiled for fast reuse.

    Example:
        >>> spec = compile_format("%.3f mm")
        >>> spec.number(1.23456)
        '1.235 mm'
        >>> spec.number(7)
        '7 mm'
    """

    __slots__ = ("text", "conversion", "_head", "_spec", "_nonfinite_spec", "_tail", "_bare_float",
                 "_rows")

    def __init__(self, text: str, head: str, flags: str, rest: str, conversion: str, tail: str):
        self.text = text
        self.conversion = conversion
        self._head = head
        self._spec = f"%{flags}{rest}{conversion}"
        # glibc pads inf and nan with spaces even under the 0 flag; Python uses zeros.
        self._nonfinite_spec = f"%{flags.replace('0', '')}{rest}{conversion}"
        self._tail = tail
        #: A float conversion with no literal text: a row of floats is one ``%`` per item.
        self._bare_float = conversion in _FLOAT_CONVERSIONS and not head and not tail
        # "%g %g %g" by row length: one % for a whole short row is faster than one per item.
        self._rows: dict[int, str] = {}

    def __repr__(self) -> str:
        return f"PrintfFormat({self.text!r})"

    @property
    def bare_float(self) -> str | None:
        """The ``%`` format that prints a finite float exactly as this one (None: literal text or an
        integer conversion around it).

        Example:
            >>> compile_format("%.15g").bare_float, compile_format("%d").bare_float
            ('%.15g', None)
        """
        return self._spec if self._bare_float else None

    def number(self, value: int | float) -> str:
        """Format a Python int or float as C's printf would.

        Example:
            >>> compile_format("%g").number(float("-nan"))
            '-nan'
        """
        if type(value) is float and self._bare_float:
            body = self._spec % value
            if "n" not in body and "N" not in body:  # finite (see floats): nothing to repair
                return body
        if self.conversion in _INT_CONVERSIONS:
            body = self._spec % _as_c_int(value, self.text)
        elif type(value) is int:
            # C code prints its integer variables with %d, whatever the
            # floating-point format chosen for the trace is.
            body = "%d" % value
        elif math.isfinite(value):
            body = self._spec % value
        elif value == value or math.copysign(1.0, value) > 0:
            body = self._nonfinite_spec % value
        else:
            # glibc keeps the sign bit of a NaN; padding and flags behave
            # exactly as for -inf, so reuse that rendering.
            body = (self._nonfinite_spec % -math.inf).replace("inf", "nan").replace("INF", "NAN")
        return f"{self._head}{body}{self._tail}"

    def floats(self, values: list[float]) -> str | None:
        """Finite floats as one space-separated text, or None when the fast path does not apply.

        Example:
            >>> compile_format("%.3g").floats([0.5, -0.0]), compile_format("%g").floats([1.0, -math.nan])
            ('0.5 -0', None)
        """
        if not self._bare_float:
            return None
        count = len(values)
        if count <= 64:
            row = self._rows.get(count)
            if row is None:
                row = self._rows[count] = ITEM_SEP.join([self._spec] * count)
            text = row % tuple(values)
        else:
            spec = self._spec
            text = ITEM_SEP.join([spec % value for value in values])
        # inf and nan print with an n (N for %E %F %G); they take the slow path, which follows glibc.
        if "n" in text or "N" in text:
            return None
        return text


def _as_c_int(value: int | float, fmt: str) -> int:
    if type(value) is int:
        return value
    if not math.isfinite(value):
        raise ValueError(f"cannot print {value!r} with the integer format {fmt!r}; "
                         "allowed: finite numbers")
    # C's (int) cast truncates toward zero, as int() does.
    return int(value)


@functools.lru_cache(maxsize=256)
def compile_format(fmt: str) -> PrintfFormat:
    """Parse a printf format holding exactly one numeric conversion.

    Accepted conversions: ``%d %i`` (integers) and ``%e %E %f %F %g %G``
    (doubles), with flags, width, precision and an ignored length modifier
    (``%lf``, ``%Lg``).  Literal text and ``%%`` may surround it.

    Example:
        >>> compile_format("%lf").number(0.5)
        '0.500000'
    """
    if not isinstance(fmt, str):
        raise TypeError(f"format must be a printf string or a callable, got {type(fmt).__name__} "
                        f"{fmt!r}")
    pieces: list[tuple[int, int, re.Match[str]]] = []
    for match in _CONVERSION.finditer(fmt):
        if match.group(0) != "%%":
            pieces.append((match.start(), match.end(), match))
    if len(pieces) != 1:
        raise ValueError(f"format {fmt!r} has {len(pieces)} conversions; allowed: exactly one of "
                         "%d %i %e %E %f %F %g %G")
    start, end, match = pieces[0]
    conversion = match.group("conv")
    if conversion not in _FLOAT_CONVERSIONS | _INT_CONVERSIONS:
        raise ValueError(f"format {fmt!r} uses the conversion {'%' + conversion!r}; allowed: "
                         "%d %i %e %E %f %F %g %G")
    rest = match.group("width") + (match.group("precision") or "")
    return PrintfFormat(fmt, fmt[:start].replace("%%", "%"), match.group("flags"), rest, conversion,
                        fmt[end:].replace("%%", "%"))


def format_value(value: Any, fmt: Fmt = "%.15g") -> str:
    """Return the text C's printf would print for ``value``.

    Floats use ``fmt``; ints print as ``%d``; bools as ``1``/``0``; strings
    as they are; enums as their name; 1-D sequences, arrays and tensors as
    space-separated values; 2-D ones as ``[a b; c d]``; mappings as
    ``key:value`` pairs.  Complex numbers print as ``(re,im)``.  A callable
    ``fmt`` receives the whole value and returns the text itself.

    Example:
        >>> format_value([1.5, -0.0, float("inf")])
        '1.5 -0 inf'
        >>> format_value({"rotx": 0.0, "roty": 0.1})
        'rotx:0 roty:0.1'
        >>> format_value([[1, 0], [0, 1]])
        '[1 0; 0 1]'
    """
    if callable(fmt):
        text = fmt(value)
        if not isinstance(text, str):
            raise TypeError(f"format callable {fmt!r} returned {type(text).__name__} {text!r}; "
                            "it must return str")
        return text
    return text_of(value, compile_format(fmt))


def text_of(value: Any, spec: PrintfFormat) -> str:
    """The text of ``value`` with a compiled format (:func:`format_value` without the checks).

    Example:
        >>> text_of([0.5, 2], compile_format("%.3f"))
        '0.500 2'
    """
    kind = type(value)
    if kind is float:
        # The common case inline: a finite float (inf - inf and nan - nan are nan) and one %.
        if spec._bare_float and value - value == 0.0:
            return spec._spec % value
        return spec.number(value)
    numpy = sys.modules.get("numpy")
    if numpy is not None and kind is numpy.ndarray and value.ndim == 1 and value.dtype.kind == "f":
        # tolist() gives the doubles exactly (float32 promoted, as C's printf receives it).
        text = spec.floats(value.tolist())
        if text is not None:
            return text
    cells = _cells(value, spec)
    if isinstance(cells, str):
        return cells
    if all(isinstance(cell, str) for cell in cells):
        return ITEM_SEP.join(cells)
    if all(isinstance(row, list) and all(isinstance(c, str) for c in row) for row in cells):
        return MATRIX_OPEN + ROW_SEP.join(ITEM_SEP.join(row) for row in cells) + MATRIX_CLOSE
    shape = getattr(value, "shape", None)
    where = f" of shape {tuple(shape)}" if shape is not None else ""
    raise ValueError(f"cannot print a {type(value).__name__}{where} nested deeper than 2 levels "
                     "(or mixing scalars and rows); allowed: scalars, 1-D and 2-D values "
                     "(use index= to pick one element of a batch)")


def line_function(spec: PrintfFormat, head: str = "") -> Callable[[Any], str]:
    """``head + text_of(value, spec)`` as a function of ``value`` alone, made once for a line printed
    many times: its common cases -- a finite float, a 1-D float array -- take one ``%`` and no
    lookups.  (The head stays outside the format: ``%`` copies literal text slower than ``+``.)

    Example:
        >>> import numpy
        >>> line = line_function(compile_format("%.3g"), "x% ")
        >>> line(0.25), line(numpy.array([1.0, -0.0])), line(numpy.array([numpy.inf]))
        ('x% 0.25', 'x% 1 -0', 'x% inf')
    """
    if not spec._bare_float:
        return functools.partial(_line_of, head, spec)
    one, rows = spec._spec, spec._rows
    nonfinite = "N" if spec.conversion.isupper() else "n"  # inf and nan print with it
    numpy = sys.modules.get("numpy")
    ndarray = numpy.ndarray if numpy is not None else None  # no array exists before numpy does

    def line(value: Any) -> str:
        kind = value.__class__
        if kind is float:
            if value - value == 0.0:  # finite: inf - inf and nan - nan are nan
                return head + one % value
        elif kind is ndarray and value.ndim == 1 and value.dtype.kind == "f":
            values = value.tolist()  # the doubles exactly (float32 promoted, as printf receives it)
            row = rows.get(len(values))  # the format's own rows, made by floats() at first use
            if row is not None:
                text = row % tuple(values)
                if nonfinite not in text:
                    return head + text
        return head + text_of(value, spec)

    return line


def _line_of(head: str, spec: PrintfFormat, value: Any) -> str:
    return head + text_of(value, spec)


def _cells(value: Any, spec: PrintfFormat) -> str | list[Any]:
    kind = type(value)
    if kind is float or kind is int:
        return spec.number(value)
    if kind is bool:
        return "1" if value else "0"
    if kind is str:
        return value
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, (list, tuple)):
        return [_cells(item, spec) for item in value]
    if isinstance(value, Mapping):
        return ITEM_SEP.join(f"{_key(key, spec)}{GROUP_SEP}{text_of(item, spec)}"
                             for key, item in value.items())
    return _library_cells(value, spec)


def _library_cells(value: Any, spec: PrintfFormat) -> str | list[Any]:
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        return _cells(_tensor_to_python(value), spec)
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        if isinstance(value, numpy.ndarray):
            return _cells(value.tolist(), spec)
        if isinstance(value, numpy.generic):
            return _cells(_numpy_scalar(value, numpy), spec)
    return _plain_cells(value, spec)


def _plain_cells(value: Any, spec: PrintfFormat) -> str:
    if value is None:
        # Printed rather than rejected so that a missing value shows in the diff.
        return "None"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, complex):
        return f"({spec.number(value.real)},{spec.number(value.imag)})"
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int) or hasattr(type(value), "__index__"):
        return spec.number(int(value))
    if isinstance(value, float) or hasattr(type(value), "__float__"):
        return spec.number(float(value))
    raise TypeError(f"cannot print a value of type {type(value).__module__}."
                    f"{type(value).__qualname__} ({value!r:.60}); allowed: numbers, bools, str, "
                    "enums, sequences, mappings, numpy arrays/scalars, torch tensors")


def _tensor_to_python(tensor: Any) -> Any:
    data = tensor.detach()
    if data.device.type != "cpu":
        data = data.cpu()
    # tolist() converts float16/bfloat16/float32 to double exactly; the
    # lazy conjugate/negative views must be materialised first.
    return data.resolve_conj().resolve_neg().tolist()


def _numpy_scalar(value: Any, numpy: Any) -> Any:
    if isinstance(value, numpy.bool_):
        return bool(value)
    if isinstance(value, numpy.integer):
        return int(value)
    if isinstance(value, numpy.floating):
        # A float32 promoted to double, as C's printf receives it.
        return float(value)
    if isinstance(value, numpy.complexfloating):
        return complex(value)
    return value.item()


def _key(key: Any, spec: PrintfFormat) -> str:
    return key if isinstance(key, str) else text_of(key, spec)


class Renderer:
    """Turns ``(name, value)`` into one trace line; the fixed parts are precomputed.

    ``style="space"`` gives ``PREFIX: name v1 v2``; ``style="equals"`` gives
    ``PREFIX:name=v1 v2`` -- the two line shapes of the C traces. Two more shapes
    found in C traces: ``style="record"`` renders a mapping as ``PREFIX_name k1=v1
    k2=v2`` (a channel line such as ``TRACE_C_PHI phi_tic=0 ...``) and
    ``style="bare"`` gives ``name v1 v2`` with no prefix (``DETECTOR_PIX0_VECTOR ...``).
    The shapes are those of ``_grammar``, which the parser reads.

    Example:
        >>> Renderer(prefix="TRACE_C", style="equals")("Fclose_m", 0.217742295)
        'TRACE_C:Fclose_m=0.217742295'
        >>> Renderer()("pix0", [0.1, 0.0033])
        'TRACE_PY: pix0 0.1 0.0033'
        >>> Renderer(style="record")("PHI", {"phi_tic": 0, "phi_deg": 5.0})
        'TRACE_PY_PHI phi_tic=0 phi_deg=5'
        >>> Renderer(style="bare")("DETECTOR_PIX0_VECTOR", [0.1, 0.0065, -0.0065])
        'DETECTOR_PIX0_VECTOR 0.1 0.0065 -0.0065'
    """

    __slots__ = ("prefix", "style", "fmt", "json", "simple", "_head", "_sep", "_fields", "_spec",
                 "_heads")

    def __init__(self, prefix: str = "TRACE_PY", style: str = "space", fmt: Fmt = "%.15g"):
        if not isinstance(prefix, str):
            raise TypeError(f"prefix must be str, got {type(prefix).__name__} {prefix!r}")
        if style not in STYLES:
            raise ValueError(f"style {style!r} is not supported; allowed: "
                             f"{', '.join(repr(s) for s in STYLES)}")
        #: The compiled printf format (None for a callable format).
        self._spec = None if callable(fmt) else compile_format(fmt)
        self.prefix = prefix
        self.style = style
        self.fmt = fmt
        #: True for ``style="json"``: one JSON object a line, which takes the call's context.
        self.json = style == "json"
        shape = LINE_STYLES["space" if self.json else style]
        self._head = shape.head(prefix)
        self._sep = shape.after_name
        self._fields = shape.fields
        #: True when a line is ``head(name)`` followed by the value's printf text.
        self.simple = self._spec is not None and not self.json and not self._fields
        self._heads: dict[str, str] = {}

    @property
    def spec(self) -> PrintfFormat | None:
        """The compiled printf format (None for a callable format)."""
        return self._spec

    def head(self, name: str) -> str:
        """What precedes the value on the line of ``name`` (a simple renderer's lines only).

        Example:
            >>> Renderer(style="equals").head("x")
            'TRACE_PY:x='
        """
        head = self._heads.get(name)
        if head is None:
            if len(self._heads) < 4096:  # names are few; a name per call must not grow it forever
                head = self._heads[name] = f"{self._head}{name}{self._sep}"
            else:
                head = f"{self._head}{name}{self._sep}"
        return head

    def __repr__(self) -> str:
        return f"Renderer(prefix={self.prefix!r}, style={self.style!r}, fmt={self.fmt!r})"

    def restyled(self, style: str) -> Renderer:
        """The same renderer with another line style (itself for its own style, or for json).

        Example:
            >>> Renderer(style="equals").restyled("bare")("DETECTOR_FAST_AXIS", [0, 0, 1])
            'DETECTOR_FAST_AXIS 0 0 1'
        """
        if style == self.style or self.json:  # a JSON line keeps its shape
            return self
        try:
            return _cached_renderer(self.prefix, style, self.fmt)
        except TypeError:  # an unhashable callable format cannot be a cache key
            return Renderer(self.prefix, style, self.fmt)

    def __call__(self, name: str, value: Any, fmt: Fmt | None = None,
                 context: Mapping[str, Any] | None = None) -> str:
        """Render one line; ``fmt`` overrides the renderer's format for this value.

        Example:
            >>> Renderer()("hkl", 2.6, fmt="%d")
            'TRACE_PY: hkl 2'

        ``context`` (the call's ``call``, ``thread`` and ``where``) is written by the json style only.
        """
        if fmt is None:
            if self.simple:
                return f"{self._head}{name}{self._sep}{text_of(value, self._spec)}"
            fmt = self.fmt
        if self.json:
            return self._json(name, value, fmt, context)
        if self._fields:
            if not isinstance(value, Mapping):
                raise TypeError(f"style 'record' renders a mapping of fields, got {type(value).__name__}")
            fields = ITEM_SEP.join(f"{key}{FIELD_SEP}{format_value(item, fmt)}"
                                   for key, item in value.items())
            return f"{self._head}{name}{self._sep}{fields}"
        return f"{self._head}{name}{self._sep}{format_value(value, fmt)}"

    def _json(self, name: str, value: Any, fmt: Fmt, context: Mapping[str, Any] | None) -> str:
        exact = plain(value)  # one host transfer for a tensor: text and values come from it
        text = format_value(value if callable(fmt) else exact, fmt)
        return json_line({"tag": self.prefix, "name": name, "text": text, "values": exact,
                          **describe(value), **(context or {})})


def plain(value: Any) -> Any:
    """The value as plain Python data (what a JSON line holds): exact numbers, lists, dicts, str.

    Tensors and arrays are converted with one host transfer; a float32 gives the double it
    promotes to; enums give their name, complex numbers ``[re, im]``.

    Example:
        >>> import numpy
        >>> plain({"v": numpy.array([0.1, -0.0]), "n": numpy.float32(0.1)})
        {'v': [0.1, -0.0], 'n': 0.10000000149011612}
    """
    kind = type(value)
    if kind is float or kind is int or kind is bool or kind is str or value is None:
        return value
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, Mapping):
        return {key if isinstance(key, str) else format_value(key): plain(item)
                for key, item in value.items()}
    if isinstance(value, complex):
        return [value.real, value.imag]
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        return plain(_tensor_to_python(value))
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        if isinstance(value, numpy.ndarray):
            return plain(value.tolist())
        if isinstance(value, numpy.generic):
            return plain(_numpy_scalar(value, numpy))
    if isinstance(value, int) or hasattr(type(value), "__index__"):
        return int(value)
    if isinstance(value, float) or hasattr(type(value), "__float__"):
        return float(value)
    return str(value)


def describe(value: Any) -> dict[str, Any]:
    """``shape``, ``dtype`` and ``device`` of a tensor or array (an array's device is ``cpu``); else the type.

    Example:
        >>> import numpy
        >>> describe(numpy.zeros((2, 3))), describe(1.5)
        ({'shape': [2, 3], 'dtype': 'float64', 'device': 'cpu'}, {'dtype': 'float'})
    """
    shape = getattr(value, "shape", None)
    dtype = getattr(value, "dtype", None)
    if shape is None or dtype is None:
        return {"dtype": type(value).__name__}
    return {"shape": list(shape), "dtype": str(dtype).removeprefix("torch."),
            "device": str(getattr(value, "device", "cpu"))}


def printable(value: Any) -> bool:
    """True for what ``locals=True`` prints: numbers, vectors, matrices, tensors and arrays.

    Strings, None, enums, mappings, objects and values of more than 2 dimensions are left out.

    Example:
        >>> [printable(v) for v in (1.5, [1, 2], [[1.0, 0.0]], "x", None, [[[1]]], object())]
        [True, True, True, False, False, False, False]
    """
    return _printable(value, 2)


def _printable(value: Any, depth: int) -> bool:
    kind = type(value)
    if kind is float or kind is int or kind is bool or kind is complex:
        return True
    if isinstance(value, (list, tuple)):
        return depth > 0 and len(value) > 0 and all(_printable(item, depth - 1) for item in value)
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        return value.ndim <= depth and not value.is_meta
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        if isinstance(value, numpy.ndarray):
            return value.ndim <= depth and value.dtype.kind in "biufc"
        if isinstance(value, numpy.generic):
            return value.dtype.kind in "biufc"
    return False


def pick(value: Any, index: tuple[int, ...] | None) -> Any:
    """Apply ``index`` to a batched array/tensor when its leading dims can take it.

    The rule: ``value`` has ``ndim`` and ``shape`` (tensor, ndarray),
    ``value.ndim >= len(index)`` and ``-shape[i] <= index[i] < shape[i]``
    for each i; then ``value[index]`` is printed, otherwise ``value`` whole.

    Example:
        >>> import numpy
        >>> pick(numpy.arange(12).reshape(3, 4), (1, 2)).item()
        6
        >>> pick(numpy.arange(3), (1, 2)).tolist()
        [0, 1, 2]
    """
    if index is None:
        return value
    shape = getattr(value, "shape", None)
    ndim = getattr(value, "ndim", None)
    if not isinstance(ndim, int) or shape is None or ndim < len(index):
        return value
    for i, size in zip(index, shape):
        if not -size <= i < size:
            return value
    return value[index]


@functools.lru_cache(maxsize=64)
def _cached_renderer(prefix: str, style: str, fmt: Fmt) -> Renderer:
    return Renderer(prefix, style, fmt)


def format_line(name: str, value: Any, *, prefix: str = "TRACE_PY", style: str = "space",
                fmt: Fmt = "%.15g") -> str:
    """Render ``name`` and ``value`` as one trace line (no newline).

    Example:
        >>> format_line("pix0_vector_meters", [0.1, 0.0033, -0.0033], prefix="TRACE_C")
        'TRACE_C: pix0_vector_meters 0.1 0.0033 -0.0033'
        >>> format_line("Fclose_m", 0.217742295, style="equals")
        'TRACE_PY:Fclose_m=0.217742295'
    """
    try:
        renderer = _cached_renderer(prefix, style, fmt)
    except TypeError:  # an unhashable callable format cannot be a cache key
        renderer = Renderer(prefix, style, fmt)
    return renderer(name, value)
