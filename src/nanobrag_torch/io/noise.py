"""nanoBragg's ``-noisefile`` image: Poisson photon counts of the float image, as the C draws them from the
``-seed`` stream of :mod:`nanobrag_torch.rng`.

Example (pixels outside the ROI draw nothing and stay 0):
    >>> noisy = poisson_noise_image(np.full((1, 3), 3.0, np.float32), seed=12345, roi=(1, 2, 0, 0), adc_offset=0.0)
    >>> noisy.image.tolist(), noisy.photons
    ([[0, 4, 4]], 8.0)
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._c_numbers import c_cast_unsigned
from ..rng import CRandom
from .images import roi_mask

__all__ = ["NoiseImage", "poisson_noise_image"]


class NoiseImage(NamedTuple):
    """Result of :func:`poisson_noise_image`: the uint16 ``image``, the ``photons`` sum the C
    prints ("%.0f photons on noise image") and the number of ``overloads`` (pixels clipped).

    Example:
        >>> NoiseImage(np.zeros((1, 1), np.uint16), 0.0, 0).overloads
        0
    """

    image: np.ndarray
    photons: float
    overloads: int


def poisson_noise_image(
    float_image: np.ndarray,
    seed: int,
    roi: tuple[int, int, int, int] | None = None,
    adc_offset: float = 40.0,
) -> NoiseImage:
    """The C's ``-noisefile`` image: ``poidev`` of every ROI pixel (row-major), plus
    ``adc_offset``, clipped at 65535 (counted as overloads), cast to unsigned short.

    ``seed`` is the ``-seed`` option value (the C uses the stream ``-seed``). Pixels outside
    ``roi`` (the C's ``-roi xmin xmax ymin ymax``) draw no numbers and are 0. The photon sum is
    accumulated in double in pixel order, as in the C.

    Example:
        >>> noisy = poisson_noise_image(np.full((2, 2), 3.0, np.float32), seed=12345, adc_offset=10.0)
        >>> noisy.image.tolist(), noisy.photons, noisy.overloads
        ([[14, 14], [12, 12]], 12.0, 0)
    """
    image = np.asarray(float_image, dtype=np.float32)
    if image.ndim != 2:
        raise ValueError(f"float_image has {image.ndim} dimensions, expected 2 (slow, fast)")
    inside = roi_mask(image.shape, roi)
    deviates = CRandom.from_option(seed).poidev_each(image[inside])
    photons = 0.0
    for value in deviates:
        photons += value
    test = np.array(deviates, dtype=np.float64) + adc_offset
    with np.errstate(invalid="ignore"):
        clipped = test > 65535.0
    test[clipped] = 65535.0
    noisy = np.zeros(image.shape, dtype=np.uint16)
    noisy[inside] = c_cast_unsigned(test, 16)
    return NoiseImage(noisy, photons, int(np.count_nonzero(clipped)))
