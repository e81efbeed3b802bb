"""The nanobrag-torch-dataset command: bad input, notes, progress and summary, and a run stopped by a signal."""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from nanobrag_torch.cli import CommandLineError, parse_args
from nanobrag_torch.datasets import DatasetSpec, main, render_frame
from nanobrag_torch.datasets._cli import OPTIONS

from .commands import SERIES, STILLS, without
from .helpers import frames_of, h5py

OUT = ["-o", "out.h5"]


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("argv,message", [
    (SERIES + ["-frames", "3"], "-o: a dataset needs an output file, -o FILE.h5"),
    (SERIES + OUT, "-frames: a dataset needs -frames N (a rotation series) or -stills N"),
    (SERIES + OUT + ["-frames", "0"], "-frames: expected an integer >= 1, got '0'"),
    (SERIES + OUT + ["-frames", "2", "-stills", "2"], "-stills: give -frames N (a rotation series) or -stills N, "
                                                      "not both"),
    (SERIES + OUT + ["-frames", "2", "-engine", "spark"], "-engine: expected local, dask or mpi, got 'spark'"),
    (SERIES + OUT + ["-frames", "2", "-workers", "2"], "-workers: -engine local runs one process"),
    (SERIES + OUT + ["-frames", "2", "-compression", "zstd"], "-compression: expected bslz4, gzip, none, got 'zstd'"),
    (SERIES + OUT + ["-frames", "2", "-smv", "image.img"], "-smv: the template needs a run of # for the frame "
                                                           "number, e.g. frames/image_#####.img, got 'image.img'"),
    (SERIES + ["-frames", "2", "-o", "no/such/folder/out.h5"], None),
    (without(SERIES, "-osc") + OUT + ["-frames", "2"], "-osc: a rotation series needs the oscillation of each frame, "
                                                      "-osc > 0 (deg)"),
    (SERIES + OUT + ["-frames", "2", "-fluence_jitter", "0.1"], "-fluence_jitter: only a set of stills (-stills N) "
                                                                "varies the fluence"),
    (STILLS + OUT + ["-stills", "2", "-fluence_jitter", "-1"], "-fluence_jitter: expected a number >= 0 (relative "
                                                               "rms of the fluence), got '-1'"),
    (SERIES + OUT + ["-frame", "2"], "unknown flag or option '-frame' (did you mean -frames?)"),
    (SERIES + OUT + ["-frames", "2", "-lambda", "0"], "-lambda: expected a number > 0 (Angstrom), got '0'"),
])
def test_bad_input_is_one_line_exit_2_and_no_file(folder, capsys, argv, message):
    """Bad input: one error line naming the option or flag, exit status 2, and no output file."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("nanobrag-torch-dataset: error: ")
    if message is None:  # the folder is named with its absolute path
        message = f"-o: cannot write no/such/folder/out.h5: its folder {folder}/no/such/folder does not exist"
    assert err == f"nanobrag-torch-dataset: error: {message}\n"
    assert sorted(os.listdir(folder)) == []


def test_options_are_not_nanobragg_flags_except_the_progress_switches():
    """Every dataset option is unknown to nanobrag-torch, but -progress/-noprogress, which mean the same."""
    known = []
    for option in OPTIONS:
        try:
            parse_args(["-cell", "100", "100", "100", "90", "90", "90", option.name])
        except CommandLineError as error:
            if str(error).startswith(f"unknown flag '{option.name}'"):
                continue
        known.append(option.name)
    assert known == ["-progress", "-noprogress"]


def test_progress_bar_summary_and_notes(folder, capsys):
    """-progress draws frames done/total and frames/s on stderr; the summary is stdout's one line; a
    single-image output flag and a seed drawn from the clock are noted."""
    argv = without(SERIES, "-seed") + ["-floatfile", "f.bin", "-frames", "2", "-progress"] + OUT
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert out.startswith("out.h5: 2 frames complete (2 rendered now, 0 already there) in ")
    assert out.endswith(" frames/s, engine local, 1 worker\n")
    assert "\r[" + "." * 30 + "] 0/2 frames 0.00 frames/s" in err
    assert "] 2/2 frames " in err and err.count(" frames/s") == 3
    with h5py.File(folder / "out.h5", "r") as handle:
        seed = json.loads(handle["entry/nanobragg"].attrs["job"])["seed"]
    assert ("nanobrag-torch-dataset: note: -floatfile: not written by a dataset: the frames go to out.h5 "
            "(-smv TEMPLATE writes one SMV file per frame)\n") in err
    assert f"nanobrag-torch-dataset: note: -seed not given: {seed} (recorded in the file" in err
    assert not os.path.exists("f.bin")


def test_help_lists_every_option():
    """--help names each option, exit status 0."""
    done = subprocess.run([sys.executable, "-m", "nanobrag_torch.datasets", "--help"], capture_output=True, text=True)
    assert done.returncode == 0
    assert all(f"  {option.name} " in done.stdout for option in OPTIONS)


def test_sigterm_stops_a_run_that_the_same_command_completes(folder, capsys):
    """SIGTERM in the middle of a run: exit 143 with one line, the complete frames kept and equal to frames
    rendered alone; the same command run again renders only the rest."""
    argv = SERIES + ["-nonoise", "-frames", "16"] + OUT + ["-progress"]
    run = subprocess.Popen([sys.executable, "-m", "nanobrag_torch.datasets", *argv], stderr=subprocess.PIPE,
                           stdout=subprocess.PIPE)
    seen = b""
    while b" 2/16 frames" not in seen:
        chunk = run.stderr.read1(4096)
        assert chunk, seen
        seen += chunk
    run.send_signal(signal.SIGTERM)
    _, err = run.communicate(timeout=60)
    assert run.returncode == 128 + signal.SIGTERM
    assert err.decode().splitlines()[-1] == ("nanobrag-torch-dataset: interrupted: the frames complete so far are "
                                             "kept; run the same command again to complete the file")
    with h5py.File(folder / "out.h5", "r") as handle:
        done = handle["entry/nanobragg/frame_complete"][()].astype(bool)
    assert 2 <= done.sum() < 16
    assert main(argv) == 0  # the same command
    assert f"({16 - done.sum()} rendered now, {done.sum()} already there)" in capsys.readouterr().out
    stack = frames_of(folder / "out.h5")
    spec = DatasetSpec.series(SERIES + ["-nonoise"], 16)
    for index in (int(np.flatnonzero(done)[-1]), 15):
        assert np.array_equal(stack[index], render_frame(spec, index).image)


def test_the_package_and_help_load_nothing_heavy():
    """import nanobrag_torch.datasets and --help load neither torch nor h5py nor Dask; names load on use."""
    code = ("import sys, io, contextlib\nimport nanobrag_torch.datasets as d\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n    d.main(['--help'])\n"
            "print(sorted(m for m in ('torch', 'h5py', 'distributed', 'mpi4py') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout == "[]\n", done.stderr
    import nanobrag_torch.datasets as package

    assert package.__all__ == sorted(package.__all__) and set(package.__all__) <= set(dir(package))
    assert all(getattr(package, name) is not None for name in package.__all__)
