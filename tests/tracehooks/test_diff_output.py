"""The command line under every input and output: exit codes, output failures, width, start-up."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tracehooks import diff_traces, render_text
from tracehooks._cli import main

LONG = " ".join(f"{k * 1.0123456789012:.15g}" for k in range(1, 40))  # a value of ~700 characters
ENV = dict(os.environ, PYTHONIOENCODING="utf-8")


@pytest.fixture(autouse=True)
def no_columns(monkeypatch):
    """Run every test with the default width of 100 columns, whatever the terminal."""
    monkeypatch.delenv("COLUMNS", raising=False)


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """An empty working folder."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(path, text):
    Path(path).write_text(text, encoding="utf-8")
    return str(path)


def run_cli(*args, **options):
    """Run 'python -m tracehooks' in a fresh process."""
    return subprocess.run([sys.executable, "-m", "tracehooks", *args], env=ENV, check=False, **options)


@pytest.mark.parametrize(
    "c_text, py_text, options, message",
    [
        ("", "TRACE_PY: a 1\n", [], "no trace lines in c.log (no line starts with TRACE_)"),
        ("Segmentation fault\n", "TRACE_PY: a 1\n", [], "no trace lines in c.log (no line starts with TRACE_)"),
        ("TRACE_C: a 1\n", "", [], "no trace lines in py.log (no line starts with TRACE_)"),
        ("TRACE_C: a 1\n", "TRACE_C: a 1\n", ["--py-prefix", "TRACE_PY"],
         "no trace lines in py.log (prefix TRACE_PY)"),
    ],
)
def test_no_trace_lines_exits_2(folder, capsys, c_text, py_text, options, message):
    """A log with no trace line (empty, or the C crashed first) is unusable input, never a match."""
    write("c.log", c_text)
    write("py.log", py_text)
    assert main(["diff", "c.log", "py.log", *options]) == 2
    assert capsys.readouterr() == ("", f"tracehooks diff: error: {message}\n")


def test_two_empty_logs_exit_2(folder, capsys):
    """Two empty logs compare nothing: exit 2 (it used to be MATCH, exit 0)."""
    write("c.log", "")
    assert main(["diff", "c.log", "c.log"]) == 2
    assert capsys.readouterr().err == (
        "tracehooks diff: error: no trace lines in c.log (no line starts with TRACE_)\n"
    )


@pytest.mark.parametrize("digits", [310, 4301])
def test_huge_int_log_against_itself_exits_0(folder, digits):
    """A log with an int of hundreds or thousands of digits matches itself (exit 0, no traceback)."""
    log = write("c.log", f"TRACE_C: n {'9' * digits}\n")
    done = run_cli("diff", log, log, capture_output=True)
    assert (done.returncode, done.stderr) == (0, b"")


def test_a_directory_is_unreadable_input(folder, capsys):
    """A folder given as a log exits 2 with the reason."""
    os.mkdir("logs")
    assert main(["diff", "logs", "logs"]) == 2
    assert capsys.readouterr().err == "tracehooks diff: error: logs: cannot read: Is a directory\n"


def test_quirks_file_that_is_not_utf8_names_the_line(folder, capsys):
    """A quirks file with bytes that are not UTF-8 exits 2 naming FILE:LINE."""
    write("c.log", "TRACE_C: a 1\n")
    Path("q.txt").write_bytes(b"# ok\na: ignore | caf\xe9\n")
    assert main(["diff", "c.log", "c.log", "--quirks", "q.txt"]) == 2
    assert capsys.readouterr().err == "tracehooks diff: error: q.txt:2: not valid UTF-8 (byte 16 of the line)\n"


def test_internal_error_exits_2_not_1(folder, capsys, monkeypatch):
    """A crash is reported on one line with exit 2, never as exit 1 ('the traces differ')."""
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("tracehooks._cli.diff_traces", broken)
    write("c.log", "TRACE_C: a 1\n")
    assert main(["diff", "c.log", "c.log"]) == 2
    assert capsys.readouterr().err == "tracehooks diff: error: internal error: RuntimeError: boom\n"


def test_closed_stdout_exits_2(folder, capsys, monkeypatch):
    """With no standard output at all the report cannot be written: exit 2 and a message."""
    write("c.log", "TRACE_C: a 1\n")
    monkeypatch.setattr("sys.stdout", None)
    assert main(["diff", "c.log", "c.log"]) == 2
    assert capsys.readouterr().err == (
        "tracehooks diff: error: cannot write the report: standard output is closed\n"
    )


def big_log(folder):
    return write(folder / "c.log", "".join(f"TRACE_C: value_{k} {k}\n" for k in range(5000)))


def test_broken_pipe_exits_2_quietly(folder):
    """'tracehooks diff ... | head -1': the reader leaves early; exit 2, nothing on stderr."""
    log = big_log(folder)
    child = subprocess.Popen([sys.executable, "-m", "tracehooks", "diff", log, log, "--all"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    first = child.stdout.readline()
    child.stdout.close()
    status = child.wait(timeout=60)
    error = child.stderr.read()
    child.stderr.close()
    assert (first[:4], status, error) == (b"C : ", 2, b"")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_full_disk_exits_2_with_one_line(folder):
    """Writing the report to a full device exits 2 with one line on stderr, no traceback."""
    log = big_log(folder)
    with open("/dev/full", "w") as full:
        done = run_cli("diff", log, log, "--all", stdout=full, stderr=subprocess.PIPE)
    assert (done.returncode, done.stderr) == (
        2, b"tracehooks diff: error: cannot write the report: No space left on device\n"
    )


def long_report(**options):
    return render_text(diff_traces([f"TRACE_C: v {LONG}"], [f"TRACE_PY: v {LONG} 1"]), **options)


def test_lines_fit_100_columns_by_default():
    """Every line of a report on 700-character values fits 100 columns."""
    lines = long_report().splitlines()
    assert max(len(line) for line in lines) == 100


def test_width_0_prints_values_in_full():
    """width 0 (--width 0): no limit, one line per row, values never cut."""
    assert any(LONG in line and "DIVERGE" in line for line in long_report(width=0).splitlines())


def test_first_divergence_keeps_the_full_value():
    """The first-divergence block wraps the values onto indented lines; joined, they are complete."""
    lines = long_report().splitlines()
    start = lines.index(next(line for line in lines if line.startswith("  C : ")))
    block = [lines[start][6:]]
    block += [line[6:] for line in lines[start + 1:] if line.startswith("      ")][: len(LONG) // 90 + 1]
    assert " ".join(block).startswith(LONG)


def test_table_cuts_long_values_with_an_ellipsis():
    """In the table a long value is cut to its column with '…'."""
    row = next(line for line in long_report().splitlines() if line.startswith("v "))
    assert row == (
        "v     1/1        1.0123456789012 2.0246913578…  1.0123456789012 2.0246913578…  -      -      DIVERGE"
    )


def test_columns_environment_variable(folder, capsys, monkeypatch):
    """COLUMNS sets the width; --width overrides it."""
    write("c.log", f"TRACE_C: v {LONG}\n")
    write("py.log", f"TRACE_PY: v {LONG} 1\n")
    monkeypatch.setenv("COLUMNS", "120")
    main(["diff", "c.log", "py.log"])
    assert max(len(line) for line in capsys.readouterr().out.splitlines()) == 120
    main(["diff", "c.log", "py.log", "--width", "60"])
    assert max(len(line) for line in capsys.readouterr().out.splitlines()) == 60


def test_narrow_width_is_a_usage_error(capsys):
    """--width below 40 (other than 0) is refused before any file is read."""
    assert main(["diff", "a", "b", "--width", "10"]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "tracehooks diff: error: argument --width: expected 0 (no limit) or a number of columns >= 40, "
        "got '10'"
    )


def test_control_characters_are_escaped():
    """A value holding a terminal escape is shown escaped, never sent to the terminal raw."""
    text = render_text(diff_traces(["TRACE_C: v \x1bcred\x07"], ["TRACE_PY: v plain"]))
    assert "\x1b" not in text and "\x07" not in text and "C : \\x1bcred\\x07" in text


@pytest.mark.parametrize("args", [["--version"], ["diff", "--help"], ["diff", "only-one"]])
def test_start_up_needs_no_torch(args):
    """--version, --help and argument errors answer without importing torch."""
    code = ("import sys\nfrom tracehooks._cli import main\nstatus = main(sys.argv[1:])\n"
            "print('torch' in sys.modules, status)")
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, env=ENV, check=False)
    assert done.stdout.decode().splitlines()[-1] == f"False {0 if args != ['diff', 'only-one'] else 2}"


def test_version_names_the_tool():
    """'tracehooks --version' prints 'tracehooks X.Y.Z'."""
    done = run_cli("--version", capture_output=True)
    assert (done.returncode, done.stdout.decode().split()[0]) == (0, "tracehooks")


def test_render_text_can_leave_out_the_verdict_line():
    """summary=False ends the report before its verdict line, for callers that print their own."""
    report = diff_traces(["TRACE_C: a 1"], ["TRACE_PY: a 1"])
    assert render_text(report, summary=False).splitlines()[-1] == (
        "(no rows to show: the 1 value matches; --all lists it)"
    )
    assert render_text(report).splitlines()[-1].startswith("MATCH: 1 value agrees")


def test_long_names_and_keys_fit_too():
    """A 300-character name and field key, one-sided and differing, still fit 100 columns."""
    name, key = "n" * 300, "k" * 300
    report = diff_traces([f"TRACE_C:{name}={key}:1", f"TRACE_C: {name}_c 1"],
                         [f"TRACE_PY:{name}={key}:2", f"TRACE_PY: {name}_py 1"])
    lines = render_text(report, show_all=True).splitlines()
    assert max(len(line) for line in lines) <= 100 and len(lines) > 10
