"""Datasets: a nanoBragg command line rendered as a rotation series or a set of stills, into one NXmx file.

A dataset is a ``nanobrag-torch`` command line (same flags, same meaning) plus what varies per frame
(:class:`DatasetSpec`). :func:`write_dataset` writes it to an HDF5 file following NeXus NXmx, on one of the
engines ``local`` (this process), ``dask`` (a Dask cluster) or ``mpi`` (``mpiexec``), byte for byte the same
whichever runs it, and completes an interrupted file when run again; :func:`iter_frames` streams the frames.
The command line is ``nanobrag-torch-dataset`` (``python -m nanobrag_torch.datasets``); see
docs/datasets.md. Needs the ``datasets`` extra: h5py, hdf5plugin, and for the engines distributed or mpi4py.

Example:
    >>> from nanobrag_torch.datasets import DatasetSpec, render_frame
    >>> spec = DatasetSpec.series("-cell 100 100 100 90 90 90 -default_F 100 -N 5 -detpixels 16 -oversample 1 "
    ...                           "-osc 0.5 -phisteps 2 -nonoise", frames=360)
    >>> render_frame(spec, 359).plan.phi_start_deg
    179.5
"""

from __future__ import annotations

from .._lazy import lazy_exports

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up
if TYPE_CHECKING:  # what static tools see; at run time __getattr__ below loads each name on first use
    from ._chunks import COMPRESSIONS
    from ._cli import main
    from ._render import Frame, FrameFailed, render_frame
    from ._spec import DatasetError, DatasetSpec, FramePlan
    from ._write import DatasetReport, iter_frames, write_dataset

__all__ = [
    "COMPRESSIONS",
    "DatasetError",
    "DatasetReport",
    "DatasetSpec",
    "Frame",
    "FrameFailed",
    "FramePlan",
    "iter_frames",
    "main",
    "render_frame",
    "write_dataset",
]

# Exported name -> the module that defines it.
_HOMES = {
    "COMPRESSIONS": "._chunks",
    "DatasetError": "._spec",
    "DatasetReport": "._write",
    "DatasetSpec": "._spec",
    "Frame": "._render",
    "FrameFailed": "._render",
    "FramePlan": "._spec",
    "iter_frames": "._write",
    "main": "._cli",
    "render_frame": "._render",
    "write_dataset": "._write",
}


__getattr__, __dir__ = lazy_exports(__name__, _HOMES, __all__)
