"""Gradients of the simulated image with respect to crystal, geometry and beam parameters (float64 gradcheck)."""

import pytest
import torch

from nanobrag_torch.config import BeamConfig, CrystalConfig, DetectorConfig, DetectorConvention, SimulationConfig
from nanobrag_torch.simulator import Simulator


def image(*, cell_a=100.0, misset_x=5.0, distance=100.0, xbeam=0.35, wavelength=1.0, convention=None):
    """A 4x4-pixel image near a Bragg spot. default_F keeps F_cell constant, so the image is smooth in every
    parameter (a nearest-reflection F would be piecewise constant)."""
    detector = DetectorConfig(distance_mm=distance, xbeam_mm=xbeam, ybeam_mm=0.3, pixel_size_mm=0.1,
                              fpixels=4, spixels=4, oversample=2,
                              convention=convention or DetectorConvention.MOSFLM)
    crystal = CrystalConfig(cell=(cell_a, 90.0, 80.0, 90.0, 90.0, 90.0), misset_deg=(misset_x, 3.0, 2.0),
                            Na=3, Nb=3, Nc=3, default_F=10.0)
    config = SimulationConfig(detector=detector, crystal=crystal, beam=BeamConfig(wavelength_A=wavelength))
    return Simulator.from_config(config).run()


PARAMETERS = {"cell_a": 100.0, "misset_x": 5.0, "distance": 100.0, "xbeam": 0.35, "wavelength": 1.0}


@pytest.mark.parametrize("name", sorted(PARAMETERS))
def test_image_gradient_matches_finite_differences(name):
    """d(image)/d(parameter) from autograd agrees with central differences (torch.autograd.gradcheck)."""
    value = torch.tensor(PARAMETERS[name], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: image(**{name: x}), (value,), eps=1e-6, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("name", sorted(PARAMETERS))
def test_gradient_is_not_zero(name):
    """Each parameter actually moves the image (a gradcheck of a constant would pass trivially)."""
    value = torch.tensor(PARAMETERS[name], dtype=torch.float64, requires_grad=True)
    image(**{name: value}).sum().backward()
    assert value.grad is not None and float(value.grad.abs()) > 0


def test_gradients_in_the_sample_pivot():
    """The XDS convention (SAMPLE pivot) is differentiable in the distance too."""
    value = torch.tensor(100.0, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: image(distance=x, convention=DetectorConvention.XDS), (value,),
                                    eps=1e-6, atol=1e-6, rtol=1e-4)
