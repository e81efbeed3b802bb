"""The nanoBragg command-line flags: spellings, values (with their domains), and what each one sets.

The C program tests every argument with ``strstr`` (substring) and applies every test that matches, in one
pass, so the last flag on the line wins. Here each accepted spelling is listed explicitly; an argument that
is none of them is an error instead of being silently ignored. Where a substring match changes results in
the C (``-twotheta_axis`` also setting ``-twotheta``), the handler reproduces it and leaves a note.

Every value a flag takes has a declared ``Domain`` (see ``_domains``): ``Flag.convert`` checks the tokens
against it before the handler runs, so handlers receive numbers already validated, or the value nanoBragg
uses instead (with a note) where the C gives an out-of-range value a meaning of its own.

Handlers write into a ``FlagState``: one field per C variable, in the user's units, ``None`` when not given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple, Union

from ..config import BeamConfig, CrystalConfig, CrystalShape, DetectorConfig, DetectorConvention, DetectorPivot, \
    OutputConfig
from ._domains import TEXT, CommandLineError, Domain, Reinterpret, real, whole

__all__ = ["FLAGS", "FLAG_BY_NAME", "CommandLineError", "Flag", "FlagState"]


@dataclass
class FlagState:
    """Everything the flags set, in the order the C would see it.

    ``given`` keeps the tokens each flag was last given with, for messages that quote them. ``pivot`` is the
    one the last pivoting flag asks for (None: none did, and the config derives it).
    """

    convention: DetectorConvention = DetectorConfig.convention
    convention_flag: Optional[str] = None
    pivot: Optional[DetectorPivot] = None
    pivot_flag: Optional[str] = None
    explicit_pivot: Optional[Tuple[str, DetectorPivot]] = None
    custom_reason: Optional[str] = None
    values: Dict[str, object] = field(default_factory=dict)
    order: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    given: Dict[str, Tuple[str, ...]] = field(default_factory=dict)
    twotheta_from_axis: Optional[float] = None

    def set(self, key: str, value) -> None:
        self.values[key] = value

    def get(self, key: str, default=None):
        return self.values.get(key, default)


Values = Union[Domain, Tuple[Domain, ...], None]


@dataclass(frozen=True)
class Flag:
    """One flag: its spellings, how many values follow it, the handler, and the domain of its values.

    ``values`` is one ``Domain`` for all values, or one per position (``-cell``, ``-roi``); ``None`` for a
    flag without values. ``nvalues`` -6 means 1 to 6 values (``-cell``), -3 means 3 or the word
    ``random`` (``-misset``).
    """

    names: Tuple[str, ...]
    nvalues: int
    apply: Callable[[FlagState, str, list], None]
    help: str = ""
    values: Values = None

    def __post_init__(self) -> None:
        if (self.nvalues != 0) != (self.values is not None):
            raise TypeError(f"{self.names[0]}: a flag with values needs a domain for them, and only then")

    def domains(self, count: int) -> Tuple[Domain, ...]:
        """The domain of each of ``count`` values."""
        if isinstance(self.values, Domain):
            return (self.values,) * count
        return tuple(self.values or ())[:count]

    @property
    def numeric(self) -> bool:
        """Whether any of the flag's values is a number."""
        return any(domain.numeric for domain in self.domains(max(abs(self.nvalues), 1)))

    def value_help(self) -> str:
        """The domains of the values, for the usage text (empty for text and switches)."""
        shown: List[str] = []
        for domain in self.domains(max(abs(self.nvalues), 1)):
            if domain.numeric:
                text = f"{domain.name}: {domain.summary()}" if domain.name else domain.summary()
                if text not in shown:
                    shown.append(text)
        return "; ".join(shown)

    def convert(self, name: str, tokens: List[str]) -> Tuple[list, List[str]]:
        """The values of ``tokens`` checked against their domains, and the notes for values nanoBragg
        reinterprets. Raises ``CommandLineError`` naming ``name`` for a value outside its domain."""
        values, notes = [], []
        for domain, token in zip(self.domains(len(tokens)), tokens):
            value, note = domain.convert(name, token)
            values.append(value)
            notes.extend([note] if note else [])
        return values, notes


# -- handlers: they receive checked values --------------------------------------------------------------


def _store(key: str):
    def apply(state: FlagState, flag: str, args: list) -> None:
        state.set(key, args[0])
    return apply


def _store_many(keys: Tuple[str, ...]):
    def apply(state: FlagState, flag: str, args: list) -> None:
        for key in keys:
            state.set(key, args[0])
    return apply


def _vector(key: str, makes_custom: bool = True, zero_allowed: bool = False):
    def apply(state: FlagState, flag: str, args: list) -> None:
        if not zero_allowed and not any(args):
            raise CommandLineError(f"{flag}: expected a direction (three numbers, not all zero), got "
                                   f"{' '.join(state.given[flag])}")
        state.set(key, tuple(args))
        if makes_custom:
            _select_convention(state, flag, DetectorConvention.CUSTOM)
            if key in ("polar_vector", "spindle_axis", "twotheta_axis", "pix0_vector"):
                state.custom_reason = state.custom_reason or flag
            else:
                state.custom_reason = "detector vectors"
    return apply


def _switch(key: str, value=True):
    def apply(state: FlagState, flag: str, args: list) -> None:
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


def _pivoting(key: str, pivot: DetectorPivot):
    def apply(state: FlagState, flag: str, args: list) -> None:
        state.set(key, args[0])
        _set_pivot(state, flag, pivot)
    return apply


def _pivot_flag(state: FlagState, flag: str, args: list) -> None:
    word = args[0].lower()
    if "sample" in word:
        pivot = DetectorPivot.SAMPLE
    elif "beam" in word:
        pivot = DetectorPivot.BEAM
    else:
        raise CommandLineError(f"{flag}: expected 'sample' or 'beam', got {args[0]!r}")
    _set_pivot(state, flag, pivot)
    state.explicit_pivot = (flag, pivot)


def _twotheta_axis(state: FlagState, flag: str, args: list) -> None:
    _vector("twotheta_axis")(state, flag, args)
    # nanoBragg's substring test for "-twotheta" also fires on "-twotheta_axis": it reads the axis' first
    # component as the two-theta angle in degrees and pivots about the sample.
    state.set("twotheta_deg", args[0])
    state.twotheta_from_axis = args[0]
    _set_pivot(state, flag, DetectorPivot.SAMPLE)


def _twotheta(state: FlagState, flag: str, args: list) -> None:
    state.set("twotheta_deg", args[0])
    state.twotheta_from_axis = None
    _set_pivot(state, flag, DetectorPivot.SAMPLE)


def _cell(state: FlagState, flag: str, args: list) -> None:
    # A length the domain turned into None is nanoBragg's "same as a".
    state.set("cell", tuple(args[0] if value is None else value for value in args))


def _misset(state: FlagState, flag: str, args: list) -> None:
    if isinstance(args[0], str):  # the word 'random' (anything containing 'rand', as the C tests)
        state.set("misset_random", True)
        return
    state.set("misset_random", False)
    state.set("misset_deg", tuple(args[:3]))


def _detector_absorb(state: FlagState, flag: str, args: list) -> None:
    if isinstance(args[0], str) or args[0] == 0.0:
        # nanoBragg: an infinite (or zero) attenuation depth switches the sensor model off.
        state.set("thickness_um", 0.0)
        state.set("attenuation_depth_um", float("inf"))
    else:
        state.set("attenuation_depth_um", args[0])


def _curved(state: FlagState, flag: str, args: list) -> None:
    state.set("curved", True)


def _tuple(key: str):
    def apply(state: FlagState, flag: str, args: list) -> None:
        state.set(key, tuple(args))
    return apply


def _store_and_set(key: str, other_key: str, other_value):
    """Store the flag's value under ``key`` and set ``other_key`` too (e.g. -pgmfile turns PGM output on)."""
    def apply(state: FlagState, flag: str, args: list) -> None:
        state.set(key, args[0])
        state.set(other_key, other_value)
    return apply


def _ignored(reason: str):
    def apply(state: FlagState, flag: str, args: list) -> None:
        state.notes.append(f"{flag} is ignored: {reason}")
    return apply


def _marked(text: str, is_default: bool) -> str:
    """A switch's help text, marked "(default)" when it selects what the configs do by default."""
    return f"{text} (default)" if is_default else text


def _ignored_flag(names: Tuple[str, ...], nvalues: int, reason: str) -> Flag:
    """A flag that is accepted (with its values, whatever they are) and only reported on stderr."""
    return Flag(names, nvalues, _ignored(reason), f"ignored: {reason}", TEXT if nvalues else None)


# -- domains: what each value may be, and what nanoBragg makes of the values it reinterprets -----------


def _unset_below_zero(what: str, instead: str) -> Tuple[Reinterpret, ...]:
    """nanoBragg marks "not given" with -1: any negative value is taken as not given."""
    return (Reinterpret(lambda v: v < 0, lambda v: None, f"takes a negative {what} as not given: {instead}"),)


def _unset_up_to_zero(instead: str) -> Tuple[Reinterpret, ...]:
    return (Reinterpret(lambda n: n <= 0, lambda n: None, f"takes a count <= 0 as not given: {instead}"),)


def _cell_length(name: str) -> Domain:
    return real("Angstrom", above=0, name=name,
                reinterpret=(Reinterpret(lambda v: v <= 0, lambda v: None, f"uses {name} = a for a length <= 0"),))


def _cell_angle(name: str) -> Domain:
    return real("deg", above=0, below=180, name=name,
                reinterpret=(Reinterpret(lambda v: v <= 0, lambda v: 90.0, f"uses {name} = 90 deg for an angle <= 0"),))


def _roi_start(name: str) -> Domain:
    return whole("pixel", at_least=0, name=name,
                 reinterpret=(Reinterpret(lambda n: n < 0, lambda n: 0, "starts at pixel 0 for a negative minimum"),))


def _roi_end(name: str) -> Domain:
    return whole("pixel", at_least=0, name=name,
                 reinterpret=(Reinterpret(lambda n: n < 0, lambda n: None,
                                          "runs to the last pixel for a negative maximum"),))


ANY = real()
ANGLE = real("deg")
MM = real("mm")
SEED = whole()
CELL = (real("Angstrom", above=0, name="a"), _cell_length("b"), _cell_length("c"),
        _cell_angle("alpha"), _cell_angle("beta"), _cell_angle("gamma"))
MISSET = (real("deg", words=("rand",)), ANGLE, ANGLE)
UNIT_CELLS = whole(at_least=1, reinterpret=(
    Reinterpret(lambda n: n < 1, lambda n: 1, "uses 1 unit cell for a count below 1"),))
CRYSTAL_SIZE = real("mm", at_least=0, reinterpret=(
    Reinterpret(lambda v: v < 0, lambda v: 0.0, "ignores a negative crystal size: N comes from -N/-Na/-Nb/-Nc"),))
PHI_RANGE = real("deg", at_least=0, reinterpret=_unset_below_zero("value", "derived from the other spindle flags"))
PHI_STEPS = whole(at_least=1, reinterpret=(
    Reinterpret(lambda n: n == 0, lambda n: 1, "uses 1 step for 0"),
    Reinterpret(lambda n: n < 0, lambda n: None, "takes a negative count as not given: derived from -osc/-phistep")))
MOSAIC_SPREAD = real("deg", at_least=0, reinterpret=_unset_below_zero("spread", "no mosaic spread"))
AUTO_COUNT = whole(at_least=1, reinterpret=_unset_up_to_zero("chosen from the other values, as by default"))
DIVERGENCE = real("mrad", at_least=0, reinterpret=_unset_below_zero("value", "derived from the other divergence flags"))
DISTANCE = real("mm", above=0, reinterpret=(
    Reinterpret(lambda v: v < 0, abs, "uses the distance's magnitude, {used:g} mm"),))
BEAM_SIZE = real("mm", at_least=0, reinterpret=(
    Reinterpret(lambda v: v < 0, lambda v: v, "takes a negative beam size as none: the crystal is not "
                                              "clipped to it and -flux is not turned into a fluence"),))
DETPIXELS = whole(at_least=0)  # 0 is refused with the detector size, whichever flags gave it
AUTO_SCALE = real(at_least=0, reinterpret=(
    Reinterpret(lambda v: v < 0, lambda v: 0.0, "scales automatically for a scale <= 0, as by default"),))
RESOLUTION = real("Angstrom", at_least=0, reinterpret=(
    Reinterpret(lambda v: v < 0, lambda v: 0.0, "makes no resolution cut for a value <= 0, as by default"),))
TRACE_PIXEL = (whole("pixel", at_least=0, name="slow"), whole("pixel", at_least=0, name="fast"))

_C = DetectorConvention
_P = DetectorPivot

FLAGS: Tuple[Flag, ...] = (
    # crystal
    Flag(("-cell",), -6, _cell, "unit cell a b c (A) alpha beta gamma (deg)", CELL),
    Flag(("-mat",), 1, _store("matfile"), "MOSFLM orientation matrix file", TEXT),
    Flag(("-misset",), -3, _misset, "misset angles about x y z (deg), or 'random'", MISSET),
    Flag(("-misset_seed",), 1, _store("misset_seed"), "seed for -misset random", SEED),
    Flag(("-N",), 1, _store_many(("Na", "Nb", "Nc")), "unit cells along a, b and c", UNIT_CELLS),
    Flag(("-Na",), 1, _store("Na"), "unit cells along a", UNIT_CELLS),
    Flag(("-Nb",), 1, _store("Nb"), "unit cells along b", UNIT_CELLS),
    Flag(("-Nc",), 1, _store("Nc"), "unit cells along c", UNIT_CELLS),
    Flag(("-xtalsize", "-xtal_size", "-samplesize", "-sample_size"), 1,
         _store_many(("xtal_x_mm", "xtal_y_mm", "xtal_z_mm")), "crystal size (mm) along a, b, c", CRYSTAL_SIZE),
    Flag(("-xtal_thick", "-xtal_x", "-sample_thick", "-sample_x"), 1, _store("xtal_x_mm"),
         "crystal size along a (mm)", CRYSTAL_SIZE),
    Flag(("-xtal_width", "-xtal_y", "-sample_width", "-sample_y", "-width"), 1, _store("xtal_y_mm"),
         "crystal size along b (mm)", CRYSTAL_SIZE),
    Flag(("-xtal_height", "-xtal_z", "-sample_height", "-sample_z", "-height"), 1, _store("xtal_z_mm"),
         "crystal size along c (mm)", CRYSTAL_SIZE),
    Flag(("-hkl",), 1, _store("hklfile"), "structure factors, lines of 'h k l F'", TEXT),
    Flag(("-default_F",), 1, _store("default_F"), "structure factor of reflections not in -hkl", ANY),
    Flag(("-square_xtal",), 0, _switch("shape", CrystalShape.SQUARE), _marked("parallelepiped crystal",
                                                                          CrystalConfig.shape is CrystalShape.SQUARE)),
    Flag(("-round_xtal",), 0, _switch("shape", CrystalShape.ROUND), "ellipsoidal crystal"),
    Flag(("-gauss_xtal",), 0, _switch("shape", CrystalShape.GAUSS), "Gaussian spots"),
    Flag(("-tophat_spots", "-binary_spots"), 0, _switch("shape", CrystalShape.TOPHAT), "top-hat spots"),
    Flag(("-fudge",), 1, _store("fudge"), "scale of the spot-shape radius", real(above=0)),
    Flag(("-interpolate",), 0, _switch("interpolate", True), "tricubic interpolation of F"),
    Flag(("-nointerpolate",), 0, _switch("interpolate", False), "nearest-neighbour F"),
    Flag(("-phi",), 1, _store("phi0_deg"), "starting spindle angle (deg)", ANGLE),
    Flag(("-osc",), 1, _store("osc_deg"), "oscillation range (deg)", PHI_RANGE),
    Flag(("-phistep",), 1, _store("phistep_deg"), "spindle step (deg)", PHI_RANGE),
    Flag(("-phisteps",), 1, _store("phisteps"), "number of spindle steps", PHI_STEPS),
    Flag(("-spindle_axis",), 3, _vector("spindle_axis"), "spindle rotation axis (selects CUSTOM)", ANY),
    Flag(("-mosaic", "-mosaic_spread", "-mosaicity"), 1, _store("mosaic_spread_deg"), "mosaic spread (deg)",
         MOSAIC_SPREAD),
    Flag(("-mosaic_domains", "-mosaic_dom"), 1, _store("mosaic_domains"), "number of mosaic domains", AUTO_COUNT),
    Flag(("-mosaic_seed",), 1, _store("mosaic_seed"), "seed of the mosaic domains", SEED),
    # beam
    Flag(("-lambda", "-wave", "-wavelength"), 1, _store_and_set("wavelength_A", "energy_ev", None),
         "wavelength (A)", real("Angstrom", above=0)),
    Flag(("-energy",), 1, _store_and_set("energy_ev", "wavelength_A", None), "photon energy (eV)",
         real("eV", above=0)),
    Flag(("-fluence",), 1, _store("fluence"), "fluence (photons/m^2)", real("photons/m^2", at_least=0)),
    Flag(("-flux",), 1, _store("flux"), "flux (photons/s)", real("photons/s", at_least=0)),
    Flag(("-exposure",), 1, _store("exposure_s"), "exposure time (s)", real("s", at_least=0)),
    Flag(("-beamsize",), 1, _store("beamsize_mm"), "beam size (mm)", BEAM_SIZE),
    Flag(("-polar",), 1, _store_and_set("kahn_factor", "nopolar", False), "Kahn polarization factor",
         real(at_least=-1, at_most=1)),
    Flag(("-nopolar",), 0, _switch("nopolar"), "no polarization correction"),
    Flag(("-polar_vector",), 3, _vector("polar_vector"), "E-vector of the beam (selects CUSTOM)", ANY),
    Flag(("-dispersion",), 1, _store("dispersion_percent"), "spectral dispersion (percent)",
         real("percent", at_least=0, below=200)),
    Flag(("-dispsteps",), 1, _store("dispsteps"), "number of wavelengths", AUTO_COUNT),
    Flag(("-divergence",), 1, _store_many(("hdivrange_mrad", "vdivrange_mrad")), "divergence range (mrad)",
         DIVERGENCE),
    Flag(("-hdivrange",), 1, _store("hdivrange_mrad"), "horizontal divergence range (mrad)", DIVERGENCE),
    Flag(("-vdivrange",), 1, _store("vdivrange_mrad"), "vertical divergence range (mrad)", DIVERGENCE),
    Flag(("-hdivstep",), 1, _store("hdivstep_mrad"), "horizontal divergence step (mrad)", DIVERGENCE),
    Flag(("-vdivstep",), 1, _store("vdivstep_mrad"), "vertical divergence step (mrad)", DIVERGENCE),
    Flag(("-hdivsteps",), 1, _store("hdivsteps"), "horizontal divergence points", AUTO_COUNT),
    Flag(("-vdivsteps",), 1, _store("vdivsteps"), "vertical divergence points", AUTO_COUNT),
    Flag(("-divsteps",), 1, _store_many(("hdivsteps", "vdivsteps")), "divergence points each way", AUTO_COUNT),
    Flag(("-round_div",), 0, _switch("round_div", True), _marked("cut the divergence grid to an ellipse",
                                                                         BeamConfig.round_div)),
    Flag(("-square_div",), 0, _switch("round_div", False), "full divergence grid"),
    Flag(("-sourcefile",), 1, _store("sourcefile"), "sources: X Y Z weight lambda per line", TEXT),
    Flag(("-water",), 1, _store("water_um"), "water background thickness (um)", real("um", at_least=0)),
    # detector
    Flag(("-mosflm",), 0, _convention(_C.MOSFLM, _P.BEAM), _marked("MOSFLM convention",
                                                                        DetectorConfig.convention is _C.MOSFLM)),
    Flag(("-xds",), 0, _convention(_C.XDS, _P.SAMPLE), "XDS convention"),
    Flag(("-adxv",), 0, _convention(_C.ADXV, _P.BEAM), "ADXV convention"),
    Flag(("-denzo",), 0, _convention(_C.DENZO, _P.BEAM), "DENZO convention"),
    Flag(("-dials",), 0, _convention(_C.DIALS, _P.BEAM), "DIALS convention"),
    Flag(("-fdet_vector",), 3, _vector("fdet_vector"), "fast axis (selects CUSTOM)", ANY),
    Flag(("-sdet_vector",), 3, _vector("sdet_vector"), "slow axis (selects CUSTOM)", ANY),
    # A zero (or any non-unit) normal is nanoBragg's request to derive it from the fast and slow axes.
    Flag(("-odet_vector",), 3, _vector("odet_vector", zero_allowed=True), "detector normal (selects CUSTOM)", ANY),
    Flag(("-beam_vector",), 3, _vector("beam_vector"), "beam direction (selects CUSTOM)", ANY),
    Flag(("-twotheta_axis",), 3, _twotheta_axis, "two-theta axis (selects CUSTOM)", ANY),
    Flag(("-pix0_vector", "-pix0_vector_mm"), 3, _vector("pix0_vector", zero_allowed=True),
         "first pixel position (ignored)", ANY),
    Flag(("-distance",), 1, _pivoting("distance_mm", _P.BEAM), "sample to beam spot (mm)", DISTANCE),
    Flag(("-close_distance",), 1, _pivoting("close_distance_mm", _P.SAMPLE), "sample to detector plane (mm)",
         real("mm", above=0)),
    Flag(("-Xbeam",), 1, _pivoting("xbeam_mm", _P.BEAM), "beam centre x (mm)", MM),
    Flag(("-Ybeam",), 1, _pivoting("ybeam_mm", _P.BEAM), "beam centre y (mm)", MM),
    Flag(("-Xclose",), 1, _pivoting("xclose_mm", _P.SAMPLE), "near point x (mm)", MM),
    Flag(("-Yclose",), 1, _pivoting("yclose_mm", _P.SAMPLE), "near point y (mm)", MM),
    Flag(("-ORGX",), 1, _pivoting("orgx_px", _P.SAMPLE), "XDS ORGX (pixels)", real("pixels")),
    Flag(("-ORGY",), 1, _pivoting("orgy_px", _P.SAMPLE), "XDS ORGY (pixels)", real("pixels")),
    Flag(("-pivot",), 1, _pivot_flag, "'sample' or 'beam' (CUSTOM convention only)", TEXT),
    Flag(("-twotheta",), 1, _twotheta, "detector two-theta (deg)", ANGLE),
    Flag(("-detector_rotx",), 1, _store("rotx_deg"), "detector rotation about x (deg)", ANGLE),
    Flag(("-detector_roty",), 1, _store("roty_deg"), "detector rotation about y (deg)", ANGLE),
    Flag(("-detector_rotz",), 1, _store("rotz_deg"), "detector rotation about z (deg)", ANGLE),
    Flag(("-pixel",), 1, _store("pixel_size_mm"), "pixel size (mm)", real("mm", above=0)),
    Flag(("-detsize",), 1, _store_many(("detsize_f_mm", "detsize_s_mm")), "detector size (mm)", real("mm", above=0)),
    Flag(("-detsize_f",), 1, _store("detsize_f_mm"), "detector size along fast (mm)", real("mm", above=0)),
    Flag(("-detsize_s",), 1, _store("detsize_s_mm"), "detector size along slow (mm)", real("mm", above=0)),
    Flag(("-detpixels",), 1, _store_many(("fpixels", "spixels")), "pixels along both axes", DETPIXELS),
    Flag(("-detpixels_f", "-detpixels_x"), 1, _store("fpixels"), "pixels along fast", DETPIXELS),
    Flag(("-detpixels_s", "-detpixels_y"), 1, _store("spixels"), "pixels along slow", DETPIXELS),
    Flag(("-point_pixel",), 0, _switch("point_pixel"), "1/R^2 solid angle, no obliquity"),
    Flag(("-curved_det",), 0, _curved, "all pixels at the same distance"),
    Flag(("-detector_thick",), 1, _store("thickness_um"), "sensor thickness (um)", real("um", at_least=0)),
    Flag(("-detector_absorb", "-detector_abs", "-detector_absorption"), 1, _detector_absorb,
         "sensor attenuation depth (um) or 'inf'", real("um", at_least=0, words=("inf",))),
    Flag(("-detector_thicksteps", "-thicksteps"), 1, _store("thicksteps"), "sensor layers", AUTO_COUNT),
    Flag(("-oversample",), 1, _store("oversample"), "sub-pixels per pixel edge", AUTO_COUNT),
    Flag(("-oversample_thick",), 0, _switch("oversample_thick"), "sensor absorption per sub-pixel"),
    Flag(("-oversample_polar",), 0, _switch("oversample_polar"), "polarization per sub-pixel"),
    Flag(("-oversample_omega",), 0, _switch("oversample_omega"), "solid angle per sub-pixel"),
    Flag(("-roi",), 4, _tuple("roi"), "render only xmin xmax ymin ymax (pixels)",
         (_roi_start("xmin"), _roi_end("xmax"), _roi_start("ymin"), _roi_end("ymax"))),
    Flag(("-img",), 1, _store("imgfile"), "take camera parameters from an SMV header", TEXT),
    Flag(("-mask",), 1, _store("maskfile"), "SMV image; zero pixels are not rendered", TEXT),
    Flag(("-dmin",), 1, _store("dmin_A"), "skip scattering beyond this resolution (A)", RESOLUTION),
    # output
    Flag(("-floatfile", "-floatimage"), 1, _store("floatfile"), "raw float32 image", TEXT),
    Flag(("-intfile", "-intimage"), 1, _store("intfile"), "SMV integer image", TEXT),
    Flag(("-pgmfile", "-pgmimage"), 1, _store_and_set("pgmfile", "write_pgm", True), "8-bit PGM image", TEXT),
    Flag(("-noisefile", "-noiseimage"), 1, _store_and_set("noisefile", "write_noise", True),
         "SMV image with Poisson noise", TEXT),
    Flag(("-nonoise",), 0, _switch("write_noise", False), "no noise image"),
    Flag(("-nopgm",), 0, _switch("write_pgm", False), "no PGM image"),
    Flag(("-scale",), 1, _store("intfile_scale"), "scale of the integer image (default: auto)", AUTO_SCALE),
    Flag(("-pgmscale",), 1, _store_and_set("pgm_scale", "write_pgm", True), "scale of the PGM image (default: auto)",
         AUTO_SCALE),
    Flag(("-adc",), 1, _store("adc_offset"), f"offset added to integer pixels (default {OutputConfig.adc_offset:g})",
         ANY),
    Flag(("-seed",), 1, _store("seed"), "seed of the noise image", SEED),
    Flag(("-trace_pixel", "-dump_pixel"), 2, _tuple("trace_pixel"), "trace pixel (slow fast)", TRACE_PIXEL),
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
    Flag(("-device",), 1, _store("device"), "cpu, cuda, cuda:1, ...", TEXT),
    Flag(("-dtype",), 1, _store("dtype"), "float64 (default) or float32", TEXT),
)

FLAG_BY_NAME: Dict[str, Flag] = {name: flag for flag in FLAGS for name in flag.names}
