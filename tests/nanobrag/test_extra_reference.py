"""The 44 extra C reference cases (tests/data/c_reference_extra): every output file byte for byte, every trace."""

import contextlib
import io
import json
from pathlib import Path

import pytest

import tracehooks
from nanobrag_torch.cli import parse_args, run
from nanobrag_torch.simulator import Simulator
from nanobrag_torch.trace import QUIRKS_PATH

EXTRA = Path(__file__).resolve().parent.parent / "data" / "c_reference_extra"
CASES = sorted(p.name for p in EXTRA.iterdir() if p.is_dir() and p.name != "inputs")
OUTPUTS = ("image.bin", "image.img", "image.pgm", "noise.img")
# The tolerance policy (docs/parity_workflow.md): rtol 1e-12, and the derived bound of each value that is
# ill-conditioned at the traced pixel (declared by nanobrag_torch.trace.trace_run, handed over by run()).
RTOL = 1e-12


def run_case(name, output_dir):
    """Run the case's command line as nanobrag-torch does: its inputs read from the case folder (where the C
    ran), its outputs written in ``output_dir``; -c_compat when the port reports a C physics bug for it.
    Returns (stdout, the derived tolerances of the traced pixel, from the same render)."""
    case = EXTRA / name
    argv = (case / "cmd.txt").read_text().split()[1:]
    if Simulator.from_config(parse_args(argv, base_dir=case).simulation).c_compat_differences():
        argv.append("-c_compat")
    parsed = parse_args(argv, base_dir=case)
    parsed.output.output_dir = str(output_dir)
    stdout, traced = io.StringIO(), []
    with contextlib.redirect_stderr(io.StringIO()):
        assert run(parsed, stdout=stdout, on_trace=traced.append) == 0
    return stdout.getvalue(), traced[0].tolerances if traced else []


@pytest.mark.parametrize("name", CASES)
def test_extra_case_outputs_and_trace_match_the_c(name, tmp_path):
    """Every file the C wrote is reproduced byte for byte, and the pixel trace diffs as MATCH (rtol 1e-12 and
    the derived tolerances)."""
    case = EXTRA / name
    stdout, tolerances = run_case(name, tmp_path)
    expected = [f for f in OUTPUTS if (case / f).exists()]
    assert expected
    for name_of_file in expected:
        assert (tmp_path / name_of_file).read_bytes() == (case / name_of_file).read_bytes(), name_of_file
    pixel = json.loads((case / "case.json").read_text())["trace_pixel"]
    if pixel is not None:
        report = tracehooks.diff_traces(case / "trace_c.log", stdout.splitlines(), rtol=RTOL,
                                        quirks=QUIRKS_PATH, tolerances=tolerances)
        assert report.ok, report.summary()
        compared = report.count("match") + report.count("tolerated") + report.count("quirk")
        assert compared == len(report.c.records)
