"""Detector geometry: a frame (fast axis, slow axis, normal, origin ``pix0``) placed the way nanoBragg does.

Lengths are metres and angles radians inside the model; ``DetectorConfig`` is converted once, in
``__init__``. The geometry follows nanoBragg step by step, in its operation order, so float64 results match
the C program bit for bit:

1. axes from the convention table (or the user's, in CUSTOM), unit length;
2. ``ratio`` = beam . normal rotated by rotx/roty/rotz (not by two-theta); the close distance defaults to
   ``|ratio * distance|`` and the distance becomes ``close_distance / ratio``;
3. SAMPLE pivot: origin from the near point on the unrotated detector, then rotated with the detector;
   BEAM pivot: axes rotated first, then the origin placed so that the beam hits (Fbeam, Sbeam);
4. the axes are rotated about x, y, z, then about the two-theta axis;
5. near point, close distance, beam position and distance are re-derived from the final frame.

Example:
    >>> from nanobrag_torch.config import DetectorConfig
    >>> det = Detector(DetectorConfig(fpixels=128, spixels=128))
    >>> [round(float(x), 6) for x in det.pix0_vector]
    [0.1, 0.0065, -0.0065]
"""

from __future__ import annotations

import math
from typing import Optional

import torch

from .. import units
from .._c_numbers import DBL_MIN
from ..c_bugs import LAYER_SPACING, TWOTHETA_AXIS_AS_TYPED, reproduced
from ..config import DetectorConfig, DetectorConvention, DetectorPivot
from ..geometry import cross3, dot3, matvec3, rotate_axis, rotation_matrices_xyz, unitize
from .conventions import BEAM_CENTRE_RULES, CONVENTION_AXES

__all__ = ["Detector", "nanobrag_odet_vector"]


def nanobrag_odet_vector(fdet, sdet, odet):
    """The normal nanoBragg actually uses for ``-odet_vector``: the given one if its length is exactly
    1.0 in double precision, else ``unit(unit(fdet) x unit(sdet))``. Returns ``(vector, replaced)``.

    Example:
        >>> vector, replaced = nanobrag_odet_vector((0, 0, 1), (0, -1, 0), (0.99, 0, 0))
        >>> [float(x) + 0.0 for x in vector], replaced
        ([1.0, 0.0, 0.0], True)
    """
    as64 = lambda v: torch.as_tensor(v, dtype=torch.float64)
    o, length = unitize(as64(odet))
    if float(length) == 1.0:
        return tuple(float(x) for x in o), False
    f, _ = unitize(as64(fdet))
    s, _ = unitize(as64(sdet))
    o, _ = unitize(cross3(f, s))
    return tuple(float(x) for x in o), True


class Detector:
    """A flat (or nanoBragg-curved) pixel detector.

    Attributes (tensors, metres): ``fdet_vec``, ``sdet_vec``, ``odet_vec`` (final unit axes),
    ``beam_vector``, ``pix0_vector`` (lab position of the first pixel's corner), ``close_distance_m``
    (sample to detector plane along the normal), ``distance_m`` (close distance / ratio),
    ``beam_fast_m``/``beam_slow_m`` (where the direct beam hits), ``near_fast_m``/``near_slow_m`` (foot of
    the normal). ``pixel_positions_m()`` gives every pixel centre as one (slow, fast, 3) tensor.
    ``c_compat=True`` reproduces the C's detector bugs (``reproduced``: see ``nanobrag_torch.c_bugs``).
    """

    def __init__(self, config: DetectorConfig, *, c_compat: bool = False,
                 device: Optional[torch.device] = None, dtype: torch.dtype = torch.float64):
        self.config = config
        self.c_compat = c_compat
        self.reproduced = reproduced(c_compat)
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.dtype = dtype
        self.convention = config.convention
        self.pivot = config.effective_pivot()
        self._read_sizes(config)
        self._read_angles(config)
        self.apply_custom_vectors()
        self._place_beam_centre(config)
        self._beam_normal_ratio = self._ratio_of_beam_to_normal()
        self.fdet_vec, self.sdet_vec, self.odet_vec = self._rotate_axes()
        self.pix0_vector = self._calculate_pix0_vector()
        self._derive_frame_quantities()

    # -- configuration (the unit boundary) ------------------------------------------------------------

    def _tensor(self, value) -> torch.Tensor:
        return torch.as_tensor(value, dtype=self.dtype, device=self.device)

    def _read_sizes(self, config: DetectorConfig) -> None:
        self.fpixels, self.spixels = int(config.fpixels), int(config.spixels)
        self.pixel_size_m = units.mm_to_m(float(config.pixel_size_mm))
        detsize_f = config.detsize_f_mm
        detsize_s = config.detsize_s_mm
        self.detsize_f_m = units.mm_to_m(detsize_f) if detsize_f is not None else self.pixel_size_m * self.fpixels
        self.detsize_s_m = units.mm_to_m(detsize_s) if detsize_s is not None else self.pixel_size_m * self.spixels
        self.thickness_m = units.um_to_m(float(config.thickness_um))
        if config.attenuation_depth_um is None:
            # nanoBragg: an unspecified attenuation depth equals the sensor thickness.
            self.attenuation_mu_per_m = 1.0 / self.thickness_m if self.thickness_m > 0 else -1.0
        elif math.isinf(config.attenuation_depth_um) or config.attenuation_depth_um == 0:
            self.attenuation_mu_per_m = 0.0
        else:
            self.attenuation_mu_per_m = 1.0 / units.um_to_m(float(config.attenuation_depth_um))
        self.thicksteps, self.thickstep_m = self._layers(config.thicksteps)

    def _layers(self, requested: Optional[int]) -> tuple[int, float]:
        """Number of sensor layers and their spacing (m)."""
        if self.thickness_m <= 0:
            return 1, 0.0
        if requested is None or requested <= 0:
            return 2, self.thickness_m / 2
        if LAYER_SPACING in self.reproduced:
            steps = max(int(requested), 2)
            return steps, self.thickness_m / (steps - 1)
        return int(requested), self.thickness_m / int(requested)

    def _read_angles(self, config: DetectorConfig) -> None:
        self.rotx_rad = units.deg_to_rad(self._tensor(config.rotx_deg))
        self.roty_rad = units.deg_to_rad(self._tensor(config.roty_deg))
        self.rotz_rad = units.deg_to_rad(self._tensor(config.rotz_deg))
        self.twotheta_rad = units.deg_to_rad(self._tensor(config.twotheta_deg))
        self.distance_input_m = units.mm_to_m(self._tensor(config.distance_mm))
        self.close_distance_input_m = (None if config.close_distance_mm is None
                                       else units.mm_to_m(self._tensor(config.close_distance_mm)))

    def apply_custom_vectors(self) -> None:
        """Set the unrotated axes, the beam direction, the two-theta axis and the origin override.

        The convention's table gives the axes; in CUSTOM the user's vectors replace them. Axes and beam
        are made unit length (a zero vector stays zero, as in nanoBragg); the two-theta axis is normalised
        too unless ``c_compat`` reproduces ``c_bugs.TWOTHETA_AXIS_AS_TYPED``.
        """
        config, table = self.config, CONVENTION_AXES[self.convention]
        custom = self.convention is DetectorConvention.CUSTOM

        def pick(given, default):
            return self._tensor(given if (custom and given is not None) else default)

        self.beam_vector, _ = unitize(pick(config.beam_vector, table.beam))
        self.initial_fdet, _ = unitize(pick(config.fdet_vector, table.fdet))
        self.initial_sdet, _ = unitize(pick(config.sdet_vector, table.sdet))
        self.initial_odet, _ = unitize(pick(config.odet_vector, table.odet))
        axis = self._tensor(config.twotheta_axis if config.twotheta_axis is not None else table.twotheta_axis)
        self.twotheta_axis = axis if TWOTHETA_AXIS_AS_TYPED in self.reproduced else unitize(axis)[0]
        self.pix0_override = None if config.pix0_override_m is None else self._tensor(config.pix0_override_m)

    def _place_beam_centre(self, config: DetectorConfig) -> None:
        """Beam centre and near point on the unrotated detector, from the user's numbers (metres)."""
        px, det_f, det_s = self.pixel_size_m, self.detsize_f_m, self.detsize_s_m
        as_m = lambda v: None if v is None else units.mm_to_m(self._tensor(v))
        near_f = (self._tensor(config.orgx_px) - 0.5) * px if config.orgx_px is not None else self._tensor(det_f / 2.0)
        near_s = (self._tensor(config.orgy_px) - 0.5) * px if config.orgy_px is not None else self._tensor(det_s / 2.0)
        self.xclose_m = as_m(config.xclose_mm) if config.xclose_mm is not None else near_f
        self.yclose_m = as_m(config.yclose_mm) if config.yclose_mm is not None else near_s
        rule = BEAM_CENTRE_RULES[self.convention]
        xbeam, ybeam = as_m(config.xbeam_mm), as_m(config.ybeam_mm)
        self.xbeam_m = xbeam if xbeam is not None else self._tensor(
            rule.default_x(det_f, det_s, px, self.xclose_m, self.yclose_m))
        self.ybeam_m = ybeam if ybeam is not None else self._tensor(
            rule.default_y(det_f, det_s, px, self.xclose_m, self.yclose_m))
        self._beam_fs_input = (rule.fast(self.xbeam_m, self.ybeam_m, det_s, px),
                               rule.slow(self.xbeam_m, self.ybeam_m, det_s, px))
        self._near_fs_input = self._beam_fs_input if rule.beam_is_near_point else (near_f, near_s)

    # -- geometry (in nanoBragg's order) ---------------------------------------------------------------

    def _ratio_of_beam_to_normal(self) -> torch.Tensor:
        """beam . normal, the normal rotated by rotx/roty/rotz only (two-theta excluded, as in the C)."""
        rx, ry, rz = rotation_matrices_xyz(self.rotx_rad, self.roty_rad, self.rotz_rad)
        normal = matvec3(rz, matvec3(ry, matvec3(rx, self.initial_odet)))
        ratio = dot3(self.beam_vector, normal)
        # nanoBragg replaces a zero ratio by DBL_MIN rather than divide by zero.
        return torch.where(ratio == 0, torch.full_like(ratio, DBL_MIN), ratio)

    def _rotate_axes(self):
        """Rotate the axes about x, y, z, then about the two-theta axis."""
        rotation_x, rotation_y, rotation_z = rotation_matrices_xyz(self.rotx_rad, self.roty_rad, self.rotz_rad)

        def rotate(v):
            return matvec3(rotation_z, matvec3(rotation_y, matvec3(rotation_x, v)))

        fdet_after_rotz = rotate(self.initial_fdet)
        sdet_after_rotz = rotate(self.initial_sdet)
        odet_after_rotz = rotate(self.initial_odet)
        fdet_after_twotheta = rotate_axis(fdet_after_rotz, self.twotheta_axis, self.twotheta_rad)
        sdet_after_twotheta = rotate_axis(sdet_after_rotz, self.twotheta_axis, self.twotheta_rad)
        odet_after_twotheta = rotate_axis(odet_after_rotz, self.twotheta_axis, self.twotheta_rad)
        return fdet_after_twotheta, sdet_after_twotheta, odet_after_twotheta

    def _calculate_pix0_vector(self) -> torch.Tensor:
        """Lab position of the first pixel's corner for the detector's pivot (or the explicit override)."""
        ratio = self._beam_normal_ratio
        if self.close_distance_input_m is not None:
            close_distance = self.close_distance_input_m
        else:
            close_distance = torch.abs(ratio * self.distance_input_m)
        distance = close_distance / ratio
        if self.pivot is DetectorPivot.SAMPLE:
            Fclose, Sclose = self._near_fs_input
            term_fast_before_rot = -Fclose * self.initial_fdet
            term_slow_before_rot = -Sclose * self.initial_sdet
            term_close_before_rot = close_distance * self.initial_odet
            pix0 = term_fast_before_rot + term_slow_before_rot + term_close_before_rot
            rotation_x, rotation_y, rotation_z = rotation_matrices_xyz(self.rotx_rad, self.roty_rad, self.rotz_rad)
            pix0 = matvec3(rotation_z, matvec3(rotation_y, matvec3(rotation_x, pix0)))
            pix0 = rotate_axis(pix0, self.twotheta_axis, self.twotheta_rad)
        else:
            Fbeam, Sbeam = self._beam_fs_input
            term_fast = -Fbeam * self.fdet_vec
            term_slow = -Sbeam * self.sdet_vec
            term_beam = distance * self.beam_vector
            pix0 = term_fast + term_slow + term_beam
        if self.pix0_override is not None:
            pix0 = self.pix0_override
        return pix0

    def _derive_frame_quantities(self) -> None:
        """Near point, distances and beam position of the final frame (nanoBragg recomputes them)."""
        pix0 = self.pix0_vector
        self.near_fast_m = -dot3(pix0, self.fdet_vec)
        self.near_slow_m = -dot3(pix0, self.sdet_vec)
        self.close_distance_m = dot3(pix0, self.odet_vec)
        beam_spot = (self.close_distance_m / self._beam_normal_ratio) * self.beam_vector - pix0
        self.beam_fast_m = dot3(self.fdet_vec, beam_spot)
        self.beam_slow_m = dot3(self.sdet_vec, beam_spot)
        self.distance_m = self.close_distance_m / self._beam_normal_ratio
        self.orgx_px = self.near_fast_m / self.pixel_size_m + 0.5
        self.orgy_px = self.near_slow_m / self.pixel_size_m + 0.5
        # DIALS' lab frame has x along -x of nanoBragg's.
        self.dials_origin_mm = torch.stack((1000.0 * pix0[2], 1000.0 * pix0[1], 1000.0 * -pix0[0]))

    # -- per-pixel quantities -------------------------------------------------------------------------

    def positions_m(self, fast_m: torch.Tensor, slow_m: torch.Tensor, depth_m=0.0) -> torch.Tensor:
        """Lab position (..., 3) of detector coordinates ``fast_m``/``slow_m`` (from the origin, along the
        axes) at ``depth_m`` into the sensor; broadcasts. ``curved`` maps them onto nanoBragg's sphere.

        Stored component by component (a (..., 3) view of three planes): each component is summed over long
        contiguous rows, where broadcasting against a last axis of 3 runs rows of 3 elements, and the dot
        products that read the positions then read contiguous planes. Per element the operations are those
        of ``fast_m * fdet + slow_m * sdet + depth_m * odet + pix0``, in that order."""
        fast_m, slow_m, depth_m = self._tensor(fast_m), self._tensor(slow_m), self._tensor(depth_m)
        f, s, o, pix0 = self.fdet_vec, self.sdet_vec, self.odet_vec, self.pix0_vector
        planes = [fast_m * f[..., i] + slow_m * s[..., i] + depth_m * o[..., i] + pix0[..., i] for i in range(3)]
        position = torch.stack(planes).movedim(0, -1)
        if self.config.curved:
            position = self._curve(position)
        return position

    def _curve(self, flat_position: torch.Tensor) -> torch.Tensor:
        """nanoBragg's curved detector: every pixel at ``distance`` from the sample. The lab y and z of the
        flat pixel become angles about the slow and fast axes, which matches the detector plane only for a
        beam along x (documented limitation of the C's mapping, kept as is)."""
        on_axis = (self.distance_m * self.beam_vector).expand_as(flat_position)
        swung = rotate_axis(on_axis, self.sdet_vec, flat_position[..., 1] / self.distance_m)
        return rotate_axis(swung, self.fdet_vec, flat_position[..., 2] / self.distance_m)

    def subpixel_coordinates_m(self, pixel_index: torch.Tensor, oversample: int) -> torch.Tensor:
        """Coordinates (pixels, oversample) of sub-pixel centres along one axis, as nanoBragg computes
        them: ``subpixel_size * (index * oversample + sub) + subpixel_size / 2``."""
        subpixel_size = self.pixel_size_m / oversample
        sub = torch.arange(oversample, device=self.device)
        steps = (pixel_index.to(self.device).unsqueeze(-1) * oversample + sub).to(self.dtype)
        return subpixel_size * steps + subpixel_size / 2.0

    def pixel_positions_m(self) -> torch.Tensor:
        """Centres of all pixels as one (slow, fast, 3) tensor."""
        fast = self.subpixel_coordinates_m(torch.arange(self.fpixels), 1)[:, 0]
        slow = self.subpixel_coordinates_m(torch.arange(self.spixels), 1)[:, 0]
        return self.positions_m(fast.unsqueeze(0), slow.unsqueeze(1))

    def solid_angle_sr(self, positions_m: Optional[torch.Tensor] = None,
                       airpath_m: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Solid angle of a pixel at each position: pixel area x obliquity / R^2 (1/R^2 for point pixels).
        Without positions: of every pixel, as a (slow, fast) tensor. ``airpath_m``, the positions' distances
        from the sample (``sqrt(dot3(p, p))``), spares computing them again where the caller has them."""
        if positions_m is None:
            positions_m = self.pixel_positions_m()
        airpath = torch.sqrt(dot3(positions_m, positions_m)) if airpath_m is None else airpath_m
        if self.config.point_pixel:
            return 1.0 / airpath / airpath
        return self.pixel_size_m * self.pixel_size_m / airpath / airpath * self.close_distance_m / airpath

    def obliquity(self, positions_m: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Cosine between the detector normal and the ray to each position (close distance / R); without
        positions, of every pixel."""
        if positions_m is None:
            positions_m = self.pixel_positions_m()
        return self.close_distance_m / torch.sqrt(dot3(positions_m, positions_m))

    def capture_fraction(self, diffracted_unit: torch.Tensor, layer: int) -> torch.Tensor:
        """Fraction of photons along ``diffracted_unit`` absorbed in sensor layer ``layer``."""
        if self.thickness_m == 0.0:
            return torch.ones_like(diffracted_unit[..., 0])
        parallax = dot3(diffracted_unit, self.odet_vec)
        step, mu = self.thickstep_m, self.attenuation_mu_per_m
        return torch.exp(-layer * step * mu / parallax) - torch.exp(-(layer + 1) * step * mu / parallax)

    @property
    def layer_depths_m(self) -> torch.Tensor:
        """Depth of the front of each sensor layer."""
        return torch.arange(self.thicksteps, dtype=self.dtype, device=self.device) * self.thickstep_m
