"""The nanoBragg command line: ``parse_args`` turns flags into configs; ``main`` runs a simulation.

Names are loaded on first use: ``from nanobrag_torch.cli import main`` (the console script) loads only
``main``'s module, which imports nothing beyond the standard library until it needs to (see ``_main``).
"""

from __future__ import annotations

from .._lazy import lazy_exports

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


__getattr__, __dir__ = lazy_exports(__name__, _HOMES, __all__)
