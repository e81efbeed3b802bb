"""Rendering one frame: what every engine runs, in whatever process it runs.

A frame is the single-image run of its command line (``DatasetSpec.command_line``): the same configs, the
same simulator, the float image rounded to float32 as ``-floatfile`` writes it and, unless ``-nonoise``,
nanoBragg's ``-noisefile`` image drawn with the frame's seed. :func:`frame_task` is the unit of work the
engines hand out; it returns the frame, or with ``compression`` set its HDF5 chunk (see ``_chunks``).

Example:
    >>> from nanobrag_torch.datasets import DatasetSpec
    >>> spec = DatasetSpec.series("-cell 100 100 100 90 90 90 -default_F 100 -N 5 -detpixels 16 -oversample 1 "
    ...                           "-osc 1 -seed 3", frames=2)
    >>> frame = render_frame(spec, 1)
    >>> frame.index, frame.image.dtype.name, frame.image.shape
    (1, 'uint16', (16, 16))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, NamedTuple, Optional, Tuple

import numpy as np

from ..io import poisson_noise_image
from ._chunks import Chunk, encode_chunk
from ._spec import DatasetSpec, FramePlan

__all__ = ["EncodedFrame", "Frame", "FrameFailed", "TaskOptions", "frame_task", "render_frame"]


class FrameFailed(RuntimeError):
    """A frame could not be rendered although its input was accepted (e.g. the image is not finite)."""


@dataclass(frozen=True)
class Frame:
    """One rendered frame: its ``plan``, the ``image`` (slow, fast; uint16 noise counts, or float32 photons
    with ``-nonoise``), the beam ``fluence`` used (photons/m^2) and the crystal's ``real_space_vectors_A``
    (rows a, b, c in Angstrom, nanoBragg's lab frame, spindle at 0).

    Example:
        >>> Frame(FramePlan(4, 0.0, 1.0, None, 1.0, None), np.zeros((1, 1)), 1e24, np.eye(3)).index
        4
    """

    plan: FramePlan
    image: np.ndarray
    fluence: float
    real_space_vectors_A: np.ndarray

    @property
    def index(self) -> int:
        """The frame's 0-based index in the dataset."""
        return self.plan.index


class EncodedFrame(NamedTuple):
    """A frame as the writer needs it: the compressed ``chunk`` and the frame's values; ``smv`` is
    (uint16 pixels, header values) when per-frame SMV files are written, else None."""

    index: int
    chunk: Chunk
    fluence: float
    real_space_vectors_A: np.ndarray
    smv: Optional[Tuple[np.ndarray, List[Tuple[str, object]]]]


class TaskOptions(NamedTuple):
    """How a process renders frames: ``compression`` (None: return the :class:`Frame` itself), whether to
    return ``smv`` pixels and header, torch ``threads`` to use (None: leave torch's setting) and a
    ``device`` replacing the command's ``-device`` (None: keep it)."""

    compression: Optional[str] = None
    smv: bool = False
    threads: Optional[int] = None
    device: Optional[str] = None


def frame_task(spec: DatasetSpec, index: int, options: TaskOptions = TaskOptions()):
    """Render frame ``index`` of ``spec``: a :class:`Frame`, or an :class:`EncodedFrame` when
    ``options.compression`` is set. Module-level, so that Dask and MPI workers can import it.

    Example:
        >>> from nanobrag_torch.datasets import DatasetSpec
        >>> spec = DatasetSpec.series("-cell 100 100 100 90 90 90 -default_F 100 -N 5 -detpixels 16 "
        ...                           "-oversample 1 -osc 1 -nonoise", frames=2)
        >>> encoded = frame_task(spec, 0, TaskOptions(compression="gzip"))
        >>> encoded.index, encoded.chunk.filter_mask, encoded.smv
        (0, 0, None)
    """
    if options.threads:
        import torch

        torch.set_num_threads(options.threads)
    frame, simulator = _render(spec, index, options.device)
    if options.compression is None:
        return frame
    smv = _smv_image(spec, frame, simulator) if options.smv else None
    return EncodedFrame(index, encode_chunk(frame.image, options.compression), frame.fluence,
                        frame.real_space_vectors_A, smv)


def render_frame(spec: DatasetSpec, index: int, device: Optional[str] = None) -> Frame:
    """Frame ``index`` of ``spec``, rendered in this process (``device`` replaces the command's
    ``-device``).

    Example:
        >>> from nanobrag_torch.datasets import DatasetSpec
        >>> spec = DatasetSpec.series("-cell 100 100 100 90 90 90 -default_F 100 -N 5 -detpixels 16 "
        ...                           "-oversample 1 -osc 1 -nonoise", frames=2)
        >>> float(render_frame(spec, 0).image.max()) > 0
        True
    """
    return _render(spec, index, device)[0]


def _render(spec: DatasetSpec, index: int, device: Optional[str]):
    import torch

    from ..simulator import Simulator

    parsed = spec.parsed
    dtype = {"float64": torch.float64, "float32": torch.float32}[parsed.dtype]
    simulator = Simulator.from_config(spec.frame_config(index), device=torch.device(device or parsed.device),
                                      dtype=dtype)
    image = simulator.run()
    if not bool(torch.isfinite(image).all()):
        command = " ".join(spec.command_line(index))
        raise FrameFailed(f"frame {index}: the simulated image holds a NaN or an infinity; check the values given "
                          f"to the flags (frame {index} is `nanobrag-torch {command}`)")
    # As -floatfile writes it: the float image rounded to float32.
    pixels = np.asarray(image.detach().cpu().numpy(), dtype=np.float32)
    plan = spec.plan(index)
    if plan.noise_seed is not None:
        output = parsed.output
        noise = poisson_noise_image(pixels, plan.noise_seed, roi=simulator.detector.config.roi,
                                         adc_offset=output.adc_offset)
        pixels = noise.image
    crystal = simulator.crystal
    vectors = torch.stack([crystal.a, crystal.b, crystal.c]).detach().cpu().to(torch.float64).numpy() * 1e10
    return Frame(plan, pixels, float(simulator.beam.fluence), vectors), simulator


def _smv_image(spec: DatasetSpec, frame: Frame, simulator) -> Tuple[np.ndarray, List[Tuple[str, object]]]:
    """The frame as nanoBragg's SMV file: the noise image, or with ``-nonoise`` the ``-intfile`` image
    (``float * scale + adc``; ``-scale`` or nanoBragg's 55000/max_I of this frame)."""
    from ..io import float_to_int_image, image_statistics, nanobragg_header_values, resolve_intfile_scale

    det, crystal, beam, output = simulator.detector, simulator.crystal, simulator.beam, spec.parsed.output
    pixels = frame.image
    if not spec.noise:
        stats = image_statistics(pixels, roi=det.config.roi, mask=det.config.mask)
        scale = resolve_intfile_scale(output.intfile_scale, stats.max_I)
        pixels = float_to_int_image(pixels, scale, output.adc_offset, roi=det.config.roi)
    header = nanobragg_header_values(
        pixel_size_m=det.pixel_size_m, distance_m=float(det.distance_m), wavelength_m=float(beam.wavelength_m),
        xbeam_m=float(det.xbeam_m), ybeam_m=float(det.ybeam_m), fbeam_m=float(det.beam_fast_m),
        sbeam_m=float(det.beam_slow_m), detsize_s_m=det.detsize_s_m, dials_origin_mm=det.dials_origin_mm.tolist(),
        orgx_px=float(det.orgx_px), orgy_px=float(det.orgy_px), close_distance_m=float(det.close_distance_m),
        phi0_rad=float(crystal.phi0_rad), osc_rad=float(crystal.osc_rad), twotheta_rad=float(det.twotheta_rad),
        noise_image=spec.noise)
    return pixels, header
