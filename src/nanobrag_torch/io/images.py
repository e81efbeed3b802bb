"""Raw float images, nanoBragg's integer and PGM conversions, and its image statistics.

Images are numpy arrays of shape (slow, fast), index ``slow*fast_pixels + fast`` in the files.
A region of interest (ROI) is given as the C's ``-roi xmin xmax ymin ymax``: inclusive fast
(x) and slow (y) pixel limits; ``None`` means the whole image. Pixels outside it are 0 in every
converted image, as in the C.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .._c_numbers import c_cast_unsigned, format_c_g

__all__ = [
    "ImageStatistics",
    "float_to_int_image",
    "float_to_pgm_image",
    "image_statistics",
    "read_float_image",
    "resolve_intfile_scale",
    "resolve_pgm_scale",
    "roi_mask",
    "write_float_image",
    "write_pgm",
]

Roi = tuple[int, int, int, int]


def read_float_image(path: str | Path, shape: tuple[int, int]) -> np.ndarray:
    """Read a ``-floatfile`` image (raw little-endian float32, slow-major) of ``shape`` (slow, fast).

    Raises:
        ValueError: the file size is not ``4 * slow * fast`` bytes.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "f.bin")
        >>> write_float_image(p, np.array([[1.5, 2.0]], np.float32))
        >>> read_float_image(p, (1, 2)).tolist()
        [[1.5, 2.0]]
    """
    data = Path(path).read_bytes()
    slow, fast = shape
    if len(data) != 4 * slow * fast:
        raise ValueError(
            f"{path}: file has {len(data)} bytes; a {slow}x{fast} (slow x fast) float32 image"
            f" needs {4 * slow * fast}"
        )
    return np.frombuffer(data, dtype="<f4").astype(np.float32).reshape(slow, fast)


def write_float_image(path: str | Path, image: np.ndarray) -> None:
    """Write ``image`` as raw little-endian float32, slow-major (the C's ``-floatfile``).

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "f.bin")
        >>> write_float_image(p, np.zeros((2, 3)))
        >>> os.path.getsize(p)
        24
    """
    pixels = np.asarray(image)
    if pixels.ndim != 2:
        raise ValueError(f"image has {pixels.ndim} dimensions, expected 2 (slow, fast)")
    with open(path, "wb") as handle:
        handle.write(pixels.astype("<f4").tobytes())


def roi_mask(shape: tuple[int, int], roi: Roi | None) -> np.ndarray:
    """Boolean (slow, fast) mask of the pixels inside the C's ``-roi xmin xmax ymin ymax``.

    Example:
        >>> roi_mask((2, 3), (1, 2, 0, 0)).astype(int).tolist()
        [[0, 1, 1], [0, 0, 0]]
    """
    slow, fast = shape
    inside = np.ones(shape, dtype=bool)
    if roi is None:
        return inside
    xmin, xmax, ymin, ymax = roi
    x = np.arange(fast)
    y = np.arange(slow)
    inside &= ((x >= xmin) & (x <= xmax))[None, :]
    inside &= ((y >= ymin) & (y <= ymax))[:, None]
    return inside


class ImageStatistics(NamedTuple):
    """The C's image statistics: ``max_I`` (never below 0), ``mean``, ``rms``, ``rmsd``.

    Example:
        >>> ImageStatistics(386.3, 1.49, 11.4, 11.3).rmsd
        11.3
    """

    max_I: float
    mean: float
    rms: float
    rmsd: float


def _sequential_sum(values: np.ndarray) -> float:
    # cumsum adds strictly left to right, like the C loop (np.sum would add pairwise).
    return float(np.cumsum(values, dtype=np.float64)[-1]) if values.size else 0.0


def image_statistics(
    float_image: np.ndarray, roi: Roi | None = None, mask: np.ndarray | None = None
) -> ImageStatistics:
    """Reproduce the C's ``max_I``, ``mean``, ``rms`` and ``rmsd`` of a float image.

    ``max_I``, ``mean`` and ``rms`` use the ROI pixels not flagged 0 in ``mask``; ``rmsd`` uses
    every ROI pixel (the C ignores the mask there). Sums run in pixel order in double, and
    each square for ``rms`` is rounded to float first, as the C computes it (single-threaded).

    Example:
        >>> image_statistics(np.array([[1.0, 3.0]], np.float32))
        ImageStatistics(max_I=3.0, mean=2.0, rms=3.1622776601683795, rmsd=1.4142135623730951)
    """
    image = np.asarray(float_image, dtype=np.float32)
    inside = roi_mask(image.shape, roi)
    counted = inside if mask is None else inside & (np.asarray(mask) != 0)
    values = image[counted]
    finite_max = np.max(values[~np.isnan(values)], initial=0.0)
    max_I = max(0.0, float(finite_max))
    n = values.size
    mean = _sequential_sum(values.astype(np.float64)) / (n if n > 0 else 1)
    rms = math.sqrt(_sequential_sum((values * values).astype(np.float64)) / ((n if n > 1 else 2) - 1))
    deviations = image[inside].astype(np.float64) - mean
    m = deviations.size
    rmsd = math.sqrt(_sequential_sum(deviations * deviations) / ((m if m > 1 else 2) - 1))
    return ImageStatistics(max_I, mean, rms, rmsd)


def resolve_intfile_scale(intfile_scale: float, max_I: float) -> float:
    """The scale the C uses for ``-intfile``: the given one if > 0, else ``55000/max_I``
    (or 1.0 when ``max_I`` is not positive).

    Example:
        >>> resolve_intfile_scale(0.0, 110.0), resolve_intfile_scale(2.5, 110.0), resolve_intfile_scale(0.0, 0.0)
        (500.0, 2.5, 1.0)
    """
    if intfile_scale > 0.0:
        return intfile_scale
    return 55000.0 / max_I if max_I > 0.0 else 1.0


def float_to_int_image(
    float_image: np.ndarray, scale: float, adc_offset: float, roi: Roi | None = None
) -> np.ndarray:
    """The C's ``-intfile`` pixels: ``floorf(clip(f*scale + adc, 0, 65535) + 0.5)`` as uint16.

    The product and sum are in double; ``floorf`` receives ``test + 0.5`` rounded to float, so
    that rounding is reproduced. Pixels outside ``roi`` are 0.

    Example:
        >>> float_to_int_image(np.array([[1.0, 30000.0, -5.0]], np.float32), 2.5, 40.0).tolist()
        [[43, 65535, 28]]
    """
    image = np.asarray(float_image, dtype=np.float32)
    test = image.astype(np.float64) * scale + adc_offset
    with np.errstate(invalid="ignore"):
        test = np.where(test > 65535.0, 65535.0, test)
        test = np.where(test < 0.0, 0.0, test)
    rounded = np.floor((test + 0.5).astype(np.float32))
    pixels = c_cast_unsigned(rounded, 16)
    pixels[~roi_mask(image.shape, roi)] = 0
    return pixels


def resolve_pgm_scale(pgm_scale: float, intfile_scale: float, rmsd: float) -> float:
    """The scale the C uses for the PGM: the given one if > 0, else ``250/(5*rmsd)`` (or the
    int-file scale when ``rmsd`` is not positive).

    Example:
        >>> resolve_pgm_scale(0.0, 3.0, 10.0), resolve_pgm_scale(0.0, 3.0, 0.0)
        (5.0, 3.0)
    """
    if pgm_scale > 0.0:
        return pgm_scale
    return 250.0 / (5.0 * rmsd) if rmsd > 0.0 else intfile_scale


def float_to_pgm_image(float_image: np.ndarray, pgm_scale: float, roi: Roi | None = None) -> np.ndarray:
    """The C's PGM pixels: ``(unsigned char) min(f*scale, 255)`` (truncation), 0 outside ``roi``.

    Example:
        >>> float_to_pgm_image(np.array([[1.9, 200.0, 3.0]], np.float32), 2.0).tolist()
        [[3, 255, 6]]
    """
    image = np.asarray(float_image, dtype=np.float32)
    test = image.astype(np.float64) * pgm_scale
    with np.errstate(invalid="ignore"):
        test = np.where(test > 255.0, 255.0, test)
    pixels = c_cast_unsigned(test, 8)
    pixels[~roi_mask(image.shape, roi)] = 0
    return pixels


def write_pgm(path: str | Path, pgm_image: np.ndarray, pgm_scale: float) -> None:
    """Write a binary PGM (P5) with the C's header, including its ``# pixels scaled by`` line.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "x.pgm")
        >>> write_pgm(p, np.array([[0, 255]], np.uint8), 2.5)
        >>> open(p, "rb").read()
        b'P5\\n2 1\\n# pixels scaled by 2.5\\n255\\n\\x00\\xff'
    """
    pixels = np.asarray(pgm_image)
    if pixels.ndim != 2 or pixels.dtype != np.uint8:
        raise TypeError(f"pgm_image is {pixels.dtype} with {pixels.ndim} dimensions; expected 2-D uint8")
    slow, fast = pixels.shape
    header = f"P5\n{fast} {slow}\n# pixels scaled by {format_c_g(pgm_scale)}\n255\n"
    with open(path, "wb") as handle:
        handle.write(header.encode("ascii"))
        handle.write(pixels.tobytes())
