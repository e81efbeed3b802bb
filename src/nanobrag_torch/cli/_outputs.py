"""The files nanoBragg writes, computed from the float image, written all-or-nothing.

Every output is first written under a temporary name in its own folder and renamed into place only once
all of them have been written, so an error (a full disk, a bad path) leaves no partial file behind.
"""

from __future__ import annotations

import os
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Dict, Iterator, List

import numpy as np

from ..config import OutputConfig
from ..io.hkl import write_fdump
from ..io.images import (float_to_int_image, float_to_pgm_image, image_statistics, resolve_intfile_scale,
                         resolve_pgm_scale, write_float_image, write_pgm)
from ..io.smv import nanobragg_header_values, write_smv
from ..rng import poisson_noise_image
from ..simulator import Simulator

__all__ = ["write_outputs"]


@contextmanager
def _staged() -> Iterator[Callable[[str], str]]:
    """Yield ``stage(path) -> temporary path``; on success every staged file is renamed to its path,
    on failure every staged file is removed."""
    staged: Dict[str, str] = {}

    def stage(path: str) -> str:
        folder = os.path.dirname(os.path.abspath(path))
        handle, temporary = tempfile.mkstemp(prefix=".nanobrag-", dir=folder)
        os.close(handle)
        staged[temporary] = path
        return temporary

    try:
        yield stage
    except BaseException:
        for temporary in staged:
            if os.path.exists(temporary):
                os.remove(temporary)
        raise
    umask = os.umask(0)
    os.umask(umask)
    for temporary, path in staged.items():
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp creates 0600; give the usual permissions
        os.replace(temporary, path)


def _header(simulator: Simulator, noise_image: bool):
    det, crystal, beam = simulator.detector, simulator.crystal, simulator.beam
    number = float
    return nanobragg_header_values(
        pixel_size_m=det.pixel_size_m, distance_m=number(det.distance_m), wavelength_m=number(beam.wavelength_m),
        xbeam_m=number(det.xbeam_m), ybeam_m=number(det.ybeam_m), fbeam_m=number(det.beam_fast_m),
        sbeam_m=number(det.beam_slow_m), detsize_s_m=det.detsize_s_m, dials_origin_mm=det.dials_origin_mm.tolist(),
        orgx_px=number(det.orgx_px), orgy_px=number(det.orgy_px), close_distance_m=number(det.close_distance_m),
        phi0_rad=number(crystal.phi0_rad), osc_rad=number(crystal.osc_rad), twotheta_rad=number(det.twotheta_rad),
        noise_image=noise_image)


def _max_position(simulator: Simulator, image: np.ndarray, roi) -> tuple:
    """nanoBragg's max_I location: the first maximum in rendering order, reported as the fast/slow
    coordinates (m) of that pixel's last sub-pixel."""
    slow, fast = (index.numpy() for index in simulator.rendered_pixels())
    if slow.size == 0:
        return 0.0, 0.0
    values = image[slow, fast]
    first = int(np.argmax(values))
    if values[first] <= 0:
        return 0.0, 0.0
    n = simulator.oversample
    subpixel = simulator.detector.pixel_size_m / n
    return (subpixel * (fast[first] * n + n - 1) + subpixel / 2.0,
            subpixel * (slow[first] * n + n - 1) + subpixel / 2.0)


def write_outputs(simulator: Simulator, image: np.ndarray, output: OutputConfig, seed: int,
                  hkl_table=None) -> List[str]:
    """Write the float, integer, PGM and noise images (and the Fdump.bin cache after -hkl) as nanoBragg
    does, and return the summary lines it prints."""
    roi = simulator.detector.config.roi
    mask = simulator.detector.config.mask
    image = np.asarray(image, dtype=np.float32)
    stats = image_statistics(image, roi=roi, mask=mask)
    lines = []
    with _staged() as stage:
        if hkl_table is not None:
            write_fdump(stage(output.dump_path), hkl_table)
            lines.append(f"writing dump file for next time: {output.dump_path}")
        if output.floatfile:
            write_float_image(stage(output.floatfile), image)
            lines.append(f"writing {output.floatfile} as {image.size} 4-byte floats")
        max_x, max_y = _max_position(simulator, image, roi)
        lines.append("max_I = %g  at %g %g" % (stats.max_I, max_x, max_y))
        lines.append("mean= %g rms= %g rmsd= %g" % (stats.mean, stats.rms, stats.rmsd))
        scale = resolve_intfile_scale(output.intfile_scale, stats.max_I)
        lines.append("intfile_scale = %g" % scale)
        if output.intfile:
            ints = float_to_int_image(image, scale, output.adc_offset, roi=roi)
            write_smv(stage(output.intfile), ints, _header(simulator, noise_image=False))
            lines.append(f"writing {output.intfile} as 2-byte integers")
        if output.write_pgm and output.pgmfile:
            pgm_scale = resolve_pgm_scale(output.pgm_scale, scale, stats.rmsd)
            lines.append("pgm_scale = %g" % pgm_scale)
            write_pgm(stage(output.pgmfile), float_to_pgm_image(image, pgm_scale, roi=roi), pgm_scale)
            lines.append(f"writing {output.pgmfile} as 1-byte integers")
        if output.write_noise and output.noisefile:
            noise = poisson_noise_image(image, seed, roi=roi, adc_offset=output.adc_offset)
            lines.append("%.0f photons on noise image (%d overloads)" % (noise.photons, noise.overloads))
            write_smv(stage(output.noisefile), noise.image, _header(simulator, noise_image=True))
            lines.append(f"writing {output.noisefile} as 2-byte integers")
    return lines


def default_seed() -> int:
    """nanoBragg seeds the noise from the clock when -seed is not given."""
    return int(time.time())


def writable(path: str) -> bool:
    """True when ``path``'s folder exists and can be written."""
    folder = Path(path).resolve().parent
    return folder.is_dir() and os.access(folder, os.W_OK)
