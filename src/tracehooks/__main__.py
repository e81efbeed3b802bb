"""``python -m tracehooks``: the same command line as the ``tracehooks`` script.

Example: ``python -m tracehooks diff trace_c.log trace_py.log --atol 1e-14``.
"""

from __future__ import annotations

from ._cli import main

if __name__ == "__main__":
    raise SystemExit(main())
