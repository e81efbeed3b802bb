"""The dataset file: HDF5 following NeXus NXmx (what DIALS, XDS's durin plugin and the ``nxmx`` package read).

Layout (vectors in NeXus's McStas frame: beam along +z, y up; nanoBragg's lab frame is turned onto it by
the smallest rotation taking its beam to +z, stored as ``/entry/nanobragg/lab_to_mcstas``):

- ``/entry/data/data``: the frames, (frames, slow, fast), uint16 noise counts or float32 photons
  (``-nonoise``), one chunk per frame, compressed (``_chunks``);
- ``/entry/instrument/detector``: an NXdetector with one NXdetector_module, ``module``, whose
  ``module_offset`` is the Detector's ``pix0_vector`` (the first pixel's corner) and whose
  ``fast_pixel_direction``/``slow_pixel_direction`` are its ``fdet_vec``/``sdet_vec`` (values: the pixel
  size), taken from the simulator's Detector; ``pixel_mask`` flags pixels outside ``-roi`` or ``-mask``;
- ``/entry/instrument/beam``: the wavelength;
- ``/entry/sample/transformations/phi``: the spindle angle at the start of each frame (``phi_end``,
  ``phi_increment_set``); a series' sample ``depends_on`` it, a set of stills' sample depends on nothing
  (NXmx's still shots), its orientations being in ``/entry/nanobragg``;
- ``/entry/nanobragg`` (NXcollection): ``job`` (the spec as JSON), ``command``, ``frame_complete`` (1 once
  the frame's data and values are stored), per frame ``fluence``, ``noise_seed``, ``misset_deg`` (stills),
  ``real_space_vectors`` (the crystal's a, b, c in Angstrom, McStas frame, spindle at 0), and the
  Detector's vectors in nanoBragg's frame.

A frame is written as: its chunk and values, a flush, ``frame_complete[i] = 1``, a flush. A frame whose flag
is 0 is recomputed when the job is run again, and reads as the fill value (65535, the overload value, for
noise counts; NaN for photons) until then.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import shlex
from typing import Optional

import numpy as np

from ._chunks import filter_options
from ._render import EncodedFrame
from ._rotations import lab_to_mcstas
from ._spec import DatasetError, DatasetSpec

__all__ = ["DatasetFile", "FORMAT_VERSION"]

#: Bumped when the layout changes; a file of another version is not resumed.
FORMAT_VERSION = 1
_NOISE_FILL = 65535  # nanoBragg clips noise counts there: DIALS treats it as an overload


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class DatasetFile:
    """An NXmx dataset file open for writing frames: :meth:`create` a new one or :meth:`resume` one.

    Example:
        >>> from nanobrag_torch.datasets import DatasetSpec
        >>> spec = DatasetSpec.series("-cell 100 100 100 90 90 90 -default_F 1 -detpixels 8 -osc 1 -nonoise", 3)
        >>> with DatasetFile.create("x.h5", spec, geometry_simulator(spec), "gzip") as out:
        ...     out.missing()
        [0, 1, 2]
    """

    def __init__(self, handle, spec: DatasetSpec):
        self.handle, self.spec = handle, spec
        self.path = handle.filename
        self.data = handle["/entry/data/data"]
        self.complete = handle["/entry/nanobragg/frame_complete"]
        self.group = handle["/entry/nanobragg"]
        self.lab_to_mcstas = self.group["lab_to_mcstas"][()]

    def __enter__(self) -> "DatasetFile":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- opening ------------------------------------------------------------------------------------

    @classmethod
    def create(cls, path: str, spec: DatasetSpec, simulator, compression: str) -> "DatasetFile":
        """Create ``path`` (replacing any file there) for ``spec``; ``simulator`` gives the geometry."""
        import h5py

        handle = h5py.File(path, "w")
        try:
            _write_layout(handle, spec, simulator, compression)
            handle.flush()
        except BaseException:
            handle.close()
            os.remove(path)
            raise
        return cls(handle, spec)

    @classmethod
    def resume(cls, path: str, spec: DatasetSpec, compression: str) -> "DatasetFile":
        """Open ``path``, written earlier for the same job, to complete it. The seeds ``spec`` drew are
        replaced by the file's (see ``self.spec``). Raises ``DatasetError`` if it holds another job."""
        import h5py

        try:
            handle = h5py.File(path, "r+")
        except OSError as error:
            raise DatasetError(f"-o {path}: cannot open it as HDF5 to resume it ({error}); choose another "
                               "output, or -overwrite") from None
        try:
            found = _recorded_job(handle, path)
            spec = spec.with_seeds(found.get("seed"), found.get("misset_seed"))
            wanted = _job(spec, compression)
            different = [key for key in wanted if found.get(key) != wanted[key]]
            if different:
                key = different[0]
                there, here = (shlex.join(job[key]) if key == "command" else repr(job.get(key))
                               for job in (found, wanted))
                raise DatasetError(f"-o {path}: holds another dataset ({key}: {there} there, {here} here); "
                                   "choose another output, or -overwrite to replace it")
        except BaseException:
            handle.close()
            raise
        return cls(handle, spec)

    # -- frames -------------------------------------------------------------------------------------

    def missing(self) -> list:
        """Indices of the frames not complete yet, in order."""
        return [int(i) for i in np.flatnonzero(self.complete[()] == 0)]

    def write(self, frame: EncodedFrame) -> None:
        """Store one frame, then mark it complete (each step flushed, so the flag never precedes the data)."""
        i = frame.index
        self.data.id.write_direct_chunk((i, 0, 0), frame.chunk.data, frame.chunk.filter_mask)
        self.group["real_space_vectors"][i] = frame.real_space_vectors_A @ self.lab_to_mcstas.T
        self.group["fluence"][i] = frame.fluence
        self.handle.flush()
        self.complete[i] = 1
        self.handle.flush()

    def close(self) -> None:
        """Record the end time once every frame is complete, and close the file."""
        if not self.handle:
            return
        if "end_time" not in self.handle["/entry"] and not self.missing():
            _text(self.handle["/entry"], "end_time", _now())
        self.handle.close()


def geometry_simulator(spec: DatasetSpec):
    """The simulator of frame 0, whose Detector, beam and spindle the file records (the geometry is the same
    for every frame), in float64 on the CPU. Raises ``DatasetError`` where the models refuse the configs.

    Example:
        >>> from nanobrag_torch.datasets import DatasetSpec
        >>> spec = DatasetSpec.series("-cell 100 100 100 90 90 90 -default_F 1 -detpixels 8 -osc 1", 2)
        >>> [round(float(x), 6) for x in geometry_simulator(spec).detector.pix0_vector]
        [0.1, 0.0005, -0.0005]
    """
    import torch

    from ..simulator import Simulator

    try:
        return Simulator.from_config(spec.frame_config(0), dtype=torch.float64)
    except ValueError as error:
        raise DatasetError(str(error)) from None


def _job(spec: DatasetSpec, compression: str) -> dict:
    return dict(spec.identity(), compression=compression, format_version=FORMAT_VERSION)


def _recorded_job(handle, path: str) -> dict:
    try:
        return json.loads(handle["/entry/nanobragg"].attrs["job"])
    except (KeyError, ValueError):
        raise DatasetError(f"-o {path}: is not a dataset written by nanobrag-torch-dataset; choose another "
                           "output, or -overwrite to replace it") from None


# -- layout ----------------------------------------------------------------------------------------------


def _group(parent, name: str, nx_class: str, **attrs):
    group = parent.create_group(name)
    group.attrs["NX_class"] = nx_class
    for key, value in attrs.items():
        group.attrs[key] = value
    return group


def _text(group, name: str, value: str):
    return group.create_dataset(name, data=value, dtype=f"S{max(len(value.encode()), 1)}")


def _number(group, name: str, value, units: Optional[str] = None, **attrs):
    dataset = group.create_dataset(name, data=value, track_times=False)
    if units is not None:
        dataset.attrs["units"] = units
    for key, item in attrs.items():
        dataset.attrs[key] = item
    return dataset


def _axis(group, name: str, value, units: str, kind: str, vector, depends_on: str):
    """An NXtransformations axis: ``value`` along (translation) or about (rotation) unit ``vector``."""
    return _number(group, name, value, units, transformation_type=kind, vector=np.asarray(vector, np.float64),
                   offset=np.zeros(3), offset_units=units if kind == "translation" else "mm",
                   depends_on=depends_on)


def _write_layout(handle, spec: DatasetSpec, simulator, compression: str) -> None:
    from .. import __version__

    handle.attrs["creator"] = f"nanobrag-torch {__version__}"
    handle.attrs["default"] = "entry"
    entry = _group(handle, "entry", "NXentry", default="data")
    _text(entry, "definition", "NXmx")
    _text(entry, "start_time", _now())
    rotation = lab_to_mcstas(_vector(simulator.detector.beam_vector))
    plans = [spec.plan(i) for i in range(spec.frames)]
    _write_data(entry, spec, simulator, compression)
    instrument = _group(entry, "instrument", "NXinstrument")
    _text(instrument, "name", "nanoBragg simulation (nanobrag-torch)")
    beam = _group(instrument, "beam", "NXbeam")
    _number(beam, "incident_wavelength", float(simulator.beam.wavelength_m) * 1e10, "angstrom")
    _write_detector(instrument, spec, simulator, rotation)
    _write_sample(entry, spec, simulator, rotation, plans)
    source = _group(entry, "source", "NXsource")
    _text(source, "name", "nanoBragg simulation")
    _write_nanobragg(entry, spec, simulator, rotation, compression, plans)


def _vector(tensor) -> np.ndarray:
    """A model's (3,) tensor as float64 numbers (the models may run in float32, or on a GPU)."""
    return np.asarray(tensor.detach().cpu().double().numpy(), np.float64).reshape(3)


def _write_data(entry, spec: DatasetSpec, simulator, compression: str) -> None:
    det = simulator.detector
    shape = (spec.frames, det.spixels, det.fpixels)
    dtype, fill = (np.uint16, _NOISE_FILL) if spec.noise else (np.float32, np.nan)
    data = _group(entry, "data", "NXdata", signal="data")
    data.create_dataset("data", shape=shape, dtype=dtype, chunks=(1, *shape[1:]), fillvalue=fill,
                        track_times=False, **filter_options(compression))


def _write_detector(instrument, spec: DatasetSpec, simulator, rotation: np.ndarray) -> None:
    det, beam = simulator.detector, simulator.beam
    detector = _group(instrument, "detector", "NXdetector")
    module_path = "/entry/instrument/detector/module"
    _text(detector, "depends_on", f"{module_path}/module_offset")
    _text(detector, "description", "nanoBragg simulated pixel-array detector")
    _text(detector, "type", "pixel")
    _text(detector, "sensor_material", "Si")
    _number(detector, "sensor_thickness", det.thickness_m * 1e3, "mm")
    _number(detector, "x_pixel_size", det.pixel_size_m, "m")
    _number(detector, "y_pixel_size", det.pixel_size_m, "m")
    _number(detector, "distance", float(det.distance_m) * 1e3, "mm")
    _number(detector, "beam_center_x", float(det.beam_fast_m) / det.pixel_size_m, "pixel")
    _number(detector, "beam_center_y", float(det.beam_slow_m) / det.pixel_size_m, "pixel")
    exposure = float(spec.parsed.simulation.beam.exposure_s)
    _number(detector, "count_time", exposure, "s")
    _number(detector, "frame_time", exposure, "s")
    if spec.noise:
        _number(detector, "saturation_value", _NOISE_FILL)
        _number(detector, "bit_depth_readout", 16)
    _number(detector, "pixel_mask_applied", False)
    detector.create_dataset("pixel_mask", data=_pixel_mask(simulator), compression="gzip", shuffle=True,
                            track_times=False)
    module = _group(detector, "module", "NXdetector_module")
    _number(module, "data_origin", np.array([0, 0], np.int64))
    _number(module, "data_size", np.array([det.spixels, det.fpixels], np.int64))
    _number(module, "data_stride", np.array([1, 1], np.int64))
    pix0_mm = rotation @ _vector(det.pix0_vector) * 1e3
    length = float(np.linalg.norm(pix0_mm))
    _axis(module, "module_offset", length, "mm", "translation", pix0_mm / length if length else (0, 0, 1), ".")
    for name, vector in (("fast_pixel_direction", det.fdet_vec), ("slow_pixel_direction", det.sdet_vec)):
        _axis(module, name, det.pixel_size_m * 1e3, "mm", "translation", rotation @ _vector(vector),
              f"{module_path}/module_offset")


def _pixel_mask(simulator) -> np.ndarray:
    """NXmx's pixel_mask: bit 0 (gap) set where nothing is rendered, outside -roi or where -mask is 0.
    Read from the config's ROI (inclusive, clipped to the detector) and mask rather than from
    ``Simulator.rendered_pixels()``, whose index arrays take 16 bytes a pixel."""
    det, config = simulator.detector, simulator.detector.config
    mask = np.ones((det.spixels, det.fpixels), np.uint32)
    xmin, xmax, ymin, ymax = config.roi if config.roi is not None else (0, det.fpixels - 1, 0, det.spixels - 1)
    mask[max(ymin, 0):ymax + 1, max(xmin, 0):xmax + 1] = 0
    if config.mask is not None:
        mask[np.asarray(config.mask) == 0] = 1
    return mask


def _write_sample(entry, spec: DatasetSpec, simulator, rotation: np.ndarray, plans) -> None:
    sample = _group(entry, "sample", "NXsample")
    _text(sample, "name", "simulated crystal")
    path = "/entry/sample/transformations/phi"
    # A still has no scan: NXmx (and DIALS) read a sample that depends on nothing as still shots.
    _text(sample, "depends_on", "." if spec.stills else path)
    starts = np.array([plan.phi_start_deg for plan in plans])
    # A series' width is its -osc as given; a still's is the spindle range nanoBragg derives for it.
    width = math.degrees(float(simulator.crystal.osc_rad)) if spec.stills else None
    widths = np.array([plan.osc_deg if width is None else width for plan in plans])
    transformations = _group(sample, "transformations", "NXtransformations")
    spindle = rotation @ _vector(simulator.crystal.spindle_axis)
    _axis(transformations, "phi", starts, "deg", "rotation", spindle, ".")
    _number(transformations, "phi_end", starts + widths, "deg")
    _number(transformations, "phi_increment_set", widths, "deg")


def _write_nanobragg(entry, spec: DatasetSpec, simulator, rotation: np.ndarray, compression: str, plans) -> None:
    det, frames = simulator.detector, spec.frames
    group = _group(entry, "nanobragg", "NXcollection", job=json.dumps(_job(spec, compression), sort_keys=True))
    _text(group, "command", shlex.join(spec.command))
    group.create_dataset("frame_complete", shape=(frames,), dtype=np.uint8, fillvalue=0, track_times=False)
    group.create_dataset("fluence", shape=(frames,), dtype=np.float64, fillvalue=np.nan, track_times=False)
    group.create_dataset("real_space_vectors", shape=(frames, 3, 3), dtype=np.float64, fillvalue=np.nan,
                         track_times=False).attrs["units"] = "angstrom"
    group["fluence"].attrs["units"] = "photons/m^2"
    if spec.noise:
        _number(group, "noise_seed", np.array([plan.noise_seed for plan in plans], np.int64))
    if spec.stills:
        _number(group, "misset_deg", np.array([plan.misset_deg for plan in plans]), "deg")
        _number(group, "fluence_factor", np.array([plan.fluence_factor for plan in plans]))
    _number(group, "lab_to_mcstas", rotation)
    for name, vector in (("fdet_vector", det.fdet_vec), ("sdet_vector", det.sdet_vec), ("odet_vector", det.odet_vec),
                         ("beam_vector", det.beam_vector), ("spindle_axis", simulator.crystal.spindle_axis)):
        _number(group, name, _vector(vector))
    _number(group, "pix0_vector", _vector(det.pix0_vector), "m")
