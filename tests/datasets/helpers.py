"""How the dataset tests compare files (importing this skips a test module without the datasets extra)."""

import numpy as np
import pytest

h5py = pytest.importorskip("h5py", reason="the datasets extra (h5py) is not installed")
pytest.importorskip("hdf5plugin", reason="the datasets extra (hdf5plugin) is not installed")

# Run times, the only values that differ between two runs of the same job.
TIMES = ("entry/start_time", "entry/end_time")


def contents(path) -> dict:
    """Every dataset's value and every object's attributes (times left out), and each frame's raw chunk."""
    found = {}
    with h5py.File(path, "r") as handle:
        def visit(name, item):
            found[name + "@attrs"] = {key: _plain(value) for key, value in item.attrs.items()}
            if isinstance(item, h5py.Dataset) and name not in TIMES and name != "entry/data/data":
                found[name] = _plain(item[()])
        handle.visititems(visit)
        data = handle["entry/data/data"]
        found["chunks"] = [data.id.read_direct_chunk((i, 0, 0)) for i in range(data.shape[0])]
        found["layout"] = (data.shape, data.dtype.str, data.chunks, data.compression, data.fillvalue)
    return found


def _plain(value):
    return value.tolist() if isinstance(value, np.ndarray) else value


def assert_same_dataset(a, b) -> None:
    """The two files hold the same dataset, byte for byte (each frame's stored chunk included)."""
    first, second = contents(a), contents(b)
    assert sorted(first) == sorted(second)
    for key in first:
        assert repr(first[key]) == repr(second[key]), key


def frames_of(path) -> np.ndarray:
    """The image stack, decompressed by h5py and hdf5plugin."""
    with h5py.File(path, "r") as handle:
        return handle["entry/data/data"][()]
