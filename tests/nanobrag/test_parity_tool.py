"""python -m nanobrag_torch.parity: one verdict, exit status that means it, nothing written outside scratch."""

import shutil
import subprocess
import sys

import pytest

from nanobrag_torch.parity import main as parity

from .reference import REFERENCE_DIR, ReferenceCase


def copy_case(tmp_path, name: str):
    """A writable copy of a reference case, beside a link to the shared inputs (the layout the tool expects)."""
    (tmp_path / "inputs").symlink_to(REFERENCE_DIR / "inputs")
    return shutil.copytree(ReferenceCase(name).folder, tmp_path / name)


def test_a_case_in_parity_gives_one_verdict_line(capsys, tmp_path, monkeypatch):
    """Status 0; the last line, and only it, is the verdict; every line fits 100 columns; cwd untouched."""
    monkeypatch.chdir(tmp_path)  # an empty current folder, to see that the tool writes nothing there
    assert parity([str(ReferenceCase("phys_water_flux").folder)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert "C physics bug in effect: -water" in out and "(reproduced: -c_compat)" in out
    verdicts = [line for line in lines if line.startswith(("PARITY", "NO PARITY", "MATCH", "DIVERGE", "IMAGE"))]
    assert verdicts == [lines[-1]]
    assert lines[-1].startswith("PARITY: trace MATCH (") and "image MATCH (max 0 ulps" in lines[-1]
    assert max(len(line) for line in lines) <= 100
    assert list(tmp_path.iterdir()) == []


def test_a_difference_is_no_parity_with_status_1(capsys):
    """Forcing the corrected physics on a case hit by a C bug: NO PARITY, the first divergence named."""
    assert parity([str(ReferenceCase("phys_water_flux").folder), "--c-compat", "off"]) == 1
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.startswith("NO PARITY: trace DIVERGES at I_before_scaling") and "; image DIFFERS (" in last


@pytest.mark.parametrize("missing", ["cmd.txt", "trace_c.log", "image.bin"])
def test_a_case_missing_a_file_is_a_one_line_error(tmp_path, capsys, missing):
    """No cmd.txt, trace_c.log or image: status 2, one line naming the file, nothing on stdout."""
    case = copy_case(tmp_path, "phys_cubic_simple")
    (case / missing).unlink()
    assert parity([str(case)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"python -m nanobrag_torch.parity: error: {case / missing}: missing (a case folder holds " \
                           "cmd.txt, trace_c.log and image.bin)\n"


@pytest.mark.parametrize("target", ["../../escaped.bin", "ABSOLUTE"])
def test_outputs_never_leave_the_scratch_folder(tmp_path, capsys, target):
    """A cmd.txt whose -floatfile points outside the scratch folder is refused before anything runs."""
    case = copy_case(tmp_path, "phys_cubic_simple")
    escaped = tmp_path / "escaped.bin"
    if target == "ABSOLUTE":
        target = str(escaped)
    command = (case / "cmd.txt").read_text().replace("-floatfile image.bin", f"-floatfile {target}")
    (case / "cmd.txt").write_text(command)
    assert parity([str(case), "--keep", str(tmp_path / "keep" / "deeper")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"-floatfile would write {target}, outside the scratch folder" in err
    assert not escaped.exists() and not (tmp_path / "keep" / "escaped.bin").exists()


def test_version_and_help_answer_without_torch():
    """--version and --help print and exit 0 without importing torch."""
    code = ("import sys\nfrom nanobrag_torch.parity import main\n"
            "for argv in (['--version'], ['--help']):\n"
            "    try:\n        main(argv)\n    except SystemExit as exit:\n        assert exit.code == 0\n"
            "print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.startswith("python -m nanobrag_torch.parity ")
    assert "usage: python -m nanobrag_torch.parity" in result.stdout
    assert result.stdout.splitlines()[-1] == "False"


def test_inputs_are_read_from_the_case_and_outputs_written_in_keep(tmp_path, capsys):
    """The case folder is left as it was (its ../inputs read in place); --keep DIR holds the run's image and
    py trace, and nothing else is created beside the case."""
    case = copy_case(tmp_path, "phys_cubic_simple")
    before = sorted(p.name for p in case.iterdir())
    assert parity([str(case), "--keep", str(tmp_path / "kept")]) == 0
    assert sorted(p.name for p in case.iterdir()) == before
    assert sorted(p.name for p in (tmp_path / "kept").iterdir()) == ["image.bin", "intimage.img", "trace_py.log"]
    assert "TRACE_PY: I_pixel_final" in (tmp_path / "kept" / "trace_py.log").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inputs", "kept", "phys_cubic_simple"]


def test_the_traced_pixel_is_rendered_once(monkeypatch, capsys):
    """The trace and its derived tolerances come from one render of the pixel, the run's own."""
    import nanobrag_torch.trace._run as trace_run_module

    calls = []
    original = trace_run_module.tap_pixel
    monkeypatch.setattr(trace_run_module, "tap_pixel", lambda *args, **kwargs: calls.append(args[1:3])
                        or original(*args, **kwargs))
    assert parity([str(ReferenceCase("phys_cubic_simple").folder)]) == 0
    assert calls == [tuple(ReferenceCase("phys_cubic_simple").meta["trace_pixel"])]
