"""A pytest plugin: record what a block of code traces and compare it with a reference trace.

The fixture ``trace_check`` gives a :class:`TraceCheck`. Trace with it (``check.trace(...)`` takes
:func:`tracehooks.trace`'s arguments and records into ``check.lines``; ``check.extend(lines)`` adds
lines a harness built), then compare:

* ``check.against(reference, ...)``: with a reference log that the test never writes (a C trace);
* ``check.baseline(path, ...)``: with an earlier Python trace; ``pytest --tracehooks-update`` writes
  or refreshes it from what was recorded (and the comparison passes).

Both compare by name and occurrence (:func:`tracehooks.diff_traces`) with the tolerances given, else
the ini options ``tracehooks_rtol`` / ``tracehooks_atol`` (default ``1e-12`` / ``0``), and the
declared quirks and tolerances given (``quirks=`` defaults to the ini option ``tracehooks_quirks``,
a path relative to the rootdir). On a divergence the test fails with the diff's text report, which
names the first divergence.

Installed through the ``pytest11`` entry point (name ``tracehooks.pytest_plugin``); without it,
``-p tracehooks.pytest_plugin`` on the command line, or ``pytest_plugins = ["tracehooks.pytest_plugin"]``
in a test module (``--tracehooks-update`` then needs ``-p``, as options are parsed before test
modules are imported).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

import tracehooks

__all__ = ["TraceCheck", "trace_check"]

_UPDATE = "--tracehooks-update"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tracehooks")
    group.addoption(_UPDATE, action="store_true", default=False, dest="tracehooks_update",
                    help="write or refresh the Python trace baselines of trace_check.baseline()")
    parser.addini("tracehooks_rtol", "relative tolerance of trace_check comparisons", default="1e-12")
    parser.addini("tracehooks_atol", "absolute tolerance floor of trace_check comparisons", default="0")
    parser.addini("tracehooks_quirks", "declared quirks file of trace_check comparisons (rootdir-relative)",
                  default="")


class TraceCheck:
    """The lines one test traced, and their comparison with a reference or a baseline.

    Example:
        >>> import math
        >>> check = TraceCheck()
        >>> with check.trace(math, "hypot"):
        ...     _ = math.hypot(3, 4)
        >>> check.lines
        ['TRACE_PY: result 5']
        >>> check.against(["TRACE_C: result 5"]).summary()
        'MATCH: 1 value agrees (rtol 1e-12, atol 0); 0 known reference quirks; 0 divergences'
    """

    def __init__(self, *, rtol: float = 1e-12, atol: float = 0.0, quirks: Any = None,
                 update: bool = False) -> None:
        self.lines: list[str] = []
        self.rtol, self.atol, self.quirks, self.update = rtol, atol, quirks, update

    @contextmanager
    def trace(self, target: Any, name: str, **options: Any) -> Iterator[tracehooks.TraceHandle]:
        """``tracehooks.trace(target, name, **options)`` recording into ``lines`` (no ``sink=``)."""
        if "sink" in options:
            raise TypeError("trace_check.trace() records into trace_check.lines; sink= is not accepted")
        with tracehooks.trace(target, name, sink=self.lines, **options) as handle:
            yield handle

    def extend(self, lines: Iterable[str]) -> None:
        """Add lines traced some other way (a harness's block)."""
        self.lines.extend(lines)

    def against(self, reference: Any, *, rtol: float | None = None, atol: float | None = None,
                quirks: Any = None, tolerances: Any = (), py_subset: bool = False) -> tracehooks.DiffReport:
        """Compare ``lines`` with ``reference`` (a path or lines); fail the test with the report on a divergence."""
        __tracebackhide__ = True
        report = tracehooks.diff_traces(
            reference, self.lines, rtol=self.rtol if rtol is None else rtol,
            atol=self.atol if atol is None else atol, quirks=quirks if quirks is not None else self.quirks,
            tolerances=tolerances, py_subset=py_subset)
        if not report.ok:
            raise AssertionError(f"the traced lines diverge from {_shown(reference)}:\n"
                                 f"{tracehooks.render_text(report, width=0)}")
        return report

    def baseline(self, path: str | os.PathLike[str], **compare: Any) -> tracehooks.DiffReport | None:
        """Compare with the Python baseline at ``path``; with ``--tracehooks-update`` write it instead."""
        __tracebackhide__ = True
        path = Path(path)
        if self.update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(f"{line}\n" for line in self.lines), encoding="utf-8")
            return None
        if not path.exists():
            raise AssertionError(f"no trace baseline at {path}; run pytest {_UPDATE} to write it")
        return self.against(path, **compare)


def _shown(reference: Any) -> str:
    return str(reference) if isinstance(reference, (str, os.PathLike)) else "the reference lines"


@pytest.fixture
def trace_check(request: pytest.FixtureRequest) -> TraceCheck:
    """A :class:`TraceCheck` with the run's tolerances, quirks and ``--tracehooks-update`` flag."""
    config = request.config
    quirks = _ini(config, "tracehooks_quirks", "")
    return TraceCheck(rtol=float(_ini(config, "tracehooks_rtol", "1e-12")),
                      atol=float(_ini(config, "tracehooks_atol", "0")),
                      quirks=Path(config.rootpath, quirks) if quirks else None,
                      update=bool(config.getoption("tracehooks_update", default=False)))


def _ini(config: pytest.Config, name: str, default: str) -> str:
    try:
        return config.getini(name) or default
    except ValueError:  # registered too late (the plugin was loaded by a test module)
        return default
