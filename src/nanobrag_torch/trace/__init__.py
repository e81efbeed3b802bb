"""TRACE_PY traces of the port, tapped from the real computation, mirroring nanoBragg's TRACE_C lines.

``record_detector``/``detector_block`` give the detector block; ``trace_pixel`` the per-pixel block of
one pixel. ``QUIRKS_PATH`` is the declared-quirks file for ``tracehooks diff`` against nanoBragg's
instrumented C trace. Command line: ``python -m nanobrag_torch.trace pix0|pixel ...``.
"""

from pathlib import Path

from ._detector import DetectorRecorder, detector_block, record_detector
from ._pixel import trace_pixel

QUIRKS_PATH = Path(__file__).with_name("nanobrag.quirks")

__all__ = ["DetectorRecorder", "QUIRKS_PATH", "detector_block", "record_detector", "trace_pixel"]
