"""Stateless 3-vector algebra on tensors of shape (..., 3).

Every reduction is spelled out component by component, left to right (``x0*y0 + x1*y1 + x2*y2``), the order
nanoBragg's C uses. ``torch.dot``/``matmul`` may sum in another order or fuse multiply-adds, which changes
the last bit; written out this way, float64 results match the C bit for bit wherever libm agrees.

Example:
    >>> import torch
    >>> v = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)
    >>> axis = torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)
    >>> rotate_axis(v, axis, torch.tensor(torch.pi / 2, dtype=torch.float64)).round(decimals=12)
    tensor([0., 1., 0.], dtype=torch.float64)
"""

from __future__ import annotations

import torch

__all__ = [
    "cross3",
    "dot3",
    "matvec3",
    "norm3",
    "outer_dot3",
    "outer_dot3_each",
    "rotate_axis",
    "rotate_xyz",
    "rotation_matrices_xyz",
    "unitize",
]


def dot3(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Dot product over the last axis, summed in C order."""
    return x[..., 0] * y[..., 0] + x[..., 1] * y[..., 1] + x[..., 2] * y[..., 2]


def outer_dot3(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``dot3(x, y[..., None, None, :])`` for ``x`` of shape (A, B, 3): shape ``(*y.shape[:-1], A, B)``.

    The same products summed in the same order, so the same numbers; but laid out in memory with the
    (A, B) axes outermost (a permuted view), so that this and every elementwise operation on the result
    runs over long contiguous rows rather than rows of A * B elements.

    Example:
        >>> x = torch.arange(12.0, dtype=torch.float64).reshape(2, 2, 3)
        >>> y = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
        >>> torch.equal(outer_dot3(x, y), dot3(x, y[..., None, None, :]))
        True
    """
    return outer_dot3_each((x,), y)[0]


def outer_dot3_each(xs, y: torch.Tensor) -> tuple:
    """``outer_dot3(x, y)`` for each ``x`` of ``xs``, with ``y``'s components gathered once for all of them.

    Example:
        >>> x = torch.arange(12.0, dtype=torch.float64).reshape(2, 2, 3)
        >>> y = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
        >>> all(torch.equal(a, outer_dot3(x, y)) for a in outer_dot3_each((x, x), y))
        True
    """
    lead = y.shape[:-1]
    # Each component contiguous: a copy of an interleaved y, a view of one stored component by component.
    columns = y.movedim(-1, 0).reshape(3, -1)
    return tuple(_outer_dot3_columns(x, columns, lead) for x in xs)


def _outer_dot3_columns(x: torch.Tensor, columns: torch.Tensor, lead) -> torch.Tensor:
    xs = x.unsqueeze(-1)
    flat = xs[..., 0, :] * columns[0]
    if flat.requires_grad:
        flat = flat + xs[..., 1, :] * columns[1] + xs[..., 2, :] * columns[2]
    else:  # the same sums, added in place: fewer passes over memory
        flat += xs[..., 1, :] * columns[1]
        flat += xs[..., 2, :] * columns[2]
    return flat.reshape(x.shape[:2] + lead).permute(*range(2, 2 + len(lead)), 0, 1)


def cross3(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross product over the last axis."""
    return torch.stack(
        (
            x[..., 1] * y[..., 2] - x[..., 2] * y[..., 1],
            x[..., 2] * y[..., 0] - x[..., 0] * y[..., 2],
            x[..., 0] * y[..., 1] - x[..., 1] * y[..., 0],
        ),
        dim=-1,
    )


def norm3(x: torch.Tensor) -> torch.Tensor:
    """Euclidean length over the last axis."""
    return torch.sqrt(dot3(x, x))


def unitize(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(unit vector, length)``; a zero vector stays zero, as in the C."""
    length = norm3(x)
    safe = torch.where(length != 0, length, torch.ones_like(length))
    unit = torch.where((length != 0).unsqueeze(-1), x / safe.unsqueeze(-1), torch.zeros_like(x))
    return unit, length


def matvec3(matrix: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """``matrix @ v`` for (..., 3, 3) and (..., 3), each row summed left to right."""
    return torch.stack([dot3(matrix[..., row, :], v) for row in range(3)], dim=-1)


def rotation_matrices_xyz(rotx: torch.Tensor, roty: torch.Tensor, rotz: torch.Tensor):
    """The three elementary rotation matrices about x, y and z (radians), applied in that order."""
    zero, one = torch.zeros_like(rotx), torch.ones_like(rotx)
    cx, sx = torch.cos(rotx), torch.sin(rotx)
    cy, sy = torch.cos(roty), torch.sin(roty)
    cz, sz = torch.cos(rotz), torch.sin(rotz)
    rx = torch.stack([torch.stack([one, zero, zero]), torch.stack([zero, cx, -sx]), torch.stack([zero, sx, cx])])
    ry = torch.stack([torch.stack([cy, zero, sy]), torch.stack([zero, one, zero]), torch.stack([-sy, zero, cy])])
    rz = torch.stack([torch.stack([cz, -sz, zero]), torch.stack([sz, cz, zero]), torch.stack([zero, zero, one])])
    return rx, ry, rz


def rotate_xyz(v: torch.Tensor, rotx, roty, rotz) -> torch.Tensor:
    """Rotate about x, then y, then z (radians); nanoBragg's ``rotate()``.

    The C skips a rotation whose angle is exactly zero; applying the identity instead gives the same
    numbers (up to the sign of a zero) and keeps gradients defined at zero.
    """
    rx, ry, rz = rotation_matrices_xyz(*torch.broadcast_tensors(
        torch.as_tensor(rotx, dtype=v.dtype, device=v.device),
        torch.as_tensor(roty, dtype=v.dtype, device=v.device),
        torch.as_tensor(rotz, dtype=v.dtype, device=v.device)))
    return matvec3(rz, matvec3(ry, matvec3(rx, v)))


def rotate_axis(v: torch.Tensor, axis: torch.Tensor, phi: torch.Tensor) -> torch.Tensor:
    """Rotate ``v`` by ``phi`` radians about ``axis`` (Rodrigues, in nanoBragg's operation order).

    ``axis`` is used as given: a non-unit axis scales the result, as in the C. ``phi`` broadcasts against
    the leading dimensions of ``v``.
    """
    sinphi, cosphi = torch.sin(phi), torch.cos(phi)
    ax, ay, az = axis[..., 0], axis[..., 1], axis[..., 2]
    vx, vy, vz = v[..., 0], v[..., 1], v[..., 2]
    dot = (ax * vx + ay * vy + az * vz) * (1.0 - cosphi)
    return torch.stack(
        (
            ax * dot + vx * cosphi + (-az * vy + ay * vz) * sinphi,
            ay * dot + vy * cosphi + (az * vx - ax * vz) * sinphi,
            az * dot + vz * cosphi + (-ay * vx + ax * vy) * sinphi,
        ),
        dim=-1,
    )
