"""A differentiable PyTorch port of the nanoBragg X-ray diffraction simulator, in parity with the C program.

The names below are loaded on first use, so ``import nanobrag_torch`` (and the command line's ``--help``)
does not import torch, and importing one layer (``nanobrag_torch.simulator``) does not drag in the ones
above it (the command line, tracing).

Example:
    >>> import nanobrag_torch as nb
    >>> config = nb.SimulationConfig(detector=nb.DetectorConfig(fpixels=16, spixels=16, oversample=1),
    ...                              crystal=nb.CrystalConfig(cell=(100, 100, 100, 90, 90, 90), Na=5, Nb=5, Nc=5,
    ...                                                       default_F=100))
    >>> tuple(nb.Simulator.from_config(config).run().shape)
    (16, 16)
"""

from __future__ import annotations

from ._lazy import lazy_exports

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up
if TYPE_CHECKING:  # what static tools see; at run time __getattr__ below loads each name on first use
    from .cli import parse_args
    from .config import (BeamConfig, CrystalConfig, CrystalShape, DetectorConfig, DetectorConvention,
                         DetectorPivot, OutputConfig, SimulationConfig, SourcePoint)
    from .models.beam import Beam
    from .models.crystal import Crystal
    from .models.detector import Detector
    from .simulator import Simulator

__all__ = [
    "Beam",
    "BeamConfig",
    "Crystal",
    "CrystalConfig",
    "CrystalShape",
    "Detector",
    "DetectorConfig",
    "DetectorConvention",
    "DetectorPivot",
    "OutputConfig",
    "SimulationConfig",
    "Simulator",
    "SourcePoint",
    "parse_args",
]

# Exported name -> the module that defines it.
_HOMES = {
    "Beam": ".models.beam",
    "BeamConfig": ".config",
    "Crystal": ".models.crystal",
    "CrystalConfig": ".config",
    "CrystalShape": ".config",
    "Detector": ".models.detector",
    "DetectorConfig": ".config",
    "DetectorConvention": ".config",
    "DetectorPivot": ".config",
    "OutputConfig": ".config",
    "SimulationConfig": ".config",
    "Simulator": ".simulator",
    "SourcePoint": ".config",
    "parse_args": ".cli",
}


_load, __dir__ = lazy_exports(__name__, _HOMES, [*__all__, "__version__"])


def __getattr__(name: str):
    """Load an exported name (or ``__version__``) on first use and keep it in the module."""
    if name == "__version__":
        globals()[name] = _installed_version()
        return globals()[name]
    return _load(name)


def _installed_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("nanobrag-torch")
    except PackageNotFoundError:  # running from a source tree that was not installed
        return "0+unknown"
