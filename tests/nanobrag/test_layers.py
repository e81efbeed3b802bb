"""Each module of nanobrag_torch imports only from its own layer and the layers below it.

The layers, bottom to top (``|``: side by side, neither imports the other):

    base        config, units, _c_numbers (the C's arithmetic), c_bugs (the C's bugs, declared), _lazy
    tensors     geometry, physics, rng (stateless tensor functions and the C's generator)
    io | models the file formats (numpy; the noise image draws from rng) | crystal, detector, beam
    simulation  simulator, _c_compat_paths, _cpu (worker threads, malloc settings)
    trace       the tracing harness (with tracehooks and wrapt, which nothing below it may import)
    cli         the command line
    programs    parity, the dataset generator (datasets: it reads nanoBragg command lines with cli), the
                ``__main__`` modules (the trace command parses command lines with cli) and the package
                facade ``nanobrag_torch/__init__.py``, which exports names of every layer

Imports are read with ``ast``: at module level, inside functions and under ``TYPE_CHECKING``. Importing the
package itself (``from .. import __version__``) is not a dependency on a layer: every submodule import loads
it, and it loads its names only on use. Whether importing a layer loads the layers above it at run time is
checked by the subprocess tests at the end (and, for the simulator, by test_imports.py).
"""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = "nanobrag_torch"

# (layer, rank, the modules in it; a name ending in "." stands for a package and everything in it).
LAYERS = [
    ("base", 0, {"nanobrag_torch.config", "nanobrag_torch.units", "nanobrag_torch._c_numbers",
                 "nanobrag_torch.c_bugs", "nanobrag_torch._lazy"}),
    ("tensors", 1, {"nanobrag_torch.geometry", "nanobrag_torch.physics", "nanobrag_torch.rng"}),
    ("io", 2, {"nanobrag_torch.io."}),
    ("models", 2, {"nanobrag_torch.models."}),
    ("simulation", 3, {"nanobrag_torch.simulator", "nanobrag_torch._c_compat_paths",
                       "nanobrag_torch._cpu"}),
    ("trace", 4, {"nanobrag_torch.trace."}),
    ("cli", 5, {"nanobrag_torch.cli."}),
    ("programs", 6, {"nanobrag_torch.parity", "nanobrag_torch.__main__", "nanobrag_torch.trace.__main__",
                     "nanobrag_torch", "nanobrag_torch.datasets."}),
]
# Third-party packages that only the tracing layer and the layers above it may import.
TRACING_ONLY = ("tracehooks", "wrapt")
# Known upward imports, each kept only until the importer's owner moves it; the test fails once one is gone,
# so that the entry is removed with it. (importer, imported): why.
# Upward imports allowed for a while (module, imported) -> why; each must still exist (a test checks).
PENDING: dict = {}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted((SRC / PACKAGE).rglob("*.py"))}


def layer_of(module: str):
    """(name, rank) of the module's layer; the most specific entry wins (trace.__main__ over trace.)."""
    best = None
    for name, rank, members in LAYERS:
        for member in members:
            exact = member == module
            inside = member.endswith(".") and (module + ".").startswith(member)
            if (exact or inside) and (best is None or len(member) > best[0]):
                best = (len(member) + exact, name, rank)
    return None if best is None else best[1:]


def imports_of(module: str) -> set:
    """The modules (of this repository's packages, or any top-level package) that ``module`` imports."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            for alias in node.names:
                # "from . import physics" imports a module; "from .x import name" imports module x.
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in MODULES else base)
    return found


def edges():
    return {(module, imported) for module in MODULES for imported in imports_of(module)}


def test_every_module_has_a_layer():
    """A new module must be placed in a layer before it can import anything."""
    assert [module for module in MODULES if layer_of(module) is None] == []


def test_imports_go_down_the_layers():
    """Every import of a package module is of the importer's own layer or a lower one, never of a sibling
    (io and models), except the pending upward imports listed in PENDING."""
    wrong = []
    for module, imported in sorted(edges()):
        if imported == PACKAGE or not imported.startswith(PACKAGE + ".") or (module, imported) in PENDING:
            continue
        (layer, rank), (imported_layer, imported_rank) = layer_of(module), layer_of(imported)
        if imported_rank > rank or (imported_rank == rank and imported_layer != layer):
            wrong.append(f"{module} ({layer}) imports {imported} ({imported_layer})")
    assert wrong == []


def test_pending_upward_imports_are_still_there():
    """Each PENDING exception is still needed; remove it from the list when its import goes."""
    assert set(PENDING) <= edges()


def test_only_tracing_and_above_import_tracehooks_or_wrapt():
    """The simulator and everything below it run without the tracing libraries."""
    trace_rank = dict((name, rank) for name, rank, _ in LAYERS)["trace"]
    wrong = sorted((module, imported) for module, imported in edges()
                   if imported.split(".")[0] in TRACING_ONLY and layer_of(module)[1] < trace_rank)
    assert wrong == []


def test_the_layer_rule_sees_relative_function_level_and_type_checking_imports():
    """The parser finds what the rule depends on: a relative module import and an import of a name from a
    module (the simulator's), a function-level import (numpy in c_cast_unsigned) and an import under
    TYPE_CHECKING (the C-compat paths' Simulator); the most specific layer entry wins."""
    assert {"nanobrag_torch.physics", "nanobrag_torch.models.crystal"} <= imports_of("nanobrag_torch.simulator")
    assert "numpy" in imports_of("nanobrag_torch._c_numbers")
    assert "nanobrag_torch.simulator" in imports_of("nanobrag_torch._c_compat_paths")
    assert layer_of("nanobrag_torch.trace.__main__") == ("programs", 6)
    assert layer_of("nanobrag_torch.trace._pixel") == ("trace", 4)


def loaded_after(statement: str) -> set:
    """The modules a fresh interpreter has loaded after ``statement``."""
    script = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


@pytest.mark.parametrize("module", ["nanobrag_torch.io", "nanobrag_torch.models.crystal",
                                    "nanobrag_torch.models.detector", "nanobrag_torch.models.beam"])
def test_importing_a_layer_loads_nothing_above_it(module):
    """At run time too (a package __init__ that re-exports upward would break this silently): importing a
    module loads package modules of its own layer and below only."""
    layer, rank = layer_of(module)
    above = sorted(name for name in loaded_after(f"import {module}")
                   if name.startswith(PACKAGE + ".") and name in MODULES
                   and (layer_of(name)[1] > rank or (layer_of(name)[1] == rank and layer_of(name)[0] != layer)))
    assert above == []


def test_file_formats_load_no_torch():
    """The io layer is numpy only: reading and writing nanoBragg's files never imports torch."""
    assert "torch" not in loaded_after("import nanobrag_torch.io")
