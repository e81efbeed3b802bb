"""Every example in README.md, benchmarks/README.md and docs/*.md runs from a clean clone as shown.

Run: the fenced blocks tagged ``sh``, ``bash``, ``console`` or ``shell`` (with ``bash -euo pipefail``)
and ``python`` or ``pycon`` (with the python running the tests; a block of ``>>>`` lines is a doctest).
Not run: blocks of any other tag or none (file contents, output samples), and a block whose line before
the fence is ``<!-- ci: ... -->`` (CI runs it exactly as written) or ``<!-- not run: REASON -->`` (a
block that cannot run in a test, with the reason). Both are reported as skipped, with their reason.

The blocks of one document run in document order, in one fresh folder laid out like a clean clone
(copies of ``src``, ``tests``, ``docs``, ``benchmarks`` and the top-level files, so that what an example
writes lands there and never in the repository), with the ``bin`` folder of the virtualenv running the
tests first on PATH. They run as a reader working through the page in one terminal would: they share
that folder, a ``cd`` carries over to the blocks after it, and the python blocks share one interpreter.

A block followed by a shown output (the next fenced block, in the same section, not itself run) must
print that output's verdict lines -- ``MATCH:``, ``DIVERGE:``, ``PARITY:``, ``NO PARITY:``, JSON
``"verdict"``/``"summary"`` keys and ``exit status N`` -- with their wrapped continuation lines. The
parity verdict's parenthesised counts and ulps depend on the CPU (which values need their derived bound),
so they are left out of the comparison; everything else in those lines is compared exactly.

This file is also the runner: ``python tests/test_docs_examples.py BLOCKS.json RESULTS.json`` runs the
blocks of one document in the current folder (the test starts it once per document).
"""

import builtins
import contextlib
import doctest
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent  # the virtualenv running the tests: its python and console scripts
DOCUMENTS = ["README.md", "benchmarks/README.md", *(f"docs/{path.name}" for path in sorted(REPO.glob("docs/*.md")))]
SHELL_TAGS = frozenset({"sh", "bash", "console", "shell"})
PYTHON_TAGS = frozenset({"python", "pycon"})
RUNNABLE_TAGS = SHELL_TAGS | PYTHON_TAGS
# A clean clone, as far as the examples read it; NOT_COPIED are this checkout's build leftovers.
CLONE_FOLDERS = ("src", "tests", "docs", "benchmarks")
CLONE_FILES = ("README.md", "setup.cfg", "pyproject.toml")
NOT_COPIED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
# Variables that would make an example behave unlike a reader's fresh shell.
CLEARED_VARIABLES = ("PYTHONPATH", "PYTHONSTARTUP", "COLUMNS", "TRACEHOOKS", "TRACEHOOKS_SINK", "NANOBRAGG_BIN")
DOCUMENT_TIMEOUT_S = 600

FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,})\s*(?P<tag>[^\s`]*)")
MARKER = re.compile(r"^<!--\s*(?P<kind>ci|not run):\s*(?P<reason>.*?)\s*-->\s*$")
VERDICT = re.compile(r'^(MATCH:|DIVERGE:|PARITY:|NO PARITY:|"verdict":|"summary":|exit status \d+$)')
PARENTHESISED = re.compile(r"\s*\([^()]*\)")


@dataclass(frozen=True)
class Block:
    """One fenced code block of a document, with the shown output that follows it (if any)."""

    document: str
    line: int  # of the opening fence, 1-based
    tag: str
    text: str
    marker: str = ""  # "ci" or "not run"
    reason: str = ""
    output: Optional[str] = None

    @property
    def runs(self) -> bool:
        return self.tag in RUNNABLE_TAGS and not self.marker

    @property
    def where(self) -> str:
        return f"{self.document}:{self.line}"


def read_blocks(document: str) -> List[Block]:
    """The fenced blocks of ``document`` (a path relative to the repository), in order."""
    lines = (REPO / document).read_text(encoding="utf-8").splitlines()
    found = []  # (section, Block)
    section, index = 0, 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            section += lines[index].startswith("#")
            index += 1
            continue
        end = index + 1
        while end < len(lines) and not lines[end].strip().startswith(opening["fence"]):
            end += 1
        marker = MARKER.match(lines[index - 1]) if index > 0 else None
        found.append((section, Block(document, index + 1, opening["tag"].lower(),
                                     "\n".join(lines[index + 1:end]) + "\n",
                                     marker["kind"] if marker else "", marker["reason"] if marker else "")))
        index = end + 1
    blocks = []
    for position, (section, block) in enumerate(found):
        following = found[position + 1] if position + 1 < len(found) else None
        if block.runs and following and following[0] == section and following[1].tag not in RUNNABLE_TAGS:
            block = Block(**{**asdict(block), "output": following[1].text})
        blocks.append(block)
    return blocks


def example_params():
    """One pytest parameter per shell or python block; the ones marked ci or not run are skipped."""
    params = []
    for document in DOCUMENTS:
        for block in read_blocks(document):
            if block.tag not in RUNNABLE_TAGS:
                continue
            marks = ()
            if block.marker == "ci":
                marks = pytest.mark.skip(reason=f"{block.where}: run by CI ({block.reason})")
            elif block.marker == "not run":
                marks = pytest.mark.skip(reason=f"{block.where}: not run: {block.reason}")
            params.append(pytest.param(block, id=block.where, marks=marks))
    return params


def verdict_lines(text: str) -> List[str]:
    """The verdict lines of an output, each joined with the indented lines that continue it, whitespace
    normalised; the parity verdict without its CPU-dependent details."""
    verdicts: List[str] = []
    continuing = False
    for line in text.splitlines():
        if continuing and line[:1].isspace() and line.strip():
            verdicts[-1] += " " + line.strip()
            continue
        continuing = VERDICT.match(line) is not None  # a text verdict, wrapped onto indented lines
        if continuing or VERDICT.match(line.strip()):
            verdicts.append(line.strip())
    verdicts = [" ".join(line.split()) for line in verdicts]
    return [PARENTHESISED.sub("", line) if line.startswith(("PARITY:", "NO PARITY:")) else line
            for line in verdicts]


# --- the runner, in the subprocess started once per document -------------------------------------------


def run_shell(block: Dict, pwd_file: Path) -> Dict:
    """Run a shell block with ``bash -euo pipefail`` in the current folder; a ``cd`` in it carries over."""
    script = f"trap 'pwd > {shlex.quote(str(pwd_file))}' EXIT\n{block['text']}"
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if pwd_file.exists():
        os.chdir(pwd_file.read_text(encoding="utf-8").strip())
        pwd_file.unlink()
    return {"status": done.returncode, "output": done.stdout}


def run_python(block: Dict, namespace: Dict) -> Dict:
    """Run a python block in the document's namespace; tracebacks name the document's lines."""
    output = io.StringIO()
    padded = "\n" * block["line"] + block["text"]
    status = 0
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        try:
            exec(compile(padded, block["document"], "exec"), namespace)
        except BaseException as error:  # the example's failure is the result, whatever it is
            traceback.print_exception(type(error), error, error.__traceback__.tb_next)  # from the example on
            status = 1
    return {"status": status, "output": output.getvalue()}


def run_doctest(block: Dict, namespace: Dict) -> Dict:
    """Run a block of ``>>>`` lines as a doctest in the document's namespace."""
    test = doctest.DocTestParser().get_doctest(block["text"], namespace, block["document"], block["document"],
                                               block["line"])
    report: List[str] = []
    runner = doctest.DocTestRunner(verbose=False)
    result = runner.run(test, out=report.append, clear_globs=False)
    namespace.update(test.globs)
    return {"status": int(result.failed > 0), "output": "".join(report)}


def run_document(blocks_path: str, results_path: str) -> None:
    """Run the blocks listed in ``blocks_path`` in order; record each result as soon as it is known."""
    blocks = json.loads(Path(blocks_path).read_text(encoding="utf-8"))
    results_path = str(Path(results_path).resolve())
    sys.path[0] = ""  # as in an interactive session started in this folder
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    results = {}
    for block in blocks:
        if block["tag"] in SHELL_TAGS:
            result = run_shell(block, Path(results_path).with_name("pwd"))
        elif block["text"].lstrip().startswith(">>>"):
            result = run_doctest(block, namespace)
        else:
            result = run_python(block, namespace)
        results[str(block["line"])] = result
        Path(results_path).write_text(json.dumps(results), encoding="utf-8")


# --- the tests ------------------------------------------------------------------------------------------


def clean_clone(folder: Path) -> Path:
    """Lay out ``folder`` like a fresh clone of the repository, with copies of its files."""
    for name in CLONE_FOLDERS:
        shutil.copytree(REPO / name, folder / name, ignore=NOT_COPIED, symlinks=True)
    for name in CLONE_FILES:
        shutil.copy2(REPO / name, folder / name)
    return folder


def example_environment() -> Dict[str, str]:
    """The environment of a reader who activated the project's virtualenv."""
    env = {key: value for key, value in os.environ.items() if key not in CLEARED_VARIABLES}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(VENV_BIN.parent)
    return env


@pytest.fixture(scope="module")
def document_results(tmp_path_factory):
    """Run a document's blocks once: (block line -> result, how the runner ended)."""
    cache: Dict[str, Tuple[Dict, str]] = {}

    def results_of(document: str) -> Tuple[Dict, str]:
        if document not in cache:
            folder = tmp_path_factory.mktemp(Path(document).stem)
            clone = clean_clone(folder / "clone")
            blocks = [asdict(block) for block in read_blocks(document) if block.runs]
            (folder / "blocks.json").write_text(json.dumps(blocks), encoding="utf-8")
            try:
                runner = subprocess.run([str(VENV_BIN / "python"), str(Path(__file__).resolve()),
                                         str(folder / "blocks.json"), str(folder / "results.json")],
                                        cwd=clone, env=example_environment(), stdin=subprocess.DEVNULL,
                                        capture_output=True, text=True, timeout=DOCUMENT_TIMEOUT_S)
                ended = f"the runner exited with status {runner.returncode}\n{runner.stderr[-3000:]}"
            except subprocess.TimeoutExpired:
                ended = f"the runner was stopped after {DOCUMENT_TIMEOUT_S} s"
            results_file = folder / "results.json"
            results = json.loads(results_file.read_text(encoding="utf-8")) if results_file.exists() else {}
            cache[document] = (results, ended)
        return cache[document]

    return results_of


@pytest.mark.parametrize("block", example_params())
def test_example_runs_and_prints_what_the_docs_show(block, document_results):
    """The example exits with status 0 and prints the verdict lines of the output shown after it."""
    results, ended = document_results(block.document)
    result = results.get(str(block.line))
    assert result is not None, f"{block.where}: no result: {ended}"
    earlier = [f"{block.document}:{line}" for line, other in results.items()
               if int(line) < block.line and other["status"] != 0]
    assert result["status"] == 0, (f"{block.where}: exit status {result['status']}"
                                   + (f" (earlier examples failed: {', '.join(earlier)})" if earlier else "")
                                   + f"\n--- example:\n{block.text}--- output:\n{result['output'][-6000:]}")
    printed = verdict_lines(result["output"])
    missing = [line for line in verdict_lines(block.output or "") if line not in printed]
    assert missing == [], (f"{block.where}: the verdict shown is not printed:\n" + "\n".join(missing)
                           + "\n--- printed:\n" + "\n".join(printed))


def test_every_marker_names_a_block_and_a_reason():
    """A ``ci``/``not run`` marker stands right before a shell or python block and gives its reason."""
    problems = []
    for document in DOCUMENTS:
        lines = (REPO / document).read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, start=1):
            marker = MARKER.match(line)
            if marker is None:
                continue
            fence = FENCE.match(lines[number]) if number < len(lines) else None
            if fence is None or fence["tag"].lower() not in RUNNABLE_TAGS or not marker["reason"]:
                problems.append(f"{document}:{number}: {line}")
    assert problems == []


def test_output_comparison_keeps_verdicts_and_drops_the_parity_details():
    """Wrapped verdict lines are joined; the parity verdict is compared without its parenthesised counts."""
    shown = ("noise\nMATCH: 2 values agree (rtol 1e-12, atol 0);\n  0 divergences\n"
             "PARITY: trace MATCH (71 exact, 2 within bounds, 5 C quirks); image MATCH (max 0 ulps, r 1.0000000)\n")
    assert verdict_lines(shown) == ["MATCH: 2 values agree (rtol 1e-12, atol 0); 0 divergences",
                                    "PARITY: trace MATCH; image MATCH"]


if __name__ == "__main__":
    run_document(sys.argv[1], sys.argv[2])
