"""Shared set-up of the dataset tests: tiny detectors, few frames, one reference file per session."""

import pytest

from nanobrag_torch.datasets import DatasetSpec

from .commands import SERIES, SERIES_FRAMES


@pytest.fixture(scope="session")
def series_spec():
    """The 4-frame, 64x64 rotation series most tests write."""
    return DatasetSpec.series(SERIES, SERIES_FRAMES)


@pytest.fixture(scope="session")
def local_series(tmp_path_factory, series_spec):
    """The series written by the local engine: the reference every other engine must equal."""
    pytest.importorskip("h5py", reason="the datasets extra (h5py) is not installed")
    pytest.importorskip("hdf5plugin", reason="the datasets extra (hdf5plugin) is not installed")
    from nanobrag_torch.datasets import write_dataset

    path = tmp_path_factory.mktemp("local") / "series.h5"
    write_dataset(series_spec, str(path))
    return path
