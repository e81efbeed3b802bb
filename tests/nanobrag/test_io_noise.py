"""Tests for nanobrag_torch.io.noise: the C's -noisefile image, bit for bit."""

import hashlib
import re
from pathlib import Path

import numpy as np

from nanobrag_torch.io import poisson_noise_image, read_float_image, read_smv

CASE = Path(__file__).resolve().parents[1] / "data" / "c_reference" / "io_smv_int_noise"


def _photons_line(log: str) -> tuple[float, int]:
    match = re.search(r"^(\d+) photons on noise image \((\d+) overloads\)$", log, re.M)
    return float(match.group(1)), int(match.group(2))


def test_noise_image_reproduces_c_noise_img():
    """poisson_noise_image reproduces noise.img of the C run (-seed 12345 -adc 30) bit for bit."""
    image = read_float_image(CASE / "image.bin", (128, 128))
    noisy = poisson_noise_image(image, 12345, None, 30.0)
    assert np.array_equal(noisy.image, read_smv(CASE / "noise.img").data)
    assert (noisy.photons, noisy.overloads) == _photons_line((CASE / "stdout.log").read_text())


def test_noise_image_roi_draws_only_inside_roi():
    """With a ROI, only ROI pixels draw numbers (row-major) and the others are 0."""
    image = read_float_image(CASE / "image.bin", (128, 128))
    noisy = poisson_noise_image(image, 12345, (10, 100, 20, 90), 30.0)
    # C: the same command as this case plus "-roi 10 100 20 90" (its float image equals this
    # one inside the ROI); sha256 of its noise.img pixel bytes, and "9650 photons".
    digest = hashlib.sha256(noisy.image.astype("<u2").tobytes()).hexdigest()
    assert digest == "7644f27e224a90f1d617389e9427ef66a9c5b5ac5e7dd9c35a145b650e6ff49a"
    assert noisy.photons == 9650.0


def test_noise_image_counts_overloads_like_c():
    """Pixels above 65535 after the ADC offset are clipped and counted."""
    noisy = poisson_noise_image(np.full((4, 4), 65500.0, np.float32), 7, None, 40.0)
    # C: the noise loop of nanoBragg on a 4x4 image of 65500 with -seed 7 -adc 40
    expected = [65535, 65001, 65467, 65535, 65432, 65535, 65535, 65289,
                65535, 65535, 65305, 65336, 65267, 65535, 65535, 65535]
    assert noisy.image.ravel().tolist() == expected
    assert (noisy.photons, noisy.overloads) == (1048437.0, 9)


def test_noise_image_negative_adc_wraps_like_c():
    """A negative result of deviate + adc wraps modulo 65536, as gcc's cast does on x86-64."""
    noisy = poisson_noise_image(np.zeros((2, 2), np.float32), 7, None, -40.0)
    assert noisy.image.ravel().tolist() == [65496] * 4
