"""TRACE_PY traces of the port, tapped from the real computation, mirroring nanoBragg's TRACE_C lines.

``record_detector``/``detector_block`` give the detector block; ``trace_pixel`` (or ``tap_pixel``, which
also derives the tolerances of the ill-conditioned values) the per-pixel block of one pixel. ``QUIRKS_PATH``
is the declared-quirks file for ``tracehooks diff`` against nanoBragg's instrumented C trace. Command line:
``python -m nanobrag_torch.trace pix0|pixel ...``.

The names are imported on first use, so that ``python -m nanobrag_torch.trace --help`` needs no torch.
"""

from importlib import import_module
from pathlib import Path

QUIRKS_PATH = Path(__file__).with_name("nanobrag.quirks")

_LAZY = {
    "DetectorRecorder": "._detector",
    "PixelTrace": "._pixel",
    "detector_block": "._detector",
    "record_detector": "._detector",
    "tap_pixel": "._pixel",
    "trace_pixel": "._pixel",
}

__all__ = sorted(["QUIRKS_PATH", *_LAZY])


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return __all__
