"""Typed configuration of a simulation: plain dataclasses in the user's units.

Field names carry their unit (``distance_mm``, ``phi_deg``, ``wavelength_A``); the models convert them to
the internal units (metres, radians) when they are built, and nowhere else. ``None`` always means
"not given: derive it the way nanoBragg does". Scalar fields that the simulation can differentiate
through (distances, beam centre, angles, cell constants, wavelength) also accept 0-d tensors.

Example:
    >>> from nanobrag_torch.config import DetectorConfig, DetectorConvention
    >>> config = DetectorConfig(convention=DetectorConvention.XDS, distance_mm=110.0,
    ...                         orgx_px=70.5, orgy_px=50.25, fpixels=128, spixels=128)
    >>> config.effective_pivot().name
    'SAMPLE'
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional, Sequence, Tuple, Union

from .units import mm_to_m

if TYPE_CHECKING:  # configs are plain data: parsing a command line needs neither torch nor numpy
    import numpy as np
    import torch

Scalar = Union[float, "torch.Tensor"]
Vector3 = Union[Tuple[float, float, float], Sequence[float], "torch.Tensor"]

__all__ = [
    "BeamConfig",
    "CrystalConfig",
    "CrystalShape",
    "DetectorConfig",
    "DetectorConvention",
    "DetectorPivot",
    "OutputConfig",
    "SimulationConfig",
    "SourcePoint",
]


class DetectorConvention(enum.Enum):
    """Beam-centre and axis conventions of nanoBragg (see docs/detector.md)."""

    ADXV = "adxv"
    MOSFLM = "mosflm"
    DENZO = "denzo"
    XDS = "xds"
    DIALS = "dials"
    CUSTOM = "custom"


class DetectorPivot(enum.Enum):
    """The point that stays fixed when the detector is rotated."""

    BEAM = "beam"
    SAMPLE = "sample"


class CrystalShape(enum.Enum):
    """Lattice transform of the crystal: parallelepiped, sphere, Gaussian or top-hat spots."""

    SQUARE = "square"
    ROUND = "round"
    GAUSS = "gauss"
    TOPHAT = "tophat"


# The convention fixes the pivot for every convention but CUSTOM, whatever the flags said.
_FORCED_PIVOT = {
    DetectorConvention.ADXV: DetectorPivot.BEAM,
    DetectorConvention.MOSFLM: DetectorPivot.BEAM,
    DetectorConvention.DENZO: DetectorPivot.BEAM,
    DetectorConvention.XDS: DetectorPivot.SAMPLE,
    DetectorConvention.DIALS: DetectorPivot.SAMPLE,
}


@dataclass
class DetectorConfig:
    """Detector geometry and sensor, as given by the user.

    Beam-centre inputs keep nanoBragg's meaning, which depends on ``convention``: ``xbeam_mm``/``ybeam_mm``
    are ``-Xbeam``/``-Ybeam``, ``xclose_mm``/``yclose_mm`` are ``-Xclose``/``-Yclose`` and ``orgx_px``/
    ``orgy_px`` are XDS's ORGX/ORGY in pixels. Axis vectors (``fdet_vector`` ...) are honoured only in the
    CUSTOM convention; the other conventions define their own. ``pix0_override_m`` places the first pixel
    explicitly (nanoBragg parses ``-pix0_vector`` but never uses it; the Python API honours this field).
    ``roi`` is ``(fast_min, fast_max, slow_min, slow_max)``, inclusive pixel indices.
    ``detsize_f_mm``/``detsize_s_mm`` default to ``pixels * pixel_size_mm``; nanoBragg's default beam centre
    is half the detector size, so a ``-detsize`` that is not a whole number of pixels moves it. The default
    detector, 1024 x 1024 pixels of 0.1 mm, is nanoBragg's default 102.4 mm square; given a size instead of
    a count, nanoBragg derives the count with ``pixels_across``.
    """

    convention: DetectorConvention = DetectorConvention.MOSFLM
    pivot: Optional[DetectorPivot] = None
    distance_mm: Scalar = 100.0
    close_distance_mm: Optional[Scalar] = None
    pixel_size_mm: float = 0.1
    fpixels: int = 1024
    spixels: int = 1024
    detsize_f_mm: Optional[float] = None
    detsize_s_mm: Optional[float] = None
    xbeam_mm: Optional[Scalar] = None
    ybeam_mm: Optional[Scalar] = None
    xclose_mm: Optional[Scalar] = None
    yclose_mm: Optional[Scalar] = None
    orgx_px: Optional[Scalar] = None
    orgy_px: Optional[Scalar] = None
    rotx_deg: Scalar = 0.0
    roty_deg: Scalar = 0.0
    rotz_deg: Scalar = 0.0
    twotheta_deg: Scalar = 0.0
    twotheta_axis: Optional[Vector3] = None
    fdet_vector: Optional[Vector3] = None
    sdet_vector: Optional[Vector3] = None
    odet_vector: Optional[Vector3] = None
    beam_vector: Optional[Vector3] = None
    pix0_override_m: Optional[Vector3] = None
    point_pixel: bool = False
    curved: bool = False
    thickness_um: float = 0.0
    attenuation_depth_um: Optional[float] = None
    thicksteps: Optional[int] = None
    oversample: Optional[int] = None
    oversample_thick: bool = False
    oversample_polar: bool = False
    oversample_omega: bool = False
    roi: Optional[Tuple[int, int, int, int]] = None
    mask: Optional[np.ndarray] = None

    def __post_init__(self) -> None:
        for name in ("fpixels", "spixels"):
            if int(getattr(self, name)) <= 0:
                raise ValueError(f"DetectorConfig.{name} must be a positive pixel count, got {getattr(self, name)!r}")
        if not float(self.pixel_size_mm) > 0:
            raise ValueError(f"DetectorConfig.pixel_size_mm must be positive, got {self.pixel_size_mm!r}")
        if self.convention is not DetectorConvention.CUSTOM:
            given = [n for n in ("fdet_vector", "sdet_vector", "odet_vector", "beam_vector")
                     if getattr(self, n) is not None]
            if given:
                raise ValueError(
                    f"DetectorConfig.{given[0]} is only honoured with convention CUSTOM, "
                    f"got convention {self.convention.name}")

    def effective_pivot(self) -> DetectorPivot:
        """The pivot the geometry uses: explicit ``pivot``, else the convention's, else BEAM."""
        if self.pivot is not None:
            return self.pivot
        return _FORCED_PIVOT.get(self.convention, DetectorPivot.BEAM)

    @staticmethod
    def forced_pivot(convention: DetectorConvention) -> Optional[DetectorPivot]:
        """The pivot nanoBragg imposes for ``convention`` (None for CUSTOM, where the flags decide)."""
        return _FORCED_PIVOT.get(convention)

    @staticmethod
    def pixels_across(size_mm: float, pixel_size_mm: float) -> int:
        """nanoBragg's pixel count for a detector ``size_mm`` wide: the nearest whole number of pixels, a
        half rounding down (``ceil(size/pixel - 0.5)``, computed in metres as the C does).

        Example:
            >>> DetectorConfig.pixels_across(100.0, 0.3), DetectorConfig.pixels_across(102.4, 0.1)
            (333, 1024)
        """
        return math.ceil(mm_to_m(size_mm) / mm_to_m(pixel_size_mm) - 0.5)

    def check_pixel(self, slow: int, fast: int) -> None:
        """Raise ``ValueError`` unless pixel (slow, fast) lies on the detector.

        Example:
            >>> DetectorConfig(fpixels=8, spixels=4).check_pixel(4, 2)
            Traceback (most recent call last):
            ...
            ValueError: pixel (slow 4, fast 2) is outside the 8x4 (fast x slow) detector
        """
        if not (0 <= slow < self.spixels and 0 <= fast < self.fpixels):
            raise ValueError(f"pixel (slow {slow}, fast {fast}) is outside the {self.fpixels}x{self.spixels} "
                             "(fast x slow) detector")


@dataclass(frozen=True)
class SourcePoint:
    """One line of a ``-sourcefile``: position (m, any length; only the direction matters), weight and
    wavelength (m). ``None`` fields take nanoBragg's defaults (10 m up-beam, weight 1, the beam wavelength)."""

    x_m: Optional[float] = None
    y_m: Optional[float] = None
    z_m: Optional[float] = None
    weight: Optional[float] = None
    wavelength_m: Optional[float] = None


@dataclass
class BeamConfig:
    """Incident beam: wavelength, dose, polarization and the divergence/dispersion source grid.

    The beam direction belongs to the detector convention (``DetectorConfig.beam_vector``).
    ``fluence`` is photons/m^2; when ``flux`` (photons/s) is non-zero, fluence is derived from
    ``flux * exposure_s / beamsize^2`` as nanoBragg does.
    """

    wavelength_A: Scalar = 1.0
    fluence: float = 1.25932015286227e29
    flux: float = 0.0
    exposure_s: float = 1.0
    beamsize_mm: float = 0.1
    kahn_factor: float = 0.0
    nopolar: bool = False
    polarization_axis: Optional[Vector3] = None
    hdivrange_mrad: Optional[float] = None
    vdivrange_mrad: Optional[float] = None
    hdivstep_mrad: Optional[float] = None
    vdivstep_mrad: Optional[float] = None
    hdivsteps: Optional[int] = None
    vdivsteps: Optional[int] = None
    round_div: bool = True
    dispersion_percent: Optional[float] = None
    dispsteps: Optional[int] = None
    source_points: Optional[Tuple[SourcePoint, ...]] = None
    water_um: float = 0.0


@dataclass
class CrystalConfig:
    """Crystal: cell or orientation matrix, size, shape, rotation, mosaicity and structure factors.

    Give either ``cell`` (a, b, c in Angstrom; alpha, beta, gamma in degrees) or ``reciprocal_matrix`` (the
    nine numbers of a MOSFLM ``.mat`` file, rows ``a*_x b*_x c*_x`` ..., which include the wavelength).
    ``misset_deg`` rotates the cell about x, y then z. ``hkl`` is an ``HKLTable`` (see ``nanobrag_torch.io``);
    without one every reflection has ``default_F``. ``xtal_size_mm`` (x, y, z) overrides N along a, b, c
    where positive.
    """

    cell: Optional[Tuple[Scalar, Scalar, Scalar, Scalar, Scalar, Scalar]] = None
    reciprocal_matrix: Optional[np.ndarray] = None
    misset_deg: Optional[Tuple[Scalar, Scalar, Scalar]] = None
    misset_random: bool = False
    misset_seed: Optional[int] = None
    Na: int = 1
    Nb: int = 1
    Nc: int = 1
    xtal_size_mm: Tuple[float, float, float] = (0.0, 0.0, 0.0)
    shape: CrystalShape = CrystalShape.SQUARE
    fudge: float = 1.0
    phi0_deg: Scalar = 0.0
    osc_deg: Optional[float] = None
    phistep_deg: Optional[float] = None
    phisteps: Optional[int] = None
    spindle_axis: Optional[Vector3] = None
    mosaic_spread_deg: Optional[float] = None
    mosaic_domains: Optional[int] = None
    mosaic_seed: int = 12345678
    default_F: float = 0.0
    hkl: Optional[object] = None
    interpolate: Optional[bool] = None


@dataclass
class OutputConfig:
    """What the command line writes and prints (not used by the simulator itself).

    Relative output paths are written in ``output_dir`` (None: the current folder, as nanoBragg does).
    ``dump_path`` is the structure-factor cache nanoBragg writes after an ``-hkl`` run, and reads when
    ``-hkl`` is absent.
    """

    floatfile: Optional[str] = "floatimage.bin"
    intfile: Optional[str] = "intimage.img"
    pgmfile: Optional[str] = "image.pgm"
    noisefile: Optional[str] = "noiseimage.img"
    write_pgm: bool = True
    write_noise: bool = True
    intfile_scale: float = 0.0
    pgm_scale: float = 0.0
    adc_offset: float = 40.0
    seed: Optional[int] = None
    trace_pixel: Optional[Tuple[int, int]] = None
    progress: Optional[bool] = None
    hkl_path: Optional[str] = None
    dump_path: str = "Fdump.bin"
    output_dir: Optional[str] = None


@dataclass
class SimulationConfig:
    """Everything the simulator needs. ``c_compat`` reproduces nanoBragg's physics bugs bit for bit
    (see docs/c_compat.md); the default computes the corrected physics."""

    detector: DetectorConfig = field(default_factory=DetectorConfig)
    beam: BeamConfig = field(default_factory=BeamConfig)
    crystal: CrystalConfig = field(default_factory=CrystalConfig)
    dmin_A: float = 0.0
    c_compat: bool = False
