"""The command line's outputs are all-or-nothing: bad paths are refused before simulating, a failed or
interrupted commit leaves the old files and no temporary file, Ctrl-C anywhere is one line and status 130."""

import os
import signal
import subprocess
import sys

import pytest
import torch

from nanobrag_torch.cli import main
from nanobrag_torch.cli import _outputs as outputs
from nanobrag_torch.cli import _signals
from nanobrag_torch.simulator import Simulator

SMALL = "-cell 100 100 100 90 90 90 -default_F 100 -N 5 -lambda 1 -distance 100 -pixel 0.1 -detpixels 8".split()
FILES = {"-floatfile": "f.bin", "-intfile": "i.img", "-pgmfile": "p.pgm", "-noisefile": "n.img"}
ARGV = SMALL + [word for flag, name in FILES.items() for word in (flag, name)] + ["-seed", "1", "-noprogress"]
posix_only = pytest.mark.skipif(not hasattr(signal, "pthread_sigmask"), reason="POSIX signals")


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """An empty current folder: the command writes its outputs there, as nanoBragg does."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def old(folder):
    """The four outputs of an earlier run, each with its own recognisable content."""
    contents = {name: f"old {name}".encode() for name in FILES.values()}
    for name, content in contents.items():
        (folder / name).write_bytes(content)
    return contents


def leftovers(folder):
    """Temporary files and backups the commit may have left."""
    return sorted(p.name for p in folder.rglob(outputs.TEMPORARY_PREFIX + "*"))


def assert_unchanged(folder, old):
    assert {name: (folder / name).read_bytes() for name in old} == old
    assert leftovers(folder) == []


def forbid_simulation(monkeypatch):
    def run(self, progress=None):
        raise AssertionError("simulated although an output path is bad")

    monkeypatch.setattr(Simulator, "run", run)


@pytest.mark.parametrize("flag,path,problem", [
    ("-intfile", "sub", "-intfile: cannot write sub: it is a folder"),
    ("-pgmfile", "sub/", "-pgmfile: cannot write sub/: it is a folder"),
    ("-noisefile", "missing/n.img", "-noisefile: cannot write missing/n.img: its folder "),
    ("-floatfile", "/dev/null", "-floatfile: cannot write /dev/null: it is not a regular file"),
    ("-intfile", "./f.bin", "-intfile: cannot write ./f.bin: -floatfile writes the same file (f.bin)"),
    ("-noisefile", "sub/../p.pgm", "-noisefile: cannot write sub/../p.pgm: -pgmfile writes the same file (p.pgm)"),
])
def test_bad_output_path_is_refused_before_simulating(folder, old, monkeypatch, capsys, flag, path, problem):
    """A folder, a missing folder, a device or a path shared by two outputs: one line, status 2, no file touched."""
    (folder / "sub").mkdir()
    forbid_simulation(monkeypatch)
    assert main(ARGV + [flag, path]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"nanobrag-torch: error: {problem}") and err.count("\n") == 1
    assert_unchanged(folder, old)


def test_refusal_message_is_one_line_naming_flag_and_path(folder, old, monkeypatch, capsys):
    """The error for an output that is a folder is exactly one line naming the flag and the path."""
    (folder / "sub").mkdir()
    forbid_simulation(monkeypatch)
    assert main(ARGV + ["-intfile", "sub"]) == 2
    assert capsys.readouterr().err == "nanobrag-torch: error: -intfile: cannot write sub: it is a folder\n"


def test_fdump_cache_counts_as_an_output(folder, monkeypatch, capsys):
    """After -hkl the run writes Fdump.bin: an image output of the same name is refused."""
    (folder / "cubic.hkl").write_text("0 0 1 10\n")
    forbid_simulation(monkeypatch)
    assert main(ARGV + ["-hkl", "cubic.hkl", "-floatfile", "Fdump.bin"]) == 2
    err = capsys.readouterr().err
    assert err == "nanobrag-torch: error: -floatfile: cannot write Fdump.bin: -hkl writes the same file (Fdump.bin)\n"


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root may write anywhere")
def test_read_only_folder_is_refused(folder, monkeypatch, capsys):
    """An output in a folder without write permission is refused before simulating."""
    (folder / "ro").mkdir(mode=0o555)
    forbid_simulation(monkeypatch)
    assert main(ARGV + ["-floatfile", "ro/f.bin"]) == 2
    assert "-floatfile: cannot write ro/f.bin: its folder" in capsys.readouterr().err


@pytest.mark.parametrize("failing_call", range(1, 9))
def test_failure_inside_the_commit_restores_the_old_files(folder, old, monkeypatch, capsys, failing_call):
    """A rename that fails at any point of the commit (4 moves aside, 4 moves into place) leaves the old files."""
    real_replace, calls = os.replace, []

    def replace(source, target):
        calls.append(source)
        if len(calls) == failing_call:
            raise OSError(28, "No space left on device", str(target))
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", replace)
    assert main(ARGV) == 1
    assert capsys.readouterr().err.startswith("nanobrag-torch: error: [Errno 28] No space left on device")
    assert_unchanged(folder, old)


@pytest.mark.parametrize("failing_call", range(1, 5))
def test_failure_inside_the_commit_leaves_no_new_file(folder, monkeypatch, capsys, failing_call):
    """Without earlier outputs, a failed commit leaves the folder empty."""
    real_replace, calls = os.replace, []

    def replace(source, target):
        calls.append(source)
        if len(calls) == failing_call:
            raise OSError(5, "Input/output error")
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", replace)
    assert main(ARGV) == 1
    assert list(folder.iterdir()) == []


def test_staging_one_target_twice_is_refused_and_cleaned_up(folder):
    """all_or_nothing refuses a second temporary file for the same target and deletes the first."""
    with pytest.raises(ValueError, match="a.bin is staged twice"):
        with outputs.all_or_nothing() as stage:
            stage("a.bin")
            stage("./a.bin")
    assert list(folder.iterdir()) == []


def test_successful_run_replaces_every_output_and_leaves_no_backup(folder, old, capsys):
    """A normal run replaces all four outputs and deletes its backups."""
    assert main(ARGV) == 0
    assert all((folder / name).read_bytes() != content for name, content in old.items())
    assert leftovers(folder) == []


def interrupt(*args, **kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize("target", [
    "nanobrag_torch.cli._parse.parse_args",
    "nanobrag_torch.simulator.Simulator.run",
    "nanobrag_torch.cli._outputs.write_pgm",
])
def test_ctrl_c_anywhere_is_one_line_and_status_130(folder, old, monkeypatch, capsys, target):
    """Ctrl-C while parsing, simulating or writing: 'interrupted', status 130, old outputs, no temporary file."""
    monkeypatch.setattr(target, interrupt)
    assert main(ARGV) == 130
    assert capsys.readouterr().err == "nanobrag-torch: interrupted\n"
    assert_unchanged(folder, old)


def test_non_finite_image_is_not_written(folder, old, monkeypatch, capsys):
    """An image holding NaN or inf: one error line, status 1, nothing written."""
    simulate = Simulator.run

    def run(self, progress=None):
        image = simulate(self, progress)
        image[2, 3] = torch.nan
        image[5, 0] = torch.inf
        return image

    monkeypatch.setattr(Simulator, "run", run)
    assert main(ARGV) == 1
    assert capsys.readouterr().err == (
        "nanobrag-torch: error: the simulated image holds 2 non-finite pixel(s) (NaN or inf; the first at slow 2, "
        "fast 3): nothing was written; check the values given to the flags\n")
    assert_unchanged(folder, old)


def test_signal_handlers_are_restored(folder, capsys):
    """main() leaves the process's SIGINT, SIGTERM and SIGHUP handlers as it found them."""
    numbers = _signals.DEFERRED_SIGNALS
    before = [signal.getsignal(number) for number in numbers]
    assert main(ARGV) == 0
    assert [signal.getsignal(number) for number in numbers] == before


@posix_only
def test_signals_deferred_holds_a_signal_until_the_block_ends():
    """A signal sent inside signals_deferred() reaches its handler only once the block has ended."""
    received = []
    previous = signal.signal(signal.SIGTERM, lambda number, frame: received.append(number))
    try:
        with _signals.signals_deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(1000):  # give a wrongly delivered signal every chance to run its handler here
                pass
            assert received == []
        assert received == [signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, previous)


SLOW_COMMIT = """
import os, sys, time
from nanobrag_torch.cli import main

real_replace, calls = os.replace, []

def replace(source, target):
    calls.append(source)
    if len(calls) == 1:  # the first rename of the commit: announce it, then give the signal time to arrive
        print("COMMITTING", flush=True)
        time.sleep(1.0)
    real_replace(source, target)

os.replace = replace
sys.exit(main(sys.argv[1:]))
"""


@posix_only
@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_during_the_commit_is_handled_after_it(folder, old, number):
    """SIGINT/SIGTERM sent while the outputs are renamed: all of them are the new ones, no temporary file is
    left, and the run then ends as interrupted (128 + signal)."""
    child = subprocess.Popen([sys.executable, "-c", SLOW_COMMIT, *ARGV], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    for line in child.stdout:
        if line.strip() == "COMMITTING":
            break
    child.send_signal(number)
    _, err = child.communicate(timeout=120)
    assert child.returncode == 128 + number, err
    assert err.splitlines()[-1] == "nanobrag-torch: interrupted"
    assert all((folder / name).read_bytes() != content for name, content in old.items())
    assert leftovers(folder) == []


INTERRUPTED_IMPORT = """
import os, signal, sys

class SignalWhenTorchIsImported:
    def find_spec(self, name, path=None, target=None):
        if name == "torch":
            os.kill(os.getpid(), int(sys.argv[1]))
        return None

sys.meta_path.insert(0, SignalWhenTorchIsImported())
from nanobrag_torch.cli import main
sys.exit(main(sys.argv[2:]))
"""


@posix_only
@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_while_importing_torch_is_one_line(folder, number):
    """A signal at start-up, while torch is being imported: one line on stderr, 128 + signal, no file."""
    done = subprocess.run([sys.executable, "-c", INTERRUPTED_IMPORT, str(int(number)), *ARGV],
                          capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stderr) == (128 + number, "nanobrag-torch: interrupted\n")
    assert list(folder.iterdir()) == []
