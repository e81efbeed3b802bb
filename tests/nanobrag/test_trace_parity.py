"""TRACE_PY against the C's TRACE_C for every reference case, through tracehooks diff."""

import ast
import hashlib
import io
import json
import sys
from pathlib import Path

import pytest
import torch

import tracehooks
from nanobrag_torch.cli import parse_args, run
from nanobrag_torch.models.detector import Detector
from nanobrag_torch.simulator import Simulator
from nanobrag_torch.trace import QUIRKS_PATH, trace_run
from nanobrag_torch.trace.__main__ import main as trace_main

from .reference import ReferenceCase, case_names
from .test_simulator_parity import C_BUG_CASES

# The tolerance policy (docs/parity_workflow.md): every value agrees to rtol 1e-12, the default of tracehooks
# diff; a value that is ill-conditioned at the traced pixel (a grating factor near a node, a difference of
# near-equal numbers, and what they feed) may differ by its derived bound, declared per value by
# nanobrag_torch.trace.tap_pixel from the port's own computation of that pixel.
RTOL = 1e-12


def traced_pixel(case: ReferenceCase):
    """The case's detector block and traced pixel, as lines, and the pixel's derived tolerances (its input
    files read from the case folder, where the C ran)."""
    config = parse_args(case.argv, base_dir=case.folder).simulation
    config.c_compat = case.name in C_BUG_CASES
    traced = trace_run(config, tuple(case.meta["trace_pixel"]))
    assert traced.pixel_trace is not None, traced.skipped
    return traced.lines, traced.tolerances


def traced_lines(case: ReferenceCase):
    return traced_pixel(case)[0]


@pytest.mark.parametrize("name", case_names())
def test_trace_matches_c(name, trace_check):
    """Every TRACE_C value has its TRACE_PY counterpart, equal to rtol 1e-12 (atol 0), within its derived
    tolerance, or a declared quirk."""
    case = ReferenceCase(name)
    lines, tolerances = traced_pixel(case)
    trace_check.extend(lines)
    report = trace_check.against(case.folder / "trace_c.log", rtol=RTOL, atol=0.0, quirks=QUIRKS_PATH,
                                 tolerances=tolerances)
    compared = report.count("match") + report.count("tolerated") + report.count("quirk")
    assert compared == len(report.c.records) == len(report.py.records)


def test_pix0_harness_output_matches_the_c_detector_block(capsys, trace_check):
    """python -m nanobrag_torch.trace pix0 on the seed case: its whole detector block equals the C's."""
    case = ReferenceCase("seed_supervisor_pix0")
    assert trace_main(["pix0", "--cmd", str(case.folder / "cmd.txt")]) == 0
    trace_check.extend(capsys.readouterr().out.splitlines())
    report = trace_check.against(case.folder / "trace_c.log", rtol=RTOL, quirks=QUIRKS_PATH, py_subset=True)
    assert {r.name for r in report.py.records} == detector_block_names(report.c)


def detector_block_names(c_trace):
    """Names the C prints before its per-pixel block starts."""
    names = set()
    for record in c_trace.records:
        if record.name == "pix0_vector_meters":
            return names
        names.add(record.name)
    return names


@pytest.mark.parametrize("name", case_names("geom_"))
def test_pix0_harness_matches_every_geometry_case(name, capsys, trace_check):
    """The pix0 harness output diffs as MATCH against each geometry case (pixel block not traced)."""
    case = ReferenceCase(name)
    assert trace_main(["pix0", "--cmd", str(case.folder / "cmd.txt")]) == 0
    trace_check.extend(capsys.readouterr().out.splitlines())
    report = trace_check.against(case.folder / "trace_c.log", rtol=RTOL, quirks=QUIRKS_PATH, py_subset=True)
    assert {r.name for r in report.py.records} == detector_block_names(report.c)


def test_seed_pix0_before_and_after_rotations_equal_the_c(capsys):
    """The answer to 'is the remaining pix0 difference real?': the tapped values equal the C's to 1e-14
    (well-conditioned sums and products of the C's float64 operations in the C's order)."""
    case = ReferenceCase("seed_supervisor_pix0")
    trace_main(["pix0", "--cmd", str(case.folder / "cmd.txt")])
    py = {r.name: r for r in tracehooks.parse_trace(capsys.readouterr().out.splitlines()).records}
    c = {r.name: r for r in tracehooks.parse_trace(case.folder / "trace_c.log").records}
    for name in ("pix0_before_rotation", "pix0_after_rotz", "pix0_after_twotheta", "DETECTOR_PIX0_VECTOR"):
        c_values = [item.value for item in c[name].items]
        py_values = [item.value for item in py[name].items]
        assert py_values == pytest.approx(c_values, rel=1e-14, abs=0), name


def test_trace_out_writes_provenance(tmp_path, capsys):
    """--out DIR holds the trace, a stderr log starting with the banner, environment, commit, command, hash."""
    case = ReferenceCase("geom_xds_orgx_orgy")
    out = tmp_path / "provenance"
    assert trace_main(["pixel", "17", "124", "--cmd", str(case.folder / "cmd.txt"), "--out", str(out)]) == 0
    stdout = capsys.readouterr().out
    trace = (out / "trace.log").read_text()
    assert trace == stdout and "TRACE_PY: I_pixel_final" in trace
    assert (out / "trace.sha256").read_text() == f"{hashlib.sha256(trace.encode()).hexdigest()}  trace.log\n"
    assert (out / "stderr.log").read_text().startswith("# Tracing the detector block")
    assert json.loads((out / "environment.json").read_text())["torch"] == torch.__version__
    assert (out / "cmd.txt").read_text().startswith("nanoBragg -cell 100 100 100 90 90 90")
    assert (out / "commit.txt").read_text().strip() != ""


def test_trace_command_rejects_bad_input(capsys):
    """Bad subcommand, pixel outside the detector, bad flag: one-line errors, status 2."""
    assert trace_main(["pixels"]) == 2
    assert "expected 'pix0' or 'pixel' first" in capsys.readouterr().err
    flags = "-cell 100 100 100 90 90 90 -default_F 1 -detpixels 8".split()
    assert trace_main(["pixel", "3", "9"] + flags) == 2
    assert capsys.readouterr().err.endswith(
        "error: pixel (slow 3, fast 9) is outside the 8x8 (fast x slow) detector\n")
    assert trace_main(["pix0", "-detpixel", "8"] + flags) == 2
    assert "unknown flag '-detpixel'" in capsys.readouterr().err


def test_tracing_leaves_the_code_as_it_was():
    """After a traced run the traced methods are the original functions and no tracer is installed."""
    before = (Detector.__dict__["_calculate_pix0_vector"], Simulator.__dict__["_scale"], sys.gettrace())
    traced_lines(ReferenceCase("phys_cubic_simple"))
    assert (Detector.__dict__["_calculate_pix0_vector"], Simulator.__dict__["_scale"], sys.gettrace()) == before


CORE = Path(__file__).resolve().parents[2] / "src" / "nanobrag_torch"
CORE_MODULES = [CORE / name for name in ("config.py", "geometry.py", "physics.py", "rng.py", "simulator.py",
                                         "units.py", "_c_numbers.py", "_c_compat_paths.py")] + sorted((CORE / "models").glob("*.py")) \
    + sorted((CORE / "io").glob("*.py"))


@pytest.mark.parametrize("path", CORE_MODULES, ids=lambda p: p.name)
def test_core_modules_never_print(path):
    """Physics, models and io contain no print() and no TRACE text: tracing is attached from outside."""
    tree = ast.parse(path.read_text())
    calls = [node.func.id for node in ast.walk(tree)
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)]
    assert "print" not in calls
    assert "TRACE_" not in path.read_text()


def test_untraced_simulation_prints_nothing(capsys):
    """Running the simulator without a trace writes nothing to stdout or stderr."""
    case = ReferenceCase("phys_cubic_simple")
    config = parse_args(case.argv, base_dir=case.folder).simulation
    Simulator.from_config(config).run()
    assert capsys.readouterr() == ("", "")


def test_trace_command_writes_tolerances_that_tracehooks_diff_reads(tmp_path, capsys):
    """pixel ... --tolerances FILE: the derived bounds in the quirks grammar; `tracehooks diff --tolerances`
    with them accepts the seed case's C trace (status 0), each value at most within its bound."""
    from tracehooks._cli import main as tracehooks_main

    case = ReferenceCase("seed_supervisor_pix0")
    bounds = tmp_path / "seed.tolerances"
    argv = ["pixel", "1039", "685", "--cmd", str(case.folder / "cmd.txt"), "-c_compat", "--tolerances", str(bounds)]
    assert trace_main(argv) == 0
    (tmp_path / "py.log").write_text(capsys.readouterr().out)
    declared = tracehooks.load_tolerances(bounds)
    assert {str(t.selector) for t in declared} >= {"F_latt_a#1", "PHI/record#4[F_latt]", "I_pixel_final#1"}
    assert tracehooks_main(["diff", str(case.folder / "trace_c.log"), str(tmp_path / "py.log"), "--quirks",
                            str(QUIRKS_PATH), "--tolerances", str(bounds)]) == 0


def test_trace_command_help_and_version(capsys):
    """--help prints the usage of both modes, --version the package version; both exit 0."""
    assert trace_main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "python -m nanobrag_torch.trace pix0" in out and "--tolerances FILE" in out
    assert trace_main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("python -m nanobrag_torch.trace ")


def test_the_command_line_the_harness_and_trace_run_print_one_trace(tmp_path, capsys):
    """-trace_pixel of nanobrag-torch, python -m nanobrag_torch.trace pixel and trace_run give the same lines
    and (command line and trace_run) the same tolerances: one composition of the trace."""
    case = ReferenceCase("phys_cubic_simple")
    pixel = case.meta["trace_pixel"]
    parsed = parse_args(case.argv, base_dir=case.folder)
    parsed.output.output_dir = str(tmp_path)
    handed = []
    assert run(parsed, stdout=io.StringIO(), stderr=io.StringIO(), on_trace=handed.append) == 0
    assert trace_main(["pixel", *map(str, pixel), "--cmd", str(case.folder / "cmd.txt")]) == 0
    harness = capsys.readouterr().out.splitlines()
    direct = trace_run(parse_args(case.argv, base_dir=case.folder).simulation, tuple(pixel))
    assert len(handed) == 1 and handed[0].lines == harness == direct.lines
    assert [str(t.selector) for t in handed[0].tolerances] == [str(t.selector) for t in direct.tolerances]
    assert "TRACE_PY: I_pixel_final" in harness[-2]


def test_trace_command_notes_a_pixel_outside_the_roi(capsys):
    """pixel SLOW FAST outside -roi: the detector block, no pixel block, a note on stderr, status 0."""
    flags = "-cell 100 100 100 90 90 90 -default_F 1 -detpixels 8 -roi 0 3 0 3".split()
    assert trace_main(["pixel", "5", "6"] + flags) == 0
    captured = capsys.readouterr()
    assert "DETECTOR_PIX0_VECTOR" in captured.out and "pixel_pos_meters" not in captured.out
    assert "note: pixel (slow 5, fast 6) is outside -roi 0 3 0 3: it is not rendered" in captured.err


def test_trace_command_reads_files_from_the_cmd_files_folder(tmp_path, capsys):
    """--cmd FILE: relative -hkl paths in it are read from FILE's folder, wherever the command runs."""
    (tmp_path / "case").mkdir()
    (tmp_path / "case" / "tiny.hkl").write_text("0 0 1 10\n")
    (tmp_path / "case" / "cmd.txt").write_text("nanoBragg -cell 100 100 100 90 90 90 -hkl tiny.hkl -detpixels 8\n")
    assert trace_main(["pix0", "--cmd", str(tmp_path / "case" / "cmd.txt")]) == 0
    assert "DETECTOR_PIX0_VECTOR" in capsys.readouterr().out
    (tmp_path / "case" / "tiny.hkl").unlink()
    assert trace_main(["pix0", "--cmd", str(tmp_path / "case" / "cmd.txt")]) == 2
    assert f"-hkl: [Errno 2] No such file or directory: '{tmp_path / 'case' / 'tiny.hkl'}'" in capsys.readouterr().err
