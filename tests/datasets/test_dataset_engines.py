"""The real engines against the local one, byte for byte: a Dask LocalCluster of 2 worker processes (one of
them killed in the middle of a frame), an existing cluster by address, and `mpiexec -n 2`."""

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from nanobrag_torch.datasets import iter_frames, main, write_dataset
from nanobrag_torch.datasets._engines import make_engine

from .commands import SERIES, SERIES_FRAMES
from .helpers import assert_same_dataset, frames_of

distributed = pytest.importorskip("distributed", reason="the Dask engine needs the distributed package")


@pytest.fixture(scope="module")
def cluster():
    """What `-engine dask -workers 2` starts: a LocalCluster of 2 worker processes; shared by this module."""
    with make_engine("dask", workers=2) as engine:
        yield engine


class KillFrameOnce(distributed.WorkerPlugin):
    """Kills the worker process that starts frame ``index``, the first time only (the marker file says)."""

    def __init__(self, index: int, marker: str):
        self.prefix, self.marker = f"nanobrag-frame-{index}-", marker

    def transition(self, key, start, finish, **kwargs):
        if finish == "executing" and str(key).startswith(self.prefix) and not os.path.exists(self.marker):
            open(self.marker, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)


def test_dask_local_cluster_of_two_workers_writes_the_local_file(tmp_path, cluster, series_spec, local_series):
    """Frames rendered by the 2 worker processes of the engine's LocalCluster make the local engine's bytes."""
    assert (cluster.workers, len(cluster.client.scheduler_info()["workers"])) == (2, 2)
    report = write_dataset(series_spec, str(tmp_path / "dask.h5"), engine="dask", client=cluster.client)
    assert (report.engine, report.workers, report.rendered) == ("dask", 2, SERIES_FRAMES)
    assert_same_dataset(tmp_path / "dask.h5", local_series)


def test_a_killed_worker_costs_only_its_frame(tmp_path, cluster, series_spec, local_series):
    """The worker running frame 2 dies (SIGKILL) on its first attempt; the frame runs again elsewhere and
    the file is the same."""
    cloudpickle = pytest.importorskip("cloudpickle")
    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import the tests
    client = cluster.client
    marker = tmp_path / "killed"
    client.register_plugin(KillFrameOnce(2, str(marker)), name="kill-frame-2")
    try:
        write_dataset(series_spec, str(tmp_path / "killed.h5"), engine="dask", client=client)
    finally:
        client.unregister_worker_plugin("kill-frame-2")
    assert marker.exists()
    client.wait_for_workers(2, timeout=60)  # the nanny has started a new worker in place of the killed one
    assert_same_dataset(tmp_path / "killed.h5", local_series)


def test_the_command_line_uses_an_existing_cluster_by_address(tmp_path, cluster, local_series, capsys):
    """-scheduler ADDRESS sends the frames to that cluster; the file is the local engine's."""
    argv = SERIES + ["-frames", str(SERIES_FRAMES), "-o", str(tmp_path / "c.h5"), "-scheduler",
                     cluster.client.scheduler.address]
    assert main(argv) == 0
    assert "engine dask, 2 workers" in capsys.readouterr().out
    assert_same_dataset(tmp_path / "c.h5", local_series)


def test_iter_frames_streams_from_the_cluster(cluster, series_spec, local_series):
    """iter_frames on a cluster yields every asked frame once, each equal to the file's."""
    client = cluster.client
    frames = {frame.index: frame.image for frame in iter_frames(series_spec, [3, 1, 0], engine="dask",
                                                                client=client)}
    stack = frames_of(local_series)
    assert sorted(frames) == [0, 1, 3] and all((frames[i] == stack[i]).all() for i in frames)


def test_torch_threads_do_not_change_a_byte(tmp_path, series_spec, local_series):
    """One torch thread writes what torch's default threads wrote (sums do not depend on the thread count)."""
    before = torch.get_num_threads()
    try:
        write_dataset(series_spec, str(tmp_path / "one.h5"), threads=1)
    finally:
        torch.set_num_threads(before)
    assert_same_dataset(tmp_path / "one.h5", local_series)


def test_mpiexec_with_two_ranks_writes_the_local_file(tmp_path, local_series):
    """`mpiexec -n 2 python -m nanobrag_torch.datasets ... -engine mpi` writes the local engine's bytes, and
    only rank 0 prints."""
    pytest.importorskip("mpi4py", reason="the MPI engine needs mpi4py")
    mpiexec = shutil.which("mpiexec", path=str(Path(sys.executable).parent)) or shutil.which("mpiexec")
    if mpiexec is None:
        pytest.skip("no mpiexec (pip install mpich)")
    argv = [mpiexec, "-n", "2", sys.executable, "-m", "nanobrag_torch.datasets", *SERIES, "-frames",
            str(SERIES_FRAMES), "-o", "m.h5", "-engine", "mpi"]
    done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\n") == 1 and "4 rendered now" in done.stdout and "engine mpi, 2 workers" in done.stdout
    assert_same_dataset(tmp_path / "m.h5", local_series)
