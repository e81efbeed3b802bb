"""Rotations for datasets: uniformly random crystal orientations, nanoBragg's misset angles, and the turn
from nanoBragg's lab frame into NeXus's McStas frame. Plain numpy, float64.

nanoBragg orients a crystal by its misset angles: the cell is rotated about x, then y, then z, so its
rotation matrix is ``Rz @ Ry @ Rx``. A still's orientation is a uniformly random rotation ``U`` (Haar
measure on SO(3)) composed with the command line's misset, and handed back to nanoBragg as misset angles,
so that a shot is an ordinary ``-misset a b c`` run.

Example:
    >>> u = random_rotation(np.random.default_rng(7))
    >>> bool(np.allclose(u @ u.T, np.eye(3))), round(float(np.linalg.det(u)), 12)
    (True, 1.0)
    >>> angles = misset_deg_of(u)
    >>> bool(np.allclose(rotation_of_misset_deg(angles), u, atol=1e-14))
    True
"""

from __future__ import annotations

import math
from typing import Sequence, Tuple

import numpy as np

__all__ = ["lab_to_mcstas", "misset_deg_of", "random_rotation", "rotation_of_misset_deg"]


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A rotation matrix drawn uniformly from SO(3): Shoemake's unit quaternion from three uniform deviates.

    Example:
        >>> random_rotation(np.random.default_rng(1)).shape
        (3, 3)
    """
    u1, u2, u3 = rng.random(3)
    # Shoemake (Graphics Gems III): uniform on the unit 3-sphere, hence Haar-uniform rotations.
    a, b = math.sqrt(1.0 - u1), math.sqrt(u1)
    x, y = a * math.sin(2 * math.pi * u2), a * math.cos(2 * math.pi * u2)
    z, w = b * math.sin(2 * math.pi * u3), b * math.cos(2 * math.pi * u3)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def rotation_of_misset_deg(angles_deg: Sequence[float]) -> np.ndarray:
    """nanoBragg's rotation for misset angles (degrees): about x, then y, then z, i.e. ``Rz @ Ry @ Rx``.

    Example:
        >>> np.round(rotation_of_misset_deg((0, 0, 90)) @ [1, 0, 0], 12) + 0.0
        array([0., 1., 0.])
    """
    cx, cy, cz = (math.cos(math.radians(float(a))) for a in angles_deg)
    sx, sy, sz = (math.sin(math.radians(float(a))) for a in angles_deg)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx


def misset_deg_of(rotation: np.ndarray) -> Tuple[float, float, float]:
    """Misset angles (degrees, about x, y, z) whose :func:`rotation_of_misset_deg` is ``rotation``.

    ``Rz Ry Rx`` has ``-sin(y)`` at [2, 0], ``cos(y) sin(x)``/``cos(y) cos(x)`` at [2, 1]/[2, 2] and
    ``sin(z) cos(y)``/``cos(z) cos(y)`` at [1, 0]/[0, 0]; the y angle stays within [-90, 90].

    Example:
        >>> [round(a, 9) + 0.0 for a in misset_deg_of(rotation_of_misset_deg((10, -20, 30)))]
        [10.0, -20.0, 30.0]
    """
    m = np.asarray(rotation, dtype=np.float64)
    cos_y = math.hypot(m[0, 0], m[1, 0])
    if cos_y < 1e-12:  # gimbal lock: only x - z (or x + z) is defined; put it all in x
        return math.degrees(math.atan2(-m[1, 2], m[1, 1])), math.degrees(math.atan2(-m[2, 0], cos_y)), 0.0
    return (math.degrees(math.atan2(m[2, 1], m[2, 2])), math.degrees(math.atan2(-m[2, 0], cos_y)),
            math.degrees(math.atan2(m[1, 0], m[0, 0])))


def lab_to_mcstas(beam_direction: Sequence[float]) -> np.ndarray:
    """The rotation that takes nanoBragg's lab frame to NeXus's McStas frame: the smallest turn that brings
    the beam onto +z (where NeXus, and DIALS reading NXmx, put it).

    For the conventions' own beams, (1, 0, 0) and (0, 0, 1), the matrix holds only 0 and +-1, so vectors
    are carried over exactly.

    Example:
        >>> lab_to_mcstas((1.0, 0.0, 0.0)).tolist()
        [[0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
        >>> lab_to_mcstas((0.0, 0.0, 1.0)).tolist() == np.eye(3).tolist()
        True
    """
    beam = np.asarray(beam_direction, dtype=np.float64)
    beam = beam / np.linalg.norm(beam)
    axis = np.cross(beam, (0.0, 0.0, 1.0))
    sin, cos = float(np.linalg.norm(axis)), float(beam[2])
    if sin == 0.0:
        # Along +z already, or against it: then half a turn about y (a choice: any axis across the beam).
        return np.eye(3) if cos > 0 else np.diag([-1.0, 1.0, -1.0])
    cross = np.array([[0.0, -axis[2], axis[1]], [axis[2], 0.0, -axis[0]], [-axis[1], axis[0], 0.0]])
    return np.eye(3) + cross + cross @ cross * ((1.0 - cos) / (sin * sin))
