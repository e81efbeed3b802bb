"""The 44 extra C reference cases (tests/data/c_reference_extra): every output file byte for byte, every trace."""

import json
import shutil
from pathlib import Path

import pytest

import tracehooks
from nanobrag_torch.cli import main, parse_args
from nanobrag_torch.simulator import Simulator
from nanobrag_torch.trace import QUIRKS_PATH, tap_pixel

EXTRA = Path(__file__).resolve().parent.parent / "data" / "c_reference_extra"
CASES = sorted(p.name for p in EXTRA.iterdir() if p.is_dir() and p.name != "inputs")
OUTPUTS = ("image.bin", "image.img", "image.pgm", "noise.img")
# The tolerance policy (docs/parity_workflow.md): rtol 1e-12, and the derived bound of each value that is
# ill-conditioned at the traced pixel (declared by nanobrag_torch.trace.tap_pixel).
RTOL = 1e-12


def run_case(name, tmp_path, monkeypatch, capsys):
    """Run the case's command line with nanobrag-torch in a copy of its folder; -c_compat when the port
    reports a C physics bug for it. Returns (folder, stdout)."""
    case = EXTRA / name
    (tmp_path / "inputs").symlink_to(EXTRA / "inputs")
    work = tmp_path / "run"
    work.mkdir()
    for extra_input in case.glob("*.txt"):
        if extra_input.name != "cmd.txt":
            shutil.copy(extra_input, work)
    monkeypatch.chdir(work)
    argv = (case / "cmd.txt").read_text().split()[1:]
    if Simulator.from_config(parse_args(argv).simulation).c_compat_differences():
        argv.append("-c_compat")
    assert main(argv) == 0
    return work, capsys.readouterr().out, argv


def derived_tolerances(argv, pixel):
    """The declared tolerances of the traced pixel's ill-conditioned values, from the port's own render."""
    parsed = parse_args(argv)
    return tap_pixel(Simulator.from_config(parsed.simulation), *pixel).tolerances


@pytest.mark.parametrize("name", CASES)
def test_extra_case_outputs_and_trace_match_the_c(name, tmp_path, monkeypatch, capsys):
    """Every file the C wrote is reproduced byte for byte, and the pixel trace diffs as MATCH (rtol 1e-12 and
    the derived tolerances)."""
    case = EXTRA / name
    work, stdout, argv = run_case(name, tmp_path, monkeypatch, capsys)
    expected = [f for f in OUTPUTS if (case / f).exists()]
    assert expected
    for name_of_file in expected:
        assert (work / name_of_file).read_bytes() == (case / name_of_file).read_bytes(), name_of_file
    pixel = json.loads((case / "case.json").read_text())["trace_pixel"]
    if pixel is not None:
        report = tracehooks.diff_traces(case / "trace_c.log", stdout.splitlines(), rtol=RTOL,
                                        quirks=QUIRKS_PATH, tolerances=derived_tolerances(argv, pixel))
        assert report.ok, report.summary()
        compared = report.count("match") + report.count("tolerated") + report.count("quirk")
        assert compared == len(report.c.records)
