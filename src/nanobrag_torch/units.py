"""Conversions from the user's units to the internal ones (metres, radians), in one place.

Each conversion is written with the same operation nanoBragg uses (``x / 1000.0``, not ``x * 1e-3``) so
that converted values are bit-identical to the C's: the two spellings differ in the last bit for many
inputs, and that bit shows up in a 15-digit trace. Works on floats and tensors alike.

Example:
    >>> mm_to_m(100.0)
    0.1
    >>> round(deg_to_rad(180.0), 12)
    3.14159265359
"""

from __future__ import annotations

from ._c_numbers import RTD


def mm_to_m(value):
    """Millimetres to metres."""
    return value / 1000.0


def m_to_mm(value):
    """Metres to millimetres (for headers and messages)."""
    return value * 1000.0


def um_to_m(value):
    """Micrometres to metres as nanoBragg converts sensor sizes (times 1e-6)."""
    return value * 1e-6


def water_um_to_m(value):
    """Micrometres to metres as nanoBragg converts -water (divided by 1e6: another last bit than 1e-6)."""
    return value / 1e6


def angstrom_to_m(value):
    """Angstrom to metres as nanoBragg converts wavelengths (divided by 1e10)."""
    return value / 1.0e10


def length_angstrom_to_m(value):
    """Angstrom to metres as nanoBragg converts cell vectors and -dmin (times 1e-10: another last bit)."""
    return 1e-10 * value


def deg_to_rad(value):
    """Degrees to radians, as nanoBragg divides by its RTD constant (not multiplying by pi/180: another
    last bit)."""
    return value / RTD


def rad_to_deg(value):
    """Radians to degrees, times nanoBragg's RTD (for headers and messages)."""
    return value * RTD


def mrad_to_rad(value):
    """Milliradians to radians."""
    return value / 1000.0


def percent_to_fraction(value):
    """Percent to a fraction."""
    return value / 100.0


def energy_ev_to_wavelength_A(energy_ev):
    """Photon energy in eV to wavelength in Angstrom (nanoBragg's hc = 12398.42 eV*A)."""
    return 12398.42 / energy_ev
