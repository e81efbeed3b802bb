"""The nanoBragg command line: ``parse_args`` turns flags into configs; ``main`` runs a simulation."""

from ._flags import CommandLineError
from ._main import main, run
from ._parse import ParsedCommandLine, parse_args

__all__ = ["CommandLineError", "ParsedCommandLine", "main", "parse_args", "run"]
