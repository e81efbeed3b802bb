"""A differentiable PyTorch port of the nanoBragg X-ray diffraction simulator, in parity with the C program.

Example:
    >>> import nanobrag_torch as nb
    >>> config = nb.SimulationConfig(detector=nb.DetectorConfig(fpixels=16, spixels=16, oversample=1),
    ...                              crystal=nb.CrystalConfig(cell=(100, 100, 100, 90, 90, 90), Na=5, Nb=5, Nc=5,
    ...                                                       default_F=100))
    >>> tuple(nb.Simulator.from_config(config).run().shape)
    (16, 16)
"""

from importlib.metadata import PackageNotFoundError, version

from .cli import parse_args
from .config import (BeamConfig, CrystalConfig, CrystalShape, DetectorConfig, DetectorConvention, DetectorPivot,
                     OutputConfig, SimulationConfig, SourcePoint)
from .models.beam import Beam
from .models.crystal import Crystal
from .models.detector import Detector
from .simulator import Simulator

try:
    __version__ = version("nanobrag-torch")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"

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
