"""Crystal model: unit cell, orientation, size, spindle and mosaic domains, built as nanoBragg builds them.

The set-up follows the C step by step, in its operation order, so float64 vectors match its traces bit
for bit:

1. reciprocal vectors from the cell constants (the C's "default orientation": a* along x, b* in the x-y
   plane), or from a MOSFLM matrix scaled by ``1e-10 / lambda0`` (``lambda0`` in metres);
2. rotation by the misset angles about x, y then z (or by a random orientation drawn from ``misset_seed``);
3. real vectors ``a = V_cell (b* x c*)`` ...; with a user cell the cross products are first rescaled to the
   typed lengths and ``V_cell`` re-derived as ``1 / (1 / V_cell)``;
4. reciprocal vectors re-generated from the real ones, ``a* = V_star (b x c)`` ...;
5. real vectors converted to metres (the C's ``a0``/``b0``/``c0``), the crystal size turned into N.

Everything differentiable in the C's inputs (cell lengths and angles, misset angles, wavelength for a
matrix, phi0) stays a tensor; discrete choices (N, step counts, mosaic domains) are Python numbers.

Example:
    >>> from nanobrag_torch.config import CrystalConfig
    >>> xtal = Crystal(CrystalConfig(cell=(100, 100, 100, 90, 90, 90), Na=5, Nb=5, Nc=5, default_F=100),
    ...                wavelength_A=1.0, spindle_axis_default=(0.0, 0.0, 1.0))
    >>> [round(float(v), 12) for v in xtal.a_star], xtal.Na, round(float(xtal.cell_volume_A3))
    ([0.01, 0.0, 0.0], 5.0, 1000000)
"""

from __future__ import annotations

import math
import time
from typing import Optional, Union

import numpy as np
import torch

from .. import physics, units
from .._c_numbers import DBL_MIN
from ..config import CrystalConfig, CrystalShape
from ..geometry import cross3, dot3, matvec3, norm3, rotate_axis, rotate_xyz, unitize
from ..rng import CRandom
from .mosaic import mosaic_domain_umats, mosaic_rotation_umat, umat2misset

__all__ = ["Crystal"]

# -misset random draws a rotation on a "spherical cap" this wide: the whole sphere.
_RANDOM_ORIENTATION_CAP = 90.0


class Crystal:
    """A mosaic crystal on a spindle (see the module notes for the order of the set-up).

    Tensors (``dtype`` on ``device``): ``a_star``, ``b_star``, ``c_star`` (1/Angstrom, static, after
    misset), ``a``, ``b``, ``c`` (metres, phi = 0, no mosaic), ``cell_volume_A3``, ``misset_rad`` (the
    angles applied, zeros when none), ``xtal_size_max_m``, ``phi0_rad``, ``phi_angles_rad`` (phisteps,),
    ``spindle_axis`` (unit), ``mosaic_umats`` (domains, 3, 3; domain 0 the identity), ``F_table`` (or
    None). Numbers: ``Na``/``Nb``/``Nc`` (floats), ``phistep_rad``, ``osc_rad``, ``phisteps``,
    ``mosaic_spread_rad``, ``mosaic_domains``, ``default_F``, ``interpolate`` (resolved), ``shape``,
    ``fudge``, ``hkl_ranges`` (None without a table); ``hkl_table`` is the table object as given.

    Example:
        >>> from nanobrag_torch.config import CrystalConfig
        >>> xtal = Crystal(CrystalConfig(cell=(50, 60, 70, 90, 90, 90), misset_deg=(0, 0, 90), default_F=1),
        ...                wavelength_A=1.0, spindle_axis_default=(0.0, 0.0, 1.0))
        >>> [round(float(x) * 1e10, 9) + 0.0 for x in xtal.a], xtal.interpolate
        ([0.0, 50.0, 0.0], False)
    """

    def __init__(self, config: CrystalConfig, *, wavelength_A, spindle_axis_default,
                 device: Optional[torch.device] = None, dtype: torch.dtype = torch.float64):
        _check_config(config)
        self.config = config
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.dtype = dtype
        self.shape = config.shape
        self.fudge = float(config.fudge)
        self.wavelength_m = units.angstrom_to_m(self._tensor(wavelength_A))
        user_cell, a_star, b_star, c_star = self._initial_reciprocal_vectors(config)
        a_star, b_star, c_star = self._apply_misset(config, a_star, b_star, c_star)
        self._build_cell(user_cell, a_star, b_star, c_star)
        self._size_crystal(config)
        self._read_spindle(config, spindle_axis_default)
        self._read_mosaic(config)
        self._read_structure_factors(config)

    def _tensor(self, value) -> torch.Tensor:
        return torch.as_tensor(value, dtype=self.dtype, device=self.device)

    # -- orientation ---------------------------------------------------------------------------------

    def _initial_reciprocal_vectors(self, config: CrystalConfig):
        """Reciprocal vectors before misset, plus (a, b, c, V_cell) of a user cell (None for a matrix)."""
        if config.cell is not None:
            lengths = [self._tensor(v) for v in config.cell[:3]]
            angles = [units.deg_to_rad(self._tensor(v)) for v in config.cell[3:]]
            return _reciprocal_from_cell(*lengths, *angles)
        matrix = self._tensor(np.asarray(config.reciprocal_matrix, dtype=np.float64))
        # A MOSFLM matrix carries the wavelength; the C divides it out with this exact expression.
        scale = 1e-10 / self.wavelength_m
        return None, scale * matrix[:, 0], scale * matrix[:, 1], scale * matrix[:, 2]

    def _apply_misset(self, config: CrystalConfig, a_star, b_star, c_star):
        if config.misset_random:
            seed = config.misset_seed if config.misset_seed is not None else int(time.time())
            umat = mosaic_rotation_umat(_RANDOM_ORIENTATION_CAP, CRandom.from_option(seed))
            angles = self._tensor(umat2misset(umat))
        elif config.misset_deg is not None:
            angles = torch.stack([units.deg_to_rad(self._tensor(v)) for v in config.misset_deg])
        else:
            self.misset_rad = torch.zeros(3, dtype=self.dtype, device=self.device)
            return a_star, b_star, c_star
        self.misset_rad = angles
        return tuple(rotate_xyz(v, angles[0], angles[1], angles[2]) for v in (a_star, b_star, c_star))

    def _build_cell(self, user_cell, a_star, b_star, c_star) -> None:
        """Real vectors from the reciprocal ones, then the reciprocal ones again from the real ones."""
        a_star_cross_b_star = cross3(a_star, b_star)
        b_star_cross_c_star = cross3(b_star, c_star)
        c_star_cross_a_star = cross3(c_star, a_star)
        V_star = dot3(a_star, b_star_cross_c_star)
        if user_cell is not None:
            a_len, b_len, c_len, V_cell = user_cell
            # Force |b* x c*| = a / V_cell ... so that the typed cell lengths take.
            b_star_cross_c_star = _rescale(b_star_cross_c_star, a_len / V_cell)
            c_star_cross_a_star = _rescale(c_star_cross_a_star, b_len / V_cell)
            a_star_cross_b_star = _rescale(a_star_cross_b_star, c_len / V_cell)
            V_star = 1.0 / V_cell
        V_cell = 1.0 / V_star
        a_A = V_cell * b_star_cross_c_star
        b_A = V_cell * c_star_cross_a_star
        c_A = V_cell * a_star_cross_b_star
        self.a_star = V_star * cross3(b_A, c_A)
        self.b_star = V_star * cross3(c_A, a_A)
        self.c_star = V_star * cross3(a_A, b_A)
        self.cell_volume_A3 = V_cell
        self.a, self.b, self.c = (units.length_angstrom_to_m(v) for v in (a_A, b_A, c_A))

    # -- size, spindle, mosaic -----------------------------------------------------------------------

    def _size_crystal(self, config: CrystalConfig) -> None:
        """N along each axis: from the crystal size where one is given (ceil(size / |a|)), at least 1."""
        counts = []
        for n, size_mm, vector in zip((config.Na, config.Nb, config.Nc), config.xtal_size_mm,
                                      (self.a, self.b, self.c)):
            count = float(n)
            size_m = units.mm_to_m(float(size_mm))
            if size_m > 0:
                count = float(math.ceil(size_m / float(norm3(vector))))
            counts.append(1.0 if count <= 1.0 else count)
        self.Na, self.Nb, self.Nc = counts
        sizes = [norm3(v) * n for v, n in zip((self.a, self.b, self.c), counts)]
        self.xtal_size_max_m = torch.maximum(torch.maximum(sizes[0], sizes[1]), sizes[2])

    def _read_spindle(self, config: CrystalConfig, spindle_axis_default) -> None:
        axis = config.spindle_axis if config.spindle_axis is not None else spindle_axis_default
        self.spindle_axis, _ = unitize(self._tensor(axis))
        self.phi0_rad = units.deg_to_rad(self._tensor(config.phi0_deg))
        # nanoBragg marks "not given" with -1 and derives the missing numbers from the others.
        osc = units.deg_to_rad(float(config.osc_deg)) if config.osc_deg is not None else -1.0
        step = units.deg_to_rad(float(config.phistep_deg)) if config.phistep_deg is not None else -1.0
        steps = int(config.phisteps) if config.phisteps is not None else -1
        self.phisteps, self.osc_rad, self.phistep_rad = _resolve_phi_sampling(steps, osc, step)
        tics = torch.arange(self.phisteps, device=self.device).to(self.dtype)
        self.phi_angles_rad = self.phi0_rad + self.phistep_rad * tics

    def _read_mosaic(self, config: CrystalConfig) -> None:
        spread = units.deg_to_rad(float(config.mosaic_spread_deg)) if config.mosaic_spread_deg is not None else -1.0
        domains = int(config.mosaic_domains) if config.mosaic_domains is not None else -1
        self.mosaic_spread_rad, self.mosaic_domains = _resolve_mosaic(spread, domains)
        umats = mosaic_domain_umats(self.mosaic_spread_rad, self.mosaic_domains,
                                    CRandom.from_option(config.mosaic_seed))
        self.mosaic_umats = self._tensor(umats)

    def _read_structure_factors(self, config: CrystalConfig) -> None:
        self.default_F = float(config.default_F)
        table = config.hkl
        self.hkl_table = table
        if table is None:
            self.F_table, self.hkl_ranges = None, None
        else:
            self.hkl_ranges = tuple(int(getattr(table, f"{axis}_{end}"))
                                    for axis in "hkl" for end in ("min", "max"))
            self.F_table = self._tensor(np.asarray(table.F, dtype=np.float64))
        # The C decides on the N typed on the command line, before the crystal size replaces them.
        wanted = config.interpolate
        if wanted is None:
            wanted = min(config.Na, config.Nb, config.Nc) <= 2
        self.interpolate = bool(wanted) and self.F_table is not None

    # -- per-evaluation quantities -------------------------------------------------------------------

    def rotated_real_vectors_m(self, phi_rad):
        """Real vectors (metres) rotated by ``phi_rad`` about the spindle, then by each mosaic domain.

        Returns ``(a, b, c)``, each of shape ``(*phi_rad.shape, mosaic_domains, 3)``. Without mosaic
        spread the domain rotation is skipped, as in the C (the identity would give the same numbers).

        Example:
            >>> from nanobrag_torch.config import CrystalConfig
            >>> xtal = Crystal(CrystalConfig(cell=(50, 50, 50, 90, 90, 90), default_F=1),
            ...                wavelength_A=1.0, spindle_axis_default=(0.0, 0.0, 1.0))
            >>> a, b, c = xtal.rotated_real_vectors_m(torch.tensor([0.0, math.pi / 2], dtype=torch.float64))
            >>> a.shape, [round(float(x) * 1e10, 9) + 0.0 for x in a[1, 0]]
            (torch.Size([2, 1, 3]), [0.0, 50.0, 0.0])
        """
        return tuple(self.rotate(vector, phi_rad) for vector in (self.a, self.b, self.c))

    def rotate(self, vector: torch.Tensor, phi_rad) -> torch.Tensor:
        """Rotate one (3,) vector by ``phi_rad`` about the spindle, then by each mosaic domain: the
        crystal's orientation at each step, shape ``(*phi_rad.shape, mosaic_domains, 3)``."""
        phi = self._tensor(phi_rad)
        # The C skips the rotation at phi == 0. Keep the unrotated values there (signed zeros included)
        # but take the gradient from the rotation (w.r.t. phi and the vector alike): y + (x - y).detach()
        # has x's value and y's slope.
        still = (phi == 0).unsqueeze(-1)
        base = vector.expand(*phi.shape, 3)
        spun = rotate_axis(base, self.spindle_axis, phi)
        spun = torch.where(still, spun + (base - spun).detach(), spun).unsqueeze(-2)
        if self.mosaic_spread_rad > 0.0:
            return matvec3(self.mosaic_umats, spun)
        return spun.expand(*phi.shape, self.mosaic_domains, 3)

    def lattice_factor(self, h: torch.Tensor, k: torch.Tensor, l: torch.Tensor):
        """This crystal's lattice transform at fractional indices; see :func:`physics.lattice_factor`.

        Example:
            >>> from nanobrag_torch.config import CrystalConfig
            >>> xtal = Crystal(CrystalConfig(cell=(50, 50, 50, 90, 90, 90), Na=3, default_F=1),
            ...                wavelength_A=1.0, spindle_axis_default=(0.0, 0.0, 1.0))
            >>> zero = torch.zeros(2, dtype=torch.float64)
            >>> xtal.lattice_factor(zero, zero, zero)[0].tolist()
            [3.0, 3.0]
        """
        return physics.lattice_factor(h, k, l, self.shape, self.Na, self.Nb, self.Nc, self.fudge,
                                      self.a_star, self.b_star, self.c_star)

    def structure_factor(self, h: torch.Tensor, k: torch.Tensor, l: torch.Tensor, *,
                         interpolate_where: Union[None, bool, torch.Tensor] = None) -> torch.Tensor:
        """F at fractional indices: nearest reflection, or tricubic interpolation when ``interpolate``.

        Where interpolation would need reflections outside the table, this evaluation falls back to
        the nearest reflection (nanoBragg instead turns interpolation off for all later pixels; the
        simulator reproduces that in c_compat by passing ``interpolate_where``, a boolean mask of the
        evaluations still allowed to interpolate, or False for none).

        Example:
            >>> from nanobrag_torch.config import CrystalConfig
            >>> xtal = Crystal(CrystalConfig(cell=(50, 50, 50, 90, 90, 90), default_F=7.5),
            ...                wavelength_A=1.0, spindle_axis_default=(0.0, 0.0, 1.0))
            >>> float(xtal.structure_factor(*torch.zeros(3, dtype=torch.float64)))
            7.5
        """
        h0, k0, l0 = torch.ceil(h - 0.5), torch.ceil(k - 0.5), torch.ceil(l - 0.5)
        nearest = physics.nearest_structure_factor(self.F_table, h0, k0, l0, self.hkl_ranges, self.default_F)
        if not self.interpolate or interpolate_where is False:
            return nearest
        h_min, _, k_min, _, l_min, _ = self.hkl_ranges
        inside = physics.interpolation_in_range(h, k, l, self.hkl_table)
        if interpolate_where is not None:
            inside = inside & interpolate_where
        smooth = physics.interpolate_structure_factor(self.F_table, h, k, l, h_min, k_min, l_min)
        return torch.where(inside, smooth, nearest)


# -- set-up arithmetic (module level: no state, the C's operation order) -------------------------------


def _check_config(config: CrystalConfig) -> None:
    if (config.cell is None) == (config.reciprocal_matrix is None):
        given = "both" if config.cell is not None else "neither"
        raise ValueError(f"CrystalConfig needs exactly one of cell and reciprocal_matrix, got {given}")
    if config.cell is not None and len(config.cell) != 6:
        raise ValueError(f"CrystalConfig.cell needs 6 numbers (a b c alpha beta gamma), got {len(config.cell)}")
    if config.reciprocal_matrix is not None and np.shape(config.reciprocal_matrix) != (3, 3):
        raise ValueError(f"CrystalConfig.reciprocal_matrix must be 3x3, got shape "
                         f"{np.shape(config.reciprocal_matrix)}")
    if not isinstance(config.shape, CrystalShape):
        raise TypeError(f"CrystalConfig.shape must be a CrystalShape, got {config.shape!r}")
    if config.misset_deg is not None and not config.misset_random and len(config.misset_deg) != 3:
        raise ValueError(f"CrystalConfig.misset_deg needs 3 angles (x, y, z), got {len(config.misset_deg)}")


def _reciprocal_from_cell(a, b, c, alpha, beta, gamma):
    """nanoBragg's reciprocal vectors for a cell (lengths in Angstrom, angles in radians)."""
    b = torch.where(b <= 0.0, a, b)
    c = torch.where(c <= 0.0, a, c)
    right = torch.full_like(alpha, math.pi / 2)
    alpha, beta, gamma = (torch.where(x <= 0.0, right, x) for x in (alpha, beta, gamma))
    aavg = (alpha + beta + gamma) / 2
    skew = torch.abs(torch.sin(aavg) * torch.sin(aavg - alpha) * torch.sin(aavg - beta) * torch.sin(aavg - gamma))
    V_cell = 2.0 * a * b * c * torch.sqrt(skew)
    V_cell = torch.where(V_cell <= 0.0, _tiny(V_cell), V_cell)
    V_star = 1.0 / V_cell
    lengths = [b * c * torch.sin(alpha) * V_star, c * a * torch.sin(beta) * V_star,
               a * b * torch.sin(gamma) * V_star]
    a_star_len, b_star_len, c_star_len = (_positive_or_tiny(x) for x in lengths)
    sin_gamma_star = torch.clamp(c * V_star / a_star_len / b_star_len, -1.0, 1.0)
    cos_alpha_star = (torch.cos(beta) * torch.cos(gamma) - torch.cos(alpha)) / (torch.sin(beta) * torch.sin(gamma))
    cos_beta_star = (torch.cos(gamma) * torch.cos(alpha) - torch.cos(beta)) / (torch.sin(gamma) * torch.sin(alpha))
    cos_gamma_star = (torch.cos(alpha) * torch.cos(beta) - torch.cos(gamma)) / (torch.sin(alpha) * torch.sin(beta))
    # The C replaces an impossible cosine by +1 whatever its sign.
    cos_alpha_star, cos_beta_star, cos_gamma_star = (
        torch.where(x * x > 1.0, torch.ones_like(x), x) for x in (cos_alpha_star, cos_beta_star, cos_gamma_star))
    zero = torch.zeros_like(a_star_len)
    a_star = torch.stack((a_star_len, zero, zero))
    b_star = torch.stack((b_star_len * cos_gamma_star, b_star_len * sin_gamma_star, zero))
    c_star = torch.stack((
        c_star_len * cos_beta_star,
        c_star_len * (cos_alpha_star - cos_beta_star * cos_gamma_star) / sin_gamma_star,
        c_star_len * V_cell / (a * b * c * sin_gamma_star)))
    return (a, b, c, V_cell), a_star, b_star, c_star


def _tiny(like: torch.Tensor) -> torch.Tensor:
    """DBL_MIN (nanoBragg's stand-in for an impossible zero or negative volume or reciprocal length), or the
    smallest normal number of a narrower dtype (where DBL_MIN would flush to 0)."""
    tiny = DBL_MIN if like.dtype == torch.float64 else torch.finfo(like.dtype).tiny
    return torch.full_like(like, tiny)


def _positive_or_tiny(x: torch.Tensor) -> torch.Tensor:
    """The C's repair of an impossible reciprocal length: its absolute value, or DBL_MIN if that is 0."""
    magnitude = torch.abs(x)
    return torch.where(magnitude <= 0.0, _tiny(x), magnitude)


def _rescale(vector: torch.Tensor, magnitude: torch.Tensor) -> torch.Tensor:
    """The C's ``vector_rescale``: same direction, given length (a zero vector is left as is)."""
    old = norm3(vector)
    old = torch.where(old <= 0.0, torch.ones_like(old), old)
    return (magnitude / old) * vector


def _resolve_phi_sampling(steps: int, osc: float, step: float):
    """nanoBragg's spindle defaults: (phisteps, osc, phistep) from whichever were given (-1 = not given)."""
    if steps < 0:
        if osc < 0.0:
            if step <= 0.0:
                return 1, 0.0, 0.0
            return 2, step, step
        if step <= 0.0:
            return 2, osc, osc / 2.0
        return int(math.ceil(osc / step)), osc, step
    steps = 1 if steps == 0 else steps
    if osc < 0.0:
        if step <= 0.0:
            osc = units.deg_to_rad(1.0)
            return steps, osc, osc / steps
        return 2, step, step
    if step < 0.0:
        return steps, osc, osc / steps
    return steps, osc, step


def _resolve_mosaic(spread: float, domains: int):
    """nanoBragg's mosaic defaults: (spread, domains) from whichever were given (-1 = not given)."""
    if domains <= 0:
        if spread < 0.0:
            return 0.0, 1
        return spread, (1 if spread == 0.0 else 10)
    if spread <= 0.0:
        # Domains without a (non-zero) spread collapse to one unrotated domain.
        return 0.0, 1
    return spread, domains
