"""The nanoBragg command-line flags: spellings, number of values, and what each one sets.

The C program tests every argument with ``strstr`` (substring) and applies every test that matches, in one
pass, so the last flag on the line wins. Here each accepted spelling is listed explicitly; an argument that
is none of them is an error instead of being silently ignored. Where a substring match changes results in
the C (``-twotheta_axis`` also setting ``-twotheta``), the handler reproduces it and leaves a note.

Handlers write into a ``FlagState``: one field per C variable, in the user's units, ``None`` when not given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

from ..config import CrystalShape, DetectorConvention, DetectorPivot


class CommandLineError(ValueError):
    """A bad command line: the message names the flag and what was wrong."""


@dataclass
class FlagState:
    """Everything the flags set, in the order the C would see it."""

    convention: DetectorConvention = DetectorConvention.MOSFLM
    convention_flag: Optional[str] = None
    pivot: DetectorPivot = DetectorPivot.BEAM
    pivot_flag: Optional[str] = None
    explicit_pivot: Optional[Tuple[str, DetectorPivot]] = None
    custom_reason: Optional[str] = None
    values: Dict[str, object] = field(default_factory=dict)
    order: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    twotheta_from_axis: Optional[float] = None

    def set(self, key: str, value) -> None:
        self.values[key] = value

    def get(self, key: str, default=None):
        return self.values.get(key, default)


def number(flag: str, token: str) -> float:
    """A float value of ``flag``, or a CommandLineError naming both."""
    try:
        return float(token)
    except ValueError:
        raise CommandLineError(f"{flag}: expected a number, got {token!r}") from None


def integer(flag: str, token: str) -> int:
    """An integer value of ``flag`` (a float with no fractional part is accepted)."""
    value = number(flag, token)
    if value != int(value):
        raise CommandLineError(f"{flag}: expected an integer, got {token!r}")
    return int(value)


@dataclass(frozen=True)
class Flag:
    """One flag: its spellings, how many values follow it, and the handler."""

    names: Tuple[str, ...]
    nvalues: int
    apply: Callable[[FlagState, str, List[str]], None]
    help: str = ""


def _store(key: str, convert=number, scale=None):
    def apply(state: FlagState, flag: str, args: List[str]) -> None:
        state.set(key, convert(flag, args[0]))
    return apply


def _store_many(keys: Tuple[str, ...], convert=number):
    def apply(state: FlagState, flag: str, args: List[str]) -> None:
        for key in keys:
            state.set(key, convert(flag, args[0]))
    return apply


def _vector(key: str, makes_custom: bool = True):
    def apply(state: FlagState, flag: str, args: List[str]) -> None:
        state.set(key, tuple(number(flag, a) for a in args))
        if makes_custom:
            _select_convention(state, flag, DetectorConvention.CUSTOM)
            if key in ("polar_vector", "spindle_axis", "twotheta_axis", "pix0_vector"):
                state.custom_reason = state.custom_reason or flag
            else:
                state.custom_reason = "detector vectors"
    return apply


def _switch(key: str, value=True):
    def apply(state: FlagState, flag: str, args: List[str]) -> None:
        state.set(key, value)
    return apply


def _select_convention(state: FlagState, flag: str, convention: DetectorConvention,
                       pivot: Optional[DetectorPivot] = None) -> None:
    state.convention, state.convention_flag = convention, flag
    if convention is not DetectorConvention.CUSTOM:
        state.custom_reason = None
    if pivot is not None:
        _set_pivot(state, flag, pivot)


def _set_pivot(state: FlagState, flag: str, pivot: DetectorPivot) -> None:
    state.pivot, state.pivot_flag = pivot, flag


def _convention(convention: DetectorConvention, pivot: DetectorPivot):
    return lambda state, flag, args: _select_convention(state, flag, convention, pivot)


def _pivoting(key: str, pivot: DetectorPivot, convert=number):
    def apply(state: FlagState, flag: str, args: List[str]) -> None:
        state.set(key, convert(flag, args[0]))
        _set_pivot(state, flag, pivot)
    return apply


def _pivot_flag(state: FlagState, flag: str, args: List[str]) -> None:
    word = args[0].lower()
    if "sample" in word:
        pivot = DetectorPivot.SAMPLE
    elif "beam" in word:
        pivot = DetectorPivot.BEAM
    else:
        raise CommandLineError(f"{flag}: expected 'sample' or 'beam', got {args[0]!r}")
    _set_pivot(state, flag, pivot)
    state.explicit_pivot = (flag, pivot)


def _twotheta_axis(state: FlagState, flag: str, args: List[str]) -> None:
    _vector("twotheta_axis")(state, flag, args)
    # nanoBragg's substring test for "-twotheta" also fires on "-twotheta_axis": it reads the axis' first
    # component as the two-theta angle in degrees and pivots about the sample.
    state.set("twotheta_deg", number(flag, args[0]))
    state.twotheta_from_axis = number(flag, args[0])
    _set_pivot(state, flag, DetectorPivot.SAMPLE)


def _twotheta(state: FlagState, flag: str, args: List[str]) -> None:
    state.set("twotheta_deg", number(flag, args[0]))
    state.twotheta_from_axis = None
    _set_pivot(state, flag, DetectorPivot.SAMPLE)


def _cell(state: FlagState, flag: str, args: List[str]) -> None:
    state.set("cell", tuple(number(flag, a) for a in args))


def _misset(state: FlagState, flag: str, args: List[str]) -> None:
    if "rand" in args[0]:
        state.set("misset_random", True)
        return
    state.set("misset_random", False)
    state.set("misset_deg", tuple(number(flag, a) for a in args[:3]))


def _detector_absorb(state: FlagState, flag: str, args: List[str]) -> None:
    if "inf" in args[0] or number(flag, args[0]) == 0.0:
        # nanoBragg: an infinite (or zero) attenuation depth switches the sensor model off.
        state.set("thickness_um", 0.0)
        state.set("attenuation_depth_um", float("inf"))
    else:
        state.set("attenuation_depth_um", number(flag, args[0]))


def _curved(state: FlagState, flag: str, args: List[str]) -> None:
    state.set("curved", True)


def _roi(state: FlagState, flag: str, args: List[str]) -> None:
    state.set("roi", tuple(integer(flag, a) for a in args))


def _pixel_pair(key: str):
    def apply(state: FlagState, flag: str, args: List[str]) -> None:
        state.set(key, (integer(flag, args[0]), integer(flag, args[1])))
    return apply


def _store_and_set(key: str, convert, other_key: str, other_value):
    """Store the flag's value under ``key`` and set ``other_key`` too (e.g. -pgmfile turns PGM output on)."""
    def apply(state: FlagState, flag: str, args: List[str]) -> None:
        state.set(key, convert(flag, args[0]))
        state.set(other_key, other_value)
    return apply


def _path(flag: str, token: str) -> str:
    return token


def _ignored(reason: str):
    def apply(state: FlagState, flag: str, args: List[str]) -> None:
        state.notes.append(f"{flag} is ignored: {reason}")
    return apply


def _ignored_flag(names: Tuple[str, ...], nvalues: int, reason: str) -> "Flag":
    """A flag that is accepted (with its values) and only reported on stderr."""
    return Flag(names, nvalues, _ignored(reason), f"ignored: {reason}")


def _sizes(keys: Tuple[str, ...]):
    return _store_many(keys)


_C = DetectorConvention
_P = DetectorPivot

FLAGS: Tuple[Flag, ...] = (
    # crystal
    Flag(("-cell",), -6, _cell, "unit cell a b c (A) alpha beta gamma (deg)"),
    Flag(("-mat",), 1, _store("matfile", lambda f, a: a), "MOSFLM orientation matrix file"),
    Flag(("-misset",), -3, _misset, "misset angles about x y z (deg), or 'random'"),
    Flag(("-misset_seed",), 1, _store("misset_seed", integer), "seed for -misset random"),
    Flag(("-N",), 1, _store_many(("Na", "Nb", "Nc"), integer), "unit cells along a, b and c"),
    Flag(("-Na",), 1, _store("Na", integer), "unit cells along a"),
    Flag(("-Nb",), 1, _store("Nb", integer), "unit cells along b"),
    Flag(("-Nc",), 1, _store("Nc", integer), "unit cells along c"),
    Flag(("-xtalsize", "-xtal_size", "-samplesize", "-sample_size"), 1,
         _sizes(("xtal_x_mm", "xtal_y_mm", "xtal_z_mm")), "crystal size (mm) along a, b, c"),
    Flag(("-xtal_thick", "-xtal_x", "-sample_thick", "-sample_x"), 1, _store("xtal_x_mm"), "crystal size along a (mm)"),
    Flag(("-xtal_width", "-xtal_y", "-sample_width", "-sample_y", "-width"), 1, _store("xtal_y_mm"),
         "crystal size along b (mm)"),
    Flag(("-xtal_height", "-xtal_z", "-sample_height", "-sample_z", "-height"), 1, _store("xtal_z_mm"),
         "crystal size along c (mm)"),
    Flag(("-hkl",), 1, _store("hklfile", lambda f, a: a), "structure factors, lines of 'h k l F'"),
    Flag(("-default_F",), 1, _store("default_F"), "structure factor of reflections not in -hkl"),
    Flag(("-square_xtal",), 0, _switch("shape", CrystalShape.SQUARE), "parallelepiped crystal (default)"),
    Flag(("-round_xtal",), 0, _switch("shape", CrystalShape.ROUND), "ellipsoidal crystal"),
    Flag(("-gauss_xtal",), 0, _switch("shape", CrystalShape.GAUSS), "Gaussian spots"),
    Flag(("-tophat_spots", "-binary_spots"), 0, _switch("shape", CrystalShape.TOPHAT), "top-hat spots"),
    Flag(("-fudge",), 1, _store("fudge"), "scale of the spot-shape radius"),
    Flag(("-interpolate",), 0, _switch("interpolate", True), "tricubic interpolation of F"),
    Flag(("-nointerpolate",), 0, _switch("interpolate", False), "nearest-neighbour F"),
    Flag(("-phi",), 1, _store("phi0_deg"), "starting spindle angle (deg)"),
    Flag(("-osc",), 1, _store("osc_deg"), "oscillation range (deg)"),
    Flag(("-phistep",), 1, _store("phistep_deg"), "spindle step (deg)"),
    Flag(("-phisteps",), 1, _store("phisteps", integer), "number of spindle steps"),
    Flag(("-spindle_axis",), 3, _vector("spindle_axis"), "spindle rotation axis (selects CUSTOM)"),
    Flag(("-mosaic", "-mosaic_spread", "-mosaicity"), 1, _store("mosaic_spread_deg"), "mosaic spread (deg)"),
    Flag(("-mosaic_domains", "-mosaic_dom"), 1, _store("mosaic_domains", integer), "number of mosaic domains"),
    Flag(("-mosaic_seed",), 1, _store("mosaic_seed", integer), "seed of the mosaic domains"),
    # beam
    Flag(("-lambda", "-wave", "-wavelength"), 1, _store_and_set("wavelength_A", number, "energy_ev", None),
         "wavelength (A)"),
    Flag(("-energy",), 1, _store_and_set("energy_ev", number, "wavelength_A", None), "photon energy (eV)"),
    Flag(("-fluence",), 1, _store("fluence"), "fluence (photons/m^2)"),
    Flag(("-flux",), 1, _store("flux"), "flux (photons/s)"),
    Flag(("-exposure",), 1, _store("exposure_s"), "exposure time (s)"),
    Flag(("-beamsize",), 1, _store("beamsize_mm"), "beam size (mm)"),
    Flag(("-polar",), 1, _store_and_set("kahn_factor", number, "nopolar", False), "Kahn polarization factor"),
    Flag(("-nopolar",), 0, _switch("nopolar"), "no polarization correction"),
    Flag(("-polar_vector",), 3, _vector("polar_vector"), "E-vector of the beam (selects CUSTOM)"),
    Flag(("-dispersion",), 1, _store("dispersion_percent"), "spectral dispersion (percent)"),
    Flag(("-dispsteps",), 1, _store("dispsteps", integer), "number of wavelengths"),
    Flag(("-divergence",), 1, _store_many(("hdivrange_mrad", "vdivrange_mrad")), "divergence range (mrad)"),
    Flag(("-hdivrange",), 1, _store("hdivrange_mrad"), "horizontal divergence range (mrad)"),
    Flag(("-vdivrange",), 1, _store("vdivrange_mrad"), "vertical divergence range (mrad)"),
    Flag(("-hdivstep",), 1, _store("hdivstep_mrad"), "horizontal divergence step (mrad)"),
    Flag(("-vdivstep",), 1, _store("vdivstep_mrad"), "vertical divergence step (mrad)"),
    Flag(("-hdivsteps",), 1, _store("hdivsteps", integer), "horizontal divergence points"),
    Flag(("-vdivsteps",), 1, _store("vdivsteps", integer), "vertical divergence points"),
    Flag(("-divsteps",), 1, _store_many(("hdivsteps", "vdivsteps"), integer), "divergence points each way"),
    Flag(("-round_div",), 0, _switch("round_div", True), "cut the divergence grid to an ellipse (default)"),
    Flag(("-square_div",), 0, _switch("round_div", False), "full divergence grid"),
    Flag(("-sourcefile",), 1, _store("sourcefile", lambda f, a: a), "sources: X Y Z weight lambda per line"),
    Flag(("-water",), 1, _store("water_um"), "water background thickness (um)"),
    # detector
    Flag(("-mosflm",), 0, _convention(_C.MOSFLM, _P.BEAM), "MOSFLM convention (default)"),
    Flag(("-xds",), 0, _convention(_C.XDS, _P.SAMPLE), "XDS convention"),
    Flag(("-adxv",), 0, _convention(_C.ADXV, _P.BEAM), "ADXV convention"),
    Flag(("-denzo",), 0, _convention(_C.DENZO, _P.BEAM), "DENZO convention"),
    Flag(("-dials",), 0, _convention(_C.DIALS, _P.BEAM), "DIALS convention"),
    Flag(("-fdet_vector",), 3, _vector("fdet_vector"), "fast axis (selects CUSTOM)"),
    Flag(("-sdet_vector",), 3, _vector("sdet_vector"), "slow axis (selects CUSTOM)"),
    Flag(("-odet_vector",), 3, _vector("odet_vector"), "detector normal (selects CUSTOM)"),
    Flag(("-beam_vector",), 3, _vector("beam_vector"), "beam direction (selects CUSTOM)"),
    Flag(("-twotheta_axis",), 3, _twotheta_axis, "two-theta axis (selects CUSTOM)"),
    Flag(("-pix0_vector", "-pix0_vector_mm"), 3, _vector("pix0_vector"), "first pixel position (ignored)"),
    Flag(("-distance",), 1, _pivoting("distance_mm", _P.BEAM), "sample to beam spot (mm)"),
    Flag(("-close_distance",), 1, _pivoting("close_distance_mm", _P.SAMPLE), "sample to detector plane (mm)"),
    Flag(("-Xbeam",), 1, _pivoting("xbeam_mm", _P.BEAM), "beam centre x (mm)"),
    Flag(("-Ybeam",), 1, _pivoting("ybeam_mm", _P.BEAM), "beam centre y (mm)"),
    Flag(("-Xclose",), 1, _pivoting("xclose_mm", _P.SAMPLE), "near point x (mm)"),
    Flag(("-Yclose",), 1, _pivoting("yclose_mm", _P.SAMPLE), "near point y (mm)"),
    Flag(("-ORGX",), 1, _pivoting("orgx_px", _P.SAMPLE), "XDS ORGX (pixels)"),
    Flag(("-ORGY",), 1, _pivoting("orgy_px", _P.SAMPLE), "XDS ORGY (pixels)"),
    Flag(("-pivot",), 1, _pivot_flag, "'sample' or 'beam' (CUSTOM convention only)"),
    Flag(("-twotheta",), 1, _twotheta, "detector two-theta (deg)"),
    Flag(("-detector_rotx",), 1, _store("rotx_deg"), "detector rotation about x (deg)"),
    Flag(("-detector_roty",), 1, _store("roty_deg"), "detector rotation about y (deg)"),
    Flag(("-detector_rotz",), 1, _store("rotz_deg"), "detector rotation about z (deg)"),
    Flag(("-pixel",), 1, _store("pixel_size_mm"), "pixel size (mm)"),
    Flag(("-detsize",), 1, _store_many(("detsize_f_mm", "detsize_s_mm")), "detector size (mm)"),
    Flag(("-detsize_f",), 1, _store("detsize_f_mm"), "detector size along fast (mm)"),
    Flag(("-detsize_s",), 1, _store("detsize_s_mm"), "detector size along slow (mm)"),
    Flag(("-detpixels",), 1, _store_many(("fpixels", "spixels"), integer), "pixels along both axes"),
    Flag(("-detpixels_f", "-detpixels_x"), 1, _store("fpixels", integer), "pixels along fast"),
    Flag(("-detpixels_s", "-detpixels_y"), 1, _store("spixels", integer), "pixels along slow"),
    Flag(("-point_pixel",), 0, _switch("point_pixel"), "1/R^2 solid angle, no obliquity"),
    Flag(("-curved_det",), 0, _curved, "all pixels at the same distance"),
    Flag(("-detector_thick",), 1, _store("thickness_um"), "sensor thickness (um)"),
    Flag(("-detector_absorb", "-detector_abs", "-detector_absorption"), 1, _detector_absorb,
         "sensor attenuation depth (um) or 'inf'"),
    Flag(("-detector_thicksteps", "-thicksteps"), 1, _store("thicksteps", integer), "sensor layers"),
    Flag(("-oversample",), 1, _store("oversample", integer), "sub-pixels per pixel edge"),
    Flag(("-oversample_thick",), 0, _switch("oversample_thick"), "sensor absorption per sub-pixel"),
    Flag(("-oversample_polar",), 0, _switch("oversample_polar"), "polarization per sub-pixel"),
    Flag(("-oversample_omega",), 0, _switch("oversample_omega"), "solid angle per sub-pixel"),
    Flag(("-roi",), 4, _roi, "render only xmin xmax ymin ymax (pixels)"),
    Flag(("-img",), 1, _store("imgfile", lambda f, a: a), "take camera parameters from an SMV header"),
    Flag(("-mask",), 1, _store("maskfile", lambda f, a: a), "SMV image; zero pixels are not rendered"),
    Flag(("-dmin",), 1, _store("dmin_A"), "skip scattering beyond this resolution (A)"),
    # output
    Flag(("-floatfile", "-floatimage"), 1, _store("floatfile", lambda f, a: a), "raw float32 image"),
    Flag(("-intfile", "-intimage"), 1, _store("intfile", lambda f, a: a), "SMV integer image"),
    Flag(("-pgmfile", "-pgmimage"), 1, _store_and_set("pgmfile", _path, "write_pgm", True), "8-bit PGM image"),
    Flag(("-noisefile", "-noiseimage"), 1, _store_and_set("noisefile", _path, "write_noise", True),
         "SMV image with Poisson noise"),
    Flag(("-nonoise",), 0, _switch("write_noise", False), "no noise image"),
    Flag(("-nopgm",), 0, _switch("write_pgm", False), "no PGM image"),
    Flag(("-scale",), 1, _store("intfile_scale"), "scale of the integer image (default: auto)"),
    Flag(("-pgmscale",), 1, _store_and_set("pgm_scale", number, "write_pgm", True),
         "scale of the PGM image (default: auto)"),
    Flag(("-adc",), 1, _store("adc_offset"), "offset added to integer pixels (default 40)"),
    Flag(("-seed",), 1, _store("seed", integer), "seed of the noise image"),
    Flag(("-trace_pixel", "-dump_pixel"), 2, _pixel_pair("trace_pixel"), "trace pixel (slow fast)"),
    _ignored_flag(("-printout",), 0, "the port does not print per-pixel values; use -trace_pixel SLOW FAST"),
    _ignored_flag(("-printout_pixel",), 2, "the port does not print per-pixel values; use -trace_pixel SLOW FAST"),
    Flag(("-progress",), 0, _switch("progress", True), "show a progress bar"),
    Flag(("-noprogress",), 0, _switch("progress", False), "no progress bar"),
    # flags nanoBragg parses but never uses (or does not know): accepted, with a note
    _ignored_flag(("-coherent",), 0, "nanoBragg parses it but never uses it"),
    _ignored_flag(("-density", "-sample_density"), 1, "nanoBragg overwrites the density before using it"),
    _ignored_flag(("-MW", "-molecular_weight"), 1, "nanoBragg recomputes the molecular weight"),
    _ignored_flag(("-stol", "-4stol", "-Q"), 1, "nanoBragg reads the file but never uses it"),
    _ignored_flag(("-stolout",), 1, "nanoBragg never writes it"),
    _ignored_flag(("-divrange",), 1, "nanoBragg does not know this flag; use -divergence"),
    # additions of this port
    Flag(("-c_compat",), 0, _switch("c_compat"), "reproduce nanoBragg's physics bugs bit for bit"),
    Flag(("-device",), 1, _store("device", lambda f, a: a), "cpu, cuda, cuda:1, ..."),
    Flag(("-dtype",), 1, _store("dtype", lambda f, a: a), "float64 (default) or float32"),
)

FLAG_BY_NAME: Dict[str, Flag] = {name: flag for flag in FLAGS for name in flag.names}
