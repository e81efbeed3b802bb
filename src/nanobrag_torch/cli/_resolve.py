"""From flag values to configs: nanoBragg's defaults, convention/pivot rules, the files it reads, and the
checks that need several values at once (run before anything is simulated).

Each flag's own values were checked against their domains when they were read (``_flags``, ``_domains``);
values from an ``-img``/``-mask`` header go through the same domains here. ``_validate`` then checks what
only a combination can get wrong: the cell's angles, -flux without a beam size, the ROI and trace pixel
against the detector, the sources of a -sourcefile, and the memory the run needs (``_memory``).
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass, field
from typing import List, Optional

from ..config import (BeamConfig, CrystalConfig, DetectorConfig, DetectorConvention, DetectorPivot,
                      OutputConfig, SimulationConfig, SourcePoint)
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
_CUSTOM_ONLY = _DETECTOR_VECTORS + ("twotheta_axis", "polar_vector", "spindle_axis")


def resolve(state: FlagState):
    """Build a ``ParsedCommandLine`` from the flags, or raise ``CommandLineError``."""
    notes = list(state.notes)
    values = _header_defaults(state, notes)
    values.update(state.values)
    dtype = str(values.get("dtype", "float64"))
    if dtype not in ("float64", "float32"):
        raise CommandLineError(f"-dtype: expected float64 or float32, got {dtype!r}")
    detector = _detector(state, values, notes)
    beam = _beam(values)
    crystal = _crystal(values, beam, notes)
    simulation = SimulationConfig(detector=detector, beam=beam, crystal=crystal,
                                  dmin_A=float(values.get("dmin_A", 0.0)),
                                  c_compat=bool(values.get("c_compat", False)))
    output = _output(values, detector)
    parsed = ParsedCommandLine(simulation=simulation, output=output, notes=notes,
                               device=str(values.get("device", "cpu")), dtype=dtype)
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


def _header_defaults(state: FlagState, notes: List[str]) -> dict:
    """Camera parameters from -mask then -img headers; flags given on the line override them. A header
    value a flag does not override is checked against that flag's domain."""
    values: dict = {}
    for key, flip_y in (("maskfile", True), ("imgfile", False)):
        path = state.get(key)
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
            if config_key in found and config_key not in state.values:
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
        found["ybeam_mm"] = found.get("pixel_size_mm", 0.1) * height - found["ybeam_mm"]
    return found


def _pixels(values: dict, axis: str) -> tuple:
    """Pixel count and detector size (mm, or None when it is pixels x pixel size) along one axis."""
    pixel_m = values.get("pixel_size_mm", 0.1) / 1000.0
    count = values.get(f"{axis}pixels")
    if count is not None:
        return int(count), None
    size_mm = values.get(f"detsize_{axis}_mm", 102.4)
    count = math.ceil(size_mm / 1000.0 / pixel_m - 0.5)
    return count, size_mm


def _detector(state: FlagState, values: dict, notes: List[str]) -> DetectorConfig:
    convention = state.convention
    custom = convention is DetectorConvention.CUSTOM
    _note_convention(state, values, notes, custom)
    pivot = _pivot(state, convention, notes)
    vectors = {k: values.get(k) for k in _DETECTOR_VECTORS} if custom else {}
    if custom and vectors.get("odet_vector") is not None:
        from ..models.detector import nanobrag_odet_vector

        odet, replaced = nanobrag_odet_vector(values.get("fdet_vector", (0, 0, 1)),
                                              values.get("sdet_vector", (0, -1, 0)), vectors["odet_vector"])
        if replaced:
            notes.append("-odet_vector is replaced: its length is not exactly 1, so nanoBragg uses "
                         f"unit(fdet x sdet) = {' '.join(f'{x:.15g}' for x in odet)}")
        vectors["odet_vector"] = odet
    fpixels, detsize_f = _pixels(values, "f")
    spixels, detsize_s = _pixels(values, "s")
    for name, count in (("fast", fpixels), ("slow", spixels)):
        if count <= 0:
            raise CommandLineError(f"detector has {count} pixels along {name}: -detpixels/-detsize must be positive")
    if values.get("pix0_vector") is not None:
        notes.append("-pix0_vector is ignored: nanoBragg always computes pix0 from the beam centre "
                     "(the Python API honours DetectorConfig.pix0_override_m)")
    return DetectorConfig(
        convention=convention, pivot=pivot,
        distance_mm=values.get("distance_mm", 100.0), close_distance_mm=values.get("close_distance_mm"),
        pixel_size_mm=values.get("pixel_size_mm", 0.1), fpixels=fpixels, spixels=spixels,
        detsize_f_mm=detsize_f, detsize_s_mm=detsize_s,
        xbeam_mm=values.get("xbeam_mm"), ybeam_mm=values.get("ybeam_mm"),
        xclose_mm=values.get("xclose_mm"), yclose_mm=values.get("yclose_mm"),
        orgx_px=values.get("orgx_px"), orgy_px=values.get("orgy_px"),
        rotx_deg=values.get("rotx_deg", 0.0), roty_deg=values.get("roty_deg", 0.0),
        rotz_deg=values.get("rotz_deg", 0.0), twotheta_deg=values.get("twotheta_deg", 0.0),
        twotheta_axis=values.get("twotheta_axis") if custom else None,
        point_pixel=bool(values.get("point_pixel", False)), curved=bool(values.get("curved", False)),
        thickness_um=values.get("thickness_um", 0.0), attenuation_depth_um=values.get("attenuation_depth_um"),
        thicksteps=values.get("thicksteps"), oversample=values.get("oversample"),
        oversample_thick=bool(values.get("oversample_thick", False)),
        oversample_polar=bool(values.get("oversample_polar", False)),
        oversample_omega=bool(values.get("oversample_omega", False)),
        roi=_roi(values.get("roi"), fpixels, spixels), mask=values.get("mask"),
        **vectors)


def _note_convention(state: FlagState, values: dict, notes: List[str], custom: bool) -> None:
    if not custom:
        dropped = [f"-{k}" if k != "spindle_axis" else "-spindle_axis" for k in _CUSTOM_ONLY if k in values]
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


def _beam(values: dict) -> BeamConfig:
    wavelength = values.get("wavelength_A")
    if values.get("energy_ev") is not None:
        wavelength = 12398.42 / values["energy_ev"]
    return BeamConfig(
        wavelength_A=wavelength if wavelength is not None else 1.0,
        fluence=values.get("fluence", BeamConfig.fluence), flux=values.get("flux", 0.0),
        exposure_s=values.get("exposure_s", 1.0), beamsize_mm=values.get("beamsize_mm", 0.1),
        kahn_factor=values.get("kahn_factor", 0.0), nopolar=bool(values.get("nopolar", False)),
        polarization_axis=values.get("polar_vector") if "polar_vector" in values else None,
        hdivrange_mrad=values.get("hdivrange_mrad"), vdivrange_mrad=values.get("vdivrange_mrad"),
        hdivstep_mrad=values.get("hdivstep_mrad"), vdivstep_mrad=values.get("vdivstep_mrad"),
        hdivsteps=values.get("hdivsteps"), vdivsteps=values.get("vdivsteps"),
        round_div=bool(values.get("round_div", True)),
        dispersion_percent=values.get("dispersion_percent"), dispsteps=values.get("dispsteps"),
        source_points=_sources(values.get("sourcefile")), water_um=values.get("water_um", 0.0))


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


def _crystal(values: dict, beam: BeamConfig, notes: List[str]) -> CrystalConfig:
    if values.get("cell") is not None and values.get("matfile") is not None:
        raise CommandLineError("-cell and -mat together: nanoBragg would mix the matrix's directions with the "
                               "cell's lengths; give one of them")
    cell = values.get("cell")
    if cell is None and values.get("matfile") is None:
        raise CommandLineError("no crystal: give -cell a b c alpha beta gamma or -mat FILE")
    sizes = [values.get(f"xtal_{axis}_mm", 0.0) for axis in "xyz"]
    beamsize = values.get("beamsize_mm", 0.1)
    for i, axis in ((1, "y"), (2, "z")):
        if beamsize >= 0 and beamsize < sizes[i]:
            notes.append(f"crystal size along {axis} ({sizes[i]:g} mm) is clipped to the beam size "
                         f"({beamsize:g} mm), as nanoBragg does")
            sizes[i] = beamsize
    return CrystalConfig(
        cell=tuple(list(cell) + [0.0] * (6 - len(cell))) if cell is not None else None,
        reciprocal_matrix=_matrix(values.get("matfile")),
        misset_deg=values.get("misset_deg"), misset_random=bool(values.get("misset_random", False)),
        misset_seed=values.get("misset_seed"),
        Na=values.get("Na", 1), Nb=values.get("Nb", 1), Nc=values.get("Nc", 1), xtal_size_mm=tuple(sizes),
        shape=values.get("shape", CrystalConfig.shape), fudge=values.get("fudge", 1.0),
        phi0_deg=values.get("phi0_deg", 0.0), osc_deg=values.get("osc_deg"),
        phistep_deg=values.get("phistep_deg"), phisteps=values.get("phisteps"),
        spindle_axis=values.get("spindle_axis"),
        mosaic_spread_deg=values.get("mosaic_spread_deg"), mosaic_domains=values.get("mosaic_domains"),
        mosaic_seed=values.get("mosaic_seed", 12345678),
        default_F=values.get("default_F", 0.0), hkl=_structure_factors(values, notes),
        interpolate=values.get("interpolate"))


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


def _structure_factors(values: dict, notes: List[str]):
    path = values.get("hklfile")
    if path is None and not os.path.exists("Fdump.bin"):
        if values.get("default_F", 0.0) == 0.0:
            raise CommandLineError("no structure factors: give -hkl FILE or -default_F "
                                   "(there is no Fdump.bin here)")
        return None
    from ..io import hkl as hkl_io

    source = f"-hkl {path}" if path is not None else "Fdump.bin"
    try:
        if path is not None:
            table = hkl_io.read_hkl(path, default_F=values.get("default_F", 0.0),
                                    check_box=functools.partial(_memory.check_hkl_box, source))
        else:
            notes.append("reading structure factors from Fdump.bin (the cache of an earlier -hkl run), "
                         "as nanoBragg does when -hkl is absent")
            table = hkl_io.read_fdump("Fdump.bin")
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
    trace = values.get("trace_pixel")
    if trace is not None:
        slow, fast = trace
        if not (0 <= slow < detector.spixels and 0 <= fast < detector.fpixels):
            raise CommandLineError(f"-trace_pixel: pixel (slow {slow}, fast {fast}) is outside the "
                                   f"{detector.fpixels}x{detector.spixels} (fast x slow) detector")
    defaults = OutputConfig()
    return OutputConfig(
        floatfile=values.get("floatfile", defaults.floatfile), intfile=values.get("intfile", defaults.intfile),
        pgmfile=values.get("pgmfile", defaults.pgmfile), noisefile=values.get("noisefile", defaults.noisefile),
        write_pgm=bool(values.get("write_pgm", True)), write_noise=bool(values.get("write_noise", True)),
        intfile_scale=values.get("intfile_scale", 0.0), pgm_scale=values.get("pgm_scale", 0.0),
        adc_offset=values.get("adc_offset", 40.0), seed=values.get("seed"), trace_pixel=trace,
        progress=values.get("progress"), hkl_path=values.get("hklfile"))
