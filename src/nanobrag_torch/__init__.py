"""A differentiable PyTorch port of the nanoBragg X-ray diffraction simulator."""

__all__: list[str] = []
