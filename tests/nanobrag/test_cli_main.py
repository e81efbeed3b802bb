"""The nanobrag-torch command: outputs as the C writes them, traces, notes, and bad input."""

import io
import subprocess
import sys
import time

import fabio
import numpy as np
import pytest

import tracehooks
from nanobrag_torch.cli import main
from nanobrag_torch.cli._main import ProgressBar
from nanobrag_torch.trace import QUIRKS_PATH

from .reference import ReferenceCase, run_folder

SMALL = "-cell 100 100 100 90 90 90 -default_F 100 -N 5 -lambda 1 -distance 100 -pixel 0.1 -detpixels 16".split()


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A case-like folder to run in: the command reads its inputs and writes its outputs relative to the
    current folder, as nanoBragg does, and these tests run it as a user does."""
    work = run_folder(tmp_path)
    monkeypatch.chdir(work)
    return work


def test_io_case_outputs_match_the_c_byte_for_byte(folder, capsys):
    """io_smv_int_noise: image.bin, the SMV int image and the noise image equal the C's files exactly."""
    case = ReferenceCase("io_smv_int_noise")
    assert main(case.argv) == 0
    for name in ("image.bin", "image.img", "noise.img"):
        assert (folder / name).read_bytes() == (case.folder / name).read_bytes(), name


def test_smv_files_read_back_with_fabio_like_the_c(folder, capsys):
    """fabio reads the port's SMV files with the C's header values and pixels."""
    case = ReferenceCase("io_smv_int_noise")
    main(case.argv)
    for name in ("image.img", "noise.img"):
        ours, theirs = fabio.open(str(folder / name)), fabio.open(str(case.folder / name))
        assert ours.header == theirs.header
        assert np.array_equal(ours.data, theirs.data)


def test_summary_lines_are_the_cs(folder, capsys):
    """The statistics lines nanoBragg prints (solid angle, max, mean/rms, scales, noise) come out the same."""
    case = ReferenceCase("io_smv_int_noise")
    main(case.argv)
    ours = capsys.readouterr().out.splitlines()
    theirs = (case.folder / "stdout.log").read_text().splitlines()
    for start in ("solid angle subtended", "max_I = ", "mean= ", "intfile_scale = ", "photons on noise image"):
        mine = [line for line in ours if start in line]
        reference = [line for line in theirs if start in line]
        assert mine == reference and mine, start


def test_trace_pixel_output_is_accepted_by_tracehooks_diff(folder, capsys):
    """-trace_pixel prints TRACE_PY lines that diff as MATCH against the C trace (stdout, other lines ignored)."""
    case = ReferenceCase("phys_divergence_dispersion")
    assert main(case.argv) == 0
    out = capsys.readouterr().out
    report = tracehooks.diff_traces(case.folder / "trace_c.log", out.splitlines(), quirks=QUIRKS_PATH)
    assert report.ok, report.summary()


def test_c_physics_bugs_are_announced_unless_c_compat(folder, capsys):
    """A run affected by a C physics bug says so on stderr; -c_compat reproduces the C silently."""
    flags = SMALL + "-water 2 -nonoise -nopgm -floatfile f.bin".split()
    main(flags)
    assert "note: differs from nanoBragg: -water: the C scales the background" in capsys.readouterr().err
    main(flags + ["-c_compat"])
    assert "differs from nanoBragg" not in capsys.readouterr().err


def test_default_outputs_are_the_cs(folder, capsys):
    """Without output flags nanoBragg writes floatimage.bin, intimage.img, image.pgm and noiseimage.img."""
    assert main(SMALL + ["-seed", "1"]) == 0
    assert sorted(p.name for p in folder.iterdir()) == ["floatimage.bin", "image.pgm", "intimage.img",
                                                        "noiseimage.img"]
    assert (folder / "image.pgm").read_bytes().startswith(b"P5\n16 16\n# pixels scaled by ")


def test_hkl_runs_leave_the_fdump_cache_and_later_runs_read_it(folder, capsys):
    """Like nanoBragg, an -hkl run writes Fdump.bin and a run without -hkl reads it (and says so)."""
    flags = "-cell 100 100 100 90 90 90 -N 5 -detpixels 8 -nonoise -nopgm".split()
    main(flags + ["-hkl", "../inputs/cubic.hkl", "-floatfile", "a.bin"])
    assert (folder / "Fdump.bin").exists()
    capsys.readouterr()
    main(flags + ["-floatfile", "b.bin"])
    assert "reading structure factors from Fdump.bin" in capsys.readouterr().err
    assert (folder / "a.bin").read_bytes() == (folder / "b.bin").read_bytes()


@pytest.mark.parametrize("flags,message", [
    (["-detpixels", "0", "-detsize", "0.01"], "detector has 0 pixels along fast"),
    (["-trace_pixel", "2", "16"], "-trace_pixel: pixel (slow 2, fast 16) is outside the 16x16"),
    (["-distanse", "5"], "unknown flag '-distanse' (did you mean -distance?)"),
    (["-hkl", "missing.hkl"], "-hkl: "),
    (["-floatfile", "no/such/folder/x.bin"], "cannot write no/such/folder/x.bin"),
])
def test_bad_input_one_line_status_2_no_files(folder, capsys, flags, message):
    """Bad input: one error line naming the problem, exit status 2, no output file written."""
    assert main(SMALL + flags) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("nanobrag-torch: error: ") and message in err[-1]
    assert "Traceback" not in "\n".join(err)
    assert list(folder.iterdir()) == []


def test_malformed_hkl_line_names_file_and_line(folder, capsys):
    """A malformed line in the HKL file is reported with the file name and its line number."""
    (folder / "bad.hkl").write_text("0 0 1 10\n0 0 2 x\n")
    assert main(SMALL + ["-hkl", "bad.hkl"]) == 2
    err = capsys.readouterr().err
    assert "bad.hkl" in err and "line 2" in err and len(err.strip().splitlines()) == 1


def test_long_digit_run_in_hkl_file_is_a_quick_one_line_error(folder, capsys):
    """A 200 KB run of digits in an HKL line: one short error line naming the file and line, at once."""
    (folder / "long.hkl").write_text("0 0 1 10\n0 0 2 " + "7" * 200_000 + "x\n")
    started = time.perf_counter()
    assert main(SMALL + ["-hkl", "long.hkl"]) == 2
    assert time.perf_counter() - started < 5.0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and len(err) < 300 and "long.hkl, line 2: F must be a number" in err


def test_unreadable_matrix_is_an_error(folder, capsys):
    """A -mat file with too few numbers is a clear error, status 2."""
    (folder / "short.mat").write_text("0.01 0 0\n0 0.01\n")
    assert main(["-mat", "short.mat", "-default_F", "1", "-detpixels", "8"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nanobrag-torch: error: -mat: ") and "short.mat" in err


def test_failed_write_leaves_no_partial_output(folder, capsys, monkeypatch):
    """If writing the outputs fails half way, the files already written are removed."""
    import nanobrag_torch.cli._outputs as outputs

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(outputs, "write_smv", broken)
    assert main(SMALL + ["-nonoise", "-nopgm"]) == 1
    assert "No space left on device" in capsys.readouterr().err
    assert list(folder.iterdir()) == []


def test_progress_bar_draws_after_its_delay():
    """The progress bar stays silent before its delay, then draws a full bar and ends the line."""
    stream = io.StringIO()
    bar = ProgressBar(stream, delay_s=3600)
    bar(5, 10)
    assert stream.getvalue() == ""
    bar = ProgressBar(stream, delay_s=0, width=10)
    bar(5, 10)
    bar(10, 10)
    assert stream.getvalue() == "\r[#####     ]  50%\r[##########] 100%\n"


def test_help_lists_every_flag(capsys):
    """--help prints the usage and one line per flag, status 0; no argument at all prints it with status 2."""
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: nanobrag-torch") and "-trace_pixel, -dump_pixel V V" in out
    assert main([]) == 2


def test_module_entry_point_runs(folder):
    """python -m nanobrag_torch is the same command."""
    done = subprocess.run([sys.executable, "-m", "nanobrag_torch", *SMALL, "-nonoise", "-nopgm", "-noprogress"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "max_I = " in done.stdout


def test_trace_pixel_outside_the_roi_is_noted_not_traced(folder, capsys):
    """A trace pixel outside -roi is never rendered: a note, no pixel block, status 0 (the C prints none)."""
    assert main(SMALL + "-roi 0 3 0 3 -trace_pixel 10 10 -nonoise -nopgm".split()) == 0
    captured = capsys.readouterr()
    assert captured.err == ("nanobrag-torch: note: -trace_pixel: pixel (slow 10, fast 10) is outside -roi 0 3 0 3: "
                            "it is not rendered, so there is no pixel to trace (nanoBragg prints nothing for it "
                            "either)\n")
    assert "TRACE_PY: pixel_pos_meters" not in captured.out and "DETECTOR_PIX0_VECTOR" in captured.out


def test_masked_trace_pixel_is_noted_not_traced(folder, capsys):
    """A trace pixel that is 0 in -mask is not rendered either: the note says it is masked."""
    from nanobrag_torch.io.smv import write_smv

    mask = np.ones((16, 16), np.uint16)
    mask[4, 9] = 0
    write_smv(folder / "mask.img", mask, [("PIXEL_SIZE", 0.1)])
    assert main(SMALL + "-mask mask.img -trace_pixel 4 9 -nonoise -nopgm".split()) == 0
    captured = capsys.readouterr()
    assert "note: -trace_pixel: pixel (slow 4, fast 9) is masked (0 in -mask): it is not rendered" in captured.err
    assert "TRACE_PY: pixel_pos_meters" not in captured.out and "DETECTOR_PIX0_VECTOR" in captured.out


def test_masked_pixels_are_not_rendered(folder, capsys):
    """-mask: pixels that are 0 in the mask stay 0; the others equal the unmasked image."""
    from nanobrag_torch.io.smv import write_smv

    mask = np.ones((16, 16), np.uint16)
    mask[3:5, 7:12] = 0
    write_smv(folder / "mask.img", mask, [("PIXEL_SIZE", 0.1)])
    main(SMALL + "-nonoise -nopgm -floatfile plain.bin".split())
    main(SMALL + "-nonoise -nopgm -floatfile masked.bin -mask mask.img".split())
    plain = np.fromfile(folder / "plain.bin", dtype="<f4").reshape(16, 16)
    masked = np.fromfile(folder / "masked.bin", dtype="<f4").reshape(16, 16)
    assert np.all(masked[mask == 0] == 0) and np.all(plain[mask == 0] > 0)
    assert np.array_equal(masked[mask != 0], plain[mask != 0])
