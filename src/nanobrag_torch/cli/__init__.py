"""The nanoBragg command line: ``parse_args`` turns flags into configs; ``main`` runs a simulation.

Names are loaded on first use: ``from nanobrag_torch.cli import main`` (the console script) loads only
``main``'s module, which imports nothing beyond the standard library until it needs to (see ``_main``).
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up
if TYPE_CHECKING:  # what static tools see; at run time __getattr__ below loads each name on first use
    from ._flags import CommandLineError
    from ._main import main, run
    from ._parse import ParsedCommandLine, parse_args

__all__ = ["CommandLineError", "ParsedCommandLine", "main", "parse_args", "run"]

# Exported name -> the module that defines it.
_HOMES = {
    "CommandLineError": "._flags",
    "ParsedCommandLine": "._parse",
    "main": "._main",
    "parse_args": "._parse",
    "run": "._main",
}


def __getattr__(name: str):
    """Load an exported name on first use and keep it in the module."""
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
