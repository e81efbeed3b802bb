"""The tracehooks modules form layers, each knowing only the layers below it, in one style.

The layers, read from the imports of every module of ``src/tracehooks`` (``ast``, function-level
imports included):

* base, shared by both stacks: ``_errors`` (exceptions, quoting input) and ``_grammar`` (the shapes
  of a trace line and of a value);
* the tracing stack: ``_format``, ``_sinks``, ``_patch``, ``_monitor`` < ``_capture``, ``_config``
  < ``_options``, ``_instrument`` (the instrumented copy) < ``_fast`` (the fast path) < ``_specs``,
  ``_probe`` (the recorder) < ``_trace``;
* the diff stack: ``_values`` < ``_parse``, ``_compare`` < ``_hints``, ``_quirks`` < ``_judge``
  < ``_diff`` < ``_report`` < ``_report_json`` < ``_cli``;
* the package: ``__init__`` (re-exports both stacks, never ``_cli``), ``__main__`` (runs ``_cli``) and
  ``pytest_plugin`` (uses the public API only).

A module imports only the base and the lower layers of its own stack; the two stacks never import
each other. Every module is in exactly one layer, so a new module must be placed here first.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "tracehooks"

BASE = [("_errors", "_grammar")]
TRACING = [
    ("_format", "_sinks", "_patch", "_monitor"),
    ("_capture", "_config"),
    ("_options", "_instrument"),
    ("_fast",),
    ("_specs", "_probe"),
    ("_trace",),
]
DIFF = [
    ("_values",),
    ("_parse", "_compare"),
    ("_hints", "_quirks"),
    ("_judge",),
    ("_diff",),
    ("_report",),
    ("_report_json",),
    ("_cli",),
]
PACKAGE_LAYER = ("__init__", "__main__", "pytest_plugin")


def modules() -> dict[str, ast.Module]:
    return {path.stem: ast.parse(path.read_text(encoding="utf-8"), str(path))
            for path in sorted(PACKAGE.glob("*.py"))}


def imported(tree: ast.Module) -> set[str]:
    """The tracehooks modules a module imports, relative or absolute, at any depth."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:
                found.add(node.module)
            elif node.level == 1:
                found.update(alias.name for alias in node.names)
            elif node.module and node.module.startswith("tracehooks."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("tracehooks."))
    return found


def allowed_imports() -> dict[str, set[str]]:
    """For each module, the modules it may import."""
    allowed: dict[str, set[str]] = {}
    base = {name for layer in BASE for name in layer}
    for level, layer in enumerate(BASE):
        for name in layer:
            allowed[name] = {n for lower in BASE[:level] for n in lower}
    for stack in (TRACING, DIFF):
        for level, layer in enumerate(stack):
            for name in layer:
                allowed[name] = base | {n for lower in stack[:level] for n in lower}
    everything = set(allowed)
    allowed["__init__"] = everything - {"_cli"}
    allowed["__main__"] = {"_cli"}
    allowed["pytest_plugin"] = set()  # the public API only (``import tracehooks``)
    return allowed


def test_every_module_has_a_layer():
    """Each module of src/tracehooks is placed in exactly one layer of this file's docstring."""
    placed = [name for layers in (BASE, TRACING, DIFF) for layer in layers for name in layer]
    placed += list(PACKAGE_LAYER)
    assert sorted(placed) == sorted(set(placed)), "a module is placed twice"
    assert sorted(placed) == sorted(modules())


def test_imports_follow_the_layers():
    """A module imports only the base and lower layers of its own stack."""
    allowed = allowed_imports()
    wrong = {name: sorted(imported(tree) - allowed[name])
             for name, tree in modules().items() if imported(tree) - allowed[name]}
    assert wrong == {}


def test_import_graph_is_acyclic():
    """No chain of imports between tracehooks modules leads back to where it started."""
    graph = {name: imported(tree) for name, tree in modules().items()}
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            pytest.fail("import cycle: " + " -> ".join(path[path.index(name):] + [name]))
        if name in done:
            return
        for dependency in sorted(graph.get(name, ())):
            visit(dependency, path + [name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])


def test_importing_the_package_leaves_out_the_command_line():
    """``import tracehooks`` loads neither ``_cli`` nor argparse (layers hold at runtime too)."""
    code = ("import sys, tracehooks; "
            "print(sorted(m for m in ('tracehooks._cli', 'argparse') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("name", sorted(modules()))
def test_one_style(name):
    """Postponed annotations, ``X | None`` (never Union/Optional), relative intra-package imports."""
    tree = modules()[name]
    future = [n for n in tree.body if isinstance(n, ast.ImportFrom) and n.module == "__future__"]
    assert [a.name for n in future for a in n.names] == ["annotations"]
    typing_names = {a.name for n in ast.walk(tree)
                    if isinstance(n, ast.ImportFrom) and n.module == "typing" for a in n.names}
    assert not typing_names & {"Union", "Optional"}
    absolute = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
                and n.level == 0 and (n.module or "").startswith("tracehooks")]
    assert absolute == []
