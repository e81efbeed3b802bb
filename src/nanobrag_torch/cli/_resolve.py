"""From flag values to configs: nanoBragg's rules for what the flags leave open, the files it reads, and
the checks that need several values at once (run before anything is simulated).

A flag value stored under a config field's name (``distance_mm``, ``Na``, ``seed``, ...) sets that field,
and a field no flag set keeps its dataclass default: the defaults are stated once, in ``config``. What
needs a rule is resolved here: the convention's axes, the pixel count from a detector size, the files
(``-hkl``, ``-mat``, ``-sourcefile``, ``-img``, ``-mask``, ``Fdump.bin``, read from ``base_dir``), the
wavelength from ``-energy``, the crystal clipped to the beam. The flag keys that name no config field are
listed in ``RESOLVED_KEYS``.

Each flag's own values were checked against their domains when they were read (``_flags``, ``_domains``);
values from an ``-img``/``-mask`` header go through the same domains here. ``_validate`` then checks what
only a combination can get wrong: the cell's angles, -flux without a beam size, the ROI and trace pixel
against the detector, the sources of a -sourcefile, and the memory the run needs (``_memory``).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
from dataclasses import dataclass, field
from typing import List, Optional

from ..config import (BeamConfig, CrystalConfig, DetectorConfig, DetectorConvention, DetectorPivot,
                      OutputConfig, SimulationConfig, SourcePoint)
from ..units import energy_ev_to_wavelength_A
from . import _memory
from ._flags import FLAG_BY_NAME, CommandLineError, FlagState


@dataclass
class ParsedCommandLine:
    """The configs a command line describes, plus what the port has to tell the user about it.

    ``notes`` are one-line messages for stderr: flags nanoBragg ignores or overrides, and how the port
    follows it.
    """

    simulation: SimulationConfig
    output: OutputConfig
    notes: List[str] = field(default_factory=list)
    device: str = "cpu"
    dtype: str = "float64"


_DETECTOR_VECTORS = ("fdet_vector", "sdet_vector", "odet_vector", "beam_vector")
_DETECTOR_AXES = _DETECTOR_VECTORS + ("twotheta_axis",)
_CUSTOM_ONLY = _DETECTOR_AXES + ("polar_vector", "spindle_axis")
# Input files, read from the base folder.
_INPUT_FILES = ("hklfile", "matfile", "sourcefile", "imgfile", "maskfile")
#: Flag keys that name no config field: each is resolved by a rule of this module.
RESOLVED_KEYS = frozenset(_INPUT_FILES + ("energy_ev", "xtal_x_mm", "xtal_y_mm", "xtal_z_mm", "pix0_vector",
                                          "polar_vector"))


def _build(cls, values: dict, **resolved):
    """``cls`` from the values stored under its field names, then ``resolved``. A value None is nanoBragg's
    "not given" (a reinterpreted -1, -lambda undoing -energy): that field keeps the dataclass default."""
    given = {f.name: values[f.name] for f in dataclasses.fields(cls) if values.get(f.name) is not None}
    return cls(**{**given, **resolved})


def input_path(path: str, base_dir: Optional[str]) -> str:
    """The path an input file is opened at: relative paths are read from ``base_dir`` (None: the current
    folder, as nanoBragg reads them).

    Example:
        >>> input_path("../inputs/cubic.hkl", "cases/run"), input_path("/data/a.hkl", "cases/run")
        ('cases/run/../inputs/cubic.hkl', '/data/a.hkl')
    """
    return path if base_dir is None else os.path.join(base_dir, path)


def resolve(state: FlagState, base_dir: Optional[str] = None) -> ParsedCommandLine:
    """Build a ``ParsedCommandLine`` from the flags, reading input files from ``base_dir`` (None: the
    current folder), or raise ``CommandLineError``."""
    notes = list(state.notes)
    given = dict(state.values)
    given.update({key: input_path(given[key], base_dir) for key in _INPUT_FILES if given.get(key) is not None})
    if given.get("dtype") not in (None, "float64", "float32"):
        raise CommandLineError(f"-dtype: expected float64 or float32, got {given['dtype']!r}")
    values = _header_defaults(given, notes)
    values.update(given)
    custom = state.convention is DetectorConvention.CUSTOM
    detector = _detector(state, values, notes)
    beam = _beam(values, custom)
    crystal = _crystal(values, beam, notes, custom, input_path(OutputConfig.dump_path, base_dir))
    simulation = _build(SimulationConfig, values, detector=detector, beam=beam, crystal=crystal)
    parsed = _build(ParsedCommandLine, values, simulation=simulation, output=_output(values, detector),
                    notes=notes)
    _validate(state, values, parsed)
    return parsed


def _validate(state: FlagState, values: dict, parsed: ParsedCommandLine) -> None:
    """The checks that need several values, once every flag and file is read and before anything is
    simulated: the cell's angles, -flux with a zero beam size, and the memory the run needs."""
    cell = parsed.simulation.crystal.cell
    if cell is not None:
        _check_cell_angles(cell)
    beam = parsed.simulation.beam
    if beam.flux != 0 and beam.exposure_s > 0 and beam.beamsize_mm == 0:
        raise CommandLineError(f"-flux {beam.flux:g} with -beamsize 0: the fluence flux*exposure/beamsize^2 "
                               "would be infinite; give a beam size > 0 (mm)")
    needs = _memory.run_needs(parsed.simulation, parsed.dtype, parsed.device,
                              writes_fdump=values.get("hklfile") is not None)
    _memory.check_fits(needs, state.given, parsed.dtype)


def _check_cell_angles(cell) -> None:
    """Three angles make a cell only if each is less than the sum of the other two and all three add up to
    less than 360 degrees (nanoBragg would go on with a volume of DBL_MIN)."""
    angles = [float(x) if float(x) > 0 else 90.0 for x in cell[3:]]
    cosines = [math.cos(math.radians(x)) for x in angles]
    ca, cb, cg = cosines
    # (V / abc)^2; a flat cell (angles adding up to 360, or one the sum of the others) gives 0 up to rounding.
    if 1 - ca * ca - cb * cb - cg * cg + 2 * ca * cb * cg <= 1e-12:
        raise CommandLineError(f"-cell: the angles {' '.join(f'{x:g}' for x in angles)} do not make a cell (each "
                               "must be less than the sum of the other two, and all three less than 360 deg)")


# Header keys an -img/-mask file may set, the config key and the flag whose domain applies to them.
_HEADER_KEYS = (("PIXEL_SIZE", "pixel_size_mm", "-pixel"), ("DISTANCE", "distance_mm", "-distance"),
                ("CLOSE_DISTANCE", "close_distance_mm", "-close_distance"), ("WAVELENGTH", "wavelength_A", "-lambda"),
                ("BEAM_CENTER_X", "xbeam_mm", "-Xbeam"), ("BEAM_CENTER_Y", "ybeam_mm", "-Ybeam"),
                ("ORGX", "orgx_px", "-ORGX"), ("ORGY", "orgy_px", "-ORGY"), ("PHI", "phi0_deg", "-phi"),
                ("OSC_RANGE", "osc_deg", "-osc"))


def _header_defaults(given: dict, notes: List[str]) -> dict:
    """Camera parameters from -mask then -img headers; flags given on the line override them. A header
    value a flag does not override is checked against that flag's domain."""
    values: dict = {}
    for key, flip_y in (("maskfile", True), ("imgfile", False)):
        path = given.get(key)
        if path is None:
            continue
        from ..io.smv import read_smv

        flag = f"-{key[:-4]}"
        try:
            image = read_smv(path)
        except (OSError, ValueError) as error:
            raise CommandLineError(f"{flag}: cannot read {path}: {error}") from None
        found = _camera_from_header(image, flip_y)
        for name, config_key, checked_as in _HEADER_KEYS:
            if config_key in found and config_key not in given:
                domain = FLAG_BY_NAME[checked_as].domains(1)[0]
                found[config_key], note = domain.convert(f"{flag} {path}: header {name}",
                                                         _token(found[config_key]))
                notes.extend([note] if note else [])
        values.update(found)
        if key == "maskfile":
            values["mask"] = image.data
    return values


def _token(value: float) -> str:
    """A header number as it would be typed: the shortest text that reads back as it (``-120``, ``0.1``)."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _camera_from_header(image, flip_y: bool) -> dict:
    height, width = image.data.shape
    found = {"fpixels": width, "spixels": height}
    for name, key, _ in _HEADER_KEYS:
        value = image.value_of(name)
        if not math.isnan(value):
            found[key] = value
    if flip_y and "ybeam_mm" in found:
        # nanoBragg flips BEAM_CENTER_Y of a -mask header (not of an -img header).
        found["ybeam_mm"] = found.get("pixel_size_mm", DetectorConfig.pixel_size_mm) * height - found["ybeam_mm"]
    return found


def _pixels(values: dict, axis: str, pixel_size_mm: float, notes: List[str]) -> tuple:
    """Pixel count and detector size (mm, or None when it is pixels x pixel size) along one axis."""
    count = values.get(f"{axis}pixels")
    if count is not None and count != 0:
        return int(count), None
    size_mm = values.get(f"detsize_{axis}_mm")
    if size_mm is None:  # nanoBragg's default size, which is the config's default count of default pixels
        size_mm = getattr(DetectorConfig, f"{axis}pixels") * DetectorConfig.pixel_size_mm
    pixels = DetectorConfig.pixels_across(size_mm, pixel_size_mm)
    if count == 0:  # nanoBragg sizes the detector from the pixel count only when it is not 0
        notes.append(f"0 pixels along {'fast' if axis == 'f' else 'slow'} means the detector size, as in "
                     f"nanoBragg: {size_mm:g} mm, {pixels} pixels")
    return pixels, size_mm


def _detector(state: FlagState, values: dict, notes: List[str]) -> DetectorConfig:
    convention = state.convention
    custom = convention is DetectorConvention.CUSTOM
    _note_convention(state, values, notes, custom)
    pixel_size_mm = values.get("pixel_size_mm", DetectorConfig.pixel_size_mm)
    fpixels, detsize_f = _pixels(values, "f", pixel_size_mm, notes)
    spixels, detsize_s = _pixels(values, "s", pixel_size_mm, notes)
    for name, count in (("fast", fpixels), ("slow", spixels)):
        if count <= 0:
            raise CommandLineError(f"detector has {count} pixels along {name}: -detpixels/-detsize must be positive")
    if values.get("pix0_vector") is not None:
        notes.append("-pix0_vector is ignored: nanoBragg always computes pix0 from the beam centre "
                     "(the Python API honours DetectorConfig.pix0_override_m)")
    return _build(DetectorConfig, values, convention=convention, pivot=_pivot(state, convention, notes),
                  fpixels=fpixels, spixels=spixels, detsize_f_mm=detsize_f, detsize_s_mm=detsize_s,
                  roi=_roi(values.get("roi"), fpixels, spixels), **_custom_axes(values, custom, notes))


def _custom_axes(values: dict, custom: bool, notes: List[str]) -> dict:
    """The detector's axis vectors and two-theta axis: the user's in CUSTOM, the convention's otherwise (the
    C's convention block overwrites them), with the C's rule for a normal that is not of unit length."""
    if not custom:
        return dict.fromkeys(_DETECTOR_AXES)
    axes = {key: values.get(key) for key in _DETECTOR_AXES}
    if axes["odet_vector"] is not None:
        from ..models.conventions import CONVENTION_AXES
        from ..models.detector import nanobrag_odet_vector

        default = CONVENTION_AXES[DetectorConvention.CUSTOM]
        odet, replaced = nanobrag_odet_vector(axes["fdet_vector"] or default.fdet,
                                              axes["sdet_vector"] or default.sdet, axes["odet_vector"])
        if replaced:
            notes.append("-odet_vector is replaced: its length is not exactly 1, so nanoBragg uses "
                         f"unit(fdet x sdet) = {' '.join(f'{x:.15g}' for x in odet)}")
        axes["odet_vector"] = odet
    return axes


def _note_convention(state: FlagState, values: dict, notes: List[str], custom: bool) -> None:
    if not custom:
        dropped = [f"-{k}" for k in _CUSTOM_ONLY if k in values]
        if dropped:
            notes.append(f"{', '.join(dropped)} ignored: the {state.convention.name} convention "
                         f"(from {state.convention_flag}) defines its own axes")
    elif state.custom_reason and state.custom_reason != "detector vectors":
        notes.append(f"{state.custom_reason} selects nanoBragg's CUSTOM convention: -Xbeam/-Ybeam map directly "
                     "to fast/slow (no MOSFLM axis swap or half-pixel offset)")
    if state.twotheta_from_axis is not None:
        notes.append(f"-twotheta_axis also sets two-theta to its first component ({state.twotheta_from_axis:g} deg) "
                     "and pivots about the sample: nanoBragg matches '-twotheta' inside '-twotheta_axis'")
    if state.convention in (DetectorConvention.XDS, DetectorConvention.DIALS):
        for key, flag in (("xbeam_mm", "-Xbeam"), ("ybeam_mm", "-Ybeam"), ("xclose_mm", "-Xclose"),
                          ("yclose_mm", "-Yclose")):
            if key in state.values:
                notes.append(f"{flag} only changes header values in the {state.convention.name} convention: "
                             "the near point comes from -ORGX/-ORGY")
    elif not custom:
        for key, flag in (("xclose_mm", "-Xclose"), ("yclose_mm", "-Yclose"), ("orgx_px", "-ORGX"),
                          ("orgy_px", "-ORGY")):
            if key in state.values:
                notes.append(f"{flag} has no effect on the geometry in the {state.convention.name} convention")


def _pivot(state: FlagState, convention: DetectorConvention, notes: List[str]) -> DetectorPivot:
    forced = DetectorConfig.forced_pivot(convention)
    if forced is None:
        return state.pivot
    if state.explicit_pivot is not None and state.explicit_pivot[1] is not forced:
        notes.append(f"-pivot {state.explicit_pivot[1].value} is ignored: the {convention.name} convention "
                     f"always pivots about the {'beam spot' if forced is DetectorPivot.BEAM else 'sample'}")
    return forced


def _roi(roi, fpixels: int, spixels: int):
    if roi is None:
        return None
    xmin, xmax, ymin, ymax = roi
    # A negative maximum (None here) is nanoBragg's "to the last pixel".
    xmax = fpixels - 1 if xmax is None else xmax
    ymax = spixels - 1 if ymax is None else ymax
    if xmin < 0 or ymin < 0 or xmin > xmax or ymin > ymax or xmin >= fpixels or ymin >= spixels:
        raise CommandLineError(f"-roi: {xmin} {xmax} {ymin} {ymax} selects no pixel of the "
                               f"{fpixels}x{spixels} detector (xmin xmax ymin ymax, inclusive)")
    return (xmin, xmax, ymin, ymax)


def _beam(values: dict, custom: bool) -> BeamConfig:
    resolved = {}
    if values.get("energy_ev") is not None:  # -energy given after any -lambda (each unsets the other)
        resolved["wavelength_A"] = energy_ev_to_wavelength_A(values["energy_ev"])
    return _build(BeamConfig, values, polarization_axis=values.get("polar_vector") if custom else None,
                  source_points=_sources(values.get("sourcefile")), **resolved)


def _sources(path: Optional[str]):
    if path is None:
        return None
    from ..io.sourcefile import read_sourcefile

    try:
        rows = read_sourcefile(path)
    except (OSError, ValueError) as error:
        raise CommandLineError(f"-sourcefile: {error}") from None
    none_if_nan = lambda x: None if math.isnan(x) else float(x)
    points = tuple(SourcePoint(*(none_if_nan(x) for x in row)) for row in rows)
    for number, point in enumerate(points, start=1):
        _check_source(path, number, point)
    return points


def _check_source(path: str, number: int, point: SourcePoint) -> None:
    """A source's given values: finite, a weight >= 0, a wavelength > 0, a position other than the sample."""
    where = f"-sourcefile {path}: source {number}"
    for name, value in zip(("X", "Y", "Z", "weight", "lambda"), (point.x_m, point.y_m, point.z_m, point.weight,
                                                                 point.wavelength_m)):
        if value is not None and not math.isfinite(value):
            raise CommandLineError(f"{where}: {name} must be a finite number, got {value!r}")
    if point.weight is not None and point.weight < 0:
        raise CommandLineError(f"{where}: expected a weight >= 0, got {point.weight:g}")
    if point.wavelength_m is not None and point.wavelength_m <= 0:
        raise CommandLineError(f"{where}: expected a wavelength > 0 (m), got {point.wavelength_m:g}")
    if (point.x_m, point.y_m, point.z_m) == (0.0, 0.0, 0.0):
        raise CommandLineError(f"{where}: the position 0 0 0 is the sample itself: it gives no direction")


def _crystal(values: dict, beam: BeamConfig, notes: List[str], custom: bool, dump_path: str) -> CrystalConfig:
    if values.get("cell") is not None and values.get("matfile") is not None:
        raise CommandLineError("-cell and -mat together: nanoBragg would mix the matrix's directions with the "
                               "cell's lengths; give one of them")
    cell = values.get("cell")
    if cell is None and values.get("matfile") is None:
        raise CommandLineError("no crystal: give -cell a b c alpha beta gamma or -mat FILE")
    sizes = [values.get(f"xtal_{axis}_mm", default) for axis, default in zip("xyz", CrystalConfig.xtal_size_mm)]
    for i, axis in ((1, "y"), (2, "z")):
        if 0 <= beam.beamsize_mm < sizes[i]:
            notes.append(f"crystal size along {axis} ({sizes[i]:g} mm) is clipped to the beam size "
                         f"({beam.beamsize_mm:g} mm), as nanoBragg does")
            sizes[i] = beam.beamsize_mm
    # Numbers missing from a short -cell are 0, which the crystal model reads as "as nanoBragg derives it".
    padded = tuple(list(cell) + [0.0] * (6 - len(cell))) if cell is not None else None
    return _build(CrystalConfig, values, cell=padded, reciprocal_matrix=_matrix(values.get("matfile")),
                  xtal_size_mm=tuple(sizes), spindle_axis=values.get("spindle_axis") if custom else None,
                  hkl=_structure_factors(values, notes, dump_path))


def _matrix(path: Optional[str]):
    if path is None:
        return None
    from ..io.matrix import read_mosflm_matrix

    try:
        matrix = read_mosflm_matrix(path)
    except (OSError, ValueError) as error:
        raise CommandLineError(f"-mat: {error}") from None
    import numpy as np

    determinant = float(np.linalg.det(np.asarray(matrix, dtype=np.float64)))
    if not np.all(np.isfinite(matrix)) or not math.isfinite(determinant) or determinant == 0.0:
        raise CommandLineError(f"-mat {path}: the matrix must be finite with three independent reciprocal "
                               f"vectors (determinant {determinant:g})")
    return matrix


def _structure_factors(values: dict, notes: List[str], dump_path: str):
    """The -hkl table, or nanoBragg's cache of an earlier -hkl run when -hkl is absent, or None (every
    reflection has -default_F)."""
    path, default_F = values.get("hklfile"), values.get("default_F", CrystalConfig.default_F)
    if path is None and not os.path.exists(dump_path):
        if default_F == 0.0:
            where = " here" if dump_path == OutputConfig.dump_path else ""
            raise CommandLineError(f"no structure factors: give -hkl FILE or -default_F (there is no {dump_path}"
                                   f"{where})")
        return None
    from ..io import hkl as hkl_io

    source = f"-hkl {path}" if path is not None else dump_path
    try:
        if path is not None:
            table = hkl_io.read_hkl(path, default_F=default_F,
                                    check_box=functools.partial(_memory.check_hkl_box, source))
        else:
            notes.append(f"reading structure factors from {dump_path} (the cache of an earlier -hkl run), "
                         "as nanoBragg does when -hkl is absent")
            table = hkl_io.read_fdump(dump_path)
    except CommandLineError:
        raise  # the box refused before it was allocated: the message already names the flag and file
    except (OSError, ValueError) as error:
        raise CommandLineError(f"{source.split()[0]}: {error}") from None
    except MemoryError as error:
        raise CommandLineError(f"{source}: {_hkl_memory_message(error)}") from None
    _check_structure_factors(source, table)
    return table


def _hkl_memory_message(error: MemoryError) -> str:
    """The figure of a structure-factor box that could not be allocated (numpy's error names its shape)."""
    shape = getattr(error, "shape", None)
    if not shape or len(shape) != 3:
        return "the structure-factor table does not fit in memory"
    nbytes = _memory.hkl_table_bytes(0, shape[0] - 1, 0, shape[1] - 1, 0, shape[2] - 1)
    memory = _memory.physical_memory_bytes()
    machine = f", more than this machine's {_memory.format_bytes(memory)} of memory" if memory else ""
    return (f"the structure-factor table spans {shape[0]}x{shape[1]}x{shape[2]} indices and needs "
            f"{_memory.format_bytes(nbytes)} (float64){machine}")


def _check_structure_factors(source: str, table) -> None:
    """Every F of the table must be finite: a NaN or an infinity would fill the image with them."""
    import numpy as np

    if np.isfinite(table.F).all():
        return
    bad = np.argwhere(~np.isfinite(table.F))
    if bad.size:
        h, k, l = (int(i) for i in bad[0])
        F = float(table.F[h, k, l])
        raise CommandLineError(f"{source}: F of reflection {h + table.h_min} {k + table.k_min} {l + table.l_min} "
                               f"is {F!r}: expected a finite number ({len(bad)} such value(s))")


def _output(values: dict, detector: DetectorConfig) -> OutputConfig:
    if values.get("trace_pixel") is not None:
        try:
            detector.check_pixel(*values["trace_pixel"])
        except ValueError as error:
            raise CommandLineError(f"-trace_pixel: {error}") from None
    return _build(OutputConfig, values, hkl_path=values.get("hklfile"))
