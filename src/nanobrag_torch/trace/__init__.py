"""TRACE_PY traces of the port, tapped from the real computation, mirroring nanoBragg's TRACE_C lines.

``trace_run(config, pixel)`` traces a run: it builds the simulator while recording the detector block, and
traces one pixel's block with the derived tolerances of its ill-conditioned values (a ``TracedRun``); the
command line (``-trace_pixel``), the trace command and the parity tool all use it. Its parts:
``record_detector``/``detector_block`` give the detector block; ``trace_pixel`` (or ``tap_pixel``, which
also derives the tolerances) the per-pixel block of one pixel. ``QUIRKS_PATH`` is the declared-quirks file
for ``tracehooks diff`` against nanoBragg's instrumented C trace. Command line:
``python -m nanobrag_torch.trace pix0|pixel ...``.

Layers: this package's library modules use the configs and the simulator, never the command line
(``nanobrag_torch.cli``); only the trace command (``__main__``) uses the command line's parser
(``tests/nanobrag/test_imports.py`` checks it). The names are imported on first use, so that
``python -m nanobrag_torch.trace --help`` needs no torch.
"""

from .._lazy import lazy_exports
from pathlib import Path

QUIRKS_PATH = Path(__file__).with_name("nanobrag.quirks")

_LAZY = {
    "DetectorRecorder": "._detector",
    "PixelTrace": "._pixel",
    "TracedRun": "._run",
    "detector_block": "._detector",
    "record_detector": "._detector",
    "tap_pixel": "._pixel",
    "trace_pixel": "._pixel",
    "trace_run": "._run",
}

__all__ = sorted(["QUIRKS_PATH", *_LAZY])


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
