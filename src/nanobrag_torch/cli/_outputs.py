"""The files nanoBragg writes, computed from the float image, and committed all-or-nothing.

A run's outputs (float image, SMV integer image, PGM, noise image, the ``Fdump.bin`` cache) either all
replace the old files or none does:

1. ``check_output_paths``, before the simulation: every path's folder exists and is writable, no path is a
   folder or a special file, no two outputs resolve to the same file. Otherwise a ``CommandLineError``
   naming the flag and the path, with nothing touched.
2. ``all_or_nothing``: each output is written to a temporary file (``.nanobrag-*.tmp``, unique, in its
   target's folder, so that renaming it is atomic); if anything fails, or Ctrl-C arrives, while they are
   written, the temporary files are deleted and the old outputs are left alone.
3. ``commit``: the old targets are renamed aside to backups (``.nanobrag-*.bak``), the temporary files are
   renamed onto the targets, then the backups are deleted. If a rename fails, what was done is undone
   (backups renamed back, new files removed) and the temporary files are deleted. SIGINT, SIGTERM and SIGHUP
   are held back while files are created, renamed or removed (``_signals.signals_deferred``) and handled as
   soon as that step is over. SIGKILL (and a power cut) cannot be held back: if one lands inside the commit, the
   old content of each target is either in place or in a ``.nanobrag-*.bak`` file beside it.
"""

from __future__ import annotations

import os
import stat
import tempfile
import time
from contextlib import contextmanager
from typing import Callable, Dict, Iterable, Iterator, List, Sequence, Tuple

import numpy as np

from ..config import OutputConfig
from ..io.hkl import write_fdump
from ..io.images import (float_to_int_image, float_to_pgm_image, image_statistics, resolve_intfile_scale,
                         resolve_pgm_scale, write_float_image, write_pgm)
from ..io.smv import nanobragg_header_values, write_smv
from ..io import poisson_noise_image
from ..simulator import Simulator
from ._flags import CommandLineError
from ._signals import signals_deferred

__all__ = ["all_or_nothing", "check_output_paths", "commit", "default_seed", "planned_outputs", "write_outputs"]

#: Every file this module creates beside a target starts so (temporary files and backups).
TEMPORARY_PREFIX = ".nanobrag-"


def planned_outputs(output: OutputConfig) -> Dict[str, str]:
    """The files a run writes, in the order it writes them: the flag that asks for each -> its path (a
    relative path inside ``output.output_dir`` when that is given).

    Example:
        >>> planned_outputs(OutputConfig(hkl_path="cubic.hkl", write_noise=False, floatfile="a.bin"))
        {'-hkl': 'Fdump.bin', '-floatfile': 'a.bin', '-intfile': 'intimage.img', '-pgmfile': 'image.pgm'}
        >>> planned_outputs(OutputConfig(output_dir="run", write_pgm=False, write_noise=False))
        {'-floatfile': 'run/floatimage.bin', '-intfile': 'run/intimage.img'}
    """
    planned = {"-hkl": output.dump_path if output.hkl_path else None,
               "-floatfile": output.floatfile,
               "-intfile": output.intfile,
               "-pgmfile": output.pgmfile if output.write_pgm else None,
               "-noisefile": output.noisefile if output.write_noise else None}
    folder = output.output_dir
    return {flag: path if folder is None else os.path.join(folder, path) for flag, path in planned.items() if path}


def check_output_paths(output: OutputConfig) -> None:
    """Raise ``CommandLineError`` (naming the flag and the path) unless every planned output can be written.

    Example:
        >>> try:
        ...     check_output_paths(OutputConfig(floatfile="a.bin", intfile="./a.bin"))
        ... except ValueError as error:
        ...     print(error)
        -intfile: cannot write ./a.bin: -floatfile writes the same file (a.bin)
    """
    written: Dict[str, Tuple[str, str]] = {}  # resolved path -> (flag, path as given)
    for flag, path in planned_outputs(output).items():
        problem = _path_problem(path)
        if not problem and _file_key(path) in written:
            problem = "%s writes the same file (%s)" % written[_file_key(path)]
        if problem:
            raise CommandLineError(f"{flag}: cannot write {path}: {problem}")
        written[_file_key(path)] = (flag, path)


def _file_key(path: str) -> str:
    """The same string for two paths to the same file (``a.img``, ``./a.img``, a link to it)."""
    return os.path.normcase(os.path.realpath(path))


def _path_problem(path: str) -> str:
    """Why ``path`` cannot be replaced by a new file, or ''."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        return "it is a folder"
    if not os.path.isdir(folder):
        return f"its folder {folder} does not exist"
    if os.path.exists(path) and not stat.S_ISREG(os.stat(path).st_mode):
        return "it is not a regular file"  # /dev/null, a FIFO: renaming onto it would replace the device node
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"its folder {folder} is not writable"
    return ""


def _remove_quietly(paths: Iterable[str]) -> None:
    for path in paths:
        try:
            os.remove(path)
        except OSError:
            pass


def _new_file_beside(target: str, suffix: str) -> str:
    """Create an empty file with a unique name in ``target``'s folder; return its path."""
    folder = os.path.dirname(os.path.abspath(target))
    handle, path = tempfile.mkstemp(prefix=TEMPORARY_PREFIX, suffix=suffix, dir=folder)
    os.close(handle)
    return path


@contextmanager
def all_or_nothing() -> Iterator[Callable[[str], str]]:
    """Yield ``stage(target) -> temporary path``; write each output to the path ``stage`` returns.

    When the block ends normally, ``commit`` puts every staged file in place as one step; when it raises
    (Ctrl-C included), the temporary files are deleted and no target is touched.
    """
    staged: List[Tuple[str, str]] = []
    mode = _new_file_mode()

    def stage(target: str) -> str:
        if any(_file_key(target) == _file_key(other) for _, other in staged):
            raise ValueError(f"{target} is staged twice: the second would silently replace the first")
        with signals_deferred():  # a Ctrl-C between creating the file and noting it would leave it behind
            temporary = _new_file_beside(target, ".tmp")
            staged.append((temporary, target))
        os.chmod(temporary, mode)  # mkstemp creates 0600; outputs get the usual permissions
        return temporary

    try:
        yield stage
    except BaseException:
        with signals_deferred():
            _remove_quietly(temporary for temporary, _ in staged)
        raise
    commit(staged)


def _new_file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def commit(staged: Sequence[Tuple[str, str]]) -> None:
    """Rename each ``(temporary, target)`` onto its target, all of them or none, with signals held back.

    The targets must be distinct files (``all_or_nothing`` ensures it). Old targets are first renamed aside
    to backups in their folder, then the temporary files are renamed onto the targets, then the backups are
    deleted. On a failure the old targets are put back, the new files and the temporary files removed, and
    the error raised again (an ``OSError`` that also lists what could not be put back, if anything; a
    target's old content then remains in the backup named there).
    """
    with signals_deferred():
        backups: List[str] = []  # reserved names, moved onto or not
        moved: Dict[str, str] = {}  # target -> backup now holding its old content
        placed: List[str] = []
        try:
            for _, target in staged:
                if os.path.lexists(target):
                    backups.append(_new_file_beside(target, ".bak"))
                    os.replace(target, backups[-1])
                    moved[target] = backups[-1]
            for temporary, target in staged:
                os.replace(temporary, target)
                placed.append(target)
        except BaseException as error:
            unrestored = _roll_back(staged, backups, moved, placed)
            if unrestored and isinstance(error, Exception):
                raise OSError(f"{error}; could not restore {'; '.join(unrestored)}") from error
            raise
        _remove_quietly(backups)


def _roll_back(staged: Sequence[Tuple[str, str]], backups: List[str], moved: Dict[str, str],
               placed: List[str]) -> List[str]:
    """Undo a partial commit; return what could not be undone (each target and where its old content is)."""
    unrestored: List[str] = []
    for target in placed:
        if target not in moved:
            try:
                os.remove(target)
            except OSError as error:
                unrestored.append(f"{target} (it has no old content, and the new file stays: {error.strerror})")
    kept = set()
    for target, backup in moved.items():
        try:
            os.replace(backup, target)
        except OSError:
            unrestored.append(f"{target} (its old content is in {backup})")
            kept.add(backup)
    _remove_quietly([temporary for temporary, _ in staged] + [backup for backup in backups if backup not in kept])
    return unrestored


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
    """Write the float, integer, PGM and noise images (and the Fdump.bin cache after -hkl, when
    ``hkl_table`` is given) as nanoBragg does, all or nothing, and return the summary lines it prints."""
    roi = simulator.detector.config.roi
    mask = simulator.detector.config.mask
    image = np.asarray(image, dtype=np.float32)
    stats = image_statistics(image, roi=roi, mask=mask)
    paths = planned_outputs(output)
    lines = []
    with all_or_nothing() as stage:
        if "-hkl" in paths and hkl_table is not None:
            write_fdump(stage(paths["-hkl"]), hkl_table)
            lines.append(f"writing dump file for next time: {paths['-hkl']}")
        if "-floatfile" in paths:
            write_float_image(stage(paths["-floatfile"]), image)
            lines.append(f"writing {paths['-floatfile']} as {image.size} 4-byte floats")
        max_x, max_y = _max_position(simulator, image, roi)
        lines.append("max_I = %g  at %g %g" % (stats.max_I, max_x, max_y))
        lines.append("mean= %g rms= %g rmsd= %g" % (stats.mean, stats.rms, stats.rmsd))
        scale = resolve_intfile_scale(output.intfile_scale, stats.max_I)
        lines.append("intfile_scale = %g" % scale)
        if "-intfile" in paths:
            ints = float_to_int_image(image, scale, output.adc_offset, roi=roi)
            write_smv(stage(paths["-intfile"]), ints, _header(simulator, noise_image=False))
            lines.append(f"writing {paths['-intfile']} as 2-byte integers")
        if "-pgmfile" in paths:
            pgm_scale = resolve_pgm_scale(output.pgm_scale, scale, stats.rmsd)
            lines.append("pgm_scale = %g" % pgm_scale)
            write_pgm(stage(paths["-pgmfile"]), float_to_pgm_image(image, pgm_scale, roi=roi), pgm_scale)
            lines.append(f"writing {paths['-pgmfile']} as 1-byte integers")
        if "-noisefile" in paths:
            noise = poisson_noise_image(image, seed, roi=roi, adc_offset=output.adc_offset)
            lines.append("%.0f photons on noise image (%d overloads)" % (noise.photons, noise.overloads))
            write_smv(stage(paths["-noisefile"]), noise.image, _header(simulator, noise_image=True))
            lines.append(f"writing {paths['-noisefile']} as 2-byte integers")
    return lines


def default_seed() -> int:
    """nanoBragg seeds the noise from the clock when -seed is not given."""
    return int(time.time())
