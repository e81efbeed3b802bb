"""One frame, one HDF5 chunk: compressed where it is rendered, written as it is by the one writer.

A frame is compressed by HDF5 itself, in an in-memory file whose dataset has the output's filter pipeline,
and its chunk is read back raw (``read_direct_chunk``); the writer stores those bytes with
``write_direct_chunk``. So compression runs on the workers, in parallel, and the stored bytes are exactly
what HDF5 would have written, whatever process made them.

Filters (``COMPRESSIONS``):

- ``bslz4`` (default): bitshuffle + LZ4, HDF5 filter 32008, what EIGER detectors write and DIALS/XDS read;
  h5py needs ``import hdf5plugin`` to read it (DIALS has it built in);
- ``gzip``: byte shuffle + deflate level 4, built into every HDF5 library: no plugin needed to read it;
- ``none``: stored as is (still one chunk per frame).

Example:
    >>> import numpy as np
    >>> chunk = encode_chunk(np.zeros((64, 64), dtype=np.uint16), "gzip")
    >>> chunk.filter_mask, len(chunk.data) < 64 * 64 * 2 // 100
    (0, True)
"""

from __future__ import annotations

from typing import Dict, NamedTuple, Tuple

import numpy as np

__all__ = ["COMPRESSIONS", "Chunk", "encode_chunk", "filter_options"]

#: The filters a dataset may use, with what they are.
COMPRESSIONS: Dict[str, str] = {
    "bslz4": "bitshuffle + LZ4 (HDF5 filter 32008, read with hdf5plugin or DIALS)",
    "gzip": "shuffle + deflate level 4 (built into HDF5)",
    "none": "no filter",
}


class Chunk(NamedTuple):
    """A frame's HDF5 chunk as stored: the filter mask (0: every filter applied) and the bytes."""

    filter_mask: int
    data: bytes


def filter_options(compression: str) -> dict:
    """``h5py.Group.create_dataset`` keywords for ``compression`` (one of ``COMPRESSIONS``).

    Example:
        >>> filter_options("gzip")
        {'compression': 'gzip', 'compression_opts': 4, 'shuffle': True}
    """
    if compression == "bslz4":
        import hdf5plugin

        return dict(hdf5plugin.Bitshuffle(cname="lz4"))
    if compression == "gzip":
        return {"compression": "gzip", "compression_opts": 4, "shuffle": True}
    if compression == "none":
        return {}
    raise ValueError(f"compression {compression!r}: expected one of {', '.join(COMPRESSIONS)}")


# One in-memory file per (shape, dtype, compression) and process: frames of a dataset reuse it.
_SCRATCH: Dict[Tuple[Tuple[int, ...], str, str], object] = {}


def encode_chunk(image: np.ndarray, compression: str) -> Chunk:
    """``image`` (slow, fast) as the chunk of one frame of a (frames, slow, fast) dataset with ``compression``.

    Example:
        >>> encode_chunk(np.zeros((2, 2), np.float32), "none").data
        b'\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00'
    """
    key = (image.shape, image.dtype.str, compression)
    scratch = _SCRATCH.get(key)
    if scratch is None:
        import h5py

        scratch = h5py.File(f"nanobrag-scratch-{len(_SCRATCH)}", "w", driver="core", backing_store=False)
        scratch.create_dataset("frame", shape=(1, *image.shape), dtype=image.dtype, chunks=(1, *image.shape),
                               **filter_options(compression))
        _SCRATCH[key] = scratch
    dataset = scratch["frame"]
    dataset[0] = image
    filter_mask, data = dataset.id.read_direct_chunk((0,) * dataset.ndim)
    return Chunk(int(filter_mask), bytes(data))
